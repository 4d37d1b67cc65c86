//! Parts (c) and (d): clients as the oracle's consumer. Debian's real
//! `fail2ban-client` and ironban's own client run each captured case against
//! an ironban server and must print what the captured client printed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ironban_compat_tests::{upstream_dir, Tally};
use ironban_config::Value;

use crate::capture::{norm_pid, norm_times, Case, PYTHON};
use crate::server::{replay_server, start_server};

const REAL_CLIENT: &str = "/usr/bin/fail2ban-client";

/// Part (c): Debian's real client against ironban; the expectation is
/// corrected for what this client version prints against fail2ban's own
/// reply bytes.
pub(crate) fn debian_client(t: &mut Tally, tmp: &Path, cases: &[Case], stream: &[Value]) {
    let real_client = Path::new(REAL_CLIENT).exists();
    if !real_client {
        eprintln!("protocol: {REAL_CLIENT} is missing (apt-get install fail2ban)");
    }
    let replay_sock = tmp.join("replay.sock");
    let rs = replay_server(
        replay_sock.clone(),
        cases
            .iter()
            .map(|c| c.replies.iter().map(|r| r.0.clone()).collect())
            .collect(),
    );
    let mut expected: Vec<(String, i64)> = Vec::new();
    let mut version_diffs = 0;
    for c in cases {
        let (out, code) = run_client(&[PYTHON, REAL_CLIENT], &replay_sock, &c.args);
        if norm_times(&out) != norm_times(&c.stdout) || code != c.exit {
            version_diffs += 1;
            expected.push((out, code));
        } else {
            expected.push((c.stdout.clone(), c.exit));
        }
    }
    let _ = rs.join();
    println!(
        "protocol: (c) Debian's client prints differently from the captured client in {version_diffs} cases; those compare with its output on fail2ban's reply bytes"
    );
    let server = start_server(tmp, "c", stream);
    for (c, (want, want_code)) in cases.iter().zip(&expected) {
        let (out, code) = run_client(&[PYTHON, REAL_CLIENT], &server.sock, &c.args);
        let ok = norm_times(&out) == norm_times(want) && code == *want_code;
        t.check(ok, || {
            format!(
                "(c) {}: exit {code} (want {want_code}), stdout {out:?} want {want:?}",
                c.name
            )
        });
    }
    server.wait();
}

/// Part (d): ironban's own client against ironban's server.
pub(crate) fn own_client(t: &mut Tally, tmp: &Path, cases: &[Case], stream: &[Value]) {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("ironban")))
        .unwrap_or_else(|| PathBuf::from("ironban"));
    if !exe.exists() {
        eprintln!(
            "protocol: {} is missing; build it with `cargo build -p ironban-cli`",
            exe.display()
        );
    }
    let exe_s = exe.display().to_string();
    let server = start_server(tmp, "d", stream);
    for c in cases {
        let (out, err, code) = run_client_full(&[&exe_s, "client"], &server.sock, &c.args);
        let ok = norm_times(&out) == norm_times(&c.stdout) && code == c.exit && err == c.stderr;
        t.check(ok, || {
            format!(
                "(d) {}: exit {code} (want {}), stdout {out:?} want {:?}, stderr {err:?} want {:?}",
                c.name, c.exit, c.stdout, c.stderr
            )
        });
    }
    server.wait();
}

fn run_client(program: &[&str], sock: &Path, args: &[String]) -> (String, i64) {
    let (out, _, code) = run_client_full(program, sock, args);
    (out, code)
}

fn run_client_full(program: &[&str], sock: &Path, args: &[String]) -> (String, String, i64) {
    let conf = upstream_dir().join("config");
    let mut cmd = Command::new(program[0]);
    cmd.args(&program[1..]);
    if conf.is_dir() {
        cmd.arg("-c").arg(&conf);
    }
    let out = cmd
        .arg("-s")
        .arg(sock)
        .args(args)
        .stdin(Stdio::null())
        .output();
    match out {
        Ok(o) => (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            norm_pid(&String::from_utf8_lossy(&o.stderr)),
            i64::from(o.status.code().unwrap_or(-1)),
        ),
        Err(e) => (
            format!("<cannot run {}: {e}>", program[0]),
            String::new(),
            -1,
        ),
    }
}
