//! The jail's filter and actions as given: arguments (`name[k=v]`) the
//! file never uses, and the action commands a ban would run — rendered by
//! the dry run (`dryrun.rs`), then checked for tags nothing resolved and
//! for shell syntax (`sh -n`), running none of them.

use std::collections::HashSet;
use std::io::Write;
use std::process::{Command, Stdio};

use ironban_config::include::ConfigParser;
use ironban_config::ini::Section;
use ironban_config::options::{extract_options, split_with_options};
use ironban_config::reader::actionreader::{ActionReader, ACTION_OPTS};
use ironban_config::reader::filterreader::is_filter_opt;
use ironban_config::reader::jailreader::{JailAction, JailReader};
use ironban_config::Value;

use super::dryrun;
use super::lint::{line_of, locate};
use super::problem::{Findings, Kind, Problem};
use super::tools;

/// Names a file set refers to: `%(x)s`, `<x>`, `<sec/x>`, and every option
/// it defines.
fn names_used(cp: &ConfigParser) -> HashSet<String> {
    let mut out = HashSet::new();
    let mut scan = |s: &Section| {
        for (k, e) in s.iter() {
            out.insert(k.split('?').next().unwrap_or(k).to_string());
            tags(&e.value, &mut out);
        }
    };
    scan(&cp.defaults);
    for (_, s) in cp.sections.iter() {
        scan(s);
    }
    out
}

/// Tag-like names in `v`: `<a>`, `<a/b>` (both parts), `%(a)s`.
fn tags(v: &str, out: &mut HashSet<String>) {
    let word = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '?' | '=');
    for (open, close) in [("<", ">"), ("%(", ")s")] {
        let mut rest = v;
        while let Some(i) = rest.find(open) {
            rest = &rest[i + open.len()..];
            let end = rest.find(|c: char| !word(c)).unwrap_or(rest.len());
            if rest[end..].starts_with(close) {
                for part in rest[..end].split('/') {
                    out.insert(part.split('?').next().unwrap_or(part).to_lowercase());
                }
            }
        }
    }
}

/// Whether some value of the file set contains `text`.
fn written(cp: &ConfigParser, text: &str) -> bool {
    let has = |s: &Section| s.iter().any(|(_, e)| e.value.contains(text));
    has(&cp.defaults) || cp.sections.iter().any(|(_, s)| has(s))
}

