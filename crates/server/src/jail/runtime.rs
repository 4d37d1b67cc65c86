//! A started jail: an engine (filter, fail manager, ignore list, actions,
//! ban list) driven by a task on the jails' shared runtime, and a feeder
//! that follows its logs (fail2ban: the jail's filter thread and actions
//! thread, `jail.py` `start`/`stop`).
//!
//! Everything that changes the ban list goes through the engine's inbox,
//! in order: log lines, `banip`/`unbanip`, `attempt`, `unban --all`, option
//! changes, stop. The driver task takes what is queued and runs it as one
//! step on a blocking-pool thread (see [`pool`]), so no jail waits for
//! another's actions, and one jail's steps never overlap. The transmitter
//! waits for the answer of a command (as fail2ban runs these in its command
//! handler), but never runs a shell command itself; log-driven bans never
//! touch the socket at all. The transmitter reads the live ban list and
//! counters from [`SharedLive`], refreshed by the engine after each step.

use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::engine::Engine;
use super::follow::Feeder;
use super::{Jail, Live, SharedLive};
use crate::database::Database;
use crate::journal::JournalLine;
use crate::log::Logger;
use crate::mytime;

pub mod pool;

/// A shared database handle (one sqlite connection for every jail, as
/// fail2ban's single `Fail2BanDb`).
pub type SharedDb = Arc<Mutex<Database>>;

/// A reply to the one who asked.
pub type Reply<T> = std_mpsc::Sender<T>;

/// What the engine is asked to do.
pub enum Msg {
    /// New complete lines of a log file (boxed, as every large variant:
    /// the inbox allocates 32 slots of the enum's size up front).
    Lines(Box<LogLines>),
    /// Journal entries; `at_end` once the reader caught up.
    Journal {
        /// The rendered entries.
        lines: Vec<JournalLine>,
        /// The reader reached the end of the journal with this batch.
        at_end: bool,
    },
    /// `set <jail> banip <ip>...`: the number newly banned.
    Ban(Vec<String>, Reply<i64>),
    /// `set <jail> attempt <ip> [<match>...]`.
    Attempt(Box<(String, Vec<String>)>, Reply<()>),
    /// `unbanip`: `(count, addresses not banned)`.
    Unban(Vec<String>, Reply<(i64, Vec<String>)>),
    /// `unban --all` for this jail: the number unbanned.
    UnbanAll(Reply<i64>),
    /// The options changed (a `set`, or the end of a reload).
    Config(Box<Jail>),
    /// Stop the jail: flush bans, stop actions, save positions. The answer
    /// is the stop's `fail2ban.actions` log lines, for the caller to log.
    Stop(Reply<Vec<(i64, String)>>),
    /// Write the log positions now (before the files are followed anew).
    SavePositions(Reply<()>),
    /// `set <jail> action <act> <method> [<json kwargs>]`.
    ActionMethod(Box<ActionMethod>),
}

/// [`Msg::Lines`]: new complete lines of a log file; `pos`/`hash` after them.
pub struct LogLines {
    /// The file.
    pub path: PathBuf,
    /// The lines, without line ends.
    pub lines: Vec<Vec<u8>>,
    /// Position after these lines.
    pub pos: u64,
    /// First-line MD5.
    pub hash: String,
    /// The reader reached the end of the file with this batch.
    pub at_end: bool,
}

/// [`Msg::ActionMethod`]: an action method to call.
pub struct ActionMethod {
    /// The action's name.
    pub action: String,
    /// The method (`start`, `ban`, ...).
    pub method: String,
    /// Its keyword arguments as JSON.
    pub kwargs: Option<String>,
    /// What the method returned, or the exception it raised.
    pub reply: Reply<Result<ironban_config::Value, crate::protocol::PyException>>,
}

/// The server's side of a started jail.
#[derive(Clone)]
pub struct JailHandle {
    tx: mpsc::Sender<Msg>,
    live: SharedLive,
    inner: Arc<Mutex<Option<Parts>>>,
    hold: Arc<Mutex<Option<oneshot::Sender<()>>>>,
}

