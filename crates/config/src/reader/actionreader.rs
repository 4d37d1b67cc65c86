//! An action file (`action.d/<name>.conf` and friends) read for one jail
//! (fail2ban `actionreader.py`), and its `addaction` + `multi-set` commands.

use std::sync::Arc;

use super::configreader::{spec, DefinitionInit, OptSpec, OptType};
use super::Load;
use crate::error::Error;
use crate::include::ConfigParser;
use crate::interpolate::Vars;
use crate::omap::OMap;
use crate::stream::{Command, Value};

/// The options an action defines for the server, in fail2ban's order.
pub static ACTION_OPTS: &[OptSpec] = &[
    spec(OptType::Str, "actionstart", None),
    spec(OptType::Bool, "actionstart_on_demand", None),
    spec(OptType::Str, "actionstop", None),
    spec(OptType::Str, "actionflush", None),
    spec(OptType::Str, "actionreload", None),
    spec(OptType::Str, "actioncheck", None),
    spec(OptType::Str, "actionrepair", None),
    spec(OptType::Bool, "actionrepair_on_unban", None),
    spec(OptType::Str, "actionban", None),
    spec(OptType::Str, "actionprolong", None),
    spec(OptType::Str, "actionreban", None),
    spec(OptType::Str, "actionunban", None),
    spec(OptType::Bool, "norestored", None),
];

/// Tags left for the server to fill at ban time (`CommandAction._escapedTags`
/// plus `timeout` and `bantime`).
const RUNTIME_TAGS: &[&str] = &[
    "matches",
    "ipmatches",
    "ipjailmatches",
    "timeout",
    "bantime",
];

fn is_action_opt(name: &str) -> bool {
    ACTION_OPTS.iter().any(|s| s.name == name)
}

/// fail2ban's `ActionReader`.
#[derive(Debug)]
pub struct ActionReader {
    /// The `[Definition]`/`[Init]` logic.
    pub def: DefinitionInit,
    /// The action's name in the jail (`actname`).
    pub actname: String,
}

impl ActionReader {
    /// A reader over the parsed action files `cp` of `file` (the name on the
    /// jail's action line) for `jail`, with the `name[...]` arguments. `name`
    /// defaults to the jail; `actname` to `file`, suffixed when `name` differs
    /// from the jail so it stays unique.
    pub fn new(
        cp: Arc<ConfigParser>,
        file: &str,
        jail: &str,
        mut args: OMap<String>,
    ) -> ActionReader {
        let n = match args.get("name") {
            Some(n) => n.clone(),
            None => {
                args.insert("name", jail.to_string());
                jail.to_string()
            }
        };
        let actname = match args.get("actname") {
            Some(a) => a.clone(),
            None => {
                let mut a = file.to_string();
                if n != jail {
                    match n.strip_prefix(jail) {
                        Some(rest) => a.push_str(rest),
                        None => {
                            a.push('-');
                            a.push_str(&n);
                        }
                    }
                }
                args.insert("actname", a.clone());
                a
            }
        };
        ActionReader {
            def: DefinitionInit::new(cp, jail, args, ACTION_OPTS),
            actname,
        }
    }

    /// `getOptions(pOpts)`.
    ///
    /// # Errors
    /// Interpolation errors.
    pub fn get_options(&mut self, load: &mut Load, p_opts: &Vars) -> Result<(), Error> {
        self.def.get_options(load, p_opts, false)
    }

    /// The `[key, value]` pairs of the action's `multi-set`: known options
    /// after tag substitution, then every other init option raw (including
    /// `?family=` variants, without `known/*`).
    ///
    /// # Errors
    /// Interpolation errors, self-referencing tags.
    pub fn properties(&mut self, load: &mut Load) -> Result<Vec<(String, Value)>, Error> {
        let opts = self.def.get_combined(load, RUNTIME_TAGS)?;
        let mut multi = Vec::new();
        for (opt, v) in opts.iter() {
            if is_action_opt(opt) && !opt.starts_with("known/") {
                multi.push((opt.to_string(), v.clone()));
            }
        }
        for (opt, v) in self.def.init_opts.iter() {
            if !is_action_opt(opt) && !opt.starts_with("known/") {
                multi.push((opt.to_string(), Value::str(v.clone())));
            }
        }
        Ok(multi)
    }

    /// `convert()`: `addaction` and the `multi-set` (or `set` for one pair).
    ///
    /// # Errors
    /// As [`properties`](Self::properties).
    pub fn convert(&mut self, load: &mut Load) -> Result<Vec<Command>, Error> {
        let multi = self.properties(load)?;
        let jail = Value::str(self.def.jail.clone());
        let name = Value::str(self.actname.clone());
        let mut stream = vec![vec![
            Value::str("set"),
            jail.clone(),
            Value::str("addaction"),
            name.clone(),
        ]];
        if multi.len() > 1 {
            let list = multi
                .into_iter()
                .map(|(k, v)| Value::List(vec![Value::Str(k), v]))
                .collect();
            stream.push(vec![
                Value::str("multi-set"),
                jail,
                Value::str("action"),
                name,
                Value::List(list),
            ]);
        } else if let Some((k, v)) = multi.into_iter().next() {
            stream.push(vec![
                Value::str("set"),
                jail,
                Value::str("action"),
                name,
                Value::Str(k),
                v,
            ]);
        }
        Ok(stream)
    }
}
