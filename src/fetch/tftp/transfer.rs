//! The sans-IO TFTP download state machine.
//!
//! [`Transfer`] owns no socket and reads no clock: the caller feeds it received datagrams
//! ([`Transfer::handle_datagram`], with the sender's address), the time
//! ([`Transfer::handle_timeout`] once [`Transfer::deadline`] has passed) and cancellation
//! ([`Transfer::cancel`]); it answers with datagrams to send ([`Transfer::poll_transmit`]) and, per
//! input, a [`Step`]: the bytes to append to the file (always in order, borrowed from the
//! datagram) and, at the end, the outcome.
//!
//! Behaviour:
//! - the RRQ asks for `blksize`, `tsize=0`, `timeout` and `windowsize` (RFC 2347/2348/2349/7440)
//!   unless [`TftpOptions::request_options`] is off;
//! - an OACK sets the block size (512 when omitted) and window (1 when omitted) and is answered
//!   with ACK 0; a server that ignores options and sends DATA 1 gets plain RFC 1350 (512-byte
//!   blocks, lock-step); an ERROR 8 (options refused) makes us re-send the RRQ without options;
//! - the first reply fixes the server's transfer ID (its port); packets from any other address
//!   get an ERROR 5 sent back to that address and are otherwise ignored;
//! - blocks are accepted only in order; a duplicate or out-of-order block triggers ONE re-sync
//!   ACK of the last in-order block until the transfer makes progress again (no ACK storms);
//! - block numbers wrap after 65535 to 0; a wrap to 1 is also accepted in lock-step mode
//!   (window 1), where it cannot be confused with a lost block 0;
//! - on a timeout the RRQ or the last ACK is re-sent, with the timeout doubling (up to 8 times
//!   the base) until `retries` retransmissions in a row went unanswered;
//! - a block shorter than the block size ends the transfer and is ACKed; a `tsize` that does not
//!   match the bytes received, or a file over `max_size`, is an error.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::packet::{self, code, Packet, MAX_BLKSIZE, MIN_BLKSIZE};
use super::{server_name, TftpError, TftpOptions};

/// The RFC 1350 block size, used when no blksize was negotiated.
pub const DEFAULT_BLKSIZE: usize = 512;

/// A datagram the caller must send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it.
    pub to: SocketAddr,
    /// The datagram.
    pub bytes: Vec<u8>,
}

/// What one input produced, besides the datagrams queued for [`Transfer::poll_transmit`].
#[derive(Debug)]
pub struct Step<'a> {
    /// Bytes to append to the file; always the next bytes in order.
    pub write: Option<&'a [u8]>,
    /// Set once the transfer is over: the file size, or why it failed.
    pub outcome: Option<Result<u64, TftpError>>,
}

impl<'a> Step<'a> {
    /// Nothing to write, not finished.
    fn idle() -> Self {
        Step {
            write: None,
            outcome: None,
        }
    }

    /// The transfer failed.
    fn fail(e: TftpError) -> Self {
        Step {
            write: None,
            outcome: Some(Err(e)),
        }
    }
}

/// Where the transfer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The RRQ is out, no valid answer yet; `options` tells whether it carried options.
    Requesting { options: bool },
    /// The server's TID is known and blocks are arriving.
    Receiving,
    /// Done, failed or cancelled: all further input is ignored.
    Finished,
}

/// One TFTP download as a state machine. See the module documentation.
#[derive(Debug)]
pub struct Transfer {
    /// Where the RRQ goes (normally port 69).
    server: SocketAddr,
    /// `server` formatted for messages.
    server_name: String,
    /// The requested path.
    file: String,
    /// The caller's options.
    opts: TftpOptions,
    /// Where the transfer stands.
    state: State,
    /// The server's transfer ID, fixed by its first reply.
    peer: Option<SocketAddr>,
    /// The current RRQ, kept for retransmission.
    request: Vec<u8>,
    /// The option names the current RRQ carries (lower case).
    requested: Vec<&'static str>,
    /// Negotiated block size.
    blksize: usize,
    /// Negotiated window size.
    window: u16,
    /// Number of the last block received in order (0 before the first).
    last_block: u16,
    /// In-order blocks received since our last ACK.
    in_window: u16,
    /// Whether `last_block` was ACKed since the last progress (one re-sync ACK per gap).
    acked_since_progress: bool,
    /// Bytes received in order.
    bytes: u64,
    /// Size announced by the server (tsize).
    total: Option<u64>,
    /// The timeout in force (doubles on each retry).
    cur_timeout: Duration,
    /// When the next retransmission is due.
    deadline: Instant,
    /// Retransmissions in a row without progress.
    tries: u32,
    /// Datagrams waiting to be sent.
    queue: VecDeque<Transmit>,
}

impl Transfer {
    /// Starts a download of `file` from `server` (usually port 69) and queues the RRQ.
    pub fn new(
        server: SocketAddr,
        file: &str,
        opts: &TftpOptions,
        now: Instant,
    ) -> Result<Transfer, TftpError> {
        let mut opts = opts.clone();
        opts.blksize = opts.blksize.clamp(MIN_BLKSIZE, MAX_BLKSIZE);
        opts.windowsize = opts.windowsize.max(1);
        // RFC 2349 timeouts are 1..=255 s; below 1 ms the clock is meaningless.
        opts.timeout = opts
            .timeout
            .clamp(Duration::from_millis(1), Duration::from_secs(255));
        let mut t = Transfer {
            server,
            server_name: server_name(server),
            file: file.to_string(),
            opts,
            state: State::Finished,
            peer: None,
            request: Vec::new(),
            requested: Vec::new(),
            blksize: DEFAULT_BLKSIZE,
            window: 1,
            last_block: 0,
            in_window: 0,
            acked_since_progress: false,
            bytes: 0,
            total: None,
            cur_timeout: Duration::ZERO,
            deadline: now,
            tries: 0,
            queue: VecDeque::new(),
        };
        let with_options = t.opts.request_options;
        match t.send_request(now, with_options) {
            Ok(()) => {}
            // Options may push a long path over 512 bytes: try again without them.
            Err(_) if with_options => t.send_request(now, false)?,
            Err(e) => return Err(e),
        }
        Ok(t)
    }

