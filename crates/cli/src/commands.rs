//! clap descriptions of every program's command line, for man pages
//! (`ironban man`) and shell completions (`ironban completions`).
//!
//! The programs do not parse with clap: fail2ban-client, fail2ban-server
//! and fail2ban-regex parse by hand to match fail2ban's getopt/optparse
//! behaviour exactly (bundled `-vd`, `--opt=value`, options stop at the first
//! command word). These descriptions document the same options; the tests
//! below read the hand parsers' option tables from their source and fail
//! when the two drift apart.

use clap::{Arg, ArgAction, Command, ValueHint};

const CLIENT_ABOUT: &str = "configure and control the ironban (fail2ban) server";
const SERVER_ABOUT: &str = "the ironban (fail2ban) daemon: watch logs, ban addresses";
const REGEX_ABOUT: &str = "test a fail2ban filter or regex against a log file or line";
const CHECK_ABOUT: &str =
    "report every problem of a configuration at once, or dry-run a jail's actions";

/// The commands operators use most, for the client's man page (ironban
/// implements fail2ban's whole command table; this is the short list).
const CLIENT_COMMANDS: &str = "\
Common commands:
  start | stop | restart
      start the server (it reads the configuration), stop it, or both
  reload [--restart] [--unban] [--all] [JAIL]
      re-read the configuration (of one jail)
  status [JAIL]
      the jails, or one jail's counters and banned addresses
  ping | version
      whether the server is up; the fail2ban version it answers as
  banned [ADDR ...]
      the jails an address is banned in
  unban ADDR ... | unban --all
      lift bans in every jail
  set JAIL banip ADDR ... | set JAIL unbanip ADDR ...
      ban or unban by hand
  set JAIL addignoreip ADDR
      never ban ADDR in JAIL
  get JAIL bantime | findtime | maxretry | failregex | logpath
      a jail's settings as the server holds them
  set loglevel LEVEL | flushlogs
      the server's logging
  stats
      one line per jail

Exit status: 0 on success, 255 on an error (as fail2ban-client).

Files:
  /etc/fail2ban                       configuration
  /run/fail2ban/fail2ban.sock         socket
  /run/fail2ban/fail2ban.pid          pid file
  /var/lib/fail2ban/fail2ban.sqlite3  bans

See also: ironban(1), ironban-check(1), fail2ban-server(1),
fail2ban-regex(1), jail.conf(5).";

fn flag(id: &'static str) -> Arg {
    Arg::new(id).action(ArgAction::SetTrue)
}

fn value(id: &'static str, name: &'static str) -> Arg {
    Arg::new(id).value_name(name).action(ArgAction::Set)
}

/// Options shared by fail2ban-client and fail2ban-server
/// (`client/cmdline.rs`, fail2ban's `fail2bancmdline.py`).
fn cmdline_args(cmd: Command) -> Command {
    cmd.disable_help_flag(true)
        .disable_version_flag(true)
        .arg(
            value("conf", "DIR")
                .short('c')
                .long("conf")
                .value_hint(ValueHint::DirPath)
                .help("configuration directory (default /etc/fail2ban)"),
        )
        .arg(
            value("socket", "FILE")
                .short('s')
                .long("socket")
                .value_hint(ValueHint::FilePath)
                .help("socket path (default from fail2ban.conf: /var/run/fail2ban/fail2ban.sock)"),
        )
        .arg(
            value("pidfile", "FILE")
                .short('p')
                .long("pidfile")
                .value_hint(ValueHint::FilePath)
                .help("pidfile path"),
        )
        .arg(
            value("pname", "NAME")
                .long("pname")
                .help("name of the process (accepted for compatibility)"),
        )
        .arg(
            value("loglevel", "LEVEL")
                .long("loglevel")
                .value_parser([
                    "CRITICAL",
                    "ERROR",
                    "WARNING",
                    "NOTICE",
                    "INFO",
                    "DEBUG",
                    "TRACEDEBUG",
                    "HEAVYDEBUG",
                ])
                .ignore_case(true)
                .help("logging level"),
        )
        .arg(
            value("logtarget", "TARGET")
                .long("logtarget")
                .help("logging target: a file name, STDOUT, STDERR, SYSLOG or SYSOUT"),
        )
        .arg(
            value("syslogsocket", "auto|FILE")
                .long("syslogsocket")
                .help("syslog socket (auto or a path)"),
        )
        .arg(
            flag("dump")
                .short('d')
                .help("dump the configuration stream, as fail2ban-client -d"),
        )
        .arg(
            flag("dump-pretty")
                .long("dp")
                .visible_alias("dump-pretty")
                .help("dump the configuration stream, pretty-printed (also --dump-pretty)"),
        )
        .arg(
            flag("test")
                .short('t')
                .long("test")
                .help("test the configuration (can be combined with start)"),
        )
        .arg(flag("interactive").short('i').help("interactive mode"))
        .arg(
            Arg::new("verbose")
                .short('v')
                .action(ArgAction::Count)
                .help("increase verbosity"),
        )
        .arg(
            Arg::new("quiet")
                .short('q')
                .action(ArgAction::Count)
                .help("decrease verbosity"),
        )
        .arg(
            flag("force")
                .short('x')
                .help("force execution of the server (remove a stale socket file)"),
        )
        .arg(
            flag("background")
                .short('b')
                .help("start the server in the background (default)"),
        )
        .arg(
            flag("foreground")
                .short('f')
                .help("start the server in the foreground"),
        )
        .arg(
            flag("async")
                .long("async")
                .help("start the server without reading the configuration (for internal use)"),
        )
        .arg(
            value("timeout", "TIME")
                .long("timeout")
                .help("time to wait for the server (seconds or e.g. 30s, 1m)"),
        )
        .arg(
            value("str2sec", "STRING")
                .long("str2sec")
                .help("print a time abbreviation (1h30m) in seconds and exit"),
        )
        .arg(
            flag("json")
                .long("json")
                .help("ironban: print the server's answers as JSON"),
        )
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("print help"),
        )
        .arg(
            flag("short-version")
                .short('V')
                .help("print the fail2ban version in machine-readable short form"),
        )
        .arg(flag("version").long("version").help("print the version"))
}

