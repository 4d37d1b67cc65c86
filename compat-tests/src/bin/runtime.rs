//! The running jail side by side with real fail2ban (issues #5, #6).
//!
//! Debian's `fail2ban-server` (1.0.2) and ironban's server (in this
//! process) get the same commands: a jail on a log of their own, a command
//! action that writes `ban <ip>` / `unban <ip>` lines to a file of their
//! own, a database. Both logs get the same lines: failures over and under
//! maxretry, an ignored address. Compared: `status <jail>`, `get <jail>
//! banned`, the action's record, and the jail's log lines (`Found`, `Ban`,
//! `Ignore`, `Unban`, `Restore Ban`; times and pids aside) — after the bans,
//! after the bans expired, and after a restart of each server on the same
//! database (bans restored once, the log not read again).
//!
//! Prints `runtime: N passed, N failed`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ironban_compat_tests::Tally;
use ironban_config::Value;
use ironban_server::log::Logger;
use ironban_server::protocol::asyncserver::ListenOpts;
use ironban_server::protocol::csocket::CSocket;
use ironban_server::Server;

#[path = "runtime/journal.rs"]
mod journal;

const PYTHON: &str = "/usr/bin/python3";

enum Srv {
    Real(Child),
    Ours(Option<std::thread::JoinHandle<()>>),
}

struct Side {
    name: &'static str,
    dir: PathBuf,
    srv: Option<Srv>,
    /// `backend = systemd` on journal files in `dir` instead of a log file.
    journal: bool,
}

impl Side {
    fn sock(&self) -> PathBuf {
        self.dir.join("s.sock")
    }

