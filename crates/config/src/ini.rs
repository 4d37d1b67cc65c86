//! One INI file in CPython `configparser` dialect, as fail2ban configures it
//! (`configparserinc.py`: `inline_comment_prefixes=(";",)`, strict, with
//! empty lines kept inside values).
//!
//! Takes the text of one file; yields its `[DEFAULT]` options and its
//! sections in file order, each value joined from its continuation lines and
//! tagged with the line it started on. Guarantees CPython's results for the
//! quirky cases: option names lower-cased (section names not), the first `=`
//! or `:` splits, `;` starts a comment only at column 0 or after whitespace,
//! `#` only at the start of a line, a comment line inside a multi-line value
//! is dropped, an empty line inside a value is kept, duplicates in one file
//! are errors.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Pos};
use crate::omap::OMap;

/// One option value with the place it was defined.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The value: continuation lines joined with `\n`, right-stripped.
    pub value: String,
    /// Where the option's first line is; `None` for values fail2ban adds itself.
    pub pos: Option<Pos>,
}

impl Entry {
    /// A value with no source position.
    pub fn synthetic(value: impl Into<String>) -> Entry {
        Entry {
            value: value.into(),
            pos: None,
        }
    }
}

/// The options of one section, in definition order.
pub type Section = OMap<Entry>;

/// One parsed file.
#[derive(Debug, Clone, Default)]
pub struct IniFile {
    /// `[DEFAULT]` options.
    pub defaults: Section,
    /// Every other section, in file order.
    pub sections: OMap<Section>,
}

/// The name of the section whose values every other section sees.
pub const DEFAULT_SECTION: &str = "DEFAULT";

enum Cur {
    None,
    Default,
    Named(String),
}

/// Parses the text of `file`.
///
/// # Errors
/// Duplicate section/option in this file, an option before any section,
/// or a line that is not `name = value` (reported at the first bad line).
pub fn parse(file: Arc<PathBuf>, text: &str) -> Result<IniFile, Error> {
    // Values are collected as pieces and joined at the end, as CPython does.
    let mut defaults: OMap<(Vec<String>, usize)> = OMap::new();
    let mut sections: OMap<OMap<(Vec<String>, usize)>> = OMap::new();
    let mut cur = Cur::None;
    let mut sectname = String::new();
    let mut optname: Option<String> = None;
    let mut indent_level = 0usize;
    let mut added_sections: HashSet<String> = HashSet::new();
    let mut added_options: HashSet<(String, String)> = HashSet::new();
    let mut first_syntax_error: Option<Error> = None;
    let pos = |line: usize| {
        Some(Pos {
            file: file.clone(),
            line,
        })
    };

    let normalized;
    let text = if text.contains('\r') {
        normalized = text.replace("\r\n", "\n").replace('\r', "\n");
        normalized.as_str()
    } else {
        text
    };

    for (idx, line) in text.split_inclusive('\n').enumerate() {
        let lineno = idx + 1;
        let chars: Vec<char> = line.chars().collect();
        let comment_start = comment_start(&chars);
        let value: String = match comment_start {
            Some(c) => chars[..c].iter().collect(),
            None => line.to_string(),
        };
        let value = value.trim();
        if value.is_empty() {
            // empty_lines_in_values: keep a truly empty line (not a comment) in the value.
            if comment_start.is_none() {
                if let Some(opt) = &optname {
                    let sect = match &cur {
                        Cur::None => None,
                        Cur::Default => Some(&mut defaults),
                        Cur::Named(n) => sections.get_mut(n),
                    };
                    if let Some(sect) = sect {
                        if let Some((pieces, _)) = sect.get_mut(opt) {
                            pieces.push(String::new());
                        }
                    }
                }
            }
            continue;
        }
        let cur_indent = chars.iter().position(|c| !c.is_whitespace()).unwrap_or(0);
        let in_section = !matches!(cur, Cur::None);
        if let (true, Some(opt)) = (in_section && cur_indent > indent_level, &optname) {
            let sect = match &cur {
                Cur::Default => Some(&mut defaults),
                Cur::Named(n) => sections.get_mut(n),
                Cur::None => None,
            };
            if let Some((pieces, _)) = sect.and_then(|s| s.get_mut(opt)) {
                pieces.push(value.to_string());
            }
            continue;
        }
        indent_level = cur_indent;
        if let Some(header) = section_header(value) {
            if header == DEFAULT_SECTION {
                cur = Cur::Default;
            } else {
                if sections.contains_key(header) {
                    if added_sections.contains(header) {
                        return Err(Error::at(
                            ErrorKind::DuplicateSection {
                                section: header.to_string(),
                            },
                            pos(lineno),
                        ));
                    }
                } else {
                    sections.insert(header, OMap::new());
                }
                added_sections.insert(header.to_string());
                cur = Cur::Named(header.to_string());
            }
            sectname = header.to_string();
            optname = None;
            continue;
        }
        if matches!(cur, Cur::None) {
            return Err(Error::at(
                ErrorKind::MissingSectionHeader {
                    line: line.trim_end_matches('\n').to_string(),
                },
                pos(lineno),
            ));
        }
        match value.find(['=', ':']) {
            Some(d) => {
                let name = value[..d].trim_end();
                if name.is_empty() && first_syntax_error.is_none() {
                    first_syntax_error = Some(Error::at(
                        ErrorKind::Syntax {
                            line: line.trim_end_matches('\n').to_string(),
                        },
                        pos(lineno),
                    ));
                }
                let name = name.to_lowercase();
                let key = (sectname.clone(), name.clone());
                if added_options.contains(&key) {
                    return Err(Error::at(
                        ErrorKind::DuplicateOption {
                            section: sectname.clone(),
                            option: name,
                        },
                        pos(lineno),
                    ));
                }
                added_options.insert(key);
                let val = value[d + 1..].trim().to_string();
                let sect = match &cur {
                    Cur::Default => &mut defaults,
                    Cur::Named(n) => sections.get_mut(n).expect("current section exists"),
                    Cur::None => unreachable!("checked above"),
                };
                sect.insert(name.clone(), (vec![val], lineno));
                optname = Some(name);
            }
            None => {
                if first_syntax_error.is_none() {
                    first_syntax_error = Some(Error::at(
                        ErrorKind::Syntax {
                            line: line.trim_end_matches('\n').to_string(),
                        },
                        pos(lineno),
                    ));
                }
                // CPython keeps going (and keeps the previous option as the
                // continuation target), then raises at the end.
            }
        }
    }
    if let Some(e) = first_syntax_error {
        return Err(e);
    }
    let join = |m: OMap<(Vec<String>, usize)>| -> Section {
        m.iter()
            .map(|(k, (pieces, line))| {
                (
                    k.to_string(),
                    Entry {
                        value: pieces.join("\n").trim_end().to_string(),
                        pos: pos(*line),
                    },
                )
            })
            .collect()
    };
    let mut out = IniFile {
        defaults: join(defaults),
        sections: OMap::new(),
    };
    for (name, s) in sections.iter() {
        out.sections.insert(name, join(s.clone()));
    }
    Ok(out)
}

