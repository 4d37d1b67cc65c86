//! The pickle reader on arbitrary bytes, in request mode (plain data only)
//! and reply mode (plus fail2ban's classes by name). Any result is fine; a
//! panic, a hang or unbounded memory is a crash.
#![no_main]

use ironban_server::protocol::pickle;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = pickle::loads(data) {
        // What the server does with a request: print it in a log message.
        let _ = v.to_string();
    }
    if let Ok(o) = pickle::loads_reply(data) {
        let _ = o.repr();
    }
});
