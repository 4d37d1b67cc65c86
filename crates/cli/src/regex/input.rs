//! Reading the log: line decoding per `-e/--encoding`, and the progress
//! shown on a terminal while a large log is read.

use std::io::{IsTerminal, Read, Write};
use std::time::{Duration, Instant};

/// Whether LOG was meant as a path (a missing file is then worth a warning).
pub fn looks_like_path(s: &str) -> bool {
    !s.contains(' ') && (s.starts_with('/') || s.starts_with("./")) && !s.contains('\n')
}

/// Splits a log into lines in place: one read buffer, lines handed out as
/// slices of it (no copy per line, as `BufRead::read_until` makes), found
/// with a SIMD `memchr`.
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
}

impl<R: Read> LineReader<R> {
    pub fn new(inner: R) -> LineReader<R> {
        LineReader {
            inner,
            buf: vec![0; 1 << 16],
            start: 0,
            end: 0,
            eof: false,
        }
    }

    /// The next line with its `\n`; the last line may lack one.
    pub fn next_line(&mut self) -> std::io::Result<Option<&[u8]>> {
        let mut scanned = 0;
        let (s, e) = loop {
            let from = self.start + scanned;
            if let Some(p) = memchr::memchr(b'\n', &self.buf[from..self.end]) {
                let s = self.start;
                self.start = from + p + 1;
                break (s, self.start);
            }
            scanned = self.end - self.start;
            if self.eof {
                if self.start == self.end {
                    return Ok(None);
                }
                let s = self.start;
                self.start = self.end;
                break (s, self.end);
            }
            // Keep the partial line, at the front; a line longer than the
            // buffer grows it.
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                self.buf.resize(self.buf.len() * 2, 0);
            }
            let n = loop {
                match self.inner.read(&mut self.buf[self.end..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            };
            if n == 0 {
                self.eof = true;
            }
            self.end += n;
        };
        Ok(Some(&self.buf[s..e]))
    }
}

/// Line decoding per `-e/--encoding` (fail2ban: `FileContainer.decode_line`).
pub enum Decoder {
    Utf8,
    Latin1,
}

impl Decoder {
    pub fn new(enc: &str) -> Option<Decoder> {
        match enc.to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" | "auto" | "ascii" | "us-ascii" => Some(Decoder::Utf8),
            "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "l1" => Some(Decoder::Latin1),
            _ => None,
        }
    }

    /// The text, and whether invalid bytes were replaced.
    pub fn decode<'b>(&self, b: &'b [u8]) -> (std::borrow::Cow<'b, str>, bool) {
        match self {
            Decoder::Utf8 => match std::str::from_utf8(b) {
                Ok(s) => (std::borrow::Cow::Borrowed(s), false),
                Err(_) => (String::from_utf8_lossy(b), true),
            },
            Decoder::Latin1 => (b.iter().map(|&c| c as char).collect(), false),
        }
    }
}

/// Logs smaller than this are read too fast for a progress bar to help.
const PROGRESS_MIN_SIZE: u64 = 1 << 20;
/// Nothing is drawn for a run shorter than this, so quick runs never flicker.
const PROGRESS_DELAY: Duration = Duration::from_millis(300);
/// Redraw interval.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// A progress bar on stderr while a large log file is read, shown only when
/// stderr is a terminal (and never on stdout, which carries the report).
pub struct Progress {
    size: u64,
    on: bool,
    start: Instant,
    next: Instant,
    lines: u64,
    drawn: bool,
}

impl Progress {
    /// A bar for a log of `size` bytes; `allowed` is false when stdout output
    /// would interleave with it on the same terminal (`--out` to a terminal).
    pub fn new(size: u64, allowed: bool) -> Progress {
        let start = Instant::now();
        // For tests, which cannot make a machine slow on purpose.
        let delay = std::env::var("IRONBAN_PROGRESS_DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(PROGRESS_DELAY, Duration::from_millis);
        Progress {
            size,
            on: allowed && size >= PROGRESS_MIN_SIZE && std::io::stderr().is_terminal(),
            start,
            next: start + delay,
            lines: 0,
            drawn: false,
        }
    }

    /// One more line read; `done` bytes of the log read so far.
    pub fn tick(&mut self, done: u64) {
        if !self.on {
            return;
        }
        self.lines += 1;
        // Looking at the clock costs more than a line: every 1024 lines only.
        if !self.lines.is_multiple_of(1024) {
            return;
        }
        let now = Instant::now();
        if now < self.next {
            return;
        }
        self.next = now + PROGRESS_EVERY;
        let bar = render(done, self.size, self.lines, now - self.start);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{bar}\x1b[K");
        let _ = err.flush();
        self.drawn = true;
    }

    /// Clears the bar, leaving the terminal as it was (before a message on
    /// stderr, and at the end; the next tick draws it again).
    pub fn finish(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
            self.drawn = false;
        }
    }
}

/// One frame of the bar, at most 79 columns:
/// `[=========>          ]  45%   120.3/266.0 MB   1234567 lines  ETA 0:03`.
pub fn render(done: u64, size: u64, lines: u64, elapsed: Duration) -> String {
    const WIDTH: u64 = 24;
    let size = size.max(1);
    let done = done.min(size);
    let frac = |scale: u64| (u128::from(done) * u128::from(scale) / u128::from(size)) as u64;
    let filled = frac(WIDTH);
    let mut bar = "=".repeat(filled as usize);
    if filled < WIDTH {
        bar.push('>');
        bar.push_str(&" ".repeat((WIDTH - filled - 1) as usize));
    }
    let mb = |b: u64| b as f64 / (1 << 20) as f64;
    let secs = elapsed.as_secs_f64();
    let eta = if done > 0 && secs > 0.0 {
        let left = (size - done) as f64 * secs / done as f64;
        let left = left.round() as u64;
        format!("ETA {}:{:02}", left / 60, left % 60)
    } else {
        "ETA -:--".to_string()
    };
    format!(
        "[{bar}] {:3}% {:7.1}/{:.1} MB {lines:9} lines  {eta}",
        frac(100),
        mb(done),
        mb(size),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_fills_with_the_bytes_read_and_fits_80_columns() {
        let mb = 1 << 20;
        let half = render(50 * mb, 100 * mb, 1_000_000, Duration::from_secs(10));
        assert!(
            half.starts_with("[============>           ]  50%"),
            "{half}"
        );
        assert!(half.contains("50.0/100.0 MB"), "{half}");
        assert!(half.contains("1000000 lines"), "{half}");
        assert!(half.ends_with("ETA 0:10"), "{half}");
        let full = render(100 * mb, 100 * mb, 2_000_000, Duration::from_secs(20));
        assert!(
            full.starts_with("[========================] 100%"),
            "{full}"
        );
        assert!(full.ends_with("ETA 0:00"), "{full}");
        let none = render(0, 100 * mb, 0, Duration::ZERO);
        assert!(
            none.starts_with("[>                       ]   0%"),
            "{none}"
        );
        assert!(none.ends_with("ETA -:--"), "{none}");
        let huge = render(
            u64::MAX / 2,
            u64::MAX,
            u64::MAX,
            Duration::from_secs(999_999),
        );
        for s in [&half, &full, &none] {
            assert!(s.chars().count() < 80, "{s}");
        }
        assert!(huge.contains('%'));
    }
}
