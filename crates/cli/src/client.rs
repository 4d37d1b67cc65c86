//! `ironban client`, also `fail2ban-client`: sends commands to the server
//! and prints the answers exactly as fail2ban-client 1.1.2 does
//! (fail2ban: `client/fail2banclient.py`). `-d`/`--dp` dump the
//! configuration stream (see `dump.rs`).

use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use ironban_config::Value;
use ironban_server::protocol::csocket::{CSocket, ClientError};
use ironban_server::protocol::Obj;

pub mod beautifier;
pub mod cmdline;

use cmdline::{Conf, Parsed};

pub fn main(args: Vec<OsString>) -> i32 {
    let argv: Vec<String> = args
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let conf = match cmdline::parse(&argv, false) {
        Parsed::Run(c) => c,
        Parsed::Exit(code) => return code,
    };
    if let Some(pretty) = conf.dump {
        return crate::dump::run(&conf.conf, pretty);
    }
    let client = Client::new(*conf);
    if client.conf.test {
        return match config_stream(&client.conf.conf, None) {
            Ok(_) if client.conf.args.is_empty() => {
                println!("OK: configuration test is successful");
                0
            }
            Ok(_) => code(client.run(&argv)),
            Err(e) => {
                client.log_error(&format!("Failed during configuration: {e}"));
                client.log_error("ERROR: test configuration failed");
                255
            }
        };
    }
    code(client.run(&argv))
}

fn code(ok: bool) -> i32 {
    if ok {
        0
    } else {
        255
    }
}

/// Global options of the stream (`set <option> <value>` without a jail).
const GLOBAL_OPTIONS: &[&str] = &[
    "syslogsocket",
    "loglevel",
    "logtarget",
    "allowipv6",
    "dbfile",
    "dbmaxmatches",
    "dbpurgeage",
    "thread",
];

/// The configuration stream `start`/`reload` send, read by ironban-config as
/// fail2ban-client's `readConfig` does; with `jail`, only the global settings
/// and that jail's commands. Warnings and errors met while reading go to
/// stderr in fail2ban's format.
pub fn config_stream(confdir: &Path, jail: Option<&str>) -> Result<Vec<Value>, String> {
    let stream = ironban_config::read_stream_with(confdir, false).map_err(|e| e.to_string())?;
    let pid = std::process::id();
    for m in stream
        .log
        .iter()
        .filter(|m| m.level >= ironban_config::Level::Warning)
    {
        eprintln!(
            "{:<23.23} [{pid}]: {:<7} {}",
            m.logger,
            m.level.name(),
            m.msg
        );
    }
    if !stream.ok {
        return Err("no jail could be read".into());
    }
    let keep = |cmd: &Vec<Value>| -> bool {
        let Some(jail) = jail else { return true };
        let first = cmd.first().and_then(Value::as_str);
        let second = cmd.get(1).and_then(Value::as_str);
        match (first, second) {
            (Some("set"), Some(o)) if GLOBAL_OPTIONS.contains(&o) => true,
            (_, Some(j)) => j == jail,
            _ => false,
        }
    };
    let cmds: Vec<Value> = stream
        .commands
        .into_iter()
        .filter(keep)
        .map(Value::List)
        .collect();
    if let Some(j) = jail {
        let found = cmds.iter().any(|c| {
            matches!(c, Value::List(l) if l.first().and_then(Value::as_str) == Some("add")
                && l.get(1).and_then(Value::as_str) == Some(j))
        });
        if !found {
            return Err(format!(
                "Jail {} is not enabled or not found",
                Value::str(j).repr()
            ));
        }
    }
    Ok(cmds)
}

pub struct Client {
    pub conf: Conf,
    pid: u32,
}

impl Client {
    pub fn new(conf: Conf) -> Client {
        Client {
            conf,
            pid: std::process::id(),
        }
    }

    /// A client log line on stderr, as fail2ban's `logSys` prints it.
    fn log(&self, name: &str, level: i64, msg: &str) {
        let threshold = match self.conf.verbose {
            v if v <= 0 => 40,
            1 => 30,
            2 => 20,
            3 => 10,
            _ => 5,
        };
        if level < threshold {
            return;
        }
        let lname = ironban_server::log::level_name(level);
        let line = format!("{name:<24}[{}]: {lname:<7} {msg}\n", self.pid);
        let _ = std::io::stderr().write_all(line.as_bytes());
    }

