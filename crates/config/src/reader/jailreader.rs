//! One jail section (fail2ban `jailreader.py`): its options, its filter and
//! actions, and its part of the command stream.

use std::path::Path;

use super::actionreader::ActionReader;
use super::configreader::{get_options, read_named, spec, to_vars, OptSpec, OptType};
use super::filterreader::{fill_stream, is_filter_opt, FilterReader, FILTER_OPTS};
use super::{Level, Load};
use crate::error::{Error, ErrorKind};
use crate::include::ConfigParser;
use crate::ini::Entry;
use crate::omap::OMap;
use crate::options::{extract_options, split_with_options, splitwords};
use crate::stream::{str_repr, Command, Value};

const LOGGER: &str = "fail2ban.jailreader";

/// The fail2ban version ironban answers to (`%(fail2ban_version)s`).
pub const FAIL2BAN_VERSION: &str = "1.1.2.dev1";

fn opts1st() -> Vec<OptSpec> {
    vec![
        spec(OptType::Bool, "enabled", Some(Value::Bool(false))),
        spec(OptType::Str, "backend", Some(Value::str("auto"))),
        spec(OptType::Str, "filter", Some(Value::str(""))),
    ]
}

/// Every jail option fail2ban reads, in its order (filter options last).
pub fn jail_opts() -> Vec<OptSpec> {
    use OptType::*;
    let mut v = vec![
        spec(Bool, "enabled", Some(Value::Bool(false))),
        spec(Str, "backend", Some(Value::str("auto"))),
        spec(Int, "maxretry", None),
        spec(Int, "maxmatches", None),
        spec(Str, "findtime", None),
        spec(Str, "bantime", None),
        spec(Bool, "bantime.increment", None),
        spec(Str, "bantime.factor", None),
        spec(Str, "bantime.formula", None),
        spec(Str, "bantime.multipliers", None),
        spec(Str, "bantime.maxtime", None),
        spec(Str, "bantime.rndtime", None),
        spec(Bool, "bantime.overalljails", None),
        spec(Str, "ignorecommand", None),
        spec(Bool, "ignoreself", None),
        spec(Str, "ignoreip", None),
        spec(Str, "ignorecache", None),
        spec(Str, "filter", Some(Value::str(""))),
        spec(Str, "logtimezone", None),
        spec(Str, "logencoding", None),
        spec(Str, "logpath", None),
        spec(Bool, "skip_if_nologs", Some(Value::Bool(false))),
        spec(Bool, "systemd_if_nologs", Some(Value::Bool(true))),
        spec(Str, "action", Some(Value::str(""))),
    ];
    v.extend(FILTER_OPTS.iter().cloned());
    v
}

/// Jail options that are not sent as plain `set` commands.
fn is_ignored_opt(name: &str) -> bool {
    matches!(
        name,
        "action" | "filter" | "enabled" | "backend" | "skip_if_nologs" | "systemd_if_nologs"
    ) || is_filter_opt(name)
}

/// An action of a jail: a file-based action or a Python one.
#[derive(Debug)]
pub enum JailAction {
    /// `action.d/<name>.conf`.
    File(Box<ActionReader>),
    /// `action.d/<name>.py`: its `addaction` command as is.
    Python(Command),
}

/// fail2ban's `JailReader`.
#[derive(Debug)]
pub struct JailReader {
    /// The section name.
    pub name: String,
    /// The options read (typed); contains `config-error` for a broken jail.
    pub opts: OMap<Value>,
    /// The filter, when one is set.
    pub filter: Option<FilterReader>,
    /// The actions in order.
    pub actions: Vec<JailAction>,
    /// fail2ban's `config-error` message for a jail skipped as broken.
    pub config_error: Option<String>,
}

/// A jail definition error (fail2ban's `JailDefError`): the jail is skipped.
struct JailDefError(String);