/// `fail2ban-client` / `ironban client`.
pub fn client() -> Command {
    cmdline_args(Command::new("fail2ban-client"))
        .about(CLIENT_ABOUT)
        .long_about(
            "Sends a command to a running ironban server over its UNIX socket and prints \
             the answer exactly as fail2ban-client does; with -d/--dp prints the command \
             stream the configuration produces. ironban is a drop-in for fail2ban: the \
             same socket, the same commands, the same answers. Try `fail2ban-client help` \
             for the list of commands.",
        )
        .arg(
            Arg::new("command")
                .value_name("COMMAND")
                .num_args(0..)
                .trailing_var_arg(true)
                .help(
                    "start, stop, reload, status [JAIL], set JAIL banip ADDR, get JAIL ..., help",
                ),
        )
        .after_help(
            "Examples:\n  fail2ban-client status\n  fail2ban-client status sshd\n  \
             fail2ban-client set sshd banip 192.0.2.1\n  fail2ban-client --json status sshd\n  \
             fail2ban-client -t",
        )
        .after_long_help(CLIENT_COMMANDS)
}

/// `fail2ban-server` / `ironban server`.
pub fn server() -> Command {
    cmdline_args(Command::new("fail2ban-server"))
        .about(SERVER_ABOUT)
        .after_long_help(
            "Signals: SIGTERM and SIGINT stop the jails and the server; SIGUSR1 reopens \
             the log file (after logrotate).\n\n\
             Under systemd: ironban.service runs `ironban server -c /etc/fail2ban -xf start`; \
             a socket passed by systemd (LISTEN_FDS) is used instead of creating one.\n\n\
             Files:\n  \
             /etc/fail2ban                       configuration\n  \
             /run/fail2ban/fail2ban.sock         socket\n  \
             /run/fail2ban/fail2ban.pid          pid file\n  \
             /var/log/fail2ban.log               log (logtarget)\n\n\
             See also: ironban(1), fail2ban-client(1), ironban-check(1), jail.conf(5).",
        )
        .long_about(
            "Reads the configuration (unless --async), then listens on the socket for \
             fail2ban-client and watches the jails' logs, banning addresses with the \
             jails' actions. Runs in the background unless -f is given; under systemd \
             use `fail2ban-server -xf start`.",
        )
        .arg(
            Arg::new("command")
                .value_name("COMMAND")
                .num_args(0..)
                .trailing_var_arg(true)
                .help("start (default), or a client command to run once started"),
        )
}

