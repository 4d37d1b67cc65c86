//! Regression tests for what fuzz/tags found in `<tag>` substitution:
//! properties whose tags multiply each other grow a value exponentially
//! within fail2ban's 25 replacements (fail2ban itself runs into Python's
//! MemoryError). ironban must answer with an error, quickly, and never
//! abort on memory.

use std::time::Instant;

use ironban_action::tags::{self, Properties};
use ironban_action::HostNames;

fn bomb(levels: usize) -> Properties {
    let mut p = Properties::new();
    for i in 0..levels {
        p.insert(format!("t{i}"), Some(format!("<t{}>-<t{}>", i + 1, i + 1)));
    }
    p.insert(format!("t{levels}"), Some("0123456789abcdef".into()));
    p
}

#[test]
fn substitute_recursive_tag_bomb_is_an_error() {
    let start = Instant::now();
    let r = tags::substitute_recursive(&bomb(40), "", &[]);
    let took = start.elapsed();
    println!("hostile_fuzz: action substitute_recursive 2^40 bomb: error in {took:?}");
    let e = r.expect_err("2^40-fold expansion");
    assert!(e.to_string().contains("beyond"), "{e}");
    assert!(took.as_secs() < 10);
}

/// fuzz/tags oom-5e0706…: `replace_tag` on a command whose properties
/// still reference themselves (`iptables = ip6tables <iptables>…`) tripled
/// the command 26 times. (`CommandAction` never passes such a set, since
/// `substitute_recursive` refuses it first, but `replace_tag` is public.)
#[test]
fn replace_tag_self_multiplying_is_an_error() {
    let mut p = Properties::new();
    p.insert(
        "iptables".into(),
        Some("ip6tables <iptables> -C <iptables> -A <iptables>".into()),
    );
    let hosts = HostNames::default();
    let start = Instant::now();
    let r = tags::replace_tag("{ <iptables> -C f2b-x; }", &p, "", &hosts);
    let took = start.elapsed();
    println!("hostile_fuzz: action replace_tag 3^26 bomb: error in {took:?}");
    assert!(r.is_err());
    assert!(took.as_secs() < 10);
}

#[test]
fn bounded_expansion_still_resolves() {
    let r = tags::substitute_recursive(&bomb(10), "", &[]).expect("1024 copies resolve");
    let v = r.get("t0").cloned().flatten().expect("t0");
    assert_eq!(v.len(), 1024 * 16 + 1023);
}
