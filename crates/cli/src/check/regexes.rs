//! The jail's filter as the server would build it from the stream: every
//! regex compiled on its own (so all bad ones are reported, where the
//! server stops at the first), Python constructs PCRE2 would read
//! differently surfaced from ironban-filter's translate step, then the
//! filter run over the end of each log file.

use std::path::Path;

use ironban_config::include::ConfigParser;
use ironban_config::reader::jailreader::JailReader;
use ironban_config::{Pos, Value};
use ironban_filter::datedetector::DateDetector;
use ironban_filter::failregex::Regex;
use ironban_filter::{ErrorKind, Filter, FilterOptions, UseDns};

use super::lint::{line_of, locate, Settings};
use super::logscan;
use super::problem::{Findings, JailSummary, Kind, Problem};

fn strs(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::List(l)) => l
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(Value::Str(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Where `opt` of the jail's filter comes from: the jail when it sets it,
/// else the filter file.
fn origin(jail: &JailReader, cp: &ConfigParser, sec: &str, opt: &str) -> Option<Pos> {
    if cp.sections.get(sec).is_some_and(|s| s.contains_key(opt)) {
        return locate(cp, sec, opt);
    }
    let f = jail.filter.as_ref()?;
    locate(&f.def.cp, "Definition", opt).or_else(|| locate(cp, sec, opt))
}

/// The filter options the stream sets for the jail.
fn options_from_stream(stream: &[Vec<Value>]) -> FilterOptions {
    let mut o = FilterOptions {
        return_raw_host: true,
        ..FilterOptions::default()
    };
    for c in stream {
        let what = c.get(2).and_then(Value::as_str).unwrap_or("");
        let one = || c.get(3).and_then(Value::as_str).map(str::to_string);
        match what {
            "prefregex" => o.prefregex = one().filter(|s| !s.is_empty()),
            "addfailregex" => o.failregex.extend(strs(c.get(3))),
            "addignoreregex" => o.ignoreregex.extend(strs(c.get(3))),
            "datepattern" => o.datepattern = one().filter(|s| !s.is_empty()),
            "logtimezone" => o.logtimezone = one().filter(|s| !s.is_empty()),
            "usedns" => {
                if let Some(u) = one().and_then(|s| UseDns::parse(&s).ok()) {
                    o.usedns = u;
                }
            }
            "maxlines" => {
                o.maxlines = match c.get(3) {
                    Some(Value::Int(i)) => u32::try_from(*i).unwrap_or(0),
                    Some(v) => v.to_string().trim().parse().unwrap_or(0),
                    None => 1,
                }
            }
            _ => {}
        }
    }
    o
}

/// A regex error in the user's terms: the regex as written (not the
/// tag-expanded text the filter crate compiled).
fn regex_problem(e: &ironban_filter::Error, opt: &str, raw: &str) -> Problem {
    let msg = match &e.kind {
        ErrorKind::Translate { construct, .. } => format!(
            "{opt} {raw:?}: Python and PCRE2 would read {construct} differently, so ironban refuses the regex"
        ),
        ErrorKind::Compile(m) => format!("{opt} {raw:?} does not compile: {m}"),
        ErrorKind::NoFailureId => format!(
            "{opt} {raw:?} has no <HOST> (nor another failure-id group: <ADDR>, <F-ID>, <F-MLFID>), so it cannot ban anything"
        ),
        _ => format!("{opt}: {e}"),
    };
    Problem::error(Kind::Regex, msg).option(opt)
}

pub fn check(
    stream: &[Vec<Value>],
    jail: &JailReader,
    cp: &ConfigParser,
    sec: &str,
    settings: &Settings,
    summary: &mut JailSummary,
    f: &mut Findings,
) {
    let opts = options_from_stream(stream);
    let mut bad = false;
    let mut report_at = |p: Problem, opt: &str, raw: Option<&str>| {
        let at = origin(jail, cp, sec, opt);
        let at = match raw {
            Some(r) => line_of(at, |body| body.trim() == r.trim()),
            None => at,
        };
        f.problems.push(p.at(at).jail(sec));
    };
    if let Some(u) = stream
        .iter()
        .find(|c| c.get(2).and_then(Value::as_str) == Some("usedns"))
        .and_then(|c| c.get(3).and_then(Value::as_str))
    {
        if let Err(e) = UseDns::parse(u) {
            report_at(
                Problem::error(Kind::BadValue, format!("usedns: {e}")).option("usedns"),
                "usedns",
                None,
            );
            bad = true;
        }
    }
    if opts.maxlines == 0 {
        report_at(
            Problem::error(
                Kind::BadValue,
                "maxlines must be an integer greater than zero",
            )
            .option("maxlines"),
            "maxlines",
            None,
        );
        bad = true;
    }
    let multiline = opts.maxlines > 1;
    let pref = match &opts.prefregex {
        Some(p) => match Regex::new(p, false, opts.usedns) {
            Ok(r) => Some(r),
            Err(e) => {
                report_at(regex_problem(&e, "prefregex", p), "prefregex", Some(p));
                bad = true;
                None
            }
        },
        None => None,
    };
    for r in &opts.failregex {
        let compiled = Regex::new_fail(r, multiline, opts.usedns, pref.as_ref());
        if compiled.as_ref().is_ok_and(Regex::deprecated_host) {
            report_at(
                Problem::warning(
                    Kind::Regex,
                    format!("failregex {r:?} uses fail2ban 0.8's (?P<host>...) group: read as <HOST> (fail2ban 1.x refuses it); write <HOST> instead"),
                )
                .option("failregex"),
                "failregex",
                Some(r),
            );
        }
        if let Err(e) = compiled {
            // Without a compiled prefregex the id check is meaningless.
            if opts.prefregex.is_some() && pref.is_none() && e.kind == ErrorKind::NoFailureId {
                continue;
            }
            report_at(regex_problem(&e, "failregex", r), "failregex", Some(r));
            bad = true;
        }
    }
    for r in &opts.ignoreregex {
        if let Err(e) = Regex::new(r, multiline, opts.usedns) {
            report_at(regex_problem(&e, "ignoreregex", r), "ignoreregex", Some(r));
            bad = true;
        }
    }
    if let Err(e) = DateDetector::with_pattern(opts.datepattern.as_deref()) {
        report_at(
            Problem::error(Kind::Regex, format!("datepattern: {e}")).option("datepattern"),
            "datepattern",
            None,
        );
        bad = true;
    }
    if let Some(tz) = &opts.logtimezone {
        if ironban_filter::strptime::zone_offset(tz).is_none() {
            report_at(
                Problem::error(Kind::BadValue, format!("logtimezone: unknown or unsupported time zone {tz:?} (use UTC, UTC+0200, GMT-0100, Z)"))
                    .option("logtimezone"),
                "logtimezone",
                None,
            );
            bad = true;
        }
    }
    if bad || settings.scan_bytes == 0 || opts.failregex.is_empty() {
        return;
    }
    let mut filter = match Filter::new(opts) {
        Ok(f) => f,
        Err(e) => {
            report_at(
                Problem::error(Kind::Regex, e.to_string()),
                "failregex",
                None,
            );
            return;
        }
    };
    let paths: Vec<String> = stream
        .iter()
        .filter(|c| c.get(2).and_then(Value::as_str) == Some("addlogpath"))
        .filter_map(|c| c.get(3).and_then(Value::as_str).map(str::to_string))
        .collect();
    for p in paths {
        match logscan::scan(&mut filter, Path::new(&p), settings.scan_bytes) {
            Ok(st) => {
                if st.lines > 0 && st.dated == 0 {
                    report_at(
                        Problem::warning(
                            Kind::NoDate,
                            format!(
                                "none of the {} line(s) read from {p} has a date the filter recognises (datepattern {}); fail2ban would not count their failures in time",
                                st.lines,
                                filter.options().datepattern.as_deref().unwrap_or("default")
                            ),
                        )
                        .option("datepattern"),
                        "datepattern",
                        None,
                    );
                } else if st.lines > 0 && st.failures == 0 {
                    report_at(
                        Problem::warning(
                            Kind::NoMatch,
                            format!(
                                "the filter matches none of the {} line(s) read from the end of {p}: is it the right log for this filter?",
                                st.lines
                            ),
                        )
                        .option("failregex"),
                        "failregex",
                        None,
                    );
                }
                summary.scans.push(st);
            }
            Err(e) => report_at(
                Problem::warning(Kind::MissingLogpath, format!("cannot read {p}: {e}"))
                    .option("logpath"),
                "logpath",
                None,
            ),
        }
    }
}
