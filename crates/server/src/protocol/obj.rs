//! [`Obj`]: what travels in a reply — plain data plus the two kinds of
//! object fail2ban's server pickles: an `IPAddr` (pickled as
//! `builtins.str(ip)`) and an exception (pickled as its class and args).
//!
//! Requests are plain data only, so they decode straight to
//! [`ironban_config::Value`]; a reply needs these two extras so the Python
//! client sees exactly what real fail2ban sends.

use ironban_config::stream::{float_repr, str_repr};
use ironban_config::Value;

/// A Python exception by class path and `args` (fail2ban: `exceptions.py`).
#[derive(Debug, Clone, PartialEq)]
pub struct PyException {
    /// Module of the class, e.g. `builtins` or `fail2ban.exceptions`.
    pub module: String,
    /// Class name, e.g. `ValueError`.
    pub name: String,
    /// The exception's `args` tuple.
    pub args: Vec<Value>,
}

impl PyException {
    /// `module.name(msg)` with one string argument.
    pub fn new(module: &str, name: &str, msg: impl Into<String>) -> PyException {
        PyException {
            module: module.to_string(),
            name: name.to_string(),
            args: vec![Value::Str(msg.into())],
        }
    }

    /// `builtins.Exception(msg)`.
    pub fn exception(msg: impl Into<String>) -> PyException {
        PyException::new("builtins", "Exception", msg)
    }

    /// `builtins.ValueError(msg)`.
    pub fn value_error(msg: impl Into<String>) -> PyException {
        PyException::new("builtins", "ValueError", msg)
    }

    /// `builtins.TypeError(msg)`.
    pub fn type_error(msg: impl Into<String>) -> PyException {
        PyException::new("builtins", "TypeError", msg)
    }

    /// `builtins.KeyError(msg)`.
    pub fn key_error(msg: impl Into<String>) -> PyException {
        PyException::new("builtins", "KeyError", msg)
    }

    /// `builtins.RuntimeError(msg)`.
    pub fn runtime_error(msg: impl Into<String>) -> PyException {
        PyException::new("builtins", "RuntimeError", msg)
    }

    /// `IndexError('list index out of range')`: what Python raises when a
    /// command is missing an argument.
    pub fn index_error() -> PyException {
        PyException::new("builtins", "IndexError", "list index out of range")
    }

    /// `fail2ban.exceptions.UnknownJailException(name)`.
    pub fn unknown_jail(name: &str) -> PyException {
        PyException::new("fail2ban.exceptions", "UnknownJailException", name)
    }

    /// `fail2ban.exceptions.DuplicateJailException(name)`.
    pub fn duplicate_jail(name: &str) -> PyException {
        PyException::new("fail2ban.exceptions", "DuplicateJailException", name)
    }

    /// Whether the class is an `OSError` (whose `args` hide the file name).
    fn is_os_error(&self) -> bool {
        matches!(
            self.name.as_str(),
            "OSError" | "FileNotFoundError" | "PermissionError" | "IsADirectoryError"
        )
    }

    /// Python's `repr(exc)`, e.g. `UnknownJailException('nojail')`. An
    /// `OSError` built with a file name shows `(errno, strerror)` only.
    pub fn repr(&self) -> String {
        let shown = if self.is_os_error() && self.args.len() >= 3 {
            &self.args[..2]
        } else {
            &self.args[..]
        };
        let args: Vec<String> = shown.iter().map(Value::repr).collect();
        format!("{}({})", self.name, args.join(", "))
    }

    /// Python's `str(exc)`: the single argument's `str()` (its `repr()` for
    /// a `KeyError`), or the args tuple.
    pub fn message(&self) -> String {
        if self.is_os_error() {
            match self.args.as_slice() {
                [Value::Int(n), msg] => return format!("[Errno {n}] {msg}"),
                [Value::Int(n), msg, file, ..] => {
                    return format!("[Errno {n}] {msg}: {}", file.repr())
                }
                _ => {}
            }
        }
        match self.args.as_slice() {
            [] => String::new(),
            [one] if self.is_key_error() => one.repr(),
            [one] => one.to_string(),
            many => Value::Tuple(many.to_vec()).repr(),
        }
    }

    /// Whether the class derives from `KeyError`, whose `str()` is the
    /// `repr()` of its argument.
    pub fn is_key_error(&self) -> bool {
        matches!(self.name.as_str(), "KeyError" | "UnknownJailException")
    }
}

