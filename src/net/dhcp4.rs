//! A sans-IO DHCPv4 client: DISCOVER → OFFER(s) → REQUEST → ACK, as a state machine that
//! takes packets and clock ticks and returns packets to send plus the next deadline.
//!
//! Timing (all configurable in [`Config`]):
//! - Retransmission: 1 s, 2 s, 4 s, 8 s, then every 8 s. Fast first tries because a boot
//!   loader waits for DHCP with nothing else to do (RFC 2131 suggests 4 s, 8 s, ... 64 s
//!   with ±1 s jitter; we skip jitter — the xid already differs per client and a netboot
//!   storm is bounded by the cap).
//! - Offers are collected for 300 ms after the first one; an offer with boot information
//!   (siaddr, `file`, options 66/67/209) is taken at once, otherwise the best offer at the
//!   end of the window wins (first with boot information, else the first).
//! - A REQUEST unanswered after 3 sends (1 + 2 + 4 s) sends the client back to DISCOVER
//!   with a new xid, as does a NAK from the chosen server.
//! - Everything gives up 30 s after `start`.
//!
//! Received packets are accepted only when they are BOOTREPLYs with our xid and our MAC in
//! chaddr; anything else is ignored without changing state.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use dhcproto::v4::{
    Architecture, DhcpOption, Flags, HType, Message, MessageType, Opcode, OptionCode,
};
use dhcproto::Encodable;

use super::dhcp4_packet::{msg_type, Packet, BOOTREPLY};
use super::Lease;

/// Options we ask for in option 55.
pub const PARAMETER_REQUEST_LIST: [u8; 18] = [
    1, 3, 6, 12, 15, 17, 28, 42, 43, 51, 54, 66, 67, 119, 203, 209, 210, 211,
];
/// Option 57: the largest DHCP message we accept (1500 MTU − IP − UDP headers).
pub const MAX_MESSAGE_SIZE: u16 = 1472;

/// What the client is configured with. The shell detects arch/UUID; the state machine only
/// uses them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Interface name, copied into the resulting [`Lease`].
    pub iface: String,
    pub mac: [u8; 6],
    /// First transaction id (the shell picks a random one).
    pub xid: u32,
    /// Option 93 client architecture: 0x0000 x86 BIOS, 0x0007 x86-64 EFI, ...
    pub arch: u16,
    /// Option 97 machine UUID (16 bytes, sent as type 0 + UUID).
    pub uuid: Option<[u8; 16]>,
    pub offer_window: Duration,
    pub first_timeout: Duration,
    pub max_timeout: Duration,
    /// REQUEST sends before falling back to DISCOVER.
    pub request_tries: u32,
    /// Total time from `start` before giving up.
    pub give_up: Duration,
}

impl Config {
    pub fn new(iface: &str, mac: [u8; 6], xid: u32) -> Config {
        Config {
            iface: iface.to_string(),
            mac,
            xid,
            arch: 0,
            uuid: None,
            offer_window: Duration::from_millis(300),
            first_timeout: Duration::from_secs(1),
            max_timeout: Duration::from_secs(8),
            request_tries: 3,
            give_up: Duration::from_secs(30),
        }
    }
}

/// Where a packet goes (UDP port 67).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// 255.255.255.255
    Broadcast,
    Unicast(Ipv4Addr),
}

/// One packet to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub dest: Destination,
    pub payload: Vec<u8>,
}

/// Why DHCP failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Dhcp4Error {
    #[error("no DHCP server answered within {0} s")]
    NoOffer(u64),
    #[error("DHCP servers offered addresses but none acknowledged a request within {0} s")]
    NoAck(u64),
    #[error("encoding a DHCP message failed: {0}")]
    Encode(String),
}

/// Where the exchange stands after a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    Bound(Box<Lease>),
    Failed(Dhcp4Error),
}

/// What one call produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub send: Vec<Transmit>,
    /// Call `on_timeout` at this instant if no packet arrives first; `None` when finished.
    pub deadline: Option<Instant>,
    pub outcome: Outcome,
    /// Human status lines (offers, NAKs, retransmissions, malformed packets).
    pub log: Vec<String>,
}

