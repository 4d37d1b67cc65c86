//! The transmitter: one decoded command in, `(0, result)` or
//! `(1, exception)` out, with fail2ban's exception types and messages
//! (fail2ban: `server/transmitter.py`).
//!
//! Python raises `IndexError('list index out of range')` whenever a command
//! lacks an argument; [`arg`] reproduces that, so malformed commands fail
//! exactly as they do against fail2ban.

use ironban_config::Value;

use crate::mytime;
use crate::protocol::{Obj, PyException};
use crate::server::{Server, FAIL2BAN_VERSION};

mod ban;
pub(crate) use ban::cidr_contains;
mod get;
mod regex;
mod set;
mod status;

/// The result of one command.
pub type Answer = Result<Obj, PyException>;

/// Runs one command and builds the reply tuple; failures are logged as
/// fail2ban logs them.
pub fn proceed(server: &mut Server, command: &Value) -> Obj {
    let mut t = Transmitter { quiet: false };
    match t.handle(server, command) {
        Ok(v) => Obj::Tuple(vec![Obj::Int(0), v]),
        Err(e) => {
            server.log.error(
                "transmitter",
                &format!(
                    "Command {} has failed. Received {}",
                    command.repr(),
                    e.repr()
                ),
            );
            Obj::Tuple(vec![Obj::Int(1), Obj::Exception(e)])
        }
    }
}

/// `command[i]`, or Python's `IndexError` when it is missing.
pub fn arg(cmd: &[Value], i: usize) -> Result<&Value, PyException> {
    cmd.get(i).ok_or_else(PyException::index_error)
}

/// Whether `v` is the string `s`.
pub fn is(v: Option<&Value>, s: &str) -> bool {
    v.and_then(Value::as_str) == Some(s)
}

/// Python's `int(v)`.
///
/// # Errors
/// `ValueError` / `TypeError` with Python's messages.
pub fn py_int(v: &Value) -> Result<i64, PyException> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::Float(f) => Ok(*f as i64),
        Value::Str(s) => {
            let t = s.trim().replace('_', "");
            t.parse::<i64>().map_err(|_| {
                PyException::value_error(format!(
                    "invalid literal for int() with base 10: {}",
                    v.repr()
                ))
            })
        }
        other => Err(PyException::type_error(format!(
            "int() argument must be a string, a bytes-like object or a real number, not '{}'",
            type_name(other)
        ))),
    }
}

/// Python's `float(v)`.
///
/// # Errors
/// `ValueError` / `TypeError` with Python's messages.
pub fn py_float(v: &Value) -> Result<f64, PyException> {
    match v {
        Value::Int(i) => Ok(*i as f64),
        Value::Bool(b) => Ok(f64::from(u8::from(*b))),
        Value::Float(f) => Ok(*f),
        Value::Str(s) => s.trim().parse::<f64>().map_err(|_| {
            PyException::value_error(format!("could not convert string to float: {}", v.repr()))
        }),
        other => Err(PyException::type_error(format!(
            "float() argument must be a string or a real number, not '{}'",
            type_name(other)
        ))),
    }
}

/// fail2ban's `_as_bool`.
pub fn as_bool(v: &Value) -> bool {
    match v {
        Value::Str(s) => matches!(s.to_lowercase().as_str(), "1" | "on" | "true" | "yes"),
        Value::None => false,
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::Float(f) => *f != 0.0,
        Value::List(l) | Value::Tuple(l) => !l.is_empty(),
        Value::Dict(d) => !d.is_empty(),
    }
}

/// Python's type name of a value.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::None => "NoneType",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float",
        Value::Str(_) => "str",
        Value::List(_) => "list",
        Value::Tuple(_) => "tuple",
        Value::Dict(_) => "dict",
    }
}

/// A `str` argument, as Python would use it (`str()` of anything else).
pub fn text(v: &Value) -> String {
    v.to_string()
}

struct Transmitter {
    quiet: bool,
}

