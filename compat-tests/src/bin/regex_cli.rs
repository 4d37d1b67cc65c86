//! regex_cli: `ironban regex` against real `fail2ban-regex` output
//! (`golden/regex/`): one run per sample log and option set. A run passes
//! when the whole summary agrees — header, per-regex hit counts, date
//! template hits, the `Lines:` counts and the printed matched/missed/ignored
//! lines — and the exit code is the same. Paths and the elapsed time are
//! normalised as in the golden files.
//!
//! Then REGEX as a jail name (fail2ban-regex 1.1), run live against the
//! installed fail2ban-regex 1.0.2 (Debian's python3 modules, which have no
//! jail lookup): each jail of a test config dir is run by ironban, and the
//! filter spec and `-L`/`-d` options the jail stands for are run by
//! fail2ban-regex. A case passes when everything from the `Use log file`
//! line on (encoding, results, lines) is the same, the header holds the same
//! `maxlines`/`datepattern` lines, and ironban names the jail as 1.1 does
//! (`"Use %11s jail : %s"`).
//!
//! The `ironban` binary is taken from `$IRONBAN_BIN`, else from beside this
//! runner (`cargo build -p ironban-cli` first).

use std::path::PathBuf;
use std::process::Command;

use ironban_compat_tests::{golden_dir, upstream_dir, Tally};
use serde_json::Value;

fn ironban_bin() -> PathBuf {
    if let Ok(p) = std::env::var("IRONBAN_BIN") {
        return PathBuf::from(p);
    }
    let me = std::env::current_exe().expect("current exe");
    let p = me.with_file_name("ironban");
    if !p.is_file() {
        eprintln!(
            "regex_cli: {} not found; run `cargo build -p ironban-cli` or set IRONBAN_BIN",
            p.display()
        );
        std::process::exit(2);
    }
    p
}

fn normalise(s: &str, upstream: &str) -> String {
    let s = s.replace(upstream, "@UPSTREAM@");
    let mut out = Vec::new();
    for line in s.lines() {
        if let Some(rest) = line.strip_prefix("[processed in ") {
            if rest.ends_with(" sec]") {
                out.push("[processed in @ELAPSED@ sec]".to_string());
                continue;
            }
        }
        out.push(line.trim_end().to_string());
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out.join("\n")
}

fn main() {
    let bin = ironban_bin();
    let golden = golden_dir().join("regex");
    let upstream = upstream_dir();
    let up = upstream.display().to_string();
    let index: Value = serde_json::from_str(
        &std::fs::read_to_string(golden.join("index.json")).expect("golden regex index"),
    )
    .expect("index.json parses");
    let only = std::env::args().nth(1);
    let mut tally = Tally::new("regex_cli");
    for run in index.as_array().expect("index is a list") {
        let out_name = run["output"].as_str().unwrap_or("");
        if only
            .as_ref()
            .is_some_and(|o| !out_name.starts_with(o.as_str()))
        {
            continue;
        }
        let cmd = run["command"].as_str().unwrap_or("");
        // `fail2ban-regex LOG FILTER`; FILTER may hold spaces (`[a=1, b=2]`).
        let args: Vec<String> = cmd
            .splitn(3, ' ')
            .skip(1)
            .map(|a| a.replace("@UPSTREAM@", &up))
            .collect();
        let want = std::fs::read_to_string(golden.join(out_name)).unwrap_or_default();
        let want_code = run["exit_code"].as_i64().unwrap_or(0);
        let res = Command::new(&bin)
            .arg("regex")
            .args(&args)
            .env("TZ", "UTC")
            .current_dir(std::env::temp_dir())
            .output();
        let res = match res {
            Ok(r) => r,
            Err(e) => {
                tally.check(false, || {
                    format!("{out_name}: cannot run {}: {e}", bin.display())
                });
                continue;
            }
        };
        let got = normalise(&String::from_utf8_lossy(&res.stdout), &up);
        let want = normalise(&want, &up);
        let code = res.status.code().unwrap_or(-1) as i64;
        let ok = got == want && code == want_code;
        tally.check(ok, || {
            if code != want_code {
                return format!(
                    "{out_name}: exit code {code}, want {want_code}; stderr: {}",
                    String::from_utf8_lossy(&res.stderr)
                );
            }
            let (g, w): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
            let i = (0..g.len().max(w.len()))
                .find(|&i| g.get(i) != w.get(i))
                .unwrap_or(0);
            format!(
                "{out_name}: line {}: got {:?}, want {:?}",
                i + 1,
                g.get(i).copied().unwrap_or("<end>"),
                w.get(i).copied().unwrap_or("<end>")
            )
        });
    }
    if only.is_none() || only.as_deref() == Some("jail") {
        jail_cases(&bin, &upstream, &mut tally);
    }
    std::process::exit(tally.finish(usize::MAX));
}

/// The jails the jail cases use, over upstream's `jail.conf`.
const JAIL_LOCAL: &str = "\
[sshd]
mode = aggressive

[myssh]
filter = sshd[mode=ddos]
datepattern = {^LN-BEG}%%b %%d %%H:%%M:%%S
maxlines = 2
logencoding = latin-1
";

/// A disabled jail in `jail.d/`: fail2ban-regex reads it force-enabled.
const JAIL_D: &str = "\
[pfx]
enabled = false
filter = postfix[mode=aggressive]
";

/// One jail case: sample log, ironban's REGEX, fail2ban-regex's options
/// (before LOG) and REGEX [IGNOREREGEX] (after it), and whether ironban's
/// header must name a jail.
struct JailCase {
    log: &'static str,
    ironban: &'static str,
    f2b_opts: &'static [&'static str],
    f2b: &'static [&'static str],
    jail: bool,
}

