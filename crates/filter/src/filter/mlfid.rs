//! Multi-line failure ids (`<F-MLFID>`): merging a failure with what the
//! same connection id said before (fail2ban: `Filter._mergeFailure`).
//!
//! The cached data is shared with the failure being built, as the Python
//! dict is: later changes (pending flag, `ip`) reach the cache too. The
//! failures handed out share it copy-on-write (`Arc`): a later line of
//! the same id copies the entry only if one of them is still alive.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use super::{FailData, Filter, MLFID_CACHE_MAX};
use crate::failregex::{Groups, TupleLine};
use crate::text::Text;

/// The `mlfid` cache: at most [`MLFID_CACHE_MAX`] entries, so flooding
/// one hash bucket cannot cost much; a word-at-a-time multiplicative hash
/// beats SipHash (and byte-wise FNV) on these ~20-byte keys.
pub(super) type MlfidCache = HashMap<Text, Arc<FailData>, BuildHasherDefault<WordHash>>;

/// A multiply-rotate hash over 8-byte words (FxHash's step).
#[derive(Default)]
pub(super) struct WordHash(u64);

impl WordHash {
    const K: u64 = 0x517c_c1b7_2722_0a95;

    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(WordHash::K);
    }
}

impl Hasher for WordHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_u8(&mut self, b: u8) {
        self.add(u64::from(b));
    }
}

impl Filter {
    /// Merges a failure with the cached data of its multi-line id
    /// (fail2ban: `_mergeFailure`). Returns the merged data and whether it
    /// is (still) the cache's entry: changes the caller makes later go
    /// through the cache, as they reach the shared dict in Python.
    pub(super) fn merge_failure(
        &mut self,
        mlfid: &Text,
        groups: Groups,
        matched: Vec<TupleLine>,
    ) -> (Arc<FailData>, bool) {
        let mut fail = FailData {
            groups,
            ..FailData::default()
        };
        let mut nf: u8 = 0;
        if fail.truthy("mlfgained") {
            nf |= 8 | 1;
            if !fail.truthy("nofail") {
                let g = fail.get("mlfgained").clone();
                fail.groups.set("nofail", g);
            }
        } else if fail.truthy("nofail") {
            nf |= 1;
        }
        if fail.pop_truthy("mlfforget") {
            nf |= 2;
        }
        let user = fail.get("user").as_text().cloned();
        if let Some(entry) = self.mlfid_cache.get_mut(mlfid.as_str()) {
            // Copied only if a failure handed out earlier still holds it.
            let c = Arc::make_mut(entry);
            let users = c.update_users(user);
            if c.pop_truthy("nofail") {
                nf |= 4;
            }
            if c.pop_truthy("mlfgained") {
                nf |= 4;
            }
            if nf & 8 != 0 {
                c.mlfpending = false;
            }
            if nf & 4 == 0 && !c.mlfpending {
                c.matches = None;
            }
            c.groups.update_some(fail.groups);
            finish_merge(c, users, nf, matched);
            let rc = entry.clone();
            if nf & 2 != 0 {
                self.mlfid_cache.remove(mlfid.as_str());
                self.mlfid_order.retain(|k| k != mlfid);
                return (rc, false);
            }
            return (rc, true);
        }
        if nf & 2 != 0 {
            finish_merge(&mut fail, None, nf, matched);
            return (Arc::new(fail), false);
        }
        let users = fail.update_users(user);
        finish_merge(&mut fail, users, nf, matched);
        let rc = Arc::new(fail);
        self.mlfid_cache.insert(mlfid.clone(), rc.clone());
        self.mlfid_order.push_back(mlfid.clone());
        // Oldest entries go first once the cache is full
        // (fail2ban: `Utils.Cache(maxCount=100)`).
        while self.mlfid_order.len() > MLFID_CACHE_MAX {
            if let Some(old) = self.mlfid_order.pop_front() {
                self.mlfid_cache.remove(old.as_str());
            }
        }
        (rc, true)
    }
}

/// The end of `_mergeFailure`: the pending flag, `nofail` with several
/// users, and which matched lines the failure carries.
fn finish_merge(f: &mut FailData, users: Option<usize>, mut nf: u8, matched: Vec<TupleLine>) {
    let pending = std::mem::take(&mut f.mlfpending);
    if pending || users.is_some_and(|n| n > 1) {
        f.groups.remove("nofail");
        f.groups.remove("mlfgained");
        nf &= !(8 | 1);
    }
    if nf & 1 == 0 {
        let mut m = f.nofail_matches.take().unwrap_or_default();
        m.extend(f.matches.take().unwrap_or_default());
        if nf & 8 == 0 {
            m.extend(matched);
        }
        f.matches = Some(m);
    } else if nf & 3 == 1 {
        let mut m = f.nofail_matches.take().unwrap_or_default();
        m.extend(matched);
        f.nofail_matches = Some(m);
    }
}