    /// Builds and queues an RRQ, with or without options, and arms the timer.
    fn send_request(&mut self, now: Instant, options: bool) -> Result<(), TftpError> {
        let blksize = self.opts.blksize.to_string();
        let timeout = self.opts.timeout.as_secs_f64().ceil().clamp(1.0, 255.0) as u8;
        let timeout = timeout.to_string();
        let window = self.opts.windowsize.to_string();
        let mut list: Vec<(&'static str, &str)> = Vec::new();
        if options {
            list.push(("blksize", &blksize));
            list.push(("tsize", "0"));
            list.push(("timeout", &timeout));
            if self.opts.windowsize > 1 {
                list.push(("windowsize", &window));
            }
        }
        let bytes =
            packet::encode_rrq(&self.file, "octet", &list).map_err(|e| TftpError::BadRequest {
                server: self.server_name.clone(),
                file: self.file.clone(),
                detail: e.to_string(),
            })?;
        self.requested = list.iter().map(|(n, _)| *n).collect();
        self.request = bytes.clone();
        self.state = State::Requesting { options };
        self.tries = 0;
        self.cur_timeout = self.opts.timeout;
        self.deadline = now + self.cur_timeout;
        self.queue.push_back(Transmit {
            to: self.server,
            bytes,
        });
        Ok(())
    }

    /// The next datagram to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.queue.pop_front()
    }

    /// When [`Transfer::handle_timeout`] should be called if nothing arrives before.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Bytes received so far and the total size when the server announced it.
    pub fn progress(&self) -> (u64, Option<u64>) {
        (self.bytes, self.total)
    }

    /// The block size in force (512 until an OACK says otherwise).
    pub fn blksize(&self) -> usize {
        self.blksize
    }

    /// The window size in force (1 until an OACK says otherwise).
    pub fn windowsize(&self) -> u16 {
        self.window
    }

