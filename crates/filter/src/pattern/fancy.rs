//! The `fancy-regex` engine (cargo feature `fancy-regex`): a pure-Rust
//! alternative to PCRE2 for builds without a C compiler. Slower (its
//! backtracker runs wherever look-around is used, as in `<HOST>`), and
//! tested by the same failJSON suite (see docs/filter.md).
//!
//! Patterns arrive translated to PCRE2 syntax (`translate.rs`); [`adapt`]
//! rewrites the few places where fancy-regex (regex-syntax underneath) reads
//! that syntax differently from PCRE2 and Python.

use fancy_regex::{Regex, RegexBuilder};

use crate::error::MatchError;

/// A compiled fancy-regex.
#[derive(Debug)]
pub(crate) struct Engine {
    re: Regex,
    names: Vec<Option<String>>,
}

/// Capture spans of the last match of one [`Engine`].
#[derive(Debug)]
pub(crate) struct EngineCaptures {
    spans: Vec<Option<(usize, usize)>>,
}

impl Engine {
    pub(crate) fn compile(pcre: &str, multiline: bool, caseless: bool) -> Result<Engine, String> {
        let mut pat = String::new();
        if multiline {
            pat.push_str("(?m)");
        }
        if caseless {
            pat.push_str("(?i)");
        }
        pat.push_str(&adapt(pcre, multiline));
        let re = RegexBuilder::new(&pat)
            .build()
            .map_err(|e| format!("fancy-regex: {e}"))?;
        let names = re.capture_names().map(|n| n.map(str::to_string)).collect();
        Ok(Engine { re, names })
    }

    pub(crate) fn names(&self) -> &[Option<String>] {
        &self.names
    }

    pub(crate) fn new_captures(&self) -> EngineCaptures {
        EngineCaptures {
            spans: vec![None; self.names.len()],
        }
    }

    pub(crate) fn find_at(
        &self,
        hay: &str,
        start: usize,
    ) -> Result<Option<(usize, usize)>, MatchError> {
        match self.re.find_from_pos(hay, start) {
            Ok(m) => Ok(m.map(|m| (m.start(), m.end()))),
            Err(e) => Err(MatchError(e.to_string())),
        }
    }

    /// `_ascii` (whether `hay` is all ASCII) only matters to the PCRE2 engine.
    pub(crate) fn captures_at(
        &self,
        hay: &str,
        start: usize,
        _ascii: bool,
        caps: &mut EngineCaptures,
    ) -> Result<bool, MatchError> {
        caps.spans.iter_mut().for_each(|s| *s = None);
        match self.re.captures_from_pos(hay, start) {
            Ok(Some(c)) => {
                for (i, slot) in caps.spans.iter_mut().enumerate() {
                    *slot = c.get(i).map(|m| (m.start(), m.end()));
                }
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => Err(MatchError(e.to_string())),
        }
    }

    /// fancy-regex has no partial matching: nothing can be proven, so
    /// [`crate::pattern::Pattern::captures_at_memo`] always matches anew.
    pub(crate) fn complete_within(
        &self,
        _prefix: &str,
        _start: usize,
        _ascii: bool,
        _caps: &mut EngineCaptures,
    ) -> bool {
        false
    }
}

impl EngineCaptures {
    pub(crate) fn get(&self, i: usize) -> Option<(usize, usize)> {
        self.spans.get(i).copied().flatten()
    }

    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }
}

/// PCRE2 syntax → fancy-regex syntax, same meaning:
///
/// | PCRE2 (and Python) | fancy-regex | why |
/// |---|---|---|
/// | `$` (not multi-line) | `(?=\n?\z)` | regex-syntax's `$` is the very end only |
/// | `\<`, `\>` | `<`, `>` | regex-syntax reads them as word boundaries |
/// | `&&`, `~~`, `--` in a class | `&\&`, `~\~`, `-\-` | class set operations in regex-syntax |
pub(crate) fn adapt(pcre: &str, multiline: bool) -> String {
    let b = pcre.as_bytes();
    let mut out = String::with_capacity(pcre.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    let mut class_body_start = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\\' => {
                match b.get(i + 1) {
                    Some(b'<') => out.push('<'),
                    Some(b'>') => out.push('>'),
                    Some(_) => {
                        let ch = pcre[i + 1..].chars().next().unwrap_or('\\');
                        out.push('\\');
                        out.push(ch);
                        i += 1 + ch.len_utf8();
                        continue;
                    }
                    None => out.push('\\'),
                }
                i += 2;
            }
            b'[' if !in_class => {
                in_class = true;
                out.push('[');
                i += 1;
                if b.get(i) == Some(&b'^') {
                    out.push('^');
                    i += 1;
                }
                class_body_start = i;
            }
            b']' if in_class && i != class_body_start => {
                in_class = false;
                out.push(']');
                i += 1;
            }
            b'&' | b'~' | b'-' if in_class && b.get(i + 1) == Some(&c) => {
                out.push(c as char);
                out.push('\\');
                out.push(c as char);
                i += 2;
            }
            b'$' if !in_class && !multiline => {
                out.push_str("(?=\\n?\\z)");
                i += 1;
            }
            _ => {
                let ch = pcre[i..].chars().next().unwrap_or('\0');
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::adapt;

    #[test]
    fn rewrites_only_what_fancy_regex_reads_differently() {
        assert_eq!(adapt(r"^a$", false), r"^a(?=\n?\z)");
        assert_eq!(adapt(r"^a$", true), r"^a$");
        assert_eq!(adapt(r"[$]\$", false), r"[$]\$");
        assert_eq!(adapt(r"\<HOST\>", false), "<HOST>");
        assert_eq!(adapt(r"[a&&b][~~][+--]", false), r"[a&\&b][~\~][+-\-]");
        assert_eq!(adapt(r"[]a]&&", false), r"[]a]&&");
        assert_eq!(adapt(r"(?(<u>)x|y)", false), r"(?(<u>)x|y)");
        assert_eq!(adapt(r"[^\[]", false), r"[^\[]");
    }
}
