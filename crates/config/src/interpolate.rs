//! Value lookup with interpolation, and static `<tag>` substitution.
//!
//! `%(name)s` follows CPython's `BasicInterpolation` plus fail2ban's
//! additions (`configparserinc.py` `BasicInterpolationWithName`,
//! `_map_section_options`, `get_ex`): `%(__name__)s` is the section being
//! read, `%(sec/opt)s`, `%(default/opt)s` and `%(known/opt)s` read raw values
//! from other sections, and the result is always interpolated in the context
//! of the section being read. Nesting deeper than 10 levels is an error, which
//! is how loops end. `<tag>` substitution is fail2ban's
//! `helpers.substituteRecursiveTags`.

use std::borrow::Cow;

use crate::error::{Error, ErrorKind, Pos};
use crate::include::ConfigParser;
use crate::ini::{Section, DEFAULT_SECTION};
use crate::omap::{FastMap, OMap};

/// Extra values visible to a lookup before the section's own (`vars=` in
/// CPython's `get`); keys must be lower-case.
pub type Vars = OMap<String>;

const MAX_INTERPOLATION_DEPTH: usize = 10;

/// The vars lookups of one `get`, in order, with their answers: with the
/// parser unchanged, the same answers give the same value (see
/// `reader::Load::shared_get`).
pub(crate) type Seen = std::cell::RefCell<Vec<(String, Option<String>)>>;

/// The lookup chain of one interpolation level: overlay (fail2ban's
/// `__name__` and `sec/opt` entries), then vars, section, defaults.
#[derive(Clone)]
struct Chain<'a> {
    overlay: crate::omap::FastMap<String, String>,
    vars: &'a Vars,
    section: Option<&'a Section>,
    defaults: &'a Section,
    seen: Option<&'a Seen>,
}

impl Chain<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        if let Some(v) = self.overlay.get(key) {
            return Some(v);
        }
        let v = self.vars.get(key);
        if let Some(seen) = self.seen {
            seen.borrow_mut().push((key.to_string(), v.cloned()));
        }
        if let Some(v) = v {
            return Some(v);
        }
        if let Some(e) = self.section.and_then(|s| s.get(key)) {
            return Some(&e.value);
        }
        self.defaults.get(key).map(|e| e.value.as_str())
    }
}

