//! Tag expansion and the compiled failregex/ignoreregex/prefregex.
//!
//! Takes a filter regex as written in a filter file (`<HOST>`, `<F-USER>…`)
//! and yields a compiled [`Regex`] whose named groups carry fail2ban's
//! meaning (`ip4`, `ip6`, `dns`, `fid`, `user`, `mlfid`, …). Searching a
//! buffer of lines gives the groups and which lines took part in the match.
//! (fail2ban: `server/failregex.py`.)

use std::sync::Arc;
use std::sync::OnceLock;

use crate::error::{Error, ErrorKind};
use crate::pattern::{Captures, Pattern, PatternBuilder};
use crate::prefilter::Prefilter;

/// `<IP4>`: an IPv4 address, optionally IPv4-mapped (`::ffff:`).
pub const R_IP4: &str = r"(?:::f{4,6}:)?(?P<ip4>(?:\d{1,3}\.){3}\d{1,3})";
/// `<IP6>`.
pub const R_IP6: &str = r"(?P<ip6>(?:[0-9a-fA-F]{1,4}::?|:){1,7}(?:[0-9a-fA-F]{1,4}|(?<=:):))";
/// `<DNS>`.
pub const R_DNS: &str = r"(?P<dns>[\w\-.^_]*\w)";
/// `<CIDR>`.
pub const R_CIDR: &str = r"(?P<cidr>\d+)";

fn r_addr() -> String {
    format!(r"\[?(?:{R_IP4}|{R_IP6})\]?")
}

fn r_host() -> String {
    format!(r"(?:{}|{R_DNS})", r_addr())
}

fn r_subnet() -> String {
    format!(r"\[?(?:{R_IP4}|{R_IP6})(?:/{R_CIDR})?\]?")
}

/// How `<HOST>` expands and how names are resolved (jail option `usedns`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UseDns {
    /// Resolve names, quietly.
    Yes,
    /// Resolve names and log a warning (fail2ban's default).
    #[default]
    Warn,
    /// Only addresses: `<HOST>` is `<ADDR>`, names are dropped.
    No,
    /// Keep the host text as written.
    Raw,
}

impl UseDns {
    /// Parses `yes|warn|no|raw` (case-insensitive, as fail2ban lowers it).
    ///
    /// # Errors
    /// An `Option` error for any other value.
    pub fn parse(s: &str) -> Result<UseDns, Error> {
        match s.to_ascii_lowercase().as_str() {
            "yes" => Ok(UseDns::Yes),
            "warn" => Ok(UseDns::Warn),
            "no" => Ok(UseDns::No),
            "raw" => Ok(UseDns::Raw),
            _ => Err(Error::new(
                ErrorKind::Option(format!("Incorrect value {s:?} for usedns")),
                s,
            )),
        }
    }

    /// The option value as fail2ban prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            UseDns::Yes => "yes",
            UseDns::Warn => "warn",
            UseDns::No => "no",
            UseDns::Raw => "raw",
        }
    }
}

