//! `Pattern`: a Python `re` pattern, compiled with Python's meaning.
//!
//! This is the engine seam: `failregex.rs`, `filter.rs` and the date
//! templates use only this API (modelled on grep-matcher: `find_at`,
//! `captures_at` into reusable [`Captures`], `capture_index`). The pattern
//! text is first translated from Python syntax (`translate.rs`), then handed
//! to the engine: `pattern/pcre2.rs` (default), or `pattern/fancy.rs` with
//! the cargo feature `fancy-regex`. (fail2ban: the `re.compile` call in
//! `failregex.py` and `datetemplate.py`.)

#[cfg(feature = "fancy-regex")]
#[path = "pattern/fancy.rs"]
mod engine;
#[cfg(all(feature = "pcre2", not(feature = "fancy-regex")))]
#[path = "pattern/pcre2.rs"]
mod engine;
#[cfg(not(any(feature = "pcre2", feature = "fancy-regex")))]
compile_error!("ironban-filter needs a regex engine: feature `pcre2` (default) or `fancy-regex`");

use std::collections::HashMap;
use std::sync::Mutex;

use crate::error::{Error, ErrorKind, MatchError};
use crate::translate::translate;

/// Flags for compiling a [`Pattern`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PatternBuilder {
    multiline: bool,
    caseless: bool,
}

impl PatternBuilder {
    /// Default flags: single-line, case-sensitive (Python `re` with no flags).
    pub fn new() -> PatternBuilder {
        PatternBuilder::default()
    }

    /// `re.MULTILINE`: `^`/`$` at every line (fail2ban sets it when maxlines > 1).
    pub fn multiline(mut self, yes: bool) -> PatternBuilder {
        self.multiline = yes;
        self
    }

    /// `re.IGNORECASE`.
    pub fn caseless(mut self, yes: bool) -> PatternBuilder {
        self.caseless = yes;
        self
    }

    /// Translates and compiles a Python pattern.
    ///
    /// # Errors
    /// `Translate` for a construct PCRE2 cannot express with Python's
    /// meaning, `Compile` when the pattern is invalid.
    pub fn build(&self, python: &str) -> Result<Pattern, Error> {
        let pcre = translate(python)?;
        let engine =
            engine::Engine::compile(&pcre, self.multiline, self.caseless).map_err(|msg| Error {
                kind: ErrorKind::Compile(msg),
                pattern: python.to_string(),
                translated: Some(pcre.clone()),
                origin: None,
            })?;
        let mut index = HashMap::new();
        for (i, n) in engine.names().iter().enumerate() {
            if let Some(n) = n {
                index.insert(n.clone(), i);
            }
        }
        Ok(Pattern {
            python: python.to_string(),
            engine,
            index,
            scratch: Mutex::new(None),
        })
    }
}

/// A compiled pattern with Python `re` semantics and `search()` behaviour.
#[derive(Debug)]
pub struct Pattern {
    python: String,
    engine: engine::Engine,
    index: HashMap<String, usize>,
    /// Capture slots kept for [`Pattern::replace`]: making new ones costs a
    /// JIT stack (an mmap and munmap), and tag expansion calls `replace`
    /// on the same few patterns for every regex of every jail.
    scratch: Mutex<Option<Captures>>,
}

/// Capture positions of one match; reuse one per pattern to avoid allocation.
#[derive(Debug)]
pub struct Captures {
    inner: engine::EngineCaptures,
}

impl Pattern {
    /// Compiles with default flags. See [`PatternBuilder::build`].
    ///
    /// # Errors
    /// As [`PatternBuilder::build`].
    pub fn new(python: &str) -> Result<Pattern, Error> {
        PatternBuilder::new().build(python)
    }

    /// The pattern as given (Python syntax).
    pub fn as_str(&self) -> &str {
        &self.python
    }

    /// Group names by index (index 0 is the whole match, unnamed).
    pub fn capture_names(&self) -> &[Option<String>] {
        self.engine.names()
    }

    /// The index of a named group.
    pub fn capture_index(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Fresh capture slots for this pattern.
    pub fn new_captures(&self) -> Captures {
        Captures {
            inner: self.engine.new_captures(),
        }
    }

    /// Leftmost match starting the search at byte `start` (Python
    /// `search(s, pos)`: `^` does not match at `pos > 0`, look-behind sees
    /// the text before `pos`).
    ///
    /// # Errors
    /// When PCRE2 aborts the match (match or JIT stack limit).
    pub fn find_at(&self, hay: &str, start: usize) -> Result<Option<(usize, usize)>, MatchError> {
        self.engine.find_at(hay, start)
    }

    /// Like [`Pattern::find_at`], filling `caps`; true on a match.
    ///
    /// # Errors
    /// When PCRE2 aborts the match.
    pub fn captures_at(
        &self,
        hay: &str,
        start: usize,
        caps: &mut Captures,
    ) -> Result<bool, MatchError> {
        self.engine
            .captures_at(hay, start, hay.is_ascii(), &mut caps.inner)
    }

    /// [`Pattern::captures_at`] for a caller that already knows whether
    /// `hay` is all ASCII (`ascii` must equal `hay.is_ascii()`), so a line
    /// searched by several patterns is scanned once.
    ///
    /// # Errors
    /// When PCRE2 aborts the match.
    pub fn captures_at_ascii(
        &self,
        hay: &str,
        start: usize,
        ascii: bool,
        caps: &mut Captures,
    ) -> Result<bool, MatchError> {
        self.engine.captures_at(hay, start, ascii, &mut caps.inner)
    }

    /// True when the pattern matches anywhere; an aborted match counts as no match.
    pub fn is_match(&self, hay: &str) -> bool {
        matches!(self.find_at(hay, 0), Ok(Some(_)))
    }

    /// Python `re.sub(pattern, repl, hay, count)` with a closure (count 0 = all).
    pub fn replace(
        &self,
        hay: &str,
        count: usize,
        mut repl: impl FnMut(&str, &Captures) -> String,
    ) -> String {
        // Taken out of the slot, so a nested or concurrent call makes its own.
        let mut caps = self
            .scratch
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .unwrap_or_else(|| self.new_captures());
        let mut out = String::new();
        let mut last = 0;
        let mut at = 0;
        let mut n = 0;
        while at <= hay.len() {
            if !matches!(self.captures_at(hay, at, &mut caps), Ok(true)) {
                break;
            }
            let (s, e) = caps.get(0).unwrap_or((at, at));
            out.push_str(&hay[last..s]);
            out.push_str(&repl(hay, &caps));
            last = e;
            n += 1;
            if count != 0 && n >= count {
                break;
            }
            at = if e == s {
                // Step over one char after an empty match, as Python does.
                match hay[e..].chars().next() {
                    Some(c) => e + c.len_utf8(),
                    None => break,
                }
            } else {
                e
            };
        }
        out.push_str(&hay[last..]);
        if let Ok(mut s) = self.scratch.lock() {
            *s = Some(caps);
        }
        out
    }
}

impl Captures {
    /// Byte span of group `i`, if it took part in the match.
    pub fn get(&self, i: usize) -> Option<(usize, usize)> {
        self.inner.get(i)
    }

    /// The text of group `i` in `hay`.
    pub fn text<'h>(&self, hay: &'h str, i: usize) -> Option<&'h str> {
        self.get(i).map(|(s, e)| &hay[s..e])
    }

    /// Number of groups, including group 0.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// True when the pattern has no groups at all (never: group 0 exists).
    pub fn is_empty(&self) -> bool {
        self.inner.len() == 0
    }
}
