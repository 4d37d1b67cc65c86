//! `prefregex`, `addfailregex`, `addignoreregex`: each regex is expanded and
//! compiled by ironban-filter when it is set, so a bad one fails the command
//! with fail2ban's `RegexException`, and `get` answers with the expanded
//! text as fail2ban does (fail2ban: `filter.py` `addFailRegex`,
//! `failregex.py` `Regex.__init__`).

use ironban_filter::failregex::Regex;
use ironban_filter::{ErrorKind, UseDns};

use crate::jail::Jail;
use crate::log::Logger;
use crate::protocol::PyException;

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
