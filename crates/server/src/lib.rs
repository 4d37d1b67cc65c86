//! ironban-server: the daemon (in progress).

pub mod backend;
pub mod database;
pub mod journal;
