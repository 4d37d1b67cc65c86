//! REGEX naming a jail: fail2ban-regex 1.1 reads the jail from `jail.conf`,
//! `jail.local` and `jail.d/` of the config dir, force-enabled, with the
//! `name[k=v]` arguments (and `backend`) laid over both the jail's options
//! and its filter's arguments, and tests the commands the jail streams.
//!
//! Mirrors fail2ban `client/jailreader.py` `JailReader.getOptions(addOpts)`
//! and `convert(allow_no_files=True)`, as far as fail2ban-regex uses them:
//! the jail's actions are not read (they stream nothing fail2ban-regex
//! looks at), nor its log paths.

use std::path::Path;

use ironban_config::ini::Entry;
use ironban_config::omap::OMap;
use ironban_config::reader::configreader::{
    get_options, read_named, spec, to_vars, OptSpec, OptType,
};
use ironban_config::reader::filterreader::{fill_stream, FilterReader};
use ironban_config::reader::jailreader::{jail_opts, FAIL2BAN_VERSION};
use ironban_config::reader::Load;
use ironban_config::{Command, Value};

/// A jail read for fail2ban-regex.
pub struct Jail {
    /// The filter's commands, then the jail's own filter options
    /// (`prefregex`, `addfailregex`, `maxlines`, `datepattern`, ...).
    pub commands: Vec<Command>,
    /// The filter's resolved options (`logtype`, `mode`, ...), empty for a
    /// jail without filter.
    pub filter_options: OMap<Value>,
    /// The jail's typed options.
    pub jail_options: OMap<Value>,
}

/// Why a jail could not be used.
pub enum JailError {
    /// The jail files do not parse (fail2ban: "Wrong filter name or options").
    Read(String),
    /// The jail is defined wrongly (fail2ban's `JailDefError`: "Failed to get jail").
    Def(String),
}

/// fail2ban-regex's test whether REGEX's name may be a jail: `^[\w/_\-]+$`.
pub fn may_be_jail(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '/' | '-'))
}

/// Whether a jail file of `config` has a section `name` (else fail2ban's
/// `NoJailError`: REGEX is then a filter or a regex).
///
/// # Errors
/// A jail file does not parse.
pub fn exists(config: &Path, name: &str) -> Result<bool, String> {
    let mut load = Load::new(config);
    match read_named(&mut load, "jail") {
        Ok(Some(cp)) => Ok(cp.has_section(name)),
        // No config dir at all: no jail either.
        Ok(None)
        | Err(ironban_config::Error {
            kind: ironban_config::ErrorKind::NoBaseDir(_),
            ..
        }) => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}

/// Reads jail `name` from `config` with the `name[...]` arguments and
/// `backend` in `add_opts`; `Ok(None)` when there is no such jail.
///
/// # Errors
/// [`JailError`].
pub fn read(
    config: &Path,
    name: &str,
    add_opts: &[(String, String)],
) -> Result<Option<Jail>, JailError> {
    let mut load = Load::new(config);
    let read_err = |e: ironban_config::Error| JailError::Read(e.to_string());
    let Some(cp) = read_named(&mut load, "jail").map_err(read_err)? else {
        return Ok(None);
    };
    if !cp.has_section(name) {
        return Ok(None);
    }
    let mut cp = (*cp).clone();
    let basedir = load.basedir_str();
    cp.merge_defaults(&[
        ("fail2ban_version", FAIL2BAN_VERSION),
        ("fail2ban_confpath", basedir.as_str()),
    ]);
    let def_err = |e: ironban_config::Error| JailError::Def(e.to_string());
    let add: OMap<Value> = add_opts
        .iter()
        .map(|(k, v)| (k.clone(), Value::str(v.clone())))
        .collect();
    let first: Vec<OptSpec> = vec![
        spec(OptType::Bool, "enabled", Some(Value::Bool(false))),
        spec(OptType::Str, "backend", Some(Value::str("auto"))),
        spec(OptType::Str, "filter", Some(Value::str(""))),
    ];
    // force_enable: `enabled` is not looked at.
    let mut opts =
        get_options(&mut load, &cp, name, &first, &OMap::new(), true, true).map_err(def_err)?;
    opts.update(&add);
    let flt = opts
        .get("filter")
        .map(|v| v.to_string())
        .unwrap_or_default();
    let mut filter = None;
    if !flt.is_empty() {
        let (fname, mut fargs) = ironban_config::options::extract_options(&flt).map_err(|e| {
            JailError::Def(format!(
                "Invalid filter definition {}: {e}",
                ironban_config::stream::str_repr(&flt)
            ))
        })?;
        for (k, v) in add_opts {
            fargs.insert(k.clone(), v.clone());
        }
        let Some(fcp) = read_named(&mut load, &format!("filter.d/{fname}")).map_err(read_err)?
        else {
            return Err(JailError::Def(format!(
                "Unable to read the filter {}",
                ironban_config::stream::str_repr(&fname)
            )));
        };
        let mut f = FilterReader::new(fcp, name, fargs);
        let backend = opts
            .get("backend")
            .map(|v| v.to_string())
            .unwrap_or_default();
        f.apply_auto_options(&backend);
        f.get_options(&mut load, &to_vars(&opts), true)
            .map_err(def_err)?;
        let combined = f.get_combined(&mut load).map_err(def_err)?;
        let known: OMap<Entry> = combined
            .iter()
            .filter(|(_, v)| **v != Value::None)
            .map(|(k, v)| (k.to_string(), Entry::synthetic(v.to_string())))
            .collect();
        cp.merge_section(name, &known, "known/");
        filter = Some(f);
    }
    let mut opts = get_options(
        &mut load,
        &cp,
        name,
        &jail_opts(),
        &OMap::new(),
        false,
        true,
    )
    .map_err(def_err)?;
    opts.update(&add);
    let mut commands = Vec::new();
    let mut filter_options = OMap::new();
    if let Some(f) = &mut filter {
        f.get_options(&mut load, &to_vars(&opts), false)
            .map_err(def_err)?;
        filter_options = f.get_combined(&mut load).map_err(def_err)?;
        commands.extend(f.convert(&mut load).map_err(def_err)?);
    }
    fill_stream(&mut commands, &opts, name).map_err(def_err)?;
    Ok(Some(Jail {
        commands,
        filter_options,
        jail_options: opts,
    }))
}
