//! Turns the server's answers into the text `fail2ban-client` prints
//! (fail2ban 1.1.2: `client/beautifier.py`).
//!
//! fail2ban's beautifier indexes the reply without checking its shape; when
//! that fails it logs "Beautifier error" and prints `repr(msg)` followed by
//! `repr(response)`, where `msg` is whatever it had built so far. Some real
//! replies hit that path (`status <jail> stats`), so the same Python-like
//! indexing is reproduced here, failure text included.

use ironban_server::protocol::Obj;
use ironban_server::PyException;

/// A failed Python operation inside the beautifier.
struct Fail;

/// Python `obj[i]` for lists, tuples and strings.
fn idx(o: &Obj, i: i64) -> Result<Obj, Fail> {
    let at = |len: usize| -> Result<usize, Fail> {
        let j = if i < 0 { i + len as i64 } else { i };
        if j < 0 || j >= len as i64 {
            Err(Fail)
        } else {
            Ok(j as usize)
        }
    };
    match o {
        Obj::List(l) | Obj::Tuple(l) => Ok(l[at(l.len())?].clone()),
        Obj::Str(s) | Obj::Ip(s) => {
            let chars: Vec<char> = s.chars().collect();
            Ok(Obj::Str(chars[at(chars.len())?].to_string()))
        }
        _ => Err(Fail),
    }
}

/// Python iteration: list/tuple items, string characters, dict keys.
fn items(o: &Obj) -> Result<Vec<Obj>, Fail> {
    match o {
        Obj::List(l) | Obj::Tuple(l) => Ok(l.clone()),
        Obj::Str(s) | Obj::Ip(s) => Ok(s.chars().map(|c| Obj::Str(c.to_string())).collect()),
        Obj::Dict(d) => Ok(d.iter().map(|(k, _)| k.clone()).collect()),
        _ => Err(Fail),
    }
}

/// Python `len()`.
fn len(o: &Obj) -> Result<usize, Fail> {
    match o {
        Obj::List(l) | Obj::Tuple(l) => Ok(l.len()),
        Obj::Str(s) | Obj::Ip(s) => Ok(s.chars().count()),
        Obj::Dict(d) => Ok(d.len()),
        _ => Err(Fail),
    }
}

/// A `str` operand of `+` (Python refuses anything else).
fn s(o: &Obj) -> Result<String, Fail> {
    match o {
        Obj::Str(s) | Obj::Ip(s) => Ok(s.clone()),
        _ => Err(Fail),
    }
}

/// `" ".join(...)`-style join of strings only.
fn join_strs(sep: &str, o: &Obj) -> Result<String, Fail> {
    let v: Vec<String> = items(o)?.iter().map(s).collect::<Result<_, _>>()?;
    Ok(v.join(sep))
}

/// `val = " ".join(map(str, v)) if isinstance(v, list) else v`, as text.
fn status_val(v: &Obj) -> String {
    match v {
        Obj::List(l) => l.iter().map(Obj::to_py_str).collect::<Vec<_>>().join(" "),
        other => other.to_py_str(),
    }
}

/// What the beautifier prints for a successful answer, plus the two log
/// lines when it fails (the caller writes them to stderr).
pub struct Beautified {
    /// Text for stdout (without the final newline).
    pub text: String,
    /// Whether fail2ban's beautifier would have logged an error.
    pub failed: bool,
}

/// `Beautifier.beautify(response)` for input command `cmd`.
pub fn beautify(cmd: &[String], response: &Obj) -> Beautified {
    // msg as Python holds it: either the response itself or a list of lines.
    let mut lines: Option<Vec<String>> = None;
    match beautify_inner(cmd, response, &mut lines) {
        Ok(text) => Beautified {
            text,
            failed: false,
        },
        Err(Fail) => {
            let msg = match lines {
                Some(l) => Obj::List(l.into_iter().map(Obj::Str).collect()).repr(),
                None => response.repr(),
            };
            Beautified {
                text: format!("{msg}{}", response.repr()),
                failed: true,
            }
        }
    }
}

