//! Filter options built by ironban-filter when they are set: `prefregex`,
//! `addfailregex`, `addignoreregex` (expanded and compiled, so a bad one
//! fails the command with fail2ban's `RegexException` and `get` answers with
//! the expanded text) and `datepattern` (fail2ban: `filter.py`
//! `addFailRegex`/`setDatePattern`, `failregex.py` `Regex.__init__`,
//! `datedetector.py` `appendTemplate`).

use ironban_config::Value;
use ironban_filter::datedetector::DateDetector;
use ironban_filter::datetemplate::Kind as TemplateKind;
use ironban_filter::failregex::Regex;
use ironban_filter::{ErrorKind, UseDns};

use crate::jail::Jail;
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

/// Expands and compiles `raw` for `jail`; the expanded text on success.
///
/// # Errors
/// `fail2ban.server.failregex.RegexException` with fail2ban's message
/// (also logged at ERROR, as fail2ban's filter does).
pub fn expand(jail: &Jail, raw: &str, kind: Kind, log: &Logger) -> Result<String, PyException> {
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
        Err(e) => {
            let msg = match &e.kind {
                ErrorKind::Empty => "Cannot add empty regex".to_string(),
                ErrorKind::NoFailureId => format!("No failure-id group in '{}'", e.pattern),
                ErrorKind::Compile(m) => {
                    format!("Unable to compile regular expression '{}':\n{m}", e.pattern)
                }
                _ => format!("Unable to compile regular expression '{raw}':\n{e}"),
            };
            log.error("filter", &msg);
            Err(PyException::new(
                "fail2ban.server.failregex",
                "RegexException",
                msg,
            ))
        }
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
    let mut dd = DateDetector::new();
    for line in s.split('\n').map(str::trim).filter(|l| !l.is_empty()) {
        let before = dd.templates().len();
        dd.append_template(line)
            .map_err(|e| PyException::value_error(e.to_string()))?;
        let added = &dd.templates()[before..];
        if line.eq_ignore_ascii_case("{^LN-BEG}") {
            log.info(
                "datedetector",
                // fail2ban counts every template the detector then holds.
                &format!(
                    "  default filtered date pattern: {} template(s)",
                    dd.templates().len()
                ),
            );
        } else if let [one] = added {
            let pattern = match &one.template.kind {
                TemplateKind::Pattern(p) => p.as_str(),
                _ => "",
            };
            log.info(
                "datedetector",
                &format!("  date pattern `{pattern}`: `{}`", one.template.name),
            );
        }
    }
    let t = dd.templates();
    if t.is_empty() || t.len() > 2 {
        return Ok(Value::Tuple(vec![
            Value::None,
            Value::str("Default Detectors"),
        ]));
    }
    let first = &t[0].template;
    let pattern = match &first.kind {
        TemplateKind::Pattern(p) => Value::Str(p.clone()),
        _ => Value::None,
    };
    Ok(Value::Tuple(vec![pattern, Value::Str(first.name.clone())]))
}
