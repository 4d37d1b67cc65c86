//! Regression tests for inputs the fuzz targets (fuzz/) found to crash the
//! filter crate. Each states the input and the result fail2ban gives for it
//! (Python: an error or a plain result, never a crash).

use ironban_filter::datedetector::DateDetector;
use ironban_filter::strptime::TimeContext;
use ironban_filter::translate::translate;
use ironban_filter::{Filter, FilterOptions, Pattern, UseDns};

fn ctx() -> TimeContext {
    TimeContext {
        now: Some(1_700_000_000.0),
        default_tz: None,
    }
}

/// fuzz/datedetector crash-8b9d04…: the detector remembers the byte offset
/// of the last date; on the next line that offset fell inside a multi-byte
/// character and slicing there panicked.
#[test]
fn last_date_offset_inside_a_multibyte_char() {
    let mut dd = DateDetector::new();
    let lines = [
        "<W>2015-11-29 16:38:01.818 1 => <4:u(-1)> Rejected connection from 192.168.0.1:29530",
        // The same prefix, then U+FFFD (3 bytes) straddling the remembered offsets.
        "<W>2015-11-29 17\u{fffd}\u{fffd}\u{fffd}:18:20.962 1 => <8:u(-1)> Rejected",
        "<\u{20ac}\u{20ac}2015-11-29 16:38:01.818 1 => x",
        "\u{20ac}2015-11-29 16:38:01.818 \u{20ac}\u{20ac}\u{20ac}\u{20ac}\u{20ac}\u{20ac}\u{20ac}",
    ];
    let mut found = 0;
    for line in lines {
        if let Some(m) = dd.match_time(line) {
            if dd.get_time(line, &m, &ctx()).is_some() {
                found += 1;
            }
        }
    }
    println!("hostile_fuzz: datedetector multibyte offsets: {found} of 4 lines dated, no panic");
    assert!(found >= 3, "the well-formed dates must still be found");
}

/// The exact bytes the fuzzer found (lossily decoded as the target does).
#[test]
fn datedetector_fuzz_artifact() {
    let data: &[u8] = b"\n<W>2015-11-29 16:38:01.818 1 => <4:testUsernameOne(-1)> Rejected connectkon from 192.168.0.1:29530: Invalid server password\n<W>2015-11-29 17\xff\xff\xff\xff\xff\xff\xff\xff\xff:18:20.962 1 => <8:testUsernameTwo(-1)> Rejected connection from 192.168.1.2:29761: Wrong certificate or password for existing user\nTest murmurd[2064]: <W>2019-09-08 13:00:0592.161 => <10:Test(-1)> Rejected connection from 192.0.2.1:31752: Invalid server password";
    let text = String::from_utf8_lossy(data);
    let mut dd = DateDetector::new();
    for line in text.split('\n').skip(1) {
        if let Some(m) = dd.match_time(line) {
            let _ = dd.get_time(line, &m, &ctx());
        }
    }
}

/// The same crash reached through a whole filter (fuzz/failregex crash-aa90c1…).
#[test]
fn filter_lines_with_shifting_multibyte_prefix() {
    let mut f = Filter::new(FilterOptions {
        failregex: vec![r"^<HOST> - \S+ \[\] .*401\b".into()],
        usedns: UseDns::No,
        now: Some(1_700_000_000.0),
        ..FilterOptions::default()
    })
    .expect("filter");
    let a = f.process_line("10.0.0.2 - - [18/Nov/2018:21:34:30 +0000] \"GET / HTTP/1.1\" 401 5");
    let _ = f.process_line("\u{fffd}\u{fffd}.0.0.2 - - [18/Nov/2018:21:34:30 +0000] x 401 5");
    let _ = f.process_line("10.0.0.2 - \u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}8:21:34:30 +0000] 401");
    assert_eq!(a.len(), 1, "the well-formed line is a failure");
}

/// fuzz/translate crash-4a6974…: `\U` followed by fewer than 8 hex digits
/// and then a multi-byte character: the error message sliced the pattern
/// inside that character. Python: `re.error: incomplete escape \U`.
#[test]
fn short_unicode_escape_before_multibyte_char() {
    for p in [
        "[^\\U]*[\u{ff}\u{ff}\u{ff}",
        "\\U12\u{20ac}\u{20ac}",
        "\\u1\u{fffd}",
        "\\U",
    ] {
        let e = translate(p).expect_err(p);
        assert!(
            e.to_string().contains("\\U") || e.to_string().contains("\\u"),
            "{e}"
        );
        assert!(Pattern::new(p).is_err());
    }
    println!("hostile_fuzz: translate short \\u/\\U before multibyte: 4 errors, no panic");
}

/// fuzz/datedetector oom-28c371…: every distinct `datepattern` stayed in
/// the process-wide template cache forever, so a long run of distinct
/// patterns (a fuzzer; a server reconfigured many times) grew memory
/// without bound. fail2ban bounds the same cache (`DD_patternCache`,
/// `Utils.Cache(maxCount=1000)`); so does ironban now.
#[test]
fn date_template_cache_is_bounded() {
    for i in 0..5_000 {
        let dd =
            DateDetector::with_pattern(Some(&format!("^%Y-%m-%d %H:%M:%S x{i}"))).expect("pattern");
        drop(dd);
    }
    let n = ironban_filter::datedetector::template_cache_len();
    println!("hostile_fuzz: date template cache after 5000 distinct patterns: {n} entries");
    assert!(n <= 1_100, "{n} cached templates");
    // A pattern in use survives the eviction and is still shared.
    let kept = DateDetector::with_pattern(Some("^%Y-%m-%d %H:%M:%S kept")).unwrap();
    for i in 0..2_000 {
        drop(DateDetector::with_pattern(Some(&format!("^%Y-%m-%d %H:%M:%S y{i}"))).unwrap());
    }
    let mut kept = kept;
    assert!(kept.match_time("2005-01-23 21:59:59 kept").is_some());
}

/// fuzz/failregex crash-029632…: with `maxlines` > 1 the filter works out
/// which buffered lines a match covers by slicing the buffer one byte
/// around the match; next to a multi-byte character that slice panicked.
#[test]
fn multiline_match_next_to_multibyte_char() {
    for (prefregex, lines) in [
        (Some("\u{fffd}"), vec!["\u{fffd}", "\u{fffd}"]),
        (
            None,
            vec!["\u{20ac}192.0.2.1\u{20ac}", "\u{e9}192.0.2.2\u{e9}", "x"],
        ),
    ] {
        let mut f = Filter::new(FilterOptions {
            prefregex: prefregex.map(str::to_string),
            failregex: vec!["(?m)<DNS>".into(), "(?m)<HOST>".into()],
            maxlines: 3,
            usedns: UseDns::No,
            now: Some(1_700_000_000.0),
            ..FilterOptions::default()
        })
        .expect("filter");
        for l in lines {
            let _ = f.process_line(l);
        }
    }
}
