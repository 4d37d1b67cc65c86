//! One filter or one action read on its own, for the crates that run them
//! (the filter engine, the action runner, `fail2ban-regex`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, ErrorKind};
use crate::include::ConfigParser;
use crate::interpolate::Vars;
use crate::omap::OMap;
use crate::reader::actionreader::ActionReader;
use crate::reader::configreader::{config_files, read_explicit, read_named};
use crate::reader::filterreader::{split_regexes, FilterReader};
use crate::reader::Load;
use crate::stream::Value;

/// A filter as fail2ban streams it to the server.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterDefinition {
    /// The main `.conf` (or the given path).
    pub file: PathBuf,
    /// `prefregex`, raw (`<HOST>` & co not expanded).
    pub prefregex: Option<String>,
    /// One regex per non-empty line of `failregex`.
    pub failregex: Vec<String>,
    /// One regex per non-empty line of `ignoreregex`.
    pub ignoreregex: Vec<String>,
    /// `maxlines`.
    pub maxlines: Option<u32>,
    /// `datepattern`.
    pub datepattern: Option<String>,
    /// One entry per non-empty line of `journalmatch` (not shell-split).
    pub journalmatch: Vec<String>,
    /// Every resolved `[Definition]` and `[Init]` option (after arguments
    /// and `<tag>` substitution), e.g. `logtype`, `mode`, `usedns`.
    pub options: Vec<(String, String)>,
}

/// An action as fail2ban streams it to the server.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionDefinition {
    /// The main `.conf` (or the given path).
    pub file: PathBuf,
    /// The action's name in the jail, e.g. `iptables-multiport`.
    pub actname: String,
    /// The `[key, value]` pairs of the stream's `multi-set` action command,
    /// in order, values as Python `str()` (`True`, `None`).
    pub options: Vec<(String, String)>,
    /// The same pairs with their exact stream values (bools stay bools).
    pub values: Vec<(String, Value)>,
}

fn is_path(name: &str) -> bool {
    name.contains('/') || name.ends_with(".conf") || name.ends_with(".local")
}

fn to_map(pairs: &[(String, String)]) -> OMap<String> {
    pairs.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn to_lower_vars(pairs: &[(String, String)]) -> Vars {
    pairs
        .iter()
        .map(|(k, v)| (k.to_lowercase(), v.clone()))
        .collect()
}

fn open(
    load: &mut Load,
    kind: &str,
    name_or_path: &str,
) -> Result<(Arc<ConfigParser>, PathBuf), Error> {
    if is_path(name_or_path) {
        let p = PathBuf::from(name_or_path);
        let cp = read_explicit(load, &p)?;
        return Ok((cp, p));
    }
    let name = format!("{kind}/{name_or_path}");
    let files = config_files(&load.basedir, &name);
    match read_named(load, &name)? {
        Some(cp) => Ok((cp, files.into_iter().next().unwrap_or_default())),
        None => Err(Error::new(ErrorKind::NoConfigFiles {
            name,
            basedir: load.basedir_str(),
        })),
    }
}

/// Reads a filter the way fail2ban's `FilterReader` does for a jail.
///
/// `name_or_path` is a filter name (`<confdir>/filter.d/<name>.conf`, with
/// `.d/` and `.local`) or a path to a `.conf` file (its `.local` is read
/// too). `args` are the `name[...]` arguments (they override `[Init]`).
/// `jail_opts` are the jail's options visible to the filter (e.g. `logtype`,
/// `backend`); a filter option among them (e.g. `failregex`) replaces the
/// filter's own, as a jail's does in fail2ban.
///
/// # Errors
/// No such filter, a file that does not parse, interpolation errors.
pub fn read_filter(
    confdir: &Path,
    name_or_path: &str,
    args: &[(String, String)],
    jail_opts: &[(String, String)],
) -> Result<FilterDefinition, Error> {
    let mut load = Load::new(confdir);
    let (cp, file) = open(&mut load, "filter.d", name_or_path)?;
    let mut reader = FilterReader::new(cp, "", to_map(args));
    let vars = to_lower_vars(jail_opts);
    let backend = vars
        .get("backend")
        .cloned()
        .unwrap_or_else(|| "auto".into());
    reader.apply_auto_options(&backend);
    reader.get_options(&mut load, &vars, false)?;
    let mut combined = reader.get_combined(&mut load)?;
    for (k, v) in vars.iter() {
        if crate::reader::filterreader::is_filter_opt(k) && !combined.contains_key(k) {
            combined.insert(k, Value::str(v.clone()));
        }
    }
    let text = |k: &str| match combined.get(k) {
        None | Some(Value::None) => None,
        Some(v) => Some(v.to_string()),
    };
    let maxlines = match combined.get("maxlines") {
        Some(Value::Int(i)) => u32::try_from(*i).ok(),
        Some(Value::Str(s)) => s.trim().parse().ok(),
        _ => None,
    };
    Ok(FilterDefinition {
        file,
        prefregex: text("prefregex"),
        failregex: text("failregex")
            .map(|v| split_regexes(&v))
            .unwrap_or_default(),
        ignoreregex: text("ignoreregex")
            .map(|v| split_regexes(&v))
            .unwrap_or_default(),
        maxlines,
        datepattern: text("datepattern"),
        journalmatch: text("journalmatch")
            .map(|v| split_regexes(&v))
            .unwrap_or_default(),
        options: combined
            .iter()
            .filter(|(_, v)| **v != Value::None)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    })
}

/// Reads an action the way fail2ban's `ActionReader` does for a jail.
///
/// `name_or_path` as for [`read_filter`] (under `action.d/`). `args` are the
/// `name[...]` arguments. `jail_opts` are the jail's options visible to the
/// action (`port`, `logpath`, ...); the jail's name is taken from a
/// `__name__` entry there (default `jail`), and `name` defaults to it.
///
/// # Errors
/// No such action, a file that does not parse, interpolation errors.
pub fn read_action(
    confdir: &Path,
    name_or_path: &str,
    args: &[(String, String)],
    jail_opts: &[(String, String)],
) -> Result<ActionDefinition, Error> {
    let mut load = Load::new(confdir);
    let (cp, file) = open(&mut load, "action.d", name_or_path)?;
    let jail = jail_opts
        .iter()
        .find(|(k, _)| k == "__name__")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| "jail".to_string());
    let stem = if is_path(name_or_path) {
        Path::new(name_or_path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        name_or_path.to_string()
    };
    let vars: Vars = to_lower_vars(jail_opts)
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let mut reader = ActionReader::new(cp, &stem, &jail, to_map(args));
    reader.get_options(&mut load, &vars)?;
    let values = reader.properties(&mut load)?;
    Ok(ActionDefinition {
        file,
        actname: reader.actname.clone(),
        options: values
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect(),
        values,
    })
}
