//! Which of a jail, a filter file or a raw regex REGEX names (fail2ban:
//! `fail2banregex.py` `readRegex`).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::report::{self, Stat};
use super::{jail, py_str, shortstr, Run};

/// Where the regexes come from, as fail2ban-regex resolves REGEX.
pub enum Source {
    /// A jail of the config dir (fail2ban-regex 1.1): name, `[k=v]` options.
    Jail {
        name: String,
        args: Vec<(String, String)>,
    },
    /// A filter file: name or path, `[k=v]` options, config dir.
    File {
        name: String,
        args: Vec<(String, String)>,
        basedir: Option<PathBuf>,
    },
    /// A raw regex string.
    Line(String),
}

/// Resolves REGEX the way fail2ban-regex's `readRegex` does: a jail of
/// `config` first, then a filter file, else a raw regex.
pub fn resolve(value: &str, config: &str) -> Result<Source, String> {
    let looks_like_name = {
        let base = value.split('[').next().unwrap_or("");
        let slashes = base.bytes().take_while(|&c| c == b'/').count();
        slashes <= 3
            && !base.is_empty()
            && base
                .chars()
                .all(|c| c.is_alphanumeric() || "/_-.".contains(c))
            && (value.len() == base.len() || value.ends_with(']'))
    };
    if !looks_like_name {
        return Ok(Source::Line(value.to_string()));
    }
    let (name, args) = match ironban_config::parse_spec(value) {
        Ok(x) => x,
        Err(e) => {
            return Err(format!(
                "Wrong filter name or options: {e}\n       while parsing: {value}"
            ))
        }
    };
    // fail2ban-regex 1.1 tries a jail of that name first.
    if jail::may_be_jail(&name) {
        match jail::exists(Path::new(config), &name) {
            Ok(true) => return Ok(Source::Jail { name, args }),
            Ok(false) => {}
            Err(e) => {
                return Err(format!(
                    "Wrong filter name or options: {e}\n       while parsing: {value}"
                ))
            }
        }
    }
    let tail: String = name.chars().rev().take(6).collect();
    let tries: Vec<String> = if tail.contains('.') {
        vec![name.clone()]
    } else {
        vec![
            name.clone(),
            format!("{name}.conf"),
            format!("{name}.local"),
        ]
    };
    let config = PathBuf::from(config);
    for t in tries {
        let (file, basedir) = if !t.contains('/') {
            let fd = if config.file_name().is_some_and(|f| f == "filter.d") {
                config.join(&t)
            } else {
                config.join("filter.d").join(&t)
            };
            (fd, config.clone())
        } else {
            let f = PathBuf::from(&t);
            let d = f.parent().map(Path::to_path_buf).unwrap_or_default();
            (f, d)
        };
        if !file.is_file() {
            continue;
        }
        let standard = basedir == config
            || basedir.file_name().is_some_and(|f| f == "filter.d")
            || (!tail.contains('.') && !name.contains('/'));
        if standard {
            let basedir = if basedir.file_name().is_some_and(|f| f == "filter.d") {
                basedir.parent().map(Path::to_path_buf).unwrap_or_default()
            } else {
                basedir
            };
            let stem = Path::new(&name)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or(name.clone());
            return Ok(Source::File {
                name: stem,
                args,
                basedir: Some(basedir),
            });
        }
        let abs = std::path::absolute(&file).unwrap_or(file);
        return Ok(Source::File {
            name: abs.display().to_string(),
            args,
            basedir: None,
        });
    }
    Ok(Source::Line(value.to_string()))
}

