//! `status` and `stats` (fail2ban: `server.py` `status`/`statusJail`,
//! `jail.py` `status`, `actions.py` `status`).

use ironban_config::Value;

use super::{is, text, Answer};
use crate::jail::{pair, Jail};
use crate::protocol::{Obj, PyException};
use crate::server::Server;

const FLAVORS: &[&str] = &["short", "basic", "stats", "cymru"];

/// `status ...` with `cmd` = the words after `status`.
pub fn status(srv: &Server, cmd: &[Value]) -> Answer {
    match cmd.len() {
        0 => Ok(srv.status()),
        1 | 2 => {
            let flavor = cmd.get(1).map(text).unwrap_or_else(|| "basic".into());
            if is(cmd.first(), "--all") {
                if flavor == "stats" {
                    return Ok(stats(srv));
                }
                let Obj::List(mut items) = srv.status() else {
                    unreachable!("server status is a list")
                };
                let jails = srv
                    .sorted_jails()
                    .into_iter()
                    .map(|j| Ok((Obj::Str(j.name.clone()), jail_status(srv, j, &flavor))))
                    .collect::<Result<Vec<_>, PyException>>()?;
                items.push(Obj::Dict(jails));
                return Ok(Obj::List(items));
            }
            let j = srv.jail(&cmd[0])?;
            if flavor == "stats" {
                return Ok(jail_stats(j));
            }
            Ok(jail_status(srv, j, &flavor))
        }
        _ => Err(PyException::exception("Invalid command (no status)")),
    }
}

/// A jail's `[("Filter", ...), ("Actions", ...)]` for a flavor.
fn jail_status(srv: &Server, j: &Jail, flavor: &str) -> Obj {
    if !FLAVORS.contains(&flavor) {
        srv.log.warning(
            "actions",
            &format!(
                "Unsupported extended jail status flavor {}. Supported: ['short', 'basic', 'stats', 'cymru']",
                Value::str(flavor).repr()
            ),
        );
    }
    let live = j.live();
    let mut actions = vec![
        pair("Currently banned", Obj::Int(live.bans.len() as i64)),
        pair("Total banned", Obj::Int(live.ban_total)),
    ];
    if flavor != "short" {
        actions.push(pair(
            "Banned IP list",
            Obj::ips(live.bans.iter().map(|b| b.ip.clone())),
        ));
    }
    if flavor == "cymru" {
        // ironban does no Team Cymru DNS lookups; it answers as fail2ban
        // does without dnspython.
        srv.log.error(
            "banmanager",
            "dnspython package is required but could not be imported",
        );
        for n in ["Banned ASN list", "Banned Country list", "Banned RIR list"] {
            actions.push(pair(n, Obj::strs(["error"])));
        }
    }
    Obj::List(vec![
        pair("Filter", j.filter_status()),
        pair("Actions", Obj::List(actions)),
    ])
}

/// `[backend, (failCur, failTot), (banCur, banTot)]`.
fn jail_stats(j: &Jail) -> Obj {
    let live = j.live();
    Obj::List(vec![
        Obj::Str(j.backend_kind()),
        Obj::Tuple(vec![Obj::Int(live.fails), Obj::Int(live.fail_total)]),
        Obj::Tuple(vec![
            Obj::Int(live.bans.len() as i64),
            Obj::Int(live.ban_total),
        ]),
    ])
}

/// `stats`: `{jail: [backend, (failCur, failTot), (banCur, banTot)]}`.
pub fn stats(srv: &Server) -> Obj {
    Obj::Dict(
        srv.sorted_jails()
            .into_iter()
            .map(|j| (Obj::Str(j.name.clone()), jail_stats(j)))
            .collect(),
    )
}
