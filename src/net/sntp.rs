//! An SNTP client (RFC 4330, SNTPv4): the clock matters for HTTPS certificates.
//!
//! Sans-IO core: [`request`] builds the 48-byte client packet, [`parse_reply`] checks a
//! server's answer, [`sample`] turns it into the offset of our clock. The thin shell,
//! [`query`], sends over UDP (IPv4 or IPv6) with a few short tries and returns the first valid
//! answer; [`crate::clock::set_unix_nanos`] sets the clock from it.
//!
//! Choices:
//! - The request's transmit timestamp is a random nonce, not our clock: the server copies it
//!   into the reply's origin field, which is how a reply is matched to a request (and a
//!   forged one refused); our own send time is kept aside, so a clock in 1970 does not matter.
//! - Replies are checked as RFC 4330 §5 asks: mode 4 (server; 5, broadcast, is accepted too),
//!   version 1..=4, origin = one of our nonces, stratum 1..=15 (0 is a kiss-o'-death whose
//!   code is reported, 16+ unsynchronised), leap indicator 3 (unsynchronised) refused, a
//!   non-zero transmit timestamp.
//! - NTP timestamps are read by RFC 4330 §3's era rule: seconds with the top bit set are
//!   1968..2036 (era 0), without it 2036..2104 (era 1), so the 2036 rollover works and the
//!   answer does not depend on our possibly wrong clock.

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

/// The NTP port.
pub const PORT: u16 = 123;
/// Length of an NTP packet without extension fields.
pub const PACKET_LEN: usize = 48;
/// Seconds from 1900-01-01 (the start of NTP era 0) to 1970-01-01.
pub const NTP_UNIX_OFFSET: i64 = 2_208_988_800;

const NANOS: i64 = 1_000_000_000;
const MODE_CLIENT: u8 = 3;
const MODE_SERVER: u8 = 4;
const MODE_BROADCAST: u8 = 5;
const VERSION: u8 = 4;

/// The client request: LI 0, VN 4, mode 3, everything zero but the transmit timestamp,
/// which carries `nonce`.
pub fn request(nonce: u64) -> [u8; PACKET_LEN] {
    let mut p = [0u8; PACKET_LEN];
    p[0] = (VERSION << 3) | MODE_CLIENT;
    p[40..48].copy_from_slice(&nonce.to_be_bytes());
    p
}

/// The fields of a valid server reply kboot uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// Leap indicator (0..=2 in a valid reply).
    pub leap: u8,
    pub version: u8,
    pub stratum: u8,
    /// Reference identifier (for stratum 1 an ASCII source such as `GPS`).
    pub reference_id: [u8; 4],
    /// Origin timestamp: the nonce of the request this answers.
    pub origin: u64,
    /// Receive timestamp (NTP format): when the server got the request.
    pub receive: u64,
    /// Transmit timestamp (NTP format): when the server sent the reply.
    pub transmit: u64,
}

/// Why a datagram is not a usable answer. Each reads after "NTP server X: ".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error(
        "the reply is {len} bytes long, shorter than an NTP packet (48): is this an NTP server?"
    )]
    TooShort { len: usize },
    #[error("the reply has mode {mode}, not a server's (4): is this an NTP server?")]
    NotServer { mode: u8 },
    #[error("the reply has NTP version {version}; kboot speaks versions 1 to 4")]
    Version { version: u8 },
    #[error("the reply does not answer kboot's request (wrong origin timestamp): a stale or forged packet, or a broken server")]
    WrongOrigin,
    #[error("kiss-o'-death {code}: {}; use another server", kiss_meaning(.code))]
    KissOfDeath { code: String },
    #[error("the server says its own clock is not synchronised (leap indicator 3): use a synchronised server")]
    Unsynchronised,
    #[error("the server has stratum {stratum}, so its clock is not synchronised: use a synchronised server")]
    BadStratum { stratum: u8 },
    #[error("the reply carries no time (transmit timestamp 0): the server is broken")]
    NoTime,
}

