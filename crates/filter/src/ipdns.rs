//! IP addresses, subnets and raw host ids, and the `usedns` lookup.
//!
//! [`IpAddr`] is fail2ban's `IPAddr`: an IPv4/IPv6 address with a prefix
//! length (IPv4-mapped IPv6 becomes IPv4), or a raw string when the text is
//! not an address (a DNS name with `usedns = raw`, or an `<F-ID>`). Equality
//! and display follow fail2ban's. (fail2ban: `server/ipdns.py`.)

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, ToSocketAddrs};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::failregex::UseDns;
use crate::text::Text;

/// How to read the text given to [`IpAddr::new`] (fail2ban's `cidr` argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cidr {
    /// Any family; `a.b.c.d/n` and `[v6]` are understood.
    Unspec,
    /// Keep the text as is (`CIDR_RAW`).
    Raw,
    /// Parse as IPv4 only (`FAM_IPv4`).
    FamV4,
    /// Parse as IPv6 only (`FAM_IPv6`).
    FamV6,
    /// Any family, masked to this prefix length.
    Plen(u8),
}

/// Address family of an [`IpAddr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    /// Not an address: kept as raw text.
    Raw,
    /// Could not be parsed (fail2ban's `AF_UNSPEC`).
    Unspec,
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// fail2ban's `IPAddr`.
#[derive(Debug, Clone)]
pub struct IpAddr {
    family: Family,
    addr: u128,
    plen: u8,
    /// The text as given: shared with the failure's group when it came
    /// from one, so a failure id costs no copy.
    raw: Text,
}

impl IpAddr {
    /// Reads `text` as fail2ban's `IPAddr(text, cidr)` does.
    pub fn new(text: &str, cidr: Cidr) -> IpAddr {
        IpAddr::parse(text, cidr, || Text::from(text))
    }

    /// [`IpAddr::new`] of a group's text, keeping a reference to it.
    pub(crate) fn from_text(text: &Text, cidr: Cidr) -> IpAddr {
        IpAddr::parse(text.as_str(), cidr, || text.clone())
    }

    fn parse(text: &str, cidr: Cidr, raw: impl FnOnce() -> Text) -> IpAddr {
        let mut ip = IpAddr {
            family: Family::Unspec,
            addr: 0,
            plen: 0,
            raw: raw(),
        };
        let (text, cidr) = match cidr {
            Cidr::Raw => {
                ip.family = Family::Raw;
                return ip;
            }
            Cidr::Unspec => wrap(text),
            c => (text, c),
        };
        let families: &[Family] = match cidr {
            Cidr::FamV4 => &[Family::V4],
            Cidr::FamV6 => &[Family::V6],
            _ => &[Family::V4, Family::V6],
        };
        for f in families {
            match f {
                Family::V4 => {
                    if let Some(a) = parse_v4(text) {
                        ip.family = Family::V4;
                        ip.addr = u32::from(a) as u128;
                        ip.plen = 32;
                        if let Cidr::Plen(p) = cidr {
                            let p = p.min(32);
                            let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
                            ip.addr &= mask as u128;
                            ip.plen = p;
                        }
                        break;
                    }
                }
                Family::V6 => {
                    if let Ok(a) = text.parse::<Ipv6Addr>() {
                        ip.family = Family::V6;
                        ip.addr = u128::from(a);
                        ip.plen = 128;
                        if let Cidr::Plen(p) = cidr {
                            let p = p.min(128);
                            let mask = if p == 0 { 0 } else { u128::MAX << (128 - p) };
                            ip.addr &= mask;
                            ip.plen = p;
                        } else if ip.addr >> 32 == 0xffff {
                            ip.family = Family::V4;
                            ip.addr &= 0xffff_ffff;
                            ip.plen = 32;
                        }
                        break;
                    }
                }
                _ => {}
            }
        }
        ip
    }

    /// The family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// True for a parsed IPv4 or IPv6 address.
    pub fn is_valid(&self) -> bool {
        matches!(self.family, Family::V4 | Family::V6)
    }

