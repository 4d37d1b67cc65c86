//! `get` and `banned` (fail2ban: `transmitter.py` `__commandGet`,
//! `server.py` `banned`).

use ironban_config::Value;

use super::{arg, is, text, Answer};
use crate::mytime;
use crate::protocol::{Obj, PyException};
use crate::server::Server;

/// `get ...` with `cmd` = the words after `get`.
pub fn get(srv: &Server, cmd: &[Value]) -> Answer {
    let name = arg(cmd, 0)?;
    match name.as_str().unwrap_or("") {
        "loglevel" => return Ok(Obj::Str(srv.loglevel.clone())),
        "logtarget" => return Ok(Obj::Str(srv.logtarget.clone())),
        "syslogsocket" => return Ok(Obj::Str(srv.syslogsocket.clone())),
        "thread" => {
            return Ok(Obj::Dict(vec![(
                Obj::from("stacksize"),
                Obj::Int(srv.stacksize),
            )]))
        }
        "dbfile" => return Ok(srv.dbfile.clone().map(Obj::Str).unwrap_or(Obj::None)),
        "dbmaxmatches" => {
            return Ok(match srv.dbfile {
                None => Obj::None,
                Some(_) => Obj::Int(srv.dbmaxmatches),
            })
        }
        "dbpurgeage" => {
            return Ok(match srv.dbfile {
                None => Obj::None,
                Some(_) => Obj::from(srv.dbpurgeage.clone()),
            })
        }
        _ => {}
    }
    let opt_v = arg(cmd, 1)?;
    let opt = opt_v.as_str().unwrap_or("");
    let known = matches!(
        opt,
        "banned"
            | "logpath"
            | "logencoding"
            | "journalmatch"
            | "ignoreself"
            | "ignoreip"
            | "ignorecommand"
            | "ignorecache"
            | "prefregex"
            | "failregex"
            | "ignoreregex"
            | "usedns"
            | "findtime"
            | "datepattern"
            | "logtimezone"
            | "maxmatches"
            | "maxretry"
            | "maxlines"
            | "bantime"
            | "banip"
            | "actions"
            | "action"
            | "actionproperties"
            | "actionmethods"
    ) || opt.starts_with("bantime.");
    if !known {
        return Err(PyException::exception(
            "Invalid command (no get action or not yet implemented)",
        ));
    }
    let j = srv.jail(name)?;
    Ok(match opt {
        "banned" => banned_in(j, &cmd[2..]),
        "logpath" => j.logpath_list(),
        "logencoding" => Obj::Str(j.logencoding.clone()),
        "journalmatch" => j.journalmatch_list(),
        "ignoreself" => Obj::Bool(j.ignoreself),
        "ignoreip" => j.ignoreip_list(),
        "ignorecommand" => Obj::from(j.ignorecommand.clone()),
        "ignorecache" => Obj::from(j.ignorecache.clone()),
        "prefregex" => Obj::Str(
            j.prefregex
                .as_ref()
                .map(|p| p.1.to_string())
                .unwrap_or_default(),
        ),
        "failregex" => Obj::strs(j.failregex.iter().map(|r| r.1.to_string())),
        "ignoreregex" => Obj::strs(j.ignoreregex.iter().map(|r| r.1.to_string())),
        "usedns" => Obj::Str(j.usedns.clone()),
        "findtime" => Obj::from(j.findtime.clone()),
        "datepattern" => Obj::from(j.datepattern.clone()),
        "logtimezone" => Obj::from(j.logtimezone.clone()),
        "maxmatches" => Obj::Int(j.maxmatches),
        "maxretry" => Obj::Int(j.maxretry),
        "maxlines" => Obj::Int(j.maxlines),
        "bantime" => Obj::Int(j.bantime),
        "banip" => {
            let with_time = is(cmd.get(2), "--with-time");
            let bans = j.bans_by_end();
            if with_time {
                Obj::strs(bans.iter().map(|b| {
                    format!(
                        "{} \t{} + {} = {}",
                        b.ip,
                        mytime::time2str(b.time),
                        b.bantime(j.bantime),
                        mytime::time2str(b.end(j.bantime))
                    )
                }))
            } else {
                Obj::ips(bans.iter().map(|b| b.ip.clone()))
            }
        }
        "actions" => Obj::strs(j.actions.iter().map(|a| a.name.clone())),
        "action" | "actionproperties" | "actionmethods" => {
            let act = text(arg(cmd, 2)?);
            let a = j
                .actions
                .iter()
                .find(|a| a.name == act)
                .ok_or_else(|| PyException::key_error(format!("Invalid Action name: {act}")))?;
            match opt {
                "action" => {
                    let key = text(arg(cmd, 3)?);
                    let v = a
                        .props
                        .iter()
                        .find(|(k, _)| *k == key)
                        .map(|(_, v)| v.clone());
                    match v {
                        Some(v) => Obj::from(v),
                        None => {
                            return Err(PyException::new(
                                "builtins",
                                "AttributeError",
                                format!("'CommandAction' object has no attribute '{key}'"),
                            ))
                        }
                    }
                }
                "actionproperties" => {
                    // What dir() shows of a fail2ban CommandAction: its own
                    // attributes plus the properties set through the stream.
                    let mut names: Vec<String> = COMMAND_ACTION_ATTRS
                        .iter()
                        .map(|s| s.to_string())
                        .chain(a.props.iter().map(|(k, _)| k.clone()))
                        .collect();
                    names.sort();
                    names.dedup();
                    Obj::strs(names)
                }
                _ => Obj::strs(COMMAND_ACTION_METHODS.iter().copied()),
            }
        }
        o => {
            let key = &o["bantime.".len()..];
            j.bantime_extra
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| Obj::from(v.clone()))
                .unwrap_or(Obj::None)
        }
    })
}

