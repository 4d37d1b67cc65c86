//! The server's state: the jail registry, the global settings (logging,
//! database), reload bookkeeping, and the shutdown request
//! (fail2ban: `server/server.py`, `server/jails.py`).

use std::sync::Arc;

use ironban_config::Value;

use crate::database::Database;
use crate::jail::runtime::SharedDb;
use crate::jail::{Jail, JailHandle};
use crate::jails::Jails;
use crate::log::Logger;
use crate::protocol::{Obj, PyException};

/// With `IRONBAN_TIMING` set in the environment, writes `ironban-timing
/// <CLOCK_MONOTONIC seconds> <what>` to stderr: the start-up breakdown of
/// docs/server.md ("Start-up and memory") was measured with it. The clock
/// is the one Python's `time.monotonic()` reads, so a benchmark can put its
/// own spawn time on the same line. Costs one branch when unset.
pub fn timing(what: impl FnOnce() -> String) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if !*ON.get_or_init(|| std::env::var_os("IRONBAN_TIMING").is_some()) {
        return;
    }
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    eprintln!(
        "ironban-timing {}.{:06} {}",
        ts.tv_sec,
        ts.tv_nsec / 1000,
        what()
    );
}

/// The fail2ban version ironban answers to `version`: the release whose
/// protocol and outputs it reproduces.
pub const FAIL2BAN_VERSION: &str = "1.1.2.dev1";

/// Everything the transmitter acts on. Guarded by one mutex in the async
/// server; no `.await` happens while it is held.
pub struct Server {
    /// The jail registry.
    pub jails: Jails,
    /// The server log.
    pub log: Arc<Logger>,
    /// `loglevel` as set (upper-cased).
    pub loglevel: String,
    /// `logtarget` without options.
    pub logtarget: String,
    /// `syslogsocket`.
    pub syslogsocket: String,
    /// `allowipv6` as given.
    pub allowipv6: Value,
    /// `dbfile`, `None` when disabled.
    pub dbfile: Option<String>,
    /// `dbmaxmatches`.
    pub dbmaxmatches: i64,
    /// `dbpurgeage` in seconds.
    pub dbpurgeage: Value,
    /// `thread` stack size in KiB.
    pub stacksize: i64,
    /// Jails being reloaded: `Some(true)` once the stream re-added them.
    pub reload_state: Option<Vec<(String, bool)>>,
    /// `stop` was received: reply, then shut down.
    pub quit_requested: bool,
    /// The open database, once a jail started with `dbfile` set.
    pub db: Option<SharedDb>,
    /// A configuration stream is being applied: jails it starts hold their
    /// actions' start until [`Server::release_starts`] at its end.
    pub hold_starts: bool,
}

impl Server {
    /// A server with fail2ban's defaults, logging through `log`.
    pub fn new(log: Arc<Logger>) -> Server {
        Server {
            jails: Jails::default(),
            log,
            loglevel: "INFO".into(),
            logtarget: "STDERR".into(),
            syslogsocket: "auto".into(),
            allowipv6: Value::str("auto"),
            dbfile: None,
            dbmaxmatches: 10,
            dbpurgeage: Value::Int(86400),
            stacksize: 0,
            reload_state: None,
            quit_requested: false,
            db: None,
            hold_starts: false,
        }
    }

    /// Lets every jail started while `hold_starts` was set start its
    /// actions, and clears `hold_starts`.
    pub fn release_starts(&mut self) {
        self.hold_starts = false;
        for j in self.jails.iter() {
            if let Some(h) = &j.runtime {
                h.release();
            }
        }
    }

    /// The database, opened on first use (fail2ban opens it at `set
    /// dbfile`; the jails use it from their start on).
    pub fn database(&mut self) -> Option<SharedDb> {
        if self.db.is_none() {
            let path = self.dbfile.clone()?;
            match Database::open(&path) {
                Ok(mut db) => {
                    for n in std::mem::take(&mut db.notes) {
                        self.log.info("database", &n);
                    }
                    self.log.info(
                        "database",
                        &format!("Connected to fail2ban persistent database '{path}'"),
                    );
                    match &self.dbpurgeage {
                        Value::Int(a) => db.purge_age = *a,
                        Value::Float(a) => db.purge_age = *a as i64,
                        _ => {}
                    }
                    db.max_matches = self.dbmaxmatches.max(0) as usize;
                    self.db = Some(std::sync::Arc::new(std::sync::Mutex::new(db)));
                }
                Err(e) => {
                    self.log.error("database", &e.to_string());
                    return None;
                }
            }
        }
        self.db.clone()
    }

