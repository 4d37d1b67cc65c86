//! ironban-server: the daemon (in progress).

pub mod database;
pub mod journal;
