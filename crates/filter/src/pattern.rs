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
use std::sync::{Arc, LazyLock, Mutex};

use crate::cache::Cache;
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
        let key = (python.to_string(), self.multiline, self.caseless);
        let shared = PATTERNS.get_or_build(key, || self.compile(python))?;
        Ok(Pattern {
            shared,
            scratch: Mutex::new(None),
        })
    }

    fn compile(&self, python: &str) -> Result<Shared, Error> {
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
        Ok(Shared {
            python: python.to_string(),
            engine,
            index,
        })
    }
}

/// Patterns by (Python text, multiline, caseless): every jail of a filter,
/// and the server's validation at `set`, get the same translated and
/// compiled pattern (see `cache.rs`).
static PATTERNS: LazyLock<Cache<(String, bool, bool), Shared>> = LazyLock::new(Cache::new);

/// What patterns of the same text and flags share.
#[derive(Debug)]
struct Shared {
    python: String,
    engine: engine::Engine,
    index: HashMap<String, usize>,
}

/// A compiled pattern with Python `re` semantics and `search()` behaviour.
#[derive(Debug)]
pub struct Pattern {
    shared: Arc<Shared>,
    /// Capture slots kept for [`Pattern::replace`]: tag expansion calls it
    /// on the same few patterns for every regex of every jail, and new
    /// slots are an allocation in PCRE2 each time.
    scratch: Mutex<Option<Captures>>,
}

/// Capture positions of one match; reuse one per pattern to avoid allocation.
#[derive(Debug)]
pub struct Captures {
    inner: engine::EngineCaptures,
    memo: Memo,
    /// Bumped whenever the engine writes the spans (not on a memo hit).
    generation: u64,
}

/// What [`Pattern::captures_at_memo`] proved about the match held in a
/// [`Captures`]: any subject starting with `prefix`, searched from
/// `start` with the same engine mode (`ascii`) by the same pattern
/// (`pattern`, its shared code's address), matches exactly so.
#[derive(Debug, Default)]
struct Memo {
    valid: bool,
    pattern: usize,
    start: usize,
    ascii: bool,
    prefix: Vec<u8>,
    /// Proofs failed in a row.
    failures: u32,
    /// Matches not tried for a proof since `failures` reached the limit.
    skipped: u32,
}

/// How far past the end of a match the prefix of a memoised match reaches,
/// tried in order: room for what a pattern reads after its match (a word
/// boundary, the space before an optional year). The shorter, the more
/// later lines share it. If the pattern looks further, nothing is memoised.
const MEMO_MARGINS: [usize; 2] = [2, 16];
/// Failed proofs in a row after which proving is tried only every
/// [`MEMO_RETRY_EVERY`]th match.
const MEMO_MAX_FAILURES: u32 = 8;
const MEMO_RETRY_EVERY: u32 = 64;

