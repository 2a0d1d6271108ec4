//! WebSocket frames ([RFC 6455 § 5.2](https://www.rfc-editor.org/rfc/rfc6455#section-5.2)):
//! their headers read and written, payloads masked and unmasked.
//!
//! The realtime tunnel reads the client's frames to inspect its events and
//! the upstream's frames only to know where one ends, so that an event of
//! the gateway's own is never written into the middle of another. No
//! extension is negotiated (the gateway removes the offer), so every
//! reserved bit must be clear.

/// A frame's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// The rest of a fragmented message.
    Continuation,
    /// A UTF-8 text message (every realtime event).
    Text,
    /// A binary message.
    Binary,
    /// The closing handshake.
    Close,
    /// A ping.
    Ping,
    /// A pong.
    Pong,
}

impl Opcode {
    fn from_bits(bits: u8) -> Option<Opcode> {
        Some(match bits {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xA => Opcode::Pong,
            _ => return None,
        })
    }

    fn bits(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
        }
    }

    /// Whether this is a control frame (close, ping, pong), which may come
    /// between the fragments of a message.
    pub fn is_control(self) -> bool {
        matches!(self, Opcode::Close | Opcode::Ping | Opcode::Pong)
    }
}

/// A frame's header: everything before its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Whether this is the last frame of its message.
    pub fin: bool,
    /// The frame's kind.
    pub opcode: Opcode,
    /// The masking key, present exactly on frames a client sends.
    pub mask: Option<[u8; 4]>,
    /// The payload's length in bytes.
    pub len: u64,
    /// The header's own length in bytes (2 to 14).
    pub header_len: usize,
}

/// Who sent the frames being read: a client's must be masked, a server's
/// must not ([RFC 6455 § 5.1](https://www.rfc-editor.org/rfc/rfc6455#section-5.1)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// The client (here the customer's SDK).
    Client,
    /// The server (here the upstream).
    Server,
}

/// Why bytes are not a frame header the tunnel accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A reserved bit is set, but no extension was negotiated.
    #[error("a reserved bit is set, but no extension was negotiated")]
    Reserved,
    /// The opcode is not one RFC 6455 defines.
    #[error("opcode {0:#x} is not defined")]
    UnknownOpcode(u8),
    /// A control frame is fragmented or longer than 125 bytes.
    #[error("a control frame must be one frame of at most 125 bytes")]
    BadControl,
    /// The 64-bit length has its top bit set, or a length is not in its shortest form.
    #[error("the payload length is malformed")]
    BadLength,
    /// A client frame without a mask, or a server frame with one.
    #[error("a {0} frame is masked wrongly")]
    Masking(&'static str),
}

impl FrameError {
    /// The close code the tunnel answers this error with: 1002, protocol error.
    pub const CLOSE_CODE: u16 = 1002;
}

/// Reads a frame header from the start of `buf`: `Ok(None)` when more bytes
/// are needed to tell.
///
/// # Errors
/// [`FrameError`] for a header RFC 6455 forbids, or masking wrong for `from`.
pub fn read_header(buf: &[u8], from: Sender) -> Result<Option<Header>, FrameError> {
    let (Some(&b0), Some(&b1)) = (buf.first(), buf.get(1)) else {
        return Ok(None);
    };
    if b0 & 0x70 != 0 {
        return Err(FrameError::Reserved);
    }
    let opcode = Opcode::from_bits(b0 & 0x0F).ok_or(FrameError::UnknownOpcode(b0 & 0x0F))?;
    let fin = b0 & 0x80 != 0;
    let masked = b1 & 0x80 != 0;
    match (from, masked) {
        (Sender::Client, false) => return Err(FrameError::Masking("client")),
        (Sender::Server, true) => return Err(FrameError::Masking("server")),
        _ => {}
    }
    let short = u64::from(b1 & 0x7F);
    let (len, mut at) = match short {
        126 => {
            let Some(b) = buf.get(2..4) else {
                return Ok(None);
            };
            let two = <[u8; 2]>::try_from(b).map_err(|_| FrameError::BadLength)?;
            let len = u64::from(u16::from_be_bytes(two));
            if len < 126 {
                return Err(FrameError::BadLength);
            }
            (len, 4)
        }
        127 => {
            let Some(b) = buf.get(2..10) else {
                return Ok(None);
            };
            let mut eight = [0u8; 8];
            eight.copy_from_slice(b);
            let len = u64::from_be_bytes(eight);
            if len >> 63 != 0 || len <= u64::from(u16::MAX) {
                return Err(FrameError::BadLength);
            }
            (len, 10)
        }
        n => (n, 2),
    };
    if opcode.is_control() && (!fin || len > 125) {
        return Err(FrameError::BadControl);
    }
    let mask = if masked {
        let Some(b) = buf.get(at..at + 4) else {
            return Ok(None);
        };
        at += 4;
        Some(<[u8; 4]>::try_from(b).map_err(|_| FrameError::BadLength)?)
    } else {
        None
    };
    Ok(Some(Header {
        fin,
        opcode,
        mask,
        len,
        header_len: at,
    }))
}

/// Applies (or removes: it is its own inverse) the mask to `payload`, whose
/// first byte is at `offset` within its frame's payload.
pub fn apply_mask(mask: [u8; 4], offset: u64, payload: &mut [u8]) {
    let start = usize::try_from(offset % 4).unwrap_or(0);
    for (b, m) in payload.iter_mut().zip(mask.iter().cycle().skip(start)) {
        *b ^= m;
    }
}