impl JailReader {
    /// A reader for section `name`.
    pub fn new(name: &str) -> JailReader {
        JailReader {
            name: name.to_string(),
            opts: OMap::new(),
            filter: None,
            actions: Vec::new(),
            config_error: None,
        }
    }

    /// Whether the jail is enabled.
    pub fn is_enabled(&self) -> bool {
        matches!(self.opts.get("enabled"), Some(Value::Bool(true)))
    }

    /// `getOptions()`: `Ok(false)` when the jail is broken (logged, and
    /// `config_error` set).
    ///
    /// # Errors
    /// Errors that stop the whole configuration in fail2ban (interpolation
    /// errors, unparsable files).
    pub fn get_options(&mut self, load: &mut Load, cp: &mut ConfigParser) -> Result<bool, Error> {
        let basedir = load.basedir_str();
        cp.merge_defaults(&[
            ("fail2ban_version", FAIL2BAN_VERSION),
            ("fail2ban_confpath", basedir.as_str()),
        ]);
        match self.get_options_inner(load, cp) {
            Ok(()) => Ok(true),
            Err(Ok(JailDefError(msg))) => {
                load.log(LOGGER, Level::Error, msg.clone());
                self.opts.insert("config-error", Value::str(msg.clone()));
                self.config_error = Some(msg);
                Ok(false)
            }
            Err(Err(e)) => Err(e),
        }
    }

    fn get_options_inner(
        &mut self,
        load: &mut Load,
        cp: &mut ConfigParser,
    ) -> Result<(), Result<JailDefError, Error>> {
        let jail = self.name.clone();
        self.opts =
            get_options(load, cp, &jail, &opts1st(), &OMap::new(), true, true).map_err(Err)?;
        if !self.is_enabled() {
            return Ok(());
        }
        let flt = self
            .opts
            .get("filter")
            .map(|v| v.to_string())
            .unwrap_or_default();
        if !flt.is_empty() {
            let (name, args) = extract_options(&flt).map_err(|e| {
                Ok(JailDefError(format!(
                    "Invalid filter definition {}: {}",
                    str_repr(&flt),
                    e
                )))
            })?;
            let Some(fcp) = read_named(load, &format!("filter.d/{name}")).map_err(Err)? else {
                return Err(Ok(JailDefError(format!(
                    "Unable to read the filter {}",
                    str_repr(&name)
                ))));
            };
            let mut filter = FilterReader::new(fcp, &jail, args);
            let backend = self
                .opts
                .get("backend")
                .map(|v| v.to_string())
                .unwrap_or_default();
            filter.apply_auto_options(&backend);
            filter
                .get_options(load, &to_vars(&self.opts), true)
                .map_err(Err)?;
            let combined = filter.get_combined(load).map_err(Err)?;
            // A `None` (no [Definition] in the filter) would make fail2ban
            // crash on interpolation; leaving it out makes such a reference
            // an unknown key instead (see docs/config.md).
            let known: OMap<Entry> = combined
                .iter()
                .filter(|(_, v)| **v != Value::None)
                .map(|(k, v)| (k.to_string(), Entry::synthetic(v.to_string())))
                .collect();
            cp.merge_section(&jail, &known, "known/");
            self.filter = Some(filter);
        } else {
            self.filter = None;
            load.log(
                LOGGER,
                Level::Warning,
                format!("No filter set for jail {jail}"),
            );
        }
        self.opts =
            get_options(load, cp, &jail, &jail_opts(), &OMap::new(), false, true).map_err(Err)?;
        let vars = to_vars(&self.opts);
        if let Some(f) = &mut self.filter {
            f.get_options(load, &vars, false).map_err(Err)?;
        }
        let action = self
            .opts
            .get("action")
            .map(|v| v.to_string())
            .unwrap_or_default();
        for act in split_with_options(&action) {
            let act = act.trim();
            if act.is_empty() {
                continue;
            }
            let (act_name, mut act_opts) = extract_options(act).map_err(|e| {
                Ok(JailDefError(format!(
                    "Invalid action definition {}: {}",
                    str_repr(act),
                    e
                )))
            })?;
            if act_name.ends_with(".py") {
                let actname = match act_opts.remove("actname") {
                    Some(a) => a,
                    None => act_name.trim_end_matches(".py").to_string(),
                };
                let path = Path::new(&load.basedir_str())
                    .join("action.d")
                    .join(&act_name);
                self.actions.push(JailAction::Python(vec![
                    Value::str("set"),
                    Value::str(jail.clone()),
                    Value::str("addaction"),
                    Value::Str(actname),
                    Value::Str(path.to_string_lossy().into_owned()),
                    Value::Str(json_dumps(&act_opts)),
                ]));
                continue;
            }
            let wrap = |e: Error| {
                Err(Error::at(
                    ErrorKind::Value(format!(
                        "Error in action definition {}: {}",
                        str_repr(act),
                        e.kind
                    )),
                    e.at,
                ))
            };
            let Some(acp) = read_named(load, &format!("action.d/{act_name}")).map_err(wrap)? else {
                return Err(Ok(JailDefError(format!(
                    "Unable to read action {}",
                    str_repr(&act_name)
                ))));
            };
            let mut reader = ActionReader::new(acp, &act_name, &jail, act_opts);
            reader.get_options(load, &vars).map_err(wrap)?;
            self.actions.push(JailAction::File(Box::new(reader)));
        }
        if self.actions.is_empty() {
            load.log(
                LOGGER,
                Level::Warning,
                format!("No actions were defined for {jail}"),
            );
        }
        Ok(())
    }

