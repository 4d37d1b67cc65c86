//! failjson: every `# failJSON:` expectation of upstream's sample logs,
//! checked against ironban's filter engine the way fail2ban's
//! `samplestestcase.py` checks it (spec §F.1).
//!
//! Each stock filter (`config/filter.d/*.conf` not ending in `common.conf`,
//! plus the test filters `zzz-*.conf`) runs over `logs/<filter>` with
//! `returnRawHost`, `checkAllRegex`, no find-time check, "now" fixed at
//! 2005-08-14 12:00 CEST and TZ = CET/CEST. One case per failJSON line: it
//! passes when every filter-option set agrees with it. A filter whose
//! failregex never matched a sample is one more failure.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ironban_compat_tests::{upstream_dir, Tally};
use ironban_filter::{Filter, FilterOptions, UseDns};
use serde_json::Value;

const TEST_NOW: f64 = 1124013600.0;
const TEST_NOW_STR: &str = "2005-08-14T10:00:00";

fn main() {
    // fail2ban's tests run in this zone (equivalent to Europe/Zurich for the
    // years used); set before any local-time conversion happens.
    std::env::set_var("TZ", "CET-01CEST-02,M3.5.0,M10.5.0");
    let up = upstream_dir();
    let logs = up.join("fail2ban/tests/files/logs");
    let only: Option<String> = std::env::args().nth(1);
    let mut filters: Vec<(String, PathBuf)> = Vec::new();
    for (dir, test_only) in [
        (up.join("config"), false),
        (up.join("fail2ban/tests/config"), true),
    ] {
        let mut names: Vec<String> = std::fs::read_dir(dir.join("filter.d"))
            .expect("filter.d readable")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|f| f.ends_with(".conf") && !f.starts_with('.'))
            .filter(|f| {
                if test_only {
                    f.starts_with("zzz-")
                } else {
                    !f.ends_with("common.conf")
                }
            })
            .map(|f| f.trim_end_matches(".conf").to_string())
            .collect();
        names.sort();
        filters.extend(names.into_iter().map(|n| (n, dir.clone())));
    }
    let mut tally = Tally::new("failjson");
    let mut cases = Cases::new();
    for (name, basedir) in &filters {
        if only.as_ref().is_some_and(|o| o != name) {
            continue;
        }
        run_filter(name, basedir, &logs, &mut tally, &mut cases);
    }
    for ((file, line), problems) in &cases {
        tally.check(problems.is_empty(), || {
            format!("{file}:{line}: {}", problems.join(" // "))
        });
    }
    std::process::exit(tally.finish(usize::MAX));
}

struct Flt {
    filter: Filter,
    used: BTreeSet<usize>,
    regexes: Vec<String>,
}

/// Problems per failJSON case, keyed by (log file, line number).
type Cases = BTreeMap<(String, usize), Vec<String>>;

