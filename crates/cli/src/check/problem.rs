//! One finding of `ironban check`, and how a list of them is printed.

use std::path::Path;

use ironban_config::Pos;
use serde_json::{json, Value as J};

use crate::color::Palette;

/// How bad a finding is. Errors make `ironban check` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth a look; the config works as written.
    Warning,
    /// The config does not do what it says (or does not start).
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// What kind of problem; the stable identifier in `--json` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A file that does not parse, an interpolation error: what stops
    /// fail2ban's whole read.
    Config,
    /// An option fail2ban does not know and nothing refers to.
    UnknownOption,
    /// `filter = x` names no `filter.d/x.conf`/`.local`.
    MissingFilter,
    /// `action = x` names no `action.d/x.conf`/`.local`.
    MissingAction,
    /// A `logpath` entry that matches no file.
    MissingLogpath,
    /// A time value `str2seconds` cannot read.
    BadTime,
    /// Another value fail2ban rejects or replaces by its default.
    BadValue,
    /// A regex or date pattern that does not compile, or that PCRE2
    /// would read differently from Python.
    Regex,
    /// The filter finds nothing in the jail's current log.
    NoMatch,
    /// A log line format the filter cannot date.
    NoDate,
    /// An action command a ban would run that is not valid shell, or
    /// that keeps a `<tag>` nothing resolves.
    Action,
    /// Something ironban does not support (Python actions).
    Unsupported,
    /// Another warning or error fail2ban's reader logs.
    Reader,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Config => "config",
            Kind::UnknownOption => "unknown-option",
            Kind::MissingFilter => "missing-filter",
            Kind::MissingAction => "missing-action",
            Kind::MissingLogpath => "missing-logpath",
            Kind::BadTime => "bad-time",
            Kind::BadValue => "bad-value",
            Kind::Regex => "regex",
            Kind::NoMatch => "no-match",
            Kind::NoDate => "no-date",
            Kind::Action => "action",
            Kind::Unsupported => "unsupported",
            Kind::Reader => "reader",
        }
    }
}

/// One finding, located by file and line when the text of a file is at
/// fault, otherwise by jail and option.
#[derive(Debug, Clone)]
pub struct Problem {
    pub severity: Severity,
    pub kind: Kind,
    pub at: Option<Pos>,
    pub jail: Option<String>,
    pub option: Option<String>,
    pub message: String,
}

impl Problem {
    pub fn new(severity: Severity, kind: Kind, message: impl Into<String>) -> Problem {
        Problem {
            severity,
            kind,
            at: None,
            jail: None,
            option: None,
            message: message.into(),
        }
    }

    pub fn error(kind: Kind, message: impl Into<String>) -> Problem {
        Problem::new(Severity::Error, kind, message)
    }

    pub fn warning(kind: Kind, message: impl Into<String>) -> Problem {
        Problem::new(Severity::Warning, kind, message)
    }

    pub fn at(mut self, at: Option<Pos>) -> Problem {
        if self.at.is_none() {
            self.at = at;
        }
        self
    }

    pub fn jail(mut self, jail: &str) -> Problem {
        self.jail = Some(jail.to_string());
        self
    }

    pub fn option(mut self, option: &str) -> Problem {
        self.option = Some(option.to_string());
        self
    }

    /// `file:line` or `[jail] option` (or nothing), for the text report.
    pub fn location(&self) -> String {
        match (&self.at, &self.jail, &self.option) {
            (Some(p), _, _) => p.to_string(),
            (None, Some(j), Some(o)) => format!("[{j}] {o}"),
            (None, Some(j), None) => format!("[{j}]"),
            (None, None, Some(o)) => o.clone(),
            (None, None, None) => String::new(),
        }
    }

