//! Keeping a DHCPv4 lease alive while the menu waits (RFC 2131 §4.4.5), sans-IO.
//!
//! - At T1 (50 % of the lease time) the client enters RENEWING: a DHCPREQUEST with ciaddr,
//!   unicast to the server that granted the lease.
//! - Unanswered, it retransmits after half the time left until T2, but not sooner than
//!   [`Renewal::min_retransmit`] (RFC 2131: 60 s).
//! - At T2 (87.5 %) it enters REBINDING: the same request broadcast, answered by any server.
//! - At expiry, or on a DHCPNAK, the lease is lost: the caller stops using the address.
//!
//! Option 58/59 (explicit T1/T2) are not requested by kboot; the RFC defaults are used. A
//! lease without option 51, or an infinite one (0xffffffff), never needs renewing.

use std::time::{Duration, Instant};

use super::dhcp4::{merge_boot_fields, next_xid, Client, Config, Transmit};
use super::dhcp4_packet::{msg_type, Packet, BOOTREPLY};
use super::Lease;

/// What one call produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewStep {
    pub send: Vec<Transmit>,
    /// Call [`Renewal::on_timeout`] at this instant; `None` when nothing is left to do.
    pub deadline: Option<Instant>,
    pub outcome: RenewOutcome,
    pub log: Vec<String>,
}

/// Where the renewal stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenewOutcome {
    Pending,
    /// A server extended the lease; timers restart from now.
    Renewed(Box<Lease>),
    /// The lease is gone (NAK, expiry, or a different address); one sentence why.
    Lost(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Bound,
    Renewing { retx_at: Instant },
    Rebinding { retx_at: Instant },
    Lost,
}

#[derive(Debug, Clone, Copy)]
struct Timers {
    t1: Instant,
    t2: Instant,
    expiry: Instant,
}

/// The renewal state machine for one bound lease.
#[derive(Debug, Clone)]
pub struct Renewal {
    client: Client,
    lease: Lease,
    timers: Option<Timers>,
    state: State,
    xid: u32,
    renewing_since: Option<Instant>,
    /// Lower bound on retransmissions while renewing or rebinding (RFC 2131: 60 s).
    pub min_retransmit: Duration,
}

fn timers(lease: &Lease, bound_at: Instant) -> Option<Timers> {
    let secs = lease.lease_time.filter(|&t| t != u32::MAX && t > 0)?;
    let l = Duration::from_secs(u64::from(secs));
    Some(Timers {
        t1: bound_at + l / 2,
        t2: bound_at + l * 7 / 8,
        expiry: bound_at + l,
    })
}

impl Renewal {
    /// Start watching `lease`, bound (acknowledged) at `bound_at`.
    pub fn new(lease: Lease, bound_at: Instant, xid: u32) -> Renewal {
        let cfg = Config::new(&lease.iface, lease.mac, xid);
        Renewal::with_config(cfg, lease, bound_at)
    }

    /// As [`Renewal::new`] with the client settings (arch for option 60) of the first exchange.
    pub fn with_config(cfg: Config, lease: Lease, bound_at: Instant) -> Renewal {
        let xid = cfg.xid;
        Renewal {
            client: Client::new(cfg),
            timers: timers(&lease, bound_at),
            lease,
            state: State::Bound,
            xid,
            renewing_since: None,
            min_retransmit: Duration::from_secs(60),
        }
    }

    /// The lease as last acknowledged.
    pub fn lease(&self) -> &Lease {
        &self.lease
    }

    /// T1, when the first renewal request goes out (`None`: never).
    pub fn t1(&self) -> Option<Instant> {
        self.timers.map(|t| t.t1)
    }

    /// The next instant [`Renewal::on_timeout`] must be called.
    pub fn deadline(&self) -> Option<Instant> {
        let t = self.timers?;
        match self.state {
            State::Bound => Some(t.t1),
            State::Renewing { retx_at } => Some(retx_at.min(t.t2)),
            State::Rebinding { retx_at } => Some(retx_at.min(t.expiry)),
            State::Lost => None,
        }
    }

