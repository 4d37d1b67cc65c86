//! `ironban check --jail J --ban ADDR`: the commands a ban would run.
//!
//! Prints, for each action of the jail, the commands a ban of ADDR would
//! run (start, check, ban, unban, flush, stop), fully rendered, running none
//! of them. The jail's actions are driven through fail2ban's sequence with a
//! recording executor: the same code path the compat suite `actions` checks
//! against real fail2ban.

use ironban_action::exec::Recorded;
use ironban_action::{CommandAction, FailId, Family, Recorder, Ticket};
use ironban_config::Value;
use serde_json::{json, Value as J};

/// The ops in the order they are reported.
const OPS: [&str; 6] = [
    "actionstart",
    "actioncheck",
    "actionban",
    "actionunban",
    "actionflush",
    "actionstop",
];

/// One action's rendered commands.
pub struct ActionReport {
    pub name: String,
    /// `(op, conditional, command)` in execution order.
    pub runs: Vec<Recorded>,
}

/// The dry run of one jail.
pub struct Report {
    jail: String,
    addr: String,
    family: Option<Family>,
    pub actions: Vec<ActionReport>,
    /// Actions that could not be rendered (Python actions, bad properties).
    pub errors: Vec<String>,
}

fn s(v: Option<&Value>) -> &str {
    v.and_then(Value::as_str).unwrap_or("")
}

/// Builds the jail's actions from the stream and renders a ban of `addr`.
pub fn dry_run(
    commands: &[Vec<Value>],
    jail: &str,
    addr: &str,
    now: f64,
) -> Result<Report, String> {
    if !commands
        .iter()
        .any(|c| s(c.first()) == "add" && s(c.get(1)) == jail)
    {
        return Err(format!(
            "jail '{jail}' is not in the configuration (or not enabled)"
        ));
    }
    let mut options: Vec<(String, Vec<(String, Value)>)> = Vec::new();
    let mut errors = Vec::new();
    let mut bantime: i64 = 600;
    let mut maxretry: u32 = 3;
    for c in commands.iter().filter(|c| s(c.get(1)) == jail) {
        match (s(c.first()), s(c.get(2))) {
            ("set", "addaction") => {
                let name = s(c.get(3)).to_string();
                if let Some(file) = c.get(4).and_then(Value::as_str).filter(|f| !f.is_empty()) {
                    errors.push(format!(
                        "jail '{jail}': action '{name}' is a Python action ({file}), which ironban does not support; the jail's other actions still run"
                    ));
                    continue;
                }
                options.push((name, Vec::new()));
            }
            ("multi-set", "action") => {
                let name = s(c.get(3));
                if let (Some(slot), Some(Value::List(pairs))) =
                    (options.iter_mut().find(|(n, _)| n == name), c.get(4))
                {
                    for kv in pairs {
                        if let Value::List(kv) = kv {
                            if let (Some(k), Some(v)) =
                                (kv.first().and_then(Value::as_str), kv.get(1))
                            {
                                slot.1.push((k.to_string(), v.clone()));
                            }
                        }
                    }
                }
            }
            ("set", "action") => {
                let name = s(c.get(3));
                if let (Some(slot), Some(k), Some(v)) = (
                    options.iter_mut().find(|(n, _)| n == name),
                    c.get(4).and_then(Value::as_str),
                    c.get(5),
                ) {
                    slot.1.push((k.to_string(), v.clone()));
                }
            }
            ("set", "bantime") => {
                if let Some(v) = c.get(3) {
                    let txt = v.as_str().map_or_else(|| v.repr(), str::to_string);
                    match ironban_action::str2seconds(&txt) {
                        Some(b) => bantime = b as i64,
                        None => {
                            errors.push(format!("jail '{jail}': bantime {txt:?} is not a duration"))
                        }
                    }
                }
            }
            ("set", "maxretry") => {
                if let Some(v) = c.get(3) {
                    let txt = v.as_str().map_or_else(|| v.repr(), str::to_string);
                    maxretry = txt.trim().parse().unwrap_or(maxretry);
                }
            }
            _ => {}
        }
    }
    let id = FailId::parse(addr);
    let mut ticket = Ticket::new(id.clone(), now, Vec::new());
    ticket.attempt = maxretry;
    ticket.bancount = 1;
    let mut actions = Vec::new();
    for (name, opts) in options {
        let mut a = CommandAction::from_values(jail, &name, &opts);
        let mut info = ironban_action::ActionInfo::new(&ticket, bantime);
        info.set_counts(ironban_action::JailCounts {
            banned: 1,
            banned_total: 1,
            found: 0,
            found_total: u64::from(maxretry),
        });
        let empty = ironban_action::ActionInfo::empty(now, bantime);
        let mut rec = Recorder::new();
        let fam = id.family().map(Family::as_str).unwrap_or("");
        let mut note = |r: ironban_action::Result<()>| {
            if let Err(e) = r {
                errors.push(format!("action '{name}': {e}"));
            }
        };
        note(a.start(&mut rec, &empty));
        note(a.ban(&info, &mut rec, &empty));
        a.invariant_check(Some(fam), None, true, &mut rec, &empty);
        note(a.unban(&info, &mut rec, &empty));
        note(a.flush(&mut rec, &empty));
        note(a.stop(&mut rec, &empty));
        let mut runs = rec.take();
        runs.sort_by_key(|r| {
            OPS.iter()
                .position(|o| *o == r.op.name())
                .unwrap_or(OPS.len())
        });
        actions.push(ActionReport { name, runs });
    }
    Ok(Report {
        jail: jail.to_string(),
        addr: addr.to_string(),
        family: id.family(),
        actions,
        errors,
    })
}

