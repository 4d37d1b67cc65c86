//! The clap descriptions and the hand parsers accept the same options.
//! The hand parsers' option tables are read from their source text, so a
//! new option in a parser without its description (or the reverse) fails.

use std::collections::BTreeSet;

use clap::Command;

use super::*;

const CMDLINE_SRC: &str = include_str!("../client/cmdline.rs");
const REGEX_OPTS_SRC: &str = include_str!("../regex/opts.rs");
const CHECK_SRC: &str = include_str!("../check.rs");
const MAIN_SRC: &str = include_str!("../main.rs");
const MAN_SRC: &str = include_str!("../man.rs");
const COMPLETIONS_SRC: &str = include_str!("../completions.rs");

/// The string literals of a piece of Rust source (escapes kept raw).
fn literals(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = src.chars().peekable();
    let mut prev = ' ';
    while let Some(c) = chars.next() {
        if c == '/' && chars.peek() == Some(&'/') {
            for c in chars.by_ref() {
                if c == '\n' {
                    break;
                }
            }
            continue;
        }
        // Skip char literals like '"'.
        if c == '\'' && prev != '&' {
            let mut buf = String::new();
            while let Some(&n) = chars.peek() {
                if buf.len() > 3 {
                    break;
                }
                chars.next();
                if n == '\'' {
                    break;
                }
                buf.push(n);
            }
            prev = '\'';
            continue;
        }
        if c == '"' {
            let mut s = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        s.push(c);
                        if let Some(n) = chars.next() {
                            s.push(n);
                        }
                    }
                    '"' => break,
                    c => s.push(c),
                }
            }
            out.push(s);
        }
        prev = c;
    }
    out
}

/// Literals that are option names (`-x`, `--name`).
fn option_literals(src: &str) -> BTreeSet<String> {
    literals(src)
        .into_iter()
        .filter(|l| {
            let body = l.trim_start_matches('-');
            let dashes = l.len() - body.len();
            ((dashes == 1 && body.chars().count() == 1) || (dashes == 2 && body.len() > 1))
                && body
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        })
        .collect()
}

/// The text between `start` and the next `end`.
fn between<'a>(src: &'a str, start: &str, end: &str) -> &'a str {
    let i = src
        .find(start)
        .unwrap_or_else(|| panic!("{start} not found"))
        + start.len();
    let j = src[i..]
        .find(end)
        .unwrap_or_else(|| panic!("{end} not found"))
        + i;
    &src[i..j]
}

/// `-x`/`--name` (aliases included) of every option of `cmd`, and the
/// subset that takes a value.
fn clap_options(cmd: &Command) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut all, mut valued) = (BTreeSet::new(), BTreeSet::new());
    for a in cmd.get_arguments().filter(|a| !a.is_positional()) {
        let mut names: Vec<String> = Vec::new();
        if let Some(s) = a.get_short() {
            names.push(format!("-{s}"));
        }
        if let Some(l) = a.get_long() {
            names.push(format!("--{l}"));
        }
        for l in a.get_all_aliases().unwrap_or_default() {
            names.push(format!("--{l}"));
        }
        let takes = a.get_action().takes_values();
        for n in names {
            if takes {
                valued.insert(n.clone());
            }
            all.insert(n);
        }
    }
    (all, valued)
}

fn set(v: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    v.into_iter().collect()
}

