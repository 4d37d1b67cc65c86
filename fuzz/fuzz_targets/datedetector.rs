//! The date detector: the first line of the input is a `datepattern`
//! (empty = fail2ban's default templates), every other line a log line
//! matched and converted to a time, as the filter does per line. Any result
//! is fine; a panic is a crash.
#![no_main]

use ironban_filter::datedetector::DateDetector;
use ironban_filter::strptime::TimeContext;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let pattern = lines.next().unwrap_or("");
    let pattern = pattern.replace("\\n", "\n");
    let dd = if pattern.is_empty() {
        Ok(DateDetector::new())
    } else {
        DateDetector::with_pattern(Some(&pattern))
    };
    let Ok(mut dd) = dd else { return };
    let ctx = TimeContext {
        now: Some(1_700_000_000.0),
        default_tz: None,
    };
    for line in lines.take(16) {
        if let Some(m) = dd.match_time(line) {
            let _ = dd.get_time(line, &m, &ctx);
        }
    }
});
