//! [`Text`]: a group value's string, as a span of a shared line buffer.
//!
//! A failing line yields half a dozen group texts (`mlfid`, `user`, `ip4`,
//! …) that are then merged, cached per `mlfid` and handed out. Owned
//! `String`s cost an allocation and a copy per group at every step; spans
//! of one reference-counted copy of the line cost one allocation per line
//! and make every later copy a reference-count increment. (No fail2ban
//! counterpart: Python strings are shared references already.)

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

/// An immutable string: `src[start..end]` of a shared buffer. Reads as a
/// `&str` (it derefs to one); compares, orders and hashes as its text.
#[derive(Clone)]
pub struct Text {
    src: Arc<str>,
    start: usize,
    end: usize,
}

impl Text {
    /// The span `start..end` of `src` (byte offsets on char boundaries).
    ///
    /// # Panics
    /// Never for spans reported by a match on `src`; an out-of-range or
    /// split-char span is a bug in the caller and is checked on access.
    pub(crate) fn span(src: &Arc<str>, start: usize, end: usize) -> Text {
        debug_assert!(src.get(start..end).is_some());
        Text {
            src: src.clone(),
            start,
            end,
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Spans come from matches on `src`, so they are in range and on
        // char boundaries; `get` keeps a wrong one from panicking.
        self.src.get(self.start..self.end).unwrap_or("")
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text {
            src: Arc::from(s),
            start: 0,
            end: s.len(),
        }
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        let end = s.len();
        Text {
            src: Arc::from(s),
            start: 0,
            end,
        }
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        t.as_str().to_string()
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Text {
    // As `str` hashes, so a `Text`-keyed map is searched with a `&str`.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_compare_and_hash_as_their_text() {
        let src: Arc<str> = Arc::from("user bob from 192.0.2.1\n");
        let user = Text::span(&src, 5, 8);
        assert_eq!(user.as_str(), "bob");
        assert_eq!(user, Text::from("bob"));
        assert!(user == "bob");
        assert_eq!(format!("{user:?} {user}"), "\"bob\" bob");
        let mut set = std::collections::HashSet::new();
        set.insert(Text::span(&src, 14, 23));
        assert!(set.contains("192.0.2.1"));
        // Ordering is the text's, between two `Text`s (the users set).
        let a = Text::from("a");
        assert!(a < user);
    }
}
