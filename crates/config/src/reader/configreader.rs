//! What every reader shares (fail2ban `configreader.py`): which files make up
//! a name, typed option lookup with defaults, and the `[Definition]`/`[Init]`
//! logic of filter and action files (`DefinitionInitConfigReader`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Level, Load, SubstKey, Substituted};
use crate::error::{Error, ErrorKind};
use crate::include::{split_conditional, ConfigParser};
use crate::interpolate::{substitute_recursive_tags, Vars};
use crate::omap::OMap;
use crate::stream::{str_repr, Value};

const LOGGER: &str = "fail2ban.configreader";

/// `<base>/<name>.conf`, `sorted(<base>/<name>.d/*.conf)`, `<base>/<name>.local`,
/// `sorted(<base>/<name>.d/*.local)`, keeping only existing files.
pub fn config_files(basedir: &Path, name: &str) -> Vec<PathBuf> {
    let base = basedir.join(name).to_string_lossy().into_owned();
    let mut files = vec![PathBuf::from(format!("{base}.conf"))];
    files.extend(sorted_glob(&format!("{base}.d"), ".conf"));
    files.push(PathBuf::from(format!("{base}.local")));
    files.extend(sorted_glob(&format!("{base}.d"), ".local"));
    files.into_iter().filter(|f| f.exists()).collect()
}

/// Python `sorted(glob.glob(dir + "/*" + ext))`: no hidden files.
fn sorted_glob(dir: &str, ext: &str) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && n.ends_with(ext))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    names.sort();
    names.into_iter().map(PathBuf::from).collect()
}

/// Reads `name` (`jail`, `filter.d/sshd`, ...) once per load, as fail2ban's
/// shared `ConfigReader.read` does; `None` (logged once) if no file exists.
///
/// # Errors
/// The config dir does not exist; a file does not parse.
pub fn read_named(load: &mut Load, name: &str) -> Result<Option<Arc<ConfigParser>>, Error> {
    if let Some(p) = load.parsers.get(name) {
        return Ok(p.clone());
    }
    if !load.basedir.exists() {
        return Err(Error::new(ErrorKind::NoBaseDir(load.basedir_str())));
    }
    let files = config_files(&load.basedir, name);
    let parser = if files.is_empty() {
        None
    } else {
        let mut cp = ConfigParser::default();
        let read = cp.read(&mut load.cache, &files)?;
        (!read.is_empty()).then(|| Arc::new(cp))
    };
    if parser.is_none() {
        let msg = format!(
            "Found no accessible config files for {} under {}",
            str_repr(name),
            load.basedir_str()
        );
        load.log(LOGGER, Level::Error, msg);
    }
    load.parsers.insert(name.to_string(), parser.clone());
    Ok(parser)
}

/// Reads one explicit file (plus its `.local` and includes), as
/// `readexplicit` does for fail2ban-regex.
///
/// # Errors
/// A file does not parse, or nothing could be read.
pub fn read_explicit(load: &mut Load, path: &Path) -> Result<Arc<ConfigParser>, Error> {
    let key = format!("explicit:{}", path.display());
    if let Some(Some(p)) = load.parsers.get(&key) {
        return Ok(p.clone());
    }
    let mut cp = ConfigParser::default();
    let read = cp.read(&mut load.cache, &[path.to_path_buf()])?;
    if read.is_empty() {
        return Err(Error::new(ErrorKind::NoConfigFiles {
            name: path.display().to_string(),
            basedir: load.basedir_str(),
        }));
    }
    let p = Arc::new(cp);
    load.parsers.insert(key, Some(p.clone()));
    Ok(p)
}

/// The type of a known option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptType {
    /// A string, kept as read.
    Str,
    /// fail2ban's `_as_bool`.
    Bool,
    /// Python `int()`.
    Int,
}

/// One known option: type, name, default (`None`: absent unless defined).
#[derive(Debug, Clone)]
pub struct OptSpec {
    /// Type.
    pub ty: OptType,
    /// Name.
    pub name: &'static str,
    /// Default when not defined; `None` means "leave it out".
    pub default: Option<Value>,
}

/// Shorthand for an [`OptSpec`].
pub const fn spec(ty: OptType, name: &'static str, default: Option<Value>) -> OptSpec {
    OptSpec { ty, name, default }
}

/// fail2ban's `_as_bool` for strings.
pub fn as_bool(s: &str) -> bool {
    matches!(s.to_lowercase().as_str(), "1" | "on" | "true" | "yes")
}

