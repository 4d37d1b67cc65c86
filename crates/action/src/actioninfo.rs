//! The dynamic tags of one ban (fail2ban: actions.py `Actions.ActionInfo`,
//! a lazily computed `CallingMap`; internals §E.1 "ActionInfo tags").
//!
//! Values are computed when the info is built, except `<ip-host>` (a
//! reverse DNS lookup), which is resolved on first use and cached.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::net::IpAddr;

use ironban_config::stream::{float_repr, str_repr};

use crate::tags::DynamicTags;
use crate::ticket::{FailId, Ticket};

/// Reverse DNS for `<ip-host>`: the host name of an address, if any.
pub type HostResolver = fn(IpAddr) -> Option<String>;

/// Per-ban tag values (`<ip>`, `<family>`, `<matches>`, `<F-USER>`, ...).
#[derive(Debug, Clone)]
pub struct ActionInfo {
    values: BTreeMap<String, String>,
    data: BTreeMap<String, String>,
    ip: Option<IpAddr>,
    ip_host: OnceCell<String>,
    resolver: Option<HostResolver>,
}

/// Ban history merged across jails and within the jail, from the database
/// (fail2ban: `getBansMerged`). Without a database the ticket itself is used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergedBans {
    /// Matches of this IP in all jails.
    pub ipmatches: Vec<String>,
    /// Failures of this IP in all jails.
    pub ipfailures: u32,
    /// Matches of this IP in this jail.
    pub ipjailmatches: Vec<String>,
    /// Failures of this IP in this jail.
    pub ipjailfailures: u32,
}

/// Counters of the jail, for `<jail.banned>` and friends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JailCounts {
    /// Currently banned.
    pub banned: usize,
    /// Banned since start.
    pub banned_total: u64,
    /// Currently failing.
    pub found: usize,
    /// Failures since start.
    pub found_total: u64,
}

impl ActionInfo {
    /// The info of a ban of `ticket`; `jail_bantime` fills `<bantime>` when
    /// the ticket has none.
    pub fn new(ticket: &Ticket, jail_bantime: i64) -> ActionInfo {
        let ipid = ticket.ip();
        let mut v = BTreeMap::new();
        let put = |v: &mut BTreeMap<String, String>, k: &str, s: String| {
            v.insert(k.to_string(), s);
        };
        put(&mut v, "ip", ipid.to_string());
        put(
            &mut v,
            "family",
            ipid.family().map_or("None", |f| f.as_str()).to_string(),
        );
        put(&mut v, "ip-rev", ipid.ptr());
        put(&mut v, "fid", ticket.id.to_string());
        put(&mut v, "failures", ticket.attempt.to_string());
        put(&mut v, "time", float_repr(ticket.time));
        put(
            &mut v,
            "bantime",
            ticket.bantime_or(jail_bantime).to_string(),
        );
        put(&mut v, "bancount", ticket.bancount.to_string());
        put(&mut v, "matches", ticket.matches.join("\n"));
        put(&mut v, "restored", u8::from(ticket.restored).to_string());
        put(&mut v, "ipmatches", ticket.matches.join("\n"));
        put(&mut v, "ipjailmatches", ticket.matches.join("\n"));
        put(&mut v, "ipfailures", ticket.attempt.to_string());
        put(&mut v, "ipjailfailures", ticket.attempt.to_string());
        put(&mut v, "raw-ticket", raw_ticket(ticket));
        let mut info = ActionInfo {
            values: v,
            data: ticket.data.clone(),
            ip: ipid.ip(),
            ip_host: OnceCell::new(),
            resolver: Some(reverse_dns),
        };
        info.data
            .insert("failures".to_string(), ticket.attempt.to_string());
        info.set_counts(JailCounts::default());
        info
    }

    /// The info of a ticket-less operation (start, stop, flush, check):
    /// empty `<ip>`, `<time>` = `now` (fail2ban: `_getActionInfo(None)`).
    pub fn empty(now: f64, jail_bantime: i64) -> ActionInfo {
        let t = Ticket::new(FailId::Raw(String::new()), now, Vec::new());
        let mut info = ActionInfo::new(&t, jail_bantime);
        info.values.insert("family".into(), String::new());
        info.ip_host.set("None".to_string()).ok();
        info
    }

    /// Uses the database's merged history for `<ipmatches>` & co.
    pub fn set_merged(&mut self, m: &MergedBans) {
        self.values
            .insert("ipmatches".into(), m.ipmatches.join("\n"));
        self.values
            .insert("ipfailures".into(), m.ipfailures.to_string());
        self.values
            .insert("ipjailmatches".into(), m.ipjailmatches.join("\n"));
        self.values
            .insert("ipjailfailures".into(), m.ipjailfailures.to_string());
    }