/// fail2ban-client and fail2ban-server: the getopt tables of `cmdline.rs`.
#[test]
fn cmdline_tables_match_client_and_server_descriptions() {
    let short = |name: &str| -> BTreeSet<String> {
        let text = between(CMDLINE_SRC, &format!("const {name}: &str = \""), "\"");
        set(text.chars().map(|c| format!("-{c}")))
    };
    let long = |name: &str| -> BTreeSet<String> {
        let text = between(CMDLINE_SRC, &format!("const {name}: &[&str] = &["), "];");
        set(literals(text).into_iter().map(|l| format!("--{l}")))
    };
    let valued: BTreeSet<String> = short("SHORT_WITH_ARG")
        .into_iter()
        .chain(long("LONG_WITH_ARG"))
        .collect();
    let flags: BTreeSet<String> = short("SHORT_FLAGS")
        .into_iter()
        .chain(long("LONG_FLAGS"))
        .collect();
    assert!(
        valued.len() >= 10 && flags.len() >= 15,
        "{valued:?} {flags:?}"
    );
    let all: BTreeSet<String> = valued.union(&flags).cloned().collect();
    for cmd in [client(), server()] {
        let (c_all, c_valued) = clap_options(&cmd);
        assert_eq!(c_all, all, "{}", cmd.get_name());
        assert_eq!(c_valued, valued, "{}", cmd.get_name());
    }
    // The options the parser acts on are all in its tables.
    for o in option_literals(CMDLINE_SRC) {
        assert!(
            all.contains(&o),
            "cmdline.rs handles {o} outside its tables"
        );
    }
}

/// fail2ban-regex: every option literal of `regex/opts.rs`.
#[test]
fn regex_parser_matches_description() {
    let mut all = option_literals(REGEX_OPTS_SRC);
    // `--` ends the options, `-` is a log on stdin: not options.
    all.remove("--");
    let valued = option_literals(between(REGEX_OPTS_SRC, "let takes_value = matches!(", ");"));
    assert!(all.len() > 30 && valued.len() > 15, "{all:?}");
    let (c_all, c_valued) = clap_options(&regex());
    assert_eq!(c_all, all);
    assert_eq!(c_valued, valued);
}

/// `ironban check`: option literals of `check.rs`, and the parser itself
/// accepts each described option.
#[test]
fn check_parser_matches_description() {
    let parser_src = between(CHECK_SRC, "pub fn parse(", "\n}\n");
    let all = option_literals(parser_src);
    let (c_all, c_valued) = clap_options(&check());
    assert_eq!(c_all, all);
    for o in &c_all {
        let mut args = vec![std::ffi::OsString::from(o)];
        if c_valued.contains(o) {
            args.push("1".into());
        }
        assert!(crate::check::parse(&args).is_ok(), "{o}");
    }
    // And the usage text names each of them.
    for o in c_all.iter().filter(|o| o.starts_with("--")) {
        assert!(crate::check::USAGE.contains(o.as_str()), "{o}");
    }
}

/// `ironban man` and `ironban completions`: the options their `main`
/// handles (help aside, which clap adds itself) are described.
#[test]
fn man_and_completions_match_description() {
    for (src, cmd) in [(MAN_SRC, man()), (COMPLETIONS_SRC, completions())] {
        let mut parsed = option_literals(between(src, "pub fn main(", "\n}\n"));
        parsed.remove("-h");
        parsed.remove("--help");
        let (described, valued) = clap_options(&cmd);
        assert_eq!(parsed, described, "{}", cmd.get_name());
        assert_eq!(
            valued,
            described,
            "{}: every option takes a value",
            cmd.get_name()
        );
    }
}

/// `ironban`: the programs `main.rs` dispatches to are the subcommands.
#[test]
fn main_programs_are_subcommands() {
    let arms = between(MAIN_SRC, "let code = match program.as_str() {", "other =>");
    let programs: BTreeSet<String> = literals(arms)
        .into_iter()
        .filter(|l| l.chars().all(|c| c.is_ascii_lowercase()) && l != "help" && l != "version")
        .collect();
    let subs: BTreeSet<String> = ironban()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    assert_eq!(programs, subs);
}

#[test]
fn descriptions_are_valid() {
    for c in [
        ironban(),
        client(),
        server(),
        regex(),
        check(),
        man(),
        completions(),
    ] {
        c.debug_assert();
    }
}

#[test]
fn literal_scanner() {
    assert_eq!(
        literals(
            r#"let a = "x\"y"; // "no"
 'c' '"' b"z""#
        ),
        [r#"x\"y"#, "z"]
    );
}
