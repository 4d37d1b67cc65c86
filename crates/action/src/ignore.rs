//! Whether a failure is ignored: `ignoreself`, `ignoreip` (IP, CIDR,
//! netmask, DNS name, `file:` lists), `ignorecommand` and `ignorecache`
//! (fail2ban: filter.py `addIgnoreIP`, `_inIgnoreIPList`; internals §D.3).
//!
//! Order, stopping at the first hit: the cache, ignoreself, the exact set
//! of single addresses, the list entries (subnets, names, files), then the
//! command. Name resolution, own addresses and the command go through
//! [`IgnoreEnv`], so tests run offline; [`SystemEnv`] is the real one.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use crate::actioninfo::ActionInfo;
use crate::duration::str2seconds;
use crate::error::{Error, Result};
use crate::tags::{self, HostNames, ShellCommand};
use crate::ticket::{normalise, FailId, Ticket};

/// Why an address was ignored (for `[jail] Ignore <ip> by <source>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoreSource {
    /// `ignoreself`.
    SelfRule,
    /// An `ignoreip` address or subnet.
    Ip,
    /// An `ignoreip` DNS name.
    Dns,
    /// An `ignoreip` `file:` list.
    File,
    /// `ignorecommand` exited 0.
    Command,
    /// A cached earlier decision.
    Cache,
}

impl IgnoreSource {
    /// fail2ban's wording in the log line.
    pub fn as_str(self) -> &'static str {
        match self {
            IgnoreSource::SelfRule => "ignoreself rule",
            IgnoreSource::Ip => "ip",
            IgnoreSource::Dns => "dns",
            IgnoreSource::File => "file",
            IgnoreSource::Command => "command",
            IgnoreSource::Cache => "cache",
        }
    }
}

/// Name resolution, own addresses and command execution for ignore checks.
pub trait IgnoreEnv {
    /// The host's own addresses (interfaces, `localhost`, host name, FQDN).
    fn self_ips(&mut self, now: f64) -> Vec<IpAddr>;
    /// Addresses of a DNS name (cached by the implementation).
    fn resolve(&mut self, name: &str, now: f64) -> Vec<IpAddr>;
    /// Runs `ignorecommand`; the exit code, or an error.
    fn run_command(&mut self, cmd: &ShellCommand) -> Result<i32>;
}

/// A network: address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Net {
    /// The network address (already masked).
    pub addr: IpAddr,
    /// Prefix length.
    pub plen: u8,
}

impl Net {
    /// Whether `ip` lies in the network (fail2ban: `IPAddr.isInNet`).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => mask4(a, self.plen) == n,
            (IpAddr::V6(n), IpAddr::V6(a)) => mask6(a, self.plen) == n,
            _ => false,
        }
    }
    fn is_single(&self) -> bool {
        self.plen == if self.addr.is_ipv4() { 32 } else { 128 }
    }
}

impl std::fmt::Display for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_single() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.plen)
        }
    }
}

fn mask4(a: Ipv4Addr, plen: u8) -> Ipv4Addr {
    let m = if plen == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(plen.min(32)))
    };
    Ipv4Addr::from(u32::from(a) & m)
}

fn mask6(a: Ipv6Addr, plen: u8) -> Ipv6Addr {
    let m = if plen == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(plen.min(128)))
    };
    Ipv6Addr::from(u128::from(a) & m)
}

/// Parses `IP`, `[v6]`, `IP/prefixlen` or `IP/netmask`; `None` if the text
/// is not an address.
pub fn parse_net(s: &str) -> Option<Net> {
    let s = s.trim();
    let (a, p) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let a = a
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(a);
    let addr = normalise(a.parse::<IpAddr>().ok()?);
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let plen = match p {
        None => max,
        Some(p) => match p.parse::<u8>() {
            Ok(n) if n <= max => n,
            Ok(_) => return None,
            Err(_) => {
                // A netmask: contiguous ones only.
                let m = p.parse::<IpAddr>().ok()?;
                let bits = match (addr, m) {
                    (IpAddr::V4(_), IpAddr::V4(m)) => {
                        let v = u32::from(m);
                        (v.leading_ones() + v.trailing_zeros() == 32).then_some(v.leading_ones())?
                    }
                    (IpAddr::V6(_), IpAddr::V6(m)) => {
                        let v = u128::from(m);
                        (v.leading_ones() + v.trailing_zeros() == 128)
                            .then_some(v.leading_ones())?
                    }
                    _ => return None,
                };
                bits as u8
            }
        },
    };
    let addr = match addr {
        IpAddr::V4(v) => IpAddr::V4(mask4(v, plen)),
        IpAddr::V6(v) => IpAddr::V6(mask6(v, plen)),
    };
    Some(Net { addr, plen })
}