    /// Sets `<jail.banned>`, `<jail.banned_total>`, `<jail.found>`,
    /// `<jail.found_total>`.
    pub fn set_counts(&mut self, c: JailCounts) {
        self.values
            .insert("jail.banned".into(), c.banned.to_string());
        self.values
            .insert("jail.banned_total".into(), c.banned_total.to_string());
        self.values.insert("jail.found".into(), c.found.to_string());
        self.values
            .insert("jail.found_total".into(), c.found_total.to_string());
    }

    /// Sets `<time>` (fail2ban refreshes it to now before each
    /// ticket-less operation).
    pub fn set_time(&mut self, now: f64) {
        self.values.insert("time".into(), float_repr(now));
    }

    /// Resolves `<ip-host>` with `resolver`, or never (`None` renders as
    /// Python's `None`, as an offline fail2ban does).
    pub fn set_resolver(&mut self, resolver: Option<HostResolver>) {
        self.resolver = resolver;
    }

    /// Fixes `<ip-host>`.
    pub fn set_ip_host(&mut self, host: Option<&str>) {
        self.ip_host = OnceCell::new();
        let _ = self.ip_host.set(host.unwrap_or("None").to_string());
    }

    /// All string values (except `<ip-host>`), e.g. for `--json`.
    pub fn values(&self) -> &BTreeMap<String, String> {
        &self.values
    }
}

impl DynamicTags for ActionInfo {
    fn get(&self, tag: &str) -> Option<String> {
        if tag == "ip-host" {
            let h = self.ip_host.get_or_init(|| {
                match (self.ip, self.resolver) {
                    (Some(ip), Some(r)) => r(ip),
                    _ => None,
                }
                .unwrap_or_else(|| "None".to_string())
            });
            return Some(h.clone());
        }
        self.values.get(tag).cloned()
    }

    fn ticket_data(&self, key: &str) -> Option<String> {
        if key == "matches" {
            let list: Vec<String> = self.values.get("matches").map_or(Vec::new(), |m| {
                if m.is_empty() {
                    Vec::new()
                } else {
                    m.split('\n').map(str_repr).collect()
                }
            });
            return Some(format!("[{}]", list.join(", ")));
        }
        self.data.get(key).cloned()
    }
}

/// Python's `repr(BanTicket)`.
fn raw_ticket(t: &Ticket) -> String {
    let matches: Vec<String> = t.matches.iter().map(|m| str_repr(m)).collect();
    format!(
        "BanTicket: ip={} time={} bantime={} bancount={} #attempts={} matches=[{}]",
        t.id,
        float_repr(t.time),
        t.bantime.map_or("None".to_string(), |b| b.to_string()),
        t.bancount,
        t.attempt,
        matches.join(", ")
    )
}

/// Reverse DNS through the system resolver (`getnameinfo` with
/// `NI_NAMEREQD`), as fail2ban's `DNSUtils.ipToName`.
pub fn reverse_dns(ip: IpAddr) -> Option<String> {
    use std::ffi::CStr;
    let mut host = [0 as libc::c_char; 1025];
    // SAFETY: the sockaddr structs are fully initialised and sized; host is
    // a valid buffer of the given length.
    let rc = unsafe {
        match ip {
            IpAddr::V4(v4) => {
                let mut sa: libc::sockaddr_in = std::mem::zeroed();
                sa.sin_family = libc::AF_INET as libc::sa_family_t;
                sa.sin_addr.s_addr = u32::from_ne_bytes(v4.octets());
                libc::getnameinfo(
                    (&sa as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                    host.as_mut_ptr(),
                    host.len() as libc::socklen_t,
                    std::ptr::null_mut(),
                    0,
                    libc::NI_NAMEREQD,
                )
            }
            IpAddr::V6(v6) => {
                let mut sa: libc::sockaddr_in6 = std::mem::zeroed();
                sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sa.sin6_addr.s6_addr = v6.octets();
                libc::getnameinfo(
                    (&sa as *const libc::sockaddr_in6).cast(),
                    std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                    host.as_mut_ptr(),
                    host.len() as libc::socklen_t,
                    std::ptr::null_mut(),
                    0,
                    libc::NI_NAMEREQD,
                )
            }
        }
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: getnameinfo NUL-terminates on success.
    Some(
        unsafe { CStr::from_ptr(host.as_ptr()) }
            .to_string_lossy()
            .into_owned(),
    )
}
