//! The command line shared by `fail2ban-client` and `fail2ban-server`
//! (fail2ban: `client/fail2bancmdline.py`): getopt-style options, then the
//! early options (socket, pid file, log level/target) from `fail2ban.conf`
//! for whatever the command line did not give.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Version string printed by `-V`/`--version` (the fail2ban release whose
/// behaviour ironban reproduces, and ironban's own).
pub fn version_long() -> String {
    format!(
        "Fail2Ban v{} (ironban {})",
        ironban_server::FAIL2BAN_VERSION,
        env!("CARGO_PKG_VERSION")
    )
}

/// Everything the command line and the early config decide.
#[derive(Debug, Clone)]
pub struct Conf {
    /// `-c`: configuration directory.
    pub conf: PathBuf,
    /// `-s`: socket path.
    pub socket: String,
    /// `-p`: pid file.
    pub pidfile: String,
    /// `--loglevel`.
    pub loglevel: String,
    /// `--logtarget`.
    pub logtarget: String,
    /// `--syslogsocket`.
    pub syslogsocket: String,
    /// `-d` (false) or `--dp` (true).
    pub dump: Option<bool>,
    /// `-t`.
    pub test: bool,
    /// 1 by default; `-v` adds, `-q` subtracts.
    pub verbose: i32,
    /// `-x`.
    pub force: bool,
    /// `-i`.
    pub interactive: bool,
    /// `-b` (default) / `-f`.
    pub background: bool,
    /// `--async`: the server does not read the configuration itself.
    pub async_: bool,
    /// `--timeout` in seconds.
    pub timeout: f64,
    /// `--json` (ironban): print raw answers as JSON.
    pub json: bool,
    /// The command words.
    pub args: Vec<String>,
}

/// Result of parsing: go on, or exit now with a code.
pub enum Parsed {
    /// Run with this configuration.
    Run(Box<Conf>),
    /// Exit with this code (help, version, bad option).
    Exit(i32),
}

const SHORT_WITH_ARG: &str = "csp";
const SHORT_FLAGS: &str = "hxfbdtviqV";
const LONG_WITH_ARG: &[&str] = &[
    "loglevel",
    "logtarget",
    "syslogsocket",
    "conf",
    "pidfile",
    "pname",
    "socket",
    "timeout",
    "str2sec",
];
const LONG_FLAGS: &[&str] = &[
    "test",
    "async",
    "help",
    "version",
    "dp",
    "dump-pretty",
    "json",
];

/// Parses `argv` (argv[0] is the program name) as fail2ban's getopt does:
/// options first, the command words after the first non-option.
pub fn parse(argv: &[String], is_server: bool) -> Parsed {
    let prog = argv.first().cloned().unwrap_or_default();
    let mut opts: Vec<(String, String)> = Vec::new();
    let mut i = 1;
    let mut args = Vec::new();
    while i < argv.len() {
        let a = &argv[i];
        if a == "--" {
            args.extend_from_slice(&argv[i + 1..]);
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            if LONG_WITH_ARG.contains(&name) {
                let v = match inline {
                    Some(v) => v,
                    None => {
                        i += 1;
                        match argv.get(i) {
                            Some(v) => v.clone(),
                            None => return usage_error(&prog, is_server),
                        }
                    }
                };
                opts.push((format!("--{name}"), v));
            } else if LONG_FLAGS.contains(&name) && inline.is_none() {
                opts.push((format!("--{name}"), String::new()));
            } else {
                return usage_error(&prog, is_server);
            }
        } else if a.len() > 1 && a.starts_with('-') {
            let chars: Vec<char> = a[1..].chars().collect();
            let mut k = 0;
            while k < chars.len() {
                let c = chars[k];
                if SHORT_WITH_ARG.contains(c) {
                    let rest: String = chars[k + 1..].iter().collect();
                    let v = if !rest.is_empty() {
                        rest
                    } else {
                        i += 1;
                        match argv.get(i) {
                            Some(v) => v.clone(),
                            None => return usage_error(&prog, is_server),
                        }
                    };
                    opts.push((format!("-{c}"), v));
                    break;
                } else if SHORT_FLAGS.contains(c) {
                    opts.push((format!("-{c}"), String::new()));
                } else {
                    return usage_error(&prog, is_server);
                }
                k += 1;
            }
        } else {
            args.extend_from_slice(&argv[i..]);
            break;
        }
        i += 1;
    }
    let mut conf = Conf {
        conf: PathBuf::from("/etc/fail2ban"),
        socket: String::new(),
        pidfile: String::new(),
        loglevel: String::new(),
        logtarget: String::new(),
        syslogsocket: String::new(),
        dump: None,
        test: false,
        verbose: 1,
        force: false,
        interactive: false,
        background: true,
        async_: false,
        timeout: 30.0,
        json: false,
        args,
    };
    for (o, v) in opts {
        match o.as_str() {
            "-c" | "--conf" => conf.conf = PathBuf::from(v),
            "-s" | "--socket" => conf.socket = v,
            "-p" | "--pidfile" => conf.pidfile = v,
            "-d" => conf.dump = Some(false),
            "--dp" | "--dump-pretty" => conf.dump = Some(true),
            "-t" | "--test" => conf.test = true,
            "-v" => conf.verbose += 1,
            "-q" => conf.verbose -= 1,
            "-x" => conf.force = true,
            "-i" => conf.interactive = true,
            "-b" => conf.background = true,
            "-f" => conf.background = false,
            "--async" => conf.async_ = true,
            "--json" => conf.json = true,
            "--timeout" => {
                conf.timeout = str2sec(&v).unwrap_or(30.0);
            }
            "--str2sec" => {
                let r = ironban_server::mytime::str2seconds(&ironban_config::Value::str(&v));
                return match r {
                    Ok(v) => {
                        println!("{}", v.repr());
                        Parsed::Exit(0)
                    }
                    Err(e) => {
                        println!("ERROR: {}", e.message());
                        Parsed::Exit(255)
                    }
                };
            }
            "-h" | "--help" => {
                usage(&prog, is_server);
                return Parsed::Exit(0);
            }
            "-V" => {
                println!("{}", ironban_server::FAIL2BAN_VERSION.replace(".dev", "."));
                return Parsed::Exit(0);
            }
            "--version" => {
                println!("{}", version_long());
                return Parsed::Exit(0);
            }
            "--loglevel" => conf.loglevel = v,
            "--logtarget" => conf.logtarget = v,
            "--syslogsocket" => conf.syslogsocket = v,
            _ => {}
        }
    }
    apply_early(&mut conf);
    Parsed::Run(Box::new(conf))
}