    /// The raw text given.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Prefix length (32/128 for a single address).
    pub fn plen(&self) -> u8 {
        self.plen
    }

    /// True if `self` (a subnet) contains `other`.
    pub fn contains(&self, other: &IpAddr) -> bool {
        if self.family != other.family || !self.is_valid() {
            return false;
        }
        let bits = if self.family == Family::V4 { 32 } else { 128 };
        let shift = bits - self.plen as u32;
        if shift >= 128 {
            return true;
        }
        (self.addr >> shift) == (other.addr >> shift)
    }
}

fn parse_v4(s: &str) -> Option<Ipv4Addr> {
    // inet_pton: exactly four decimal parts, no leading `+`; glibc's
    // inet_pton also refuses leading zeros ("192.030.0.6" stays raw).
    // One pass over the bytes: this runs for every failure.
    let b = s.as_bytes();
    if b.len() < 7 || b.len() > 15 {
        return None;
    }
    let mut o = [0u8; 4];
    let mut i = 0;
    for (k, slot) in o.iter_mut().enumerate() {
        if k > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut v: u32 = 0;
        while i < b.len() && i - start < 3 && b[i].is_ascii_digit() {
            v = v * 10 + u32::from(b[i] - b'0');
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || v > 255 || (digits > 1 && b[start] == b'0') {
            return None;
        }
        *slot = v as u8;
    }
    (i == b.len()).then(|| Ipv4Addr::from(o))
}

/// `[v6]` → `v6`, `a/n` → prefix (fail2ban: `IPAddr.__wrap_ipstr`).
fn wrap(text: &str) -> (&str, Cidr) {
    let mut t = text;
    if t.len() > 2 && t.starts_with('[') && t.ends_with(']') {
        t = &t[1..t.len() - 1];
    }
    let Some((a, m)) = t.split_once('/') else {
        return (t, Cidr::Unspec);
    };
    let plen = if m.contains('.') || m.contains(':') {
        let mask = IpAddr::new(m, Cidr::Unspec);
        let bits = if mask.family == Family::V4 { 32 } else { 128 };
        let v = if bits == 32 {
            mask.addr << 96
        } else {
            mask.addr
        };
        let _ = bits;
        v.leading_ones() as u8
    } else {
        m.parse().unwrap_or(0)
    };
    (a, Cidr::Plen(plen))
}

impl fmt::Display for IpAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.family {
            Family::V4 => {
                write!(f, "{}", Ipv4Addr::from(self.addr as u32))?;
                if self.plen > 0 && self.plen < 32 {
                    write!(f, "/{}", self.plen)?;
                }
                Ok(())
            }
            Family::V6 => {
                write!(f, "{}", Ipv6Addr::from(self.addr))?;
                if self.plen > 0 && self.plen < 128 {
                    write!(f, "/{}", self.plen)?;
                }
                Ok(())
            }
            _ => f.write_str(&self.raw),
        }
    }
}

impl PartialEq for IpAddr {
    fn eq(&self, other: &IpAddr) -> bool {
        if self.family != other.family {
            return false;
        }
        match self.family {
            Family::Raw | Family::Unspec => self.raw == other.raw,
            _ => self.addr == other.addr && self.plen == other.plen,
        }
    }
}

impl PartialEq<str> for IpAddr {
    /// fail2ban compares an `IPAddr` with a string by parsing the string,
    /// except a raw id, which compares as text.
    fn eq(&self, other: &str) -> bool {
        if self.family == Family::Raw {
            return self.raw == other;
        }
        *self == IpAddr::new(other, Cidr::Unspec)
    }
}

/// Finds the first plain IP in `text` (fail2ban: `IPAddr.searchIP`).
pub fn search_ip(text: &str) -> Option<IpAddr> {
    let ip = IpAddr::new(text, Cidr::Unspec);
    ip.is_valid().then_some(ip)
}

