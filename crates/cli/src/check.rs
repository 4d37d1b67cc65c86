//! `ironban check`: load a configuration and report every problem in it
//! at once, or dry-run a jail's actions.
//!
//! `ironban check [-c DIR] [--json] [--scan-mb N]` reads the configuration
//! with fail2ban's readers (ironban-config), jail by jail, going on after
//! each problem, and reports them all with `file:line` (or jail and
//! option): unknown options, missing filter/action files, log paths that
//! match no file, bad time values, regexes that do not compile or that
//! PCRE2 would read differently from Python, and filters that find nothing
//! in the end of the jail's current log. Exit 1 when there is an error.
//!
//! `ironban check -c DIR --jail JAIL --ban ADDR [--json]` prints the
//! commands each action of JAIL would run for a ban of ADDR (see
//! [`dryrun`]).

mod actions;
mod dryrun;
mod lint;
mod logscan;
mod options;
mod problem;
mod regexes;
#[cfg(test)]
mod tests;
mod tools;

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use lint::{lint, Settings};
pub use problem::Severity;

use crate::color::{stdout_wants_color, Palette};

pub const USAGE: &str = "\
usage: ironban check [-c DIR] [--json] [--scan-mb N]
       ironban check [-c DIR] --jail JAIL --ban ADDR [--json]

  -c, --conf DIR   configuration directory (default /etc/fail2ban)
  --json           print JSON instead of text
  --scan-mb N      read the last N MiB of each log file (default 8; 0: none)
  --jail JAIL      the jail whose actions to dry-run
  --ban ADDR       the address to render a ban of
  -h, --help       print this help

Without --jail/--ban: read the whole configuration and report every
problem with file:line: unknown options, missing filter/action files,
log paths that match no file, bad time values, regexes that do not
compile or that PCRE2 would read differently from Python, filters that
match nothing in the jail's current log. Exit status 1 when there is an
error (warnings alone exit 0).
With --jail/--ban: print the commands each action of JAIL would run for a
ban of ADDR (start, check, ban, unban, flush, stop), without running any.";

/// Options of `ironban check` (the hand parser; `crate::cli` describes the
/// same for man pages and completions).
#[derive(Debug, Clone)]
pub struct Opts {
    pub confdir: PathBuf,
    pub jail: Option<String>,
    pub addr: Option<String>,
    pub json: bool,
    pub scan_mb: u64,
}

/// What the hand parser decided.
pub enum Parsed {
    Run(Opts),
    Help,
}

/// Parses argv without argv[0].
pub fn parse(args: &[OsString]) -> Result<Parsed, String> {
    let mut o = Opts {
        confdir: PathBuf::from("/etc/fail2ban"),
        jail: None,
        addr: None,
        json: false,
        scan_mb: 8,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let a = a.to_string_lossy().into_owned();
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = |name: &str| match inline.clone() {
            Some(v) => Ok(v),
            None => match it.next() {
                Some(v) => Ok(v.to_string_lossy().into_owned()),
                None => Err(format!("option {name} requires an argument")),
            },
        };
        match name.as_str() {
            "-c" | "--conf" => o.confdir = PathBuf::from(value(&name)?),
            "--jail" => o.jail = Some(value(&name)?),
            "--ban" => o.addr = Some(value(&name)?),
            "--scan-mb" => {
                let v = value(&name)?;
                o.scan_mb = v
                    .parse()
                    .map_err(|_| format!("--scan-mb: '{v}' is not a number"))?;
            }
            "--json" => o.json = true,
            "-h" | "--help" => return Ok(Parsed::Help),
            other => return Err(format!("unknown option '{other}'")),
        }
    }
    Ok(Parsed::Run(o))
}

/// Writes `text` to stdout; a closed pipe (`| head`) is not an error, as
/// in ripgrep.
fn emit(text: &str) -> Result<(), i32> {
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(0),
        Err(e) => {
            eprintln!("ironban check: {e}");
            Err(1)
        }
    }
}

fn json_text(v: &serde_json::Value) -> String {
    let mut t = serde_json::to_string_pretty(v).unwrap_or_default();
    t.push('\n');
    t
}

pub fn main(args: Vec<OsString>) -> i32 {
    let o = match parse(args.get(1..).unwrap_or(&[])) {
        Ok(Parsed::Run(o)) => o,
        Ok(Parsed::Help) => {
            return emit(&format!("{USAGE}\n")).map_or_else(|code| code, |()| 0);
        }
        Err(e) => {
            eprintln!("ironban check: {e}\n\n{USAGE}");
            return 2;
        }
    };
    match (&o.jail, &o.addr) {
        (Some(j), Some(a)) => dry_run(&o.confdir, j, a, o.json),
        (None, None) => {
            let settings = Settings {
                scan_bytes: o.scan_mb << 20,
            };
            let findings = lint(&o.confdir, &settings);
            let text = if o.json {
                json_text(&findings.to_json())
            } else {
                findings.to_text(Palette::new(stdout_wants_color()))
            };
            if let Err(code) = emit(&text) {
                return code;
            }
            i32::from(findings.count(Severity::Error) > 0)
        }
        _ => {
            eprintln!("ironban check: --jail and --ban go together\n\n{USAGE}");
            2
        }
    }
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn dry_run(confdir: &Path, jail: &str, addr: &str, as_json: bool) -> i32 {
    let stream = match ironban_config::read_stream(confdir) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ironban check: {}: {e}", confdir.display());
            return 1;
        }
    };
    match dryrun::dry_run(&stream.commands, jail, addr, now()) {
        Ok(report) => {
            let text = if as_json {
                json_text(&report.to_json())
            } else {
                report.to_text()
            };
            if let Err(code) = emit(&text) {
                return code;
            }
            i32::from(!report.errors.is_empty())
        }
        Err(e) => {
            eprintln!("ironban check: {e}");
            1
        }
    }
}
