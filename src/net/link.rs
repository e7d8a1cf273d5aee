//! Links, addresses and routes over rtnetlink, synchronously (no tokio).

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP,
    NLM_F_REPLACE, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkLayerType, LinkMessage, State};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// A netlink failure.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("opening the rtnetlink socket failed: {0}")]
    Socket(std::io::Error),
    #[error("talking to the kernel over rtnetlink failed: {0}")]
    Io(std::io::Error),
    #[error("the kernel sent an rtnetlink reply we could not decode: {0}")]
    Decode(String),
    #[error("the kernel refused to {op}: {err}")]
    Kernel { op: String, err: std::io::Error },
    #[error("there is no network interface named or with the address {0:?}")]
    NoSuchLink(String),
}

/// Operational state (IF_OPER_*), as `ip link` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperState {
    Unknown,
    NotPresent,
    Down,
    LowerLayerDown,
    Testing,
    Dormant,
    Up,
}

/// One network interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub name: String,
    pub index: u32,
    /// Hardware address when it is 6 bytes long.
    pub mac: Option<[u8; 6]>,
    /// Raw IFF_* flags.
    pub flags: u32,
    pub oper: OperState,
    /// ARPHRD_ETHER, not loopback, not wireless.
    pub is_ethernet: bool,
    pub is_loopback: bool,
    /// /sys/class/net/NAME/wireless exists.
    pub is_wireless: bool,
}

impl LinkInfo {
    /// IFF_UP: administratively up.
    pub fn is_up(&self) -> bool {
        self.flags & LinkFlags::Up.bits() != 0
    }
    /// IFF_LOWER_UP (or operstate up): the link has carrier.
    pub fn has_carrier(&self) -> bool {
        self.flags & LinkFlags::LowerUp.bits() != 0 || self.oper == OperState::Up
    }
    /// `aa:bb:cc:dd:ee:ff`, or empty when there is no Ethernet address.
    pub fn mac_string(&self) -> String {
        self.mac.map_or_else(String::new, |m| {
            m.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":")
        })
    }
}

/// Parse `aa:bb:cc:dd:ee:ff` or `aa-bb-cc-dd-ee-ff` (any case).
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6 {
        return None;
    }
    let mut mac = [0u8; 6];
    for (o, p) in mac.iter_mut().zip(parts) {
        if p.len() != 2 {
            return None;
        }
        *o = u8::from_str_radix(p, 16).ok()?;
    }
    Some(mac)
}

/// Prefix length of a contiguous netmask (None when not contiguous).
pub fn prefix_len(mask: Ipv4Addr) -> Option<u8> {
    let m = u32::from(mask);
    let ones = m.leading_ones();
    (ones + m.trailing_zeros() == 32).then_some(ones as u8)
}

/// A synchronous rtnetlink connection.
pub struct Netlink {
    sock: Socket,
    seq: u32,
}

