//! The engine of a started jail, stepped on the jails' shared runtime: lines → failures
//! (ironban-filter) → ignore checks → fail manager → bans through the
//! actions, with the database kept in step (fail2ban: `filter.py`
//! `processLineAndAdd`, `actions.py` `run`/`__checkBan`/`__checkUnBan`,
//! `observer.py` `banFound`, `jail.py` `restoreCurrentBans`; internals
//! §D.2, §D.3, §D.5, §E.3, §E.4).
//!
//! Order guarantees for crash safety: a ban is written to the database
//! right after its actions ran, and a log position is stored only after
//! every line before it was processed (and its bans written). A crash may
//! make a line be read twice, never lost; a ban read twice finds the
//! restored ban and is "already banned".

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use ironban_action::actions::Actions;
use ironban_action::bantime::BanTimeIncrement;
use ironban_action::exec::JailShell;
use ironban_action::failmanager::FailManager;
use ironban_action::ignore::{IgnoreList, SystemEnv};
use ironban_action::{CommandAction, Ticket};
use ironban_config::Value;
use ironban_filter::{Filter, FilterOptions, UseDns};

use super::follow::{findtime_secs, JOURNAL_NAME};
use super::runtime::{Msg, SharedDb};
use super::{Ban, Jail, Live, SharedLive};
use crate::database::Database;
use crate::log::Logger;
use crate::mytime;

mod bans;
mod failures;
mod inbox;
mod method;

/// How often log positions are written (fail2ban: about every 10 s; ironban
/// sooner, so less is read twice after a crash).
const POS_SAVE: f64 = 1.0;

/// The database's purge interval (fail2ban's observer: every hour).
const PURGE_EVERY: f64 = 3600.0;

/// Bans lifted per unban step (fail2ban: 20 or twice the banned count).
const UNBAN_STEP: usize = 100;

/// A jail's engine.
pub struct Engine {
    conf: Jail,
    db: Option<SharedDb>,
    log: Arc<Logger>,
    live: SharedLive,
    filter: Option<Filter>,
    fails: FailManager,
    ignore: IgnoreList,
    env: SystemEnv,
    actions: Actions,
    incr: BanTimeIncrement,
    exec: JailShell,
    in_operation: HashMap<PathBuf, bool>,
    journal_in_operation: bool,
    pending_pos: HashMap<PathBuf, (u64, String)>,
    pending_journal: Option<(f64, String)>,
    next_pos_save: f64,
    next_svc: f64,
    next_purge: f64,
    warned_old: bool,
    /// Log input that arrived while the jail was idle (fail2ban's filter
    /// does not read then; it reads on when the jail is active again).
    held: Vec<Msg>,
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::None => None,
        Value::Bool(false) => None,
        Value::Str(s) if s.is_empty() => None,
        other => Some(other.to_string()),
    }
}

