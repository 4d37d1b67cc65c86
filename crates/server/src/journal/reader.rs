//! An open journal, read entry by entry through libsystemd (`sd.rs`)
//! (fail2ban: `filtersystemd.py` with python-systemd's `journal.Reader`).

use std::collections::BTreeMap;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr;

use super::sd::{self, check, Sd};
use super::{entry_time, format_entry, match_groups, JournalError, JournalLine, JournalOptions};

fn sd_err(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> JournalError {
    let action = action.into();
    move |source| JournalError::Sd { action, source }
}

/// A string for libsystemd; an inner NUL is refused as `EINVAL`, as
/// libsystemd would refuse the truncated value.
fn cstr(s: &str) -> std::io::Result<CString> {
    CString::new(s).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))
}

/// An open journal with a jail's matches applied. Not `Send` (it holds
/// libsystemd's raw handle): keep it on the thread that opened it.
pub struct JournalReader {
    sd: &'static Sd,
    j: sd::Journal,
}

impl Drop for JournalReader {
    fn drop(&mut self) {
        // SAFETY: `j` came from a successful sd_journal_open* and is closed once.
        unsafe { (self.sd.close)(self.j) }
    }
}

impl JournalReader {
    /// Opens the journal as fail2ban does: the given files or directory,
    /// else the system journal with `journalflags` (default 4, system only).
    ///
    /// # Errors
    /// libsystemd cannot be loaded ([`JournalError::Load`]) or refuses.
    pub fn open(opts: &JournalOptions) -> Result<JournalReader, JournalError> {
        let sd = sd::get()?;
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
        let mut j: sd::Journal = ptr::null_mut();
        if !files.is_empty() {
            let action = format!("opening files {}", files.join(" "));
            let c: Vec<CString> = files
                .iter()
                .map(|f| cstr(f))
                .collect::<Result<_, _>>()
                .map_err(sd_err(action.clone()))?;
            let mut ptrs: Vec<*const c_char> = c.iter().map(|s| s.as_ptr()).collect();
            ptrs.push(ptr::null());
            // SAFETY: a NULL-terminated array of valid C strings, alive for the call.
            check(unsafe { (sd.open_files)(&mut j, ptrs.as_ptr(), extra) })
                .map_err(sd_err(action))?;
        } else if let Some(dir) = &opts.path {
            let action = format!("opening directory {}", dir.display());
            let c = cstr(&dir.to_string_lossy()).map_err(sd_err(action.clone()))?;
            // SAFETY: a valid C string, alive for the call.
            check(unsafe { (sd.open_directory)(&mut j, c.as_ptr(), extra) })
                .map_err(sd_err(action))?;
        } else {
            let flags = opts.flags.unwrap_or(4);
            // SAFETY: `j` is a valid out pointer.
            check(unsafe { (sd.open)(&mut j, flags) })
                .map_err(sd_err("opening the system journal"))?;
        }
        Ok(JournalReader { sd, j })
    }

    /// Adds a jail's `journalmatch` (OR-groups of ANDed terms).
    ///
    /// # Errors
    /// A malformed element, or libsystemd refuses a term.
    pub fn add_matches(&mut self, elements: &[String]) -> Result<(), JournalError> {
        for (i, group) in match_groups(elements)?.iter().enumerate() {
            if i > 0 {
                // SAFETY: `j` is open.
                check(unsafe { (self.sd.add_disjunction)(self.j) })
                    .map_err(sd_err("adding journalmatch"))?;
            }
            for (k, v) in group {
                let term = format!("{k}={v}");
                // SAFETY: pointer and length of a live buffer.
                check(unsafe {
                    (self.sd.add_match)(self.j, term.as_ptr().cast::<c_void>(), term.len())
                })
                .map_err(sd_err(format!("adding journalmatch {term}")))?;
            }
        }
        Ok(())
    }

    /// Positions before the first entry at or after `time` (seconds).
    ///
    /// # Errors
    /// libsystemd refuses.
    pub fn seek_time(&mut self, time: f64) -> Result<(), JournalError> {
        let usec = (time.max(0.0) * 1e6) as u64;
        // SAFETY: `j` is open.
        check(unsafe { (self.sd.seek_realtime_usec)(self.j, usec) })
            .map(|_| ())
            .map_err(sd_err("seeking to a time"))
    }

    /// Positions at the end: only entries written from now on are read.
    ///
    /// # Errors
    /// libsystemd refuses.
    pub fn seek_tail(&mut self) -> Result<(), JournalError> {
        // SAFETY: `j` is open.
        check(unsafe { (self.sd.seek_tail)(self.j) }).map_err(sd_err("seeking to the end"))?;
        // Step back onto the last entry, so the next read is the first new one.
        self.step(self.sd.previous, "seeking to the end")?;
        Ok(())
    }

