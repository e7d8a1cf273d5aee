//! A sans-IO DHCPv6 client (RFC 8415) for network booting: stateless INFORMATION-REQUEST
//! (RFC 8415 §18.2.6; what QEMU's user network answers) and stateful
//! SOLICIT → ADVERTISE → REQUEST → REPLY with one IA_NA. Boot information comes from options
//! 59 (boot-file URL) and 60 (boot-file parameters) of RFC 5970.
//!
//! Timing (RFC 8415 §15, all in [`Config`]):
//! - every retransmission time is `RT = 2·RTprev + RAND·RTprev` with RAND in ±0.1, capped at
//!   `MRT + RAND·MRT`; the first is `IRT + RAND·IRT` (RAND > 0 for SOLICIT);
//! - IRT is 1 s for SOLICIT, REQUEST and INFORMATION-REQUEST (SOL_TIMEOUT, REQ_TIMEOUT,
//!   INF_TIMEOUT); MRT is capped at 8 s instead of RFC's 3600 s / 30 s / 3600 s, because a
//!   boot loader has nothing else to do and the whole exchange gives up after 30 s;
//! - advertisements are collected until the first SOLICIT retransmission time (an
//!   ADVERTISE with preference 255 is taken at once), then the highest preference wins;
//! - a REQUEST unanswered after [`Config::request_tries`] sends goes back to SOLICIT with a
//!   new transaction id, as do a REPLY without a usable address and NotOnLink;
//! - in stateful mode without any ADVERTISE for [`Config::info_fallback`], the client
//!   switches to INFORMATION-REQUEST (a server that only does stateless DHCPv6, like QEMU's);
//! - the random initial delays (SOL_MAX_DELAY, INF_MAX_DELAY) are skipped.
//!
//! Incoming packets are decoded by [`Packet6::parse`], a panic-free option walker: dhcproto
//! 0.15's v6 decoder underflows on a Status Code shorter than 2 bytes or a Vendor Class
//! shorter than 4 (a panic in debug builds), ignores the length of fixed-size options (so the
//! rest of the packet is read out of step), and does not know options 59/60. dhcproto is used
//! for encoding only, except Vendor Class, whose dhcproto encoder writes a wrong length.
//!
//! Accepted only: ADVERTISE/REPLY with our transaction id and, when present, our client DUID
//! (stateful replies must carry it and a server DUID). A REPLY to INFORMATION-REQUEST without
//! a server DUID is accepted, because QEMU's (libslirp) server sends none.

use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use dhcproto::v6::{
    Architecture, DhcpOption, IAAddr, Message, MessageType, OptionCode, UnknownOption, IANA, ORO,
};
use dhcproto::Encodable;

use super::Lease6;

/// All_DHCP_Relay_Agents_and_Servers (RFC 8415 §7.1).
pub const ALL_DHCP_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);
pub const CLIENT_PORT: u16 = 546;
pub const SERVER_PORT: u16 = 547;

/// Message types (RFC 8415 §7.3).
pub mod msg_type {
    pub const SOLICIT: u8 = 1;
    pub const ADVERTISE: u8 = 2;
    pub const REQUEST: u8 = 3;
    pub const REPLY: u8 = 7;
    pub const INFORMATION_REQUEST: u8 = 11;
}

/// Option codes the client reads or sends.
pub mod opt {
    pub const CLIENTID: u16 = 1;
    pub const SERVERID: u16 = 2;
    pub const IA_NA: u16 = 3;
    pub const IAADDR: u16 = 5;
    pub const ORO: u16 = 6;
    pub const PREFERENCE: u16 = 7;
    pub const STATUS_CODE: u16 = 13;
    pub const VENDOR_CLASS: u16 = 16;
    pub const DNS_SERVERS: u16 = 23;
    pub const DOMAIN_LIST: u16 = 24;
    pub const INFORMATION_REFRESH_TIME: u16 = 32;
    pub const BOOTFILE_URL: u16 = 59;
    pub const BOOTFILE_PARAM: u16 = 60;
    pub const CLIENT_ARCH_TYPE: u16 = 61;
    pub const NII: u16 = 62;
    pub const SOL_MAX_RT: u16 = 82;
    pub const INF_MAX_RT: u16 = 83;
}

/// Status codes (RFC 8415 §21.13) the client acts on.
pub mod status {
    pub const SUCCESS: u16 = 0;
    pub const NO_ADDRS_AVAIL: u16 = 2;
    pub const NOT_ON_LINK: u16 = 4;
}

