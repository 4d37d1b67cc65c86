//! Integration tests of ironban-config, one binary with topic modules:
//! `golden` checks `read_stream`, `read_filter` and `read_action` against
//! real fail2ban's streams in `../shared/golden`; `bad_input` checks that
//! broken configurations give one clear error and no panic.

mod bad_input;
mod golden;

use std::path::{Path, PathBuf};

/// `$IRONBAN_SHARED` or `../shared` beside the checkout. A missing oracle
/// fails the test (it is never skipped).
pub fn shared_dir() -> PathBuf {
    if let Ok(p) = std::env::var("IRONBAN_SHARED") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    assert!(
        p.join("golden").is_dir(),
        "../shared (upstream corpus and goldens) is missing beside the checkout; set IRONBAN_SHARED"
    );
    p
}

/// `fixtures/configs/` of this repository.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/configs")
}
