//! Compat suite `actions`: every stock action rendered by ironban against
//! real fail2ban's captures in `golden/actions/<action>.json`.
//!
//! Input is the golden file's own `stream` (the `multi-set` option pairs),
//! so this suite does not depend on the config reader. Each family gets a
//! fresh action driven through fail2ban's sequence `start()`, `ban(ip)`,
//! `_invariantCheck(family)`, `unban(ip)`, `flush()`, `stop()` with a
//! recording executor (nothing runs). Cases:
//! * `actions`: `(action, family, op)` for the six ops of `commands.<family>`;
//! * `actions-lifecycle`: the whole call sequence per family, and
//!   `full_cycle` (both families through one action);
//! * `actions-config`: the same `(action, family, op)` cases, but with the
//!   action built from ironban-config's own stream of the golden
//!   `jail.local` over the upstream config (the path `ironban check` takes).

use std::collections::BTreeMap;

use ironban_action::exec::Recorded;
use ironban_action::{ActionInfo, CommandAction, FailId, HostNames, Op, Recorder, Ticket};
use ironban_compat_tests::{golden_dir, upstream_dir, Tally};
use serde_json::{json, Value as J};
use std::path::{Path, PathBuf};

const NOW: f64 = 1_700_000_000.0;
const BANTIME: i64 = 600;
const OPS: [Op; 6] = [
    Op::Start,
    Op::Stop,
    Op::Check,
    Op::Flush,
    Op::Ban,
    Op::Unban,
];

fn hosts() -> HostNames {
    HostNames {
        fq: "host.example.com".into(),
        short: "host".into(),
    }
}

fn to_opt(v: &J) -> Option<String> {
    match v {
        J::Null => None,
        J::String(s) => Some(s.clone()),
        J::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        other => Some(other.to_string()),
    }
}

/// The action from the golden stream: `addaction` then `multi-set`.
fn build(stream: &J) -> Result<CommandAction, String> {
    let cmds = stream.as_array().ok_or("stream is not a list")?;
    let mut name = None;
    let mut jail = String::new();
    let mut pairs = Vec::new();
    for c in cmds {
        let c = c.as_array().ok_or("command is not a list")?;
        let s = |i: usize| c.get(i).and_then(J::as_str).unwrap_or("");
        match (s(0), s(2)) {
            ("set", "addaction") => {
                jail = s(1).to_string();
                name = Some(s(3).to_string());
            }
            ("multi-set", "action") => {
                for kv in c
                    .get(4)
                    .and_then(J::as_array)
                    .ok_or("multi-set without pairs")?
                {
                    let kv = kv.as_array().ok_or("pair is not a list")?;
                    let k = kv
                        .first()
                        .and_then(J::as_str)
                        .ok_or("key is not a string")?;
                    pairs.push((k.to_string(), to_opt(kv.get(1).unwrap_or(&J::Null))));
                }
            }
            _ => return Err(format!("unexpected stream command {c:?}")),
        }
    }
    let name = name.ok_or("no addaction")?;
    Ok(CommandAction::new(&jail, &name, pairs).with_hostnames(hosts()))
}

fn ticket(ip: &str) -> Ticket {
    let mut t = Ticket::new(FailId::parse(ip), NOW, vec!["line1".into(), "line2".into()]);
    t.attempt = 3;
    t.bancount = 1;
    t
}

fn info(ip: &str) -> ActionInfo {
    let mut i = ActionInfo::new(&ticket(ip), BANTIME);
    i.set_resolver(None);
    i
}

fn exec_json(r: &Recorded) -> J {
    let mut e = serde_json::Map::new();
    e.insert("cmd".into(), J::String(r.cmd.script.clone()));
    if !r.cmd.vars.is_empty() {
        e.insert(
            "args".into(),
            J::Array(
                r.cmd
                    .vars
                    .iter()
                    .map(|(_, v)| J::String(v.clone()))
                    .collect(),
            ),
        );
        let vars: serde_json::Map<String, J> = r
            .cmd
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), J::String(v.clone())))
            .collect();
        e.insert("vars".into(), J::Object(vars));
    }
    J::Object(e)
}

fn executed_json(calls: &[Recorded]) -> J {
    J::Array(
        calls
            .iter()
            .map(|r| {
                let t = r.timeout.as_secs_f64();
                let t = if t.fract() == 0.0 { json!(t as i64) } else { json!(t) };
                json!({"op": r.op.name(), "conditional": r.conditional, "timeout": t, "exec": exec_json(r)})
            })
            .collect(),
    )
}

fn step(name: String, rec: &mut Recorder, log: &mut Vec<J>) {
    let calls = rec.take();
    log.push(json!({"call": name, "executed": executed_json(&calls)}));
}

