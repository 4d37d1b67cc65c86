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
    assert!(wait_for(Duration::from_secs(8), || c
        .banned("t")
        .is_empty()));
    assert!(firewall(d).is_empty());
    let log = c.log_text();
    assert!(log.contains("NOTICE  [t] Ban 192.0.2.7"), "{log}");
    assert!(log.contains("NOTICE  [t] Unban 192.0.2.7"), "{log}");
    assert!(log.contains("INFO    [t] Found 192.0.2.8 - "), "{log}");
    // banip / unbanip through the same path.
    assert_eq!(c.send(&["set", "t", "banip", "198.51.100.1"]), Obj::Int(1));
    assert_eq!(firewall(d), ["198.51.100.1"]);
    assert_eq!(
        c.send(&["set", "t", "unbanip", "198.51.100.1"]),
        Obj::Int(1)
    );
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
        .args([
            "/usr/bin/fail2ban-client",
            "-s",
            c.sock.to_str().unwrap(),
            "status",
            "t",
        ])
        .output()
        .expect("Debian's fail2ban-client");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Currently banned:\t2"), "{text}");
    assert!(
        text.contains("Banned IP list:\t203.0.113.5 203.0.113.6"),
        "{text}"
    );
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
    assert_eq!(
        bans.get("203.0.113.5"),
        Some(&2),
        "once per server run: {calls:?}"
    );
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
    let partial = wait_for(Duration::from_secs(60), || {
        count(&calls(d), "ban ").len() >= N / 4
    });
    assert!(partial, "no bans before the kill");
    c.kill();
    // An action's shell that was running at the kill finishes on its own
    // (it is in a process group of its own): let it, before counting.
    std::thread::sleep(Duration::from_millis(500));
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
    assert!(
        doubled.is_empty(),
        "banned more than once after restart: {doubled:?}"
    );
    assert!(
        !all.iter().any(|l| l.starts_with("DOUBLE")),
        "firewall doubles"
    );
    let conn = rusqlite::Connection::open(d.join("f2b.sqlite3")).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let bips: i64 = conn
        .query_row("SELECT count(*) FROM bips WHERE jail='storm'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(bips as usize, N);
    eprintln!(
        "crash figures: {N} addresses; {before_kill} banned before SIGKILL; \
         {restored} restored from the database; {} banned from re-read lines; \
         0 doubled; integrity_check ok; bips rows {bips}",
        N - restored
    );
}

/// Export-format entries: `n` sshd failures of `ip`, `ago` seconds back.
fn journal_export(ip: &str, n: usize, ago: u64, seq0: usize) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64;
    let mut s = String::new();
    for i in 0..n {
        let t = now - ago * 1_000_000 + i as u64 * 1000;
        s.push_str(&format!(
            "__CURSOR=s=1;i={}\n__REALTIME_TIMESTAMP={t}\n__MONOTONIC_TIMESTAMP={}\n\
             _BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=srv\n\
             SYSLOG_IDENTIFIER=sshd\n_PID=123\n_SYSTEMD_UNIT=ssh.service\n\
             MESSAGE=Failed password for root from {ip} port 22 ssh2\n\n",
            seq0 + i,
            1_000_000 + seq0 + i
        ));
    }
    s
}

