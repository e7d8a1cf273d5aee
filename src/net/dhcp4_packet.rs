//! Parsing received DHCPv4/BOOTP replies and decoding their options into a [`Lease`].
//!
//! Outgoing packets are encoded with dhcproto. Incoming ones are parsed here by hand because
//! dhcproto 0.15's decoder is unsafe for hostile input in ways that matter to us:
//! `Message::chaddr()` panics when a packet claims `hlen > 16`, a 64/128-byte `sname`/`file`
//! without a NUL is silently dropped, option overload (52) is not applied, and a malformed
//! option silently ends option parsing instead of being reported. This parser never panics,
//! reports every malformation as a [`PacketError`], and applies RFC 3396 concatenation
//! (an option code appearing several times is one option, its data joined in order) and
//! RFC 2131 option overload (options continue in `file`, then `sname`).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::Lease;

/// The DHCP magic cookie that follows the BOOTP header.
pub const MAGIC: [u8; 4] = [99, 130, 83, 99];
/// Length of the fixed BOOTP header before the magic cookie.
const BOOTP_LEN: usize = 236;
const SNAME: std::ops::Range<usize> = 44..108;
const FILE: std::ops::Range<usize> = 108..236;

/// BOOTP op code of a reply.
pub const BOOTREPLY: u8 = 2;

/// DHCP message types (option 53) that a client acts on.
pub mod msg_type {
    pub const DISCOVER: u8 = 1;
    pub const OFFER: u8 = 2;
    pub const REQUEST: u8 = 3;
    pub const DECLINE: u8 = 4;
    pub const ACK: u8 = 5;
    pub const NAK: u8 = 6;
    pub const RELEASE: u8 = 7;
}

/// Why a received packet could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("the packet is {0} bytes long, shorter than the 240-byte DHCP header")]
    Truncated(usize),
    #[error("the packet does not carry the DHCP magic cookie")]
    BadMagic,
    #[error("option {code} at offset {offset} is cut off by the end of its area")]
    OptionOverrun { code: u8, offset: usize },
    #[error("option {code} has length {len}, which is invalid for that option")]
    BadLength { code: u8, len: usize },
    #[error("option 52 (overload) has value {0}, not 1, 2 or 3")]
    BadOverload(u8),
    #[error("option 119 (domain search) holds a malformed name list")]
    BadDomainList,
    #[error("option 1 holds {0}, which is not a contiguous netmask")]
    BadNetmask(Ipv4Addr),
}

/// A parsed DHCP/BOOTP packet: the fixed header and the options by code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub op: u8,
    pub htype: u8,
    pub hlen: u8,
    pub xid: u32,
    pub secs: u16,
    pub flags: u16,
    pub ciaddr: Ipv4Addr,
    pub yiaddr: Ipv4Addr,
    pub siaddr: Ipv4Addr,
    pub giaddr: Ipv4Addr,
    pub chaddr: [u8; 16],
    /// BOOTP `sname`, up to the first NUL; `None` when empty or used for overloaded options.
    pub sname: Option<String>,
    /// BOOTP `file`, up to the first NUL; `None` when empty or used for overloaded options.
    pub file: Option<String>,
    /// Option data by code, concatenated per RFC 3396. Pad and End are not stored.
    pub options: BTreeMap<u8, Vec<u8>>,
}

fn ip_at(b: &[u8], at: usize) -> Ipv4Addr {
    let mut o = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        o.copy_from_slice(s);
    }
    Ipv4Addr::from(o)
}

/// Walk one option area (TLV list), appending into `out`. Stops at End (255) or the area's end.
fn walk_options(
    area: &[u8],
    base: usize,
    out: &mut BTreeMap<u8, Vec<u8>>,
) -> Result<(), PacketError> {
    let mut i = 0;
    while let Some(&code) = area.get(i) {
        match code {
            0 => i += 1,
            255 => return Ok(()),
            _ => {
                let len = *area.get(i + 1).ok_or(PacketError::OptionOverrun {
                    code,
                    offset: base + i,
                })? as usize;
                let data = area
                    .get(i + 2..i + 2 + len)
                    .ok_or(PacketError::OptionOverrun {
                        code,
                        offset: base + i,
                    })?;
                out.entry(code).or_default().extend_from_slice(data);
                i += 2 + len;
            }
        }
    }
    Ok(())
}

/// Text of a NUL-terminated fixed field or option string: up to the first NUL, lossy UTF-8,
/// `None` when empty.
fn text(bytes: &[u8]) -> Option<String> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let s = String::from_utf8_lossy(&bytes[..end]).trim().to_string();
    (!s.is_empty()).then_some(s)
}

