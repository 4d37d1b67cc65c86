//! `CommandAction`: an action made of shell commands (fail2ban: server/
//! action.py `CommandAction`, lines 288-1010; internals §E.2).
//!
//! The action is built from the pairs of the stream's
//! `['multi-set', jail, 'action', name, [[key, value], ...]]`. Commands are
//! rendered from those properties ([`crate::tags`]) with the conditional
//! `family=inet4|inet6` and run through an [`Executor`]. The bookkeeping of
//! started families, on-demand start, cross-family de-duplication and the
//! check/repair/retry path follow fail2ban step by step, so the same calls
//! produce the same command sequence.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::duration::str2seconds;
use crate::error::{Error, Result};
use crate::exec::{Execution, Executor, Op};
use crate::tags::{self, DynamicTags, FamilyOnly, HostNames, Properties, ShellCommand};

/// Properties every `CommandAction` has before the stream sets any
/// (fail2ban: `clearAllParams` plus the `banEpoch` attribute).
const DEFAULTS: [(&str, &str); 11] = [
    ("actionban", ""),
    ("actioncheck", ""),
    ("actionflush", ""),
    ("actionreban", ""),
    ("actionreload", ""),
    ("actionrepair", ""),
    ("actionstart", ""),
    ("actionstop", ""),
    ("actionunban", ""),
    ("banEpoch", "0"),
    ("timeout", "60"),
];

/// `family` value of a ticket without an IP family, and of family-less
/// start/stop (fail2ban uses `''`).
const NO_FAMILY: &str = "";

fn system_hosts() -> Arc<HostNames> {
    static HOSTS: OnceLock<Arc<HostNames>> = OnceLock::new();
    HOSTS.get_or_init(|| Arc::new(HostNames::system())).clone()
}

/// Python truthiness of a stream value rendered as text; `"false"`, `"no"`,
/// `"off"` and `"0"` are false too (see docs/action.md).
pub fn truthy(v: Option<&str>) -> bool {
    match v {
        None => false,
        Some(s) => !matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "" | "false" | "0" | "no" | "off" | "none"
        ),
    }
}

/// An action of shell commands.
#[derive(Debug, Clone)]
pub struct CommandAction {
    jail: String,
    name: String,
    props: Properties,
    timeout: Duration,
    /// Started families in insertion order with fail2ban's bits:
    /// 1 = started, 2 = holds bans.
    started: Vec<(String, u8)>,
    /// Last successfully executed command per operation and family, for
    /// the cross-family de-duplication (fail2ban: `_operationExecuted`).
    executed: HashMap<Op, Vec<(String, String)>>,
    /// Recursively substituted properties per conditional.
    subst: HashMap<String, Properties>,
    ban_epoch: u64,
    hosts: Arc<HostNames>,
}

impl CommandAction {
    /// Builds an action from the option pairs of the stream's `multi-set`.
    /// `None` is Python's `None` (what fail2ban streams for an option of an
    /// include-only file). Options starting with `_` and `bantime` are
    /// ignored as fail2ban ignores them.
    pub fn new<I>(jail: &str, name: &str, options: I) -> CommandAction
    where
        I: IntoIterator<Item = (String, Option<String>)>,
    {
        let mut a = CommandAction {
            jail: jail.to_string(),
            name: name.to_string(),
            props: DEFAULTS
                .iter()
                .map(|(k, v)| (k.to_string(), Some(v.to_string())))
                .collect(),
            timeout: Duration::from_secs(60),
            started: Vec::new(),
            executed: HashMap::new(),
            subst: HashMap::new(),
            ban_epoch: 0,
            hosts: system_hosts(),
        };
        for (k, v) in options {
            a.set(&k, v);
        }
        a
    }

    /// Builds an action from the stream's values (`ironban_config::Value`):
    /// strings as they are, `True`/`False` and numbers as Python prints them.
    pub fn from_values(
        jail: &str,
        name: &str,
        options: &[(String, ironban_config::Value)],
    ) -> CommandAction {
        use ironban_config::Value;
        let conv = |v: &Value| -> Option<String> {
            match v {
                Value::None => None,
                Value::Str(s) => Some(s.clone()),
                Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
                other => Some(other.repr()),
            }
        };
        CommandAction::new(
            jail,
            name,
            options.iter().map(|(k, v)| (k.clone(), conv(v))),
        )
    }