fn write_journal(path: &std::path::Path, export: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new("/lib/systemd/systemd-journal-remote")
        .arg(format!("--output={}", path.display()))
        .arg("--split-mode=none")
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("systemd-journal-remote (Debian: apt-get install systemd-journal-remote)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(export.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

fn configure_journal(c: &Child2, d: &std::path::Path) {
    let db = d.join("f2b.sqlite3");
    c.send(&["set", "dbfile", db.to_str().unwrap()]);
    let backend = format!("systemd[journalfiles=\"{}/*.journal\"]", d.display());
    c.send(&["add", "j", &backend]);
    c.send(&["set", "j", "addjournalmatch", "_SYSTEMD_UNIT=ssh.service"]);
    c.send(&[
        "set",
        "j",
        "addfailregex",
        r"Failed password for \S+ from <HOST>",
    ]);
    c.send(&["set", "j", "maxretry", "3"]);
    c.send(&["set", "j", "findtime", "600"]);
    c.send(&["set", "j", "bantime", "3600"]);
    c.send(&["set", "j", "addaction", "rec"]);
    let props: Vec<ironban_config::Value> = recording_action(d)
        .into_iter()
        .map(|(k, v)| {
            ironban_config::Value::List(vec![
                ironban_config::Value::str(&k),
                ironban_config::Value::str(&v),
            ])
        })
        .collect();
    c.send_values(&[
        ironban_config::Value::str("multi-set"),
        ironban_config::Value::str("j"),
        ironban_config::Value::str("action"),
        ironban_config::Value::str("rec"),
        ironban_config::Value::List(props),
    ]);
    c.send(&["start", "j"]);
}

/// backend = systemd on journal files: bans from the journal, and after a
/// restart resumes after the stored cursor (nothing read twice, nothing
/// missed).
#[cfg(feature = "systemd")]
#[test]
fn journal_jail_bans_and_resumes_after_its_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_journal(
        &d.join("a.journal"),
        &journal_export("192.0.2.21", 3, 120, 1),
    );
    let c = Child2::start(d, CHILD);
    configure_journal(&c, d);
    assert!(
        wait_for(Duration::from_secs(10), || c.banned("j") == ["192.0.2.21"]),
        "{}",
        c.log_text()
    );
    let st = c.send(&["status", "j"]).repr();
    assert!(
        st.contains("('Journal matches', ['_SYSTEMD_UNIT=ssh.service'])"),
        "{st}"
    );
    c.stop();
    // New entries while the server is down, in a second file.
    write_journal(
        &d.join("b.journal"),
        &journal_export("192.0.2.22", 3, 10, 100),
    );
    let c = Child2::start(d, CHILD);
    configure_journal(&c, d);
    assert!(
        wait_for(Duration::from_secs(10), || c.banned("j")
            == ["192.0.2.21", "192.0.2.22"]),
        "{}",
        c.log_text()
    );
    std::thread::sleep(Duration::from_millis(1000));
    let log = c.log_text();
    c.stop();
    assert!(log.contains("NOTICE  [j] Restore Ban 192.0.2.21"), "{log}");
    assert_eq!(log.matches("Found 192.0.2.21").count(), 3, "{log}");
    assert_eq!(log.matches("Found 192.0.2.22").count(), 3, "{log}");
    let bans = count(&calls(d), "ban ");
    assert_eq!(bans.get("192.0.2.21"), Some(&2));
    assert_eq!(bans.get("192.0.2.22"), Some(&1));
}

/// bantime.increment with the database's history: a known offender's
/// failures count more and its next ban is longer (fail2ban: observer
/// `failureFound`, `incrBanTime`; default formula doubles per ban).
#[test]
fn bantime_increment_uses_the_ban_history() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let logf = d.join("auth.log");
    append(&logf, "");
    let c = Child2::start(d, CHILD);
    configure_with(
        &c,
        d,
        "t",
        &logf,
        "3",
        "3",
        &[("bantime.increment", "true")],
    );
    append(&logf, &fail_lines("192.0.2.9", 3));
    // bantime 3 s: the lines carry whole-second epochs and the poller reads
    // once a second, so a line can be nearly 2 s old when it is counted; a
    // 1 s ban was then already over ("Ignore ..., expired bantime") in about
    // one run of three. The ban may still come and go between two polls of a
    // busy machine; its log line stays.
    assert!(
        wait_for(Duration::from_secs(10), || c
            .log_text()
            .contains("NOTICE  [t] Ban 192.0.2.9")),
        "{}",
        c.log_text()
    );
    assert!(
        wait_for(Duration::from_secs(10), || c
            .log_text()
            .contains("NOTICE  [t] Unban 192.0.2.9")),
        "{}",
        c.log_text()
    );
    // Known offender (bancount 1): each failure counts 2, so two ban.
    append(&logf, &fail_lines("192.0.2.9", 2));
    assert!(
        wait_for(Duration::from_secs(10), || c
            .log_text()
            .contains("Increase Ban 192.0.2.9")),
        "{}",
        c.log_text()
    );
    let bt = c.send(&["get", "t", "banip", "--with-time"]).repr();
    let log = c.log_text();
    c.stop();
    assert!(
        log.contains("NOTICE  [t] Increase Ban 192.0.2.9 (2 # 6s -> "),
        "{log}"
    );
    // (The 6 s ban may already be over on a busy machine.)
    assert!(!bt.contains("192.0.2.9") || bt.contains(" + 6 = "), "{bt}");
    let conn = rusqlite::Connection::open(d.join("f2b.sqlite3")).unwrap();
    let (n, t): (i64, i64) = conn
        .query_row(
            "SELECT bancount, bantime FROM bips WHERE jail='t' AND ip='192.0.2.9'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((n, t), (2, 6));
}

/// A log that vanishes (rotated away without a successor) is followed again
/// once it comes back; the jail keeps running meanwhile.
#[test]
fn a_log_that_vanishes_and_comes_back_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let logf = d.join("late.log");
    append(&logf, "");
    let c = Child2::start(d, CHILD);
    configure(&c, d, "t", &logf, "3600", "3");
    std::thread::sleep(Duration::from_millis(500));
    std::fs::remove_file(&logf).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(c.send(&["ping"]).repr(), "'pong'");
    append(&logf, &fail_lines("192.0.2.77", 3));
    assert!(
        wait_for(Duration::from_secs(10), || c.banned("t") == ["192.0.2.77"]),
        "{}",
        c.log_text()
    );
    c.stop();
}

