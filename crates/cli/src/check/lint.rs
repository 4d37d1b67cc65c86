//! The lint: reads a configuration the way `fail2ban-client` does (same
//! readers, ironban-config), but jail by jail, going on after each problem
//! so that one run reports them all; then checks what fail2ban's reader
//! does not (unknown options, time values, regexes, log files, whether the
//! filter finds anything in the current log).

use std::collections::HashSet;
use std::path::Path;

use ironban_config::include::{ConfigParser, INCLUDES};
use ironban_config::options::{extract_options, split_with_options};
use ironban_config::reader::configreader::{config_files, read_named};
use ironban_config::reader::fail2banreader::Fail2banReader;
use ironban_config::reader::jailreader::{JailAction, JailReader};
use ironban_config::reader::{Level, Load, LogMsg};
use ironban_config::{Pos, Value};

use super::options::{known_jail_options, referenced, unknown_in_section, FAIL2BAN_OPTIONS};
use super::problem::{Findings, JailSummary, Kind, Problem};
use super::{actions, regexes};

/// How far `ironban check` looks.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Bytes read from the end of each log file (0: do not scan logs).
    pub scan_bytes: u64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            scan_bytes: 8 << 20,
        }
    }
}

/// Where `option` of `section` was set: the section, else `[DEFAULT]`.
pub fn locate(cp: &ConfigParser, section: &str, option: &str) -> Option<Pos> {
    cp.sections
        .get(section)
        .and_then(|s| s.get(option))
        .or_else(|| cp.defaults.get(option))
        .and_then(|e| e.pos.clone())
}

/// The line of the (multi-line) option value starting at `pos` whose text
/// satisfies `want`, so a problem with one `failregex` or `action` line
/// names that line; `pos` itself when no line does.
pub fn line_of(pos: Option<Pos>, want: impl Fn(&str) -> bool) -> Option<Pos> {
    let pos = pos?;
    let Ok(text) = std::fs::read_to_string(pos.file.as_path()) else {
        return Some(pos);
    };
    for (i, line) in text.lines().enumerate().skip(pos.line.saturating_sub(1)) {
        // The value ends at the next line that is not indented.
        if i >= pos.line && !line.starts_with([' ', '\t']) && !line.trim().is_empty() {
            break;
        }
        let body = if i + 1 == pos.line {
            line.split_once(['=', ':']).map_or(line, |(_, v)| v)
        } else {
            line
        };
        if want(body) {
            return Some(Pos {
                file: pos.file.clone(),
                line: i + 1,
            });
        }
    }
    Some(pos)
}

/// An error that stops the whole read (as in fail2ban; a missing include
/// is one only in ironban, see docs/config.md): no jail starts.
fn config_error(e: &ironban_config::Error) -> Problem {
    Problem::error(
        Kind::Config,
        format!("{} (reading stops here: no jail starts)", e.kind),
    )
    .at(e.at.clone())
}

/// Reader log messages (warnings and errors) as problems, except those a
/// finding of the lint reports better.
fn reader_messages(log: &[LogMsg], jail: Option<&str>, cp: Option<&ConfigParser>) -> Vec<Problem> {
    let mut out = Vec::new();
    for m in log.iter().filter(|m| m.level >= Level::Warning) {
        let msg = m.msg.as_str();
        // Reported by the lint with a position.
        if msg.starts_with("Unable to read the filter")
            || msg.starts_with("Unable to read action")
            || msg.starts_with("Errors in jail")
            || msg.starts_with("Invalid filter definition")
            || msg.starts_with("Invalid action definition")
            || msg.starts_with("Found no accessible config files for")
            || (msg.starts_with("Have not found any log file") && !msg.contains("journal"))
        {
            continue;
        }
        let mut p = if m.level >= Level::Error {
            Problem::error(Kind::Reader, msg)
        } else {
            Problem::warning(Kind::Reader, msg)
        };
        // "Wrong value for 'maxretry' in 'sshd'. Using default one: 'None'"
        if let Some(rest) = msg.strip_prefix("Wrong value for '") {
            let mut parts = rest.split('\'');
            let opt = parts.next().unwrap_or("");
            let sec = parts.nth(1).unwrap_or("");
            p.kind = Kind::BadValue;
            if let Some(cp) = cp {
                p = p.at(locate(cp, sec, opt)).option(opt);
            }
        }
        if msg.contains("Jail will monitor systemd journal") {
            p.kind = Kind::MissingLogpath;
            p.message = format!(
                "{msg} (as fail2ban 1.1 does; fail2ban 1.0 stops instead with \"Have not found any log file\")"
            );
            if let (Some(cp), Some(j)) = (cp, jail) {
                p = p.at(locate(cp, j, "logpath")).option("logpath");
            }
        }
        if let Some(j) = jail {
            p = p.jail(j);
        }
        out.push(p);
    }
    out
}

