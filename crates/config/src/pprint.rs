//! Python's `pprint.pformat(obj, width=1000, indent=2)` for stream values,
//! which is what `fail2ban-client --dp` prints (CPython 3.11 `pprint.py`):
//! containers that do not fit are broken one item per line, and a string
//! that does not fit is split into implicitly concatenated pieces at
//! whitespace and line ends.

use crate::stream::{str_repr, Value};

/// Pretty-printer settings.
#[derive(Debug, Clone, Copy)]
pub struct PrettyPrinter {
    /// Line width (`width=`).
    pub width: usize,
    /// Indent per nesting level (`indent=`).
    pub indent_per_level: usize,
}

impl Default for PrettyPrinter {
    /// fail2ban's `width=1000, indent=2`.
    fn default() -> Self {
        PrettyPrinter {
            width: 1000,
            indent_per_level: 2,
        }
    }
}

fn clen(s: &str) -> usize {
    s.chars().count()
}

/// `repr()` as pprint's `_safe_repr` gives it: dicts with sorted keys.
fn safe_repr(v: &Value) -> String {
    match v {
        Value::Dict(items) => {
            let mut items = items.clone();
            items.sort_by_key(|a| a.0.repr());
            let inner: Vec<String> = items
                .iter()
                .map(|(k, v)| format!("{}: {}", safe_repr(k), safe_repr(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        Value::List(items) => {
            let inner: Vec<String> = items.iter().map(safe_repr).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Tuple(items) => {
            let inner: Vec<String> = items.iter().map(safe_repr).collect();
            if items.len() == 1 {
                format!("({},)", inner[0])
            } else {
                format!("({})", inner.join(", "))
            }
        }
        other => other.repr(),
    }
}

impl PrettyPrinter {
    /// `pformat(value)`.
    pub fn pformat(&self, v: &Value) -> String {
        let mut out = String::new();
        self.format(v, &mut out, 0, 0, 0);
        out
    }

    fn format(&self, v: &Value, out: &mut String, indent: usize, allowance: usize, level: usize) {
        let rep = safe_repr(v);
        let max_width = self.width as isize - indent as isize - allowance as isize;
        if clen(&rep) as isize > max_width {
            match v {
                Value::List(items) => {
                    out.push('[');
                    self.format_items(items, out, indent, allowance + 1, level + 1);
                    out.push(']');
                    return;
                }
                Value::Tuple(items) => {
                    out.push('(');
                    let end = if items.len() == 1 { ",)" } else { ")" };
                    self.format_items(items, out, indent, allowance + end.len(), level + 1);
                    out.push_str(end);
                    return;
                }
                Value::Dict(items) => {
                    out.push('{');
                    if self.indent_per_level > 1 {
                        out.push_str(&" ".repeat(self.indent_per_level - 1));
                    }
                    let mut items = items.clone();
                    items.sort_by_key(|a| a.0.repr());
                    let indent = indent + self.indent_per_level;
                    let delimnl = format!(",\n{}", " ".repeat(indent));
                    let last_index = items.len().saturating_sub(1);
                    for (i, (k, e)) in items.iter().enumerate() {
                        let last = i == last_index;
                        let krep = safe_repr(k);
                        out.push_str(&krep);
                        out.push_str(": ");
                        self.format(
                            e,
                            out,
                            indent + clen(&krep) + 2,
                            if last { allowance + 1 } else { 1 },
                            level + 1,
                        );
                        if !last {
                            out.push_str(&delimnl);
                        }
                    }
                    out.push('}');
                    return;
                }
                Value::Str(s) if !s.is_empty() => {
                    self.pprint_str(s, out, indent, allowance, level + 1);
                    return;
                }
                _ => {}
            }
        }
        out.push_str(&rep);
    }

    fn format_items(
        &self,
        items: &[Value],
        out: &mut String,
        indent: usize,
        allowance: usize,
        level: usize,
    ) {
        let indent = indent + self.indent_per_level;
        if self.indent_per_level > 1 {
            out.push_str(&" ".repeat(self.indent_per_level - 1));
        }
        let delimnl = format!(",\n{}", " ".repeat(indent));
        for (i, e) in items.iter().enumerate() {
            let last = i + 1 == items.len();
            if i > 0 {
                out.push_str(&delimnl);
            }
            self.format(e, out, indent, if last { allowance } else { 1 }, level);
        }
    }

    fn pprint_str(&self, s: &str, out: &mut String, indent: usize, allowance: usize, level: usize) {
        let (mut indent, mut allowance) = (indent, allowance);
        if level == 1 {
            indent += 1;
            allowance += 1;
        }
        let max_width = self.width as isize - indent as isize;
        let mut max_width1 = max_width;
        let lines = splitlines_keepends(s);
        let mut chunks: Vec<String> = Vec::new();
        let mut rep = String::new();
        for (i, line) in lines.iter().enumerate() {
            rep = str_repr(line);
            if i == lines.len() - 1 {
                max_width1 -= allowance as isize;
            }
            if clen(&rep) as isize <= max_width1 {
                chunks.push(rep.clone());
            } else {
                let parts = space_parts(line);
                let mut max_width2 = max_width;
                let mut current = String::new();
                for (j, part) in parts.iter().enumerate() {
                    let candidate = format!("{current}{part}");
                    if j == parts.len() - 1 && i == lines.len() - 1 {
                        max_width2 -= allowance as isize;
                    }
                    if clen(&str_repr(&candidate)) as isize > max_width2 {
                        if !current.is_empty() {
                            chunks.push(str_repr(&current));
                        }
                        current = part.to_string();
                    } else {
                        current = candidate;
                    }
                }
                if !current.is_empty() {
                    chunks.push(str_repr(&current));
                }
            }
        }
        if chunks.len() == 1 {
            out.push_str(&rep);
            return;
        }
        if level == 1 {
            out.push('(');
        }
        for (i, c) in chunks.iter().enumerate() {
            if i > 0 {
                out.push('\n');
                out.push_str(&" ".repeat(indent));
            }
            out.push_str(c);
        }
        if level == 1 {
            out.push(')');
        }
    }
}

/// Python `str.splitlines(True)`.
fn splitlines_keepends(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let is_break = matches!(
            c,
            '\n' | '\r'
                | '\x0b'
                | '\x0c'
                | '\x1c'
                | '\x1d'
                | '\x1e'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if is_break {
            let mut end = i + c.len_utf8();
            if c == '\r' {
                if let Some(&(_, '\n')) = it.peek() {
                    it.next();
                    end += 1;
                }
            }
            out.push(&s[start..end]);
            start = end;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// `re.findall(r'\S*\s*', line)` without the final empty match.
fn space_parts(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && !chars[i].1.is_whitespace() {
            i += 1;
        }
        while i < chars.len() && chars[i].1.is_whitespace() {
            i += 1;
        }
        let end = if i < chars.len() {
            chars[i].0
        } else {
            line.len()
        };
        out.push(&line[start..end]);
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_is_repr() {
        let v = Value::List(vec![Value::str("set"), Value::Int(1)]);
        assert_eq!(PrettyPrinter::default().pformat(&v), "['set', 1]");
    }

    #[test]
    fn long_breaks() {
        let pp = PrettyPrinter {
            width: 20,
            indent_per_level: 2,
        };
        let v = Value::List(vec![
            Value::str("multi-set"),
            Value::str("jail"),
            Value::List(vec![Value::str("a"), Value::str("b")]),
        ]);
        assert_eq!(pp.pformat(&v), "[ 'multi-set',\n  'jail',\n  ['a', 'b']]");
        let v = Value::List(vec![Value::str("aaaa bbbb cccc dddd eeee")]);
        assert_eq!(pp.pformat(&v), "[ 'aaaa bbbb cccc '\n  'dddd eeee']");
    }
}