/// `fail2ban-regex` / `ironban regex` (`regex/opts.rs`, fail2ban's
/// `fail2banregex.py`).
pub fn regex() -> Command {
    Command::new("fail2ban-regex")
        .about(REGEX_ABOUT)
        .after_long_help(
            "Examples:\n  \
             fail2ban-regex /var/log/auth.log sshd\n  \
             fail2ban-regex /var/log/auth.log 'sshd[mode=aggressive]'\n  \
             fail2ban-regex 'Jan 1 00:00:00 host sshd[1]: Invalid user x from 192.0.2.1' sshd\n  \
             fail2ban-regex --json /var/log/mail.log /etc/fail2ban/filter.d/postfix.conf\n\n\
             Exit status: 0 on success, 255 on an error (as fail2ban-regex).\n\n\
             See also: ironban(1), ironban-check(1), jail.conf(5).",
        )
        .long_about(
            "Runs a filter (a name such as sshd[mode=aggressive], a filter file, or a raw \
             failregex) over a log file or a single log line and reports which lines \
             match, which are ignored and which are missed, with fail2ban-regex's text \
             and exit codes. The log is streamed, so memory stays flat.",
        )
        .disable_help_flag(true)
        .disable_version_flag(true)
        .arg(
            Arg::new("log")
                .value_name("LOG")
                .required(true)
                .value_hint(ValueHint::FilePath)
                .help("a log file, or a string taken as one log line"),
        )
        .arg(
            Arg::new("regex")
                .value_name("REGEX")
                .required(true)
                .help("a failregex, a filter name (sshd[mode=aggressive]) or a filter file"),
        )
        .arg(
            Arg::new("ignoreregex")
                .value_name("IGNOREREGEX")
                .help("a string taken as ignoreregex"),
        )
        .arg(flag("version").long("version").help("print the version"))
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("print help"),
        )
        .arg(
            value("config", "CONFIG")
                .short('c')
                .long("config")
                .value_hint(ValueHint::DirPath)
                .help("configuration directory for filter names (default /etc/fail2ban)"),
        )
        .arg(
            value("datepattern", "DATEPATTERN")
                .short('d')
                .long("datepattern")
                .help("date pattern to use instead of the filter's"),
        )
        .arg(
            value("timezone", "TIMEZONE")
                .long("timezone")
                .visible_alias("TZ")
                .help("time zone of log lines without one (also --TZ)"),
        )
        .arg(
            value("encoding", "ENCODING")
                .short('e')
                .long("encoding")
                .help("log file encoding"),
        )
        .arg(flag("raw").short('r').long("raw").help("raw hosts: do not resolve DNS"))
        .arg(
            value("usedns", "USEDNS")
                .long("usedns")
                .value_parser(["yes", "no", "warn", "raw"])
                .help("how <HOST> matches names: yes, no, warn, raw"),
        )
        .arg(
            value("maxlines", "MAXLINES")
                .short('L')
                .long("maxlines")
                .help("maxlines for multi-line regexes"),
        )
        .arg(
            value("journalmatch", "JOURNALMATCH")
                .short('m')
                .long("journalmatch")
                .help("journalctl-style matches (systemd-journal only)"),
        )
        .arg(
            value("log-level", "LOG_LEVEL")
                .short('l')
                .long("log-level")
                .help("log level of the fail2ban logger"),
        )
        .arg(
            flag("short-version")
                .short('V')
                .help("print the version in machine-readable short form"),
        )
        .arg(
            Arg::new("verbose")
                .short('v')
                .long("verbose")
                .action(ArgAction::Count)
                .help("increase verbosity"),
        )
        .arg(
            value("verbosity", "VERBOSE")
                .long("verbosity")
                .help("set the verbosity level (0..4)"),
        )
        .arg(
            flag("verbose-date")
                .long("verbose-date")
                .visible_alias("VD")
                .help("show the date patterns tried (also --VD)"),
        )
        .arg(
            flag("debuggex")
                .short('D')
                .long("debuggex")
                .help("print debuggex.com URLs for the regexes"),
        )
        .arg(
            flag("no-check-all")
                .long("no-check-all")
                .help("stop at the first matching failregex of a line"),
        )
        .arg(
            value("out", "OUT")
                .short('o')
                .long("out")
                .help("print only this for each failure (row, id, ip, msg, host, ip4, ip6, dns, matches, F-*)"),
        )
        .arg(flag("print-no-missed").long("print-no-missed").help("do not print missed lines"))
        .arg(flag("print-no-ignored").long("print-no-ignored").help("do not print ignored lines"))
        .arg(flag("print-all-matched").long("print-all-matched").help("print all matched lines"))
        .arg(flag("print-all-missed").long("print-all-missed").help("print all missed lines"))
        .arg(flag("print-all-ignored").long("print-all-ignored").help("print all ignored lines"))
        .arg(flag("json").long("json").help("ironban: print the results as one JSON object"))
        .arg(
            flag("log-traceback")
                .short('t')
                .long("log-traceback")
                .help("accepted for compatibility (no tracebacks in ironban)"),
        )
        .arg(
            flag("full-traceback")
                .long("full-traceback")
                .help("accepted for compatibility"),
        )
}

