//! A filter file (`filter.d/<name>.conf` and friends) read for one jail
//! (fail2ban `filterreader.py`), and its part of the command stream.

use std::sync::Arc;

use super::configreader::{spec, DefinitionInit, OptSpec, OptType};
use super::Load;
use crate::error::Error;
use crate::include::ConfigParser;
use crate::interpolate::Vars;
use crate::omap::OMap;
use crate::options::shlex_split;
use crate::stream::{Command, Value};

/// The options a filter defines for the server, in fail2ban's order.
pub static FILTER_OPTS: &[OptSpec] = &[
    spec(OptType::Str, "usedns", None),
    spec(OptType::Str, "prefregex", None),
    spec(OptType::Str, "ignoreregex", None),
    spec(OptType::Str, "failregex", None),
    spec(OptType::Int, "maxlines", None),
    spec(OptType::Str, "datepattern", None),
    spec(OptType::Str, "journalmatch", None),
];

/// Whether `name` is one of [`FILTER_OPTS`].
pub fn is_filter_opt(name: &str) -> bool {
    FILTER_OPTS.iter().any(|s| s.name == name)
}

/// fail2ban's `FilterReader`.
#[derive(Debug)]
pub struct FilterReader {
    /// The `[Definition]`/`[Init]` logic.
    pub def: DefinitionInit,
}

impl FilterReader {
    /// A reader over the parsed filter files `cp` for `jail`, with the
    /// `name[...]` arguments.
    pub fn new(cp: Arc<ConfigParser>, jail: &str, args: OMap<String>) -> FilterReader {
        FilterReader {
            def: DefinitionInit::new(cp, jail, args, FILTER_OPTS),
        }
    }

    /// `applyAutoOptions`: `logtype` becomes `journal` for systemd backends
    /// and `file` otherwise, unless it was passed or the filter defines it.
    pub fn apply_auto_options(&mut self, backend: &str) {
        let passed = self
            .def
            .init_opts
            .get("logtype")
            .is_some_and(|v| !v.is_empty());
        if !passed && !self.def.cp.has_option("Definition", "logtype", false) {
            let lt = if backend.starts_with("systemd") {
                "journal"
            } else {
                "file"
            };
            self.def.init_opts.insert("logtype", lt.to_string());
        }
    }

    /// `getOptions(pOpts, all)`.
    ///
    /// # Errors
    /// Interpolation errors.
    pub fn get_options(&mut self, load: &mut Load, p_opts: &Vars, all: bool) -> Result<(), Error> {
        self.def.get_options(load, p_opts, all)
    }

    /// `getCombined()`.
    ///
    /// # Errors
    /// Interpolation errors, self-referencing tags.
    pub fn get_combined(&mut self, load: &mut Load) -> Result<OMap<Value>, Error> {
        self.def.get_combined(load, &[])
    }

    /// `convert()`: the filter's commands for its jail.
    ///
    /// # Errors
    /// As [`get_combined`](Self::get_combined); a `journalmatch` with bad quoting.
    pub fn convert(&mut self, load: &mut Load) -> Result<Vec<Command>, Error> {
        let opts = self.get_combined(load)?;
        let mut stream = Vec::new();
        fill_stream(&mut stream, &opts, &self.def.jail)?;
        Ok(stream)
    }
}

/// Regexes of a multi-line value: one per non-empty line.
pub fn split_regexes(value: &str) -> Vec<String> {
    value
        .split('\n')
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// fail2ban's `FilterReader._fillStream`: `usedns` first, `prefregex` and
/// `maxlines` next (in the order met), then regexes, `datepattern` (and, by
/// fail2ban's substring quirk, any option named like part of it) and
/// `addjournalmatch` in option order.
///
/// # Errors
/// A `journalmatch` line with bad shell quoting.
pub fn fill_stream(stream: &mut Vec<Command>, opts: &OMap<Value>, jail: &str) -> Result<(), Error> {
    let mut prio0idx = 0;
    let head = |op: &str| vec![Value::str(op), Value::str(jail)];
    for (opt, value) in opts.iter() {
        if *value == Value::None {
            continue;
        }
        match opt {
            "failregex" | "ignoreregex" => {
                let multi = split_regexes(&value.to_string());
                let name = format!("add{opt}");
                if multi.len() > 1 {
                    let mut c = head("multi-set");
                    c.push(Value::Str(name));
                    c.push(Value::List(multi.into_iter().map(Value::Str).collect()));
                    stream.push(c);
                } else if let Some(r) = multi.into_iter().next() {
                    let mut c = head("set");
                    c.push(Value::Str(name));
                    c.push(Value::Str(r));
                    stream.push(c);
                }
            }
            "usedns" | "maxlines" | "prefregex" => {
                let mut c = head("set");
                c.push(Value::str(opt));
                c.push(value.clone());
                let at = if opt == "usedns" { 0 } else { prio0idx };
                stream.insert(at.min(stream.len()), c);
                prio0idx += 1;
            }
            // fail2ban tests `opt in ('datepattern')`, a substring test on a
            // plain string, so any option named like a piece of it (`a`,
            // `date`, `pattern`, ...) is sent too. Kept for byte-equal streams.
            o if "datepattern".contains(o) && !o.is_empty() => {
                let mut c = head("set");
                c.push(Value::str(opt));
                c.push(value.clone());
                stream.push(c);
            }
            "journalmatch" => {
                for m in value.to_string().split('\n') {
                    if m.is_empty() {
                        continue;
                    }
                    let mut c = head("set");
                    c.push(Value::str("addjournalmatch"));
                    c.extend(shlex_split(m)?.into_iter().map(Value::Str));
                    stream.push(c);
                }
            }
            _ => {}
        }
    }
    Ok(())
}
