//! ironban-filter: turns log lines into failures, as fail2ban's filter does.
//!
//! Takes a filter's options as plain strings (prefregex, failregex,
//! ignoreregex, maxlines, datepattern, usedns, logtimezone) in a
//! [`FilterOptions`], and yields, per log line, the [`Failure`]s fail2ban
//! would find: failure id, host, time and every named group. It guarantees
//! Python `re` semantics on PCRE2 (see `translate`), fail2ban's tag
//! expansion, its date detection (default templates, `datepattern`,
//! year inference) and multi-line buffering (`maxlines`, `mlfid`).
//!
//! It opens no files or sockets and keeps no ban state: reading files,
//! counting failures and banning belong to the server and action crates.
//! The only outside call is the DNS lookup for `usedns`, in [`ipdns`].
//!
//! Mirrors fail2ban's `server/failregex.py`, `server/filter.py`
//! (`Filter.processLine`/`findFailure`), `server/datedetector.py`,
//! `server/datetemplate.py`, `server/strptime.py` and `server/ipdns.py`.
#![deny(missing_docs)]

mod cache;
pub mod datedetector;
pub mod datetemplate;
pub mod error;
pub mod failregex;
pub mod filter;
pub mod groups;
pub mod ipdns;
pub mod pattern;
pub mod prefilter;
pub mod strptime;
pub mod text;
pub mod translate;

pub use error::{Error, ErrorKind, MatchError};
pub use failregex::{GroupValue, Groups, TupleLine, UseDns};
pub use filter::{Failure, Filter, FilterOptions};
pub use pattern::{Pattern, PatternBuilder};
pub use text::Text;
