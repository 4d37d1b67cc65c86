//! The server's threading (issue #5): many jails share a fixed number of
//! threads, a slow action in one jail does not hold up bans in another,
//! each jail's actions still run in order, and jails stop concurrently.
//! A real server process on a temp socket, jails on temp logs.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use ironban_config::Value;

#[test]
fn child_server_main() {
    child_main();
}

const CHILD: &str = "child_server_main";

/// `Threads:` of `/proc/<pid>/status`.
fn threads(pid: u32) -> usize {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// A jail `name` on `log` (backend `auto`), maxretry 2, whose actionban
/// appends `ban <ip>` to `<dir>/<name>.calls` after `delay` seconds.
fn jail(c: &Child2, dir: &Path, name: &str, log: &Path, delay: u32) {
    let calls = dir.join(format!("{name}.calls"));
    let calls = calls.display();
    c.send(&["add", name, "auto"]);
    c.send(&["set", name, "datepattern", "{^LN-BEG}EPOCH"]);
    c.send(&["set", name, "addfailregex", r"auth failure from <HOST>$"]);
    c.send(&["set", name, "addlogpath", log.to_str().unwrap(), "head"]);
    c.send(&["set", name, "maxretry", "2"]);
    c.send(&["set", name, "addaction", "rec"]);
    let sleep = if delay > 0 {
        format!("sleep {delay}; ")
    } else {
        String::new()
    };
    let props = [
        ("actionstart", format!("echo start >> {calls}")),
        ("actionstop", format!("echo stop >> {calls}")),
        ("actioncheck", String::new()),
        ("actionban", format!("{sleep}echo ban <ip> >> {calls}")),
        ("actionunban", format!("echo unban <ip> >> {calls}")),
    ];
    let props: Vec<Value> = props
        .iter()
        .map(|(k, v)| Value::List(vec![Value::str(*k), Value::str(v)]))
        .collect();
    c.send_values(&[
        Value::str("multi-set"),
        Value::str(name),
        Value::str("action"),
        Value::str("rec"),
        Value::List(props),
    ]);
    c.send(&["start", name]);
}

fn calls_of(dir: &Path, name: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join(format!("{name}.calls")))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn twenty_jails_add_one_thread_when_idle() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let c = Child2::start(d, CHILD);
    let pid = c.child.id();
    let before = threads(pid);
    for i in 0..20 {
        let log = d.join(format!("j{i}.log"));
        append(&log, "");
        jail(&c, d, &format!("j{i}"), &log, 0);
    }
    // Bans in every jail, then idle: the step threads are transient.
    for i in 0..20 {
        append(&d.join(format!("j{i}.log")), &fail_lines("192.0.2.9", 2));
    }
    assert!(wait_for(Duration::from_secs(10), || (0..20).all(|i| {
        calls_of(d, &format!("j{i}")).contains(&"ban 192.0.2.9".to_string())
    })));
    // The jails' thread remains (inotify is read by a task on it); the
    // blocking-pool threads of the steps exit after their keep-alive (0.5 s).
    let mut after = 0;
    let settled = wait_for(Duration::from_secs(5), || {
        after = threads(pid);
        after <= before + 1
    });
    assert!(settled, "{before} threads before 20 jails, {after} after");
    let t = Instant::now();
    c.stop();
    // 20 jails stop concurrently (each `actionstop` is a shell).
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "stop: {:?}",
        t.elapsed()
    );
    for i in 0..20 {
        assert_eq!(
            calls_of(d, &format!("j{i}")),
            // The stop flushes the ban (actionunban), then actionstop.
            ["start", "ban 192.0.2.9", "unban 192.0.2.9", "stop"]
        );
    }
}

#[test]
fn a_slow_action_in_one_jail_does_not_hold_up_another() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (slow, fast) = (d.join("slow.log"), d.join("fast.log"));
    append(&slow, "");
    append(&fast, "");
    let c = Child2::start(d, CHILD);
    jail(&c, d, "slow", &slow, 3);
    jail(&c, d, "fast", &fast, 0);
    // Two addresses in the slow jail: its bans run in order, 3 s each.
    append(&slow, &fail_lines("192.0.2.1", 2));
    append(&slow, &fail_lines("203.0.113.2", 2));
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    append(&fast, &fail_lines("198.51.100.1", 2));
    assert!(
        wait_for(Duration::from_secs(10), || calls_of(d, "fast")
            .contains(&"ban 198.51.100.1".to_string())),
        "fast jail never banned"
    );
    let took = t.elapsed();
    assert!(
        took < Duration::from_millis(2000),
        "the fast jail's ban waited {took:?} for the slow jail's action"
    );
    assert!(calls_of(d, "slow").len() <= 1, "{:?}", calls_of(d, "slow"));
    // In order, after both sleeps.
    wait_for(Duration::from_secs(10), || calls_of(d, "slow").len() >= 3);
    assert_eq!(
        calls_of(d, "slow"),
        ["start", "ban 192.0.2.1", "ban 203.0.113.2"],
        "{}",
        c.log_text()
    );
    c.stop();
}
