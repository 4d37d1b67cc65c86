//! Shared helpers for the compat suites: locating the oracle and reporting.
//!
//! Every suite compares ironban with real fail2ban's outputs kept in
//! `../shared` (upstream corpus and goldens). The data is found through
//! [`shared_dir`]; in CI a missing oracle is a failure, never a skip.

use std::path::{Path, PathBuf};

/// The `shared/` directory: `$IRONBAN_SHARED`, else `../shared` beside the
/// checkout. Exits non-zero with a clear message when it is missing.
pub fn shared_dir() -> PathBuf {
    if let Ok(p) = std::env::var("IRONBAN_SHARED") {
        let p = PathBuf::from(p);
        if p.is_dir() {
            return p;
        }
        fail(&format!(
            "IRONBAN_SHARED={} is not a directory",
            p.display()
        ));
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidate = here.join("../../shared");
    if candidate.join("golden").is_dir() {
        return candidate.canonicalize().unwrap_or(candidate);
    }
    fail(
        "the oracle directory ../shared (upstream corpus and goldens) is missing; \
         put it beside the checkout or set IRONBAN_SHARED",
    )
}

/// `shared/upstream/fail2ban`.
pub fn upstream_dir() -> PathBuf {
    shared_dir().join("upstream/fail2ban")
}

/// `shared/golden`.
pub fn golden_dir() -> PathBuf {
    shared_dir().join("golden")
}

fn fail(msg: &str) -> ! {
    eprintln!("compat-tests: {msg}");
    std::process::exit(2)
}

/// Counts cases and prints the `N passed, N failed` closing line.
#[derive(Default)]
pub struct Tally {
    /// Suite name, printed before the counts.
    pub name: String,
    /// Cases that agreed with the oracle.
    pub passed: usize,
    /// Cases that did not, with a one-line reason each.
    pub failures: Vec<String>,
}

impl Tally {
    /// A new tally for the named suite.
    pub fn new(name: &str) -> Tally {
        Tally {
            name: name.to_string(),
            ..Tally::default()
        }
    }

    /// Records one case.
    pub fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if ok {
            self.passed += 1;
        } else {
            self.failures.push(what());
        }
    }

    /// Prints failures (at most `show`) and the closing line; returns the
    /// process exit code (0 only when nothing failed).
    pub fn finish(&self, show: usize) -> i32 {
        for f in self.failures.iter().take(show) {
            println!("FAIL {}: {}", self.name, f);
        }
        if self.failures.len() > show {
            println!("... and {} more failures", self.failures.len() - show);
        }
        println!(
            "{}: {} passed, {} failed",
            self.name,
            self.passed,
            self.failures.len()
        );
        i32::from(!self.failures.is_empty())
    }
}
