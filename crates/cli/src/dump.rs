//! `fail2ban-client -d`: print the configuration command stream.

use std::path::Path;

pub fn run(_confdir: &Path, _pretty: bool) -> i32 {
    eprintln!("ironban client -d: not implemented yet");
    255
}