fn kiss_meaning(code: &str) -> &'static str {
    match code {
        "DENY" | "RSTR" => "the server refuses to serve this machine",
        "RATE" => "the server asks this machine to query less often",
        _ => "the server refuses to answer",
    }
}

/// The kiss code of a reference id: its ASCII letters, else hex.
fn kiss_code(id: [u8; 4]) -> String {
    let trimmed: &[u8] = match id.iter().position(|b| *b == 0) {
        Some(end) => &id[..end],
        None => &id,
    };
    if !trimmed.is_empty() && trimmed.iter().all(|b| b.is_ascii_alphanumeric()) {
        String::from_utf8_lossy(trimmed).into_owned()
    } else {
        format!("0x{:08x}", u32::from_be_bytes(id))
    }
}

fn be64(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(w)
}

/// Check a datagram from the server. `sent` holds the nonces of the requests still waiting
/// for an answer; the reply must carry one of them as its origin timestamp.
pub fn parse_reply(bytes: &[u8], sent: &[u64]) -> Result<Reply, ReplyError> {
    if bytes.len() < PACKET_LEN {
        return Err(ReplyError::TooShort { len: bytes.len() });
    }
    let leap = bytes[0] >> 6;
    let version = (bytes[0] >> 3) & 7;
    let mode = bytes[0] & 7;
    if mode != MODE_SERVER && mode != MODE_BROADCAST {
        return Err(ReplyError::NotServer { mode });
    }
    if !(1..=4).contains(&version) {
        return Err(ReplyError::Version { version });
    }
    let reference_id = [bytes[12], bytes[13], bytes[14], bytes[15]];
    let reply = Reply {
        leap,
        version,
        stratum: bytes[1],
        reference_id,
        origin: be64(bytes, 24),
        receive: be64(bytes, 32),
        transmit: be64(bytes, 40),
    };
    // The origin first: a forged kiss-o'-death must not silence a server.
    if !sent.contains(&reply.origin) {
        return Err(ReplyError::WrongOrigin);
    }
    if reply.stratum == 0 {
        return Err(ReplyError::KissOfDeath {
            code: kiss_code(reference_id),
        });
    }
    if leap == 3 {
        return Err(ReplyError::Unsynchronised);
    }
    if reply.stratum > 15 {
        return Err(ReplyError::BadStratum {
            stratum: reply.stratum,
        });
    }
    if reply.transmit == 0 {
        return Err(ReplyError::NoTime);
    }
    Ok(reply)
}

/// An NTP timestamp (32.32 fixed point) as Unix nanoseconds, by RFC 4330 §3's era rule: the
/// result lies in 1968-01-20 .. 2104-02-26.
pub fn ntp_to_unix_nanos(ts: u64) -> i64 {
    let mut secs = (ts >> 32) as i64;
    if secs & 0x8000_0000 == 0 {
        secs += 1 << 32; // era 1: from 2036-02-07 06:28:16 UTC
    }
    let frac = ((ts & 0xffff_ffff) * NANOS as u64) >> 32;
    (secs - NTP_UNIX_OFFSET) * NANOS + frac as i64
}

/// Unix nanoseconds as an NTP timestamp (the inverse of [`ntp_to_unix_nanos`] within its
/// range; times outside it wrap into it).
pub fn unix_nanos_to_ntp(unix_nanos: i64) -> u64 {
    let secs = unix_nanos.div_euclid(NANOS) + NTP_UNIX_OFFSET;
    let nanos = unix_nanos.rem_euclid(NANOS) as u64;
    let frac = ((nanos << 32) / NANOS as u64) + u64::from(nanos != 0);
    ((secs as u64 & 0xffff_ffff) << 32) | frac.min(0xffff_ffff)
}

/// What one exchange says about our clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub reply: Reply,
    /// Server time minus our time, in nanoseconds: add it to our clock to set it.
    pub offset_nanos: i64,
    /// Round trip minus the server's own processing time, in nanoseconds.
    pub delay_nanos: i64,
    /// The server's time when the reply arrived (Unix nanoseconds), delay-corrected.
    pub server_unix_nanos: i64,
}

