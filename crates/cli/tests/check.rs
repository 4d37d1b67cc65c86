//! `ironban check` on the `fixtures/configs/check-*` directories: each
//! problem kind gives its message with file:line (`expected.txt`, positions
//! checked by hand against the fixture files), JSON agrees with the text,
//! and wherever real fail2ban (Debian's 1.0.2 `fail2ban-client -t`,
//! `fail2ban-regex`) reports the same problem, ironban reports it too.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as J;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shared() -> PathBuf {
    std::env::var("IRONBAN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("../shared"))
}

fn check_dirs() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("fixtures/configs"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("check-"))
        .collect();
    v.sort();
    assert!(v.len() >= 6, "{v:?}");
    v
}

/// Runs `ironban check -c fixtures/configs/<dir> [args]` from the repo root.
fn run(dir: &str, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ironban"))
        .current_dir(root())
        .env_remove("NO_COLOR")
        .args(["check", "-c"])
        .arg(format!("fixtures/configs/{dir}"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn text_report_as_expected() {
    for dir in check_dirs() {
        let (code, out) = run(&dir, &[]);
        let want =
            std::fs::read_to_string(root().join(format!("fixtures/configs/{dir}/expected.txt")))
                .unwrap();
        assert_eq!(out, want, "{dir}");
        // Piped output has no colour codes.
        assert!(!out.contains('\x1b'), "{dir}");
        let errors = out.lines().filter(|l| l.contains(": error[")).count();
        assert_eq!(code, i32::from(errors > 0), "{dir}: exit status");
    }
}

#[test]
fn json_agrees_with_text() {
    for dir in check_dirs() {
        let (code, out) = run(&dir, &["--json"]);
        let j: J = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{dir}: {e}\n{out}"));
        let (_, text) = run(&dir, &[]);
        let problems = j["problems"].as_array().unwrap();
        let text_problems: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(": error[") || l.contains(": warning["))
            .collect();
        assert_eq!(problems.len(), text_problems.len(), "{dir}");
        for (p, t) in problems.iter().zip(&text_problems) {
            assert!(t.contains(p["message"].as_str().unwrap()), "{dir}: {t}");
            if let (Some(f), Some(l)) = (p["file"].as_str(), p["line"].as_u64()) {
                assert!(t.starts_with(&format!("{f}:{l}: ")), "{dir}: {t}");
            }
        }
        assert_eq!(j["errors"].as_u64().unwrap() > 0, code == 1, "{dir}");
    }
}

/// Every kind the lint knows is exercised by some fixture.
#[test]
fn every_problem_kind_has_a_fixture() {
    let mut seen = std::collections::HashSet::new();
    for dir in check_dirs() {
        let (_, out) = run(&dir, &["--json"]);
        let j: J = serde_json::from_str(&out).unwrap();
        for p in j["problems"].as_array().unwrap() {
            seen.insert(p["kind"].as_str().unwrap().to_string());
        }
    }
    for k in [
        "config",
        "unknown-option",
        "missing-filter",
        "missing-action",
        "missing-logpath",
        "bad-time",
        "bad-value",
        "regex",
        "no-match",
        "no-date",
        "action",
    ] {
        assert!(seen.contains(k), "no fixture gives {k}");
    }
}

/// Real fail2ban's `-t` on the same fixtures: each problem it names is one
/// ironban names (same jail, same file or option), and when it fails the
/// test, so does ironban.
#[test]
fn same_problems_as_fail2ban_client_test() {
    let f2b = Path::new("/usr/bin/fail2ban-client");
    if !f2b.exists() {
        eprintln!("fail2ban-client not installed; skipped");
        return;
    }
    let mut compared = 0;
    for dir in check_dirs() {
        let out = Command::new(f2b)
            .current_dir(root())
            .args(["-c", &format!("fixtures/configs/{dir}"), "-t"])
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        let (code, json) = run(&dir, &["--json"]);
        let j: J = serde_json::from_str(&json).unwrap();
        let problems = j["problems"].as_array().unwrap();
        let has = |kind: &str, jail: Option<&str>, text: &str| {
            problems.iter().any(|p| {
                p["kind"] == kind
                    && match jail {
                        None => true,
                        Some(jl) => p["jail"] == jl,
                    }
                    && p["message"].as_str().unwrap().contains(text)
            })
        };
        let quoted = |line: &str, after: &str| -> Option<String> {
            let rest = &line[line.find(after)? + after.len()..];
            Some(rest.split('\'').next()?.to_string())
        };
        let mut jail_of_error = None;
        for line in log.lines() {
            if let Some(name) = quoted(line, "Unable to read the filter '") {
                assert!(
                    has("missing-filter", None, &format!("'{name}'")),
                    "{dir}: {line}"
                );
                compared += 1;
            } else if let Some(name) = quoted(line, "Unable to read action '") {
                assert!(
                    has("missing-action", None, &format!("'{name}'")),
                    "{dir}: {line}"
                );
                compared += 1;
            } else if let Some(rest) = line.split("Have not found any log file for ").nth(1) {
                let jail = rest.split(' ').next().unwrap();
                assert!(
                    has("missing-logpath", Some(jail), "matches no file"),
                    "{dir}: {line}"
                );
                jail_of_error = Some(jail.to_string());
                compared += 1;
            } else if let Some(opt) = quoted(line, "Wrong value for '") {
                assert!(has("bad-value", None, &format!("'{opt}'")), "{dir}: {line}");
                compared += 1;
            } else if let Some(msg) = line.split("Failed during configuration: ").nth(1) {
                if jail_of_error.is_none() {
                    let tail = msg.rsplit(": ").next().unwrap();
                    assert!(has("config", None, tail), "{dir}: {line}");
                    compared += 1;
                }
            }
        }
        if log.contains("test configuration failed") {
            assert_eq!(code, 1, "{dir}: fail2ban fails the test, ironban must too");
        }
    }
    assert!(compared >= 5, "only {compared} fail2ban messages compared");
}

/// The filter-over-log counts equal `fail2ban-regex`'s on the same log and filter.
#[test]
fn scan_counts_equal_fail2ban_regex() {
    let f2b = Path::new("/usr/bin/fail2ban-regex");
    if !f2b.exists() {
        eprintln!("fail2ban-regex not installed; skipped");
        return;
    }
    let (_, json) = run("check-no-match", &["--json"]);
    let j: J = serde_json::from_str(&json).unwrap();
    let mut compared = 0;
    for jail in j["jails"].as_array().unwrap() {
        for log in jail["logs"].as_array().unwrap() {
            let file = log["file"].as_str().unwrap();
            let out = Command::new(f2b)
                .current_dir(root())
                .args([file, "fixtures/configs/check-no-match/filter.d/simple.conf"])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            let total: u64 = text
                .lines()
                .find_map(|l| l.strip_prefix("Failregex: "))
                .and_then(|l| l.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{text}"));
            let lines: u64 = text
                .lines()
                .find_map(|l| l.strip_prefix("Lines: "))
                .and_then(|l| l.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap();
            assert_eq!(log["failures"].as_u64().unwrap(), total, "{file}");
            assert_eq!(log["lines"].as_u64().unwrap(), lines, "{file}");
            compared += 1;
        }
    }
    assert_eq!(compared, 3);
}

/// The stock configuration with all 99 jails enabled (the input real
/// fail2ban dumped with rc 0 for golden/config-dump/all-jails) has no
/// unknown option, missing file, bad time, bad regex or bad shell command.
/// One true finding stays: stock `[pass2allow-ftp]` passes `returntype`,
/// an iptables parameter, to the default banaction (nftables), which has
/// no such parameter.
#[test]
fn stock_config_all_jails_clean() {
    let stock = shared().join("upstream/fail2ban/config");
    let input = shared().join("golden/config-dump/all-jails/input");
    if !stock.is_dir() || !input.is_dir() {
        eprintln!("shared/ not found; skipped");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&stock, tmp.path());
    for f in ["jail.local", "paths-overrides.local"] {
        std::fs::copy(input.join(f), tmp.path().join(f)).unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_ironban"))
        .args(["check", "--json", "--scan-mb", "0", "-c"])
        .arg(tmp.path())
        .output()
        .unwrap();
    let j: J = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["jails"].as_array().unwrap().len(), 99);
    let mut returntype = 0;
    for p in j["problems"].as_array().unwrap() {
        if p["jail"] == "pass2allow-ftp" && p["kind"] == "unknown-option" {
            assert!(
                p["message"].as_str().unwrap().contains("'returntype'"),
                "{p}"
            );
            returntype += 1;
            continue;
        }
        // The logs of the golden run are not here.
        assert_eq!(p["kind"], "missing-logpath", "{p}");
    }
    assert_eq!(returntype, 1);
}

/// The bundled default config is clean.
#[test]
fn bundled_config_clean() {
    let out = Command::new(env!("CARGO_BIN_EXE_ironban"))
        .current_dir(root())
        .args(["check", "-c", "config"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.ends_with("0 error(s), 0 warning(s)\n"), "{text}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A fail2ban 0.8 `(?P<host>...)` failregex: fail2ban-regex 1.x refuses it
/// ("No failure-id group"), ironban reads it as `<HOST>` and `check` warns.
#[test]
fn old_host_group_warned_where_fail2ban_refuses() {
    let (_, json) = run("check-regex", &["--json"]);
    let j: J = serde_json::from_str(&json).unwrap();
    let warned = j["problems"].as_array().unwrap().iter().any(|p| {
        p["jail"] == "four"
            && p["severity"] == "warning"
            && p["kind"] == "regex"
            && p["message"].as_str().unwrap().contains("(?P<host>")
    });
    assert!(warned, "{json}");
    let f2b = Path::new("/usr/bin/fail2ban-regex");
    if !f2b.exists() {
        return;
    }
    let out = Command::new(f2b)
        .current_dir(root().join("fixtures/configs/check-regex"))
        .args(["logs/auth.log", r"failure from (?P<host>\S+)$"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("No failure-id group"), "{text}");
}

/// Each time value `check` calls invalid is one real fail2ban cannot read
/// either (`fail2ban-client --str2sec VALUE` fails), and the fixture's valid
/// ones (`1h30m`) it reads.
#[test]
fn bad_times_are_fail2ban_str2sec_failures() {
    let f2b = Path::new("/usr/bin/fail2ban-client");
    if !f2b.exists() {
        eprintln!("fail2ban-client not installed; skipped");
        return;
    }
    let str2sec_ok = |v: &str| {
        Command::new(f2b)
            .args(["--str2sec", v])
            .output()
            .unwrap()
            .status
            .success()
    };
    let (_, json) = run("check-bad-time", &["--json"]);
    let j: J = serde_json::from_str(&json).unwrap();
    let mut n = 0;
    for p in j["problems"].as_array().unwrap() {
        if p["kind"] != "bad-time" {
            continue;
        }
        let msg = p["message"].as_str().unwrap();
        let value = msg.split('"').nth(1).unwrap();
        assert!(!str2sec_ok(value), "fail2ban reads {value:?}");
        n += 1;
    }
    assert_eq!(n, 3);
    assert!(str2sec_ok("1h30m"));
}

/// On a terminal (a pty made by `script`) the report is coloured, unless
/// NO_COLOR is set; piped it never is (checked in `text_report_as_expected`).
#[test]
fn colour_on_a_terminal_only_without_no_color() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("script(1) not installed; skipped");
        return;
    }
    let cmd = format!(
        "{} check -c fixtures/configs/check-bad-time",
        env!("CARGO_BIN_EXE_ironban")
    );
    let on_pty = |no_color: Option<&str>| {
        let mut c = Command::new("script");
        c.current_dir(root()).args(["-qc", &cmd, "/dev/null"]);
        c.env_remove("NO_COLOR");
        if let Some(v) = no_color {
            c.env("NO_COLOR", v);
        }
        String::from_utf8_lossy(&c.output().unwrap().stdout).into_owned()
    };
    let coloured = on_pty(None);
    assert!(
        coloured.contains("\x1b[1;31merror[bad-time]\x1b[0m"),
        "{coloured}"
    );
    let plain = on_pty(Some("1"));
    assert!(
        plain.contains("error[bad-time]") && !plain.contains('\x1b'),
        "{plain}"
    );
}
