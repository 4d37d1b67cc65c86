//! Reads a fail2ban configuration directory exactly as `fail2ban-client` does
//! and yields the command stream the server is configured with.
//!
//! (Filled by issue #2: INI dialect, includes, interpolation, readers.)

#![deny(missing_docs)]

pub mod stream;

pub use stream::{Command, Value};
