//! Typed errors of the action crate.

use std::time::Duration;

/// An error while rendering or running an action command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A property refers to itself, or a tag was replaced more than
    /// fail2ban's `MAX_TAG_REPLACE_COUNT` (25) times
    /// (fail2ban: helpers.py substituteRecursiveTags, action.py replaceTag).
    #[error("properties contain self referencing definitions and cannot be resolved, fail tag: {tag}, value: {value}")]
    SelfReferencing {
        /// The property being resolved (empty for a command).
        tag: String,
        /// Its value at the moment of failure.
        value: String,
    },
    /// A command exited with a non-zero status.
    #[error("command {cmd:?} failed with {status}{}", stderr_block(.stderr))]
    Command {
        /// The script given to `/bin/sh -c`.
        cmd: String,
        /// Exit status description (`exit status 1`, `signal 9`).
        status: String,
        /// Captured standard error.
        stderr: String,
    },
    /// A command did not finish within the action's timeout; its process
    /// group was killed.
    #[error("command {cmd:?} timed out after {timeout:?} and was killed")]
    Timeout {
        /// The script given to `/bin/sh -c`.
        cmd: String,
        /// The action's `timeout`.
        timeout: Duration,
    },
    /// The shell could not be started.
    #[error("cannot run /bin/sh for {cmd:?}: {source}")]
    Spawn {
        /// The script.
        cmd: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// An operation of an action failed (after check/repair/retry).
    #[error("Error {operation} action {jail}/{action}: {reason}")]
    Operation {
        /// `starting`, `banning`, `stopping`, ...
        operation: String,
        /// The jail's name.
        jail: String,
        /// The action's name.
        action: String,
        /// What went wrong.
        reason: String,
    },
    /// A Python action (`action.d/*.py`) was configured: ironban runs only
    /// command actions.
    #[error("jail '{jail}': action '{action}' is a Python action ({file}), which ironban does not support; the jail's other actions still run")]
    PythonAction {
        /// The jail's name.
        jail: String,
        /// The action's name.
        action: String,
        /// The Python file.
        file: String,
    },
    /// A bad `ignoreip` entry or `file:` list.
    #[error("jail '{jail}': ignoreip entry {entry:?}: {reason}")]
    IgnoreIp {
        /// The jail's name.
        jail: String,
        /// The offending entry.
        entry: String,
        /// Why it is rejected.
        reason: String,
    },
    /// A bad `bantime.*` setting.
    #[error("bantime.{option} = {value:?}: {reason}")]
    BanTime {
        /// The option after `bantime.` (`formula`, `factor`, ...).
        option: String,
        /// The value given.
        value: String,
        /// Why it is rejected.
        reason: String,
    },
}

fn stderr_block(stderr: &str) -> String {
    if stderr.trim().is_empty() {
        String::new()
    } else {
        format!(
            "\n---- stderr ----\n{}\n----------------",
            stderr.trim_end()
        )
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