impl Netlink {
    pub fn open() -> Result<Netlink, LinkError> {
        let mut sock = Socket::new(NETLINK_ROUTE).map_err(LinkError::Socket)?;
        sock.bind_auto().map_err(LinkError::Socket)?;
        sock.connect(&SocketAddr::new(0, 0))
            .map_err(LinkError::Socket)?;
        // The kernel answers at once; a timeout only guards against a lost reply.
        let tv = libc::timeval {
            tv_sec: 5,
            tv_usec: 0,
        };
        // SAFETY: plain setsockopt on a socket we own, with a correctly sized timeval.
        let rc = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(LinkError::Socket(std::io::Error::last_os_error()));
        }
        Ok(Netlink { sock, seq: 0 })
    }

    pub(crate) fn send(&mut self, msg: RouteNetlinkMessage, flags: u16) -> Result<u32, LinkError> {
        self.seq = self.seq.wrapping_add(1);
        let mut hdr = NetlinkHeader::default();
        hdr.flags = flags;
        hdr.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(hdr, NetlinkPayload::from(msg));
        packet.finalize();
        let mut buf = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.sock.send(&buf, 0).map_err(LinkError::Io)?;
        Ok(self.seq)
    }

    /// Receive replies for `seq` until Done/ACK, collecting the data messages.
    pub(crate) fn collect(
        &mut self,
        seq: u32,
        op: &str,
    ) -> Result<Vec<RouteNetlinkMessage>, LinkError> {
        let mut out = Vec::new();
        let mut buf: Vec<u8> = Vec::with_capacity(65536);
        loop {
            buf.clear();
            let n = self.sock.recv(&mut buf, 0).map_err(LinkError::Io)?;
            let mut off = 0;
            while off < n {
                let bytes = &buf[off..n];
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes)
                    .map_err(|e| LinkError::Decode(e.to_string()))?;
                let len = msg.header.length as usize;
                if len == 0 {
                    return Err(LinkError::Decode("zero-length message".into()));
                }
                off += (len + 3) & !3;
                if msg.header.sequence_number != seq {
                    continue;
                }
                match msg.payload {
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(out),
                            Some(code) => Err(LinkError::Kernel {
                                op: op.to_string(),
                                err: std::io::Error::from_raw_os_error(-code.get()),
                            }),
                        };
                    }
                    NetlinkPayload::InnerMessage(m) => out.push(m),
                    _ => {}
                }
            }
        }
    }

    fn request(&mut self, msg: RouteNetlinkMessage, flags: u16, op: &str) -> Result<(), LinkError> {
        let seq = self.send(msg, NLM_F_REQUEST | NLM_F_ACK | flags)?;
        self.collect(seq, op).map(drop)
    }

    /// All network interfaces, in index order.
    pub fn links(&mut self) -> Result<Vec<LinkInfo>, LinkError> {
        let seq = self.send(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_REQUEST | NLM_F_DUMP,
        )?;
        let mut links: Vec<LinkInfo> = self
            .collect(seq, "list network interfaces")?
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(link_info(&l)),
                _ => None,
            })
            .collect();
        links.sort_by_key(|l| l.index);
        Ok(links)
    }

    /// The interface named `wanted`, or whose MAC is `wanted`.
    pub fn find(&mut self, wanted: &str) -> Result<LinkInfo, LinkError> {
        let mac = parse_mac(wanted);
        self.links()?
            .into_iter()
            .find(|l| l.name == wanted || (mac.is_some() && l.mac == mac))
            .ok_or_else(|| LinkError::NoSuchLink(wanted.to_string()))
    }

    pub fn link(&mut self, index: u32) -> Result<LinkInfo, LinkError> {
        self.links()?
            .into_iter()
            .find(|l| l.index == index)
            .ok_or_else(|| LinkError::NoSuchLink(format!("#{index}")))
    }

    /// Set IFF_UP.
    pub fn set_up(&mut self, index: u32) -> Result<(), LinkError> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.header.flags = LinkFlags::Up;
        m.header.change_mask = LinkFlags::Up;
        self.request(
            RouteNetlinkMessage::SetLink(m),
            0,
            &format!("bring interface #{index} up"),
        )
    }

    /// Poll every 50 ms until at least one of `indices` has carrier or `timeout` passes.
    /// Returns the indices that have carrier (in the order given); empty on timeout.
    pub fn wait_carrier(
        &mut self,
        indices: &[u32],
        timeout: Duration,
    ) -> Result<Vec<u32>, LinkError> {
        let end = Instant::now() + timeout;
        loop {
            let links = self.links()?;
            let up: Vec<u32> = indices
                .iter()
                .copied()
                .filter(|i| links.iter().any(|l| l.index == *i && l.has_carrier()))
                .collect();
            if !up.is_empty() || Instant::now() >= end {
                return Ok(up);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Add (or replace) an IPv4 address.
    pub fn add_address(
        &mut self,
        index: u32,
        addr: Ipv4Addr,
        prefix_len: u8,
        broadcast: Option<Ipv4Addr>,
    ) -> Result<(), LinkError> {
        let mut m = AddressMessage::default();
        m.header.family = AddressFamily::Inet;
        m.header.prefix_len = prefix_len;
        m.header.index = index;
        m.header.scope = if addr.is_loopback() {
            AddressScope::Host
        } else {
            AddressScope::Universe
        };
        m.attributes.push(AddressAttribute::Local(IpAddr::V4(addr)));
        m.attributes
            .push(AddressAttribute::Address(IpAddr::V4(addr)));
        if let Some(b) = broadcast {
            m.attributes.push(AddressAttribute::Broadcast(b));
        }
        self.request(
            RouteNetlinkMessage::NewAddress(m),
            NLM_F_CREATE | NLM_F_REPLACE,
            &format!("add address {addr}/{prefix_len} to interface #{index}"),
        )
    }

    /// Remove every IPv4 address of an interface.
    pub fn flush_addresses(&mut self, index: u32) -> Result<(), LinkError> {
        let mut q = AddressMessage::default();
        q.header.family = AddressFamily::Inet;
        let seq = self.send(
            RouteNetlinkMessage::GetAddress(q),
            NLM_F_REQUEST | NLM_F_DUMP,
        )?;
        let addrs: Vec<AddressMessage> = self
            .collect(seq, "list addresses")?
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a)
                    if a.header.index == index && a.header.family == AddressFamily::Inet =>
                {
                    Some(a)
                }
                _ => None,
            })
            .collect();
        for a in addrs {
            self.request(
                RouteNetlinkMessage::DelAddress(a),
                0,
                &format!("remove an address from interface #{index}"),
            )?;
        }
        Ok(())
    }

    /// Add (or replace) the IPv4 default route via `gateway` out of interface `index`.
    pub fn add_default_route(&mut self, index: u32, gateway: Ipv4Addr) -> Result<(), LinkError> {
        let mut m = RouteMessage::default();
        m.header.address_family = AddressFamily::Inet;
        m.header.destination_prefix_length = 0;
        m.header.table = RouteHeader::RT_TABLE_MAIN;
        m.header.protocol = RouteProtocol::Dhcp;
        m.header.scope = RouteScope::Universe;
        m.header.kind = RouteType::Unicast;
        m.attributes
            .push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
        m.attributes.push(RouteAttribute::Oif(index));
        self.request(
            RouteNetlinkMessage::NewRoute(m),
            NLM_F_CREATE | NLM_F_REPLACE,
            &format!("add a default route via {gateway}"),
        )
    }
}

