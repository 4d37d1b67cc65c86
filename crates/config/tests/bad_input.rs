//! Broken configurations (issue #2 "Bad input"): each gives one error that
//! names the file and line (or the jail and option), makes the read fail
//! (exit 255 in `-d`), and never panics. The fixtures are in
//! `fixtures/configs/`; `ok/` is the valid reference.

use ironban_config::{read_stream, ErrorKind, Level, Value};

use crate::fixtures_dir;

fn read_err(case: &str) -> ironban_config::Error {
    match read_stream(&fixtures_dir().join(case)) {
        Ok(s) => panic!("{case}: expected an error, got {:?}", s.commands),
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "{case}: error is not one line: {msg}");
            e
        }
    }
}

fn assert_at(e: &ironban_config::Error, file: &str, line: usize) {
    let at =
        e.at.as_ref()
            .unwrap_or_else(|| panic!("no position in {e}"));
    assert!(at.file.ends_with(file), "{e}");
    assert_eq!(at.line, line, "{e}");
    assert!(e.to_string().contains(&format!("{file}:{line}: ")), "{e}");
}

/// A jail-level error: fail2ban's `config-error` command naming the jail, an
/// ERROR naming it in the log, and a failed read overall (the only jail).
fn assert_jail_skipped(case: &str, reason: &str) {
    let s = read_stream(&fixtures_dir().join(case)).unwrap();
    assert!(!s.ok, "{case}: read should fail");
    let want = Value::List(vec![
        Value::str("config-error"),
        Value::str(format!(
            "Jail 'one' skipped, because of wrong configuration: {reason}"
        )),
    ]);
    assert!(
        s.commands.iter().any(|c| Value::List(c.clone()) == want),
        "{case}: {:?}",
        s.commands
    );
    assert!(s
        .log
        .iter()
        .any(|m| m.level == Level::Error && m.msg == "Errors in jail 'one'. Skipping..."));
    assert!(!s.commands.iter().any(|c| c[0] == Value::str("start")));
}

#[test]
fn ok_reference_reads() {
    let s = read_stream(&fixtures_dir().join("ok")).unwrap();
    assert!(s.ok);
    let last = s.commands.last().unwrap();
    assert_eq!(Value::List(last.clone()).repr(), "['start', 'one']");
}

#[test]
fn missing_include() {
    let e = read_err("missing-include");
    assert!(matches!(e.kind, ErrorKind::MissingInclude { .. }), "{e}");
    assert_at(&e, "jail.conf", 2);
}

#[test]
fn unknown_interpolation() {
    let e = read_err("unknown-interpolation");
    assert!(
        matches!(&e.kind, ErrorKind::MissingInterpolation { section, option, key, .. }
            if section == "one" && option == "maxretry" && key == "nope"),
        "{e}"
    );
    assert_at(&e, "jail.conf", 7);
}

#[test]
fn interpolation_loop() {
    let e = read_err("interpolation-loop");
    assert!(
        matches!(&e.kind, ErrorKind::InterpolationDepth { section, option, .. }
            if section == "one" && option == "bantime"),
        "{e}"
    );
    assert_at(&e, "jail.conf", 9);
}

#[test]
fn duplicate_option() {
    let e = read_err("duplicate-option");
    assert!(
        matches!(&e.kind, ErrorKind::DuplicateOption { section, option }
            if section == "Definition" && option == "failregex"),
        "{e}"
    );
    assert_at(&e, "dup.conf", 3);
}

#[test]
fn missing_filter() {
    assert_jail_skipped("missing-filter", "Unable to read the filter 'nothere'");
}

#[test]
fn malformed_filter_args() {
    assert_jail_skipped(
        "malformed-filter-args",
        "Invalid filter definition 'simple[mode=normal': unexpected option syntax",
    );
}

#[test]
fn malformed_action_args() {
    assert_jail_skipped(
        "malformed-action-args",
        "Invalid action definition 'echo[name=\"x\" y]': unexpected syntax at 8 after option 'name':  y",
    );
}

#[test]
fn missing_confdir_is_an_error() {
    let e = read_err("does-not-exist");
    assert!(matches!(e.kind, ErrorKind::NoBaseDir(_)), "{e}");
}
