//! Errors of the filter crate: compiling regexes and date patterns.
//!
//! A compile error carries the Python pattern as the user wrote it, the
//! PCRE2 text it became, and where known the filter file and option, so a
//! message can name all of them. Match-time failures (PCRE2 match or JIT
//! limits) are a separate [`MatchError`]: they are counted per line and never
//! stop a jail.

use std::fmt;

/// What went wrong while building a regex, a date template or a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A Python `re` construct with no faithful PCRE2 equivalent.
    Translate {
        /// The construct, as written.
        construct: String,
        /// Byte offset in the Python pattern.
        offset: usize,
    },
    /// PCRE2 refused the translated pattern.
    Compile(String),
    /// The regex is empty (fail2ban: "Cannot add empty regex").
    Empty,
    /// A failregex without any failure-id group (`fid`, `ip4`, `ip6`, `dns`, `mlfid`).
    NoFailureId,
    /// A bad `datepattern` (fail2ban: "Failed to set datepattern ...").
    DatePattern(String),
    /// A bad option value (maxlines, usedns, logtimezone, ...).
    Option(String),
}

/// A filter build error, naming the pattern and, when known, its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What failed.
    pub kind: ErrorKind,
    /// The pattern as written (Python syntax, tags unexpanded where known).
    pub pattern: String,
    /// The pattern after translation to PCRE2, when translation got that far.
    pub translated: Option<String>,
    /// Where the pattern comes from, e.g. `filter.d/sshd.conf: failregex`.
    pub origin: Option<String>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, pattern: &str) -> Error {
        Error {
            kind,
            pattern: pattern.to_string(),
            translated: None,
            origin: None,
        }
    }

    /// Adds the origin (file and option) unless one is already set.
    pub fn with_origin(mut self, origin: impl Into<String>) -> Error {
        if self.origin.is_none() {
            self.origin = Some(origin.into());
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(o) = &self.origin {
            write!(f, "{o}: ")?;
        }
        match &self.kind {
            ErrorKind::Translate { construct, offset } => write!(
                f,
                "cannot keep Python's meaning of {construct:?} at offset {offset} in '{}'",
                self.pattern
            ),
            ErrorKind::Compile(msg) => {
                write!(f, "Unable to compile regular expression '{}':\n{msg}", self.pattern)
            }
            ErrorKind::Empty => write!(f, "Cannot add empty regex"),
            ErrorKind::NoFailureId => write!(f, "No failure-id group in '{}'", self.pattern),
            ErrorKind::DatePattern(msg) => write!(
                f,
                "Failed to set datepattern '{}' (may be an invalid format or unescaped percent char): {msg}",
                self.pattern
            ),
            ErrorKind::Option(msg) => write!(f, "{msg}"),
        }
    }
}

impl std::error::Error for Error {}

/// A match that PCRE2 gave up on (match limit, JIT stack); the line is
/// treated as not matching and the event is counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchError(pub String);

impl fmt::Display for MatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "regex match aborted: {}", self.0)
    }
}

impl std::error::Error for MatchError {}
