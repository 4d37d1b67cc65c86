//! The filter: lines in, failures out.
//!
//! [`Filter`] holds a jail's compiled prefregex, failregexes, ignoreregexes,
//! its date detector and the multi-line state (`maxlines` buffer, the
//! `mlfid` cache). [`Filter::process_line`] cuts the date out of a line,
//! runs the regexes over the buffer and returns the [`Failure`]s fail2ban
//! would report for it, with the failure id, time and all named groups.
//! (fail2ban: `server/filter.py`, `Filter.processLine` / `findFailure` /
//! `_mergeFailure`.)

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use self::candidates::FirstByte;
use self::failure::Step;
use crate::datedetector::DateDetector;
use crate::error::{Error, ErrorKind};
use crate::failregex::{
    tuple_lines_buf, tuple_text, GroupValue, Groups, Regex, RegexMatch, TupleLine, UseDns,
};
use crate::ipdns::IpAddr;
use crate::pattern::Captures;
use crate::strptime::{zone_offset, TimeContext};
use crate::text::Text;

mod candidates;
mod failure;
mod mlfid;
mod single;

/// A filter's settings as plain strings and flags, wherever they came from
/// (a filter file through ironban-config, `fail2ban-regex` arguments, the
/// server's `set` commands).
#[derive(Debug, Clone)]
pub struct FilterOptions {
    /// `prefregex`, tags unexpanded.
    pub prefregex: Option<String>,
    /// `failregex` lines, tags unexpanded.
    pub failregex: Vec<String>,
    /// `ignoreregex` lines.
    pub ignoreregex: Vec<String>,
    /// `maxlines` (≥ 1).
    pub maxlines: u32,
    /// `datepattern` (may hold several lines); `None` = default templates.
    pub datepattern: Option<String>,
    /// `usedns`.
    pub usedns: UseDns,
    /// `logtimezone`, e.g. `UTC+0200`.
    pub logtimezone: Option<String>,
    /// Keep the host text as written instead of resolving it (fail2ban-regex `--raw`).
    pub return_raw_host: bool,
    /// Try every failregex, not only up to the first match (fail2ban-regex).
    pub check_all_regex: bool,
    /// Drop pending multi-line failures (no id yet) from the result.
    pub ignore_pending: bool,
    /// A fixed "now" for year inference; `None` = the system clock.
    pub now: Option<f64>,
    /// Keep the prefregex groups of each line in [`LineInfo::pref_groups`]
    /// (fail2ban-regex `-v`).
    pub keep_pref_groups: bool,
    /// Where the options come from (e.g. the filter file), for messages.
    pub origin: Option<String>,
    /// Record the matched lines of each failure ([`FailData::matches`],
    /// [`Failure::matches`]). A caller that never reads them (fail2ban-regex
    /// without `--out`) turns this off to save copying every failing line;
    /// verdicts do not depend on it.
    pub keep_matches: bool,
}

impl Default for FilterOptions {
    fn default() -> FilterOptions {
        FilterOptions {
            prefregex: None,
            failregex: Vec::new(),
            ignoreregex: Vec::new(),
            maxlines: 1,
            datepattern: None,
            usedns: UseDns::Warn,
            logtimezone: None,
            return_raw_host: false,
            check_all_regex: false,
            ignore_pending: true,
            now: None,
            keep_pref_groups: false,
            origin: None,
            keep_matches: true,
        }
    }
}

/// What a failure carries besides its id and time (fail2ban's `fail` dict).
#[derive(Debug, Clone, Default)]
pub struct FailData {
    /// Every named group of prefregex and failregex (and merged mlfid data).
    pub groups: Groups,
    /// The matched lines (`matches`); `None` when the key is absent.
    pub matches: Option<Vec<TupleLine>>,
    nofail_matches: Option<Vec<TupleLine>>,
    /// All users seen for a multi-line failure id (`users`).
    pub users: Option<BTreeSet<Text>>,
    mlfpending: bool,
    /// The address when the failure id is an `<F-ID>` (`ip`).
    pub ip: Option<IpAddr>,
}

