//! The thread every started jail shares: one current-thread tokio runtime
//! that drives each jail's engine task and log followers, plus tokio's
//! blocking pool for the engine steps (filter work, actions, database).
//!
//! A step of one jail runs on a pool thread, so a slow action of one jail
//! (an `actionban` that sleeps) never holds up the others; one jail's steps
//! never overlap, so its actions run in order. Pool threads are transient:
//! they exit after [`KEEP_ALIVE`] without work, so an idle server is this
//! thread, the socket thread and the inotify thread.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::runtime::Handle;

/// How long an idle pool thread waits for the next step before it exits.
pub const KEEP_ALIVE: Duration = Duration::from_millis(500);

static RUNTIME: OnceLock<Option<Handle>> = OnceLock::new();

/// The jails' runtime, started on first use. None when no thread could be
/// started (the caller reports it).
pub fn handle() -> Option<Handle> {
    RUNTIME.get_or_init(start).clone()
}

fn start() -> Option<Handle> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("f2b/step")
        .thread_keep_alive(KEEP_ALIVE)
        .build()
        .ok()?;
    let h = rt.handle().clone();
    std::thread::Builder::new()
        .name("f2b/jails".into())
        .spawn(move || rt.block_on(std::future::pending::<()>()))
        .ok()?;
    Some(h)
}