/// Numbers the [`Captures`] made, for their generations.
static NEXT_CAPTURES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

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
        &self.shared.python
    }

    /// Group names by index (index 0 is the whole match, unnamed).
    pub fn capture_names(&self) -> &[Option<String>] {
        self.shared.engine.names()
    }

    /// The index of a named group.
    pub fn capture_index(&self, name: &str) -> Option<usize> {
        self.shared.index.get(name).copied()
    }

    /// Fresh capture slots for this pattern.
    pub fn new_captures(&self) -> Captures {
        Captures {
            inner: self.shared.engine.new_captures(),
            memo: Memo::default(),
            // Disjoint ranges per `Captures`, so generations of two
            // never meet (a cache keyed by one cannot mistake the other).
            generation: NEXT_CAPTURES.fetch_add(1, std::sync::atomic::Ordering::Relaxed) << 32,
        }
    }

    /// Leftmost match starting the search at byte `start` (Python
    /// `search(s, pos)`: `^` does not match at `pos > 0`, look-behind sees
    /// the text before `pos`).
    ///
    /// # Errors
    /// When PCRE2 aborts the match (match or JIT stack limit).
    pub fn find_at(&self, hay: &str, start: usize) -> Result<Option<(usize, usize)>, MatchError> {
        self.shared.engine.find_at(hay, start)
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
        caps.memo.valid = false;
        caps.generation += 1;
        self.shared
            .engine
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
        caps.memo.valid = false;
        caps.generation += 1;
        self.shared
            .engine
            .captures_at(hay, start, ascii, &mut caps.inner)
    }

    /// [`Pattern::captures_at_ascii`] that skips the engine when the
    /// result is known: a match this `caps` holds from an earlier call is
    /// reused when `hay` starts with the same bytes as that call's subject,
    /// up to a little past the match, and the engine proved (by a
    /// `PCRE2_PARTIAL_HARD` match on those bytes alone) that nothing after
    /// them could change it. Exact: the result and spans are those a fresh
    /// search would give. Made for the date templates, which see the same
    /// date text on consecutive lines.
    ///
    /// # Errors
    /// When PCRE2 aborts the match.
    pub fn captures_at_memo(
        &self,
        hay: &str,
        start: usize,
        ascii: bool,
        caps: &mut Captures,
    ) -> Result<bool, MatchError> {
        let id = Arc::as_ptr(&self.shared) as usize;
        let m = &caps.memo;
        if m.valid
            && m.pattern == id
            && m.start == start
            && m.ascii == ascii
            && hay.as_bytes().starts_with(&m.prefix)
        {
            return Ok(true);
        }
        caps.memo.valid = false;
        caps.generation += 1;
        let engine = &self.shared.engine;
        if !engine.captures_at(hay, start, ascii, &mut caps.inner)? {
            return Ok(false);
        }
        let Some((_, e)) = caps.inner.get(0) else {
            return Ok(true);
        };
        // A pattern whose matches keep reading to the end of the line is
        // not worth proving each time: after repeated failures, try only
        // now and then.
        let m = &mut caps.memo;
        if m.failures >= MEMO_MAX_FAILURES {
            m.skipped = m.skipped.wrapping_add(1);
            if !m.skipped.is_multiple_of(MEMO_RETRY_EVERY) {
                return Ok(true);
            }
        }
        let proven = MEMO_MARGINS.iter().find_map(|&margin| {
            let mut n = (e + margin).min(hay.len());
            while !hay.is_char_boundary(n) {
                n += 1;
            }
            engine
                .complete_within(&hay[..n], start, ascii, &mut caps.inner)
                .then_some(n)
        });
        let m = &mut caps.memo;
        let Some(n) = proven else {
            m.failures = m.failures.saturating_add(1);
            return Ok(true);
        };
        m.failures = 0;
        m.valid = true;
        m.pattern = id;
        m.start = start;
        m.ascii = ascii;
        m.prefix.clear();
        m.prefix.extend_from_slice(&hay.as_bytes()[..n]);
        Ok(true)
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
    /// Changes whenever the spans were written by a search; stays the same
    /// across [`Pattern::captures_at_memo`] hits, whose subjects then all
    /// hold the same text at every span.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

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

#[cfg(test)]
mod cache_tests {
    use super::*;

    #[test]
    fn same_text_and_flags_share_one_compiled_pattern() {
        let a = Pattern::new(r"user (?P<user>\w+) from (?P<ip>\S+)").unwrap();
        let b = Pattern::new(r"user (?P<user>\w+) from (?P<ip>\S+)").unwrap();
        let c = PatternBuilder::new()
            .caseless(true)
            .build(r"user (?P<user>\w+) from (?P<ip>\S+)")
            .unwrap();
        assert!(Arc::ptr_eq(&a.shared, &b.shared));
        assert!(!Arc::ptr_eq(&a.shared, &c.shared));
        assert!(c.is_match("USER x FROM y") && !a.is_match("USER x FROM y"));
    }

    #[test]
    fn shared_pattern_keeps_match_state_per_user() {
        let a = Pattern::new(r"from (?P<ip>\S+)").unwrap();
        let b = Pattern::new(r"from (?P<ip>\S+)").unwrap();
        let (mut ca, mut cb) = (a.new_captures(), b.new_captures());
        let (ha, hb) = ("from 192.0.2.1", "x from 2001:db8::1");
        assert!(a.captures_at(ha, 0, &mut ca).unwrap());
        assert!(b.captures_at(hb, 0, &mut cb).unwrap());
        assert_eq!(ca.text(ha, 1), Some("192.0.2.1"));
        assert_eq!(cb.text(hb, 1), Some("2001:db8::1"));
    }

    #[test]
    fn memoised_matches_equal_fresh_ones() {
        // A date-like pattern that reads past its match (optional year,
        // look-ahead) and one that reads to the end of the line.
        let pats = [
            r"^(?:(?P<d>[A-Z][a-z]{2}) )?(?P<t>\d\d:\d\d:\d\d)(?: (?P<y>\d{4}))?(?=\s|$)",
            r"(?P<t>\d\d:\d\d)(?!.*x)",
        ];
        let lines = [
            "Mar 00:00:01 web01 sshd[1]: a",
            "Mar 00:00:01 web01 sshd[2]: b",
            "Mar 00:00:01 2024 web01 sshd[2]: b",
            "Mar 00:00:01 web01 sshd[3]: x",
            "Mar 00:00:01",
            "Mar 00:00:01 web01 sshd[3]: \u{e9}",
            "00:00:01 web01",
            "Mar 00:00:02 web01 sshd[3]: a",
            "Mar 00:00:02 web01 sshd[3]: a",
        ];
        for p in pats {
            let pat = Pattern::new(p).unwrap();
            let mut memo = pat.new_captures();
            for _ in 0..2 {
                for l in lines {
                    let mut fresh = pat.new_captures();
                    let want = pat.captures_at(l, 0, &mut fresh).unwrap();
                    let got = pat.captures_at_memo(l, 0, l.is_ascii(), &mut memo).unwrap();
                    assert_eq!(got, want, "{p} on {l:?}");
                    if l == lines[0] {
                        // The first pattern reads a bounded prefix: memoised;
                        // the second reads to the end of the line: never.
                        assert_eq!(memo.memo.valid, p == pats[0], "{p}");
                    }
                    if want {
                        for i in 0..fresh.len() {
                            assert_eq!(memo.get(i), fresh.get(i), "{p} on {l:?} group {i}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn an_invalid_pattern_fails_each_time_with_its_text() {
        for _ in 0..2 {
            let e = Pattern::new(r"(unclosed").unwrap_err();
            assert_eq!(e.pattern, "(unclosed");
        }
    }
}
