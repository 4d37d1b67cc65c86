//! One followed log file: position, rotation, complete lines
//! (fail2ban: `server/filter.py` `FileContainer`).
//!
//! Rotation is recognised as fail2ban does: the inode changed (rename and
//! create), the file is shorter than our position (copytruncate, or a log
//! that shrank), or the first line's MD5 differs (the file was replaced
//! with one of the same size or longer; checked whenever the file grew,
//! where fail2ban checks only every 30 s). Then reading starts again at 0.
//! Only complete lines are returned: a line still being written stays in
//! the file until its newline arrives, so no failure is cut in two.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Longest line kept whole; the rest of a longer line is skipped (and
/// reported), so one hostile line cannot take the daemon's memory.
pub const MAX_LINE: usize = 1 << 20;

/// How often the first line's hash is re-checked even without other signs
/// of rotation (fail2ban: 30 s).
const HASH_RECHECK: Duration = Duration::from_secs(30);

/// A log file being followed.
#[derive(Debug)]
pub struct FileContainer {
    path: PathBuf,
    pos: u64,
    ino: u64,
    hash: String,
    hash_next: Instant,
    /// Lines cut at [`MAX_LINE`] so far.
    pub truncated_lines: u64,
    /// Rotations noticed so far.
    pub rotations: u64,
    /// The file was missing at the last read: whatever appears there next
    /// is a new file, even if the filesystem reused the inode.
    vanished: bool,
}

/// What one read found.
#[derive(Debug, Default)]
pub struct ReadResult {
    /// Complete lines, without their `\n` / `\r\n`.
    pub lines: Vec<Vec<u8>>,
    /// Whether a rotation was noticed before reading.
    pub rotated: bool,
}

impl FileContainer {
    /// Starts following `path`: from the beginning, or from its end with
    /// `tail` (fail2ban's `head`/`tail` on `addlogpath`).
    pub fn open(path: &Path, tail: bool) -> io::Result<FileContainer> {
        let mut f = File::open(path)?;
        let meta = f.metadata()?;
        let hash = first_line_md5(&mut f)?.unwrap_or_default();
        Ok(FileContainer {
            path: path.to_path_buf(),
            pos: if tail { meta.len() } else { 0 },
            ino: meta.ino(),
            hash,
            hash_next: Instant::now() + HASH_RECHECK,
            truncated_lines: 0,
            rotations: 0,
            vanished: false,
        })
    }

    /// The file's path as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The byte offset of the next unread line.
    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// Resumes at a position remembered in the database.
    pub fn set_pos(&mut self, pos: u64) {
        self.pos = pos;
    }

    /// MD5 (hex) of the first complete line; empty if there is none yet.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// Reads every complete line added since the last call, at most
    /// `max_lines` (the caller comes back for the rest), following a
    /// rotation if one happened. A file that vanished is an `Err` of kind
    /// `NotFound`; the caller keeps the container and retries later.
    pub fn read_new(&mut self, max_lines: usize) -> io::Result<ReadResult> {
        let mut f = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) => {
                self.vanished |= e.kind() == io::ErrorKind::NotFound;
                return Err(e);
            }
        };
        let meta = f.metadata()?;
        let mut result = ReadResult::default();
        let rotated_by_stat = self.vanished || meta.len() < self.pos || meta.ino() != self.ino;
        self.vanished = false;
        let mut hash = self.hash.clone();
        // fail2ban re-hashes only every 30 s, so a copytruncate whose new
        // lines outgrow the old position before that is read from the old
        // position and its first lines are lost. ironban re-hashes whenever
        // there is something new to read (one short read of the first line).
        let grown = meta.len() > self.pos;
        if rotated_by_stat || grown || self.hash.is_empty() || Instant::now() > self.hash_next {
            hash = first_line_md5(&mut f)?.unwrap_or_default();
            self.hash_next = Instant::now() + HASH_RECHECK;
        }
        if rotated_by_stat || hash != self.hash {
            if !self.hash.is_empty() || rotated_by_stat {
                result.rotated = true;
                self.rotations += 1;
                self.ino = meta.ino();
                self.pos = 0;
            }
            self.hash = hash;
        }
        if meta.len() <= self.pos {
            return Ok(result);
        }
        f.seek(SeekFrom::Start(self.pos))?;
        let mut reader = BufReader::with_capacity(64 * 1024, f);
        let mut buf = Vec::new();
        while result.lines.len() < max_lines {
            buf.clear();
            let (n, complete, cut) = read_line_capped(&mut reader, &mut buf)?;
            if n == 0 || !complete {
                // An incomplete last line waits for its newline.
                break;
            }
            self.pos += n as u64;
            if cut {
                self.truncated_lines += 1;
            }
            while matches!(buf.last(), Some(b'\n') | Some(b'\r')) {
                buf.pop();
            }
            result.lines.push(std::mem::take(&mut buf));
        }
        Ok(result)
    }
}

/// Reads one line into `buf`, keeping at most [`MAX_LINE`] bytes of it.
/// Returns (bytes consumed, ended with newline, was cut).
fn read_line_capped<R: BufRead>(r: &mut R, buf: &mut Vec<u8>) -> io::Result<(usize, bool, bool)> {
    let mut consumed = 0;
    let mut cut = false;
    loop {
        let avail = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            return Ok((consumed, false, cut));
        }
        let (take, done) = match memchr(b'\n', avail) {
            Some(i) => (i + 1, true),
            None => (avail.len(), false),
        };
        let room = MAX_LINE.saturating_sub(buf.len());
        if take > room {
            cut = true;
        }
        buf.extend_from_slice(&avail[..take.min(room)]);
        if done && cut && buf.last() != Some(&b'\n') {
            buf.push(b'\n');
        }
        r.consume(take);
        consumed += take;
        if done {
            return Ok((consumed, true, cut));
        }
    }
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

/// MD5 of the first line if it is complete (fail2ban hashes it with its newline).
fn first_line_md5(f: &mut File) -> io::Result<Option<String>> {
    f.seek(SeekFrom::Start(0))?;
    let mut line = Vec::new();
    let mut r = BufReader::new(f.by_ref().take(MAX_LINE as u64));
    r.read_until(b'\n', &mut line)?;
    if line.last() != Some(&b'\n') {
        return Ok(None);
    }
    Ok(Some(md5_hex(&line)))
}

/// MD5 as lowercase hex. fail2ban keys log positions in its database by
/// this hash, so it must be MD5 exactly.
pub fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests;