    /// Starts the engine of jail `name` (filter, actions, log following,
    /// restored bans).
    pub fn start_runtime(&mut self, name: &str) {
        if self
            .jails
            .iter()
            .any(|j| j.name == name && j.runtime.is_some())
        {
            return;
        }
        let db = self.database();
        let log = self.log.clone();
        if let Some(j) = self.jails.iter_mut().find(|j| j.name == name) {
            let h = JailHandle::start(j, db, log, self.hold_starts);
            j.runtime = Some(h);
        }
    }

    /// The jail called `name`.
    ///
    /// # Errors
    /// `UnknownJailException(name)`.
    pub fn jail(&self, name: &Value) -> Result<&Jail, PyException> {
        self.jails.get(name)
    }

    /// The jail called `name`, mutable.
    ///
    /// # Errors
    /// `UnknownJailException(name)`.
    pub fn jail_mut(&mut self, name: &Value) -> Result<&mut Jail, PyException> {
        self.jails.get_mut(name)
    }

    /// Whether a jail called `name` exists.
    pub fn exists(&self, name: &str) -> bool {
        self.jails.exists(name)
    }

    /// `add <jail> <backend>`.
    ///
    /// # Errors
    /// `DuplicateJailException` for an existing jail outside a reload.
    pub fn add_jail(&mut self, name: &str, backend: &str) -> Result<(), PyException> {
        if let Some(state) = self.reload_state.as_mut() {
            if let Some(entry) = state.iter_mut().find(|(n, _)| n == name) {
                let same = self
                    .jails
                    .iter()
                    .find(|j| j.name == name)
                    .map(|j| j.backend == backend)
                    .unwrap_or(false);
                if same {
                    entry.1 = true;
                    self.log.info("server", &format!("Reload jail '{name}'"));
                    return Ok(());
                }
                let old = self
                    .jails
                    .iter()
                    .find(|j| j.name == name)
                    .map(|j| j.backend.clone())
                    .unwrap_or_default();
                self.log.info(
                    "server",
                    &format!("Restart jail '{name}' (reason: '{old}' != '{backend}')"),
                );
                state.retain(|(n, _)| n != name);
                self.del_jail(name);
            }
        }
        if self.exists(name) {
            return Err(PyException::duplicate_jail(name));
        }
        self.log
            .info("jail", &format!("Creating new jail '{name}'"));
        let jail = Jail::new(name, backend);
        let kind = jail.backend_kind();
        let uses = match jail.backend_name() {
            "polling" => Some("poller"),
            "pyinotify" => Some("pyinotify"),
            "systemd" => Some("systemd"),
            _ => None,
        };
        if let Some(u) = uses {
            self.log.info(
                "jail",
                &format!("Jail '{name}' uses {u} {}", backend_kwargs(backend).repr()),
            );
        }
        self.jails.add(jail)?;
        self.log
            .info("jail", &format!("Initiated '{kind}' backend"));
        Ok(())
    }

    /// Stops and removes a jail: its log files are released and its bans
    /// flushed as at fail2ban's stop.
    pub fn del_jail(&mut self, name: &str) {
        if let Some(jail) = self.jails.remove_named(name) {
            stop_filter_and_actions(&self.log, &jail);
            if let Some(h) = &jail.runtime {
                h.stop();
            }
            if jail.started {
                self.log.info("jail", &format!("Jail '{name}' stopped"));
            }
        }
    }