fn meta(re: &'static OnceLock<Pattern>, src: &str) -> &'static Pattern {
    re.get_or_init(|| Pattern::new(src).expect("built-in pattern compiles"))
}

/// Expands fail2ban's tags (`<HOST>`, `<F-USER>…</F-USER>`, …) into named
/// groups; other `<...>` text is left as is. (fail2ban: `Regex._resolveHostTag`.)
pub fn expand_tags(regex: &str, usedns: UseDns) -> String {
    static FTAG: OnceLock<Pattern> = OnceLock::new();
    let ftag = meta(&FTAG, r"</?[\w\-]+/?>");
    let mut open: Vec<String> = Vec::new();
    let mut skiplines = 0;
    ftag.replace(regex, 0, |hay, caps| {
        let tag = caps.text(hay, 0).unwrap_or("");
        let tn = &tag[1..tag.len() - 1];
        match tn {
            "HOST" => {
                return if usedns == UseDns::No {
                    r_addr()
                } else {
                    r_host()
                }
            }
            "SKIPLINES" => {
                let n = skiplines;
                skiplines += 1;
                return format!(r"\n(?P<skiplines{n}>(?:(?:.*\n)*?))");
            }
            "IP4" | "F-IP4/" => return R_IP4.to_string(),
            "IP6" | "F-IP6/" => return R_IP6.to_string(),
            "ADDR" | "F-ADDR/" => return r_addr(),
            "CIDR" | "F-CIDR/" => return R_CIDR.to_string(),
            "SUBNET" | "F-SUBNET/" => return r_subnet(),
            "DNS" | "F-DNS/" => return R_DNS.to_string(),
            "F-ID/" => return r"(?P<fid>\S+)".to_string(),
            "F-PORT/" => return r"(?P<fport>\w+)".to_string(),
            _ => {}
        }
        let (closing, name) = match tn.strip_prefix('/') {
            Some(n) => (true, n),
            None => (false, tn),
        };
        let Some(custom) = name.strip_prefix("F-") else {
            return tag.to_string();
        };
        if custom.is_empty()
            || !custom
                .bytes()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_' || c == b'-')
        {
            return tag.to_string();
        }
        if closing {
            if open.iter().any(|o| o == custom) {
                return ")".to_string();
            }
            return tag.to_string();
        }
        open.push(custom.to_string());
        format!("(?P<{}>", map_tag_to_opt(custom))
    })
}

/// `F-ID` → `fid`, `F-PORT` → `fport`, others lowercased.
fn map_tag_to_opt(tag: &str) -> String {
    let t = tag.to_ascii_lowercase();
    match t.as_str() {
        "id" => "fid".to_string(),
        "port" => "fport".to_string(),
        _ => t,
    }
}

/// Rewrites `((?i)X` and `(?:(?i)X` to `(?i:X` (fail2ban: `R_GLOB2LOCFLAGS`).
fn glob_to_local_flags(regex: &str) -> String {
    static RE: OnceLock<Pattern> = OnceLock::new();
    let re = meta(&RE, r"(?<!\\)\((?:\?:)?(\(\?[a-z]+)\)");
    re.replace(regex, 0, |hay, caps| {
        format!("{}:", caps.text(hay, 1).unwrap_or(""))
    })
}

/// One line split around its date: `(prefix, date text, suffix)`.
pub type TupleLine = (String, String, String);

/// The text regexes see for a tuple line: the line without its date.
pub fn tuple_text(t: &TupleLine) -> String {
    let mut s = String::with_capacity(t.0.len() + t.2.len());
    s.push_str(&t.0);
    s.push_str(&t.2);
    s
}

/// The original line of a tuple line.
pub fn tuple_full(t: &TupleLine) -> String {
    format!("{}{}{}", t.0, t.1, t.2)
}

/// `"\n".join(lines without date) + "\n"` (fail2ban: `Regex._tupleLinesBuf`).
pub fn tuple_lines_buf(lines: &[TupleLine]) -> String {
    let len: usize = lines.iter().map(|t| t.0.len() + t.2.len() + 1).sum();
    let mut s = String::with_capacity(len);
    for (i, t) in lines.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(&t.0);
        s.push_str(&t.2);
    }
    s.push('\n');
    s
}

use crate::groups::intern;
pub use crate::groups::{GroupValue, Groups};
pub use crate::text::Text;

/// The result of [`Regex::search`]: groups and the buffer lines matched.
#[derive(Debug, Clone)]
pub struct RegexMatch {
    /// Named groups.
    pub groups: Groups,
    /// Indexes (into the searched buffer) of the lines the match covers.
    pub matched: Vec<usize>,
    /// Indexes of the other lines, in fail2ban's order.
    pub unmatched: Vec<usize>,
}

/// A compiled filter regex (fail2ban: `failregex.Regex` / `FailRegex`).
///
/// Regexes of the same text and options share one [`Compiled`] (50 jails
/// on `sshd` build its 18 failregexes once, not 50 times: the expansion,
/// group tables and prefilter were most of a jail's start and ~35 KB of
/// its heap); each keeps its own error count.
#[derive(Debug)]
pub struct Regex {
    compiled: Arc<Compiled>,
    match_errors: std::sync::atomic::AtomicU64,
}

