//! Filter options built by ironban-filter when they are set: `prefregex`,
//! `addfailregex`, `addignoreregex` (expanded and compiled, so a bad one
//! fails the command with fail2ban's `RegexException` and `get` answers with
//! the expanded text) and `datepattern` (fail2ban: `filter.py`
//! `addFailRegex`/`setDatePattern`, `failregex.py` `Regex.__init__`,
//! `datedetector.py` `appendTemplate`).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, OnceLock};

use ironban_config::Value;
use ironban_filter::datedetector::DateDetector;
use ironban_filter::datetemplate::Kind as TemplateKind;
use ironban_filter::failregex::Regex;
use ironban_filter::{ErrorKind, UseDns};

use crate::jail::{Jail, RegexText};
use crate::log::Logger;
use crate::protocol::PyException;

use super::text;

/// Which option a regex is for.
pub enum Kind {
    /// `prefregex`
    Pref,
    /// `failregex`: needs a failure-id group, here or in the prefregex.
    Fail,
    /// `ignoreregex`
    Ignore,
}

/// Expands and compiles `raw` for `jail`; the text as given and as
/// expanded on success, each shared with every other jail that set it.
///
/// The answer depends only on the regex text and the few options below,
/// so it is remembered: the second jail with the same filter (50 jails on
/// `sshd` set the same 18 failregexes) costs a map look-up instead of tag
/// expansion, a compile and a prefilter per regex. The error is logged at
/// every call, as fail2ban logs it at every `set`.
///
/// # Errors
/// `fail2ban.server.failregex.RegexException` with fail2ban's message
/// (also logged at ERROR, as fail2ban's filter does).
pub fn expand(jail: &Jail, raw: &str, kind: Kind, log: &Logger) -> Result<RegexText, PyException> {
    let multiline = jail.maxlines > 1;
    let (tag, pref) = match kind {
        Kind::Pref => (0, None),
        Kind::Ignore => (1, None),
        Kind::Fail => (2, jail.prefregex.as_ref().map(|(p, _)| p.to_string())),
    };
    let key = ExpandKey {
        raw: raw.to_string(),
        kind: tag,
        // Only failregexes are compiled multi-line here.
        multiline: multiline && tag == 2,
        usedns: jail.usedns.clone(),
        pref,
    };
    let res = memo(&EXPANDED, key, || {
        expand_uncached(jail, raw, kind).map(|e| (Arc::from(raw), Arc::from(e)))
    });
    res.map_err(|msg| {
        log.error("filter", &msg);
        PyException::new("fail2ban.server.failregex", "RegexException", msg)
    })
}

#[derive(PartialEq, Eq, Hash)]
struct ExpandKey {
    raw: String,
    kind: u8,
    multiline: bool,
    usedns: String,
    pref: Option<String>,
}

type Memo<K, V> = OnceLock<Mutex<HashMap<K, V>>>;

static EXPANDED: Memo<ExpandKey, Result<RegexText, String>> = OnceLock::new();

/// Entries kept before a memo starts over (a server reloaded many times
/// with other regexes must not grow without bound; Python's `re._cache`
/// does the same).
const MEMO_MAX: usize = 2048;

fn memo<K: Eq + Hash, V: Clone>(m: &Memo<K, V>, key: K, make: impl FnOnce() -> V) -> V {
    let map = m.get_or_init(Default::default);
    if let Some(v) = map.lock().ok().and_then(|g| g.get(&key).cloned()) {
        return v;
    }
    let v = make();
    if let Ok(mut g) = map.lock() {
        if g.len() >= MEMO_MAX {
            g.clear();
        }
        g.insert(key, v.clone());
    }
    v
}

fn expand_uncached(jail: &Jail, raw: &str, kind: Kind) -> Result<String, String> {
    let usedns = UseDns::parse(&jail.usedns).unwrap_or_default();
    let multiline = jail.maxlines > 1;
    let res = match kind {
        Kind::Pref => Regex::new(raw, false, usedns),
        Kind::Ignore => Regex::new(raw, false, usedns),
        Kind::Fail => {
            let pref = match &jail.prefregex {
                Some((p, _)) => Regex::new(p, false, usedns).ok(),
                None => None,
            };
            Regex::new_fail(raw, multiline, usedns, pref.as_ref())
        }
    };
    match res {
        Ok(r) => Ok(r.expanded().to_string()),
        Err(e) => Err(match &e.kind {
            ErrorKind::Empty => "Cannot add empty regex".to_string(),
            ErrorKind::NoFailureId => format!("No failure-id group in '{}'", e.pattern),
            ErrorKind::Compile(m) => {
                format!("Unable to compile regular expression '{}':\n{m}", e.pattern)
            }
            _ => format!("Unable to compile regular expression '{raw}':\n{e}"),
        }),
    }
}

/// Builds the date detector for `set datepattern v` with ironban-filter and
/// returns what `get datepattern` answers: `(None, 'Default Detectors')` when
/// the default templates are in use, else the first template's pattern (for
/// a `%`-pattern) and name; logs the templates as fail2ban 1.1.2 does.
///
/// # Errors
/// `ValueError` for a pattern the date detector refuses.
pub fn date_pattern(v: &Value, log: &Logger) -> Result<Value, PyException> {
    let s = match v {
        Value::None => return Ok(Value::None),
        other => text(other),
    };
    // Remembered as `expand` is: every jail of a filter sets the same one.
    let (lines, res) = memo(&DATE_PATTERNS, s.clone(), || date_pattern_uncached(&s));
    for l in &lines {
        log.info("datedetector", l);
    }
    res.map_err(PyException::value_error)
}

type DatePatternAnswer = (Vec<String>, Result<Value, String>);

static DATE_PATTERNS: Memo<String, DatePatternAnswer> = OnceLock::new();

/// The log lines and the answer of [`date_pattern`].
fn date_pattern_uncached(s: &str) -> DatePatternAnswer {
    let mut lines = Vec::new();
    let mut dd = DateDetector::new();
    for line in s.split('\n').map(str::trim).filter(|l| !l.is_empty()) {
        let before = dd.templates().len();
        if let Err(e) = dd.append_template(line) {
            return (lines, Err(e.to_string()));
        }
        let added = &dd.templates()[before..];
        if line.eq_ignore_ascii_case("{^LN-BEG}") {
            // fail2ban counts every template the detector then holds.
            lines.push(format!(
                "  default filtered date pattern: {} template(s)",
                dd.templates().len()
            ));
        } else if let [one] = added {
            let pattern = match &one.template.kind {
                TemplateKind::Pattern(p) => p.as_str(),
                _ => "",
            };
            lines.push(format!(
                "  date pattern `{pattern}`: `{}`",
                one.template.name
            ));
        }
    }
    let t = dd.templates();
    if t.is_empty() || t.len() > 2 {
        return (
            lines,
            Ok(Value::Tuple(vec![
                Value::None,
                Value::str("Default Detectors"),
            ])),
        );
    }
    let first = &t[0].template;
    let pattern = match &first.kind {
        TemplateKind::Pattern(p) => Value::Str(p.clone()),
        _ => Value::None,
    };
    (
        lines,
        Ok(Value::Tuple(vec![pattern, Value::Str(first.name.clone())])),
    )
}
