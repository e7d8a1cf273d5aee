//! Our TFTP client: RFC 1350 octet mode with option negotiation (RFC 2347), `blksize`
//! (RFC 2348), `tsize`/`timeout` (RFC 2349) and `windowsize` (RFC 7440).
//!
//! Split in three layers:
//! - [`packet`]: the wire codec, borrowing and panic-free;
//! - [`transfer`]: the sans-IO download state machine (no sockets, no clock of its own);
//! - [`client`]: the thin shell that runs the state machine over a `std::net::UdpSocket`.

pub mod client;
pub mod packet;
pub mod transfer;

use std::time::Duration;

pub use client::download;
pub use transfer::Transfer;

/// What a download asks of the server and how patient it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TftpOptions {
    /// Block size to ask for (RFC 2348, 8..=65464); 1468 fills a 1500-byte Ethernet frame.
    pub blksize: u16,
    /// Blocks per ACK to ask for (RFC 7440); 1 is RFC 1350 lock-step.
    pub windowsize: u16,
    /// How long to wait for the server before retransmitting; doubled on each retry.
    pub timeout: Duration,
    /// How many retransmissions in a row before giving up.
    pub retries: u32,
    /// Largest file accepted, in bytes; `None` for no limit.
    pub max_size: Option<u64>,
    /// Whether to send RFC 2347 options at all (`false`: a plain RFC 1350 request).
    pub request_options: bool,
}

impl Default for TftpOptions {
    fn default() -> Self {
        TftpOptions {
            blksize: 1468,
            windowsize: 16,
            timeout: Duration::from_secs(1),
            retries: 5,
            max_size: None,
            request_options: true,
        }
    }
}

/// Why a TFTP download failed. Every message is one sentence naming the server and the file.
#[derive(Debug, thiserror::Error)]
pub enum TftpError {
    /// The server answered with error code 1.
    #[error("file not found on {server}: {file}")]
    FileNotFound {
        /// The server, as `ip` (port 69) or `ip:port`.
        server: String,
        /// The requested path.
        file: String,
    },
    /// The server answered with error code 2.
    #[error("access denied on {server}: {file} ({message})")]
    AccessDenied {
        /// The server.
        server: String,
        /// The requested path.
        file: String,
        /// The server's message.
        message: String,
    },
    /// The server answered with another error code.
    #[error("{server} refused {file}: {message} (TFTP error {code})")]
    Server {
        /// The server.
        server: String,
        /// The requested path.
        file: String,
        /// The TFTP error code.
        code: u16,
        /// The server's message.
        message: String,
    },
    /// No usable answer after all retries.
    #[error("no answer from {server} for {file} after {tries} tries")]
    Timeout {
        /// The server.
        server: String,
        /// The requested path.
        file: String,
        /// How many times the last packet was sent.
        tries: u32,
    },
    /// The file is bigger than [`TftpOptions::max_size`].
    #[error("{file} on {server} is larger than the {limit}-byte limit")]
    TooLarge {
        /// The server.
        server: String,
        /// The requested path.
        file: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The transfer ended with a size other than the one the server announced (tsize).
    #[error("{file} from {server} was truncated: got {got} of the {expected} bytes announced")]
    Truncated {
        /// The server.
        server: String,
        /// The requested path.
        file: String,
        /// Bytes received.
        got: u64,
        /// Bytes announced by the tsize option.
        expected: u64,
    },
    /// The server broke the protocol (a bad OACK, an oversized block, ...).
    #[error("protocol error from {server} while fetching {file}: {detail}")]
    Protocol {
        /// The server.
        server: String,
        /// The requested path.
        file: String,
        /// What went wrong.
        detail: String,
    },
    /// The request cannot be encoded (NUL in the path, path too long).
    #[error("cannot request {file} from {server}: {detail}")]
    BadRequest {
        /// The server.
        server: String,
        /// The requested path.
        file: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The caller cancelled the download.
    #[error("download of {file} from {server} was cancelled")]
    Cancelled {
        /// The server.
        server: String,
        /// The requested path.
        file: String,
    },
    /// The socket failed.
    #[error("network error talking to {server} about {file}: {source}")]
    Io {
        /// The server.
        server: String,
        /// The requested path.
        file: String,
        /// The socket error.
        source: std::io::Error,
    },
    /// Writing the received data failed.
    #[error("cannot store {file} from {server}: {source}")]
    Write {
        /// The server.
        server: String,
        /// The requested path.
        file: String,
        /// The sink's error.
        source: std::io::Error,
    },
}

/// Formats a server address for messages: the bare IP for port 69, `ip:port` otherwise.
pub fn server_name(addr: std::net::SocketAddr) -> String {
    if addr.port() == 69 {
        addr.ip().to_string()
    } else {
        addr.to_string()
    }
}