/// Lints the configuration in `confdir`.
pub fn lint(confdir: &Path, settings: &Settings) -> Findings {
    let mut f = Findings {
        confdir: confdir.display().to_string(),
        ..Findings::default()
    };
    if !confdir.is_dir() {
        f.problems.push(Problem::error(
            Kind::Config,
            format!(
                "configuration directory {} does not exist",
                confdir.display()
            ),
        ));
        return f;
    }
    let mut load = Load::new(confdir);
    lint_fail2ban(&mut load, &mut f);
    let mut cp: ConfigParser = match read_named(&mut load, "jail") {
        Ok(Some(p)) => (*p).clone(),
        Ok(None) => {
            f.problems.push(Problem::error(
                Kind::Config,
                format!("no jail.conf or jail.local in {}", confdir.display()),
            ));
            return f;
        }
        Err(e) => {
            f.problems.push(config_error(&e));
            return f;
        }
    };
    let pristine = cp.clone();
    let known = known_jail_options();
    let refs = referenced(&pristine);
    let sections: Vec<String> = cp
        .section_names()
        .filter(|s| *s != INCLUDES)
        .map(str::to_string)
        .collect();
    for sec in sections {
        for p in unknown_in_section(&pristine, &sec, &known, &refs, "jail") {
            f.problems.push(p.jail(&sec));
        }
        lint_jail(&mut load, &mut cp, &pristine, &sec, settings, &mut f);
    }
    f
}

fn lint_fail2ban(load: &mut Load, f: &mut Findings) {
    let start = load.log.len();
    let read = read_named(load, "fail2ban");
    let cp = read.as_ref().ok().cloned().flatten();
    match read {
        Ok(Some(cp)) => {
            let refs = referenced(&cp);
            for (sec, opts) in FAIL2BAN_OPTIONS {
                let known: HashSet<String> = opts.iter().map(|s| s.to_string()).collect();
                f.problems
                    .extend(unknown_in_section(&cp, sec, &known, &refs, "fail2ban.conf"));
            }
            if let Ok(v) = cp.get("Definition", "dbpurgeage", &Default::default()) {
                if ironban_config::str2seconds(&v).is_err() {
                    f.problems.push(
                        Problem::error(
                            Kind::BadTime,
                            format!("dbpurgeage: invalid time value {v:?}"),
                        )
                        .at(locate(&cp, "Definition", "dbpurgeage"))
                        .option("dbpurgeage"),
                    );
                }
            }
        }
        Ok(None) => f.problems.push(Problem::error(
            Kind::Config,
            format!(
                "no fail2ban.conf or fail2ban.local in {}",
                load.basedir_str()
            ),
        )),
        Err(e) => f.problems.push(config_error(&e)),
    }
    if let Err(e) = Fail2banReader::read(load) {
        if !f.problems.iter().any(|p| p.kind == Kind::Config) {
            f.problems.push(config_error(&e));
        }
    }
    f.problems
        .extend(reader_messages(&load.log[start..], None, cp.as_deref()));
}

/// The names in an `action` value (`a[x=1] b` → `a`, `b`).
fn action_names(value: &str) -> Vec<String> {
    split_with_options(value)
        .iter()
        .map(|a| a.trim())
        .filter(|a| !a.is_empty())
        .filter_map(|a| extract_options(a).ok().map(|(n, _)| n))
        .collect()
}

