//! Compiled-pattern cache: one compiled (and JIT-compiled) regex per distinct
//! pattern text and flags, shared by every user in the process.
//!
//! Fifty jails with `filter = sshd` expand to the same ~30 regexes; without
//! sharing, each jail compiles and JITs them again (and the server compiles
//! them once more when it validates `set <jail> addfailregex`), which is
//! most of a multi-jail start and several MB of JIT code. Python's `re`
//! keeps a similar cache (`re._cache`), so fail2ban pays this once too.
//!
//! Like `re._cache`, it is bounded: an entry that no pattern uses any more
//! (the server's validating compile at `set`, a filter dropped at a reload)
//! stays until the map has doubled since the last sweep, then goes, so the
//! jails' start right after `set` finds what the validation compiled, and
//! a server reloaded many times holds at most about twice what it uses
//! (and up to 64 entries before sweeping at all). Only successful
//! compilations are kept; an invalid pattern is compiled (and fails) anew
//! each time, with its own error.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// A process-wide map from a key (pattern text and flags) to the shared
/// compiled value.
pub(crate) struct Cache<K, T> {
    inner: Mutex<Inner<K, T>>,
}

struct Inner<K, T> {
    map: HashMap<K, Arc<T>>,
    /// Map size at which unused entries are swept next.
    sweep_at: usize,
}

/// Smallest map size worth sweeping.
const SWEEP_MIN: usize = 64;

impl<K: Hash + Eq, T> Cache<K, T> {
    /// An empty cache (usable in a `static`).
    pub(crate) fn new() -> Cache<K, T> {
        Cache {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                sweep_at: SWEEP_MIN,
            }),
        }
    }

    /// The value cached for `key`, or the one `build` makes (then cached).
    ///
    /// The lock is held while `build` runs, so threads asking for the same
    /// pattern at once compile it once; different patterns wait for each
    /// other, which costs nothing on the start-up path where this matters.
    ///
    /// # Errors
    /// Whatever `build` returns; errors are not cached.
    pub(crate) fn get_or_build<E>(
        &self,
        key: K,
        build: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        // A panic in another thread's `build` left the map itself intact.
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = inner.map.get(&key) {
            return Ok(Arc::clone(v));
        }
        let v = Arc::new(build()?);
        if inner.map.len() >= inner.sweep_at {
            // Only the map holds these: nothing uses them any more.
            inner.map.retain(|_, v| Arc::strong_count(v) > 1);
            inner.sweep_at = (inner.map.len() * 2).max(SWEEP_MIN);
        }
        inner.map.insert(key, Arc::clone(&v));
        Ok(v)
    }

    /// Number of entries held (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn same_key_builds_once_and_shares() {
        let c: Cache<&str, String> = Cache::new();
        let built = Cell::new(0);
        let build = || {
            built.set(built.get() + 1);
            Ok::<_, ()>("x".to_string())
        };
        let a = c.get_or_build("k", build).unwrap();
        let b = c.get_or_build("k", build).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(built.get(), 1);
    }

    #[test]
    fn unused_entry_outlives_its_user_until_a_sweep() {
        let c: Cache<usize, usize> = Cache::new();
        drop(c.get_or_build(0, || Ok::<_, ()>(0)).unwrap());
        // The validating compile is gone; the jail's compile finds it.
        let built = Cell::new(false);
        let _again = c
            .get_or_build(0, || {
                built.set(true);
                Ok::<_, ()>(0)
            })
            .unwrap();
        assert!(!built.get());
    }

    #[test]
    fn errors_are_not_cached() {
        let c: Cache<&str, String> = Cache::new();
        assert!(c.get_or_build("k", || Err::<String, _>("bad")).is_err());
        assert!(c.get_or_build("k", || Ok::<_, &str>("ok".into())).is_ok());
    }

    #[test]
    fn unused_entries_are_swept_used_ones_kept() {
        let c: Cache<usize, usize> = Cache::new();
        let kept: Vec<_> = (0..100)
            .map(|i| c.get_or_build(i, || Ok::<_, ()>(i)).unwrap())
            .collect();
        for i in 100..10_000 {
            drop(c.get_or_build(i, || Ok::<_, ()>(i)).unwrap());
        }
        assert!(c.len() <= 2 * (kept.len() + SWEEP_MIN), "{}", c.len());
        for (i, k) in kept.iter().enumerate() {
            let again = c.get_or_build(i, || Ok::<_, ()>(usize::MAX)).unwrap();
            assert!(Arc::ptr_eq(k, &again), "entry {i} in use was swept");
        }
    }
}