impl FailData {
    fn get(&self, k: &str) -> &GroupValue {
        self.groups.get(k).unwrap_or(&GroupValue::None)
    }

    fn truthy(&self, k: &str) -> bool {
        self.get(k).truthy()
    }

    fn text(&self, k: &str) -> Option<&str> {
        self.get(k).as_str()
    }

    fn pop_truthy(&mut self, k: &str) -> bool {
        self.groups.remove(k).is_some_and(|v| v.truthy())
    }

    /// Adds a user; the number of users seen (`None` = no `users` key).
    fn update_users(&mut self, user: Option<Text>) -> Option<usize> {
        if let Some(u) = user {
            self.users.get_or_insert_with(BTreeSet::new).insert(u);
        }
        self.users.as_ref().map(BTreeSet::len)
    }
}

/// One failure found in a line (fail2ban: the `[index, fid, date, fail]` list).
#[derive(Debug, Clone)]
pub struct Failure {
    /// Index of the failregex that matched.
    pub regex_index: usize,
    /// The failure id (address, or raw id); `None` while a multi-line
    /// failure waits for its id.
    pub id: Option<IpAddr>,
    /// The line's time (Unix seconds), if one was found.
    pub time: Option<f64>,
    /// Groups, matched lines and users; shared (copy-on-write) with the
    /// filter's `mlfid` cache and with the other failures of the same match.
    pub data: Arc<FailData>,
}

impl Failure {
    /// True when fail2ban would not count this as a failure (`nofail` set or no id yet).
    pub fn is_nofail(&self) -> bool {
        self.id.is_none() || self.data.truthy("nofail")
    }

    /// A named group's text (`user`, `ip4`, `fid`, custom `<F-…>` names).
    pub fn group(&self, name: &str) -> Option<&str> {
        self.data.text(name)
    }

    /// The matched lines, joined back with their dates.
    pub fn matches(&self) -> Vec<String> {
        self.data
            .matches
            .iter()
            .flatten()
            .map(crate::failregex::tuple_full)
            .collect()
    }
}

/// Per-line facts fail2ban-regex reports besides failures.
#[derive(Debug, Clone, Default)]
pub struct LineInfo {
    /// The prefregex matched.
    pub pref_matched: bool,
    /// Indexes of the ignoreregexes that matched.
    pub ignored_by: Vec<usize>,
    /// The prefregex groups (with `content`), when `keep_pref_groups` is set.
    pub pref_groups: Option<Groups>,
}

/// A compiled filter with its line state.
#[derive(Debug)]
pub struct Filter {
    opts: FilterOptions,
    pref: Option<Regex>,
    fail: Vec<Regex>,
    ignore: Vec<Regex>,
    caps_pref: Option<Captures>,
    caps_fail: Vec<Captures>,
    caps_ignore: Vec<Captures>,
    date_detector: Option<DateDetector>,
    line_buffer: Vec<TupleLine>,
    mlfid_cache: mlfid::MlfidCache,
    mlfid_order: VecDeque<Text>,
    last_date: Option<f64>,
    last_time_text: String,
    warnings: Vec<String>,
    info: LineInfo,
    /// Reused buffers of the single-line path: the line without its date,
    /// and the prefregex's `content`, each with the final `\n`.
    buf: String,
    content_buf: String,
    /// Index of the prefregex's `content` group.
    pref_content: Option<usize>,
    /// The failregexes that can match a one-line buffer, by its first
    /// byte (see [`FirstByte`]).
    fail_by_first: FirstByte,
}

const MLFID_CACHE_MAX: usize = 100;