struct Parts {
    driver: JoinHandle<()>,
    feeder: Feeder,
    rt: Handle,
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

/// Taken by a jail started by a stream while its actions start.
static HELD_STARTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// Depth of the engine's inbox: a feeder that outruns the engine waits.
const INBOX: usize = 64;

/// Most messages taken into one step (a step holds the engine; the
/// transmitter's request behind a long backlog waits for it).
const STEP_MSGS: usize = 16;

/// A jail whose stop was requested; [`Stopping::wait`] waits for it.
pub struct Stopping {
    done: std_mpsc::Receiver<Vec<(i64, String)>>,
    log: Option<Arc<Logger>>,
}

impl Stopping {
    /// Waits until the feeder and the engine have stopped (bans flushed,
    /// actions stopped, positions saved), then logs the stop's action lines
    /// (so that jails stopped together still log one after the other).
    pub fn wait(self) {
        // The sender is dropped unused when there was nothing to stop.
        let lines = self.done.recv().unwrap_or_default();
        if let Some(log) = self.log {
            for (lvl, msg) in lines {
                log.log("actions", lvl, &msg);
            }
        }
    }
}

impl JailHandle {
    /// Builds the jail's engine and reads its bans and log positions (on
    /// the caller's thread: the caller waits for that anyway, and a hop to
    /// another thread costs a scheduler wake-up per jail), then hands it to
    /// a driver task on the jails' runtime and starts following. The
    /// actions start as the engine's first step, after this returns; with
    /// `held`, only once [`JailHandle::release`] is called (or a message is
    /// sent to the engine), so the jails of one configuration stream are
    /// all started before their `actionstart` shells take the CPU.
    pub fn start(jail: &Jail, db: Option<SharedDb>, log: Arc<Logger>, held: bool) -> JailHandle {
        let (tx, rx) = mpsc::channel(INBOX);
        let live: SharedLive = Arc::new(Mutex::new(Live::default()));
        let (hold_tx, hold_rx) = if held {
            let (t, r) = oneshot::channel();
            (Some(t), Some(r))
        } else {
            (None, None)
        };
        let hold = Arc::new(Mutex::new(hold_tx));
        let Some(rt) = pool::handle() else {
            log.error(
                "jail",
                &format!("[{}] cannot start the jails' thread", jail.name),
            );
            return JailHandle {
                tx,
                live,
                inner: Arc::new(Mutex::new(None)),
                hold,
            };
        };
        // The engine restored its bans and read the log positions before
        // the feeder starts, so the first lines continue where they stopped.
        // Boxed: the driver's future holds the engine across several await
        // points, and inline each state kept its own copy of the struct
        // (docs/server.md "Memory and stop").
        let mut engine = Box::new(Engine::new(
            jail.clone(),
            db.clone(),
            log.clone(),
            live.clone(),
        ));
        let restored = engine.start();
        crate::server::timing(|| format!("{} engine ready", jail.name));
        let driver = rt.spawn(async move {
            // The jails of one stream start their actions one after the
            // other, as fail2ban's do (its `_cmd_lock` runs every shell
            // command of the process in turn): fifty `actionstart` shells
            // at once would leave the socket thread no CPU to answer on.
            let mut permit = None;
            if let Some(hold) = hold_rx {
                // Released, or the handle is gone: start either way.
                let _ = hold.await;
                permit = HELD_STARTS.acquire().await.ok();
            }
            // `start` returns before the actions' shells ran, as
            // fail2ban's does; they run before any message is handled.
            let started = tokio::task::spawn_blocking(move || {
                crate::server::timing(|| "actions start".into());
                engine.start_actions(restored);
                crate::server::timing(|| "actions started".into());
                engine
            })
            .await;
            drop(permit);
            let Ok(engine) = started else { return };
            drive(engine, rx).await;
        });
        let feeder = Feeder::start(jail, db.as_ref(), tx.clone(), log.clone(), &rt);
        JailHandle {
            tx,
            live,
            inner: Arc::new(Mutex::new(Some(Parts {
                driver,
                feeder,
                rt,
                sources: sources(jail),
                db,
                log,
            }))),
            hold,
        }
    }

    /// Lets a jail started `held` start its actions (no-op otherwise, and
    /// the second time).
    pub fn release(&self) {
        let tx = self.hold.lock().ok().and_then(|mut h| h.take());
        if let Some(tx) = tx {
            let _ = tx.send(());
        }
    }