impl std::ops::Deref for Regex {
    type Target = Compiled;
    fn deref(&self) -> &Compiled {
        &self.compiled
    }
}

/// The immutable part of a [`Regex`]; read through the `Regex`.
#[derive(Debug)]
pub struct Compiled {
    raw: String,
    expanded: String,
    pattern: Pattern,
    alt: Vec<(String, &'static str)>,
    tuple: Vec<(String, &'static str)>,
    names: Vec<(usize, &'static str)>,
    skiplines: Vec<usize>,
    prefilter: Prefilter,
    /// For a single-line pattern ending in `(?P<content>.+)$` (the stock
    /// prefregexes): the same pattern ending in `(?P<content>)(?=.)`
    /// instead, see [`Regex::is_match_content_tail`].
    content_tail: Option<Pattern>,
    deprecated_host: bool,
}

/// The groups that identify a failure (fail2ban: `FAILURE_ID_PRESENTS`).
pub const FAILURE_ID_PRESENTS: [&str; 5] = ["fid", "ip4", "ip6", "dns", "mlfid"];

/// Live compiled regexes by (text, multiline, usedns): a new `Regex` of the
/// same key shares the one still in use; entries of dropped ones are
/// pruned when the map fills.
type Shared = std::collections::HashMap<(String, bool, u8), std::sync::Weak<Compiled>>;

const SHARED_PRUNE: usize = 1024;

impl Regex {
    fn with(compiled: Arc<Compiled>) -> Regex {
        Regex {
            compiled,
            match_errors: Default::default(),
        }
    }

    /// Expands tags and compiles (fail2ban: `Regex.__init__`), or shares
    /// the compiled regex of a live `Regex` of the same text and options.
    ///
    /// # Errors
    /// `Empty`, `Translate` or `Compile`.
    pub fn new(raw: &str, multiline: bool, usedns: UseDns) -> Result<Regex, Error> {
        static SHARED: OnceLock<std::sync::Mutex<Shared>> = OnceLock::new();
        let shared = SHARED.get_or_init(Default::default);
        let key = (raw.to_string(), multiline, usedns as u8);
        let live = shared
            .lock()
            .ok()
            .and_then(|m| m.get(&key).and_then(std::sync::Weak::upgrade));
        if let Some(c) = live {
            return Ok(Regex::with(c));
        }
        let c = Arc::new(Regex::compile(raw, multiline, usedns)?);
        if let Ok(mut m) = shared.lock() {
            if m.len() >= SHARED_PRUNE {
                m.retain(|_, w| w.strong_count() > 0);
            }
            m.insert(key, Arc::downgrade(&c));
        }
        Ok(Regex::with(c))
    }

    fn compile(raw: &str, multiline: bool, usedns: UseDns) -> Result<Compiled, Error> {
        let expanded = expand_tags(raw, usedns);
        if expanded.trim_start().is_empty() {
            return Err(Error::new(ErrorKind::Empty, raw));
        }
        let expanded = glob_to_local_flags(&expanded);
        let pattern = PatternBuilder::new()
            .multiline(multiline)
            .build(&expanded)
            .map_err(|mut e| {
                if let ErrorKind::Compile(_) = e.kind {
                    e.pattern = expanded.clone();
                }
                e
            })?;
        let mut alt = Vec::new();
        let mut tuple = Vec::new();
        let mut names = Vec::new();
        let mut skiplines = Vec::new();
        for (i, n) in pattern.capture_names().iter().enumerate() {
            let Some(n) = n else { continue };
            names.push((i, intern(n)));
            if let Some(rest) = n.strip_prefix("alt_") {
                alt.push((n.clone(), intern(&map_tag_to_opt(strip_num_suffix(rest)))));
            } else if let Some(rest) = n.strip_prefix("tuple_") {
                tuple.push((n.clone(), intern(&map_tag_to_opt(strip_num_suffix(rest)))));
            }
        }
        // Python scans skiplines0, skiplines1, ... until one is missing.
        let mut k = 0;
        while let Some(i) = pattern.capture_index(&format!("skiplines{k}")) {
            skiplines.push(i);
            k += 1;
        }
        alt.sort();
        tuple.sort();
        let prefilter = Prefilter::new(&expanded, multiline);
        let content_tail = if multiline {
            None
        } else {
            content_tail(&expanded)
        };
        Ok(Compiled {
            raw: raw.to_string(),
            expanded,
            pattern,
            alt,
            tuple,
            names,
            skiplines,
            prefilter,
            content_tail,
            deprecated_host: false,
        })
    }

    /// A failregex: as [`Regex::new`], and it (or the prefregex) must have a
    /// failure-id group. An old-style `(?P<host>…)` regex (fail2ban 0.8) is
    /// accepted, reading `host` as the address group; see
    /// [`Regex::deprecated_host`]. (fail2ban: `FailRegex.__init__`.)
    ///
    /// # Errors
    /// As [`Regex::new`], plus `NoFailureId`.
    pub fn new_fail(
        raw: &str,
        multiline: bool,
        usedns: UseDns,
        pref: Option<&Regex>,
    ) -> Result<Regex, Error> {
        let r = Regex::new(raw, multiline, usedns)?;
        let has_id = |r: &Regex| FAILURE_ID_PRESENTS.iter().any(|g| r.has_group(g));
        if !has_id(&r) && !pref.is_some_and(has_id) {
            if r.has_group("host") {
                // fail2ban 0.8 named the address group `host`; it was
                // resolved like a name, which is what `dns` means now.
                static HOST: OnceLock<Pattern> = OnceLock::new();
                let host = meta(&HOST, r"\(\?P<host>");
                let renamed = host.replace(raw, 0, |_, _| "(?P<dns>".to_string());
                // Rare (fail2ban 0.8 filters), so not shared.
                let mut r2 = Regex::compile(&renamed, multiline, usedns)?;
                r2.raw = raw.to_string();
                r2.deprecated_host = true;
                return Ok(Regex::with(Arc::new(r2)));
            }
            return Err(Error::new(ErrorKind::NoFailureId, &r.expanded));
        }
        Ok(r)
    }

    /// The regex as written (tags unexpanded).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The regex after tag expansion (what `fail2ban-client get … failregex` shows).
    pub fn expanded(&self) -> &str {
        &self.expanded
    }

    /// True when this regex used the fail2ban 0.8 `(?P<host>…)` group.
    pub fn deprecated_host(&self) -> bool {
        self.deprecated_host
    }

    /// Searches PCRE2 aborted (match or JIT stack limit); each counted as no match.
    pub fn match_errors(&self) -> u64 {
        self.match_errors.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// True when the regex has a group of that name.
    pub fn has_group(&self, name: &str) -> bool {
        self.pattern.capture_index(name).is_some()
    }

    /// Searches `buf` (the `\n`-joined lines plus a final `\n`); `nlines`
    /// is the number of lines in it. (fail2ban: `Regex.search`.)
    pub fn search(&self, buf: &str, nlines: usize, caps: &mut Captures) -> Option<RegexMatch> {
        self.search_in(buf, buf.is_ascii(), nlines, caps)
    }

    /// [`Regex::search`] with `ascii == buf.is_ascii()` already known.
    pub(crate) fn search_in(
        &self,
        buf: &str,
        ascii: bool,
        nlines: usize,
        caps: &mut Captures,
    ) -> Option<RegexMatch> {
        if !self.is_match_in(buf, ascii, caps) {
            return None;
        }
        Some(self.match_from(buf, nlines, caps))
    }

    /// The yes/no part of [`Regex::search`]: fills `caps`, builds nothing.
    pub(crate) fn is_match_in(&self, buf: &str, ascii: bool, caps: &mut Captures) -> bool {
        if !self.prefilter.accepts(buf) {
            return false;
        }
        match self.pattern.captures_at_ascii(buf, 0, ascii, caps) {
            Ok(m) => m,
            Err(_) => {
                // PCRE2 gave up (match/JIT limit): no match, counted.
                self.match_errors
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                false
            }
        }
    }

    /// True when [`Regex::is_match_content_tail`] can be used.
    pub(crate) fn has_content_tail(&self) -> bool {
        self.content_tail.is_some()
    }

    /// [`Regex::is_match_in`] for a pattern ending in `(?P<content>.+)$`,
    /// on a one-line buffer (`X\n`, no other `\n`), without reading the
    /// content: on such a buffer `.+$` at position `p` succeeds exactly
    /// when a character other than the final `\n` follows (`(?=.)`), and
    /// `content` is then `p` to the final `\n`. So the match, and every
    /// other group, is the full pattern's; only `content` is left empty in
    /// `caps` (at its start). Needs [`Regex::has_content_tail`].
    pub(crate) fn is_match_content_tail(
        &self,
        buf: &str,
        ascii: bool,
        caps: &mut Captures,
    ) -> bool {
        let Some(fast) = &self.content_tail else {
            return self.is_match_in(buf, ascii, caps);
        };
        if !self.prefilter.accepts(buf) {
            return false;
        }
        match fast.captures_at_ascii(buf, 0, ascii, caps) {
            Ok(m) => m,
            Err(_) => {
                self.match_errors
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                false
            }
        }
    }

    /// The byte every matching (single-line) buffer starts with, if the
    /// prefilter knows one: a one-byte test before calling [`Regex::is_match_in`].
    pub(crate) fn first_byte(&self) -> Option<u8> {
        self.prefilter
            .prefix()
            .and_then(|p| p.as_bytes().first().copied())
    }

    /// The index of a named group.
    pub(crate) fn group_index(&self, name: &str) -> Option<usize> {
        self.pattern.capture_index(name)
    }

    /// The groups of a one-line match without `content` (the prefregex's
    /// groups as a failure inherits them), as spans of `src`: `caps` holds
    /// a match on `src[base..]`.
    pub(crate) fn groups_without_content(
        &self,
        src: &Arc<str>,
        base: usize,
        caps: &Captures,
    ) -> Groups {
        let mut g = self.groups_from(src, base, caps, 0);
        g.remove("content");
        g
    }

    /// `new` (a failregex's groups) merged over this prefregex's groups
    /// without `content` (fail2ban: `merged = pre.copy(); merged.update(new)`,
    /// a `None` in `new` keeping the prefregex's value), read straight from
    /// `caps` (a match on `src`) without building them first.
    pub(crate) fn merged_under(&self, src: &Arc<str>, caps: &Captures, new: Groups) -> Groups {
        if !self.alt.is_empty() || !self.tuple.is_empty() {
            let pre = self.groups_without_content(src, 0, caps);
            return if pre.is_empty() {
                new
            } else {
                Groups::merged_over(&pre, new)
            };
        }
        let pre = self
            .names
            .iter()
            .filter(|&&(_, n)| n != "content")
            .map(|&(i, n)| {
                let v = match caps.get(i) {
                    Some((s, e)) => GroupValue::Str(Text::span(src, s, e)),
                    None => GroupValue::None,
                };
                (n, v)
            });
        new.merge_front(pre)
    }

    /// The named groups of the match `is_match_in` left in `caps`, as spans
    /// of `src` (the match was on `src[base..]`), with alt/tuple merging;
    /// `room` more entries are reserved for merging.
    pub(crate) fn groups_from(
        &self,
        src: &Arc<str>,
        base: usize,
        caps: &Captures,
        room: usize,
    ) -> Groups {
        let mut groups =
            Groups::with_capacity(self.names.len() + self.alt.len() + self.tuple.len() + room);
        for &(i, n) in &self.names {
            let v = match caps.get(i) {
                Some((s, e)) => GroupValue::Str(Text::span(src, base + s, base + e)),
                None => GroupValue::None,
            };
            groups.push_unique(n, v);
        }
        for (k, n) in &self.alt {
            let n: &'static str = n;
            let v = groups.get(k).cloned().unwrap_or(GroupValue::None);
            if v.truthy() && !groups.get(n).is_some_and(GroupValue::truthy) {
                groups.set(n, v);
            }
        }
        for (k, n) in &self.tuple {
            let n: &'static str = n;
            let v = groups.get(k).and_then(|v| v.as_str().map(str::to_string));
            let t = match groups.remove(n) {
                Some(GroupValue::Tuple(mut t)) => {
                    t.push(v);
                    t
                }
                Some(GroupValue::Str(s)) => vec![Some(s.to_string()), v],
                _ => vec![None, v],
            };
            groups.set(n, GroupValue::Tuple(t));
        }
        groups
    }

    /// Groups and line indexes of the match `is_match_in` left in `caps`.
    pub(crate) fn match_from(&self, buf: &str, nlines: usize, caps: &Captures) -> RegexMatch {
        let (ms, me) = caps.get(0).unwrap_or((0, 0));
        // Room for the prefregex groups a failure merges in (`merged_over`).
        let src: Arc<str> = Arc::from(buf);
        let groups = self.groups_from(&src, 0, caps, 2);
        if nlines <= 1 {
            return RegexMatch {
                groups,
                matched: (0..nlines).collect(),
                unmatched: Vec::new(),
            };
        }
        // Which lines does the match cover?
        // Bytes, not `str`: `ms + 1` and `me - 1` may fall inside a
        // multi-byte character; `\n` is one byte either way.
        let bytes = buf.as_bytes();
        let line_start = bytes[..(ms + 1).min(bytes.len())]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let from = me.saturating_sub(1).min(bytes.len());
        let line_end = match bytes[from..].iter().position(|&b| b == b'\n') {
            Some(p) => from + p + 1,
            None => bytes.len(),
        };
        let c1 = buf[..line_start].matches('\n').count();
        let c2 = buf[..line_end].matches('\n').count().min(nlines);
        let mut matched: Vec<usize> = (c1.min(c2)..c2).collect();
        let mut unmatched: Vec<usize> = (0..c1.min(nlines)).collect();
        // Lines swallowed by <SKIPLINES> are not part of the failure.
        let lines: Vec<&str> = buf.split('\n').collect();
        let mut skipped: Vec<&str> = Vec::new();
        for &i in &self.skiplines {
            if let Some(t) = caps.text(buf, i) {
                skipped.extend(t.lines());
            }
        }
        let mut n = 0;
        for s in skipped {
            if let Some(m) = matched[n.min(matched.len())..]
                .iter()
                .position(|&li| lines.get(li) == Some(&s))
            {
                unmatched.push(matched.remove(n + m));
                n += m;
            }
        }
        unmatched.extend(c2..nlines);
        RegexMatch {
            groups,
            matched,
            unmatched,
        }
    }

    /// Compiled pattern, for callers that only need a yes/no.
    pub fn pattern(&self) -> &Pattern {
        &self.pattern
    }
}

/// The pattern for [`Regex::is_match_content_tail`], if `expanded` ends in
/// an unescaped `(?P<content>.+)$` and sets no inline flags (`(?s)` would
/// let `.` match `\n`, `(?m)` change `$`).
fn content_tail(expanded: &str) -> Option<Pattern> {
    const TAIL: &str = "(?P<content>.+)$";
    let head = expanded.strip_suffix(TAIL)?;
    let backslashes = head.bytes().rev().take_while(|&b| b == b'\\').count();
    let flags = expanded
        .as_bytes()
        .windows(3)
        .any(|w| w[0] == b'(' && w[1] == b'?' && b"aiLmsux-^".contains(&w[2]));
    if backslashes % 2 == 1 || flags {
        return None;
    }
    Pattern::new(&format!("{head}(?P<content>)(?=.)")).ok()
}

fn strip_num_suffix(s: &str) -> &str {
    // `alt_user_1` → `user`; Python's `(.*?)(?:_\d+)?$`.
    if let Some(p) = s.rfind('_') {
        if p + 1 < s.len() && s[p + 1..].bytes().all(|c| c.is_ascii_digit()) {
            return &s[..p];
        }
    }
    s
}

#[cfg(test)]
mod tests;
