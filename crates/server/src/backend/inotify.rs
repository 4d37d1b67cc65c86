//! One inotify instance for every jail of the process (fail2ban:
//! `filterpyinotify.py`, which starts a notifier thread per jail). The
//! inotify file descriptor is read by a task on the runtime that follows
//! the logs (the jails' thread), so following costs no thread at all.
//!
//! Jails subscribe with the log files they follow; the watch is on each
//! file's directory (a rotated-in file is a new inode a file watch would
//! not see), shared and dropped when the last subscriber of a directory
//! goes. An event wakes only the jails that follow the file it names (every
//! jail of the directory when it concerns the directory itself, and every
//! jail when the kernel queue overflowed). The watch mask has no `IN_OPEN`
//! or `IN_ACCESS`: reading a log (ours, or anyone's) wakes nobody.

use std::collections::HashMap;
use std::ffi::{CString, OsString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

/// What changes a followed file (or its directory) can undergo.
const MASK: u32 = libc::IN_MODIFY
    | libc::IN_ATTRIB
    | libc::IN_CLOSE_WRITE
    | libc::IN_MOVED_FROM
    | libc::IN_MOVED_TO
    | libc::IN_CREATE
    | libc::IN_DELETE
    | libc::IN_DELETE_SELF
    | libc::IN_MOVE_SELF;

struct Sub {
    id: u64,
    names: Vec<OsString>,
    tx: UnboundedSender<()>,
}

#[derive(Default)]
struct Hub {
    /// The inotify instance and its reader; a new one (a new generation)
    /// when the runtime that ran the reader is gone (tests start many).
    fd: Option<Arc<AsyncFd<OwnedFd>>>,
    reader: Option<JoinHandle<()>>,
    generation: u64,
    next_id: u64,
    /// Subscribers by watch descriptor (one per directory).
    watches: HashMap<i32, Vec<Sub>>,
}

static HUB: OnceLock<Mutex<Hub>> = OnceLock::new();

fn hub() -> &'static Mutex<Hub> {
    HUB.get_or_init(|| Mutex::new(Hub::default()))
}

fn lock() -> Option<MutexGuard<'static, Hub>> {
    Some(hub().lock().unwrap_or_else(|p| p.into_inner()))
}

/// A jail's interest in some files; dropping it ends the interest.
pub struct Subscription {
    id: u64,
    generation: u64,
    wds: Vec<i32>,
}

/// The directory a log file is watched through.
pub fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

impl Hub {
    /// The inotify fd, (re)started with its reader on the current runtime.
    fn fd(&mut self) -> Option<Arc<AsyncFd<OwnedFd>>> {
        let alive = self.reader.as_ref().is_some_and(|r| !r.is_finished());
        if alive {
            return self.fd.clone();
        }
        let rt = tokio::runtime::Handle::try_current().ok()?;
        // SAFETY: a plain syscall; a non-negative result is a new fd we own.
        let raw = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if raw < 0 {
            return None;
        }
        let owned = unsafe { OwnedFd::from_raw_fd(raw) };
        // In the runtime's context already: the fd joins its reactor.
        // SAFETY: the OwnedFd is valid and only closed when the AsyncFd
        // (which owns it) is dropped.
        let fd = unsafe { AsyncFd::register_with_interest(owned, Interest::READABLE) };
        let fd = Arc::new(fd.ok()?);
        self.generation += 1;
        self.watches.clear();
        self.fd = Some(fd.clone());
        self.reader = Some(rt.spawn(read_events(fd.clone())));
        Some(fd)
    }
}

/// Wakes `tx` whenever one of `files` may have changed. None when inotify
/// is unavailable (or no directory could be watched), or when called
/// outside a tokio runtime: the caller polls.
pub fn subscribe(files: &[PathBuf], tx: UnboundedSender<()>) -> Option<Subscription> {
    let mut h = lock()?;
    let fd = h.fd()?;
    h.next_id += 1;
    let id = h.next_id;
    let mut by_dir: HashMap<PathBuf, Vec<OsString>> = HashMap::new();
    for f in files {
        let name = f.file_name().map(OsString::from).unwrap_or_default();
        by_dir.entry(parent_dir(f)).or_default().push(name);
    }
    let mut wds = Vec::new();
    for (dir, names) in by_dir {
        let Ok(c) = CString::new(dir.into_os_string().into_vec()) else {
            continue;
        };
        // SAFETY: a valid NUL-terminated path and our inotify fd.
        let wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), c.as_ptr(), MASK) };
        if wd < 0 {
            continue;
        }
        h.watches.entry(wd).or_default().push(Sub {
            id,
            names,
            tx: tx.clone(),
        });
        wds.push(wd);
    }
    let generation = h.generation;
    (!wds.is_empty()).then_some(Subscription {
        id,
        generation,
        wds,
    })
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let Some(mut h) = lock() else { return };
        if h.generation != self.generation {
            return;
        }
        let fd = h.fd.clone();
        for wd in &self.wds {
            let Some(list) = h.watches.get_mut(wd) else {
                continue;
            };
            list.retain(|s| s.id != self.id);
            if list.is_empty() {
                h.watches.remove(wd);
                if let Some(fd) = &fd {
                    // SAFETY: removing our own watch from our inotify fd.
                    unsafe { libc::inotify_rm_watch(fd.as_raw_fd(), *wd) };
                }
            }
        }
    }
}

/// Reads the inotify fd and wakes the subscribers each event concerns.
async fn read_events(fd: Arc<AsyncFd<OwnedFd>>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let Ok(mut ready) = fd.readable().await else {
            return;
        };
        let res = ready.try_io(|inner| {
            // SAFETY: reading into our own buffer of `buf.len()` bytes.
            let n = unsafe { libc::read(inner.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        });
        match res {
            Ok(Ok(n)) => dispatch(&buf[..n]),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Ok(Err(_)) => return,
            Err(_would_block) => {}
        }
    }
}

/// `struct inotify_event`: wd, mask, cookie, len, then `len` name bytes.
fn dispatch(mut buf: &[u8]) {
    let Some(h) = lock() else { return };
    let wake = |subs: &[Sub], name: &[u8]| {
        for s in subs {
            if name.is_empty() || s.names.iter().any(|n| n.as_bytes() == name) {
                let _ = s.tx.send(());
            }
        }
    };
    while buf.len() >= 16 {
        let word = |i: usize| u32::from_ne_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
        let (wd, mask, len) = (word(0) as i32, word(4), word(12) as usize);
        let end = (16 + len).min(buf.len());
        let raw = &buf[16..end];
        let name = &raw[..raw.iter().position(|b| *b == 0).unwrap_or(raw.len())];
        if mask & libc::IN_Q_OVERFLOW != 0 {
            for subs in h.watches.values() {
                wake(subs, b"");
            }
        } else if let Some(subs) = h.watches.get(&wd) {
            wake(subs, name);
        }
        buf = &buf[end..];
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
        let ids = [sa.id, sb.id];
        let wds: Vec<i32> = sa.wds.iter().chain(&sb.wds).copied().collect();
        drop(sa);
        std::fs::write(&b, "y\n").unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(woken(&mut rb) > 0, "b's jail lost its watch when a's went");
        drop(sb);
        // Other tests of this binary subscribe concurrently to the same hub:
        // only this test's subscribers must be gone.
        let h = hub().lock().unwrap();
        assert!(!h.watches.values().flatten().any(|s| ids.contains(&s.id)));
        // The directory's watch went with its last subscriber (inotify wds
        // are allocated cyclically, so another test cannot hold this one).
        assert!(wds.iter().all(|wd| !h.watches.contains_key(wd)));
    }
}