const JAIL_CASES: &[JailCase] = &[
    JailCase {
        log: "sshd",
        ironban: "sshd",
        f2b_opts: &[],
        f2b: &["sshd[mode=aggressive]"],
        jail: true,
    },
    // `name[...]` arguments win over the jail's.
    JailCase {
        log: "sshd",
        ironban: "sshd[mode=ddos]",
        f2b_opts: &[],
        f2b: &["sshd[mode=ddos]"],
        jail: true,
    },
    // The jail's maxlines and datepattern; its logencoding is not used.
    JailCase {
        log: "sshd",
        ironban: "myssh",
        f2b_opts: &["-L", "2", "-d", "{^LN-BEG}%b %d %H:%M:%S"],
        f2b: &["sshd[mode=ddos]"],
        jail: true,
    },
    JailCase {
        log: "postfix",
        ironban: "pfx",
        f2b_opts: &[],
        f2b: &["postfix[mode=aggressive]"],
        jail: true,
    },
    // Upstream's own jail: `mode = more` in jail.conf.
    JailCase {
        log: "postfix",
        ironban: "postfix",
        f2b_opts: &[],
        f2b: &["postfix[mode=more]"],
        jail: true,
    },
    // A name with a dot is never a jail: the filter file.
    JailCase {
        log: "postfix",
        ironban: "postfix.conf",
        f2b_opts: &[],
        f2b: &["postfix.conf"],
        jail: false,
    },
    // Neither jail nor filter: a raw regex.
    JailCase {
        log: "sshd",
        ironban: "nosuchjail",
        f2b_opts: &[],
        f2b: &["nosuchjail"],
        jail: false,
    },
];

