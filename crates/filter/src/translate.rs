//! Python `re` syntax → PCRE2 syntax, keeping Python's meaning.
//!
//! PCRE2 already reads most of Python's dialect the same way (`(?P<n>…)`,
//! `(?P=n)`, look-around, `\<` as a literal `<`, `[^[]`). This pass rewrites
//! only what differs, and refuses what cannot be kept:
//!
//! | Python | PCRE2 | why |
//! |---|---|---|
//! | `\Z` | `\z` | Python's `\Z` is the absolute end |
//! | `(?(name)…)` | `(?(<name>)…)` | PCRE2 gives `R`, `R1`, `DEFINE` special meaning |
//! | `[` inside a class | `\[` | PCRE2 would read `[:alpha:]` as a POSIX class |
//! | `\uXXXX`, `\UXXXXXXXX` | `\x{…}` | PCRE2 has no `\u` |
//! | `\v` | `\x0b` | PCRE2's `\v` is a class of vertical space |
//! | `x{,n}` | `x{0,n}` | older PCRE2 reads `{,n}` literally |
//! | `(?u)`, `(?iu)` | `(?i)` | Unicode is already on (UTF + UCP) |
//!
//! `(?a)`, `(?L)`, `\N{…}` and unknown letter escapes are errors naming the
//! construct and its offset. (fail2ban: every `re.compile` of a filter.)

use crate::error::{Error, ErrorKind};

/// Translates a Python pattern to PCRE2 syntax.
///
/// # Errors
/// `ErrorKind::Translate` naming the construct and its byte offset.
pub fn translate(py: &str) -> Result<String, Error> {
    let b = py.as_bytes();
    let mut out = String::with_capacity(py.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    // Position right after the `[` / `[^` that opened the class: a `]` there is literal.
    let mut class_body_start = 0;
    let err = |construct: &str, offset: usize| {
        Err(Error::new(
            ErrorKind::Translate {
                construct: construct.to_string(),
                offset,
            },
            py,
        ))
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b'\\' => {
                let Some(&n) = b.get(i + 1) else {
                    return err("\\ at end of pattern", i);
                };
                match n {
                    b'Z' if !in_class => {
                        out.push_str("\\z");
                        i += 2;
                    }
                    b'v' => {
                        out.push_str("\\x0b");
                        i += 2;
                    }
                    b'u' | b'U' => {
                        let len = if n == b'u' { 4 } else { 8 };
                        let hex = py.get(i + 2..i + 2 + len).unwrap_or("");
                        if hex.len() != len || !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                            let end = (i + 2 + len).min(py.len());
                            return err(&String::from_utf8_lossy(&b[i..end]), i);
                        }
                        out.push_str("\\x{");
                        out.push_str(hex);
                        out.push('}');
                        i += 2 + len;
                    }
                    b'N' => return err("\\N{...}", i),
                    b'a' | b'f' | b'n' | b'r' | b't' | b'x' | b'd' | b'D' | b's' | b'S' | b'w'
                    | b'W' | b'b' => {
                        out.push('\\');
                        out.push(n as char);
                        i += 2;
                    }
                    b'A' | b'B' if !in_class => {
                        out.push('\\');
                        out.push(n as char);
                        i += 2;
                    }
                    b'0'..=b'9' => {
                        out.push('\\');
                        out.push(n as char);
                        i += 2;
                    }
                    _ if n.is_ascii_alphabetic() => {
                        return err(&format!("bad escape \\{}", n as char), i);
                    }
                    _ => {
                        // An escaped non-letter is that literal char in both
                        // dialects (`\<`, `\-`, `\ `); copy the whole UTF-8 char.
                        let ch = py[i + 1..].chars().next().unwrap_or('\\');
                        out.push('\\');
                        out.push(ch);
                        i += 1 + ch.len_utf8();
                    }
                }
            }
            b'[' if in_class => {
                out.push_str("\\[");
                i += 1;
            }
            b'[' => {
                in_class = true;
                out.push('[');
                i += 1;
                if b.get(i) == Some(&b'^') {
                    out.push('^');
                    i += 1;
                }
                class_body_start = i;
            }
            b']' if in_class => {
                if i == class_body_start {
                    out.push_str("\\]");
                } else {
                    in_class = false;
                    out.push(']');
                }
                i += 1;
            }
            b'(' if !in_class && b.get(i + 1) == Some(&b'?') => {
                i = group_open(py, i, &mut out)?;
            }
            b'{' if !in_class && py[i..].starts_with("{,") => {
                // `{,n}` is `{0,n}` in Python when n is digits.
                let rest = &py[i + 2..];
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                if digits > 0 && rest.as_bytes().get(digits) == Some(&b'}') {
                    out.push_str("{0,");
                } else {
                    out.push_str("\\{,");
                }
                i += 2;
            }
            _ => {
                let ch = py[i..].chars().next().unwrap_or('\0');
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    Ok(out)
}

/// Handles `(?…` at `i`; returns the index after what it consumed.
fn group_open(py: &str, i: usize, out: &mut String) -> Result<usize, Error> {
    let rest = &py[i + 2..];
    let err = |construct: &str| {
        Err(Error::new(
            ErrorKind::Translate {
                construct: construct.to_string(),
                offset: i,
            },
            py,
        ))
    };
    if let Some(r) = rest.strip_prefix('(') {
        // Conditional: `(?(name)` or `(?(1)`.
        let Some(end) = r.find(')') else {
            return err("unterminated (?(");
        };
        let cond = &r[..end];
        if cond.bytes().all(|c| c.is_ascii_digit()) {
            out.push_str("(?(");
            out.push_str(cond);
            out.push(')');
        } else {
            out.push_str("(?(<");
            out.push_str(cond);
            out.push_str(">)");
        }
        return Ok(i + 3 + end + 1);
    }
    if rest.starts_with('#') {
        // Comment: dropped (PCRE2 knows it too, but dropping is simplest).
        let Some(end) = rest.find(')') else {
            return err("unterminated comment");
        };
        return Ok(i + 2 + end + 1);
    }
    // Inline flags: `(?iu)`, `(?i:`, `(?i-s:`.
    let flags_len = rest.bytes().take_while(|c| b"aiLmsux-".contains(c)).count();
    if flags_len > 0 {
        let after = rest.as_bytes().get(flags_len);
        if after == Some(&b')') || after == Some(&b':') {
            let flags = &rest[..flags_len];
            if flags.contains('a') || flags.contains('L') {
                return err(&format!("(?{flags}) (ASCII/locale matching)"));
            }
            let kept: String = flags.chars().filter(|&f| f != 'u').collect();
            let kept = kept.trim_end_matches('-').to_string();
            if after == Some(&b')') {
                if !kept.is_empty() {
                    out.push_str("(?");
                    out.push_str(&kept);
                    out.push(')');
                }
            } else {
                out.push_str("(?");
                out.push_str(&kept);
                out.push(':');
            }
            return Ok(i + 2 + flags_len + 1);
        }
    }
    out.push_str("(?");
    Ok(i + 2)
}

#[cfg(test)]
mod tests;
