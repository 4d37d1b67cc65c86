//! One jail as the server holds it: the options the command stream set
//! (filter, log paths, actions, times) and its ban list.
//!
//! This is the seam for the engine crates: today a jail stores its options
//! and answers for them; log following (ironban-filter) and running actions
//! (ironban-action) attach here later without changing the transmitter.
//! (fail2ban: `server/jail.py`, with the option getters of `filter.py`,
//! `failmanager.py`, `actions.py` and `banmanager.py`.)

use std::sync::{Arc, Mutex};

use ironban_config::Value;

use crate::mytime;

pub mod engine;
pub mod follow;
pub mod runtime;

use crate::protocol::{Obj, PyException};
pub use runtime::JailHandle;

/// An action as configured: its name and properties in the order set.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionConf {
    /// The action name (`dummy`, `iptables-multiport`, ...).
    pub name: String,
    /// Python action file and its JSON kwargs, for `addaction <n> <py> <json>`.
    pub python: Option<(String, String)>,
    /// Properties (`actionban`, `port`, ...).
    pub props: Vec<(String, Value)>,
}

/// One ban: the IP, when it started and, if the ticket carries its own, how
/// long it lasts. A ban without its own time follows the jail's current
/// `bantime`, as fail2ban's `BanTicket.getBanTime(default)` does.
#[derive(Debug, Clone, PartialEq)]
pub struct Ban {
    /// The banned address (or id) as text.
    pub ip: String,
    /// Unix time the ban started.
    pub time: f64,
    /// The ticket's own ban time (-1: forever), if any.
    pub bantime: Option<i64>,
}

impl Ban {
    /// Ban time in effect given the jail's `bantime`.
    pub fn bantime(&self, jail_bantime: i64) -> i64 {
        self.bantime.unwrap_or(jail_bantime)
    }

    /// End of the ban, as fail2ban's `getEndOfBanTime`.
    pub fn end(&self, jail_bantime: i64) -> f64 {
        match self.bantime(jail_bantime) {
            -1 => 0x7FFF_FFFF_FFFF_i64 as f64,
            bt => self.time + bt as f64,
        }
    }
}

/// A filter regex as given and as expanded. Both texts are shared by every
/// jail that sets the same regex (50 jails on `sshd` hold one copy of its
/// 18 expanded failregexes, ~1.5 KB each), and by the engine's copy of the
/// options.
pub type RegexText = (std::sync::Arc<str>, std::sync::Arc<str>);

/// A jail's state.
#[derive(Debug, Clone)]
pub struct Jail {
    /// Jail name.
    pub name: String,
    /// Backend as given to `add` (`auto`, `polling`, `systemd[...]`).
    pub backend: String,
    /// Whether `start` ran.
    pub started: bool,
    /// `idle on|off`.
    pub idle: bool,
    /// `ignoreself`.
    pub ignoreself: bool,
    /// `addignoreip` entries, in order.
    pub ignoreip: Vec<String>,
    /// `ignorecommand` (`False` until set, as fail2ban).
    pub ignorecommand: Value,
    /// `ignorecache` as `[key, max-count, max-time]`.
    pub ignorecache: Value,
    /// Log paths with their `tail` flag.
    pub logpaths: Vec<(String, bool)>,
    /// `logencoding` (resolved: `auto` is the locale's, UTF-8).
    pub logencoding: String,
    /// `addjournalmatch` groups.
    pub journalmatch: Vec<Vec<String>>,
    /// `prefregex` as given and as expanded.
    pub prefregex: Option<RegexText>,
    /// `failregex` list, each as given and as expanded.
    pub failregex: Vec<RegexText>,
    /// `ignoreregex` list, each as given and as expanded.
    pub ignoreregex: Vec<RegexText>,
    /// `usedns`.
    pub usedns: String,
    /// `findtime` in seconds.
    pub findtime: Value,
    /// `datepattern` as `get datepattern` answers it.
    pub datepattern: Value,
    /// `datepattern` as given (what the filter is built from).
    pub datepattern_raw: Option<String>,
    /// `logtimezone`.
    pub logtimezone: Value,
    /// `maxmatches`.
    pub maxmatches: i64,
    /// `maxretry`.
    pub maxretry: i64,
    /// `maxlines`.
    pub maxlines: i64,
    /// `bantime` in seconds.
    pub bantime: i64,
    /// `bantime.<opt>` values.
    pub bantime_extra: Vec<(String, Value)>,
    /// Actions in the order added.
    pub actions: Vec<ActionConf>,
    /// Current bans, in ban order.
    pub bans: Vec<Ban>,
    /// Bans ever made.
    pub ban_total: i64,
    /// Failures currently counted, per failure id, with their retry count.
    pub fails: Vec<(String, i64)>,
    /// Failures ever counted.
    pub fail_total: i64,
    /// The running engine (filter, fail manager, actions) once `start` ran:
    /// then bans and counts live there, not in the fields above.
    pub runtime: Option<JailHandle>,
}

