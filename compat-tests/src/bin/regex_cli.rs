//! regex_cli: `ironban regex` against real `fail2ban-regex` output
//! (`golden/regex/`): one run per sample log and option set. A run passes
//! when the whole summary agrees — header, per-regex hit counts, date
//! template hits, the `Lines:` counts and the printed matched/missed/ignored
//! lines — and the exit code is the same. Paths and the elapsed time are
//! normalised as in the golden files.
//!
//! The `ironban` binary is taken from `$IRONBAN_BIN`, else from beside this
//! runner (`cargo build -p ironban-cli` first).

use std::path::PathBuf;
use std::process::Command;

use ironban_compat_tests::{golden_dir, upstream_dir, Tally};
use serde_json::Value;

fn ironban_bin() -> PathBuf {
    if let Ok(p) = std::env::var("IRONBAN_BIN") {
        return PathBuf::from(p);
    }
    let me = std::env::current_exe().expect("current exe");
    let p = me.with_file_name("ironban");
    if !p.is_file() {
        eprintln!(
            "regex_cli: {} not found; run `cargo build -p ironban-cli` or set IRONBAN_BIN",
            p.display()
        );
        std::process::exit(2);
    }
    p
}

fn normalise(s: &str, upstream: &str) -> String {
    let s = s.replace(upstream, "@UPSTREAM@");
    let mut out = Vec::new();
    for line in s.lines() {
        if let Some(rest) = line.strip_prefix("[processed in ") {
            if rest.ends_with(" sec]") {
                out.push("[processed in @ELAPSED@ sec]".to_string());
                continue;
            }
        }
        out.push(line.trim_end().to_string());
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out.join("\n")
}

fn main() {
    let bin = ironban_bin();
    let golden = golden_dir().join("regex");
    let upstream = upstream_dir();
    let up = upstream.display().to_string();
    let index: Value = serde_json::from_str(
        &std::fs::read_to_string(golden.join("index.json")).expect("golden regex index"),
    )
    .expect("index.json parses");
    let only = std::env::args().nth(1);
    let mut tally = Tally::new("regex_cli");
    for run in index.as_array().expect("index is a list") {
        let out_name = run["output"].as_str().unwrap_or("");
        if only
            .as_ref()
            .is_some_and(|o| !out_name.starts_with(o.as_str()))
        {
            continue;
        }
        let cmd = run["command"].as_str().unwrap_or("");
        // `fail2ban-regex LOG FILTER`; FILTER may hold spaces (`[a=1, b=2]`).
        let args: Vec<String> = cmd
            .splitn(3, ' ')
            .skip(1)
            .map(|a| a.replace("@UPSTREAM@", &up))
            .collect();
        let want = std::fs::read_to_string(golden.join(out_name)).unwrap_or_default();
        let want_code = run["exit_code"].as_i64().unwrap_or(0);
        let res = Command::new(&bin)
            .arg("regex")
            .args(&args)
            .env("TZ", "UTC")
            .current_dir(std::env::temp_dir())
            .output();
        let res = match res {
            Ok(r) => r,
            Err(e) => {
                tally.check(false, || {
                    format!("{out_name}: cannot run {}: {e}", bin.display())
                });
                continue;
            }
        };
        let got = normalise(&String::from_utf8_lossy(&res.stdout), &up);
        let want = normalise(&want, &up);
        let code = res.status.code().unwrap_or(-1) as i64;
        let ok = got == want && code == want_code;
        tally.check(ok, || {
            if code != want_code {
                return format!(
                    "{out_name}: exit code {code}, want {want_code}; stderr: {}",
                    String::from_utf8_lossy(&res.stderr)
                );
            }
            let (g, w): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
            let i = (0..g.len().max(w.len()))
                .find(|&i| g.get(i) != w.get(i))
                .unwrap_or(0);
            format!(
                "{out_name}: line {}: got {:?}, want {:?}",
                i + 1,
                g.get(i).copied().unwrap_or("<end>"),
                w.get(i).copied().unwrap_or("<end>")
            )
        });
    }
    std::process::exit(tally.finish(usize::MAX));
}