fn beautify_inner(
    cmd: &[String],
    r: &Obj,
    lines: &mut Option<Vec<String>>,
) -> Result<String, Fail> {
    let c0 = cmd.first().map(String::as_str).unwrap_or("");
    let c1 = cmd.get(1).map(String::as_str);
    let c2 = cmd.get(2).map(String::as_str);
    let plain = || r.to_py_str();
    match c0 {
        "ping" => return Ok(format!("Server replied: {}", s(r)?)),
        "version" => return Ok(plain()),
        "start" => return Ok("Jail started".into()),
        "stop" => {
            return Ok(match (cmd.len(), r) {
                (1, Obj::None) => "Shutdown successful".into(),
                (_, Obj::None) if cmd.len() > 1 => "Jail stopped".into(),
                _ => plain(),
            })
        }
        "add" => return Ok(format!("Added jail {}", s(r)?)),
        "flushlogs" => return Ok(format!("logs: {}", s(r)?)),
        "echo" => return join_strs(" ", r),
        "status" => return status(cmd, r, lines),
        "stats" | "statistics" => return stats_table(r),
        _ => {}
    }
    let Some(c1) = c1 else {
        return Ok(plain());
    };
    match c1 {
        "syslogsocket" => return Ok(format!("Current syslog socket is:\n`- {}", s(r)?)),
        "logtarget" => return Ok(format!("Current logging target is:\n`- {}", s(r)?)),
        "loglevel" => {
            let name = match r {
                Obj::Int(i) => Obj::Str(ironban_server::log::level_name(*i)),
                other => other.clone(),
            };
            return Ok(format!("Current logging level is {}", name.repr()));
        }
        "dbfile" => {
            return Ok(match r {
                Obj::None => "Database currently disabled".into(),
                other => format!("Current database file is:\n`- {}", s(other)?),
            })
        }
        "dbpurgeage" => {
            return Ok(match r {
                Obj::None => "Database currently disabled".into(),
                Obj::Int(i) => format!("Current database purge age is:\n`- {i}seconds"),
                Obj::Float(f) => format!("Current database purge age is:\n`- {}seconds", *f as i64),
                _ => return Err(Fail),
            })
        }
        _ => {}
    }
    let Some(c2) = c2 else {
        return Ok(plain());
    };
    let bullet_list = |empty: &str, head: &str| -> Result<String, Fail> {
        let v = items(r)?;
        if v.is_empty() {
            return Ok(empty.to_string());
        }
        let mut m = head.to_string();
        for (i, p) in v.iter().enumerate() {
            let pre = if i + 1 == v.len() { "`- " } else { "|- " };
            m.push_str(pre);
            m.push_str(&s(p)?);
            if i + 1 < v.len() {
                m.push('\n');
            }
        }
        Ok(m)
    };
    match c2 {
        "logpath" | "addlogpath" | "dellogpath" => bullet_list(
            "No file is currently monitored",
            "Current monitored log file(s):\n",
        ),
        "logencoding" => Ok(format!("Current log encoding is set to:\n{}", s(r)?)),
        "journalmatch" | "addjournalmatch" | "deljournalmatch" => {
            let groups = items(r)?;
            if groups.is_empty() {
                return Ok("No journal match filter set".into());
            }
            let g: Vec<String> = groups
                .iter()
                .map(|g| join_strs(" ", g))
                .collect::<Result<_, _>>()?;
            Ok(format!("Current match filter:\n{}", g.join(" + ")))
        }
        "datepattern" => {
            let head = "Current date pattern set to: ";
            match r {
                Obj::None => Ok(format!("{head}Not set/required")),
                other => {
                    let p = idx(other, 0)?;
                    let n = idx(other, 1)?;
                    if p == Obj::None {
                        Ok(format!("{head}{}", n.to_py_str()))
                    } else {
                        Ok(format!("{head}{} ({})", p.to_py_str(), n.to_py_str()))
                    }
                }
            }
        }
        "ignoreip" | "addignoreip" | "delignoreip" => {
            let v = items(r)?;
            if v.is_empty() {
                return Ok("No IP address/network is ignored".into());
            }
            let mut m = String::from("These IP addresses/networks are ignored:\n");
            for (i, p) in v.iter().enumerate() {
                m.push_str(if i + 1 == v.len() { "`- " } else { "|- " });
                m.push_str(&p.to_py_str());
                if i + 1 < v.len() {
                    m.push('\n');
                }
            }
            Ok(m)
        }
        "failregex" | "addfailregex" | "delfailregex" | "ignoreregex" | "addignoreregex"
        | "delignoreregex" => {
            let v = items(r)?;
            if v.is_empty() {
                return Ok("No regular expression is defined".into());
            }
            let mut m = String::from("The following regular expression are defined:\n");
            for (i, p) in v.iter().enumerate() {
                let pre = if i + 1 == v.len() { "`- " } else { "|- " };
                m.push_str(&format!("{pre}[{i}]: {}", s(p)?));
                if i + 1 < v.len() {
                    m.push('\n');
                }
            }
            Ok(m)
        }
        "actions" => {
            let v = items(r)?;
            if v.is_empty() {
                return Ok(format!("No actions for jail {c1}"));
            }
            Ok(format!(
                "The jail {c1} has the following actions:\n{}",
                join_strs(", ", r)?
            ))
        }
        "actionproperties" | "actionmethods" => {
            let what = if c2 == "actionproperties" {
                "properties"
            } else {
                "methods"
            };
            let act = cmd.get(3).ok_or(Fail)?;
            if items(r)?.is_empty() {
                return Ok(format!("No {what} for jail {c1} action {act}"));
            }
            Ok(format!(
                "The jail {c1} action {act} has the following {what}:\n{}",
                join_strs(", ", r)?
            ))
        }
        "banip" if c0 == "get" => match r {
            Obj::List(_) => {
                let sep = match cmd.get(3).map(String::as_str) {
                    None => " ",
                    Some("--with-time") => "\n",
                    Some(other) => other,
                };
                join_strs(sep, r)
            }
            _ => Ok(plain()),
        },
        _ => Ok(plain()),
    }
}

