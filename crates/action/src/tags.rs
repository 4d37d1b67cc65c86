//! `<tag>` substitution in action commands (fail2ban: helpers.py
//! `substituteRecursiveTags`, action.py `replaceTag`, `replaceDynamicTags`,
//! `escapeTag`, utils.py `buildShellCmd`).
//!
//! Two kinds of values fill tags:
//! * **properties** of the action (its options): trusted, substituted
//!   recursively, with `?family=` conditional variants preferred;
//! * **dynamic tags** of a ban (`<ip>`, `<matches>`, `<F-USER>` ...): foreign
//!   input, substituted once and never re-scanned. A value holding a shell
//!   metacharacter is not pasted into the script: it becomes `$f2bV_<tag>`
//!   and travels as a positional argument of `/bin/sh -c` (internals §E.1).

use std::collections::{BTreeMap, HashMap};

use crate::error::{Error, Result};

/// fail2ban's `MAX_TAG_REPLACE_COUNT`.
pub const MAX_TAG_REPLACE_COUNT: u32 = 25;

/// Longest value substitution may build. Tags that multiply each other grow
/// a value exponentially within the 25 replacements; fail2ban runs until
/// Python's MemoryError, ironban stops with [`Error::SelfReferencing`].
pub const MAX_TAG_VALUE_LEN: usize = 4 * 1024 * 1024;

fn too_long(tag: &str, value: &str) -> Error {
    let mut end = 200.min(value.len());
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    Error::SelfReferencing {
        tag: tag.to_string(),
        value: format!("{}... (beyond {MAX_TAG_VALUE_LEN} bytes)", &value[..end]),
    }
}

/// Tags whose property values are backslash-escaped (fail2ban:
/// `CommandAction._escapedTags`).
pub const ESCAPED_TAGS: [&str; 3] = ["matches", "ipmatches", "ipjailmatches"];

/// Property values: `None` is Python's `None` (present but unusable).
pub type Properties = BTreeMap<String, Option<String>>;

/// The host names for `<fq-hostname>` and `<sh-hostname>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostNames {
    /// Fully qualified host name.
    pub fq: String,
    /// Short host name.
    pub short: String,
}

impl HostNames {
    /// This machine's names (fail2ban: `DNSUtils.getHostname`: the short
    /// name is `gethostname()` as it is, the FQDN its canonical name).
    pub fn system() -> HostNames {
        let short = hostname().unwrap_or_else(|| "localhost".to_string());
        let fq = fqdn(&short).unwrap_or_else(|| short.clone());
        HostNames { fq, short }
    }

    /// fail2ban's `ADD_REPL_TAGS`: `<br>`, `<sp>`, the host names.
    pub fn add_repl(&self, tag: &str) -> Option<&str> {
        match tag {
            "br" => Some("\n"),
            "sp" => Some(" "),
            "fq-hostname" => Some(&self.fq),
            "sh-hostname" => Some(&self.short),
            _ => None,
        }
    }
}

fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: buf is valid for buf.len() bytes; gethostname NUL-terminates
    // on success when the name fits.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Some(String::from_utf8_lossy(&buf[..end]).into_owned())
}

fn fqdn(short: &str) -> Option<String> {
    use std::ffi::{CStr, CString};
    let name = CString::new(short).ok()?;
    let hints = libc::addrinfo {
        ai_flags: libc::AI_CANONNAME,
        ai_family: libc::AF_UNSPEC,
        ai_socktype: 0,
        ai_protocol: 0,
        ai_addrlen: 0,
        ai_addr: std::ptr::null_mut(),
        ai_canonname: std::ptr::null_mut(),
        ai_next: std::ptr::null_mut(),
    };
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: valid C string and hints; res is freed below.
    let rc = unsafe { libc::getaddrinfo(name.as_ptr(), std::ptr::null(), &hints, &mut res) };
    if rc != 0 || res.is_null() {
        return None;
    }
    // SAFETY: res is a valid list returned by getaddrinfo.
    let out = unsafe {
        let c = (*res).ai_canonname;
        let s = if c.is_null() {
            None
        } else {
            Some(CStr::from_ptr(c).to_string_lossy().into_owned())
        };
        libc::freeaddrinfo(res);
        s
    };
    out
}

