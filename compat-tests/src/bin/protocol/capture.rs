//! The captures in `golden/protocol/` (`index.json`, the golden server's
//! stream) read into cases, the normalisations applied before comparing
//! (wall-clock times, pids), and real Python as the pickle oracle.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use ironban_config::Value;
use ironban_server::protocol::frame::{self, END};
use serde_json::Value as Json;

pub(crate) const PYTHON: &str = "/usr/bin/python3";

/// One captured `fail2ban-client` run.
pub(crate) struct Case {
    pub(crate) name: String,
    pub(crate) args: Vec<String>,
    pub(crate) exit: i64,
    pub(crate) stdout: String,
    /// What the client printed on stderr, pids shown as `[PID]`.
    pub(crate) stderr: String,
    /// (request bytes without END, decoded repr) for each pickle frame sent.
    pub(crate) requests: Vec<(Vec<u8>, String)>,
    /// Raw c2s bytes of the connection, frames and CLOSE included.
    pub(crate) c2s_raw: Vec<u8>,
    /// (reply bytes without END, decoded repr).
    pub(crate) replies: Vec<(Vec<u8>, String)>,
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
        .collect()
}

fn strip_end(b: &[u8]) -> Vec<u8> {
    match frame::find(b, END) {
        Some(at) => b[..at].to_vec(),
        None => b.to_vec(),
    }
}

pub(crate) fn load_cases(dir: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(dir.join("index.json")).unwrap_or_else(|e| {
        eprintln!("protocol: cannot read index.json: {e}");
        std::process::exit(2)
    });
    let json: Json = serde_json::from_str(&text).unwrap_or(Json::Null);
    let mut out = Vec::new();
    for c in json.as_array().cloned().unwrap_or_default() {
        let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
        let mut case = Case {
            name: s("name"),
            args: c["client_args"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            exit: c["exit_code"].as_i64().unwrap_or(-1),
            stdout: s("stdout"),
            stderr: s("stderr"),
            requests: Vec::new(),
            c2s_raw: Vec::new(),
            replies: Vec::new(),
        };
        for conn in c["connections"].as_array().cloned().unwrap_or_default() {
            for f in conn["c2s"].as_array().cloned().unwrap_or_default() {
                let b = hex(f["hex"].as_str().unwrap_or_default());
                case.c2s_raw.extend_from_slice(&b);
                if f["kind"] == "pickle" {
                    let d = f["decoded"].as_str().unwrap_or_default().to_string();
                    case.requests.push((strip_end(&b), d));
                }
            }
            for f in conn["s2c"].as_array().cloned().unwrap_or_default() {
                let b = hex(f["hex"].as_str().unwrap_or_default());
                let d = f["decoded"].as_str().unwrap_or_default().to_string();
                case.replies.push((strip_end(&b), d));
            }
        }
        out.push(case);
    }
    out
}

/// Replaces `YYYY-mm-dd HH:MM:SS` timestamps (wall clock of a run) by `<T>`.
pub(crate) fn norm_times(s: &str) -> String {
    norm_times_but(s, None)
}

/// As [`norm_times`], keeping timestamps that start with `keep` (a
/// permanent ban's end is not wall-clock).
pub(crate) fn norm_times_but(s: &str, keep: Option<&str>) -> String {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    let pat = b"dddd-dd-dd dd:dd:dd";
    while i < b.len() {
        if i + pat.len() <= b.len()
            && !keep.is_some_and(|k| s[i..].starts_with(k))
            && pat.iter().zip(&b[i..i + pat.len()]).all(|(p, c)| {
                if *p == b'd' {
                    c.is_ascii_digit()
                } else {
                    p == c
                }
            })
        {
            out.push_str("<T>");
            i += pat.len();
        } else {
            let ch = s[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// The golden server's stream with the log target moved into `tmp`.
pub(crate) fn golden_stream(dir: &Path, tmp: &Path) -> Vec<Value> {
    let script = "import ast,json,sys\n\
        print(json.dumps([ast.literal_eval(l) for l in sys.stdin if l.strip()]))";
    let dump = std::fs::read_to_string(dir.join("server-config/dump.txt")).unwrap_or_default();
    let dump = dump
        .replace("@PROTODIR@", "/tmp/golden/proto")
        .replace("@LOGDIR@", "/tmp/golden/logs");
    let out = run_python(script, dump.as_bytes());
    let json: Json = serde_json::from_str(&out).unwrap_or(Json::Null);
    let mut cmds: Vec<Value> = json
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(to_value)
        .collect();
    for c in cmds.iter_mut() {
        if let Value::List(l) = c {
            if l.len() == 3 && l[1].as_str() == Some("logtarget") {
                l[2] = Value::Str(tmp.join("server.log").display().to_string());
            }
        }
    }
    cmds
}

pub(crate) fn to_value(j: &Json) -> Value {
    match j {
        Json::Null => Value::None,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => Value::Str(s.clone()),
        Json::Array(a) => Value::List(a.iter().map(to_value).collect()),
        Json::Object(o) => Value::Dict(
            o.iter()
                .map(|(k, v)| (Value::Str(k.clone()), to_value(v)))
                .collect(),
        ),
    }
}

pub(crate) fn run_python(script: &str, input: &[u8]) -> String {
    let child = Command::new(PYTHON)
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("protocol: {PYTHON} is needed as an oracle");
        std::process::exit(2);
    };
    if let Some(mut si) = child.stdin.take() {
        let _ = si.write_all(input);
    }
    let out = child
        .wait_with_output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    String::from_utf8_lossy(&out).into_owned()
}

/// What real Python makes of each pickle: `repr(pickle.loads(b))`.
pub(crate) fn python_reprs(pickles: &[Vec<u8>]) -> Vec<String> {
    let script = "import pickle,sys\n\
        for l in sys.stdin:\n\
        \x20   l=l.strip()\n\
        \x20   try: print(repr(pickle.loads(bytes.fromhex(l))).replace('\\n','\\\\n'))\n\
        \x20   except Exception as e: print('LOAD-ERROR', repr(e))";
    let input: String = pickles
        .iter()
        .map(|p| p.iter().map(|b| format!("{b:02x}")).collect::<String>() + "\n")
        .collect();
    run_python(script, input.as_bytes())
        .lines()
        .map(String::from)
        .collect()
}

/// `[1234]:` → `[PID]:`, as the captures are normalised.
pub(crate) fn norm_pid(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('[') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && after[digits..].starts_with("]:") {
            out.push_str("[PID]");
            rest = &after[digits + 1..];
        } else {
            out.push('[');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}
