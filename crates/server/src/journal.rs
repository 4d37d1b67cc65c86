//! The systemd journal as a log source: `backend = systemd`
//! (fail2ban: `server/filtersystemd.py`).
//!
//! Reads through libsystemd, loaded with `dlopen` at the first journal
//! opened (`journal/sd.rs`), so processes without a journal jail do not map
//! it. The reader is not `Send`:
//! a jail that follows the journal keeps it on a thread of its own and hands
//! lines over a channel. Entries are rendered into the syslog-style line
//! fail2ban builds (`formatJournalEntry`), so the same failregexes apply,
//! and carry their own timestamp, so no date detection is needed.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Options of a journal jail (`journalpath`, `journalfiles`, `journalflags`,
/// `namespace`).
#[derive(Debug, Clone, Default)]
pub struct JournalOptions {
    /// `journalpath`: a directory of journal files.
    pub path: Option<PathBuf>,
    /// `journalfiles`: file names or globs, split on white space.
    pub files: Vec<String>,
    /// `journalflags`; fail2ban opens with SD_JOURNAL_SYSTEM (4) when
    /// neither files nor path are given.
    pub flags: Option<i32>,
}

/// A journal entry rendered as fail2ban renders it.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalLine {
    /// `host ident[pid]: message`, newlines as `\n`.
    pub line: String,
    /// The entry's time (source realtime when present), seconds since the epoch.
    pub time: f64,
    /// The cursor, to resume after a restart.
    pub cursor: String,
}

/// Errors from the journal, naming what was being done.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// libsystemd refused.
    #[error("systemd journal: {action}: {source}")]
    Sd {
        /// What was being done.
        action: String,
        /// The error libsystemd returned.
        source: std::io::Error,
    },
    /// A `journalmatch` element that is not `FIELD=value` or `+`.
    #[error("systemd journal: invalid journalmatch element '{0}' (expected FIELD=value or +)")]
    BadMatch(String),
    /// libsystemd could not be loaded (it is opened only when a journal is).
    #[error("systemd journal: {0}")]
    Load(String),
    /// This build has no journal support.
    #[error("systemd journal: this ironban was built without the 'systemd' feature")]
    Unsupported,
}

/// Splits a `journalmatch` list into OR-groups of `FIELD=value` terms, as
/// fail2ban's `addJournalMatch` does with journalctl's `+`.
pub fn match_groups(elements: &[String]) -> Result<Vec<Vec<(String, String)>>, JournalError> {
    let mut groups: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for el in elements {
        if el == "+" {
            groups.push(Vec::new());
            continue;
        }
        match el.split_once('=') {
            Some((k, v)) if !k.is_empty() => groups
                .last_mut()
                .expect("groups is never empty")
                .push((k.to_string(), v.to_string())),
            _ => return Err(JournalError::BadMatch(el.clone())),
        }
    }
    groups.retain(|g| !g.is_empty());
    Ok(groups)
}

/// Renders an entry's fields the way fail2ban's `formatJournalEntry` does:
/// `_HOSTNAME`, then `SYSLOG_IDENTIFIER` (or `_COMM`) with `[pid]` and `:`,
/// the kernel's monotonic stamp for `kernel:`, then `MESSAGE`.
pub fn format_entry(fields: &BTreeMap<String, Vec<u8>>, monotonic_usec: u64) -> String {
    let get = |k: &str| {
        fields
            .get(k)
            .filter(|v| !v.is_empty())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    let mut parts: Vec<String> = Vec::new();
    if let Some(h) = get("_HOSTNAME") {
        parts.push(h);
    }
    if let Some(ident) = get("SYSLOG_IDENTIFIER").or_else(|| get("_COMM")) {
        let mut ident = ident;
        if let Some(pid) = get("SYSLOG_PID").or_else(|| get("_PID")) {
            // python-systemd converts the pid with int() (decimal, leading zeros
            // fine); fail2ban then falls back to int(v, 0); else kept as text.
            match parse_python_int(&pid) {
                Some(n) => ident.push_str(&format!("[{n}]")),
                None => ident.push_str(&format!("[{pid}]")),
            }
        }
        ident.push(':');
        let is_kernel = ident == "kernel:";
        parts.push(ident);
        if is_kernel {
            let mono = get("_SOURCE_MONOTONIC_TIMESTAMP")
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(monotonic_usec);
            parts.push(format!("[{:12.6}]", mono as f64 / 1e6));
        }
    }
    parts.push(get("MESSAGE").unwrap_or_default());
    parts.join(" ").replace('\n', "\\n")
}

fn parse_python_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let lower = t.to_ascii_lowercase();
    let n = if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()?
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()?
    } else if let Some(b) = lower.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()?
    } else {
        t.parse().ok()?
    };
    Some(if neg { -n } else { n })
}

/// The entry's time: `_SOURCE_REALTIME_TIMESTAMP` if present, else the
/// journal's own receive time (fail2ban: `getJrnEntTime`).
pub fn entry_time(fields: &BTreeMap<String, Vec<u8>>, realtime_usec: u64) -> f64 {
    fields
        .get("_SOURCE_REALTIME_TIMESTAMP")
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(realtime_usec) as f64
        / 1e6
}

/// Every entry of the journal `opts` matching `journalmatch` (fail2ban-regex
/// reads a journal this way).
///
/// # Errors
/// The journal cannot be opened or read, a match is malformed, or this
/// build has no journal support.
pub fn read_all(
    opts: &JournalOptions,
    journalmatch: &[String],
) -> Result<Vec<JournalLine>, JournalError> {
    #[cfg(feature = "systemd")]
    {
        let mut r = JournalReader::open(opts)?;
        if !journalmatch.is_empty() {
            r.add_matches(journalmatch)?;
        }
        let mut out = Vec::new();
        while let Some(l) = r.next_line()? {
            out.push(l);
        }
        Ok(out)
    }
    #[cfg(not(feature = "systemd"))]
    {
        let _ = (opts, journalmatch);
        Err(JournalError::Unsupported)
    }
}

#[cfg(feature = "systemd")]
pub use reader::JournalReader;

#[cfg(feature = "systemd")]
mod reader;
#[cfg(feature = "systemd")]
mod sd;

#[cfg(test)]
mod tests;