    /// `convert()`: the jail's commands (`add`, filter, options, log paths,
    /// actions), or one `config-error` command. `allow_no_files` is set for
    /// `-d`: a jail without log files is then a warning, not an error.
    ///
    /// # Errors
    /// No log files (when not allowed); errors from filter/action conversion.
    pub fn convert(
        &mut self,
        load: &mut Load,
        allow_no_files: bool,
    ) -> Result<Vec<Command>, Error> {
        let jail = self.name.clone();
        if let Some(e) = &self.config_error {
            return Ok(vec![vec![
                Value::str("config-error"),
                Value::Str(format!(
                    "Jail '{jail}' skipped, because of wrong configuration: {e}"
                )),
            ]]);
        }
        let mut stream = Vec::new();
        let mut filter_journal = false;
        if let Some(f) = &mut self.filter {
            let fs = f.convert(load)?;
            filter_journal = fs
                .iter()
                .any(|c| c.get(2).and_then(Value::as_str) == Some("addjournalmatch"));
            stream.extend(fs);
        }
        fill_stream(&mut stream, &self.opts, &jail)?;
        let mut backend = self
            .opts
            .get("backend")
            .map(|v| v.to_string())
            .unwrap_or_default();
        let mut logpaths = Vec::new();
        let head = |op: &str| vec![Value::str(op), Value::str(jail.clone())];
        for (opt, value) in self.opts.iter() {
            match opt {
                "logpath" => {
                    if backend.starts_with("systemd") {
                        continue;
                    }
                    let mut found = 0;
                    for line in value.to_string().split('\n') {
                        let (path, tail) = match line.rsplit_once(' ') {
                            Some((p, t)) => (p, t),
                            None => (line, "head"),
                        };
                        let found_here = python_glob(load, path);
                        if found_here.is_empty() {
                            load.log(
                                LOGGER,
                                Level::Notice,
                                format!("No file(s) found for glob {path}"),
                            );
                        }
                        for p in found_here {
                            found += 1;
                            let mut c = head("set");
                            c.extend([Value::str("addlogpath"), Value::Str(p), Value::str(tail)]);
                            logpaths.push(c);
                        }
                    }
                    if found == 0 {
                        let journal = filter_journal
                            || self
                                .opts
                                .get("journalmatch")
                                .is_some_and(|v| !v.to_string().is_empty());
                        let systemd_if_nologs =
                            !matches!(self.opts.get("systemd_if_nologs"), Some(Value::Bool(false)));
                        let skip =
                            matches!(self.opts.get("skip_if_nologs"), Some(Value::Bool(true)));
                        let msg =
                            format!("Have not found any log file for {} jail.", str_repr(&jail));
                        if backend.starts_with("auto") && systemd_if_nologs && journal {
                            load.log(
                                LOGGER,
                                Level::Warning,
                                format!("{msg} Jail will monitor systemd journal."),
                            );
                            backend = "systemd".to_string();
                        } else if skip {
                            load.log(LOGGER, Level::Warning, msg);
                            let skipped = format!(
                                "Jail {} skipped, because of missing log files.",
                                str_repr(&jail)
                            );
                            load.log(LOGGER, Level::Warning, skipped.clone());
                            self.config_error = Some(skipped.clone());
                            return Ok(vec![vec![Value::str("config-error"), Value::Str(skipped)]]);
                        } else if !allow_no_files {
                            return Err(Error::new(ErrorKind::Value(format!(
                                "Have not found any log file for {jail} jail"
                            ))));
                        } else {
                            load.log(LOGGER, Level::Warning, msg);
                        }
                    }
                }
                "ignoreip" => {
                    let mut c = head("set");
                    c.push(Value::str("addignoreip"));
                    c.extend(splitwords(&value.to_string()).into_iter().map(Value::Str));
                    stream.push(c);
                }
                o if is_ignored_opt(o) || o == "config-error" => {}
                o => {
                    let mut c = head("set");
                    c.extend([Value::str(o), value.clone()]);
                    stream.push(c);
                }
            }
        }
        stream.extend(logpaths);
        for action in &mut self.actions {
            match action {
                JailAction::File(r) => stream.extend(r.convert(load)?),
                JailAction::Python(c) => stream.push(c.clone()),
            }
        }
        stream.insert(
            0,
            vec![
                Value::str("add"),
                Value::str(jail.clone()),
                Value::Str(backend),
            ],
        );
        Ok(stream)
    }
}