    /// A copy of the live view.
    pub fn live(&self) -> Live {
        self.live.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Queues `m`; false once the engine is gone. Called from threads
    /// outside the jails' runtime (the socket thread may be inside a
    /// runtime of its own, so no `blocking_send`).
    fn put(&self, mut m: Msg) -> bool {
        // A message is handled after the actions started: never wait on a
        // held engine.
        self.release();
        loop {
            match self.tx.try_send(m) {
                Ok(()) => return true,
                Err(TrySendError::Full(back)) => {
                    m = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(TrySendError::Closed(_)) => return false,
            }
        }
    }

    fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Msg) -> Option<T> {
        let (rtx, rrx) = std_mpsc::channel();
        if !self.put(make(rtx)) {
            return None;
        }
        rrx.recv().ok()
    }

    /// `banip`: how many were newly banned.
    pub fn ban(&self, ips: Vec<String>) -> i64 {
        self.ask(|r| Msg::Ban(ips, r)).unwrap_or(0)
    }

    /// `attempt`.
    pub fn attempt(&self, ip: String, matches: Vec<String>) {
        let _ = self.ask(|r| Msg::Attempt(Box::new((ip, matches)), r));
    }

    /// `unbanip`: the count and the addresses that were not banned.
    pub fn unban(&self, ips: Vec<String>) -> (i64, Vec<String>) {
        self.ask(|r| Msg::Unban(ips, r)).unwrap_or((0, Vec::new()))
    }

    /// `unban --all` for this jail.
    pub fn unban_all(&self) -> i64 {
        self.ask(Msg::UnbanAll).unwrap_or(0)
    }

    /// Calls `method` of action `action` (`set <jail> action <act>
    /// <method> [<json kwargs>]`); `None` when the jail is gone.
    pub fn action_method(
        &self,
        action: &str,
        method: &str,
        kwargs: Option<String>,
    ) -> Result<ironban_config::Value, crate::protocol::PyException> {
        self.ask(|reply| {
            Msg::ActionMethod(Box::new(ActionMethod {
                action: action.to_string(),
                method: method.to_string(),
                kwargs,
                reply,
            }))
        })
        .unwrap_or(Ok(ironban_config::Value::None))
    }

    /// New options. Changed log paths (or journal matches) are followed
    /// anew, from the positions saved just before.
    pub fn reconfigure(&self, jail: &Jail) {
        let mut conf = jail.clone();
        conf.runtime = None;
        self.put(Msg::Config(Box::new(conf)));
        let Ok(mut guard) = self.inner.lock() else {
            return;
        };
        let Some(parts) = guard.as_mut() else { return };
        if parts.sources == sources(jail) {
            return;
        }
        let old = std::mem::replace(&mut parts.feeder, Feeder::idle());
        let (done_tx, done_rx) = std_mpsc::channel::<()>();
        parts.rt.spawn(async move {
            old.stop().await;
            drop(done_tx);
        });
        let _ = done_rx.recv();
        let _ = self.ask(Msg::SavePositions);
        parts.feeder = Feeder::start(
            jail,
            parts.db.as_ref(),
            self.tx.clone(),
            parts.log.clone(),
            &parts.rt,
        );
        parts.sources = sources(jail);
    }

    /// Starts stopping: the feeder stops, the lines it already sent are
    /// processed, then the engine stops (bans flushed, actions stopped,
    /// positions saved). Returns at once; many jails stop concurrently.
    pub fn stop_begin(&self) -> Stopping {
        self.release();
        let (done_tx, done_rx) = std_mpsc::channel();
        let parts = self.inner.lock().ok().and_then(|mut p| p.take());
        let log = parts.as_ref().map(|p| p.log.clone());
        if let Some(p) = parts {
            let tx = self.tx.clone();
            p.rt.spawn(async move {
                p.feeder.stop().await;
                let (r, answer) = std_mpsc::channel();
                let _ = tx.send(Msg::Stop(r)).await;
                let _ = p.driver.await;
                // The driver is done, so the answer (if any) is there.
                let _ = done_tx.send(answer.try_recv().unwrap_or_default());
            });
        }
        Stopping { done: done_rx, log }
    }

    /// Stops the jail and waits for it.
    pub fn stop(&self) {
        self.stop_begin().wait();
    }
}

/// Runs the engine: waits for messages or the next timed work, then runs
/// what is queued as one step on a blocking-pool thread.
async fn drive(mut engine: Box<Engine>, mut rx: mpsc::Receiver<Msg>) {
    let mut open = true;
    loop {
        let mut msgs = Vec::new();
        if open {
            let wait = engine.next_wake() - mytime::now();
            // At least 10 ms: work that stays due (an unban whose action
            // keeps failing) must not spin. NaN counts as due.
            let wait = if wait.is_nan() {
                0.01
            } else {
                wait.clamp(0.01, 3600.0)
            };
            tokio::select! {
                m = rx.recv() => match m {
                    Some(m) => msgs.push(m),
                    None => open = false,
                },
                _ = tokio::time::sleep(Duration::from_secs_f64(wait)) => {}
            }
            while msgs.len() < STEP_MSGS {
                match rx.try_recv() {
                    Ok(m) => msgs.push(m),
                    Err(_) => break,
                }
            }
        }
        let closed = !open;
        let step = tokio::task::spawn_blocking(move || {
            let done = engine.step(msgs, closed);
            (engine, done)
        })
        .await;
        match step {
            Ok((e, false)) => engine = e,
            _ => return,
        }
    }
}
