//! Length-prefixed frames: a 4-byte unsigned big-endian length, then that many bytes.
//!
//! Carbon's pickle receiver and carbonlink both use Twisted's `Int32StringReceiver`
//! (compat notes §2.2, §2.3). Twisted checks the limit as soon as the prefix has arrived and
//! closes the connection when it is exceeded; there is no way to resynchronise after a
//! frame that is not read, so [`Frame::TooLarge`] means the receiver should do the same.

/// Bytes in a frame's length prefix.
pub const HEADER_LEN: usize = 4;

/// Carbon's `PICKLE_RECEIVER_MAX_LENGTH` default: 1 MiB.
pub const DEFAULT_MAX_PICKLE_FRAME: usize = 1 << 20;

/// Carbon's carbonlink request limit (`CacheManagementHandler.MAX_LENGTH`): 1 GiB.
pub const DEFAULT_MAX_CARBONLINK_FRAME: usize = 1 << 30;

/// What the start of a buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// Not a whole frame yet: read more (the prefix, when present, is within the limit).
    Incomplete,
    /// A whole frame; drop [`Frame::consumed`] bytes from the buffer after using it.
    Frame(&'a [u8]),
    /// The prefix announces a frame longer than the limit; the connection cannot continue.
    TooLarge(u32),
}

impl Frame<'_> {
    /// Bytes the frame occupies in the buffer, prefix included (0 unless [`Frame::Frame`]).
    pub fn consumed(&self) -> usize {
        match self {
            Frame::Frame(payload) => HEADER_LEN + payload.len(),
            Frame::Incomplete | Frame::TooLarge(_) => 0,
        }
    }
}

/// Looks for one frame at the start of `buf`, refusing payloads longer than `max_len`.
///
/// ```
/// use charcoal_protocol::framing::{split_frame, Frame};
/// assert_eq!(split_frame(b"\0\0\0\x02ab+", 10), Frame::Frame(b"ab"));
/// assert_eq!(split_frame(b"\0\0\0\x02a", 10), Frame::Incomplete);
/// assert_eq!(split_frame(b"\0\0\x01\0", 10), Frame::TooLarge(256));
/// ```
pub fn split_frame(buf: &[u8], max_len: usize) -> Frame<'_> {
    let Some(header) = buf.first_chunk::<HEADER_LEN>() else {
        return Frame::Incomplete;
    };
    let len = u32::from_be_bytes(*header);
    let Ok(n) = usize::try_from(len) else {
        return Frame::TooLarge(len);
    };
    if n > max_len {
        return Frame::TooLarge(len);
    }
    match buf.get(HEADER_LEN..HEADER_LEN + n) {
        Some(payload) => Frame::Frame(payload),
        None => Frame::Incomplete,
    }
}

/// Appends `payload` to `out` as one frame.
///
/// # Errors
///
/// A payload of 4 GiB or more cannot be framed; nothing is written.
pub fn write_frame(payload: &[u8], out: &mut Vec<u8>) -> Result<(), FrameTooLong> {
    let len = u32::try_from(payload.len()).map_err(|_| FrameTooLong(payload.len()))?;
    out.reserve(HEADER_LEN + payload.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// A payload too long for a 32-bit length prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot frame a payload of {0} bytes: the length prefix is 32 bits")]
pub struct FrameTooLong(pub usize);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split() {
        let f = |buf: &[u8], max: usize, want: Frame<'_>| {
            assert_eq!(split_frame(buf, max), want, "{buf:?} max {max}");
        };
        f(b"", 10, Frame::Incomplete);
        f(b"\0\0\0", 10, Frame::Incomplete);
        f(b"\0\0\0\0", 10, Frame::Frame(b""));
        f(b"\0\0\0\x01x", 10, Frame::Frame(b"x"));
        f(b"\0\0\0\x01xyz", 10, Frame::Frame(b"x"));
        f(b"\0\0\0\x0a", 10, Frame::Incomplete);
        f(b"\0\0\0\x0b", 10, Frame::TooLarge(11));
        f(b"\xff\xff\xff\xff", usize::MAX, Frame::Incomplete);
        f(b"\xff\xff\xff\xff", 1 << 20, Frame::TooLarge(u32::MAX));
    }

    #[test]
    fn consumed_and_round_trip() {
        let mut buf = Vec::new();
        write_frame(b"hello", &mut buf).unwrap();
        write_frame(b"", &mut buf).unwrap();
        let first = split_frame(&buf, 100);
        assert_eq!(first, Frame::Frame(b"hello"));
        assert_eq!(first.consumed(), 9);
        let second = split_frame(&buf[9..], 100);
        assert_eq!(second, Frame::Frame(b""));
        assert_eq!(second.consumed(), 4);
        assert_eq!(Frame::Incomplete.consumed(), 0);
        assert_eq!(Frame::TooLarge(5).consumed(), 0);
    }

    #[test]
    fn split_never_panics_on_any_prefix() {
        let mut buf = Vec::new();
        write_frame(&[7; 300], &mut buf).unwrap();
        for cut in 0..buf.len() {
            assert_eq!(split_frame(&buf[..cut], 1000), Frame::Incomplete);
        }
        assert_eq!(split_frame(&buf, 299), Frame::TooLarge(300));
    }
}
