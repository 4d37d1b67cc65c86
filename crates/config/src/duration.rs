//! Time strings (`10m`, `1h30m`, `1w`, `1mo`, `-1`, `1d 12h`, `2*3600`) as
//! fail2ban's `MyTime.str2seconds` evaluates them (`server/mytime.py`).
//!
//! fail2ban rewrites the units into `*<seconds>` and then `eval()`s the
//! result as a Python expression; here the same rewriting is followed by a
//! small arithmetic evaluator (numbers, `+ - * /`, parentheses) that
//! executes nothing else.

use crate::error::{Error, ErrorKind};

const MONTH: &str = "2629800.0";
const YEAR: &str = "31557600.0";

/// The unit table in fail2ban's order: alternatives (tried in order) and the
/// seconds they stand for.
const UNITS: &[(&[&str], &str)] = &[
    (&["days", "day", "da", "dd", "d"], "86400"),
    (&["weeks", "week", "wee", "we", "ww", "w"], "604800"),
    (&["months", "month", "mon", "mo"], MONTH),
    (&["years", "year", "yea", "ye", "yy", "y"], YEAR),
    (&["seconds", "second", "sec", "se", "ss", "s"], "1"),
    (&["minutes", "minute", "min", "mi", "mm", "m"], "60"),
    (&["hours", "hour", "hou", "ho", "hh", "h"], "3600"),
];

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Seconds for a fail2ban time string.
///
/// # Errors
/// A string that is not a time expression.
pub fn str2seconds(s: &str) -> Result<f64, Error> {
    let bad = || Error::new(ErrorKind::Duration(s.to_string()));
    // '1d12h' -> '1d 12h'
    let mut v = String::new();
    let mut prev: Option<char> = None;
    for c in s.chars() {
        if c.is_ascii_digit() && prev.is_some_and(|p| p.is_ascii_alphabetic()) {
            v.push(' ');
        }
        v.push(c);
        prev = Some(c);
    }
    for (alts, secs) in UNITS {
        v = replace_unit(&v, alts, secs);
    }
    // '(\d)\s+(\d)' -> '\1+\2'
    let chars: Vec<char> = v.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        out.push(chars[i]);
        if chars[i].is_ascii_digit() {
            let mut j = i + 1;
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            if j > i + 1 && j < chars.len() && chars[j].is_ascii_digit() {
                out.push('+');
                i = j;
                continue;
            }
        }
        i += 1;
    }
    let mut p = Expr {
        c: out.chars().collect(),
        i: 0,
    };
    let r = p.sum().ok_or_else(bad)?;
    p.ws();
    if p.i != p.c.len() {
        return Err(bad());
    }
    Ok(r)
}

/// `(?i)(?<=[\d\s])(alts)\b` -> `*secs`.
fn replace_unit(v: &str, alts: &[&str], secs: &str) -> String {
    let chars: Vec<char> = v.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    'outer: while i < chars.len() {
        if i > 0 && (chars[i - 1].is_ascii_digit() || chars[i - 1].is_whitespace()) {
            for alt in alts {
                let n = alt.chars().count();
                if i + n <= chars.len() {
                    let cand: String = chars[i..i + n].iter().collect();
                    let boundary = i + n == chars.len() || !is_word(chars[i + n]);
                    if cand.eq_ignore_ascii_case(alt) && boundary {
                        out.push('*');
                        out.push_str(secs);
                        i += n;
                        continue 'outer;
                    }
                }
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

struct Expr {
    c: Vec<char>,
    i: usize,
}

impl Expr {
    fn ws(&mut self) {
        while self.i < self.c.len() && self.c[self.i].is_whitespace() {
            self.i += 1;
        }
    }
    fn peek(&mut self) -> Option<char> {
        self.ws();
        self.c.get(self.i).copied()
    }
    fn sum(&mut self) -> Option<f64> {
        let mut v = self.product()?;
        while let Some(op @ ('+' | '-')) = self.peek() {
            self.i += 1;
            let r = self.product()?;
            v = if op == '+' { v + r } else { v - r };
        }
        Some(v)
    }
    fn product(&mut self) -> Option<f64> {
        let mut v = self.unary()?;
        while let Some(op @ ('*' | '/')) = self.peek() {
            self.i += 1;
            let r = self.unary()?;
            v = if op == '*' {
                v * r
            } else if r == 0.0 {
                return None;
            } else {
                v / r
            };
        }
        Some(v)
    }
    fn unary(&mut self) -> Option<f64> {
        match self.peek()? {
            '-' => {
                self.i += 1;
                Some(-self.unary()?)
            }
            '+' => {
                self.i += 1;
                self.unary()
            }
            '(' => {
                self.i += 1;
                let v = self.sum()?;
                if self.peek()? != ')' {
                    return None;
                }
                self.i += 1;
                Some(v)
            }
            _ => self.number(),
        }
    }
    fn number(&mut self) -> Option<f64> {
        let s = self.i;
        while self.i < self.c.len()
            && (self.c[self.i].is_ascii_digit() || self.c[self.i] == '.' || self.c[self.i] == '_')
        {
            self.i += 1;
        }
        if self.i < self.c.len() && matches!(self.c[self.i], 'e' | 'E') {
            let save = self.i;
            self.i += 1;
            if self.i < self.c.len() && matches!(self.c[self.i], '+' | '-') {
                self.i += 1;
            }
            let ds = self.i;
            while self.i < self.c.len() && self.c[self.i].is_ascii_digit() {
                self.i += 1;
            }
            if self.i == ds {
                self.i = save;
            }
        }
        let t: String = self.c[s..self.i].iter().filter(|&&c| c != '_').collect();
        if t.is_empty() {
            return None;
        }
        t.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from fail2ban's mytime.py docstring and servertestcase.
    #[test]
    fn like_fail2ban() {
        assert_eq!(str2seconds("10m").unwrap(), 600.0);
        assert_eq!(str2seconds("1h30m").unwrap(), 5400.0);
        assert_eq!(str2seconds("0d 1h 30m").unwrap(), 5400.0);
        assert_eq!(str2seconds("1hour+30min").unwrap(), 5400.0);
        assert_eq!(str2seconds("1w").unwrap(), 604800.0);
        assert_eq!(str2seconds("1mo").unwrap(), 2629800.0);
        assert_eq!(str2seconds("1year-6mo").unwrap(), 15778800.0);
        assert_eq!(str2seconds("6 months").unwrap(), 15778800.0);
        assert_eq!(str2seconds("-1").unwrap(), -1.0);
        assert_eq!(str2seconds("1d12h").unwrap(), 129600.0);
        assert_eq!(str2seconds("600").unwrap(), 600.0);
        assert!(str2seconds("abc").is_err());
        assert!(str2seconds("__import__('os')").is_err());
    }
}