impl Transmitter {
    fn handle(&mut self, srv: &mut Server, command: &Value) -> Answer {
        let cmd: &[Value] = match command {
            Value::List(l) | Value::Tuple(l) => l,
            // Python indexes a str too; nothing else is a command.
            _ => return Err(PyException::exception("Invalid command")),
        };
        let name = arg(cmd, 0)?;
        match name.as_str().unwrap_or("") {
            "ping" => Ok(Obj::from("pong")),
            "add" => {
                crate::server::timing(|| {
                    format!("add {}", cmd.get(1).map(text).unwrap_or_default())
                });
                let jail = arg(cmd, 1)?;
                if is(Some(jail), "--all") {
                    return Err(PyException::exception(format!(
                        "Reserved name {}",
                        jail.repr()
                    )));
                }
                let backend = cmd.get(2).map(text).unwrap_or_else(|| "auto".into());
                srv.add_jail(&text(jail), &backend)?;
                Ok(Obj::Str(text(jail)))
            }
            "multi-set" => self.set(srv, &cmd[1..], true),
            "set" => self.set(srv, &cmd[1..], false),
            "start" => {
                let jail = arg(cmd, 1)?;
                crate::server::timing(|| format!("start {jail} begin"));
                let reloading = srv
                    .reload_state
                    .as_ref()
                    .is_some_and(|s| s.iter().any(|(n, _)| *n == text(jail)));
                let log = srv.log.clone();
                let j = srv.jail_mut(jail)?;
                let mut start_now = false;
                if !j.started {
                    j.started = true;
                    start_now = true;
                }
                j.idle = false;
                if reloading && !start_now {
                    if let Some(h) = &j.runtime {
                        h.reconfigure(j);
                    }
                    log.info("server", &format!("Jail '{}' reloaded", j.name));
                }
                let n = j.name.clone();
                if start_now {
                    // fail2ban logs this once the jail's threads run; its
                    // actions start and restore bans on them just after.
                    log.info("jail", &format!("Jail '{n}' started"));
                    srv.start_runtime(&n);
                }
                if let Some(state) = srv.reload_state.as_mut() {
                    state.retain(|(x, _)| *x != n);
                }
                crate::server::timing(|| format!("start {n} end"));
                Ok(Obj::None)
            }
            "stop" => {
                match cmd.get(1) {
                    None => {
                        srv.quit_requested = true;
                    }
                    Some(v) if is(Some(v), "--all") => srv.stop_all_jails(),
                    Some(v) => {
                        let n = srv.jail(v)?.name.clone();
                        srv.del_jail(&n);
                    }
                }
                Ok(Obj::None)
            }
            "reload" => self.reload(srv, cmd),
            "unban" if cmd.len() >= 2 => {
                if cmd.len() == 2 && is(cmd.get(1), "--all") {
                    return Ok(Obj::Int(srv.unban_all(None)));
                }
                let mut cnt = 0;
                let names: Vec<String> = srv.jails.iter().map(|j| j.name.clone()).collect();
                for n in names {
                    cnt += ban::unban_ips(srv, &n, &cmd[1..], true)?;
                }
                Ok(Obj::Int(cnt))
            }
            "banned" => Ok(get::banned_all(srv, &cmd[1..])),
            "echo" => Ok(Obj::from(Value::List(cmd[1..].to_vec()))),
            "server-status" => Ok(Obj::from("Server ready")),
            "server-stream" => {
                let stream = arg(cmd, 1)?;
                self.stream(srv, stream)?;
                Ok(Obj::None)
            }
            "sleep" => {
                // The async server sleeps outside the lock; here only the
                // argument is checked, as Python's float() would.
                py_float(arg(cmd, 1)?)?;
                Ok(Obj::None)
            }
            "flushlogs" => {
                let rolled = srv.log.reopen();
                let t = srv.logtarget.clone();
                if rolled {
                    srv.log
                        .info("server", &format!("rollover performed on {t}"));
                    Ok(Obj::from("rolled over"))
                } else {
                    srv.log.info("server", &format!("flush performed on {t}"));
                    Ok(Obj::from("flushed"))
                }
            }
            "get" => get::get(srv, &cmd[1..]),
            "status" => {
                crate::server::timing(|| "status".into());
                status::status(srv, &cmd[1..])
            }
            "stats" | "statistic" | "statistics" => Ok(status::stats(srv)),
            "version" => Ok(Obj::from(FAIL2BAN_VERSION)),
            "config-error" => {
                srv.log.error("transmitter", &text(arg(cmd, 1)?));
                Ok(Obj::None)
            }
            _ => Err(PyException::exception("Invalid command")),
        }
    }