    fn step(&self, send: Vec<Transmit>, outcome: RenewOutcome, log: Vec<String>) -> RenewStep {
        RenewStep {
            send,
            deadline: self.deadline(),
            outcome,
            log,
        }
    }

    fn next_retx(&self, now: Instant, limit: Instant) -> Instant {
        let half = limit.saturating_duration_since(now) / 2;
        (now + half.max(self.min_retransmit)).min(limit)
    }

    fn request(&mut self, now: Instant, rebinding: bool) -> Result<Transmit, String> {
        let since = *self.renewing_since.get_or_insert(now);
        let secs =
            u16::try_from(now.saturating_duration_since(since).as_secs()).unwrap_or(u16::MAX);
        self.client
            .renew_request(&self.lease, self.xid, secs, rebinding)
            .map_err(|e| e.to_string())
    }

    fn lose(&mut self, why: String, log: Vec<String>) -> RenewStep {
        self.state = State::Lost;
        self.step(Vec::new(), RenewOutcome::Lost(why), log)
    }

    /// The clock reached the last deadline.
    pub fn on_timeout(&mut self, now: Instant) -> RenewStep {
        let mut log = Vec::new();
        let Some(t) = self.timers else {
            return self.step(Vec::new(), RenewOutcome::Pending, log);
        };
        let iface = self.lease.iface.clone();
        let addr = self
            .lease
            .client
            .map_or_else(|| "?".to_string(), |a| a.to_string());
        if self.state != State::Lost && now >= t.expiry {
            let why = format!("{iface}: the DHCP lease on {addr} expired without a renewal");
            return self.lose(why, log);
        }
        let (rebinding, retx_at) = match self.state {
            State::Lost => return self.step(Vec::new(), RenewOutcome::Pending, log),
            State::Bound if now < t.t1 => return self.step(Vec::new(), RenewOutcome::Pending, log),
            State::Bound => {
                self.xid = next_xid(self.xid);
                self.renewing_since = None;
                let server = self
                    .lease
                    .server_id
                    .map_or_else(|| "any server".to_string(), |s| s.to_string());
                log.push(format!(
                    "{iface}: renewing the lease on {addr} with {server}"
                ));
                (now >= t.t2, None)
            }
            State::Renewing { .. } if now >= t.t2 => {
                log.push(format!(
                    "{iface}: no answer to the renewal; asking any DHCP server (rebinding)"
                ));
                (true, None)
            }
            State::Renewing { retx_at } => (false, Some(retx_at)),
            State::Rebinding { retx_at } => (true, Some(retx_at)),
        };
        if retx_at.is_some_and(|r| now < r) {
            return self.step(Vec::new(), RenewOutcome::Pending, log);
        }
        match self.request(now, rebinding) {
            Ok(p) => {
                self.state = if rebinding {
                    State::Rebinding {
                        retx_at: self.next_retx(now, t.expiry),
                    }
                } else {
                    State::Renewing {
                        retx_at: self.next_retx(now, t.t2),
                    }
                };
                self.step(vec![p], RenewOutcome::Pending, log)
            }
            Err(e) => self.lose(format!("{iface}: building the renewal failed: {e}"), log),
        }
    }

