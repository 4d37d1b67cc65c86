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
    // fail2ban-regex: "ERROR: Unable to compile regular expression '(...'".
    assert!(stdout(&o).contains("ERROR: Unable to compile regular expression '("));
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

/// The progress bar: on stderr when it is a terminal (a pty made by
/// `script`), never in the stdout report, never when stderr is a pipe.
#[test]
fn progress_bar_on_a_terminal_only() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("script(1) not installed; skipped");
        return;
    }
    let dir = std::env::temp_dir().join(format!("ironban-progress-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("big.log");
    let line =
        "Jan  1 00:00:00 host sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2\n";
    // Above the 1 MiB a bar is drawn for.
    let n = (2 << 20) / line.len() + 1;
    std::fs::write(&log, line.repeat(n)).unwrap();
    let regex = "Failed password for .* from <HOST>";
    let bin = env!("CARGO_BIN_EXE_ironban");
    let report = dir.join("report.txt");
    let cmd = format!(
        "{bin} regex '{}' '{regex}' > '{}'",
        log.display(),
        report.display()
    );
    let pty = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("IRONBAN_PROGRESS_DELAY_MS", "0")
        .output()
        .unwrap();
    let tty = String::from_utf8_lossy(&pty.stdout);
    assert!(pty.status.success(), "{tty}");
    assert!(
        tty.contains("\r[") && tty.contains("% ") && tty.contains(" lines  ETA "),
        "{tty:?}"
    );
    // Cleared at the end.
    assert!(tty.ends_with("\r\x1b[K"), "{tty:?}");
    let text = std::fs::read_to_string(&report).unwrap();
    let counts = format!("Lines: {n} lines, 0 ignored, {n} matched, 0 missed");
    assert!(text.contains(&counts), "{text}");
    assert!(!text.contains('\r') && !text.contains("ETA"), "{text}");

    // stderr a pipe: no bar.
    let piped = Command::new(bin)
        .args(["regex", &log.display().to_string(), regex])
        .env("IRONBAN_PROGRESS_DELAY_MS", "0")
        .output()
        .unwrap();
    let untimed = |s: &str| -> String {
        s.lines()
            .filter(|l| !l.starts_with("[processed in"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(untimed(&stdout(&piped)), untimed(&text));
    let err = String::from_utf8_lossy(&piped.stderr);
    assert!(!err.contains("ETA") && !err.contains('\r'), "{err:?}");

    // A small log on a terminal: no bar either.
    let small = dir.join("small.log");
    std::fs::write(&small, line.repeat(1000)).unwrap();
    let cmd = format!("{bin} regex '{}' '{regex}' > /dev/null", small.display());
    let pty = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("IRONBAN_PROGRESS_DELAY_MS", "0")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&pty.stdout).contains("ETA"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A jail whose filter file is missing: fail2ban-regex 1.1's
/// `output('ERROR: Failed to get jail for %r' % (value,))`, exit 255; a
/// name that is neither jail nor filter is a raw regex.
#[test]
fn broken_jail_is_an_error_naming_it() {
    let dir = std::env::temp_dir().join(format!("ironban-badjail-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("filter.d")).unwrap();
    std::fs::write(
        dir.join("jail.conf"),
        "[DEFAULT]\nenabled = false\n\n[badjail]\nfilter = nosuchfilter\n",
    )
    .unwrap();
    let cfg = dir.display().to_string();
    let o = run(&["-c", &cfg, "x 192.0.2.1", "badjail"]);
    assert_eq!(o.status.code(), Some(255));
    let text = stdout(&o);
    assert!(
        text.contains(&format!("Use {:11} jail : badjail\n", "")),
        "{text}"
    );
    assert!(
        text.contains("ERROR: Failed to get jail for 'badjail'"),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("Unable to read the filter 'nosuchfilter'"));
    let o = run(&["-c", &cfg, "x 192.0.2.1", "notajail"]);
    assert!(stdout(&o).contains("Use   failregex line : notajail"));
    let _ = std::fs::remove_dir_all(&dir);
}