impl Filter {
    /// Compiles a filter (fail2ban: `setMaxLines`, `prefRegex`, `addFailRegex`, …).
    ///
    /// # Errors
    /// The first regex or date pattern that does not compile, naming the
    /// option (and `origin` when set).
    pub fn new(opts: FilterOptions) -> Result<Filter, Error> {
        let origin = |what: &str| match &opts.origin {
            Some(o) => format!("{o}: {what}"),
            None => what.to_string(),
        };
        if opts.maxlines == 0 {
            return Err(Error::new(
                ErrorKind::Option("maxlines must be integer greater than zero".into()),
                "0",
            )
            .with_origin(origin("maxlines")));
        }
        let multiline = opts.maxlines > 1;
        let pref = match opts.prefregex.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => Some(
                Regex::new(p, false, opts.usedns)
                    .map_err(|e| e.with_origin(origin("prefregex")))?,
            ),
            None => None,
        };
        let mut warnings = Vec::new();
        let mut fail = Vec::new();
        for r in &opts.failregex {
            let re = Regex::new_fail(r, multiline, opts.usedns, pref.as_ref())
                .map_err(|e| e.with_origin(origin("failregex")))?;
            if re.deprecated_host() && warnings.is_empty() {
                warnings.push(format!(
                    "{}: failregex uses the fail2ban 0.8 group (?P<host>...); read as <HOST>. Use <HOST> instead",
                    opts.origin.as_deref().unwrap_or("filter")
                ));
            }
            fail.push(re);
        }
        let mut ignore = Vec::new();
        for r in &opts.ignoreregex {
            ignore.push(
                Regex::new(r, multiline, opts.usedns)
                    .map_err(|e| e.with_origin(origin("ignoreregex")))?,
            );
        }
        let mut date_detector = DateDetector::with_pattern(opts.datepattern.as_deref())
            .map_err(|e| e.with_origin(origin("datepattern")))?;
        if let Some(tz) = &opts.logtimezone {
            date_detector.default_tz = Some(zone_offset(tz).ok_or_else(|| {
                Error::new(
                    ErrorKind::Option(format!("Unknown or unsupported time zone: {tz:?}")),
                    tz,
                )
                .with_origin(origin("logtimezone"))
            })?);
        }
        let caps_pref = pref.as_ref().map(|p| p.pattern().new_captures());
        let pref_content = pref.as_ref().and_then(|p| p.group_index("content"));
        let caps_fail = fail.iter().map(|r| r.pattern().new_captures()).collect();
        let caps_ignore = ignore.iter().map(|r| r.pattern().new_captures()).collect();
        Ok(Filter {
            opts,
            pref,
            ignore,
            caps_pref,
            caps_fail,
            caps_ignore,
            date_detector: Some(date_detector),
            line_buffer: Vec::new(),
            mlfid_cache: mlfid::MlfidCache::default(),
            mlfid_order: VecDeque::new(),
            last_date: None,
            last_time_text: String::new(),
            warnings,
            info: LineInfo::default(),
            buf: String::new(),
            content_buf: String::new(),
            pref_content,
            fail_by_first: FirstByte::new(&fail),
            fail,
        })
    }

    /// The options the filter was built from.
    pub fn options(&self) -> &FilterOptions {
        &self.opts
    }

    /// Deprecation and DNS warnings so far (each once); drained by the caller.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// The compiled failregexes.
    pub fn failregexes(&self) -> &[Regex] {
        &self.fail
    }

    /// The compiled ignoreregexes.
    pub fn ignoreregexes(&self) -> &[Regex] {
        &self.ignore
    }

    /// The compiled prefregex.
    pub fn prefregex(&self) -> Option<&Regex> {
        self.pref.as_ref()
    }

    /// The date detector (its templates and hit counts).
    pub fn date_detector(&self) -> Option<&DateDetector> {
        self.date_detector.as_ref()
    }

    /// The multi-line buffer (lines not yet consumed by a match).
    pub fn line_buffer(&self) -> &[TupleLine] {
        &self.line_buffer
    }

    /// Regex searches PCRE2 gave up on so far (each treated as no match).
    pub fn match_errors(&self) -> u64 {
        let all = self.pref.iter().chain(&self.fail).chain(&self.ignore);
        all.map(Regex::match_errors).sum()
    }

    /// Facts about the last processed line.
    pub fn last_line_info(&self) -> &LineInfo {
        &self.info
    }

    /// The time context of one line: "now" is read once per line.
    fn ctx(&self) -> TimeContext {
        TimeContext {
            now: Some(self.opts.now.unwrap_or_else(crate::strptime::clock_now)),
            default_tz: None,
        }
    }

    /// Processes one raw line: finds its date, then its failures
    /// (fail2ban: `Filter.processLine`, with `checkFindTime` off).
    pub fn process_line(&mut self, line: &str) -> Vec<Failure> {
        let mut out = Vec::new();
        self.process_line_into(line, &mut out);
        out
    }

    /// [`Filter::process_line`] appending to `out`, so a caller reading
    /// many lines reuses one vector.
    pub fn process_line_into(&mut self, line: &str, out: &mut Vec<Failure>) {
        let mut date = None;
        // The line split around its date, as spans; strings are made once.
        let mut split: Option<(usize, usize)> = None;
        let mut use_last_time = false;
        let ctx = self.ctx();
        if let Some(dd) = self.date_detector.as_mut() {
            if let Some(m) = dd.match_time_at(line, ctx.now()) {
                let (s, e) = m.span;
                split = Some((s, e));
                if s < e {
                    date = dd.get_time(line, &m, &ctx);
                    if date.is_some() {
                        self.last_time_text.clear();
                        self.last_time_text.push_str(&line[s..e]);
                        self.last_date = date;
                    }
                } else if self.last_date.is_some_and(|d| d > ctx.now() - 60.0) {
                    use_last_time = true;
                    date = self.last_date;
                } else {
                    date = Some(ctx.now());
                }
            }
        }
        if date.is_none() && self.last_date.is_some_and(|d| d > ctx.now() - 60.0) {
            use_last_time = true;
            date = self.last_date;
        }
        if self.opts.maxlines == 1 {
            let split = if use_last_time { None } else { split };
            return self.find_failure_single(line, split, use_last_time, date, out);
        }
        let tuple: TupleLine = match split {
            _ if use_last_time => (String::new(), self.last_time_text.clone(), line.to_string()),
            Some((s, e)) => (
                line[..s].to_string(),
                line[s..e].to_string(),
                line[e..].to_string(),
            ),
            None => (String::new(), String::new(), line.to_string()),
        };
        out.extend(self.find_failure(tuple, date));
    }

    /// Processes a line whose date is already known (journal entries):
    /// `tuple` is `(prefix, date text, rest)`.
    pub fn process_tuple(&mut self, tuple: TupleLine, date: f64) -> Vec<Failure> {
        self.last_time_text = tuple.1.clone();
        self.last_date = Some(date);
        self.find_failure(tuple, Some(date))
    }

    /// Runs the ignoreregexes on `buf`; the index of the last one that
    /// matched (fail2ban: `_ignoreLine`).
    fn ignore_line(
        &mut self,
        buf: &str,
        fail_match: Option<&RegexMatch>,
        org: &[TupleLine],
    ) -> Option<usize> {
        let maxlines = self.opts.maxlines;
        let own;
        let buf = match fail_match {
            Some(m) if maxlines > 1 => {
                let lines: Vec<TupleLine> = m
                    .matched
                    .iter()
                    .filter_map(|&i| org.get(i).cloned())
                    .collect();
                own = tuple_lines_buf(&lines);
                own.as_str()
            }
            _ => buf,
        };
        let mut found = None;
        for i in 0..self.ignore.len() {
            if self.ignore[i].is_match_in(buf, buf.is_ascii(), &mut self.caps_ignore[i]) {
                found = Some(i);
                self.info.ignored_by.push(i);
                if !self.opts.check_all_regex || maxlines > 1 {
                    if let Some(m) = fail_match {
                        self.line_buffer = m
                            .unmatched
                            .iter()
                            .filter_map(|&i| org.get(i).cloned())
                            .collect();
                    }
                }
                if !self.opts.check_all_regex {
                    break;
                }
            }
        }
        found
    }

    /// fail2ban: `Filter.findFailure`.
    fn find_failure(&mut self, tuple: TupleLine, date: Option<f64>) -> Vec<Failure> {
        self.info = LineInfo::default();
        let mut out = Vec::new();
        let maxlines = self.opts.maxlines as usize;
        let defcidr_raw = self.opts.usedns == UseDns::Raw || self.opts.return_raw_host;
        if maxlines > 1 {
            self.line_buffer.push(tuple);
            let n = self.line_buffer.len();
            if n > maxlines {
                self.line_buffer.drain(..n - maxlines);
            }
        } else {
            self.line_buffer = vec![tuple];
        }
        // With one line the buffer is rebuilt for every line anyway, so
        // the original can be moved out instead of copied.
        let org: Vec<TupleLine> = if maxlines > 1 {
            self.line_buffer.clone()
        } else {
            std::mem::take(&mut self.line_buffer)
        };
        let mut buf = tuple_lines_buf(&org);
        let mut ascii = buf.is_ascii();
        let mut buf_ok = true;
        let nlines = org.len();

        if !self.ignore.is_empty() && self.ignore.len() + 2 < self.fail.len() {
            let b = std::mem::take(&mut buf);
            let hit = self.ignore_line(&b, None, &org).is_some();
            buf = b;
            if hit {
                return out;
            }
        }

        let mut pre_groups = Groups::new();
        if let Some(pref) = &self.pref {
            let caps = self.caps_pref.as_mut().expect("captures for prefregex");
            let Some(m) = pref.search_in(&buf, ascii, nlines, caps) else {
                return out;
            };
            self.info.pref_matched = true;
            pre_groups = m.groups;
            if self.opts.keep_pref_groups {
                self.info.pref_groups = Some(pre_groups.clone());
            }
            if let Some(GroupValue::Str(content)) = pre_groups.remove("content") {
                if !content.is_empty() {
                    self.line_buffer = vec![(String::new(), String::new(), content.to_string())];
                    buf_ok = false;
                }
            }
        }

        for idx in 0..self.fail.len() {
            if !buf_ok {
                // With maxlines 1 the buffer was moved into `org`; an empty
                // one here means it is unchanged.
                buf = if maxlines == 1 && self.line_buffer.is_empty() {
                    tuple_lines_buf(&org)
                } else {
                    tuple_lines_buf(&self.line_buffer)
                };
                ascii = buf.is_ascii();
                buf_ok = true;
            }
            // Python passes the original buffer as `orgLines`: matched and
            // unmatched lines are taken from it even after a content swap.
            let Some(m) =
                self.fail[idx].search_in(&buf, ascii, org.len(), &mut self.caps_fail[idx])
            else {
                continue;
            };
            let searched = &org;
            let matched_lines: Vec<TupleLine> = m
                .matched
                .iter()
                .filter_map(|&i| searched.get(i).cloned())
                .collect();
            if !self.ignore.is_empty() && self.ignore_line(&buf, Some(&m), searched).is_some() {
                buf_ok = false;
                if !self.opts.check_all_regex {
                    break;
                }
                continue;
            }
            if !self.opts.check_all_regex || maxlines > 1 {
                self.line_buffer = m
                    .unmatched
                    .iter()
                    .filter_map(|&i| searched.get(i).cloned())
                    .collect();
                buf_ok = false;
            }
            match self.report_match(
                idx,
                m.groups,
                &pre_groups,
                matched_lines,
                date,
                defcidr_raw,
                &mut out,
            ) {
                Step::Stop => return out,
                Step::Skip => continue,
                Step::Next => {}
            }
            if !self.opts.check_all_regex {
                break;
            }
        }
        out
    }
}

/// The text the regexes see for a line (without its date).
pub fn line_without_date(t: &TupleLine) -> String {
    tuple_text(t)
}

// A jail's filter moves into its own task.
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<Filter>();
};
