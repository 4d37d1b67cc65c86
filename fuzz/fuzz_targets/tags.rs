//! `<tag>` substitution of the action crate: the input's lines are
//! `name=value` properties (a line without `=` is the command), resolved
//! with `substitute_recursive`, then substituted into the command with
//! `replace_tag` (static) and `replace_dynamic_tags` (per ban, values from
//! the input as a log line would give them; lines `@name=value`). Any
//! result is fine; a panic is a crash. Asserted: every dynamic value that
//! went to a `f2bV_` variable holds a shell metacharacter, and the script
//! names each such variable (the value itself never needs to be in it).
#![no_main]

use ironban_action::tags::{self, DynamicTags, Properties};
use ironban_action::HostNames;
use libfuzzer_sys::fuzz_target;

struct Dyn<'a>(&'a [(String, String)]);

impl DynamicTags for Dyn<'_> {
    fn get(&self, tag: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == tag)
            .map(|(_, v)| v.clone())
    }
    fn ticket_data(&self, key: &str) -> Option<String> {
        self.get(key)
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut props = Properties::new();
    let mut dynamic = Vec::new();
    let mut cmd = String::new();
    for line in text.split('\n').take(32) {
        match line.split_once('=') {
            Some((k, v)) if k.starts_with('@') => dynamic.push((k[1..].to_string(), v.to_string())),
            Some((k, v)) => {
                props.insert(k.to_string(), Some(v.to_string()));
            }
            None => cmd = line.to_string(),
        }
    }
    let hosts = HostNames {
        fq: "host.example".into(),
        short: "host".into(),
    };
    // As `CommandAction` does: a set that does not resolve is an error, and
    // nothing is substituted with it.
    let Ok(resolved) = tags::substitute_recursive(&props, "family=inet6", &["ip"]) else {
        return;
    };
    let Ok(static_cmd) = tags::replace_tag(&cmd, &resolved, "family=inet6", &hosts) else {
        return;
    };
    let sc = tags::replace_dynamic_tags(&static_cmd, &Dyn(&dynamic), &hosts);
    for (name, value) in &sc.vars {
        assert!(
            value.chars().any(tags::is_shell_special),
            "{name}={value:?}"
        );
        assert!(sc.script.contains(&format!("${name}")), "{name} not used");
    }
});
