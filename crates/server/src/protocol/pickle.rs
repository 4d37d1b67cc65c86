//! A pickle reader (protocols 0–5) that builds plain data and runs nothing,
//! and a writer whose output Python's `pickle.loads` reads.
//!
//! Reading: [`loads`] decodes a request into [`Value`]; any opcode that would
//! make Python import or call something (`GLOBAL`, `STACK_GLOBAL`, `REDUCE`,
//! `BUILD`, `INST`, `OBJ`, `NEWOBJ`, `EXT*`, persistent ids, out-of-band
//! buffers) is an error — never an import. [`loads_reply`] is for the client
//! side: it additionally recognises, by name only, the handful of classes
//! fail2ban's server puts in a reply (`builtins.str` for an `IPAddr`, and the
//! exception classes), so a reply decodes to an [`Obj`]. Nothing is looked up
//! or executed; an unknown class is an error.
//!
//! Python objects are shared references (the memo can hand out a list that is
//! later appended to), so the reader works on an arena of nodes and builds
//! the value tree at `STOP`, with limits on depth and total size so a hostile
//! memo cannot blow up memory.
//!
//! Writing: [`dumps`] writes protocol 5 the way CPython's `pickle.dumps(obj,
//! HIGHEST_PROTOCOL)` does (framing, `MEMOIZE`, `BINGET` for a repeated
//! string or class), so replies match real fail2ban's bytes.
//!
//! (fail2ban: `server/asyncserver.py` `loads`/`dumps`; CPython `pickle.py`.)

use ironban_config::Value;

use super::obj::Obj;

mod dump;
mod load;
pub use dump::{dumps, err, load_error, ok, shutdown};
use load::Reader;

/// Why a pickle could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PickleError {
    /// The data ended before `STOP`.
    #[error("pickle data was truncated")]
    Truncated,
    /// An opcode that would run code or import a class.
    #[error("refused pickle opcode {name} at offset {offset}: only plain data is accepted")]
    Forbidden {
        /// Opcode name as in CPython's `pickletools`.
        name: &'static str,
        /// Byte offset of the opcode.
        offset: usize,
    },
    /// A class this reader does not know (reply mode only).
    #[error("refused pickle class {0}: not one of the classes fail2ban sends")]
    UnknownClass(String),
    /// A byte that is not an opcode.
    #[error("invalid pickle opcode 0x{op:02x} at offset {offset}")]
    BadOpcode {
        /// The byte.
        op: u8,
        /// Its offset.
        offset: usize,
    },
    /// Structurally wrong data (stack underflow, bad memo index, ...).
    #[error("malformed pickle at offset {offset}: {msg}")]
    Malformed {
        /// Offset of the opcode being decoded.
        offset: usize,
        /// What was wrong.
        msg: String,
    },
    /// Beyond the depth or size limits.
    #[error("pickle too large or too deeply nested")]
    TooLarge,
}

/// Most nodes a single pickle may create or expand to. The largest real
/// request, a `reload` stream for hundreds of jails, is tens of thousands;
/// each node costs ~100 bytes while a memo bomb is expanded, so this caps
/// what a 300-byte request can make the server allocate at ~100 MB.
pub(crate) const MAX_NODES: usize = 1_000_000;
/// Deepest nesting a decoded value may have.
pub(crate) const MAX_DEPTH: usize = 200;

/// Decodes a request: plain data only.
///
/// # Errors
/// Any opcode outside plain data, truncated or malformed input.
pub fn loads(data: &[u8]) -> Result<Value, PickleError> {
    let obj = Reader::new(data, false).run()?;
    Ok(obj.to_value())
}

/// Decodes a reply: plain data plus fail2ban's `IPAddr` and exception
/// objects, recognised by class name only.
///
/// # Errors
/// As [`loads`], and [`PickleError::UnknownClass`] for any other class.
pub fn loads_reply(data: &[u8]) -> Result<Obj, PickleError> {
    Reader::new(data, true).run()
}

/// Exception classes a fail2ban reply may carry (module, name).
pub(crate) const KNOWN_EXCEPTIONS: &[(&str, &str)] = &[
    ("builtins", "Exception"),
    ("builtins", "ValueError"),
    ("builtins", "IndexError"),
    ("builtins", "KeyError"),
    ("builtins", "TypeError"),
    ("builtins", "RuntimeError"),
    ("builtins", "AttributeError"),
    ("builtins", "NameError"),
    ("builtins", "OSError"),
    ("builtins", "FileNotFoundError"),
    ("builtins", "PermissionError"),
    ("builtins", "ZeroDivisionError"),
    ("builtins", "SyntaxError"),
    ("builtins", "NotImplementedError"),
    ("builtins", "UnicodeDecodeError"),
    ("builtins", "LookupError"),
    ("re", "error"),
    ("fail2ban.exceptions", "UnknownJailException"),
    ("fail2ban.exceptions", "DuplicateJailException"),
    ("fail2ban.server.failregex", "RegexException"),
];

#[cfg(test)]
mod tests;