impl Report {
    pub fn to_text(&self) -> String {
        let fam = self.family.map_or("no IP family", Family::as_str);
        let mut out = format!(
            "Jail '{}': commands for a ban of {} ({fam}); nothing was run.\n",
            self.jail, self.addr
        );
        for a in &self.actions {
            out.push_str(&format!("\n== action {}\n", a.name));
            for op in OPS {
                let runs: Vec<&Recorded> = a.runs.iter().filter(|r| r.op.name() == op).collect();
                if runs.is_empty() {
                    out.push_str(&format!("-- {op}: (nothing)\n"));
                }
                for r in runs {
                    let cond = if r.conditional.is_empty() {
                        String::new()
                    } else {
                        format!(" [{}]", r.conditional)
                    };
                    let timeout = r.timeout.as_secs_f64();
                    out.push_str(&format!("-- {op}{cond} (timeout {timeout}s)\n"));
                    if r.cmd.script.is_empty() {
                        out.push_str("   (empty command: nothing to do)\n");
                    }
                    for line in r.cmd.script.lines() {
                        out.push_str(&format!("   {line}\n"));
                    }
                    for (i, (k, v)) in r.cmd.vars.iter().enumerate() {
                        out.push_str(&format!("   ${i} ({k}) = {v:?}\n"));
                    }
                }
            }
        }
        for e in &self.errors {
            out.push_str(&format!("\nerror: {e}\n"));
        }
        out
    }

    pub fn to_json(&self) -> J {
        let actions: Vec<J> = self
            .actions
            .iter()
            .map(|a| {
                let mut cmds = serde_json::Map::new();
                for op in OPS {
                    let runs: Vec<J> = a
                        .runs
                        .iter()
                        .filter(|r| r.op.name() == op)
                        .map(|r| {
                            let vars: serde_json::Map<String, J> = r.cmd.vars.iter().map(|(k, v)| (k.clone(), J::String(v.clone()))).collect();
                            json!({
                                "cmd": r.cmd.script,
                                "args": r.cmd.vars.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
                                "vars": vars,
                                "conditional": r.conditional,
                                "timeout": r.timeout.as_secs_f64(),
                            })
                        })
                        .collect();
                    cmds.insert(op.to_string(), J::Array(runs));
                }
                json!({"action": a.name, "commands": cmds})
            })
            .collect();
        json!({
            "jail": self.jail,
            "ban": self.addr,
            "family": self.family.map(Family::as_str),
            "actions": actions,
            "errors": self.errors,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    /// The golden stream of a stock action plus the jail's own commands.
    fn golden_commands(action: &str) -> (Vec<Vec<Value>>, J) {
        let dir = std::env::var("IRONBAN_SHARED")
            .map(PathBuf::from)
            .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
        let text = std::fs::read_to_string(dir.join(format!("golden/actions/{action}.json")))
            .expect("golden present");
        let g: J = serde_json::from_str(&text).expect("golden json");
        fn conv(v: &J) -> Value {
            match v {
                J::Null => Value::None,
                J::Bool(b) => Value::Bool(*b),
                J::String(s) => Value::Str(s.clone()),
                J::Array(a) => Value::List(a.iter().map(conv).collect()),
                J::Number(n) => Value::Int(n.as_i64().unwrap_or(0)),
                J::Object(_) => Value::None,
            }
        }
        let mut cmds = vec![vec![
            Value::str("add"),
            Value::str("sshd"),
            Value::str("polling"),
        ]];
        cmds.extend(
            g["stream"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| match conv(c) {
                    Value::List(l) => l,
                    _ => vec![],
                }),
        );
        (cmds, g)
    }

    /// The dry run renders what real fail2ban rendered for the same ban
    /// (golden `commands.inet4`, time-independent ops).
    #[test]
    fn dry_run_matches_golden() {
        let (cmds, g) = golden_commands("iptables-multiport");
        let r = dry_run(&cmds, "sshd", "192.0.2.1", 1_700_000_000.0).unwrap();
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        let j = r.to_json();
        for op in OPS {
            let want = &g["commands"]["inet4"][op]["cmd"];
            let have = &j["actions"][0]["commands"][op][0]["cmd"];
            assert_eq!(want, have, "{op}");
        }
        assert!(r
            .to_text()
            .contains("iptables -w -I f2b-sshd 1 -s 192.0.2.1 -j REJECT"));
    }

    #[test]
    fn unknown_jail_and_python_action() {
        let (mut cmds, _) = golden_commands("dummy");
        assert!(dry_run(&cmds, "nope", "192.0.2.1", 0.0).is_err());
        cmds.push(vec![
            Value::str("set"),
            Value::str("sshd"),
            Value::str("addaction"),
            Value::str("smtp"),
            Value::str("/etc/fail2ban/action.d/smtp.py"),
            Value::str("{}"),
        ]);
        let r = dry_run(&cmds, "sshd", "192.0.2.1", 0.0).unwrap();
        assert_eq!(r.actions.len(), 1);
        assert!(r.errors[0].contains("smtp.py") && r.errors[0].contains("sshd"));
    }
}
