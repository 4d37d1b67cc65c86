//! The server's own log, in fail2ban's line format so the stock `recidive`
//! filter reads it:
//! `2005-08-14 12:00:01,123 fail2ban.actions        [1234]: NOTICE  [sshd] Ban 192.0.2.1`
//! (fail2ban: `helpers.py` `getVerbosityFormat`, `server.py` `setLogTarget`).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::Mutex;

/// fail2ban's levels (Python logging plus NOTICE, MSG, TRACEDEBUG, HEAVYDEBUG).
pub const LEVELS: &[(&str, i64)] = &[
    ("CRITICAL", 50),
    ("FATAL", 50),
    ("ERROR", 40),
    ("WARNING", 30),
    ("WARN", 30),
    ("NOTICE", 25),
    ("INFO", 20),
    ("MSG", 18),
    ("DEBUG", 10),
    ("TRACEDEBUG", 7),
    ("HEAVYDEBUG", 5),
    ("NOTSET", 0),
];

/// Level numbers used by the server.
pub mod level {
    /// ERROR
    pub const ERROR: i64 = 40;
    /// WARNING
    pub const WARNING: i64 = 30;
    /// NOTICE
    pub const NOTICE: i64 = 25;
    /// INFO
    pub const INFO: i64 = 20;
    /// DEBUG
    pub const DEBUG: i64 = 10;
}

/// `str2LogLevel`: a level name (any case) or a number.
pub fn str2level(v: &str) -> Option<i64> {
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse().ok();
    }
    let up = v.to_ascii_uppercase();
    LEVELS.iter().find(|(n, _)| *n == up).map(|(_, l)| *l)
}

/// The name printed for a level number.
pub fn level_name(l: i64) -> String {
    match l {
        50 => "CRITICAL".into(),
        40 => "ERROR".into(),
        30 => "WARNING".into(),
        25 => "NOTICE".into(),
        20 => "INFO".into(),
        18 => "MSG".into(),
        10 => "DEBUG".into(),
        7 => "TRACE".into(),
        5 => "HEAVY".into(),
        n => format!("Level {n}"),
    }
}

enum Sink {
    Stdout,
    Stderr,
    File(File, PathBuf),
    Syslog(UnixDatagram),
    Off,
}

struct State {
    level: i64,
    sink: Sink,
    with_time: bool,
    padding: bool,
}

/// A process-wide log handle; cheap to share behind an `Arc`.
pub struct Logger {
    state: Mutex<State>,
    pid: u32,
}

impl Default for Logger {
    fn default() -> Self {
        Logger::new()
    }
}

impl Logger {
    /// A logger at INFO writing to stderr.
    pub fn new() -> Logger {
        Logger {
            state: Mutex::new(State {
                level: level::INFO,
                sink: Sink::Stderr,
                with_time: true,
                padding: true,
            }),
            pid: std::process::id(),
        }
    }

    /// A logger that drops everything (tests).
    pub fn off() -> Logger {
        let l = Logger::new();
        if let Ok(mut s) = l.state.lock() {
            s.sink = Sink::Off;
        }
        l
    }

    /// Sets the threshold.
    pub fn set_level(&self, l: i64) {
        if let Ok(mut s) = self.state.lock() {
            s.level = l;
        }
    }

    /// Switches the target: `STDOUT`, `STDERR`, `SYSLOG`, `SYSOUT`, or a file.
    ///
    /// # Errors
    /// The file cannot be opened, or the syslog socket is missing.
    pub fn set_target(&self, target: &str, syslogsocket: &str) -> std::io::Result<()> {
        let (name, opts) = match target.find('[') {
            Some(i) if target.ends_with(']') => (&target[..i], &target[i + 1..target.len() - 1]),
            _ => (target, ""),
        };
        let opt = |k: &str| {
            opts.split(',').find_map(|kv| {
                let (a, b) = kv.split_once('=')?;
                (a.trim() == k).then(|| b.trim().to_ascii_lowercase())
            })
        };
        let truthy = |v: String| matches!(v.as_str(), "1" | "on" | "true" | "yes");
        let up = name.to_ascii_uppercase();
        let sink = match up.as_str() {
            "STDOUT" | "SYSOUT" => Sink::Stdout,
            "STDERR" => Sink::Stderr,
            "SYSLOG" | "SYSTEMD-JOURNAL" => {
                let path = if syslogsocket == "auto" {
                    "/dev/log"
                } else {
                    syslogsocket
                };
                let s = UnixDatagram::unbound()?;
                s.connect(path)?;
                Sink::Syslog(s)
            }
            _ => {
                let f = OpenOptions::new().create(true).append(true).open(name)?;
                Sink::File(f, PathBuf::from(name))
            }
        };
        let sys = matches!(up.as_str(), "SYSLOG" | "SYSOUT" | "SYSTEMD-JOURNAL");
        if let Ok(mut s) = self.state.lock() {
            s.sink = sink;
            s.with_time = opt("datetime").map(truthy).unwrap_or(!sys);
            s.padding = opt("padding").map(truthy).unwrap_or(!sys);
        }
        Ok(())
    }

