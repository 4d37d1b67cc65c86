//! Following a jail's log files: inotify (`backend::inotify`) with polling
//! as the fallback and the safety net (fail2ban: `filterpyinotify.py`,
//! `filterpoll.py`).
//!
//! One task per jail (all on the jails' shared thread) reads every file of
//! the jail after each change event of the process-wide inotify instance
//! or poll tick, and sends what it read as [`LogEvent`]s. Each batch of
//! lines carries the file position *after* it, so the jail stores a
//! position in the database only once those lines were processed: after a
//! crash a line may be read twice, never lost.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::container::FileContainer;
use super::inotify::subscribe;

/// `backend =` of a jail, for files (the journal has its own reader).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// inotify when available, else polling (`auto`).
    Auto,
    /// stat the files every poll interval (`polling`).
    Polling,
    /// inotify events (`pyinotify`; also `gamin`, long gone from fail2ban).
    Inotify,
}

impl BackendKind {
    /// Parses fail2ban's backend names (options after `[` are ignored here).
    pub fn parse(s: &str) -> Option<BackendKind> {
        match s.split('[').next().unwrap_or("").trim() {
            "auto" => Some(BackendKind::Auto),
            "polling" => Some(BackendKind::Polling),
            "pyinotify" | "inotify" | "gamin" => Some(BackendKind::Inotify),
            _ => None,
        }
    }
}

/// What following the logs produced.
#[derive(Debug, Clone, PartialEq)]
pub enum LogEvent {
    /// New complete lines of one file.
    Lines {
        /// The file.
        path: PathBuf,
        /// The lines, without line ends.
        lines: Vec<Vec<u8>>,
        /// Position after these lines (for the database).
        pos: u64,
        /// First-line MD5 of the file (for the database).
        hash: String,
    },
    /// The file was rotated; reading restarted at its beginning.
    Rotated(PathBuf),
    /// The file could not be read (vanished, permissions); retried later.
    Unreadable(PathBuf, String),
    /// A file that was unreadable can be read again.
    Recovered(PathBuf),
}

/// Lines read per batch: big enough to amortise, small enough that a huge
/// backlog does not sit in memory all at once.
const BATCH: usize = 1000;

/// Follows `containers` until `shutdown` turns true. Polls every `every`
/// with `Polling`; with inotify, polls too but rarely, in case an event was
/// missed (a directory replaced, an overflowed queue).
pub async fn follow(
    mut containers: Vec<FileContainer>,
    kind: BackendKind,
    every: Duration,
    tx: mpsc::Sender<LogEvent>,
    mut shutdown: watch::Receiver<bool>,
) {
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<()>();
    let _watcher = match kind {
        BackendKind::Polling => None,
        BackendKind::Auto | BackendKind::Inotify => {
            let files: Vec<PathBuf> = containers.iter().map(|c| c.path().to_path_buf()).collect();
            subscribe(&files, ev_tx)
        }
    };
    let tick = if _watcher.is_some() {
        every.max(Duration::from_secs(5))
    } else {
        every
    };
    let mut unreadable = vec![false; containers.len()];
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut schedule = PollSchedule::new(every);
    let polling = _watcher.is_none();
    loop {
        for (i, c) in containers.iter_mut().enumerate() {
            if !drain(c, &mut unreadable[i], &tx).await {
                return;
            }
        }
        let wait = async {
            if polling {
                tokio::time::sleep(schedule.next_gap()).await;
            } else {
                interval.tick().await;
            }
        };
        tokio::select! {
            _ = wait => {}
            Some(()) = ev_rx.recv() => {
                // Coalesce a burst of events into one read.
                while ev_rx.try_recv().is_ok() {}
            }
            r = shutdown.changed() => {
                if r.is_err() || *shutdown.borrow() {
                    return;
                }
            }
        }
    }
}

/// The gaps between checks of the `polling` backend, as fail2ban's
/// `FilterPoll.run` makes them: `Utils.wait_for(getModified, sleeptime)`
/// checks at once, then after sleeps growing by 0.2 s
/// (`DEFAULT_SLEEP_INTERVAL`, capped at 2 s) until `sleeptime` has passed,
/// and starts over. With the default 1 s that is 0.2, 0.4, 0.6 s, so a line
/// is seen ~0.23 s after it is written on average, not 0.5 s as with one
/// check a second.
struct PollSchedule {
    period: Duration,
    waited: Duration,
    step: Duration,
}

impl PollSchedule {
    const STEP: Duration = Duration::from_millis(200);
    const MAX_GAP: Duration = Duration::from_secs(2);

    fn new(period: Duration) -> PollSchedule {
        PollSchedule {
            period,
            waited: Duration::ZERO,
            step: Duration::ZERO,
        }
    }

    fn next_gap(&mut self) -> Duration {
        if self.waited >= self.period {
            self.waited = Duration::ZERO;
            self.step = Duration::ZERO;
        }
        self.step = (self.step + Self::STEP).min(Self::MAX_GAP);
        self.waited += self.step;
        self.step
    }
}

