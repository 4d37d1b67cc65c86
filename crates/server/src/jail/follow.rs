//! Feeding a started jail its log lines: files through `backend::follow`
//! (inotify or polling) as tasks on the jails' shared runtime, or the
//! systemd journal on a thread of its own (the journal API blocks) (fail2ban: `filterpoll.py`, `filterpyinotify.py`,
//! `filtersystemd.py` `run`).
//!
//! File positions come from the database (`addLog`: the stored position is
//! reused when the first line's MD5 still matches); the journal resumes
//! after the stored cursor, but never earlier than `now - findtime`, as
//! fail2ban seeks to `max(last known time, now - findtime)`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::runtime::{LogLines, Msg, SharedDb};
use super::Jail;
use crate::backend::container::FileContainer;
use crate::backend::watch::{follow, BackendKind, LogEvent};
use crate::journal::JournalOptions;
use crate::log::Logger;
#[cfg(feature = "systemd")]
use crate::mytime;

/// The name fail2ban stores a journal position under in `logs.path`.
pub const JOURNAL_NAME: &str = "systemd-journal";

/// Lines per batch from `backend::follow`; a shorter batch ends at EOF.
const BATCH: usize = 1000;

/// Polling interval of the `polling` backend (fail2ban's `sleeptime`).
const POLL: Duration = Duration::from_secs(1);

/// The running feeder of one jail.
pub struct Feeder {
    shutdown: Option<watch::Sender<bool>>,
    journal_stop: Arc<AtomicBool>,
    journal: Option<std::thread::JoinHandle<()>>,
    files: Option<JoinHandle<()>>,
}

impl Feeder {
    /// A feeder that follows nothing.
    pub fn idle() -> Feeder {
        Feeder {
            shutdown: None,
            journal_stop: Arc::new(AtomicBool::new(false)),
            journal: None,
            files: None,
        }
    }

    /// Starts following the jail's logs (or journal), sending to `tx`.
    pub fn start(
        jail: &Jail,
        db: Option<&SharedDb>,
        tx: mpsc::Sender<Msg>,
        log: Arc<Logger>,
        rt: &Handle,
    ) -> Feeder {
        let mut f = Feeder::idle();
        if jail.is_journal() {
            f.start_journal(jail, db, tx, log);
        } else {
            f.start_files(jail, db, tx, log, rt);
        }
        f
    }

    fn start_files(
        &mut self,
        jail: &Jail,
        db: Option<&SharedDb>,
        tx: mpsc::Sender<Msg>,
        log: Arc<Logger>,
        rt: &Handle,
    ) {
        let mut containers = Vec::new();
        let mut missing = Vec::new();
        for (path, tail) in &jail.logpaths {
            let p = PathBuf::from(path);
            let mut c = match FileContainer::open(&p, *tail) {
                Ok(c) => c,
                Err(e) => {
                    // fail2ban refuses a jail without its log; ironban keeps
                    // the jail and starts reading once the file appears.
                    log.warning(
                        "filter",
                        &format!(
                            "[{}] Unable to open {path}: {e}; it is followed once it appears",
                            jail.name
                        ),
                    );
                    missing.push(p);
                    continue;
                }
            };
            if let Some(db) = db {
                let hash = c.hash().to_string();
                let md5 = (!hash.is_empty()).then_some(hash.as_str());
                let stored = db
                    .lock()
                    .ok()
                    .and_then(|d| d.add_log(&jail.name, path, c.pos(), md5).ok())
                    .flatten();
                if let Some(pos) = stored {
                    if !*tail {
                        c.set_pos(pos);
                    }
                }
            }
            containers.push(c);
        }
        if containers.is_empty() && missing.is_empty() {
            return;
        }
        let kind = BackendKind::parse(&jail.backend).unwrap_or(BackendKind::Auto);
        let (stop_tx, stop_rx) = watch::channel(false);
        self.shutdown = Some(stop_tx);
        let (ev_tx, ev_rx) = mpsc::channel(4);
        let name = jail.name.clone();
        let run = async move {
            let mut tasks = vec![tokio::spawn(forward(ev_rx, tx, log, name))];
            if !containers.is_empty() {
                let f = follow(containers, kind, POLL, ev_tx.clone(), stop_rx.clone());
                tasks.push(tokio::spawn(f));
            }
            for p in missing {
                let (ev_tx, mut stop_rx) = (ev_tx.clone(), stop_rx.clone());
                tasks.push(tokio::spawn(async move {
                    // A file that appears later is new: read from its start.
                    let c = loop {
                        if let Ok(c) = FileContainer::open(&p, false) {
                            break c;
                        }
                        tokio::select! {
                            _ = tokio::time::sleep(POLL) => {}
                            r = stop_rx.changed() => if r.is_err() || *stop_rx.borrow() { return },
                        }
                    };
                    follow(vec![c], kind, POLL, ev_tx, stop_rx).await;
                }));
            }
            drop(ev_tx);
            for t in tasks {
                let _ = t.await;
            }
        };
        self.files = Some(rt.spawn(run));
    }

    fn start_journal(
        &mut self,
        jail: &Jail,
        db: Option<&SharedDb>,
        tx: mpsc::Sender<Msg>,
        log: Arc<Logger>,
    ) {
        let opts = journal_options(&jail.backend);
        let mut matches: Vec<String> = Vec::new();
        for (i, g) in jail.journalmatch.iter().enumerate() {
            if i > 0 {
                matches.push("+".into());
            }
            matches.extend(g.iter().cloned());
        }
        let saved = db.and_then(|d| {
            d.lock()
                .ok()
                .and_then(|d| d.journal_pos(&jail.name, JOURNAL_NAME).ok())
                .flatten()
        });
        let findtime = findtime_secs(jail);
        let stop = self.journal_stop.clone();
        let name = jail.name.clone();
        let t = std::thread::Builder::new()
            .name(format!("f2b/jr.{name}"))
            .spawn(move || journal_loop(&name, opts, matches, findtime, saved, tx, stop, log));
        self.journal = t.ok();
    }

