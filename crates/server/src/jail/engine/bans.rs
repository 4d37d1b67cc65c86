//! The ban side of a jail's engine: restoring bans from the database,
//! banning (with bantime.increment and the database write), unbanning,
//! and logging the actions' events in fail2ban's words (fail2ban:
//! `jail.py` `restoreCurrentBans`, `actions.py` `__checkBan`,
//! `removeBannedIP`, `observer.py` `banFound`/`incrBanTime`).

use ironban_action::actions::Event;
use ironban_action::bantime::{BanHistory, BanRecord as HistRecord};
use ironban_action::{FailId, Ticket};

use super::{random_unit, Engine};
use crate::database::{BanRecord, Database};
use crate::jail::is_single_ip;
use crate::mytime;

pub(super) struct DbHistory<'a>(pub(super) &'a Database);

impl BanHistory for DbHistory<'_> {
    fn get_ban(&self, id: &FailId, jail: &str, overalljails: bool) -> Option<HistRecord> {
        let h = self
            .0
            .get_ban(&id.to_string(), Some(jail), overalljails, None)
            .ok()??;
        Some(HistRecord {
            bancount: h.bancount.max(0) as u32,
            timeofban: h.timeofban as f64,
            bantime: h.bantime,
        })
    }
}

impl Engine {
    /// The bans still in force, read from the database (ignored ones
    /// left out); banned by [`Engine::start_actions`] once the actions
    /// started (fail2ban: `restoreCurrentBans` fills the jail queue).
    pub(super) fn restore(&mut self, now: f64) -> Vec<Ticket> {
        let name = self.conf.name.clone();
        let max = self
            .incr
            .increment
            .then_some(self.incr.maxtime)
            .flatten()
            .map(|m| m as i64);
        let bantime = self.conf.bantime;
        let Some(rows) = self.db("restoring bans", |d| {
            d.current_bans(&name, now as i64, bantime, max)
        }) else {
            return Vec::new();
        };
        let mut tickets = Vec::new();
        for r in rows {
            let id = FailId::parse(&r.ip);
            let data: serde_json::Value = serde_json::from_str(&r.data).unwrap_or_default();
            let matches = data
                .get("matches")
                .and_then(|m| m.as_array())
                .map(|m| {
                    m.iter()
                        .map(|x| match x {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let mut t = Ticket::new(id.clone(), r.timeofban as f64, matches);
            t.bantime = Some(r.bantime);
            t.bancount = r.bancount.max(1) as u32 - 1;
            t.restored = true;
            if let Some(n) = data.get("failures").and_then(|f| f.as_u64()) {
                t.attempt = n as u32;
            }
            // ironban-action logs `[jail] Ignore <ip> by <source>` itself.
            if self
                .ignore
                .is_ignored(&id, Some(&t), now, &mut self.env)
                .is_some()
            {
                continue;
            }
            tickets.push(t);
        }
        tickets
    }

    /// Bans tickets (fail2ban: the jail queue → `__checkBan`, then the
    /// observer's `banFound`: increment, prolong, database).
    pub(super) fn ban(&mut self, tickets: Vec<Ticket>, now: f64) {
        let ids: Vec<FailId> = tickets.iter().map(|t| t.id.clone()).collect();
        let ev = self.actions.check_ban(tickets, &mut self.exec, now);
        self.log_events(&ev);
        let name = self.conf.name.clone();
        for e in &ev {
            let Event::Ban {
                id,
                restored: false,
            } = e
            else {
                continue;
            };
            if !ids.contains(id) {
                continue;
            }
            self.increase(id, now);
            let Some(t) = self.actions.bans.get(id).cloned() else {
                continue;
            };
            let mut data = serde_json::Map::new();
            data.insert("matches".into(), serde_json::json!(t.matches));
            data.insert("failures".into(), serde_json::json!(t.attempt));
            for (k, v) in &t.data {
                data.insert(k.clone(), serde_json::json!(v));
            }
            let rec = BanRecord {
                ip: id.to_string(),
                timeofban: t.time as i64,
                bantime: t.bantime_or(self.conf.bantime),
                bancount: i64::from(t.bancount.max(1)),
                data: serde_json::Value::Object(data).to_string(),
            };
            self.db("adding ban", |d| d.add_ban(&name, &rec));
        }
    }

    /// bantime.increment after a ban (fail2ban: observer `incrBanTime`).
    fn increase(&mut self, id: &FailId, now: f64) {
        if !self.incr.increment || self.db.is_none() {
            return;
        }
        let base = self.conf.bantime;
        let Some(mut t) = self.actions.bans.get(id).cloned() else {
            return;
        };
        if t.bantime.is_some() || base < 0 {
            return;
        }
        let name = self.conf.name.clone();
        let incr = self.incr.clone();
        let Some(bt) = self.db("reading ban history", |d| {
            Ok(incr.incr_ban_time(&DbHistory(d), &name, &mut t, base, random_unit()))
        }) else {
            return;
        };
        if let Some(b) = self.actions.bans.get_mut(id) {
            b.bancount = t.bancount;
            b.restored = t.restored;
            if bt > base {
                b.bantime = Some(bt);
            }
        }
        if bt > base {
            let (dur, end) = if bt < 0 {
                ("permanent".to_string(), "infinite".to_string())
            } else {
                (
                    mytime::seconds2str(bt as f64),
                    mytime::time2str(t.time + bt as f64),
                )
            };
            self.log.notice(
                "observer",
                &format!(
                    "[{name}] Increase Ban {id} ({} # {dur} -> {end})",
                    t.bancount
                ),
            );
            let ev = self.actions.prolong(id, &mut self.exec, now);
            self.log_events(&ev);
        }
    }

    pub(super) fn unban(&mut self, ips: &[String]) -> (i64, Vec<String>) {
        let now = mytime::now();
        let name = self.conf.name.clone();
        let mut cnt = 0;
        let mut missed = Vec::new();
        for ip in ips {
            self.db("removing ban", |d| d.del_ban(&name, &[ip.as_str()]));
            let id = FailId::parse(ip);
            if let Some(ev) = self.actions.unban_ip(&id, &mut self.exec, now) {
                self.log_events(&ev);
                cnt += 1;
                continue;
            }
            if !is_single_ip(ip) {
                let inside: Vec<FailId> = self
                    .actions
                    .bans
                    .ban_list(false)
                    .into_iter()
                    .filter(|b| crate::transmitter::cidr_contains(ip, &b.to_string()))
                    .collect();
                if !inside.is_empty() {
                    for b in inside {
                        let s = b.to_string();
                        self.db("removing ban", |d| d.del_ban(&name, &[s.as_str()]));
                        if let Some(ev) = self.actions.unban_ip(&b, &mut self.exec, now) {
                            self.log_events(&ev);
                            cnt += 1;
                        }
                    }
                    continue;
                }
            }
            self.log.log("actions", 18, &format!("{ip} is not banned"));
            missed.push(ip.clone());
        }
        (cnt, missed)
    }

    /// Logs the actions' events in fail2ban's words (internals §E.5).
    pub(super) fn log_events(&self, ev: &[Event]) {
        for (lvl, msg) in self.event_lines(ev) {
            self.log.log("actions", lvl, &msg);
        }
    }

    /// The `fail2ban.actions` log lines of the actions' events.
    pub(super) fn event_lines(&self, ev: &[Event]) -> Vec<(i64, String)> {
        use crate::log::level::{INFO, NOTICE};
        let j = &self.conf.name;
        let mut out = Vec::new();
        for e in ev {
            match e {
                Event::Ban { id, restored } => out.push((
                    NOTICE,
                    format!("[{j}] {}Ban {id}", if *restored { "Restore " } else { "" }),
                )),
                Event::AlreadyBanned { id, seconds } => {
                    let lvl = if *seconds < 3.0 {
                        10
                    } else if *seconds < 60.0 {
                        25
                    } else {
                        30
                    };
                    out.push((lvl, format!("[{j}] {id} already banned")));
                }
                Event::Expired { id } => {
                    out.push((INFO, format!("[{j}] Ignore {id}, expired bantime")))
                }
                Event::Reban { id } => out.push((NOTICE, format!("[{j}] Reban {id}"))),
                Event::Unban { id } => out.push((NOTICE, format!("[{j}] Unban {id}"))),
                Event::Flush { action } => {
                    out.push((NOTICE, format!("[{j}] Flush ticket(s) with {action}")))
                }
                // ironban-action logs the failure itself (through the
                // `log` bridge into this log).
                Event::ActionFailed { .. } => {}
            }
        }
        out
    }
}
