//! Python `re` → PCRE2 translation, then compiling the result (both flag
//! sets fail2ban uses) and searching a short line with it. Any result is
//! fine; a panic is a crash.
#![no_main]

use ironban_filter::translate::translate;
use ironban_filter::PatternBuilder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (pattern, hay) = text
        .split_once('\n')
        .unwrap_or((&text, "user root from 192.0.2.1 port 22"));
    let _ = translate(pattern);
    for multiline in [false, true] {
        if let Ok(p) = PatternBuilder::new().multiline(multiline).build(pattern) {
            let _ = p.find_at(hay, 0);
            let mut caps = p.new_captures();
            if let Ok(true) = p.captures_at(hay, 0, &mut caps) {
                for i in 0..caps.len() {
                    let _ = caps.text(hay, i);
                }
            }
        }
    }
});