/// Writes one whole frame: `fin` set, masked with `mask` when given (a
/// frame the gateway sends upstream as the client), unmasked otherwise.
pub fn encode(opcode: Opcode, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(0x80 | opcode.bits());
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    let len = payload.len();
    if len < 126 {
        // Fits in the seven bits.
        out.push(mask_bit | len as u8);
    } else if let Ok(short) = u16::try_from(len) {
        out.push(mask_bit | 126);
        out.extend_from_slice(&short.to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    let start = out.len();
    if let Some(m) = mask {
        out.extend_from_slice(&m);
    }
    let body = out.len();
    out.extend_from_slice(payload);
    if let Some(m) = mask {
        apply_mask(m, 0, out.get_mut(body..).unwrap_or_default());
    }
    debug_assert!(start <= body);
    out
}

/// A close frame with `code` and a reason cut to fit a control frame.
pub fn close(code: u16, reason: &str, mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    let mut cut = reason.len().min(123);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    payload.extend_from_slice(reason.get(..cut).unwrap_or("").as_bytes());
    encode(Opcode::Close, &payload, mask)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn frame(opcode: Opcode, payload: &[u8], mask: Option<[u8; 4]>) -> (Header, Vec<u8>) {
        let bytes = encode(opcode, payload, mask);
        let from = if mask.is_some() {
            Sender::Client
        } else {
            Sender::Server
        };
        let h = read_header(&bytes, from).unwrap().unwrap();
        (h, bytes)
    }

    proptest! {
        #[test]
        fn an_encoded_frame_reads_back(
            payload in proptest::collection::vec(any::<u8>(), 0..70_000),
            mask in proptest::option::of(any::<[u8; 4]>()),
            binary in any::<bool>(),
        ) {
            let opcode = if binary { Opcode::Binary } else { Opcode::Text };
            let (h, bytes) = frame(opcode, &payload, mask);
            prop_assert!(h.fin);
            prop_assert_eq!(h.opcode, opcode);
            prop_assert_eq!(h.mask, mask);
            prop_assert_eq!(h.len, payload.len() as u64);
            prop_assert_eq!(bytes.len(), h.header_len + payload.len());
            let mut body = bytes[h.header_len..].to_vec();
            if let Some(m) = h.mask {
                apply_mask(m, 0, &mut body);
            }
            prop_assert_eq!(body, payload);
        }

        #[test]
        fn every_prefix_of_a_header_asks_for_more(
            len in 0usize..70_000,
            mask in proptest::option::of(any::<[u8; 4]>()),
        ) {
            let bytes = encode(Opcode::Text, &vec![0; len], mask);
            let from = if mask.is_some() { Sender::Client } else { Sender::Server };
            let h = read_header(&bytes, from).unwrap().unwrap();
            for cut in 0..h.header_len {
                prop_assert_eq!(read_header(&bytes[..cut], from), Ok(None));
            }
        }

        #[test]
        fn masking_in_pieces_is_masking_whole(
            payload in proptest::collection::vec(any::<u8>(), 0..64),
            mask in any::<[u8; 4]>(),
            split in 0usize..64,
        ) {
            let split = split.min(payload.len());
            let mut whole = payload.clone();
            apply_mask(mask, 0, &mut whole);
            let mut pieces = payload.clone();
            let (a, b) = pieces.split_at_mut(split);
            apply_mask(mask, 0, a);
            apply_mask(mask, split as u64, b);
            prop_assert_eq!(pieces, whole);
        }
    }

    #[test]
    fn headers_rfc_6455_forbids_are_refused() {
        // RSV1 set (permessage-deflate was not negotiated).
        assert_eq!(
            read_header(&[0xC1, 0x80, 0, 0, 0, 0], Sender::Client),
            Err(FrameError::Reserved)
        );
        assert_eq!(
            read_header(&[0x83, 0x80, 0, 0, 0, 0], Sender::Client),
            Err(FrameError::UnknownOpcode(3))
        );
        // A fragmented ping, and a 126-byte close.
        assert_eq!(
            read_header(&[0x09, 0x80, 0, 0, 0, 0], Sender::Client),
            Err(FrameError::BadControl)
        );
        assert_eq!(
            read_header(&[0x88, 0xFE, 0, 126], Sender::Client),
            Err(FrameError::BadControl)
        );
        // An unmasked client frame, a masked server frame.
        assert_eq!(
            read_header(&[0x81, 0x00], Sender::Client),
            Err(FrameError::Masking("client"))
        );
        assert_eq!(
            read_header(&[0x81, 0x80, 0, 0, 0, 0], Sender::Server),
            Err(FrameError::Masking("server"))
        );
        // A 16-bit length that fits in 7 bits; a 64-bit one with its top bit.
        assert_eq!(
            read_header(&[0x81, 0x7E, 0, 5], Sender::Server),
            Err(FrameError::BadLength)
        );
        assert_eq!(
            read_header(&[0x81, 0x7F, 0x80, 0, 0, 0, 0, 1, 0, 0], Sender::Server),
            Err(FrameError::BadLength)
        );
    }

    #[test]
    fn a_close_frame_carries_its_code_and_a_reason_cut_at_a_character() {
        let reason = "é".repeat(100);
        let bytes = close(1008, &reason, None);
        let h = read_header(&bytes, Sender::Server).unwrap().unwrap();
        assert_eq!(h.opcode, Opcode::Close);
        assert!(h.len <= 125);
        let payload = &bytes[h.header_len..];
        assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1008);
        assert!(std::str::from_utf8(&payload[2..]).is_ok());
    }
}