/// The options asked for in the ORO: DNS, domain list, boot-file URL and parameters.
pub const ORO_CODES: [u16; 4] = [
    opt::DNS_SERVERS,
    opt::DOMAIN_LIST,
    opt::BOOTFILE_URL,
    opt::BOOTFILE_PARAM,
];
/// IANA enterprise number of Intel, which PXE vendor classes carry.
const PXE_ENTERPRISE: u32 = 343;

/// Which exchange to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// SOLICIT/ADVERTISE/REQUEST/REPLY for an address (IA_NA) plus options (RA M flag).
    Stateful,
    /// INFORMATION-REQUEST/REPLY for options only; the address comes from SLAAC (RA O flag).
    Stateless,
}

/// What the client is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub iface: String,
    pub mac: [u8; 6],
    /// First transaction id (only the low 24 bits are used).
    pub xid: u32,
    /// Option 61 client architecture: 0x0000 x86 BIOS, 0x0007 x86-64 EFI, 0x0010 HTTP boot.
    pub arch: u16,
    pub mode: Mode,
    /// IRT of SOLICIT (SOL_TIMEOUT).
    pub sol_timeout: Duration,
    /// IRT of REQUEST (REQ_TIMEOUT).
    pub req_timeout: Duration,
    /// IRT of INFORMATION-REQUEST (INF_TIMEOUT).
    pub inf_timeout: Duration,
    /// MRT for every message type (RFC: SOL_MAX_RT 3600 s, REQ_MAX_RT 30 s).
    pub max_rt: Duration,
    /// REQUEST sends before going back to SOLICIT (RFC: REQ_MAX_RC 10).
    pub request_tries: u32,
    /// Stateful only: switch to INFORMATION-REQUEST when no ADVERTISE came within this long.
    pub info_fallback: Option<Duration>,
    /// Total time from `start` before giving up.
    pub give_up: Duration,
    /// Apply RFC 8415's ±10 % randomisation to retransmission times (off in tests).
    pub jitter: bool,
}

impl Config {
    pub fn new(iface: &str, mac: [u8; 6], xid: u32, mode: Mode) -> Config {
        Config {
            iface: iface.to_string(),
            mac,
            xid: xid & 0x00ff_ffff,
            arch: 0,
            mode,
            sol_timeout: Duration::from_secs(1),
            req_timeout: Duration::from_secs(1),
            inf_timeout: Duration::from_secs(1),
            max_rt: Duration::from_secs(8),
            request_tries: 4,
            info_fallback: None,
            give_up: Duration::from_secs(30),
            jitter: true,
        }
    }

    /// DUID-LL (RFC 8415 §11.4): type 3, hardware type 1 (Ethernet), the MAC.
    pub fn duid(&self) -> Vec<u8> {
        let mut d = vec![0, 3, 0, 1];
        d.extend_from_slice(&self.mac);
        d
    }

    /// The IA_NA identifier: the last four bytes of the MAC (stable per interface).
    pub fn iaid(&self) -> u32 {
        u32::from_be_bytes([self.mac[2], self.mac[3], self.mac[4], self.mac[5]])
    }
}

/// One datagram to send to [`ALL_DHCP_SERVERS`] port 547.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub payload: Vec<u8>,
}

/// Why DHCPv6 failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Dhcp6Error {
    #[error("no DHCPv6 server answered within {0} s")]
    NoReply(u64),
    #[error("DHCPv6 servers advertised addresses but none confirmed a request within {0} s")]
    NoConfirm(u64),
    #[error("encoding a DHCPv6 message failed: {0}")]
    Encode(String),
}

/// Where the exchange stands after a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    /// Stateful: `addresses` holds the IA_NA addresses. Stateless: `addresses` is empty.
    Done(Box<Lease6>),
    Failed(Dhcp6Error),
}

/// What one call produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub send: Vec<Transmit>,
    /// Call `on_timeout` at this instant if no packet arrives first; `None` when finished.
    pub deadline: Option<Instant>,
    pub outcome: Outcome,
    /// Human status lines.
    pub log: Vec<String>,
}

/// Why a received packet could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Packet6Error {
    #[error("the packet is {0} bytes long, shorter than the 4-byte DHCPv6 header")]
    Truncated(usize),
    #[error("option {code} at offset {offset} is cut off by the end of its container")]
    OptionOverrun { code: u16, offset: usize },
    #[error("option {code} has length {len}, which is invalid for that option")]
    BadLength { code: u16, len: usize },
    #[error("option 24 (domain list) holds a malformed name list")]
    BadDomainList,
}

