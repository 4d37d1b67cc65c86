//! Integration tests of the filter engine on real filter files.

use std::path::PathBuf;

use ironban_filter::{Filter, FilterOptions};

fn shared() -> PathBuf {
    std::env::var("IRONBAN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

fn options_from(confdir: &std::path::Path, name: &str) -> FilterOptions {
    let def = ironban_config::read_filter(confdir, name, &[], &[]).expect("filter reads");
    FilterOptions {
        prefregex: def.prefregex,
        failregex: def.failregex,
        ignoreregex: def.ignoreregex,
        maxlines: def.maxlines.unwrap_or(1),
        datepattern: def.datepattern,
        origin: Some(def.file.display().to_string()),
        ..FilterOptions::default()
    }
}

// The seed's dovecot filter is written for fail2ban 0.8 (`(?P<host>…)`);
// fail2ban 1.x refuses it ("No failure-id group"), ironban reads `host` as
// the address and warns once, naming the file.
mod old_style_host {
    use super::*;

    #[test]
    fn seed_dovecot_yields_the_host_and_one_warning() {
        let confdir = shared().join("golden/config-dump/seed/input");
        let mut f = Filter::new(options_from(&confdir, "dovecot")).expect("0.8 filter accepted");
        let warnings = f.take_warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("filter.d/dovecot.conf"),
            "{}",
            warnings[0]
        );
        assert!(warnings[0].contains("(?P<host>"), "{}", warnings[0]);
        let line = "Sep 17 15:05:14 user dovecot: pop3-login: Aborted login (tried to use disabled plaintext auth): rip=72.21.81.85, lip=198.81.129.107";
        let got = f.process_line(line);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id.as_ref().unwrap().to_string(), "72.21.81.85");
    }
}

mod bad_input {
    use super::*;

    fn sshd() -> Filter {
        Filter::new(options_from(
            &shared().join("upstream/fail2ban/config"),
            "sshd",
        ))
        .unwrap()
    }

    #[test]
    fn invalid_regex_names_file_option_and_pattern() {
        let o = FilterOptions {
            failregex: vec!["(<HOST>".into()],
            origin: Some("filter.d/broken.conf".into()),
            ..FilterOptions::default()
        };
        let e = Filter::new(o).unwrap_err().to_string();
        assert!(
            e.starts_with("filter.d/broken.conf: failregex: Unable to compile"),
            "{e}"
        );
        assert!(e.contains("((?:\\[?"), "{e}");
    }

    #[test]
    fn python_construct_without_pcre2_equivalent_is_an_error() {
        let o = FilterOptions {
            failregex: vec![r"(?a)\w+ <HOST>".into()],
            origin: Some("filter.d/ascii.conf".into()),
            ..FilterOptions::default()
        };
        let e = Filter::new(o).unwrap_err().to_string();
        assert!(
            e.contains("filter.d/ascii.conf: failregex") && e.contains("(?a)"),
            "{e}"
        );
    }

    #[test]
    fn nul_bytes_and_a_one_megabyte_line() {
        let mut f = sshd();
        let nul = "Jan  1 00:00:00 host sshd[1]: Invalid user a\0b from 192.0.2.7 port 22";
        assert_eq!(
            f.process_line(nul)[0].id.as_ref().unwrap().to_string(),
            "192.0.2.7"
        );
        let big = format!(
            "Jan  1 00:00:00 host sshd[1]: Invalid user {} from 192.0.2.8 port 22",
            "x".repeat(1 << 20)
        );
        let got = f.process_line(&big);
        assert_eq!(got[0].id.as_ref().unwrap().to_string(), "192.0.2.8");
    }

    #[test]
    fn zero_maxlines_is_refused() {
        let o = FilterOptions {
            failregex: vec!["<HOST>".into()],
            maxlines: 0,
            ..FilterOptions::default()
        };
        assert!(Filter::new(o).unwrap_err().to_string().contains("maxlines"));
    }
}
