//! The PCRE2 engine: the only module that touches the `pcre2` crate.
//!
//! Patterns arrive already translated to PCRE2 syntax (see `translate.rs`).
//! They are compiled with UTF + UCP, so `\w`, `\d`, `\s` and `\b` are
//! Unicode-aware as in Python 3's `re`, and JIT-compiled when the platform
//! has a JIT.

use std::sync::{Arc, LazyLock};

use pcre2::bytes::{CaptureLocations, Regex, RegexBuilder};

use crate::cache::Cache;
use crate::error::MatchError;

/// A compiled PCRE2 regex, shared with every other pattern of the same text
/// and flags (see `cache.rs`); match data stays per caller.
#[derive(Debug)]
pub(crate) struct Engine {
    re: Arc<Regex>,
}

/// Compiled regexes by (PCRE2 text, multiline, caseless).
static COMPILED: LazyLock<Cache<(String, bool, bool), Regex>> = LazyLock::new(Cache::new);

/// Reusable capture slots for one [`Engine`].
#[derive(Debug)]
pub(crate) struct EngineCaptures {
    locs: CaptureLocations,
}

impl Engine {
    pub(crate) fn compile(pcre: &str, multiline: bool, caseless: bool) -> Result<Engine, String> {
        let key = (pcre.to_string(), multiline, caseless);
        COMPILED
            .get_or_build(key, || Self::build(pcre, multiline, caseless))
            .map(|re| Engine { re })
    }

    fn build(pcre: &str, multiline: bool, caseless: bool) -> Result<Regex, String> {
        let mut b = RegexBuilder::new();
        b.utf(true)
            .ucp(true)
            .multi_line(multiline)
            .caseless(caseless)
            .jit_if_available(true)
            // Deeply nested alternations (e.g. `(?:...){0,3}`) can need more
            // than PCRE2's 32 KiB default JIT stack on long lines.
            .max_jit_stack_size(Some(4 * 1024 * 1024));
        b.build(pcre).map_err(|e| e.to_string())
    }

    pub(crate) fn names(&self) -> &[Option<String>] {
        self.re.capture_names()
    }

    pub(crate) fn new_captures(&self) -> EngineCaptures {
        EngineCaptures {
            locs: self.re.capture_locations(),
        }
    }

    pub(crate) fn find_at(
        &self,
        hay: &str,
        start: usize,
    ) -> Result<Option<(usize, usize)>, MatchError> {
        match self.re.find_at(hay.as_bytes(), start) {
            Ok(m) => Ok(m.map(|m| (m.start(), m.end()))),
            Err(e) => Err(MatchError(e.to_string())),
        }
    }

    pub(crate) fn captures_at(
        &self,
        hay: &str,
        start: usize,
        caps: &mut EngineCaptures,
    ) -> Result<bool, MatchError> {
        match self
            .re
            .captures_read_at(&mut caps.locs, hay.as_bytes(), start)
        {
            Ok(m) => Ok(m.is_some()),
            Err(e) => Err(MatchError(e.to_string())),
        }
    }
}

impl EngineCaptures {
    pub(crate) fn get(&self, i: usize) -> Option<(usize, usize)> {
        self.locs.get(i)
    }

    pub(crate) fn len(&self) -> usize {
        self.locs.len()
    }
}
