//! `set` / `multi-set` (fail2ban: `transmitter.py` `__commandSet`).

use ironban_config::Value;

use super::{arg, as_bool, is, py_int, seconds, text, Answer};
use crate::log::str2level;
use crate::mytime;
use crate::protocol::{Obj, PyException};
use crate::server::Server;

mod action;

/// `set ...` with `cmd` = the words after `set`.
pub fn set(srv: &mut Server, cmd: &[Value], multiple: bool, quiet: bool) -> Answer {
    let name = arg(cmd, 0)?;
    let q = |v: Obj| if quiet { Obj::None } else { v };
    match name.as_str().unwrap_or("") {
        "loglevel" => {
            let v = text(arg(cmd, 1)?).to_uppercase();
            let lvl = str2level(&v).ok_or_else(|| {
                PyException::value_error(format!("Invalid log level {}", Value::str(&v).repr()))
            })?;
            srv.log.set_level(lvl);
            srv.loglevel = v.clone();
            return Ok(q(Obj::Str(v)));
        }
        "logtarget" => {
            let v = text(arg(cmd, 1)?);
            if v != srv.logtarget {
                let sock = srv.syslogsocket.clone();
                if let Err(e) = srv.log.set_target(&v, &sock) {
                    srv.log.error(
                        "server",
                        &format!("Unable to log to {}: {e}", Value::str(&v).repr()),
                    );
                    return Err(PyException::exception("Failed to change log target"));
                }
                let base = v.split('[').next().unwrap_or(&v).to_string();
                srv.logtarget = base;
            }
            return Ok(q(Obj::Str(srv.logtarget.clone())));
        }
        "syslogsocket" => {
            srv.syslogsocket = text(arg(cmd, 1)?);
            return Ok(q(Obj::Str(srv.syslogsocket.clone())));
        }
        "allowipv6" => {
            let v = arg(cmd, 1)?.clone();
            srv.allowipv6 = v.clone();
            return Ok(q(Obj::from(v)));
        }
        "thread" => {
            if let Value::Dict(d) = arg(cmd, 1)? {
                for (k, v) in d {
                    if is(Some(k), "stacksize") {
                        srv.stacksize = py_int(v)?;
                    } else {
                        return Err(PyException::key_error(format!(
                            "unknown option {}",
                            k.repr()
                        )));
                    }
                }
            }
            return Ok(Obj::None);
        }
        "dbfile" => {
            let v = text(arg(cmd, 1)?);
            let none = v.eq_ignore_ascii_case("none");
            let same = srv.dbfile.as_deref() == Some(v.as_str()) || (srv.dbfile.is_none() && none);
            if !same {
                if !srv.jails.is_empty() {
                    return Err(PyException::runtime_error(
                        "Cannot change database when there are jails present",
                    ));
                }
                srv.dbfile = if none { None } else { Some(v) };
                // The next jail start opens the new file.
                srv.db = None;
            }
            return Ok(match &srv.dbfile {
                None => Obj::None,
                Some(f) => q(Obj::Str(f.clone())),
            });
        }
        "dbmaxmatches" => {
            if srv.dbfile.is_none() {
                srv.log.log(
                    "transmitter",
                    18,
                    "dbmaxmatches setting was not in effect since no db yet",
                );
                return Ok(Obj::None);
            }
            srv.dbmaxmatches = py_int(arg(cmd, 1)?)?;
            if let Some(db) = &srv.db {
                if let Ok(mut d) = db.lock() {
                    d.max_matches = srv.dbmaxmatches.max(0) as usize;
                }
            }
            return Ok(q(Obj::Int(srv.dbmaxmatches)));
        }
        "dbpurgeage" => {
            if srv.dbfile.is_none() {
                srv.log.log(
                    "transmitter",
                    18,
                    "dbpurgeage setting was not in effect since no db yet",
                );
                return Ok(Obj::None);
            }
            srv.dbpurgeage = seconds(arg(cmd, 1)?)?;
            let age = match &srv.dbpurgeage {
                Value::Int(i) => Some(*i as f64),
                Value::Float(f) => Some(*f),
                _ => None,
            };
            if let (Some(db), Some(age)) = (&srv.db, age) {
                if let Ok(mut d) = db.lock() {
                    d.purge_age = age as i64;
                }
            }
            return Ok(q(Obj::from(srv.dbpurgeage.clone())));
        }
        _ => {}
    }
    let opt_v = arg(cmd, 1)?;
    let opt = opt_v.as_str().unwrap_or("");
    let log = srv.log.clone();
    match opt {
        "idle" => {
            let v = arg(cmd, 2)?;
            let on = if is(Some(v), "on") {
                true
            } else if is(Some(v), "off") {
                false
            } else {
                return Err(PyException::exception(
                    "Invalid idle option, must be 'on' or 'off'",
                ));
            };
            let j = srv.jail_mut(name)?;
            j.idle = on;
            Ok(q(Obj::Bool(on)))
        }
        "ignoreself" => {
            let v = as_bool(arg(cmd, 2)?);
            srv.jail_mut(name)?.ignoreself = v;
            Ok(q(Obj::Bool(v)))
        }
        "addignoreip" => {
            let j = srv.jail_mut(name)?;
            for v in &cmd[2..] {
                j.add_ignoreip(&text(v));
            }
            Ok(q(j.ignoreip_list()))
        }
        "delignoreip" => {
            let v = text(arg(cmd, 2)?);
            let j = srv.jail_mut(name)?;
            j.ignoreip.retain(|i| *i != v);
            Ok(q(j.ignoreip_list()))
        }
        "ignorecommand" => {
            let v = arg(cmd, 2)?.clone();
            srv.jail_mut(name)?.ignorecommand = v.clone();
            Ok(q(Obj::from(v)))
        }
        "ignorecache" => {
            let v = text(arg(cmd, 2)?);
            let cache = parse_ignorecache(&v)?;
            srv.jail_mut(name)?.ignorecache = cache.clone();
            Ok(q(Obj::from(cache)))
        }
        "addlogpath" => {
            let path = text(arg(cmd, 2)?);
            let mut tail = false;
            if cmd.len() == 4 {
                let w = text(&cmd[3]).to_lowercase();
                if w == "tail" {
                    tail = true;
                } else if w != "head" {
                    return Err(PyException::value_error(
                        "File option must be 'head' or 'tail'",
                    ));
                }
            } else if cmd.len() > 4 {
                return Err(PyException::value_error(
                    "Only one file can be added at a time",
                ));
            }
            let j = srv.jail_mut(name)?;
            // fail2ban opens the file at once: a missing or unreadable one
            // fails the command with Python's OSError.
            if j.backend_name() != "systemd" && !j.logpaths.iter().any(|(p, _)| *p == path) {
                if let Err(e) = std::fs::File::open(&path) {
                    return Err(os_error(&e, &path));
                }
            }
            let before = j.logpaths.len();
            j.add_logpath(&path, tail);
            if j.logpaths.len() > before {
                log.info(
                    "filter",
                    &format!(
                        "Added logfile: {} (pos = 0, hash = )",
                        Value::str(&path).repr()
                    ),
                );
            }
            Ok(q(j.logpath_list()))
        }
        "dellogpath" => {
            let path = text(arg(cmd, 2)?);
            let j = srv.jail_mut(name)?;
            let before = j.logpaths.len();
            j.logpaths.retain(|(p, _)| *p != path);
            if j.logpaths.len() < before {
                log.info(
                    "filter",
                    &format!("Removed logfile: {}", Value::str(&path).repr()),
                );
            }
            Ok(q(j.logpath_list()))
        }
        "logencoding" => {
            let mut v = text(arg(cmd, 2)?);
            if v.eq_ignore_ascii_case("auto") {
                v = "UTF-8".into();
            }
            if !known_encoding(&v) {
                return Err(PyException::new(
                    "builtins",
                    "LookupError",
                    format!("unknown encoding: {v}"),
                ));
            }
            srv.jail_mut(name)?.logencoding = v.clone();
            log.info("filter", &format!("  encoding: {v}"));
            Ok(q(Obj::Str(v)))
        }
        "addjournalmatch" | "deljournalmatch" => {
            let m: Vec<String> = cmd[2..].iter().map(text).collect();
            let j = srv.jail_mut(name)?;
            if j.backend_name() == "systemd" {
                // Groups are separated by "+", as journalctl does.
                let groups: Vec<Vec<String>> = m
                    .split(|w| w == "+")
                    .filter(|g| !g.is_empty())
                    .map(|g| g.to_vec())
                    .collect();
                if opt == "addjournalmatch" {
                    j.journalmatch.extend(groups);
                    log.info(
                        "filtersystemd",
                        &format!(
                            "[{}] Added journal match for: {}",
                            j.name,
                            Value::str(m.join(" ")).repr()
                        ),
                    );
                } else {
                    j.journalmatch.retain(|g| !groups.contains(g));
                }
            }
            Ok(q(j.journalmatch_list()))
        }
        "prefregex" => {
            let v = text(arg(cmd, 2)?);
            let j = srv.jail_mut(name)?;
            j.prefregex = if v.is_empty() {
                None
            } else {
                Some(super::regex::expand(j, &v, super::regex::Kind::Pref, &log)?)
            };
            let shown = j
                .prefregex
                .as_ref()
                .map(|p| p.1.to_string())
                .unwrap_or_default();
            Ok(q(Obj::Str(shown)))
        }
        "addfailregex" | "addignoreregex" => {
            let v = arg(cmd, 2)?;
            let items: Vec<String> = match (multiple, v) {
                (true, Value::List(l)) | (true, Value::Tuple(l)) => l.iter().map(text).collect(),
                _ => vec![text(v)],
            };
            let j = srv.jail_mut(name)?;
            let kind = || {
                if opt == "addfailregex" {
                    super::regex::Kind::Fail
                } else {
                    super::regex::Kind::Ignore
                }
            };
            for raw in items {
                let r = super::regex::expand(j, &raw, kind(), &log)?;
                if opt == "addfailregex" {
                    j.failregex.push(r);
                } else {
                    j.ignoreregex.push(r);
                }
            }
            if multiple {
                return Ok(Obj::Bool(true));
            }
            let list = if opt == "addfailregex" {
                &j.failregex
            } else {
                &j.ignoreregex
            };
            Ok(q(Obj::strs(list.iter().map(|r| r.1.to_string()))))
        }
        "delfailregex" | "delignoreregex" => {
            let idx = py_int(arg(cmd, 2)?)?;
            let j = srv.jail_mut(name)?;
            let list = if opt == "delfailregex" {
                &mut j.failregex
            } else {
                &mut j.ignoreregex
            };
            let len = list.len() as i64;
            let i = if idx < 0 { idx + len } else { idx };
            if (0..len).contains(&i) {
                list.remove(i as usize);
            } else {
                log.error(
                    "filter",
                    &format!("Cannot remove regular expression. Index {idx} is not valid"),
                );
            }
            Ok(q(Obj::strs(list.iter().map(|r| r.1.to_string()))))
        }
        "usedns" => {
            let v = arg(cmd, 2)?;
            let mut s = match v {
                Value::Bool(true) => "yes".to_string(),
                Value::Bool(false) => "no".to_string(),
                other => text(other).to_lowercase(),
            };
            if !matches!(s.as_str(), "yes" | "warn" | "no" | "raw") {
                log.error(
                    "filter",
                    &format!(
                        "Incorrect value {} specified for usedns. Using safe 'no'",
                        Value::str(&s).repr()
                    ),
                );
                s = "no".into();
            }
            srv.jail_mut(name)?.usedns = s.clone();
            Ok(q(Obj::Str(s)))
        }
        "findtime" => {
            let v = seconds(arg(cmd, 2)?)?;
            srv.jail_mut(name)?.findtime = v.clone();
            log.info("filter", &format!("  findtime: {}", v.repr()));
            Ok(q(Obj::from(v)))
        }
        "datepattern" => {
            let v = arg(cmd, 2)?;
            let dp = super::regex::date_pattern(v, &log)?;
            let j = srv.jail_mut(name)?;
            j.datepattern = dp.clone();
            j.datepattern_raw = match v {
                Value::None => None,
                other => Some(text(other)),
            };
            Ok(q(Obj::from(dp)))
        }
        "logtimezone" => {
            let v = arg(cmd, 2)?.clone();
            // fail2ban validates the zone and keeps the value as given.
            if let Value::Str(tz) = &v {
                if ironban_filter::strptime::zone_offset(tz).is_none() {
                    return Err(PyException::value_error(format!(
                        "Unknown or unsupported time zone: {}",
                        v.repr()
                    )));
                }
            }
            srv.jail_mut(name)?.logtimezone = v.clone();
            Ok(q(Obj::from(v)))
        }
        "maxmatches" => {
            let v = py_int(arg(cmd, 2)?)?;
            srv.jail_mut(name)?.maxmatches = v;
            Ok(q(Obj::Int(v)))
        }
        "maxretry" => {
            let v = py_int(arg(cmd, 2)?)?;
            srv.jail_mut(name)?.maxretry = v;
            log.info("filter", &format!("  maxRetry: {v}"));
            Ok(q(Obj::Int(v)))
        }
        "maxlines" => {
            let v = py_int(arg(cmd, 2)?)?;
            if v <= 0 {
                return Err(PyException::value_error(
                    "maxlines must be integer greater than zero",
                ));
            }
            srv.jail_mut(name)?.maxlines = v;
            log.info("filter", &format!("  maxLines: {v}"));
            Ok(q(Obj::Int(v)))
        }
        "bantime" => {
            let v = arg(cmd, 2)?;
            let j = srv.jail_mut(name)?;
            j.set_bantime(v)?;
            log.info("actions", &format!("  banTime: {}", j.bantime));
            Ok(q(Obj::Int(j.bantime)))
        }
        "attempt" => {
            let ip = text(arg(cmd, 2)?);
            if quiet {
                return Ok(Obj::None);
            }
            let count = (cmd.len() - 3) as i64;
            let now = mytime::now();
            let j = srv.jail_mut(name)?;
            if let Some(h) = &j.runtime {
                h.attempt(ip, cmd[3..].iter().map(text).collect());
                return Ok(Obj::Int(1));
            }
            log.info(
                "filter",
                &format!("[{}] Attempt {ip} - {}", j.name, mytime::time2str(now)),
            );
            let retry = j.add_failure(&ip, count.max(1));
            if retry >= j.maxretry {
                // performBan: the failures leave the fail list for the ban.
                j.fails.retain(|(i, _)| *i != ip);
                if j.ban(&ip, now) {
                    log.notice("actions", &format!("[{}] Ban {ip}", j.name));
                }
            }
            Ok(Obj::Int(1))
        }
        o if o.starts_with("bantime.") => {
            let key = o["bantime.".len()..].to_string();
            let v = arg(cmd, 2)?.clone();
            let stored = match key.as_str() {
                _ if v.as_str() == Some("") => None,
                "increment" => Some(Value::Bool(as_bool(&v))),
                "maxtime" | "rndtime" => Some(seconds(&v)?),
                _ => Some(v),
            };
            let j = srv.jail_mut(name)?;
            j.bantime_extra.retain(|(k, _)| *k != key);
            if let Some(s) = &stored {
                j.bantime_extra.push((key.clone(), s.clone()));
            }
            log.info(
                "jail",
                &format!(
                    "Set banTime.{key} = {}",
                    stored
                        .as_ref()
                        .map(|s| s.to_string())
                        .unwrap_or("None".into())
                ),
            );
            Ok(q(stored.map(Obj::from).unwrap_or(Obj::None)))
        }
        "banip" => {
            let now = mytime::now();
            let j = srv.jail_mut(name)?;
            if let Some(h) = &j.runtime {
                return Ok(Obj::Int(h.ban(cmd[2..].iter().map(text).collect())));
            }
            let mut cnt = 0;
            for ip in &cmd[2..] {
                let ip = text(ip);
                if j.ban(&ip, now) {
                    cnt += 1;
                    log.notice("actions", &format!("[{}] Ban {ip}", j.name));
                } else {
                    log.debug("actions", &format!("[{}] {ip} already banned", j.name));
                }
            }
            Ok(Obj::Int(cnt))
        }
        "unbanip" => {
            let first = arg(cmd, 2)?;
            let (ifexists, ips) = if is(Some(first), "--report-absent") {
                (false, &cmd[3..])
            } else {
                (true, &cmd[2..])
            };
            let jn = srv.jail(name)?.name.clone();
            Ok(Obj::Int(super::ban::unban_ips(srv, &jn, ips, ifexists)?))
        }
        "addaction" => action::add(srv, name, cmd, quiet),
        "delaction" => action::del(srv, name, cmd),
        "action" => action::set(srv, name, cmd, multiple, quiet),
        _ => Err(PyException::exception(format!(
            "Invalid command {} (no set action or not yet implemented)",
            opt_v.repr()
        ))),
    }
}

