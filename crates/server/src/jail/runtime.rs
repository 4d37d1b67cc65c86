//! A started jail: one thread that owns the jail's engine (filter, fail
//! manager, ignore list, actions, ban list) and a feeder that follows its
//! logs (fail2ban: the jail's filter thread and actions thread, `jail.py`
//! `start`/`stop`).
//!
//! Everything that changes the ban list goes through the engine thread's
//! inbox, in order: log lines, `banip`/`unbanip`, `attempt`, `unban --all`,
//! option changes, stop. The transmitter waits for the answer of a command
//! (as fail2ban runs these in its command handler), but never runs a shell
//! command itself; log-driven bans never touch the socket at all. The
//! transmitter reads the live ban list and counters from [`SharedLive`],
//! refreshed by the engine after each step.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::{Jail, Live, SharedLive};
use crate::database::Database;
use crate::journal::JournalLine;
use crate::log::Logger;

/// A shared database handle (one sqlite connection for every jail, as
/// fail2ban's single `Fail2BanDb`).
pub type SharedDb = Arc<Mutex<Database>>;

/// What the engine thread is asked to do.
pub enum Msg {
    /// New complete lines of a log file; `pos`/`hash` after them.
    Lines {
        /// The file.
        path: PathBuf,
        /// The lines, without line ends.
        lines: Vec<Vec<u8>>,
        /// Position after these lines.
        pos: u64,
        /// First-line MD5.
        hash: String,
        /// The reader reached the end of the file with this batch.
        at_end: bool,
    },
    /// Journal entries; `at_end` once the reader caught up.
    Journal {
        /// The rendered entries.
        lines: Vec<JournalLine>,
        /// The reader reached the end of the journal with this batch.
        at_end: bool,
    },
    /// `set <jail> banip <ip>...`: the number newly banned.
    Ban(Vec<String>, mpsc::Sender<i64>),
    /// `set <jail> attempt <ip> [<match>...]`.
    Attempt(String, Vec<String>, mpsc::Sender<()>),
    /// `unbanip`: `(count, addresses not banned)`.
    Unban(Vec<String>, mpsc::Sender<(i64, Vec<String>)>),
    /// `unban --all` for this jail: the number unbanned.
    UnbanAll(mpsc::Sender<i64>),
    /// The options changed (a `set`, or the end of a reload).
    Config(Box<Jail>),
    /// Stop the jail: flush bans, stop actions, save positions.
    Stop(mpsc::Sender<()>),
    /// Write the log positions now (before the files are followed anew).
    SavePositions(mpsc::Sender<()>),
}

/// The server's side of a started jail.
#[derive(Clone)]
pub struct JailHandle {
    tx: SyncSender<Msg>,
    live: SharedLive,
    inner: Arc<Mutex<Option<Parts>>>,
}

struct Parts {
    thread: JoinHandle<()>,
    feeder: super::follow::Feeder,
    /// What the feeder follows: log paths, or journal matches.
    sources: Sources,
    db: Option<SharedDb>,
    log: Arc<Logger>,
}

type Sources = (Vec<(String, bool)>, Vec<Vec<String>>);

fn sources(j: &Jail) -> Sources {
    (j.logpaths.clone(), j.journalmatch.clone())
}

impl std::fmt::Debug for JailHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JailHandle")
    }
}

/// Depth of the engine's inbox: a feeder that outruns the engine waits.
const INBOX: usize = 64;

impl JailHandle {
    /// Starts the jail's engine thread and its log feeder.
    pub fn start(jail: &Jail, db: Option<SharedDb>, log: Arc<Logger>) -> JailHandle {
        let (tx, rx): (SyncSender<Msg>, Receiver<Msg>) = mpsc::sync_channel(INBOX);
        let live: SharedLive = Arc::new(Mutex::new(Live::default()));
        let conf = jail.clone();
        let (ready_tx, ready_rx) = mpsc::channel();
        let thread = {
            let live = live.clone();
            let log = log.clone();
            let db = db.clone();
            std::thread::Builder::new()
                .name(format!("f2b/j.{}", jail.name))
                .spawn(move || {
                    let mut e = super::engine::Engine::new(conf, db, log, live);
                    e.start();
                    let _ = ready_tx.send(());
                    e.run(rx);
                })
        };
        let thread = match thread {
            Ok(t) => t,
            Err(e) => {
                log.error(
                    "jail",
                    &format!("[{}] cannot start the jail thread: {e}", jail.name),
                );
                return JailHandle {
                    tx,
                    live,
                    inner: Arc::new(Mutex::new(None)),
                };
            }
        };
        // The engine restored its bans and read the log positions before
        // the feeder starts, so the first lines continue where they stopped.
        let _ = ready_rx.recv();
        let feeder = super::follow::Feeder::start(jail, db.as_ref(), tx.clone(), log.clone());
        JailHandle {
            tx,
            live,
            inner: Arc::new(Mutex::new(Some(Parts {
                thread,
                feeder,
                sources: sources(jail),
                db,
                log,
            }))),
        }
    }

    /// A copy of the live view.
    pub fn live(&self) -> Live {
        self.live.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn ask<T>(&self, make: impl FnOnce(mpsc::Sender<T>) -> Msg) -> Option<T> {
        let (rtx, rrx) = mpsc::channel();
        self.tx.send(make(rtx)).ok()?;
        rrx.recv().ok()
    }

    /// `banip`: how many were newly banned.
    pub fn ban(&self, ips: Vec<String>) -> i64 {
        self.ask(|r| Msg::Ban(ips, r)).unwrap_or(0)
    }

    /// `attempt`.
    pub fn attempt(&self, ip: String, matches: Vec<String>) {
        let _ = self.ask(|r| Msg::Attempt(ip, matches, r));
    }

    /// `unbanip`: the count and the addresses that were not banned.
    pub fn unban(&self, ips: Vec<String>) -> (i64, Vec<String>) {
        self.ask(|r| Msg::Unban(ips, r)).unwrap_or((0, Vec::new()))
    }

    /// `unban --all` for this jail.
    pub fn unban_all(&self) -> i64 {
        self.ask(Msg::UnbanAll).unwrap_or(0)
    }

    /// New options. Changed log paths (or journal matches) are followed
    /// anew, from the positions saved just before.
    pub fn reconfigure(&self, jail: &Jail) {
        let mut conf = jail.clone();
        conf.runtime = None;
        let _ = self.tx.send(Msg::Config(Box::new(conf)));
        let Ok(mut guard) = self.inner.lock() else {
            return;
        };
        let Some(parts) = guard.as_mut() else { return };
        if parts.sources == sources(jail) {
            return;
        }
        let old = std::mem::replace(&mut parts.feeder, super::follow::Feeder::idle());
        old.stop();
        let _ = self.ask(Msg::SavePositions);
        parts.feeder = super::follow::Feeder::start(
            jail,
            parts.db.as_ref(),
            self.tx.clone(),
            parts.log.clone(),
        );
        parts.sources = sources(jail);
    }

    /// Stops the feeder, then the engine (bans flushed, actions stopped,
    /// positions saved), and waits for both.
    pub fn stop(&self) {
        let parts = self.inner.lock().ok().and_then(|mut p| p.take());
        let Some(parts) = parts else { return };
        parts.feeder.stop();
        let _ = self.ask(Msg::Stop);
        let _ = parts.thread.join();
    }
}