    fn start(&mut self) {
        let sock = self.sock();
        let _ = std::fs::remove_file(&sock);
        let logf = self.dir.join("server.log");
        self.srv = Some(if self.name == "fail2ban" {
            let c = Command::new(PYTHON)
                .arg("/usr/bin/fail2ban-server")
                .args(["-f", "--async", "-x", "-s"])
                .arg(&sock)
                .arg("-p")
                .arg(self.dir.join("s.pid"))
                .arg("--logtarget")
                .arg(&logf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("/usr/bin/fail2ban-server");
            Srv::Real(c)
        } else {
            let log = Arc::new(Logger::new());
            let _ = log.set_target(&logf.display().to_string(), "auto");
            let srv = Arc::new(Mutex::new(Server::new(log)));
            let opts = ListenOpts {
                socket: sock.clone(),
                pidfile: None,
                force: true,
                systemd: false,
            };
            Srv::Ours(Some(std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                let _ = rt.block_on(ironban_server::run(opts, srv, std::future::pending()));
            })))
        });
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(20) {
            if self.send(&["ping"]).is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn send_values(&self, v: &[Value]) -> Option<String> {
        let mut s = CSocket::connect(&self.sock(), Some(Duration::from_secs(20))).ok()?;
        let r = s.send(v).ok().map(|o| o.repr());
        s.close();
        // The two sides' own directories aside.
        r.map(|t| t.replace(&self.dir.display().to_string(), "<dir>"))
    }

    fn send(&self, words: &[&str]) -> Option<String> {
        let v: Vec<Value> = words.iter().map(|w| Value::str(*w)).collect();
        self.send_values(&v)
    }

    fn configure(&self) {
        let d = self.dir.display().to_string();
        let w = |v: &[&str]| -> Vec<String> { v.iter().map(|x| x.to_string()).collect() };
        let mut cmds: Vec<Vec<String>> = vec![
            w(&["set", "logtarget", &format!("{d}/server.log")]),
            w(&["set", "dbfile", &format!("{d}/db.sqlite3")]),
        ];
        if self.journal {
            let backend = format!("systemd[journalfiles=\"{d}/*.journal\"]");
            cmds.push(w(&["add", "j", &backend]));
            cmds.push(w(&[
                "set",
                "j",
                "addjournalmatch",
                "_SYSTEMD_UNIT=ssh.service",
            ]));
            cmds.push(w(&[
                "set",
                "j",
                "addfailregex",
                r"Failed password for \S+ from <HOST>",
            ]));
        } else {
            cmds.push(w(&["add", "j", "polling"]));
            cmds.push(w(&["set", "j", "datepattern", "{^LN-BEG}EPOCH"]));
            cmds.push(w(&[
                "set",
                "j",
                "addfailregex",
                "auth failure from <HOST>$",
            ]));
            cmds.push(w(&[
                "set",
                "j",
                "addlogpath",
                &format!("{d}/auth.log"),
                "head",
            ]));
        }
        cmds.extend(vec![
            vec!["set".into(), "j".into(), "maxretry".into(), "3".into()],
            vec!["set".into(), "j".into(), "findtime".into(), "600".into()],
            vec![
                "set".into(),
                "j".into(),
                "bantime".into(),
                if self.journal { "600" } else { "8" }.into(),
            ],
            vec![
                "set".into(),
                "j".into(),
                "addignoreip".into(),
                "198.51.100.200".into(),
            ],
            vec!["set".into(), "j".into(), "addaction".into(), "rec".into()],
            vec![
                "set".into(),
                "j".into(),
                "action".into(),
                "rec".into(),
                "actionstart".into(),
                format!("echo start >> {d}/calls"),
            ],
            vec![
                "set".into(),
                "j".into(),
                "action".into(),
                "rec".into(),
                "actionstop".into(),
                format!("echo stop >> {d}/calls"),
            ],
            vec![
                "set".into(),
                "j".into(),
                "action".into(),
                "rec".into(),
                "actionban".into(),
                format!("echo ban <ip> <failures> >> {d}/calls"),
            ],
            vec![
                "set".into(),
                "j".into(),
                "action".into(),
                "rec".into(),
                "actionunban".into(),
                format!("echo unban <ip> >> {d}/calls"),
            ],
            vec!["start".into(), "j".into()],
        ]);
        for c in cmds {
            let v: Vec<Value> = c.iter().map(Value::str).collect();
            let _ = self.send_values(&v);
        }
    }

    fn stop(&mut self) {
        let _ = self.send(&["stop"]);
        match self.srv.take() {
            Some(Srv::Real(mut c)) => {
                let t = Instant::now();
                while t.elapsed() < Duration::from_secs(20) {
                    if let Ok(Some(_)) = c.try_wait() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                let _ = c.kill();
            }
            Some(Srv::Ours(Some(t))) => {
                let _ = t.join();
            }
            _ => {}
        }
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(self.dir.join("calls")).unwrap_or_default()
    }

    /// The jail's lines of the server log, without time, pid and logger.
    fn jail_log(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let mut v: Vec<String> = text
            .lines()
            .filter_map(|l| {
                let at = l.find("[j] ")?;
                let lvl = l[..at].split_whitespace().last()?.to_string();
                let msg = &l[at..];
                // The time in `Found <ip> - <time>` is the line's: keep it out.
                let msg = match msg.find(" - ") {
                    Some(i) if msg.contains("Found") => &msg[..i],
                    _ => msg,
                };
                Some(format!("{lvl} {msg}"))
            })
            .collect();
        // fail2ban bans on its actions thread, a moment after the `Found`
        // lines; ironban at once: the order between them is timing.
        v.sort();
        v
    }
}

fn append(dir: &Path, text: &str) {
    use std::io::Write;
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("auth.log"))
    {
        let _ = f.write_all(text.as_bytes());
    }
}

fn lines(ip: &str, n: usize) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    (0..n)
        .map(|_| format!("{now} auth failure from {ip}\n"))
        .collect()
}

/// Compares what `f` shows on both sides, polling up to 3 s for both
/// to get there (each server polls its log and runs its actions on its
/// own timing).
fn compare(t: &mut Tally, what: &str, sides: &[Side], f: impl Fn(&Side) -> String) {
    compare_when(t, what, sides, f, |_| true)
}

/// [`compare`], also waiting until fail2ban's side shows `ready`: a state
/// both reach only after the lines were read, so that two sides that have
/// not read anything yet do not count as equal.
fn compare_when(
    t: &mut Tally,
    what: &str,
    sides: &[Side],
    f: impl Fn(&Side) -> String,
    ready: impl Fn(&str) -> bool,
) {
    let start = Instant::now();
    let (mut a, mut b) = (f(&sides[0]), f(&sides[1]));
    while (a != b || !ready(&a)) && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(100));
        a = f(&sides[0]);
        b = f(&sides[1]);
    }
    t.check(a == b && ready(&a), || {
        format!("{what}:\n  fail2ban: {a:?}\n  ironban:  {b:?}")
    });
}

