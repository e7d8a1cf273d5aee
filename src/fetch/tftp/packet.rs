//! The TFTP packet codec: RRQ/WRQ (with RFC 2347 options), DATA, ACK, ERROR and OACK.
//!
//! [`Packet::parse`] borrows from the datagram and never panics: every malformed input
//! (truncated, a string without its NUL, an unknown opcode, a non-UTF-8 string, an overlong
//! datagram, too many options) is a [`PacketError`]. The encoders build the datagrams a client
//! sends, plus the server-side ones the tests and fuzzers need.

use std::borrow::Cow;

/// Opcode of a read request.
pub const OP_RRQ: u16 = 1;
/// Opcode of a write request.
pub const OP_WRQ: u16 = 2;
/// Opcode of a data block.
pub const OP_DATA: u16 = 3;
/// Opcode of an acknowledgement.
pub const OP_ACK: u16 = 4;
/// Opcode of an error packet.
pub const OP_ERROR: u16 = 5;
/// Opcode of an option acknowledgement (RFC 2347).
pub const OP_OACK: u16 = 6;

/// The largest block size RFC 2348 allows.
pub const MAX_BLKSIZE: u16 = 65464;
/// The smallest block size RFC 2348 allows.
pub const MIN_BLKSIZE: u16 = 8;
/// The largest datagram accepted: a 4-byte header plus the largest block.
pub const MAX_PACKET: usize = 4 + MAX_BLKSIZE as usize;
/// The largest request RFC 2347 allows (options included).
pub const MAX_REQUEST: usize = 512;
/// The most options accepted in one request or OACK.
pub const MAX_OPTIONS: usize = 16;

/// TFTP error codes (RFC 1350 and RFC 2347).
pub mod code {
    /// Not defined, see the message.
    pub const NOT_DEFINED: u16 = 0;
    /// File not found.
    pub const FILE_NOT_FOUND: u16 = 1;
    /// Access violation.
    pub const ACCESS_VIOLATION: u16 = 2;
    /// Disk full or allocation exceeded.
    pub const DISK_FULL: u16 = 3;
    /// Illegal TFTP operation.
    pub const ILLEGAL_OPERATION: u16 = 4;
    /// Unknown transfer ID.
    pub const UNKNOWN_TID: u16 = 5;
    /// File already exists.
    pub const FILE_EXISTS: u16 = 6;
    /// No such user.
    pub const NO_SUCH_USER: u16 = 7;
    /// Option negotiation refused (RFC 2347).
    pub const OPTION_REFUSED: u16 = 8;
}

/// One option of a request or OACK: name and value, as sent (names compare case-insensitively).
pub type TftpOption<'a> = (&'a str, &'a str);

/// A read or write request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// The file name, as the server sees it.
    pub filename: &'a str,
    /// The transfer mode, `octet` or `netascii` (any case).
    pub mode: &'a str,
    /// RFC 2347 options, in the order sent.
    pub options: Vec<TftpOption<'a>>,
}

