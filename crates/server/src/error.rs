//! Errors of the server library (socket set-up, I/O with the path involved).

use std::path::{Path, PathBuf};

/// What can stop the server from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The socket file exists and `-x` was not given.
    #[error("Server already running (socket {0} exists; use -x to remove it)")]
    AlreadyRunning(PathBuf),
    /// An I/O error on a path, with what was being done.
    #[error("{verb} {path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// What was being done.
        verb: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The shared state was poisoned by a panic in another task.
    #[error("server state is unavailable after an internal error")]
    Poisoned,
}

impl Error {
    /// An I/O error while doing `verb` on `path`.
    pub fn io(path: &Path, verb: &'static str, source: std::io::Error) -> Error {
        Error::Io {
            path: path.to_path_buf(),
            verb,
            source,
        }
    }
}