fn run_filter(name: &str, basedir: &Path, logs: &Path, tally: &mut Tally, cases: &mut Cases) {
    if !logs.join(name).is_file() {
        tally.check(false, || format!("{name}: no sample log file"));
        return;
    }
    let mut filters: BTreeMap<String, Flt> = BTreeMap::new();
    let mut used_re: BTreeSet<String> = BTreeSet::new();
    let mut files = vec![name.to_string()];
    let mut common: serde_json::Map<String, Value> = serde_json::Map::new();
    let mut tests: Vec<(String, serde_json::Map<String, Value>)> = Vec::new();
    let mut i = 0;
    while i < files.len() {
        let file = files[i].clone();
        i += 1;
        let bytes = match std::fs::read(logs.join(&file)) {
            Ok(b) => b,
            Err(e) => {
                tally.check(false, || format!("{name}: cannot read {file}: {e}"));
                continue;
            }
        };
        // selinux-ssh is not valid UTF-8; fail2ban reads with replacement.
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let mut ignore_block = false;
        let mut li = 0;
        while li < lines.len() {
            let raw = lines[li];
            let lineno = li + 1;
            li += 1;
            let mut faildata = serde_json::Map::new();
            let mut has_json = false;
            if let Some((kind, payload)) = directive(raw) {
                let data: Value = match serde_json::from_str(payload) {
                    Ok(v) => v,
                    Err(e) => {
                        tally.check(false, || format!("{file}:{lineno}: bad JSON: {e}"));
                        continue;
                    }
                };
                match kind {
                    "fileOptions" => {
                        common = data.as_object().cloned().unwrap_or_default();
                        continue;
                    }
                    "filterOptions" => {
                        tests.clear();
                        ignore_block = false;
                        let sets = match data {
                            Value::Array(a) => a,
                            v => vec![v],
                        };
                        for set in sets {
                            let mut opts = common.clone();
                            for (k, v) in set.as_object().cloned().unwrap_or_default() {
                                opts.insert(k, v);
                            }
                            if let Some(c) = opts.get("test.condition").and_then(Value::as_str) {
                                ignore_block = !eval_condition(c, name, &opts);
                            }
                            if ignore_block {
                                continue;
                            }
                            let flt_opts: Vec<(String, String)> = opts
                                .iter()
                                .filter(|(k, _)| !k.starts_with("test."))
                                .map(|(k, v)| {
                                    (
                                        k.clone(),
                                        v.as_str()
                                            .map(str::to_string)
                                            .unwrap_or_else(|| v.to_string()),
                                    )
                                })
                                .collect();
                            let flt_name =
                                match opts.get("test.filter-name").and_then(Value::as_str) {
                                    Some(n) => format!("{name}{n}"),
                                    None => format!("{name}{}", opts_repr(&flt_opts)),
                                };
                            if !ensure_filter(
                                &mut filters,
                                &flt_name,
                                name,
                                basedir,
                                &flt_opts,
                                tally,
                            ) {
                                continue;
                            }
                            tests.push((flt_name, opts));
                        }
                        continue;
                    }
                    "addFILE" => {
                        if let Some(f) = data.as_str() {
                            files.push(f.to_string());
                        }
                        continue;
                    }
                    _ => {
                        faildata = data.as_object().cloned().unwrap_or_default();
                        has_json = true;
                    }
                }
            }
            let line = if has_json {
                // The expectation applies to the next line.
                let Some(next) = lines.get(li) else { break };
                li += 1;
                *next
            } else if ignore_block || raw.starts_with('#') || raw.trim().is_empty() {
                continue;
            } else {
                raw
            };
            if ignore_block {
                continue;
            }
            if tests.is_empty() {
                // fileOptions without filterOptions apply to the whole file.
                let flt_opts: Vec<(String, String)> = common
                    .iter()
                    .filter(|(k, _)| !k.starts_with("test."))
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| v.to_string()),
                        )
                    })
                    .collect();
                let flt_name = format!("{name}{}", opts_repr(&flt_opts));
                if !ensure_filter(&mut filters, &flt_name, name, basedir, &flt_opts, tally) {
                    return;
                }
                tests.push((flt_name, common.clone()));
            }
            let line = line.trim_end_matches(['\r', '\n']);
            let mut problems: Vec<String> = Vec::new();
            for (flt_name, opts) in &tests {
                if let Some(c) = faildata.get("constraint").and_then(Value::as_str) {
                    if !eval_condition(c, name, opts) {
                        continue;
                    }
                }
                let Some(flt) = filters.get_mut(flt_name) else {
                    continue;
                };
                if let Err(p) = check_line(flt, &mut used_re, name, line, &faildata, opts) {
                    problems.push(format!("{flt_name}: {p}"));
                }
            }
            if has_json {
                // A sample reached again through `addFILE` is still one case.
                let e = cases.entry((file.clone(), lineno + 1)).or_default();
                if !problems.is_empty() {
                    e.push(format!("{} | line: {line}", problems.join("; ")));
                }
            } else if !problems.is_empty() {
                tally.check(false, || {
                    format!(
                        "{file}:{lineno} (no failJSON): {} | line: {line}",
                        problems.join("; ")
                    )
                });
            }
        }
    }
    for (flt_name, flt) in &filters {
        for (idx, re) in flt.regexes.iter().enumerate() {
            if !flt.used.contains(&idx) && !used_re.contains(re) {
                tally.check(false, || {
                    format!("{flt_name}: Regex has no samples: {idx}: {re}")
                });
            }
        }
    }
}