fn link_info(m: &LinkMessage) -> LinkInfo {
    let mut name = String::new();
    let mut mac = None;
    let mut oper = OperState::Unknown;
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => name.clone_from(n),
            LinkAttribute::Address(a) if a.len() == 6 => {
                let mut b = [0u8; 6];
                b.copy_from_slice(a);
                mac = Some(b);
            }
            LinkAttribute::OperState(s) => {
                oper = match s {
                    State::NotPresent => OperState::NotPresent,
                    State::Down => OperState::Down,
                    State::LowerLayerDown => OperState::LowerLayerDown,
                    State::Testing => OperState::Testing,
                    State::Dormant => OperState::Dormant,
                    State::Up => OperState::Up,
                    _ => OperState::Unknown,
                }
            }
            _ => {}
        }
    }
    let flags = m.header.flags.bits();
    let is_loopback = flags & LinkFlags::Loopback.bits() != 0
        || m.header.link_layer_type == LinkLayerType::Loopback;
    let is_wireless = !name.is_empty()
        && !name.contains('/')
        && Path::new("/sys/class/net")
            .join(&name)
            .join("wireless")
            .exists();
    LinkInfo {
        is_ethernet: m.header.link_layer_type == LinkLayerType::Ether
            && !is_loopback
            && !is_wireless,
        name,
        index: m.header.index,
        mac,
        flags,
        oper,
        is_loopback,
        is_wireless,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_and_prefixes() {
        assert_eq!(
            parse_mac("52:54:00:AB:cd:0f"),
            Some([0x52, 0x54, 0, 0xab, 0xcd, 0x0f])
        );
        assert_eq!(
            parse_mac("52-54-00-ab-cd-0f"),
            parse_mac("52:54:00:ab:cd:0f")
        );
        assert_eq!(parse_mac("eth0"), None);
        assert_eq!(parse_mac("52:54:00:ab:cd"), None);
        assert_eq!(parse_mac("52:54:00:ab:cd:0fff"), None);
        assert_eq!(prefix_len(Ipv4Addr::new(255, 255, 255, 0)), Some(24));
        assert_eq!(prefix_len(Ipv4Addr::new(0, 0, 0, 0)), Some(0));
        assert_eq!(prefix_len(Ipv4Addr::new(255, 255, 255, 255)), Some(32));
        assert_eq!(prefix_len(Ipv4Addr::new(255, 0, 255, 0)), None);
    }
}