impl Packet {
    /// Parse a DHCP packet. Never panics; every malformation is an error.
    pub fn parse(bytes: &[u8]) -> Result<Packet, PacketError> {
        if bytes.len() < BOOTP_LEN + MAGIC.len() {
            return Err(PacketError::Truncated(bytes.len()));
        }
        if bytes[BOOTP_LEN..BOOTP_LEN + 4] != MAGIC {
            return Err(PacketError::BadMagic);
        }
        let mut chaddr = [0u8; 16];
        chaddr.copy_from_slice(&bytes[28..44]);
        let mut options = BTreeMap::new();
        walk_options(&bytes[BOOTP_LEN + 4..], BOOTP_LEN + 4, &mut options)?;
        let overload = match options.get(&52) {
            None => 0,
            Some(v) if v.len() == 1 => match v[0] {
                o @ 1..=3 => o,
                o => return Err(PacketError::BadOverload(o)),
            },
            Some(v) => {
                return Err(PacketError::BadLength {
                    code: 52,
                    len: v.len(),
                })
            }
        };
        // RFC 2131 §4.1: with overload, the `file` field's options come first, then `sname`.
        if overload & 1 != 0 {
            walk_options(&bytes[FILE], FILE.start, &mut options)?;
        }
        if overload & 2 != 0 {
            walk_options(&bytes[SNAME], SNAME.start, &mut options)?;
        }
        Ok(Packet {
            op: bytes[0],
            htype: bytes[1],
            hlen: bytes[2],
            xid: u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
            secs: u16::from_be_bytes([bytes[8], bytes[9]]),
            flags: u16::from_be_bytes([bytes[10], bytes[11]]),
            ciaddr: ip_at(bytes, 12),
            yiaddr: ip_at(bytes, 16),
            siaddr: ip_at(bytes, 20),
            giaddr: ip_at(bytes, 24),
            chaddr,
            sname: if overload & 2 != 0 {
                None
            } else {
                text(&bytes[SNAME])
            },
            file: if overload & 1 != 0 {
                None
            } else {
                text(&bytes[FILE])
            },
            options,
        })
    }

    /// Option 53, the DHCP message type; `None` for plain BOOTP or a malformed option.
    pub fn message_type(&self) -> Option<u8> {
        match self.options.get(&53) {
            Some(v) if v.len() == 1 => Some(v[0]),
            _ => None,
        }
    }

    /// Option 54, the server identifier.
    pub fn server_id(&self) -> Result<Option<Ipv4Addr>, PacketError> {
        self.ip(54)
    }

    /// Option 56, the server's message (NAKs often carry a reason).
    pub fn server_message(&self) -> Option<String> {
        self.options.get(&56).and_then(|v| text(v))
    }

    /// The first 6 bytes of chaddr, the client's Ethernet address.
    pub fn client_mac(&self) -> [u8; 6] {
        let mut m = [0u8; 6];
        m.copy_from_slice(&self.chaddr[..6]);
        m
    }

    /// True when the packet names something to boot: option 66, 67, 209, or a BOOTP `file`.
    /// siaddr alone does not count: dnsmasq puts its own address there in every reply, so
    /// with two dnsmasq servers the first offer would always look like a boot offer.
    pub fn has_boot_info(&self) -> bool {
        self.file.is_some()
            || [66u8, 67, 209]
                .iter()
                .any(|c| self.options.get(c).is_some_and(|v| text(v).is_some()))
    }

    fn ip(&self, code: u8) -> Result<Option<Ipv4Addr>, PacketError> {
        match self.options.get(&code) {
            None => Ok(None),
            Some(v) if v.len() == 4 => Ok(Some(ip_at(v, 0))),
            Some(v) => Err(PacketError::BadLength { code, len: v.len() }),
        }
    }

    fn ips(&self, code: u8) -> Result<Vec<Ipv4Addr>, PacketError> {
        match self.options.get(&code) {
            None => Ok(Vec::new()),
            Some(v) if !v.is_empty() && v.len() % 4 == 0 => {
                Ok(v.chunks_exact(4).map(|c| ip_at(c, 0)).collect())
            }
            Some(v) => Err(PacketError::BadLength { code, len: v.len() }),
        }
    }

    fn u32(&self, code: u8) -> Result<Option<u32>, PacketError> {
        match self.options.get(&code) {
            None => Ok(None),
            Some(v) if v.len() == 4 => Ok(Some(u32::from_be_bytes([v[0], v[1], v[2], v[3]]))),
            Some(v) => Err(PacketError::BadLength { code, len: v.len() }),
        }
    }

