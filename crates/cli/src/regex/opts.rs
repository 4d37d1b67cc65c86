//! fail2ban-regex's command line (optparse style: `-L 5`, `-L5`,
//! `--maxlines 5`, `--maxlines=5`, `-vv`).

use std::ffi::OsString;

/// Parsed options; field names follow fail2ban-regex's `opts`.
#[derive(Debug, Clone, Default)]
pub struct Opts {
    pub config: String,
    pub datepattern: Option<String>,
    pub timezone: Option<String>,
    pub encoding: Option<String>,
    pub raw: bool,
    pub usedns: Option<String>,
    pub maxlines: u32,
    pub journalmatch: Option<String>,
    pub log_level: String,
    pub verbose: u32,
    pub verbose_date: bool,
    pub debuggex: bool,
    pub check_all_regex: bool,
    pub out: Option<String>,
    pub print_no_missed: bool,
    pub print_no_ignored: bool,
    pub print_all_matched: bool,
    pub print_all_missed: bool,
    pub print_all_ignored: bool,
    pub json: bool,
    pub args: Vec<String>,
}

pub const USAGE: &str = "Usage: fail2ban-regex [OPTIONS] <LOG> <REGEX> [IGNOREREGEX]";

pub const HELP: &str = "\
Usage: fail2ban-regex [OPTIONS] <LOG> <REGEX> [IGNOREREGEX]

Fail2Ban reads log file that contains password failure report
and bans the corresponding IP addresses using firewall rules.

This tools can test regular expressions for \"fail2ban\".

LOG:
  string                a string representing a log line
  filename              path to a log file (/var/log/auth.log)
  systemd-journal       search systemd journal (not supported by ironban regex)

REGEX:
  string                a string representing a 'failregex'
  filter                name of filter, optionally with options (sshd[mode=aggressive])
  filename              path to a filter file (filter.d/sshd.conf)

IGNOREREGEX:
  string                a string representing an 'ignoreregex'

Options:
  --version             show program's version number and exit
  -h, --help            show this help message and exit
  -c CONFIG, --config=CONFIG
                        set alternate config directory
  -d DATEPATTERN, --datepattern=DATEPATTERN
                        set custom pattern used to match date/times
  --timezone=TIMEZONE, --TZ=TIMEZONE
                        set time-zone used by convert time format
  -e ENCODING, --encoding=ENCODING
                        File encoding. Default: system locale
  -r, --raw             Raw hosts, don't resolve dns
  --usedns=USEDNS       DNS specified replacement of tags <HOST> in regexp
                        ('yes' - matches all form of hosts, 'no' - IP
                        addresses only)
  -L MAXLINES, --maxlines=MAXLINES
                        maxlines for multi-line regex.
  -m JOURNALMATCH, --journalmatch=JOURNALMATCH
                        journalctl style matches overriding filter file.
                        \"systemd-journal\" only
  -l LOG_LEVEL, --log-level=LOG_LEVEL
                        Log level for the Fail2Ban logger to use
  -V                    get version in machine-readable short format
  -v, --verbose         Increase verbosity
  --verbosity=VERBOSE   Set numerical level of verbosity (0..4)
  --verbose-date, --VD  Verbose date patterns/regex in output
  -D, --debuggex        Produce debuggex.com urls for debugging there
  --no-check-all        Disable check for all regex's
  -o OUT, --out=OUT     Set token to print failure information only (row, id,
                        ip, msg, host, ip4, ip6, dns, matches, ...)
  --print-no-missed     Do not print any missed lines
  --print-no-ignored    Do not print any ignored lines
  --print-all-matched   Print all matched lines
  --print-all-missed    Print all missed lines, no matter how many
  --print-all-ignored   Print all ignored lines, no matter how many
  --json                ironban: print the results as one JSON object
  -t, --log-traceback   Enrich log-messages with compressed tracebacks
  --full-traceback      Either to make the tracebacks full, not compressed (as
                        by default)
";

/// What parsing decided.
pub enum Parsed {
    Run(Box<Opts>),
    /// Print this to stdout and exit 0 (`--help`, `--version`, `-V`).
    Exit(String),
}

