//! `ironban man` and `ironban completions`: the checked-in pages under
//! `man/` are what the binary generates (regenerate with
//! `ironban man --out man`), groff reads them without warnings, and the
//! shells accept the completion scripts.

use std::path::Path;
use std::process::Command;

fn ironban(args: &[&str]) -> (i32, Vec<u8>) {
    let out = Command::new(env!("CARGO_BIN_EXE_ironban"))
        .args(args)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), out.stdout)
}

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

const PAGES: [&str; 5] = [
    "ironban",
    "ironban-check",
    "fail2ban-client",
    "fail2ban-server",
    "fail2ban-regex",
];

#[test]
fn checked_in_pages_are_current() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _) = ironban(&["man", "--out", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 0);
    for p in PAGES {
        let fresh = std::fs::read(tmp.path().join(format!("{p}.1"))).unwrap();
        let kept = std::fs::read(root().join(format!("man/{p}.1"))).unwrap_or_default();
        assert!(
            fresh == kept,
            "man/{p}.1 is stale: run `ironban man --out man`"
        );
        let (code, stdout) = ironban(&["man", p]);
        assert_eq!((code, stdout), (0, fresh), "{p}");
    }
    assert_eq!(ironban(&["man", "nope"]).0, 2);
}

#[test]
fn groff_reads_pages_cleanly() {
    if Command::new("groff").arg("-v").output().is_err() {
        eprintln!("groff not installed; skipped");
        return;
    }
    for p in PAGES {
        let out = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(root().join(format!("man/{p}.1")))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && err.trim().is_empty(), "{p}: {err}");
    }
}

#[test]
fn completions_parse_in_their_shell() {
    for (shell, check) in [
        ("bash", ["bash", "-n"]),
        ("zsh", ["zsh", "-n"]),
        ("fish", ["fish", "-n"]),
    ] {
        let (code, script) = ironban(&["completions", shell]);
        assert_eq!(code, 0, "{shell}");
        let text = String::from_utf8_lossy(&script);
        for prog in [
            "ironban",
            "fail2ban-client",
            "fail2ban-server",
            "fail2ban-regex",
        ] {
            assert!(text.contains(prog), "{shell}: {prog}");
        }
        // An option of each program is offered.
        for opt in ["--scan-mb", "--dump-pretty", "--print-all-missed"] {
            assert!(text.contains(opt.trim_start_matches('-')), "{shell}: {opt}");
        }
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), &script).unwrap();
        match Command::new(check[0])
            .arg(check[1])
            .arg(tmp.path())
            .output()
        {
            Ok(out) => assert!(
                out.status.success(),
                "{shell}: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(_) => eprintln!("{shell} not installed; syntax not checked"),
        }
    }
    assert_eq!(ironban(&["completions", "tcsh"]).0, 2);
    let (code, one) = ironban(&["completions", "zsh", "fail2ban-client"]);
    assert_eq!(code, 0);
    assert!(String::from_utf8_lossy(&one).starts_with("#compdef fail2ban-client"));
}
