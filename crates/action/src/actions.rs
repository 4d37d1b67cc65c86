//! A jail's set of actions and its ban list, driven as fail2ban's actions
//! thread drives them (fail2ban: server/actions.py `Actions`; internals §E.3).
//!
//! The server owns the thread/task and the clock; this type does the work
//! of one step: [`Actions::check_ban`] bans tickets taken from the jail's
//! queue, [`Actions::check_unban`] lifts expired bans,
//! [`Actions::flush_bans`] and [`Actions::stop`] end the jail. Each returns
//! [`Event`]s for the server to log in fail2ban's wording (`Ban`, `Unban`,
//! `already banned`, ...), which `recidive` and users' tooling parse.

use crate::action::CommandAction;
use crate::actioninfo::{ActionInfo, HostResolver, JailCounts};
use crate::banmanager::{BanManager, NotAdded};
use crate::error::Error;
use crate::exec::Executor;
use crate::tags::HostNames;
use crate::ticket::{FailId, Ticket};

/// One action of a jail.
#[derive(Debug, Clone)]
pub enum JailAction {
    /// A command action.
    Command(CommandAction),
    /// A Python action (`action.d/*.py`): not supported; kept so that
    /// `get <jail> actions` still lists it, but it never runs.
    Python {
        /// The Python file.
        file: String,
    },
}

/// What happened, for the server's log (fail2ban's message in brackets).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `NOTICE [jail] Ban <ip>` or `Restore Ban <ip>`.
    Ban {
        /// The banned ID.
        id: FailId,
        /// Restored from the database.
        restored: bool,
    },
    /// `[jail] <ip> already banned`; `seconds` since the ban decides the
    /// level (DEBUG < 3 s, NOTICE < 60 s, else WARNING).
    AlreadyBanned {
        /// The ID.
        id: FailId,
        /// Failure time minus ban time.
        seconds: f64,
    },
    /// `INFO [jail] Ignore <ip>, expired bantime`.
    Expired {
        /// The ID.
        id: FailId,
    },
    /// `NOTICE [jail] Reban <ip>`: re-run after the actions were repaired.
    Reban {
        /// The ID.
        id: FailId,
    },
    /// `NOTICE [jail] Unban <ip>`.
    Unban {
        /// The ID.
        id: FailId,
    },
    /// `NOTICE [jail] Flush ticket(s) with <action>`.
    Flush {
        /// The action.
        action: String,
    },
    /// An action failed (`Failed to execute ban jail 'x' action 'y' ...`).
    /// The ban itself stays in the ban list.
    ActionFailed {
        /// `start`, `ban`, `reban`, `unban`, `flush`, `stop`, `prolong`.
        what: &'static str,
        /// The action's name.
        action: String,
        /// The error.
        error: String,
    },
}

/// A jail's actions and ban list.
#[derive(Debug)]
pub struct Actions {
    jail: String,
    actions: Vec<(String, JailAction)>,
    /// The ban list.
    pub bans: BanManager,
    ban_epoch: u64,
    last_consistency_check: f64,
    hosts: Option<HostNames>,
    resolver: Option<HostResolver>,
    found: (usize, u64),
}

impl Actions {
    /// No actions, an empty ban list.
    pub fn new(jail: &str) -> Actions {
        Actions {
            jail: jail.to_string(),
            actions: Vec::new(),
            bans: BanManager::new(),
            ban_epoch: 0,
            last_consistency_check: f64::NEG_INFINITY,
            hosts: None,
            resolver: Some(crate::actioninfo::reverse_dns),
            found: (0, 0),
        }
    }

    /// Uses fixed host names in every action (tests, dry runs).
    pub fn set_hostnames(&mut self, hosts: HostNames) {
        self.hosts = Some(hosts);
    }

    /// How `<ip-host>` is resolved (`None`: never, renders `None`).
    pub fn set_resolver(&mut self, r: Option<HostResolver>) {
        self.resolver = r;
    }

    /// The fail manager's counters, for `<jail.found>`/`<jail.found_total>`.
    pub fn set_found(&mut self, found: usize, total: u64) {
        self.found = (found, total);
    }

    /// Adds a command action (`set <jail> addaction <name>`); its options
    /// come next. Replaces an action of the same name.
    pub fn add_action(&mut self, name: &str) -> &mut CommandAction {
        let mut a = CommandAction::new(&self.jail, name, std::iter::empty());
        if let Some(h) = &self.hosts {
            a = a.with_hostnames(h.clone());
        }
        self.actions.retain(|(n, _)| n != name);
        self.actions
            .push((name.to_string(), JailAction::Command(a)));
        match self.actions.last_mut() {
            Some((_, JailAction::Command(a))) => a,
            _ => unreachable!("just pushed a command action"),
        }
    }