/// A status code option: code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub code: u16,
    pub message: String,
}

/// One IAADDR inside an IA_NA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaAddr {
    pub addr: Ipv6Addr,
    pub preferred: u32,
    pub valid: u32,
    pub status: Option<Status>,
}

/// One IA_NA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaNa {
    pub iaid: u32,
    pub t1: u32,
    pub t2: u32,
    pub addrs: Vec<IaAddr>,
    pub status: Option<Status>,
}

/// A decoded DHCPv6 message (as a client receives it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Packet6 {
    pub msg_type: u8,
    pub xid: u32,
    pub client_id: Option<Vec<u8>>,
    pub server_id: Option<Vec<u8>>,
    pub preference: Option<u8>,
    pub status: Option<Status>,
    pub ia_na: Vec<IaNa>,
    pub dns: Vec<Ipv6Addr>,
    pub domain_search: Vec<String>,
    pub boot_file_url: Option<String>,
    pub boot_file_params: Vec<String>,
}

/// One option in an area: code, data, offset of the option header in the packet.
type RawOption<'a> = (u16, &'a [u8], usize);

/// Walk a TLV option area: every option, or the first overrun.
fn walk(area: &[u8], base: usize) -> Result<Vec<RawOption<'_>>, Packet6Error> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < area.len() {
        let hdr = area.get(i..i + 4).ok_or(Packet6Error::OptionOverrun {
            code: area
                .get(i..i + 2)
                .map_or(0, |c| u16::from_be_bytes([c[0], c[1]])),
            offset: base + i,
        })?;
        let code = u16::from_be_bytes([hdr[0], hdr[1]]);
        let len = u16::from_be_bytes([hdr[2], hdr[3]]) as usize;
        let data = area
            .get(i + 4..i + 4 + len)
            .ok_or(Packet6Error::OptionOverrun {
                code,
                offset: base + i,
            })?;
        out.push((code, data, base + i));
        i += 4 + len;
    }
    Ok(out)
}

fn be32(b: &[u8], at: usize) -> u32 {
    let mut o = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        o.copy_from_slice(s);
    }
    u32::from_be_bytes(o)
}

fn ipv6_at(b: &[u8], at: usize) -> Ipv6Addr {
    let mut o = [0u8; 16];
    if let Some(s) = b.get(at..at + 16) {
        o.copy_from_slice(s);
    }
    Ipv6Addr::from(o)
}

fn parse_status(data: &[u8]) -> Result<Status, Packet6Error> {
    if data.len() < 2 {
        return Err(Packet6Error::BadLength {
            code: opt::STATUS_CODE,
            len: data.len(),
        });
    }
    Ok(Status {
        code: u16::from_be_bytes([data[0], data[1]]),
        message: String::from_utf8_lossy(&data[2..]).trim().to_string(),
    })
}

fn parse_iaaddr(data: &[u8], base: usize) -> Result<IaAddr, Packet6Error> {
    if data.len() < 24 {
        return Err(Packet6Error::BadLength {
            code: opt::IAADDR,
            len: data.len(),
        });
    }
    let mut status = None;
    for (code, d, _) in walk(&data[24..], base + 24)? {
        if code == opt::STATUS_CODE && status.is_none() {
            status = Some(parse_status(d)?);
        }
    }
    Ok(IaAddr {
        addr: ipv6_at(data, 0),
        preferred: be32(data, 16),
        valid: be32(data, 20),
        status,
    })
}

fn parse_ia_na(data: &[u8], base: usize) -> Result<IaNa, Packet6Error> {
    if data.len() < 12 {
        return Err(Packet6Error::BadLength {
            code: opt::IA_NA,
            len: data.len(),
        });
    }
    let mut ia = IaNa {
        iaid: be32(data, 0),
        t1: be32(data, 4),
        t2: be32(data, 8),
        addrs: Vec::new(),
        status: None,
    };
    for (code, d, off) in walk(&data[12..], base + 12)? {
        match code {
            opt::IAADDR => ia.addrs.push(parse_iaaddr(d, off + 4)?),
            opt::STATUS_CODE if ia.status.is_none() => ia.status = Some(parse_status(d)?),
            _ => {}
        }
    }
    Ok(ia)
}

/// Option 60: a list of (2-byte length, text) parameters (RFC 5970 §3.2).
fn parse_params(data: &[u8]) -> Result<Vec<String>, Packet6Error> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let bad = Packet6Error::BadLength {
            code: opt::BOOTFILE_PARAM,
            len: data.len(),
        };
        let l = data.get(i..i + 2).ok_or(bad.clone())?;
        let len = u16::from_be_bytes([l[0], l[1]]) as usize;
        let p = data.get(i + 2..i + 2 + len).ok_or(bad)?;
        out.push(String::from_utf8_lossy(p).into_owned());
        i += 2 + len;
    }
    Ok(out)
}