/// What the running engine shows the transmitter: its ban list and
/// counters, refreshed after every step (fail2ban reads them from the
/// filter's fail manager and the actions' ban manager).
#[derive(Debug, Default, Clone)]
pub struct Live {
    /// Current bans in ban order.
    pub bans: Vec<Ban>,
    /// Bans ever made.
    pub ban_total: i64,
    /// IDs currently counted by the fail manager.
    pub fails: i64,
    /// Failures ever counted.
    pub fail_total: i64,
}

/// The live view shared between the engine thread and the transmitter.
pub type SharedLive = Arc<Mutex<Live>>;

impl Jail {
    /// A new jail with fail2ban's defaults.
    pub fn new(name: &str, backend: &str) -> Jail {
        Jail {
            name: name.to_string(),
            backend: backend.to_string(),
            started: false,
            idle: false,
            ignoreself: true,
            ignoreip: Vec::new(),
            ignorecommand: Value::Bool(false),
            ignorecache: Value::None,
            logpaths: Vec::new(),
            logencoding: "UTF-8".into(),
            journalmatch: Vec::new(),
            prefregex: None,
            failregex: Vec::new(),
            ignoreregex: Vec::new(),
            usedns: "warn".into(),
            findtime: Value::Int(600),
            datepattern: Value::Tuple(vec![Value::None, Value::str("Default Detectors")]),
            datepattern_raw: None,
            logtimezone: Value::None,
            maxmatches: 5,
            maxretry: 3,
            maxlines: 1,
            bantime: 600,
            bantime_extra: Vec::new(),
            actions: Vec::new(),
            bans: Vec::new(),
            ban_total: 0,
            fails: Vec::new(),
            fail_total: 0,
            runtime: None,
        }
    }

    /// A copy of the live view when running, else of the stored fields.
    pub fn live(&self) -> Live {
        match &self.runtime {
            Some(h) => h.live(),
            None => Live {
                bans: self.bans.clone(),
                ban_total: self.ban_total,
                fails: self.fails.len() as i64,
                fail_total: self.fail_total,
            },
        }
    }

    /// The backend's base name (`systemd[journalflags=1]` → `systemd`).
    pub fn backend_name(&self) -> &str {
        self.backend.split('[').next().unwrap_or(&self.backend)
    }

    /// The backend name fail2ban reports in `stats` (`auto` resolves to the
    /// poller fail2ban would pick here).
    pub fn backend_kind(&self) -> String {
        match self.backend_name() {
            "auto" | "" => "polling".to_string(),
            other => other.to_string(),
        }
    }

    /// Whether the jail reads the systemd journal.
    pub fn is_journal(&self) -> bool {
        self.backend_name() == "systemd"
    }

    /// Log paths as `get logpath` answers.
    pub fn logpath_list(&self) -> Obj {
        if self.is_journal() {
            return Obj::List(Vec::new());
        }
        Obj::strs(self.logpaths.iter().map(|(p, _)| p.clone()))
    }

    /// Journal matches as `get journalmatch` answers.
    pub fn journalmatch_list(&self) -> Obj {
        if !self.is_journal() {
            return Obj::List(Vec::new());
        }
        Obj::List(
            self.journalmatch
                .iter()
                .map(|g| Obj::strs(g.iter().cloned()))
                .collect(),
        )
    }

    /// Adds a log path (ignored for a journal backend, as fail2ban).
    pub fn add_logpath(&mut self, path: &str, tail: bool) {
        if self.is_journal() {
            return;
        }
        if !self.logpaths.iter().any(|(p, _)| p == path) {
            self.logpaths.push((path.to_string(), tail));
        }
    }

