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

#[test]
fn checked_in_completions_are_current() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, listed) = ironban(&["completions", "--out", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(String::from_utf8_lossy(&listed).lines().count(), 12);
    for (sub, file) in [
        ("bash", "ironban"),
        ("bash", "fail2ban-client"),
        ("bash", "fail2ban-server"),
        ("bash", "fail2ban-regex"),
        ("zsh", "_ironban"),
        ("zsh", "_fail2ban-client"),
        ("zsh", "_fail2ban-server"),
        ("zsh", "_fail2ban-regex"),
        ("fish", "ironban.fish"),
        ("fish", "fail2ban-client.fish"),
        ("fish", "fail2ban-server.fish"),
        ("fish", "fail2ban-regex.fish"),
    ] {
        let fresh = std::fs::read(tmp.path().join(sub).join(file)).unwrap();
        let kept =
            std::fs::read(root().join("man/completions").join(sub).join(file)).unwrap_or_default();
        assert!(
            fresh == kept,
            "man/completions/{sub}/{file} is stale: run `ironban completions --out man/completions`"
        );
    }
}

/// bash really completes with the installed file: `fail2ban-client --dum`
/// gives `--dump-pretty`, `ironban check --sc` gives `--scan-mb`.
#[test]
fn bash_completes_options() {
    let complete = |file: &str, func: &str, words: &[&str]| -> String {
        let script = format!(
            "source {}; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE=\"{}\"; COMP_POINT=${{#COMP_LINE}}; \
             {func} {} {} {}; echo \"${{COMPREPLY[@]}}\"",
            root().join("man/completions/bash").join(file).display(),
            words.join(" "),
            words.len() - 1,
            words.join(" "),
            words[0],
            words[words.len() - 1],
            words[words.len().saturating_sub(2)],
        );
        let out = Command::new("bash").args(["-c", &script]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(
        complete(
            "fail2ban-client",
            "_fail2ban__client",
            &["fail2ban-client", "--dum"]
        ),
        "--dump-pretty"
    );
    assert_eq!(
        complete("ironban", "_ironban", &["ironban", "check", "--sc"]),
        "--scan-mb"
    );
    assert_eq!(
        complete(
            "fail2ban-regex",
            "_fail2ban__regex",
            &["fail2ban-regex", "--print-all-mi"]
        ),
        "--print-all-missed"
    );
}
