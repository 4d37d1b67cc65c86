//! `read_stream`, `read_filter` and `read_action` against the streams real
//! fail2ban produced for every stock filter (and mode) and every stock
//! action (`golden/failregex-expanded/*.json`, `golden/actions/*.json`).

use std::fs;
use std::path::{Path, PathBuf};

use ironban_config::{read_action, read_filter, read_stream, Value};
use tempfile::TempDir;

use crate::shared_dir;

fn to_value(j: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match j {
        J::Null => Value::None,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::str(s.clone()),
        J::Array(a) => Value::List(a.iter().map(to_value).collect()),
        J::Object(o) => Value::Dict(
            o.iter()
                .map(|(k, v)| (Value::str(k.clone()), to_value(v)))
                .collect(),
        ),
    }
}

fn load_json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(p).unwrap()).unwrap()
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dst);
        } else {
            fs::copy(e.path(), &dst).unwrap();
        }
    }
}

/// A scratch copy of the upstream config with an empty log file.
struct Scratch {
    _dir: TempDir,
    conf: PathBuf,
    logs: PathBuf,
}

fn scratch() -> Scratch {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    let logs = dir.path().join("logs");
    copy_tree(&shared_dir().join("upstream/fail2ban/config"), &conf);
    for f in ["var/log/auth.log", "var/log/test.log"] {
        let p = logs.join(f);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, "").unwrap();
    }
    Scratch {
        _dir: dir,
        conf,
        logs,
    }
}

fn jail_stream(s: &Scratch, jail_local: &str) -> Result<Vec<Value>, String> {
    fs::write(
        s.conf.join("jail.local"),
        jail_local.replace("@LOGDIR@", &s.logs.to_string_lossy()),
    )
    .unwrap();
    let stream = read_stream(&s.conf).map_err(|e| e.to_string())?;
    Ok(stream
        .commands
        .into_iter()
        .filter(|c| {
            let op = c[0].as_str().unwrap_or("");
            let sub = c.get(2).and_then(Value::as_str).unwrap_or("");
            let jail = c.get(1).and_then(Value::as_str).unwrap_or("");
            op != "add"
                && op != "start"
                && sub != "addlogpath"
                && (jail == "test" || jail == "sshd")
        })
        .map(Value::List)
        .collect())
}

fn json_files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(shared_dir().join("golden").join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.ends_with("index.json"))
        .collect();
    v.sort();
    v
}