/// One `<name>` occurrence: byte range and the name.
#[derive(Debug, Clone, Copy)]
struct TagMatch<'a> {
    start: usize,
    end: usize,
    name: &'a str,
}

/// fail2ban's `TAG_CRE = <([^ <>]+)>` searched from `from`: the leftmost
/// match, so in `<<PREF>HOST>` the inner `<PREF>` is found first.
fn find_tag(s: &str, from: usize) -> Option<TagMatch<'_>> {
    let b = s.as_bytes();
    let mut i = from;
    while i < b.len() {
        if b[i] == b'<' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b' ' && b[j] != b'<' && b[j] != b'>' {
                j += 1;
            }
            if j > i + 1 && j < b.len() && b[j] == b'>' {
                return Some(TagMatch {
                    start: i,
                    end: j + 1,
                    name: &s[i + 1..j],
                });
            }
        }
        i += 1;
    }
    None
}

/// Replaces every tag in one left-to-right pass (Python `TAG_CRE.sub`).
fn sub_tags(s: &str, f: impl FnMut(&str) -> Option<String>) -> String {
    sub_tags_bounded(s, usize::MAX, f).unwrap_or_default()
}

/// [`sub_tags`], giving up (`None`) once the result would exceed `max` bytes.
fn sub_tags_bounded(
    s: &str,
    max: usize,
    mut f: impl FnMut(&str) -> Option<String>,
) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut pos = 0;
    while let Some(m) = find_tag(s, pos) {
        out.push_str(&s[pos..m.start]);
        match f(m.name) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&s[m.start..m.end]),
        }
        if out.len() > max {
            return None;
        }
        pos = m.end;
    }
    out.push_str(&s[pos..]);
    (out.len() <= max).then_some(out)
}

/// Resolves property values against each other until stable (fail2ban:
/// `substituteRecursiveTags(tags, conditional, ignore)`). Missing tags stay
/// as they are; `tag?<conditional>` is preferred when `conditional` is set.
///
/// # Errors
/// [`Error::SelfReferencing`] when a value refers to its own key, or a tag
/// is replaced more than [`MAX_TAG_REPLACE_COUNT`] times in one value.
pub fn substitute_recursive(
    input: &Properties,
    conditional: &str,
    ignore: &[&str],
) -> Result<Properties> {
    let mut tags = input.clone();
    let mut done: std::collections::HashSet<String> = Default::default();
    let mut rep_counts: HashMap<String, HashMap<String, u32>> = HashMap::new();
    let keys: Vec<String> = tags.keys().cloned().collect();
    loop {
        let mut rep_flag = false;
        for tag in &keys {
            if ignore.contains(&tag.as_str()) || done.contains(tag) {
                continue;
            }
            let Some(orgval) = tags.get(tag).cloned().flatten() else {
                // Python's str(None) holds no tag: done.
                done.insert(tag.clone());
                continue;
            };
            let mut value = orgval.clone();
            let known = rep_counts.contains_key(tag);
            let mut rplc = rep_counts.get(tag).cloned().unwrap_or_default();
            let mut m = find_tag(&value, 0).map(|m| (m.start, m.end, m.name.to_string()));
            while let Some((start, end, rtag)) = m {
                if ignore.contains(&rtag.as_str()) {
                    m = find_tag(&value, end).map(|m| (m.start, m.end, m.name.to_string()));
                    continue;
                }
                if &rtag == tag || rplc.get(&rtag).copied().unwrap_or(1) > MAX_TAG_REPLACE_COUNT {
                    return Err(Error::SelfReferencing {
                        tag: tag.clone(),
                        value,
                    });
                }
                let mut repl: Option<String> = None;
                if !conditional.is_empty() {
                    repl = tags
                        .get(&format!("{rtag}?{conditional}"))
                        .cloned()
                        .flatten();
                }
                if repl.is_none() {
                    repl = tags.get(&rtag).cloned().flatten();
                }
                let Some(repl) = repl else {
                    m = find_tag(&value, end).map(|m| (m.start, m.end, m.name.to_string()));
                    continue;
                };
                let pat = format!("<{rtag}>");
                // Checked before replacing: one replace can multiply the size.
                let grown = value.matches(&pat).count().saturating_mul(repl.len());
                if value.len().saturating_add(grown) > MAX_TAG_VALUE_LEN {
                    return Err(too_long(tag, &value));
                }
                value = value.replace(&pat, &repl);
                *rplc.entry(rtag).or_insert(0) += 1;
                m = find_tag(&value, start).map(|m| (m.start, m.end, m.name.to_string()));
            }
            if known {
                rep_counts.insert(tag.clone(), rplc.clone());
            }
            if orgval != value {
                if find_tag(&value, 0).is_some() {
                    rep_counts.insert(tag.clone(), rplc);
                    rep_flag = true;
                }
                tags.insert(tag.clone(), Some(value.clone()));
            }
            if !value.contains('<') {
                done.insert(tag.clone());
            }
        }
        if !rep_flag {
            break;
        }
    }
    Ok(tags)
}