impl Packet6 {
    /// Parse a DHCPv6 client/server message. Never panics; every malformation of an option
    /// the client reads (and every TLV overrun, at any nesting depth) is an error.
    pub fn parse(bytes: &[u8]) -> Result<Packet6, Packet6Error> {
        if bytes.len() < 4 {
            return Err(Packet6Error::Truncated(bytes.len()));
        }
        let mut p = Packet6 {
            msg_type: bytes[0],
            xid: u32::from_be_bytes([0, bytes[1], bytes[2], bytes[3]]),
            ..Packet6::default()
        };
        for (code, data, off) in walk(&bytes[4..], 4)? {
            let bad = |len: usize| Packet6Error::BadLength { code, len };
            match code {
                opt::CLIENTID if p.client_id.is_none() => p.client_id = Some(data.to_vec()),
                opt::SERVERID if p.server_id.is_none() => p.server_id = Some(data.to_vec()),
                opt::IA_NA => p.ia_na.push(parse_ia_na(data, off + 4)?),
                opt::PREFERENCE => match data {
                    [v] => p.preference = p.preference.or(Some(*v)),
                    _ => return Err(bad(data.len())),
                },
                opt::STATUS_CODE if p.status.is_none() => p.status = Some(parse_status(data)?),
                opt::DNS_SERVERS => {
                    if data.len() % 16 != 0 {
                        return Err(bad(data.len()));
                    }
                    for c in data.chunks_exact(16) {
                        let a = ipv6_at(c, 0);
                        if !p.dns.contains(&a) {
                            p.dns.push(a);
                        }
                    }
                }
                opt::DOMAIN_LIST => {
                    let names = super::dhcp4_packet::decode_domain_list(data)
                        .map_err(|_| Packet6Error::BadDomainList)?;
                    p.domain_search.extend(names);
                }
                opt::BOOTFILE_URL if p.boot_file_url.is_none() => {
                    let s = String::from_utf8_lossy(data);
                    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
                    if !s.is_empty() {
                        p.boot_file_url = Some(s.to_string());
                    }
                }
                opt::BOOTFILE_PARAM if p.boot_file_params.is_empty() => {
                    p.boot_file_params = parse_params(data)?;
                }
                _ => {}
            }
        }
        Ok(p)
    }

    /// Fill the options part of a lease (not the addresses).
    pub fn fill_lease(&self, lease: &mut Lease6) {
        lease.dns.clone_from(&self.dns);
        lease.domain_search.clone_from(&self.domain_search);
        lease.boot_file_url.clone_from(&self.boot_file_url);
        lease.boot_file_params.clone_from(&self.boot_file_params);
    }

    /// The usable addresses of the IA_NA with `iaid`: valid lifetime > 0, no failure status.
    pub fn addresses(&self, iaid: u32) -> Vec<Ipv6Addr> {
        let mut out = Vec::new();
        for ia in self.ia_na.iter().filter(|ia| ia.iaid == iaid) {
            if ia
                .status
                .as_ref()
                .is_some_and(|s| s.code != status::SUCCESS)
            {
                continue;
            }
            for a in &ia.addrs {
                let ok = a.valid > 0
                    && a.preferred <= a.valid
                    && a.status.as_ref().is_none_or(|s| s.code == status::SUCCESS)
                    && !a.addr.is_unspecified()
                    && !a.addr.is_multicast()
                    && !a.addr.is_loopback();
                if ok && !out.contains(&a.addr) {
                    out.push(a.addr);
                }
            }
        }
        out
    }

    /// The first non-success status, top level or in an IA_NA for `iaid`.
    pub fn failure(&self, iaid: u32) -> Option<&Status> {
        self.status
            .iter()
            .chain(
                self.ia_na
                    .iter()
                    .filter(|ia| ia.iaid == iaid)
                    .filter_map(|ia| ia.status.as_ref()),
            )
            .find(|s| s.code != status::SUCCESS)
    }
}

