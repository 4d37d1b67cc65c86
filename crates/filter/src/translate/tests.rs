use super::translate;
use crate::pattern::Pattern;

/// (python, expected PCRE2 text)
const TABLE: &[(&str, &str)] = &[
    (r"abc\Z", r"abc\z"),
    (r"(?P<n>a)(?P=n)", r"(?P<n>a)(?P=n)"),
    (r"(?P<c>x)?(?(c)y|z)", r"(?P<c>x)?(?(<c>)y|z)"),
    (r"(a)?(?(1)b|c)", r"(a)?(?(1)b|c)"),
    (r"[^[]*", r"[^\[]*"),
    (r"[[:alpha:]]", r"[\[:alpha:]]"),
    (r"\<HOST\>", r"\<HOST\>"),
    (r"(?iu)abc", r"(?i)abc"),
    (r"(?u)abc", r"abc"),
    (r"(?i:abc)", r"(?i:abc)"),
    (r"\u00e9", r"\x{00e9}"),
    (r"a\vb", r"a\x0bb"),
    (r"a{,3}", r"a{0,3}"),
    (r"[]a]", r"[\]a]"),
    (r"[^]a]", r"[^\]a]"),
    (r"a(?#note)b", r"ab"),
];

#[test]
fn table() {
    for (py, want) in TABLE {
        assert_eq!(translate(py).unwrap(), *want, "python pattern {py:?}");
    }
}

#[test]
fn untranslatable_are_errors() {
    for py in [r"(?a)\w", r"\N{DIGIT ONE}", r"\q", r"\u12"] {
        let e = translate(py).unwrap_err();
        assert!(e.to_string().contains(py), "{e}");
    }
}

/// Python's meaning on PCRE2, checked against what Python's `re` does.
#[test]
fn python_semantics() {
    let cases: &[(&str, &str, bool)] = &[
        // `$` matches before a final newline (fail2ban's buffers end in "\n").
        (r"foo$", "foo\n", true),
        (r"foo\Z", "foo\n", false),
        (r"foo\Z", "foo", true),
        // \w, \d are Unicode.
        (r"^\w+$", "élan", true),
        (r"^\d$", "٣", true),
        // dropbear: `\<` and `\>` are literal.
        (r"\<x\>", "a <x> b", true),
        // postfix: `[^[]` is "anything but [".
        (r"^[^[]*$", "abc", true),
        (r"^[^[]*$", "a[c", false),
        // sshd: conditional on a named group.
        (r"^(?P<c>u )?(?(c)x|y)$", "u x", true),
        (r"^(?P<c>u )?(?(c)x|y)$", "y", true),
        (r"^(?P<c>u )?(?(c)x|y)$", "x", false),
        // A group named like a PCRE2 keyword still works as a condition.
        (r"^(?P<R>a)?(?(R)b|c)$", "ab", true),
        (r"^(?P<R>a)?(?(R)b|c)$", "c", true),
        // Fixed-width look-behind (IPv6 tag).
        (r"(?<=:):", "a::", true),
    ];
    for (py, hay, want) in cases {
        let p = Pattern::new(py).unwrap();
        assert_eq!(p.is_match(hay), *want, "{py:?} on {hay:?}");
    }
}
