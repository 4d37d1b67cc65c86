//! One inotify watcher for every jail of the process (fail2ban:
//! `filterpyinotify.py`, which starts a notifier thread per jail; ironban
//! shares a single one, so 50 jails cost one thread, not 50).
//!
//! Jails subscribe with the log files they follow; the watch is on each
//! file's directory (a rotated-in file is a new inode a file watch would
//! not see), counted, and dropped when the last subscriber of a directory
//! goes. An event wakes only the jails that follow the file it names (or
//! every jail of the directory when it names the directory itself, and
//! every jail when the kernel queue overflowed).

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc::UnboundedSender;

struct Sub {
    id: u64,
    names: Vec<OsString>,
    tx: UnboundedSender<()>,
}

struct Hub {
    /// The watcher and the directories it watches. Locked before `subs`
    /// and never while the event handler could wait for it: the handler
    /// runs on the watcher's thread and takes `subs` only.
    watcher: Mutex<Option<(notify::RecommendedWatcher, HashSet<PathBuf>)>>,
    subs: Mutex<HashMap<PathBuf, Vec<Sub>>>,
    next: AtomicU64,
}

static HUB: OnceLock<Hub> = OnceLock::new();

fn hub() -> &'static Hub {
    HUB.get_or_init(|| Hub {
        watcher: Mutex::new(None),
        subs: Mutex::new(HashMap::new()),
        next: AtomicU64::new(1),
    })
}

/// Routes one event to the subscribers it concerns.
fn dispatch(res: notify::Result<notify::Event>) {
    let Ok(ev) = res else { return };
    // Opening and closing a file are events too (IN_OPEN, IN_CLOSE_NOWRITE):
    // a jail's own reads must not wake it, or every read triggers the next
    // one and an idle jail spins (measured: 70 % of a core for one jail).
    if matches!(ev.kind, notify::EventKind::Access(_)) {
        return;
    }
    let Ok(subs) = hub().subs.lock() else { return };
    if ev.paths.is_empty() || ev.need_rescan() {
        for s in subs.values().flatten() {
            let _ = s.tx.send(());
        }
        return;
    }
    for p in &ev.paths {
        if let Some(list) = subs.get(p.as_path()) {
            for s in list {
                let _ = s.tx.send(());
            }
        }
        let (Some(dir), Some(name)) = (p.parent(), p.file_name()) else {
            continue;
        };
        if let Some(list) = subs.get(dir) {
            for s in list.iter().filter(|s| s.names.iter().any(|n| n == name)) {
                let _ = s.tx.send(());
            }
        }
    }
}

/// A jail's interest in some files; dropping it ends the interest.
pub struct Subscription {
    id: u64,
    dirs: Vec<PathBuf>,
}

/// The directory a log file is watched through.
pub fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Wakes `tx` whenever one of `files` may have changed. None when inotify
/// is unavailable (or no directory could be watched): the caller polls.
pub fn subscribe(files: &[PathBuf], tx: UnboundedSender<()>) -> Option<Subscription> {
    let h = hub();
    let mut w = h.watcher.lock().ok()?;
    if w.is_none() {
        let watcher = notify::recommended_watcher(dispatch).ok()?;
        *w = Some((watcher, HashSet::new()));
    }
    let (watcher, watched) = w.as_mut()?;
    let id = h.next.fetch_add(1, Ordering::Relaxed);
    let mut by_dir: HashMap<PathBuf, Vec<OsString>> = HashMap::new();
    for f in files {
        let name = f.file_name().map(OsString::from).unwrap_or_default();
        by_dir.entry(parent_dir(f)).or_default().push(name);
    }
    let mut dirs = Vec::new();
    for (dir, names) in by_dir {
        if !watched.contains(&dir) {
            if watcher.watch(&dir, RecursiveMode::NonRecursive).is_err() {
                continue;
            }
            watched.insert(dir.clone());
        }
        if let Ok(mut subs) = h.subs.lock() {
            subs.entry(dir.clone()).or_default().push(Sub {
                id,
                names,
                tx: tx.clone(),
            });
        }
        dirs.push(dir);
    }
    let sub = Subscription { id, dirs };
    (!sub.dirs.is_empty()).then_some(sub)
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let h = hub();
        let Ok(mut w) = h.watcher.lock() else { return };
        let mut unused = Vec::new();
        if let Ok(mut subs) = h.subs.lock() {
            for d in &self.dirs {
                if let Some(list) = subs.get_mut(d) {
                    list.retain(|s| s.id != self.id);
                    if list.is_empty() {
                        subs.remove(d);
                        unused.push(d.clone());
                    }
                }
            }
        }
        if let Some((watcher, watched)) = w.as_mut() {
            for d in unused {
                watched.remove(&d);
                let _ = watcher.unwatch(&d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::sync::mpsc;

    fn woken(rx: &mut mpsc::UnboundedReceiver<()>) -> usize {
        let mut n = 0;
        while rx.try_recv().is_ok() {
            n += 1;
        }
        n
    }

    /// Two jails on two files of one directory: a write to one file wakes
    /// only its jail; the directory stays watched until the last one goes.
    #[tokio::test]
    async fn an_event_wakes_only_the_jails_of_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
        std::fs::write(&a, "").unwrap();
        std::fs::write(&b, "").unwrap();
        let (ta, mut ra) = mpsc::unbounded_channel();
        let (tb, mut rb) = mpsc::unbounded_channel();
        let sa = subscribe(std::slice::from_ref(&a), ta).expect("inotify");
        let sb = subscribe(std::slice::from_ref(&b), tb).expect("inotify");
        std::fs::write(&a, "x\n").unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(woken(&mut ra) > 0, "a's jail was not woken");
        assert_eq!(woken(&mut rb), 0, "b's jail was woken by a write to a");
        drop(sa);
        std::fs::write(&b, "y\n").unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(woken(&mut rb) > 0, "b's jail lost its watch when a's went");
        drop(sb);
        let dirkey = parent_dir(&b);
        assert!(!hub().subs.lock().unwrap().contains_key(&dirkey));
    }
}