/// Python `glob.glob(path)` (sorted here; fail2ban's order is the
/// directory's), dropping dangling symlinks with fail2ban's warning.
fn python_glob(load: &mut Load, path: &str) -> Vec<String> {
    let magic = path.contains(['*', '?', '[']);
    let candidates: Vec<String> = if !magic {
        if Path::new(path).symlink_metadata().is_ok() {
            vec![path.to_string()]
        } else {
            Vec::new()
        }
    } else {
        let opts = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: true,
        };
        match glob::glob_with(path, opts) {
            Ok(paths) => paths
                .filter_map(|p| p.ok())
                .map(|p| p.to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    };
    let mut out = Vec::new();
    for p in candidates {
        if Path::new(&p).exists() {
            out.push(p);
        } else {
            load.log(
                LOGGER,
                Level::Warning,
                format!("File {p} is a dangling link, thus cannot be monitored"),
            );
        }
    }
    out
}

/// Python `json.dumps(dict_of_str)`.
fn json_dumps(m: &OMap<String>) -> String {
    let esc = |s: &str| {
        let mut o = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => o.push_str("\\\""),
                '\\' => o.push_str("\\\\"),
                '\n' => o.push_str("\\n"),
                '\r' => o.push_str("\\r"),
                '\t' => o.push_str("\\t"),
                '\u{08}' => o.push_str("\\b"),
                '\u{0c}' => o.push_str("\\f"),
                c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                    let mut buf = [0u16; 2];
                    for u in c.encode_utf16(&mut buf) {
                        o.push_str(&format!("\\u{:04x}", u));
                    }
                }
                c => o.push(c),
            }
        }
        o.push('"');
        o
    };
    let items: Vec<String> = m
        .iter()
        .map(|(k, v)| format!("{}: {}", esc(k), esc(v)))
        .collect();
    format!("{{{}}}", items.join(", "))
}