fn jail_cases(bin: &std::path::Path, upstream: &std::path::Path, tally: &mut Tally) {
    // fail2ban-regex's own entry point, run by the system Python, so that
    // a `/usr/bin/fail2ban-regex` link to ironban (its .deb) is never taken
    // for the oracle.
    let python = std::path::Path::new("/usr/bin/python3");
    let entry = "from fail2ban.client.fail2banregex import exec_command_line; exec_command_line()";
    let dir = std::env::temp_dir().join(format!("ironban-regex-jail-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let made = (|| -> std::io::Result<()> {
        std::fs::create_dir_all(dir.join("jail.d"))?;
        for e in std::fs::read_dir(upstream.join("config"))? {
            let e = e?;
            std::os::unix::fs::symlink(e.path(), dir.join(e.file_name()))?;
        }
        std::fs::write(dir.join("jail.local"), JAIL_LOCAL)?;
        std::fs::write(dir.join("jail.d/pfx.conf"), JAIL_D)
    })();
    if let Err(e) = made {
        tally.check(false, || {
            format!("jail: cannot make {}: {e}", dir.display())
        });
        return;
    }
    let logs = upstream.join("fail2ban/tests/files/logs");
    let run = |prog: &std::path::Path, pre: &[&str], args: &[&str]| {
        Command::new(prog)
            .args(pre)
            .args(args)
            .env("TZ", "UTC")
            .env("LANG", "C.UTF-8")
            .env("LC_ALL", "C.UTF-8")
            .current_dir(&dir)
            .output()
    };
    for c in JAIL_CASES {
        let name = format!("jail {} on {}", c.ironban, c.log);
        let log = logs.join(c.log).display().to_string();
        let cfg = dir.display().to_string();
        let ours = run(bin, &["regex"], &["-c", &cfg, &log, c.ironban]);
        let mut theirs_args = vec!["-c", cfg.as_str()];
        theirs_args.extend_from_slice(c.f2b_opts);
        theirs_args.push(&log);
        theirs_args.extend_from_slice(c.f2b);
        let theirs = run(python, &["-c", entry], &theirs_args);
        let (ours, theirs) = match (ours, theirs) {
            (Ok(o), Ok(t)) => (o, t),
            (o, t) => {
                tally.check(false, || {
                    format!(
                        "{name}: cannot run: ironban {:?}, fail2ban-regex {:?}",
                        o.err(),
                        t.err()
                    )
                });
                continue;
            }
        };
        let o = String::from_utf8_lossy(&ours.stdout).into_owned();
        let t = String::from_utf8_lossy(&theirs.stdout).into_owned();
        let verdict = compare_jail_run(&o, &t, c, &name);
        let codes = (ours.status.code(), theirs.status.code());
        tally.check(verdict.is_none() && codes.0 == codes.1, || {
            verdict.unwrap_or_else(|| format!("{name}: exit codes {codes:?}"))
        });
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `None` when ironban's run `o` agrees with fail2ban-regex's `t`, else why not.
fn compare_jail_run(o: &str, t: &str, c: &JailCase, name: &str) -> Option<String> {
    let split = |s: &str| -> (Vec<String>, String) {
        // Without a log-file line (an error), the whole output is compared.
        let at = s.find("Use         log file :").unwrap_or(0);
        let head = s[..at]
            .lines()
            .filter(|l| {
                l.starts_with("Use ") && (l.contains(" maxlines :") || l.contains(" datepattern :"))
            })
            .map(str::to_string)
            .collect();
        // The regex printed under `Prefregex:` is expanded (`<HOST>`), and
        // 1.0.2 expands tags differently from 1.1: only its count is kept.
        let mut body = Vec::new();
        let mut after_pref = false;
        for l in s[at..].lines() {
            if !after_pref || !l.starts_with("|  ") {
                body.push(l);
            }
            after_pref = l.starts_with("Prefregex: ");
        }
        let body = normalise(&body.join("\n"), "@UPSTREAM@");
        (head, body)
    };
    let (oh, ob) = split(o);
    let (th, tb) = split(t);
    let names_jail = o.lines().any(|l| {
        l == format!(
            "Use {:11} jail : {}",
            "",
            c.ironban.split('[').next().unwrap_or("")
        )
    });
    if names_jail != c.jail {
        return Some(format!(
            "{name}: names a jail: {names_jail}, want {}",
            c.jail
        ));
    }
    let (mut oh_s, mut th_s) = (oh.clone(), th.clone());
    oh_s.sort();
    th_s.sort();
    if oh_s != th_s {
        return Some(format!("{name}: header {oh:?}, fail2ban-regex {th:?}"));
    }
    if ob != tb || ob.is_empty() {
        let (g, w): (Vec<&str>, Vec<&str>) = (ob.lines().collect(), tb.lines().collect());
        let i = (0..g.len().max(w.len()))
            .find(|&i| g.get(i) != w.get(i))
            .unwrap_or(0);
        return Some(format!(
            "{name}: line {} after the header: got {:?}, want {:?}",
            i + 1,
            g.get(i).copied().unwrap_or("<end>"),
            w.get(i).copied().unwrap_or("<end>")
        ));
    }
    None
}
