//! Compiled-pattern cache: one compiled (and JIT-compiled) regex per distinct
//! pattern text and flags, shared by every user in the process.
//!
//! Fifty jails with `filter = sshd` expand to the same ~30 regexes; without
//! sharing, each jail compiles and JITs them again (and the server compiles
//! them once more when it validates `set <jail> addfailregex`), which is
//! most of a multi-jail start and several MB of JIT code. Python's `re`
//! keeps a similar cache (`re._cache`), so fail2ban pays this once too.
//!
//! The cache holds only weak references: an entry lives as long as some
//! [`Pattern`](crate::Pattern) uses it, so patterns dropped at a reload are
//! freed, and dead entries are swept as the map grows. Only successful
//! compilations are kept; an invalid pattern is compiled (and fails) anew
//! each time, with its own error.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, Weak};

/// A process-wide map from a key (pattern text and flags) to the shared
/// compiled value.
pub(crate) struct Cache<K, T> {
    inner: Mutex<Inner<K, T>>,
}

struct Inner<K, T> {
    map: HashMap<K, Weak<T>>,
    /// Map size at which dead entries are swept next.
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
        if let Some(v) = inner.map.get(&key).and_then(Weak::upgrade) {
            return Ok(v);
        }
        let v = Arc::new(build()?);
        inner.map.insert(key, Arc::downgrade(&v));
        if inner.map.len() >= inner.sweep_at {
            inner.map.retain(|_, w| w.strong_count() > 0);
            inner.sweep_at = (inner.map.len() * 2).max(SWEEP_MIN);
        }
        Ok(v)
    }

    /// Number of entries still in use (for tests).
    #[cfg(test)]
    pub(crate) fn live(&self) -> usize {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.map.values().filter(|w| w.strong_count() > 0).count()
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
    fn entry_freed_with_its_last_user() {
        let c: Cache<&str, String> = Cache::new();
        let a = c.get_or_build("k", || Ok::<_, ()>("x".into())).unwrap();
        assert_eq!(c.live(), 1);
        drop(a);
        assert_eq!(c.live(), 0);
        let built = Cell::new(false);
        let _b = c
            .get_or_build("k", || {
                built.set(true);
                Ok::<_, ()>("y".into())
            })
            .unwrap();
        assert!(built.get(), "a dropped entry is compiled anew");
    }

    #[test]
    fn errors_are_not_cached() {
        let c: Cache<&str, String> = Cache::new();
        assert!(c.get_or_build("k", || Err::<String, _>("bad")).is_err());
        assert!(c.get_or_build("k", || Ok::<_, &str>("ok".into())).is_ok());
    }

    #[test]
    fn dead_entries_are_swept() {
        let c: Cache<usize, usize> = Cache::new();
        for i in 0..1000 {
            drop(c.get_or_build(i, || Ok::<_, ()>(i)).unwrap());
        }
        let inner = c.inner.lock().unwrap();
        assert!(inner.map.len() < 2 * SWEEP_MIN, "{}", inner.map.len());
    }
}