/// Reads everything new in one file; false when the receiver is gone.
async fn drain(c: &mut FileContainer, unreadable: &mut bool, tx: &mpsc::Sender<LogEvent>) -> bool {
    loop {
        match c.read_new(BATCH) {
            Ok(r) => {
                if *unreadable {
                    *unreadable = false;
                    if tx
                        .send(LogEvent::Recovered(c.path().to_path_buf()))
                        .await
                        .is_err()
                    {
                        return false;
                    }
                }
                if r.rotated
                    && tx
                        .send(LogEvent::Rotated(c.path().to_path_buf()))
                        .await
                        .is_err()
                {
                    return false;
                }
                if r.lines.is_empty() {
                    return true;
                }
                let more = r.lines.len() == BATCH;
                let ev = LogEvent::Lines {
                    path: c.path().to_path_buf(),
                    lines: r.lines,
                    pos: c.pos(),
                    hash: c.hash().to_string(),
                };
                if tx.send(ev).await.is_err() {
                    return false;
                }
                if !more {
                    return true;
                }
            }
            Err(e) => {
                if !*unreadable {
                    *unreadable = true;
                    let ev = LogEvent::Unreadable(c.path().to_path_buf(), e.to_string());
                    if tx.send(ev).await.is_err() {
                        return false;
                    }
                }
                return true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn polling_checks_as_fail2ban_wait_for_does() {
        // fail2ban 1.0.2 with sleeptime 1 s checks at 0, 0.2, 0.6, 1.2 s,
        // and again at once when its wait_for starts over (our drain at
        // the top of the loop already read everything, so no gap of 0).
        let mut s = PollSchedule::new(Duration::from_secs(1));
        let gaps: Vec<u128> = (0..7).map(|_| s.next_gap().as_millis()).collect();
        assert_eq!(gaps, [200, 400, 600, 200, 400, 600, 200]);
        let mut s = PollSchedule::new(Duration::from_secs(10));
        let gaps: Vec<u128> = (0..12).map(|_| s.next_gap().as_millis()).collect();
        assert_eq!(
            gaps,
            [200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800, 2000, 200, 400]
        );
    }

    async fn collect_lines(rx: &mut mpsc::Receiver<LogEvent>, want: usize) -> Vec<String> {
        let mut got = Vec::new();
        while got.len() < want {
            match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
                Ok(Some(LogEvent::Lines { lines, .. })) => {
                    got.extend(lines.into_iter().map(|l| String::from_utf8(l).unwrap()))
                }
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        got
    }

    async fn follows_appends_and_rotation(kind: BackendKind) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("auth.log");
        std::fs::write(&p, "old\n").unwrap();
        let c = FileContainer::open(&p, true).unwrap();
        let (tx, mut rx) = mpsc::channel(16);
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(follow(
            vec![c],
            kind,
            Duration::from_millis(50),
            tx,
            stop_rx,
        ));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        writeln!(f, "new 1").unwrap();
        assert_eq!(collect_lines(&mut rx, 1).await, ["new 1"]);
        std::fs::rename(&p, dir.path().join("auth.log.1")).unwrap();
        std::fs::write(&p, "after rotation\n").unwrap();
        assert_eq!(collect_lines(&mut rx, 1).await, ["after rotation"]);
        stop_tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn polling_backend() {
        follows_appends_and_rotation(BackendKind::Polling).await;
    }

    #[tokio::test]
    async fn inotify_backend() {
        // The inotify tick is 5 s: passing well under the 10 s per-step
        // timeout shows the events, not the safety poll, delivered the lines.
        let t = std::time::Instant::now();
        follows_appends_and_rotation(BackendKind::Inotify).await;
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    }

    /// See: bench/runs/2026-11-25T144453Z-server.txt — an idle inotify jail
    /// woke itself with its own reads. After the first read, an idle log
    /// must produce no more events than the safety tick allows.
    #[tokio::test]
    async fn own_reads_do_not_wake_the_watcher() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("idle.log");
        std::fs::write(&p, "x\n").unwrap();
        let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
        let _w = subscribe(std::slice::from_ref(&p), ev_tx).expect("inotify");
        for _ in 0..20 {
            // What a drain does: open, read, close.
            let _ = std::fs::read(&p).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut woken = 0;
        while ev_rx.try_recv().is_ok() {
            woken += 1;
        }
        assert_eq!(
            woken, 0,
            "20 reads of an unchanged log woke the watcher {woken} times"
        );
    }

    #[test]
    fn backend_names() {
        assert_eq!(BackendKind::parse("auto"), Some(BackendKind::Auto));
        assert_eq!(BackendKind::parse("pyinotify"), Some(BackendKind::Inotify));
        assert_eq!(BackendKind::parse("polling"), Some(BackendKind::Polling));
        assert_eq!(BackendKind::parse("systemd"), None);
    }
}
