//! Which failregexes can match a one-line buffer, by its first byte: a
//! regex whose anchored prefix starts with another byte is not even called
//! (no fail2ban counterpart: a pure speed-up, verdicts unchanged).

use crate::failregex::Regex;

/// For each first byte of a buffer (256: empty buffer), the failregexes
/// that can match it, in order: those whose prefix starts with that byte
/// and those with no known first byte. One list per distinct first byte
/// plus one for all other bytes, so it stays small with many regexes.
#[derive(Debug)]
pub(super) struct FirstByte {
    list_of: Box<[u16; 257]>,
    lists: Vec<Box<[usize]>>,
}

impl FirstByte {
    pub(super) fn new(fail: &[Regex]) -> FirstByte {
        let first: Vec<Option<u8>> = fail.iter().map(Regex::first_byte).collect();
        let for_byte = |b: Option<u8>| -> Box<[usize]> {
            (0..fail.len())
                .filter(|&i| first[i].is_none() || first[i] == b)
                .collect()
        };
        let mut list_of = Box::new([0u16; 257]);
        let mut lists = vec![for_byte(None)];
        let mut bytes: Vec<u8> = first.iter().flatten().copied().collect();
        bytes.sort_unstable();
        bytes.dedup();
        for b in bytes {
            list_of[usize::from(b)] = lists.len() as u16;
            lists.push(for_byte(Some(b)));
        }
        FirstByte { list_of, lists }
    }

    /// The failregexes (indexes, in order) to try on `buf`.
    pub(super) fn candidates(&self, buf: &str) -> &[usize] {
        let b = buf.as_bytes().first().map_or(256, |&b| usize::from(b));
        &self.lists[usize::from(self.list_of[b])]
    }
}
