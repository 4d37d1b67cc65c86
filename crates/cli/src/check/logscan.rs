//! Runs a jail's filter over the end of its current log files: a filter
//! that finds nothing where the service has been logging failures is the
//! commonest silent misconfiguration (wrong log, wrong date format, a
//! service version whose messages changed).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use ironban_filter::Filter;

use super::problem::ScanStats;

/// Reads at most the last `max_bytes` of `path` (from the first full line
/// in that window) through `filter`.
pub fn scan(filter: &mut Filter, path: &Path, max_bytes: u64) -> std::io::Result<ScanStats> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    let start = len.saturating_sub(max_bytes);
    f.seek(SeekFrom::Start(start))?;
    let mut r = BufReader::new(f.take(max_bytes));
    let mut stats = ScanStats {
        file: path.display().to_string(),
        bytes: len - start,
        ..ScanStats::default()
    };
    let mut buf = Vec::new();
    if start > 0 {
        // The window starts mid-line: drop the partial line.
        r.read_until(b'\n', &mut buf)?;
        buf.clear();
    }
    let detector_hits = |f: &Filter| {
        f.date_detector()
            .map_or(0, |d| d.templates().iter().map(|t| t.hits).sum::<u64>())
    };
    let hits_before = detector_hits(filter);
    loop {
        buf.clear();
        if r.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        stats.lines += 1;
        stats.failures += filter
            .process_line(line)
            .iter()
            .filter(|f| !f.is_nofail())
            .count() as u64;
    }
    stats.dated = detector_hits(filter) - hits_before;
    Ok(stats)
}
