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
    let mut load = Load::new(confdir);
    let f2b = Fail2banReader::read(&mut load)?;
    let mut jails = JailsReader::read(&mut load)?;
    let mut commands = f2b.convert();
    commands.extend(jails.convert(&mut load, allow_no_files)?);
    Ok(Stream {
        commands,
        log: load.log,
        ok: jails.ok,
    })
}