/// A reply value (see the module doc).
#[derive(Debug, Clone, PartialEq)]
pub enum Obj {
    /// `None`
    None,
    /// `True` / `False`
    Bool(bool),
    /// `int`
    Int(i64),
    /// `float`
    Float(f64),
    /// `str`
    Str(String),
    /// fail2ban's `IPAddr`; unpickles as a plain `str`.
    Ip(String),
    /// `list`
    List(Vec<Obj>),
    /// `tuple`
    Tuple(Vec<Obj>),
    /// `dict` in insertion order
    Dict(Vec<(Obj, Obj)>),
    /// an exception object
    Exception(PyException),
}

impl From<Value> for Obj {
    fn from(v: Value) -> Obj {
        match v {
            Value::None => Obj::None,
            Value::Bool(b) => Obj::Bool(b),
            Value::Int(i) => Obj::Int(i),
            Value::Float(f) => Obj::Float(f),
            Value::Str(s) => Obj::Str(s),
            Value::List(l) => Obj::List(l.into_iter().map(Obj::from).collect()),
            Value::Tuple(l) => Obj::Tuple(l.into_iter().map(Obj::from).collect()),
            Value::Dict(d) => Obj::Dict(
                d.into_iter()
                    .map(|(k, v)| (Obj::from(k), Obj::from(v)))
                    .collect(),
            ),
        }
    }
}

impl From<&str> for Obj {
    fn from(s: &str) -> Obj {
        Obj::Str(s.to_string())
    }
}

impl From<String> for Obj {
    fn from(s: String) -> Obj {
        Obj::Str(s)
    }
}

impl From<i64> for Obj {
    fn from(i: i64) -> Obj {
        Obj::Int(i)
    }
}

impl From<bool> for Obj {
    fn from(b: bool) -> Obj {
        Obj::Bool(b)
    }
}

impl Obj {
    /// A list of IP addresses.
    pub fn ips<I: IntoIterator<Item = S>, S: Into<String>>(ips: I) -> Obj {
        Obj::List(ips.into_iter().map(|s| Obj::Ip(s.into())).collect())
    }

    /// A list of plain strings.
    pub fn strs<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Obj {
        Obj::List(items.into_iter().map(|s| Obj::Str(s.into())).collect())
    }

    /// The same data as a plain [`Value`]: an IP becomes its string, an
    /// exception becomes its `repr`.
    pub fn to_value(&self) -> Value {
        match self {
            Obj::None => Value::None,
            Obj::Bool(b) => Value::Bool(*b),
            Obj::Int(i) => Value::Int(*i),
            Obj::Float(f) => Value::Float(*f),
            Obj::Str(s) | Obj::Ip(s) => Value::Str(s.clone()),
            Obj::List(l) => Value::List(l.iter().map(Obj::to_value).collect()),
            Obj::Tuple(l) => Value::Tuple(l.iter().map(Obj::to_value).collect()),
            Obj::Dict(d) => Value::Dict(
                d.iter()
                    .map(|(k, v)| (k.to_value(), v.to_value()))
                    .collect(),
            ),
            Obj::Exception(e) => Value::Str(e.repr()),
        }
    }

    /// Python's `repr()` as the Python client would print it.
    pub fn repr(&self) -> String {
        let mut out = String::new();
        self.write_repr(&mut out);
        out
    }

    fn write_repr(&self, out: &mut String) {
        match self {
            Obj::None => out.push_str("None"),
            Obj::Bool(true) => out.push_str("True"),
            Obj::Bool(false) => out.push_str("False"),
            Obj::Int(i) => out.push_str(&i.to_string()),
            Obj::Float(f) => out.push_str(&float_repr(*f)),
            Obj::Str(s) | Obj::Ip(s) => out.push_str(&str_repr(s)),
            Obj::List(items) => {
                out.push('[');
                write_items(items, out);
                out.push(']');
            }
            Obj::Tuple(items) => {
                out.push('(');
                write_items(items, out);
                if items.len() == 1 {
                    out.push(',');
                }
                out.push(')');
            }
            Obj::Dict(items) => {
                out.push('{');
                for (i, (k, v)) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    k.write_repr(out);
                    out.push_str(": ");
                    v.write_repr(out);
                }
                out.push('}');
            }
            Obj::Exception(e) => out.push_str(&e.repr()),
        }
    }

    /// Python's `str()`: a string prints bare, anything else as `repr()`.
    pub fn to_py_str(&self) -> String {
        match self {
            Obj::Str(s) | Obj::Ip(s) => s.clone(),
            Obj::Exception(e) => e.message(),
            other => other.repr(),
        }
    }
}

fn write_items(items: &[Obj], out: &mut String) {
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        v.write_repr(out);
    }
}