fn is_dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| !l.is_empty() && l.len() <= 63)
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
}

/// `file:<path>` (regex `^file:(?:/{0,2}(?=/(?!/|.{1,2}/))|/{0,2})(.*)$`):
/// `file:///etc/x` and `file:/etc/x` both name `/etc/x`.
fn file_path(entry: &str) -> Option<PathBuf> {
    let rest = entry.strip_prefix("file:")?;
    let slashes = rest.bytes().take_while(|&b| b == b'/').count();
    for n in (0..=slashes.min(2)).rev() {
        if keeps_root(&rest[n..]) {
            return Some(PathBuf::from(&rest[n..]));
        }
    }
    Some(PathBuf::from(&rest[slashes.min(2)..]))
}

/// `/(?!/|.{1,2}/)`: a slash that starts an absolute path.
fn keeps_root(r: &str) -> bool {
    let Some(after) = r.strip_prefix('/') else {
        return false;
    };
    if after.starts_with('/') {
        return false;
    }
    let c: Vec<char> = after.chars().take(3).collect();
    !(c.len() >= 2 && c[1] == '/' || c.len() >= 3 && c[2] == '/')
}

/// A `file:` list, reloaded when the file changes.
#[derive(Debug, Clone)]
struct FileSet {
    path: PathBuf,
    stamp: Option<(i64, u64, u64)>,
    checked: f64,
    nets: Vec<Net>,
    names: Vec<String>,
}