/// Every filter and mode: the jail stream `read_stream` builds equals
/// fail2ban's, and `read_filter` yields the same filter values.
#[test]
fn filters_match_fail2ban_streams() {
    let s = scratch();
    let mut failures = Vec::new();
    let mut checked = 0;
    for f in json_files("failregex-expanded") {
        let j = load_json(&f);
        let name = j["filter"].as_str().unwrap().to_string();
        for (variant, v) in j["variants"].as_object().unwrap() {
            let spec = v["filter_spec"].as_str().unwrap();
            let jail_local = format!(
                "[test]\nenabled = true\nfilter = {spec}\nbackend = polling\nlogpath = @LOGDIR@/var/log/test.log\naction =\n"
            );
            checked += 1;
            if let Some(err) = v.get("error") {
                // fail2ban could not build this jail; neither may we.
                if jail_stream(&s, &jail_local).is_ok() {
                    failures.push(format!(
                        "{name}/{variant}: fail2ban failed ({err}), we did not"
                    ));
                }
                continue;
            }
            let want: Vec<Value> = v["stream"]
                .as_array()
                .unwrap()
                .iter()
                .map(to_value)
                .collect();
            match jail_stream(&s, &jail_local) {
                Ok(got) if got == want => {}
                Ok(got) => failures.push(format!(
                    "{name}/{variant}: stream differs\n ours:   {:?}\n golden: {:?}",
                    got.iter().map(Value::repr).collect::<Vec<_>>(),
                    want.iter().map(Value::repr).collect::<Vec<_>>()
                )),
                Err(e) => failures.push(format!("{name}/{variant}: {e}")),
            }
            // read_filter on its own gives the values of the filter commands.
            let args: Vec<(String, String)> = if variant == "(default)" {
                vec![]
            } else {
                vec![("mode".into(), variant.clone())]
            };
            let jail_opts = vec![("backend".to_string(), "polling".to_string())];
            let def = match read_filter(&s.conf, &name, &args, &jail_opts) {
                Ok(d) => d,
                Err(e) => {
                    failures.push(format!("{name}/{variant}: read_filter: {e}"));
                    continue;
                }
            };
            for c in &want {
                let Value::List(c) = c else { continue };
                let key = c[2].as_str().unwrap();
                let list = |v: &Value| match v {
                    Value::List(l) => l.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
                    other => vec![other.to_string()],
                };
                let ok = match key {
                    "prefregex" => def.prefregex.as_deref() == c[3].as_str(),
                    "maxlines" => {
                        def.maxlines.map(i64::from)
                            == match c[3] {
                                Value::Int(i) => Some(i),
                                _ => None,
                            }
                    }
                    "datepattern" => def.datepattern.as_deref() == c[3].as_str(),
                    "addfailregex" => def.failregex == list(&c[3]),
                    "addignoreregex" => def.ignoreregex == list(&c[3]),
                    "addjournalmatch" => {
                        let ours: Vec<String> = def
                            .journalmatch
                            .iter()
                            .flat_map(|l| ironban_config::options::shlex_split(l).unwrap())
                            .collect();
                        let theirs: Vec<String> = c[3..].iter().map(|x| x.to_string()).collect();
                        ours == theirs
                    }
                    _ => true,
                };
                if !ok {
                    failures.push(format!(
                        "{name}/{variant}: read_filter {key} differs: {def:?}"
                    ));
                }
            }
        }
    }
    assert!(checked >= 135, "only {checked} filter variants found");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every action: the jail stream equals fail2ban's, and `read_action` yields
/// the same `multi-set` pairs.
#[test]
fn actions_match_fail2ban_streams() {
    let s = scratch();
    let mut failures = Vec::new();
    let mut checked = 0;
    for f in json_files("actions") {
        let j = load_json(&f);
        let name = j["action"].as_str().unwrap().to_string();
        let Some(jail_local) = j["jail_local"].as_str() else {
            continue;
        };
        checked += 1;
        let want: Vec<Value> = j["stream"]
            .as_array()
            .unwrap()
            .iter()
            .map(to_value)
            .collect();
        let logs = s.logs.to_string_lossy().into_owned();
        // the actions goldens keep the real log dir (see golden/README.md)
        let norm = |v: &Value| Value::str(v.repr().replace(&logs, "/tmp/golden/logs"));
        match jail_stream(&s, jail_local) {
            Ok(got) => {
                let got: Vec<Value> = got
                    .iter()
                    .filter(|c| matches!(c, Value::List(l) if l.len() > 2 && matches!(l[2].as_str(), Some("addaction" | "action"))))
                    .map(norm)
                    .collect();
                let want: Vec<Value> = want.iter().map(|v| Value::str(v.repr())).collect();
                if got != want {
                    failures.push(format!(
                        "{name}: stream differs\n ours:   {got:?}\n golden: {want:?}"
                    ));
                }
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
        // JSON objects lose their order; the spec keeps it.
        let (_, args) = ironban_config::parse_spec(j["action_spec"].as_str().unwrap()).unwrap();
        let jail_opts = vec![
            ("__name__".to_string(), "sshd".to_string()),
            ("backend".to_string(), "polling".to_string()),
            (
                "logpath".to_string(),
                "/tmp/golden/logs/var/log/auth.log".to_string(),
            ),
        ];
        match read_action(&s.conf, &name, &args, &jail_opts) {
            Ok(def) => {
                let Some(Value::List(multi)) = want.get(1).and_then(|c| match c {
                    Value::List(l) => l.get(4).cloned(),
                    _ => None,
                }) else {
                    failures.push(format!("{name}: golden has no multi-set"));
                    continue;
                };
                let theirs: Vec<(String, Value)> = multi
                    .iter()
                    .map(|p| match p {
                        Value::List(kv) => (kv[0].to_string(), kv[1].clone()),
                        _ => unreachable!(),
                    })
                    .collect();
                if def.values != theirs || def.actname != name {
                    failures.push(format!(
                        "{name}: read_action differs\n ours:   {:?}\n golden: {theirs:?}",
                        def.values
                    ));
                }
            }
            Err(e) => failures.push(format!("{name}: read_action: {e}")),
        }
    }
    assert!(checked >= 65, "only {checked} actions found");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A filter or action given as a path reads the same as by name (as
/// fail2ban-regex reads `filter.d/x.conf` paths).
#[test]
fn definitions_by_path_equal_by_name() {
    let conf = shared_dir().join("upstream/fail2ban/config");
    let args = vec![("mode".to_string(), "aggressive".to_string())];
    let by_name = read_filter(&conf, "sshd", &args, &[]).unwrap();
    let path = conf.join("filter.d/sshd.conf");
    let by_path = read_filter(&conf, path.to_str().unwrap(), &args, &[]).unwrap();
    assert_eq!(by_name.failregex, by_path.failregex);
    assert_eq!(by_name.prefregex, by_path.prefregex);
    assert_eq!(by_path.file, path);
    assert!(by_name.failregex.len() > 20);
    let a = read_action(&conf, "iptables", &[], &[]).unwrap();
    let path = conf.join("action.d/iptables.conf");
    let b = read_action(&conf, path.to_str().unwrap(), &[], &[]).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.actname, "iptables");
    assert!(a.options.iter().any(|(k, v)| k == "name" && v == "jail"));
}