    /// Positions just after the entry with `cursor` (a restart resumes there).
    ///
    /// # Errors
    /// libsystemd refuses the cursor or cannot read.
    pub fn seek_after_cursor(&mut self, cursor: &str) -> Result<(), JournalError> {
        let c = cstr(cursor).map_err(sd_err("seeking to the saved cursor"))?;
        // SAFETY: `j` is open, `c` a valid C string.
        check(unsafe { (self.sd.seek_cursor)(self.j, c.as_ptr()) })
            .map_err(sd_err("seeking to the saved cursor"))?;
        let (sd, j) = (self.sd, self.j);
        // SAFETY: as above.
        let on_cursor = || check(unsafe { (sd.test_cursor)(j, c.as_ptr()) });
        if self.step(self.sd.next, "reading")? > 0 && !matches!(on_cursor(), Ok(n) if n > 0) {
            // The cursor's entry is gone (vacuumed): we stand on the next
            // one, which must still be read.
            self.step(self.sd.previous, "reading")?;
        }
        Ok(())
    }

    fn step(
        &mut self,
        f: unsafe extern "C" fn(sd::Journal) -> c_int,
        action: &str,
    ) -> Result<c_int, JournalError> {
        // SAFETY: `j` is open; `f` is sd_journal_next or _previous.
        check(unsafe { f(self.j) }).map_err(sd_err(action))
    }

    /// The next entry, rendered, or `None` at the end for now.
    ///
    /// # Errors
    /// libsystemd cannot read the entry.
    pub fn next_line(&mut self) -> Result<Option<JournalLine>, JournalError> {
        if self.step(self.sd.next, "reading the next entry")? == 0 {
            return Ok(None);
        }
        let mut fields: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        // SAFETY: `j` is open and positioned on an entry.
        unsafe { (self.sd.restart_data)(self.j) };
        loop {
            let mut data: *const c_void = ptr::null();
            let mut len: usize = 0;
            // SAFETY: valid out pointers; the data stays valid until the next
            // enumerate call, and is copied before it.
            let r = check(unsafe { (self.sd.enumerate_data)(self.j, &mut data, &mut len) })
                .map_err(sd_err("reading entry data"))?;
            if r == 0 || data.is_null() {
                break;
            }
            // SAFETY: libsystemd returned `len` readable bytes at `data`.
            let field = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) };
            let (name, value) = match field.iter().position(|&b| b == b'=') {
                Some(i) => (&field[..i], &field[i + 1..]),
                None => (field, &[][..]),
            };
            let name = String::from_utf8_lossy(name).into_owned();
            // A field repeated in one entry (rare; MESSAGE may be) joins with spaces.
            fields
                .entry(name)
                .and_modify(|v| {
                    v.push(b' ');
                    v.extend_from_slice(value)
                })
                .or_insert_with(|| value.to_vec());
        }
        let mut realtime = 0u64;
        // SAFETY: valid out pointer.
        check(unsafe { (self.sd.get_realtime_usec)(self.j, &mut realtime) })
            .map_err(sd_err("reading entry time"))?;
        let mut mono = 0u64;
        let mut boot = [0u8; 16];
        // SAFETY: valid out pointers (sd_id128_t is 16 bytes).
        if check(unsafe { (self.sd.get_monotonic_usec)(self.j, &mut mono, &mut boot) }).is_err() {
            mono = 0;
        }
        let cursor = self.cursor().map_err(sd_err("reading entry cursor"))?;
        Ok(Some(JournalLine {
            line: format_entry(&fields, mono),
            time: entry_time(&fields, realtime),
            cursor,
        }))
    }

    fn cursor(&self) -> std::io::Result<String> {
        let mut c: *mut c_char = ptr::null_mut();
        // SAFETY: valid out pointer; on success `c` is a malloc'd C string we free.
        check(unsafe { (self.sd.get_cursor)(self.j, &mut c) })?;
        if c.is_null() {
            return Ok(String::new());
        }
        // SAFETY: non-null, NUL-terminated, owned by us from here.
        let s = unsafe { CStr::from_ptr(c) }.to_string_lossy().into_owned();
        // SAFETY: allocated by libsystemd with malloc.
        unsafe { libc::free(c.cast()) };
        Ok(s)
    }

    /// Waits up to `timeout` for new entries; true when something changed.
    ///
    /// # Errors
    /// libsystemd cannot wait.
    pub fn wait(&mut self, timeout: std::time::Duration) -> Result<bool, JournalError> {
        let usec = u64::try_from(timeout.as_micros()).unwrap_or(u64::MAX);
        // SAFETY: `j` is open.
        let r = check(unsafe { (self.sd.wait)(self.j, usec) }).map_err(sd_err("waiting"))?;
        // SD_JOURNAL_NOP is 0; APPEND 1, INVALIDATE 2.
        Ok(r != 0)
    }
}
