//! The journal phase: a `backend = systemd` jail on exported journal files,
//! side by side with real fail2ban, and `ironban regex systemd-journal`
//! against fail2ban-regex on the same files.

use super::*;

/// Export-format sshd failures of `ip`, `ago` seconds back.
fn journal_export(ip: &str, n: usize, ago: u64, seq0: usize) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0);
    (0..n)
        .map(|i| {
            format!(
                "__CURSOR=s=1;i={}\n__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={}\n\
                 _BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=srv\n\
                 SYSLOG_IDENTIFIER=sshd\n_PID=123\n_SYSTEMD_UNIT=ssh.service\n\
                 MESSAGE=Failed password for root from {ip} port 22 ssh2\n\n",
                seq0 + i,
                now - ago * 1_000_000 + i as u64 * 1000,
                1_000_000 + seq0 + i
            )
        })
        .collect()
}

/// Writes a journal file with systemd-journal-remote.
fn write_journal(path: &Path, export: &str) -> bool {
    use std::io::Write;
    let Ok(mut child) = Command::new("/lib/systemd/systemd-journal-remote")
        .arg(format!("--output={}", path.display()))
        .arg("--split-mode=none")
        .arg("-")
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let ok = child
        .stdin
        .take()
        .map(|mut i| i.write_all(export.as_bytes()).is_ok())
        .unwrap_or(false);
    ok && child.wait().map(|s| s.success()).unwrap_or(false)
}

/// `backend = systemd` on journal files, both servers: bans from the
/// journal, then a restart with new entries in a second file (resumed
/// after the stored position: nothing read twice, the new ones banned).
pub(crate) fn journal_phase(t: &mut Tally, base: &Path) {
    let mut sides: Vec<Side> = ["fail2ban", "ironban"]
        .iter()
        .map(|n| {
            let dir = base.join(format!("journal-{n}"));
            let _ = std::fs::create_dir_all(&dir);
            Side {
                name: n,
                dir,
                srv: None,
                journal: true,
            }
        })
        .collect();
    let first = [
        journal_export("198.51.100.70", 3, 60, 1),
        journal_export("198.51.100.71", 2, 50, 10),
    ]
    .concat();
    for s in &sides {
        let ok = write_journal(&s.dir.join("a.journal"), &first);
        t.check(ok, || "systemd-journal-remote writes the journal".into());
    }
    for s in sides.iter_mut() {
        s.start();
        s.configure();
    }
    let banned = |s: &Side| s.send(&["get", "j", "banned"]).unwrap_or_default();
    let status = |s: &Side| s.send(&["status", "j"]).unwrap_or_default();
    compare_when(t, "journal: banned", &sides, banned, |b| {
        b.contains("198.51.100.70'")
    });
    compare_when(t, "journal: status", &sides, status, |s| {
        s.contains("('Total failed', 5)")
    });
    for s in sides.iter_mut() {
        s.stop();
    }
    let second = journal_export("198.51.100.71", 3, 5, 100);
    for s in &sides {
        write_journal(&s.dir.join("b.journal"), &second);
    }
    for s in sides.iter_mut() {
        s.start();
        s.configure();
    }
    // Sorted: fail2ban restores on one thread while its journal thread
    // bans, so its list order is timing.
    let banned_sorted = |s: &Side| {
        let b = banned(s);
        let mut ips: Vec<&str> = b.split('\'').skip(1).step_by(2).collect();
        ips.sort();
        ips.join(" ")
    };
    compare_when(
        t,
        "journal: banned after the restart (sorted)",
        &sides,
        banned_sorted,
        |b| b == "198.51.100.70 198.51.100.71",
    );
    compare(t, "journal: jail log after the restart", &sides, |s| {
        s.jail_log().join("\n")
    });
    for s in sides.iter_mut() {
        s.stop();
    }
    regex_on_journal(t, &sides[1].dir);
    compare(t, "journal: action record (sorted)", &sides, |s| {
        let mut v: Vec<String> = s.calls().lines().map(String::from).collect();
        v.sort();
        v.join("\n")
    });
}

/// `ironban regex systemd-journal[journalfiles=…]` prints what Debian's
/// `fail2ban-regex` prints for the same journal files (with and without
/// `-v`). The `ironban` binary: `$IRONBAN_BIN`, else beside this runner.
fn regex_on_journal(t: &mut Tally, dir: &Path) {
    let bin = std::env::var_os("IRONBAN_BIN")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::current_exe()
                .ok()
                .map(|p| p.with_file_name("ironban"))
        });
    let Some(bin) = bin.filter(|b| b.exists()) else {
        t.check(false, || {
            "journal regex: no ironban binary (cargo build -p ironban-cli)".into()
        });
        return;
    };
    let spec = format!(
        "systemd-journal[journalfiles=\"{}/*.journal\"]",
        dir.display()
    );
    let norm = |out: std::process::Output| -> String {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| match l.find("[processed in") {
                Some(i) => &l[..i],
                None => l,
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    for verbose in [false, true] {
        let mut args = vec!["-m", "_SYSTEMD_UNIT=ssh.service"];
        if verbose {
            args.push("-v");
        }
        let regex = r"Failed password for \S+ from <HOST>";
        let ours = Command::new(&bin)
            .arg("regex")
            .args(&args)
            .arg(&spec)
            .arg(regex)
            .output();
        let real = Command::new(PYTHON)
            .arg("/usr/bin/fail2ban-regex")
            .args(&args)
            .arg(&spec)
            .arg(regex)
            .output();
        let (Ok(ours), Ok(real)) = (ours, real) else {
            t.check(false, || "journal regex: cannot run the programs".into());
            continue;
        };
        let (a, b) = (norm(real), norm(ours));
        t.check(a == b && a.contains("Lines: 8 lines"), || {
            format!(
                "journal regex (verbose {verbose}):\n  fail2ban-regex:\n{a}\n  ironban regex:\n{b}"
            )
        });
    }
}