    /// Reopens a file target (log rotation, `flushlogs`); true for a file.
    pub fn reopen(&self) -> bool {
        let Ok(mut s) = self.state.lock() else {
            return false;
        };
        if let Sink::File(_, p) = &s.sink {
            let p = p.clone();
            if let Ok(f) = OpenOptions::new().create(true).append(true).open(&p) {
                s.sink = Sink::File(f, p);
            }
            return true;
        }
        false
    }

    /// Logs `msg` from logger `fail2ban.<module>` at `lvl`.
    pub fn log(&self, module: &str, lvl: i64, msg: &str) {
        let Ok(mut s) = self.state.lock() else {
            return;
        };
        if lvl < s.level || matches!(s.sink, Sink::Off) {
            return;
        }
        let name = if module.is_empty() {
            "fail2ban".to_string()
        } else {
            format!("fail2ban.{module}")
        };
        let lname = level_name(lvl);
        let body = if s.padding {
            format!("{name:<24}[{}]: {lname:<7} {msg}", self.pid)
        } else {
            format!("{name}[{}]: {lname} {msg}", self.pid)
        };
        let line = if s.with_time {
            format!("{} {body}\n", asctime())
        } else {
            format!("{body}\n")
        };
        match &mut s.sink {
            Sink::Stdout => {
                let _ = std::io::stdout().write_all(line.as_bytes());
            }
            Sink::Stderr => {
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
            Sink::File(f, _) => {
                let _ = f.write_all(line.as_bytes());
            }
            Sink::Syslog(sock) => {
                // daemon facility (3) * 8 + severity
                let sev = match lvl {
                    l if l >= 50 => 2,
                    l if l >= 40 => 3,
                    l if l >= 30 => 4,
                    l if l >= 25 => 5,
                    l if l >= 20 => 6,
                    _ => 7,
                };
                let _ = sock.send(format!("<{}>{}", 3 * 8 + sev, line.trim_end()).as_bytes());
            }
            Sink::Off => {}
        }
    }

    /// INFO line.
    pub fn info(&self, module: &str, msg: &str) {
        self.log(module, level::INFO, msg);
    }

    /// NOTICE line.
    pub fn notice(&self, module: &str, msg: &str) {
        self.log(module, level::NOTICE, msg);
    }

    /// WARNING line.
    pub fn warning(&self, module: &str, msg: &str) {
        self.log(module, level::WARNING, msg);
    }

    /// ERROR line.
    pub fn error(&self, module: &str, msg: &str) {
        self.log(module, level::ERROR, msg);
    }

    /// DEBUG line.
    pub fn debug(&self, module: &str, msg: &str) {
        self.log(module, level::DEBUG, msg);
    }
}

/// `YYYY-mm-dd HH:MM:SS,mmm` in local time.
fn asctime() -> String {
    let now = crate::mytime::now();
    let ms = ((now - now.floor()) * 1000.0) as u32;
    format!("{},{:03}", crate::mytime::time2str(now), ms.min(999))
}

/// Routes the `log` crate's records (ironban-action and ironban-filter
/// report through it) into the server log, under `fail2ban.<last path
/// segment of the target>` (`ironban_action::actions` → `fail2ban.actions`).
struct Bridge;

static BRIDGED: std::sync::OnceLock<std::sync::Arc<Logger>> = std::sync::OnceLock::new();

impl ::log::Log for Bridge {
    fn enabled(&self, _m: &::log::Metadata<'_>) -> bool {
        BRIDGED.get().is_some()
    }

    fn log(&self, r: &::log::Record<'_>) {
        let Some(l) = BRIDGED.get() else { return };
        let lvl = match r.level() {
            ::log::Level::Error => level::ERROR,
            ::log::Level::Warn => level::WARNING,
            ::log::Level::Info => level::INFO,
            ::log::Level::Debug => level::DEBUG,
            ::log::Level::Trace => 5,
        };
        // The fail2ban module that logs the same message.
        let module = match r.target().rsplit("::").next().unwrap_or("") {
            "ignore" | "system" | "failmanager" => "filter",
            "exec" => "utils",
            "repair" => "action",
            "bantime" => "observer",
            other => other,
        };
        l.log(module, lvl, &r.args().to_string());
    }

    fn flush(&self) {}
}

/// Sends the `log` crate's records to `logger` (once per process: the
/// first server's logger wins).
pub fn bridge(logger: std::sync::Arc<Logger>) {
    if BRIDGED.set(logger).is_ok() && ::log::set_logger(&Bridge).is_ok() {
        ::log::set_max_level(::log::LevelFilter::Debug);
    }
}