/// The offset and delay of RFC 4330 §5 from our send time `sent_unix_nanos` (our clock) and
/// the `round_trip` measured on a monotonic clock.
pub fn sample(reply: &Reply, sent_unix_nanos: i64, round_trip: Duration) -> Sample {
    let rtt = i128::try_from(round_trip.as_nanos()).unwrap_or(i128::MAX / 4);
    let t1 = i128::from(sent_unix_nanos);
    let t4 = t1 + rtt;
    let t3 = i128::from(ntp_to_unix_nanos(reply.transmit));
    // Some servers leave the receive timestamp empty: then it is the transmit one.
    let t2 = if reply.receive == 0 {
        t3
    } else {
        i128::from(ntp_to_unix_nanos(reply.receive))
    };
    let clamp = |v: i128| v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
    let offset = ((t2 - t1) + (t3 - t4)) / 2;
    Sample {
        reply: *reply,
        offset_nanos: clamp(offset),
        delay_nanos: clamp((t4 - t1) - (t3 - t2)),
        server_unix_nanos: clamp(t4 + offset),
    }
}

// ---- The I/O shell ------------------------------------------------------------------------

/// Why no time came from the NTP servers, as one sentence.
#[derive(Debug, thiserror::Error)]
pub enum SntpError {
    #[error(
        "'{spec}' is not an NTP server: write a host name or an address, optionally with :port"
    )]
    BadServer { spec: String },
    #[error("cannot find the NTP server '{host}' ({source}): check the name and the DNS server")]
    Resolve { host: String, source: io::Error },
    #[error("cannot reach the NTP server {server}: {source}")]
    Io { server: String, source: io::Error },
    #[error("NTP server {server}: {source}")]
    Reply { server: String, source: ReplyError },
    #[error(
        "nothing answers NTP at {server} (the port is closed): check the address and the port"
    )]
    Refused { server: String },
    #[error("the NTP server {server} did not answer ({tries} tries in {waited_ms} ms): check the address and that a firewall lets UDP through")]
    Timeout {
        server: String,
        tries: u32,
        waited_ms: u128,
    },
    #[error("no NTP server is known: give one with DHCP option 42 or kboot.ntp=")]
    NoServers,
    #[error("no NTP server answered: {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    NoneAnswered(Vec<SntpError>),
}

/// How long to try.
#[derive(Debug, Clone, Copy)]
pub struct QueryOptions {
    /// How long one request waits for its answer.
    pub timeout: Duration,
    /// Requests per server.
    pub tries: u32,
    /// Upper bound for the whole query, over all servers.
    pub total: Duration,
}

impl Default for QueryOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(1),
            tries: 3,
            total: Duration::from_secs(4),
        }
    }
}

/// A valid answer.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub server: SocketAddr,
    pub sample: Sample,
}