/// Unresolved `<tag>`s in a rendered command.
fn leftover_tags(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = script;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')))
            .unwrap_or(rest.len());
        let first = rest.chars().next();
        if end > 0 && rest[end..].starts_with('>') && first.is_some_and(char::is_alphabetic) {
            let t = format!("<{}>", &rest[..end]);
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

/// `sh -n`: the shell's complaint, if any (`None` also when there is no sh).
fn shell_syntax(script: &str) -> Option<String> {
    let mut child = Command::new("sh")
        .arg("-n")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(script.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    if out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stderr).trim().to_string())
}

/// `(name, args)` of each entry of an `action` value.
fn specs(value: &str) -> Vec<(String, Vec<String>)> {
    split_with_options(value)
        .iter()
        .filter_map(|a| extract_options(a.trim()).ok())
        .map(|(n, args)| (n, args.keys().map(str::to_string).collect()))
        .collect()
}

pub fn check(
    stream: &[Vec<Value>],
    jail: &JailReader,
    cp: &ConfigParser,
    sec: &str,
    f: &mut Findings,
) {
    let action_pos = |name: &str| {
        line_of(locate(cp, sec, "action"), |body| {
            body.trim_start()
                .strip_prefix(name)
                .is_some_and(|r| r.is_empty() || r.starts_with(['[', ' ']))
        })
    };
    // Arguments given in the jail's own section (the stock `[DEFAULT]`
    // passes `mode`, `port`, `protocol`, `chain` to every filter and action
    // on purpose, used or not).
    let own = |opt: &str| {
        cp.sections
            .get(sec)
            .and_then(|s| s.get(opt))
            .is_some_and(|e| e.pos.is_some())
    };
    // Arguments the filter never uses.
    if let (Some(flt), Some(reader), true) = (jail.opts.get("filter"), &jail.filter, own("filter"))
    {
        if let Ok((name, args)) = extract_options(&flt.to_string()) {
            let used = names_used(&reader.def.cp);
            for k in args.keys() {
                let base = k.split('?').next().unwrap_or(k);
                if !used.contains(base) && !is_filter_opt(base) && base != "logtype" {
                    f.problems.push(
                        Problem::warning(
                            Kind::UnknownOption,
                            format!("filter '{name}' has no parameter '{k}': the argument has no effect"),
                        )
                        .at(locate(cp, sec, "filter"))
                        .jail(sec)
                        .option("filter"),
                    );
                }
            }
        }
    }
    // Arguments an action never uses.
    let files: Vec<&ActionReader> = jail
        .actions
        .iter()
        .filter_map(|a| match a {
            JailAction::File(r) => Some(r.as_ref()),
            JailAction::Python(_) => None,
        })
        .collect();
    let value = jail
        .opts
        .get("action")
        .map(|v| v.to_string())
        .unwrap_or_default();
    // The jail's file actions in order, with the name they were given by.
    let pairs: Vec<(String, Vec<String>, &ActionReader)> = specs(&value)
        .into_iter()
        .filter(|(n, _)| !n.ends_with(".py"))
        .zip(files)
        .map(|((n, args), r)| (n, args, r))
        .collect();
    for (name, args, reader) in pairs.iter().filter(|_| own("action")) {
        let used = names_used(&reader.def.cp);
        for k in args {
            let base = k.split('?').next().unwrap_or(k);
            // The action options themselves (`actionstart_on_demand=false`)
            // and the server's own properties are always valid.
            let own_opt = ACTION_OPTS.iter().any(|o| o.name == base)
                || matches!(base, "name" | "actname" | "timeout");
            if !used.contains(base) && !own_opt {
                f.problems.push(
                    Problem::warning(
                        Kind::UnknownOption,
                        format!(
                            "action '{name}' has no parameter '{k}': the argument has no effect"
                        ),
                    )
                    .at(action_pos(name))
                    .jail(sec)
                    .option("action"),
                );
            }
        }
    }
    // The commands a ban would run.
    let Ok(report) = dryrun::dry_run(stream, sec, "192.0.2.1", 1_700_000_000.0) else {
        return;
    };
    // Python actions and bad times have their own findings.
    let reported = |e: &str| e.contains("Python action") || e.contains("is not a duration");
    for e in report.errors.iter().filter(|e| !reported(e)) {
        f.problems.push(
            Problem::error(Kind::BadValue, e.clone())
                .at(locate(cp, sec, "action"))
                .jail(sec)
                .option("action"),
        );
    }
    for a in &report.actions {
        let pair = pairs.iter().find(|(_, _, r)| r.actname == a.name);
        let file = pair.map_or(a.name.as_str(), |(n, _, _)| n.as_str());
        // The command's own line in the action file, else the jail's action line.
        let at = |op: &str| {
            pair.and_then(|(_, _, r)| locate(&r.def.cp, "Definition", op))
                .or_else(|| action_pos(file))
        };
        let mut seen = HashSet::new();
        let mut missing = HashSet::new();
        for r in &a.runs {
            let op = r.op.name();
            if !seen.insert((op, r.cmd.script.clone())) {
                continue;
            }
            // Only tags written as tags in the action file: `<fail2ban>` from
            // `From: <<sender>>` or pf's `<f2b-<name>>` are the command's own
            // syntax, not a tag nothing resolved.
            let left: Vec<String> = leftover_tags(&r.cmd.script)
                .into_iter()
                .filter(|t| pair.is_none_or(|(_, _, rd)| written(&rd.def.cp, t)))
                .collect();
            if !left.is_empty() {
                f.problems.push(
                    Problem::warning(
                        Kind::Action,
                        format!(
                            "action '{}' {op}: {} left unresolved (no option of the action or the jail sets it), so the command gets the text as is",
                            a.name,
                            left.join(", ")
                        ),
                    )
                    .at(at(op))
                    .jail(sec)
                    .option("action"),
                );
            }
            if matches!(op, "actionstart" | "actionban") {
                for prog in tools::commands(&r.cmd.script) {
                    if !tools::installed(&prog) && missing.insert(prog.clone()) {
                        f.problems.push(
                            Problem::warning(
                                Kind::Action,
                                format!(
                                    "action '{}' {op} runs `{prog}`, which is not installed here (not found in PATH or the sbin directories): bans would fail",
                                    a.name
                                ),
                            )
                            .at(at(op))
                            .jail(sec)
                            .option("action"),
                        );
                    }
                }
            }
            if let Some(msg) = shell_syntax(&r.cmd.script) {
                f.problems.push(
                    Problem::error(
                        Kind::Action,
                        format!("action '{}' {op} is not valid shell (sh -n: {msg})", a.name),
                    )
                    .at(at(op))
                    .jail(sec)
                    .option("action"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_leftover_tags() {
        assert_eq!(
            leftover_tags("iptables -s <ip> -j <blocktype> <<EOF\n<F-USER> a<b c> <1>"),
            ["<ip>", "<blocktype>", "<F-USER>"]
        );
    }

    #[test]
    fn shell_syntax_is_checked() {
        assert_eq!(shell_syntax("echo ok; if true; then echo x; fi"), None);
        assert!(shell_syntax("if true; then echo").is_some());
    }

    #[test]
    fn tag_names() {
        let mut s = HashSet::new();
        tags(
            "<lt_<logtype>/__prefix_line> %(port)s <known/chain> <blocktype?family=inet6>",
            &mut s,
        );
        for n in ["logtype", "port", "chain", "known", "blocktype"] {
            assert!(s.contains(n), "{n}: {s:?}");
        }
    }
}