#[derive(Debug, Clone)]
struct Offer {
    lease: Lease,
    server_id: Ipv4Addr,
    yiaddr: Ipv4Addr,
    boot: bool,
}

#[derive(Debug, Clone)]
enum State {
    Idle,
    Selecting {
        offers: Vec<Offer>,
        window_end: Option<Instant>,
        retx_at: Instant,
        sends: u32,
    },
    Requesting {
        chosen: Box<Offer>,
        retx_at: Instant,
        sends: u32,
    },
    Done,
}

/// The DHCPv4 client state machine.
#[derive(Debug, Clone)]
pub struct Client {
    cfg: Config,
    xid: u32,
    started: Option<Instant>,
    saw_offer: bool,
    state: State,
}

pub(crate) fn next_xid(x: u32) -> u32 {
    // xorshift32: cheap, never maps a non-zero value to zero or to itself.
    let mut x = if x == 0 { 0x9E37_79B9 } else { x };
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    x
}

impl Client {
    pub fn new(cfg: Config) -> Client {
        Client {
            xid: cfg.xid,
            cfg,
            started: None,
            saw_offer: false,
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

    /// Delay before the retransmission that follows send number `sends` (1-based).
    pub fn backoff(&self, sends: u32) -> Duration {
        let shift = sends.saturating_sub(1).min(16);
        self.cfg
            .first_timeout
            .saturating_mul(1u32 << shift)
            .min(self.cfg.max_timeout)
    }

    fn give_up_at(&self, now: Instant) -> Instant {
        self.started.unwrap_or(now) + self.cfg.give_up
    }

    /// Begin (or restart) discovery: emits a DISCOVER.
    pub fn start(&mut self, now: Instant) -> Step {
        self.started = Some(now);
        self.saw_offer = false;
        let mut log = Vec::new();
        self.discover(now, &mut log)
    }

    fn discover(&mut self, now: Instant, log: &mut Vec<String>) -> Step {
        match self.build(MessageType::Discover, now, None) {
            Ok(p) => {
                self.state = State::Selecting {
                    offers: Vec::new(),
                    window_end: None,
                    retx_at: now + self.backoff(1),
                    sends: 1,
                };
                self.step(vec![p], now, std::mem::take(log))
            }
            Err(e) => self.fail(e, std::mem::take(log)),
        }
    }

    fn fail(&mut self, e: Dhcp4Error, log: Vec<String>) -> Step {
        self.state = State::Done;
        Step {
            send: Vec::new(),
            deadline: None,
            outcome: Outcome::Failed(e),
            log,
        }
    }

    fn step(&self, send: Vec<Transmit>, now: Instant, log: Vec<String>) -> Step {
        let give_up = self.give_up_at(now);
        let deadline = match &self.state {
            State::Selecting {
                window_end,
                retx_at,
                ..
            } => Some(
                window_end
                    .map_or(*retx_at, |w| w.min(*retx_at))
                    .min(give_up),
            ),
            State::Requesting { retx_at, .. } => Some((*retx_at).min(give_up)),
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
            let e = if self.saw_offer {
                Dhcp4Error::NoAck(secs)
            } else {
                Dhcp4Error::NoOffer(secs)
            };
            return self.fail(e, log);
        }
        match self.state.clone() {
            State::Selecting {
                offers,
                window_end,
                retx_at,
                sends,
            } => {
                if window_end.is_some_and(|w| now >= w) && !offers.is_empty() {
                    return self.choose(offers, now, log);
                }
                if now >= retx_at {
                    log.push(format!("DHCPDISCOVER retransmission {}", sends));
                    return match self.build(MessageType::Discover, now, None) {
                        Ok(p) => {
                            self.state = State::Selecting {
                                offers,
                                window_end,
                                retx_at: now + self.backoff(sends + 1),
                                sends: sends + 1,
                            };
                            self.step(vec![p], now, log)
                        }
                        Err(e) => self.fail(e, log),
                    };
                }
                self.step(Vec::new(), now, log)
            }
            State::Requesting {
                chosen,
                retx_at,
                sends,
            } => {
                if now < retx_at {
                    return self.step(Vec::new(), now, log);
                }
                if sends >= self.cfg.request_tries {
                    log.push(format!(
                        "no DHCPACK from {} after {} requests; restarting discovery",
                        chosen.server_id, sends
                    ));
                    self.xid = next_xid(self.xid);
                    return self.discover(now, &mut log);
                }
                log.push(format!("DHCPREQUEST retransmission {}", sends));
                match self.build(MessageType::Request, now, Some(&chosen)) {
                    Ok(p) => {
                        self.state = State::Requesting {
                            chosen,
                            retx_at: now + self.backoff(sends + 1),
                            sends: sends + 1,
                        };
                        self.step(vec![p], now, log)
                    }
                    Err(e) => self.fail(e, log),
                }
            }
            State::Idle | State::Done => self.step(Vec::new(), now, log),
        }
    }

    fn choose(&mut self, offers: Vec<Offer>, now: Instant, mut log: Vec<String>) -> Step {
        let Some(chosen) = offers
            .iter()
            .find(|o| o.boot)
            .or_else(|| offers.first())
            .cloned()
        else {
            return self.step(Vec::new(), now, log);
        };
        log.push(format!(
            "requesting {} from {}",
            chosen.yiaddr, chosen.server_id
        ));
        match self.build(MessageType::Request, now, Some(&chosen)) {
            Ok(p) => {
                self.state = State::Requesting {
                    chosen: Box::new(chosen),
                    retx_at: now + self.backoff(1),
                    sends: 1,
                };
                self.step(vec![p], now, log)
            }
            Err(e) => self.fail(e, log),
        }
    }

    /// A UDP datagram arrived on port 68.
    pub fn on_packet(&mut self, bytes: &[u8], now: Instant) -> Step {
        let mut log = Vec::new();
        let p = match Packet::parse(bytes) {
            Ok(p) => p,
            Err(e) => {
                log.push(format!("ignored a malformed DHCP packet: {e}"));
                return self.step(Vec::new(), now, log);
            }
        };
        if p.op != BOOTREPLY || p.xid != self.xid || p.client_mac() != self.cfg.mac {
            return self.step(Vec::new(), now, log);
        }
        match (self.state.clone(), p.message_type()) {
            (
                State::Selecting {
                    mut offers,
                    window_end,
                    retx_at,
                    sends,
                },
                Some(msg_type::OFFER),
            ) => {
                let server_id = match p.server_id() {
                    Ok(Some(s)) => s,
                    Ok(None) => {
                        log.push("ignored a DHCPOFFER without a server identifier".into());
                        return self.step(Vec::new(), now, log);
                    }
                    Err(e) => {
                        log.push(format!("ignored a DHCPOFFER: {e}"));
                        return self.step(Vec::new(), now, log);
                    }
                };
                if p.yiaddr.is_unspecified() {
                    log.push(format!(
                        "ignored a DHCPOFFER from {server_id} without an address"
                    ));
                    return self.step(Vec::new(), now, log);
                }
                let mut lease = self.blank_lease();
                if let Err(e) = p.fill_lease(&mut lease) {
                    log.push(format!("ignored a DHCPOFFER from {server_id}: {e}"));
                    return self.step(Vec::new(), now, log);
                }
                let boot = p.has_boot_info();
                log.push(format!(
                    "DHCPOFFER {} from {}{}",
                    p.yiaddr,
                    server_id,
                    if boot { " (with boot information)" } else { "" }
                ));
                self.saw_offer = true;
                offers.push(Offer {
                    lease,
                    server_id,
                    yiaddr: p.yiaddr,
                    boot,
                });
                let window_end = window_end.unwrap_or(now + self.cfg.offer_window);
                if boot || now >= window_end {
                    return self.choose(offers, now, log);
                }
                self.state = State::Selecting {
                    offers,
                    window_end: Some(window_end),
                    retx_at,
                    sends,
                };
                self.step(Vec::new(), now, log)
            }
            (State::Requesting { chosen, .. }, Some(t @ (msg_type::ACK | msg_type::NAK))) => {
                let sid = p.server_id().ok().flatten();
                if sid.is_some_and(|s| s != chosen.server_id) {
                    return self.step(Vec::new(), now, log);
                }
                if t == msg_type::NAK {
                    log.push(format!(
                        "DHCPNAK from {}{}; restarting discovery",
                        chosen.server_id,
                        p.server_message()
                            .map(|m| format!(": {m}"))
                            .unwrap_or_default()
                    ));
                    self.xid = next_xid(self.xid);
                    return self.discover(now, &mut log);
                }
                if p.yiaddr.is_unspecified() {
                    log.push(format!(
                        "ignored a DHCPACK from {} without an address",
                        chosen.server_id
                    ));
                    return self.step(Vec::new(), now, log);
                }
                let mut lease = self.blank_lease();
                if let Err(e) = p.fill_lease(&mut lease) {
                    log.push(format!("ignored a DHCPACK from {}: {e}", chosen.server_id));
                    return self.step(Vec::new(), now, log);
                }
                merge_boot_fields(&mut lease, &chosen.lease);
                if lease.server_id.is_none() {
                    lease.server_id = Some(chosen.server_id);
                }
                self.state = State::Done;
                Step {
                    send: Vec::new(),
                    deadline: None,
                    outcome: Outcome::Bound(Box::new(lease)),
                    log,
                }
            }
            _ => self.step(Vec::new(), now, log),
        }
    }

    fn blank_lease(&self) -> Lease {
        Lease {
            iface: self.cfg.iface.clone(),
            mac: self.cfg.mac,
            ..Lease::default()
        }
    }

    fn secs(&self, now: Instant) -> u16 {
        let s = self
            .started
            .map_or(0, |t| now.saturating_duration_since(t).as_secs());
        u16::try_from(s).unwrap_or(u16::MAX)
    }

    fn base(&self, mt: MessageType, xid: u32) -> Message {
        let mut m = Message::default();
        m.set_opcode(Opcode::BootRequest)
            .set_htype(HType::Eth)
            .set_xid(xid)
            .set_chaddr(&self.cfg.mac);
        let mut client_id = vec![1u8];
        client_id.extend_from_slice(&self.cfg.mac);
        let o = m.opts_mut();
        o.insert(DhcpOption::MessageType(mt));
        o.insert(DhcpOption::ClientIdentifier(client_id));
        m
    }

    fn build(
        &self,
        mt: MessageType,
        now: Instant,
        chosen: Option<&Offer>,
    ) -> Result<Transmit, Dhcp4Error> {
        let mut m = self.base(mt, self.xid);
        m.set_flags(Flags::default().set_broadcast())
            .set_secs(self.secs(now));
        let o = m.opts_mut();
        o.insert(DhcpOption::ParameterRequestList(
            PARAMETER_REQUEST_LIST
                .iter()
                .map(|&c| OptionCode::from(c))
                .collect(),
        ));
        o.insert(DhcpOption::MaxMessageSize(MAX_MESSAGE_SIZE));
        o.insert(DhcpOption::ClassIdentifier(
            vendor_class(self.cfg.arch).into_bytes(),
        ));
        o.insert(DhcpOption::ClientSystemArchitecture(Architecture::from(
            self.cfg.arch,
        )));
        o.insert(DhcpOption::UserClass(USER_CLASS.to_vec()));
        o.insert(DhcpOption::ClientNetworkInterface(1, 3, 16));
        if let Some(uuid) = self.cfg.uuid {
            let mut v = vec![0u8];
            v.extend_from_slice(&uuid);
            o.insert(DhcpOption::ClientMachineIdentifier(v));
        }
        if let Some(c) = chosen {
            o.insert(DhcpOption::RequestedIpAddress(c.yiaddr));
            o.insert(DhcpOption::ServerIdentifier(c.server_id));
        }
        encode(&m).map(|payload| Transmit {
            dest: Destination::Broadcast,
            payload,
        })
    }

    /// A DHCPREQUEST that extends `lease` (RFC 2131 §4.3.2): ciaddr set, no server identifier
    /// or requested address, no BROADCAST flag (the server answers to ciaddr). RENEWING sends it
    /// unicast to the server identifier; REBINDING (`rebinding`) or a lease without a server
    /// identifier broadcasts it. The same options as a DISCOVER are requested, so boot
    /// information comes back too.
    pub fn renew_request(
        &self,
        lease: &Lease,
        xid: u32,
        secs: u16,
        rebinding: bool,
    ) -> Result<Transmit, Dhcp4Error> {
        let mut m = self.base(MessageType::Request, xid);
        m.set_secs(secs);
        if let Some(c) = lease.client {
            m.set_ciaddr(c);
        }
        let o = m.opts_mut();
        o.insert(DhcpOption::ParameterRequestList(
            PARAMETER_REQUEST_LIST
                .iter()
                .map(|&c| OptionCode::from(c))
                .collect(),
        ));
        o.insert(DhcpOption::MaxMessageSize(MAX_MESSAGE_SIZE));
        o.insert(DhcpOption::ClassIdentifier(
            vendor_class(self.cfg.arch).into_bytes(),
        ));
        o.insert(DhcpOption::UserClass(USER_CLASS.to_vec()));
        let dest = match lease.server_id {
            Some(s) if !rebinding => Destination::Unicast(s),
            _ => Destination::Broadcast,
        };
        encode(&m).map(|payload| Transmit { dest, payload })
    }

    /// A DHCPRELEASE for `lease` (send it before kexec so the server can reuse the address).
    /// Unicast to the server identifier when known, else broadcast.
    pub fn release(&self, lease: &Lease) -> Result<Transmit, Dhcp4Error> {
        let mut m = self.base(MessageType::Release, next_xid(self.xid));
        if let Some(c) = lease.client {
            m.set_ciaddr(c);
        }
        if let Some(s) = lease.server_id {
            m.opts_mut().insert(DhcpOption::ServerIdentifier(s));
        }
        encode(&m).map(|payload| Transmit {
            dest: lease
                .server_id
                .map_or(Destination::Broadcast, Destination::Unicast),
            payload,
        })
    }
}

/// Option 93 (RFC 4578, IANA "Processor Architecture Types") for this build: under UEFI 7
/// (x86-64 EFI) or 11 (ARM64 EFI); an x86 machine without UEFI is 0 (BIOS PC). arm64 has no
/// BIOS: it sends 11 either way. The server picks the boot file by it (docs/pxe.md).
pub fn client_arch(efi: bool) -> u16 {
    if cfg!(target_arch = "aarch64") {
        11
    } else if efi {
        7
    } else {
        0
    }
}

/// Option 77 (user class) kboot sends in every DISCOVER and REQUEST: the bare string, as iPXE
/// sends `iPXE`, so that a DHCP server can tell kboot from the firmware's PXE ROM and not hand
/// kboot itself as boot file (dnsmasq: `dhcp-userclass=set:kboot,kboot`; ISC dhcpd:
/// `option user-class = "kboot"`; docs/pxe.md).
pub const USER_CLASS: &[u8] = b"kboot";

/// Option 60 as PXE clients send it: `PXEClient:Arch:<5-digit arch>:UNDI:003016`.
pub fn vendor_class(arch: u16) -> String {
    format!("PXEClient:Arch:{arch:05}:UNDI:003016")
}

fn encode(m: &Message) -> Result<Vec<u8>, Dhcp4Error> {
    m.to_vec().map_err(|e| Dhcp4Error::Encode(e.to_string()))
}

/// Servers may put boot information only in the OFFER; keep it when the ACK lacks it.
pub(crate) fn merge_boot_fields(ack: &mut Lease, offer: &Lease) {
    fn keep<T: Clone>(a: &mut Option<T>, o: &Option<T>) {
        if a.is_none() {
            a.clone_from(o);
        }
    }
    keep(&mut ack.next_server, &offer.next_server);
    keep(&mut ack.tftp_server_name, &offer.tftp_server_name);
    keep(&mut ack.boot_file, &offer.boot_file);
    keep(&mut ack.pxe_config_file, &offer.pxe_config_file);
    keep(&mut ack.pxe_path_prefix, &offer.pxe_path_prefix);
    keep(&mut ack.root_path, &offer.root_path);
}

#[cfg(test)]
#[path = "dhcp4_tests.rs"]
mod tests;
