//! The listener: binds the unix socket (or takes it from systemd), writes
//! the pid file, serves every connection on its own task, and on shutdown
//! stops the jails and removes what it created.
//!
//! A connection carries any number of commands and ends with
//! `<F2B_CLOSE_COMMAND>`. A request that cannot be unpickled gets fail2ban's
//! bare `"ERROR: ..."` string and the connection stays usable; an oversized
//! message gets the same reply and the connection is closed. Neither affects
//! other connections. (fail2ban: `server/asyncserver.py`, `server.py start`.)

use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Notify, Semaphore};

use ironban_config::Value;

use super::frame::{self, Decoder, Frame, FrameError};
use super::obj::Obj;
use super::pickle::{self, dumps};
use crate::error::Error;
use crate::server::Server;
use crate::transmitter;

/// Connections served at the same time; more wait in the accept queue.
const MAX_CONNECTIONS: usize = 2048;

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct ListenOpts {
    /// Socket path.
    pub socket: PathBuf,
    /// Pid file path; `None` writes none (tests).
    pub pidfile: Option<PathBuf>,
    /// `-x`: remove an existing socket file first.
    pub force: bool,
    /// Take the socket from systemd when `LISTEN_FDS` names this process.
    pub systemd: bool,
}

/// Shared between the accept loop and the connection tasks.
struct Shared {
    server: Arc<Mutex<Server>>,
    stopping: AtomicBool,
    quit: Notify,
}

impl Shared {
    /// The server state. A panic while it was held (a bug) must not take
    /// every later command down with it, so a poisoned lock is taken over.
    fn lock(&self) -> std::sync::MutexGuard<'_, Server> {
        self.server.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Serves until `shutdown` completes or a client sends `stop`; then stops
/// all jails and removes the socket (if it was created here) and pid file.
///
/// # Errors
/// The socket exists without `force`, or it cannot be bound.
pub async fn run(
    opts: ListenOpts,
    server: Arc<Mutex<Server>>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let log = server
        .lock()
        .map(|s| s.log.clone())
        .map_err(|_| Error::Poisoned)?;
    crate::log::bridge(log.clone());
    // As fail2ban's Server.start, before the socket exists.
    log.info("server", &"-".repeat(50));
    log.info(
        "server",
        &format!("Starting Fail2ban v{}", crate::server::FAIL2BAN_VERSION),
    );
    let (listener, created) = bind(&opts, &log)?;
    if let Some(pid) = &opts.pidfile {
        make_parent(pid);
        if let Err(e) = std::fs::write(pid, format!("{}\n", std::process::id())) {
            log.error("server", &format!("Unable to create PID file: {e}"));
        }
    }
    let shared = Arc::new(Shared {
        server,
        stopping: AtomicBool::new(false),
        quit: Notify::new(),
    });
    // Bans end on their own, checked every second as fail2ban's actions
    // thread does; no `.await` while the lock is held.
    let expiry = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                tick.tick().await;
                if shared.stopping.load(Ordering::SeqCst) {
                    break;
                }
                shared.lock().unban_expired(crate::mytime::now());
            }
        })
    };
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = limit.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
            _ = shared.quit.notified() => break,
        };
        tokio::select! {
            res = listener.accept() => match res {
                Ok((stream, _)) => {
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        handle(stream, shared).await;
                        drop(permit);
                    });
                }
                Err(e) => {
                    log.warning("asyncserver", &format!("Accept socket error: {e}"));
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            },
            _ = &mut shutdown => break,
            _ = shared.quit.notified() => break,
        }
    }
    shared.stopping.store(true, Ordering::SeqCst);
    expiry.abort();
    log.info("server", "Shutdown in progress...");
    shared.lock().stop_all_jails();
    drop(listener);
    if created {
        let _ = std::fs::remove_file(&opts.socket);
    }
    if let Some(pid) = &opts.pidfile {
        if let Err(e) = std::fs::remove_file(pid) {
            log.error("server", &format!("Unable to remove PID file: {e}"));
        }
    }
    log.info("server", "Exiting Fail2ban");
    Ok(())
}

