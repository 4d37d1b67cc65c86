//! fail2ban-regex's summary (`printStats`, `printLines`), its `--out`
//! formats, and ironban's `--json`.

use std::io::Write;

use ironban_filter::{Failure, Filter};
use serde_json::{json, Value};

use super::opts::Opts;

/// Hits of one failregex or ignoreregex (fail2ban-regex: `RegexStat`).
#[derive(Debug, Clone)]
pub struct Stat {
    pub regex: String,
    pub hits: u64,
    /// (failure id, time, matched with other regexes) for `-v`.
    pub ips: Vec<(String, Option<f64>, bool)>,
}

impl Stat {
    pub fn new(r: &str) -> Stat {
        Stat {
            regex: r.to_string(),
            hits: 0,
            ips: Vec::new(),
        }
    }
}

/// Line counters and the lines kept for printing (fail2ban-regex: `LineStats`).
#[derive(Debug, Default)]
pub struct LineStats {
    pub tested: i64,
    pub matched: i64,
    pub missed: i64,
    pub ignored: i64,
    pub matched_lines: Vec<String>,
    pub missed_lines: Vec<String>,
    pub ignored_lines: Vec<String>,
}

/// Everything the summary prints.
#[derive(Debug)]
pub struct Report {
    pub failregex: Vec<Stat>,
    pub ignoreregex: Vec<Stat>,
    pub pref_matched: u64,
    /// Prefregex groups per line for `-v` (Python dict reprs).
    pub pref_groups: Vec<String>,
    pub lines: LineStats,
    pub elapsed: f64,
    /// `-L` or 20: lists longer than this are not printed.
    pub print_max: usize,
    /// Lines came from the journal with their own times: no date
    /// detector ran (fail2ban sets none), so no date statistics.
    pub journal: bool,
}

fn pprint_list(out: &mut impl Write, l: &[String], header: Option<&str>) {
    if l.is_empty() {
        return;
    }
    let mut s = String::new();
    if let Some(h) = header {
        s.push_str(&format!("|- {h}\n"));
    }
    s.push_str("|  ");
    s.push_str(&l.join("\n|  "));
    s.push_str("\n`-");
    let _ = writeln!(out, "{s}");
}

/// `time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(t))`.
fn ctime(t: Option<f64>) -> String {
    use chrono::TimeZone;
    match t.and_then(|t| chrono::Local.timestamp_opt(t as i64, 0).single()) {
        Some(d) => d.format("%a %b %d %H:%M:%S %Y").to_string(),
        None => "None".to_string(),
    }
}

impl Report {
    pub fn new(print_max: usize) -> Report {
        Report {
            failregex: Vec::new(),
            ignoreregex: Vec::new(),
            pref_matched: 0,
            pref_groups: Vec::new(),
            lines: LineStats::default(),
            elapsed: 0.0,
            print_max,
            journal: false,
        }
    }

    fn print_regexes(&self, out: &mut impl Write, title: &str, list: &[Stat], verbose: u32) {
        let mut total = 0;
        let mut rows = Vec::new();
        for (i, s) in list.iter().enumerate() {
            total += s.hits;
            if s.hits > 0 || verbose > 0 {
                rows.push(format!("{:2}) [{}] {}", i + 1, s.hits, s.regex));
            }
            if verbose > 0 {
                for (id, t, multi) in &s.ips {
                    rows.push(format!(
                        "    {id}  {}{}",
                        ctime(*t),
                        if *multi {
                            " (multiple regex matched)"
                        } else {
                            ""
                        }
                    ));
                }
            }
        }
        let _ = writeln!(out, "\n{title}: {total} total");
        pprint_list(out, &rows, Some(" #) [# of hits] regular expression"));
    }

    fn print_lines(&self, out: &mut impl Write, kind: &str, print_all: bool) {
        let (count, lines) = match kind {
            "matched" => (self.lines.matched, &self.lines.matched_lines),
            "missed" => (self.lines.missed, &self.lines.missed_lines),
            _ => (self.lines.ignored, &self.lines.ignored_lines),
        };
        if count == 0 {
            return;
        }
        let mut cap = kind.to_string();
        cap[..1].make_ascii_uppercase();
        let header = format!("{cap} line(s):");
        if (count as usize) < self.print_max || print_all {
            let l: Vec<String> = lines.iter().map(|x| x.trim_end().to_string()).collect();
            pprint_list(out, &l, Some(&header));
        } else {
            let _ = writeln!(
                out,
                "{header} too many to print.  Use --print-all-{kind} to print all {count} lines"
            );
        }
    }

