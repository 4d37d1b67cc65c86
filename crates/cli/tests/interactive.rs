//! `ironban client -i` against Debian's real `fail2ban-client -i`, both
//! talking to one `ironban server`: the interactive loop splits each line
//! with Python's `shlex` (so `"a\$b"` keeps its backslash, unlike a POSIX
//! shell) and logs a quoting error instead of sending anything. The
//! printed answers after the banner must be the same.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

const F2B_CLIENT: &str = "/usr/bin/fail2ban-client";

/// Runs `client -s SOCK -i` with `input` on stdin; stdout without the
/// banner (its version line names the program) and stderr's messages
/// without the timestamp/pid prefix.
fn interactive(client: &[&str], sock: &Path, input: &str) -> (String, Vec<String>) {
    let mut child = Command::new(client[0])
        .args(&client[1..])
        .arg("-s")
        .arg(sock)
        .arg("-i")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", client[0]));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let body = stdout
        .split_once("\n\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    let errors = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| l.split_once("ERROR").map(|(_, m)| m.trim().to_string()))
        .collect();
    (body, errors)
}

#[test]
fn interactive_lines_split_as_python_shlex_does() {
    assert!(
        Path::new(F2B_CLIENT).exists(),
        "{F2B_CLIENT} is the oracle of this test: apt-get install fail2ban (scripts/test-all.sh does)"
    );
    let srv = common::start();
    let input = "echo \"a\\$b\" 'c d' e\\ f\necho \"x\\\"y\" \\\\z\nping \"abc\nexit\n";
    let ours = interactive(&[env!("CARGO_BIN_EXE_ironban"), "client"], &srv.sock, input);
    let real = interactive(&["/usr/bin/python3", F2B_CLIENT], &srv.sock, input);
    eprintln!("ironban:  {ours:?}\nfail2ban: {real:?}");
    assert_eq!(ours, real);
    // The oracle itself must have answered, so the comparison means something.
    assert!(real.0.contains("a\\$b"), "{:?}", real.0);
    assert_eq!(real.1, vec!["No closing quotation".to_string()]);
}
