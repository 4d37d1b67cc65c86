//! Running action commands: `/bin/sh -c script args...` in its own session,
//! with a timeout that kills the whole process group (fail2ban: utils.py
//! `Utils.executeCmd`, action.py `CommandAction.executeCmd`).
//!
//! [`Executor`] is the seam: the server uses [`ShellExecutor`]; the dry run
//! (`ironban check`) and the tests use [`Recorder`], which runs nothing.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::tags::ShellCommand;

/// The operation a command belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `actionstart`
    Start,
    /// `actionstop`
    Stop,
    /// `actioncheck`
    Check,
    /// `actionban`
    Ban,
    /// `actionunban`
    Unban,
    /// `actionflush`
    Flush,
    /// `actionrepair`
    Repair,
    /// `actionreban`
    Reban,
    /// `actionprolong`
    Prolong,
    /// `actionreload`
    Reload,
}

impl Op {
    /// The option name, e.g. `actionban`.
    pub fn name(self) -> &'static str {
        match self {
            Op::Start => "actionstart",
            Op::Stop => "actionstop",
            Op::Check => "actioncheck",
            Op::Ban => "actionban",
            Op::Unban => "actionunban",
            Op::Flush => "actionflush",
            Op::Repair => "actionrepair",
            Op::Reban => "actionreban",
            Op::Prolong => "actionprolong",
            Op::Reload => "actionreload",
        }
    }
    /// The tag used to render it, e.g. `<actionban>`.
    pub fn tag(self) -> &'static str {
        match self {
            Op::Start => "<actionstart>",
            Op::Stop => "<actionstop>",
            Op::Check => "<actioncheck>",
            Op::Ban => "<actionban>",
            Op::Unban => "<actionunban>",
            Op::Flush => "<actionflush>",
            Op::Repair => "<actionrepair>",
            Op::Reban => "<actionreban>",
            Op::Prolong => "<actionprolong>",
            Op::Reload => "<actionreload>",
        }
    }
}

/// One command about to run.
#[derive(Debug, Clone)]
pub struct Execution<'a> {
    /// The jail's name.
    pub jail: &'a str,
    /// The action's name.
    pub action: &'a str,
    /// Which operation.
    pub op: Op,
    /// The conditional it was rendered with (`family=inet4` or empty).
    pub conditional: &'a str,
    /// The rendered command.
    pub cmd: &'a ShellCommand,
    /// The action's timeout.
    pub timeout: Duration,
}

