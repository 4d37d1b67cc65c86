//! Reading the log: line decoding per `-e/--encoding`, and the progress
//! shown on a terminal while a large log is read.

use std::io::IsTerminal;

/// Whether LOG was meant as a path (a missing file is then worth a warning).
pub fn looks_like_path(s: &str) -> bool {
    !s.contains(' ') && (s.starts_with('/') || s.starts_with("./")) && !s.contains('\n')
}

/// Line decoding per `-e/--encoding` (fail2ban: `FileContainer.decode_line`).
pub enum Decoder {
    Utf8,
    Latin1,
}

impl Decoder {
    pub fn new(enc: &str) -> Option<Decoder> {
        match enc.to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" | "auto" | "ascii" | "us-ascii" => Some(Decoder::Utf8),
            "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "l1" => Some(Decoder::Latin1),
            _ => None,
        }
    }

    /// The text, and whether invalid bytes were replaced.
    pub fn decode<'b>(&self, b: &'b [u8]) -> (std::borrow::Cow<'b, str>, bool) {
        match self {
            Decoder::Utf8 => match std::str::from_utf8(b) {
                Ok(s) => (std::borrow::Cow::Borrowed(s), false),
                Err(_) => (String::from_utf8_lossy(b), true),
            },
            Decoder::Latin1 => (b.iter().map(|&c| c as char).collect(), false),
        }
    }
}

/// A percentage on stderr for large logs when stderr is a terminal.
pub struct Progress {
    size: u64,
    on: bool,
    last: std::cell::Cell<u64>,
}

impl Progress {
    pub fn new(size: u64) -> Progress {
        Progress {
            size,
            on: size > 16 << 20 && std::io::stderr().is_terminal(),
            last: std::cell::Cell::new(0),
        }
    }

    pub fn tick(&self, done: u64) {
        if self.on {
            let pct = done * 100 / self.size.max(1);
            if pct != self.last.get() {
                self.last.set(pct);
                eprint!("\r{pct:3}% of {} MB", self.size >> 20);
            }
        }
    }

    pub fn finish(&self) {
        if self.on {
            eprint!("\r{:40}\r", "");
        }
    }
}
