//! Terminal colours for the CLI's own reports (`ironban check`).
//!
//! Colours are used only when stdout is a terminal and `NO_COLOR` is unset
//! or empty (<https://no-color.org>); piped or redirected output, and so
//! every test and script, gets plain text. fail2ban's own programs print no
//! colour, so the fail2ban-* personalities never use this.

use std::io::IsTerminal;

/// Whether to colour stdout: a terminal, and no (non-empty) `NO_COLOR`.
pub fn stdout_wants_color() -> bool {
    wants_color(
        std::io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

/// The decision itself, separated for tests.
pub fn wants_color(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && !matches!(no_color, Some(v) if !v.is_empty())
}

/// ANSI styling that is a no-op when off.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    on: bool,
}

impl Palette {
    /// A palette that colours when `on`.
    pub fn new(on: bool) -> Palette {
        Palette { on }
    }

    fn paint(self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    /// Bold red: errors.
    pub fn error(self, s: &str) -> String {
        self.paint("1;31", s)
    }

    /// Bold yellow: warnings.
    pub fn warning(self, s: &str) -> String {
        self.paint("1;33", s)
    }

    /// Bold: locations and headings.
    pub fn bold(self, s: &str) -> String {
        self.paint("1", s)
    }

    /// Green: a clean verdict.
    pub fn ok(self, s: &str) -> String {
        self.paint("32", s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(wants_color(true, None));
        assert!(wants_color(true, Some(OsStr::new(""))));
        assert!(!wants_color(true, Some(OsStr::new("1"))));
        assert!(!wants_color(false, None));
        assert_eq!(Palette::new(false).error("x"), "x");
        assert_eq!(Palette::new(true).error("x"), "\x1b[1;31mx\x1b[0m");
    }
}
