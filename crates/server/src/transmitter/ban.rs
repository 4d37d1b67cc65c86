//! Unbanning by address, subnet or all (fail2ban: `actions.py`
//! `removeBannedIP`, `server.py` `setUnbanIP`).

use ironban_config::Value;

use super::text;
use crate::jail::is_single_ip;
use crate::protocol::PyException;
use crate::server::Server;

/// Unbans `ips` in jail `jail`; with `ifexists` false, a missing IP raises
/// `ValueError("not banned: [...]")` after the others are unbanned.
pub fn unban_ips(
    srv: &mut Server,
    jail: &str,
    ips: &[Value],
    ifexists: bool,
) -> Result<i64, PyException> {
    let log = srv.log.clone();
    let Some(j) = srv.jails.iter_mut().find(|j| j.name == jail) else {
        return Err(PyException::unknown_jail(jail));
    };
    if let Some(h) = &j.runtime {
        let (cnt, missed) = h.unban(ips.iter().map(text).collect());
        if !missed.is_empty() && !ifexists {
            let missed: Vec<Value> = missed.into_iter().map(Value::Str).collect();
            return Err(PyException::value_error(format!(
                "not banned: {}",
                Value::List(missed).repr()
            )));
        }
        return Ok(cnt);
    }
    let mut cnt = 0;
    let mut missed = Vec::new();
    for ip in ips {
        let ip = text(ip);
        if j.unban(&ip) {
            log.notice("actions", &format!("[{}] Unban {ip}", j.name));
            cnt += 1;
            continue;
        }
        if !is_single_ip(&ip) {
            let inside: Vec<String> = j
                .banned_ips()
                .into_iter()
                .filter(|b| cidr_contains(&ip, b))
                .collect();
            if !inside.is_empty() {
                for b in inside {
                    j.unban(&b);
                    log.notice("actions", &format!("[{}] Unban {b}", j.name));
                    cnt += 1;
                }
                continue;
            }
        }
        log.log("actions", 18, &format!("{ip} is not banned"));
        if !ifexists {
            missed.push(Value::Str(ip));
        }
    }
    if !missed.is_empty() {
        return Err(PyException::value_error(format!(
            "not banned: {}",
            Value::List(missed).repr()
        )));
    }
    Ok(cnt)
}

/// Whether address `ip` is inside `net` (`a.b.c.d/n` or an IPv6 prefix).
pub(crate) fn cidr_contains(net: &str, ip: &str) -> bool {
    let Some((base, bits)) = net.split_once('/') else {
        return false;
    };
    let (Ok(base), Ok(ip)) = (
        base.parse::<std::net::IpAddr>(),
        ip.parse::<std::net::IpAddr>(),
    ) else {
        return false;
    };
    let Ok(bits) = bits.parse::<u32>() else {
        return false;
    };
    match (base, ip) {
        (std::net::IpAddr::V4(b), std::net::IpAddr::V4(i)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            (u32::from(b) & mask) == (u32::from(i) & mask)
        }
        (std::net::IpAddr::V6(b), std::net::IpAddr::V6(i)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            (u128::from(b) & mask) == (u128::from(i) & mask)
        }
        _ => false,
    }
}