    /// Uses these host names for `<fq-hostname>`/`<sh-hostname>`.
    pub fn with_hostnames(mut self, hosts: HostNames) -> CommandAction {
        self.hosts = Arc::new(hosts);
        self.subst.clear();
        self
    }

    /// Sets a property (fail2ban: `CommandAction.__setattr__`): `timeout`
    /// is read as a duration, `bantime` is ignored.
    pub fn set(&mut self, key: &str, value: Option<String>) {
        if key.starts_with('_') || key == "bantime" {
            return;
        }
        if key == "timeout" {
            let secs = value.as_deref().and_then(str2seconds);
            match secs {
                Some(s) if s.is_finite() && s >= 0.0 => {
                    self.timeout = Duration::from_secs_f64(s);
                    let shown = if s.fract() == 0.0 {
                        format!("{}", s as i64)
                    } else {
                        format!("{s}")
                    };
                    self.props.insert(key.to_string(), Some(shown));
                }
                _ => log::warn!(
                    "[{}] action {}: timeout {:?} is not a duration, keeping {:?}",
                    self.jail,
                    self.name,
                    value,
                    self.timeout
                ),
            }
        } else {
            self.props.insert(key.to_string(), value);
        }
        self.subst.clear();
        self.executed.clear();
    }

    /// A property's raw value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.props.get(key).and_then(|v| v.as_deref())
    }

    /// All properties (the tag dictionary of `replaceTag`).
    pub fn properties(&self) -> &Properties {
        &self.props
    }

    /// The action's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The jail's name.
    pub fn jail(&self) -> &str {
        &self.jail
    }

    /// The command timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The action's ban epoch: bumped when a check failed and the
    /// environment was repaired, so earlier bans get re-banned.
    pub fn ban_epoch(&self) -> u64 {
        self.ban_epoch
    }

    /// `norestored`: skip bans restored from the database.
    pub fn norestored(&self) -> bool {
        truthy(self.get("norestored"))
    }

    /// Whether some property has a `?family=` variant.
    pub fn has_cond_section(&self) -> bool {
        self.props.keys().any(|k| is_conditional_family_key(k))
    }

    /// The families start/stop run for: `families` if set, `inet4 inet6`
    /// with conditional sections, else one family-less run.
    pub fn families(&self) -> Vec<String> {
        if let Some(f) = self.get("families").filter(|s| !s.trim().is_empty()) {
            return f
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
        }
        if self.has_cond_section() {
            vec!["inet4".to_string(), "inet6".to_string()]
        } else {
            vec![NO_FAMILY.to_string()]
        }
    }

    /// `actionstart_on_demand`, defaulting to "has conditional sections".
    pub fn start_on_demand(&self) -> bool {
        match self.props.get("actionstart_on_demand") {
            Some(Some(v)) => truthy(Some(v)),
            _ => self.has_cond_section(),
        }
    }

    fn started_get(&self, fam: &str) -> u8 {
        self.started
            .iter()
            .find(|(f, _)| f == fam)
            .map_or(0, |(_, v)| *v)
    }

    fn started_set(&mut self, fam: &str, v: u8) {
        match self.started.iter_mut().find(|(f, _)| f == fam) {
            Some(slot) => slot.1 = v,
            None => self.started.push((fam.to_string(), v)),
        }
    }

    fn conditional(fam: &str) -> String {
        if fam.is_empty() {
            String::new()
        } else {
            format!("family={fam}")
        }
    }

    /// Renders `<tag>` from the properties alone (fail2ban: `replaceTag`
    /// with the substitution cache).
    fn render_static(&mut self, tag: &str, conditional: &str) -> Result<String> {
        if !self.subst.contains_key(conditional) {
            let s = tags::substitute_recursive(&self.props, conditional, &tags::ESCAPED_TAGS)?;
            self.subst.insert(conditional.to_string(), s);
        }
        let props = &self.subst[conditional];
        tags::replace_tag(tag, props, conditional, &self.hosts)
    }

    /// An operation's command with only `<family>` filled in (fail2ban:
    /// `_getOperation`).
    fn get_operation(&mut self, op: Op, fam: &str) -> Result<String> {
        let cmd = self.render_static(op.tag(), &Self::conditional(fam))?;
        if fam.is_empty() || !cmd.contains('<') {
            return Ok(cmd);
        }
        Ok(tags::replace_dynamic_tags(&cmd, &FamilyOnly(fam), &self.hosts).script)
    }

    /// Renders an operation fully for one ban, without running it: what
    /// `ban`/`unban` would pass to the shell (used by `ironban check`).
    ///
    /// # Errors
    /// [`Error::SelfReferencing`] for self-referencing properties.
    pub fn render(&mut self, op: Op, info: &dyn DynamicTags) -> Result<ShellCommand> {
        let fam = family_of(info);
        let cmd = self.render_static(op.tag(), &Self::conditional(&fam))?;
        Ok(tags::replace_dynamic_tags(&cmd, info, &self.hosts))
    }

    fn operation_executed(&mut self, op: Op, fam: &str, cmd: Option<&str>) {
        let famd = self.executed.entry(op).or_default();
        match cmd.filter(|c| !c.is_empty()) {
            Some(c) => match famd.iter_mut().find(|(f, _)| f == fam) {
                Some(slot) => slot.1 = c.to_string(),
                None => famd.push((fam.to_string(), c.to_string())),
            },
            None => {
                if let Some(pos) = famd.iter().position(|(f, _)| f == fam) {
                    let (_, old) = famd.remove(pos);
                    famd.retain(|(_, c)| *c != old);
                }
            }
        }
    }

    fn exec(&self, x: &mut dyn Executor, op: Op, conditional: &str, cmd: &ShellCommand) -> bool {
        x.execute(&Execution {
            jail: &self.jail,
            action: &self.name,
            op,
            conditional,
            cmd,
            timeout: self.timeout,
        })
    }

    /// Runs a family-bound operation for each family (fail2ban:
    /// `_executeOperation`). Returns per family whether it succeeded.
    fn execute_operation(
        &mut self,
        op: Op,
        operation: &str,
        families: Vec<String>,
        x: &mut dyn Executor,
        empty: &dyn DynamicTags,
    ) -> Result<Vec<(String, bool)>> {
        let mut res = true;
        let mut err = String::from("Script error");
        let mut out = Vec::new();
        for fam in families {
            let cmd = match self.get_operation(op, &fam) {
                Ok(c) => c,
                Err(e) => {
                    res = false;
                    err = e.to_string();
                    continue;
                }
            };
            let mut ret = true;
            let dup = self
                .executed
                .get(&op)
                .is_some_and(|v| v.iter().any(|(f, c)| *f != fam && *c == cmd));
            if !cmd.is_empty() && !dup {
                let info = Overlay {
                    base: empty,
                    family: &fam,
                };
                let real = tags::replace_dynamic_tags(&cmd, &info, &self.hosts);
                ret = self.exec(x, op, &Self::conditional(&fam), &real);
                res &= ret;
            }
            out.push((fam.clone(), ret));
            self.after_exec(op, &fam, ret);
            self.operation_executed(op, &fam, if ret { Some(&cmd) } else { None });
        }
        if !res {
            return Err(Error::Operation {
                operation: operation.to_string(),
                jail: self.jail.clone(),
                action: self.name.clone(),
                reason: err,
            });
        }
        Ok(out)
    }

    fn after_exec(&mut self, op: Op, fam: &str, ret: bool) {
        match op {
            Op::Start if ret => {
                self.operation_executed(Op::Stop, fam, None);
                self.started_set(fam, 1);
            }
            Op::Stop if ret => self.operation_executed(Op::Start, fam, None),
            Op::Flush if ret && self.started_get(fam) != 0 => {
                let v = self.started_get(fam) & !2;
                self.started_set(fam, v);
            }
            _ => {}
        }
    }

    /// Runs `actionban` (fail2ban: `ban`), starting the ban's family first
    /// when the action starts on demand. `info` is the ban's
    /// [`crate::actions::ActionInfo`].
    ///
    /// # Errors
    /// [`Error::Operation`] when the start or the ban failed (after the
    /// check, repair and one retry).
    pub fn ban(
        &mut self,
        info: &dyn DynamicTags,
        x: &mut dyn Executor,
        empty: &dyn DynamicTags,
    ) -> Result<()> {
        self.ban_with(Op::Ban, info, x, empty)
    }

    /// Re-bans (fail2ban: `reban`): `actionreban` if set, else `actionban`.
    ///
    /// # Errors
    /// As [`CommandAction::ban`].
    pub fn reban(
        &mut self,
        info: &dyn DynamicTags,
        x: &mut dyn Executor,
        empty: &dyn DynamicTags,
    ) -> Result<()> {
        let op = if truthy(self.get("actionreban")) {
            Op::Reban
        } else {
            Op::Ban
        };
        self.ban_with(op, info, x, empty)
    }

    fn ban_with(
        &mut self,
        op: Op,
        info: &dyn DynamicTags,
        x: &mut dyn Executor,
        empty: &dyn DynamicTags,
    ) -> Result<()> {
        let fam = family_of(info);
        if self.start_on_demand() && self.started_get(&fam) == 0 {
            self.start_family(Some(&fam), true, x, empty)?;
        }
        if !self.process_cmd(op, info, x, empty)? {
            return Err(self.op_error("banning", info));
        }
        let v = self.started_get(&fam) | 3;
        self.started_set(&fam, v);
        Ok(())
    }

    /// Runs `actionprolong` after a ban time increase, if the action has one.
    ///
    /// # Errors
    /// [`Error::Operation`] when it failed.
    pub fn prolong(
        &mut self,
        info: &dyn DynamicTags,
        x: &mut dyn Executor,
        empty: &dyn DynamicTags,
    ) -> Result<()> {
        if self
            .get("actionprolong")
            .is_none_or(|s| s.trim().is_empty())
        {
            return Ok(());
        }
        if !self.process_cmd(Op::Prolong, info, x, empty)? {
            return Err(self.op_error("prolonging", info));
        }
        Ok(())
    }

    /// Runs `actionunban`, only if the ban's family holds bans.
    ///
    /// # Errors
    /// [`Error::Operation`] when it failed.
    pub fn unban(
        &mut self,
        info: &dyn DynamicTags,
        x: &mut dyn Executor,
        empty: &dyn DynamicTags,
    ) -> Result<()> {
        let fam = family_of(info);
        if self.started_get(&fam) & 2 != 0 && !self.process_cmd(Op::Unban, info, x, empty)? {
            return Err(self.op_error("unbanning", info));
        }
        Ok(())
    }

    fn op_error(&self, operation: &str, info: &dyn DynamicTags) -> Error {
        Error::Operation {
            operation: operation.to_string(),
            jail: self.jail.clone(),
            action: self.name.clone(),
            reason: format!("Error {} {}", operation, info.get("ip").unwrap_or_default()),
        }
    }
}

