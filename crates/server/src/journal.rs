//! The systemd journal as a log source: `backend = systemd`
//! (fail2ban: `server/filtersystemd.py`).
//!
//! Reads through libsystemd (the `systemd` crate). The reader is not `Send`:
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
mod reader {
    use super::*;
    use systemd::journal::{self, JournalWaitResult};

    fn sd(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> JournalError {
        let action = action.into();
        move |source| JournalError::Sd { action, source }
    }

    /// An open journal with a jail's matches applied. Not `Send`: keep it on
    /// the thread that opened it.
    pub struct JournalReader {
        j: journal::Journal,
    }

    impl JournalReader {
        /// Opens the journal as fail2ban does: the given files or directory,
        /// else the system journal with `journalflags` (default 4, system only).
        pub fn open(opts: &JournalOptions) -> Result<JournalReader, JournalError> {
            let mut files: Vec<String> = Vec::new();
            for pat in &opts.files {
                match glob::glob(pat) {
                    Ok(paths) => files.extend(
                        paths
                            .filter_map(Result::ok)
                            .map(|p| p.to_string_lossy().into_owned()),
                    ),
                    Err(_) => files.push(pat.clone()),
                }
            }
            files.sort();
            files.dedup();
            let extra = opts.flags.unwrap_or(0);
            let j = if !files.is_empty() {
                journal::OpenFilesOptions::default()
                    .extra_raw_flags(extra)
                    .open_files(files.iter().map(|f| f.as_str()))
                    .map_err(sd(format!("opening files {}", files.join(" "))))?
            } else if let Some(dir) = &opts.path {
                journal::OpenDirectoryOptions::default()
                    .extra_raw_flags(extra)
                    .open_directory(dir.to_string_lossy().as_ref())
                    .map_err(sd(format!("opening directory {}", dir.display())))?
            } else {
                let flags = opts.flags.unwrap_or(4);
                journal::OpenOptions::default()
                    .extra_raw_flags(flags)
                    .open()
                    .map_err(sd("opening the system journal"))?
            };
            Ok(JournalReader { j })
        }

        /// Adds a jail's `journalmatch` (OR-groups of ANDed terms).
        pub fn add_matches(&mut self, elements: &[String]) -> Result<(), JournalError> {
            for (i, group) in match_groups(elements)?.iter().enumerate() {
                if i > 0 {
                    self.j.match_or().map_err(sd("adding journalmatch"))?;
                }
                for (k, v) in group {
                    self.j
                        .match_add(k, v.as_bytes())
                        .map_err(sd(format!("adding journalmatch {k}={v}")))?;
                }
            }
            Ok(())
        }

        /// Positions before the first entry at or after `time` (seconds).
        pub fn seek_time(&mut self, time: f64) -> Result<(), JournalError> {
            let usec = (time.max(0.0) * 1e6) as u64;
            self.j
                .seek_realtime_usec(usec)
                .map_err(sd("seeking to a time"))
        }

        /// Positions at the end: only entries written from now on are read.
        pub fn seek_tail(&mut self) -> Result<(), JournalError> {
            self.j.seek_tail().map_err(sd("seeking to the end"))?;
            // Step back onto the last entry, so the next read is the first new one.
            self.j.previous().map_err(sd("seeking to the end"))?;
            Ok(())
        }

        /// Positions just after the entry with `cursor` (a restart resumes there).
        pub fn seek_after_cursor(&mut self, cursor: &str) -> Result<(), JournalError> {
            self.j
                .seek_cursor(cursor)
                .map_err(sd("seeking to the saved cursor"))?;
            if self.j.next().map_err(sd("reading"))? > 0
                && !self.j.test_cursor(cursor).unwrap_or(false)
            {
                // The cursor's entry is gone (vacuumed): we stand on the next
                // one, which must still be read.
                self.j.previous().map_err(sd("reading"))?;
            }
            Ok(())
        }

        /// The next entry, rendered, or `None` at the end for now.
        pub fn next_line(&mut self) -> Result<Option<JournalLine>, JournalError> {
            if self.j.next().map_err(sd("reading the next entry"))? == 0 {
                return Ok(None);
            }
            let mut fields: BTreeMap<String, Vec<u8>> = BTreeMap::new();
            self.j.restart_data();
            while let Some(f) = self.j.enumerate_data().map_err(sd("reading entry data"))? {
                let name = String::from_utf8_lossy(f.name()).into_owned();
                let value = f.value().unwrap_or_default().to_vec();
                // A field repeated in one entry (rare; MESSAGE may be) joins with spaces.
                fields
                    .entry(name)
                    .and_modify(|v| {
                        v.push(b' ');
                        v.extend_from_slice(&value)
                    })
                    .or_insert(value);
            }
            let realtime = self.j.timestamp_usec().map_err(sd("reading entry time"))?;
            let mono = self.j.monotonic_timestamp().map(|(m, _)| m).unwrap_or(0);
            let cursor = self.j.cursor().map_err(sd("reading entry cursor"))?;
            Ok(Some(JournalLine {
                line: format_entry(&fields, mono),
                time: entry_time(&fields, realtime),
                cursor,
            }))
        }

        /// Waits up to `timeout` for new entries; true when something changed.
        pub fn wait(&mut self, timeout: std::time::Duration) -> Result<bool, JournalError> {
            let r = self.j.wait(Some(timeout)).map_err(sd("waiting"))?;
            Ok(!matches!(r, JournalWaitResult::Nop))
        }
    }
}

#[cfg(test)]
mod tests;