/// The stream's value as an action option (Python `str()`, `None` kept).
fn action_value(v: &Value) -> Option<String> {
    match v {
        Value::None => None,
        Value::Str(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        other => Some(other.repr()),
    }
}

fn random_unit() -> f64 {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    f64::from(n % 1_000_000) / 1_000_000.0
}

impl Engine {
    /// Builds the engine from the jail's options.
    pub fn new(conf: Jail, db: Option<SharedDb>, log: Arc<Logger>, live: SharedLive) -> Engine {
        let name = conf.name.clone();
        let mut e = Engine {
            filter: None,
            fails: FailManager::new(),
            ignore: IgnoreList::new(&name),
            env: SystemEnv::default(),
            actions: Actions::new(&name),
            incr: BanTimeIncrement::new(),
            exec: JailShell,
            in_operation: HashMap::new(),
            journal_in_operation: false,
            pending_pos: HashMap::new(),
            pending_journal: None,
            next_pos_save: 0.0,
            next_svc: 0.0,
            next_purge: 0.0,
            warned_old: false,
            held: Vec::new(),
            conf: Jail::new(&name, &conf.backend),
            db,
            log,
            live,
        };
        e.configure(conf, true);
        e
    }

    fn build_filter(&self, c: &Jail) -> Option<Filter> {
        let opts = FilterOptions {
            prefregex: c.prefregex.as_ref().map(|p| p.0.to_string()),
            failregex: c.failregex.iter().map(|r| r.0.to_string()).collect(),
            ignoreregex: c.ignoreregex.iter().map(|r| r.0.to_string()).collect(),
            maxlines: c.maxlines.max(1) as u32,
            datepattern: c.datepattern_raw.clone(),
            usedns: UseDns::parse(&c.usedns).unwrap_or_default(),
            logtimezone: value_text(&c.logtimezone),
            origin: Some(format!("jail {}", c.name)),
            ..FilterOptions::default()
        };
        match Filter::new(opts) {
            Ok(f) => Some(f),
            Err(e) => {
                self.log.error(
                    "filter",
                    &format!("[{}] cannot build the filter: {e}", c.name),
                );
                None
            }
        }
    }

    /// Applies (new) options: filter, counting, ignore lists, ban times,
    /// actions. Bans and failures already counted are kept.
    fn configure(&mut self, c: Jail, first: bool) {
        let filter_changed = first
            || c.prefregex != self.conf.prefregex
            || c.failregex != self.conf.failregex
            || c.ignoreregex != self.conf.ignoreregex
            || c.maxlines != self.conf.maxlines
            || c.datepattern_raw != self.conf.datepattern_raw
            || c.usedns != self.conf.usedns
            || c.logtimezone != self.conf.logtimezone;
        if filter_changed {
            self.filter = self.build_filter(&c);
        }
        self.fails.set_max_retry(c.maxretry.max(0) as u32);
        self.fails.set_max_time(findtime_secs(&c));
        self.fails.set_max_matches(c.maxmatches.max(0) as usize);
        let mut ignore = IgnoreList::new(&c.name);
        ignore.set_ignore_self(c.ignoreself);
        for ip in &c.ignoreip {
            if let Err(e) = ignore.add_ignore_ip(ip) {
                self.log.error("filter", &e.to_string());
            }
        }
        ignore.set_ignore_command(value_text(&c.ignorecommand).as_deref());
        if let Value::List(l) = &c.ignorecache {
            if let [k, n, t] = l.as_slice() {
                let spec = format!("key={k}, max-count={n}, max-time={t}");
                if let Err(e) = ignore.set_ignore_cache(Some(&spec)) {
                    self.log.error("filter", &e.to_string());
                }
            }
        }
        self.ignore = ignore;
        self.actions.bans.set_bantime(c.bantime);
        let mut incr = BanTimeIncrement::new();
        for (k, v) in &c.bantime_extra {
            let text = match v {
                Value::Bool(b) => b.to_string(),
                other => other.to_string(),
            };
            if let Err(e) = incr.set(k, &text) {
                self.log.error("jail", &format!("[{}] {e}", c.name));
            }
        }
        self.incr = incr;
        let now = mytime::now();
        for a in &c.actions {
            let old = self.conf.actions.iter().find(|o| o.name == a.name);
            if let Some((file, _)) = &a.python {
                if old.is_none() {
                    let e = self.actions.add_python_action(&a.name, file);
                    self.log.error("actions", &e.to_string());
                }
                continue;
            }
            let is_new = old.is_none() || first;
            if is_new {
                let act = self.actions.add_action(&a.name);
                for (k, v) in &a.props {
                    act.set(k, action_value(v));
                }
            } else if let Some(act) = self.actions.get_mut(&a.name) {
                let old = old.map(|o| o.props.clone()).unwrap_or_default();
                for (k, v) in &a.props {
                    if !old.iter().any(|(ok, ov)| ok == k && ov == v) {
                        act.set(k, action_value(v));
                    }
                }
            }
            if is_new && !first {
                if let Some(act) = self.actions.get_mut(&a.name) {
                    start_one(act, &self.log, now);
                }
            }
        }
        self.conf = c;
    }

    fn db<T>(
        &self,
        what: &str,
        f: impl FnOnce(&Database) -> Result<T, crate::database::DbError>,
    ) -> Option<T> {
        let db = self.db.as_ref()?;
        let guard = match db.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        match f(&guard) {
            Ok(v) => Some(v),
            Err(e) => {
                self.log
                    .error("database", &format!("[{}] {what}: {e}", self.conf.name));
                None
            }
        }
    }

    /// Jail start: register in the database, read the bans still in
    /// force. Returns them for [`Engine::start_actions`]; the jail counts
    /// as started once this returns (fail2ban: `Jail.start`).
    pub fn start(&mut self) -> Vec<Ticket> {
        let name = self.conf.name.clone();
        self.db("adding jail", |d| d.add_jail(&name));
        let restored = self.restore(mytime::now());
        self.publish();
        restored
    }

    /// The engine's first step after the start: the actions' `actionstart`,
    /// then the restored bans, before any other ban of the jail
    /// (fail2ban: the top of the actions thread's `run`).
    pub fn start_actions(&mut self, restored: Vec<Ticket>) {
        let now = mytime::now();
        self.ignore.prepare(now, &mut self.env);
        let ev = self.actions.start(&mut self.exec, now);
        self.log_events(&ev);
        if !restored.is_empty() {
            let ev = self.actions.check_ban(restored, &mut self.exec, now);
            self.log_events(&ev);
        }
        self.publish();
    }

    /// One step of the jail: the messages in order, then the timed work.
    /// True once the jail stopped (a `Stop`, or `closed`: every sender of
    /// its inbox is gone).
    pub fn step(&mut self, msgs: Vec<Msg>, closed: bool) -> bool {
        for m in msgs {
            if let Msg::Stop(reply) = m {
                let lines = self.stop();
                let _ = reply.send(lines);
                return true;
            }
            self.handle(m);
        }
        if closed {
            for (lvl, msg) in self.stop() {
                self.log.log("actions", lvl, &msg);
            }
            return true;
        }
        self.service();
        false
    }

    /// When timed work is next due (unix time): an unban, a position save,
    /// the failure clean-up, the purge. Nothing pending, nothing to wake for.
    pub fn next_wake(&self) -> f64 {
        let mut t = self.actions.bans.next_unban_time().min(self.next_purge);
        if !self.pending_pos.is_empty() || self.pending_journal.is_some() {
            t = t.min(self.next_pos_save);
        }
        if self.fails.size() > 0 {
            t = t.min(self.next_svc);
        }
        t
    }

    /// Jail stop: positions saved, bans flushed (kept in the database, so
    /// they come back at the next start), actions stopped.
    ///
    /// Returns the `fail2ban.actions` lines of the stop (flush, unbans)
    /// instead of logging them: jails stop concurrently, and the one who
    /// waits logs each jail's lines in jail order, as fail2ban's log reads.
    pub(super) fn stop(&mut self) -> Vec<(i64, String)> {
        self.save_positions();
        let now = mytime::now();
        let ev = self.actions.stop(&mut self.exec, now);
        let lines = self.event_lines(&ev);
        let name = self.conf.name.clone();
        self.db("disabling jail", |d| d.del_jail(Some(&name)));
        self.publish();
        lines
    }

    /// Expired bans, failure clean-up, positions, purge.
    fn service(&mut self) {
        let now = mytime::now();
        if self.actions.bans.next_unban_time() <= now {
            let ev = self.actions.check_unban(&mut self.exec, now, UNBAN_STEP);
            if !ev.is_empty() {
                self.log_events(&ev);
                self.publish();
            }
        }
        if now >= self.next_svc {
            self.next_svc = now + 5.0;
            let before = self.fails.size();
            self.fails.cleanup(now);
            if before != self.fails.size() {
                self.publish();
            }
        }
        if now >= self.next_pos_save {
            self.next_pos_save = now + POS_SAVE;
            self.save_positions();
        }
        if now >= self.next_purge {
            if self.next_purge > 0.0 {
                self.db("purging", |d| d.purge(now as i64));
            }
            self.next_purge = now + PURGE_EVERY;
        }
    }

    fn save_positions(&mut self) {
        let name = self.conf.name.clone();
        for (path, (pos, hash)) in std::mem::take(&mut self.pending_pos) {
            let p = path.to_string_lossy().into_owned();
            let md5 = (!hash.is_empty()).then_some(hash.as_str());
            self.db("updating log position", |d| {
                d.update_log(&name, &p, pos, md5)
            });
        }
        if let Some((time, cursor)) = self.pending_journal.take() {
            self.db("updating journal position", |d| {
                d.update_journal(&name, JOURNAL_NAME, time, &cursor)
            });
        }
    }

    /// Refreshes the view the transmitter reads.
    fn publish(&self) {
        let bans: Vec<Ban> = self
            .actions
            .bans
            .ban_list(false)
            .into_iter()
            .filter_map(|id| self.actions.bans.get(&id))
            .map(|t| Ban {
                ip: t.id.to_string(),
                time: t.time,
                bantime: t.bantime,
            })
            .collect();
        if let Ok(mut l) = self.live.lock() {
            *l = Live {
                bans,
                ban_total: self.actions.bans.ban_total() as i64,
                fails: self.fails.size() as i64,
                fail_total: self.fails.fail_total() as i64,
            };
        }
    }
}

/// Starts one action added while the jail runs.
fn start_one(act: &mut CommandAction, log: &Logger, now: f64) {
    let empty = ironban_action::ActionInfo::empty(now, 0);
    if let Err(e) = act.start(&mut JailShell, &empty) {
        log.error(
            "actions",
            &format!("Failed to start action '{}': {e}", act.name()),
        );
    }
}