/// Backslash-escapes shell metacharacters; newline becomes `\n`, CR `\r`
/// (fail2ban: `CommandAction.escapeTag`).
pub fn escape_tag(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if is_shell_special(c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// fail2ban's `ESCAPE_CRE` class: ``[\\#&;`|*?~<>^()\[\]{}$'"\n\r]``.
pub fn is_shell_special(c: char) -> bool {
    matches!(
        c,
        '\\' | '#'
            | '&'
            | ';'
            | '`'
            | '|'
            | '*'
            | '?'
            | '~'
            | '<'
            | '>'
            | '^'
            | '('
            | ')'
            | '['
            | ']'
            | '{'
            | '}'
            | '$'
            | '\''
            | '"'
            | '\n'
            | '\r'
    )
}

/// Substitutes an (already recursively resolved) property set into `query`,
/// repeating until stable (fail2ban: `replaceTag` with a plain dict).
/// Unknown tags fall back to `<br>`, `<sp>` and the host names, else stay.
///
/// # Errors
/// [`Error::SelfReferencing`] after 26 passes that still change the text.
pub fn replace_tag(
    query: &str,
    props: &Properties,
    conditional: &str,
    hosts: &HostNames,
) -> Result<String> {
    if !query.contains('<') {
        return Ok(query.to_string());
    }
    let mut query = query.to_string();
    let mut count = MAX_TAG_REPLACE_COUNT + 1;
    loop {
        let value = sub_tags_bounded(&query, MAX_TAG_VALUE_LEN, |tag| {
            let mut v: Option<&String> = None;
            if !conditional.is_empty() {
                v = props
                    .get(&format!("{tag}?{conditional}"))
                    .and_then(Option::as_ref);
            }
            if v.is_none() {
                v = props.get(tag).and_then(Option::as_ref);
            }
            match v {
                Some(v) if ESCAPED_TAGS.contains(&tag) => Some(escape_tag(v)),
                Some(v) => Some(v.clone()),
                None => hosts.add_repl(tag).map(str::to_string),
            }
        });
        let Some(value) = value else {
            return Err(too_long("", &query));
        };
        if value == query || !value.contains('<') {
            return Ok(value);
        }
        query = value;
        count -= 1;
        if count == 0 {
            return Err(Error::SelfReferencing {
                tag: String::new(),
                value: query,
            });
        }
    }
}

/// A source of dynamic (per-ban) tag values.
pub trait DynamicTags {
    /// The value of `<tag>`, or `None` if this source does not know it.
    fn get(&self, tag: &str) -> Option<String>;
    /// A value captured by the filter, by lower-case name (`user`, `fport`);
    /// `None` renders as the empty string.
    fn ticket_data(&self, key: &str) -> Option<String>;
}

/// Only `<family>`: what fail2ban substitutes into start/stop/check
/// commands before running them (`_getOperation`).
pub struct FamilyOnly<'a>(pub &'a str);

impl DynamicTags for FamilyOnly<'_> {
    fn get(&self, tag: &str) -> Option<String> {
        (tag == "family").then(|| self.0.to_string())
    }
    fn ticket_data(&self, _key: &str) -> Option<String> {
        None
    }
}

