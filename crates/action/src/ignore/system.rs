//! The real [`IgnoreEnv`]: the system resolver with a 5-minute cache, the
//! host's interface addresses and names, `/bin/sh` with a timeout
//! (fail2ban: ipdns.py `DNSUtils`, utils.py `executeCmd`).

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use super::IgnoreEnv;
use crate::error::{Error, Result};
use crate::tags::{HostNames, ShellCommand};
use crate::ticket::normalise;

/// The real environment: system resolver with a 5-minute cache, the host's
/// interface addresses, and `/bin/sh` with a timeout.
#[derive(Debug)]
pub struct SystemEnv {
    /// Timeout of `ignorecommand`.
    pub timeout: Duration,
}

impl Default for SystemEnv {
    fn default() -> Self {
        SystemEnv {
            timeout: Duration::from_secs(60),
        }
    }
}

const DNS_CACHE_SECS: f64 = 300.0;

/// Addresses and the time they expire (unix seconds).
type Cached = (Vec<IpAddr>, f64);

/// Name → addresses with their expiry, shared by every jail of the process
/// as fail2ban's `DNSUtils.CACHE_nameToIp` is: one jail's lookup serves the
/// others, and a jail's first ban does not pay for the resolver again.
static DNS: LazyLock<Mutex<HashMap<String, Cached>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The host's own addresses (`ignoreself`) with their expiry, process-wide
/// as fail2ban's `getSelfIPs` cache: resolving them (interfaces plus three
/// resolver calls) was a cost of each jail's first ban.
static OWN: Mutex<Option<Cached>> = Mutex::new(None);

fn lookup(name: &str) -> Vec<IpAddr> {
    (name, 0)
        .to_socket_addrs()
        .map(|it| it.map(|sa| normalise(sa.ip())).collect())
        .unwrap_or_default()
}

fn interface_ips() -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut ifap: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills a list we walk read-only and free once.
    unsafe {
        if libc::getifaddrs(&mut ifap) != 0 {
            return out;
        }
        let mut p = ifap;
        while !p.is_null() {
            let a = (*p).ifa_addr;
            if !a.is_null() {
                match i32::from((*a).sa_family) {
                    libc::AF_INET => {
                        let sa = &*(a as *const libc::sockaddr_in);
                        out.push(IpAddr::V4(Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr))));
                    }
                    libc::AF_INET6 => {
                        let sa = &*(a as *const libc::sockaddr_in6);
                        out.push(normalise(IpAddr::V6(Ipv6Addr::from(sa.sin6_addr.s6_addr))));
                    }
                    _ => {}
                }
            }
            p = (*p).ifa_next;
        }
        libc::freeifaddrs(ifap);
    }
    out
}

impl IgnoreEnv for SystemEnv {
    fn self_ips(&mut self, now: f64) -> Vec<IpAddr> {
        if let Some((ips, exp)) = OWN.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            if *exp > now {
                return ips.clone();
            }
        }
        // Resolved without the lock held: a slow resolver must not hold up
        // the other jails' cache hits.
        let hosts = HostNames::system();
        let mut set: HashSet<IpAddr> = interface_ips().into_iter().collect();
        for name in ["localhost", hosts.short.as_str(), hosts.fq.as_str()] {
            if !name.is_empty() {
                set.extend(lookup(name));
            }
        }
        let ips: Vec<IpAddr> = set.into_iter().collect();
        *OWN.lock().unwrap_or_else(|e| e.into_inner()) = Some((ips.clone(), now + DNS_CACHE_SECS));
        ips
    }

    fn resolve(&mut self, name: &str, now: f64) -> Vec<IpAddr> {
        if let Some((ips, exp)) = DNS.lock().unwrap_or_else(|e| e.into_inner()).get(name) {
            if *exp > now {
                return ips.clone();
            }
        }
        let ips = lookup(name);
        DNS.lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), (ips.clone(), now + DNS_CACHE_SECS));
        ips
    }

    fn run_command(&mut self, cmd: &ShellCommand) -> Result<i32> {
        // Under fail2ban's `_cmd_lock`, as `CommandAction.executeCmd` runs it.
        let (code, out) = {
            let _guard = crate::exec::cmd_lock();
            crate::exec::run_code(cmd, self.timeout)?
        };
        code.map_err(|status| Error::Command {
            cmd: cmd.script.clone(),
            status,
            stderr: out.stderr,
        })
    }
}