fn main() {
    let mut t = Tally::new("runtime");
    let base = std::env::temp_dir().join(format!("ironban-runtime-{}", std::process::id()));
    let mut sides: Vec<Side> = ["fail2ban", "ironban"]
        .iter()
        .map(|n| {
            let dir = base.join(n);
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(dir.join("auth.log"), "");
            Side {
                name: n,
                dir,
                srv: None,
                journal: false,
            }
        })
        .collect();
    for s in sides.iter_mut() {
        s.start();
        s.configure();
    }
    std::thread::sleep(Duration::from_millis(1500));
    let feed = [
        lines("198.51.100.1", 3),
        lines("198.51.100.2", 2),
        lines("198.51.100.200", 3),
        lines("198.51.100.3", 4),
    ]
    .concat();
    for s in &sides {
        append(&s.dir, &feed);
    }
    std::thread::sleep(Duration::from_millis(2500));
    let status = |s: &Side| s.send(&["status", "j"]).unwrap_or_default();
    let banned = |s: &Side| s.send(&["get", "j", "banned"]).unwrap_or_default();
    compare_when(&mut t, "banned after the bans", &sides, banned, |b| {
        b.contains("198.51.100.1'") && b.contains("198.51.100.3'")
    });
    compare_when(&mut t, "status after the bans", &sides, status, |s| {
        s.contains("('Total failed', 9)")
    });
    compare(&mut t, "action record after the bans", &sides, Side::calls);
    compare(&mut t, "jail log after the bans", &sides, |s| {
        s.jail_log().join("\n")
    });
    // bantime 8 s: both lift the bans on their own.
    std::thread::sleep(Duration::from_secs(8));
    compare_when(&mut t, "status after expiry", &sides, status, |s| {
        s.contains("('Currently banned', 0)")
    });
    compare(&mut t, "action record after expiry", &sides, Side::calls);
    // Commands: banip, unbanip (one not banned), unban --all, an option
    // changed on the running jail.
    let both = |words: &[&str]| -> Vec<String> {
        sides
            .iter()
            .map(|s| s.send(words).unwrap_or_default())
            .collect()
    };
    let answers = both(&["set", "j", "banip", "198.51.100.50", "198.51.100.51"]);
    t.check(answers[0] == answers[1], || {
        format!("banip answers: {answers:?}")
    });
    compare(&mut t, "record after banip", &sides, Side::calls);
    let answers = both(&["set", "j", "unbanip", "198.51.100.50", "198.51.100.52"]);
    t.check(answers[0] == answers[1], || {
        format!("unbanip answers: {answers:?}")
    });
    compare(&mut t, "record after unbanip", &sides, Side::calls);
    let answers = both(&["unban", "--all"]);
    t.check(answers[0] == answers[1], || {
        format!("unban --all answers: {answers:?}")
    });
    compare(&mut t, "record after unban --all", &sides, Side::calls);
    let answers = both(&["set", "j", "maxretry", "2"]);
    t.check(answers[0] == answers[1], || {
        format!("maxretry answers: {answers:?}")
    });
    for s in &sides {
        append(&s.dir, &lines("198.51.100.60", 2));
    }
    compare_when(&mut t, "banned at the new maxretry", &sides, banned, |b| {
        b.contains("198.51.100.60'")
    });
    let answers = both(&["set", "j", "maxretry", "3"]);
    t.check(answers[0] == answers[1], || {
        format!("maxretry answers: {answers:?}")
    });
    compare(&mut t, "status after the commands", &sides, status);
    compare(&mut t, "jail log after the commands", &sides, |s| {
        s.jail_log().join("\n")
    });
    // New bans, then a restart on the same database and log.
    for s in &sides {
        append(&s.dir, &lines("198.51.100.4", 3));
    }
    std::thread::sleep(Duration::from_millis(2500));
    compare_when(&mut t, "banned before the restart", &sides, banned, |b| {
        b.contains("198.51.100.4'")
    });
    for s in sides.iter_mut() {
        s.stop();
    }
    for s in sides.iter_mut() {
        s.start();
        s.configure();
    }
    std::thread::sleep(Duration::from_millis(2500));
    compare(&mut t, "status after the restart", &sides, status);
    compare(&mut t, "banned after the restart", &sides, banned);
    compare(
        &mut t,
        "action record after the restart",
        &sides,
        Side::calls,
    );
    compare(&mut t, "jail log after the restart", &sides, |s| {
        s.jail_log().join("\n")
    });
    for s in sides.iter_mut() {
        s.stop();
    }
    // Sorted: a ban ending just then is lifted by the expiry check or by
    // the flush at stop, whichever comes first on each side.
    compare(&mut t, "action record after stop (sorted)", &sides, |s| {
        let mut v: Vec<String> = s.calls().lines().map(String::from).collect();
        v.sort();
        v.join("\n")
    });
    journal::journal_phase(&mut t, &base);
    let _ = std::fs::remove_dir_all(&base);
    std::process::exit(t.finish(20));
}
