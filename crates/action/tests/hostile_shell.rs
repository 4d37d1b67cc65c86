//! End to end: hostile log lines → the stock sshd filter (upstream
//! filter.d/sshd.conf read by ironban-config, matched by ironban-filter) →
//! a ban ticket → a jail action run for real through `/bin/sh`. The user
//! names carry shell code; none of it may run, and the action must receive
//! each value byte for byte (fail2ban: `f2bV_` variables, `action.py`).
//!
//! Needs ../shared (the upstream filter); missing is a failure.

use std::path::{Path, PathBuf};

use ironban_action::actions::Actions;
use ironban_action::{FailId, HostNames, ShellExecutor, Ticket};
use ironban_filter::{Filter, FilterOptions, UseDns};

const NOW: f64 = 1_700_000_000.0;

fn shared_dir() -> PathBuf {
    if let Ok(p) = std::env::var("IRONBAN_SHARED") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn sshd() -> Filter {
    let conf = shared_dir().join("upstream/fail2ban/config");
    assert!(
        conf.is_dir(),
        "{} missing (set IRONBAN_SHARED)",
        conf.display()
    );
    let def = ironban_config::read_filter(&conf, "sshd", &[], &[]).expect("sshd filter");
    Filter::new(FilterOptions {
        prefregex: def.prefregex,
        failregex: def.failregex,
        ignoreregex: def.ignoreregex,
        maxlines: def.maxlines.unwrap_or(1),
        datepattern: def.datepattern,
        usedns: UseDns::No,
        now: Some(NOW),
        ..FilterOptions::default()
    })
    .expect("compile sshd")
}

#[test]
fn shell_code_in_user_names_never_runs() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let m = marker.display().to_string();
    let users = [
        format!("$(touch {m})"),
        format!("`touch {m}`"),
        format!("x;touch {m}"),
        format!("x|touch {m}"),
        format!("x&&touch {m}"),
        format!("'\"$(touch {m})\"'"),
        format!("${{IFS}}touch${{IFS}}{m}"),
        format!("x>{m}"),
        format!("\\\";touch {m};#"),
        format!("<ip>$(touch {m})"),
        "*".to_string(),
    ];
    let mut f = sshd();
    let mut tickets = Vec::new();
    for (i, u) in users.iter().enumerate() {
        let line = format!(
            "Jan 23 21:59:59 host sshd[{i}]: Invalid user {u} from 192.0.2.{} port 4242",
            i + 1
        );
        let found = f.process_line(&line);
        assert_eq!(found.len(), 1, "sshd must match: {line}");
        let fail = &found[0];
        let user = fail.group("user").unwrap_or_default().to_string();
        assert_eq!(&user, u, "user group of {line}");
        let ip = fail.id.as_ref().expect("address").to_string();
        let mut t = Ticket::new(FailId::parse(&ip), NOW, vec![line.clone()]);
        t.data.insert("user".into(), user);
        tickets.push(t);
    }

    let out = dir.path().join("out");
    let mut jail = Actions::new("sshd");
    jail.set_hostnames(HostNames {
        fq: "h.example".into(),
        short: "h".into(),
    });
    jail.set_resolver(None);
    let act = jail.add_action("log");
    act.set(
        "actionban",
        Some(format!(
            "printf '%s|%s|%s\\n' <ip> \"<F-USER>\" \"<matches>\" >> {}",
            out.display()
        )),
    );
    let mut sh = ShellExecutor;
    let mut bans = 0;
    for t in tickets {
        bans += jail.check_ban(vec![t], &mut sh, NOW).len();
    }
    let got = std::fs::read_to_string(&out).unwrap_or_default();
    let lines: Vec<&str> = got.lines().collect();
    println!(
        "hostile_shell: {} hostile user names through sshd.conf and /bin/sh: {} bans, {} action lines, marker file {}",
        users.len(),
        bans,
        lines.len(),
        if marker.exists() { "CREATED" } else { "absent" }
    );
    assert!(!marker.exists(), "injected shell code ran");
    assert_eq!(lines.len(), users.len());
    for (i, u) in users.iter().enumerate() {
        let want_prefix = format!("192.0.2.{}|{u}|", i + 1);
        assert!(
            lines.iter().any(|l| l.starts_with(&want_prefix)),
            "value not passed verbatim: {want_prefix}\n{got}"
        );
    }
}