    /// `stop --all` and the stop part of shutdown: first every jail's filter
    /// and actions stop, then each reports it stopped (fail2ban signals all
    /// jails before joining them).
    pub fn stop_all_jails(&mut self) {
        self.log.info("server", "Stopping all jails");
        let jails = std::mem::take(&mut self.jails);
        // The jails stop concurrently; each one's actions stop in order,
        // and each one's log lines are written in jail order.
        let stopping: Vec<_> = jails
            .iter()
            .map(|j| j.runtime.as_ref().map(|h| h.stop_begin()))
            .collect();
        for (j, s) in jails.iter().zip(stopping) {
            stop_filter_and_actions(&self.log, j);
            if let Some(s) = s {
                s.wait();
            }
        }
        for j in jails.iter().filter(|j| j.started) {
            self.log.info("jail", &format!("Jail '{}' stopped", j.name));
        }
    }

    /// Unbans everything in `jail` (or every jail): the `unban --all` count.
    pub fn unban_all(&mut self, jail: Option<&str>) -> i64 {
        let mut cnt = 0;
        for j in self.jails.iter_mut() {
            if jail.is_some_and(|n| n != j.name) {
                continue;
            }
            if let Some(h) = &j.runtime {
                cnt += h.unban_all();
                continue;
            }
            flush_bans(&self.log, j, true);
            cnt += j.bans.len() as i64;
            j.bans.clear();
        }
        cnt
    }

    /// Lifts every ban whose time is up at `now` (fail2ban: the actions
    /// thread's `__checkUnBan`); returns how many.
    pub fn unban_expired(&mut self, now: f64) -> usize {
        let mut n = 0;
        for j in self.jails.iter_mut().filter(|j| j.runtime.is_none()) {
            let jb = j.bantime;
            let expired: Vec<String> = j
                .bans
                .iter()
                .filter(|b| b.bantime(jb) != -1 && b.end(jb) <= now)
                .map(|b| b.ip.clone())
                .collect();
            for ip in expired {
                j.unban(&ip);
                self.log
                    .notice("actions", &format!("[{}] Unban {ip}", j.name));
                n += 1;
            }
        }
        n
    }

    /// `status`: number of jails and their sorted names.
    pub fn status(&self) -> Obj {
        let mut names: Vec<&str> = self.jails.iter().map(|j| j.name.as_str()).collect();
        names.sort();
        Obj::List(vec![
            crate::jail::pair("Number of jail", Obj::Int(self.jails.len() as i64)),
            crate::jail::pair("Jail list", Obj::Str(names.join(", "))),
        ])
    }

    /// Jails sorted by name.
    pub fn sorted_jails(&self) -> Vec<&Jail> {
        self.jails.sorted()
    }
}

/// Logs what fail2ban logs when a jail's bans are flushed: a flush line per
/// action that has `actionflush`, then an unban line per ban.
fn flush_bans(log: &Logger, jail: &Jail, always: bool) {
    if jail.bans.is_empty() && !always {
        return;
    }
    for a in &jail.actions {
        let has_flush = a
            .props
            .iter()
            .any(|(k, v)| k == "actionflush" && v.as_str().is_some_and(|s| !s.is_empty()));
        if has_flush {
            log.notice(
                "actions",
                &format!("[{}] Flush ticket(s) with {}", jail.name, a.name),
            );
        }
    }
    for b in &jail.bans {
        log.notice("actions", &format!("[{}] Unban {}", jail.name, b.ip));
    }
}

/// What a stopping jail logs: its log files removed, its bans flushed
/// (a running jail's engine flushes and logs its own bans).
fn stop_filter_and_actions(log: &Logger, jail: &Jail) {
    for (p, _) in &jail.logpaths {
        log.info(
            "filter",
            &format!("Removed logfile: {}", Value::str(p).repr()),
        );
    }
    if jail.runtime.is_none() {
        flush_bans(log, jail, true);
    }
}

/// The keyword options of a backend spec, `systemd[journalflags=1]` →
/// `{'journalflags': '1'}`, as fail2ban logs them.
pub(crate) fn backend_kwargs(backend: &str) -> Value {
    let inner = match (backend.find('['), backend.ends_with(']')) {
        (Some(i), true) => &backend[i + 1..backend.len() - 1],
        _ => "",
    };
    Value::Dict(
        inner
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| {
                (
                    Value::str(k.trim()),
                    Value::str(v.trim().trim_matches(['"', '\''])),
                )
            })
            .collect(),
    )
}
