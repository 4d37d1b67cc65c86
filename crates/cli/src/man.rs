//! `ironban man [--out DIR] [PAGE]`: the man pages, generated with
//! clap_mangen from the clap descriptions in `commands.rs`.
//!
//! Pages: `ironban(1)`, `ironban-check(1)`, and ironban's own
//! `fail2ban-client(1)`, `fail2ban-server(1)`, `fail2ban-regex(1)` (the
//! .deb conflicts with fail2ban, so the names are free). The pages are
//! also checked in under `man/` for packaging; a test keeps them current.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::Command;

use crate::commands;

/// Every page, by name (without section).
pub const PAGES: [&str; 5] = [
    "ironban",
    "ironban-check",
    "fail2ban-client",
    "fail2ban-server",
    "fail2ban-regex",
];

const USAGE: &str = "\
usage: ironban man [--out DIR] [PAGE]

  --out DIR   write every man page (PAGE.1) into DIR
  PAGE        print this page to stdout (default ironban); one of
              ironban, ironban-check, fail2ban-client, fail2ban-server,
              fail2ban-regex";

fn page_command(name: &str) -> Option<Command> {
    Some(match name {
        "ironban" => commands::ironban(),
        "ironban-check" => commands::check().name("ironban-check"),
        "fail2ban-client" => commands::client(),
        "fail2ban-server" => commands::server(),
        "fail2ban-regex" => commands::regex(),
        _ => return None,
    })
}

/// The roff text of one page.
pub fn render(name: &str) -> Option<Vec<u8>> {
    let cmd = page_command(name)?;
    let man = clap_mangen::Man::new(cmd)
        .section("1")
        .source(format!("ironban {}", env!("CARGO_PKG_VERSION")))
        .manual("ironban manual");
    let mut out = Vec::new();
    man.render(&mut out).ok()?;
    Some(out)
}

/// Writes every page as `DIR/<page>.1`.
pub fn write_all(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for name in PAGES {
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, render(name).unwrap_or_default())?;
        written.push(path);
    }
    Ok(written)
}

pub fn main(args: Vec<OsString>) -> i32 {
    let mut out = None;
    let mut page = None;
    let mut it = args
        .into_iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned());
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => match it.next() {
                Some(d) => out = Some(PathBuf::from(d)),
                None => {
                    eprintln!("ironban man: --out requires a directory\n\n{USAGE}");
                    return 2;
                }
            },
            "-h" | "--help" => {
                use std::io::Write;
                let _ = writeln!(std::io::stdout(), "{USAGE}");
                return 0;
            }
            p if !p.starts_with('-') && page.is_none() => page = Some(p.to_string()),
            other => {
                eprintln!("ironban man: unexpected argument '{other}'\n\n{USAGE}");
                return 2;
            }
        }
    }
    if let Some(dir) = out {
        return match write_all(&dir) {
            Ok(paths) => {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                for p in paths {
                    let _ = writeln!(out, "{}", p.display());
                }
                0
            }
            Err(e) => {
                eprintln!("ironban man: {}: {e}", dir.display());
                1
            }
        };
    }
    let name = page.unwrap_or_else(|| "ironban".to_string());
    match render(&name) {
        Some(text) => {
            use std::io::Write;
            let _ = std::io::stdout().write_all(&text);
            0
        }
        None => {
            eprintln!("ironban man: no page '{name}'\n\n{USAGE}");
            2
        }
    }
}