/// `ironban check`.
pub fn check() -> Command {
    Command::new("check")
        .about(CHECK_ABOUT)
        .after_long_help(
            "Exit status: 0 when there is no error (warnings allowed), 1 when there is one, \
             2 for a bad command line.\n\n\
             Examples:\n  \
             ironban check\n  \
             ironban check -c /etc/fail2ban --json | jq '.problems[]'\n  \
             ironban check --scan-mb 64\n  \
             ironban check --jail sshd --ban 192.0.2.1\n\n\
             Colours are used only on a terminal, and never when NO_COLOR is set.\n\n\
             See also: ironban(1), fail2ban-client(1), fail2ban-regex(1), jail.conf(5).",
        )
        .long_about(
            crate::check::USAGE
                .split("\n\n")
                .last()
                .unwrap_or(CHECK_ABOUT)
                .to_string(),
        )
        .disable_help_flag(true)
        .arg(
            value("conf", "DIR")
                .short('c')
                .long("conf")
                .value_hint(ValueHint::DirPath)
                .help("configuration directory (default /etc/fail2ban)"),
        )
        .arg(flag("json").long("json").help("print JSON instead of text"))
        .arg(
            value("scan-mb", "N")
                .long("scan-mb")
                .help("read the last N MiB of each log file (default 8; 0: none)"),
        )
        .arg(
            value("jail", "JAIL")
                .long("jail")
                .help("the jail whose actions to dry-run"),
        )
        .arg(
            value("ban", "ADDR")
                .long("ban")
                .help("the address to render a ban of"),
        )
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("print help"),
        )
}

/// `ironban man`.
pub fn man() -> Command {
    Command::new("man")
        .about("write the man pages, or print one")
        .arg(
            value("out", "DIR")
                .long("out")
                .value_hint(ValueHint::DirPath)
                .help("write every page into DIR (default: print PAGE to stdout)"),
        )
        .arg(
            Arg::new("page")
                .value_name("PAGE")
                .value_parser(crate::man::PAGES.to_vec())
                .help("the page to print (default ironban)"),
        )
}

/// `ironban completions`.
pub fn completions() -> Command {
    Command::new("completions")
        .about("print shell completions for ironban and the fail2ban-* names")
        .arg(
            Arg::new("shell")
                .value_name("SHELL")
                .required_unless_present("out")
                .value_parser(["bash", "zsh", "fish"])
                .help("bash, zsh or fish"),
        )
        .arg(
            Arg::new("program")
                .value_name("PROGRAM")
                .value_parser(crate::completions::PROGRAMS.to_vec())
                .help("one program (default: all four)"),
        )
        .arg(
            value("out", "DIR")
                .long("out")
                .value_hint(ValueHint::DirPath)
                .conflicts_with_all(["shell", "program"])
                .help("write DIR/bash/PROGRAM, DIR/zsh/_PROGRAM, DIR/fish/PROGRAM.fish"),
        )
}

/// `ironban`, with every program as a subcommand.
pub fn ironban() -> Command {
    let sub = |c: Command, name: &'static str| c.name(name).bin_name(format!("ironban {name}"));
    Command::new("ironban")
        .about("fail2ban, rebuilt in Rust: one binary for fail2ban-client, fail2ban-server and fail2ban-regex")
        .long_about(
            "ironban is a drop-in replacement for fail2ban: it reads the same configuration \
             (/etc/fail2ban), bans the same addresses with the same actions, answers \
             fail2ban-client on the same socket and gives fail2ban-regex's verdicts. \
             Called as fail2ban-client, fail2ban-server or fail2ban-regex (a link with \
             that name) it is that program; called as ironban it takes the program as \
             its first word.",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .after_long_help(
            "Moving from fail2ban: stop fail2ban, run `ironban check -c /etc/fail2ban`, \
             start ironban.service; fail2ban-client keeps working on the same socket. \
             See docs/migration.md in the source.\n\n\
             See also: ironban-check(1), fail2ban-client(1), fail2ban-server(1), \
             fail2ban-regex(1), jail.conf(5).",
        )
        .subcommand_required(true)
        .subcommand(sub(client(), "client").about(CLIENT_ABOUT))
        .subcommand(sub(server(), "server").about(SERVER_ABOUT))
        .subcommand(sub(regex(), "regex").about(REGEX_ABOUT))
        .subcommand(check())
        .subcommand(man())
        .subcommand(completions())
}

#[cfg(test)]
mod tests;
