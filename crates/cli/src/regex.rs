//! `ironban regex` / `fail2ban-regex`: test a filter against a log.
//!
//! Same interface, options, summary text and exit codes as fail2ban's
//! `fail2ban-regex` (fail2ban: `client/fail2banregex.py`): LOG is a file or a
//! single line, REGEX a jail of the config dir (as fail2ban-regex 1.1), a
//! filter name (`sshd[mode=aggressive]`), a filter file or a raw failregex,
//! IGNOREREGEX an optional raw ignoreregex. The log is
//! streamed line by line, so memory stays flat however large the log is;
//! lines are kept only as far as they will be printed. `--json` prints the
//! same facts as one JSON object.

mod input;
mod jail;
mod journal;
mod opts;
mod report;
mod source;

use std::ffi::OsString;
use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use ironban_filter::failregex::TupleLine;
use ironban_filter::{Failure, Filter, FilterOptions, UseDns};

use self::input::{looks_like_path, Decoder, LineReader, Progress};
use self::opts::{Opts, Parsed};
use self::report::{LineStats, Report};

/// The fail2ban version ironban follows.
pub const VERSION: &str = "1.1.2.dev1";

/// fail2ban-regex's exit code on any error.
const EXIT_ERROR: i32 = 255;

pub fn main(args: Vec<OsString>) -> i32 {
    let opts = match opts::parse(args.get(1..).unwrap_or(&[])) {
        Ok(Parsed::Run(o)) => *o,
        Ok(Parsed::Exit(text)) => {
            print!("{text}");
            if !text.ends_with('\n') {
                println!();
            }
            return 0;
        }
        Err(e) => {
            eprintln!("{}\n\nfail2ban-regex: error: {e}", opts::USAGE);
            return 2;
        }
    };
    let mut errors = Vec::new();
    if opts.print_no_missed && opts.print_all_missed {
        errors.push("ERROR: --print-no-missed and --print-all-missed are mutually exclusive.");
    }
    if opts.print_no_ignored && opts.print_all_ignored {
        errors.push("ERROR: --print-no-ignored and --print-all-ignored are mutually exclusive.");
    }
    if !(2..=3).contains(&opts.args.len()) {
        errors.push("ERROR: provide both <LOG> and <REGEX>.");
    }
    if !errors.is_empty() {
        print!("{}", opts::HELP);
        eprintln!("\n{}", errors.join("\n"));
        return EXIT_ERROR;
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let code = match Run::new(opts, &mut out) {
        Ok(mut run) => run.start(&mut out),
        Err(e) => {
            let _ = writeln!(out, "ERROR: {e}");
            EXIT_ERROR
        }
    };
    let _ = out.flush();
    code
}

/// One run: options, what was printed in the header, and the statistics.
struct Run {
    opts: Opts,
    /// Whether the summary text is printed (not with `--out` or `--json`).
    text: bool,
    fo: FilterOptions,
    maxlines_set: bool,
    datepattern_set: bool,
    /// `-m` (shell-split), else the filter's `journalmatch`.
    journalmatch: Vec<String>,
    header: Vec<String>,
    report: Report,
    /// The current line's failures (reused from line to line).
    found: Vec<Failure>,
}

impl Run {
    fn new(opts: Opts, out: &mut impl Write) -> Result<Run, String> {
        let text = opts.out.is_none() && !opts.json;
        if text {
            let _ = write!(out, "\nRunning tests\n=============\n\n");
        }
        let mut fo = FilterOptions {
            return_raw_host: opts.raw,
            check_all_regex: opts.check_all_regex && opts.out.is_none(),
            ignore_pending: opts.out.is_some(),
            keep_pref_groups: opts.verbose > 0,
            logtimezone: opts.timezone.clone(),
            // Only `--out` prints a failure's matched lines.
            keep_matches: opts.out.is_some(),
            ..FilterOptions::default()
        };
        if let Some(u) = &opts.usedns {
            fo.usedns = UseDns::parse(u).map_err(|e| e.to_string())?;
        }
        let print_max = if opts.maxlines > 0 {
            opts.maxlines as usize
        } else {
            20
        };
        let mut run = Run {
            text,
            fo,
            maxlines_set: false,
            datepattern_set: false,
            journalmatch: opts
                .journalmatch
                .as_deref()
                .map(|m| ironban_config::options::shlex_split(m).unwrap_or_default())
                .unwrap_or_default(),
            header: Vec::new(),
            report: Report::new(print_max),
            found: Vec::new(),
            opts,
        };
        if run.opts.maxlines > 0 {
            let m = run.opts.maxlines;
            run.set_maxlines(m, out);
        }
        if let Some(d) = run.opts.datepattern.clone() {
            run.set_datepattern(&d, out)?;
        }
        Ok(run)
    }

    fn say(&mut self, out: &mut impl Write, line: String) {
        if self.text {
            let _ = writeln!(out, "{line}");
        }
        self.header.push(line);
    }

    fn set_maxlines(&mut self, v: u32, out: &mut impl Write) {
        if !self.maxlines_set {
            self.fo.maxlines = v;
            self.maxlines_set = true;
            self.say(out, format!("Use         maxlines : {v}"));
        }
    }

    fn set_datepattern(&mut self, p: &str, out: &mut impl Write) -> Result<(), String> {
        if !self.datepattern_set {
            let dd = ironban_filter::datedetector::DateDetector::with_pattern(Some(p))
                .map_err(|e| e.to_string())?;
            let name = match dd.templates() {
                t if t.is_empty() || t.len() > 2 => "Default Detectors".to_string(),
                t => t[0].template.name.clone(),
            };
            self.fo.datepattern = Some(p.to_string());
            self.datepattern_set = true;
            self.say(out, format!("Use      datepattern : {p} : {name}"));
        }
        Ok(())
    }

    fn start(&mut self, out: &mut impl Write) -> i32 {
        let args = self.opts.args.clone();
        let (log, regex) = (&args[0], &args[1]);
        if let Err(e) = self.read_regex(regex, true, out) {
            let _ = writeln!(out, "ERROR: {e}");
            return EXIT_ERROR;
        }
        if let Some(ign) = args.get(2) {
            if let Err(e) = self.read_regex(ign, false, out) {
                let _ = writeln!(out, "ERROR: {e}");
                return EXIT_ERROR;
            }
        }
        let mut filter = match Filter::new(self.fo.clone()) {
            Ok(f) => f,
            Err(mut e) => {
                // A regex given on the command line has no file to name: say
                // it as fail2ban-regex does, without the option's name.
                if self.fo.origin.is_none() {
                    e.origin = None;
                }
                let _ = writeln!(out, "ERROR: {e}");
                return EXIT_ERROR;
            }
        };
        for w in filter.take_warnings() {
            eprintln!("WARNING: {w}");
        }
        let encoding = self
            .opts
            .encoding
            .clone()
            .unwrap_or_else(|| "UTF-8".to_string());
        let decoder = match Decoder::new(&encoding) {
            Some(d) => d,
            None => {
                let _ = writeln!(out, "ERROR: unknown encoding: {encoding}");
                return EXIT_ERROR;
            }
        };
        let path = Path::new(log);
        let t0 = Instant::now();
        if !path.is_file() && log.starts_with("systemd-journal") {
            let m = self.journalmatch.clone();
            let entries = match journal::entries(log, &m) {
                Ok(e) => e,
                Err(e) => {
                    let _ = writeln!(out, "ERROR: {e}");
                    return EXIT_ERROR;
                }
            };
            self.say(out, "Use         systemd journal".to_string());
            self.say(out, format!("Use         encoding : {encoding}"));
            if !m.is_empty() {
                self.say(out, format!("Use    journal match : {}", m.join(" ")));
            }
            if self.text {
                let _ = writeln!(out);
            }
            self.report.journal = true;
            for (line, t) in entries {
                self.process_line_at(&mut filter, &line, Some(t), out);
            }
        } else if path.is_file() {
            let file = match File::open(path) {
                Ok(f) => f,
                Err(e) => {
                    let _ = writeln!(
                        out,
                        "[Errno {}] {e}: '{log}'",
                        e.raw_os_error().unwrap_or(0)
                    );
                    return EXIT_ERROR;
                }
            };
            self.say(out, format!("Use         log file : {log}"));
            self.say(out, format!("Use         encoding : {encoding}"));
            if self.text {
                let _ = writeln!(out);
            }
            let size = file.metadata().map(|m| m.len()).unwrap_or(0);
            // The report is printed at the end; with `--out` to a terminal,
            // matches would interleave with the bar.
            let _ = out.flush();
            let quiet_stdout = self.opts.out.is_none() || !std::io::stdout().is_terminal();
            let mut progress = Progress::new(size, quiet_stdout);
            let mut reader = LineReader::new(file);
            let mut done: u64 = 0;
            let mut bad_utf8_warned = false;
            loop {
                let buf = match reader.next_line() {
                    Ok(None) => break,
                    Ok(Some(b)) => {
                        done += b.len() as u64;
                        b
                    }
                    Err(e) => {
                        progress.finish();
                        eprintln!("ERROR: reading {log}: {e}");
                        break;
                    }
                };
                if buf.last() != Some(&b'\n') {
                    // fail2ban reads a log line only once it is complete.
                    progress.finish();
                    eprintln!(
                        "NOTE: the last line of '{log}' has no newline; skipped, as fail2ban does"
                    );
                    break;
                }
                let (line, lossy) = decoder.decode(buf);
                if lossy && !bad_utf8_warned {
                    bad_utf8_warned = true;
                    progress.finish();
                    eprintln!(
                        "WARNING: Error decoding line from '{log}' with '{encoding}'; invalid bytes are replaced (consider setting logencoding)"
                    );
                }
                self.process_line(&mut filter, &line, out);
                progress.tick(done);
            }
            progress.finish();
        } else {
            if looks_like_path(log) {
                eprintln!("WARNING: log file '{log}' not found; testing the argument as a log line, as fail2ban-regex does");
            }
            if self.fo.maxlines <= 1 && !log.contains('\n') {
                self.say(
                    out,
                    format!(
                        "Use      single line : {}",
                        shortstr(&log.replace('\n', "\\n"))
                    ),
                );
            } else {
                let lines: Vec<&str> = log.split('\n').collect();
                self.say(
                    out,
                    format!("Use      multi line : {} line(s)", lines.len()),
                );
                for (i, l) in lines.iter().enumerate() {
                    if i >= 5 {
                        self.say(out, "| ...".to_string());
                        break;
                    }
                    let n = format!("{}", i + 1);
                    self.say(out, format!("| {:>2.2}: {}", n, shortstr(l)));
                }
                self.say(out, "`-".to_string());
            }
            if self.text {
                let _ = writeln!(out);
            }
            let lines: Vec<String> = if self.fo.maxlines <= 1 && !log.contains('\n') {
                vec![log.clone()]
            } else {
                log.split('\n').map(str::to_string).collect()
            };
            for l in lines {
                self.process_line(&mut filter, &l, out);
            }
        }
        self.report.elapsed = t0.elapsed().as_secs_f64();
        for w in filter.take_warnings() {
            eprintln!("WARNING: {w}");
        }
        if filter.match_errors() > 0 {
            eprintln!(
                "WARNING: {} regex searches exceeded PCRE2's limits and counted as no match",
                filter.match_errors()
            );
        }
        if self.opts.out.is_some() {
            return 0;
        }
        if self.opts.json {
            let _ = writeln!(
                out,
                "{}",
                self.report.json(&filter, &self.opts, &self.header)
            );
        } else {
            self.report.print(&filter, &self.opts, out);
        }
        0
    }

    /// One log line (fail2ban-regex: `process` + `testRegex`).
    fn process_line(&mut self, filter: &mut Filter, line: &str, out: &mut impl Write) {
        self.process_line_at(filter, line, None, out)
    }

    /// A line, with its time when the source knows it (journal entries).
    fn process_line_at(
        &mut self,
        filter: &mut Filter,
        line: &str,
        date: Option<f64>,
        out: &mut impl Write,
    ) {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.starts_with('#') || line.is_empty() {
            return;
        }
        let maxlines = filter.options().maxlines as usize;
        let org: Vec<TupleLine> = if maxlines > 1 {
            filter.line_buffer().to_vec()
        } else {
            Vec::new()
        };
        let full = org.len() >= maxlines;
        // One vector for every line's failures.
        let mut found = std::mem::take(&mut self.found);
        found.clear();
        match date {
            Some(d) => found
                .extend(filter.process_tuple((String::new(), String::new(), line.to_string()), d)),
            None => filter.process_line_into(line, &mut found),
        }
        self.count_line(filter, line, &found, &org, full, out);
        found.clear();
        self.found = found;
    }

    /// The statistics (or `--out` rows) of one line's failures.
    fn count_line(
        &mut self,
        filter: &Filter,
        line: &str,
        found: &[Failure],
        org: &[TupleLine],
        full: bool,
        out: &mut impl Write,
    ) {
        let maxlines = filter.options().maxlines as usize;
        let info = filter.last_line_info();
        if let Some(fmt) = &self.opts.out {
            let ret: Vec<_> = found
                .iter()
                .filter(|f| !f.data.groups.get("nofail").is_some_and(|v| v.truthy()))
                .collect();
            if !ret.is_empty() && info.ignored_by.is_empty() {
                report::print_out(fmt, &ret, out);
            }
            return;
        }
        let stats = &mut self.report;
        let mut is_ignored = false;
        let mut ret = 0;
        for f in found {
            if let Some(s) = stats.failregex.get_mut(f.regex_index) {
                s.hits += 1;
                if self.opts.verbose > 0 {
                    s.ips.push((
                        f.id.as_ref()
                            .map(|i| i.to_string())
                            .unwrap_or("None".into()),
                        f.time,
                        ret > 1,
                    ));
                }
            }
            if f.data.groups.get("nofail").is_some_and(|v| v.truthy()) {
                is_ignored = true;
            } else {
                ret += 1;
            }
        }
        if info.pref_matched {
            stats.pref_matched += 1;
            if let Some(g) = &info.pref_groups {
                if stats.pref_groups.len() < stats.print_max {
                    stats.pref_groups.push(report::py_dict(g));
                } else if stats.pref_groups.len() == stats.print_max {
                    stats.pref_groups.push("...".to_string());
                }
            }
        }
        for i in &info.ignored_by {
            if let Some(s) = stats.ignoreregex.get_mut(*i) {
                s.hits += 1;
            }
            is_ignored = true;
        }
        let ls: &mut LineStats = &mut stats.lines;
        if maxlines > 1 {
            let now = filter.line_buffer();
            for b in org.iter().skip(usize::from(full)) {
                if !now.contains(b) {
                    let joined = format!("{}{}{}", b.0, b.1, b.2);
                    if let Some(p) = ls.missed_lines.iter().position(|m| *m == joined) {
                        ls.missed_lines.remove(p);
                    }
                    if self.opts.print_all_matched {
                        ls.matched_lines.push(joined);
                    }
                    ls.matched += 1;
                    ls.missed -= 1;
                }
            }
        }
        let keep = stats.print_max as i64 + 1;
        if is_ignored {
            ls.ignored += 1;
            if !self.opts.print_no_ignored && (self.opts.print_all_ignored || ls.ignored <= keep) {
                ls.ignored_lines.push(line.to_string());
            }
        } else if ret > 0 {
            ls.matched += 1;
            if self.opts.print_all_matched {
                ls.matched_lines.push(line.to_string());
            }
        } else {
            ls.missed += 1;
            if !self.opts.print_no_missed && (self.opts.print_all_missed || ls.missed <= keep) {
                ls.missed_lines.push(line.to_string());
            }
        }
        ls.tested += 1;
    }
}

/// fail2ban-regex's `shortstr`: at most 53 chars.
fn shortstr(s: &str) -> String {
    if s.chars().count() > 53 {
        let head: String = s.chars().take(50).collect();
        return format!("{head}...");
    }
    s.to_string()
}

/// Python `repr()` of a str.
fn py_str(s: &str) -> String {
    if s.contains('\'') && !s.contains('"') {
        format!("\"{s}\"")
    } else {
        format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}