/// Runs one line through one filter variant and checks it against faildata.
fn check_line(
    flt: &mut Flt,
    used_re: &mut BTreeSet<String>,
    name: &str,
    line: &str,
    faildata: &serde_json::Map<String, Value>,
    opts: &serde_json::Map<String, Value>,
) -> Result<(), String> {
    let ret = if opts.get("logtype").and_then(Value::as_str) == Some("journal") {
        let mut l = line.to_string();
        if let Some(p) = opts.get("test.prefix-line").and_then(Value::as_str) {
            l = format!("{p}{l}");
        }
        flt.filter
            .process_tuple((String::new(), TEST_NOW_STR.to_string(), l), TEST_NOW)
    } else {
        flt.filter.process_line(line)
    };
    let want_match = faildata
        .get("match")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    // Pending (no id yet) and nofail results mark their regex as used but
    // are not failures.
    let mut found = Vec::new();
    for f in ret {
        if f.is_nofail() {
            flt.used.insert(f.regex_index);
            used_re.insert(flt.regexes[f.regex_index].clone());
        } else {
            found.push(f);
        }
    }
    let ret = found;
    if ret.is_empty() {
        if faildata
            .get("filter")
            .and_then(Value::as_str)
            .is_some_and(|f| f != name)
        {
            return Ok(());
        }
        if want_match {
            return Err("Line not matched when should have".into());
        }
        return Ok(());
    }
    let first = &ret[0];
    if !want_match {
        return Err(format!(
            "Line matched when shouldn't have (regex {})",
            first.regex_index
        ));
    }
    if ret.len() != 1 {
        let idx: Vec<usize> = ret.iter().map(|f| f.regex_index).collect();
        return Err(format!("Multiple regexs matched {idx:?}"));
    }
    for (k, v) in faildata {
        if matches!(
            k.as_str(),
            "time" | "match" | "desc" | "filter" | "constraint"
        ) {
            continue;
        }
        let got: Value = match k.as_str() {
            "users" => match &first.data.users {
                Some(u) => Value::Array(u.iter().map(|s| Value::String(s.to_string())).collect()),
                None => Value::Null,
            },
            "attempts" => Value::from(first.data.matches.as_ref().map_or(0, Vec::len)),
            "ip" => first
                .data
                .ip
                .as_ref()
                .map_or(Value::Null, |i| Value::String(i.to_string())),
            _ => match first.group(k) {
                Some(s) => Value::String(s.to_string()),
                None => Value::Null,
            },
        };
        let ok = match (k.as_str(), &got, v) {
            ("host", Value::Null, Value::String(want)) => {
                first.id.as_ref().is_some_and(|id| *id == **want)
            }
            ("host", Value::Null, Value::Null) => first.id.is_none(),
            (_, Value::Array(g), Value::Array(w)) => {
                let mut g: Vec<String> = g.iter().map(Value::to_string).collect();
                let mut w: Vec<String> = w.iter().map(Value::to_string).collect();
                g.sort();
                w.sort();
                g == w
            }
            _ => got == *v,
        };
        if !ok {
            let shown = if k == "host" && got.is_null() {
                first
                    .id
                    .as_ref()
                    .map_or("None".to_string(), |i| i.to_string())
            } else {
                got.to_string()
            };
            return Err(format!("{k}: got {shown}, want {v}"));
        }
    }
    if let Some(t) = faildata.get("time").and_then(Value::as_str) {
        let want = json_time(t).ok_or_else(|| format!("bad time {t}"))?;
        if first.time != Some(want) {
            return Err(format!("time: got {:?}, want {want} ({t})", first.time));
        }
    }
    flt.used.insert(first.regex_index);
    used_re.insert(flt.regexes[first.regex_index].clone());
    Ok(())
}

/// `time.mktime(strptime(t))` + microseconds, in the test zone.
fn json_time(t: &str) -> Option<f64> {
    let (main, frac) = match t.split_once('.') {
        Some((m, f)) => (m, f),
        None => (t, ""),
    };
    let d = chrono::NaiveDateTime::parse_from_str(main, "%Y-%m-%dT%H:%M:%S").ok()?;
    let mut v = ironban_filter::strptime::mktime(&d)?;
    if !frac.is_empty() {
        let us: f64 = format!("{frac:0<6}")[..6].parse().ok()?;
        v += us / 1_000_000.0;
    }
    Some(v)
}

