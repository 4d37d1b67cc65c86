//! The whole configuration as one command stream (fail2ban
//! `configurator.py`, `fail2bancmdline.py readConfig`): `fail2ban.conf`'s
//! global settings, then every enabled jail, then the `start` commands.

use std::path::Path;

use crate::error::Error;
use crate::reader::fail2banreader::Fail2banReader;
use crate::reader::jailsreader::JailsReader;
use crate::reader::{Load, LogMsg};
use crate::stream::Command;

/// The command stream with what fail2ban would have logged while building it.
#[derive(Debug, Clone)]
pub struct Stream {
    /// The commands, in order.
    pub commands: Vec<Command>,
    /// Log messages (warnings, errors, and debug details), in order.
    pub log: Vec<LogMsg>,
    /// fail2ban's verdict: `false` when every jail read is broken (exit 255).
    pub ok: bool,
}

/// Why a configuration read stopped.
#[derive(Debug, Clone)]
pub enum Failure {
    /// In fail2ban-client's early read of `fail2ban.conf` (it prints
    /// `ERROR: <error>` on stdout).
    Early(Error),
    /// In the main read (`Failed during configuration: <error>`).
    Config(Error),
}

impl Failure {
    /// The error.
    pub fn error(&self) -> &Error {
        match self {
            Failure::Early(e) | Failure::Config(e) => e,
        }
    }
}

/// A configuration read as `fail2ban-client` performs it: everything it
/// logged, in order (also when it failed), and the outcome.
#[derive(Debug, Clone)]
pub struct ConfigRead {
    /// Log messages, in order.
    pub log: Vec<LogMsg>,
    /// The commands and fail2ban's verdict (`false`: exit 255), or the failure.
    pub outcome: Result<(Vec<Command>, bool), Failure>,
}

/// Reads `confdir` in fail2ban-client's two steps: the early read of
/// `fail2ban.conf`, then (after dropping every cached file, as its
/// `Reload()` does) the full read of `fail2ban` and `jail`.
pub fn read_config(confdir: &Path, allow_no_files: bool) -> ConfigRead {
    let mut load = Load::new(confdir);
    let early = match Fail2banReader::read_early(&mut load) {
        Ok(e) => e,
        Err(e) => {
            return ConfigRead {
                log: load.log,
                outcome: Err(Failure::Early(e)),
            }
        }
    };
    let mut log = std::mem::take(&mut load.log);
    let mut load = Load::new(confdir);
    let result = (|| {
        let f2b = Fail2banReader::read_main(&mut load, early)?;
        let mut jails = JailsReader::read(&mut load)?;
        let mut commands = f2b.convert();
        commands.extend(jails.convert(&mut load, allow_no_files)?);
        Ok((commands, jails.ok))
    })();
    log.extend(load.log);
    ConfigRead {
        log,
        outcome: result.map_err(Failure::Config),
    }
}

/// Reads the configuration in `confdir` as `fail2ban-client -c confdir -d`
/// does (a jail without log files is a warning).
///
/// # Errors
/// What stops fail2ban's whole read: a missing config dir, a file that does
/// not parse, an interpolation error, an invalid log level.
pub fn read_stream(confdir: &Path) -> Result<Stream, Error> {
    read_stream_with(confdir, true)
}

/// [`read_stream`], choosing whether a jail without log files is allowed
/// (`-d`) or an error (start/reload).
///
/// # Errors
/// As [`read_stream`], plus "no log files" when not allowed.
pub fn read_stream_with(confdir: &Path, allow_no_files: bool) -> Result<Stream, Error> {
    let r = read_config(confdir, allow_no_files);
    match r.outcome {
        Ok((commands, ok)) => Ok(Stream {
            commands,
            log: r.log,
            ok,
        }),
        Err(f) => Err(f.error().clone()),
    }
}
