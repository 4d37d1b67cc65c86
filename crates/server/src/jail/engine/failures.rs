//! From a log line to a counted failure: the filter, the findtime check
//! for lines read before the jail was in operation, ignore checks, the
//! `Found` log line, bantime.increment's weighting and the ban at
//! maxretry (fail2ban: `filter.py` `processLine`/`processLineAndAdd`,
//! `observer.py` `failureFound`).

use ironban_action::bantime::{BanHistory, BanTimeIncrement};
use ironban_action::{FailId, Ticket};
use ironban_filter::Failure;

use super::bans::DbHistory;
use super::Engine;
use crate::jail::follow::findtime_secs;
use crate::mytime;

impl Engine {
    /// One line through the filter (fail2ban: `processLine` with
    /// `checkFindTime`, then `processLineAndAdd`).
    pub(super) fn process_line(&mut self, line: &str, date: Option<f64>, in_operation: bool) {
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
    pub(super) fn found(&mut self, ticket: Ticket, now: f64) {
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

    pub(super) fn count_failure(&mut self, ticket: Ticket, count: u32, now: f64) {
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
}
