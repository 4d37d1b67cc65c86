//! Regression tests for inputs the fuzz targets (fuzz/config_dir, fuzz/ini)
//! found to crash the config reader. Oracle: real fail2ban-client on the
//! same files ends with a configuration error (for the tag bomb: after
//! Python's MemoryError); ironban must end with an error too, quickly and
//! without exhausting memory.

use std::time::Instant;

fn confdir(action: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(d.path().join("action.d")).expect("mkdir");
    std::fs::write(d.path().join("action.d/a.conf"), action).expect("write");
    d
}

/// Each tag doubles the next: `<t0>` would expand to 2^40 copies. fuzz
/// found a mail action whose `<dest>` and `<mailcmd>` fed each other this
/// way (config_dir timeout-29893e…); the process ran out of memory.
#[test]
fn tag_bomb_is_an_error_not_an_abort() {
    let mut text = String::from("[Definition]\nactionban = <t0>\n[Init]\n");
    for i in 0..40 {
        text.push_str(&format!("t{i} = <t{}>x<t{}>\n", i + 1, i + 1));
    }
    text.push_str("t40 = 0123456789abcdef\n");
    let d = confdir(&text);
    let start = Instant::now();
    let r = ironban_config::read_action(d.path(), "a", &[], &[]);
    let took = start.elapsed();
    println!("hostile_fuzz: config tag bomb (2^40 expansion): error in {took:?}");
    let e = r.expect_err("a 2^40-fold expansion must be refused");
    assert!(e.to_string().contains("grows beyond"), "{e}");
    assert!(took.as_secs() < 10, "took {took:?}");
}

/// A value that references itself through another one (`a = <b>`,
/// `b = <a><a>`): fail2ban reports the self reference; so does ironban,
/// whichever limit trips first.
#[test]
fn mutual_reference_is_an_error() {
    let d = confdir("[Definition]\nactionban = <dest> <mailcmd>\n[Init]\nmailcmd = mail <dest> <dest>\ndest = root <mailcmd>\n");
    let e = ironban_config::read_action(d.path(), "a", &[], &[]).expect_err("loop");
    assert!(
        e.to_string().contains("self referencing") || e.to_string().contains("grows beyond"),
        "{e}"
    );
}

/// A value just under the limit still resolves (the limit changes nothing
/// for real configurations).
#[test]
fn large_but_bounded_expansion_resolves() {
    let mut text = String::from("[Definition]\nactionban = <t0>\n[Init]\n");
    for i in 0..12 {
        text.push_str(&format!("t{i} = <t{}><t{}>\n", i + 1, i + 1));
    }
    text.push_str("t12 = 0123456789\n");
    let d = confdir(&text);
    let def = ironban_config::read_action(d.path(), "a", &[], &[]).expect("4096 copies resolve");
    let ban = def
        .options
        .iter()
        .find(|(k, _)| k == "actionban")
        .map(|(_, v)| v.len());
    assert_eq!(ban, Some(10 * 4096));
}

/// fuzz/ini crash-6c0ef9…: replacing an inner `<type>` and then a whole
/// `<p-<type>-i>` removed text before the position the search resumed
/// from (fail2ban's `tre_search(value, m.start())`), which then lay past
/// the end or inside a multi-byte character: slicing there panicked.
/// Python (character offsets) finds no further tag; neither does ironban.
#[test]
fn tag_search_resumes_past_a_shrunk_value() {
    use ironban_config::interpolate::substitute_recursive_tags;
    use ironban_config::omap::OMap;
    let cases = [
        // The minimized fuzz input: the value vanishes entirely.
        (
            "<_nft_for_proto-<type>-iter><_nft_for_proto-<type>-iter>",
            "",
        ),
        // The resume offset falls inside a 2-byte character.
        (
            "<p-<type>-i>\u{e9}\u{e9}\u{e9}\u{e9}<p-<type>-i>\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}",
            "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}",
        ),
    ];
    for (value, want) in cases {
        let mut m: OMap<Option<String>> = OMap::new();
        m.insert("type", Some("multiport".to_string()));
        m.insert("_nft_for_proto-multiport-iter", Some(String::new()));
        m.insert("p-multiport-i", Some(String::new()));
        m.insert("\u{fffd}", Some(value.to_string()));
        let out = substitute_recursive_tags(&m, &[], |_| Ok(None)).expect("resolves");
        assert_eq!(
            out.get("\u{fffd}").cloned().flatten().as_deref(),
            Some(want)
        );
    }
}
