//! Compat suite `config_dump`: ironban's `fail2ban-client -d` / `--dp`
//! against real fail2ban's dumps in `golden/config-dump/`.
//!
//! Each case's input is rebuilt exactly as its `CASE.txt` says (a scratch
//! copy of the upstream config with the case's `.local` files and empty log
//! files in a temp dir), the stream is read through `ironban_config`, printed
//! as `-d` and `--dp` print it, normalised back to `@CONFDIR@`/`@LOGDIR@`,
//! and compared line by line (plus the warnings on stderr where the golden
//! has them). Every line is one case.
//!
//! Then the fixtures of `fixtures/configs/*` (valid dialect/reader corner
//! cases and the bad inputs): the built `ironban` binary and real
//! `fail2ban-client` (Debian's, must be installed) run `-c DIR -d` and
//! `-c DIR --dp` on each; exit status (zero or not) and stdout must agree,
//! except where docs/config.md lists a deliberate difference. One case each.

use std::fs;
use std::path::{Path, PathBuf};

use ironban_compat_tests::{golden_dir, upstream_dir, Tally};
use ironban_config::pprint::PrettyPrinter;
use ironban_config::{Level, Value};

/// A temp dir removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!(
            "ironban-config-dump-{}-{}",
            name,
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).expect("create scratch dir");
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for e in fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let dst = to.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            copy_tree(&e.path(), &dst);
        } else {
            fs::copy(e.path(), &dst).expect("copy");
        }
    }
}

fn write_replaced(src: &Path, dst: &Path, logdir: &Path) {
    let text = fs::read_to_string(src).expect("read input");
    fs::write(
        dst,
        text.replace("/tmp/golden/logs", &logdir.to_string_lossy()),
    )
    .expect("write input");
}

fn touch_logs(list: &Path, logdir: &Path) {
    for line in fs::read_to_string(list).expect("read logfiles.txt").lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let p = logdir.join(line);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir log dir");
        fs::write(&p, "").expect("touch log");
    }
}

/// Output of one dump: stdout lines of `-d`, of `--dp`, and stderr lines as
/// the golden normalises them.
struct Dump {
    plain: Vec<String>,
    pretty: Vec<String>,
    stderr: Vec<String>,
}

fn dump(confdir: &Path, replace: &[(String, &str)]) -> Result<Dump, String> {
    let stream = ironban_config::read_stream(confdir).map_err(|e| e.to_string())?;
    let norm = |s: String| {
        let mut s = s;
        for (from, to) in replace {
            s = s.replace(from.as_str(), to);
        }
        s
    };
    let pp = PrettyPrinter::default();
    let mut plain = Vec::new();
    let mut pretty = Vec::new();
    for cmd in stream.commands {
        let v = Value::List(cmd);
        plain.extend(norm(v.repr()).split('\n').map(str::to_string));
        pretty.extend(norm(pp.pformat(&v)).split('\n').map(str::to_string));
    }
    let stderr = stream
        .log
        .iter()
        .filter(|m| m.level >= Level::Warning)
        .map(|m| {
            norm(format!(
                "{:<23.23} [PID]: {:<7} {}",
                m.logger,
                m.level.name(),
                m.msg
            ))
        })
        .collect();
    Ok(Dump {
        plain,
        pretty,
        stderr,
    })
}

fn read_lines(p: &Path) -> Vec<String> {
    match fs::read_to_string(p) {
        Ok(t) => t.lines().map(str::to_string).collect(),
        Err(_) => Vec::new(),
    }
}

fn compare(t: &mut Tally, case: &str, what: &str, ours: &[String], golden: &[String]) {
    let n = ours.len().max(golden.len());
    for i in 0..n {
        let (o, g) = (ours.get(i), golden.get(i));
        t.check(o == g, || {
            let cut = |s: Option<&String>| match s {
                Some(s) if s.chars().count() > 300 => {
                    format!("{}...", s.chars().take(300).collect::<String>())
                }
                Some(s) => s.clone(),
                None => "<missing>".into(),
            };
            format!(
                "{case}/{what} line {}:\n    ours:   {}\n    golden: {}",
                i + 1,
                cut(o),
                cut(g)
            )
        });
    }
}

fn run_case(t: &mut Tally, case: &str, confdir: &Path, replace: &[(String, &str)]) {
    let gdir = golden_dir().join("config-dump").join(case);
    match dump(confdir, replace) {
        Ok(d) => {
            compare(
                t,
                case,
                "dump.txt",
                &d.plain,
                &read_lines(&gdir.join("dump.txt")),
            );
            compare(
                t,
                case,
                "dump-pretty.txt",
                &d.pretty,
                &read_lines(&gdir.join("dump-pretty.txt")),
            );
            compare(
                t,
                case,
                "dump.stderr.txt",
                &d.stderr,
                &read_lines(&gdir.join("dump.stderr.txt")),
            );
        }
        Err(e) => t.check(false, || format!("{case}: reading the config failed: {e}")),
    }
}

