//! An insertion-ordered string-keyed map with Python `dict` semantics:
//! updating an existing key keeps its position, new keys go last.
//!
//! fail2ban's output order (jails, action properties) is Python dict order,
//! so every option table in this crate is one of these.
//!
//! Most tables are small (a filter's `[Init]`, an action's arguments): up
//! to [`SMALL`] entries a look-up is a scan of the keys, with no index and
//! no second copy of each key; bigger tables get a hash index (foldhash:
//! keys come from the administrator's own files, and reading the config
//! was mostly hashing with the default SipHash).

use std::collections::HashMap;

/// Entries looked up by scanning; past this, an index is kept.
const SMALL: usize = 12;

type Index = FastMap<String, usize>;

/// A hash map with foldhash (see the module doc), for the crate's caches.
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Insertion-ordered map from option/section name to `V`.
#[derive(Debug, Clone)]
pub struct OMap<V> {
    entries: Vec<(String, V)>,
    index: Option<Index>,
}

impl<V> Default for OMap<V> {
    fn default() -> Self {
        OMap {
            entries: Vec::new(),
            index: None,
        }
    }
}

impl<V> OMap<V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(ix) => ix.get(key).copied(),
            None => self.entries.iter().position(|(k, _)| k == key),
        }
    }

    /// The value for `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.position(key).map(|i| &self.entries[i].1)
    }

    /// The value for `key`, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        match self.position(key) {
            Some(i) => Some(&mut self.entries[i].1),
            None => None,
        }
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Python `d[key] = value`.
    pub fn insert(&mut self, key: impl Into<String>, value: V) {
        let key = key.into();
        match self.position(&key) {
            Some(i) => self.entries[i].1 = value,
            None => {
                let i = self.entries.len();
                match &mut self.index {
                    Some(ix) => {
                        ix.insert(key.clone(), i);
                    }
                    None if i >= SMALL => {
                        let mut ix = Index::with_capacity_and_hasher(2 * SMALL, Default::default());
                        for (n, (k, _)) in self.entries.iter().enumerate() {
                            ix.insert(k.clone(), n);
                        }
                        ix.insert(key.clone(), i);
                        self.index = Some(ix);
                    }
                    None => {}
                }
                self.entries.push((key, value));
            }
        }
    }

    /// Python `d.pop(key)` (later keys shift down).
    pub fn remove(&mut self, key: &str) -> Option<V> {
        let i = self.position(key)?;
        let (_, v) = self.entries.remove(i);
        if let Some(ix) = &mut self.index {
            ix.remove(key);
            for idx in ix.values_mut() {
                if *idx > i {
                    *idx -= 1;
                }
            }
        }
        Some(v)
    }

    /// Keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// Entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<V: Clone> OMap<V> {
    /// Python `d.update(other)`.
    pub fn update(&mut self, other: &OMap<V>) {
        for (k, v) in other.iter() {
            self.insert(k, v.clone());
        }
    }
}

impl<V> OMap<V> {
    /// The same keys in the same order with each value mapped by `f`
    /// (the index is kept: no key is hashed again).
    pub fn map_values<W>(self, mut f: impl FnMut(V) -> W) -> OMap<W> {
        OMap {
            entries: self.entries.into_iter().map(|(k, v)| (k, f(v))).collect(),
            index: self.index,
        }
    }
}

/// Equal when the entries are, in order (the index follows from them).
impl<V: PartialEq> PartialEq for OMap<V> {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl<V: Eq> Eq for OMap<V> {}

impl<V: std::hash::Hash> std::hash::Hash for OMap<V> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.entries.hash(state);
    }
}

impl<V> FromIterator<(String, V)> for OMap<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Self {
        let mut m = OMap::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}
