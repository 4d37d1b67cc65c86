//! `ironban regex` as a program: exit codes and messages on bad input.
//! Expected exit codes and outputs were taken from real fail2ban-regex
//! (Debian 1.0.2) on the same arguments.

use std::path::PathBuf;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ironban"))
        .arg("regex")
        .args(args)
        .output()
        .expect("ironban runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn upstream() -> PathBuf {
    std::env::var("IRONBAN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
        .join("upstream/fail2ban")
}

#[test]
fn missing_log_is_tested_as_a_line_with_a_warning() {
    // fail2ban-regex: exit 0, the argument becomes the log line.
    let o = run(&["/vaar/log/maillog", "<HOST>"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("Use      single line : /vaar/log/maillog"));
    assert!(String::from_utf8_lossy(&o.stderr).contains("'/vaar/log/maillog' not found"));
}

#[test]
fn missing_filter_is_a_regex_without_failure_id() {
    // fail2ban-regex: "ERROR: No failure-id group in 'nonexist-filter'", exit 255.
    let o = run(&["x 192.0.2.1", "nonexist-filter"]);
    assert_eq!(o.status.code(), Some(255));
    assert!(stdout(&o).contains("No failure-id group in 'nonexist-filter'"));
}

#[test]
fn invalid_regex_is_exit_255() {
    let o = run(&["x 192.0.2.1", "(<HOST>"]);
    assert_eq!(o.status.code(), Some(255));
    assert!(stdout(&o).contains("ERROR: failregex: Unable to compile regular expression"));
}

#[test]
fn missing_arguments_is_exit_255() {
    let o = run(&["only-one"]);
    assert_eq!(o.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&o.stderr).contains("ERROR: provide both <LOG> and <REGEX>."));
}

#[test]
fn invalid_utf8_nul_and_huge_lines_are_processed() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("bad.log");
    let mut data = b"Jan  1 00:00:00 a \xff\xfe from 192.0.2.1\n".to_vec();
    data.extend_from_slice(b"Jan  1 00:00:01 a\x00b from 192.0.2.2\n");
    data.extend_from_slice(
        format!("Jan  1 00:00:02 {} from 192.0.2.3\n", "a".repeat(1 << 20)).as_bytes(),
    );
    std::fs::write(&log, data).unwrap();
    let o = run(&[log.to_str().unwrap(), "from <HOST>$"]);
    assert_eq!(o.status.code(), Some(0));
    // fail2ban-regex on the same file: 3 lines, 3 matched.
    assert!(
        stdout(&o).contains("Lines: 3 lines, 0 ignored, 3 matched, 0 missed"),
        "{}",
        stdout(&o)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("invalid bytes are replaced"));
}

#[test]
fn out_id_and_json() {
    let log = upstream().join("fail2ban/tests/files/logs/sshd");
    let filter = upstream().join("config/filter.d/sshd.conf");
    let o = run(&["-o", "id", log.to_str().unwrap(), filter.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).lines().any(|l| l == "192.0.2.1"));
    let o = run(&["--json", log.to_str().unwrap(), filter.to_str().unwrap()]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("--json prints JSON");
    // The same counts as the golden text summary (golden/regex/sshd.txt).
    assert_eq!(j["lines"]["tested"], 155);
    assert_eq!(j["lines"]["matched"], 65);
    assert_eq!(j["failregex"][0]["hits"], 8);
}