/// One decoded TFTP packet, borrowing from the datagram it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet<'a> {
    /// Read request (opcode 1).
    Rrq(Request<'a>),
    /// Write request (opcode 2).
    Wrq(Request<'a>),
    /// A data block (opcode 3); `data` may be empty (the last block of some files).
    Data {
        /// Block number, starting at 1 and wrapping after 65535.
        block: u16,
        /// The payload, at most the negotiated block size.
        data: &'a [u8],
    },
    /// An acknowledgement of `block` (opcode 4); block 0 acknowledges an OACK.
    Ack {
        /// The acknowledged block.
        block: u16,
    },
    /// An error (opcode 5). Non-UTF-8 bytes in the message are replaced, and a missing final
    /// NUL is tolerated: the error is worth reporting even when the server mangles it.
    Error {
        /// The error code, see [`code`].
        code: u16,
        /// The server's message.
        message: Cow<'a, str>,
    },
    /// Option acknowledgement (opcode 6, RFC 2347).
    Oack {
        /// The options the server accepted, with their final values.
        options: Vec<TftpOption<'a>>,
    },
}

/// Why a datagram is not a valid TFTP packet, or a packet cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// Fewer bytes than the opcode and fixed fields need.
    #[error("TFTP packet too short ({0} bytes)")]
    TooShort(usize),
    /// More bytes than any valid packet of this kind has.
    #[error("TFTP packet too long ({0} bytes)")]
    TooLong(usize),
    /// An opcode outside 1..=6.
    #[error("unknown TFTP opcode {0}")]
    UnknownOpcode(u16),
    /// A string field not terminated by a NUL byte.
    #[error("TFTP packet field {0} is not NUL-terminated")]
    MissingNul(&'static str),
    /// A string field that is not UTF-8.
    #[error("TFTP packet field {0} is not UTF-8")]
    NotUtf8(&'static str),
    /// An option name with no value after it.
    #[error("TFTP option {0:?} has no value")]
    OptionWithoutValue(String),
    /// An empty option name.
    #[error("TFTP option with an empty name")]
    EmptyOptionName,
    /// More than [`MAX_OPTIONS`] options.
    #[error("too many TFTP options")]
    TooManyOptions,
    /// A string to encode contains a NUL byte.
    #[error("TFTP field {0} contains a NUL byte")]
    EmbeddedNul(&'static str),
}

impl<'a> Packet<'a> {
    /// Decodes one datagram. Never panics; any malformed input is an error.
    pub fn parse(buf: &'a [u8]) -> Result<Packet<'a>, PacketError> {
        if buf.len() > MAX_PACKET {
            return Err(PacketError::TooLong(buf.len()));
        }
        let (op, rest) = split_u16(buf).ok_or(PacketError::TooShort(buf.len()))?;
        match op {
            OP_RRQ | OP_WRQ => {
                if buf.len() > MAX_REQUEST {
                    return Err(PacketError::TooLong(buf.len()));
                }
                let req = parse_request(rest)?;
                Ok(if op == OP_RRQ {
                    Packet::Rrq(req)
                } else {
                    Packet::Wrq(req)
                })
            }
            OP_DATA => {
                let (block, data) = split_u16(rest).ok_or(PacketError::TooShort(buf.len()))?;
                Ok(Packet::Data { block, data })
            }
            OP_ACK => {
                let (block, tail) = split_u16(rest).ok_or(PacketError::TooShort(buf.len()))?;
                if !tail.is_empty() {
                    return Err(PacketError::TooLong(buf.len()));
                }
                Ok(Packet::Ack { block })
            }
            OP_ERROR => {
                let (code, tail) = split_u16(rest).ok_or(PacketError::TooShort(buf.len()))?;
                // Tolerate a missing NUL; ignore anything after the first NUL.
                let msg = match tail.iter().position(|&b| b == 0) {
                    Some(i) => &tail[..i],
                    None => tail,
                };
                Ok(Packet::Error {
                    code,
                    message: String::from_utf8_lossy(msg),
                })
            }
            OP_OACK => {
                if buf.len() > MAX_REQUEST {
                    return Err(PacketError::TooLong(buf.len()));
                }
                let mut rest = rest;
                let options = parse_options(&mut rest)?;
                Ok(Packet::Oack { options })
            }
            other => Err(PacketError::UnknownOpcode(other)),
        }
    }

    /// Encodes this packet into a new datagram.
    pub fn encode(&self) -> Result<Vec<u8>, PacketError> {
        match self {
            Packet::Rrq(r) => encode_request(OP_RRQ, r.filename, r.mode, &r.options),
            Packet::Wrq(r) => encode_request(OP_WRQ, r.filename, r.mode, &r.options),
            Packet::Data { block, data } => Ok(encode_data(*block, data)),
            Packet::Ack { block } => Ok(encode_ack(*block).to_vec()),
            Packet::Error { code, message } => Ok(encode_error(*code, message)),
            Packet::Oack { options } => encode_oack(options),
        }
    }
}

/// Splits a big-endian u16 off the front of `buf`.
fn split_u16(buf: &[u8]) -> Option<(u16, &[u8])> {
    match buf {
        [a, b, rest @ ..] => Some((u16::from_be_bytes([*a, *b]), rest)),
        _ => None,
    }
}

/// Takes one NUL-terminated UTF-8 string off the front of `buf`.
fn take_str<'a>(buf: &mut &'a [u8], field: &'static str) -> Result<&'a str, PacketError> {
    let nul = buf
        .iter()
        .position(|&b| b == 0)
        .ok_or(PacketError::MissingNul(field))?;
    let s = std::str::from_utf8(&buf[..nul]).map_err(|_| PacketError::NotUtf8(field))?;
    *buf = &buf[nul + 1..];
    Ok(s)
}

/// Parses the body of an RRQ or WRQ (after the opcode).
fn parse_request(mut rest: &[u8]) -> Result<Request<'_>, PacketError> {
    let filename = take_str(&mut rest, "filename")?;
    let mode = take_str(&mut rest, "mode")?;
    let options = parse_options(&mut rest)?;
    Ok(Request {
        filename,
        mode,
        options,
    })
}

/// Parses name/value pairs until the buffer is used up.
fn parse_options<'a>(rest: &mut &'a [u8]) -> Result<Vec<TftpOption<'a>>, PacketError> {
    let mut options = Vec::new();
    while !rest.is_empty() {
        if options.len() == MAX_OPTIONS {
            return Err(PacketError::TooManyOptions);
        }
        let name = take_str(rest, "option name")?;
        if name.is_empty() {
            return Err(PacketError::EmptyOptionName);
        }
        if rest.is_empty() {
            return Err(PacketError::OptionWithoutValue(name.to_string()));
        }
        let value = take_str(rest, "option value")?;
        options.push((name, value));
    }
    Ok(options)
}

/// Appends `s` and its NUL, refusing embedded NULs.
fn put_str(out: &mut Vec<u8>, s: &str, field: &'static str) -> Result<(), PacketError> {
    if s.as_bytes().contains(&0) {
        return Err(PacketError::EmbeddedNul(field));
    }
    out.extend_from_slice(s.as_bytes());
    out.push(0);
    Ok(())
}

/// Appends option pairs.
fn put_options(out: &mut Vec<u8>, options: &[TftpOption<'_>]) -> Result<(), PacketError> {
    if options.len() > MAX_OPTIONS {
        return Err(PacketError::TooManyOptions);
    }
    for (name, value) in options {
        if name.is_empty() {
            return Err(PacketError::EmptyOptionName);
        }
        put_str(out, name, "option name")?;
        put_str(out, value, "option value")?;
    }
    Ok(())
}

/// Encodes an RRQ or WRQ; fails on embedded NULs or when longer than [`MAX_REQUEST`].
fn encode_request(
    op: u16,
    filename: &str,
    mode: &str,
    options: &[TftpOption<'_>],
) -> Result<Vec<u8>, PacketError> {
    let mut out = Vec::with_capacity(64 + filename.len());
    out.extend_from_slice(&op.to_be_bytes());
    put_str(&mut out, filename, "filename")?;
    put_str(&mut out, mode, "mode")?;
    put_options(&mut out, options)?;
    if out.len() > MAX_REQUEST {
        return Err(PacketError::TooLong(out.len()));
    }
    Ok(out)
}

/// Encodes a read request for `filename` in `mode` with RFC 2347 `options`.
pub fn encode_rrq(
    filename: &str,
    mode: &str,
    options: &[TftpOption<'_>],
) -> Result<Vec<u8>, PacketError> {
    encode_request(OP_RRQ, filename, mode, options)
}

/// Encodes a DATA packet.
pub fn encode_data(block: u16, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + data.len());
    out.extend_from_slice(&OP_DATA.to_be_bytes());
    out.extend_from_slice(&block.to_be_bytes());
    out.extend_from_slice(data);
    out
}

/// Encodes an ACK packet.
pub fn encode_ack(block: u16) -> [u8; 4] {
    let [o0, o1] = OP_ACK.to_be_bytes();
    let [b0, b1] = block.to_be_bytes();
    [o0, o1, b0, b1]
}

/// Encodes an ERROR packet; NUL bytes in `message` become spaces and it is cut to 400 bytes.
pub fn encode_error(code: u16, message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + message.len());
    out.extend_from_slice(&OP_ERROR.to_be_bytes());
    out.extend_from_slice(&code.to_be_bytes());
    out.extend(
        message
            .bytes()
            .take(400)
            .map(|b| if b == 0 { b' ' } else { b }),
    );
    out.push(0);
    out
}

/// Encodes an OACK packet.
pub fn encode_oack(options: &[TftpOption<'_>]) -> Result<Vec<u8>, PacketError> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&OP_OACK.to_be_bytes());
    put_options(&mut out, options)?;
    if out.len() > MAX_REQUEST {
        return Err(PacketError::TooLong(out.len()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrq_roundtrip_with_options() {
        let bytes = encode_rrq(
            "/pxelinux.cfg/default",
            "octet",
            &[("blksize", "1468"), ("tsize", "0")],
        )
        .expect("encode");
        assert_eq!(&bytes[..2], &[0, 1]);
        let p = Packet::parse(&bytes).expect("parse");
        assert_eq!(
            p,
            Packet::Rrq(Request {
                filename: "/pxelinux.cfg/default",
                mode: "octet",
                options: vec![("blksize", "1468"), ("tsize", "0")],
            })
        );
        assert_eq!(p.encode().expect("re-encode"), bytes);
    }

    #[test]
    fn data_ack_error_oack_roundtrip() {
        let d = encode_data(7, b"hello");
        assert_eq!(
            Packet::parse(&d),
            Ok(Packet::Data {
                block: 7,
                data: b"hello"
            })
        );
        let empty = encode_data(65535, b"");
        assert_eq!(
            Packet::parse(&empty),
            Ok(Packet::Data {
                block: 65535,
                data: b""
            })
        );
        assert_eq!(
            Packet::parse(&encode_ack(513)),
            Ok(Packet::Ack { block: 513 })
        );
        let e = encode_error(1, "File not found");
        assert_eq!(
            Packet::parse(&e),
            Ok(Packet::Error {
                code: 1,
                message: Cow::Borrowed("File not found")
            })
        );
        let o = encode_oack(&[("blksize", "512"), ("windowsize", "4")]).expect("oack");
        let p = Packet::parse(&o).expect("parse");
        assert_eq!(
            p,
            Packet::Oack {
                options: vec![("blksize", "512"), ("windowsize", "4")]
            }
        );
        assert_eq!(p.encode().expect("encode"), o);
        assert_eq!(Packet::parse(&[0, 6]), Ok(Packet::Oack { options: vec![] }));
    }

    #[test]
    fn error_without_nul_or_with_latin1_is_tolerated() {
        assert_eq!(
            Packet::parse(b"\x00\x05\x00\x01nope"),
            Ok(Packet::Error {
                code: 1,
                message: Cow::Borrowed("nope")
            })
        );
        match Packet::parse(b"\x00\x05\x00\x00caf\xe9\x00junk") {
            Ok(Packet::Error { code: 0, message }) => assert_eq!(message, "caf\u{fffd}"),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(encode_error(0, "a\0b"), b"\x00\x05\x00\x00a b\x00");
    }

    #[test]
    fn malformed_packets_are_errors() {
        assert_eq!(Packet::parse(b""), Err(PacketError::TooShort(0)));
        assert_eq!(Packet::parse(b"\x00"), Err(PacketError::TooShort(1)));
        assert_eq!(
            Packet::parse(b"\x00\x03\x00"),
            Err(PacketError::TooShort(3))
        );
        assert_eq!(
            Packet::parse(b"\x00\x04\x00"),
            Err(PacketError::TooShort(3))
        );
        assert_eq!(
            Packet::parse(b"\x00\x05\x00"),
            Err(PacketError::TooShort(3))
        );
        assert_eq!(
            Packet::parse(b"\x00\x04\x00\x01\x00"),
            Err(PacketError::TooLong(5))
        );
        assert_eq!(
            Packet::parse(b"\x00\x07"),
            Err(PacketError::UnknownOpcode(7))
        );
        assert_eq!(
            Packet::parse(b"\x00\x00"),
            Err(PacketError::UnknownOpcode(0))
        );
        assert_eq!(
            Packet::parse(b"\xff\xff"),
            Err(PacketError::UnknownOpcode(65535))
        );
        // RRQ missing NULs.
        assert_eq!(
            Packet::parse(b"\x00\x01file"),
            Err(PacketError::MissingNul("filename"))
        );
        assert_eq!(
            Packet::parse(b"\x00\x01file\x00octet"),
            Err(PacketError::MissingNul("mode"))
        );
        assert_eq!(
            Packet::parse(b"\x00\x01file\x00octet\x00tsize"),
            Err(PacketError::MissingNul("option name"))
        );
        assert_eq!(
            Packet::parse(b"\x00\x01file\x00octet\x00tsize\x00"),
            Err(PacketError::OptionWithoutValue("tsize".into()))
        );
        assert_eq!(
            Packet::parse(b"\x00\x01file\x00octet\x00tsize\x000"),
            Err(PacketError::MissingNul("option value"))
        );
        assert_eq!(
            Packet::parse(b"\x00\x06\x00\x00"),
            Err(PacketError::EmptyOptionName)
        );
        // Non-UTF-8 option name and file name.
        assert_eq!(
            Packet::parse(b"\x00\x06bl\xffk\x00512\x00"),
            Err(PacketError::NotUtf8("option name"))
        );
        assert_eq!(
            Packet::parse(b"\x00\x01\xc3\x00octet\x00"),
            Err(PacketError::NotUtf8("filename"))
        );
        // Overlong.
        let mut big = encode_data(1, &[0u8; MAX_BLKSIZE as usize]);
        assert!(Packet::parse(&big).is_ok());
        big.push(0);
        assert_eq!(
            Packet::parse(&big),
            Err(PacketError::TooLong(MAX_PACKET + 1))
        );
        let mut rrq = vec![0, 1];
        rrq.extend(std::iter::repeat_n(b'a', 600));
        rrq.extend_from_slice(b"\x00octet\x00");
        assert!(matches!(Packet::parse(&rrq), Err(PacketError::TooLong(_))));
        // Too many options.
        let mut oack = vec![0, 6];
        for _ in 0..=MAX_OPTIONS {
            oack.extend_from_slice(b"a\x001\x00");
        }
        assert_eq!(Packet::parse(&oack), Err(PacketError::TooManyOptions));
    }

    #[test]
    fn encoders_refuse_bad_input() {
        assert_eq!(
            encode_rrq("a\0b", "octet", &[]),
            Err(PacketError::EmbeddedNul("filename"))
        );
        let long = "x".repeat(600);
        assert!(matches!(
            encode_rrq(&long, "octet", &[]),
            Err(PacketError::TooLong(_))
        ));
        assert_eq!(encode_oack(&[("", "1")]), Err(PacketError::EmptyOptionName));
    }

    #[test]
    fn parse_never_panics_on_prefixes() {
        let full =
            encode_rrq("f", "octet", &[("blksize", "1468"), ("tsize", "0")]).expect("encode");
        for n in 0..=full.len() {
            let _ = Packet::parse(&full[..n]);
        }
        // A cheap deterministic sweep over short inputs.
        let mut x: u32 = 12345;
        for len in 0..64usize {
            for _ in 0..64 {
                let buf: Vec<u8> = (0..len)
                    .map(|_| {
                        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                        // Bias towards small values so opcodes and NULs appear often.
                        ((x >> 16) % 8) as u8
                    })
                    .collect();
                let _ = Packet::parse(&buf);
            }
        }
    }
}