/// Runs (or records) commands; returns whether the command succeeded.
pub trait Executor {
    /// Runs one command. An empty script succeeds without running
    /// (fail2ban logs "Nothing to do").
    fn execute(&mut self, e: &Execution<'_>) -> bool;
}

/// Commands are serialised, as fail2ban's global `_cmd_lock` does.
static CMD_LOCK: Mutex<()> = Mutex::new(());

/// Runs commands through `/bin/sh -c`, logging failures.
#[derive(Debug, Default, Clone, Copy)]
pub struct ShellExecutor;

impl Executor for ShellExecutor {
    fn execute(&mut self, e: &Execution<'_>) -> bool {
        if e.cmd.is_empty() {
            log::debug!("Nothing to do");
            return true;
        }
        match run(e.cmd, e.timeout) {
            Ok(out) => {
                log::debug!(
                    "[{}] {} -- {}: {:?}",
                    e.jail,
                    e.action,
                    e.op.name(),
                    out.stdout
                );
                true
            }
            Err(err) => {
                log::error!("[{}] action {} {}: {}", e.jail, e.action, e.op.name(), err);
                false
            }
        }
    }
}

/// What a successful command printed.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `/bin/sh -c script vars...` in a new session. On timeout the process
/// group gets SIGTERM, then SIGKILL 0.2 s later (fail2ban: `executeCmd`
/// with `tout_kill_tree`).
///
/// # Errors
/// [`Error::Spawn`], [`Error::Timeout`], or [`Error::Command`] for a
/// non-zero exit, carrying stderr.
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

/// Like [`run`], but returns the exit code (or, for a process killed by a
/// signal, its description) with the output, for callers that give exit
/// codes a meaning (`ignorecommand`: 0 ignore, 1 do not).
///
/// # Errors
/// [`Error::Spawn`] or [`Error::Timeout`].
pub fn run_code(
    cmd: &ShellCommand,
    timeout: Duration,
) -> Result<(Result<i32, String>, Output), Error> {
    let _guard = CMD_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let mut c = Command::new("/bin/sh");
    c.arg("-c").arg(&cmd.script);
    for (_, v) in &cmd.vars {
        c.arg(v);
    }
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // A new session, so a timeout can kill everything the script started.
    c.process_group(0);
    let mut child = c.spawn().map_err(|source| Error::Spawn {
        cmd: cmd.script.clone(),
        source,
    })?;
    let pid = child.id() as libc::pid_t;
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_end(&mut s);
        }
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(o) = err.as_mut() {
            let _ = o.read_to_end(&mut s);
        }
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if Instant::now() >= deadline => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(source) => {
                return Err(Error::Spawn {
                    cmd: cmd.script.clone(),
                    source,
                })
            }
        }
    };
    let Some(status) = status else {
        // SAFETY: signalling our own child's process group.
        unsafe { libc::killpg(pid, libc::SIGTERM) };
        std::thread::sleep(Duration::from_millis(200));
        unsafe { libc::killpg(pid, libc::SIGKILL) };
        let _ = child.wait();
        return Err(Error::Timeout {
            cmd: cmd.script.clone(),
            timeout,
        });
    };
    // Children left in the background keep the pipes open: read what is
    // there, but do not stall the jail on them (a short grace, at most the
    // timeout).
    let grace = deadline.min(Instant::now() + Duration::from_millis(500));
    let stdout = join_until(t_out, grace);
    let stderr = join_until(t_err, grace);
    use std::os::unix::process::ExitStatusExt;
    let code = match (status.code(), status.signal()) {
        (Some(c), _) => Ok(c),
        (None, Some(s)) => Err(format!("signal {s}")),
        _ => Err("unknown status".to_string()),
    };
    Ok((code, Output { stdout, stderr }))
}

fn join_until(h: std::thread::JoinHandle<Vec<u8>>, deadline: Instant) -> String {
    while !h.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    if h.is_finished() {
        String::from_utf8_lossy(&h.join().unwrap_or_default()).into_owned()
    } else {
        String::new()
    }
}

/// One recorded command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// Which operation.
    pub op: Op,
    /// The conditional it was rendered with.
    pub conditional: String,
    /// The command.
    pub cmd: ShellCommand,
    /// The timeout, in seconds.
    pub timeout: Duration,
}

/// Records commands instead of running them; every command "succeeds"
/// unless a failure was scripted with [`Recorder::fail_next`].
#[derive(Debug, Default)]
pub struct Recorder {
    /// Everything executed, in order.
    pub calls: Vec<Recorded>,
    failing: Vec<(Op, usize)>,
}

impl Recorder {
    /// A recorder where everything succeeds.
    pub fn new() -> Recorder {
        Recorder::default()
    }
    /// Makes the next `n` executions of `op` fail.
    pub fn fail_next(&mut self, op: Op, n: usize) {
        self.failing.push((op, n));
    }
    /// Takes the recorded calls, leaving the list empty.
    pub fn take(&mut self) -> Vec<Recorded> {
        std::mem::take(&mut self.calls)
    }
}

impl Executor for Recorder {
    fn execute(&mut self, e: &Execution<'_>) -> bool {
        self.calls.push(Recorded {
            op: e.op,
            conditional: e.conditional.to_string(),
            cmd: e.cmd.clone(),
            timeout: e.timeout,
        });
        if let Some(slot) = self
            .failing
            .iter_mut()
            .find(|(op, n)| *op == e.op && *n > 0)
        {
            slot.1 -= 1;
            return false;
        }
        true
    }
}
