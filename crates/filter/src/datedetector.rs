//! The date detector: which template finds the date in a line.
//!
//! Holds an ordered list of [`DateTemplate`]s (fail2ban's 31 defaults, or
//! those a `datepattern` selects) and, per line, returns the match of the
//! template that wins under fail2ban's heuristics: the last successful
//! template first, a match further into the line kept only as a reserve,
//! and templates reordered by hits/distance. (fail2ban: `server/datedetector.py`.)

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};

use crate::datetemplate::{
    has_epoch_placeholder, unbound_pattern, DateTemplate, LINE_BEGIN, LINE_END,
};
use crate::error::Error;
use crate::pattern::Captures;

/// fail2ban's default templates, in order (`DateDetectorCache.DEFAULT_TEMPLATES`).
pub const DEFAULT_TEMPLATES: [&str; 17] = [
    r"%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?(?:\s*%z)?",
    r"(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?",
    r"(?:%a )?%b %d %ExY %k:%M:%S(?:\.%f)?",
    r"%d(?P<_sep>[-/])%m(?P=_sep)(?:%ExY|%Exy) %k:%M:%S",
    r"%d(?P<_sep>[-/])%b(?P=_sep)%ExY[ :]?%H:%M:%S(?:\.%f)?(?: %z)?",
    r"%m/%d/%ExY:%H:%M:%S",
    r"%m-%d-%ExY %k:%M:%S(?:\.%f)?",
    "EPOCH",
    r"{^LN-BEG}%H:%M:%S",
    r"^<%m/%d/%Exy@%H:%M:%S>",
    r"%Exy%Exm%Exd  ?%H:%M:%S",
    r"%b %d, %ExY %I:%M:%S %p",
    r"^%b-%d-%Exy %k:%M:%S",
    r"%ExY%Exm%Exd(?:-|T|  ?)%ExH:?%ExM:?%ExS(?:[.,]%f)?(?:\s*%z)?",
    r"(?:%Z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?",
    r"(?:%z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?",
    "TAI64N",
];

type Cache = Mutex<HashMap<String, Arc<DateTemplate>>>;

/// Templates are shared process-wide, as fail2ban's `DD_patternCache`
/// shares them (their hit counters take part in the search heuristics).
fn cache() -> &'static Cache {
    static C: OnceLock<Cache> = OnceLock::new();
    C.get_or_init(Default::default)
}

fn cached(
    key: &str,
    make: impl FnOnce() -> Result<DateTemplate, Error>,
) -> Result<Arc<DateTemplate>, Error> {
    if let Some(t) = cache().lock().map_err(|_| poisoned())?.get(key) {
        return Ok(t.clone());
    }
    let mut t = make()?;
    if is_anchored_default_key(key) {
        // fail2ban sets weight 100 on the shared anchored copy of a default
        // template; a datepattern naming the same template gets that object.
        t.weight = 100.0;
    }
    let t = Arc::new(t);
    let mut c = cache().lock().map_err(|_| poisoned())?;
    if c.len() >= CACHE_MAX {
        // fail2ban's cache is bounded too (`Utils.Cache(maxCount=1000)`);
        // dropping the templates no detector holds keeps the shared ones.
        c.retain(|_, t| Arc::strong_count(t) > 1);
    }
    c.insert(key.to_string(), t.clone());
    Ok(t)
}

/// fail2ban's `DD_patternCache` size.
const CACHE_MAX: usize = 1000;

/// How many date templates the process-wide cache holds (for tests).
#[doc(hidden)]
pub fn template_cache_len() -> usize {
    cache().lock().map(|c| c.len()).unwrap_or(0)
}

fn poisoned() -> Error {
    Error::new(
        crate::error::ErrorKind::Option("date template cache poisoned".into()),
        "",
    )
}

/// The cache keys of the `{^LN-BEG}` copies of the default templates.
fn is_anchored_default_key(key: &str) -> bool {
    let Some(rest) = key.strip_prefix("{^LN-BEG}") else {
        return false;
    };
    DEFAULT_TEMPLATES
        .iter()
        .filter(|p| !p.starts_with('^') && !p.starts_with("{^LN-BEG}"))
        .any(|p| *p == rest)
}