fn ensure_filter(
    filters: &mut BTreeMap<String, Flt>,
    flt_name: &str,
    name: &str,
    basedir: &Path,
    opts: &[(String, String)],
    tally: &mut Tally,
) -> bool {
    if filters.contains_key(flt_name) {
        return true;
    }
    let fo = match load_filter(basedir, name, opts) {
        Ok(fo) => fo,
        Err(e) => {
            tally.check(false, || format!("{flt_name}: cannot build filter: {e}"));
            return false;
        }
    };
    match Filter::new(fo) {
        Ok(filter) => {
            let regexes = filter
                .failregexes()
                .iter()
                .map(|r| r.expanded().to_string())
                .collect();
            filters.insert(
                flt_name.to_string(),
                Flt {
                    filter,
                    used: BTreeSet::new(),
                    regexes,
                },
            );
            true
        }
        Err(e) => {
            tally.check(false, || format!("{flt_name}: cannot build filter: {e}"));
            false
        }
    }
}

/// Reads a filter the way samplestestcase does (`FilterReader(name, "jail", opts).convert()`,
/// only prefregex/failregex/ignoreregex/maxlines/datepattern applied).
fn load_filter(
    basedir: &Path,
    name: &str,
    opts: &[(String, String)],
) -> Result<FilterOptions, String> {
    let def = ironban_config::read_filter(basedir, name, opts, &[]).map_err(|e| e.to_string())?;
    Ok(FilterOptions {
        prefregex: def.prefregex,
        failregex: def.failregex,
        ignoreregex: def.ignoreregex,
        maxlines: def.maxlines.unwrap_or(1),
        datepattern: def.datepattern,
        usedns: UseDns::Warn,
        return_raw_host: true,
        check_all_regex: true,
        ignore_pending: true,
        now: Some(TEST_NOW),
        origin: Some(def.file.display().to_string()),
        ..FilterOptions::default()
    })
}

/// `str(dict)` of the options, as fail2ban names the filter variant.
fn opts_repr(opts: &[(String, String)]) -> String {
    if opts.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = opts.iter().map(|(k, v)| format!("'{k}': '{v}'")).collect();
    format!("{{{}}}", parts.join(", "))
}

/// The `^#+ ?(failJSON|fileOptions|filterOptions|addFILE):(.+)$` directive of a line.
fn directive(line: &str) -> Option<(&str, &str)> {
    let l = line.trim_end_matches(['\r', '\n']);
    let rest = l.trim_start_matches('#');
    if rest.len() == l.len() {
        return None;
    }
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    for kind in ["failJSON", "fileOptions", "filterOptions", "addFILE"] {
        if let Some(p) = rest.strip_prefix(kind).and_then(|r| r.strip_prefix(':')) {
            if !p.is_empty() {
                return Some((kind, p));
            }
        }
    }
    None
}

/// The Python expressions the sample logs use in `test.condition` and
/// `constraint`: `name == 'x'`, `name=='x'`, `opts.get('k') == 'v'`, `!=`.
fn eval_condition(expr: &str, name: &str, opts: &serde_json::Map<String, Value>) -> bool {
    let (lhs, rhs, eq) = if let Some((l, r)) = expr.split_once("!=") {
        (l, r, false)
    } else if let Some((l, r)) = expr.split_once("==") {
        (l, r, true)
    } else {
        eprintln!("failjson: unsupported condition {expr:?}, treated as true");
        return true;
    };
    let unq = |s: &str| s.trim().trim_matches(|c| c == '\'' || c == '"').to_string();
    let lhs = lhs.trim();
    let value: Option<String> = if lhs == "name" {
        Some(name.to_string())
    } else if let Some(k) = lhs
        .strip_prefix("opts.get(")
        .and_then(|r| r.strip_suffix(')'))
    {
        opts.get(&unq(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    } else {
        eprintln!("failjson: unsupported condition {expr:?}, treated as true");
        return true;
    };
    let rhs = unq(rhs);
    (value.as_deref() == Some(rhs.as_str())) == eq
}
