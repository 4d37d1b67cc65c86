//! Required literals: a cheap test that rejects lines a regex cannot match.
//!
//! Takes a Python-syntax regex (tags already expanded) and yields the
//! literal strings every match must contain: the runs of plain characters in
//! the top-level sequence of the pattern (outside groups, classes and
//! optional parts). A buffer lacking one of them cannot match, so the regex
//! engine is not run at all. Anything this scanner does not fully
//! understand (top-level `|`, global inline flags, unusual escapes or
//! braces) yields no literals, i.e. no filtering: it can only ever skip
//! searches that would have failed. (fail2ban has no such step; it is a
//! pure speed-up, verdicts are unchanged.)

/// The literals a pattern requires; empty = accept everything.
#[derive(Debug, Clone, Default)]
pub struct Prefilter {
    /// The text right after a leading `^` (single-line patterns only): the
    /// buffer must start with it. Checked before `literals`.
    prefix: Option<String>,
    literals: Vec<String>,
    /// Per literal, the index of its rarest byte.
    rare: Vec<usize>,
}

/// At most this many literals are checked (the longest ones).
const MAX_LITERALS: usize = 1;

/// With a known prefix this long, a mismatching line fails at once in the
/// regex engine too (the pattern is anchored there), and a line that has
/// the prefix mostly matches: scanning it for a literal costs more than it
/// saves (measured on the stock sshd filter).
const PREFIX_ENOUGH: usize = 4;

/// True when `p` is anchored (`^`) and its first atom (inside any group
/// openers) is a literal character or a positive class: on a line it does
/// not fit, the engine fails at the first byte, sooner than a literal scan
/// would; patterns starting with `.`, `\S`, `\w`, … can run along the line
/// first, and keep their literal (measured on the stock dovecot filter).
fn starts_narrow(p: &str) -> bool {
    let Some(mut rest) = p.strip_prefix('^') else {
        return false;
    };
    loop {
        if let Some(r) = rest.strip_prefix("(?:") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix("(?P<") {
            match r.find('>') {
                Some(e) => rest = &r[e + 1..],
                None => return false,
            }
        } else if let Some(r) = rest.strip_prefix('(') {
            if r.starts_with('?') {
                return false;
            }
            rest = r;
        } else {
            break;
        }
    }
    let b = rest.as_bytes();
    // The first atom's length, if it is narrow.
    let len = match b.first() {
        None | Some(b'.' | b'$' | b'|' | b')' | b'*' | b'+' | b'?' | b'{') => return false,
        Some(b'[') => {
            if b.get(1) == Some(&b'^') {
                return false;
            }
            // The closing `]` (a `]` right after `[` is literal).
            let mut i = 2;
            while i < b.len() && b[i] != b']' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            if i >= b.len() {
                return false;
            }
            i + 1
        }
        Some(b'\\') => match b.get(1) {
            Some(b'S' | b's' | b'W' | b'w' | b'D' | b'd' | b'b' | b'B' | b'A' | b'Z' | b'z')
            | None => return false,
            Some(_) => 2,
        },
        Some(_) => rest.chars().next().map_or(1, char::len_utf8),
    };
    // An optional first atom (`?`, `*`, `{0,…}`, `{,…}`) does not decide
    // the first byte.
    match b.get(len) {
        Some(b'?' | b'*') => false,
        Some(b'{') => matches!(b.get(len + 1), Some(b'1'..=b'9')),
        _ => true,
    }
}

/// Shorter literals are too common in log lines to pay for the scan.
const MIN_LITERAL: usize = 3;

impl Prefilter {
    /// Scans `python` (a Python `re` pattern compiled without IGNORECASE or
    /// VERBOSE flags from outside); `multiline` is `re.MULTILINE`, where
    /// `^` matches after every newline too.
    pub fn new(python: &str, multiline: bool) -> Prefilter {
        let Some(mut literals) = required_literals(python) else {
            return Prefilter::default();
        };
        let prefix = if multiline {
            None
        } else {
            anchored_prefix(python).filter(|p| !p.is_empty())
        };
        // Checked after the prefix: only a literal the prefix does not
        // already imply can reject more.
        literals.retain(|l| {
            l.len() >= MIN_LITERAL && !prefix.as_ref().is_some_and(|p| p.contains(l.as_str()))
        });
        literals.sort_by_key(|l| std::cmp::Reverse(l.len()));
        literals.truncate(MAX_LITERALS);
        if prefix.as_ref().is_some_and(|p| p.len() >= PREFIX_ENOUGH)
            || (!multiline && starts_narrow(python))
        {
            literals.clear();
        }
        let rare = literals
            .iter()
            .map(|l| {
                let b = l.as_bytes();
                (0..b.len())
                    .max_by_key(|&i| (rarity(b[i]), std::cmp::Reverse(i)))
                    .unwrap_or(0)
            })
            .collect();
        Prefilter {
            prefix,
            literals,
            rare,
        }
    }