/// Non-callable public attributes every fail2ban `CommandAction` has.
const COMMAND_ACTION_ATTRS: &[&str] = &[
    "ESCAPE_CRE",
    "ESCAPE_VN_CRE",
    "actionban",
    "actioncheck",
    "actionflush",
    "actionreban",
    "actionreload",
    "actionrepair",
    "actionstart",
    "actionstop",
    "actionunban",
    "actname",
    "banEpoch",
    "timeout",
];

/// Public methods of a fail2ban `CommandAction`, sorted as `dir()` lists them.
const COMMAND_ACTION_METHODS: &[&str] = &[
    "ban",
    "clearAllParams",
    "consistencyCheck",
    "escapeTag",
    "executeCmd",
    "flush",
    "invalidateBanEpoch",
    "prolong",
    "reban",
    "reload",
    "replaceDynamicTags",
    "replaceTag",
    "start",
    "stop",
    "unban",
];

/// `get <jail> banned [ip...]`: the list, `1`/`0`, or `[1, 0, ...]`.
fn banned_in(j: &crate::jail::Jail, ids: &[Value]) -> Obj {
    match ids {
        [] => Obj::ips(j.banned_ips()),
        [one] => Obj::Int(i64::from(j.is_banned(&text(one)))),
        many => Obj::List(
            many.iter()
                .map(|ip| Obj::Int(i64::from(j.is_banned(&text(ip)))))
                .collect(),
        ),
    }
}

/// `banned [ip...]` over all jails: `[{jail: [ips]}, ...]`, or per IP the
/// list of jails that ban it.
pub fn banned_all(srv: &Server, ids: &[Value]) -> Obj {
    if ids.is_empty() {
        return Obj::List(
            srv.jails
                .iter()
                .map(|j| Obj::Dict(vec![(Obj::Str(j.name.clone()), Obj::ips(j.banned_ips()))]))
                .collect(),
        );
    }
    Obj::List(
        ids.iter()
            .map(|ip| {
                let ip = text(ip);
                Obj::strs(
                    srv.jails
                        .iter()
                        .filter(|j| j.is_banned(&ip))
                        .map(|j| j.name.clone()),
                )
            })
            .collect(),
    )
}
