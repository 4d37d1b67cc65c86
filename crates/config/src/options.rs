//! The small syntaxes inside option values (fail2ban `helpers.py`):
//! `name[k=v, k2="v, w"]` (`extractOptions`), the list of such specs on an
//! `action =` line (`splitWithOptions`), `splitwords`, and `shlex.split` for
//! `journalmatch`.

use crate::error::{Error, ErrorKind};
use crate::omap::OMap;

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-' || c == '.'
}

/// Parse `"sshd[mode=aggressive, port=\"a, b\"]"` into
/// `("sshd", [("mode","aggressive"), ("port","a, b")])`.
///
/// Values may be double-quoted, single-quoted or bare (no `,` or `]`); `][`
/// also separates (`act[a=1][b=2]`); names may carry a condition
/// (`blocktype?family=inet6=DROP`). A repeated name keeps its first position
/// and its last value, like the Python dict fail2ban builds.
///
/// # Errors
/// Anything else, with fail2ban's message (`unexpected option syntax`, ...).
pub fn parse_spec(spec: &str) -> Result<(String, Vec<(String, String)>), Error> {
    let (name, opts) = extract_options(spec)?;
    Ok((
        name,
        opts.iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    ))
}

/// [`parse_spec`] returning the options as an ordered map.
///
/// # Errors
/// As [`parse_spec`].
pub fn extract_options(spec: &str) -> Result<(String, OMap<String>), Error> {
    let err = |m: String| Error::new(ErrorKind::OptionSyntax(m));
    // OPTION_CRE = ^([^\[]+)(?:\[(.*)\])?\s*$  (DOTALL)
    let (name, optstr) = match spec.find('[') {
        None => (spec, None),
        Some(0) => return Err(err("unexpected option syntax".into())),
        Some(i) => {
            let rest = spec[i..].trim_end();
            if rest.len() < 2 || !rest.ends_with(']') {
                return Err(err("unexpected option syntax".into()));
            }
            (&spec[..i], Some(&rest[1..rest.len() - 1]))
        }
    };
    if name.is_empty() {
        return Err(err("unexpected option syntax".into()));
    }
    let mut opts = OMap::new();
    if let Some(optstr) = optstr {
        let chars: Vec<char> = optstr.chars().collect();
        let mut pos = 0;
        while pos < chars.len() {
            match extract_one(&chars, pos) {
                Extract::Opt { name, value, end } => {
                    opts.insert(name.trim().to_string(), value.trim().to_string());
                    pos = end;
                }
                Extract::WrongAfter { name, at } => {
                    let s: String = chars[at..].iter().take(25).collect();
                    return Err(err(format!(
                        "unexpected syntax at {at} after option {}: {s}",
                        crate::stream::str_repr(&name)
                    )));
                }
                Extract::End => break,
                Extract::Wrong => {
                    let s: String = chars[pos..].iter().take(25).collect();
                    return Err(err(format!("expected option, wrong syntax at {pos}: {s}")));
                }
            }
        }
    }
    Ok((name.to_string(), opts))
}

enum Extract {
    Opt {
        name: String,
        value: String,
        end: usize,
    },
    WrongAfter {
        name: String,
        at: usize,
    },
    End,
    Wrong,
}

/// Length of an option name at `i` (`[\w\-_\.]+(?:\?[\w\-_\.]+=[\w\-_\.]+)?`)
/// such that `=` follows it.
fn option_name_len(c: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    while j < c.len() && is_name_char(c[j]) {
        j += 1;
    }
    if j == i {
        return None;
    }
    // with a condition
    if j < c.len() && c[j] == '?' {
        let mut k = j + 1;
        let s = k;
        while k < c.len() && is_name_char(c[k]) {
            k += 1;
        }
        if k > s && k < c.len() && c[k] == '=' {
            let mut l = k + 1;
            let s2 = l;
            while l < c.len() && is_name_char(c[l]) {
                l += 1;
            }
            if l > s2 && l < c.len() && c[l] == '=' {
                return Some(l - i);
            }
        }
    }
    (j < c.len() && c[j] == '=').then_some(j - i)
}

/// One step of `OPTION_EXTRACT_CRE.finditer` at `pos`.
fn extract_one(c: &[char], pos: usize) -> Extract {
    let n = c.len();
    let mut i = pos;
    while i < n && c[i].is_whitespace() {
        i += 1;
    }
    if let Some(len) = option_name_len(c, i) {
        let name: String = c[i..i + len].iter().collect();
        let mut j = i + len + 1; // after '='
        let value: String;
        let quoted = |q: char, j: usize| -> Option<usize> {
            if j < n && c[j] == q {
                c[j + 1..].iter().position(|&x| x == q).map(|p| j + 1 + p)
            } else {
                None
            }
        };
        if let Some(close) = quoted('"', j).or_else(|| quoted('\'', j)) {
            value = c[j + 1..close].iter().collect();
            j = close + 1;
        } else {
            let s = j;
            while j < n && c[j] != ',' && c[j] != ']' {
                j += 1;
            }
            value = c[s..j].iter().collect();
        }
        // separator: `,` | `\]\s*\[` | `$` | wrngA
        if j < n && c[j] == ',' {
            return Extract::Opt {
                name,
                value,
                end: j + 1,
            };
        }
        if j < n && c[j] == ']' {
            let mut k = j + 1;
            while k < n && c[k].is_whitespace() {
                k += 1;
            }
            if k < n && c[k] == '[' {
                return Extract::Opt {
                    name,
                    value,
                    end: k + 1,
                };
            }
        }
        if j == n || (j == n - 1 && c[j] == '\n') {
            return Extract::Opt {
                name,
                value,
                end: j,
            };
        }
        return Extract::WrongAfter { name, at: j };
    }
    // `,?\s*$`
    let mut k = pos;
    if k < n && c[k] == ',' {
        k += 1;
    }
    if c[k..].iter().all(|x| x.is_whitespace()) {
        return Extract::End;
    }
    Extract::Wrong
}