/// A template from a pattern string (fail2ban: `_getPatternTemplate`).
fn pattern_template(pattern: &str, key: Option<&str>) -> Result<Arc<DateTemplate>, Error> {
    let key = match key {
        Some(k) => k.to_string(),
        None if pattern.contains('%') => pattern.to_string(),
        None => pattern.to_uppercase(),
    };
    cached(&key.clone(), || {
        if key.contains("EPOCH") {
            if has_epoch_placeholder(pattern) {
                return DateTemplate::epoch_pattern(pattern, key.contains("LEPOCH"));
            }
            match key.as_str() {
                "EPOCH" | "{^LN-BEG}EPOCH" | "^EPOCH" => {
                    return Ok(DateTemplate::epoch(key != "EPOCH", false))
                }
                "LEPOCH" | "{^LN-BEG}LEPOCH" | "^LEPOCH" => {
                    return Ok(DateTemplate::epoch(key != "LEPOCH", true))
                }
                _ => {}
            }
        }
        match key.as_str() {
            "TAI64N" | "{^LN-BEG}TAI64N" | "^TAI64N" => Ok(DateTemplate::tai64n(key != "TAI64N")),
            _ => DateTemplate::from_pattern(pattern),
        }
    })
}

/// A wrapped copy of a template (fail2ban: `_getAnchoredTemplate`).
fn anchored(t: &DateTemplate, wrap: &dyn Fn(&str) -> String) -> Result<Arc<DateTemplate>, Error> {
    let name = wrap(&t.name);
    match t.source_pattern() {
        Some(p) => pattern_template(&wrap(p), None),
        None => pattern_template(&name, None),
    }
}

/// fail2ban's 17 default templates.
fn default_templates() -> &'static [Arc<DateTemplate>] {
    static D: OnceLock<Vec<Arc<DateTemplate>>> = OnceLock::new();
    D.get_or_init(|| {
        DEFAULT_TEMPLATES
            .iter()
            .map(|p| pattern_template(p, None).expect("default template compiles"))
            .collect()
    })
}

/// The 31 default templates: anchored copies (weight 100) first, then the
/// originals (fail2ban: `DateDetectorCache`).
fn default_cache() -> &'static [Arc<DateTemplate>] {
    static D: OnceLock<Vec<Arc<DateTemplate>>> = OnceLock::new();
    D.get_or_init(|| {
        let mut anchored_list = Vec::new();
        let mut originals = Vec::new();
        for t in default_templates() {
            if !t.name.starts_with("{^LN-BEG}") && !t.name.starts_with('^') {
                let t2 =
                    anchored(t, &|s| format!("{{^LN-BEG}}{s}")).expect("anchored default compiles");
                if t2.name != t.name {
                    anchored_list.push(t2);
                }
            }
            originals.push(t.clone());
        }
        anchored_list.extend(originals);
        anchored_list
    })
}

/// A template with this detector's own hit statistics (fail2ban: `DateDetectorTemplate`).
#[derive(Debug)]
pub struct DetectorTemplate {
    /// The shared template.
    pub template: Arc<DateTemplate>,
    /// Hits in this detector.
    pub hits: u64,
    last_used: f64,
    distance: usize,
}

impl DetectorTemplate {
    fn new(template: Arc<DateTemplate>) -> DetectorTemplate {
        DetectorTemplate {
            template,
            hits: 0,
            last_used: 0.0,
            distance: 0x7fff_ffff,
        }
    }

    fn weight(&self) -> f64 {
        self.hits as f64 * self.template.weight / (self.distance.max(1) as f64)
    }
}

/// The winning match of [`DateDetector::match_time`].
#[derive(Debug)]
pub struct DateMatch {
    /// Span of group 1 (the date text fail2ban cuts out of the line).
    pub span: (usize, usize),
    /// Index of the winning template in [`DateDetector::templates`] (after reordering).
    pub index: usize,
}

/// Finds dates in lines (fail2ban: `DateDetector`).
#[derive(Debug, Default)]
pub struct DateDetector {
    templates: Vec<DetectorTemplate>,
    /// Each template's capture slots, made at its first try: most jails
    /// only ever try a few of the ~31 defaults, and the slots (PCRE2 match
    /// data and a memo) were ~8 KB per jail.
    caps: Vec<Option<Box<Captures>>>,
    last_pos: (usize, Option<char>, Option<char>),
    last_end_pos: (usize, Option<char>, Option<char>),
    last_idx: usize,
    first_unused: usize,
    /// Whether the line being matched is all ASCII (computed once per line).
    line_ascii: bool,
    date_cache: std::cell::RefCell<cache::DateCache>,
    /// `logtimezone`, in minutes.
    pub default_tz: Option<i32>,
}

/// Python `line[i-1:i]` as a char (`None` = empty string).
fn char_before(s: &str, i: usize) -> Option<char> {
    if i == 0 || i > s.len() || !s.is_char_boundary(i) {
        return None;
    }
    s[..i].chars().next_back()
}

/// Python `line[i:i+1]` as a char (`None` = empty string).
fn char_at(s: &str, i: usize) -> Option<char> {
    s.get(i..).and_then(|r| r.chars().next())
}

fn is_alnum(c: Option<char>) -> bool {
    c.is_some_and(char::is_alphanumeric)
}