fn str2sec(v: &str) -> Option<f64> {
    match ironban_server::mytime::str2seconds(&ironban_config::Value::str(v)).ok()? {
        ironban_config::Value::Int(i) => Some(i as f64),
        ironban_config::Value::Float(f) => Some(f),
        _ => None,
    }
}

fn usage_error(prog: &str, is_server: bool) -> Parsed {
    usage(prog, is_server);
    Parsed::Exit(255)
}

/// Prints the usage text.
pub fn usage(prog: &str, is_server: bool) {
    let caller = Path::new(prog)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| prog.to_string());
    let mut o = String::new();
    o.push_str(&format!(
        "Usage: {caller} [OPTIONS]{}\n\n",
        if is_server { "" } else { " <COMMAND>" }
    ));
    o.push_str(&format!(
        "{} reads log file that contains password failure report\n\
         and bans the corresponding IP addresses using firewall rules.\n\n",
        version_long()
    ));
    const OPTIONS: &[&str] = &[
        "-c, --conf <DIR>        configuration directory",
        "-s, --socket <FILE>     socket path",
        "-p, --pidfile <FILE>    pidfile path",
        "--pname <NAME>          name of the process (main thread) to identify instance (default fail2ban-server)",
        "--loglevel <LEVEL>      logging level",
        "--logtarget <TARGET>    logging target, use file-name or stdout, stderr, syslog or sysout.",
        "--syslogsocket auto|<FILE>",
        "-d                      dump configuration. For debugging",
        "--dp, --dump-pretty     dump the configuration using more human readable representation",
        "-t, --test              test configuration (can be also specified with start parameters)",
        "-i                      interactive mode",
        "-v                      increase verbosity",
        "-q                      decrease verbosity",
        "-x                      force execution of the server (remove socket file)",
        "-b                      start server in background (default)",
        "-f                      start server in foreground",
        "--async                 start server in async mode (for internal usage only, don't read configuration)",
        "--timeout               timeout to wait for the server (for internal usage only, don't read configuration)",
        "--str2sec <STRING>      convert time abbreviation format to seconds",
        "--json                  (ironban) print the server's raw answers as JSON",
        "-h, --help              display this help message",
        "-V, --version           print the version (-V returns machine-readable short format)",
    ];
    o.push_str("Options:\n");
    for line in OPTIONS {
        o.push_str("    ");
        o.push_str(line);
        o.push('\n');
    }
    o.push_str("\nReport bugs to https://github.com/fail2ban/fail2ban/issues\n");
    let _ = std::io::stdout().write_all(o.as_bytes());
}

/// Fills unset early options from `fail2ban.conf` and its `.local`/`.d`
/// overrides (`[Definition]`), then fail2ban's defaults.
fn apply_early(conf: &mut Conf) {
    let vals = read_definition(&conf.conf);
    let get = |k: &str, d: &str| {
        vals.iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| d.to_string())
    };
    if conf.socket.is_empty() {
        conf.socket = get("socket", "/var/run/fail2ban/fail2ban.sock");
    }
    if conf.pidfile.is_empty() {
        conf.pidfile = get("pidfile", "/var/run/fail2ban/fail2ban.pid");
    }
    if conf.loglevel.is_empty() {
        conf.loglevel = get("loglevel", "INFO");
    }
    if conf.logtarget.is_empty() {
        conf.logtarget = get("logtarget", "/var/log/fail2ban.log");
    }
    if conf.syslogsocket.is_empty() {
        conf.syslogsocket = get("syslogsocket", "auto");
    }
}

/// `[Definition]` key/values of `fail2ban.conf`, `fail2ban.d/*.conf`,
/// `fail2ban.local`, `fail2ban.d/*.local`, in that order. A deliberately
/// small reader for five plain options; the full dialect lives in
/// ironban-config.
fn read_definition(dir: &Path) -> Vec<(String, String)> {
    let mut files = vec![dir.join("fail2ban.conf")];
    let mut d: Vec<PathBuf> = std::fs::read_dir(dir.join("fail2ban.d"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    d.sort();
    files.extend(
        d.iter()
            .filter(|p| p.extension().is_some_and(|e| e == "conf"))
            .cloned(),
    );
    files.push(dir.join("fail2ban.local"));
    files.extend(
        d.iter()
            .filter(|p| p.extension().is_some_and(|e| e == "local"))
            .cloned(),
    );
    let mut out = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let mut in_def = false;
        for line in text.lines() {
            let t = line.trim();
            if t.starts_with('#') || t.starts_with(';') || t.is_empty() {
                continue;
            }
            if t.starts_with('[') {
                in_def = t == "[Definition]";
                continue;
            }
            if !in_def || line.starts_with([' ', '\t']) {
                continue;
            }
            if let Some((k, v)) = t.split_once(['=', ':']) {
                out.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
    }
    out
}