    /// False when `hay` lacks a required literal (the regex cannot match).
    #[inline]
    pub fn accepts(&self, hay: &str) -> bool {
        if let Some(p) = &self.prefix {
            if !starts_with(hay.as_bytes(), p.as_bytes()) {
                return false;
            }
        }
        self.literals
            .iter()
            .zip(&self.rare)
            .all(|(l, &r)| contains(hay.as_bytes(), l.as_bytes(), r))
    }

    /// The required start of the buffer, if any (for tests).
    pub fn prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    /// The literals checked (for tests).
    pub fn literals(&self) -> &[String] {
        &self.literals
    }
}

/// Byte comparison inlined: needles are a few bytes, a `memcmp` call costs more.
#[inline]
fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

#[inline]
fn starts_with(hay: &[u8], p: &[u8]) -> bool {
    hay.len() >= p.len() && bytes_eq(&hay[..p.len()], p)
}

/// How common a byte is in log text (higher = rarer), to pick which byte
/// of a needle to scan for.
fn rarity(b: u8) -> u8 {
    match b {
        b' ' => 0,
        b'a'..=b'z' => 1,
        b'0'..=b'9' => 2,
        b'A'..=b'Z' => 3,
        _ => 4,
    }
}

/// Substring test without the Two-Way set-up `str::contains` pays per call
/// (haystacks are single log lines, needles short): scans for the needle's
/// rarest byte, then compares around it.
#[inline]
fn contains(hay: &[u8], needle: &[u8], rare: usize) -> bool {
    if needle.is_empty() {
        return true;
    }
    if hay.len() < needle.len() {
        return false;
    }
    let key = needle[rare];
    // Positions of `key` in hay that leave room for the whole needle.
    let (lo, hi) = (rare, hay.len() - needle.len() + rare);
    let mut i = lo;
    while i <= hi {
        match memchr::memchr(key, &hay[i..=hi]) {
            None => return false,
            Some(p) => {
                let at = i + p - rare;
                if bytes_eq(&hay[at..at + needle.len()], needle) {
                    return true;
                }
                i += p + 1;
            }
        }
    }
    false
}

/// The literal text right after a leading `^`, as far as it is certain.
/// It reads through plain groups (`(?P<name>…)`, `(?:…)`, `(…)`) that
/// have no top-level `|` and are not made optional, so fail2ban's tagged
/// starts (`^<F-NOFAIL>Connection from</F-NOFAIL> <HOST>`) get a prefix too.
fn anchored_prefix(p: &str) -> Option<String> {
    let chars: Vec<char> = p.chars().collect();
    if chars.first() != Some(&'^') {
        return None;
    }
    let mut out = String::new();
    prefix_seq(&chars, 1, &mut out);
    Some(out)
}

/// Appends the certain literal start of the sequence at `i` to `out`;
/// returns the index of the `)` closing the sequence when all of it was
/// literal (so the caller may go on after the group), else `None`.
fn prefix_seq(chars: &[char], mut i: usize, out: &mut String) -> Option<usize> {
    loop {
        let (c, next) = match chars.get(i) {
            Some(')') => return Some(i),
            Some('(') => {
                let inner = group_body_start(chars, i)?;
                let end = skip_group(chars, i)?; // index after the `)`
                if has_top_level_bar(&chars[inner..end - 1]) {
                    return None;
                }
                match chars.get(end) {
                    Some('?') | Some('*') | Some('{') => return None,
                    _ => {}
                }
                let closed = prefix_seq(chars, inner, out)?;
                if closed != end - 1 || chars.get(end) == Some(&'+') {
                    return None;
                }
                i = end;
                continue;
            }
            Some('\\') => match chars.get(i + 1) {
                Some(e) if !e.is_ascii_alphanumeric() => (*e, i + 2),
                _ => return None,
            },
            Some(c) if !"[]{}.^$|*+?".contains(*c) => (*c, i + 1),
            _ => return None,
        };
        match chars.get(next) {
            Some('?') | Some('*') | Some('{') => return None,
            Some('+') => {
                out.push(c);
                return None;
            }
            _ => out.push(c),
        }
        i = next;
    }
}

/// Where the body of the group opening at `i` starts, for the plain group
/// kinds a prefix may read through; `None` for look-around, conditionals,
/// flags and the like.
fn group_body_start(chars: &[char], i: usize) -> Option<usize> {
    if chars.get(i + 1) != Some(&'?') {
        return Some(i + 1);
    }
    match chars.get(i + 2) {
        Some(':') => Some(i + 3),
        Some('P') if chars.get(i + 3) == Some(&'<') => {
            let close = chars[i + 4..].iter().position(|&c| c == '>')?;
            Some(i + 4 + close + 1)
        }
        _ => None,
    }
}