/// Python's `OSError` subclass for an I/O error on `path`, with
/// `(errno, strerror, filename)` as `open()` raises it.
fn os_error(e: &std::io::Error, path: &str) -> PyException {
    let errno = e.raw_os_error().unwrap_or(0);
    let name = match e.kind() {
        std::io::ErrorKind::NotFound => "FileNotFoundError",
        std::io::ErrorKind::PermissionDenied => "PermissionError",
        _ => "OSError",
    };
    let full = e.to_string();
    let text = full.split(" (os error").next().unwrap_or(&full).to_string();
    PyException {
        module: "builtins".into(),
        name: name.into(),
        args: vec![Value::Int(errno.into()), Value::Str(text), Value::str(path)],
    }
}

/// `ignorecache key=..., max-count=..., max-time=...` → `[key, count, time]`.
fn parse_ignorecache(v: &str) -> Result<Value, PyException> {
    let mut key = None;
    let mut count = Value::Int(100);
    let mut time = Value::Int(300);
    for part in v.split(',') {
        let Some((k, val)) = part.split_once('=') else {
            continue;
        };
        let val = val.trim().trim_matches('"').trim_matches('\'');
        match k.trim() {
            "key" => key = Some(Value::str(val)),
            "max-count" => count = Value::Int(py_int(&Value::str(val))?),
            "max-time" => time = seconds(&Value::str(val))?,
            _ => {}
        }
    }
    Ok(match key {
        Some(k) => Value::List(vec![k, count, time]),
        None => Value::None,
    })
}

fn known_encoding(e: &str) -> bool {
    let n = e.to_lowercase().replace(['-', '_'], "");
    matches!(
        n.as_str(),
        "utf8"
            | "ascii"
            | "latin1"
            | "iso88591"
            | "iso885915"
            | "cp1252"
            | "utf16"
            | "utf32"
            | "usascii"
            | "l1"
            | "latin"
            | "u8"
            | "utf"
            | "cp437"
            | "koi8r"
            | "iso88592"
    )
}