/// Python `int(s)` for strings: surrounding whitespace, sign and `_` between
/// digits allowed.
pub fn python_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    let v: i64 = digits.replace('_', "").parse().ok()?;
    Some(if neg { -v } else { v })
}

/// Converts `v` to `ty`; `None` for a bad int.
pub fn convert(ty: OptType, v: &str) -> Option<Value> {
    match ty {
        OptType::Str => Some(Value::str(v)),
        OptType::Bool => Some(Value::Bool(as_bool(v))),
        OptType::Int => python_int(v).map(Value::Int),
    }
}

/// Python's `repr()` of an optional default.
fn repr_default(d: &Option<Value>) -> String {
    d.as_ref().map(Value::repr).unwrap_or_else(|| "None".into())
}

/// fail2ban's `ConfigReaderUnshared.getOptions`: reads each of `specs` from
/// `section` (skipping names present in `p_opts`, which are also the
/// interpolation vars), converting types when `convert` is set. A missing
/// option takes its default; a missing section logs an error and takes the
/// defaults (or fails when `should_exist`); a bad int warns and takes the
/// default.
///
/// # Errors
/// Interpolation errors, and a missing section when `should_exist`.
pub fn get_options(
    load: &mut Load,
    cp: &ConfigParser,
    section: &str,
    specs: &[OptSpec],
    p_opts: &Vars,
    should_exist: bool,
    convert_types: bool,
) -> Result<OMap<Value>, Error> {
    read_options(
        load,
        cp,
        None,
        section,
        specs,
        p_opts,
        should_exist,
        convert_types,
    )
}

/// [`get_options`]; with `shared` (the same parser, shared for the load),
/// through [`Load::shared_get`].
#[allow(clippy::too_many_arguments)]
fn read_options(
    load: &mut Load,
    cp: &ConfigParser,
    shared: Option<&Arc<ConfigParser>>,
    section: &str,
    specs: &[OptSpec],
    p_opts: &Vars,
    should_exist: bool,
    convert_types: bool,
) -> Result<OMap<Value>, Error> {
    let mut values = OMap::new();
    for s in specs {
        if p_opts.contains_key(s.name) {
            continue;
        }
        let got = match shared {
            Some(arc) => load.shared_get(arc, section, s.name, p_opts),
            None => cp.get(section, s.name, p_opts),
        };
        match got {
            Ok(v) => {
                if !convert_types {
                    values.insert(s.name, Value::Str(v));
                    continue;
                }
                match convert(s.ty, &v) {
                    Some(c) => values.insert(s.name, c),
                    None => {
                        load.log(
                            LOGGER,
                            Level::Warning,
                            format!(
                                "Wrong value for '{}' in '{}'. Using default one: '{}'",
                                s.name,
                                section,
                                repr_default(&s.default)
                            ),
                        );
                        values.insert(s.name, s.default.clone().unwrap_or(Value::None));
                    }
                }
            }
            Err(e) => match e.kind {
                ErrorKind::NoSection(_) => {
                    if should_exist {
                        return Err(e);
                    }
                    load.log(LOGGER, Level::Error, e.kind.to_string());
                    values.insert(s.name, s.default.clone().unwrap_or(Value::None));
                }
                ErrorKind::NoOption { .. } => {
                    if let Some(d) = &s.default {
                        load.log(
                            LOGGER,
                            Level::Debug,
                            format!(
                                "'{}' not defined in '{}'. Using default one: {}",
                                s.name,
                                section,
                                d.repr()
                            ),
                        );
                        values.insert(s.name, d.clone());
                    }
                }
                _ => return Err(e),
            },
        }
    }
    Ok(values)
}

/// Python `dict(x, **y)`: `y` wins, `x` order first.
pub fn merge_vars(x: &Vars, y: &OMap<String>) -> Vars {
    let mut r = x.clone();
    r.update(y);
    r
}

/// Values as interpolation vars: Python `str()` of each, `None` left out.
pub fn to_vars(opts: &OMap<Value>) -> Vars {
    opts.iter()
        .filter(|(_, v)| **v != Value::None)
        .map(|(k, v)| (k.to_lowercase(), v.to_string()))
        .collect()
}

