//! The engine of a started jail, on its own thread: lines → failures
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
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use ironban_action::actions::Actions;
use ironban_action::bantime::{BanHistory, BanTimeIncrement};
use ironban_action::failmanager::FailManager;
use ironban_action::ignore::{IgnoreList, SystemEnv};
use ironban_action::{CommandAction, FailId, ShellExecutor, Ticket};
use ironban_config::Value;
use ironban_filter::{Failure, Filter, FilterOptions, UseDns};

use super::follow::{findtime_secs, JOURNAL_NAME};
use super::runtime::{Msg, SharedDb};
use super::{Ban, Jail, Live, SharedLive};
use crate::database::Database;
use crate::log::Logger;
use crate::mytime;

mod bans;
use bans::DbHistory;

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
    exec: ShellExecutor,
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
            exec: ShellExecutor,
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
            prefregex: c.prefregex.as_ref().map(|p| p.0.clone()),
            failregex: c.failregex.iter().map(|r| r.0.clone()).collect(),
            ignoreregex: c.ignoreregex.iter().map(|r| r.0.clone()).collect(),
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

    /// Jail start: register in the database, start the actions, restore
    /// the bans still in force.
    pub fn start(&mut self) {
        let name = self.conf.name.clone();
        self.db("adding jail", |d| d.add_jail(&name));
        let now = mytime::now();
        let ev = self.actions.start(&mut self.exec, now);
        self.log_events(&ev);
        self.restore(now);
        self.publish();
    }

    /// Serves the inbox until `Stop` (or every sender is gone).
    pub fn run(mut self, rx: Receiver<Msg>) {
        loop {
            let now = mytime::now();
            let next = self.actions.bans.next_unban_time();
            let wait = (next - now).clamp(0.01, 1.0);
            match rx.recv_timeout(Duration::from_secs_f64(wait)) {
                Ok(Msg::Stop(reply)) => {
                    self.stop();
                    let _ = reply.send(());
                    return;
                }
                Ok(m) => self.handle(m),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.stop();
                    return;
                }
            }
            self.service();
        }
    }

    fn handle(&mut self, m: Msg) {
        if self.conf.idle && matches!(m, Msg::Lines { .. } | Msg::Journal { .. }) {
            self.held.push(m);
            return;
        }
        match m {
            Msg::Lines {
                path,
                lines,
                pos,
                hash,
                at_end,
            } => {
                let op = *self.in_operation.get(&path).unwrap_or(&false)
                    || self
                        .conf
                        .logpaths
                        .iter()
                        .any(|(p, tail)| *tail && path == std::path::Path::new(p));
                for l in lines {
                    let line = String::from_utf8_lossy(&l);
                    self.process_line(&line, None, op);
                }
                if at_end {
                    self.in_operation.insert(path.clone(), true);
                }
                self.pending_pos.insert(path, (pos, hash));
            }
            Msg::Journal { lines, at_end } => {
                let mut last = None;
                for l in lines {
                    // fail2ban: in operation once an entry reaches "now".
                    if !self.journal_in_operation && l.time >= mytime::now() - 1.0 {
                        self.journal_operation();
                    }
                    let op = self.journal_in_operation;
                    self.process_line(&l.line, Some(l.time), op);
                    last = Some((l.time, l.cursor));
                }
                if last.is_some() {
                    self.pending_journal = last;
                }
                if at_end && !self.journal_in_operation {
                    self.journal_operation();
                }
            }
            Msg::Ban(ips, reply) => {
                let now = mytime::now();
                let before = self.actions.bans.ban_total();
                let tickets: Vec<Ticket> = ips
                    .iter()
                    .map(|ip| Ticket::new(FailId::parse(ip), now, Vec::new()))
                    .collect();
                self.ban(tickets, now);
                // The answer goes out once the live view shows its effect.
                self.publish();
                let _ = reply.send((self.actions.bans.ban_total() - before) as i64);
            }
            Msg::Attempt(ip, matches, reply) => {
                let now = mytime::now();
                self.log.info(
                    "filter",
                    &format!(
                        "[{}] Attempt {ip} - {}",
                        self.conf.name,
                        mytime::time2str(now)
                    ),
                );
                let count = matches.len().max(1) as u32;
                let id = FailId::parse(&ip);
                let t = Ticket::new(id.clone(), now, matches);
                self.count_failure(t, count, now);
                self.publish();
                let _ = reply.send(());
            }
            Msg::Unban(ips, reply) => {
                let r = self.unban(&ips);
                self.publish();
                let _ = reply.send(r);
            }
            Msg::UnbanAll(reply) => {
                let now = mytime::now();
                let n = self.actions.bans.size() as i64;
                let name = self.conf.name.clone();
                self.db("removing bans", |d| d.del_ban(&name, &[]));
                let ev = self.actions.flush_bans(&mut self.exec, now, false);
                self.log_events(&ev);
                self.publish();
                let _ = reply.send(n);
            }
            Msg::Config(c) => {
                self.configure(*c, false);
                if !self.conf.idle {
                    for m in std::mem::take(&mut self.held) {
                        self.handle(m);
                    }
                }
            }
            Msg::Stop(reply) => {
                self.stop();
                self.publish();
                let _ = reply.send(());
            }
            Msg::SavePositions(reply) => {
                self.save_positions();
                self.publish();
                let _ = reply.send(());
            }
        }
        self.publish();
    }

    /// The journal reader caught up (fail2ban: `inOperationMode`).
    fn journal_operation(&mut self) {
        self.journal_in_operation = true;
        self.log.info(
            "filtersystemd",
            &format!(
                "[{}] Jail is in operation now (process new journal entries)",
                self.conf.name
            ),
        );
    }

    /// One line through the filter (fail2ban: `processLine` with
    /// `checkFindTime`, then `processLineAndAdd`).
    fn process_line(&mut self, line: &str, date: Option<f64>, in_operation: bool) {
        let Some(filter) = self.filter.as_mut() else {
            return;
        };
        let found: Vec<Failure> = match date {
            Some(d) => filter.process_tuple((String::new(), String::new(), line.to_string()), d),
            None => filter.process_line(line),
        };
        let now = mytime::now();
        let findtime = findtime_secs(&self.conf);
        for f in found {
            if f.is_nofail() {
                continue;
            }
            let Some(ip) = &f.id else { continue };
            let mut t = match f.time {
                Some(t) => t,
                None if in_operation => now,
                None => continue,
            };
            if in_operation {
                if (t - now).abs() > 60.0 {
                    t = now;
                }
            } else if t < now - findtime {
                if !self.warned_old {
                    self.warned_old = true;
                    self.log.warning(
                        "filter",
                        &format!(
                            "[{}] Ignoring all log entries older than {}s; these are probably messages generated while fail2ban was not running.",
                            self.conf.name, findtime
                        ),
                    );
                }
                continue;
            }
            if t > now {
                t = now;
            }
            let id = FailId::parse(&ip.to_string());
            let mut ticket = Ticket::new(id, t, f.matches());
            for (k, v) in f.data.groups.iter() {
                if let Some(s) = v.as_str() {
                    ticket.data.insert(k.to_string(), s.to_string());
                }
            }
            if let Some(addr) = &f.data.ip {
                ticket.data.insert("ip".into(), addr.to_string());
            }
            self.found(ticket, now);
        }
    }

    /// A failure: ignore checks, `Found` log, counting, ban at maxretry.
    fn found(&mut self, ticket: Ticket, now: f64) {
        let id = ticket.id.clone();
        let name = self.conf.name.clone();
        // ironban-action logs `[jail] Ignore <ip> by <source>` itself.
        if self
            .ignore
            .is_ignored(&id, Some(&ticket), now, &mut self.env)
            .is_some()
        {
            return;
        }
        self.log.info(
            "filter",
            &format!("[{name}] Found {id} - {}", mytime::time2str(ticket.time)),
        );
        // bantime.increment: a known offender's failure counts more
        // (fail2ban: observer `failureFound`).
        let mut count = 1;
        if self.incr.increment {
            let overall = self.incr.overalljails;
            let maxretry = self.fails.max_retry();
            let t = ticket.time;
            if let Some(Some(rec)) = self.db("reading ban history", |d| {
                Ok(DbHistory(d).get_ban(&id, &name, overall))
            }) {
                if t > rec.timeofban && rec.bancount > 0 {
                    count = BanTimeIncrement::failure_retry(rec.bancount, maxretry);
                }
            }
        }
        self.count_failure(ticket, count, now);
    }

    fn count_failure(&mut self, ticket: Ticket, count: u32, now: f64) {
        let id = ticket.id.clone();
        let attempts = self.fails.add_failure(ticket, count, false);
        if attempts >= self.fails.max_retry() {
            if let Some(t) = self.fails.to_ban(Some(&id)) {
                self.ban(vec![t], now);
            }
        }
        self.actions
            .set_found(self.fails.size(), self.fails.fail_total());
    }

    /// Jail stop: positions saved, bans flushed (kept in the database, so
    /// they come back at the next start), actions stopped.
    fn stop(&mut self) {
        self.save_positions();
        let now = mytime::now();
        let ev = self.actions.stop(&mut self.exec, now);
        self.log_events(&ev);
        let name = self.conf.name.clone();
        self.db("disabling jail", |d| d.del_jail(Some(&name)));
        self.publish();
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
    if let Err(e) = act.start(&mut ShellExecutor, &empty) {
        log.error(
            "actions",
            &format!("Failed to start action '{}': {e}", act.name()),
        );
    }
}