/// `host`, `host:port`, `1.2.3.4`, `1.2.3.4:port`, `2001:db8::1`, `[2001:db8::1]:port` ->
/// (host, port). Port 123 when none is given.
pub fn parse_server(spec: &str) -> Result<(String, u16), SntpError> {
    let bad = || SntpError::BadServer {
        spec: spec.to_string(),
    };
    let spec = spec.trim();
    if spec.is_empty() || spec.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    if let Ok(ip) = spec.parse::<IpAddr>() {
        return Ok((ip.to_string(), PORT));
    }
    if let Ok(sa) = spec.parse::<SocketAddr>() {
        return Ok((sa.ip().to_string(), sa.port()));
    }
    if let Some(v6) = spec.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        let ip: std::net::Ipv6Addr = v6.parse().map_err(|_| bad())?;
        return Ok((ip.to_string(), PORT));
    }
    let (host, port) = match spec.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad())?),
        None => (spec, PORT),
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_');
    if !host_ok || port == 0 {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

/// One server being asked.
struct Peer {
    name: String,
    addr: SocketAddr,
    socket: UdpSocket,
    /// (nonce, our clock at send, monotonic send time) of every request sent.
    sent: Vec<(u64, i64, Instant)>,
    last_error: Option<SntpError>,
    /// A kiss-o'-death or an unreachable port: do not ask again.
    done: bool,
}

impl Peer {
    fn open(spec: &str) -> Result<Self, SntpError> {
        let (host, port) = parse_server(spec)?;
        let addr = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|source| SntpError::Resolve {
                host: host.clone(),
                source,
            })?
            .next()
            .ok_or_else(|| SntpError::Resolve {
                host: host.clone(),
                source: io::Error::new(io::ErrorKind::NotFound, "no address"),
            })?;
        let name = addr.to_string();
        let io = |source| SntpError::Io {
            server: name.clone(),
            source,
        };
        let local: SocketAddr = if addr.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local).map_err(io)?;
        // Connected: the kernel drops datagrams from anyone else.
        socket.connect(addr).map_err(io)?;
        Ok(Self {
            name,
            addr,
            socket,
            sent: Vec::new(),
            last_error: None,
            done: false,
        })
    }

    /// Send one request and wait up to `wait` for a valid answer to any request sent so far.
    fn exchange(&mut self, wait: Duration) -> Option<Answer> {
        let nonce = nonce();
        let sent_at = crate::clock::now_unix_nanos();
        let mono = Instant::now();
        if let Err(source) = self.socket.send(&request(nonce)) {
            self.fail(source);
            return None;
        }
        self.sent.push((nonce, sent_at, mono));
        let deadline = mono + wait;
        let mut buf = [0u8; 1024];
        loop {
            // The socket is connected: only the server's datagrams arrive.
            let port = self.addr.port();
            let n = match super::udp::recv_from_port_until(&self.socket, &mut buf, port, deadline) {
                Ok(Some(n)) => n,
                Ok(None) => return None,
                Err(source) => {
                    self.fail(source);
                    return None;
                }
            };
            let arrived = Instant::now();
            let nonces: Vec<u64> = self.sent.iter().map(|s| s.0).collect();
            match parse_reply(&buf[..n], &nonces) {
                Ok(reply) => {
                    let Some(&(_, t1, m1)) = self.sent.iter().find(|s| s.0 == reply.origin) else {
                        continue;
                    };
                    return Some(Answer {
                        server: self.addr,
                        sample: sample(&reply, t1, arrived.duration_since(m1)),
                    });
                }
                Err(source) => {
                    // RFC 4330: after a kiss-o'-death, stop asking that server.
                    self.done |= matches!(source, ReplyError::KissOfDeath { .. });
                    self.last_error = Some(SntpError::Reply {
                        server: self.name.clone(),
                        source,
                    });
                    if self.done {
                        return None;
                    }
                }
            }
        }
    }

    /// An I/O error (e.g. ICMP port unreachable): this server is out.
    fn fail(&mut self, source: io::Error) {
        self.done = true;
        let server = self.name.clone();
        self.last_error = Some(if source.kind() == io::ErrorKind::ConnectionRefused {
            SntpError::Refused { server }
        } else {
            SntpError::Io { server, source }
        });
    }
}

/// A random 64-bit nonce from the kernel (falls back to the clock).
fn nonce() -> u64 {
    use crate::net::dhcp4_socket::rand_xid;
    (u64::from(rand_xid()) << 32) | u64::from(rand_xid())
}

