//! Failure counting: findtime/maxretry as fail2ban counts
//! (fail2ban: server/failmanager.py `FailManager`).
//!
//! The count is a rate estimate: when the failures of an ID span more than
//! `findtime`, the count is rescaled to that window ([`Ticket::adjust_time`])
//! instead of dropping old failures one by one (internals §D.5).

use std::collections::HashMap;

use crate::ticket::{FailId, FailTicket};

/// The failure list of one jail.
#[derive(Debug, Clone)]
pub struct FailManager {
    list: HashMap<FailId, FailTicket>,
    /// Insertion order, so `to_ban` picks IDs in fail2ban's dict order.
    order: Vec<FailId>,
    max_retry: u32,
    max_time: f64,
    max_matches: usize,
    fail_total: u64,
}

impl Default for FailManager {
    /// fail2ban's defaults: maxretry 3, findtime 600, maxmatches 5.
    fn default() -> Self {
        FailManager {
            list: HashMap::new(),
            order: Vec::new(),
            max_retry: 3,
            max_time: 600.0,
            max_matches: 5,
            fail_total: 0,
        }
    }
}

impl FailManager {
    /// A fail manager with fail2ban's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// `maxretry`.
    pub fn set_max_retry(&mut self, v: u32) {
        self.max_retry = v;
    }
    /// `maxretry`.
    pub fn max_retry(&self) -> u32 {
        self.max_retry
    }
    /// `findtime` in seconds (fail2ban keeps it a float).
    pub fn set_max_time(&mut self, v: f64) {
        self.max_time = v;
    }
    /// `findtime` in seconds.
    pub fn max_time(&self) -> f64 {
        self.max_time
    }
    /// `maxmatches`: matches kept per ID (0 keeps none).
    pub fn set_max_matches(&mut self, v: usize) {
        self.max_matches = v;
    }
    /// Failures counted since start (`Total failed`).
    pub fn fail_total(&self) -> u64 {
        self.fail_total
    }
    /// Sets the failure total (restored state).
    pub fn set_fail_total(&mut self, v: u64) {
        self.fail_total = v;
    }
    /// IDs currently in the list (`Currently failed`).
    pub fn size(&self) -> usize {
        self.list.len()
    }
    /// The ticket of an ID, if it is being counted.
    pub fn get(&self, id: &FailId) -> Option<&FailTicket> {
        self.list.get(id)
    }

    /// Counts a failure and returns the ID's retry count (fail2ban:
    /// `addFailure(ticket, count, observed)`). `observed` marks a call from
    /// bantime.increment for an ID that must already be in the list.
    pub fn add_failure(&mut self, mut ticket: FailTicket, count: u32, observed: bool) -> u32 {
        let id = ticket.id.clone();
        let retry = if let Some(data) = self.list.get_mut(&id) {
            let matches = if self.max_matches > 0 {
                std::mem::take(&mut ticket.matches)
            } else {
                Vec::new()
            };
            let attempt = ticket.attempt.max(1);
            data.adjust_time(ticket.time, self.max_time);
            data.inc(&matches, attempt, count);
            if self.max_matches > 0 {
                let n = data.matches.len();
                if n > self.max_matches {
                    data.matches.drain(..n - self.max_matches);
                }
            } else {
                data.matches.clear();
            }
            data.retry()
        } else {
            if observed {
                return ticket.retry();
            }
            if count > ticket.attempt {
                ticket.set_retry(count);
            }
            let r = ticket.retry();
            self.order.push(id.clone());
            self.list.insert(id, ticket);
            r
        };
        self.fail_total += 1;
        retry
    }

    /// Drops IDs whose last failure is at or before `now - findtime`
    /// (fail2ban: `cleanup`).
    pub fn cleanup(&mut self, now: f64) {
        let limit = now - self.max_time;
        self.list.retain(|_, t| t.time > limit);
        let list = &self.list;
        self.order.retain(|id| list.contains_key(id));
    }

    /// Forgets an ID.
    pub fn del_failure(&mut self, id: &FailId) {
        if self.list.remove(id).is_some() {
            self.order.retain(|x| x != id);
        }
    }

    /// Removes and returns the first ticket (of `id` if given and known)
    /// whose retry count reached `maxretry` (fail2ban: `toBan`).
    pub fn to_ban(&mut self, id: Option<&FailId>) -> Option<FailTicket> {
        let candidates: Vec<FailId> = match id {
            Some(id) if self.list.contains_key(id) => vec![id.clone()],
            _ => self.order.clone(),
        };
        for fid in candidates {
            if self
                .list
                .get(&fid)
                .is_some_and(|t| t.retry() >= self.max_retry)
            {
                self.order.retain(|x| x != &fid);
                return self.list.remove(&fid);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