impl DateDetector {
    /// An empty detector; [`DateDetector::match_time`] adds the defaults on first use.
    pub fn new() -> DateDetector {
        DateDetector {
            last_pos: (1, None, None),
            last_end_pos: (0x7fff_ffff, None, None),
            last_idx: usize::MAX,
            ..Default::default()
        }
    }

    /// A detector for a jail's `datepattern` (one pattern per line; `None` = defaults).
    ///
    /// # Errors
    /// A `DatePattern` error for an invalid pattern.
    pub fn with_pattern(datepattern: Option<&str>) -> Result<DateDetector, Error> {
        let mut dd = DateDetector::new();
        if let Some(p) = datepattern {
            for line in p.split('\n').map(str::trim).filter(|l| !l.is_empty()) {
                dd.append_template(line)?;
            }
        }
        Ok(dd)
    }

    fn push(&mut self, t: Arc<DateTemplate>, ignore_dup: bool) -> Result<(), Error> {
        // A scan of the (at most ~31) templates, not a set of their names:
        // the set was a copy of every name, ~3 KB per jail kept for good
        // (docs/server.md "Memory and stop").
        if self.templates.iter().any(|d| d.template.name == t.name) {
            if ignore_dup {
                return Ok(());
            }
            return Err(Error::new(
                crate::error::ErrorKind::DatePattern(format!(
                    "There is already a template with name {}",
                    t.name
                )),
                &t.name,
            ));
        }
        self.caps.push(None);
        self.templates.push(DetectorTemplate::new(t));
        Ok(())
    }

    /// Adds a template from a datepattern line (fail2ban: `appendTemplate`).
    ///
    /// # Errors
    /// A `DatePattern` error.
    pub fn append_template(&mut self, pattern: &str) -> Result<(), Error> {
        let key = if pattern.contains('%') {
            pattern.to_string()
        } else {
            pattern.to_uppercase()
        };
        match key.as_str() {
            "{^LN-BEG}" => return self.add_defaults(Some(true), None),
            "{DEFAULT}" => return self.add_defaults(None, None),
            _ => {}
        }
        if key.contains("{DATE}") {
            return self.add_defaults(None, Some(pattern));
        }
        let t = if key == "{NONE}" {
            pattern_template("{UNB}^", Some(&key))?
        } else {
            pattern_template(pattern, Some(&key))?
        };
        self.push(t, false)
    }

    /// fail2ban's `addDefaultTemplate`: all 31, only line-anchored ones, or
    /// the 17 wrapped into a `{DATE}` pattern.
    fn add_defaults(
        &mut self,
        line_begin_only: Option<bool>,
        pre_match: Option<&str>,
    ) -> Result<(), Error> {
        let ignore_dup = !self.templates.is_empty();
        let list: Vec<Arc<DateTemplate>> = match pre_match {
            Some(_) => default_templates().to_vec(),
            None => default_cache().to_vec(),
        };
        for t in list {
            if line_begin_only == Some(true) && t.flags & LINE_BEGIN == 0 {
                continue;
            }
            let t = match pre_match {
                Some(pm) => {
                    let wrap = |s: &str| replace_date_placeholder(pm, &unbound_pattern(s));
                    anchored(&t, &wrap)?
                }
                None => t,
            };
            self.push(t, ignore_dup)?;
        }
        Ok(())
    }

    /// The templates in their current order, with this detector's hits.
    pub fn templates(&self) -> &[DetectorTemplate] {
        &self.templates
    }

    fn try_template(
        &mut self,
        i: usize,
        line: &str,
        start: usize,
        end: usize,
    ) -> Option<(usize, usize)> {
        let t = &self.templates[i].template;
        let caps = self.caps[i].get_or_insert_with(|| Box::new(t.pattern().new_captures()));
        if t.match_date_in(line, self.line_ascii, start, end, caps) {
            caps.get(0)
        } else {
            None
        }
    }

    /// Finds the date in `line` (fail2ban: `DateDetector.matchTime`).
    pub fn match_time(&mut self, line: &str) -> Option<DateMatch> {
        self.match_time_at(line, crate::strptime::clock_now())
    }