/// fail2ban's per-family lifecycle; returns the calls log.
fn lifecycle(stream: &J, fam: &str, ip: &str) -> Result<Vec<J>, String> {
    let mut a = build(stream)?;
    let mut rec = Recorder::new();
    let empty = ActionInfo::empty(NOW, BANTIME);
    let i = info(ip);
    let mut log = Vec::new();
    let _ = a.start(&mut rec, &empty);
    step("start()".into(), &mut rec, &mut log);
    let _ = a.ban(&i, &mut rec, &empty);
    step(format!("ban({ip})"), &mut rec, &mut log);
    a.invariant_check(Some(fam), None, true, &mut rec, &empty);
    step(format!("_invariantCheck('{fam}')"), &mut rec, &mut log);
    let _ = a.unban(&i, &mut rec, &empty);
    step(format!("unban({ip})"), &mut rec, &mut log);
    let _ = a.flush(&mut rec, &empty);
    step("flush()".into(), &mut rec, &mut log);
    let _ = a.stop(&mut rec, &empty);
    step("stop()".into(), &mut rec, &mut log);
    Ok(log)
}

fn full_cycle(stream: &J) -> Result<Vec<J>, String> {
    let mut a = build(stream)?;
    let mut rec = Recorder::new();
    let empty = ActionInfo::empty(NOW, BANTIME);
    let (i4, i6) = (info("192.0.2.1"), info("2001:db8::1"));
    let mut log = Vec::new();
    let _ = a.start(&mut rec, &empty);
    step("start()".into(), &mut rec, &mut log);
    let _ = a.ban(&i4, &mut rec, &empty);
    step("ban(192.0.2.1)".into(), &mut rec, &mut log);
    let _ = a.ban(&i6, &mut rec, &empty);
    step("ban(2001:db8::1)".into(), &mut rec, &mut log);
    a.consistency_check(&mut rec, &empty);
    step("consistencyCheck()".into(), &mut rec, &mut log);
    let _ = a.unban(&i4, &mut rec, &empty);
    step("unban(192.0.2.1)".into(), &mut rec, &mut log);
    let _ = a.unban(&i6, &mut rec, &empty);
    step("unban(2001:db8::1)".into(), &mut rec, &mut log);
    let _ = a.flush(&mut rec, &empty);
    step("flush()".into(), &mut rec, &mut log);
    let _ = a.stop(&mut rec, &empty);
    step("stop()".into(), &mut rec, &mut log);
    Ok(log)
}

/// `commands.<family>` as fail2ban's recorder built it: the first execution
/// of each op in the lifecycle.
fn commands(log: &[J]) -> BTreeMap<String, J> {
    let mut out = BTreeMap::new();
    for op in OPS {
        out.insert(op.name().to_string(), J::Null);
    }
    for call in log {
        for e in call["executed"].as_array().into_iter().flatten() {
            let op = e["op"].as_str().unwrap_or("").to_string();
            if out.get(&op).is_some_and(J::is_null) {
                let mut v = e["exec"].clone();
                v["conditional"] = e["conditional"].clone();
                out.insert(op, v);
            }
        }
    }
    out
}

fn short(v: &J) -> String {
    let s = v.to_string();
    if s.len() > 600 {
        let mut cut = 600;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}...", &s[..cut])
    } else {
        s
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dst = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &dst)?;
        } else {
            std::fs::copy(e.path(), dst)?;
        }
    }
    Ok(())
}

fn value_to_json(v: &ironban_config::Value) -> J {
    use ironban_config::Value as V;
    match v {
        V::None => J::Null,
        V::Bool(b) => J::Bool(*b),
        V::Int(i) => json!(i),
        V::Float(f) => json!(f),
        V::Str(s) => J::String(s.clone()),
        V::List(l) | V::Tuple(l) => J::Array(l.iter().map(value_to_json).collect()),
        V::Dict(_) => J::String(v.repr()),
    }
}

/// A scratch copy of the upstream config, whose `jail.local` each case
/// rewrites, and the log directory standing in for `@LOGDIR@`.
struct Scratch {
    conf: PathBuf,
    logdir: PathBuf,
}