fn lint_jail(
    load: &mut Load,
    cp: &mut ConfigParser,
    pristine: &ConfigParser,
    sec: &str,
    settings: &Settings,
    f: &mut Findings,
) {
    let start = load.log.len();
    let mut jail = JailReader::new(sec);
    let res = jail.get_options(load, cp);
    if let Err(e) = &res {
        f.problems.push(config_error(e).jail(sec));
    }
    let enabled = jail.is_enabled();
    if enabled || jail.config_error.is_some() {
        check_files(load, pristine, sec, &jail, f);
    }
    if !matches!(res, Ok(true)) || !enabled {
        f.problems.extend(reader_messages(
            &load.log[start..],
            Some(sec),
            Some(pristine),
        ));
        return;
    }
    let stream = match jail.convert(load, true) {
        Ok(s) => s,
        Err(e) => {
            f.problems.push(config_error(&e).jail(sec));
            Vec::new()
        }
    };
    f.problems.extend(reader_messages(
        &load.log[start..],
        Some(sec),
        Some(pristine),
    ));
    if jail.config_error.is_some() || stream.is_empty() {
        return;
    }
    let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
    let mut summary = JailSummary {
        name: sec.to_string(),
        backend: s(stream.first().and_then(|c| c.get(2))),
        filter: jail
            .opts
            .get("filter")
            .map(|v| v.to_string())
            .unwrap_or_default(),
        ..JailSummary::default()
    };
    for a in &jail.actions {
        match a {
            JailAction::File(r) => summary.actions.push(r.actname.clone()),
            JailAction::Python(c) => {
                let name = s(c.get(3));
                f.problems.push(
                    Problem::warning(
                        Kind::Unsupported,
                        format!("action '{name}' is a Python action ({}), which ironban does not run; the jail's other actions still run", s(c.get(4))),
                    )
                    .at(locate(pristine, sec, "action"))
                    .jail(sec)
                    .option("action"),
                );
                summary.actions.push(name);
            }
        }
    }
    check_times(&jail, pristine, sec, f);
    check_logpaths(&jail, pristine, sec, &summary.backend, f);
    regexes::check(&stream, &jail, pristine, sec, settings, &mut summary, f);
    actions::check(&stream, &jail, pristine, sec, f);
    f.jails.push(summary);
}

/// The filter and every action exist (fail2ban stops at the first missing one).
fn check_files(
    load: &mut Load,
    pristine: &ConfigParser,
    sec: &str,
    jail: &JailReader,
    f: &mut Findings,
) {
    let basedir = load.basedir.clone();
    let get = |opt: &str| -> Option<String> {
        match jail.opts.get(opt) {
            Some(v) => Some(v.to_string()),
            None => pristine.get(sec, opt, &Default::default()).ok(),
        }
    };
    if let Some(flt) = get("filter").filter(|v| !v.is_empty()) {
        match extract_options(&flt) {
            Ok((name, _)) if config_files(&basedir, &format!("filter.d/{name}")).is_empty() => {
                f.problems.push(
                    Problem::error(
                        Kind::MissingFilter,
                        format!(
                            "filter '{name}' not found: no filter.d/{name}.conf or filter.d/{name}.local in {}",
                            basedir.display()
                        ),
                    )
                    .at(locate(pristine, sec, "filter"))
                    .jail(sec)
                    .option("filter"),
                )
            }
            Ok(_) => {}
            Err(e) => f.problems.push(
                Problem::error(Kind::BadValue, format!("invalid filter definition {flt:?}: {}", e.kind))
                    .at(locate(pristine, sec, "filter"))
                    .jail(sec)
                    .option("filter"),
            ),
        }
    }
    let Some(action) = get("action") else { return };
    for name in action_names(&action) {
        if name.ends_with(".py") {
            continue;
        }
        if config_files(&basedir, &format!("action.d/{name}")).is_empty() {
            f.problems.push(
                Problem::error(
                    Kind::MissingAction,
                    format!(
                        "action '{name}' not found: no action.d/{name}.conf or action.d/{name}.local in {}",
                        basedir.display()
                    ),
                )
                .at(line_of(locate(pristine, sec, "action"), |body| {
                    let b = body.trim_start();
                    b.strip_prefix(name.as_str())
                        .is_some_and(|r| r.is_empty() || r.starts_with(['[', ' ']))
                }))
                .jail(sec)
                .option("action"),
            );
        }
    }
    for piece in split_with_options(&action) {
        let piece = piece.trim();
        if !piece.is_empty() {
            if let Err(e) = extract_options(piece) {
                f.problems.push(
                    Problem::error(
                        Kind::BadValue,
                        format!("invalid action definition {piece:?}: {}", e.kind),
                    )
                    .at(locate(pristine, sec, "action"))
                    .jail(sec)
                    .option("action"),
                );
            }
        }
    }
}