    /// One line: `file:line: error[kind]: [jail] message`.
    pub fn to_text(&self, pal: Palette) -> String {
        let sev = match self.severity {
            Severity::Error => pal.error(&format!("error[{}]", self.kind.as_str())),
            Severity::Warning => pal.warning(&format!("warning[{}]", self.kind.as_str())),
        };
        let loc = self.location();
        let loc = if loc.is_empty() {
            String::new()
        } else {
            format!("{}: ", pal.bold(&loc))
        };
        let jail = match (&self.at, &self.jail) {
            (Some(_), Some(j)) => format!("[{j}] "),
            _ => String::new(),
        };
        format!("{loc}{sev}: {jail}{}", self.message)
    }

    pub fn to_json(&self) -> J {
        json!({
            "severity": self.severity.as_str(),
            "kind": self.kind.as_str(),
            "file": self.at.as_ref().map(|p| p.file.to_string_lossy().into_owned()),
            "line": self.at.as_ref().map(|p| p.line),
            "jail": self.jail,
            "option": self.option,
            "message": self.message,
        })
    }
}

/// What `ironban check` learned about one enabled jail's logs.
#[derive(Debug, Clone, Default)]
pub struct ScanStats {
    pub file: String,
    /// Bytes read from the end of the file.
    pub bytes: u64,
    pub lines: u64,
    /// Lines the date detector found a date in.
    pub dated: u64,
    /// Failures found.
    pub failures: u64,
}

/// One enabled jail as read.
#[derive(Debug, Clone, Default)]
pub struct JailSummary {
    pub name: String,
    pub backend: String,
    pub filter: String,
    pub actions: Vec<String>,
    pub scans: Vec<ScanStats>,
}

/// The whole result of a lint.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    pub confdir: String,
    pub problems: Vec<Problem>,
    pub jails: Vec<JailSummary>,
}

impl Findings {
    pub fn count(&self, s: Severity) -> usize {
        self.problems.iter().filter(|p| p.severity == s).count()
    }

    pub fn to_text(&self, pal: Palette) -> String {
        let mut out = String::new();
        for p in &self.problems {
            out.push_str(&p.to_text(pal));
            out.push('\n');
        }
        for j in &self.jails {
            let mut line = format!(
                "jail {}: backend {}, filter {}, action(s) {}",
                pal.bold(&j.name),
                j.backend,
                if j.filter.is_empty() { "-" } else { &j.filter },
                if j.actions.is_empty() {
                    "-".to_string()
                } else {
                    j.actions.join(", ")
                }
            );
            for s in &j.scans {
                line.push_str(&format!(
                    "\n  {}: {} failure(s) in {} line(s) ({} dated) of the last {}",
                    s.file,
                    s.failures,
                    s.lines,
                    s.dated,
                    human_bytes(s.bytes)
                ));
            }
            out.push_str(&line);
            out.push('\n');
        }
        let (e, w) = (self.count(Severity::Error), self.count(Severity::Warning));
        let verdict = format!(
            "{}: {} jail(s) enabled, {e} error(s), {w} warning(s)",
            Path::new(&self.confdir).display(),
            self.jails.len()
        );
        out.push_str(&if e > 0 {
            pal.error(&verdict)
        } else if w > 0 {
            pal.warning(&verdict)
        } else {
            pal.ok(&verdict)
        });
        out.push('\n');
        out
    }

    pub fn to_json(&self) -> J {
        let jails: Vec<J> = self
            .jails
            .iter()
            .map(|j| {
                json!({
                    "jail": j.name,
                    "backend": j.backend,
                    "filter": j.filter,
                    "actions": j.actions,
                    "logs": j.scans.iter().map(|s| json!({
                        "file": s.file,
                        "bytes": s.bytes,
                        "lines": s.lines,
                        "dated": s.dated,
                        "failures": s.failures,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({
            "confdir": self.confdir,
            "errors": self.count(Severity::Error),
            "warnings": self.count(Severity::Warning),
            "problems": self.problems.iter().map(Problem::to_json).collect::<Vec<_>>(),
            "jails": jails,
        })
    }
}

fn human_bytes(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20))
    } else if n >= 1 << 10 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} bytes")
    }
}