impl Run {
    /// Reads REGEX (and IGNOREREGEX) into the filter options and stats.
    pub(super) fn read_regex(
        &mut self,
        value: &str,
        fail: bool,
        out: &mut impl Write,
    ) -> Result<(), String> {
        let source = if fail {
            resolve(value, &self.opts.config)?
        } else {
            Source::Line(value.to_string())
        };
        match source {
            Source::Line(r) => {
                let kind = if fail { "failregex" } else { "ignoreregex" };
                self.say(out, format!("Use {kind:>11} line : {}", shortstr(&r)));
                if fail {
                    self.fo.failregex = vec![r.clone()];
                    self.report.failregex = vec![Stat::new(&r)];
                } else {
                    self.fo.ignoreregex.push(r.clone());
                    self.report.ignoreregex.push(Stat::new(&r));
                }
            }
            Source::Jail { name, args } => self.read_jail(value, &name, &args, out)?,
            Source::File {
                name,
                args,
                basedir,
            } => {
                match &basedir {
                    Some(b) => self.say(
                        out,
                        format!("Use      filter file : {name}, basedir: {}", b.display()),
                    ),
                    None => self.say(out, format!("Use      filter file : {name}")),
                }
                if !args.is_empty() {
                    let parts: Vec<String> = args
                        .iter()
                        .map(|(k, v)| format!("{}: {}", py_str(k), py_str(v)))
                        .collect();
                    self.say(
                        out,
                        format!("Use   filter options : {{{}}}", parts.join(", ")),
                    );
                }
                let confdir = basedir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(&self.opts.config));
                let def =
                    ironban_config::read_filter(&confdir, &name, &args, &[]).map_err(|e| {
                        format!("Wrong config file: {e}\nERROR: failed to load filter {value}")
                    })?;
                if self.opts.verbose > 1 {
                    // fail2ban-regex `_dumpRealOptions`: logtype, datepattern
                    // and the options given in `name[...]`.
                    let mut keys: Vec<&str> = vec!["logtype", "datepattern"];
                    keys.extend(args.iter().map(|(k, _)| k.as_str()));
                    let mut seen = Vec::new();
                    let mut parts = Vec::new();
                    for k in keys {
                        if seen.contains(&k) {
                            continue;
                        }
                        seen.push(k);
                        if let Some((_, v)) = def.options.iter().find(|(n, _)| n == k) {
                            parts.push(format!("{}: {}", report::py_repr(k), report::py_repr(v)));
                        }
                    }
                    self.say(
                        out,
                        format!("Real  filter options : {{{}}}", parts.join(", ")),
                    );
                }
                self.fo.origin = Some(def.file.display().to_string());
                self.fo.prefregex = def.prefregex.clone();
                if let Some(m) = def.maxlines {
                    self.set_maxlines(m, out);
                }
                self.report.failregex = def.failregex.iter().map(|r| Stat::new(r)).collect();
                self.fo.failregex = def.failregex.clone();
                self.report.ignoreregex = def.ignoreregex.iter().map(|r| Stat::new(r)).collect();
                self.fo.ignoreregex = def.ignoreregex.clone();
                if let Some(d) = &def.datepattern {
                    self.set_datepattern(d, out)?;
                }
                // Each `addjournalmatch` replaces the last: the last line wins.
                if let Some(m) = def.journalmatch.last() {
                    self.set_journalmatch(
                        ironban_config::options::shlex_split(m).unwrap_or_default(),
                    );
                }
            }
        }
        Ok(())
    }

    /// The filter's journal match, unless `-m` gave one.
    fn set_journalmatch(&mut self, m: Vec<String>) {
        if self.opts.journalmatch.is_none() {
            self.journalmatch = m;
        }
    }

    /// REGEX names a jail (fail2ban-regex 1.1): its filter with the jail's
    /// arguments, and the filter options the jail streams.
    fn read_jail(
        &mut self,
        value: &str,
        name: &str,
        args: &[(String, String)],
        out: &mut impl Write,
    ) -> Result<(), String> {
        self.say(out, format!("Use {:11} jail : {name}", ""));
        if !args.is_empty() {
            self.say(
                out,
                format!("Use jail/flt options : {}", py_dict_pairs(args)),
            );
        }
        let backend = if self.opts.args[0].starts_with("systemd-journal") {
            "systemd"
        } else {
            "auto"
        };
        let mut add = args.to_vec();
        add.retain(|(k, _)| k != "backend");
        add.push(("backend".to_string(), backend.to_string()));
        let jail = match jail::read(Path::new(&self.opts.config), name, &add) {
            Ok(Some(j)) => j,
            Ok(None) => return Err(format!("Failed to get jail for {}", py_str(value))),
            Err(jail::JailError::Read(e)) => {
                return Err(format!(
                    "Wrong filter name or options: {e}\n       while parsing: {value}"
                ))
            }
            Err(jail::JailError::Def(e)) => {
                eprintln!("ERROR: jail {name}: {e}");
                return Err(format!("Failed to get jail for {}", py_str(value)));
            }
        };
        if self.opts.verbose > 1 {
            // `_dumpRealOptions` on a jail: logtype, datepattern and the
            // given options (with `backend`), from the filter, else the jail.
            let mut parts = Vec::new();
            let mut keys: Vec<&str> = vec!["logtype", "datepattern"];
            keys.extend(add.iter().map(|(k, _)| k.as_str()));
            for (i, k) in keys.iter().enumerate() {
                if keys[..i].contains(k) {
                    continue;
                }
                let v = jail
                    .filter_options
                    .get(k)
                    .or_else(|| jail.jail_options.get(k));
                if let Some(v) = v.filter(|v| **v != ironban_config::Value::None) {
                    parts.push(format!("{}: {}", py_str(k), v.repr()));
                }
            }
            self.say(
                out,
                format!("Real  filter options : {{{}}}", parts.join(", ")),
            );
        }
        self.fo.failregex.clear();
        self.report.failregex.clear();
        for cmd in &jail.commands {
            let (Some(op), Some(key)) = (
                cmd.first().and_then(|v| v.as_str()),
                cmd.get(2).and_then(|v| v.as_str()),
            ) else {
                continue;
            };
            // `set` carries its values as the rest, `multi-set` as one list.
            let values: Vec<String> = match (op, cmd.get(3)) {
                ("multi-set", Some(ironban_config::Value::List(l))) => {
                    l.iter().map(|v| v.to_string()).collect()
                }
                ("set", _) => cmd[3..].iter().map(|v| v.to_string()).collect(),
                _ => continue,
            };
            match key {
                "prefregex" => self.fo.prefregex = values.last().cloned(),
                "addfailregex" => {
                    for r in values {
                        self.report.failregex.push(Stat::new(&r));
                        self.fo.failregex.push(r);
                    }
                }
                "addignoreregex" => {
                    for r in values {
                        self.report.ignoreregex.push(Stat::new(&r));
                        self.fo.ignoreregex.push(r);
                    }
                }
                "maxlines" => {
                    for v in values {
                        let n = v.trim().parse::<u32>().map_err(|e| {
                            format!("Invalid value for maxlines ('{v}') read from {value}: {e}")
                        })?;
                        self.set_maxlines(n, out);
                    }
                }
                "datepattern" => {
                    for v in values {
                        self.set_datepattern(&v, out)?;
                    }
                }
                "addjournalmatch" => self.set_journalmatch(values),
                _ => {}
            }
        }
        Ok(())
    }
}

/// Python `repr()` of a `dict` of str.
fn py_dict_pairs(args: &[(String, String)]) -> String {
    let parts: Vec<String> = args
        .iter()
        .map(|(k, v)| format!("{}: {}", py_str(k), py_str(v)))
        .collect();
    format!("{{{}}}", parts.join(", "))
}
