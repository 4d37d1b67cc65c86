//! `ironban completions SHELL [PROGRAM]`: shell completions (bash, zsh,
//! fish) generated with clap_complete from the clap descriptions in
//! `commands.rs`.
//!
//! Without PROGRAM the script covers `ironban` and the three fail2ban-*
//! names one after the other (right for bash and fish, and for a zsh
//! script that is sourced); for zsh's autoloaded `_name` files ask for one
//! PROGRAM per file. `--out DIR` writes the per-program files packages
//! install; they are kept in `man/completions/` for the .deb.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::Command;
use clap_complete::Shell;

use crate::commands;

const USAGE: &str = "\
usage: ironban completions SHELL [PROGRAM]
       ironban completions --out DIR

  SHELL     bash, zsh or fish
  PROGRAM   ironban, fail2ban-client, fail2ban-server or fail2ban-regex
            (default: all four)
  --out DIR write one file per shell and program, as packages install them:
            DIR/bash/PROGRAM, DIR/zsh/_PROGRAM, DIR/fish/PROGRAM.fish

  ironban completions bash > /etc/bash_completion.d/ironban
  ironban completions fish > ~/.config/fish/completions/ironban.fish
  ironban completions zsh fail2ban-client > \"${fpath[1]}/_fail2ban-client\"";

/// The programs completions exist for.
pub const PROGRAMS: [&str; 4] = [
    "ironban",
    "fail2ban-client",
    "fail2ban-server",
    "fail2ban-regex",
];

fn program(name: &str) -> Option<Command> {
    Some(match name {
        "ironban" => commands::ironban(),
        "fail2ban-client" => commands::client(),
        "fail2ban-server" => commands::server(),
        "fail2ban-regex" => commands::regex(),
        _ => return None,
    })
}

/// The completion script of `shell` for `programs`.
pub fn generate(shell: Shell, programs: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for name in programs {
        if let Some(mut cmd) = program(name) {
            clap_complete::generate(shell, &mut cmd, *name, &mut out);
        }
    }
    out
}

/// Writes every shell's file for every program under `dir` (the layout
/// bash-completion, zsh and fish load on demand by command name).
pub fn write_all(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (shell, sub, name) in [
        (Shell::Bash, "bash", "{}"),
        (Shell::Zsh, "zsh", "_{}"),
        (Shell::Fish, "fish", "{}.fish"),
    ] {
        std::fs::create_dir_all(dir.join(sub))?;
        for p in PROGRAMS {
            let path = dir.join(sub).join(name.replace("{}", p));
            std::fs::write(&path, generate(shell, &[p]))?;
            written.push(path);
        }
    }
    Ok(written)
}

pub fn main(args: Vec<OsString>) -> i32 {
    let args: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if args.first().map(String::as_str) == Some("--out") {
        let Some(dir) = args.get(1).filter(|_| args.len() == 2) else {
            eprintln!("ironban completions: --out takes one directory\n\n{USAGE}");
            return 2;
        };
        return match write_all(Path::new(dir)) {
            Ok(paths) => {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                for p in paths {
                    let _ = writeln!(out, "{}", p.display());
                }
                0
            }
            Err(e) => {
                eprintln!("ironban completions: {dir}: {e}");
                1
            }
        };
    }
    if args.iter().any(|a| a == "-h" || a == "--help") {
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), "{USAGE}");
        return 0;
    }
    let shell = match args.first().map(String::as_str) {
        Some("bash") => Shell::Bash,
        Some("zsh") => Shell::Zsh,
        Some("fish") => Shell::Fish,
        Some(other) => {
            eprintln!("ironban completions: unsupported shell '{other}'\n\n{USAGE}");
            return 2;
        }
        None => {
            eprintln!("{USAGE}");
            return 2;
        }
    };
    let programs: Vec<&str> = match args.get(1) {
        Some(p) if PROGRAMS.contains(&p.as_str()) => vec![p.as_str()],
        Some(p) => {
            eprintln!("ironban completions: unknown program '{p}'\n\n{USAGE}");
            return 2;
        }
        None => PROGRAMS.to_vec(),
    };
    if args.len() > 2 {
        eprintln!("ironban completions: too many arguments\n\n{USAGE}");
        return 2;
    }
    use std::io::Write;
    let _ = std::io::stdout().write_all(&generate(shell, &programs));
    0
}
