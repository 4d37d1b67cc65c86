//! Date templates: a regex that finds a date in a line, and its conversion.
//!
//! Three kinds, as in fail2ban: a `%`-pattern (`DatePatternRegex`), Unix
//! epoch (`DateEpoch`, incl. `LEPOCH` and `{EPOCH}` inside a pattern) and
//! TAI64N. Building a template wraps the regex with fail2ban's word or line
//! boundaries and names it the way fail2ban-regex prints it.
//! (fail2ban: `server/datetemplate.py`.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use crate::error::{Error, ErrorKind};
use crate::pattern::{Captures, Pattern};
use crate::strptime::{convert_pattern, group_dict_strptime, has_alpha_directive, TimeContext};

/// Anchored at line start (`^` or `{^LN-BEG}`).
pub const LINE_BEGIN: u8 = 8;
/// Anchored at line end.
pub const LINE_END: u8 = 4;
/// Starts at a word boundary.
pub const WORD_BEGIN: u8 = 2;
/// Ends at a word boundary.
pub const WORD_END: u8 = 1;

/// How a template turns its match into a time.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `%`-directives; the original pattern is kept for anchored copies.
    Pattern(String),
    /// Unix time in group `group`; `long` accepts ms/µs (`LEPOCH`).
    Epoch {
        /// Group holding the number.
        group: usize,
        /// `LEPOCH`.
        long: bool,
    },
    /// `@` + 24 hex digits.
    Tai64n,
}

/// A compiled date template.
#[derive(Debug)]
pub struct DateTemplate {
    /// Display name (`{^LN-BEG}MON Day …`).
    pub name: String,
    /// The final regex (Python syntax).
    pub regex: String,
    /// `LINE_BEGIN | LINE_END | WORD_BEGIN | WORD_END`.
    pub flags: u8,
    /// 100 for the anchored copies of the defaults, else 1.
    pub weight: f64,
    /// The template kind.
    pub kind: Kind,
    /// Matches by any detector in the process (fail2ban shares template objects).
    pub hits: AtomicU64,
    pattern: Pattern,
    /// (group index, slot in [`FIELDS`]) of the groups strptime reads.
    fields: Vec<(usize, usize)>,
}

/// Where a template's automatic boundaries go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// No boundary.
    No,
    /// A word boundary.
    Word,
    /// Line start, allowing up to two non-word chars (`{^LN-BEG}`).
    Start,
}