/// A command ready for `/bin/sh -c`: the script and the positional values
/// of its `f2bV_` variables (fail2ban: `buildShellCmd` result).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShellCommand {
    /// The script; starts with `f2bV_x=$0 ... \n` when `vars` is not empty.
    pub script: String,
    /// `(variable, value)` in positional order (`$0`, `$1`, ...).
    pub vars: Vec<(String, String)>,
}

impl ShellCommand {
    /// A script without variables.
    pub fn plain(script: impl Into<String>) -> ShellCommand {
        ShellCommand {
            script: script.into(),
            vars: Vec::new(),
        }
    }
    /// The positional arguments after the script.
    pub fn args(&self) -> Vec<&str> {
        self.vars.iter().map(|(_, v)| v.as_str()).collect()
    }
    /// Nothing to run (fail2ban logs "Nothing to do").
    pub fn is_empty(&self) -> bool {
        self.script.is_empty() && self.vars.is_empty()
    }
}

/// `<F-NAME>` to the ticket data key (fail2ban: `mapTag2Opt`).
fn map_tag_to_opt(tag: &str) -> String {
    let t = tag.to_lowercase();
    match t.as_str() {
        "id" => "fid".to_string(),
        "port" => "fport".to_string(),
        _ => t,
    }
}

fn is_fcustag_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Substitutes dynamic tags once, non-recursively; a value with a shell
/// metacharacter becomes `$f2bV_<tag>` (fail2ban: `replaceDynamicTags`).
pub fn replace_dynamic_tags(cmd: &str, info: &dyn DynamicTags, hosts: &HostNames) -> ShellCommand {
    let mut vars: Vec<(String, String)> = Vec::new();
    let escape_val = |tag: &str, value: String, vars: &mut Vec<(String, String)>| -> String {
        if value.chars().any(is_shell_special) {
            let name: String = tag
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let name = format!("f2bV_{name}");
            match vars.iter_mut().find(|(k, _)| *k == name) {
                Some(slot) => slot.1 = value,
                None => vars.push((name.clone(), value)),
            }
            format!("${name}")
        } else {
            value
        }
    };
    let mut out = sub_tags(cmd, |tag| match info.get(tag) {
        Some(v) => Some(escape_val(tag, v, &mut vars)),
        None => hosts.add_repl(tag).map(str::to_string),
    });
    if out.contains('<') {
        // FCUSTAG_CRE `<F-([A-Z0-9_\-]+)>`, also a leftmost scan.
        let mut res = String::with_capacity(out.len());
        let mut pos = 0;
        let b = out.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'<' && out[i..].starts_with("<F-") {
                if let Some(close) = out[i + 3..].find('>') {
                    let name = &out[i + 3..i + 3 + close];
                    if is_fcustag_name(name) {
                        res.push_str(&out[pos..i]);
                        let key = map_tag_to_opt(name);
                        if let Some(v) = info.ticket_data(&key) {
                            res.push_str(&escape_val(&format!("F_{key}"), v, &mut vars));
                        }
                        i += 3 + close + 1;
                        pos = i;
                        continue;
                    }
                }
            }
            i += 1;
        }
        res.push_str(&out[pos..]);
        out = res;
    }
    if vars.is_empty() {
        return ShellCommand::plain(out);
    }
    let mut stat = String::new();
    for (i, (k, _)) in vars.iter().enumerate() {
        stat.push_str(&format!("{k}=${i} "));
    }
    ShellCommand {
        script: format!("{stat}\n{out}"),
        vars,
    }
}

#[cfg(test)]
mod tests;