impl ConfigParser {
    fn raw_entry<'a>(
        &'a self,
        section: &str,
        option: &str,
        vars: &'a Vars,
        seen: Option<&Seen>,
    ) -> Result<(String, Option<Pos>), Error> {
        let sect = self.section_for(section)?;
        let v = vars.get(option);
        if let Some(seen) = seen {
            seen.borrow_mut().push((option.to_string(), v.cloned()));
        }
        if let Some(v) = v {
            return Ok((v.clone(), None));
        }
        if let Some(e) = sect.and_then(|s| s.get(option)) {
            return Ok((e.value.clone(), e.pos.clone()));
        }
        if let Some(e) = self.defaults.get(option) {
            return Ok((e.value.clone(), e.pos.clone()));
        }
        Err(Error::new(ErrorKind::NoOption {
            section: section.to_string(),
            option: option.to_string(),
        }))
    }

    fn section_for(&self, section: &str) -> Result<Option<&Section>, Error> {
        if section == DEFAULT_SECTION {
            return Ok(None);
        }
        match self.sections.get(section) {
            Some(s) => Ok(Some(s)),
            None => Err(Error::new(ErrorKind::NoSection(section.to_string()))),
        }
    }

    /// CPython `ConfigParser.get(section, option, vars=vars)` with fail2ban's
    /// interpolation.
    ///
    /// # Errors
    /// `NoSection`/`NoOption` (see [`Error::is_missing`]), or an
    /// interpolation error naming the file and line of the value.
    pub fn get(&self, section: &str, option: &str, vars: &Vars) -> Result<String, Error> {
        self.get_impl(section, option, vars, false, None)
    }

    /// [`get`](Self::get), recording in `seen` every lookup made in `vars`.
    pub(crate) fn get_seen(
        &self,
        section: &str,
        option: &str,
        vars: &Vars,
        seen: &Seen,
    ) -> Result<String, Error> {
        self.get_impl(section, option, vars, false, Some(seen))
    }

    /// The raw value, without interpolation.
    ///
    /// # Errors
    /// `NoSection`/`NoOption`.
    pub fn get_raw(&self, section: &str, option: &str) -> Result<String, Error> {
        self.get_impl(section, option, &OMap::new(), true, None)
    }

    fn get_impl(
        &self,
        section: &str,
        option: &str,
        vars: &Vars,
        raw: bool,
        seen: Option<&Seen>,
    ) -> Result<String, Error> {
        let option = option.to_lowercase();
        let (value, pos) = self.raw_entry(section, &option, vars, seen)?;
        if raw {
            return Ok(value);
        }
        let chain = Chain {
            overlay: Default::default(),
            vars,
            section: self.section_for(section)?,
            defaults: &self.defaults,
            seen,
        };
        let mut out = String::new();
        self.interpolate_some(section, &option, &mut out, &value, &chain, 1)
            .map_err(|mut e| {
                if e.at.is_none() {
                    e.at = pos;
                }
                e
            })?;
        Ok(out)
    }

    /// fail2ban's `get_ex`: like [`get`](Self::get), but `sec/opt` reads
    /// option `opt` of section `sec` (`known/opt`: the value overridden by a
    /// later file, else the current one; `default/opt`: `[DEFAULT]`).
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn get_ex(&self, section: &str, option: &str, vars: &Vars) -> Result<String, Error> {
        if let Some((sec, opt)) = split_section_option(option) {
            let seclwr = sec.to_lowercase();
            let candidates: Vec<String> = if seclwr == "known" {
                vec![format!("KNOWN/{section}"), section.to_string()]
            } else if seclwr == "default" {
                vec![DEFAULT_SECTION.to_string()]
            } else {
                vec![sec.to_string()]
            };
            for c in candidates {
                match self.get(&c, opt, &OMap::new()) {
                    Ok(v) => return Ok(v),
                    Err(e) if e.is_missing() => {}
                    Err(e) => return Err(e),
                }
            }
        }
        self.get(section, option, vars)
    }

    fn interpolate_some(
        &self,
        section: &str,
        option: &str,
        accum: &mut String,
        rest: &str,
        parent: &Chain<'_>,
        depth: usize,
    ) -> Result<(), Error> {
        let mut map = parent.clone();
        if !section.is_empty() {
            map.overlay
                .insert("__name__".to_string(), section.to_string());
            self.map_section_options(section, rest, &mut map);
        }
        let rawval = || {
            self.get_raw(section, option)
                .unwrap_or_else(|_| rest.to_string())
        };
        if depth > MAX_INTERPOLATION_DEPTH {
            return Err(Error::new(ErrorKind::InterpolationDepth {
                section: section.to_string(),
                option: option.to_string(),
                raw: rawval(),
            }));
        }
        let mut rest = rest;
        while !rest.is_empty() {
            let Some(p) = rest.find('%') else {
                accum.push_str(rest);
                return Ok(());
            };
            accum.push_str(&rest[..p]);
            rest = &rest[p..];
            let syntax = |msg: String| {
                Error::new(ErrorKind::InterpolationSyntax {
                    section: section.to_string(),
                    option: option.to_string(),
                    msg,
                })
            };
            match rest.as_bytes().get(1) {
                Some(b'%') => {
                    accum.push('%');
                    rest = &rest[2..];
                }
                Some(b'(') => {
                    // %\(([^)]+)\)s
                    let close = rest[2..].find(')').map(|i| i + 2);
                    let var = match close {
                        Some(c) if c > 2 && rest[c + 1..].starts_with('s') => {
                            let var = rest[2..c].to_lowercase();
                            rest = &rest[c + 2..];
                            var
                        }
                        _ => {
                            return Err(syntax(format!(
                                "bad interpolation variable reference {}",
                                crate::stream::str_repr(rest)
                            )))
                        }
                    };
                    let Some(v) = map.get(&var) else {
                        return Err(Error::new(ErrorKind::MissingInterpolation {
                            section: section.to_string(),
                            option: option.to_string(),
                            key: var,
                            raw: rawval(),
                        }));
                    };
                    if v.contains('%') {
                        let v = v.to_string();
                        self.interpolate_some(section, option, accum, &v, &map, depth + 1)?;
                    } else {
                        accum.push_str(v);
                    }
                }
                _ => {
                    return Err(syntax(format!(
                        "'%' must be followed by '%' or '(', found: {}",
                        crate::stream::str_repr(rest)
                    )))
                }
            }
        }
        Ok(())
    }

    /// fail2ban's `_map_section_options`: makes `%(sec/opt)s` references in
    /// `rest` resolvable by adding their raw values to the lookup chain.
    fn map_section_options(&self, section: &str, rest: &str, map: &mut Chain<'_>) {
        if !rest.contains('/') || !rest.contains("%(") {
            return;
        }
        for (sopt, opt) in find_section_refs(rest) {
            if map.get(&sopt).is_some() {
                continue;
            }
            let sec = &sopt[..sopt.len() - opt.len() - 1];
            let seclwr = sec.to_lowercase();
            let mut found: Option<String> = None;
            let mut usedef = seclwr == "default";
            if !usedef {
                if seclwr == "known" {
                    match self
                        .sections
                        .get(&format!("KNOWN/{section}"))
                        .and_then(|s| s.get(&opt))
                    {
                        Some(e) => found = Some(e.value.clone()),
                        None => usedef = true,
                    }
                } else {
                    let Some(s) = self.sections.get(sec) else {
                        continue;
                    };
                    match s.get(&opt) {
                        Some(e) => found = Some(e.value.clone()),
                        None => usedef = true,
                    }
                }
            }
            if usedef {
                match self.defaults.get(&opt) {
                    Some(e) => found = Some(e.value.clone()),
                    None => continue,
                }
            }
            if let Some(v) = found {
                map.overlay.insert(sopt, v);
            }
        }
    }
}

