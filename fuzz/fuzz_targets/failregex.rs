//! A whole filter: the first line of the input is a failregex (fail2ban
//! tags `<HOST>`, `<ADDR>`, `<F-USER>`… expanded), the second a prefregex
//! (empty = none), the rest log lines fed to `Filter::process_line`. Any
//! result is fine; a panic is a crash.
#![no_main]

use ironban_filter::{Filter, FilterOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let failregex = lines.next().unwrap_or("").to_string();
    let prefregex = lines.next().unwrap_or("");
    let maxlines = if failregex.contains("(?m)") { 3 } else { 1 };
    let opts = FilterOptions {
        prefregex: (!prefregex.is_empty()).then(|| prefregex.to_string()),
        failregex: vec![failregex],
        maxlines,
        usedns: ironban_filter::UseDns::No,
        now: Some(1_700_000_000.0),
        ..FilterOptions::default()
    };
    let Ok(mut f) = Filter::new(opts) else { return };
    for line in lines.take(16) {
        let _ = f.process_line(line);
    }
});
