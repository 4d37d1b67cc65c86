//! fail2ban's client/server protocol: pickles framed by
//! `<F2B_END_COMMAND>` on a unix socket (fail2ban: `protocol.py`,
//! `server/asyncserver.py`, `client/csocket.py`).

pub mod asyncserver;
pub mod csocket;
pub mod frame;
pub mod obj;
pub mod pickle;

pub use obj::{Obj, PyException};