    /// [`DateDetector::match_time`] with "now" (for the templates'
    /// last-use times) already read by the caller.
    pub(crate) fn match_time_at(&mut self, line: &str, now: f64) -> Option<DateMatch> {
        if self.templates.is_empty() {
            let _ = self.add_defaults(None, None);
        }
        self.line_ascii = line.is_ascii();
        let n = self.templates.len();
        let mut found: Option<(usize, usize, usize)> = None; // (distance, endpos, index)
        let mut ignore_by_search = usize::MAX;
        let mut matched: Option<(usize, usize, usize)> = None;
        let i = self.last_idx;
        if i < n {
            let anchored = self.templates[i].template.flags & (LINE_BEGIN | LINE_END) != 0;
            let m = if anchored {
                ignore_by_search = i;
                self.try_template(i, line, 0, line.len())
            } else {
                let (distance, endpos) = (self.last_pos.0, self.last_end_pos.0);
                let lp = &self.last_pos;
                let le = &self.last_end_pos;
                let begin_ok = char_before(line, distance) == lp.1
                    || (char_at(line, distance) == lp.2 && !is_alnum(lp.2));
                let end_ok = char_at(line, endpos) == le.2
                    || (char_before(line, endpos) == le.1 && !is_alnum(le.1));
                if begin_ok
                    && end_ok
                    && distance <= line.len()
                    && line.is_char_boundary(distance)
                    && endpos <= line.len()
                    && line.is_char_boundary(endpos)
                {
                    self.try_template(i, line, distance, endpos)
                } else {
                    ignore_by_search = i;
                    self.try_template(i, line, 0, line.len())
                }
            };
            if let Some((d, e)) = m {
                if n == 1 || anchored || (d == self.last_pos.0 && e == self.last_end_pos.0) {
                    matched = Some((d, e, i));
                } else {
                    found = Some((d, e, i));
                }
            }
        }
        if matched.is_none() {
            let mut i = 0;
            while i < n {
                if i == ignore_by_search {
                    i += 1;
                    continue;
                }
                if let Some((d, e)) = self.try_template(i, line, 0, line.len()) {
                    let t = &self.templates[i];
                    if i + 1 >= n || t.template.flags & (LINE_BEGIN | LINE_END) != 0 {
                        matched = Some((d, e, i));
                        break;
                    }
                    if d == 0
                        && t.hits > 0
                        && self.templates[i + 1].template.hits.load(Ordering::Relaxed) == 0
                    {
                        matched = Some((d, e, i));
                        break;
                    }
                    if d > t.distance || d > self.last_pos.0 {
                        if found.is_none_or(|f| d < f.0) {
                            found = Some((d, e, i));
                        }
                        i += 1;
                        continue;
                    }
                    matched = Some((d, e, i));
                    break;
                }
                i += 1;
            }
            if matched.is_none() {
                if let Some((d, e, i)) = found {
                    // The reserve match: re-run it so its captures are current.
                    if self.try_template(i, line, 0, line.len()).is_some() {
                        matched = Some((d, e, i));
                    }
                }
            }
        }
        let (distance, endpos, i) = matched?;
        {
            let t = &mut self.templates[i];
            t.hits += 1;
            t.last_used = now;
            t.distance = distance;
        }
        if self.first_unused == i {
            self.first_unused += 1;
        }
        self.last_pos = (
            distance,
            char_before(line, distance),
            char_at(line, distance),
        );
        self.last_end_pos = (endpos, char_before(line, endpos), char_at(line, endpos));
        let span = self.caps[i]
            .as_deref()
            .and_then(|c| c.get(1).or(c.get(0)))
            .unwrap_or((distance, endpos));
        let mut idx = i;
        if i != 0 && i != self.last_idx {
            idx = self.reorder(i);
        }
        self.last_idx = idx;
        Some(DateMatch { span, index: idx })
    }

    /// Moves a template up when its weight grew (fail2ban: `_reorderTemplate`).
    fn reorder(&mut self, num: usize) -> usize {
        let unused_time = 300.0;
        let (weight, untime) = {
            let t = &self.templates[num];
            (t.weight(), t.last_used - unused_time)
        };
        let mut pos = if self.first_unused < num {
            self.first_unused
        } else {
            num / 2
        };
        let moveable = |tpls: &[DetectorTemplate], pos: usize| {
            weight > tpls[pos].weight() || untime > tpls[pos].last_used
        };
        if !moveable(&self.templates, pos) {
            if pos == num - 1 {
                return num;
            }
            pos = num - 1;
            if !moveable(&self.templates, pos) {
                return num;
            }
        }
        let t = self.templates.remove(num);
        let c = self.caps.remove(num);
        self.templates.insert(pos, t);
        self.caps.insert(pos, c);
        while self.first_unused < self.templates.len() && self.templates[self.first_unused].hits > 0
        {
            self.first_unused += 1;
        }
        pos
    }
}

/// Replaces `{DATE}` (any case, not escaped) with `with`.
fn replace_date_placeholder(pattern: &str, with: &str) -> String {
    let mut out = String::new();
    let mut i = 0;
    let lower = pattern.to_ascii_lowercase();
    while let Some(p) = lower[i..].find("{date}") {
        let at = i + p;
        if at > 0 && pattern.as_bytes()[at - 1] == b'\\' {
            out.push_str(&pattern[i..at + 6]);
        } else {
            out.push_str(&pattern[i..at]);
            out.push_str(with);
        }
        i = at + 6;
    }
    out.push_str(&pattern[i..]);
    out
}

mod cache;
#[cfg(test)]
mod tests;