fn status(cmd: &[String], r: &Obj, lines: &mut Option<Vec<String>>) -> Result<String, Fail> {
    fn jail_stat(resp: &Obj, pref: &str, lines: &mut Option<Vec<String>>) -> Result<(), Fail> {
        let items1 = items(resp)?;
        let n1 = items1.len();
        for (n, res1) in items1.iter().enumerate() {
            let last = n + 1 == n1;
            let p1 = format!("{pref}{}", if last { "`-" } else { "|-" });
            let head = idx(res1, 0)?.to_py_str();
            push(lines, format!("{p1} {head}"));
            let p1 = format!("{pref}{}", if last { "   " } else { "|  " });
            let sub = idx(res1, 1)?;
            let items2 = items(&sub)?;
            let n2 = len(&sub)?;
            for (m, res2) in items2.iter().enumerate() {
                let p2 = format!("{p1}{}", if m + 1 == n2 { "`-" } else { "|-" });
                let val = status_val(&idx(res2, 1)?);
                let name = idx(res2, 0)?.to_py_str();
                push(lines, format!("{p2} {name}:\t{val}"));
            }
        }
        Ok(())
    }
    fn push(lines: &mut Option<Vec<String>>, l: String) {
        if let Some(v) = lines.as_mut() {
            v.push(l);
        }
    }
    if cmd.len() > 1 && cmd[1] != "--all" {
        *lines = Some(vec![format!("Status for the jail: {}", cmd[1])]);
        jail_stat(r, "", lines)?;
    } else {
        let mut response = r.clone();
        let mut jstat = None;
        if cmd.len() > 1 {
            jstat = Some(idx(r, -1)?);
            response = match r {
                Obj::List(l) => Obj::List(l[..l.len() - 1].to_vec()),
                Obj::Tuple(l) => Obj::Tuple(l[..l.len() - 1].to_vec()),
                _ => return Err(Fail),
            };
        }
        *lines = Some(vec!["Status".to_string()]);
        let truthy = |o: &Option<Obj>| {
            o.as_ref()
                .is_some_and(|j| len(j).map(|n| n > 0).unwrap_or(true))
        };
        let has_j = truthy(&jstat);
        let it = items(&response)?;
        for (n, res1) in it.iter().enumerate() {
            let p = if !has_j && n + 1 == it.len() {
                "`-"
            } else {
                "|-"
            };
            let val = status_val(&idx(res1, 1)?);
            let name = idx(res1, 0)?.to_py_str();
            push(lines, format!("{p} {name}:\t{val}"));
        }
        if has_j {
            push(lines, "`- Status for the jails:".into());
            let Some(Obj::Dict(d)) = jstat else {
                return Err(Fail);
            };
            for (i, (name, j)) in d.iter().enumerate() {
                let last = i + 1 == d.len();
                push(
                    lines,
                    format!(
                        "   {} Jail: {}",
                        if last { "`-" } else { "|-" },
                        name.to_py_str()
                    ),
                );
                jail_stat(j, if last { "      " } else { "   |  " }, lines)?;
            }
        }
    }
    Ok(lines.clone().unwrap_or_default().join("\n"))
}