    /// Whether the transfer is over (done, failed or cancelled).
    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    /// The server's transfer ID once known.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Cancels the transfer: tells the server (ERROR 0) if it is known, and returns the outcome.
    pub fn cancel(&mut self) -> Step<'static> {
        if self.state == State::Finished {
            return Step::idle();
        }
        self.abort(code::NOT_DEFINED, "transfer cancelled by the client");
        Step::fail(TftpError::Cancelled {
            server: self.server_name.clone(),
            file: self.file.clone(),
        })
    }

    /// Ends the transfer now (e.g. when the caller cannot store the data): drops any queued
    /// datagram and queues an ERROR with `code` and `message` to the server if it is known.
    pub fn abort(&mut self, code: u16, message: &str) {
        self.queue.clear();
        if self.state != State::Finished {
            if let Some(peer) = self.peer {
                self.send_error(peer, code, message);
            }
        }
        self.state = State::Finished;
    }

    /// Handles the timer. Does nothing before [`Transfer::deadline`]; after it, retransmits the
    /// RRQ or the last ACK with a doubled timeout, or gives up when the retries are used up.
    pub fn handle_timeout(&mut self, now: Instant) -> Step<'static> {
        if self.state == State::Finished || now < self.deadline {
            return Step::idle();
        }
        if self.tries >= self.opts.retries {
            self.state = State::Finished;
            return Step::fail(TftpError::Timeout {
                server: self.server_name.clone(),
                file: self.file.clone(),
                tries: self.tries + 1,
            });
        }
        self.tries += 1;
        self.cur_timeout = (self.cur_timeout * 2).min(self.opts.timeout * 8);
        self.deadline = now + self.cur_timeout;
        match self.state {
            State::Requesting { .. } => self.queue.push_back(Transmit {
                to: self.server,
                bytes: self.request.clone(),
            }),
            State::Receiving => {
                self.send_ack(self.last_block);
                self.acked_since_progress = true;
            }
            State::Finished => {}
        }
        Step::idle()
    }

    /// Handles one datagram received from `from` at `now`.
    pub fn handle_datagram<'a>(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &'a [u8],
    ) -> Step<'a> {
        match self.state {
            State::Finished => Step::idle(),
            State::Requesting { options } => self.on_first_reply(now, from, datagram, options),
            State::Receiving => {
                if Some(from) != self.peer {
                    self.send_error(from, code::UNKNOWN_TID, "Unknown transfer ID");
                    return Step::idle();
                }
                match Packet::parse(datagram) {
                    Ok(Packet::Data { block, data }) => self.on_data(now, block, data),
                    Ok(Packet::Oack { .. }) => {
                        // Our ACK 0 was lost and the server repeats its OACK.
                        if self.bytes == 0 && self.last_block == 0 && !self.acked_since_progress {
                            self.send_ack(0);
                            self.acked_since_progress = true;
                        }
                        Step::idle()
                    }
                    Ok(Packet::Error { code, message }) => {
                        self.state = State::Finished;
                        Step::fail(self.server_error(code, &message))
                    }
                    // Garbage, ACKs and requests from the server are ignored.
                    _ => Step::idle(),
                }
            }
        }
    }

    /// Handles a datagram while the RRQ is unanswered.
    fn on_first_reply<'a>(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &'a [u8],
        options: bool,
    ) -> Step<'a> {
        if from.ip() != self.server.ip() {
            self.send_error(from, code::UNKNOWN_TID, "Unknown transfer ID");
            return Step::idle();
        }
        match Packet::parse(datagram) {
            Ok(Packet::Oack { options: list }) => {
                self.peer = Some(from);
                if !options {
                    return self.protocol_error(
                        code::OPTION_REFUSED,
                        "the server sent an OACK to a request without options".to_string(),
                    );
                }
                if let Err(detail) = self.apply_oack(&list) {
                    return self.protocol_error(code::OPTION_REFUSED, detail);
                }
                if let (Some(total), Some(limit)) = (self.total, self.opts.max_size) {
                    if total > limit {
                        return self.too_large(limit);
                    }
                }
                self.state = State::Receiving;
                self.progress_made(now);
                self.send_ack(0);
                Step::idle()
            }
            Ok(Packet::Data { block: 1, data }) => {
                // No OACK: plain RFC 1350, whatever we asked for.
                self.peer = Some(from);
                self.blksize = DEFAULT_BLKSIZE;
                self.window = 1;
                self.total = None;
                self.state = State::Receiving;
                self.on_data(now, 1, data)
            }
            Ok(Packet::Error { code: 8, .. }) if options => {
                // Options refused: ask again the RFC 1350 way.
                match self.send_request(now, false) {
                    Ok(()) => Step::idle(),
                    Err(e) => {
                        self.state = State::Finished;
                        Step::fail(e)
                    }
                }
            }
            Ok(Packet::Error { code, message }) => {
                self.state = State::Finished;
                Step::fail(self.server_error(code, &message))
            }
            _ => Step::idle(),
        }
    }

    /// Applies the options of an OACK, checking each against what was asked.
    fn apply_oack(&mut self, list: &[(&str, &str)]) -> Result<(), String> {
        let mut blksize = DEFAULT_BLKSIZE;
        let mut window = 1u16;
        let mut total = None;
        for (name, value) in list {
            let lname = name.to_ascii_lowercase();
            if !self.requested.contains(&lname.as_str()) {
                return Err(format!(
                    "the server acknowledged option {name:?} we did not ask for"
                ));
            }
            let v: u64 = value
                .parse()
                .map_err(|_| format!("option {name} has the non-numeric value {value:?}"))?;
            match lname.as_str() {
                "blksize" => {
                    if v < u64::from(MIN_BLKSIZE) || v > u64::from(self.opts.blksize) {
                        return Err(format!(
                            "blksize {v} is outside {MIN_BLKSIZE}..={}",
                            self.opts.blksize
                        ));
                    }
                    blksize = v as usize;
                }
                "windowsize" => {
                    if v < 1 || v > u64::from(self.opts.windowsize) {
                        return Err(format!(
                            "windowsize {v} is outside 1..={}",
                            self.opts.windowsize
                        ));
                    }
                    window = v as u16;
                }
                "tsize" => total = Some(v),
                "timeout" => {
                    if !(1..=255).contains(&v) {
                        return Err(format!("timeout {v} is outside 1..=255"));
                    }
                }
                _ => return Err(format!("unexpected option {name:?}")),
            }
        }
        self.blksize = blksize;
        self.window = window;
        self.total = total;
        Ok(())
    }

    /// Whether `block` is the next block in order.
    fn is_next(&self, block: u16) -> bool {
        block == self.last_block.wrapping_add(1)
            // Wrap to 1 instead of 0: safe to accept only in lock-step.
            || (self.last_block == u16::MAX && block == 1 && self.window == 1)
    }

    /// Handles a DATA packet from the server.
    fn on_data<'a>(&mut self, now: Instant, block: u16, data: &'a [u8]) -> Step<'a> {
        if !self.is_next(block) {
            // A copy of a block we already have, arriving mid-window, is a duplicate from the
            // network: drop it. Re-ACKing it would make the server resend the rest of the
            // window, whose copies would trigger more ACKs (a storm). At a window boundary a
            // copy means our ACK was lost: re-ACK then. A block from beyond a gap (loss) gets
            // one re-sync ACK until we progress again.
            let behind = block.wrapping_sub(self.last_block.wrapping_add(1)) >= 0x8000;
            if behind && self.in_window != 0 {
                return Step::idle();
            }
            if !self.acked_since_progress {
                self.send_ack(self.last_block);
                self.acked_since_progress = true;
            }
            self.in_window = 0;
            return Step::idle();
        }
        if data.len() > self.blksize {
            return self.protocol_error(
                code::ILLEGAL_OPERATION,
                format!(
                    "block {block} has {} bytes, more than the block size {}",
                    data.len(),
                    self.blksize
                ),
            );
        }
        let bytes = self.bytes + data.len() as u64;
        if let Some(limit) = self.opts.max_size {
            if bytes > limit {
                return self.too_large(limit);
            }
        }
        if let Some(total) = self.total {
            if bytes > total {
                return self.protocol_error(
                    code::ILLEGAL_OPERATION,
                    format!("the server sent more than the {total} bytes it announced"),
                );
            }
        }
        self.bytes = bytes;
        self.last_block = block;
        self.progress_made(now);
        self.in_window += 1;
        if data.len() < self.blksize {
            self.send_ack(block);
            self.state = State::Finished;
            let outcome = match self.total {
                Some(total) if total != bytes => Err(TftpError::Truncated {
                    server: self.server_name.clone(),
                    file: self.file.clone(),
                    got: bytes,
                    expected: total,
                }),
                _ => Ok(bytes),
            };
            return Step {
                write: Some(data),
                outcome: Some(outcome),
            };
        }
        if self.in_window >= self.window {
            self.send_ack(block);
        }
        Step {
            write: Some(data),
            outcome: None,
        }
    }

    /// Resets the retry state after the transfer moved forward.
    fn progress_made(&mut self, now: Instant) {
        self.tries = 0;
        self.acked_since_progress = false;
        self.cur_timeout = self.opts.timeout;
        self.deadline = now + self.cur_timeout;
    }

    /// Queues an ACK of `block` to the server and starts a new window.
    fn send_ack(&mut self, block: u16) {
        if let Some(peer) = self.peer {
            self.queue.push_back(Transmit {
                to: peer,
                bytes: packet::encode_ack(block).to_vec(),
            });
        }
        self.in_window = 0;
    }

    /// Queues an ERROR packet to `to`.
    fn send_error(&mut self, to: SocketAddr, code: u16, message: &str) {
        self.queue.push_back(Transmit {
            to,
            bytes: packet::encode_error(code, message),
        });
    }

    /// Fails with a protocol error, telling the server with `code`.
    fn protocol_error(&mut self, code: u16, detail: String) -> Step<'static> {
        self.abort(code, &detail);
        Step::fail(TftpError::Protocol {
            server: self.server_name.clone(),
            file: self.file.clone(),
            detail,
        })
    }

    /// Fails because the file exceeds `limit`, telling the server (ERROR 3).
    fn too_large(&mut self, limit: u64) -> Step<'static> {
        self.abort(code::DISK_FULL, "file exceeds the client's size limit");
        Step::fail(TftpError::TooLarge {
            server: self.server_name.clone(),
            file: self.file.clone(),
            limit,
        })
    }

    /// Turns a server's ERROR packet into a [`TftpError`].
    fn server_error(&self, code: u16, message: &str) -> TftpError {
        let server = self.server_name.clone();
        let file = self.file.clone();
        let message = message.trim().to_string();
        match code {
            code::FILE_NOT_FOUND => TftpError::FileNotFound { server, file },
            code::ACCESS_VIOLATION => TftpError::AccessDenied {
                server,
                file,
                message,
            },
            _ => TftpError::Server {
                server,
                file,
                code,
                message: if message.is_empty() {
                    "no message".to_string()
                } else {
                    message
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::tftp::packet::{encode_data, encode_error, encode_oack};

    const SERVER: &str = "10.0.2.2:69";
    const PEER: &str = "10.0.2.2:50000";

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("test address")
    }

    /// A transfer plus a fake clock and a file being assembled.
    struct Harness {
        t: Transfer,
        now: Instant,
        file: Vec<u8>,
        outcome: Option<Result<u64, TftpError>>,
    }

    impl Harness {
        fn new(opts: TftpOptions) -> Harness {
            let now = Instant::now();
            let t = Transfer::new(addr(SERVER), "/pxelinux.cfg/default", &opts, now)
                .expect("new transfer");
            Harness {
                t,
                now,
                file: Vec::new(),
                outcome: None,
            }
        }

        fn plain() -> Harness {
            Harness::new(TftpOptions {
                request_options: false,
                ..TftpOptions::default()
            })
        }

        fn feed_from(&mut self, from: &str, datagram: &[u8]) {
            let step = self.t.handle_datagram(self.now, addr(from), datagram);
            self.apply(step);
        }

        fn feed(&mut self, datagram: &[u8]) {
            self.feed_from(PEER, datagram);
        }

        fn data(&mut self, block: u16, payload: &[u8]) {
            self.feed(&encode_data(block, payload));
        }

        fn apply(&mut self, step: Step<'_>) {
            if let Some(w) = step.write {
                self.file.extend_from_slice(w);
            }
            if let Some(o) = step.outcome {
                assert!(self.outcome.is_none(), "two outcomes");
                self.outcome = Some(o);
            }
        }

        /// Advances the clock past the deadline and ticks.
        fn expire(&mut self) {
            self.now = self.t.deadline();
            let step = self.t.handle_timeout(self.now);
            self.apply(step);
        }

        fn sent(&mut self) -> Vec<Transmit> {
            std::iter::from_fn(|| self.t.poll_transmit()).collect()
        }

        /// The datagrams sent, parsed, with their destination.
        fn sent_packets(&mut self) -> Vec<(SocketAddr, String)> {
            self.sent()
                .into_iter()
                .map(|tx| {
                    let p = Packet::parse(&tx.bytes).expect("we send valid packets");
                    (tx.to, format!("{p:?}"))
                })
                .collect()
        }

        fn acks(&mut self) -> Vec<u16> {
            self.sent()
                .into_iter()
                .map(|tx| match Packet::parse(&tx.bytes) {
                    Ok(Packet::Ack { block }) => {
                        assert_eq!(tx.to, addr(PEER));
                        block
                    }
                    other => panic!("expected an ACK, got {other:?}"),
                })
                .collect()
        }

        fn done(&self) -> u64 {
            match &self.outcome {
                Some(Ok(n)) => *n,
                other => panic!("not done: {other:?}"),
            }
        }

        fn error(&self) -> &TftpError {
            match &self.outcome {
                Some(Err(e)) => e,
                other => panic!("no error: {other:?}"),
            }
        }

        /// Sends the OACK and checks the ACK 0.
        fn oack(&mut self, options: &[(&str, &str)]) {
            let _ = self.sent();
            self.feed(&encode_oack(options).expect("oack"));
            assert_eq!(self.acks(), vec![0]);
        }
    }

    fn block(n: usize, len: usize) -> Vec<u8> {
        (0..len).map(|i| (n * 7 + i) as u8).collect()
    }

    #[test]
    fn plain_rfc1350_transfer() {
        let mut h = Harness::plain();
        let rrq = h.sent();
        assert_eq!(rrq.len(), 1);
        assert_eq!(rrq[0].to, addr(SERVER));
        assert_eq!(rrq[0].bytes, b"\x00\x01/pxelinux.cfg/default\x00octet\x00");
        h.data(1, &block(1, 512));
        assert_eq!(h.acks(), vec![1]);
        h.data(2, &block(2, 100));
        assert_eq!(h.acks(), vec![2]);
        assert_eq!(h.done(), 612);
        assert_eq!(h.file, [block(1, 512), block(2, 100)].concat());
        assert!(h.t.is_finished());
    }

    #[test]
    fn oack_negotiation_and_windows() {
        let mut h = Harness::new(TftpOptions::default());
        let rrq = h.sent();
        match Packet::parse(&rrq[0].bytes) {
            Ok(Packet::Rrq(r)) => {
                assert_eq!(r.mode, "octet");
                assert_eq!(
                    r.options,
                    vec![
                        ("blksize", "1468"),
                        ("tsize", "0"),
                        ("timeout", "1"),
                        ("windowsize", "16")
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
        h.feed(
            &encode_oack(&[
                ("BLKSIZE", "1000"),
                ("tsize", "2100"),
                ("timeout", "1"),
                ("windowsize", "2"),
            ])
            .expect("oack"),
        );
        assert_eq!(h.acks(), vec![0]);
        assert_eq!(h.t.blksize(), 1000);
        assert_eq!(h.t.windowsize(), 2);
        assert_eq!(h.t.progress(), (0, Some(2100)));
        h.data(1, &block(1, 1000));
        assert_eq!(h.acks(), Vec::<u16>::new());
        h.data(2, &block(2, 1000));
        assert_eq!(h.acks(), vec![2]);
        h.data(3, &block(3, 100));
        assert_eq!(h.acks(), vec![3]);
        assert_eq!(h.done(), 2100);
        assert_eq!(h.t.progress(), (2100, Some(2100)));
    }

    #[test]
    fn server_ignoring_options_falls_back_to_512() {
        let mut h = Harness::new(TftpOptions::default());
        let _ = h.sent();
        h.data(1, &block(1, 512));
        assert_eq!(h.t.blksize(), 512);
        assert_eq!(h.t.windowsize(), 1);
        assert_eq!(h.acks(), vec![1]);
        h.data(2, &block(2, 3));
        assert_eq!(h.acks(), vec![2]);
        assert_eq!(h.done(), 515);
    }

    #[test]
    fn option_refused_retries_without_options() {
        let mut h = Harness::new(TftpOptions::default());
        let _ = h.sent();
        h.feed(&encode_error(8, "no options, please"));
        let rrq = h.sent();
        assert_eq!(rrq.len(), 1);
        assert_eq!(rrq[0].to, addr(SERVER));
        assert_eq!(rrq[0].bytes, b"\x00\x01/pxelinux.cfg/default\x00octet\x00");
        assert!(h.outcome.is_none());
        // The new request gets a new TID.
        h.feed_from("10.0.2.2:50001", &encode_data(1, &block(1, 10)));
        assert_eq!(h.done(), 10);
        // An OACK to a request without options is a protocol error.
        let mut h = Harness::plain();
        let _ = h.sent();
        h.feed(&encode_oack(&[("blksize", "512")]).expect("oack"));
        assert!(matches!(h.error(), TftpError::Protocol { .. }));
    }

    #[test]
    fn oack_with_fewer_options() {
        let mut h = Harness::new(TftpOptions::default());
        h.oack(&[("tsize", "600")]);
        assert_eq!(h.t.blksize(), 512);
        assert_eq!(h.t.windowsize(), 1);
        h.data(1, &block(1, 512));
        assert_eq!(h.acks(), vec![1]);
        h.data(2, &block(2, 88));
        assert_eq!(h.acks(), vec![2]);
        assert_eq!(h.done(), 600);
    }

    #[test]
    fn bad_oack_is_refused() {
        for opts in [
            vec![("blksize", "2000")],
            vec![("blksize", "4")],
            vec![("windowsize", "17")],
            vec![("windowsize", "0")],
            vec![("tsize", "lots")],
            vec![("multicast", "1")],
        ] {
            let mut h = Harness::new(TftpOptions::default());
            let _ = h.sent();
            h.feed(&encode_oack(&opts).expect("oack"));
            assert!(
                matches!(h.error(), TftpError::Protocol { .. }),
                "{opts:?}: {:?}",
                h.outcome
            );
            let sent = h.sent_packets();
            assert_eq!(sent.len(), 1);
            assert_eq!(sent[0].0, addr(PEER));
            assert!(sent[0].1.starts_with("Error { code: 8"), "{sent:?}");
        }
        // windowsize not requested (windowsize 1) but acknowledged.
        let mut h = Harness::new(TftpOptions {
            windowsize: 1,
            ..TftpOptions::default()
        });
        let _ = h.sent();
        h.feed(&encode_oack(&[("windowsize", "1")]).expect("oack"));
        assert!(matches!(h.error(), TftpError::Protocol { .. }));
    }

    #[test]
    fn lost_data_times_out_and_reacks_with_backoff() {
        let mut h = Harness::new(TftpOptions::default());
        h.oack(&[("blksize", "512"), ("windowsize", "4")]);
        h.data(1, &block(1, 512));
        h.data(2, &block(2, 512));
        assert_eq!(h.acks(), Vec::<u16>::new());
        // Blocks 3 and 4 are lost. Before the deadline, a tick does nothing.
        let step = h.t.handle_timeout(h.now);
        assert!(step.outcome.is_none());
        assert_eq!(h.acks(), Vec::<u16>::new());
        let d0 = h.t.deadline();
        h.expire();
        assert_eq!(h.acks(), vec![2]);
        assert_eq!(h.t.deadline() - h.now, Duration::from_secs(2));
        assert!(h.t.deadline() > d0);
        // The server restarts its window at 3.
        for n in 3..=6 {
            h.data(n, &block(n as usize, 512));
        }
        assert_eq!(h.acks(), vec![6]);
        // Progress reset the backoff.
        assert_eq!(h.t.deadline() - h.now, Duration::from_secs(1));
        h.data(7, b"");
        assert_eq!(h.acks(), vec![7]);
        assert_eq!(h.done(), 6 * 512);
    }

    #[test]
    fn retries_exhausted_is_a_timeout() {
        let mut h = Harness::new(TftpOptions {
            retries: 3,
            ..TftpOptions::default()
        });
        let first = h.sent();
        let mut waits = Vec::new();
        for _ in 0..3 {
            let before = h.now;
            h.expire();
            waits.push(h.now - before);
            assert_eq!(h.sent(), first, "RRQ re-sent");
        }
        assert_eq!(
            waits,
            [1, 2, 4].map(Duration::from_secs).to_vec(),
            "exponential backoff"
        );
        assert!(h.outcome.is_none());
        h.expire();
        let e = h.error();
        assert!(matches!(e, TftpError::Timeout { tries: 4, .. }));
        assert_eq!(
            e.to_string(),
            "no answer from 10.0.2.2 for /pxelinux.cfg/default after 4 tries"
        );
        // The backoff is capped at 8 times the base.
        let mut h = Harness::new(TftpOptions {
            retries: 10,
            ..TftpOptions::default()
        });
        for _ in 0..6 {
            h.expire();
        }
        assert_eq!(h.t.deadline() - h.now, Duration::from_secs(8));
    }

    #[test]
    fn lost_ack_duplicate_window_gets_one_ack() {
        let mut h = Harness::new(TftpOptions::default());
        h.oack(&[("blksize", "512"), ("windowsize", "3")]);
        for n in 1..=3 {
            h.data(n, &block(n as usize, 512));
        }
        assert_eq!(h.acks(), vec![3]);
        // Our ACK was lost: the server re-sends the whole window.
        for n in 1..=3 {
            h.data(n, &block(n as usize, 512));
        }
        assert_eq!(h.acks(), vec![3]);
        h.data(4, &block(4, 1));
        assert_eq!(h.acks(), vec![4]);
        assert_eq!(h.done(), 3 * 512 + 1);
        assert_eq!(h.file.len(), 3 * 512 + 1);
    }

    #[test]
    fn duplicate_block_is_written_once() {
        let mut h = Harness::plain();
        let _ = h.sent();
        h.data(1, &block(1, 512));
        assert_eq!(h.acks(), vec![1]);
        h.data(1, &block(1, 512));
        assert_eq!(h.acks(), vec![1], "re-ACK of the duplicate");
        h.data(1, &block(1, 512));
        assert_eq!(h.acks(), Vec::<u16>::new(), "only one re-ACK per gap");
        h.data(2, &block(2, 5));
        assert_eq!(h.done(), 517);
        assert_eq!(h.file, [block(1, 512), block(2, 5)].concat());
    }

    #[test]
    fn reordered_blocks_get_one_resync_ack() {
        let mut h = Harness::new(TftpOptions::default());
        h.oack(&[("blksize", "512"), ("windowsize", "4")]);
        h.data(1, &block(1, 512));
        h.data(3, &block(3, 512));
        assert_eq!(h.acks(), vec![1]);
        h.data(4, &block(4, 512));
        h.data(2, &block(2, 512)); // late: accepted, in order
        assert_eq!(h.acks(), Vec::<u16>::new());
        // The server got ACK 1 and resends its window 2..=5; 2 is now a copy we already
        // have, mid-window: dropped without an ACK (an ACK would restart the window again).
        h.data(2, &block(2, 512));
        assert_eq!(h.acks(), Vec::<u16>::new());
        h.data(3, &block(3, 512));
        h.data(4, &block(4, 512));
        assert_eq!(h.acks(), Vec::<u16>::new());
        h.data(5, &block(5, 512));
        assert_eq!(
            h.acks(),
            vec![5],
            "window of 4 counted from the re-sync ACK: 2..=5 is the server's window"
        );
        h.data(6, &block(6, 512));
        assert_eq!(h.acks(), Vec::<u16>::new());
        h.data(7, &block(7, 0));
        assert_eq!(h.done(), 6 * 512);
        let want: Vec<u8> = (1..=6).flat_map(|n| block(n, 512)).collect();
        assert_eq!(h.file, want);
    }

    #[test]
    fn network_duplicates_mid_window_are_dropped_without_acks() {
        let mut h = Harness::new(TftpOptions::default());
        h.oack(&[("blksize", "512"), ("windowsize", "4")]);
        h.data(1, &block(1, 512));
        h.data(1, &block(1, 512)); // duplicated by the network
        h.data(2, &block(2, 512));
        h.data(2, &block(2, 512));
        h.data(3, &block(3, 512));
        assert_eq!(h.acks(), Vec::<u16>::new(), "no ACK storm from copies");
        h.data(4, &block(4, 512));
        assert_eq!(h.acks(), vec![4]);
        // Our ACK 4 was lost: the server resends 1..=4; the first copy at the window
        // boundary is re-ACKed once, the others are dropped.
        h.data(1, &block(1, 512));
        h.data(2, &block(2, 512));
        assert_eq!(h.acks(), vec![4]);
        h.data(5, &block(5, 0));
        assert_eq!(h.done(), 4 * 512);
    }

    #[test]
    fn wrong_tid_gets_error_5_and_is_ignored() {
        let mut h = Harness::plain();
        let _ = h.sent();
        // A reply from another host before the first reply.
        h.feed_from("10.0.2.3:40000", &encode_data(1, b"evil"));
        let sent = h.sent_packets();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].0, addr("10.0.2.3:40000"));
        assert!(sent[0].1.contains("code: 5"), "{sent:?}");
        assert!(h.t.peer().is_none());
        h.data(1, &block(1, 512));
        assert_eq!(h.acks(), vec![1]);
        // Another port of the right host after the TID is fixed.
        h.feed_from("10.0.2.2:50001", &encode_data(2, b"evil"));
        let sent = h.sent_packets();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].0, addr("10.0.2.2:50001"));
        assert!(sent[0].1.contains("Unknown transfer ID"), "{sent:?}");
        assert!(h.outcome.is_none());
        h.data(2, b"good");
        assert_eq!(h.done(), 516);
        assert_eq!(&h.file[512..], b"good");
    }

    #[test]
    fn error_mid_transfer_is_reported() {
        let mut h = Harness::plain();
        h.data(1, &block(1, 512));
        let _ = h.sent();
        h.feed(&encode_error(0, "disk on fire"));
        assert_eq!(
            h.error().to_string(),
            "10.0.2.2 refused /pxelinux.cfg/default: disk on fire (TFTP error 0)"
        );
        assert!(h.sent().is_empty(), "no reply to an ERROR");
        // Further input is ignored.
        h.t.handle_datagram(h.now, addr(PEER), &encode_data(2, b""));
        assert!(h.sent().is_empty());
    }

    #[test]
    fn file_not_found_message() {
        let mut h = Harness::new(TftpOptions::default());
        let _ = h.sent();
        h.feed(&encode_error(1, "File not found"));
        assert_eq!(
            h.error().to_string(),
            "file not found on 10.0.2.2: /pxelinux.cfg/default"
        );
        let mut h = Harness::plain();
        h.feed(&encode_error(2, "Permission denied"));
        assert_eq!(
            h.error().to_string(),
            "access denied on 10.0.2.2: /pxelinux.cfg/default (Permission denied)"
        );
    }

    fn rollover(wrap_to: u16) {
        let mut h = Harness::new(TftpOptions {
            blksize: 8,
            windowsize: 1,
            ..TftpOptions::default()
        });
        let total = (65535 + 3) * 8 + 5;
        h.oack(&[("blksize", "8"), ("tsize", &total.to_string())]);
        let mut expected = Vec::with_capacity(total);
        let mut n: u16 = 0;
        for i in 1..=(65535 + 3) {
            n = if n == u16::MAX { wrap_to } else { n + 1 };
            let payload = block(i, 8);
            expected.extend_from_slice(&payload);
            h.data(n, &payload);
            assert_eq!(h.acks(), vec![n]);
        }
        n = n.wrapping_add(1);
        h.data(n, b"tail!");
        expected.extend_from_slice(b"tail!");
        assert_eq!(h.acks(), vec![n]);
        assert_eq!(h.done(), total as u64);
        assert_eq!(h.file, expected);
    }

    #[test]
    fn block_number_rollover_to_zero() {
        rollover(0);
    }

    #[test]
    fn block_number_rollover_to_one_in_lockstep() {
        rollover(1);
    }

    #[test]
    fn rollover_windowed_does_not_take_block_1_for_0() {
        let mut h = Harness::new(TftpOptions {
            blksize: 8,
            ..TftpOptions::default()
        });
        h.oack(&[("blksize", "8"), ("windowsize", "5")]);
        for n in 1..=65535u32 {
            h.data(n as u16, &[1; 8]);
        }
        let _ = h.sent();
        h.data(1, &[2; 8]); // block 0 lost
        assert_eq!(h.acks(), vec![65535]);
        h.data(0, &[3; 8]);
        h.data(1, &[4; 8]);
        assert_eq!(h.t.progress().0, 65537 * 8);
    }

    #[test]
    fn empty_file() {
        let mut h = Harness::new(TftpOptions::default());
        h.oack(&[("blksize", "1468"), ("tsize", "0"), ("windowsize", "16")]);
        h.data(1, b"");
        assert_eq!(h.acks(), vec![1]);
        assert_eq!(h.done(), 0);
        assert!(h.file.is_empty());
    }

    #[test]
    fn exact_multiple_needs_empty_last_block() {
        let mut h = Harness::plain();
        let _ = h.sent();
        h.data(1, &block(1, 512));
        h.data(2, &block(2, 512));
        assert_eq!(h.acks(), vec![1, 2]);
        assert!(h.outcome.is_none(), "a full block never ends the transfer");
        h.data(3, b"");
        assert_eq!(h.acks(), vec![3]);
        assert_eq!(h.done(), 1024);
    }

    #[test]
    fn cancellation_tells_the_server() {
        let mut h = Harness::plain();
        h.data(1, &block(1, 512));
        let _ = h.sent();
        let step = h.t.cancel();
        h.apply(step);
        assert_eq!(
            h.error().to_string(),
            "download of /pxelinux.cfg/default from 10.0.2.2 was cancelled"
        );
        let sent = h.sent_packets();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].0, addr(PEER));
        assert!(sent[0].1.starts_with("Error { code: 0"));
        // Before any reply there is nobody to tell.
        let mut h = Harness::plain();
        let _ = h.sent();
        let step = h.t.cancel();
        assert!(matches!(
            step.outcome,
            Some(Err(TftpError::Cancelled { .. }))
        ));
        assert!(h.sent().is_empty());
    }

    #[test]
    fn size_limit() {
        let mut h = Harness::new(TftpOptions {
            request_options: false,
            max_size: Some(1000),
            ..TftpOptions::default()
        });
        h.data(1, &block(1, 512));
        let _ = h.sent();
        h.data(2, &block(2, 512));
        assert_eq!(
            h.error().to_string(),
            "/pxelinux.cfg/default on 10.0.2.2 is larger than the 1000-byte limit"
        );
        assert_eq!(h.file.len(), 512, "the block over the limit is not written");
        let sent = h.sent_packets();
        assert!(sent[0].1.starts_with("Error { code: 3"), "{sent:?}");
        // A file exactly at the limit is fine.
        let mut h = Harness::new(TftpOptions {
            request_options: false,
            max_size: Some(600),
            ..TftpOptions::default()
        });
        h.data(1, &block(1, 512));
        h.data(2, &block(2, 88));
        assert_eq!(h.done(), 600);
        // An announced tsize over the limit fails at the OACK.
        let mut h = Harness::new(TftpOptions {
            max_size: Some(1000),
            ..TftpOptions::default()
        });
        let _ = h.sent();
        h.feed(&encode_oack(&[("tsize", "1001")]).expect("oack"));
        assert!(matches!(h.error(), TftpError::TooLarge { limit: 1000, .. }));
    }

    #[test]
    fn tsize_mismatch_is_truncation() {
        let mut h = Harness::new(TftpOptions::default());
        h.oack(&[("blksize", "512"), ("tsize", "2000")]);
        h.data(1, &block(1, 512));
        h.data(2, &block(2, 10));
        assert_eq!(
            h.error().to_string(),
            "/pxelinux.cfg/default from 10.0.2.2 was truncated: got 522 of the 2000 bytes announced"
        );
        // More than announced fails as soon as it happens.
        let mut h = Harness::new(TftpOptions::default());
        h.oack(&[("blksize", "512"), ("tsize", "100")]);
        h.data(1, &block(1, 512));
        assert!(matches!(h.error(), TftpError::Protocol { .. }));
    }

    #[test]
    fn oversized_block_is_a_protocol_error() {
        let mut h = Harness::plain();
        h.data(1, &block(1, 513));
        assert!(matches!(h.error(), TftpError::Protocol { .. }));
        assert!(h.file.is_empty());
    }

    #[test]
    fn repeated_oack_is_reacked_once() {
        let mut h = Harness::new(TftpOptions::default());
        h.oack(&[("blksize", "512")]);
        let oack = encode_oack(&[("blksize", "512")]).expect("oack");
        h.feed(&oack);
        assert_eq!(h.acks(), vec![0]);
        h.feed(&oack);
        assert_eq!(h.acks(), Vec::<u16>::new());
        h.expire();
        assert_eq!(h.acks(), vec![0]);
        h.data(1, b"x");
        assert_eq!(h.done(), 1);
    }

    #[test]
    fn garbage_is_ignored() {
        let mut h = Harness::plain();
        let _ = h.sent();
        for g in [
            &b""[..],
            b"\x00",
            b"\x00\x09zz",
            b"\x00\x04\x00\x01",
            b"\x00\x03\x00\x05x",
        ] {
            h.feed(g);
        }
        assert!(h.sent().is_empty());
        assert!(h.outcome.is_none());
        h.data(1, b"ok");
        assert_eq!(h.done(), 2);
    }

    #[test]
    fn random_scripts_never_panic_and_stay_consistent() {
        // Deterministic pseudo-random mixes of valid-looking and garbage datagrams.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rnd = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for _ in 0..300 {
            let mut h = Harness::new(TftpOptions {
                blksize: 16,
                windowsize: 4,
                max_size: Some(4096),
                ..TftpOptions::default()
            });
            for _ in 0..200 {
                let from = if rnd(10) == 0 { "10.0.2.2:50001" } else { PEER };
                let dgram = match rnd(8) {
                    0 => encode_oack(&[("blksize", "16"), ("windowsize", "4")]).expect("oack"),
                    1 => encode_error(rnd(9) as u16, "x"),
                    2 => (0..rnd(24)).map(|_| rnd(8) as u8).collect(),
                    3 => {
                        h.expire();
                        continue;
                    }
                    _ => encode_data(rnd(12) as u16, &vec![7u8; rnd(18) as usize]),
                };
                h.feed_from(from, &dgram);
                let _ = h.sent();
                assert_eq!(h.file.len() as u64, h.t.progress().0);
                if h.outcome.is_some() {
                    assert!(h.t.is_finished());
                    break;
                }
            }
        }
    }

    #[test]
    fn long_path_drops_options_and_nul_path_is_refused() {
        let long = format!("/{}", "a".repeat(480));
        let t = Transfer::new(addr(SERVER), &long, &TftpOptions::default(), Instant::now());
        let mut t = t.expect("fits without options");
        let rrq = t.poll_transmit().expect("rrq");
        assert!(matches!(Packet::parse(&rrq.bytes), Ok(Packet::Rrq(r)) if r.options.is_empty()));
        let e = Transfer::new(
            addr(SERVER),
            "a\0b",
            &TftpOptions::default(),
            Instant::now(),
        );
        assert!(matches!(e, Err(TftpError::BadRequest { .. })));
    }
}
