//! The engine's inbox: log lines, journal entries and the transmitter's
//! requests, in the order they arrived (fail2ban: the filter thread's
//! `processLineAndAdd` calls and the commands of `server.py` on a jail).

use ironban_action::{FailId, Ticket};

use super::Engine;
use crate::jail::runtime::{ActionMethod, LogLines, Msg};
use crate::mytime;

impl Engine {
    pub(super) fn handle(&mut self, m: Msg) {
        if self.conf.idle && matches!(m, Msg::Lines(_) | Msg::Journal { .. }) {
            self.held.push(m);
            return;
        }
        match m {
            Msg::Lines(l) => {
                let LogLines {
                    path,
                    lines,
                    pos,
                    hash,
                    at_end,
                } = *l;
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
            Msg::Attempt(attempt, reply) => {
                let (ip, matches) = *attempt;
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
                let lines = self.stop();
                let _ = reply.send(lines);
            }
            Msg::ActionMethod(m) => {
                let ActionMethod {
                    action,
                    method,
                    kwargs,
                    reply,
                } = *m;
                let r = self.action_method(&action, &method, kwargs.as_deref());
                let _ = reply.send(r);
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
}
