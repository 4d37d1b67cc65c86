//! Reads a fail2ban configuration directory exactly as `fail2ban-client`
//! does and yields the command stream the server is configured with.
//!
//! Takes a config dir (`/etc/fail2ban` layout: `fail2ban.conf`, `jail.conf`,
//! `filter.d/`, `action.d/`, their `.local` and `.d/` overrides). Yields
//! [`Stream`]: the commands `fail2ban-client -d` prints, with the warnings
//! fail2ban would log; or, for one filter or action, a [`FilterDefinition`] /
//! [`ActionDefinition`] holding the values fail2ban would stream for it.
//! Guarantees fail2ban's results: the CPython `configparser` dialect
//! ([`ini`]), include order and merging ([`mod@include`]), `%(x)s` and `<tag>`
//! interpolation ([`interpolate`]), `name[k=v]` arguments ([`options`]),
//! and the readers' precedence rules ([`reader`]). It does nothing but read
//! files: regexes stay unexpanded (the filter crate expands `<HOST>`), actions
//! keep their runtime tags (`<ip>`), time strings stay strings (see
//! [`str2seconds`] for their value).
//!
//! Mirrors fail2ban's `client/configparserinc.py`, `configreader.py`,
//! `fail2banreader.py`, `jailsreader.py`, `jailreader.py`, `filterreader.py`,
//! `actionreader.py`, `configurator.py` and `helpers.py`.
//!
//! ```no_run
//! let stream = ironban_config::read_stream(std::path::Path::new("/etc/fail2ban")).unwrap();
//! for cmd in &stream.commands {
//!     println!("{}", ironban_config::Value::List(cmd.clone()));
//! }
//! ```

#![deny(missing_docs)]

pub mod configurator;
pub mod definition;
pub mod duration;
pub mod error;
pub mod include;
pub mod ini;
pub mod interpolate;
pub mod omap;
pub mod options;
pub mod pprint;
pub mod reader;
pub mod stream;

pub use configurator::{read_config, read_stream, read_stream_with, ConfigRead, Failure, Stream};
pub use definition::{read_action, read_filter, ActionDefinition, FilterDefinition};
pub use duration::str2seconds;
pub use error::{Error, ErrorKind, Pos};
pub use options::{parse_spec, splitwords};
pub use reader::{Level, LogMsg};
pub use stream::{Command, Value};