/// Parses argv (without argv[0]). Errors are optparse-style messages.
pub fn parse(args: &[OsString]) -> Result<Parsed, String> {
    let mut o = Opts {
        config: "/etc/fail2ban".into(),
        log_level: "critical".into(),
        check_all_regex: true,
        ..Opts::default()
    };
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut i = 0;
    let mut positional_only = false;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if positional_only || a == "-" || !a.starts_with('-') {
            o.args.push(a.clone());
            continue;
        }
        if a == "--" {
            positional_only = true;
            continue;
        }
        // Split `--opt=value` and `-Xvalue`.
        let (name, inline): (String, Option<String>) = if let Some(long) = a.strip_prefix("--") {
            match long.split_once('=') {
                Some((n, v)) => (format!("--{n}"), Some(v.to_string())),
                None => (a.clone(), None),
            }
        } else {
            let short = &a[..2.min(a.len())];
            let rest = &a[short.len()..];
            (
                short.to_string(),
                (!rest.is_empty()).then(|| rest.to_string()),
            )
        };
        let takes_value = matches!(
            name.as_str(),
            "-c" | "--config"
                | "-d"
                | "--datepattern"
                | "--timezone"
                | "--TZ"
                | "-e"
                | "--encoding"
                | "--usedns"
                | "-L"
                | "--maxlines"
                | "-m"
                | "--journalmatch"
                | "-l"
                | "--log-level"
                | "--verbosity"
                | "-o"
                | "--out"
        );
        let mut value = || -> Result<String, String> {
            if let Some(v) = inline.clone() {
                return Ok(v);
            }
            let v = args
                .get(i)
                .cloned()
                .ok_or_else(|| format!("{name} option requires 1 argument"))?;
            i += 1;
            Ok(v)
        };
        if takes_value {
            let v = value()?;
            match name.as_str() {
                "-c" | "--config" => o.config = v,
                "-d" | "--datepattern" => o.datepattern = Some(v),
                "--timezone" | "--TZ" => o.timezone = Some(v),
                "-e" | "--encoding" => o.encoding = Some(v),
                "--usedns" => o.usedns = Some(v),
                "-L" | "--maxlines" => {
                    o.maxlines = v
                        .parse()
                        .map_err(|_| format!("option {name}: invalid integer value: '{v}'"))?
                }
                "-m" | "--journalmatch" => o.journalmatch = Some(v),
                "-l" | "--log-level" => o.log_level = v,
                "--verbosity" => {
                    o.verbose = v
                        .parse()
                        .map_err(|_| format!("option {name}: invalid integer value: '{v}'"))?
                }
                _ => o.out = Some(v),
            }
            continue;
        }
        // Flags; short flags may be bundled (`-vr`).
        let flags: Vec<String> = if a.starts_with("--") {
            if inline.is_some() {
                return Err(format!("{name} option does not take a value"));
            }
            vec![name]
        } else {
            a[1..].chars().map(|c| format!("-{c}")).collect()
        };
        for f in flags {
            match f.as_str() {
                "-h" | "--help" => return Ok(Parsed::Exit(HELP.to_string())),
                "--version" => {
                    return Ok(Parsed::Exit(format!(
                        "fail2ban-regex {}",
                        crate::regex::VERSION
                    )))
                }
                "-V" => return Ok(Parsed::Exit(crate::regex::VERSION.to_string())),
                "-r" | "--raw" => o.raw = true,
                "-v" | "--verbose" => o.verbose += 1,
                "--verbose-date" | "--VD" => o.verbose_date = true,
                "-D" | "--debuggex" => o.debuggex = true,
                "--no-check-all" => o.check_all_regex = false,
                "--print-no-missed" => o.print_no_missed = true,
                "--print-no-ignored" => o.print_no_ignored = true,
                "--print-all-matched" => o.print_all_matched = true,
                "--print-all-missed" => o.print_all_missed = true,
                "--print-all-ignored" => o.print_all_ignored = true,
                "--json" => o.json = true,
                "-t" | "--log-traceback" | "--full-traceback" => {}
                _ => return Err(format!("no such option: {f}")),
            }
        }
    }
    Ok(Parsed::Run(Box::new(o)))
}