/// Runs `prog -c dir -d`: (exit code, stdout, stderr).
fn run_dump(prog: &Path, args: &[&str], dir: &Path, mode: &str) -> Option<(i32, String, String)> {
    let out = std::process::Command::new(prog)
        .args(args)
        .arg("-c")
        .arg(dir)
        .arg(mode)
        .output()
        .ok()?;
    Some((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

fn fixtures(t: &mut Tally) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/configs");
    let ironban = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("ironban")))
        .filter(|p| p.is_file());
    let Some(ironban) = ironban else {
        t.check(false, || {
            "fixtures: the ironban binary is not built next to this suite (cargo build --workspace)"
                .into()
        });
        return;
    };
    let f2b = Path::new("/usr/bin/fail2ban-client");
    if !f2b.is_file() {
        t.check(false, || {
            "fixtures: real fail2ban-client is missing (apt-get install fail2ban)".into()
        });
        return;
    }
    let mut dirs: Vec<PathBuf> = fs::read_dir(&fixtures)
        .expect("fixtures/configs")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let case = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        for mode in ["-d", "--dp"] {
            let ours = run_dump(&ironban, &["client"], &dir, mode);
            let theirs = run_dump(f2b, &[], &dir, mode);
            let (Some((orc, oout, oerr)), Some((frc, fout, _))) = (ours, theirs) else {
                t.check(false, || {
                    format!("fixtures/{case} {mode}: could not run both programs")
                });
                continue;
            };
            if oerr.contains("panicked") {
                t.check(false, || {
                    format!("fixtures/{case} {mode}: ironban panicked: {oerr}")
                });
                continue;
            }
            if case == "missing-include" {
                // Deliberate difference (docs/config.md): fail2ban skips a missing
                // included .conf silently; ironban reports it.
                t.check(orc != 0 && frc == 0, || {
                    format!("fixtures/{case} {mode}: expected ironban to fail (rc {orc}) where fail2ban passes (rc {frc})")
                });
                continue;
            }
            t.check((orc == 0) == (frc == 0) && oout == fout, || {
                format!("fixtures/{case} {mode}: rc ours {orc} fail2ban {frc}\n--- ours:\n{oout}--- fail2ban:\n{fout}")
            });
        }
    }
}

fn main() {
    let mut t = Tally::new("config_dump");
    let upstream = upstream_dir();
    let golden = golden_dir().join("config-dump");

    // all-jails: upstream config + jail.local + paths-overrides.local + empty logs
    {
        let s = Scratch::new("all-jails");
        let (conf, logs) = (s.0.join("conf"), s.0.join("logs"));
        copy_tree(&upstream.join("config"), &conf);
        let input = golden.join("all-jails/input");
        write_replaced(&input.join("jail.local"), &conf.join("jail.local"), &logs);
        write_replaced(
            &input.join("paths-overrides.local"),
            &conf.join("paths-overrides.local"),
            &logs,
        );
        touch_logs(&input.join("logfiles.txt"), &logs);
        let replace = [
            (conf.to_string_lossy().into_owned(), "@CONFDIR@"),
            (logs.to_string_lossy().into_owned(), "@LOGDIR@"),
        ];
        run_case(&mut t, "all-jails", &conf, &replace);
    }

    // seed: the minimal dovecot confdir
    {
        let s = Scratch::new("seed");
        let (conf, logs) = (s.0.join("conf"), s.0.join("logs"));
        let input = golden.join("seed/input");
        fs::create_dir_all(conf.join("filter.d")).expect("mkdir");
        fs::create_dir_all(conf.join("action.d")).expect("mkdir");
        write_replaced(
            &input.join("jail.conf.as-run"),
            &conf.join("jail.conf"),
            &logs,
        );
        fs::copy(
            input.join("filter.d/dovecot.conf"),
            conf.join("filter.d/dovecot.conf"),
        )
        .expect("copy");
        fs::copy(
            upstream.join("config/fail2ban.conf"),
            conf.join("fail2ban.conf"),
        )
        .expect("copy");
        for a in [
            "iptables-multiport",
            "iptables",
            "sendmail-whois",
            "sendmail-common",
            "mail-whois-common",
        ] {
            let f = format!("{a}.conf");
            fs::copy(
                upstream.join("config/action.d").join(&f),
                conf.join("action.d").join(&f),
            )
            .expect("copy");
        }
        let log = logs.join("var/log/maillog");
        fs::create_dir_all(log.parent().expect("parent")).expect("mkdir");
        fs::write(&log, "").expect("touch");
        let replace = [
            (conf.to_string_lossy().into_owned(), "@CONFDIR@"),
            (logs.to_string_lossy().into_owned(), "@LOGDIR@"),
        ];
        run_case(&mut t, "seed", &conf, &replace);
    }

    // tests-config: upstream's fail2ban/tests/config, in place
    {
        let conf = upstream.join("fail2ban/tests/config");
        let replace = [
            (conf.to_string_lossy().into_owned(), "@CONFDIR@"),
            (upstream.to_string_lossy().into_owned(), "@UPSTREAM@"),
        ];
        run_case(&mut t, "tests-config", &conf, &replace);
    }

    fixtures(&mut t);

    std::process::exit(t.finish(10));
}