/// `set <jail> addlogpath` on a running jail: the new file is followed,
/// the old one continues from where it was (nothing read twice).
#[test]
fn a_log_added_to_a_running_jail_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (a, b) = (d.join("a.log"), d.join("b.log"));
    append(&a, &fail_lines("192.0.2.31", 2));
    append(&b, "");
    let c = Child2::start(d, CHILD);
    configure(&c, d, "t", &a, "3600", "3");
    assert!(wait_for(Duration::from_secs(10), || c
        .send(&["status", "t"])
        .repr()
        .contains("('Total failed', 2)")));
    c.send(&["set", "t", "addlogpath", b.to_str().unwrap(), "tail"]);
    append(&b, &fail_lines("192.0.2.32", 3));
    append(&a, &fail_lines("192.0.2.31", 1));
    assert!(
        wait_for(Duration::from_secs(10), || c.banned("t")
            == ["192.0.2.31", "192.0.2.32"]),
        "{}",
        c.log_text()
    );
    std::thread::sleep(Duration::from_millis(500));
    let st = c.send(&["status", "t"]).repr();
    c.stop();
    assert!(st.contains("('Total failed', 6)"), "{st}");
}

/// The README's example (`config/examples/confdir`): its stream, read by
/// ironban-config, bans exactly what `config/examples/expected-banned.txt`
/// (real fail2ban's answer) says.
#[test]
fn the_readme_example_bans_what_fail2ban_bans() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/examples");
    let confdir = root.join("confdir").canonicalize().unwrap();
    let want = std::fs::read_to_string(root.join("expected-banned.txt")).unwrap();
    let stream = ironban_config::read_stream_with(&confdir, false).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let c = Child2::start(dir.path(), CHILD);
    // The server's log stays in the test's file (the example logs to STDOUT).
    let cmds: Vec<ironban_config::Value> = stream
        .commands
        .into_iter()
        .map(ironban_config::Value::List)
        .filter(|v| {
            !matches!(v, ironban_config::Value::List(l)
            if l.get(1).and_then(|x| x.as_str()) == Some("logtarget"))
        })
        .collect();
    c.send_values(&[
        ironban_config::Value::str("server-stream"),
        ironban_config::Value::List(cmds),
    ]);
    let mut got = String::new();
    let ok = wait_for(Duration::from_secs(10), || {
        got = c.send(&["banned"]).repr();
        want.trim() == got
    });
    c.stop();
    assert!(ok, "banned = {got}, expected {}", want.trim());
}

/// `set <jail> idle on`: lines wait, nothing is banned; `idle off`: they
/// are read on, as fail2ban's filter resumes reading.
#[test]
fn an_idle_jail_reads_on_when_active_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let logf = d.join("auth.log");
    append(&logf, "");
    let c = Child2::start(d, CHILD);
    configure(&c, d, "t", &logf, "3600", "3");
    c.send(&["set", "t", "idle", "on"]);
    append(&logf, &fail_lines("192.0.2.41", 3));
    std::thread::sleep(Duration::from_millis(2000));
    assert!(c.banned("t").is_empty());
    c.send(&["set", "t", "idle", "off"]);
    assert!(wait_for(Duration::from_secs(10), || c.banned("t") == ["192.0.2.41"]));
    c.stop();
}
