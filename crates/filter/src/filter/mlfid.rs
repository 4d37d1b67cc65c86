//! Multi-line failure ids (`<F-MLFID>`): merging a failure with what the
//! same connection id said before (fail2ban: `Filter._mergeFailure`).
//!
//! The cached data is shared with the failure being built, as the Python
//! dict is: later changes (pending flag, `ip`) reach the cache too.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex};

use super::{FailData, Filter, MLFID_CACHE_MAX};
use crate::failregex::{GroupValue, Groups, TupleLine};

/// The `mlfid` cache: at most [`MLFID_CACHE_MAX`] entries, so flooding
/// one hash bucket cannot cost much; a short FNV-1a hash beats SipHash on
/// these ~20-byte keys.
pub(super) type MlfidCache = HashMap<Arc<str>, Arc<Mutex<FailData>>, BuildHasherDefault<Fnv>>;

/// FNV-1a, 64 bit.
pub(super) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

impl Filter {
    /// Merges a failure with the cached data of its multi-line id
    /// (fail2ban: `_mergeFailure`; the cached dict is shared, as in Python).
    pub(super) fn merge_failure(
        &mut self,
        mlfid: &Arc<str>,
        groups: Groups,
        matched: Vec<TupleLine>,
    ) -> Arc<Mutex<FailData>> {
        let mut fail = FailData {
            groups,
            ..FailData::default()
        };
        let cached = self.mlfid_cache.get(&**mlfid).cloned();
        let mut nf: u8 = 0;
        if fail.truthy("mlfgained") {
            nf |= 8 | 1;
            if !fail.truthy("nofail") {
                let g = fail.get("mlfgained").clone();
                fail.groups.insert("nofail", g);
            }
        } else if fail.truthy("nofail") {
            nf |= 1;
        }
        if fail.pop_truthy("mlfforget") {
            nf |= 2;
        }
        let users;
        let rc = match cached {
            Some(rc) => {
                {
                    let mut c = rc.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    users = c.update_users(fail.text("user").map(str::to_string));
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
                    for (k, v) in fail.groups.iter() {
                        if *v != GroupValue::None {
                            c.groups.insert(k, v.clone());
                        }
                    }
                }
                if nf & 2 != 0 {
                    self.mlfid_cache.remove(&**mlfid);
                    self.mlfid_order.retain(|k| k != mlfid);
                }
                rc
            }
            None => {
                if nf & 2 == 0 {
                    users = fail.update_users(fail.text("user").map(str::to_string));
                    let rc = Arc::new(Mutex::new(fail));
                    self.mlfid_cache.insert(mlfid.clone(), rc.clone());
                    self.mlfid_order.push_back(mlfid.clone());
                    // Oldest entries go first once the cache is full
                    // (fail2ban: `Utils.Cache(maxCount=100)`).
                    while self.mlfid_order.len() > MLFID_CACHE_MAX {
                        if let Some(old) = self.mlfid_order.pop_front() {
                            self.mlfid_cache.remove(&old);
                        }
                    }
                    rc
                } else {
                    users = None;
                    Arc::new(Mutex::new(fail))
                }
            }
        };
        {
            let mut f = rc.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
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
        rc
    }
}
