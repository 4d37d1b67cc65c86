//! `set <jail> action <act> <method> [<json kwargs>]` side by side with
//! Debian's real fail2ban-server: the same commands on the same jail and
//! action give the same replies (values and exceptions) and run the same
//! commands, in the same order.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use ironban_config::Value;
use ironban_server::protocol::csocket::CSocket;

#[test]
fn child_server_main() {
    child_main();
}

fn send(sock: &Path, words: &[&str]) -> String {
    let v: Vec<Value> = words.iter().map(|w| Value::str(*w)).collect();
    let mut s = CSocket::connect(sock, Some(Duration::from_secs(30))).expect("connect");
    let r = s.send(&v).expect("reply").repr();
    s.close();
    r
}

/// Configures jail `j` with a recording `dummy` action, then calls its
/// methods; the replies and the recorded calls.
fn session(sock: &Path, dir: &Path) -> (Vec<String>, String) {
    let log = dir.join("t.log");
    append(&log, "");
    let calls = dir.join("calls");
    let c = calls.display();
    send(sock, &["set", "dbfile", "None"]);
    send(sock, &["add", "j", "polling"]);
    send(sock, &["set", "j", "addlogpath", log.to_str().unwrap()]);
    send(sock, &["set", "j", "addaction", "dummy"]);
    for (k, v) in [
        ("actionstart", "echo start"),
        ("actionstop", "echo stop"),
        ("actionban", "echo ban <ip>"),
        ("actionunban", "echo unban <ip>"),
        ("actionflush", "echo flush"),
    ] {
        send(
            sock,
            &["set", "j", "action", "dummy", k, &format!("{v} >> {c}")],
        );
    }
    send(sock, &["start", "j"]);
    let info = r#"{"aInfo": {"ip": "192.0.2.4"}}"#;
    let calls_to: &[&[&str]] = &[
        &["start"],
        &["stop"],
        &["flush"],
        &["reload"],
        &["consistencyCheck"],
        &["ban", info],
        &["unban", info],
        &["ban"],
        &["start", r#"{"x": 1}"#],
        &["start", "[1]"],
    ];
    let mut replies = Vec::new();
    for m in calls_to {
        let mut w = vec!["set", "j", "action", "dummy"];
        w.extend_from_slice(m);
        replies.push(format!("{m:?} -> {}", send(sock, &w)));
    }
    replies.push(send(sock, &["set", "j", "action", "nope", "start"]));
    send(sock, &["stop"]);
    std::thread::sleep(Duration::from_millis(500));
    (replies, std::fs::read_to_string(&calls).unwrap_or_default())
}

#[test]
fn action_methods_answer_and_run_as_fail2bans() {
    let f2b = tempfile::tempdir().unwrap();
    let fd = f2b.path();
    let sock = fd.join("s.sock");
    let mut real = Command::new("/usr/bin/fail2ban-server")
        .args(["-f", "-x", "--async", "-s"])
        .arg(&sock)
        .arg("-p")
        .arg(fd.join("p.pid"))
        .arg("--logtarget")
        .arg(fd.join("log"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Debian's fail2ban-server (apt-get install fail2ban)");
    assert!(
        wait_for(Duration::from_secs(20), || sock.exists()),
        "fail2ban-server did not start"
    );
    let (want, want_calls) = session(&sock, fd);
    let _ = real.kill();
    let _ = real.wait();

    let ib = tempfile::tempdir().unwrap();
    let c = Child2::start(ib.path(), "child_server_main");
    let (got, got_calls) = session(&c.sock, ib.path());
    c.kill();
    assert_eq!(got, want);
    assert_eq!(got_calls, want_calls);
    assert!(want_calls.contains("ban 192.0.2.4"), "{want_calls}");
}
