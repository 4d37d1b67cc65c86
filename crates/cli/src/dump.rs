//! `fail2ban-client -d` / `--dp`: print the configuration command stream.
//!
//! Each command is printed as Python's `str()` of the list (`-d`) or as
//! `pprint.pformat(cmd, width=1000, indent=2)` (`--dp`), one per line, on
//! stdout. What fail2ban would log at its default verbosity (warnings and
//! errors) goes to stderr in fail2ban's log format. A configuration that
//! cannot be read prints fail2ban's error line and exits 255.

use std::io::Write;
use std::path::Path;

use ironban_config::pprint::PrettyPrinter;
use ironban_config::{Failure, Level, LogMsg, Value};

/// Dumps the configuration in `confdir`; returns the exit code.
pub fn run(confdir: &Path, pretty: bool) -> i32 {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let read = ironban_config::read_config(confdir, true);
    print_log(&read.log);
    match read.outcome {
        Ok((commands, ok)) => {
            let pp = PrettyPrinter::default();
            for cmd in commands {
                let v = Value::List(cmd);
                let line = if pretty { pp.pformat(&v) } else { v.repr() };
                if writeln!(out, "{line}").is_err() {
                    return 255;
                }
            }
            if ok {
                0
            } else {
                init_failed();
                255
            }
        }
        Err(Failure::Early(e)) => {
            // fail2ban-client reads fail2ban.conf before anything else and
            // reports an error there on stdout.
            let _ = writeln!(out, "ERROR: {e}");
            init_failed();
            255
        }
        Err(Failure::Config(e)) => {
            print_log(&[LogMsg {
                logger: "fail2ban",
                level: Level::Error,
                msg: format!("Failed during configuration: {e}"),
            }]);
            let _ = writeln!(
                out,
                "ERROR: The configuration stream failed because of the invalid syntax."
            );
            init_failed();
            255
        }
    }
}

/// fail2ban-client's last word when reading the configuration failed.
fn init_failed() {
    print_log(&[LogMsg {
        logger: "fail2ban",
        level: Level::Error,
        msg: "Init of command line failed".into(),
    }]);
}

/// Prints warnings and errors as fail2ban-client's stderr handler does:
/// `2026-01-01 12:00:00,000 fail2ban.jailreader     [123]: WARNING msg`.
fn print_log(log: &[LogMsg]) {
    let pid = std::process::id();
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    for m in log.iter().filter(|m| m.level >= Level::Warning) {
        let _ = writeln!(
            err,
            "{} {:<23.23} [{}]: {:<7} {}",
            timestamp(),
            m.logger,
            pid,
            m.level.name(),
            m.msg
        );
    }
}

/// Local time as Python logging's `asctime`: `%Y-%m-%d %H:%M:%S,mmm`.
fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: localtime_r writes into the zeroed `tm` we own; both pointers are valid.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&secs, &mut tm);
        tm
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02},{:03}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_millis()
    )
}
