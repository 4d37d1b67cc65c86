//! Tickets: one failure ID with its time, matches and ban state
//! (fail2ban: server/ticket.py `Ticket`, `FailTicket`, `BanTicket`).
//!
//! fail2ban turns a `FailTicket` into a `BanTicket` by swapping its class;
//! here one [`Ticket`] type serves both, and the aliases name the role.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

/// End of ban of a permanent ban (fail2ban: `Ticket.MAX_TIME`).
pub const MAX_TIME: f64 = 0x7FFF_FFFF_FFFF_u64 as f64;

/// The address family of a failure ID, as action conditionals name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4 (`inet4`).
    Inet4,
    /// IPv6 (`inet6`).
    Inet6,
}

impl Family {
    /// `inet4` or `inet6`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Inet4 => "inet4",
            Family::Inet6 => "inet6",
        }
    }
}

/// A failure ID: an IP address or, for filters that capture `<F-ID>`, a
/// raw string (fail2ban: `IPAddr`, which also holds non-IP strings).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailId {
    /// An IP address; IPv4-mapped IPv6 is normalised to IPv4.
    Ip(IpAddr),
    /// Anything that is not an IP address.
    Raw(String),
}

impl FailId {
    /// Parses an ID as fail2ban's `IPAddr` does: an IP address (IPv4-mapped
    /// IPv6 normalised to IPv4, `[v6]` brackets accepted), else a raw string.
    pub fn parse(s: &str) -> FailId {
        let t = s.trim();
        let t = t
            .strip_prefix('[')
            .and_then(|x| x.strip_suffix(']'))
            .unwrap_or(t);
        match t.parse::<IpAddr>() {
            Ok(ip) => FailId::Ip(normalise(ip)),
            Err(_) => FailId::Raw(s.to_string()),
        }
    }

    /// The IP address, if the ID is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            FailId::Ip(ip) => Some(*ip),
            FailId::Raw(_) => None,
        }
    }

    /// `inet4`/`inet6`, or `None` for a raw ID.
    pub fn family(&self) -> Option<Family> {
        match self {
            FailId::Ip(IpAddr::V4(_)) => Some(Family::Inet4),
            FailId::Ip(IpAddr::V6(_)) => Some(Family::Inet6),
            FailId::Raw(_) => None,
        }
    }

    /// The reverse-DNS name without suffix, e.g. `1.2.0.192.` (note the
    /// trailing dot); empty for a raw ID (fail2ban: `IPAddr.getPTR('')`).
    pub fn ptr(&self) -> String {
        match self {
            FailId::Ip(IpAddr::V4(v4)) => {
                let o = v4.octets();
                format!("{}.{}.{}.{}.", o[3], o[2], o[1], o[0])
            }
            FailId::Ip(IpAddr::V6(v6)) => {
                let mut s = String::with_capacity(64);
                for b in v6.octets().iter().rev() {
                    s.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
                    s.push('.');
                    s.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
                    s.push('.');
                }
                s
            }
            FailId::Raw(_) => String::new(),
        }
    }
}

/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes IPv4, as fail2ban compares.
pub fn normalise(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

impl fmt::Display for FailId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailId::Ip(ip) => ip.fmt(f),
            FailId::Raw(s) => f.write_str(s),
        }
    }
}

/// A failure or ban ticket (fail2ban: `ticket.py`).
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    /// The failure ID.
    pub id: FailId,
    /// Time of the (last) failure, or of the ban, in seconds since the epoch.
    pub time: f64,
    /// The log lines that matched (the last `maxmatches`).
    pub matches: Vec<String>,
    /// Failures seen (fail2ban's `data['failures']`, "attempt").
    pub attempt: u32,
    /// Values captured by the filter, keyed by lower-case name without
    /// `F-` (`user`, `fport`, ...). The key `ip` overrides the ID for `<ip>`.
    pub data: BTreeMap<String, String>,
    /// Ticket-specific ban time; `None` uses the jail's.
    pub bantime: Option<i64>,
    /// How many times the ID was banned (this ban included, once banned).
    pub bancount: u32,
    /// The actions ran for this ticket.
    pub banned: bool,
    /// Restored from the database at jail start.
    pub restored: bool,
    /// Ban epoch at ban time; a later epoch means the actions were repaired.
    pub ban_epoch: u64,
    first_time: f64,
    retry: u32,
}

