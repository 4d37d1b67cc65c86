//! The one error type of the config reader.
//!
//! Every error says where it comes from: `file:line` when the text of a
//! config file is at fault, or jail/section and option when a value is.
//! The messages follow CPython `configparser` / fail2ban wording so that a
//! user who knows fail2ban recognises them.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A position in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pos {
    /// The file, as fail2ban names it (possibly with `..` parts).
    pub file: Arc<PathBuf>,
    /// 1-based line number.
    pub line: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// An error while reading the configuration.
#[derive(Debug, Clone, thiserror::Error)]
pub struct Error {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Where, when a file position is known.
    pub at: Option<Pos>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.at {
            Some(p) => write!(f, "{}: {}", p, self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

/// The kinds of config errors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file could not be read or decoded.
    #[error("cannot read {path}: {msg}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS or decode message.
        msg: String,
    },
    /// `strict`: the same option twice in one section of one file.
    #[error("option '{option}' in section '{section}' already exists")]
    DuplicateOption {
        /// Section name.
        section: String,
        /// Option name (lower-cased).
        option: String,
    },
    /// `strict`: the same section twice in one file.
    #[error("section '{section}' already exists")]
    DuplicateSection {
        /// Section name.
        section: String,
    },
    /// An option line before any `[section]`.
    #[error("file contains no section headers: {line:?}")]
    MissingSectionHeader {
        /// The offending line.
        line: String,
    },
    /// An `[INCLUDES] before/after` file that does not exist.
    #[error("included file {include:?} not found ({path})")]
    MissingInclude {
        /// The name as written.
        include: String,
        /// The path it resolves to.
        path: PathBuf,
    },
    /// A line that is neither a section, an option, a continuation nor a comment.
    #[error("parsing error: {line:?}")]
    Syntax {
        /// The offending line.
        line: String,
    },
    /// `%(key)s` names no option (CPython `InterpolationMissingOptionError`).
    #[error("Bad value substitution: option '{option}' in section '{section}' contains an interpolation key '{key}' which is not a valid option name. Raw value: {}", crate::stream::str_repr(raw))]
    MissingInterpolation {
        /// Section being read.
        section: String,
        /// Option being read.
        option: String,
        /// The missing key.
        key: String,
        /// The raw value.
        raw: String,
    },
    /// Interpolation nested deeper than 10 (loops end here).
    #[error("Recursion limit exceeded in value substitution: option '{option}' in section '{section}' contains an interpolation key which cannot be substituted in 10 steps. Raw value: {}", crate::stream::str_repr(raw))]
    InterpolationDepth {
        /// Section being read.
        section: String,
        /// Option being read.
        option: String,
        /// The raw value.
        raw: String,
    },
    /// A lone `%` or a malformed `%(...)`.
    #[error("bad interpolation in option '{option}' in section '{section}': {msg}")]
    InterpolationSyntax {
        /// Section being read.
        section: String,
        /// Option being read.
        option: String,
        /// Details.
        msg: String,
    },
    /// `<tag>` substitution that refers to itself.
    #[error("{0}")]
    RecursiveTags(String),
    /// A `name[k=v, ...]` specification that does not parse.
    #[error("{0}")]
    OptionSyntax(String),
    /// No `.conf`/`.local` file for a filter, action, `jail` or `fail2ban`.
    #[error("Found no accessible config files for '{name}' under {basedir}")]
    NoConfigFiles {
        /// `filter.d/x`, `action.d/y`, `jail`, ...
        name: String,
        /// The config dir.
        basedir: String,
    },
    /// The config directory does not exist.
    #[error("Base configuration directory {0} does not exist ")]
    NoBaseDir(String),
    /// A section that is not there.
    #[error("No section: '{0}'")]
    NoSection(String),
    /// An option that is not there.
    #[error("No option '{option}' in section: '{section}'")]
    NoOption {
        /// Section.
        section: String,
        /// Option.
        option: String,
    },
    /// A time string that `str2seconds` cannot evaluate.
    #[error("invalid time value {0:?}")]
    Duration(String),
    /// A jail that cannot be set up (fail2ban's `JailDefError`).
    #[error("jail '{jail}': {msg}")]
    Jail {
        /// The jail.
        jail: String,
        /// fail2ban's message.
        msg: String,
    },
    /// Other value errors (shlex quoting, no log files, ...).
    #[error("{0}")]
    Value(String),
}

impl Error {
    /// An error with no file position.
    pub fn new(kind: ErrorKind) -> Error {
        Error { kind, at: None }
    }

    /// An error at `pos`.
    pub fn at(kind: ErrorKind, pos: Option<Pos>) -> Error {
        Error { kind, at: pos }
    }

    /// Whether this is "no such section/option" (which fail2ban's readers
    /// treat as "use the default"), as opposed to a real error.
    pub fn is_missing(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::NoSection(_) | ErrorKind::NoOption { .. }
        )
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error::new(kind)
    }
}