/// fail2ban's `DefinitionInitConfigReader`: a filter or action file with
/// `[Definition]` and `[Init]`, read for one jail with the jail's `name[...]`
/// arguments.
#[derive(Debug)]
pub struct DefinitionInit {
    /// The parser of the file set.
    pub cp: Arc<ConfigParser>,
    /// The jail it is read for.
    pub jail: String,
    /// Init options: `name[...]` arguments, then `[Init]` values and their
    /// `known/` copies.
    pub init_opts: OMap<String>,
    /// Known `[Definition]` options read by the last `get_options`.
    pub opts: OMap<Option<String>>,
    /// The vars of the last `get_options`.
    pub p_opts: Vars,
    def_cache: crate::omap::FastMap<String, Option<String>>,
    config_opts: &'static [OptSpec],
}

impl DefinitionInit {
    /// A reader over `cp` for `jail`, with the `name[...]` arguments `init_opts`.
    pub fn new(
        cp: Arc<ConfigParser>,
        jail: &str,
        init_opts: OMap<String>,
        config_opts: &'static [OptSpec],
    ) -> DefinitionInit {
        DefinitionInit {
            cp,
            jail: jail.to_string(),
            init_opts,
            opts: OMap::new(),
            p_opts: OMap::new(),
            def_cache: Default::default(),
            config_opts,
        }
    }