    /// Stops following and waits until the followers are gone; the lines
    /// they sent are in the engine's inbox, ahead of anything sent later.
    pub async fn stop(self) {
        if let Some(s) = &self.shutdown {
            let _ = s.send(true);
        }
        self.journal_stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.files {
            let _ = t.await;
        }
        if let Some(t) = self.journal {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}

/// The jail's findtime in seconds.
pub fn findtime_secs(jail: &Jail) -> f64 {
    match &jail.findtime {
        ironban_config::Value::Int(i) => *i as f64,
        ironban_config::Value::Float(f) => *f,
        _ => 600.0,
    }
}

/// `journalfiles`, `journalpath`, `journalflags` from `systemd[...]`.
pub fn journal_options(backend: &str) -> JournalOptions {
    let mut o = JournalOptions::default();
    if let ironban_config::Value::Dict(kv) = crate::server::backend_kwargs(backend) {
        for (k, v) in kv {
            let v = v.to_string();
            match k.to_string().as_str() {
                "journalfiles" => o.files = v.split_whitespace().map(String::from).collect(),
                "journalpath" => o.path = Some(PathBuf::from(v)),
                "journalflags" => o.flags = v.trim().parse().ok(),
                _ => {}
            }
        }
    }
    o
}

/// Moves the follower's events into the engine's inbox; a full inbox
/// makes the follower wait (no unbounded backlog in memory).
async fn forward(
    mut rx: mpsc::Receiver<LogEvent>,
    tx: mpsc::Sender<Msg>,
    log: Arc<Logger>,
    jail: String,
) {
    while let Some(ev) = rx.recv().await {
        let msg = match ev {
            LogEvent::Lines {
                path,
                lines,
                pos,
                hash,
            } => {
                let at_end = lines.len() < BATCH;
                Msg::Lines(Box::new(LogLines {
                    path,
                    lines,
                    pos,
                    hash,
                    at_end,
                }))
            }
            LogEvent::Rotated(p) => {
                log.info(
                    "filter",
                    &format!("[{jail}] Log rotation detected for {}", p.display()),
                );
                continue;
            }
            LogEvent::Unreadable(p, e) => {
                log.error(
                    "filter",
                    &format!("[{jail}] Unable to read {}: {e}; retrying", p.display()),
                );
                continue;
            }
            LogEvent::Recovered(p) => {
                log.info(
                    "filter",
                    &format!("[{jail}] {} is readable again", p.display()),
                );
                continue;
            }
        };
        if tx.send(msg).await.is_err() {
            return;
        }
    }
}

#[cfg(feature = "systemd")]
#[allow(clippy::too_many_arguments)]
fn journal_loop(
    jail: &str,
    opts: JournalOptions,
    matches: Vec<String>,
    findtime: f64,
    saved: Option<(f64, Option<String>)>,
    tx: mpsc::Sender<Msg>,
    stop: Arc<AtomicBool>,
    log: Arc<Logger>,
) {
    use crate::journal::JournalReader;
    let mut r = match JournalReader::open(&opts) {
        Ok(r) => r,
        Err(e) => {
            log.error("filtersystemd", &format!("[{jail}] {e}"));
            return;
        }
    };
    if matches.is_empty() {
        log.notice(
            "filtersystemd",
            &format!(
                "[{jail}] Jail started without 'journalmatch' set. Jail regexs will be checked \
                 against all journal entries, which is not advised for performance reasons."
            ),
        );
    } else if let Err(e) = r.add_matches(&matches) {
        log.error("filtersystemd", &format!("[{jail}] {e}"));
        return;
    }
    let since = mytime::now() - findtime;
    let seek = match &saved {
        Some((t, Some(cursor))) if *t >= since && !cursor.is_empty() => r.seek_after_cursor(cursor),
        Some((t, _)) => r.seek_time(t.max(since)),
        None => r.seek_time(since),
    };
    if let Err(e) = seek {
        log.error("filtersystemd", &format!("[{jail}] {e}"));
    }
    let mut told_end = false;
    while !stop.load(Ordering::SeqCst) {
        let mut batch = Vec::new();
        let mut at_end = false;
        loop {
            match r.next_line() {
                Ok(Some(l)) => {
                    batch.push(l);
                    if batch.len() >= 100 {
                        break;
                    }
                }
                Ok(None) => {
                    at_end = true;
                    break;
                }
                Err(e) => {
                    log.error(
                        "filtersystemd",
                        &format!("Error reading line from systemd journal: {e}"),
                    );
                    at_end = true;
                    break;
                }
            }
        }
        if !batch.is_empty() || (at_end && !told_end) {
            told_end |= at_end;
            if tx
                .blocking_send(Msg::Journal {
                    lines: batch,
                    at_end,
                })
                .is_err()
            {
                return;
            }
        }
        if at_end {
            let _ = r.wait(Duration::from_millis(250));
        }
    }
}

#[cfg(not(feature = "systemd"))]
#[allow(clippy::too_many_arguments)]
fn journal_loop(
    jail: &str,
    _opts: JournalOptions,
    _matches: Vec<String>,
    _findtime: f64,
    _saved: Option<(f64, Option<String>)>,
    _tx: mpsc::Sender<Msg>,
    _stop: Arc<AtomicBool>,
    log: Arc<Logger>,
) {
    log.error(
        "filtersystemd",
        &format!("[{jail}] {}", crate::journal::JournalError::Unsupported),
    );
}
