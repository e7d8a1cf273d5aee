//! IPv6 through the kernel: stateless address autoconfiguration (SLAAC) from router
//! advertisements, observed over rtnetlink.
//!
//! The kernel does the work when the link is up and `accept_ra` is on (the default when
//! forwarding is off): it gives the link a link-local address (after duplicate address
//! detection, ~1 s), sends a router solicitation, and for every RA prefix with the A flag it
//! adds an address. This module only waits and reads:
//! - [`V6Netlink::wait_link_local`]: a usable (non-tentative) link-local address, needed to
//!   send DHCPv6;
//! - [`V6Netlink::wait_ra`]: the RA flags the kernel recorded (`IFLA_INET6_FLAGS`:
//!   `IF_RA_RCVD`, `IF_RA_MANAGED` = M, `IF_RA_OTHERCONF` = O), which pick the DHCPv6 mode;
//! - [`V6Netlink::wait_global`]: a usable address that is not link-local (global, ULA or the
//!   old site-local fec0::/10 that QEMU's user network advertises).
//!
//! It also adds the addresses DHCPv6 leases ([`V6Netlink::add_address`]).

use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_REPLACE, NLM_F_REQUEST};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::link::LinkMessage;
use netlink_packet_route::link::{AfSpecInet6, AfSpecUnspec, Inet6IfaceFlags, LinkAttribute};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::link::LinkError;

/// How often the waits poll.
const POLL: Duration = Duration::from_millis(50);

/// Router advertisement flags, as the kernel recorded them for an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RaFlags {
    /// An RA has been received on the link.
    pub received: bool,
    /// M: addresses are available via DHCPv6 (stateful).
    pub managed: bool,
    /// O: other configuration (DNS, boot file) is available via DHCPv6 (stateless).
    pub other: bool,
}

/// One IPv6 address on an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addr6 {
    pub addr: Ipv6Addr,
    pub prefix_len: u8,
    /// Duplicate address detection still running: not usable as a source yet.
    pub tentative: bool,
    /// Duplicate address detection failed: never usable.
    pub dad_failed: bool,
}

impl Addr6 {
    pub fn usable(&self) -> bool {
        !self.tentative && !self.dad_failed
    }
}

/// fe80::/10.
pub fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// An address that reaches beyond the link: not link-local, loopback, multicast or ::.
pub fn is_routable(a: &Ipv6Addr) -> bool {
    !is_link_local(a) && !a.is_loopback() && !a.is_multicast() && !a.is_unspecified()
}

/// A synchronous rtnetlink connection for the IPv6 side: the IPv4 one from [`super::link`]
/// (same socket, sequence numbers and reply collection), with IPv6 queries on top.
pub struct V6Netlink {
    nl: super::link::Netlink,
}

impl V6Netlink {
    pub fn open() -> Result<V6Netlink, LinkError> {
        Ok(V6Netlink {
            nl: super::link::Netlink::open()?,
        })
    }

    fn send(&mut self, msg: RouteNetlinkMessage, flags: u16) -> Result<u32, LinkError> {
        self.nl.send(msg, flags)
    }

    fn collect(&mut self, seq: u32, op: &str) -> Result<Vec<RouteNetlinkMessage>, LinkError> {
        self.nl.collect(seq, op)
    }

    /// The IPv6 addresses of interface `index`.
    pub fn addresses(&mut self, index: u32) -> Result<Vec<Addr6>, LinkError> {
        let mut q = AddressMessage::default();
        q.header.family = AddressFamily::Inet6;
        let seq = self.send(
            RouteNetlinkMessage::GetAddress(q),
            NLM_F_REQUEST | NLM_F_DUMP,
        )?;
        let mut out = Vec::new();
        for m in self.collect(seq, "list IPv6 addresses")? {
            let RouteNetlinkMessage::NewAddress(a) = m else {
                continue;
            };
            if a.header.index != index || a.header.family != AddressFamily::Inet6 {
                continue;
            }
            let mut flags = u32::from(a.header.flags.bits());
            let mut addr = None;
            for attr in &a.attributes {
                match attr {
                    AddressAttribute::Address(IpAddr::V6(v)) => addr = Some(*v),
                    AddressAttribute::Local(IpAddr::V6(v)) if addr.is_none() => addr = Some(*v),
                    AddressAttribute::Flags(f) => flags = f.bits(),
                    _ => {}
                }
            }
            if let Some(addr) = addr {
                out.push(Addr6 {
                    addr,
                    prefix_len: a.header.prefix_len,
                    tentative: flags & AddressFlags::Tentative.bits() != 0,
                    dad_failed: flags & AddressFlags::Dadfailed.bits() != 0,
                });
            }
        }
        Ok(out)
    }

    /// The router advertisement flags the kernel recorded for interface `index`.
    pub fn ra_flags(&mut self, index: u32) -> Result<RaFlags, LinkError> {
        let mut q = LinkMessage::default();
        q.header.index = index;
        let seq = self.send(RouteNetlinkMessage::GetLink(q), NLM_F_REQUEST | NLM_F_ACK)?;
        let mut flags = RaFlags::default();
        for m in self.collect(seq, "read IPv6 interface flags")? {
            let RouteNetlinkMessage::NewLink(l) = m else {
                continue;
            };
            if l.header.index != index {
                continue;
            }
            for a in &l.attributes {
                let LinkAttribute::AfSpecUnspec(specs) = a else {
                    continue;
                };
                for s in specs {
                    let AfSpecUnspec::Inet6(v6) = s else {
                        continue;
                    };
                    for x in v6 {
                        if let AfSpecInet6::Flags(f) = x {
                            flags = RaFlags {
                                received: f.contains(Inet6IfaceFlags::RaRcvd),
                                managed: f.contains(Inet6IfaceFlags::RaManaged),
                                other: f.contains(Inet6IfaceFlags::Otherconf),
                            };
                        }
                    }
                }
            }
        }
        Ok(flags)
    }