    /// Adds an ignoreip entry unless it is a duplicate or empty.
    pub fn add_ignoreip(&mut self, ip: &str) {
        if ip.is_empty() || self.ignoreip.iter().any(|i| i == ip) {
            return;
        }
        self.ignoreip.push(ip.to_string());
    }

    /// `ignoreip` as fail2ban lists it: subnets and names first, then single
    /// addresses.
    pub fn ignoreip_list(&self) -> Obj {
        let (multi, single): (Vec<&String>, Vec<&String>) =
            self.ignoreip.iter().partition(|i| !is_single_ip(i));
        Obj::ips(multi.into_iter().chain(single).cloned())
    }

    /// Sets `bantime` from a duration string or number.
    ///
    /// # Errors
    /// A value `str2seconds` cannot read.
    pub fn set_bantime(&mut self, v: &Value) -> Result<(), PyException> {
        self.bantime = mytime::to_int(&mytime::str2seconds(v)?);
        Ok(())
    }

    /// Counts `count` failures of `ip` (fail2ban's `FailManager.addFailure`):
    /// the retry count it reached.
    pub fn add_failure(&mut self, ip: &str, count: i64) -> i64 {
        self.fail_total += 1;
        match self.fails.iter_mut().find(|(i, _)| i == ip) {
            Some((_, retry)) => {
                *retry += count;
                *retry
            }
            None => {
                let retry = count.max(1);
                self.fails.push((ip.to_string(), retry));
                retry
            }
        }
    }

    /// Whether `ip` is currently banned.
    pub fn is_banned(&self, ip: &str) -> bool {
        match &self.runtime {
            Some(h) => h.live().bans.iter().any(|b| b.ip == ip),
            None => self.bans.iter().any(|b| b.ip == ip),
        }
    }

    /// Bans `ip` at `now`; false if it was already banned.
    pub fn ban(&mut self, ip: &str, now: f64) -> bool {
        if self.is_banned(ip) {
            return false;
        }
        self.bans.push(Ban {
            ip: ip.to_string(),
            time: now,
            bantime: None,
        });
        self.ban_total += 1;
        true
    }

    /// Removes `ip` from the ban list; false if it was not banned.
    pub fn unban(&mut self, ip: &str) -> bool {
        match self.bans.iter().position(|b| b.ip == ip) {
            Some(i) => {
                self.bans.remove(i);
                true
            }
            None => false,
        }
    }

    /// Banned IPs in ban order.
    pub fn banned_ips(&self) -> Vec<String> {
        self.live().bans.iter().map(|b| b.ip.clone()).collect()
    }

    /// Bans sorted by end of ban (stable), as `get banip` lists them.
    pub fn bans_by_end(&self) -> Vec<Ban> {
        let mut v = self.live().bans;
        v.sort_by(|a, b| a.end(self.bantime).total_cmp(&b.end(self.bantime)));
        v
    }

    /// The action called `name`.
    pub fn action_mut(&mut self, name: &str) -> Option<&mut ActionConf> {
        self.actions.iter_mut().find(|a| a.name == name)
    }

    /// `status <jail> [flavor]`: the Filter part.
    pub fn filter_status(&self) -> Obj {
        let live = self.live();
        let mut v = vec![
            pair("Currently failed", Obj::Int(live.fails)),
            pair("Total failed", Obj::Int(live.fail_total)),
        ];
        if self.is_journal() {
            let m: Vec<String> = self.journalmatch.iter().map(|g| g.join(" ")).collect();
            v.push(pair("Journal matches", Obj::strs([m.join(" + ")])));
        } else {
            v.push(pair(
                "File list",
                Obj::strs(self.logpaths.iter().map(|(p, _)| p.clone())),
            ));
        }
        Obj::List(v)
    }
}

/// `(name, value)` as the status structures hold it.
pub fn pair(name: &str, v: Obj) -> Obj {
    Obj::Tuple(vec![Obj::Str(name.to_string()), v])
}

/// Whether `s` is one address (not a subnet or a host name).
pub fn is_single_ip(s: &str) -> bool {
    !s.contains('/') && s.parse::<std::net::IpAddr>().is_ok()
}
