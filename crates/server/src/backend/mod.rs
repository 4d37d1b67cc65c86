//! Log backends: following log files for a jail
//! (fail2ban: `filterpoll.py`, `filterpyinotify.py`, `FileContainer`).

pub mod container;
pub mod inotify;
pub mod watch;

pub use container::{FileContainer, ReadResult};
pub use watch::{follow, BackendKind, LogEvent};