    fn log_error(&self, msg: &str) {
        self.log("fail2ban", 40, msg);
    }

    fn run(&self, argv: &[String]) -> bool {
        // ("Using start params" is logged before fail2ban's handler exists,
        // so it never shows; these two do at -v.)
        self.log(
            "fail2ban",
            20,
            &format!("Using socket file {}", self.conf.socket),
        );
        let level = ironban_server::log::str2level(&self.conf.loglevel)
            .map(ironban_server::log::level_name)
            .unwrap_or_else(|| self.conf.loglevel.to_uppercase());
        self.log(
            "fail2ban",
            20,
            &format!(
                "Using pid file {}, [{level}] logging to {}",
                self.conf.pidfile, self.conf.logtarget
            ),
        );
        if self.conf.interactive {
            return self.interactive(argv);
        }
        if self.conf.args.is_empty() {
            cmdline::usage(
                argv.first()
                    .map(String::as_str)
                    .unwrap_or("fail2ban-client"),
                false,
            );
            return false;
        }
        self.process_command(self.conf.args.clone())
    }

    fn interactive(&self, argv: &[String]) -> bool {
        if !self.conf.args.is_empty() && !self.process_command(self.conf.args.clone()) {
            return false;
        }
        println!(
            "{} reads log file that contains password failure report",
            cmdline::version_long()
        );
        println!("and bans the corresponding IP addresses using firewall rules.");
        println!();
        let stdin = std::io::stdin();
        loop {
            print!("fail2ban> ");
            let _ = std::io::stdout().flush();
            let mut line = String::new();
            match stdin.lock().read_line(&mut line) {
                Ok(0) | Err(_) => {
                    println!();
                    return true;
                }
                Ok(_) => {}
            }
            let line = line.trim();
            match line {
                "exit" | "quit" => return true,
                "help" => cmdline::usage(argv.first().map(String::as_str).unwrap_or(""), false),
                "" => {}
                // Python's shlex, as fail2ban-client's interactive loop
                // splits; its message is logged as the client logs it.
                _ => match ironban_config::options::shlex_split(line) {
                    Ok(words) => {
                        self.process_command(words);
                    }
                    Err(e) => self.log_error(&e.to_string()),
                },
            }
        }
    }

    fn process_command(&self, mut cmd: Vec<String>) -> bool {
        match cmd.first().map(String::as_str) {
            Some("start") if cmd.len() == 1 => self.start_server(),
            Some("restart") => {
                if cmd.len() > 1 {
                    cmd.splice(0..1, ["reload".to_string(), "--restart".to_string()]);
                    return self.process_command(cmd);
                }
                self.process_command(vec!["stop".into()]);
                if !self.wait_on_server(false, self.conf.timeout) {
                    self.log_error("Could not stop server");
                    return false;
                }
                self.process_command(vec!["start".into()])
            }
            Some("reload") => {
                let mut opts = Vec::new();
                while cmd.len() >= 2 {
                    if matches!(cmd[1].as_str(), "--restart" | "--unban" | "--if-exists") {
                        opts.push(Value::Str(cmd.remove(1)));
                    } else {
                        if cmd.len() > 2 {
                            self.log_error(&format!(
                                "Unexpected argument(s) for reload: {}",
                                Value::List(cmd[1..].iter().map(Value::str).collect()).repr()
                            ));
                            return false;
                        }
                        break;
                    }
                }
                if !self.ping(None) {
                    self.log_error("Could not find server");
                    return false;
                }
                let jail = if cmd.len() == 1 || cmd[1] == "--all" {
                    None
                } else {
                    Some(cmd[1].clone())
                };
                let stream = match config_stream(&self.conf.conf, jail.as_deref()) {
                    Ok(s) => s,
                    Err(e) => {
                        self.log_error(&format!("Failed during configuration: {e}"));
                        return false;
                    }
                };
                let name = jail.unwrap_or_else(|| "--all".into());
                let words = vec![
                    Value::str("reload"),
                    Value::Str(name),
                    Value::List(opts),
                    Value::List(stream),
                ];
                self.process_cmd(&[(cmd.clone(), words)], true, None)
            }
            Some("ping") if cmd.len() > 1 => {
                let t = cmd[1].parse::<f64>().ok().map(Duration::from_secs_f64);
                let words = cmd.iter().map(Value::str).collect();
                self.process_cmd(&[(cmd.clone(), words)], true, t)
            }
            _ => {
                let words = cmd.iter().map(Value::str).collect();
                self.process_cmd(&[(cmd.clone(), words)], true, None)
            }
        }
    }

