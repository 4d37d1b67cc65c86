//! The ban list of one jail and its expiry (fail2ban: server/banmanager.py
//! `BanManager`; internals §E.3).
//!
//! **Every negative bantime is permanent.** fail2ban 1.x treats only `-1`
//! as "never expires" (`ticket.py` compares `== -1`), so `bantime = -10`
//! there gives a ban that expires at once. ironban keeps such a ban
//! forever and logs one note saying so (docs/action.md).

use std::collections::HashMap;

use crate::ticket::{BanTicket, FailId, MAX_TIME};

/// Why [`BanManager::add_ban_ticket`] did not add a ticket.
#[derive(Debug, Clone, PartialEq)]
pub enum NotAdded {
    /// Its ban already ended before `now`.
    Expired,
    /// The ID is already banned; `prolonged` tells whether the existing
    /// ban was extended to the later end.
    AlreadyBanned {
        /// The ban was extended.
        prolonged: bool,
    },
}

/// The jail's ban list.
#[derive(Debug, Clone)]
pub struct BanManager {
    list: HashMap<FailId, BanTicket>,
    order: Vec<FailId>,
    bantime: i64,
    ban_total: u64,
    next_unban: f64,
}

impl Default for BanManager {
    /// fail2ban's default bantime: 600 s.
    fn default() -> Self {
        BanManager {
            list: HashMap::new(),
            order: Vec::new(),
            bantime: 600,
            ban_total: 0,
            next_unban: MAX_TIME,
        }
    }
}

impl BanManager {
    /// An empty ban list with bantime 600.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the jail's bantime in seconds. A negative value other than `-1`
    /// logs a note: it is read as permanent (deliberate difference).
    pub fn set_bantime(&mut self, secs: i64) {
        if secs < -1 {
            log::info!("bantime {secs} is negative: read as permanent (fail2ban 1.x would let it expire at once)");
        }
        self.bantime = secs;
    }

    /// The jail's bantime.
    pub fn bantime(&self) -> i64 {
        self.bantime
    }

    /// Bans since start (`Total banned`).
    pub fn ban_total(&self) -> u64 {
        self.ban_total
    }

    /// Sets the ban total (restored state).
    pub fn set_ban_total(&mut self, v: u64) {
        self.ban_total = v;
    }

    /// Currently banned.
    pub fn size(&self) -> usize {
        self.list.len()
    }

    /// Whether an ID is banned.
    pub fn contains(&self, id: &FailId) -> bool {
        self.list.contains_key(id)
    }

    /// The ticket of a banned ID.
    pub fn get(&self, id: &FailId) -> Option<&BanTicket> {
        self.list.get(id)
    }

    /// The ticket of a banned ID, mutable (to mark it banned, set its epoch).
    pub fn get_mut(&mut self, id: &FailId) -> Option<&mut BanTicket> {
        self.list.get_mut(id)
    }

    /// The earliest end of ban, for the unban timer.
    pub fn next_unban_time(&self) -> f64 {
        self.next_unban
    }

    /// Banned IDs in ban order, or ordered by end of ban.
    pub fn ban_list(&self, by_end: bool) -> Vec<FailId> {
        let mut ids = self.order.clone();
        if by_end {
            ids.sort_by(|a, b| {
                let ea = self.list[a].end_of_ban(self.bantime);
                let eb = self.list[b].end_of_ban(self.bantime);
                ea.total_cmp(&eb)
            });
        }
        ids
    }

    /// Adds a ban (fail2ban: `addBanTicket`). A new ban increments the ban
    /// total and the ticket's bancount. For an ID already banned, a later
    /// end prolongs the existing ban (its bantime grows by the time between
    /// the two tickets).
    ///
    /// # Errors
    /// [`NotAdded`] says why the ticket was not added.
    pub fn add_ban_ticket(&mut self, mut ticket: BanTicket, now: f64) -> Result<(), NotAdded> {
        let eob = ticket.end_of_ban(self.bantime);
        if eob < now {
            return Err(NotAdded::Expired);
        }
        let default = self.bantime;
        if let Some(old) = self.list.get_mut(&ticket.id) {
            let mut prolonged = false;
            if eob > old.end_of_ban(default) {
                prolonged = true;
                let mut btm = ticket.bantime_or(default);
                if btm >= 0 {
                    let dif = ticket.time - old.time;
                    if dif > 0.0 {
                        btm += dif as i64;
                    }
                }
                old.bantime = Some(btm);
                let e = old.end_of_ban(default);
                if e < self.next_unban {
                    self.next_unban = e;
                }
            }
            return Err(NotAdded::AlreadyBanned { prolonged });
        }
        ticket.bancount += 1;
        self.ban_total += 1;
        if self.next_unban > eob {
            self.next_unban = eob;
        }
        self.order.push(ticket.id.clone());
        self.list.insert(ticket.id.clone(), ticket);
        Ok(())
    }

    /// Removes and returns the bans that ended before `now`, at most
    /// `max_count` (fail2ban: `unBanList`).
    pub fn unban_list(&mut self, now: f64, max_count: usize) -> Vec<BanTicket> {
        if self.next_unban > now {
            return Vec::new();
        }
        let mut due = Vec::new();
        let mut next = MAX_TIME;
        let mut stopped_early = false;
        for id in &self.order {
            let eob = self.list[id].end_of_ban(self.bantime);
            if now > eob {
                due.push(id.clone());
                if due.len() >= max_count {
                    stopped_early = true;
                    break;
                }
            } else if next > eob {
                next = eob;
            }
        }
        if !stopped_early {
            self.next_unban = next;
        }
        let mut out = Vec::with_capacity(due.len());
        for id in &due {
            if let Some(t) = self.list.remove(id) {
                out.push(t);
            }
        }
        let list = &self.list;
        self.order.retain(|id| list.contains_key(id));
        out
    }

    /// Removes and returns every ban (fail2ban: `flushBanList`).
    pub fn flush_ban_list(&mut self) -> Vec<BanTicket> {
        let mut out = Vec::with_capacity(self.list.len());
        for id in std::mem::take(&mut self.order) {
            if let Some(t) = self.list.remove(&id) {
                out.push(t);
            }
        }
        self.next_unban = MAX_TIME;
        out
    }

    /// Removes and returns the ban of one ID (fail2ban: `getTicketByID`).
    pub fn remove(&mut self, id: &FailId) -> Option<BanTicket> {
        let t = self.list.remove(id)?;
        self.order.retain(|x| x != id);
        Some(t)
    }
}

#[cfg(test)]
mod tests;