/// The `stats` table (Unicode box characters, as on a UTF-8 terminal).
fn stats_table(r: &Obj) -> Result<String, Fail> {
    let Obj::Dict(d) = r else { return Err(Fail) };
    if d.is_empty() {
        return Ok("No jails found.".into());
    }
    let ct = [
        "\u{2551}", "\u{2550}", "\u{255F}", "\u{256B}", "\u{256C}", "\u{2569}", "\u{2502}",
        "\u{2500}",
    ];
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (n, v) in d {
        let f = idx(v, 1)?;
        let a = idx(v, 2)?;
        rows.push(vec![
            n.to_py_str(),
            idx(v, 0)?.to_py_str(),
            idx(&f, 0)?.to_py_str(),
            idx(&f, 1)?.to_py_str(),
            idx(&a, 0)?.to_py_str(),
            idx(&a, 1)?.to_py_str(),
        ]);
    }
    let minlens = [8, 8, 3, 3, 3, 3];
    let lens: Vec<usize> = (0..6)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
                .max(minlens[i])
        })
        .collect();
    let l = |s: &str, w: usize| format!("{s:<w$}");
    let rr = |s: &str, w: usize| format!("{s:>w$}");
    let sep = format!(" {} ", ct[0]);
    let tl = [
        lens[0],
        lens[1],
        3 + lens[2] + lens[3],
        3 + lens[4] + lens[5],
    ];
    let mut out = Vec::new();
    out.push(format!(
        " {}",
        [
            l("", lens[0]),
            l("", lens[1]),
            l("Filter", tl[2]),
            l("Actions", tl[3])
        ]
        .join(&sep)
    ));
    let bar = |n: usize| ct[7].repeat(n);
    out.push(format!(
        " {} {}{}{}{}",
        [l("Jail", lens[0]), l("Backend", lens[1])].join(&sep),
        ct[2],
        ct[7],
        [bar(tl[2]), bar(tl[3])].join(&format!("{}{}{}", ct[7], ct[3], ct[7])),
        ct[7]
    ));
    let cell2 =
        |a: &str, b: &str, wa: usize, wb: usize| format!("{} {} {}", rr(a, wa), ct[6], rr(b, wb));
    out.push(format!(
        " {}",
        [
            l("", lens[0]),
            l("", lens[1]),
            cell2("cur", "tot", lens[2], lens[3]),
            cell2("cur", "tot", lens[4], lens[5])
        ]
        .join(&sep)
    ));
    let hbar = |mid: &str| {
        format!(
            "{}{}{}",
            ct[1],
            tl.iter()
                .map(|n| ct[1].repeat(*n))
                .collect::<Vec<_>>()
                .join(&format!("{}{}{}", ct[1], mid, ct[1])),
            ct[1]
        )
    };
    out.push(hbar(ct[4]));
    for row in &rows {
        out.push(format!(
            " {}",
            [
                l(&row[0], lens[0]),
                l(&row[1], lens[1]),
                cell2(&row[2], &row[3], lens[2], lens[3]),
                cell2(&row[4], &row[5], lens[4], lens[5])
            ]
            .join(&sep)
        ));
    }
    out.push(hbar(ct[5]));
    Ok(out.join("\n"))
}

/// `Beautifier.beautifyError(exception)`.
pub fn beautify_error(e: &PyException) -> String {
    let first = e.args.first().map(|a| a.to_string()).unwrap_or_default();
    match e.name.as_str() {
        "UnknownJailException" => format!("Sorry but the jail '{first}' does not exist"),
        "IndexError" => "Sorry but the command is invalid".into(),
        "DuplicateJailException" => format!("The jail '{first}' already exists"),
        _ => e.message(),
    }
}
