//! `set <jail> action <act> <method> [<json kwargs>]`: calling one of an
//! action's methods by name, as fail2ban's transmitter does with
//! `getattr(action, method)(**json.loads(kwargs))` (`transmitter.py`
//! `__commandSet`, `action.py` `CommandAction`).
//!
//! `start`, `stop`, `flush`, `reload` and `consistencyCheck` answer `True`;
//! `ban`, `unban`, `reban` and `prolong` take `aInfo` (a dict of tags such
//! as `ip`) and answer `None`. A failed command raises `RuntimeError`, a
//! wrong keyword `TypeError`, with Python's messages.

use ironban_action::exec::{Execution, Executor};
use ironban_action::tags::DynamicTags;
use ironban_action::{ActionInfo, Op};
use ironban_config::Value;

use super::Engine;
use crate::mytime;
use crate::protocol::PyException;

/// `aInfo` given as a JSON object.
struct JsonInfo(serde_json::Map<String, serde_json::Value>);

impl DynamicTags for JsonInfo {
    fn get(&self, tag: &str) -> Option<String> {
        self.0.get(tag).map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }
    fn ticket_data(&self, key: &str) -> Option<String> {
        self.get(key)
    }
}

/// The keyword parameters each method takes (`None`: `**kwargs`).
fn params(method: &str) -> Option<&'static [&'static str]> {
    match method {
        "start" | "stop" | "flush" => Some(&[]),
        "consistencyCheck" => Some(&["beforeRepair"]),
        "reload" => None,
        _ => Some(&["aInfo"]),
    }
}

impl Engine {
    /// Runs `method` of action `act` with `kwargs` (a JSON object).
    pub(super) fn action_method(
        &mut self,
        act: &str,
        method: &str,
        kwargs: Option<&str>,
    ) -> Result<Value, PyException> {
        let f = format!("CommandAction.{method}()");
        let kw = match kwargs {
            None => serde_json::Map::new(),
            Some(text) => match serde_json::from_str::<serde_json::Value>(text) {
                Ok(serde_json::Value::Object(m)) => m,
                Ok(other) => {
                    let kind = match other {
                        serde_json::Value::Array(_) => "list",
                        serde_json::Value::String(_) => "str",
                        serde_json::Value::Bool(_) => "bool",
                        serde_json::Value::Null => "NoneType",
                        _ => "int",
                    };
                    // Python names the function with its module here.
                    return Err(PyException::type_error(format!(
                        "fail2ban.server.action.{f} argument after ** must be a mapping, not {kind}"
                    )));
                }
                Err(e) => {
                    return Err(PyException::new(
                        "json.decoder",
                        "JSONDecodeError",
                        e.to_string(),
                    ))
                }
            },
        };
        if let Some(allowed) = params(method) {
            if let Some(k) = kw.keys().find(|k| !allowed.contains(&k.as_str())) {
                return Err(PyException::type_error(format!(
                    "{f} got an unexpected keyword argument '{k}'"
                )));
            }
        }
        let now = mytime::now();
        let empty = ActionInfo::empty(now, self.conf.bantime);
        let jail = self.conf.name.clone();
        let Some(a) = self.actions.get_mut(act) else {
            return Err(PyException::key_error(format!(
                "Invalid Action name: {act}"
            )));
        };
        let x = &mut self.exec;
        let info = || match kw.get("aInfo") {
            Some(serde_json::Value::Object(m)) => Ok(JsonInfo(m.clone())),
            Some(_) => Err(PyException::new(
                "builtins",
                "AttributeError",
                "'str' object has no attribute 'get'",
            )),
            None => Err(PyException::type_error(format!(
                "{f} missing 1 required positional argument: 'aInfo'"
            ))),
        };
        let res = match method {
            "start" => a.start(x, &empty).map(|_| Value::Bool(true)),
            "stop" => a.stop(x, &empty).map(|_| Value::Bool(true)),
            "flush" => a.flush(x, &empty).map(|_| Value::Bool(true)),
            "reload" => a.reload(x, &empty).map(|_| Value::Bool(true)),
            "consistencyCheck" => {
                // fail2ban: True without an actioncheck, else its result.
                let cmd = a.render(Op::Check, &empty);
                let ok = match cmd {
                    Ok(c) if c.is_empty() => true,
                    Ok(c) => x.execute(&Execution {
                        jail: &jail,
                        action: act,
                        op: Op::Check,
                        conditional: "",
                        cmd: &c,
                        timeout: a.timeout(),
                    }),
                    Err(e) => return Err(PyException::runtime_error(e.to_string())),
                };
                Ok(Value::Bool(ok))
            }
            "ban" => a.ban(&info()?, x, &empty).map(|_| Value::None),
            "unban" => a.unban(&info()?, x, &empty).map(|_| Value::None),
            "reban" => a.reban(&info()?, x, &empty).map(|_| Value::None),
            "prolong" => a.prolong(&info()?, x, &empty).map(|_| Value::None),
            _ => return Ok(Value::None),
        };
        res.map_err(|e| PyException::runtime_error(e.to_string()))
    }
}