    fn string(&self, code: u8) -> Option<String> {
        self.options.get(&code).and_then(|v| text(v))
    }

    /// Fill every lease field this packet carries into `lease` (fields it lacks are left
    /// untouched). `iface` and `mac` are not touched.
    pub fn fill_lease(&self, lease: &mut Lease) -> Result<(), PacketError> {
        if !self.yiaddr.is_unspecified() {
            lease.client = Some(self.yiaddr);
        }
        if let Some(mask) = self.ip(1)? {
            let m = u32::from(mask);
            if m.leading_ones() + m.trailing_zeros() != 32 {
                return Err(PacketError::BadNetmask(mask));
            }
            lease.netmask = Some(mask);
        }
        if let Some(gw) = self.ips(3)?.first() {
            lease.gateway = Some(*gw);
        }
        let dns = self.ips(6)?;
        if !dns.is_empty() {
            lease.dns = dns;
        }
        if let Some(h) = self.string(12) {
            lease.hostname = Some(h);
        }
        if let Some(d) = self.string(15) {
            lease.domain = Some(d);
        }
        if let Some(r) = self.string(17) {
            lease.root_path = Some(r);
        }
        if let Some(b) = self.ip(28)? {
            lease.broadcast = Some(b);
        }
        let ntp = self.ips(42)?;
        if !ntp.is_empty() {
            lease.ntp = ntp;
        }
        if let Some(v) = self.options.get(&43) {
            lease.vendor_specific = Some(v.clone());
        }
        if let Some(t) = self.u32(51)? {
            lease.lease_time = Some(t);
        }
        if let Some(s) = self.server_id()? {
            lease.server_id = Some(s);
        }
        if !self.siaddr.is_unspecified() {
            lease.next_server = Some(self.siaddr);
        }
        if let Some(n) = self.string(66).or_else(|| self.sname.clone()) {
            lease.tftp_server_name = Some(n);
        }
        if let Some(f) = self.string(67).or_else(|| self.file.clone()) {
            lease.boot_file = Some(f);
        }
        if let Some(v) = self.options.get(&119) {
            lease.domain_search = decode_domain_list(v)?;
        }
        if let Some(i) = self.string(203) {
            lease.iscsi_initiator = Some(i);
        }
        if let Some(c) = self.string(209) {
            lease.pxe_config_file = Some(c);
        }
        if let Some(p) = self.string(210) {
            lease.pxe_path_prefix = Some(p);
        }
        if let Some(r) = self.u32(211)? {
            lease.reboot_time = Some(r);
        }
        Ok(())
    }
}

/// Parse a packet and decode it into a fresh [`Lease`] (no iface/mac): the path the fuzzer
/// drives.
pub fn parse_lease(bytes: &[u8]) -> Result<Lease, PacketError> {
    let p = Packet::parse(bytes)?;
    let mut lease = Lease::default();
    p.fill_lease(&mut lease)?;
    Ok(lease)
}

/// Decode an RFC 3397 domain search list: RFC 1035 names, compression pointers relative to
/// the start of the (concatenated) option data.
pub fn decode_domain_list(data: &[u8]) -> Result<Vec<String>, PacketError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let (name, next) = read_name(data, pos)?;
        if !name.is_empty() {
            out.push(name);
        }
        pos = next;
    }
    Ok(out)
}

fn read_name(data: &[u8], start: usize) -> Result<(String, usize), PacketError> {
    let bad = PacketError::BadDomainList;
    let mut labels: Vec<String> = Vec::new();
    let mut pos = start;
    let mut resume = None;
    let mut jumps = 0;
    let mut total = 0usize;
    loop {
        let len = *data.get(pos).ok_or(bad.clone())?;
        match len & 0xC0 {
            0x00 if len == 0 => {
                pos += 1;
                break;
            }
            0x00 => {
                let l = len as usize;
                let label = data.get(pos + 1..pos + 1 + l).ok_or(bad.clone())?;
                total += l + 1;
                if total > 255 {
                    return Err(bad);
                }
                labels.push(String::from_utf8_lossy(label).into_owned());
                pos += 1 + l;
            }
            0xC0 => {
                let lo = *data.get(pos + 1).ok_or(bad.clone())? as usize;
                if resume.is_none() {
                    resume = Some(pos + 2);
                }
                jumps += 1;
                if jumps > 32 {
                    return Err(bad);
                }
                pos = ((len & 0x3F) as usize) << 8 | lo;
            }
            _ => return Err(bad),
        }
    }
    Ok((labels.join("."), resume.unwrap_or(pos)))
}