/// True when `body` (a group's inside) has a `|` outside nested groups and classes.
fn has_top_level_bar(body: &[char]) -> bool {
    let mut j = 0;
    while j < body.len() {
        match body[j] {
            '\\' => j += 2,
            '|' => return true,
            '[' => match skip_class(body, j) {
                Some(k) => j = k,
                None => return true,
            },
            '(' => match skip_group(body, j) {
                Some(k) => j = k,
                None => return true,
            },
            _ => j += 1,
        }
    }
    false
}

/// `None` when the pattern has a construct that makes literals unsafe.
fn required_literals(p: &str) -> Option<Vec<String>> {
    let chars: Vec<char> = p.chars().collect();
    let mut out = Vec::new();
    let mut run = String::new();
    let mut i = 0;
    let n = chars.len();
    // Ends the current run; `drop_last` when the last char was made optional.
    let flush = |run: &mut String, out: &mut Vec<String>| {
        if !run.is_empty() {
            out.push(std::mem::take(run));
        }
    };
    while i < n {
        let c = chars[i];
        match c {
            '|' => return None,
            ')' => return None, // unbalanced
            '(' => {
                // `(?flags)` applies to the whole pattern: give up.
                if chars.get(i + 1) == Some(&'?') {
                    let mut j = i + 2;
                    while j < n && chars[j].is_ascii_alphabetic() && chars[j] != 'P' {
                        j += 1;
                    }
                    if j > i + 2 && chars.get(j) != Some(&':') && chars.get(j) != Some(&'-') {
                        return None;
                    }
                }
                flush(&mut run, &mut out);
                i = skip_group(&chars, i)?;
                i = skip_quantifier(&chars, i)?;
                continue;
            }
            '[' => {
                flush(&mut run, &mut out);
                i = skip_class(&chars, i)?;
                i = skip_quantifier(&chars, i)?;
                continue;
            }
            '.' | '^' | '$' => {
                flush(&mut run, &mut out);
                i = skip_quantifier(&chars, i + 1)?;
                continue;
            }
            '*' | '+' | '?' | '{' => {
                // A quantifier with nothing we kept before it.
                return None;
            }
            '\\' => {
                let e = *chars.get(i + 1)?;
                if e.is_ascii_alphanumeric() {
                    if !"dDsSwWbBAZntrfva".contains(e) {
                        return None;
                    }
                    flush(&mut run, &mut out);
                    i = skip_quantifier(&chars, i + 2)?;
                    continue;
                }
                i = literal(&chars, i + 2, e, &mut run, &mut out)?;
                continue;
            }
            _ => {
                i = literal(&chars, i + 1, c, &mut run, &mut out)?;
                continue;
            }
        }
    }
    flush(&mut run, &mut out);
    Some(out)
}

/// A literal char `c` ending before `next`: appended, unless a quantifier
/// follows that makes it optional or repeated.
fn literal(
    chars: &[char],
    next: usize,
    c: char,
    run: &mut String,
    out: &mut Vec<String>,
) -> Option<usize> {
    match chars.get(next) {
        Some('?') | Some('*') | Some('{') => {
            if !run.is_empty() {
                out.push(std::mem::take(run));
            }
            skip_quantifier(chars, next)
        }
        Some('+') => {
            run.push(c);
            out.push(std::mem::take(run));
            skip_quantifier(chars, next)
        }
        _ => {
            run.push(c);
            Some(next)
        }
    }
}

/// Skips a quantifier at `i` (with its lazy `?`); `None` on an odd one.
fn skip_quantifier(chars: &[char], mut i: usize) -> Option<usize> {
    match chars.get(i) {
        Some('?') | Some('*') | Some('+') => i += 1,
        Some('{') => {
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == ',') {
                j += 1;
            }
            if chars.get(j) != Some(&'}') {
                return None;
            }
            i = j + 1;
        }
        _ => return Some(i),
    }
    match chars.get(i) {
        Some('?') => Some(i + 1),
        Some('+') | Some('*') | Some('{') => None,
        _ => Some(i),
    }
}

