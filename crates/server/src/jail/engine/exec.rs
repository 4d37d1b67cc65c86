//! Running a jail's action commands: `/bin/sh -c script args...` in a new
//! session, with the action's timeout killing the whole process group
//! (fail2ban: `CommandAction.executeCmd`, `Utils.executeCmd`).
//!
//! ironban-action's `ShellExecutor` does the same behind a process-wide
//! lock (fail2ban's `_cmd_lock`), reading the output on two helper threads
//! and polling for the exit every 5 ms. The server runs commands here
//! instead: one jail's commands are in order because its engine runs one
//! step at a time, but jails do not wait for each other (a `sleep 5` in one
//! jail's `actionban` must not hold up every other jail's bans), and the
//! wait is one `poll(2)` on the two pipes and a pidfd, so a ban costs the
//! shell's own run time and no extra thread.

use std::io::{ErrorKind, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use ironban_action::exec::{Execution, Executor};
use ironban_action::{Error, ShellCommand};

/// How long output is still read after the shell exited, for children it
/// left in the background that keep the pipes open.
const GRACE: Duration = Duration::from_millis(500);

/// The server's executor (see the module doc).
#[derive(Debug, Default, Clone, Copy)]
pub struct JailShell;

impl Executor for JailShell {
    fn execute(&mut self, e: &Execution<'_>) -> bool {
        if e.cmd.is_empty() {
            log::debug!("Nothing to do");
            return true;
        }
        match run(e.cmd, e.timeout) {
            Ok(out) => {
                log::debug!("[{}] {} -- {}: {:?}", e.jail, e.action, e.op.name(), out);
                true
            }
            Err(err) => {
                log::error!("[{}] action {} {}: {}", e.jail, e.action, e.op.name(), err);
                false
            }
        }
    }
}

/// Runs `cmd`; its standard output when it exits with 0.
///
/// # Errors
/// [`Error::Spawn`], [`Error::Timeout`] (the process group was killed), or
/// [`Error::Command`] for another exit, with its standard error.
pub fn run(cmd: &ShellCommand, timeout: Duration) -> Result<String, Error> {
    let mut c = Command::new("/bin/sh");
    c.arg("-c").arg(&cmd.script);
    for (_, v) in &cmd.vars {
        c.arg(v);
    }
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
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
    let (stdout, stderr) = (out.text(), err.text());
    match (status.code(), status.signal()) {
        (Some(0), _) => Ok(stdout),
        (code, sig) => Err(Error::Command {
            cmd: cmd.script.clone(),
            status: match (code, sig) {
                (Some(c), _) => format!("exit status {c}"),
                (None, Some(s)) => format!("signal {s}"),
                _ => "unknown status".into(),
            },
            stderr,
        }),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(s: &str) -> ShellCommand {
        ShellCommand {
            script: s.to_string(),
            vars: Vec::new(),
        }
    }

    #[test]
    fn output_exit_codes_and_timeouts() {
        let t = Duration::from_secs(5);
        assert_eq!(run(&sh("echo hi; echo err >&2"), t).unwrap(), "hi\n");
        let e = run(&sh("echo bad >&2; exit 3"), t).unwrap_err().to_string();
        assert!(e.contains("exit status 3") && e.contains("bad"), "{e}");
        let start = Instant::now();
        let e = run(&sh("sleep 5"), Duration::from_millis(300)).unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }), "{e}");
        assert!(start.elapsed() < Duration::from_secs(2));
        let vars = ShellCommand {
            script: "echo \"$0-$1\"".into(),
            vars: vec![("a".into(), "x y".into()), ("b".into(), "z".into())],
        };
        assert_eq!(run(&vars, t).unwrap(), "x y-z\n");
    }

    /// A child left in the background holding stdout: the command still
    /// ends when the shell exits (after a short grace), not with the child.
    #[test]
    fn a_background_child_does_not_stall_the_jail() {
        let start = Instant::now();
        run(&sh("sleep 3 & echo done"), Duration::from_secs(10)).unwrap();
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    }

    /// The common case costs no polling interval: a quick command returns
    /// as soon as the shell is done.
    #[test]
    fn a_quick_command_returns_quickly() {
        let mut best = Duration::MAX;
        for _ in 0..5 {
            let start = Instant::now();
            run(&sh("true"), Duration::from_secs(5)).unwrap();
            best = best.min(start.elapsed());
        }
        assert!(best < Duration::from_millis(50), "{best:?}");
    }
}