    /// Registers a Python action. ironban cannot run it: the returned error
    /// names the jail and the file; the jail's other actions still run.
    pub fn add_python_action(&mut self, name: &str, file: &str) -> Error {
        self.actions.retain(|(n, _)| n != name);
        self.actions.push((
            name.to_string(),
            JailAction::Python {
                file: file.to_string(),
            },
        ));
        let e = Error::PythonAction {
            jail: self.jail.clone(),
            action: name.to_string(),
            file: file.to_string(),
        };
        log::error!("{e}");
        e
    }

    /// The command action of that name.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut CommandAction> {
        self.actions
            .iter_mut()
            .find(|(n, _)| n == name)
            .and_then(|(_, a)| match a {
                JailAction::Command(c) => Some(c),
                JailAction::Python { .. } => None,
            })
    }

    /// Action names in order.
    pub fn names(&self) -> Vec<&str> {
        self.actions.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The actions in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &JailAction)> {
        self.actions.iter().map(|(n, a)| (n.as_str(), a))
    }

    /// The jail's ban epoch (bumped when an action was repaired).
    pub fn ban_epoch(&self) -> u64 {
        self.ban_epoch
    }

    fn counts(&self) -> JailCounts {
        JailCounts {
            banned: self.bans.size(),
            banned_total: self.bans.ban_total(),
            found: self.found.0,
            found_total: self.found.1,
        }
    }

    /// The dynamic tags of a ban of `ticket` in this jail.
    pub fn action_info(&self, ticket: &Ticket) -> ActionInfo {
        let mut i = ActionInfo::new(ticket, self.bans.bantime());
        i.set_counts(self.counts());
        i.set_resolver(self.resolver);
        i
    }

    /// The ticket-less info of start/stop/flush/check at `now`.
    pub fn empty_info(&self, now: f64) -> ActionInfo {
        let mut i = ActionInfo::empty(now, self.bans.bantime());
        i.set_counts(self.counts());
        i
    }

    fn sync_epoch(&mut self) {
        for (_, a) in &self.actions {
            if let JailAction::Command(c) = a {
                self.ban_epoch = self.ban_epoch.max(c.ban_epoch());
            }
        }
    }

    /// Starts every action; a failure is reported and the others go on.
    pub fn start(&mut self, x: &mut dyn Executor, now: f64) -> Vec<Event> {
        let empty = self.empty_info(now);
        let mut ev = Vec::new();
        for (name, a) in &mut self.actions {
            if let JailAction::Command(c) = a {
                if let Err(e) = c.start(x, &empty) {
                    ev.push(failed("start", name, e));
                }
            }
        }
        ev
    }

    /// Bans tickets taken from the jail's queue (fail2ban: `__checkBan`).
    /// Every ban lands in the ban list even if an action fails.
    pub fn check_ban(
        &mut self,
        tickets: Vec<Ticket>,
        x: &mut dyn Executor,
        now: f64,
    ) -> Vec<Event> {
        let mut ev = Vec::new();
        for ticket in tickets {
            let id = ticket.id.clone();
            let fail_time = ticket.time;
            match self.bans.add_ban_ticket(ticket, now) {
                Ok(()) => {
                    let Some(t) = self.bans.get(&id).cloned() else {
                        continue;
                    };
                    ev.push(Event::Ban {
                        id: id.clone(),
                        restored: t.restored,
                    });
                    let info = self.action_info(&t);
                    let empty = self.empty_info(now);
                    for (name, a) in &mut self.actions {
                        let JailAction::Command(c) = a else { continue };
                        if t.restored && c.norestored() {
                            continue;
                        }
                        if let Err(e) = c.ban(&info, x, &empty) {
                            ev.push(failed("ban", name, e));
                        }
                    }
                    self.sync_epoch();
                    if let Some(t) = self.bans.get_mut(&id) {
                        t.banned = true;
                        t.ban_epoch = self.ban_epoch;
                    }
                }
                Err(NotAdded::Expired) => ev.push(Event::Expired { id }),
                Err(NotAdded::AlreadyBanned { .. }) => {
                    let Some(old) = self.bans.get(&id).cloned() else {
                        continue;
                    };
                    let seconds = fail_time - old.time;
                    ev.push(Event::AlreadyBanned {
                        id: id.clone(),
                        seconds,
                    });
                    if old.ban_epoch == self.ban_epoch
                        && seconds > 3.0
                        && now > self.last_consistency_check + 3.0
                    {
                        self.last_consistency_check = now;
                        let empty = self.empty_info(now);
                        for (_, a) in &mut self.actions {
                            if let JailAction::Command(c) = a {
                                c.consistency_check(x, &empty);
                            }
                        }
                        self.sync_epoch();
                    }
                    if old.ban_epoch < self.ban_epoch {
                        ev.extend(self.reban(&old, x, now));
                    }
                }
            }
        }
        ev
    }

    /// Re-bans with the actions repaired since the ticket was banned
    /// (fail2ban: `__reBan`).
    fn reban(&mut self, t: &Ticket, x: &mut dyn Executor, now: f64) -> Vec<Event> {
        let mut ev = vec![Event::Reban { id: t.id.clone() }];
        let info = self.action_info(t);
        let empty = self.empty_info(now);
        for (name, a) in &mut self.actions {
            let JailAction::Command(c) = a else { continue };
            if c.ban_epoch() <= t.ban_epoch {
                continue;
            }
            if let Err(e) = c.reban(&info, x, &empty) {
                ev.push(failed("reban", name, e));
                return ev;
            }
        }
        let epoch = self.ban_epoch;
        if let Some(b) = self.bans.get_mut(&t.id) {
            b.banned = true;
            b.ban_epoch = epoch;
        }
        ev
    }

    /// Runs `actionprolong` after bantime.increment lengthened a ban.
    pub fn prolong(&mut self, id: &FailId, x: &mut dyn Executor, now: f64) -> Vec<Event> {
        let Some(t) = self.bans.get(id).cloned() else {
            return Vec::new();
        };
        let info = self.action_info(&t);
        let empty = self.empty_info(now);
        let mut ev = Vec::new();
        for (name, a) in &mut self.actions {
            let JailAction::Command(c) = a else { continue };
            if t.restored && c.norestored() {
                continue;
            }
            if let Err(e) = c.prolong(&info, x, &empty) {
                ev.push(failed("prolong", name, e));
            }
        }
        ev
    }

    fn unban_ticket(
        &mut self,
        t: &Ticket,
        only: Option<&[String]>,
        log: bool,
        x: &mut dyn Executor,
        now: f64,
    ) -> Vec<Event> {
        let mut ev = Vec::new();
        if log {
            ev.push(Event::Unban { id: t.id.clone() });
        }
        let info = self.action_info(t);
        let empty = self.empty_info(now);
        for (name, a) in &mut self.actions {
            let JailAction::Command(c) = a else { continue };
            if only.is_some_and(|o| !o.contains(name)) {
                continue;
            }
            if let Err(e) = c.unban(&info, x, &empty) {
                ev.push(failed("unban", name, e));
            }
        }
        ev
    }

    /// Lifts bans that ended before `now`, at most `max_count` (fail2ban:
    /// `__checkUnBan`).
    pub fn check_unban(&mut self, x: &mut dyn Executor, now: f64, max_count: usize) -> Vec<Event> {
        let mut ev = Vec::new();
        for t in self.bans.unban_list(now, max_count) {
            ev.extend(self.unban_ticket(&t, None, true, x, now));
        }
        ev
    }

    /// Unbans one ID now (`set <jail> unbanip`); `None` if it is not banned.
    pub fn unban_ip(&mut self, id: &FailId, x: &mut dyn Executor, now: f64) -> Option<Vec<Event>> {
        let t = self.bans.remove(id)?;
        Some(self.unban_ticket(&t, None, true, x, now))
    }

    /// Removes every ban (jail stop, `unban --all`): actions with an
    /// `actionflush` flush at once, the others unban ticket by ticket
    /// (fail2ban: `__flushBan`). With `stop`, a failed flush does not
    /// trigger a repair unless `actionrepair_on_unban` is set.
    pub fn flush_bans(&mut self, x: &mut dyn Executor, now: f64, stop: bool) -> Vec<Event> {
        let list = self.bans.flush_ban_list();
        let empty = self.empty_info(now);
        let mut ev = Vec::new();
        let mut per_ticket = Vec::new();
        for (name, a) in &mut self.actions {
            let JailAction::Command(c) = a else { continue };
            if c.has_flush() {
                ev.push(Event::Flush {
                    action: name.clone(),
                });
                match c.flush(x, &empty) {
                    Ok(()) => continue,
                    Err(e) => {
                        ev.push(failed("flush", name, e));
                        let refuse = stop && !crate::action::truthy(c.get("actionrepair_on_unban"));
                        if refuse {
                            log::error!(
                                "[{}] Invariant check failed. Flush is impossible.",
                                self.jail
                            );
                        } else {
                            c.consistency_check(x, &empty);
                        }
                        continue;
                    }
                }
            }
            per_ticket.push(name.clone());
        }
        for t in list {
            ev.extend(self.unban_ticket(&t, Some(&per_ticket), true, x, now));
        }
        ev
    }

    /// Stops the jail: flushes every ban, then stops the actions in reverse
    /// order (fail2ban: `__flushBan(stop=True)` + `stopActions`).
    pub fn stop(&mut self, x: &mut dyn Executor, now: f64) -> Vec<Event> {
        let mut ev = self.flush_bans(x, now, true);
        let empty = self.empty_info(now);
        for (name, a) in self.actions.iter_mut().rev() {
            if let JailAction::Command(c) = a {
                if let Err(e) = c.stop(x, &empty) {
                    ev.push(failed("stop", name, e));
                }
            }
        }
        ev
    }
}

fn failed(what: &'static str, name: &str, e: Error) -> Event {
    log::error!("Failed to execute {what} action '{name}': {e}");
    Event::ActionFailed {
        what,
        action: name.to_string(),
        error: e.to_string(),
    }
}

#[cfg(test)]
mod tests;