fn meta(re: &'static OnceLock<Pattern>, src: &str) -> &'static Pattern {
    re.get_or_init(|| Pattern::new(src).expect("built-in pattern compiles"))
}

static RE_GROUPED: OnceLock<Pattern> = OnceLock::new();
static RE_GROUP: OnceLock<Pattern> = OnceLock::new();
static RE_GLOBALFLAGS: OnceLock<Pattern> = OnceLock::new();
static RE_NO_WRD_BOUND_BEG: OnceLock<Pattern> = OnceLock::new();
static RE_NO_WRD_BOUND_END: OnceLock<Pattern> = OnceLock::new();
static RE_DEL_WRD_BOUNDS: OnceLock<Pattern> = OnceLock::new();
static RE_LINE_BOUND_BEG: OnceLock<Pattern> = OnceLock::new();
static RE_LINE_BOUND_END: OnceLock<Pattern> = OnceLock::new();
static RE_EPOCH_PATTERN: OnceLock<Pattern> = OnceLock::new();

/// `{EPOCH}` / `{LEPOCH}` inside a datepattern.
pub fn has_epoch_placeholder(s: &str) -> bool {
    meta(&RE_EPOCH_PATTERN, r"(?i)(?<!\\)\{L?EPOCH\}").is_match(s)
}

/// Removes fail2ban's boundaries from a pattern (`DateTemplate.unboundPattern`).
pub fn unbound_pattern(p: &str) -> String {
    let p = p.strip_prefix("{UNB}").unwrap_or(p);
    let p = p.strip_prefix("{^LN-BEG}").unwrap_or(p);
    let p = p
        .strip_prefix(r"(?:^|\b|\W)")
        .or_else(|| p.strip_prefix(r"(^|\b|\W)"))
        .unwrap_or(p);
    p.strip_suffix(r"(?=\b|\W|$)").unwrap_or(p).to_string()
}

impl DateTemplate {
    /// Wraps `regex` with boundaries, sets flags and compiles
    /// (fail2ban: `DateTemplate.setRegex`).
    fn build(
        mut name: String,
        regex: &str,
        begin: Bound,
        end: bool,
        kind: Kind,
    ) -> Result<DateTemplate, Error> {
        let mut regex = regex.trim().to_string();
        let gf_re = meta(&RE_GLOBALFLAGS, r"((?:^|(?!<\\))\(\?[a-z]+\))");
        let mut gf = None;
        // Most templates have no global flags: look before making capture
        // slots (each set costs a JIT stack).
        if matches!(gf_re.find_at(&regex, 0), Ok(Some(_))) {
            let mut gcaps = gf_re.new_captures();
            if matches!(gf_re.captures_at(&regex, 0, &mut gcaps), Ok(true)) {
                gf = gcaps.text(&regex, 1).map(str::to_string);
                regex = gf_re.replace(&regex, 1, |_, _| String::new());
            }
        }
        let no_beg = meta(
            &RE_NO_WRD_BOUND_BEG,
            r"^\(*(?:\(\?\w+\))?(?:\^|\(*\*\*|\((?:\?:)?\^)",
        );
        let no_end = meta(&RE_NO_WRD_BOUND_END, r"(?<!\\)(?:\$\)?|\\b|\\s|\*\*\)*)$");
        let bound_begin = begin != Bound::No && !no_beg.is_match(&regex);
        let bound_end = end && !no_end.is_match(&regex);
        if !meta(&RE_GROUPED, r"(?<!(?:\(\?))(?<!\\)\((?!\?)").is_match(&regex) {
            let g = meta(&RE_GROUP, r"^((?:\(\?\w+\))?\^?(?:\(\?\w+\))?)(.*?)(\$?)$");
            regex = g.replace(&regex, 0, |h, c| {
                format!(
                    "{}({}){}",
                    c.text(h, 1).unwrap_or(""),
                    c.text(h, 2).unwrap_or(""),
                    c.text(h, 3).unwrap_or("")
                )
            });
        }
        let mut flags = 0;
        if bound_begin {
            if begin == Bound::Start {
                flags |= LINE_BEGIN;
                regex = format!(r"^(?:\W{{0,2}})?{regex}");
                if !name.starts_with("{^LN-BEG}") {
                    name = format!("{{^LN-BEG}}{name}");
                }
            } else {
                flags |= WORD_BEGIN;
                regex = format!(r"(?=^|\b|\W){regex}");
            }
        }
        if bound_end {
            flags |= WORD_END;
            regex.push_str(r"(?=\b|\W|$)");
        }
        if flags & LINE_BEGIN == 0
            && meta(
                &RE_LINE_BOUND_BEG,
                r"^(?:\(\?\w+\))?(?:\^|\((?:\?:)?\^(?!\|))",
            )
            .is_match(&regex)
        {
            flags |= LINE_BEGIN;
        }
        if flags & LINE_END == 0
            && meta(&RE_LINE_BOUND_END, r"(?<![\\\|])(?:\$\)?)$").is_match(&regex)
        {
            flags |= LINE_END;
        }
        let del = meta(
            &RE_DEL_WRD_BOUNDS,
            r"^\(*(?:\(\?\w+\))?\(*\*\*|(?<!\\)\*\*\)*$",
        );
        regex = del.replace(&regex, 0, |h, c| {
            c.text(h, 0).unwrap_or("").replace("**", "")
        });
        if let Some(g) = gf {
            regex = format!("{g}{regex}");
        }
        let pattern =
            Pattern::new(&regex).map_err(|e| e.with_origin(format!("date template {name}")))?;
        let fields = pattern
            .capture_names()
            .iter()
            .enumerate()
            .filter_map(|(i, n)| Some((i, field_slot(n.as_deref()?)?)))
            .collect();
        Ok(DateTemplate {
            name,
            regex,
            flags,
            weight: 1.0,
            kind,
            hits: AtomicU64::new(0),
            pattern,
            fields,
        })
    }

    /// A `%`-pattern template (fail2ban: `DatePatternRegex`).
    ///
    /// # Errors
    /// `DatePattern` for a stray `%`, `Compile` for a bad regex.
    pub fn from_pattern(pattern: &str) -> Result<DateTemplate, Error> {
        let (mut begin, mut end) = (Bound::Word, true);
        let mut p = pattern;
        if let Some(rest) = p.strip_prefix("{UNB}") {
            p = rest;
            begin = Bound::No;
            end = false;
        }
        if begin != Bound::No {
            if let Some(rest) = p.strip_prefix("{^LN-BEG}") {
                p = rest;
                begin = Bound::Start;
            }
        }
        let c = convert_pattern(p).map_err(|m| Error::new(ErrorKind::DatePattern(m), pattern))?;
        let mut regex = c.regex;
        if has_alpha_directive(p) {
            regex = format!("(?iu){regex}");
        }
        DateTemplate::build(
            c.name,
            &regex,
            begin,
            end,
            Kind::Pattern(pattern.to_string()),
        )
        .map_err(|e| match e.kind {
            ErrorKind::Compile(m) | ErrorKind::Translate { construct: m, .. } => {
                Error::new(ErrorKind::DatePattern(m), pattern)
            }
            _ => e,
        })
    }

    /// Epoch: anywhere at a word start, `[…]` at line start or `audit(…:`;
    /// `line_begin` anchors it; `long` = LEPOCH. (fail2ban: `DateEpoch`.)
    pub fn epoch(line_begin: bool, long: bool) -> DateTemplate {
        let epoch_re = epoch_re(long);
        let name = if long { "LongEpoch" } else { "Epoch" }.to_string();
        let kind = Kind::Epoch { group: 1, long };
        let t = if !line_begin {
            let r = r"((?:^|(?P<square>(?<=^\[))|(?P<selinux>(?<=\baudit\()))%s)(?:(?(selinux)(?=:\d+\)))|(?(square)(?=\])))"
                .replace("%s", epoch_re);
            DateTemplate::build(name, &r, Bound::No, true, kind)
        } else {
            let r = format!(r"((?P<square>(?<=^\[))?{epoch_re})(?(square)(?=\]))");
            DateTemplate::build(name, &r, Bound::Start, true, kind)
        };
        t.expect("built-in epoch template compiles")
    }

    /// A pattern containing `{EPOCH}` or `{LEPOCH}`.
    ///
    /// # Errors
    /// `DatePattern` when the regex is invalid.
    pub fn epoch_pattern(pattern: &str, long: bool) -> Result<DateTemplate, Error> {
        let ph = meta(&RE_EPOCH_PATTERN, r"(?i)(?<!\\)\{L?EPOCH\}");
        let inner = ph.replace(pattern, 0, |_, _| format!("({})", epoch_re(long)));
        let r = format!("({inner})");
        DateTemplate::build(
            pattern.to_string(),
            &r,
            Bound::Word,
            true,
            Kind::Epoch { group: 2, long },
        )
        .map_err(|e| Error::new(ErrorKind::DatePattern(e.to_string()), pattern))
    }

    /// TAI64N (`@4000…`); `line_begin` anchors it.
    pub fn tai64n(line_begin: bool) -> DateTemplate {
        let b = if line_begin { Bound::Start } else { Bound::No };
        DateTemplate::build("TAI64N".to_string(), "@[0-9a-f]{24}", b, true, Kind::Tai64n)
            .expect("built-in TAI64N template compiles")
    }

    /// The pattern this template was built from, if it is a `%`-pattern.
    pub fn source_pattern(&self) -> Option<&str> {
        match &self.kind {
            Kind::Pattern(p) => Some(p),
            _ => None,
        }
    }

    /// The compiled pattern.
    pub fn pattern(&self) -> &Pattern {
        &self.pattern
    }

    /// Searches `line[..end]` from `start`; counts a hit on success
    /// (fail2ban: `DateTemplate.matchDate`).
    pub fn match_date(&self, line: &str, start: usize, end: usize, caps: &mut Captures) -> bool {
        self.match_date_in(line, line.is_ascii(), start, end, caps)
    }

    /// [`DateTemplate::match_date`] with `line_ascii == line.is_ascii()` known.
    pub(crate) fn match_date_in(
        &self,
        line: &str,
        line_ascii: bool,
        start: usize,
        end: usize,
        caps: &mut Captures,
    ) -> bool {
        let hay = &line[..end.min(line.len())];
        if start > hay.len() {
            return false;
        }
        let ascii = line_ascii || hay.is_ascii();
        let ok = matches!(
            self.pattern.captures_at_memo(hay, start, ascii, caps),
            Ok(true)
        );
        if ok {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }

    /// The time of a match (fail2ban: `getDate`); `None` if the text is not a date.
    pub fn get_date(&self, line: &str, caps: &Captures, ctx: &TimeContext) -> Option<f64> {
        match &self.kind {
            Kind::Pattern(_) => {
                // The strptime fields that took part, collected once per match.
                let mut fields: [Option<&str>; FIELDS.len()] = [None; FIELDS.len()];
                for &(i, slot) in &self.fields {
                    if let Some(t) = caps.text(line, i) {
                        fields[slot] = Some(t);
                    }
                }
                let get = |k: &str| -> Option<&str> { field_slot(k).and_then(|slot| fields[slot]) };
                group_dict_strptime(&get, ctx)
            }
            Kind::Epoch { group, long } => {
                let v = caps.text(line, *group)?;
                let f: f64 = v.parse().ok()?;
                if *long && v.len() >= 13 {
                    if v.len() >= 16 && !v.contains('.') {
                        return Some(f / 1_000_000.0);
                    }
                    return Some(f / 1000.0);
                }
                Some(f)
            }
            Kind::Tai64n => {
                let v = caps.text(line, 1)?;
                let hex = v.get(2..17)?;
                u64::from_str_radix(hex, 16).ok().map(|s| s as f64)
            }
        }
    }
}

/// The group names `group_dict_strptime` reads.
const FIELDS: [&str; 14] = [
    "y", "Y", "m", "B", "b", "d", "H", "I", "p", "M", "S", "j", "z", "Z",
];

/// The slot of a group name in [`FIELDS`]: all are one byte long.
fn field_slot(name: &str) -> Option<usize> {
    match name.as_bytes() {
        [b] => FIELDS.iter().position(|f| f.as_bytes()[0] == *b),
        _ => None,
    }
}

fn epoch_re(long: bool) -> &'static str {
    if long {
        r"\d{10,11}(?:\d{3}(?:\.\d{1,6}|\d{3})?)?"
    } else {
        r"\d{10,11}\b(?:\.\d{3,6})?"
    }
}