/// Binds the socket or adopts systemd's; the flag says whether we created
/// the file (and so must remove it).
fn bind(opts: &ListenOpts, log: &crate::log::Logger) -> Result<(UnixListener, bool), Error> {
    if opts.systemd {
        if let Some(l) = systemd_listener()? {
            return Ok((l, false));
        }
    }
    let sock = &opts.socket;
    if sock.exists() {
        log.error("asyncserver", "Fail2ban seems to be already running");
        if opts.force {
            log.warning("asyncserver", "Forcing execution of the server");
            std::fs::remove_file(sock)
                .map_err(|e| Error::io(sock, "removing the old socket", e))?;
        } else {
            return Err(Error::AlreadyRunning(sock.clone()));
        }
    }
    make_parent(sock);
    // SAFETY: umask only changes this process's file creation mask.
    let old = unsafe { libc::umask(0o077) };
    let res = std::os::unix::net::UnixListener::bind(sock);
    // SAFETY: as above, restoring the previous mask.
    unsafe { libc::umask(old) };
    let std_l = res.map_err(|e| Error::io(sock, "binding the socket", e))?;
    let _ = std::fs::set_permissions(sock, std::fs::Permissions::from_mode(0o600));
    std_l
        .set_nonblocking(true)
        .map_err(|e| Error::io(sock, "configuring the socket", e))?;
    let l = UnixListener::from_std(std_l).map_err(|e| Error::io(sock, "listening", e))?;
    Ok((l, true))
}

/// The socket systemd passed (`LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES`).
fn systemd_listener() -> Result<Option<UnixListener>, Error> {
    let pid_ok = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    let n: i32 = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if !pid_ok || n < 1 {
        return Ok(None);
    }
    let idx = std::env::var("LISTEN_FDNAMES")
        .ok()
        .and_then(|names| names.split(':').position(|n| n == "fail2ban"))
        .unwrap_or(0) as i32;
    if idx >= n {
        return Ok(None);
    }
    use std::os::unix::io::FromRawFd;
    // SAFETY: systemd hands this process fds 3..3+LISTEN_FDS; we take
    // ownership of exactly one of them, once.
    let std_l = unsafe { std::os::unix::net::UnixListener::from_raw_fd(3 + idx) };
    let p = Path::new("<systemd>");
    std_l
        .set_nonblocking(true)
        .map_err(|e| Error::io(p, "configuring the systemd socket", e))?;
    UnixListener::from_std(std_l)
        .map(Some)
        .map_err(|e| Error::io(p, "adopting the systemd socket", e))
}

/// Creates the last directory level of `path` on demand, as fail2ban does.
fn make_parent(path: &Path) {
    if let Some(dir) = path.parent() {
        if dir.is_absolute() && !dir.exists() {
            let _ = std::fs::create_dir(dir);
        }
    }
}

async fn handle(mut stream: UnixStream, shared: Arc<Shared>) {
    let mut buf = Vec::with_capacity(4096);
    let mut dec = Decoder::default();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        // Drain every complete frame before reading again.
        loop {
            match dec.parse(&mut buf) {
                Ok(Frame::Close) => {
                    let _ = stream.shutdown().await;
                    return;
                }
                Ok(Frame::Command(msg)) => {
                    let reply = answer(&msg, &shared).await;
                    if stream.write_all(&frame::encode(&reply)).await.is_err() {
                        return;
                    }
                    if shared.stopping.load(Ordering::SeqCst) {
                        // `stop` was this command: the reply is out, now quit.
                        shared.quit.notify_one();
                    }
                }
                Err(FrameError::Incomplete) => break,
                Err(FrameError::Malformed(m)) => {
                    log_error(&shared, &format!("PROTO-error: {m}"));
                    let reply = dumps(&pickle::load_error(&m));
                    let _ = stream.write_all(&frame::encode(&reply)).await;
                    let _ = stream.shutdown().await;
                    // Closing with unread input would reset the connection
                    // and lose the reply; discard the rest for a moment.
                    let drain = async {
                        while let Ok(n) = stream.read(&mut chunk).await {
                            if n == 0 {
                                break;
                            }
                        }
                    };
                    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), drain).await;
                    return;
                }
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn log_error(shared: &Shared, msg: &str) {
    shared.lock().log.error("asyncserver", msg);
}

/// The pickled reply to one request.
async fn answer(msg: &[u8], shared: &Shared) -> Vec<u8> {
    if shared.stopping.load(Ordering::SeqCst) {
        return dumps(&pickle::shutdown());
    }
    let command = match pickle::loads(msg) {
        Ok(v) => v,
        Err(e) => {
            let m = e.to_string();
            log_error(shared, &format!("PROTO-error: load message failed: {m}"));
            return dumps(&pickle::load_error(&m));
        }
    };
    // `sleep` waits here, outside the lock, so other clients keep going.
    if let Value::List(c) = &command {
        if c.first().and_then(Value::as_str) == Some("sleep") {
            if let Some(secs) = c.get(1).and_then(|v| transmitter::py_float(v).ok()) {
                if secs.is_finite() && secs > 0.0 {
                    tokio::time::sleep(std::time::Duration::from_secs_f64(secs.min(86400.0))).await;
                }
            }
        }
    }
    let reply: Obj = {
        let mut srv = shared.lock();
        let r = transmitter::proceed(&mut srv, &command);
        if srv.quit_requested {
            shared.stopping.store(true, Ordering::SeqCst);
        }
        r
    };
    dumps(&reply)
}