    fn stream(&mut self, srv: &mut Server, stream: &Value) -> Result<(), PyException> {
        let items: &[Value] = match stream {
            Value::List(l) | Value::Tuple(l) => l,
            _ => return Err(PyException::type_error("stream is not a list")),
        };
        let prev = self.quiet;
        self.quiet = true;
        // Jails started by the stream start their actions once it is all
        // applied: their `actionstart` shells would otherwise compete for
        // the CPU with the start of the jails after them.
        let outermost = !srv.hold_starts;
        srv.hold_starts = true;
        let mut res = Ok(());
        for c in items {
            if let Err(e) = self.handle(srv, c) {
                res = Err(e);
                break;
            }
        }
        if outermost {
            srv.release_starts();
        }
        self.quiet = prev;
        res
    }

    fn reload(&mut self, srv: &mut Server, cmd: &[Value]) -> Answer {
        let name = text(arg(cmd, 1)?);
        let opts: Vec<String> = match cmd.get(2) {
            Some(Value::List(l)) | Some(Value::Tuple(l)) => l.iter().map(text).collect(),
            _ => Vec::new(),
        };
        if srv.reload_state.is_some() {
            return Err(PyException::value_error("Reload already in progress"));
        }
        srv.log.info(
            "server",
            &if name == "--all" {
                "Reload all jails".to_string()
            } else {
                format!("Reload jail {name}")
            },
        );
        let has = |o: &str| opts.iter().any(|x| x == o);
        if name != "--all" {
            let exists = srv.exists(&name);
            if !exists && !has("--if-exists") {
                return Err(PyException::unknown_jail(&name));
            }
            if exists {
                if has("--unban") {
                    srv.unban_all(Some(&name));
                }
                if has("--restart") {
                    srv.del_jail(&name);
                }
            }
        } else {
            if has("--unban") {
                srv.unban_all(None);
            }
            if has("--restart") {
                srv.stop_all_jails();
            }
        }
        let mut state = Vec::new();
        for j in srv.jails.iter_mut() {
            if name == "--all" || j.name == name {
                j.idle = true;
                // The stream sets every list again.
                j.failregex.clear();
                j.ignoreregex.clear();
                j.ignoreip.clear();
                j.logpaths.clear();
                j.journalmatch.clear();
                j.actions.clear();
                state.push((j.name.clone(), false));
            }
        }
        srv.reload_state = Some(state);
        let res = match cmd.get(3) {
            Some(stream) => self.stream(srv, stream),
            None => Err(PyException::index_error()),
        };
        // End of reload: jails the stream did not bring back are removed.
        let left: Vec<String> = srv
            .reload_state
            .take()
            .unwrap_or_default()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        for n in left {
            srv.del_jail(&n);
        }
        srv.log.info("server", "Reload finished.");
        res.map(|_| Obj::from("OK"))
    }

    fn set(&mut self, srv: &mut Server, cmd: &[Value], multiple: bool) -> Answer {
        let quiet = self.quiet;
        let r = set::set(srv, cmd, multiple, quiet)?;
        // A running jail takes new options at once; during a reload they
        // are taken together when the stream starts the jail again.
        let opt = cmd.get(1).and_then(Value::as_str).unwrap_or("");
        let engine_own = matches!(opt, "banip" | "unbanip" | "attempt");
        if srv.reload_state.is_none() && !engine_own {
            if let Some(j) = cmd.first().and_then(|n| srv.jail(n).ok()) {
                if let Some(h) = &j.runtime {
                    h.reconfigure(j);
                }
            }
        }
        Ok(r)
    }
}

/// Seconds as `str2seconds` reads them, mapped to a Python exception.
///
/// # Errors
/// As [`mytime::str2seconds`].
pub fn seconds(v: &Value) -> Result<Value, PyException> {
    mytime::str2seconds(v)
}
