//! `set <jail> addaction|delaction|action ...` (fail2ban: `transmitter.py`
//! `__commandSet`, the action branches).

use ironban_config::Value;

use super::super::{arg, text, Answer};
use crate::jail::ActionConf;
use crate::protocol::{Obj, PyException};
use crate::server::Server;

/// Methods of a fail2ban action: `set <jail> action <act> <method> [json]`
/// calls them rather than setting a property.
const ACTION_METHODS: &[&str] = &[
    "ban",
    "unban",
    "start",
    "stop",
    "flush",
    "reload",
    "consistencyCheck",
    "reban",
    "prolong",
];

/// `set <jail> addaction <act> [<pythonfile> <kwargs>]`.
pub(super) fn add(srv: &mut Server, name: &Value, cmd: &[Value], quiet: bool) -> Answer {
    let q = |v: Obj| if quiet { Obj::None } else { v };
    let act = text(arg(cmd, 2)?);
    let python = if cmd.len() > 3 {
        Some((text(&cmd[3]), text(arg(cmd, 4)?)))
    } else {
        None
    };
    let j = srv.jail_mut(name)?;
    if j.action_mut(&act).is_none() {
        j.actions.push(ActionConf {
            name: act.clone(),
            python,
            props: Vec::new(),
        });
    }
    Ok(q(Obj::Str(act)))
}

/// `set <jail> delaction <act>`.
pub(super) fn del(srv: &mut Server, name: &Value, cmd: &[Value]) -> Answer {
    let act = text(arg(cmd, 2)?);
    let j = srv.jail_mut(name)?;
    if j.action_mut(&act).is_none() {
        return Err(PyException::key_error(format!(
            "Invalid Action name: {act}"
        )));
    }
    j.actions.retain(|a| a.name != act);
    Ok(Obj::None)
}

/// `set <jail> action <act> <property> <value>`, `... <method> [json]`, and
/// the `multi-set` form with a list of `[key, value]` pairs.
pub(super) fn set(
    srv: &mut Server,
    name: &Value,
    cmd: &[Value],
    multiple: bool,
    quiet: bool,
) -> Answer {
    let q = |v: Obj| if quiet { Obj::None } else { v };
    let act = text(arg(cmd, 2)?);
    let j = srv.jail_mut(name)?;
    if j.action_mut(&act).is_none() {
        return Err(PyException::key_error(format!(
            "Invalid Action name: {act}"
        )));
    }
    if !multiple {
        let key = text(arg(cmd, 3)?);
        if ACTION_METHODS.contains(&key.as_str()) {
            // fail2ban: getattr(action, key)(**json.loads(kwargs)),
            // run by the started jail's engine, in its order.
            // Quiet (a reload stream): fail2ban returns before the call.
            let Some(h) = j.runtime.as_ref().filter(|_| !quiet) else {
                return Ok(Obj::None);
            };
            let kwargs = cmd.get(4).map(text);
            let v = h.action_method(&act, &key, kwargs)?;
            return Ok(q(Obj::from(v)));
        }
    }
    let Some(a) = j.action_mut(&act) else {
        return Ok(Obj::None);
    };
    if multiple {
        if let Value::List(items) | Value::Tuple(items) = arg(cmd, 3)? {
            for it in items {
                if let Value::List(kv) | Value::Tuple(kv) = it {
                    let k = text(arg(kv, 0)?);
                    if ACTION_METHODS.contains(&k.as_str()) {
                        continue;
                    }
                    set_prop(a, &k, arg(kv, 1)?.clone());
                }
            }
        }
        return Ok(Obj::Bool(true));
    }
    let key = text(arg(cmd, 3)?);
    let v = arg(cmd, 4)?.clone();
    set_prop(a, &key, v.clone());
    Ok(q(Obj::from(v)))
}

fn set_prop(a: &mut ActionConf, k: &str, v: Value) {
    match a.props.iter_mut().find(|(n, _)| n == k) {
        Some(slot) => slot.1 = v,
        None => a.props.push((k.to_string(), v)),
    }
}
