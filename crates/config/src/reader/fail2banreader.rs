//! `fail2ban.conf` & co (fail2ban `fail2banreader.py`): the server-wide
//! settings that start the command stream.

use super::configreader::{get_options, read_named, spec, OptSpec, OptType};
use std::sync::Arc;

use super::Load;
use crate::error::{Error, ErrorKind};
use crate::include::ConfigParser;
use crate::omap::OMap;
use crate::stream::{str_repr, Command, Value};

/// Options fail2ban-client reads before anything else (`getEarlyOptions`).
fn early_opts() -> Vec<OptSpec> {
    vec![
        spec(
            OptType::Str,
            "socket",
            Some(Value::str("/var/run/fail2ban/fail2ban.sock")),
        ),
        spec(
            OptType::Str,
            "pidfile",
            Some(Value::str("/var/run/fail2ban/fail2ban.pid")),
        ),
        spec(OptType::Str, "loglevel", Some(Value::str("INFO"))),
        spec(
            OptType::Str,
            "logtarget",
            Some(Value::str("/var/log/fail2ban.log")),
        ),
        spec(OptType::Str, "syslogsocket", Some(Value::str("auto"))),
    ]
}

fn main_opts() -> Vec<OptSpec> {
    vec![
        spec(OptType::Str, "loglevel", Some(Value::str("INFO"))),
        spec(OptType::Str, "logtarget", Some(Value::str("STDERR"))),
        spec(OptType::Str, "syslogsocket", Some(Value::str("auto"))),
        spec(OptType::Str, "allowipv6", Some(Value::str("auto"))),
        spec(
            OptType::Str,
            "dbfile",
            Some(Value::str("/var/lib/fail2ban/fail2ban.sqlite3")),
        ),
        spec(OptType::Int, "dbmaxmatches", None),
        spec(OptType::Str, "dbpurgeage", Some(Value::str("1d"))),
    ]
}

/// The global settings read from `fail2ban.conf`.
#[derive(Debug, Default)]
pub struct Fail2banReader {
    /// `socket`, `pidfile`, `loglevel`, `logtarget`, `syslogsocket`.
    pub early: OMap<Value>,
    /// The options that go into the stream (and `thread`).
    pub opts: OMap<Value>,
}

fn read_fail2ban(load: &mut Load) -> Result<Arc<ConfigParser>, Error> {
    Ok(match read_named(load, "fail2ban")? {
        Some(p) => p,
        None => Arc::new(ConfigParser::default()),
    })
}

/// fail2ban's `str2LogLevel` check: digits or a `logging` level name.
fn check_log_level(v: &Value) -> Result<(), Error> {
    let s = v.to_string();
    let ok = matches!(v, Value::Int(_))
        || (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))
        || matches!(
            s.to_uppercase().as_str(),
            "CRITICAL"
                | "FATAL"
                | "ERROR"
                | "WARN"
                | "WARNING"
                | "NOTICE"
                | "INFO"
                | "MSG"
                | "DEBUG"
                | "TRACEDEBUG"
                | "HEAVYDEBUG"
                | "NOTSET"
        );
    if ok {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::Value(format!(
            "Invalid log level {}",
            str_repr(&s)
        ))))
    }
}

impl Fail2banReader {
    /// fail2ban-client's first step (`readEarly` + `getEarlyOptions` and the
    /// log-level check): `socket`, `pidfile`, `loglevel`, `logtarget`,
    /// `syslogsocket`.
    ///
    /// # Errors
    /// The config dir does not exist; `fail2ban.conf` does not parse; an
    /// invalid log level; interpolation errors.
    pub fn read_early(load: &mut Load) -> Result<OMap<Value>, Error> {
        let cp = read_fail2ban(load)?;
        let early = get_options(
            load,
            &cp,
            "Definition",
            &early_opts(),
            &OMap::new(),
            false,
            true,
        )?;
        if let Some(l) = early.get("loglevel") {
            check_log_level(l)?;
        }
        Ok(early)
    }

    /// The main read (`getOptions(updateMainOpt)`): the stream's options,
    /// with the `early` values (fail2ban-client's own settings) on top.
    ///
    /// # Errors
    /// As [`read_early`](Self::read_early).
    pub fn read_main(load: &mut Load, early: OMap<Value>) -> Result<Fail2banReader, Error> {
        let cp = read_fail2ban(load)?;
        let mut opts = get_options(
            load,
            &cp,
            "Definition",
            &main_opts(),
            &OMap::new(),
            false,
            true,
        )?;
        for (k, v) in early.iter() {
            opts.insert(k, v.clone());
        }
        if let Some(l) = opts.get("loglevel") {
            check_log_level(l)?;
        }
        if cp.has_section("Thread") {
            let th = get_options(
                load,
                &cp,
                "Thread",
                &[spec(OptType::Int, "stacksize", None)],
                &OMap::new(),
                false,
                true,
            )?;
            if !th.is_empty() {
                let d = th.iter().map(|(k, v)| (Value::str(k), v.clone())).collect();
                opts.insert("thread", Value::Dict(d));
            }
        }
        Ok(Fail2banReader { early, opts })
    }

    /// Both steps on one load.
    ///
    /// # Errors
    /// As [`read_early`](Self::read_early).
    pub fn read(load: &mut Load) -> Result<Fail2banReader, Error> {
        let early = Self::read_early(load)?;
        Self::read_main(load, early)
    }

    /// `convert()`: the global `set` commands in fail2ban's priority order.
    pub fn convert(&self) -> Vec<Command> {
        let order = |k: &str| match k {
            "thread" => Some(0),
            "syslogsocket" => Some(11),
            "loglevel" => Some(12),
            "logtarget" => Some(13),
            "allowipv6" => Some(14),
            "dbfile" => Some(50),
            "dbmaxmatches" | "dbpurgeage" => Some(51),
            _ => None,
        };
        let mut items: Vec<(i32, &str, &Value)> = self
            .opts
            .iter()
            .filter_map(|(k, v)| order(k).map(|o| (o, k, v)))
            .collect();
        items.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        items
            .into_iter()
            .map(|(_, k, v)| vec![Value::str("set"), Value::str(k), v.clone()])
            .collect()
    }
}
