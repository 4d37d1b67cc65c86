//! A child ironban server for the runtime tests: this test binary runs
//! itself again with `IRONBAN_TEST_CHILD` set, and the `child_server_main`
//! test then serves on the given socket until stopped or killed (so a test
//! can SIGKILL a real server process).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ironban_config::Value;
use ironban_server::log::Logger;
use ironban_server::protocol::asyncserver::ListenOpts;
use ironban_server::protocol::csocket::CSocket;
use ironban_server::protocol::Obj;
use ironban_server::Server;

/// Serves as the child when asked to (see the module doc).
pub fn child_main() {
    let (Ok(sock), Ok(logfile)) = (
        std::env::var("IRONBAN_TEST_CHILD"),
        std::env::var("IRONBAN_TEST_LOG"),
    ) else {
        return;
    };
    let log = Arc::new(Logger::new());
    log.set_target(&logfile, "auto").expect("log target");
    let srv = Arc::new(Mutex::new(Server::new(log)));
    let opts = ListenOpts {
        socket: PathBuf::from(&sock),
        pidfile: None,
        force: true,
        systemd: false,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let r = rt.block_on(ironban_server::run(opts, srv, std::future::pending()));
    std::process::exit(if r.is_ok() { 0 } else { 1 });
}

/// A server process on a socket in `dir`.
pub struct Child2 {
    pub child: Child,
    pub sock: PathBuf,
    pub log: PathBuf,
}

impl Child2 {
    /// Starts `child_server_main` of the test binary `test_name` belongs to.
    pub fn start(dir: &Path, test_name: &str) -> Child2 {
        let sock = dir.join("f2b.sock");
        let log = dir.join("server.log");
        let child = Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
            .env("IRONBAN_TEST_CHILD", &sock)
            .env("IRONBAN_TEST_LOG", &log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child server");
        let c = Child2 { child, sock, log };
        assert!(
            wait_for(Duration::from_secs(20), || c.try_send(&["ping"]).is_some()),
            "child server did not answer"
        );
        c
    }

    /// Sends a command of plain words.
    pub fn try_send(&self, words: &[&str]) -> Option<Obj> {
        let v: Vec<Value> = words.iter().map(|w| Value::str(*w)).collect();
        self.try_send_values(&v)
    }

    /// Sends a command.
    pub fn try_send_values(&self, v: &[Value]) -> Option<Obj> {
        let mut s = CSocket::connect(&self.sock, Some(Duration::from_secs(30))).ok()?;
        let r = s.send(v).ok();
        s.close();
        r
    }

    /// Sends a command that must succeed; its result.
    pub fn send(&self, words: &[&str]) -> Obj {
        let r = self.try_send(words).expect("reply");
        match r {
            Obj::Tuple(mut t) if t.len() == 2 && t[0] == Obj::Int(0) => t.pop().unwrap(),
            other => panic!("{words:?} failed: {}", other.repr()),
        }
    }

    /// Sends a command (values) that must succeed.
    pub fn send_values(&self, v: &[Value]) -> Obj {
        match self.try_send_values(v).expect("reply") {
            Obj::Tuple(mut t) if t.len() == 2 && t[0] == Obj::Int(0) => t.pop().unwrap(),
            other => panic!("{v:?} failed: {}", other.repr()),
        }
    }

    /// Banned addresses of `jail`, sorted.
    pub fn banned(&self, jail: &str) -> Vec<String> {
        let r = self.send(&["get", jail, "banned"]);
        let Obj::List(l) = r else {
            panic!("banned: {}", r.repr())
        };
        let mut v: Vec<String> = l
            .into_iter()
            .map(|o| match o {
                Obj::Ip(s) | Obj::Str(s) => s,
                other => other.repr(),
            })
            .collect();
        v.sort();
        v
    }

    /// `stop` and wait for the process.
    pub fn stop(mut self) {
        let _ = self.try_send(&["stop"]);
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!("server did not stop");
    }

    /// SIGKILL, as a crash.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The server log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Polls `f` until true or `timeout`.
pub fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < timeout {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

/// A recording action modelling a firewall: `fw/<ip>` exists while the
/// address is blocked; `calls` gets one line per call, and `DOUBLE <ip>`
/// when an address is banned while already blocked. `actionstart` builds
/// an empty set, as a firewall chain created at start.
pub fn recording_action(dir: &Path) -> Vec<(String, String)> {
    let fw = dir.join("fw");
    let calls = dir.join("calls");
    let (fw, calls) = (fw.display(), calls.display());
    vec![
        ("actionstart".into(), format!("mkdir -p {fw} && rm -f {fw}/* && echo start >> {calls}")),
        ("actionstop".into(), format!("rm -f {fw}/* && echo stop >> {calls}")),
        ("actioncheck".into(), String::new()),
        (
            "actionban".into(),
            format!("if [ -e {fw}/<ip> ]; then echo DOUBLE <ip> >> {calls}; fi; touch {fw}/<ip>; echo ban <ip> >> {calls}"),
        ),
        ("actionunban".into(), format!("rm -f {fw}/<ip>; echo unban <ip> >> {calls}")),
    ]
}

/// Configures jail `jail` on `logpath` with the recording action, a
/// `<epoch> auth failure from <HOST>` filter and a database.
pub fn configure(
    c: &Child2,
    dir: &Path,
    jail: &str,
    logpath: &Path,
    bantime: &str,
    maxretry: &str,
) {
    configure_with(c, dir, jail, logpath, bantime, maxretry, &[]);
}

/// As [`configure`], with more `set <jail> <opt> <value>` before the start.
pub fn configure_with(
    c: &Child2,
    dir: &Path,
    jail: &str,
    logpath: &Path,
    bantime: &str,
    maxretry: &str,
    extra: &[(&str, &str)],
) {
    let db = dir.join("f2b.sqlite3");
    c.send(&["set", "dbfile", db.to_str().unwrap()]);
    c.send(&["add", jail, "polling"]);
    c.send(&["set", jail, "datepattern", "{^LN-BEG}EPOCH"]);
    c.send(&["set", jail, "addfailregex", r"auth failure from <HOST>$"]);
    c.send(&["set", jail, "addlogpath", logpath.to_str().unwrap(), "head"]);
    c.send(&["set", jail, "maxretry", maxretry]);
    c.send(&["set", jail, "findtime", "600"]);
    c.send(&["set", jail, "bantime", bantime]);
    c.send(&["set", jail, "addaction", "rec"]);
    let props: Vec<Value> = recording_action(dir)
        .into_iter()
        .map(|(k, v)| Value::List(vec![Value::str(&k), Value::str(&v)]))
        .collect();
    c.send_values(&[
        Value::str("multi-set"),
        Value::str(jail),
        Value::str("action"),
        Value::str("rec"),
        Value::List(props),
    ]);
    for (k, v) in extra {
        c.send(&["set", jail, k, v]);
    }
    c.send(&["start", jail]);
}

/// Appends `n` failure lines for `ip`, stamped now.
pub fn fail_lines(ip: &str, n: usize) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    (0..n)
        .map(|_| format!("{now} auth failure from {ip}\n"))
        .collect()
}

/// Appends text to a file.
pub fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open log");
    f.write_all(text.as_bytes()).expect("write log");
}

/// Lines of the `calls` file.
pub fn calls(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("calls"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Addresses currently in the firewall model, sorted.
pub fn firewall(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("fw"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}