    fn ping(&self, timeout: Option<Duration>) -> bool {
        let mut words = vec![Value::str("ping")];
        if let Some(t) = timeout {
            words.push(Value::Float(t.as_secs_f64()));
        }
        self.process_cmd(&[(vec!["ping".into()], words)], false, timeout)
    }

    /// Sends each command on one connection and prints the answers; false if
    /// any failed (fail2ban: `__processCmd`).
    fn process_cmd(
        &self,
        cmds: &[(Vec<String>, Vec<Value>)],
        show: bool,
        timeout: Option<Duration>,
    ) -> bool {
        let mut sock: Option<CSocket> = None;
        let mut ok = true;
        for (words, c) in cmds {
            let c0 = words.first().map(String::as_str).unwrap_or("");
            let always = matches!(c0, "echo" | "server-status");
            if sock.is_none() {
                match CSocket::connect(Path::new(&self.conf.socket), timeout) {
                    Ok(s) => sock = Some(s),
                    Err(e) => {
                        self.socket_error(&e, show, c0);
                        return false;
                    }
                }
            }
            let Some(s) = sock.as_mut() else { return false };
            let reply = match s.send(c) {
                Ok(r) => r,
                Err(e) => {
                    self.socket_error(&e, show, c0);
                    return false;
                }
            };
            if self.conf.json {
                println!("{}", to_json(&reply));
                if !matches!(&reply, Obj::Tuple(t) if t.first() == Some(&Obj::Int(0))) {
                    ok = false;
                }
                continue;
            }
            match reply {
                Obj::Tuple(t) if t.len() == 2 && t[0] == Obj::Int(0) => {
                    if show || always {
                        let b = beautifier::beautify(words, &t[1]);
                        if b.failed {
                            self.log(
                                "fail2ban.beautifier",
                                30,
                                "Beautifier error. Please report the error",
                            );
                            self.log(
                                "fail2ban.beautifier",
                                40,
                                &format!(
                                    "Beautify {} with {} failed",
                                    t[1].repr(),
                                    Value::List(words.iter().map(Value::str).collect()).repr()
                                ),
                            );
                        }
                        println!("{}", b.text);
                    }
                }
                Obj::Tuple(t) if t.len() == 2 => {
                    let (args, text) = match &t[1] {
                        Obj::Exception(e) => (
                            Value::Tuple(e.args.clone()).repr(),
                            beautifier::beautify_error(e),
                        ),
                        other => (format!("<{}>", other.repr()), other.to_py_str()),
                    };
                    self.log_error(&format!("NOK: {args}"));
                    if show {
                        println!("{text}");
                    }
                    ok = false;
                }
                other => {
                    // A bare "ERROR: ..." string: fail2ban's client fails on
                    // `ret[1].args` and logs exactly this.
                    let t = match &other {
                        Obj::Str(_) => "str",
                        Obj::List(_) => "list",
                        _ => "object",
                    };
                    if show || self.conf.verbose > 1 {
                        self.log_error(&format!("'{t}' object has no attribute 'args'"));
                    }
                    return false;
                }
            }
        }
        if let Some(mut s) = sock {
            s.close();
        }
        let _ = std::io::stdout().flush();
        ok
    }

    fn socket_error(&self, e: &ClientError, show: bool, c0: &str) {
        if !(show || self.conf.verbose > 1) {
            return;
        }
        if !show && c0 == "ping" {
            return;
        }
        let prev = match e {
            ClientError::Io(io) => py_oserror(io),
            other => other.to_string(),
        };
        let sock = Path::new(&self.conf.socket);
        if sock.exists() {
            if c0 == "ping" {
                self.log_error(&prev);
            } else {
                self.log_error(&format!(
                    "[{prev}] Unable to contact server. Is it running?"
                ));
            }
        } else {
            self.log_error(&format!(
                "Failed to access socket path: {}. Is fail2ban running?",
                self.conf.socket
            ));
        }
    }

