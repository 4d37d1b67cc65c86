//! The invariant check and the check → repair → retry path of a failed
//! command (fail2ban: action.py `consistencyCheck`, `_invariantCheck`,
//! `_processCmd`).

use super::{family_of, truthy, CommandAction, NO_FAMILY};
use crate::error::Result;
use crate::exec::{Executor, Op};
use crate::tags::{self, DynamicTags, ShellCommand};

impl CommandAction {
    /// Runs the invariant check for every started family, repairing where
    /// it fails (fail2ban: `consistencyCheck`). Returns `false` if some
    /// family could not be restored.
    pub fn consistency_check(&mut self, x: &mut dyn Executor, empty: &dyn DynamicTags) -> bool {
        let mut ret = true;
        if truthy(self.get("actioncheck")) {
            for (fam, started) in self.started.clone() {
                if started != 0 && self.invariant_check(Some(&fam), None, true, x, empty) != 1 {
                    self.started_set(&fam, 0);
                    self.operation_executed(Op::Start, &fam, None);
                    ret = false;
                }
            }
        }
        ret
    }

    /// Runs `actioncheck` for one family; on failure repairs (with
    /// `actionrepair`, else stop + start) and checks again (fail2ban:
    /// `_invariantCheck`). Returns 1 when sane, 0 when not restored, -1 when
    /// the repair was refused (an unban without `actionrepair_on_unban`).
    pub fn invariant_check(
        &mut self,
        fam: Option<&str>,
        before_repair: Option<&dyn Fn() -> bool>,
        force_start: bool,
        x: &mut dyn Executor,
        empty: &dyn DynamicTags,
    ) -> i32 {
        if !force_start && fam.is_some_and(|f| !self.started.iter().any(|(s, _)| s == f)) {
            return 1;
        }
        let f = fam.unwrap_or(NO_FAMILY).to_string();
        let check = match self.get_operation(Op::Check, &f) {
            Ok(c) => c,
            Err(e) => {
                log::error!("[{}] action {}: {}", self.jail, self.name, e);
                return 0;
            }
        };
        let cond = Self::conditional(&f);
        if check.is_empty() || self.exec(x, Op::Check, &cond, &ShellCommand::plain(check.clone())) {
            return 1;
        }
        if before_repair.is_some_and(|b| !b()) {
            return -1;
        }
        log::error!(
            "[{}] action {}: Invariant check failed. Trying to restore a sane environment",
            self.jail,
            self.name
        );
        self.ban_epoch += 1;
        let repair = self.get_operation(Op::Repair, &f).unwrap_or_default();
        if !repair.is_empty() {
            if !self.exec(x, Op::Repair, &cond, &ShellCommand::plain(repair)) {
                self.started_set(&f, 0);
                log::error!(
                    "[{}] action {}: Unable to restore environment",
                    self.jail,
                    self.name
                );
                return 0;
            }
            self.started_set(&f, 1);
        } else {
            // Errors of stop are bypassed, as fail2ban does: start and check decide.
            let _ = self.stop_family(&f, x, empty);
            let force = force_start || !self.start_on_demand();
            if let Err(e) = self.start_family(Some(&f), force, x, empty) {
                log::error!("[{}] action {}: {}", self.jail, self.name, e);
            }
        }
        if self.started_get(&f) != 0 && !self.exec(x, Op::Check, &cond, &ShellCommand::plain(check))
        {
            log::error!(
                "[{}] action {}: Unable to restore environment",
                self.jail,
                self.name
            );
            return 0;
        }
        1
    }

    /// Renders and runs a ban-bound command; on failure runs the invariant
    /// check (and repair) and retries once (fail2ban: `_processCmd`).
    pub(super) fn process_cmd(
        &mut self,
        op: Op,
        info: &dyn DynamicTags,
        x: &mut dyn Executor,
        empty: &dyn DynamicTags,
    ) -> Result<bool> {
        let fam = family_of(info);
        let cond = Self::conditional(&fam);
        let mut repcnt = 0;
        loop {
            if repcnt > 0 && truthy(self.get("actioncheck")) {
                let refuse_unban = op == Op::Unban && !truthy(self.get("actionrepair_on_unban"));
                let jail = self.jail.clone();
                let before = move || {
                    if refuse_unban {
                        log::error!("[{jail}] Invariant check failed. Unban is impossible.");
                        return false;
                    }
                    true
                };
                if self.invariant_check(Some(&fam), Some(&before), op != Op::Unban, x, empty) != 1 {
                    return Ok(false);
                }
            }
            let cmd = self.render_static(op.tag(), &cond)?;
            let real = tags::replace_dynamic_tags(&cmd, info, &self.hosts);
            let ret = self.exec(x, op, &cond, &real);
            repcnt += 1;
            if ret || repcnt > 1 {
                return Ok(ret);
            }
        }
    }
}