    /// The text summary (fail2ban-regex: `printStats`).
    pub fn print(&self, filter: &Filter, opts: &Opts, out: &mut impl Write) {
        let _ = write!(out, "\nResults\n=======\n");
        if let Some(pre) = filter.prefregex() {
            let _ = writeln!(out, "\nPrefregex: {} total", self.pref_matched);
            let mut rows = vec![pre.expanded().to_string()];
            if opts.verbose > 0 {
                rows.extend(self.pref_groups.iter().map(|g| format!("    {g}")));
            }
            pprint_list(out, &rows, None);
        }
        self.print_regexes(out, "Failregex", &self.failregex, opts.verbose);
        self.print_regexes(out, "Ignoreregex", &self.ignoreregex, opts.verbose);
        if let Some(dd) = filter.date_detector().filter(|_| !self.journal) {
            let _ = writeln!(out, "\nDate template hits:");
            let mut rows = Vec::new();
            for t in dd.templates() {
                if opts.verbose > 0 || t.hits > 0 {
                    rows.push(format!("[{}] {}", t.hits, t.template.name));
                    if opts.verbose_date {
                        rows.push(format!(
                            "    # weight: {:.3} ({:.3}), pattern: {}",
                            t.hits as f64 * t.template.weight,
                            t.template.weight,
                            t.template.source_pattern().unwrap_or("")
                        ));
                        rows.push(format!("    # regex:   {}", t.template.regex));
                    }
                }
            }
            pprint_list(out, &rows, Some("[# of hits] date format"));
        }
        let l = &self.lines;
        let _ = writeln!(
            out,
            "\nLines: {} lines, {} ignored, {} matched, {} missed",
            l.tested, l.ignored, l.matched, l.missed
        );
        let _ = writeln!(out, "[processed in {:.2} sec]", self.elapsed);
        let _ = writeln!(out);
        if opts.print_all_matched {
            self.print_lines(out, "matched", true);
        }
        if !opts.print_no_ignored {
            self.print_lines(out, "ignored", opts.print_all_ignored);
        }
        if !opts.print_no_missed {
            self.print_lines(out, "missed", opts.print_all_missed);
        }
    }

    /// `--json`: the same facts as the summary.
    pub fn json(&self, filter: &Filter, opts: &Opts, header: &[String]) -> Value {
        let regexes = |l: &[Stat]| -> Value {
            Value::Array(
                l.iter()
                    .map(|s| json!({"regex": s.regex, "hits": s.hits}))
                    .collect(),
            )
        };
        let dates: Vec<Value> = filter
            .date_detector()
            .map(|dd| {
                dd.templates()
                    .iter()
                    .filter(|t| t.hits > 0 || opts.verbose > 0)
                    .map(|t| json!({"template": t.template.name, "hits": t.hits}))
                    .collect()
            })
            .unwrap_or_default();
        let l = &self.lines;
        json!({
            "use": header,
            "prefregex": filter.prefregex().map(|p| json!({"regex": p.expanded(), "hits": self.pref_matched})),
            "failregex": regexes(&self.failregex),
            "ignoreregex": regexes(&self.ignoreregex),
            "date_templates": dates,
            "lines": {"tested": l.tested, "ignored": l.ignored, "matched": l.matched, "missed": l.missed},
            "matched_lines": if opts.print_all_matched { json!(l.matched_lines) } else { Value::Null },
            "missed_lines": if opts.print_no_missed { Value::Null } else { json!(l.missed_lines) },
            "ignored_lines": if opts.print_no_ignored { Value::Null } else { json!(l.ignored_lines) },
            "elapsed": self.elapsed,
        })
    }
}

/// Python `repr()` of a str.
pub fn py_repr(s: &str) -> String {
    ironban_config::stream::str_repr(s)
}

