//! Compat suite `protocol`: ironban's socket protocol against real
//! fail2ban's captures in `golden/protocol/` (53 request/response pairs and
//! what the real `fail2ban-client` printed for each).
//!
//! Four parts, each case counted once per part:
//! - (a) decode: every captured request decodes with ironban's pickle reader
//!   to the captured Python repr, and every captured reply too.
//! - (b) replay: an ironban server configured with the golden server's
//!   stream (`server-config/dump.txt`) gets the captured request bytes in
//!   order; its reply must decode, in real Python, to the captured repr (ban
//!   timestamps normalised). Byte-identical replies are counted separately.
//! - (c) real client: Debian's `/usr/bin/fail2ban-client` runs each case
//!   against a fresh ironban server; stdout and exit code must equal the
//!   capture. Where Debian's client (1.0.2) itself prints differently from
//!   the captured 1.1.2 client, the expectation is what Debian's client
//!   prints against a replay of the captured reply bytes, so only server
//!   differences count.
//! - (d) ironban's own client against ironban's server, against the capture
//!   (stdout, stderr with pids normalised, exit code).
//! - (f) the server log of the (b) run equals fail2ban's `server.log` of the
//!   capture (time stamps and pids aside), except the lines of parts not
//!   wired to the jails yet: `fail2ban.observer`, `fail2ban.database`.
//! - (e) side by side: Debian's real `fail2ban-server` and ironban's get the
//!   same stream and the same list of commands (good and bad ones); every
//!   reply must decode to the same repr, except for the few commands whose
//!   answer changed between fail2ban 1.0.2 and 1.1.2 (listed, and skipped),
//!   and with 1.0.2's longer IPv6 `<HOST>` pattern written as 1.1.2's.
//!
//! One module per oracle: [`capture`] reads the captures, [`server`] runs
//! and replays servers, [`golden_bytes`] is (a), (b) and (f),
//! [`real_client`] is (c) and (d), [`side_by_side`] is (e). (A bin's
//! modules need `#[path]`: its root file is not a `mod.rs`.)

#[path = "protocol/capture.rs"]
mod capture;
#[path = "protocol/golden_bytes.rs"]
mod golden_bytes;
#[path = "protocol/real_client.rs"]
mod real_client;
#[path = "protocol/server.rs"]
mod server;
#[path = "protocol/side_by_side.rs"]
mod side_by_side;

use ironban_compat_tests::{golden_dir, Tally};

fn main() {
    let dir = golden_dir().join("protocol");
    let cases = capture::load_cases(&dir);
    let tmp = std::env::temp_dir().join(format!("ironban-protocol-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&tmp);
    let stream = capture::golden_stream(&dir, &tmp);
    let mut t = Tally::new("protocol");

    golden_bytes::decode(&mut t, &cases);
    golden_bytes::replay_captured(&mut t, &dir, &tmp, &cases, &stream);
    real_client::debian_client(&mut t, &tmp, &cases, &stream);
    real_client::own_client(&mut t, &tmp, &cases, &stream);
    side_by_side::side_by_side(&mut t, &tmp, &stream);
    let _ = std::fs::remove_dir_all(&tmp);
    std::process::exit(t.finish(40));
}
