//! Running action commands: `/bin/sh -c script args...` in its own session,
//! with a timeout that kills the whole process group (fail2ban: utils.py
//! `Utils.executeCmd`, action.py `CommandAction.executeCmd`).
//!
//! [`Executor`] is the seam: the server uses [`JailShell`] (no lock between
//! jails), other users [`ShellExecutor`] (fail2ban's process-wide lock); the
//! dry run (`ironban check`) and the tests use [`Recorder`], which runs
//! nothing. Both shells go through one runner, [`run_code`] (`exec/run.rs`).

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::tags::ShellCommand;

mod run;
#[cfg(test)]
mod tests;

pub use run::{run, run_code, Output};

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

/// fail2ban runs every shell command under one process-wide lock
/// (`_cmd_lock` in `action.py`). [`ShellExecutor`] and `ignorecommand`
/// keep it, so a user of this crate outside the server gets fail2ban's
/// one-command-at-a-time behaviour; the server uses [`JailShell`] instead.
static CMD_LOCK: Mutex<()> = Mutex::new(());

/// Holds fail2ban's `_cmd_lock` until the guard is dropped.
pub(crate) fn cmd_lock() -> MutexGuard<'static, ()> {
    CMD_LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs commands through `/bin/sh -c`, one at a time across the process
/// (fail2ban's `_cmd_lock`), logging failures.
#[derive(Debug, Default, Clone, Copy)]
pub struct ShellExecutor;

impl Executor for ShellExecutor {
    fn execute(&mut self, e: &Execution<'_>) -> bool {
        execute_logged(e, true)
    }
}

/// Runs commands through `/bin/sh -c` without the process-wide lock: the
/// server's executor. One jail's commands stay in order because its engine
/// runs one step at a time, but jails do not wait for each other (a
/// `sleep 5` in one jail's `actionban` must not hold up every other jail's
/// bans).
#[derive(Debug, Default, Clone, Copy)]
pub struct JailShell;

impl Executor for JailShell {
    fn execute(&mut self, e: &Execution<'_>) -> bool {
        execute_logged(e, false)
    }
}

/// Runs one command (under the `_cmd_lock` when `serialise`), logging
/// its output or failure in fail2ban's words.
fn execute_logged(e: &Execution<'_>, serialise: bool) -> bool {
    if e.cmd.is_empty() {
        log::debug!("Nothing to do");
        return true;
    }
    let _guard = serialise.then(cmd_lock);
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