/// `^([\w\-]+)/([^\s>]+)$`: a `sec/opt` option name.
pub fn split_section_option(option: &str) -> Option<(&str, &str)> {
    let slash = option.find('/')?;
    let (sec, opt) = (&option[..slash], &option[slash + 1..]);
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    if sec.is_empty() || !sec.chars().all(word) {
        return None;
    }
    if opt.is_empty() || opt.chars().any(|c| c.is_whitespace() || c == '>') {
        return None;
    }
    Some((sec, opt))
}

/// All `%(sec/opt)s` in `s` (`SECTION_OPTSUBST_CRE.findall`): `(sec/opt, opt)`.
fn find_section_refs(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    while let Some(off) = s[i..].find("%(") {
        let start = i + off + 2;
        let rest = &s[start..];
        let sec_len: usize = rest
            .char_indices()
            .find(|&(_, c)| !word(c))
            .map(|(j, _)| j)
            .unwrap_or(rest.len());
        let ok = sec_len > 0 && rest[sec_len..].starts_with('/');
        if ok {
            let after = &rest[sec_len + 1..];
            if let Some(close) = after.find(')') {
                if close > 0 && after[close + 1..].starts_with('s') {
                    let opt = &after[..close];
                    out.push((format!("{}/{}", &rest[..sec_len], opt), opt.to_string()));
                    i = start + sec_len + 1 + close + 2;
                    continue;
                }
            }
        }
        i = i + off + 1;
    }
    out
}

/// fail2ban's limit on how often one tag may be replaced inside one value.
const MAX_TAG_REPLACE_COUNT: usize = 25;

/// Longest value tag substitution may build (real values are a few KiB).
pub const MAX_TAG_VALUE_LEN: usize = 4 * 1024 * 1024;

/// `<([^ <>]+)>` searched from byte `from`: (start, end, name).
fn find_tag(s: &str, from: usize) -> Option<(usize, usize, &str)> {
    let mut i = from;
    // Bytes: `from` may fall inside a multi-byte character after a
    // replacement changed the text before it; `<` is one byte either way.
    while let Some(off) = s.as_bytes().get(i..)?.iter().position(|&b| b == b'<') {
        let start = i + off;
        let rest = &s[start + 1..];
        let len = rest
            .char_indices()
            .find(|&(_, c)| c == ' ' || c == '<' || c == '>')
            .map(|(j, _)| j)
            .unwrap_or(rest.len());
        if len > 0 && rest[len..].starts_with('>') {
            return Some((start, start + 1 + len + 1, &rest[..len]));
        }
        i = start + 1;
    }
    None
}