/// fail2ban's `splitwords`: split on runs of space, comma and newline; strip;
/// drop empties.
pub fn splitwords(s: &str) -> Vec<String> {
    s.split([' ', ',', '\n'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// fail2ban's `splitWithOptions` (`OPTION_SPLIT_CRE.findall`): the specs of an
/// `action =` value, one per whitespace-separated word, where a `[...]`
/// option list may contain spaces and newlines. Each item may carry trailing
/// whitespace; callers strip it.
pub fn split_with_options(s: &str) -> Vec<String> {
    let c: Vec<char> = s.chars().collect();
    let n = c.len();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < n {
        match split_match_at(&c, pos) {
            Some(end) if end > pos => {
                out.push(c[pos..end].iter().collect());
                pos = end;
            }
            _ => pos += 1,
        }
    }
    out
}

fn split_match_at(c: &[char], pos: usize) -> Option<usize> {
    let n = c.len();
    let ws = |i: usize| c[i].is_whitespace();
    // alternative A: name, optional [..], \s*, then lookahead (\s|$)
    let mut name_end = pos;
    while name_end < n && !ws(name_end) && c[name_end] != '[' {
        name_end += 1;
    }
    if name_end > pos {
        let finish = |e: usize| -> Option<usize> {
            let mut e2 = e;
            while e2 < n && ws(e2) {
                e2 += 1;
            }
            if e2 == n {
                Some(e2)
            } else if e2 > e {
                Some(e2 - 1)
            } else {
                None
            }
        };
        // every way the optional [...] group can match, in regex priority order
        for b_end in bracket_group(c, name_end) {
            if let Some(e) = finish(b_end) {
                return Some(e);
            }
        }
        if let Some(e) = finish(name_end) {
            return Some(e);
        }
    }
    // alternative B: \S+
    let mut e = pos;
    while e < n && !ws(e) {
        e += 1;
    }
    (e > pos).then_some(e)
}

/// Every end of `\s*\[\s*(?:NAME=(?:"[^"]*"|'[^']*'|[^,\]]*)\s*(?:,|\]\s*\[)?\s*)*\]`
/// matched at `i`, in the order a backtracking regex engine finds them.
fn bracket_group(c: &[char], i: usize) -> Vec<usize> {
    let n = c.len();
    let mut j = i;
    while j < n && c[j].is_whitespace() {
        j += 1;
    }
    if j >= n || c[j] != '[' {
        return Vec::new();
    }
    j += 1;
    while j < n && c[j].is_whitespace() {
        j += 1;
    }
    let mut memo = std::collections::HashMap::new();
    bracket_items(c, j, &mut memo)
}

/// Ends reachable from `j` by more `NAME=value` items (greedy: more items
/// first) and then the closing `]`.
fn bracket_items(
    c: &[char],
    j: usize,
    memo: &mut std::collections::HashMap<usize, Vec<usize>>,
) -> Vec<usize> {
    if let Some(v) = memo.get(&j) {
        return v.clone();
    }
    memo.insert(j, Vec::new()); // cut cycles (an item always advances, but be safe)
    let n = c.len();
    let skip_ws = |mut k: usize| {
        while k < n && c[k].is_whitespace() {
            k += 1;
        }
        k
    };
    let mut out = Vec::new();
    if let Some(len) = option_name_len(c, j) {
        let v = j + len + 1;
        // value alternatives: "..." | '...' | [^,\]]* (longest first)
        let mut value_ends = Vec::new();
        for q in ['"', '\''] {
            if v < n && c[v] == q {
                if let Some(p) = c[v + 1..].iter().position(|&x| x == q) {
                    value_ends.push(v + 1 + p + 1);
                }
            }
        }
        let mut bare = v;
        while bare < n && c[bare] != ',' && c[bare] != ']' {
            bare += 1;
        }
        value_ends.extend((v..=bare).rev());
        for ve in value_ends {
            let k = skip_ws(ve);
            let mut seps = Vec::new();
            if k < n && c[k] == ',' {
                seps.push(k + 1);
            }
            if k < n && c[k] == ']' {
                let m = skip_ws(k + 1);
                if m < n && c[m] == '[' {
                    seps.push(m + 1);
                }
            }
            seps.push(k);
            for se in seps {
                let k2 = skip_ws(se);
                for e in bracket_items(c, k2, memo) {
                    if !out.contains(&e) {
                        out.push(e);
                    }
                }
            }
        }
    }
    if j < n && c[j] == ']' && !out.contains(&(j + 1)) {
        out.push(j + 1);
    }
    memo.insert(j, out.clone());
    out
}

/// Python `shlex.split(s)` (POSIX mode, no comments).
///
/// # Errors
/// An unclosed quote or a trailing backslash.
pub fn shlex_split(s: &str) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_token = false;
    let mut chars = s.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            c if c.is_whitespace() => {
                if in_token {
                    out.push(std::mem::take(&mut cur));
                    in_token = false;
                }
            }
            '\\' => {
                in_token = true;
                match chars.next() {
                    Some(n) => cur.push(n),
                    None => {
                        return Err(Error::new(ErrorKind::Value("No escaped character".into())))
                    }
                }
            }
            '\'' => {
                in_token = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(n) => cur.push(n),
                        None => {
                            return Err(Error::new(ErrorKind::Value("No closing quotation".into())))
                        }
                    }
                }
            }
            '"' => {
                in_token = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(n) if n == '"' || n == '\\' => cur.push(n),
                            Some(n) => {
                                cur.push('\\');
                                cur.push(n);
                            }
                            None => {
                                return Err(Error::new(ErrorKind::Value(
                                    "No closing quotation".into(),
                                )))
                            }
                        },
                        Some(n) => cur.push(n),
                        None => {
                            return Err(Error::new(ErrorKind::Value("No closing quotation".into())))
                        }
                    }
                }
            }
            c => {
                in_token = true;
                cur.push(c);
            }
        }
    }
    if in_token {
        out.push(cur);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(spec: &str) -> (String, Vec<(String, String)>) {
        parse_spec(spec).unwrap()
    }

    fn kv(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    // Expected results from fail2ban's clientreadertestcase.py (testOptionExtraction).
    #[test]
    fn extract_like_fail2ban() {
        assert_eq!(opts("mail-whois"), ("mail-whois".into(), vec![]));
        assert_eq!(
            opts("mail-whois[name=SSH]"),
            ("mail-whois".into(), kv(&[("name", "SSH")]))
        );
        assert_eq!(
            opts("mail.who_is[foo=bar,bar=\"foo\", baz='x, y']"),
            (
                "mail.who_is".into(),
                kv(&[("foo", "bar"), ("bar", "foo"), ("baz", "x, y")])
            )
        );
        assert_eq!(
            opts("act[a=1][b=2]"),
            ("act".into(), kv(&[("a", "1"), ("b", "2")]))
        );
        assert_eq!(opts("x[opt10=]"), ("x".into(), kv(&[("opt10", "")])));
        assert_eq!(
            opts("x[blocktype?family=inet6=DROP]"),
            ("x".into(), kv(&[("blocktype?family=inet6", "DROP")]))
        );
        assert_eq!(
            parse_spec("joho[foo").unwrap_err().to_string(),
            "unexpected option syntax"
        );
        assert!(parse_spec("x[a=1 b]c]").is_err());
        assert!(parse_spec("x[=1]").is_err());
        assert!(parse_spec("x[a=\"1\" b]").is_err());
        // checked against fail2ban 1.0.2's extractOptions
        assert_eq!(
            parse_spec("m[baz='x, y' ]").unwrap_err().to_string(),
            "unexpected syntax at 10 after option 'baz':  "
        );
        assert_eq!(
            parse_spec("x[ a = 1 ]").unwrap_err().to_string(),
            "expected option, wrong syntax at 0:  a = 1 "
        );
        assert_eq!(opts("x [a=1]"), ("x ".into(), kv(&[("a", "1")])));
        assert_eq!(opts("x[a=1,]\n"), ("x".into(), kv(&[("a", "1")])));
    }

    #[test]
    fn split_actions() {
        let v = split_with_options("a[x=1, y=\"p q\"]\n  b c[z='1\n2']");
        let v: Vec<_> = v.iter().map(|s| s.trim()).collect();
        assert_eq!(v, vec!["a[x=1, y=\"p q\"]", "b", "c[z='1\n2']"]);
        assert_eq!(
            split_with_options("p[a=\"s\"]\n  foo[bar=1]x  baz"),
            vec!["p[a=\"s\"]\n ", "foo[bar=1]x", "baz"]
        );
        // the regex backtracks into the bare value: one spec (fail2ban 1.0.2)
        assert_eq!(
            split_with_options("echo[name=\"x\" y]"),
            vec!["echo[name=\"x\" y]"]
        );
        assert_eq!(splitwords(" a, b\nc,,d "), vec!["a", "b", "c", "d"]);
    }

    #[test]
    fn shlex() {
        assert_eq!(
            shlex_split("_SYSTEMD_UNIT=sshd.service + _COMM=\"a b\\\"\" 'c d'").unwrap(),
            vec!["_SYSTEMD_UNIT=sshd.service", "+", "_COMM=a b\"", "c d"]
        );
        assert!(shlex_split("a 'b").is_err());
    }
}