impl Scratch {
    fn new() -> Result<Scratch, String> {
        let root = std::env::temp_dir().join(format!("ironban-actions-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let conf = root.join("config");
        copy_dir(&upstream_dir().join("config"), &conf)
            .map_err(|e| format!("copying config: {e}"))?;
        let logdir = root.join("logs");
        std::fs::create_dir_all(logdir.join("var/log")).map_err(|e| e.to_string())?;
        std::fs::write(logdir.join("var/log/auth.log"), "").map_err(|e| e.to_string())?;
        Ok(Scratch { conf, logdir })
    }

    /// The action part of ironban-config's stream for a golden `jail.local`.
    fn stream(&self, jail_local: &str) -> Result<J, String> {
        let text = jail_local.replace("@LOGDIR@", &self.logdir.display().to_string());
        std::fs::write(self.conf.join("jail.local"), text).map_err(|e| e.to_string())?;
        let st = ironban_config::read_stream(&self.conf).map_err(|e| e.to_string())?;
        let cmds: Vec<J> = st
            .commands
            .iter()
            .filter(|c| {
                let s = |i: usize| {
                    c.get(i)
                        .and_then(ironban_config::Value::as_str)
                        .unwrap_or("")
                };
                matches!((s(0), s(2)), ("set", "addaction") | ("multi-set", "action"))
            })
            .map(|c| J::Array(c.iter().map(value_to_json).collect()))
            .collect();
        Ok(J::Array(cmds))
    }

    /// Rendered commands mention the log path: show it as the golden does.
    fn normalise(&self, v: &J) -> J {
        let s = v
            .to_string()
            .replace(&self.logdir.display().to_string(), "/tmp/golden/logs");
        serde_json::from_str(&s).unwrap_or(J::Null)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(root) = self.conf.parent() {
            let _ = std::fs::remove_dir_all(root);
        }
    }
}

fn main() {
    let dir = golden_dir().join("actions");
    let mut files: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            eprintln!("actions: {}: {e}", dir.display());
            std::process::exit(2);
        }
    };
    files.retain(|p| {
        p.extension().is_some_and(|x| x == "json")
            && p.file_name().is_some_and(|n| n != "index.json")
    });
    files.sort();
    let mut tally = Tally::new("actions");
    let mut cycles = Tally::new("actions-lifecycle");
    let mut via_config = Tally::new("actions-config");
    let scratch = Scratch::new();
    for path in files {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let g: J = match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(g) => g,
            Err(e) => {
                tally.check(false, || format!("{name}: {e}"));
                continue;
            }
        };
        for (fam, ip) in [("inet4", "192.0.2.1"), ("inet6", "2001:db8::1")] {
            let log = match lifecycle(&g["stream"], fam, ip) {
                Ok(l) => l,
                Err(e) => {
                    for op in OPS {
                        tally.check(false, || format!("{name} {fam} {}: {e}", op.name()));
                    }
                    continue;
                }
            };
            let got = commands(&log);
            for op in OPS {
                let want = &g["commands"][fam][op.name()];
                let have = &got[op.name()];
                tally.check(want == have, || {
                    format!(
                        "{name} {fam} {}:\n  want {}\n  have {}",
                        op.name(),
                        short(want),
                        short(have)
                    )
                });
            }
            let want = &g["lifecycle"][fam];
            let have = J::Array(log);
            cycles.check(*want == have, || {
                format!(
                    "{name} lifecycle {fam}:\n  want {}\n  have {}",
                    short(want),
                    short(&have)
                )
            });
        }
        let from_config = match &scratch {
            Ok(sc) => sc.stream(g["jail_local"].as_str().unwrap_or("")),
            Err(e) => Err(e.clone()),
        };
        for (fam, ip) in [("inet4", "192.0.2.1"), ("inet6", "2001:db8::1")] {
            let log = from_config
                .as_ref()
                .map_err(|e| e.clone())
                .and_then(|st| lifecycle(st, fam, ip));
            let got = match log {
                Ok(log) => commands(&log),
                Err(e) => {
                    via_config.check(false, || format!("{name} {fam}: {e}"));
                    continue;
                }
            };
            for op in OPS {
                let want = &g["commands"][fam][op.name()];
                let have = match &scratch {
                    Ok(sc) => sc.normalise(&got[op.name()]),
                    Err(_) => J::Null,
                };
                via_config.check(*want == have, || {
                    format!(
                        "{name} {fam} {} (via config):\n  want {}\n  have {}",
                        op.name(),
                        short(want),
                        short(&have)
                    )
                });
            }
        }
        match full_cycle(&g["stream"]) {
            Ok(log) => {
                let have = J::Array(log);
                let want = &g["full_cycle"];
                cycles.check(*want == have, || {
                    format!(
                        "{name} full_cycle:\n  want {}\n  have {}",
                        short(want),
                        short(&have)
                    )
                });
            }
            Err(e) => cycles.check(false, || format!("{name} full_cycle: {e}")),
        }
    }
    let a = cycles.finish(20);
    let c = via_config.finish(20);
    let b = tally.finish(40);
    std::process::exit(a.max(b).max(c));
}
