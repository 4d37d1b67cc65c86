//! Start, stop, flush and reload of a `CommandAction`: the families it
//! has started and which of them hold bans (fail2ban: action.py
//! `CommandAction.start`, `stop`, `flush`, `reload`).

use super::{truthy, CommandAction};
use crate::error::Result;
use crate::exec::{Executor, Op};
use crate::tags::DynamicTags;

impl CommandAction {
    /// Runs `actionstart` for every family, unless the action starts on
    /// demand (at its first ban of a family).
    ///
    /// `empty` supplies the dynamic tags of a ticket-less operation
    /// (`<time>` = now, empty `<ip>`): see [`crate::actions::ActionInfo::empty`].
    ///
    /// # Errors
    /// [`Error::Operation`](crate::error::Error::Operation) when a start command failed.
    pub fn start(&mut self, x: &mut dyn Executor, empty: &dyn DynamicTags) -> Result<()> {
        self.start_family(None, false, x, empty)
    }

    pub(super) fn start_family(
        &mut self,
        fam: Option<&str>,
        force: bool,
        x: &mut dyn Executor,
        empty: &dyn DynamicTags,
    ) -> Result<()> {
        if self.start_on_demand() {
            if !force {
                return Ok(());
            }
        } else if !force && fam.is_some_and(|f| self.started_get(f) != 0) {
            return Ok(());
        }
        let families = match fam {
            Some(f) => vec![f.to_string()],
            None => self.families(),
        };
        self.execute_operation(Op::Start, "starting", families, x, empty)
            .map(|_| ())
    }

    /// Whether the action has an `actionflush` (used instead of per-ban
    /// unbans at stop).
    pub fn has_flush(&self) -> bool {
        truthy(self.get("actionflush"))
    }

    /// Runs `actionflush` for the families holding bans.
    ///
    /// # Errors
    /// [`Error::Operation`](crate::error::Error::Operation) when it failed.
    pub fn flush(&mut self, x: &mut dyn Executor, empty: &dyn DynamicTags) -> Result<()> {
        let families = self.families_where(|v| v & 3 == 3);
        if families.is_empty() {
            return Ok(());
        }
        self.execute_operation(Op::Flush, "flushing", families, x, empty)
            .map(|_| ())
    }

    /// Runs `actionstop` for every started family.
    ///
    /// # Errors
    /// [`Error::Operation`](crate::error::Error::Operation) when it failed.
    pub fn stop(&mut self, x: &mut dyn Executor, empty: &dyn DynamicTags) -> Result<()> {
        let families = self.families_where(|v| v != 0);
        if families.is_empty() {
            return Ok(());
        }
        self.started.clear();
        self.execute_operation(Op::Stop, "stopping", families, x, empty)
            .map(|_| ())
    }

    pub(super) fn stop_family(
        &mut self,
        fam: &str,
        x: &mut dyn Executor,
        empty: &dyn DynamicTags,
    ) -> Result<()> {
        if !self.started.iter().any(|(f, _)| f == fam) {
            return Ok(());
        }
        self.started_set(fam, 0);
        self.execute_operation(Op::Stop, "stopping", vec![fam.to_string()], x, empty)
            .map(|_| ())
    }

    /// Runs `actionreload` for every started family.
    ///
    /// # Errors
    /// [`Error::Operation`](crate::error::Error::Operation) when it failed.
    pub fn reload(&mut self, x: &mut dyn Executor, empty: &dyn DynamicTags) -> Result<()> {
        let families = self.families_where(|v| v != 0);
        self.execute_operation(Op::Reload, "reloading", families, x, empty)
            .map(|_| ())
    }

    /// The families whose start state passes `keep` (0: not started).
    fn families_where(&self, keep: impl Fn(u8) -> bool) -> Vec<String> {
        self.started
            .iter()
            .filter(|(_, v)| keep(*v))
            .map(|(f, _)| f.clone())
            .collect()
    }
}
