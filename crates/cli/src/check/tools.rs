//! The programs an action's rendered commands run, and whether this host
//! has them: `banaction = nftables` on a host without `nft` bans nothing
//! (fail2ban logs the failed command at each ban). A small shell reader:
//! quotes, `$(...)`, here-documents and keywords are understood well
//! enough to find the first word of each simple command; anything it is
//! unsure of is skipped rather than reported.

use std::path::Path;

/// Shell keywords and builtins (POSIX sh and dash) never looked up.
const BUILTINS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
    "in", "function", "time", "!", "{", "}", "[", "[[", "test", "echo", "printf", "true", "false",
    "exit", "return", "local", "export", "unset", "set", "shift", "read", "eval", "exec", "cd",
    "pwd", "trap", "wait", "kill", "command", "type", "alias", "ulimit", "umask", ".", ":",
    "break", "continue", "getopts", "hash", "readonly", "source",
];

/// The first words of the simple commands of `script`.
pub fn commands(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut piece = String::new();
    let mut quote: Option<char> = None;
    let mut heredocs: Vec<String> = Vec::new();
    let mut subst: Vec<bool> = Vec::new();
    let mut prev = ' ';
    let flush = |piece: &mut String, out: &mut Vec<String>| {
        if let Some(w) = first_word(piece) {
            out.push(w);
        }
        piece.clear();
    };
    let mut lines = script.split('\n');
    while let Some(line) = lines.next() {
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (quote, c) {
                (Some(q), c) if c == q => {
                    quote = None;
                    piece.push('_');
                }
                (Some('"'), '\\') | (None, '\\') => {
                    chars.next();
                    piece.push('_');
                }
                (Some(_), _) => {}
                (None, '\'' | '"' | '`') => quote = Some(c),
                (None, '#') if prev.is_whitespace() => break,
                // `${VAR}`, `$(( ))` stay inside the word.
                (None, '$') if chars.peek() == Some(&'{') => {
                    for c in chars.by_ref() {
                        if c == '}' {
                            break;
                        }
                    }
                    piece.push('_');
                }
                (None, '<') if chars.peek() == Some(&'<') => {
                    chars.next();
                    let rest: String = chars.clone().collect();
                    let tag = rest
                        .trim_start_matches('-')
                        .trim()
                        .trim_matches(['\'', '"'])
                        .split(|c: char| c.is_whitespace() || c == '\'' || c == '"')
                        .next()
                        .unwrap_or("")
                        .to_string();
                    if !tag.is_empty() {
                        heredocs.push(tag);
                    }
                    piece.push_str(" _ ");
                }
                // Redirections: `>|`, `>&`, `&>`, `<&`.
                (None, '|' | '&') if matches!(prev, '>' | '<') => piece.push(c),
                (None, '&') if chars.peek() == Some(&'>') => piece.push(c),
                (None, '{' | '}') if !prev.is_whitespace() => piece.push(c),
                (None, '(') => {
                    subst.push(prev == '$');
                    flush(&mut piece, &mut out);
                }
                (None, ')') => {
                    flush(&mut piece, &mut out);
                    // After `$(...)` the outer command goes on: its next
                    // piece holds arguments, not a command.
                    if subst.pop() == Some(true) {
                        piece.push_str("_ ");
                    }
                }
                (None, ';' | '&' | '|' | '{' | '}') => flush(&mut piece, &mut out),
                (None, c) => piece.push(c),
            }
            prev = c;
        }
        if quote.is_some() {
            piece.push('\n');
            continue;
        }
        flush(&mut piece, &mut out);
        prev = ' ';
        // Here-document bodies are data.
        for tag in std::mem::take(&mut heredocs) {
            for l in lines.by_ref() {
                if l.trim() == tag {
                    break;
                }
            }
        }
    }
    flush(&mut piece, &mut out);
    out
}

/// The command word of one simple command, when it is a plain program name.
fn first_word(piece: &str) -> Option<String> {
    let mut words = piece.split_whitespace().peekable();
    loop {
        let w = words.next()?;
        // Assignments before the command (`LANG=C iptables ...`).
        if w.contains('=') && !w.starts_with('=') {
            continue;
        }
        if BUILTINS.contains(&w) {
            // `if cmd`, `! cmd`, `then cmd`: the next word is the command.
            if matches!(
                w,
                "if" | "then"
                    | "else"
                    | "elif"
                    | "do"
                    | "while"
                    | "until"
                    | "!"
                    | "time"
                    | "command"
                    | "exec"
            ) {
                continue;
            }
            return None;
        }
        let plain = w
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+' | '/'));
        if w.contains('/') && !w.starts_with('/') {
            return None;
        }
        let data = w.chars().all(|c| c.is_ascii_digit() || c == '_');
        return (plain && !w.starts_with(['-', '.']) && !data).then(|| w.to_string());
    }
}

/// Whether `prog` (a path, or a name looked up in `PATH` and the sbin
/// directories root has) is there.
pub fn installed(prog: &str) -> bool {
    if prog.starts_with('/') {
        return Path::new(prog).is_file();
    }
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .filter(|d| !d.is_empty())
        .any(|d| Path::new(d).join(prog).is_file());
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_words() {
        let s = "{ nft -- add table inet f2b-table; } || true\n\
                 if ! iptables -w -C f2b-x -j RETURN 2>/dev/null; then LANG=C ipset create x; fi\n\
                 printf %b \"Subject: a; b | c\" | /usr/sbin/sendmail -f x y\n\
                 cat <<EOF | mail -s x\nnot a; command\nEOF\n\
                 echo $(whois 192.0.2.1 | grep x) # comment; rm\n";
        assert_eq!(
            commands(s),
            [
                "nft",
                "iptables",
                "ipset",
                "/usr/sbin/sendmail",
                "cat",
                "mail",
                "whois",
                "grep"
            ]
        );
    }

    #[test]
    fn sh_is_installed() {
        assert!(installed("sh"));
        assert!(!installed("ironban-no-such-tool"));
    }
}