/// The ban's family; a raw (non-IP) ID has none (Python `None`, which
/// fail2ban treats as `''` for conditionals).
fn family_of(info: &dyn DynamicTags) -> String {
    match info.get("family") {
        Some(f) if f != "None" => f,
        _ => String::new(),
    }
}

/// `^(\w+)\?(family)=(.*)$`
fn is_conditional_family_key(k: &str) -> bool {
    match k.split_once("?family=") {
        Some((name, _)) => {
            !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_')
        }
        None => false,
    }
}

/// The ticket-less info with `family` replaced, as fail2ban sets
/// `aInfo['family']` before a start/stop/flush command.
struct Overlay<'a> {
    base: &'a dyn DynamicTags,
    family: &'a str,
}

impl DynamicTags for Overlay<'_> {
    fn get(&self, tag: &str) -> Option<String> {
        if tag == "family" {
            Some(self.family.to_string())
        } else {
            self.base.get(tag)
        }
    }
    fn ticket_data(&self, key: &str) -> Option<String> {
        self.base.ticket_data(key)
    }
}

/// A simple tag map, e.g. for tests or for `ignorecommand`.
impl DynamicTags for BTreeMap<String, String> {
    fn get(&self, tag: &str) -> Option<String> {
        BTreeMap::get(self, tag).cloned()
    }
    fn ticket_data(&self, _key: &str) -> Option<String> {
        None
    }
}

mod lifecycle;
mod repair;

#[cfg(test)]
mod tests;