impl FileSet {
    fn refresh(&mut self, now: f64) {
        if self.stamp.is_some() && now - self.checked < 1.0 {
            return;
        }
        self.checked = now;
        use std::os::unix::fs::MetadataExt;
        let stamp = std::fs::metadata(&self.path)
            .ok()
            .map(|m| (m.mtime(), m.ino(), m.size()));
        if stamp.is_some() && stamp == self.stamp {
            return;
        }
        self.stamp = stamp;
        self.nets.clear();
        self.names.clear();
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) => {
                log::error!("ignoreip file {}: {e}", self.path.display());
                return;
            }
        };
        for (n, line) in text.lines().enumerate() {
            let line = line.split(['#', ';']).next().unwrap_or("");
            for item in line
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
            {
                if let Some(net) = parse_net(item) {
                    self.nets.push(net);
                } else if is_dns_name(item) {
                    self.names.push(item.to_string());
                } else {
                    log::warn!(
                        "{}:{}: ignoreip entry {item:?} is not an IP, subnet or name",
                        self.path.display(),
                        n + 1
                    );
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Entry {
    Net(Net),
    Dns(String),
    File(FileSet),
}

/// `ignorecache` settings and contents.
#[derive(Debug, Clone)]
struct IgnoreCache {
    key: String,
    max_count: usize,
    max_time: f64,
    map: HashMap<String, (bool, f64)>,
}

/// The ignore rules of one jail.
#[derive(Debug, Clone)]
pub struct IgnoreList {
    jail: String,
    ignore_self: bool,
    set: Vec<IpAddr>,
    list: Vec<Entry>,
    command: Option<String>,
    cache: Option<IgnoreCache>,
    hosts: HostNames,
}

impl IgnoreList {
    /// Empty rules with `ignoreself = true`, fail2ban's default.
    pub fn new(jail: &str) -> IgnoreList {
        IgnoreList {
            jail: jail.to_string(),
            ignore_self: true,
            set: Vec::new(),
            list: Vec::new(),
            command: None,
            cache: None,
            hosts: HostNames::default(),
        }
    }

    /// `ignoreself`.
    pub fn set_ignore_self(&mut self, v: bool) {
        self.ignore_self = v;
    }

    /// `ignorecommand` (empty: none).
    pub fn set_ignore_command(&mut self, cmd: Option<&str>) {
        self.command = cmd.filter(|c| !c.trim().is_empty()).map(str::to_string);
    }

    /// Adds one `ignoreip` entry (fail2ban: `addIgnoreIP`). Duplicates are
    /// skipped.
    ///
    /// # Errors
    /// [`Error::IgnoreIp`] for an entry that is neither an address, a
    /// subnet, a DNS name nor `file:<path>`.
    pub fn add_ignore_ip(&mut self, entry: &str) -> Result<()> {
        let e = entry.trim();
        if e.is_empty() {
            return Ok(());
        }
        let err = |reason: &str| Error::IgnoreIp {
            jail: self.jail.clone(),
            entry: e.to_string(),
            reason: reason.to_string(),
        };
        if e.starts_with("file:") {
            let path = file_path(e).ok_or_else(|| err("bad file: entry"))?;
            if path.as_os_str().is_empty() {
                return Err(err("file: without a path"));
            }
            if self
                .list
                .iter()
                .any(|x| matches!(x, Entry::File(f) if f.path == path))
            {
                return Ok(());
            }
            self.list.push(Entry::File(FileSet {
                path,
                stamp: None,
                checked: f64::NEG_INFINITY,
                nets: vec![],
                names: vec![],
            }));
            return Ok(());
        }
        if let Some(net) = parse_net(e) {
            if net.is_single() {
                if !self.set.contains(&net.addr) {
                    self.set.push(net.addr);
                }
            } else if !self
                .list
                .iter()
                .any(|x| matches!(x, Entry::Net(n) if *n == net))
            {
                self.list.push(Entry::Net(net));
            }
            return Ok(());
        }
        if is_dns_name(e) {
            if !self
                .list
                .iter()
                .any(|x| matches!(x, Entry::Dns(n) if n == e))
            {
                self.list.push(Entry::Dns(e.to_string()));
            }
            return Ok(());
        }
        Err(err(
            "not an IP address, subnet (IP/prefix, IP/netmask), DNS name or file:<path>",
        ))
    }

    /// Removes one entry, or all with `None` (fail2ban: `delIgnoreIP`).
    pub fn del_ignore_ip(&mut self, entry: Option<&str>) {
        let Some(e) = entry else {
            self.set.clear();
            self.list.clear();
            return;
        };
        let e = e.trim();
        if let Some(net) = parse_net(e) {
            if net.is_single() {
                self.set.retain(|a| *a != net.addr);
            } else {
                self.list
                    .retain(|x| !matches!(x, Entry::Net(n) if *n == net));
            }
        } else {
            let path = file_path(e);
            self.list.retain(|x| match x {
                Entry::Dns(n) => n != e,
                Entry::File(f) => Some(&f.path) != path.as_ref(),
                Entry::Net(_) => true,
            });
        }
    }

    /// The entries as `get <jail> ignoreip` lists them: list entries first,
    /// then single addresses.
    pub fn ignore_ips(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .list
            .iter()
            .map(|e| match e {
                Entry::Net(n) => n.to_string(),
                Entry::Dns(d) => d.clone(),
                Entry::File(f) => format!("file:{}", f.path.display()),
            })
            .collect();
        out.extend(self.set.iter().map(|a| a.to_string()));
        out
    }

    /// `ignorecache`, e.g. `key="<ip>", max-count=100, max-time=5m`; empty
    /// turns the cache off.
    ///
    /// # Errors
    /// [`Error::IgnoreIp`] naming the bad option.
    pub fn set_ignore_cache(&mut self, spec: Option<&str>) -> Result<()> {
        let Some(spec) = spec.filter(|s| !s.trim().is_empty()) else {
            self.cache = None;
            return Ok(());
        };
        let mut c = IgnoreCache {
            key: "<ip>".into(),
            max_count: 100,
            max_time: 300.0,
            map: HashMap::new(),
        };
        for (k, v) in split_options(spec) {
            let err = |r: &str| Error::IgnoreIp {
                jail: self.jail.clone(),
                entry: format!("ignorecache {k}={v}"),
                reason: r.into(),
            };
            match k.as_str() {
                "key" => c.key = v,
                "max-count" => c.max_count = v.parse().map_err(|_| err("not a count"))?,
                "max-time" => c.max_time = str2seconds(&v).ok_or_else(|| err("not a duration"))?,
                _ => return Err(err("unknown option")),
            }
        }
        self.cache = Some(c);
        Ok(())
    }

    /// Looks up ahead what the first check would resolve (the host's own
    /// addresses, with `ignoreself`), so a jail's first failure does not
    /// wait for the resolver. The answer is the one the check would cache
    /// (process-wide, 5 min); fail2ban looks it up at that first check.
    pub fn prepare(&self, now: f64, env: &mut dyn IgnoreEnv) {
        if self.ignore_self {
            env.self_ips(now);
        }
    }

    /// Whether the failure of `id` (with its ticket, if any) is ignored,
    /// and by which rule (fail2ban: `_inIgnoreIPList`).
    pub fn is_ignored(
        &mut self,
        id: &FailId,
        ticket: Option<&Ticket>,
        now: f64,
        env: &mut dyn IgnoreEnv,
    ) -> Option<IgnoreSource> {
        let info = ticket.map(|t| {
            let mut i = ActionInfo::new(t, 0);
            i.set_resolver(None);
            i
        });
        let ipmap: std::collections::BTreeMap<String, String> =
            [("ip".to_string(), id.to_string())].into();
        let render = |tpl: &str, hosts: &HostNames| -> ShellCommand {
            match &info {
                Some(i) => tags::replace_dynamic_tags(tpl, i, hosts),
                None => tags::replace_dynamic_tags(tpl, &ipmap, hosts),
            }
        };
        let key = self.cache.as_ref().map(|c| {
            let k = render(&c.key, &self.hosts);
            let mut s = k.script;
            for (_, v) in k.vars {
                s.push('\0');
                s.push_str(&v);
            }
            s
        });
        if let (Some(c), Some(k)) = (self.cache.as_mut(), key.as_ref()) {
            c.map.retain(|_, (_, exp)| *exp > now);
            if let Some((v, _)) = c.map.get(k) {
                return v.then_some(IgnoreSource::Cache);
            }
        }
        let hit = self.check(id, now, env, &render);
        if let (Some(c), Some(k)) = (self.cache.as_mut(), key) {
            if c.map.len() >= c.max_count {
                // Drop the entry closest to expiry, keeping the bound.
                if let Some(old) = c
                    .map
                    .iter()
                    .min_by(|a, b| a.1 .1.total_cmp(&b.1 .1))
                    .map(|(k, _)| k.clone())
                {
                    c.map.remove(&old);
                }
            }
            c.map.insert(k, (hit.is_some(), now + c.max_time));
        }
        if let Some(src) = hit {
            log::info!("[{}] Ignore {} by {}", self.jail, id, src.as_str());
        }
        hit
    }

    fn check(
        &mut self,
        id: &FailId,
        now: f64,
        env: &mut dyn IgnoreEnv,
        render: &dyn Fn(&str, &HostNames) -> ShellCommand,
    ) -> Option<IgnoreSource> {
        if let Some(ip) = id.ip() {
            if self.ignore_self && env.self_ips(now).contains(&ip) {
                return Some(IgnoreSource::SelfRule);
            }
            if self.set.contains(&ip) {
                return Some(IgnoreSource::Ip);
            }
            for e in &mut self.list {
                match e {
                    Entry::Net(n) if n.contains(ip) => return Some(IgnoreSource::Ip),
                    Entry::Net(_) => {}
                    Entry::Dns(name) => {
                        if env.resolve(name, now).iter().any(|a| normalise(*a) == ip) {
                            return Some(IgnoreSource::Dns);
                        }
                    }
                    Entry::File(f) => {
                        f.refresh(now);
                        if f.nets.iter().any(|n| n.contains(ip)) {
                            return Some(IgnoreSource::File);
                        }
                        let names = f.names.clone();
                        if names
                            .iter()
                            .any(|name| env.resolve(name, now).iter().any(|a| normalise(*a) == ip))
                        {
                            return Some(IgnoreSource::File);
                        }
                    }
                }
            }
        }
        let cmd = self.command.clone()?;
        let real = render(&cmd, &self.hosts);
        match env.run_command(&real) {
            Ok(0) => Some(IgnoreSource::Command),
            Ok(1) => None,
            Ok(code) => {
                log::error!("[{}] ignorecommand {:?} exited with {code} (0 = ignore, 1 = do not): not ignored", self.jail, real.script);
                None
            }
            Err(e) => {
                log::error!("[{}] ignorecommand: {e}", self.jail);
                None
            }
        }
    }
}

/// Splits `k=v, k="v, w"` option lists.
fn split_options(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some((k, after)) = rest.split_once('=') else {
            break;
        };
        let k = k.trim().trim_start_matches(',').trim().to_string();
        let after = after.trim_start();
        let (v, tail) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => match after[1..].find(q) {
                Some(end) => (after[1..1 + end].to_string(), &after[end + 2..]),
                None => (after[1..].to_string(), ""),
            },
            _ => match after.find(',') {
                Some(end) => (after[..end].trim().to_string(), &after[end..]),
                None => (after.trim().to_string(), ""),
            },
        };
        out.push((k, v));
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

mod system;
pub use system::SystemEnv;

#[cfg(test)]
mod tests;
