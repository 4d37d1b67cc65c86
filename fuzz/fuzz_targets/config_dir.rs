//! The whole configuration reader on a directory built from the input:
//! the input is split at NUL bytes into `jail.conf`, `filter.d/f.conf`,
//! `filter.d/f.local` and `action.d/a.conf`; then `read_stream` (what
//! `fail2ban-client -d` does), `read_filter` and `read_action` run on it.
//! Includes (`before =`/`after =`), `name[k=v]` arguments and jail
//! enabling all come from the input. Any result is fine; a panic is a crash.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(d.path().join("filter.d")).expect("mkdir");
        std::fs::create_dir_all(d.path().join("action.d")).expect("mkdir");
        d
    })
    .path()
}

const FILES: [&str; 4] = [
    "jail.conf",
    "filter.d/f.conf",
    "filter.d/f.local",
    "action.d/a.conf",
];

fuzz_target!(|data: &[u8]| {
    let d = dir();
    let mut parts = data.split(|&b| b == 0);
    for f in FILES {
        let part = parts.next().unwrap_or(b"");
        std::fs::write(d.join(f), part).expect("write");
    }
    let _ = ironban_config::read_stream(d);
    let _ = ironban_config::read_filter(d, "f", &[("k".into(), "v".into())], &[]);
    let _ = ironban_config::read_action(d, "a", &[], &[("port".into(), "22".into())]);
});
