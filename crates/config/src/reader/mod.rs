//! fail2ban's client-side readers (`client/*reader.py`): they turn the merged
//! INI files into option tables and finally into the command stream.
//!
//! One [`Load`] holds what fail2ban shares between readers during one
//! configuration read (`share_config`): parsed files, the parser built for
//! each `filter.d/x` / `action.d/y` name, and the log messages fail2ban would
//! print, in order.

pub mod actionreader;
pub mod configreader;
pub mod fail2banreader;
pub mod filterreader;
pub mod jailreader;
pub mod jailsreader;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::include::{ConfigParser, FileCache};
use crate::omap::OMap;

/// Python logging levels used by the readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// DEBUG
    Debug,
    /// INFO
    Info,
    /// NOTICE (fail2ban's level 25)
    Notice,
    /// WARNING
    Warning,
    /// ERROR
    Error,
}

impl Level {
    /// The name fail2ban prints.
    pub fn name(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Notice => "NOTICE",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
        }
    }
}

/// One message fail2ban would log while reading the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogMsg {
    /// The Python logger, e.g. `fail2ban.jailreader`.
    pub logger: &'static str,
    /// Its level.
    pub level: Level,
    /// The text.
    pub msg: String,
}

impl fmt::Display for LogMsg {
    /// fail2ban-client's stderr format without time and pid:
    /// `fail2ban.jailreader     WARNING No filter set for jail x`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<23.23} {:<7} {}",
            self.logger,
            self.level.name(),
            self.msg
        )
    }
}

/// State shared by all readers of one configuration load.
#[derive(Debug)]
pub struct Load {
    /// The config dir, without a trailing `/` (fail2ban's basedir).
    pub basedir: PathBuf,
    /// Parsed files.
    pub cache: FileCache,
    /// The parser for each read name (`None`: no file found).
    pub parsers: crate::omap::FastMap<String, Option<Arc<ConfigParser>>>,
    /// Log messages, in order.
    pub log: Vec<LogMsg>,
    /// Tag substitutions of filter and action options already made in
    /// this load (see `DefinitionInit::substitute`).
    pub(crate) substituted: crate::omap::FastMap<SubstKey, Vec<Substituted>>,
}

/// What a tag substitution depends on besides its lookups: the file set
/// (by its parser, shared for the load), the options and the ignored tags.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct SubstKey {
    pub(crate) cp: usize,
    pub(crate) combined: Vec<(String, Option<String>)>,
    pub(crate) ignore: Vec<String>,
}

/// One substitution made: the `[Definition]` lookups it made, in order,
/// with their answers, and its result.
#[derive(Debug)]
pub(crate) struct Substituted {
    pub(crate) lookups: Vec<(String, Option<String>)>,
    pub(crate) result: OMap<Option<String>>,
}

impl Load {
    /// A load of the config in `basedir`.
    pub fn new(basedir: &Path) -> Load {
        let s = basedir.to_string_lossy();
        let trimmed = s.trim_end_matches('/');
        let basedir = if trimmed.is_empty() && s.starts_with('/') {
            PathBuf::from("")
        } else {
            PathBuf::from(trimmed)
        };
        Load {
            basedir,
            cache: FileCache::new(),
            parsers: Default::default(),
            log: Vec::new(),
            substituted: Default::default(),
        }
    }

    /// Records a log message.
    pub fn log(&mut self, logger: &'static str, level: Level, msg: impl Into<String>) {
        self.log.push(LogMsg {
            logger,
            level,
            msg: msg.into(),
        });
    }

    /// The basedir as fail2ban prints it.
    pub fn basedir_str(&self) -> String {
        self.basedir.to_string_lossy().into_owned()
    }
}