    fn wait_on_server(&self, alive: bool, maxtime: f64) -> bool {
        let start = Instant::now();
        let mut sl: f64 = 0.00625;
        loop {
            let up = Path::new(&self.conf.socket).exists()
                && self.ping(Some(Duration::from_secs_f64(sl.max(0.05))));
            if up == alive {
                return true;
            }
            let waited = start.elapsed().as_secs_f64();
            if waited >= maxtime {
                return false;
            }
            sl = f64::min(sl * 2.0, if waited > 0.2 { 0.5 } else { 0.1 });
            std::thread::sleep(Duration::from_secs_f64(sl));
        }
    }

    fn start_server(&self) -> bool {
        if self.ping(Some(Duration::from_millis(100))) {
            self.log_error("Server already running");
            return false;
        }
        let stream = match config_stream(&self.conf.conf, None) {
            Ok(s) => s,
            Err(e) => {
                self.log_error(&format!("Failed during configuration: {e}"));
                return false;
            }
        };
        if !self.conf.force && Path::new(&self.conf.socket).exists() {
            self.log_error(
                "Fail2ban seems to be in unexpected state (not running but the socket exists)",
            );
            return false;
        }
        let exe = std::env::current_exe().unwrap_or_else(|_| "ironban".into());
        let mut cmd = std::process::Command::new(exe);
        cmd.arg("server").arg("--async");
        cmd.arg(if self.conf.background { "-b" } else { "-f" });
        cmd.args(["-s", &self.conf.socket, "-p", &self.conf.pidfile]);
        if self.conf.force {
            cmd.arg("-x");
        }
        if self.conf.verbose > 1 {
            cmd.arg(format!("-{}", "v".repeat((self.conf.verbose - 1) as usize)));
        }
        cmd.args([
            "--loglevel",
            &self.conf.loglevel,
            "--logtarget",
            &self.conf.logtarget,
        ]);
        cmd.args(["--syslogsocket", &self.conf.syslogsocket]);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                self.log_error(&format!("Exception while starting server: {e}"));
                return false;
            }
        };
        if !self.wait_on_server(true, self.conf.timeout) {
            self.log_error("Could not find server, waiting failed");
            return false;
        }
        let cmds = vec![
            (
                vec!["server-stream".to_string()],
                vec![Value::str("server-stream"), Value::List(stream)],
            ),
            (
                vec!["server-status".to_string()],
                vec![Value::str("server-status")],
            ),
        ];
        let ok = self.process_cmd(&cmds, false, None);
        if self.conf.background {
            // -b: the server daemonizes; its first process ends at once.
            let _ = child.wait();
            return ok;
        }
        if !ok {
            return false;
        }
        child.wait().map(|s| s.success()).unwrap_or(false)
    }
}

/// An OS error as Python prints it: `[Errno 111] Connection refused`.
fn py_oserror(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => {
            let full = e.to_string();
            let text = full.split(" (os error").next().unwrap_or(&full).to_string();
            format!("[Errno {n}] {text}")
        }
        None => e.to_string(),
    }
}

/// `--json`: `[code, result]`, an exception as `{"exception", "args"}`.
fn to_json(o: &Obj) -> serde_json::Value {
    use serde_json::Value as J;
    match o {
        Obj::None => J::Null,
        Obj::Bool(b) => J::Bool(*b),
        Obj::Int(i) => J::from(*i),
        Obj::Float(f) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .unwrap_or(J::Null),
        Obj::Str(s) | Obj::Ip(s) => J::String(s.clone()),
        Obj::List(l) | Obj::Tuple(l) => J::Array(l.iter().map(to_json).collect()),
        Obj::Dict(d) => J::Object(d.iter().map(|(k, v)| (k.to_py_str(), to_json(v))).collect()),
        Obj::Exception(e) => serde_json::json!({
            "exception": format!("{}.{}", e.module, e.name),
            "args": e.args.iter().map(|a| to_json(&Obj::from(a.clone()))).collect::<Vec<_>>(),
        }),
    }
}