/// Ask `servers` (see [`parse_server`]) in turn, each up to `opts.tries` times with
/// `opts.timeout` per request, never longer than `opts.total` in all; the first valid answer
/// wins.
pub fn query(servers: &[String], opts: &QueryOptions) -> Result<Answer, SntpError> {
    if servers.is_empty() {
        return Err(SntpError::NoServers);
    }
    let started = Instant::now();
    let mut errors: Vec<Option<SntpError>> = Vec::new();
    let mut peers: Vec<Option<Peer>> = Vec::new();
    for spec in servers {
        match Peer::open(spec) {
            Ok(p) => {
                peers.push(Some(p));
                errors.push(None);
            }
            Err(e) => {
                peers.push(None);
                errors.push(Some(e));
            }
        }
    }
    let mut tries = vec![0u32; peers.len()];
    'rounds: for _ in 0..opts.tries.max(1) {
        for (i, peer) in peers.iter_mut().enumerate() {
            let Some(p) = peer.as_mut().filter(|p| !p.done) else {
                continue;
            };
            let left = opts.total.saturating_sub(started.elapsed());
            if left.is_zero() {
                break 'rounds;
            }
            tries[i] += 1;
            if let Some(answer) = p.exchange(opts.timeout.min(left)) {
                return Ok(answer);
            }
        }
    }
    let waited_ms = started.elapsed().as_millis();
    let mut all: Vec<SntpError> = peers
        .into_iter()
        .zip(errors)
        .zip(tries)
        .map(|((peer, err), tries)| match (peer, err) {
            (_, Some(e)) => e,
            (Some(p), None) => p.last_error.unwrap_or(SntpError::Timeout {
                server: p.name,
                tries,
                waited_ms,
            }),
            (None, None) => SntpError::NoServers,
        })
        .collect();
    if all.len() == 1 {
        return Err(all.remove(0));
    }
    Err(SntpError::NoneAnswered(all))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: u64 = 0x0123_4567_89ab_cdef;

    /// A valid reply to `NONCE` with the given transmit time.
    fn reply_bytes(transmit: u64) -> [u8; 48] {
        let mut p = [0u8; 48];
        p[0] = (4 << 3) | 4;
        p[1] = 2;
        p[12..16].copy_from_slice(&[192, 0, 2, 1]);
        p[24..32].copy_from_slice(&NONCE.to_be_bytes());
        p[32..40].copy_from_slice(&transmit.to_be_bytes());
        p[40..48].copy_from_slice(&transmit.to_be_bytes());
        p
    }

    /// 2026-06-01 00:00:00 UTC in NTP format.
    fn june_2026() -> u64 {
        unix_nanos_to_ntp(1_780_272_000 * NANOS)
    }

    #[test]
    fn the_request_is_an_sntpv4_client_packet_carrying_the_nonce() {
        let p = request(NONCE);
        assert_eq!(p.len(), 48);
        assert_eq!(p[0], 0x23, "LI 0, VN 4, mode 3");
        assert!(p[1..40].iter().all(|b| *b == 0));
        assert_eq!(u64::from_be_bytes(p[40..48].try_into().unwrap()), NONCE);
    }

    #[test]
    fn a_valid_reply_parses_with_its_fields() {
        let r = parse_reply(&reply_bytes(june_2026()), &[7, NONCE]).unwrap();
        assert_eq!(r.stratum, 2);
        assert_eq!(r.version, 4);
        assert_eq!(r.leap, 0);
        assert_eq!(r.reference_id, [192, 0, 2, 1]);
        assert_eq!(r.origin, NONCE);
        assert_eq!(ntp_to_unix_nanos(r.transmit), 1_780_272_000 * NANOS);
        // Extension fields after the 48 bytes are ignored; mode 5 (broadcast) is accepted.
        let mut long = reply_bytes(june_2026()).to_vec();
        long[0] = (4 << 3) | 5;
        long.extend_from_slice(&[0u8; 20]);
        assert!(parse_reply(&long, &[NONCE]).is_ok());
        // NTPv3 servers answer with version 3.
        let mut v3 = reply_bytes(june_2026());
        v3[0] = (3 << 3) | 4;
        assert_eq!(parse_reply(&v3, &[NONCE]).unwrap().version, 3);
    }

    #[test]
    fn malformed_replies_are_refused_with_the_reason() {
        let good = reply_bytes(june_2026());
        let err = |bytes: &[u8]| parse_reply(bytes, &[NONCE]).unwrap_err();
        assert_eq!(err(&[]), ReplyError::TooShort { len: 0 });
        assert_eq!(err(&good[..47]), ReplyError::TooShort { len: 47 });
        for (byte0, want) in [
            ((4 << 3) | 3, ReplyError::NotServer { mode: 3 }),
            (4 << 3, ReplyError::NotServer { mode: 0 }),
            ((4 << 3) | 7, ReplyError::NotServer { mode: 7 }),
            (4, ReplyError::Version { version: 0 }),
            ((5 << 3) | 4, ReplyError::Version { version: 5 }),
            ((7 << 3) | 4, ReplyError::Version { version: 7 }),
            ((3 << 6) | (4 << 3) | 4, ReplyError::Unsynchronised),
        ] {
            let mut p = good;
            p[0] = byte0;
            assert_eq!(err(&p), want, "byte 0 = {byte0:#04x}");
        }
        let mut p = good;
        p[1] = 16;
        assert_eq!(err(&p), ReplyError::BadStratum { stratum: 16 });
        p[1] = 255;
        assert_eq!(err(&p), ReplyError::BadStratum { stratum: 255 });
        let mut p = good;
        p[40..48].fill(0);
        assert_eq!(err(&p), ReplyError::NoTime);
        // Leap indicators 1 and 2 (a leap second announced) are fine.
        for li in [1u8, 2] {
            let mut p = good;
            p[0] = (li << 6) | (4 << 3) | 4;
            assert!(parse_reply(&p, &[NONCE]).is_ok());
        }
    }

    #[test]
    fn a_reply_to_someone_else_is_refused_even_a_kiss_of_death() {
        let good = reply_bytes(june_2026());
        assert_eq!(parse_reply(&good, &[1, 2]), Err(ReplyError::WrongOrigin));
        assert_eq!(parse_reply(&good, &[]), Err(ReplyError::WrongOrigin));
        let mut kod = good;
        kod[1] = 0;
        kod[12..16].copy_from_slice(b"DENY");
        kod[24..32].fill(0);
        assert_eq!(parse_reply(&kod, &[NONCE]), Err(ReplyError::WrongOrigin));
    }

    #[test]
    fn kiss_of_death_names_its_code() {
        let mut p = reply_bytes(june_2026());
        p[1] = 0;
        p[12..16].copy_from_slice(b"RATE");
        let e = parse_reply(&p, &[NONCE]).unwrap_err();
        assert_eq!(
            e,
            ReplyError::KissOfDeath {
                code: "RATE".into()
            }
        );
        assert_eq!(
            e.to_string(),
            "kiss-o'-death RATE: the server asks this machine to query less often; use another server"
        );
        p[12..16].copy_from_slice(b"DENY");
        assert!(parse_reply(&p, &[NONCE])
            .unwrap_err()
            .to_string()
            .contains("refuses to serve this machine"));
        p[12..16].copy_from_slice(&[0x1b, b'[', b'2', b'J']);
        assert_eq!(
            parse_reply(&p, &[NONCE]),
            Err(ReplyError::KissOfDeath {
                code: "0x1b5b324a".into()
            }),
            "control characters never reach the log"
        );
        p[12..16].copy_from_slice(b"NO\0\0");
        assert_eq!(
            parse_reply(&p, &[NONCE]),
            Err(ReplyError::KissOfDeath { code: "NO".into() })
        );
    }

    #[test]
    fn timestamps_follow_the_era_rule_around_1968_and_2036() {
        // Era 0 starts 1900; the top bit set means 1968..2036.
        assert_eq!(ntp_to_unix_nanos((NTP_UNIX_OFFSET as u64) << 32), 0);
        assert_eq!(
            ntp_to_unix_nanos(0x8000_0000u64 << 32),
            (0x8000_0000 - NTP_UNIX_OFFSET) * NANOS,
            "1968-01-20 03:14:08 UTC"
        );
        assert_eq!(
            crate::clock::format_utc(ntp_to_unix_nanos(0x8000_0000u64 << 32) / NANOS),
            "1968-01-20 03:14:08 UTC"
        );
        // The last second of era 0 and the first of era 1 are one second apart.
        let last = ntp_to_unix_nanos(0xffff_ffffu64 << 32);
        let first = ntp_to_unix_nanos(0);
        assert_eq!(first - last, NANOS);
        assert_eq!(
            crate::clock::format_utc(first / NANOS),
            "2036-02-07 06:28:16 UTC"
        );
        // Era 1 runs to 2104.
        assert_eq!(
            crate::clock::format_utc(ntp_to_unix_nanos(0x7fff_ffffu64 << 32) / NANOS),
            "2104-02-26 09:42:23 UTC"
        );
        // Fractions: half a second.
        assert_eq!(
            ntp_to_unix_nanos(((NTP_UNIX_OFFSET as u64) << 32) | 0x8000_0000),
            NANOS / 2
        );
    }

    #[test]
    fn unix_to_ntp_round_trips_within_a_nanosecond() {
        for unix in [
            0i64,
            1,
            NANOS / 3,
            1_780_272_000 * NANOS + 123_456_789,
            (2_085_978_496 - 1) * NANOS + 999_999_999, // just before the 2036 rollover
            2_085_978_496 * NANOS,                     // the rollover
            4_000_000_000 * NANOS + 5,
            -NANOS * 60 * 60 * 24 * 365, // 1969
        ] {
            let back = ntp_to_unix_nanos(unix_nanos_to_ntp(unix));
            assert!((back - unix).abs() <= 1, "{unix} -> {back}");
        }
    }

    #[test]
    fn offset_and_delay_follow_rfc_4330() {
        // We sent at t1 (our clock 2001), the server is 25 years ahead, 10 ms each way,
        // 2 ms inside the server.
        let t1 = 978_350_400 * NANOS;
        let true_offset = 1_780_272_000 * NANOS - t1;
        let server_t2 = t1 + true_offset + 10_000_000;
        let server_t3 = server_t2 + 2_000_000;
        let reply = Reply {
            leap: 0,
            version: 4,
            stratum: 1,
            reference_id: *b"GPS\0",
            origin: NONCE,
            receive: unix_nanos_to_ntp(server_t2),
            transmit: unix_nanos_to_ntp(server_t3),
        };
        let s = sample(&reply, t1, Duration::from_millis(22));
        assert!((s.offset_nanos - true_offset).abs() < 5, "{s:?}");
        assert!((s.delay_nanos - 20_000_000).abs() < 5, "{s:?}");
        let expect_now = t1 + 22_000_000 + true_offset;
        assert!((s.server_unix_nanos - expect_now).abs() < 5, "{s:?}");
        // An empty receive timestamp counts as the transmit one.
        let r0 = Reply {
            receive: 0,
            ..reply
        };
        let s0 = sample(&r0, t1, Duration::from_millis(22));
        assert!(
            (s0.offset_nanos - (true_offset + 1_000_000)).abs() < 5,
            "{s0:?}"
        );
    }

    #[test]
    fn absurd_round_trips_do_not_overflow() {
        let reply = parse_reply(&reply_bytes(u64::MAX), &[NONCE]).unwrap();
        let s = sample(&reply, i64::MIN, Duration::MAX);
        let _ = (s.offset_nanos, s.delay_nanos, s.server_unix_nanos);
        let s = sample(&reply, i64::MAX, Duration::ZERO);
        let _ = s.offset_nanos;
    }

    #[test]
    fn server_specs() {
        let ok = |s: &str| parse_server(s).unwrap();
        assert_eq!(ok("192.0.2.1"), ("192.0.2.1".into(), 123));
        assert_eq!(ok("192.0.2.1:1123"), ("192.0.2.1".into(), 1123));
        assert_eq!(ok("2001:db8::1"), ("2001:db8::1".into(), 123));
        assert_eq!(ok("[2001:db8::1]"), ("2001:db8::1".into(), 123));
        assert_eq!(ok("[2001:db8::1]:9123"), ("2001:db8::1".into(), 9123));
        assert_eq!(ok("pool.ntp.org"), ("pool.ntp.org".into(), 123));
        assert_eq!(ok("ntp-1.example:124"), ("ntp-1.example".into(), 124));
        for bad in [
            "",
            " ",
            "host:",
            "host:0",
            "host:99999",
            ":123",
            "a b",
            "[::1",
            "[x]",
            "host/path",
            "http://x",
            "h\u{1b}",
        ] {
            assert!(
                matches!(parse_server(bad), Err(SntpError::BadServer { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn no_servers_is_a_clear_error() {
        let e = query(&[], &QueryOptions::default()).unwrap_err();
        assert!(e.to_string().contains("kboot.ntp="), "{e}");
    }
}