    /// `getOptions(pOpts, all)`: reads the known `[Definition]` options not
    /// given in `p_opts`/init options, then collects `[Init]`; with `all`, also
    /// every other own `[Definition]` option.
    ///
    /// # Errors
    /// Interpolation errors.
    pub fn get_options(&mut self, load: &mut Load, p_opts: &Vars, all: bool) -> Result<(), Error> {
        let p_opts = merge_vars(p_opts, &self.init_opts);
        let cp = self.cp.clone();
        let read = read_options(
            load,
            &cp,
            Some(&cp),
            "Definition",
            self.config_opts,
            &p_opts,
            false,
            false,
        )?;
        self.opts = read
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_str().map(str::to_string)))
            .collect();
        self.p_opts = p_opts;
        if cp.has_section("Init") {
            for opt in cp.own_options("Init") {
                if opt == "__name__" {
                    continue;
                }
                let mut v: Option<String> = None;
                if !opt.starts_with("known/") {
                    let got = load.shared_get(&cp, "Init", &opt, &OMap::new())?;
                    self.init_opts.insert(format!("known/{opt}"), got.clone());
                    v = Some(got);
                }
                if !self.init_opts.contains_key(&opt) {
                    let got = match v {
                        Some(v) => v,
                        None => load.shared_get(&cp, "Init", &opt, &OMap::new())?,
                    };
                    self.init_opts.insert(opt.clone(), got);
                }
            }
        }
        if all && cp.has_section("Definition") {
            for opt in cp.own_options("Definition") {
                if opt == "__name__" || self.opts.contains_key(&opt) {
                    continue;
                }
                let v = load.shared_get(&cp, "Definition", &opt, &OMap::new())?;
                self.opts.insert(opt, Some(v));
            }
        }
        Ok(())
    }

    /// `getCombOption`: a `[Definition]` value (or `sec/opt`) by name, for
    /// `<tag>` substitution; `None` if there is none.
    fn comb_option(&mut self, load: &mut Load, name: &str) -> Result<Option<String>, Error> {
        if let Some(v) = self.def_cache.get(name) {
            return Ok(v.clone());
        }
        // `sec/opt` names read other sections without vars: not remembered.
        let got = if name.contains('/') {
            self.cp.get_ex("Definition", name, &self.p_opts)
        } else {
            load.shared_get(&self.cp, "Definition", name, &self.p_opts)
        };
        let v = match got {
            Ok(v) => Some(v),
            Err(e) if e.is_missing() => None,
            Err(e) => return Err(e),
        };
        self.def_cache.insert(name.to_string(), v.clone());
        Ok(v)
    }

    /// `substituteRecursiveTags` over `combined`, remembered for the load:
    /// fifty jails with `filter = sshd` substitute the same options of the
    /// same file, and that substitution was most of reading the config.
    ///
    /// A remembered result is reused only when the input is the same and
    /// every `[Definition]` lookup the substitution made (its only other
    /// input) answers the same for this reader now; those lookups are made
    /// again here, in the same order, so `def_cache` ends as it would.
    fn substitute(
        &mut self,
        load: &mut Load,
        combined: OMap<Option<String>>,
        ignore: Vec<String>,
    ) -> Result<OMap<Option<String>>, Error> {
        let key = SubstKey {
            cp: Arc::as_ptr(&self.cp) as usize,
            combined,
            ignore,
        };
        // Taken out while its lookups are made again (they read `load`).
        let mut done = load.substituted.remove(&key).unwrap_or_default();
        let mut hit = None;
        'search: for (i, d) in done.iter().enumerate() {
            for (name, answer) in &d.lookups {
                match self.comb_option(load, name) {
                    Ok(v) if v == *answer => {}
                    Ok(_) => continue 'search,
                    Err(e) => {
                        load.substituted.insert(key, done);
                        return Err(e);
                    }
                }
            }
            hit = Some(i);
            break;
        }
        if let Some(i) = hit {
            let result = done[i].result.clone();
            load.substituted.insert(key, done);
            return Ok(result);
        }
        let mut lookups = Vec::new();
        let result = substitute_recursive_tags(&key.combined, &key.ignore, |t| {
            let v = self.comb_option(load, t)?;
            lookups.push((t.to_string(), v.clone()));
            Ok(v)
        });
        let result = match result {
            Ok(r) => r,
            Err(e) => {
                load.substituted.insert(key, done);
                return Err(e);
            }
        };
        done.push(Substituted {
            lookups,
            result: result.clone(),
        });
        load.substituted.insert(key, done);
        Ok(result)
    }

    /// `getCombined(ignore)`: Definition options plus init options, with
    /// `<tag>`s substituted (conditional options' base names are left alone)
    /// and known options converted to their types.
    ///
    /// # Errors
    /// Interpolation errors and self-referencing tags.
    pub fn get_combined(&mut self, load: &mut Load, ignore: &[&str]) -> Result<OMap<Value>, Error> {
        let mut combined = self.opts.clone();
        for (k, v) in self.init_opts.iter() {
            combined.insert(k, Some(v.clone()));
        }
        if combined.is_empty() {
            return Ok(OMap::new());
        }
        let mut ignore: Vec<String> = ignore.iter().map(|s| s.to_string()).collect();
        for k in combined.keys() {
            if let Some((base, _)) = split_conditional(k) {
                ignore.push(base.to_string());
            }
        }
        let opts = self.substitute(load, combined, ignore)?;
        let mut out: OMap<Value> = opts.map_values(|v| v.map(Value::Str).unwrap_or(Value::None));
        for s in self.config_opts {
            if s.ty == OptType::Str {
                continue;
            }
            let Some(Value::Str(v)) = out.get(s.name).cloned() else {
                continue;
            };
            match convert(s.ty, &v) {
                Some(c) => out.insert(s.name, c),
                None => {
                    load.log(
                        LOGGER,
                        Level::Warning,
                        format!(
                            "Wrong {} value {} for {}. Using default one: {}",
                            if s.ty == OptType::Int { "int" } else { "bool" },
                            str_repr(&v),
                            str_repr(s.name),
                            repr_default(&s.default)
                        ),
                    );
                    out.insert(s.name, s.default.clone().unwrap_or(Value::None));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_int_like_python() {
        assert_eq!(python_int(" 5 "), Some(5));
        assert_eq!(python_int("-1"), Some(-1));
        assert_eq!(python_int("1_000"), Some(1000));
        assert_eq!(python_int("5.0"), None);
        assert_eq!(python_int(""), None);
        assert!(as_bool("Yes") && as_bool("1") && !as_bool("false") && !as_bool("y"));
    }

    /// `Load::shared_get` answers what `ConfigParser::get` answers: a var
    /// the value looks up changes it, other vars do not, a missing one is
    /// an error each time.
    #[test]
    fn shared_get_is_get() {
        let text =
            "[Definition]\n_daemon = sshd\nfailregex = ^%(_daemon)s: %(user)s from <HOST>$\n";
        let file = crate::ini::parse(Arc::new(PathBuf::from("f.conf")), text).unwrap();
        let cp = Arc::new(ConfigParser::from_file(&file));
        let mut load = Load::new(Path::new("/nonexistent"));
        let vars = |pairs: &[(&str, &str)]| -> Vars {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let cases = [
            vars(&[("user", "a")]),
            vars(&[("user", "b")]),
            vars(&[("user", "a"), ("name", "j2")]),
            vars(&[("user", "a"), ("_daemon", "dropbear")]),
            vars(&[]),
            vars(&[("user", "a")]),
        ];
        for v in &cases {
            let want = cp.get("Definition", "failregex", v).ok();
            let got = load.shared_get(&cp, "Definition", "failregex", v).ok();
            assert_eq!(got, want, "vars {v:?}");
        }
        assert_eq!(
            load.shared_get(&cp, "Definition", "failregex", &cases[3])
                .ok()
                .as_deref(),
            Some("^dropbear: a from <HOST>$")
        );
    }
}