fn status_text(s: &Status) -> String {
    let name = match s.code {
        1 => "UnspecFail",
        2 => "NoAddrsAvail",
        3 => "NoBinding",
        4 => "NotOnLink",
        5 => "UseMulticast",
        6 => "NoPrefixAvail",
        _ => "status",
    };
    if s.message.is_empty() {
        format!("{name} ({})", s.code)
    } else {
        format!("{name} ({}): {}", s.code, s.message)
    }
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[derive(Debug, Clone)]
struct Advert {
    server_id: Vec<u8>,
    preference: u8,
    addrs: Vec<Ipv6Addr>,
    packet: Box<Packet6>,
}

#[derive(Debug, Clone)]
enum State {
    Idle,
    Soliciting {
        adverts: Vec<Advert>,
        /// Advertisements are collected until then (the first retransmission time).
        collect_until: Instant,
        retx_at: Instant,
        rt: Duration,
    },
    Requesting {
        chosen: Box<Advert>,
        retx_at: Instant,
        rt: Duration,
        sends: u32,
    },
    Informing {
        retx_at: Instant,
        rt: Duration,
    },
    Done,
}

/// The DHCPv6 client state machine.
#[derive(Debug, Clone)]
pub struct Client {
    cfg: Config,
    xid: u32,
    /// Start of the current exchange (for the Elapsed Time option).
    exchange_start: Option<Instant>,
    started: Option<Instant>,
    saw_advert: bool,
    rng: u32,
    state: State,
}

impl Client {
    pub fn new(cfg: Config) -> Client {
        Client {
            xid: cfg.xid & 0x00ff_ffff,
            rng: cfg.xid | 1,
            cfg,
            exchange_start: None,
            started: None,
            saw_advert: false,
            state: State::Idle,
        }
    }

    /// The transaction id currently in use.
    pub fn xid(&self) -> u32 {
        self.xid
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Whether the client has switched to (or started in) INFORMATION-REQUEST.
    pub fn informing(&self) -> bool {
        matches!(self.state, State::Informing { .. })
    }

    fn new_xid(&mut self) {
        self.xid = super::dhcp4::next_xid(self.xid | (self.xid << 24)) & 0x00ff_ffff;
    }

    /// RAND·rt with RAND uniform in [-0.1, 0.1] (or (0, 0.1] when `positive`).
    fn rand_part(&mut self, rt: Duration, positive: bool) -> (Duration, bool) {
        if !self.cfg.jitter {
            return (Duration::ZERO, true);
        }
        self.rng = super::dhcp4::next_xid(self.rng);
        let r = f64::from(self.rng % 1001) / 1000.0; // 0..=1
        if positive {
            (rt.mul_f64(0.001 + 0.099 * r), true)
        } else {
            let x = 0.2 * r - 0.1;
            (rt.mul_f64(x.abs()), x >= 0.0)
        }
    }

    fn add_rand(&mut self, base: Duration, positive: bool) -> Duration {
        let (d, plus) = self.rand_part(base, positive);
        if plus {
            base + d
        } else {
            base.saturating_sub(d)
        }
    }

    /// The first retransmission time for an exchange with initial timeout `irt`.
    fn first_rt(&mut self, irt: Duration, solicit: bool) -> Duration {
        self.add_rand(irt, solicit)
    }

    /// RFC 8415 §15: the next retransmission time after `prev`.
    pub fn next_rt(&mut self, prev: Duration) -> Duration {
        let (d, plus) = self.rand_part(prev, false);
        let doubled = prev.saturating_mul(2);
        let rt = if plus {
            doubled + d
        } else {
            doubled.saturating_sub(d)
        };
        if rt > self.cfg.max_rt {
            self.add_rand(self.cfg.max_rt, false)
        } else {
            rt
        }
    }

    fn give_up_at(&self, now: Instant) -> Instant {
        self.started.unwrap_or(now) + self.cfg.give_up
    }

    /// Begin: emits a SOLICIT (stateful) or an INFORMATION-REQUEST (stateless).
    pub fn start(&mut self, now: Instant) -> Step {
        self.started = Some(now);
        self.saw_advert = false;
        let mut log = Vec::new();
        match self.cfg.mode {
            Mode::Stateful => self.solicit(now, &mut log),
            Mode::Stateless => self.inform(now, &mut log),
        }
    }

    fn solicit(&mut self, now: Instant, log: &mut Vec<String>) -> Step {
        self.exchange_start = Some(now);
        match self.build(msg_type::SOLICIT, now, None) {
            Ok(p) => {
                let rt = self.first_rt(self.cfg.sol_timeout, true);
                self.state = State::Soliciting {
                    adverts: Vec::new(),
                    collect_until: now + rt,
                    retx_at: now + rt,
                    rt,
                };
                self.step(vec![p], now, std::mem::take(log))
            }
            Err(e) => self.fail(e, std::mem::take(log)),
        }
    }

    fn inform(&mut self, now: Instant, log: &mut Vec<String>) -> Step {
        self.exchange_start = Some(now);
        match self.build(msg_type::INFORMATION_REQUEST, now, None) {
            Ok(p) => {
                let rt = self.first_rt(self.cfg.inf_timeout, false);
                self.state = State::Informing {
                    retx_at: now + rt,
                    rt,
                };
                self.step(vec![p], now, std::mem::take(log))
            }
            Err(e) => self.fail(e, std::mem::take(log)),
        }
    }

    fn request(&mut self, chosen: Advert, now: Instant, mut log: Vec<String>) -> Step {
        log.push(format!(
            "requesting {} from DHCPv6 server {}",
            list(&chosen.addrs),
            hex(&chosen.server_id)
        ));
        self.new_xid();
        self.exchange_start = Some(now);
        match self.build(msg_type::REQUEST, now, Some(&chosen)) {
            Ok(p) => {
                let rt = self.first_rt(self.cfg.req_timeout, false);
                self.state = State::Requesting {
                    chosen: Box::new(chosen),
                    retx_at: now + rt,
                    rt,
                    sends: 1,
                };
                self.step(vec![p], now, log)
            }
            Err(e) => self.fail(e, log),
        }
    }

    fn fail(&mut self, e: Dhcp6Error, log: Vec<String>) -> Step {
        self.state = State::Done;
        Step {
            send: Vec::new(),
            deadline: None,
            outcome: Outcome::Failed(e),
            log,
        }
    }

    fn fallback_at(&self) -> Option<Instant> {
        let f = self.cfg.info_fallback?;
        if self.saw_advert {
            return None;
        }
        Some(self.started? + f)
    }

    fn step(&self, send: Vec<Transmit>, now: Instant, log: Vec<String>) -> Step {
        let give_up = self.give_up_at(now);
        let deadline = match &self.state {
            State::Soliciting {
                adverts,
                collect_until,
                retx_at,
                ..
            } => {
                let mut d = (*retx_at).min(give_up);
                if !adverts.is_empty() {
                    d = d.min(*collect_until);
                }
                if let Some(f) = self.fallback_at() {
                    d = d.min(f);
                }
                Some(d)
            }
            State::Requesting { retx_at, .. } | State::Informing { retx_at, .. } => {
                Some((*retx_at).min(give_up))
            }
            State::Idle | State::Done => None,
        };
        Step {
            send,
            deadline,
            outcome: Outcome::Pending,
            log,
        }
    }

    /// The clock reached (or passed) the last deadline.
    pub fn on_timeout(&mut self, now: Instant) -> Step {
        let mut log = Vec::new();
        if matches!(self.state, State::Idle | State::Done) {
            return self.step(Vec::new(), now, log);
        }
        if now >= self.give_up_at(now) {
            let secs = self.cfg.give_up.as_secs();
            let e = if self.saw_advert {
                Dhcp6Error::NoConfirm(secs)
            } else {
                Dhcp6Error::NoReply(secs)
            };
            return self.fail(e, log);
        }
        match self.state.clone() {
            State::Soliciting {
                adverts,
                collect_until,
                retx_at,
                rt,
            } => {
                if now >= collect_until && !adverts.is_empty() {
                    return self.choose(adverts, now, log);
                }
                if self.fallback_at().is_some_and(|f| now >= f) {
                    log.push(
                        "no DHCPv6 server answered SOLICIT; asking for options only \
                         (INFORMATION-REQUEST)"
                            .into(),
                    );
                    self.new_xid();
                    return self.inform(now, &mut log);
                }
                if now < retx_at {
                    return self.step(Vec::new(), now, log);
                }
                log.push("SOLICIT retransmission".into());
                match self.build(msg_type::SOLICIT, now, None) {
                    Ok(p) => {
                        let rt = self.next_rt(rt);
                        self.state = State::Soliciting {
                            adverts,
                            collect_until,
                            retx_at: now + rt,
                            rt,
                        };
                        self.step(vec![p], now, log)
                    }
                    Err(e) => self.fail(e, log),
                }
            }
            State::Requesting {
                chosen,
                retx_at,
                rt,
                sends,
            } => {
                if now < retx_at {
                    return self.step(Vec::new(), now, log);
                }
                if sends >= self.cfg.request_tries {
                    log.push(format!(
                        "no REPLY from DHCPv6 server {} after {sends} requests; soliciting again",
                        hex(&chosen.server_id)
                    ));
                    self.new_xid();
                    return self.solicit(now, &mut log);
                }
                log.push(format!("REQUEST retransmission {sends}"));
                match self.build(msg_type::REQUEST, now, Some(&chosen)) {
                    Ok(p) => {
                        let rt = self.next_rt(rt);
                        self.state = State::Requesting {
                            chosen,
                            retx_at: now + rt,
                            rt,
                            sends: sends + 1,
                        };
                        self.step(vec![p], now, log)
                    }
                    Err(e) => self.fail(e, log),
                }
            }
            State::Informing { retx_at, rt } => {
                if now < retx_at {
                    return self.step(Vec::new(), now, log);
                }
                log.push("INFORMATION-REQUEST retransmission".into());
                match self.build(msg_type::INFORMATION_REQUEST, now, None) {
                    Ok(p) => {
                        let rt = self.next_rt(rt);
                        self.state = State::Informing {
                            retx_at: now + rt,
                            rt,
                        };
                        self.step(vec![p], now, log)
                    }
                    Err(e) => self.fail(e, log),
                }
            }
            State::Idle | State::Done => self.step(Vec::new(), now, log),
        }
    }

    fn choose(&mut self, adverts: Vec<Advert>, now: Instant, log: Vec<String>) -> Step {
        // Highest preference; the first received among equals.
        let mut best: Option<&Advert> = None;
        for a in &adverts {
            if best.is_none_or(|b| a.preference > b.preference) {
                best = Some(a);
            }
        }
        match best.cloned() {
            Some(b) => self.request(b, now, log),
            None => self.step(Vec::new(), now, log),
        }
    }

    fn blank_lease(&self) -> Lease6 {
        Lease6 {
            iface: self.cfg.iface.clone(),
            ..Lease6::default()
        }
    }

    /// A UDP datagram arrived on port 546.
    pub fn on_packet(&mut self, bytes: &[u8], now: Instant) -> Step {
        let mut log = Vec::new();
        let p = match Packet6::parse(bytes) {
            Ok(p) => p,
            Err(e) => {
                log.push(format!("ignored a malformed DHCPv6 packet: {e}"));
                return self.step(Vec::new(), now, log);
            }
        };
        if p.xid != self.xid {
            return self.step(Vec::new(), now, log);
        }
        let duid = self.cfg.duid();
        if p.client_id.as_ref().is_some_and(|c| *c != duid) {
            return self.step(Vec::new(), now, log);
        }
        let iaid = self.cfg.iaid();
        match (self.state.clone(), p.msg_type) {
            (
                State::Soliciting {
                    mut adverts,
                    collect_until,
                    retx_at,
                    rt,
                },
                msg_type::ADVERTISE,
            ) => {
                let (Some(server_id), Some(_)) = (p.server_id.clone(), &p.client_id) else {
                    log.push("ignored an ADVERTISE without server or client DUID".into());
                    return self.step(Vec::new(), now, log);
                };
                let addrs = p.addresses(iaid);
                if addrs.is_empty() {
                    let why = p
                        .failure(iaid)
                        .map_or_else(|| "no address".to_string(), status_text);
                    log.push(format!(
                        "ignored an ADVERTISE from {}: {why}",
                        hex(&server_id)
                    ));
                    return self.step(Vec::new(), now, log);
                }
                let preference = p.preference.unwrap_or(0);
                log.push(format!(
                    "ADVERTISE {} from {} (preference {preference}){}",
                    list(&addrs),
                    hex(&server_id),
                    if p.boot_file_url.is_some() {
                        " with a boot-file URL"
                    } else {
                        ""
                    }
                ));
                self.saw_advert = true;
                adverts.push(Advert {
                    server_id,
                    preference,
                    addrs,
                    packet: Box::new(p),
                });
                if preference == 255 || now >= collect_until {
                    return self.choose(adverts, now, log);
                }
                self.state = State::Soliciting {
                    adverts,
                    collect_until,
                    retx_at,
                    rt,
                };
                self.step(Vec::new(), now, log)
            }
            (State::Requesting { chosen, .. }, msg_type::REPLY) => {
                if p.server_id.as_ref() != Some(&chosen.server_id) || p.client_id.is_none() {
                    return self.step(Vec::new(), now, log);
                }
                let addrs = p.addresses(iaid);
                if addrs.is_empty() {
                    let why = p
                        .failure(iaid)
                        .map_or_else(|| "no address".to_string(), status_text);
                    log.push(format!(
                        "REPLY from {} without an address ({why}); soliciting again",
                        hex(&chosen.server_id)
                    ));
                    self.new_xid();
                    return self.solicit(now, &mut log);
                }
                let mut lease = self.blank_lease();
                p.fill_lease(&mut lease);
                // Servers may put boot information only in the ADVERTISE.
                if lease.boot_file_url.is_none() {
                    lease.boot_file_url.clone_from(&chosen.packet.boot_file_url);
                }
                if lease.boot_file_params.is_empty() {
                    lease
                        .boot_file_params
                        .clone_from(&chosen.packet.boot_file_params);
                }
                lease.addresses = addrs;
                self.done(lease, log)
            }
            (State::Informing { .. }, msg_type::REPLY) => {
                if let Some(s) = p.status.as_ref().filter(|s| s.code != status::SUCCESS) {
                    log.push(format!("ignored a REPLY: {}", status_text(s)));
                    return self.step(Vec::new(), now, log);
                }
                let mut lease = self.blank_lease();
                p.fill_lease(&mut lease);
                self.done(lease, log)
            }
            _ => self.step(Vec::new(), now, log),
        }
    }

    fn done(&mut self, lease: Lease6, log: Vec<String>) -> Step {
        self.state = State::Done;
        Step {
            send: Vec::new(),
            deadline: None,
            outcome: Outcome::Done(Box::new(lease)),
            log,
        }
    }

    /// Elapsed Time (option 8): hundredths of a second since the exchange began.
    fn elapsed(&self, now: Instant) -> u16 {
        let cs = self
            .exchange_start
            .map_or(0, |t| now.saturating_duration_since(t).as_millis() / 10);
        u16::try_from(cs).unwrap_or(u16::MAX)
    }

    fn build(&self, mt: u8, now: Instant, chosen: Option<&Advert>) -> Result<Transmit, Dhcp6Error> {
        let mut m = Message::new_with_id(MessageType::from(mt), [0, 0, 0]);
        m.set_xid_num(self.xid);
        let o = m.opts_mut();
        o.insert(DhcpOption::ClientId(self.cfg.duid()));
        o.insert(DhcpOption::ElapsedTime(self.elapsed(now)));
        let mut oro: Vec<u16> = ORO_CODES.to_vec();
        match mt {
            msg_type::INFORMATION_REQUEST => {
                oro.extend([opt::INFORMATION_REFRESH_TIME, opt::INF_MAX_RT]);
            }
            msg_type::SOLICIT => oro.push(opt::SOL_MAX_RT),
            _ => {}
        }
        o.insert(DhcpOption::ORO(ORO {
            opts: oro.into_iter().map(OptionCode::from).collect(),
        }));
        o.insert(DhcpOption::ClientArchType(vec![Architecture::from(
            self.cfg.arch,
        )]));
        // Client Network Interface Identifier: UNDI 3.16, as PXE firmware sends.
        o.insert(DhcpOption::Unknown(UnknownOption::new(
            OptionCode::from(opt::NII),
            vec![1, 3, 16],
        )));
        o.insert(DhcpOption::Unknown(UnknownOption::new(
            OptionCode::from(opt::VENDOR_CLASS),
            vendor_class(self.cfg.arch),
        )));
        if mt != msg_type::INFORMATION_REQUEST {
            let mut ia_opts = dhcproto::v6::DhcpOptions::new();
            if let Some(c) = chosen {
                for a in &c.addrs {
                    ia_opts.insert(DhcpOption::IAAddr(IAAddr {
                        addr: *a,
                        preferred_life: 0,
                        valid_life: 0,
                        opts: dhcproto::v6::DhcpOptions::new(),
                    }));
                }
            }
            o.insert(DhcpOption::IANA(IANA {
                id: self.cfg.iaid(),
                t1: 0,
                t2: 0,
                opts: ia_opts,
            }));
        }
        if let Some(c) = chosen {
            o.insert(DhcpOption::ServerId(c.server_id.clone()));
        }
        m.to_vec()
            .map(|payload| Transmit { payload })
            .map_err(|e| Dhcp6Error::Encode(e.to_string()))
    }
}

/// Option 16 data: enterprise 343 and one `PXEClient:Arch:<5 digits>:UNDI:003016` item.
pub fn vendor_class(arch: u16) -> Vec<u8> {
    let text = super::dhcp4::vendor_class(arch);
    let mut v = PXE_ENTERPRISE.to_be_bytes().to_vec();
    v.extend_from_slice(&(text.len() as u16).to_be_bytes());
    v.extend_from_slice(text.as_bytes());
    v
}

fn list(a: &[Ipv6Addr]) -> String {
    a.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[path = "dhcp6_tests.rs"]
mod tests;
