//! Several INI files merged into one parser the way fail2ban's
//! `SafeConfigParserWithIncludes.read` does (`configparserinc.py`).
//!
//! Takes a list of files (already in `x.conf`, `x.d/*.conf`, `x.local`,
//! `x.d/*.local` order, see `reader::configreader`); expands each with its
//! `.local` sibling and its `[INCLUDES] before/after` files, recursively;
//! parses every file on its own (so `strict` applies per file) and merges them
//! in order. Guarantees fail2ban's merge rules: `[DEFAULT]` is `update()`d,
//! sections are `update()`d with the overridden old values saved in
//! `KNOWN/<section>`, and a conditional section `[X?cond]` lands in `X` with
//! its keys renamed `key?cond`. A file that does not exist is skipped
//! silently, as fail2ban does; a file that exists but does not parse is an
//! error.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, ErrorKind};
use crate::ini::{self, Entry, IniFile, Section};
use crate::omap::OMap;

/// The name of the include section.
pub const INCLUDES: &str = "INCLUDES";

/// A merged configuration: CPython `ConfigParser` state (`_defaults`,
/// `_sections`) after fail2ban's include-aware read.
#[derive(Debug, Clone, Default)]
pub struct ConfigParser {
    /// `[DEFAULT]`.
    pub defaults: Section,
    /// All sections, including the hidden `KNOWN/<name>` ones, in first-seen order.
    pub sections: OMap<Section>,
}

/// Parsed files, shared by every reader of one configuration load (fail2ban's
/// `share_config`): each file is read and parsed once.
#[derive(Debug, Default)]
pub struct FileCache {
    files: crate::omap::FastMap<PathBuf, Option<Arc<IniFile>>>,
}

impl FileCache {
    /// An empty cache.
    pub fn new() -> FileCache {
        FileCache::default()
    }

    /// The parsed file, or `None` if it cannot be opened (CPython's `read`
    /// skips those silently).
    ///
    /// # Errors
    /// The file exists but is not valid UTF-8 or not valid INI.
    pub fn load(&mut self, path: &Path) -> Result<Option<Arc<IniFile>>, Error> {
        if let Some(f) = self.files.get(path) {
            return Ok(f.clone());
        }
        let parsed = match std::fs::read(path) {
            Ok(bytes) if path.is_file() => {
                let text = String::from_utf8(bytes).map_err(|e| {
                    Error::new(ErrorKind::Io {
                        path: path.to_path_buf(),
                        msg: format!("Error decoding config file: {e}"),
                    })
                })?;
                Some(Arc::new(ini::parse(Arc::new(path.to_path_buf()), &text)?))
            }
            _ => None,
        };
        self.files.insert(path.to_path_buf(), parsed.clone());
        Ok(parsed)
    }
}

/// `<file-without-ext>.local` right after each file, if it exists and is not
/// already listed (`_expandConfFilesWithLocal`).
fn expand_with_local(files: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for f in files {
        out.push(f.clone());
        let local = splitext(f) + ".local";
        let local = PathBuf::from(local);
        if !files.contains(&local) && local.is_file() {
            out.push(local);
        }
    }
    out
}

/// Python `os.path.splitext(p)[0]`: strip the last extension of the last
/// component (a leading dot does not start an extension).
fn splitext(p: &Path) -> String {
    let s = p.to_string_lossy();
    let base_start = s.rfind('/').map(|i| i + 1).unwrap_or(0);
    let base = &s[base_start..];
    let stem_len = base.len() - base.trim_start_matches('.').len();
    match base[stem_len..].rfind('.') {
        Some(dot) => s[..base_start + stem_len + dot].to_string(),
        None => s.to_string(),
    }
}

/// Every file to read for `files`, with `.local` siblings and includes, in
/// fail2ban's order (`_getIncludes`).
///
/// # Errors
/// A file (or included file) that exists but does not parse.
pub fn get_includes(
    cache: &mut FileCache,
    files: &[PathBuf],
    seen: &[PathBuf],
) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for f in expand_with_local(files) {
        out.extend(includes_of(cache, &f, seen)?);
    }
    Ok(out)
}

fn includes_of(
    cache: &mut FileCache,
    resource: &Path,
    seen: &[PathBuf],
) -> Result<Vec<PathBuf>, Error> {
    let Some(ini) = cache.load(resource)? else {
        return Ok(Vec::new());
    };
    let dir = resource.parent().unwrap_or(Path::new(""));
    let mut before = Vec::new();
    let mut after = Vec::new();
    if ini.sections.contains_key(INCLUDES) {
        let single = ConfigParser::from_file(&ini);
        for (opt, list) in [("before", &mut before), ("after", &mut after)] {
            let has = ini
                .sections
                .get(INCLUDES)
                .is_some_and(|s| s.contains_key(opt))
                || ini.defaults.contains_key(opt);
            if !has {
                continue;
            }
            let value = single.get(INCLUDES, opt, &OMap::new())?;
            let pos = ini
                .sections
                .get(INCLUDES)
                .and_then(|s| s.get(opt))
                .or_else(|| ini.defaults.get(opt))
                .and_then(|e| e.pos.clone());
            for line in value.split('\n') {
                if line.trim().is_empty() {
                    continue;
                }
                let r = if Path::new(line).is_absolute() {
                    PathBuf::from(line)
                } else {
                    dir.join(line)
                };
                if seen.contains(&r) {
                    continue;
                }
                // fail2ban skips any missing include silently; ironban only
                // skips missing `.local` files (the optional override hook)
                // and reports a missing `.conf` (see docs/config.md).
                let optional = r.extension().is_some_and(|e| e == "local");
                if !optional && cache.load(&r)?.is_none() {
                    return Err(Error::at(
                        ErrorKind::MissingInclude {
                            include: line.to_string(),
                            path: r,
                        },
                        pos,
                    ));
                }
                let mut s = seen.to_vec();
                s.push(resource.to_path_buf());
                list.extend(get_includes(cache, &[r], &s)?);
            }
        }
    }
    let mut out = before;
    out.push(resource.to_path_buf());
    out.extend(after);
    Ok(out)
}

