//! ironban-server: fail2ban's daemon side — the unix-socket protocol, the
//! command transmitter, and the jail registry.
//!
//! Takes: decoded commands (the configuration stream `fail2ban-client`
//! sends, and every interactive command). Yields: replies that real
//! `fail2ban-client` reads unchanged — `(0, result)` or `(1, exception)`
//! pickled as fail2ban pickles them, byte for byte where the golden captures
//! pin them down. Guarantees: a request is decoded as plain data and never
//! executes anything; a malformed, hostile or oversized request gets an error
//! reply and the server keeps serving the others.
//!
//! Leaves to other crates: following logs and matching lines
//! (ironban-filter), running actions and the ban bookkeeping behind them
//! (ironban-action). A [`jail::Jail`] today stores every option the stream
//! sets and keeps its ban list; those engines attach there.
//!
//! Mirrors fail2ban's `server/server.py`, `server/transmitter.py`,
//! `server/asyncserver.py`, `server/jail.py`, `client/csocket.py` and
//! `protocol.py`.
//!
//! Entry point: [`run`], as in mini-redis's `server::run`:
//! ```no_run
//! # async fn f() {
//! use std::sync::{Arc, Mutex};
//! use ironban_server::{log::Logger, protocol::asyncserver::ListenOpts, Server};
//! let srv = Arc::new(Mutex::new(Server::new(Arc::new(Logger::new()))));
//! let opts = ListenOpts { socket: "/run/fail2ban/fail2ban.sock".into(),
//!     pidfile: None, force: false, systemd: true };
//! ironban_server::run(opts, srv, std::future::pending()).await.unwrap();
//! # }
//! ```

#![deny(missing_docs)]

pub mod backend;
pub mod database;
pub mod error;
pub mod jail;
pub mod jails;
pub mod journal;
pub mod log;
pub mod mytime;
pub mod protocol;
pub mod server;
pub mod transmitter;

pub use error::Error;
pub use protocol::asyncserver::run;
pub use protocol::{Obj, PyException};
pub use server::{Server, FAIL2BAN_VERSION};