/// The addresses for a host text under `usedns` (fail2ban: `DNSUtils.textToIp`):
/// a literal IP as is, otherwise a forward lookup for `yes`/`warn`. The
/// second value is the warning fail2ban logs for `warn`.
pub fn text_to_ip(text: &str, usedns: UseDns) -> (Vec<IpAddr>, Option<String>) {
    if let Some(ip) = search_ip(text) {
        return (vec![ip], None);
    }
    if matches!(usedns, UseDns::Yes | UseDns::Warn) {
        let out = dns_to_ip(text);
        let warn = (!out.is_empty() && usedns == UseDns::Warn).then(|| {
            let list: Vec<String> = out.iter().map(|i| format!("'{i}'")).collect();
            format!(
                "Determined IP using DNS Lookup: {text} = {{{}}}",
                list.join(", ")
            )
        });
        return (out, warn);
    }
    (Vec::new(), None)
}

/// Forward lookup, cached for 5 minutes as fail2ban does
/// (`DNSUtils.CACHE_nameToIp`, 1000 entries).
fn dns_to_ip(name: &str) -> Vec<IpAddr> {
    type Cache = Mutex<HashMap<String, (Instant, Vec<IpAddr>)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    const TTL: Duration = Duration::from_secs(300);
    let cache = CACHE.get_or_init(Default::default);
    if let Ok(c) = cache.lock() {
        if let Some((t, ips)) = c.get(name) {
            if t.elapsed() < TTL {
                return ips.clone();
            }
        }
    }
    let mut out: Vec<IpAddr> = Vec::new();
    if let Ok(addrs) = (name, 0).to_socket_addrs() {
        for a in addrs {
            let ip = IpAddr::new(&a.ip().to_string(), Cidr::Unspec);
            if !out.contains(&ip) {
                out.push(ip);
            }
        }
    }
    if let Ok(mut c) = cache.lock() {
        if c.len() >= 1000 {
            c.retain(|_, (t, _)| t.elapsed() < TTL);
            if c.len() >= 1000 {
                c.clear();
            }
        }
        c.insert(name.to_string(), (Instant::now(), out.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(
            IpAddr::new("::ffff:192.0.2.1", Cidr::Unspec).to_string(),
            "192.0.2.1"
        );
        assert_eq!(
            IpAddr::new("192.0.2.7/24", Cidr::Unspec).to_string(),
            "192.0.2.0/24"
        );
        assert_eq!(
            IpAddr::new("[2001:DB8::1]", Cidr::Unspec).to_string(),
            "2001:db8::1"
        );
        assert_eq!(
            IpAddr::new("10.0.0.0/255.0.0.0", Cidr::Unspec).to_string(),
            "10.0.0.0/8"
        );
        assert!(!IpAddr::new("host.example", Cidr::Unspec).is_valid());
        assert_eq!(
            IpAddr::new("192.030.0.6", Cidr::FamV4).to_string(),
            "192.030.0.6"
        );
        assert!(IpAddr::new("192.0.2.1", Cidr::FamV4) == *"192.0.2.1");
        assert!(IpAddr::new("abc", Cidr::Raw) == *"abc");
        assert!(IpAddr::new("10.0.0.0/8", Cidr::Unspec)
            .contains(&IpAddr::new("10.1.2.3", Cidr::Unspec)));
    }

    #[test]
    fn ipv4_text_as_inet_pton_reads_it() {
        let ok = [
            ("0.0.0.0", [0, 0, 0, 0]),
            ("192.0.2.1", [192, 0, 2, 1]),
            ("255.255.255.255", [255, 255, 255, 255]),
            ("10.0.100.9", [10, 0, 100, 9]),
        ];
        for (t, o) in ok {
            assert_eq!(parse_v4(t), Some(Ipv4Addr::from(o)), "{t}");
        }
        let bad = [
            "",
            ".",
            "1.2.3",
            "1.2.3.4.",
            ".1.2.3.4",
            "1.2.3.4.5",
            "256.0.0.1",
            "1.2.3.999",
            "01.2.3.4",
            "1.2.3.00",
            "1.2..3",
            "1.2.3.4a",
            "+1.2.3.4",
            "1.2.3.1000",
            "1 .2.3.4",
        ];
        for t in bad {
            assert_eq!(parse_v4(t), None, "{t}");
        }
    }
}
