//! The named groups of a failure (fail2ban's `fail` dict without its
//! bookkeeping keys).
//!
//! A small ordered map: a failure has a handful of groups, so a vector
//! beats a tree on the hot path. Names are interned `&'static str`s
//! ([`intern`]): copying and dropping a failure then touches no reference
//! counts for its names.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};

use crate::text::Text;

/// A value of a failure's named group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupValue {
    /// The group did not take part in the match (Python `None`).
    None,
    /// The matched text (a span of the line it came from).
    Str(Text),
    /// A `tuple_<name>` combination.
    Tuple(Vec<Option<String>>),
}

impl GroupValue {
    /// Python truthiness: a non-empty string or tuple.
    pub fn truthy(&self) -> bool {
        match self {
            GroupValue::None => false,
            GroupValue::Str(s) => !s.is_empty(),
            GroupValue::Tuple(t) => !t.is_empty(),
        }
    }

    /// The shared text, for `Str`.
    pub fn as_text(&self) -> Option<&Text> {
        match self {
            GroupValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The string, for `Str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            GroupValue::Str(s) => Some(s.as_str()),
            _ => None,
        }
    }
}

/// Named groups: Python `groupdict()` plus alt/tuple merging.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Groups {
    entries: Vec<(&'static str, GroupValue)>,
}

impl Groups {
    /// An empty map.
    pub fn new() -> Groups {
        Groups::default()
    }

    /// An empty map with room for `n` groups.
    pub fn with_capacity(n: usize) -> Groups {
        Groups {
            entries: Vec::with_capacity(n),
        }
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&GroupValue> {
        self.entries
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }

    /// True when `name` is present (even as `None`).
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets `name`, replacing any value; returns the old one.
    pub fn insert(&mut self, name: &str, v: GroupValue) -> Option<GroupValue> {
        match self.entries.iter_mut().find(|(k, _)| *k == name) {
            Some((_, old)) => Some(std::mem::replace(old, v)),
            None => {
                self.entries.push((intern(name), v));
                None
            }
        }
    }

    /// [`Groups::insert`] of an interned (or literal) name.
    pub(crate) fn set(&mut self, name: &'static str, v: GroupValue) {
        match self.entries.iter_mut().find(|(k, _)| *k == name) {
            Some((_, old)) => *old = v,
            None => self.entries.push((name, v)),
        }
    }

    /// Removes `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<GroupValue> {
        let p = self.entries.iter().position(|(k, _)| *k == name)?;
        Some(self.entries.remove(p).1)
    }

    /// True when there are no groups.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The groups, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &GroupValue)> {
        self.entries.iter().map(|(k, v)| (*k, v))
    }

    /// Python's `merged = pre.copy(); merged.update(new)` where a `None`
    /// in `new` keeps `pre`'s value: `pre`'s keys first, in order, then the
    /// keys only `new` has, without copying `pre` first.
    pub(crate) fn merged_over(pre: &Groups, new: Groups) -> Groups {
        new.merge_front(pre.entries.iter().map(|(k, v)| (*k, v.clone())))
    }

    /// [`Groups::merged_over`] with `pre` given as entries: in place in
    /// `self`'s vector (callers leave room for a few more entries), each
    /// of `pre`'s keys is moved to the front, in order.
    pub(crate) fn merge_front(
        mut self,
        pre: impl DoubleEndedIterator<Item = (&'static str, GroupValue)>,
    ) -> Groups {
        for (k, pv) in pre.rev() {
            let entry = match self.entries.iter().position(|(n, _)| *n == k) {
                Some(p) => {
                    let (name, value) = self.entries.remove(p);
                    let value = if value == GroupValue::None { pv } else { value };
                    (name, value)
                }
                None => (k, pv),
            };
            self.entries.insert(0, entry);
        }
        self
    }

    /// Python's `dict.update` with the entries of `new` that are not
    /// `None` (fail2ban's `_mergeFailure`), moving them.
    pub(crate) fn update_some(&mut self, new: Groups) {
        for (k, v) in new.entries {
            if v == GroupValue::None {
                continue;
            }
            match self.entries.iter_mut().find(|(n, _)| *n == k) {
                Some((_, old)) => *old = v,
                None => self.entries.push((k, v)),
            }
        }
    }

    pub(crate) fn push_unique(&mut self, name: &'static str, v: GroupValue) {
        self.entries.push((name, v));
    }
}

/// The one `&'static str` for a group name. Names come from the filters'
/// regexes, a small set that only grows when a regex with a new name is
/// compiled; each distinct name is kept (leaked) once for the process.
pub(crate) fn intern(name: &str) -> &'static str {
    static NAMES: LazyLock<Mutex<HashSet<&'static str>>> = LazyLock::new(Default::default);
    let mut set = NAMES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(n) = set.get(name) {
        return n;
    }
    let n: &'static str = Box::leak(name.to_string().into_boxed_str());
    set.insert(n);
    n
}
