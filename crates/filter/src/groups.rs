//! The named groups of a failure (fail2ban's `fail` dict without its
//! bookkeeping keys).
//!
//! A small ordered map: a failure has a handful of groups, so a vector with
//! shared (`Arc<str>`) names beats a tree of owned strings on the hot path.

use std::sync::Arc;

/// A value of a failure's named group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupValue {
    /// The group did not take part in the match (Python `None`).
    None,
    /// The matched text.
    Str(String),
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

    /// The string, for `Str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            GroupValue::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Named groups: Python `groupdict()` plus alt/tuple merging.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Groups {
    entries: Vec<(Arc<str>, GroupValue)>,
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
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| v)
    }

    /// True when `name` is present (even as `None`).
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets `name`, replacing any value; returns the old one.
    pub fn insert(&mut self, name: impl Into<Arc<str>>, v: GroupValue) -> Option<GroupValue> {
        let name = name.into();
        match self.entries.iter_mut().find(|(k, _)| *k == name) {
            Some((_, old)) => Some(std::mem::replace(old, v)),
            None => {
                self.entries.push((name, v));
                None
            }
        }
    }

    /// Removes `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<GroupValue> {
        let p = self.entries.iter().position(|(k, _)| &**k == name)?;
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
        self.entries.iter().map(|(k, v)| (&**k, v))
    }

    /// Moves every entry of `other` in, as Python's `dict.update`.
    pub(crate) fn update_from(&mut self, other: Groups, keep_existing_over_none: bool) {
        self.entries.reserve(other.entries.len());
        for (k, v) in other.entries {
            // One scan per entry: replace in place or append.
            match self.entries.iter_mut().find(|(e, _)| *e == k) {
                Some(_) if keep_existing_over_none && v == GroupValue::None => {}
                Some((_, old)) => *old = v,
                None => self.entries.push((k, v)),
            }
        }
    }

    /// Python's `merged = pre.copy(); merged.update(new)` where a `None`
    /// in `new` keeps `pre`'s value: `pre`'s keys first, in order, then the
    /// keys only `new` has. Builds the result once instead of copying `pre`
    /// and searching it for every key of `new`.
    pub(crate) fn merged_over(pre: &Groups, new: Groups) -> Groups {
        if new.entries.len() > 64 {
            let mut merged = pre.clone();
            merged.update_from(new, true);
            return merged;
        }
        let mut out = Groups::with_capacity(pre.len() + new.len());
        let mut new = new.entries;
        // Bit i: new's entry i was a key of `pre` (taken or superseded).
        let mut seen: u64 = 0;
        for (k, v) in &pre.entries {
            let pos = new.iter().position(|(n, _)| n == k);
            let value = match pos {
                Some(p) if new[p].1 != GroupValue::None => {
                    std::mem::replace(&mut new[p].1, GroupValue::None)
                }
                _ => v.clone(),
            };
            if let Some(p) = pos {
                seen |= 1 << p;
            }
            out.entries.push((k.clone(), value));
        }
        out.entries.extend(
            new.into_iter()
                .enumerate()
                .filter(|(i, _)| seen & (1 << i) == 0)
                .map(|(_, e)| e),
        );
        out
    }

    pub(crate) fn push_unique(&mut self, name: Arc<str>, v: GroupValue) {
        self.entries.push((name, v));
    }
}