    /// A datagram arrived on port 68.
    pub fn on_packet(&mut self, bytes: &[u8], now: Instant) -> RenewStep {
        let log = Vec::new();
        let rebinding = match self.state {
            State::Renewing { .. } => false,
            State::Rebinding { .. } => true,
            State::Bound | State::Lost => return self.step(Vec::new(), RenewOutcome::Pending, log),
        };
        let Ok(p) = Packet::parse(bytes) else {
            return self.step(Vec::new(), RenewOutcome::Pending, log);
        };
        if p.op != BOOTREPLY || p.xid != self.xid || p.client_mac() != self.lease.mac {
            return self.step(Vec::new(), RenewOutcome::Pending, log);
        }
        let sid = p.server_id().ok().flatten();
        if !rebinding
            && sid.is_some()
            && self.lease.server_id.is_some()
            && sid != self.lease.server_id
        {
            return self.step(Vec::new(), RenewOutcome::Pending, log);
        }
        let iface = self.lease.iface.clone();
        match p.message_type() {
            Some(msg_type::NAK) => {
                let from = sid.map_or_else(|| "the server".to_string(), |s| s.to_string());
                self.lose(
                    format!("{iface}: {from} refused to renew the lease (DHCPNAK)"),
                    log,
                )
            }
            Some(msg_type::ACK) => {
                if Some(p.yiaddr) != self.lease.client {
                    let why = format!(
                        "{iface}: the renewal acknowledged {} instead of our address",
                        p.yiaddr
                    );
                    return self.lose(why, log);
                }
                let mut fresh = Lease {
                    iface: self.lease.iface.clone(),
                    mac: self.lease.mac,
                    ..Lease::default()
                };
                if p.fill_lease(&mut fresh).is_err() {
                    return self.step(Vec::new(), RenewOutcome::Pending, log);
                }
                merge_boot_fields(&mut fresh, &self.lease);
                if fresh.server_id.is_none() {
                    fresh.server_id = self.lease.server_id;
                }
                self.timers = timers(&fresh, now);
                self.lease = fresh;
                self.state = State::Bound;
                let mut log = log;
                log.push(format!(
                    "{iface}: lease on {} renewed for {} s",
                    p.yiaddr,
                    self.lease.lease_time.unwrap_or(0)
                ));
                let lease = Box::new(self.lease.clone());
                self.step(Vec::new(), RenewOutcome::Renewed(lease), log)
            }
            _ => self.step(Vec::new(), RenewOutcome::Pending, log),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::dhcp4::Destination;
    use dhcproto::v4::{DhcpOption, HType, Message, MessageType, Opcode};
    use dhcproto::{Decodable, Encodable};
    use std::net::Ipv4Addr;

    const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 50);

    fn lease(secs: Option<u32>) -> Lease {
        Lease {
            iface: "eth0".into(),
            mac: MAC,
            client: Some(ADDR),
            server_id: Some(SERVER),
            lease_time: secs,
            boot_file: Some("pxelinux.0".into()),
            ..Lease::default()
        }
    }

    fn reply(xid: u32, mt: MessageType, yiaddr: Ipv4Addr, secs: u32) -> Vec<u8> {
        let mut m = Message::default();
        m.set_opcode(Opcode::BootReply)
            .set_htype(HType::Eth)
            .set_xid(xid)
            .set_chaddr(&MAC)
            .set_yiaddr(yiaddr);
        let o = m.opts_mut();
        o.insert(DhcpOption::MessageType(mt));
        o.insert(DhcpOption::ServerIdentifier(SERVER));
        o.insert(DhcpOption::AddressLeaseTime(secs));
        m.to_vec().unwrap()
    }

    fn s(n: f64) -> Duration {
        Duration::from_secs_f64(n)
    }

    #[test]
    fn renews_at_t1_unicast_then_rebinds_at_t2_then_expires() {
        let t0 = Instant::now();
        let mut r = Renewal::new(lease(Some(100)), t0, 7);
        assert_eq!(r.t1(), Some(t0 + s(50.0)));
        assert_eq!(r.deadline(), Some(t0 + s(50.0)));
        // Early tick: nothing.
        assert!(r.on_timeout(t0 + s(10.0)).send.is_empty());
        let st = r.on_timeout(t0 + s(50.0));
        assert_eq!(st.send.len(), 1);
        assert_eq!(st.send[0].dest, Destination::Unicast(SERVER));
        let m = Message::from_bytes(&st.send[0].payload).unwrap();
        assert_eq!(m.opts().msg_type(), Some(MessageType::Request));
        assert_eq!(m.ciaddr(), ADDR);
        assert!(m
            .opts()
            .get(dhcproto::v4::OptionCode::ServerIdentifier)
            .is_none());
        assert!(m
            .opts()
            .get(dhcproto::v4::OptionCode::RequestedIpAddress)
            .is_none());
        assert!(!m.flags().broadcast());
        // RFC minimum of 60 s: the next try is T2 (87.5 s).
        assert_eq!(st.deadline, Some(t0 + s(87.5)));
        let st = r.on_timeout(t0 + s(87.5));
        assert_eq!(st.send.len(), 1);
        assert_eq!(st.send[0].dest, Destination::Broadcast);
        assert!(
            st.log.iter().any(|l| l.contains("rebinding")),
            "{:?}",
            st.log
        );
        assert_eq!(st.deadline, Some(t0 + s(100.0)));
        let st = r.on_timeout(t0 + s(100.0));
        assert!(matches!(st.outcome, RenewOutcome::Lost(ref w) if w.contains("expired")));
        assert_eq!(st.deadline, None);
    }

    #[test]
    fn retransmits_at_half_the_remaining_time() {
        let t0 = Instant::now();
        let mut r = Renewal::new(lease(Some(1000)), t0, 7);
        r.min_retransmit = s(1.0);
        let st = r.on_timeout(t0 + s(500.0));
        // T2 = 875 s: half of 375 s.
        assert_eq!(st.deadline, Some(t0 + s(687.5)));
        let xid1 = Message::from_bytes(&st.send[0].payload).unwrap().xid();
        let st = r.on_timeout(t0 + s(687.5));
        assert_eq!(st.send.len(), 1);
        assert_eq!(st.send[0].dest, Destination::Unicast(SERVER));
        let m = Message::from_bytes(&st.send[0].payload).unwrap();
        assert_eq!(m.xid(), xid1, "one xid per renewal");
        assert_eq!(m.secs(), 187);
        assert_eq!(st.deadline, Some(t0 + s(781.25)));
    }

    #[test]
    fn ack_restarts_the_timers_and_keeps_boot_fields() {
        let t0 = Instant::now();
        let mut r = Renewal::new(lease(Some(100)), t0, 7);
        let st = r.on_timeout(t0 + s(50.0));
        let xid = Message::from_bytes(&st.send[0].payload).unwrap().xid();
        // Wrong xid: ignored.
        let st = r.on_packet(&reply(xid ^ 1, MessageType::Ack, ADDR, 200), t0 + s(51.0));
        assert_eq!(st.outcome, RenewOutcome::Pending);
        let st = r.on_packet(&reply(xid, MessageType::Ack, ADDR, 200), t0 + s(51.0));
        let RenewOutcome::Renewed(l) = st.outcome else {
            panic!("{st:?}")
        };
        assert_eq!(l.lease_time, Some(200));
        assert_eq!(l.boot_file.as_deref(), Some("pxelinux.0"));
        assert_eq!(st.deadline, Some(t0 + s(151.0)));
        assert_eq!(r.lease().lease_time, Some(200));
    }

    #[test]
    fn nak_or_other_address_loses_the_lease() {
        let t0 = Instant::now();
        let mut r = Renewal::new(lease(Some(100)), t0, 7);
        let st = r.on_timeout(t0 + s(50.0));
        let xid = Message::from_bytes(&st.send[0].payload).unwrap().xid();
        let st = r.on_packet(
            &reply(xid, MessageType::Nak, Ipv4Addr::UNSPECIFIED, 0),
            t0 + s(51.0),
        );
        assert!(matches!(st.outcome, RenewOutcome::Lost(ref w) if w.contains("DHCPNAK")));
        let mut r = Renewal::new(lease(Some(100)), t0, 7);
        let st = r.on_timeout(t0 + s(50.0));
        let xid = Message::from_bytes(&st.send[0].payload).unwrap().xid();
        let other = Ipv4Addr::new(192, 0, 2, 99);
        let st = r.on_packet(&reply(xid, MessageType::Ack, other, 100), t0 + s(51.0));
        assert!(matches!(st.outcome, RenewOutcome::Lost(_)));
    }

    #[test]
    fn infinite_or_missing_lease_time_never_renews() {
        let t0 = Instant::now();
        for secs in [None, Some(u32::MAX), Some(0)] {
            let mut r = Renewal::new(lease(secs), t0, 7);
            assert_eq!(r.deadline(), None);
            let st = r.on_timeout(t0 + s(1e6));
            assert!(st.send.is_empty());
            assert_eq!(st.outcome, RenewOutcome::Pending);
        }
    }
}