/// Python `repr()` of a groups dict.
pub fn py_dict(g: &ironban_filter::Groups) -> String {
    let parts: Vec<String> = g
        .iter()
        .map(|(k, v)| {
            let v = match v {
                ironban_filter::GroupValue::None => "None".to_string(),
                ironban_filter::GroupValue::Str(s) => py_repr(s),
                ironban_filter::GroupValue::Tuple(t) => {
                    let items: Vec<String> = t
                        .iter()
                        .map(|x| x.as_deref().map_or("None".into(), py_repr))
                        .collect();
                    format!("({})", items.join(", "))
                }
            };
            format!("{}: {v}", py_repr(k))
        })
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// `-o/--out`: one row per failure (fail2ban-regex: `_prepaireOutput`).
pub fn print_out(fmt: &str, ret: &[&Failure], out: &mut impl Write) {
    for r in ret {
        let id =
            r.id.as_ref()
                .map(|i| i.to_string())
                .unwrap_or_else(|| "None".into());
        match fmt {
            "id" | "fid" => {
                let _ = writeln!(out, "{id}");
            }
            "ip" => {
                let ip = r.data.ip.as_ref().map(|i| i.to_string()).unwrap_or(id);
                let _ = writeln!(out, "{ip}");
            }
            "msg" => {
                for m in r.matches() {
                    let _ = writeln!(out, "{m}");
                }
            }
            "row" => {
                // Python: '[%r,\t%r,\t%r],' of (fid, time, fail dict without matches).
                let mut d = py_dict(&r.data.groups);
                let mut extra = Vec::new();
                if let Some(u) = &r.data.users {
                    let items: Vec<String> = u.iter().map(|x| py_repr(x)).collect();
                    extra.push(format!("'users': {{{}}}", items.join(", ")));
                }
                if let Some(ip) = &r.data.ip {
                    extra.push(format!("'ip': {}", py_repr(&ip.to_string())));
                }
                if !extra.is_empty() {
                    d.pop();
                    if d.len() > 1 {
                        d.push_str(", ");
                    }
                    d.push_str(&extra.join(", "));
                    d.push('}');
                }
                let id =
                    r.id.as_ref()
                        .map_or("None".to_string(), |i| py_repr(&i.to_string()));
                let t = r.time.map_or("None".to_string(), |t| format!("{t:?}"));
                let _ = writeln!(out, "[{id},\t{t},\t{d}],");
            }
            f if !f.contains('<') => {
                let v = match f {
                    "matches" => r.matches().join("\n"),
                    "users" => r
                        .data
                        .users
                        .as_ref()
                        .map(|u| format!("{u:?}"))
                        .unwrap_or("None".into()),
                    _ => r
                        .group(f)
                        .map(str::to_string)
                        .unwrap_or_else(|| "None".into()),
                };
                let _ = writeln!(out, "{v}");
            }
            template => {
                // Tags as in actions: <ip>, <fid>, <F-NAME>, <matches>, <msg>, <time>.
                let mut s = template.to_string();
                let ip = r
                    .data
                    .ip
                    .as_ref()
                    .map(|i| i.to_string())
                    .unwrap_or(id.clone());
                s = s.replace("<ip>", &ip).replace("<fid>", &id);
                s = s.replace(
                    "<time>",
                    &r.time.map(|t| format!("{t}")).unwrap_or_default(),
                );
                for (k, v) in r.data.groups.iter() {
                    if let Some(v) = v.as_str() {
                        s = s.replace(&format!("<F-{}>", k.to_uppercase()), v);
                    }
                }
                // Failure tags without a value render empty, as in actions.
                s = strip_unset_ftags(&s);
                let matches = r.matches();
                if s.contains("<msg>") && matches.len() > 1 {
                    for m in &matches {
                        let _ = writeln!(out, "{}", s.replace("<msg>", m));
                    }
                    continue;
                }
                s = s
                    .replace("<msg>", &matches.join("\n"))
                    .replace("<matches>", &matches.join("\n"));
                let _ = writeln!(out, "{s}");
            }
        }
    }
}

/// Removes `<F-NAME>` tags left after substitution.
fn strip_unset_ftags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find("<F-") {
        out.push_str(&rest[..p]);
        let after = &rest[p + 3..];
        let n = after
            .bytes()
            .take_while(|c| {
                c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-'
            })
            .count();
        if n > 0 && after.as_bytes().get(n) == Some(&b'>') {
            rest = &after[n + 1..];
        } else {
            out.push_str("<F-");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}
