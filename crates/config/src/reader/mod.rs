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
    /// Values read from the shared parsers of filter and action files
    /// (see [`Load::shared_get`]).
    gets: crate::omap::FastMap<usize, (Arc<ConfigParser>, Gets)>,
}

/// The `get`s made on one shared (never changed) parser, keyed by the
/// parser's address (the entry holds the parser, so the address is not
/// reused), by section and by option: nested so that a look-up borrows the
/// names instead of allocating a key.
type Gets = crate::omap::FastMap<String, crate::omap::FastMap<String, Vec<Got>>>;

/// One value read: the vars lookups it made with their answers, and the
/// value (or the error).
type Got = (
    Vec<(String, Option<String>)>,
    Result<String, crate::error::Error>,
);

/// Values kept per option: past this, an option whose value differs for
/// every jail (one naming the jail) is read anew each time.
const GOTS_MAX: usize = 8;

/// What a tag substitution depends on besides its lookups: the file set
/// (by its parser, shared for the load), the options and the ignored tags.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct SubstKey {
    pub(crate) cp: usize,
    pub(crate) combined: crate::omap::OMap<Option<String>>,
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
            gets: Default::default(),
        }
    }

    /// `cp.get(section, option, vars)` for a parser shared for the whole
    /// load (`read_named`'s, which nothing changes once read), remembered:
    /// fifty jails read the same `[Definition]` options of `filter.d/sshd`
    /// with vars that differ only in keys those options never look up. A
    /// remembered value is reused when every lookup it made in `vars`
    /// answers the same now; the parser is the same, so the value is too.
    /// Errors are not remembered (the next call makes them again).
    ///
    /// # Errors
    /// As [`ConfigParser::get`].
    pub fn shared_get(
        &mut self,
        cp: &Arc<ConfigParser>,
        section: &str,
        option: &str,
        vars: &crate::interpolate::Vars,
    ) -> Result<String, crate::error::Error> {
        let key = Arc::as_ptr(cp) as usize;
        let known = self
            .gets
            .get(&key)
            .and_then(|(_, secs)| secs.get(section))
            .and_then(|opts| opts.get(option));
        if let Some(gots) = known {
            for (lookups, value) in gots {
                if lookups.iter().all(|(k, v)| vars.get(k) == v.as_ref()) {
                    return value.clone();
                }
            }
        }
        // An error is remembered too: like a value it follows from the file
        // and the lookups made before it (a missing option records its own
        // lookup in `vars`), and tag substitution asks every jail's reader
        // for the same runtime tags (`<HOST>`, `<ip>`) that no file defines.
        let seen = crate::interpolate::Seen::default();
        let value = cp.get_seen(section, option, vars, &seen);
        let (_, secs) = self
            .gets
            .entry(key)
            .or_insert_with(|| (cp.clone(), Default::default()));
        // Only on a miss: the names are copied into the maps once.
        if !secs.contains_key(section) {
            secs.insert(section.to_string(), Default::default());
        }
        if let Some(opts) = secs.get_mut(section) {
            if !opts.contains_key(option) {
                opts.insert(option.to_string(), Vec::new());
            }
            if let Some(gots) = opts.get_mut(option) {
                if gots.len() < GOTS_MAX {
                    gots.push((seen.into_inner(), value.clone()));
                }
            }
        }
        value
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