/// Where a comment starts on this line, CPython style: the whole line if its
/// stripped text starts with `#` or `;`, else the first `;` at column 0 or
/// after whitespace.
fn comment_start(chars: &[char]) -> Option<usize> {
    let first = chars.iter().find(|c| !c.is_whitespace());
    if matches!(first, Some('#') | Some(';')) {
        return Some(0);
    }
    (0..chars.len()).find(|&i| chars[i] == ';' && (i == 0 || chars[i - 1].is_whitespace()))
}

/// `\[(?P<header>.+)\]` matched at the start of the stripped line (greedy:
/// up to the last `]`).
fn section_header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let close = rest.rfind(']')?;
    if close == 0 {
        // `[]` alone has no header; `[]]` has header `]`.
        let after = &rest[1..];
        return after.rfind(']').map(|c| &rest[..c + 1]);
    }
    Some(&rest[..close])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<IniFile, Error> {
        parse(Arc::new(PathBuf::from("t.conf")), text)
    }

    #[test]
    fn cpython_dialect() {
        let f = p("[DEFAULT]\nA = 1 ; c\n[s]\nKey: v#not ; comment\nm = one\n  # dropped\n\n  two\n\nx=\\S+\n").unwrap();
        assert_eq!(f.defaults.get("a").unwrap().value, "1");
        let s = f.sections.get("s").unwrap();
        assert_eq!(s.get("key").unwrap().value, "v#not");
        assert_eq!(s.get("m").unwrap().value, "one\n\ntwo");
        assert_eq!(s.get("x").unwrap().value, "\\S+");
        assert_eq!(s.get("m").unwrap().pos.as_ref().unwrap().line, 5);
    }

    #[test]
    fn duplicates_are_errors() {
        let e = p("[s]\na=1\nA=2\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.conf:3: option 'a' in section 's' already exists"
        );
        let e = p("[s]\n[t]\n[s]\n").unwrap_err();
        assert_eq!(e.at.unwrap().line, 3);
        assert!(p("a=1\n").is_err());
        assert!(p("[s]\njunk\n").is_err());
    }

    #[test]
    fn headers() {
        assert_eq!(section_header("[a]"), Some("a"));
        assert_eq!(section_header("[a] x ]"), Some("a] x "));
        assert_eq!(section_header("[]"), None);
        assert_eq!(section_header("[]]"), Some("]"));
    }
}