/// Index after the `[...]` class starting at `i`.
fn skip_class(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if chars.get(j) == Some(&'^') {
        j += 1;
    }
    if chars.get(j) == Some(&']') {
        j += 1;
    }
    while j < chars.len() {
        match chars[j] {
            '\\' => j += 2,
            ']' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// Index after the group starting at `i` (nested groups, classes, escapes).
fn skip_group(chars: &[char], i: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut j = i;
    while j < chars.len() {
        match chars[j] {
            '\\' => j += 2,
            '[' => j = skip_class(chars, j)?,
            '(' => {
                depth += 1;
                j += 1;
            }
            ')' => {
                depth -= 1;
                j += 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => j += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn narrow_starts() {
        use super::starts_narrow;
        for p in [
            r"^(?:Aborted login|Disconnected) x",
            r"^[a-z\-]{3,15}\(\S*,",
            r"^(?P<x>pam)\(",
            r"^\[x",
            r"^[iI](?:llegal|nvalid) user",
        ] {
            assert!(starts_narrow(p), "{p}");
        }
        for p in [
            r"^\S+ from",
            r"^.*x",
            r"^a?b",
            r"^[ab]*c",
            r"^[^x]y",
            r"^a{0,2}b",
            r"^(?i)a",
            r"a^",
            r"^\s*x",
        ] {
            assert!(!starts_narrow(p), "{p}");
        }
    }

    use super::Prefilter;

    fn lits(p: &str) -> Vec<String> {
        let mut l = super::required_literals(p).unwrap_or_default();
        l.sort();
        l
    }

    #[test]
    fn anchored_prefix() {
        assert_eq!(
            Prefilter::new(r"^Failed \S+", false).prefix(),
            Some("Failed ")
        );
        assert_eq!(Prefilter::new(r"^ab?c", false).prefix(), Some("a"));
        assert_eq!(Prefilter::new(r"^a\.b+c", false).prefix(), Some("a.b"));
        assert_eq!(Prefilter::new(r"^Failed \S+", true).prefix(), None);
        assert_eq!(Prefilter::new(r"^a|b", false).prefix(), None);
        // Plain groups are read through; optional or alternative ones stop it.
        let pre = |p: &str| Prefilter::new(p, false).prefix().map(str::to_string);
        assert_eq!(
            pre(r"^(?P<nofail>Connection from) (?P<ip4>\d+)"),
            Some("Connection from ".into())
        );
        assert_eq!(
            pre(r"^(?P<a>(?P<b>Accepted \w+)) for"),
            Some("Accepted ".into())
        );
        assert_eq!(pre(r"^(?:ab)?c"), None);
        assert_eq!(pre(r"^(?:ab|cd)e"), None);
        assert_eq!(pre(r"^(?:a(?:b|c))d"), Some("a".into()));
        assert_eq!(pre(r"^(?:ab)+c"), Some("ab".into()));
        assert_eq!(pre(r"^x(?=y)z"), Some("x".into()));
        assert_eq!(pre(r"^(?i:ab)c"), None);
        assert_eq!(pre(r"^(a[|]b)c"), Some("a".into()));
        assert_eq!(pre(r"^(ab)c"), Some("abc".into()));
        assert!(!Prefilter::new(r"^Failed \S+", false).accepts("x Failed y"));
    }

    #[test]
    fn top_level_runs() {
        assert_eq!(lits(r"^Failed (\S+) for x"), vec![" for x", "Failed "]);
        assert_eq!(lits(r"^ab?c"), vec!["a", "c"]);
        assert_eq!(lits(r"ab+c"), vec!["ab", "c"]);
        assert_eq!(lits(r"a\.b\d"), vec!["a.b"]);
        assert_eq!(lits(r"x{2,3}yz"), vec!["yz"]);
        assert_eq!(lits(r"[ab]cd(?:e|f)gh"), vec!["cd", "gh"]);
    }

    #[test]
    fn unsafe_patterns_give_nothing() {
        assert!(lits(r"abc|def").is_empty());
        assert!(lits(r"(?i)abc").is_empty());
        assert!(lits(r"ab\x41c").is_empty());
        assert!(lits(r"ab{c").is_empty());
        assert!(lits(r"(abc").is_empty());
    }

    #[test]
    fn accepts_only_with_all_literals() {
        let p = Prefilter::new(r"Failed \S+ for .* from <x>", false);
        assert!(p.accepts("Failed password for root from <x>"));
        assert!(!p.accepts("Failed password for root from <y>"));
        assert!(Prefilter::new("a|b", false).accepts(""));
        let p = Prefilter::new(r"x LOGIN REFUSED FROM y", false);
        assert!(p.accepts("ab x LOGIN REFUSED FROM y z"));
        assert!(p.accepts("x LOGIN REFUSED FROM y"));
        assert!(!p.accepts("x LOGIN REFUSED FROM"));
        assert!(!p.accepts("LOGIN REFUSED FROM y"));
        for (hay, needle) in [
            ("aab", "ab"),
            ("ab", "ab"),
            ("b", "ab"),
            ("xaXb", "aXb"),
            ("aX", "aXb"),
        ] {
            let r = (0..needle.len())
                .max_by_key(|&i| (super::rarity(needle.as_bytes()[i]), std::cmp::Reverse(i)))
                .unwrap();
            assert_eq!(
                super::contains(hay.as_bytes(), needle.as_bytes(), r),
                hay.contains(needle),
                "{hay} {needle}"
            );
        }
    }
}
