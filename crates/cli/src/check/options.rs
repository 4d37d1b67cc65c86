//! Unknown options: an option set in a jail (or in `fail2ban.conf`) that
//! fail2ban neither reads nor lets anything refer to is silently ignored —
//! `maxretries = 3` or `enabeld = true` change nothing. fail2ban's jail reader
//! reads a fixed option list (`jailreader.py _configOpts`, spec §C.5); any
//! other option of a jail only matters when a value interpolates it
//! (`port` through `action = ...[port="%(port)s"]`, `mode` through
//! `filter = %(__name__)s[mode=%(mode)s]`).

use std::collections::HashSet;

use ironban_config::include::ConfigParser;
use ironban_config::ini::Section;
use ironban_config::reader::jailreader::jail_opts;

use super::problem::{Kind, Problem};

/// Jail options documented in fail2ban's `man/jail.conf.5` (sections "JAIL
/// CONFIGURATION FILE(S)" and "FILTER FILES") besides those the jail reader
/// reads; a test checks this list against the page.
pub const MAN_JAIL_OPTIONS: &[&str] = &[
    "filter",
    "logpath",
    "skip_if_nologs",
    "systemd_if_nologs",
    "logencoding",
    "logtimezone",
    "banaction",
    "banaction_allports",
    "action",
    "ignoreself",
    "ignoreip",
    "ignorecommand",
    "ignorecache",
    "bantime",
    "findtime",
    "maxretry",
    "backend",
    "usedns",
    "prefregex",
    "failregex",
    "ignoreregex",
    "maxmatches",
    "maxlines",
    "datepattern",
    "journalmatch",
];

/// `fail2ban.conf` options (`fail2banreader.py`, man page "FAIL2BAN
/// CONFIGURATION FILE(S)"), by section.
pub const FAIL2BAN_OPTIONS: &[(&str, &[&str])] = &[
    (
        "Definition",
        &[
            "loglevel",
            "logtarget",
            "syslogsocket",
            "socket",
            "pidfile",
            "allowipv6",
            "dbfile",
            "dbmaxmatches",
            "dbpurgeage",
        ],
    ),
    ("Thread", &["stacksize"]),
];

/// Every jail option fail2ban knows by name.
pub fn known_jail_options() -> HashSet<String> {
    let mut k: HashSet<String> = jail_opts().iter().map(|s| s.name.to_string()).collect();
    k.extend(MAN_JAIL_OPTIONS.iter().map(|s| s.to_string()));
    k
}

/// Names interpolated as `%(name)s`, `%(known/name)s` or `%(section/name)s`
/// in `value` (the part after the last `/`).
fn interpolated(value: &str, out: &mut HashSet<String>) {
    let mut rest = value;
    while let Some(i) = rest.find("%(") {
        rest = &rest[i + 2..];
        if let Some(end) = rest.find(")s") {
            let name = &rest[..end];
            let name = name.rsplit('/').next().unwrap_or(name);
            out.insert(name.to_lowercase());
            rest = &rest[end + 2..];
        } else {
            break;
        }
    }
}

/// Every name some value of the merged config refers to.
pub fn referenced(cp: &ConfigParser) -> HashSet<String> {
    let mut out = HashSet::new();
    let mut scan = |s: &Section| {
        for (_, e) in s.iter() {
            interpolated(&e.value, &mut out);
        }
    };
    scan(&cp.defaults);
    for (_, s) in cp.sections.iter() {
        scan(s);
    }
    out
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest known name, when it is close enough to be a typo.
pub fn suggest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<String> {
    // A close edit, or a long shared prefix (`maxretries` for `maxretry`).
    let prefix = |k: &str| {
        name.chars()
            .zip(k.chars())
            .take_while(|(a, b)| a == b)
            .count()
    };
    known
        .filter(|k| *k != name)
        .map(|k| (distance(name, k), k))
        .filter(|(d, k)| {
            let shorter = name.len().min(k.len());
            *d <= 2.max(k.len() / 4) || (prefix(k) >= 6 && prefix(k) * 10 >= shorter * 7)
        })
        .min()
        .map(|(_, k)| k.to_string())
}

/// Unknown options of section `section` of the merged config `cp`: set
/// there by a file (not by fail2ban), not known, not referred to.
pub fn unknown_in_section(
    cp: &ConfigParser,
    section: &str,
    known: &HashSet<String>,
    refs: &HashSet<String>,
    what: &str,
) -> Vec<Problem> {
    let Some(sec) = cp.sections.get(section) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, e) in sec.iter() {
        // `known/x`, `x?family=inet6` and `__name__` are fail2ban's own.
        if e.pos.is_none() || name.contains(['/', '?']) || name.starts_with("__") {
            continue;
        }
        if known.contains(name) || refs.contains(name) {
            continue;
        }
        let hint = match suggest(name, known.iter().map(String::as_str)) {
            Some(s) => format!(" (did you mean '{s}'?)"),
            None => String::new(),
        };
        out.push(
            Problem::error(
                Kind::UnknownOption,
                format!(
                    "unknown {what} option '{name}'{hint}: fail2ban does not read it and no value refers to it, so it has no effect"
                ),
            )
            .at(e.pos.clone())
            .option(name),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_are_suggested() {
        let k = known_jail_options();
        let s = |n| suggest(n, k.iter().map(String::as_str));
        assert_eq!(s("maxretries").as_deref(), Some("maxretry"));
        assert_eq!(s("enabeld").as_deref(), Some("enabled"));
        assert_eq!(s("logpaths").as_deref(), Some("logpath"));
        assert_eq!(s("bantime.incremnt").as_deref(), Some("bantime.increment"));
        assert_eq!(s("frobnicate"), None);
    }

    #[test]
    fn interpolations_found() {
        let mut r = HashSet::new();
        interpolated(
            "%(banaction)s[port=\"%(port)s\", x=%(known/Chain)s] %(sshd/logpath)s %(",
            &mut r,
        );
        let mut v: Vec<_> = r.into_iter().collect();
        v.sort();
        assert_eq!(v, ["banaction", "chain", "logpath", "port"]);
    }

    /// Every option `man/jail.conf.5` documents for jails and filters is in
    /// the list (the page is the oracle).
    #[test]
    fn man_page_options_listed() {
        let dir = std::env::var("IRONBAN_SHARED")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
            });
        let Ok(page) = std::fs::read_to_string(dir.join("upstream/fail2ban/man/jail.conf.5"))
        else {
            eprintln!("man page not found; skipped");
            return;
        };
        let mut section = "";
        let mut found = Vec::new();
        let mut lines = page.lines().peekable();
        while let Some(l) = lines.next() {
            if l.starts_with(".SH") || l.starts_with(".SS") {
                section = l;
            }
            let in_jail = section.contains("JAIL CONFIGURATION");
            let in_filter = section.contains("FILTER FILES");
            if (in_jail || in_filter) && l == ".TP" {
                if let Some(b) = lines.peek().and_then(|n| n.strip_prefix(".B ")) {
                    found.push(b.trim().to_string());
                }
            }
        }
        assert!(found.len() > 20, "{found:?}");
        for f in found {
            assert!(MAN_JAIL_OPTIONS.contains(&f.as_str()), "{f} missing");
        }
    }
}
