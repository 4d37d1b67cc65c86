//! The one shell-command runner: `/bin/sh -c script args...` in a new
//! session, with a timeout that kills the whole process group (fail2ban:
//! `Utils.executeCmd` with `tout_kill_tree`, `CommandAction.executeCmd`).
//!
//! The wait is one `poll(2)` on the two output pipes and a pidfd, so a
//! command costs the shell's own run time and no helper thread, and output
//! larger than a pipe buffer is read while the shell runs. No lock here:
//! the executors in `exec.rs` decide whether commands are serialised.

use std::io::{ErrorKind, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::tags::ShellCommand;

/// How long output is still read after the shell exited, for children it
/// left in the background that keep the pipes open.
const GRACE: Duration = Duration::from_millis(500);

/// What a command printed.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `cmd`; its output when it exits with 0.
///
/// # Errors
/// [`Error::Spawn`], [`Error::Timeout`] (the process group was killed), or
/// [`Error::Command`] for another exit, carrying stderr.
pub fn run(cmd: &ShellCommand, timeout: Duration) -> Result<Output, Error> {
    let (code, out) = run_code(cmd, timeout)?;
    match code {
        Ok(0) => Ok(out),
        Ok(c) => Err(Error::Command {
            cmd: cmd.script.clone(),
            status: format!("exit status {c}"),
            stderr: out.stderr,
        }),
        Err(status) => Err(Error::Command {
            cmd: cmd.script.clone(),
            status,
            stderr: out.stderr,
        }),
    }
}

/// Runs `/bin/sh -c script vars...` in a new session and returns the exit
/// code (or, for a process killed by a signal, its description) with the
/// output, for callers that give exit codes a meaning (`ignorecommand`:
/// 0 ignore, 1 do not). On timeout the process group gets SIGTERM, then
/// SIGKILL 0.2 s later.
///
/// # Errors
/// [`Error::Spawn`] or [`Error::Timeout`].
pub fn run_code(
    cmd: &ShellCommand,
    timeout: Duration,
) -> Result<(Result<i32, String>, Output), Error> {
    let mut c = Command::new("/bin/sh");
    c.arg("-c").arg(&cmd.script);
    for (_, v) in &cmd.vars {
        c.arg(v);
    }
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A new session, so a timeout can kill everything the script started.
        .process_group(0);
    let spawn_err = |source| Error::Spawn {
        cmd: cmd.script.clone(),
        source,
    };
    let mut child = c.spawn().map_err(spawn_err)?;
    let pid = child.id() as libc::pid_t;
    let pidfd = pidfd_open(pid);
    let mut out = Pipe::new(child.stdout.take());
    let mut err = Pipe::new(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let mut status: Option<ExitStatus> = None;
    let mut grace_end = deadline;
    loop {
        if status.is_none() {
            status = child.try_wait().map_err(spawn_err)?;
            if status.is_some() {
                grace_end = deadline.min(Instant::now() + GRACE);
            }
        }
        let now = Instant::now();
        match status {
            Some(_) if out.fd.is_none() && err.fd.is_none() => break,
            Some(_) if now >= grace_end => break,
            None if now >= deadline => {
                // SAFETY: signalling our own child's process group.
                unsafe { libc::killpg(pid, libc::SIGTERM) };
                std::thread::sleep(Duration::from_millis(200));
                unsafe { libc::killpg(pid, libc::SIGKILL) };
                let _ = child.wait();
                return Err(Error::Timeout {
                    cmd: cmd.script.clone(),
                    timeout,
                });
            }
            _ => {}
        }
        let until = if status.is_some() {
            grace_end
        } else {
            deadline
        };
        let mut wait = until.saturating_duration_since(now);
        let mut fds: Vec<libc::pollfd> = Vec::with_capacity(3);
        for fd in [out.raw(), err.raw()].into_iter().flatten() {
            fds.push(pollfd(fd));
        }
        match (&pidfd, status) {
            (Some(p), None) => fds.push(pollfd(p.as_raw_fd())),
            // No pidfd (an old kernel): look at the child every 5 ms.
            (None, None) => wait = wait.min(Duration::from_millis(5)),
            _ => {}
        }
        let ms = wait.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
        // SAFETY: `fds` is a valid array of `fds.len()` pollfd entries.
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        out.drain();
        err.drain();
    }
    let status = status.unwrap_or_else(|| ExitStatus::from_raw(0));
    let code = match (status.code(), status.signal()) {
        (Some(c), _) => Ok(c),
        (None, Some(s)) => Err(format!("signal {s}")),
        _ => Err("unknown status".to_string()),
    };
    let output = Output {
        stdout: out.text(),
        stderr: err.text(),
    };
    Ok((code, output))
}

fn pollfd(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// A pidfd for `pid`: readable once the process exited (Linux 5.3+).
fn pidfd_open(pid: libc::pid_t) -> Option<OwnedFd> {
    // SAFETY: a plain syscall; a non-negative result is a new fd we own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// One output pipe, read without blocking; `fd` is None at EOF.
struct Pipe {
    fd: Option<Box<dyn ReadFd>>,
    buf: Vec<u8>,
}

trait ReadFd: Read + AsRawFd {}
impl ReadFd for ChildStdout {}
impl ReadFd for ChildStderr {}

impl Pipe {
    fn new<R: ReadFd + 'static>(r: Option<R>) -> Pipe {
        let fd = r.map(|r| {
            // SAFETY: fcntl on a pipe fd we own.
            unsafe {
                let fl = libc::fcntl(r.as_raw_fd(), libc::F_GETFL);
                libc::fcntl(r.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
            }
            Box::new(r) as Box<dyn ReadFd>
        });
        Pipe {
            fd,
            buf: Vec::new(),
        }
    }

    fn raw(&self) -> Option<RawFd> {
        self.fd.as_ref().map(|f| f.as_raw_fd())
    }

    fn drain(&mut self) {
        let Some(f) = self.fd.as_mut() else { return };
        let mut chunk = [0u8; 4096];
        loop {
            match f.read(&mut chunk) {
                Ok(0) => {
                    self.fd = None;
                    return;
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(_) => {
                    self.fd = None;
                    return;
                }
            }
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf).into_owned()
    }
}