    /// Poll until interface `index` has a usable link-local address; `None` after `timeout`.
    pub fn wait_link_local(
        &mut self,
        index: u32,
        timeout: Duration,
    ) -> Result<Option<Ipv6Addr>, LinkError> {
        let end = Instant::now() + timeout;
        loop {
            let found = self
                .addresses(index)?
                .into_iter()
                .find(|a| a.usable() && is_link_local(&a.addr));
            if found.is_some() || Instant::now() >= end {
                return Ok(found.map(|a| a.addr));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Poll until the kernel has seen a router advertisement on `index`; `None` after
    /// `timeout` (no router on the link, or `accept_ra` off).
    pub fn wait_ra(&mut self, index: u32, timeout: Duration) -> Result<Option<RaFlags>, LinkError> {
        let end = Instant::now() + timeout;
        loop {
            let f = self.ra_flags(index)?;
            if f.received {
                return Ok(Some(f));
            }
            if Instant::now() >= end {
                return Ok(None);
            }
            std::thread::sleep(POLL);
        }
    }

    /// The usable routable addresses of `index` now.
    pub fn global_addresses(&mut self, index: u32) -> Result<Vec<Ipv6Addr>, LinkError> {
        Ok(self
            .addresses(index)?
            .into_iter()
            .filter(|a| a.usable() && is_routable(&a.addr))
            .map(|a| a.addr)
            .collect())
    }

    /// Poll until `index` has at least one usable routable address (SLAAC, or one added by
    /// DHCPv6 that finished DAD); returns them, empty after `timeout`.
    pub fn wait_global(
        &mut self,
        index: u32,
        timeout: Duration,
    ) -> Result<Vec<Ipv6Addr>, LinkError> {
        let end = Instant::now() + timeout;
        loop {
            let found = self.global_addresses(index)?;
            if !found.is_empty() || Instant::now() >= end {
                return Ok(found);
            }
            std::thread::sleep(POLL);
        }
    }

    /// Poll until every address in `want` is usable on `index` (DAD done). Returns the ones
    /// that are; addresses whose DAD failed or that are still tentative at `timeout` are left
    /// out.
    pub fn wait_usable(
        &mut self,
        index: u32,
        want: &[Ipv6Addr],
        timeout: Duration,
    ) -> Result<Vec<Ipv6Addr>, LinkError> {
        let end = Instant::now() + timeout;
        loop {
            let now = self.addresses(index)?;
            let usable: Vec<Ipv6Addr> = want
                .iter()
                .copied()
                .filter(|w| now.iter().any(|a| a.addr == *w && a.usable()))
                .collect();
            let pending = want.iter().any(|w| {
                now.iter()
                    .any(|a| a.addr == *w && a.tentative && !a.dad_failed)
            });
            if usable.len() == want.len() || !pending || Instant::now() >= end {
                return Ok(usable);
            }
            std::thread::sleep(POLL);
        }
    }

    /// Add (or replace) an IPv6 address. A DHCPv6 address is a /128 (RFC 8415 §21.6: the
    /// on-link prefix comes from router advertisements).
    pub fn add_address(
        &mut self,
        index: u32,
        addr: Ipv6Addr,
        prefix_len: u8,
    ) -> Result<(), LinkError> {
        let mut m = AddressMessage::default();
        m.header.family = AddressFamily::Inet6;
        m.header.prefix_len = prefix_len;
        m.header.index = index;
        m.header.flags = AddressHeaderFlags::empty();
        m.header.scope = AddressScope::Universe;
        m.attributes.push(AddressAttribute::Local(IpAddr::V6(addr)));
        m.attributes
            .push(AddressAttribute::Address(IpAddr::V6(addr)));
        let op = format!("add address {addr}/{prefix_len} to interface #{index}");
        let seq = self.send(
            RouteNetlinkMessage::NewAddress(m),
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
        )?;
        self.collect(seq, &op).map(drop)
    }
}

/// `/proc/sys/net/ipv6/conf/<iface>/disable_ipv6` is absent (no IPv6 in the kernel, or no
/// such interface) or set.
pub fn ipv6_disabled(iface: &str) -> bool {
    if iface.contains('/') || iface.starts_with('.') {
        return true;
    }
    match std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{iface}/disable_ipv6")) {
        Ok(s) => s.trim() != "0",
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_classes() {
        let ll: Ipv6Addr = "fe80::5054:ff:fe12:3456".parse().unwrap();
        let g: Ipv6Addr = "2001:db8:1::100".parse().unwrap();
        let site: Ipv6Addr = "fec0::5054:ff:fe12:3456".parse().unwrap();
        let ula: Ipv6Addr = "fd00::1".parse().unwrap();
        assert!(is_link_local(&ll) && !is_routable(&ll));
        assert!(is_routable(&g) && is_routable(&site) && is_routable(&ula));
        assert!(!is_routable(&Ipv6Addr::LOCALHOST));
        assert!(!is_routable(&"ff02::1".parse().unwrap()));
        assert!(!is_routable(&Ipv6Addr::UNSPECIFIED));
        let a = Addr6 {
            addr: g,
            prefix_len: 64,
            tentative: true,
            dad_failed: false,
        };
        assert!(!a.usable());
    }

    #[test]
    fn bad_interface_names_are_disabled() {
        assert!(ipv6_disabled("../../x"));
        assert!(ipv6_disabled("no-such-interface-kboot"));
    }
}
