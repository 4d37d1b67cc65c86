//! `ironban`: one binary for fail2ban's three programs.
//!
//! Called as `fail2ban-client`, `fail2ban-server` or `fail2ban-regex` (a link
//! or copy with that name) it behaves as that program; called as `ironban` it
//! takes the program as its first word: `ironban client|server|regex|check`
//! (and `man`, `completions`).
//! Each program parses its own options, since fail2ban's three tools each have
//! their own command line.

use std::ffi::OsString;
use std::path::Path;

mod check;
mod client;
mod color;
mod commands;
mod completions;
mod dump;
mod man;
mod regex;
mod server;

const USAGE: &str = "\
usage: ironban <command> [options]

commands:
  client   talk to a running server, or dump the config (-d); as fail2ban-client
  server   run the daemon; as fail2ban-server
  regex    test a filter against a log; as fail2ban-regex
  check    load a config and report every problem, or dry-run a jail's actions
  man      write the man pages (--out DIR) or print one
  completions SHELL   print bash/zsh/fish completions

ironban is also fail2ban-client, fail2ban-server and fail2ban-regex when
called by those names.";

fn main() {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    let argv0 = args
        .first()
        .map(|a| {
            Path::new(a)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    let program = match argv0.as_str() {
        "fail2ban-client" => "client".to_string(),
        "fail2ban-server" => "server".to_string(),
        "fail2ban-regex" => "regex".to_string(),
        _ => {
            if args.len() < 2 {
                eprintln!("{USAGE}");
                std::process::exit(2);
            }
            let sub = args.remove(1).to_string_lossy().into_owned();
            args[0] = OsString::from(format!("ironban {sub}"));
            sub
        }
    };
    if program != "server" {
        // Printing programs end quietly when their reader goes away
        // (`ironban regex ... | head`), as Unix tools do. The server keeps
        // Rust's ignored SIGPIPE: a client hanging up must not kill it.
        // SAFETY: called before any thread exists; SIG_DFL is a valid handler.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let code = match program.as_str() {
        "client" => client::main(args),
        "server" => server::main(args),
        "regex" => regex::main(args),
        "check" => check::main(args),
        "man" => man::main(args),
        "completions" => completions::main(args),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            0
        }
        "-V" | "--version" | "version" => {
            println!("ironban {}", env!("CARGO_PKG_VERSION"));
            0
        }
        other => {
            eprintln!("ironban: unknown command '{other}'\n\n{USAGE}");
            2
        }
    };
    std::process::exit(code);
}