/// [`find_tag`] with the name copied into `buf`.
fn next_tag(s: &str, from: usize, buf: &mut String) -> Option<(usize, usize)> {
    let (start, end, name) = find_tag(s, from)?;
    buf.clear();
    buf.push_str(name);
    Some((start, end))
}

/// fail2ban's `substituteRecursiveTags`: replaces `<tag>` in every value by
/// the value of option `tag` (or by `addrepl(tag)` when there is none),
/// repeatedly, leaving unknown tags and tags in `ignore` untouched. `None`
/// values stay `None`.
///
/// # Errors
/// A self-referencing definition, or one replaced more than 25 times.
pub fn substitute_recursive_tags(
    input: &OMap<Option<String>>,
    ignore: &[String],
    mut addrepl: impl FnMut(&str) -> Result<Option<String>, Error>,
) -> Result<OMap<Option<String>>, Error> {
    let mut tags = input.clone();
    let mut done: std::collections::HashSet<String, foldhash::fast::RandomState> =
        Default::default();
    let mut rep_counts: FastMap<String, FastMap<String, usize>> = Default::default();
    let keys: Vec<String> = tags.keys().map(str::to_string).collect();
    let mut added: FastMap<String, Option<String>> = Default::default();
    // The tag found last, in one buffer instead of a new string per find.
    let mut rtag = String::new();
    loop {
        let mut rep_flag = false;
        for tag in &keys {
            if ignore.contains(tag) || done.contains(tag) {
                continue;
            }
            let orgval: &str = match tags.get(tag) {
                Some(Some(v)) => v,
                _ => "None",
            };
            // Borrowed until a replacement: most values keep only runtime
            // tags (`<ip>`), and copying them at every pass was most of
            // the work.
            let mut value: Cow<'_, str> = Cow::Borrowed(orgval);
            // Python keeps the counts dict by reference once stored.
            let stored = rep_counts.contains_key(tag);
            let mut rplc = rep_counts.get(tag).cloned().unwrap_or_default();
            let mut m = next_tag(&value, 0, &mut rtag);
            while let Some((mstart, mend)) = m {
                if ignore.contains(&rtag) {
                    m = next_tag(&value, mend, &mut rtag);
                    continue;
                }
                if rtag == *tag || rplc.get(&rtag).copied().unwrap_or(1) > MAX_TAG_REPLACE_COUNT {
                    let mut counts: Vec<_> = rplc.iter().collect();
                    counts.sort();
                    return Err(Error::new(ErrorKind::RecursiveTags(format!(
                        "properties contain self referencing definitions and cannot be resolved, fail tag: {tag}, found: {rtag} in {counts:?}, value: {value}"
                    ))));
                }
                let repl: Option<&str> = match tags.get(&rtag) {
                    Some(Some(v)) => Some(v),
                    _ => {
                        // `addrepl` answers the same for a name within one
                        // call (its reader memoizes it); runtime tags such
                        // as `<ip>` are met at every pass over every value.
                        if !added.contains_key(&rtag) {
                            let v = addrepl(&rtag)?;
                            added.insert(rtag.clone(), v);
                        }
                        added.get(&rtag).and_then(|v| v.as_deref())
                    }
                };
                let Some(repl) = repl else {
                    m = next_tag(&value, mend, &mut rtag);
                    continue;
                };
                let pat = format!("<{rtag}>");
                // Checked before replacing: one replace can multiply the size.
                // Counted only when the most matches there can be might
                // pass the limit.
                let bound = (value.len() / pat.len()).saturating_mul(repl.len());
                let grown = if value.len().saturating_add(bound) > MAX_TAG_VALUE_LEN {
                    value.matches(&pat).count().saturating_mul(repl.len())
                } else {
                    bound
                };
                if value.len().saturating_add(grown) > MAX_TAG_VALUE_LEN {
                    // fail2ban grows such a value until Python's MemoryError
                    // ends the configuration; an error here ends it the same
                    // way without exhausting memory.
                    return Err(Error::new(ErrorKind::RecursiveTags(format!(
                        "value of {tag} grows beyond {MAX_TAG_VALUE_LEN} bytes while replacing <{rtag}>"
                    ))));
                }
                value = Cow::Owned(value.replace(&pat, repl));
                match rplc.get_mut(&rtag) {
                    Some(c) => *c += 1,
                    None => {
                        rplc.insert(rtag.clone(), 1);
                    }
                }
                m = next_tag(&value, mstart, &mut rtag);
            }
            let changed = match value {
                Cow::Owned(v) if v != orgval => Some(v),
                _ => None,
            };
            let has_lt = match &changed {
                Some(v) => v.contains('<'),
                None => orgval.contains('<'),
            };
            if let Some(v) = changed {
                if find_tag(&v, 0).is_some() {
                    rep_counts.insert(tag.clone(), rplc.clone());
                    rep_flag = true;
                }
                tags.insert(tag.clone(), Some(v));
            }
            if stored {
                rep_counts.insert(tag.clone(), rplc);
            }
            if !has_lt {
                done.insert(tag.clone());
            }
        }
        if !rep_flag {
            break;
        }
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ini::{parse, Entry};
    use std::path::PathBuf;
    use std::sync::Arc;

    fn cp(text: &str) -> ConfigParser {
        ConfigParser::from_file(&parse(Arc::new(PathBuf::from("t.conf")), text).unwrap())
    }

    #[test]
    fn basic_and_name() {
        let c = cp("[DEFAULT]\nfilter = %(__name__)s[mode=%(mode)s]\nmode = normal\n[sshd]\nmode = aggressive\nx = 100%%\n");
        assert_eq!(
            c.get("sshd", "filter", &OMap::new()).unwrap(),
            "sshd[mode=aggressive]"
        );
        assert_eq!(c.get("sshd", "x", &OMap::new()).unwrap(), "100%");
        let mut vars = OMap::new();
        vars.insert("mode", "extra".to_string());
        assert_eq!(c.get("sshd", "filter", &vars).unwrap(), "sshd[mode=extra]");
    }

    #[test]
    fn errors_name_file_line() {
        let c = cp("[s]\na = %(b)s\nb = %(a)s\nc = %(nope)s\nd = 5%\n");
        let e = c.get("s", "a", &OMap::new()).unwrap_err();
        assert!(
            matches!(e.kind, ErrorKind::InterpolationDepth { .. }),
            "{e}"
        );
        assert_eq!(e.at.as_ref().unwrap().line, 2);
        let e = c.get("s", "c", &OMap::new()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("t.conf:4: Bad value substitution"),
            "{e}"
        );
        assert!(c.get("s", "d", &OMap::new()).is_err());
    }

    #[test]
    fn section_refs() {
        let mut c = cp("[DEFAULT]\nz = dz\n[a]\nx = ax %(y)s\n[b]\ny = by\nr = %(a/x)s|%(default/z)s|%(known/y)s\n");
        // no KNOWN/b and no [DEFAULT] y: `known/y` is unknown (as in fail2ban)
        assert!(c.get("b", "r", &OMap::new()).is_err());
        let mut known = OMap::new();
        known.insert("y", Entry::synthetic("old"));
        c.merge_section("KNOWN/b", &known, "");
        assert_eq!(c.get("b", "r", &OMap::new()).unwrap(), "ax by|dz|old");
        assert_eq!(c.get_ex("b", "known/y", &OMap::new()).unwrap(), "old");
        // get_ex reads `a/x` in section a, where `y` is unknown
        assert!(c.get_ex("b", "a/x", &OMap::new()).is_err());
        assert_eq!(c.get_ex("b", "default/z", &OMap::new()).unwrap(), "dz");
    }

    #[test]
    fn tags() {
        let mut m: OMap<Option<String>> = OMap::new();
        m.insert("a", Some("<b>-<c>".into()));
        m.insert("b", Some("B<c>".into()));
        m.insert("c", Some("C".into()));
        m.insert("d", Some("<ip> <d2>".into()));
        let r = substitute_recursive_tags(&m, &[], |t| Ok((t == "d2").then(|| "X".to_string())))
            .unwrap();
        assert_eq!(r.get("a").unwrap().as_deref(), Some("BC-C"));
        assert_eq!(r.get("d").unwrap().as_deref(), Some("<ip> X"));
        let mut m: OMap<Option<String>> = OMap::new();
        m.insert("a", Some("<a>".into()));
        assert!(substitute_recursive_tags(&m, &[], |_| Ok(None)).is_err());
    }
}