/// Python `re.match(r"^(\w+)(\?.+)$", name)`: a conditional section name
/// split into base and `?cond`.
pub fn split_conditional(name: &str) -> Option<(&str, &str)> {
    let q = name.find('?')?;
    let (base, cond) = name.split_at(q);
    let word = |c: char| c.is_alphanumeric() || c == '_';
    if base.is_empty() || !base.chars().all(word) || cond.len() < 2 || cond.contains('\n') {
        return None;
    }
    Some((base, cond))
}

impl ConfigParser {
    /// A parser holding exactly one file (no merging rules applied).
    pub fn from_file(ini: &IniFile) -> ConfigParser {
        ConfigParser {
            defaults: ini.defaults.clone(),
            sections: ini.sections.clone(),
        }
    }

    /// Reads `files` with their includes and merges them in; returns the
    /// files actually read, in order (fail2ban logs them as "Loading files").
    ///
    /// # Errors
    /// A file that exists but does not parse.
    pub fn read(
        &mut self,
        cache: &mut FileCache,
        files: &[PathBuf],
    ) -> Result<Vec<PathBuf>, Error> {
        let full = get_includes(cache, files, &[])?;
        let mut read = Vec::new();
        for f in full {
            if let Some(ini) = cache.load(&f)? {
                read.push(f);
                self.merge(&ini);
            }
        }
        Ok(read)
    }

    /// Merges one parsed file (the loop body of `read`).
    pub fn merge(&mut self, ini: &IniFile) {
        self.defaults.update(&ini.defaults);
        for (name, s) in ini.sections.iter() {
            let (name, s) = match split_conditional(name) {
                Some((base, cond)) => {
                    let renamed: Section = s
                        .iter()
                        .map(|(k, v)| (format!("{k}{cond}"), v.clone()))
                        .collect();
                    (base, renamed)
                }
                None => (name, s.clone()),
            };
            if let Some(s2) = self.sections.get(name) {
                let known: Section = s2
                    .iter()
                    .filter(|(k, _)| s.contains_key(k))
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect();
                self.merge_section(&format!("KNOWN/{name}"), &known, "");
                self.sections.get_mut(name).expect("present").update(&s);
            } else {
                self.sections.insert(name, s);
            }
        }
    }

    /// fail2ban's `merge_section`: adds `options` to `section` (created if
    /// missing), each key prefixed with `pref` (keys already starting with it,
    /// and `__name__`, are left out when a prefix is given).
    pub fn merge_section(&mut self, section: &str, options: &Section, pref: &str) {
        if !self.sections.contains_key(section) {
            self.sections.insert(section, OMap::new());
        }
        let sec = self.sections.get_mut(section).expect("inserted");
        if pref.is_empty() {
            sec.update(options);
            return;
        }
        for (k, v) in options.iter() {
            if !k.starts_with(pref) && k != "__name__" {
                sec.insert(format!("{pref}{k}"), v.clone());
            }
        }
    }

    /// Sets `[DEFAULT]` values (fail2ban's `merge_defaults`).
    pub fn merge_defaults(&mut self, values: &[(&str, &str)]) {
        for (k, v) in values {
            self.defaults.insert(*k, Entry::synthetic(*v));
        }
    }

    /// Visible section names (without `KNOWN/*`), in order.
    pub fn section_names(&self) -> impl Iterator<Item = &str> {
        self.sections.keys().filter(|n| !n.starts_with("KNOWN/"))
    }

    /// Whether `section` exists (`DEFAULT` does not count, as in CPython).
    pub fn has_section(&self, section: &str) -> bool {
        self.sections.contains_key(section)
    }

    /// Whether `section` (or, with `with_default`, `[DEFAULT]`) has `option`.
    pub fn has_option(&self, section: &str, option: &str, with_default: bool) -> bool {
        let own = self
            .sections
            .get(section)
            .is_some_and(|s| s.contains_key(option));
        own || (with_default && self.has_section(section) && self.defaults.contains_key(option))
    }

    /// The section's own option names, in order.
    pub fn own_options(&self, section: &str) -> Vec<String> {
        self.sections
            .get(section)
            .map(|s| s.keys().map(str::to_string).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitext_like_python() {
        assert_eq!(splitext(Path::new("/a/b.conf")), "/a/b");
        assert_eq!(splitext(Path::new("/a.d/b")), "/a.d/b");
        assert_eq!(splitext(Path::new("/a/.hidden")), "/a/.hidden");
        assert_eq!(splitext(Path::new("x.tar.gz")), "x.tar");
    }

    #[test]
    fn conditional_names() {
        assert_eq!(
            split_conditional("Init?family=inet6"),
            Some(("Init", "?family=inet6"))
        );
        assert_eq!(split_conditional("Init"), None);
        assert_eq!(split_conditional("a b?x"), None);
    }
}