/// Time values the server would refuse (`str2seconds`), numbers, backends.
fn check_times(jail: &JailReader, cp: &ConfigParser, sec: &str, f: &mut Findings) {
    for opt in ["bantime", "findtime", "bantime.maxtime", "bantime.rndtime"] {
        let Some(v) = jail.opts.get(opt) else {
            continue;
        };
        let txt = v.to_string();
        if ironban_config::str2seconds(&txt).is_err() {
            f.problems.push(
                Problem::error(
                    Kind::BadTime,
                    format!("{opt}: invalid time value {txt:?} (use seconds or e.g. 10m, 1h30m, 1d, 1w)"),
                )
                .at(locate(cp, sec, opt))
                .jail(sec)
                .option(opt),
            );
        }
    }
    // fail2ban's server: `Jail._setBackend`.
    if let Some(v) = jail.opts.get("backend") {
        let txt = v.to_string();
        let name = extract_options(&txt)
            .map(|(n, _)| n.to_lowercase())
            .unwrap_or_default();
        if !matches!(
            name.as_str(),
            "auto" | "pyinotify" | "gamin" | "polling" | "systemd"
        ) {
            f.problems.push(
                Problem::error(
                    Kind::BadValue,
                    format!("backend: unknown backend {txt:?}; it must be auto, pyinotify, gamin, polling or systemd (fail2ban refuses to start the jail)"),
                )
                .at(locate(cp, sec, "backend"))
                .jail(sec)
                .option("backend"),
            );
        }
    }
    if let Some(v) = jail.opts.get("bantime.factor") {
        let txt = v.to_string();
        if txt.trim().parse::<f64>().is_err() {
            f.problems.push(
                Problem::error(
                    Kind::BadValue,
                    format!("bantime.factor: {txt:?} is not a number"),
                )
                .at(locate(cp, sec, "bantime.factor"))
                .jail(sec)
                .option("bantime.factor"),
            );
        }
    }
}

/// Each `logpath` line matches at least one file (file backends only).
fn check_logpaths(
    jail: &JailReader,
    cp: &ConfigParser,
    sec: &str,
    backend: &str,
    f: &mut Findings,
) {
    if backend.starts_with("systemd") {
        return;
    }
    let Some(lp) = jail.opts.get("logpath") else {
        f.problems.push(
            Problem::error(
                Kind::MissingLogpath,
                "no logpath set (and the backend is not systemd)",
            )
            .jail(sec)
            .option("logpath"),
        );
        return;
    };
    let lines: Vec<String> = lp
        .to_string()
        .split('\n')
        .map(|l| match l.rsplit_once(' ') {
            Some((p, "head" | "tail")) => p.to_string(),
            _ => l.to_string(),
        })
        .filter(|l| !l.trim().is_empty())
        .collect();
    let exists = |p: &str| -> bool {
        if p.contains(['*', '?', '[']) {
            glob::glob(p).is_ok_and(|mut g| g.any(|e| e.is_ok_and(|p| p.exists())))
        } else {
            Path::new(p).exists()
        }
    };
    let missing: Vec<&String> = lines.iter().filter(|p| !exists(p)).collect();
    let none_found = missing.len() == lines.len();
    for p in missing {
        let (sev, tail) = if none_found {
            (
                Problem::error as fn(Kind, String) -> Problem,
                "; no log file at all: fail2ban refuses to start the jail (\"Have not found any log file\")",
            )
        } else {
            (Problem::warning as fn(Kind, String) -> Problem, "")
        };
        f.problems.push(
            sev(
                Kind::MissingLogpath,
                format!("logpath {p:?} matches no file{tail}"),
            )
            .at(locate(cp, sec, "logpath"))
            .jail(sec)
            .option("logpath"),
        );
    }
}
