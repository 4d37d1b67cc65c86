//! Log backends: following log files for a jail
//! (fail2ban: `filterpoll.py`, `filterpyinotify.py`, `FileContainer`).

pub mod container;

pub use container::{FileContainer, ReadResult};
