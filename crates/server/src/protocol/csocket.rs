//! The client side of the socket: send a command, read the reply, close
//! politely (fail2ban: `client/csocket.py`). Blocking, since the client does
//! one thing at a time.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use ironban_config::Value;

use super::frame::{self, CLOSE, END};
use super::obj::Obj;
use super::pickle::{dumps, loads_reply, PickleError};

/// Client socket errors.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connecting, sending or receiving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The server closed the connection before a full reply.
    #[error("[Errno 104] Connection reset by peer")]
    Reset,
    /// The reply could not be decoded.
    #[error("{0}")]
    Pickle(#[from] PickleError),
}

/// One connection to the server.
pub struct CSocket {
    sock: Option<UnixStream>,
}

impl CSocket {
    /// Connects to `path`, with a timeout for every read and write if given.
    ///
    /// # Errors
    /// The socket cannot be reached.
    pub fn connect(path: &Path, timeout: Option<Duration>) -> Result<CSocket, ClientError> {
        let sock = UnixStream::connect(path)?;
        sock.set_read_timeout(timeout)?;
        sock.set_write_timeout(timeout)?;
        Ok(CSocket { sock: Some(sock) })
    }

    /// Sends one command and returns the decoded reply.
    ///
    /// # Errors
    /// I/O failure, a reset, or an undecodable reply.
    pub fn send(&mut self, cmd: &[Value]) -> Result<Obj, ClientError> {
        let sock = self.sock.as_mut().ok_or(ClientError::Reset)?;
        let payload = dumps(&Obj::from(Value::List(cmd.to_vec())));
        sock.write_all(&frame::encode(&payload))?;
        let mut msg = Vec::new();
        let mut chunk = vec![0u8; 32 * 1024];
        loop {
            // A signal (a child of an in-process server exiting) may cut a
            // read with a timeout short: read again, as Python's socket does.
            let n = match sock.read(&mut chunk) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => r?,
            };
            if n == 0 {
                return Err(ClientError::Reset);
            }
            msg.extend_from_slice(&chunk[..n]);
            let tail = msg.len().saturating_sub(END.len() + 32);
            if let Some(at) = frame::find(&msg[tail..], END) {
                msg.truncate(tail + at);
                break;
            }
        }
        Ok(loads_reply(&msg)?)
    }

    /// Sends the close message and shuts the socket down.
    pub fn close(&mut self) {
        if let Some(mut s) = self.sock.take() {
            let mut m = CLOSE.to_vec();
            m.extend_from_slice(END);
            let _ = s.write_all(&m);
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Drop for CSocket {
    fn drop(&mut self) {
        self.close();
    }
}