/// A ticket in the failure list.
pub type FailTicket = Ticket;
/// A ticket in the ban list.
pub type BanTicket = Ticket;

impl Ticket {
    /// A ticket as the filter makes it: no attempt recorded yet (fail2ban:
    /// `FailTicket(ip, time, data=fail)`; the fail manager counts it).
    pub fn new(id: FailId, time: f64, matches: Vec<String>) -> Ticket {
        Ticket {
            id,
            time,
            matches,
            attempt: 0,
            data: BTreeMap::new(),
            bantime: None,
            bancount: 0,
            banned: false,
            restored: false,
            ban_epoch: 0,
            first_time: time,
            retry: 0,
        }
    }

    /// The address used for `<ip>`: `data['ip']` if set, else the ID
    /// (fail2ban: `Ticket.getIP`).
    pub fn ip(&self) -> FailId {
        match self.data.get("ip") {
            Some(ip) => FailId::parse(ip),
            None => self.id.clone(),
        }
    }

    /// The ticket's ban time, or `default` (the jail's).
    pub fn bantime_or(&self, default: i64) -> i64 {
        self.bantime.unwrap_or(default)
    }

    /// End of ban: `time + bantime`, or [`MAX_TIME`] for a permanent ban.
    ///
    /// Every negative bantime is permanent (fail2ban 1.x only treats `-1`
    /// so; see docs/action.md "Differences from fail2ban").
    pub fn end_of_ban(&self, default_bantime: i64) -> f64 {
        let bt = self.bantime_or(default_bantime);
        if bt < 0 {
            MAX_TIME
        } else {
            self.time + bt as f64
        }
    }

    /// Whether the ban has run out at `now` (fail2ban: `isTimedOut`).
    pub fn is_timed_out(&self, now: f64, default_bantime: i64) -> bool {
        let bt = self.bantime_or(default_bantime);
        bt >= 0 && now > self.time + bt as f64
    }

    /// The failure count used against `maxretry` (fail2ban: `getRetry`).
    pub fn retry(&self) -> u32 {
        self.retry
    }

    /// Sets an artificial retry count (fail2ban: `setRetry`, used by
    /// bantime.increment for known bad IPs and for `count > attempt`).
    pub fn set_retry(&mut self, value: u32) {
        self.retry = value;
        if self.attempt == 0 {
            self.attempt = 1;
        }
        if value == 0 {
            self.attempt = 0;
            self.matches.clear();
        }
    }

    /// Time of the first failure still counted.
    pub fn first_time(&self) -> f64 {
        self.first_time
    }

    /// Rescales the retry count when the failures span more than `findtime`:
    /// a rate estimate, not a sliding window (fail2ban: `adjustTime`).
    pub fn adjust_time(&mut self, time: f64, findtime: f64) {
        if time > self.time {
            if self.first_time < time - findtime {
                let rate = f64::from(self.retry) / (time - self.first_time) * findtime;
                self.retry = round_half_even(rate).max(0.0) as u32;
                self.first_time = time - findtime;
            }
            self.time = time;
        }
    }

    /// Adds a failure (fail2ban: `FailTicket.inc`).
    pub fn inc(&mut self, matches: &[String], attempt: u32, count: u32) {
        self.retry += count;
        self.attempt += attempt;
        self.matches.extend_from_slice(matches);
    }
}

/// Python 3 `round()`: halves go to the even neighbour.
pub(crate) fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 {
        2.0 * (x / 2.0).round()
    } else {
        r
    }
}
