use std::path::PathBuf;

use super::*;

fn golden(rel: &str) -> PathBuf {
    std::env::var("IRONBAN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
        .join("golden")
        .join(rel)
}

/// Every stock filter variant: our expansion of the raw `stream` regexes
/// equals what fail2ban holds (`failregex-expanded/<filter>.json`).
#[test]
fn expansion_matches_fail2ban_for_every_stock_filter() {
    let dir = golden("failregex-expanded");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("golden failregex-expanded present") {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() == "index.json" {
            continue;
        }
        let j: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for (variant, v) in j["variants"].as_object().unwrap() {
            if v.get("error").is_some() {
                continue;
            }
            let mut raw_fail = Vec::new();
            let mut raw_pref = None;
            for cmd in v["stream"].as_array().unwrap() {
                let c = cmd.as_array().unwrap();
                match (c[0].as_str().unwrap(), c[2].as_str().unwrap()) {
                    ("multi-set", "addfailregex") => raw_fail.extend(
                        c[3].as_array()
                            .unwrap()
                            .iter()
                            .map(|s| s.as_str().unwrap().to_string()),
                    ),
                    ("set", "addfailregex") => raw_fail.push(c[3].as_str().unwrap().to_string()),
                    ("set", "prefregex") => raw_pref = Some(c[3].as_str().unwrap().to_string()),
                    _ => {}
                }
            }
            let want: Vec<&str> = v["failregex"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap())
                .collect();
            assert_eq!(raw_fail.len(), want.len(), "{path:?} {variant}");
            let pref = raw_pref
                .as_deref()
                .map(|p| Regex::new(p, false, UseDns::Warn).unwrap());
            if let Some(p) = &pref {
                assert_eq!(
                    p.expanded(),
                    v["prefregex"].as_str().unwrap(),
                    "{path:?} {variant}"
                );
            }
            for (raw, want) in raw_fail.iter().zip(want) {
                let r = Regex::new_fail(raw, false, UseDns::Warn, pref.as_ref())
                    .unwrap_or_else(|e| panic!("{path:?} {variant}: {e}"));
                assert_eq!(r.expanded(), want, "{path:?} {variant}");
                checked += 1;
            }
        }
    }
    assert!(checked > 400, "only {checked} regexes checked");
}

#[test]
fn usedns_no_gives_addr_only() {
    let e = expand_tags("from <HOST>", UseDns::No);
    assert!(!e.contains("dns"));
    assert!(e.contains("ip4"));
}

#[test]
fn custom_tags_and_unopened_close() {
    assert_eq!(
        expand_tags("<F-USER>x</F-USER>", UseDns::Warn),
        "(?P<user>x)"
    );
    assert_eq!(expand_tags("a</F-USER>", UseDns::Warn), "a</F-USER>");
    assert_eq!(expand_tags("<F-ID>x</F-ID>", UseDns::Warn), "(?P<fid>x)");
    assert_eq!(expand_tags("<f-user>", UseDns::Warn), "<f-user>");
    assert_eq!(
        expand_tags("<SKIPLINES><SKIPLINES>", UseDns::Warn)
            .matches("skiplines")
            .count(),
        2
    );
}

#[test]
fn alt_groups_fill_empty_name() {
    let r = Regex::new_fail(
        "user=<F-USER>\\S*</F-USER> ruser=<F-ALT_USER>\\S+</F-ALT_USER> <HOST>",
        false,
        UseDns::Warn,
        None,
    )
    .unwrap();
    let mut caps = r.pattern().new_captures();
    let m = r.search("user= ruser=bob 1.2.3.4\n", 1, &mut caps).unwrap();
    assert_eq!(
        *m.groups.get("user").unwrap(),
        GroupValue::Str("bob".into())
    );
}

#[test]
fn old_style_host_group_accepted_with_flag() {
    let r = Regex::new_fail(r"rip=(?P<host>\S*),", false, UseDns::Warn, None).unwrap();
    assert!(r.deprecated_host());
    let mut caps = r.pattern().new_captures();
    let m = r
        .search("rip=72.21.81.85, lip=1.2.3.4\n", 1, &mut caps)
        .unwrap();
    assert_eq!(
        *m.groups.get("dns").unwrap(),
        GroupValue::Str("72.21.81.85".into())
    );
}

#[test]
fn no_failure_id_is_an_error() {
    let e = Regex::new_fail("^foo$", false, UseDns::Warn, None).unwrap_err();
    assert_eq!(e.to_string(), "No failure-id group in '^foo$'");
}

#[test]
fn content_tail_gives_the_full_patterns_match() {
    // sshd's prefregex shape: optional parts before `(?P<content>.+)$`.
    let r = Regex::new(
        r"^(?P<mlfid>(?:\S+\s+)?(?:sshd(?:\[\d+\])?:\s+)?)(?:(?:error|fatal): )?(?P<content>.+)$",
        false,
        UseDns::Warn,
    )
    .unwrap();
    assert!(r.has_content_tail());
    let ci = r.group_index("content").unwrap();
    let mi = r.group_index("mlfid").unwrap();
    let lines = [
        "web01 sshd[1]: Failed password for root from 192.0.2.1\n",
        "web01 sshd[1]: error: PAM: x\n",
        "web01 sshd[1]: \n",
        "web01\n",
        "\n",
        "x\n",
        "héllo sshd: wörld\n",
    ];
    for l in lines {
        let (mut full, mut fast) = (r.pattern().new_captures(), r.pattern().new_captures());
        let want = r.is_match_in(l, l.is_ascii(), &mut full);
        let got = r.is_match_content_tail(l, l.is_ascii(), &mut fast);
        assert_eq!(got, want, "{l:?}");
        if want {
            assert_eq!(fast.get(0).map(|s| s.0), full.get(0).map(|s| s.0), "{l:?}");
            assert_eq!(fast.get(mi), full.get(mi), "{l:?}");
            let (cs, _) = fast.get(ci).unwrap();
            assert_eq!(Some((cs, l.len() - 1)), full.get(ci), "{l:?}");
        }
    }
    // Inline flags or multi-line: not used.
    assert!(!Regex::new(r"(?s)^a(?P<content>.+)$", false, UseDns::Warn)
        .unwrap()
        .has_content_tail());
    assert!(!Regex::new(r"^a(?P<content>.+)$", true, UseDns::Warn)
        .unwrap()
        .has_content_tail());
}
