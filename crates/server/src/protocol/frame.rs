//! Framing: a message is everything before `<F2B_END_COMMAND>`; a message
//! that is exactly `<F2B_CLOSE_COMMAND>` asks the server to close the
//! connection. There is no escaping (fail2ban: `protocol.py` `CSPROTO`,
//! `asyncserver.py` `found_terminator`).

/// End of every message, both directions.
pub const END: &[u8] = b"<F2B_END_COMMAND>";
/// The client's "I am done" message.
pub const CLOSE: &[u8] = b"<F2B_CLOSE_COMMAND>";
/// Largest message the server buffers before giving up on a connection. The
/// biggest real request, a `reload` with the whole config stream, is a few
/// hundred kilobytes even for hundreds of jails.
pub const MAX_FRAME: usize = 32 * 1024 * 1024;

/// One complete message.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A pickled command (without the terminator).
    Command(Vec<u8>),
    /// `<F2B_CLOSE_COMMAND>`.
    Close,
}

/// Why a buffer holds no frame.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrameError {
    /// More bytes are needed (not an error condition while the peer is open).
    #[error("incomplete message")]
    Incomplete,
    /// The buffer can never become a valid frame.
    #[error("malformed message: {0}")]
    Malformed(String),
}

/// Takes the first complete frame off the front of `buf`.
///
/// # Errors
/// `Incomplete` when no terminator is buffered yet; `Malformed` when the
/// buffered bytes exceed [`MAX_FRAME`] without one.
pub fn parse(buf: &mut Vec<u8>) -> Result<Frame, FrameError> {
    Decoder::default().parse(buf)
}

/// Incremental [`parse`]: remembers how far the buffer was already searched
/// so a large message arriving in many reads is scanned once.
#[derive(Debug, Default)]
pub struct Decoder {
    scanned: usize,
}

impl Decoder {
    /// As [`parse`], for the same growing buffer across calls.
    ///
    /// # Errors
    /// As [`parse`].
    pub fn parse(&mut self, buf: &mut Vec<u8>) -> Result<Frame, FrameError> {
        let from = self.scanned.saturating_sub(END.len() - 1).min(buf.len());
        match find(&buf[from..], END).map(|i| i + from) {
            Some(at) => {
                self.scanned = 0;
                let msg: Vec<u8> = buf.drain(..at + END.len()).take(at).collect();
                if msg == CLOSE {
                    Ok(Frame::Close)
                } else {
                    Ok(Frame::Command(msg))
                }
            }
            // The text must not contain the terminator itself: it travels
            // back inside the reply.
            None if buf.len() > MAX_FRAME => Err(FrameError::Malformed(format!(
                "message larger than {MAX_FRAME} bytes without an end marker"
            ))),
            None => {
                self.scanned = buf.len();
                Err(FrameError::Incomplete)
            }
        }
    }
}

/// Where `needle` first occurs in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A message with its terminator appended.
pub fn encode(payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(payload.len() + END.len());
    v.extend_from_slice(payload);
    v.extend_from_slice(END);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_several_commands_and_close() {
        let mut buf = Vec::new();
        buf.extend_from_slice(b"abc<F2B_END_COMMAND>de");
        assert_eq!(parse(&mut buf), Ok(Frame::Command(b"abc".to_vec())));
        assert_eq!(parse(&mut buf), Err(FrameError::Incomplete));
        buf.extend_from_slice(b"f<F2B_END_COMMAND><F2B_CLOSE_COMMAND><F2B_END_COMMAND>");
        assert_eq!(parse(&mut buf), Ok(Frame::Command(b"def".to_vec())));
        assert_eq!(parse(&mut buf), Ok(Frame::Close));
        assert!(buf.is_empty());
    }

    #[test]
    fn empty_message_is_a_command() {
        let mut buf = b"<F2B_END_COMMAND>".to_vec();
        assert_eq!(parse(&mut buf), Ok(Frame::Command(Vec::new())));
    }

    #[test]
    fn oversized_is_malformed() {
        let mut buf = vec![b'x'; MAX_FRAME + 1];
        assert!(matches!(parse(&mut buf), Err(FrameError::Malformed(_))));
    }
}
