//! ironban-action: ban bookkeeping and running the jail's actions, as
//! fail2ban's server does it.
//!
//! Takes failure tickets (from the filter) and the action options of the
//! command stream; yields bans, unbans and the shell commands of the
//! actions, rendered string for string as fail2ban renders them.
//!
//! * [`ticket`]: failure/ban tickets (`ticket.py`).
//! * [`failmanager`]: findtime/maxretry counting (`failmanager.py`).
//! * [`banmanager`]: the ban list and expiry (`banmanager.py`).
//! * [`bantime`]: `bantime.increment` (`observer.py` `calcBanTime`).
//! * [`ignore`]: ignoreip/ignoreself/ignorecommand (`filter.py`).
//! * [`tags`]: `<tag>` substitution and `f2bV_` variables (`action.py`
//!   `replaceTag`, `helpers.py` `substituteRecursiveTags`).
//! * [`action`]: `CommandAction` (`action.py`).
//! * [`actioninfo`], [`actions`]: the per-ban tags and a jail's set of
//!   actions (`actions.py`).
//! * [`exec`]: `/bin/sh -c` with timeout and process-group kill
//!   (`utils.py`).
//!
//! Guarantees: values from log lines (user names, matches) never become
//! shell code: a value with a shell metacharacter reaches the shell only
//! as a positional argument read through `$f2bV_<tag>`. No function reads
//! the clock: every time-dependent call takes `now`.
//!
//! Leaves to other crates: reading config files (ironban-config), matching
//! log lines (ironban-filter), the database, threads and the socket
//! (ironban-server).
#![deny(missing_docs)]

pub mod action;
pub mod actioninfo;
pub mod actions;
pub mod banmanager;
pub mod bantime;
mod duration;
pub mod error;
pub mod exec;
pub mod failmanager;
pub mod ignore;
pub mod tags;
pub mod ticket;

pub use action::CommandAction;
pub use actioninfo::{ActionInfo, JailCounts, MergedBans};
pub use duration::str2seconds;
pub use error::{Error, Result};
pub use exec::{Executor, JailShell, Op, Recorder, ShellExecutor};
pub use tags::{HostNames, ShellCommand};
pub use ticket::{BanTicket, FailId, FailTicket, Family, Ticket};
