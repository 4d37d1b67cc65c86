//! The running jail end to end: a real server process on a temp socket, a
//! jail on a temp log with a recording action, lines appended → bans (in
//! `status`, in the action's record, in the database), expiry, restart
//! with `Restore Ban`, a SIGKILL in the middle of a storm of bans (issue
//! #6), and Debian's real `fail2ban-client` reading the status.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use ironban_server::protocol::Obj;

#[test]
fn child_server_main() {
    child_main();
}

const CHILD: &str = "child_server_main";

fn count(calls: &[String], what: &str) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for c in calls {
        if let Some(ip) = c.strip_prefix(what) {
            *m.entry(ip.trim().to_string()).or_insert(0) += 1;
        }
    }
    m
}

#[test]
fn bans_from_the_log_and_unbans_after_bantime() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let logf = d.join("auth.log");
    append(&logf, "");
    let c = Child2::start(d, CHILD);
    configure(&c, d, "t", &logf, "2", "3");
    append(&logf, &fail_lines("192.0.2.7", 2));
    append(&logf, &fail_lines("192.0.2.8", 1));
    std::thread::sleep(Duration::from_millis(1500));
    assert!(c.banned("t").is_empty(), "two failures must not ban");
    append(&logf, &fail_lines("192.0.2.7", 1));
    assert!(wait_for(Duration::from_secs(10), || c.banned("t") == ["192.0.2.7"]));
    assert_eq!(firewall(d), ["192.0.2.7"]);
    let st = c.send(&["status", "t"]).repr();
    assert!(st.contains("('Currently failed', 1)"), "{st}");
    assert!(st.contains("('Total failed', 4)"), "{st}");
    assert!(st.contains("('Currently banned', 1)"), "{st}");
    // bantime 2 s: the ban ends on its own.
    assert!(wait_for(Duration::from_secs(8), || c.banned("t").is_empty()));
    assert!(firewall(d).is_empty());
    let log = c.log_text();
    assert!(log.contains("NOTICE  [t] Ban 192.0.2.7"), "{log}");
    assert!(log.contains("NOTICE  [t] Unban 192.0.2.7"), "{log}");
    assert!(log.contains("INFO    [t] Found 192.0.2.8 - "), "{log}");
    // banip / unbanip through the same path.
    assert_eq!(c.send(&["set", "t", "banip", "198.51.100.1"]), Obj::Int(1));
    assert_eq!(firewall(d), ["198.51.100.1"]);
    assert_eq!(c.send(&["set", "t", "unbanip", "198.51.100.1"]), Obj::Int(1));
    assert!(firewall(d).is_empty());
    c.stop();
    let calls = calls(d);
    assert_eq!(calls.first().map(String::as_str), Some("start"));
    assert_eq!(calls.last().map(String::as_str), Some("stop"));
    assert!(!calls.iter().any(|l| l.starts_with("DOUBLE")), "{calls:?}");
}

#[test]
fn restart_restores_bans_from_the_database_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let logf = d.join("auth.log");
    append(&logf, "");
    let c = Child2::start(d, CHILD);
    configure(&c, d, "t", &logf, "3600", "3");
    append(&logf, &fail_lines("203.0.113.5", 3));
    append(&logf, &fail_lines("203.0.113.6", 3));
    assert!(wait_for(Duration::from_secs(10), || c.banned("t").len() == 2));
    // Debian's real client reads the live status.
    let out = std::process::Command::new("/usr/bin/python3")
        .args(["/usr/bin/fail2ban-client", "-s", c.sock.to_str().unwrap(), "status", "t"])
        .output()
        .expect("Debian's fail2ban-client");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Currently banned:\t2"), "{text}");
    assert!(text.contains("Banned IP list:\t203.0.113.5 203.0.113.6"), "{text}");
    c.stop();
    assert!(firewall(d).is_empty(), "stop flushes the firewall");

    let c = Child2::start(d, CHILD);
    configure(&c, d, "t", &logf, "3600", "3");
    assert!(wait_for(Duration::from_secs(10), || c.banned("t").len() == 2));
    assert_eq!(firewall(d), ["203.0.113.5", "203.0.113.6"]);
    std::thread::sleep(Duration::from_millis(1500));
    let log = c.log_text();
    assert!(log.contains("NOTICE  [t] Restore Ban 203.0.113.5"), "{log}");
    // The log position was kept: the old lines are not read again.
    let st = c.send(&["status", "t"]).repr();
    assert!(st.contains("('Total failed', 0)"), "{st}");
    assert_eq!(log.matches("Found 203.0.113.5").count(), 3, "{log}");
    c.stop();
    let calls = calls(d);
    let bans = count(&calls, "ban ");
    assert_eq!(bans.get("203.0.113.5"), Some(&2), "once per server run: {calls:?}");
    assert!(!calls.iter().any(|l| l.starts_with("DOUBLE")), "{calls:?}");
}

/// Issue #6: SIGKILL in the middle of a storm of bans, then a restart:
/// every address is banned once in the firewall, the database is intact.
#[test]
fn sigkill_during_a_ban_storm_loses_and_doubles_nothing() {
    const N: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let logf = d.join("auth.log");
    append(&logf, "");
    let c = Child2::start(d, CHILD);
    configure(&c, d, "storm", &logf, "3600", "3");
    let ips: Vec<String> = (0..N)
        .map(|i| format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256 + 1))
        .collect();
    let mut text = String::new();
    for ip in &ips {
        text.push_str(&fail_lines(ip, 3));
    }
    append(&logf, &text);
    // Kill once a good part, but not all, of the bans went through.
    let partial = wait_for(Duration::from_secs(60), || count(&calls(d), "ban ").len() >= N / 4);
    assert!(partial, "no bans before the kill");
    c.kill();
    let before_kill = count(&calls(d), "ban ").len();
    let start_line = calls(d).len();

    let c = Child2::start(d, CHILD);
    configure(&c, d, "storm", &logf, "3600", "3");
    assert!(
        wait_for(Duration::from_secs(120), || c.banned("storm").len() == N),
        "banned after restart: {}",
        c.banned("storm").len()
    );
    std::thread::sleep(Duration::from_millis(1500));
    let mut want = ips.clone();
    want.sort();
    assert_eq!(c.banned("storm"), want);
    assert_eq!(firewall(d), want);
    let log = c.log_text();
    let restored = log.matches("Restore Ban").count();
    c.stop();
    let all = calls(d);
    let after: Vec<String> = all[start_line..].to_vec();
    let per_ip = count(&after, "ban ");
    let doubled: Vec<_> = per_ip.iter().filter(|(_, n)| **n != 1).collect();
    assert!(doubled.is_empty(), "banned more than once after restart: {doubled:?}");
    assert!(!all.iter().any(|l| l.starts_with("DOUBLE")), "firewall doubles");
    let conn = rusqlite::Connection::open(d.join("f2b.sqlite3")).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let bips: i64 = conn
        .query_row("SELECT count(*) FROM bips WHERE jail='storm'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(bips as usize, N);
    eprintln!(
        "crash figures: {N} addresses; {before_kill} banned before SIGKILL; \
         {restored} restored from the database; {} banned from re-read lines; \
         0 doubled; integrity_check ok; bips rows {bips}",
        N - restored
    );
}
