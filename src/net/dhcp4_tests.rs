//! Tests of the DHCPv4 state machine and of packet → Lease decoding. Server packets are
//! built with dhcproto (or by hand for malformed ones).

use super::*;
use crate::net::dhcp4_packet::{decode_domain_list, parse_lease, PacketError};
use dhcproto::v4::UnknownOption;
use dhcproto::Decodable;

const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const XID: u32 = 0x1234_5678;
const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const SERVER2: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 50);

fn client() -> Client {
    let mut cfg = Config::new("eth0", MAC, XID);
    cfg.arch = 7;
    cfg.uuid = Some([0x11; 16]);
    Client::new(cfg)
}

fn unknown(code: u8, data: &[u8]) -> DhcpOption {
    DhcpOption::Unknown(UnknownOption::new(OptionCode::from(code), data.to_vec()))
}

/// A server reply built with dhcproto.
fn reply(
    xid: u32,
    mt: MessageType,
    yiaddr: Ipv4Addr,
    server: Ipv4Addr,
    extra: impl FnOnce(&mut Message),
) -> Vec<u8> {
    let mut m = Message::default();
    m.set_opcode(Opcode::BootReply)
        .set_htype(HType::Eth)
        .set_xid(xid)
        .set_chaddr(&MAC)
        .set_yiaddr(yiaddr);
    let o = m.opts_mut();
    o.insert(DhcpOption::MessageType(mt));
    o.insert(DhcpOption::ServerIdentifier(server));
    o.insert(DhcpOption::SubnetMask(Ipv4Addr::new(255, 255, 255, 0)));
    o.insert(DhcpOption::Router(vec![SERVER]));
    o.insert(DhcpOption::AddressLeaseTime(3600));
    extra(&mut m);
    m.to_vec().unwrap()
}

fn plain_offer(xid: u32, server: Ipv4Addr) -> Vec<u8> {
    reply(xid, MessageType::Offer, ADDR, server, |_| {})
}

fn boot_offer(xid: u32, server: Ipv4Addr) -> Vec<u8> {
    reply(xid, MessageType::Offer, ADDR, server, |m| {
        m.set_siaddr(server);
        m.opts_mut()
            .insert(DhcpOption::BootfileName(b"pxelinux.0".to_vec()));
    })
}

fn decode(t: &Transmit) -> Message {
    Message::from_bytes(&t.payload).unwrap()
}

fn msg_type_of(t: &Transmit) -> MessageType {
    decode(t).opts().msg_type().unwrap()
}

#[test]
fn discover_carries_every_option() {
    let mut c = client();
    let t0 = Instant::now();
    let s = c.start(t0);
    assert_eq!(s.outcome, Outcome::Pending);
    assert_eq!(s.send.len(), 1);
    assert_eq!(s.send[0].dest, Destination::Broadcast);
    assert_eq!(s.deadline, Some(t0 + Duration::from_secs(1)));
    let m = decode(&s.send[0]);
    assert_eq!(m.opcode(), Opcode::BootRequest);
    assert_eq!(m.xid(), XID);
    assert_eq!(m.chaddr(), &MAC);
    assert!(m.flags().broadcast());
    let o = m.opts();
    assert_eq!(o.msg_type(), Some(MessageType::Discover));
    match o.get(OptionCode::ParameterRequestList) {
        Some(DhcpOption::ParameterRequestList(l)) => {
            let codes: Vec<u8> = l.iter().map(|c| u8::from(*c)).collect();
            assert_eq!(codes, PARAMETER_REQUEST_LIST);
        }
        other => panic!("option 55: {other:?}"),
    }
    assert_eq!(
        o.get(OptionCode::MaxMessageSize),
        Some(&DhcpOption::MaxMessageSize(1472))
    );
    assert_eq!(
        o.get(OptionCode::ClassIdentifier),
        Some(&DhcpOption::ClassIdentifier(
            b"PXEClient:Arch:00007:UNDI:003016".to_vec()
        ))
    );
    assert_eq!(
        o.get(OptionCode::ClientSystemArchitecture),
        Some(&DhcpOption::ClientSystemArchitecture(Architecture::from(7)))
    );
    assert_eq!(
        o.get(OptionCode::ClientNetworkInterface),
        Some(&DhcpOption::ClientNetworkInterface(1, 3, 16))
    );
    let mut uuid = vec![0u8];
    uuid.extend_from_slice(&[0x11; 16]);
    assert_eq!(
        o.get(OptionCode::ClientMachineIdentifier),
        Some(&DhcpOption::ClientMachineIdentifier(uuid))
    );
    let mut cid = vec![1u8];
    cid.extend_from_slice(&MAC);
    assert_eq!(
        o.get(OptionCode::ClientIdentifier),
        Some(&DhcpOption::ClientIdentifier(cid))
    );
    assert_eq!(o.get(OptionCode::RequestedIpAddress), None);
    assert_eq!(
        o.get(OptionCode::UserClass),
        Some(&DhcpOption::UserClass(b"kboot".to_vec()))
    );
}

#[test]
fn option_93_follows_the_firmware_and_the_build() {
    if cfg!(target_arch = "aarch64") {
        assert_eq!(client_arch(true), 11);
        assert_eq!(client_arch(false), 11);
    } else {
        assert_eq!(client_arch(true), 7);
        assert_eq!(client_arch(false), 0);
    }
}

#[test]
fn a_renewal_carries_the_user_class_too() {
    let c = client();
    let lease = crate::net::Lease {
        client: Some(Ipv4Addr::new(192, 0, 2, 10)),
        server_id: Some(SERVER),
        ..Default::default()
    };
    let t = c.renew_request(&lease, 7, 0, false).unwrap();
    assert_eq!(
        decode(&t).opts().get(OptionCode::UserClass),
        Some(&DhcpOption::UserClass(USER_CLASS.to_vec()))
    );
}

#[test]
fn bios_arch_and_no_uuid() {
    let mut c = Client::new(Config::new("eth0", MAC, XID));
    let m = decode(&c.start(Instant::now()).send[0]);
    assert_eq!(
        m.opts().get(OptionCode::ClassIdentifier),
        Some(&DhcpOption::ClassIdentifier(
            b"PXEClient:Arch:00000:UNDI:003016".to_vec()
        ))
    );
    assert_eq!(m.opts().get(OptionCode::ClientMachineIdentifier), None);
}

#[test]
fn full_exchange() {
    let mut c = client();
    let t0 = Instant::now();
    c.start(t0);
    let t1 = t0 + Duration::from_millis(100);
    let s = c.on_packet(&plain_offer(XID, SERVER), t1);
    assert!(s.send.is_empty(), "waits for more offers");
    assert_eq!(s.deadline, Some(t1 + Duration::from_millis(300)));
    assert!(s.log.iter().any(|l| l.contains("DHCPOFFER 192.0.2.50")));
    let t2 = t1 + Duration::from_millis(300);
    let s = c.on_timeout(t2);
    assert_eq!(s.send.len(), 1);
    let req = decode(&s.send[0]);
    assert_eq!(req.opts().msg_type(), Some(MessageType::Request));
    assert_eq!(req.xid(), XID);
    assert!(req.flags().broadcast());
    assert_eq!(
        req.opts().get(OptionCode::RequestedIpAddress),
        Some(&DhcpOption::RequestedIpAddress(ADDR))
    );
    assert_eq!(
        req.opts().get(OptionCode::ServerIdentifier),
        Some(&DhcpOption::ServerIdentifier(SERVER))
    );
    assert_eq!(s.deadline, Some(t2 + Duration::from_secs(1)));
    let ack = reply(XID, MessageType::Ack, ADDR, SERVER, |m| {
        m.set_siaddr(SERVER).set_fname_str("boot/vmlinuz");
        let o = m.opts_mut();
        o.insert(DhcpOption::DomainNameServer(vec![SERVER, SERVER2]));
        o.insert(DhcpOption::Hostname("node1".into()));
        o.insert(DhcpOption::DomainName("lab.example".into()));
        o.insert(DhcpOption::RootPath("192.0.2.1:/srv/root".into()));
        o.insert(unknown(209, b"pxelinux.cfg/custom"));
        o.insert(unknown(210, b"http://192.0.2.1/boot/"));
    });
    let s = c.on_packet(&ack, t2 + Duration::from_millis(5));
    assert_eq!(s.deadline, None);
    let Outcome::Bound(lease) = s.outcome else {
        panic!("not bound: {:?}", s.outcome)
    };
    assert_eq!(lease.iface, "eth0");
    assert_eq!(lease.mac, MAC);
    assert_eq!(lease.client, Some(ADDR));
    assert_eq!(lease.netmask, Some(Ipv4Addr::new(255, 255, 255, 0)));
    assert_eq!(lease.prefix_len(), Some(24));
    assert_eq!(lease.broadcast_addr(), Some(Ipv4Addr::new(192, 0, 2, 255)));
    assert_eq!(lease.gateway, Some(SERVER));
    assert_eq!(lease.dns, vec![SERVER, SERVER2]);
    assert_eq!(lease.hostname.as_deref(), Some("node1"));
    assert_eq!(lease.domain.as_deref(), Some("lab.example"));
    assert_eq!(lease.server_id, Some(SERVER));
    assert_eq!(lease.next_server, Some(SERVER));
    assert_eq!(lease.boot_file.as_deref(), Some("boot/vmlinuz"));
    assert_eq!(lease.root_path.as_deref(), Some("192.0.2.1:/srv/root"));
    assert_eq!(
        lease.pxe_config_file.as_deref(),
        Some("pxelinux.cfg/custom")
    );
    assert_eq!(
        lease.pxe_path_prefix.as_deref(),
        Some("http://192.0.2.1/boot/")
    );
    assert_eq!(lease.lease_time, Some(3600));
    // Finished: further input changes nothing.
    let s = c.on_packet(&ack, t2 + Duration::from_secs(1));
    assert_eq!(s.outcome, Outcome::Pending);
    assert!(s.send.is_empty());
    assert_eq!(s.deadline, None);
}

#[test]
fn offer_with_boot_info_is_preferred() {
    let mut c = client();
    let t0 = Instant::now();
    c.start(t0);
    let s = c.on_packet(&plain_offer(XID, SERVER), t0 + Duration::from_millis(10));
    assert!(s.send.is_empty());
    // The second offer names a boot file: it is taken at once, inside the window.
    let s = c.on_packet(&boot_offer(XID, SERVER2), t0 + Duration::from_millis(50));
    assert_eq!(s.send.len(), 1);
    let req = decode(&s.send[0]);
    assert_eq!(
        req.opts().get(OptionCode::ServerIdentifier),
        Some(&DhcpOption::ServerIdentifier(SERVER2))
    );
    // An ACK from the other server is ignored.
    let s = c.on_packet(
        &reply(XID, MessageType::Ack, ADDR, SERVER, |_| {}),
        t0 + Duration::from_millis(60),
    );
    assert_eq!(s.outcome, Outcome::Pending);
    // Boot fields missing from the chosen server's ACK are kept from its OFFER.
    let s = c.on_packet(
        &reply(XID, MessageType::Ack, ADDR, SERVER2, |_| {}),
        t0 + Duration::from_millis(70),
    );
    let Outcome::Bound(lease) = s.outcome else {
        panic!("not bound")
    };
    assert_eq!(lease.server_id, Some(SERVER2));
    assert_eq!(lease.boot_file.as_deref(), Some("pxelinux.0"));
    assert_eq!(lease.next_server, Some(SERVER2));
}

#[test]
fn first_plain_offer_wins_when_none_has_boot_info() {
    let mut c = client();
    let t0 = Instant::now();
    c.start(t0);
    c.on_packet(&plain_offer(XID, SERVER2), t0 + Duration::from_millis(10));
    c.on_packet(&plain_offer(XID, SERVER), t0 + Duration::from_millis(20));
    // Before the window ends nothing happens.
    let s = c.on_timeout(t0 + Duration::from_millis(200));
    assert!(s.send.is_empty());
    assert_eq!(s.deadline, Some(t0 + Duration::from_millis(310)));
    let s = c.on_timeout(t0 + Duration::from_millis(310));
    let req = decode(&s.send[0]);
    assert_eq!(
        req.opts().get(OptionCode::ServerIdentifier),
        Some(&DhcpOption::ServerIdentifier(SERVER2))
    );
}

#[test]
fn nak_restarts_discovery_with_new_xid() {
    let mut c = client();
    let t0 = Instant::now();
    c.start(t0);
    let s = c.on_packet(&boot_offer(XID, SERVER), t0);
    assert_eq!(msg_type_of(&s.send[0]), MessageType::Request);
    let nak = reply(XID, MessageType::Nak, Ipv4Addr::UNSPECIFIED, SERVER, |m| {
        m.opts_mut()
            .insert(DhcpOption::Message("address in use".into()));
    });
    let s = c.on_packet(&nak, t0 + Duration::from_millis(5));
    assert_eq!(s.outcome, Outcome::Pending);
    assert_eq!(s.send.len(), 1);
    let d = decode(&s.send[0]);
    assert_eq!(d.opts().msg_type(), Some(MessageType::Discover));
    assert_ne!(d.xid(), XID);
    assert_eq!(c.xid(), d.xid());
    assert!(s.log.iter().any(|l| l.contains("address in use")));
    // Offers for the old transaction are now ignored; new ones are accepted.
    let s = c.on_packet(&boot_offer(XID, SERVER), t0 + Duration::from_millis(10));
    assert!(s.send.is_empty());
    let s = c.on_packet(&boot_offer(c.xid(), SERVER), t0 + Duration::from_millis(10));
    assert_eq!(msg_type_of(&s.send[0]), MessageType::Request);
}

#[test]
fn discover_backoff_and_give_up() {
    let mut c = client();
    let t0 = Instant::now();
    let mut s = c.start(t0);
    let mut deadlines = Vec::new();
    let mut sends = 1;
    while let Some(d) = s.deadline {
        deadlines.push((d - t0).as_secs());
        s = c.on_timeout(d);
        sends += s.send.len();
        for t in &s.send {
            assert_eq!(msg_type_of(t), MessageType::Discover);
            assert_eq!(decode(t).xid(), XID);
        }
    }
    assert_eq!(deadlines, vec![1, 3, 7, 15, 23, 30]);
    assert_eq!(sends, 6); // at 0, 1, 3, 7, 15 and 23 s
    assert_eq!(s.outcome, Outcome::Failed(Dhcp4Error::NoOffer(30)));
    assert_eq!(
        Dhcp4Error::NoOffer(30).to_string(),
        "no DHCP server answered within 30 s"
    );
    // secs counts seconds since start.
    let mut c = client();
    c.start(t0);
    let s = c.on_timeout(t0 + Duration::from_secs(1));
    assert_eq!(decode(&s.send[0]).secs(), 1);
}

#[test]
fn early_timeout_is_harmless() {
    let mut c = client();
    let t0 = Instant::now();
    c.start(t0);
    let s = c.on_timeout(t0 + Duration::from_millis(500));
    assert!(s.send.is_empty());
    assert_eq!(s.deadline, Some(t0 + Duration::from_secs(1)));
}

#[test]
fn request_retries_then_rediscover_then_no_ack() {
    let mut c = client();
    let t0 = Instant::now();
    c.start(t0);
    let mut s = c.on_packet(&boot_offer(XID, SERVER), t0);
    let mut kinds = Vec::new();
    loop {
        for t in &s.send {
            kinds.push(msg_type_of(t));
        }
        let Some(d) = s.deadline else { break };
        let xid = c.xid();
        s = c.on_timeout(d);
        // Keep answering every DISCOVER with an offer, never ACK.
        if s.send
            .iter()
            .any(|t| msg_type_of(t) == MessageType::Discover)
        {
            for t in std::mem::take(&mut s.send) {
                kinds.push(msg_type_of(&t));
            }
            assert_ne!(c.xid(), xid);
            s = c.on_packet(&boot_offer(c.xid(), SERVER), d);
        }
    }
    use MessageType::{Discover, Request};
    assert_eq!(&kinds[..4], &[Request, Request, Request, Discover]);
    assert_eq!(s.outcome, Outcome::Failed(Dhcp4Error::NoAck(30)));
}

#[test]
fn foreign_packets_are_ignored() {
    let mut c = client();
    let t0 = Instant::now();
    let start = c.start(t0);
    let other_mac = {
        let mut m = Message::from_bytes(&boot_offer(XID, SERVER)).unwrap();
        m.set_chaddr(&[2, 0, 0, 0, 0, 1]);
        m.to_vec().unwrap()
    };
    let request_op = {
        let mut m = Message::from_bytes(&boot_offer(XID, SERVER)).unwrap();
        m.set_opcode(Opcode::BootRequest);
        m.to_vec().unwrap()
    };
    let ack_while_selecting = reply(XID, MessageType::Ack, ADDR, SERVER, |_| {});
    let no_server_id = reply(XID, MessageType::Offer, ADDR, SERVER, |m| {
        m.opts_mut().remove(OptionCode::ServerIdentifier);
    });
    let no_addr = reply(
        XID,
        MessageType::Offer,
        Ipv4Addr::UNSPECIFIED,
        SERVER,
        |_| {},
    );
    for p in [
        boot_offer(XID ^ 1, SERVER),
        other_mac,
        request_op,
        ack_while_selecting,
        no_server_id,
        no_addr,
        vec![0u8; 10],
    ] {
        let s = c.on_packet(&p, t0 + Duration::from_millis(1));
        assert!(s.send.is_empty());
        assert_eq!(s.outcome, Outcome::Pending);
        assert_eq!(s.deadline, start.deadline);
    }
}

#[test]
fn release_is_unicast_to_the_server() {
    let c = client();
    let lease = Lease {
        iface: "eth0".into(),
        mac: MAC,
        client: Some(ADDR),
        server_id: Some(SERVER),
        ..Lease::default()
    };
    let t = c.release(&lease).unwrap();
    assert_eq!(t.dest, Destination::Unicast(SERVER));
    let m = decode(&t);
    assert_eq!(m.opts().msg_type(), Some(MessageType::Release));
    assert_eq!(m.ciaddr(), ADDR);
    assert!(!m.flags().broadcast());
    assert_eq!(
        m.opts().get(OptionCode::ServerIdentifier),
        Some(&DhcpOption::ServerIdentifier(SERVER))
    );
}

#[test]
fn decodes_every_option_into_the_lease() {
    // 119: "a.example" then "b.example" using a compression pointer to offset 2 ("example").
    let search = [
        1, b'a', 7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0, 1, b'b', 0xC0, 2,
    ];
    let bytes = reply(XID, MessageType::Ack, ADDR, SERVER, |m| {
        m.set_sname_str("tftp-from-sname");
        let o = m.opts_mut();
        o.insert(DhcpOption::BroadcastAddr(Ipv4Addr::new(192, 0, 2, 127)));
        o.insert(DhcpOption::NtpServers(vec![SERVER2]));
        o.insert(DhcpOption::VendorExtensions(vec![6, 1, 8, 255]));
        o.insert(DhcpOption::TFTPServerName(b"tftp.example\0".to_vec()));
        o.insert(DhcpOption::BootfileName(b"grubx64.efi".to_vec()));
        o.insert(unknown(119, &search));
        o.insert(unknown(203, b"iqn.2010-04.org.ipxe:node1"));
        o.insert(unknown(211, &600u32.to_be_bytes()));
    });
    let lease = parse_lease(&bytes).unwrap();
    assert_eq!(lease.broadcast, Some(Ipv4Addr::new(192, 0, 2, 127)));
    assert_eq!(lease.ntp, vec![SERVER2]);
    assert_eq!(lease.vendor_specific, Some(vec![6, 1, 8, 255]));
    assert_eq!(lease.tftp_server_name.as_deref(), Some("tftp.example"));
    assert_eq!(lease.boot_file.as_deref(), Some("grubx64.efi"));
    assert_eq!(lease.domain_search, vec!["a.example", "b.example"]);
    assert_eq!(
        lease.iscsi_initiator.as_deref(),
        Some("iqn.2010-04.org.ipxe:node1")
    );
    assert_eq!(lease.reboot_time, Some(600));
    assert_eq!(lease.next_server, None);
    // Without 66, the BOOTP sname names the TFTP server.
    let bytes = reply(XID, MessageType::Ack, ADDR, SERVER, |m| {
        m.set_sname_str("tftp-from-sname");
    });
    assert_eq!(
        parse_lease(&bytes).unwrap().tftp_server_name.as_deref(),
        Some("tftp-from-sname")
    );
}

/// A hand-built reply: 236-byte header, magic, then `opts` verbatim.
fn raw(opts: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = vec![0u8; 236];
    b[0] = 2;
    b[1] = 1;
    b[2] = 6;
    b[4..8].copy_from_slice(&XID.to_be_bytes());
    b[16..20].copy_from_slice(&ADDR.octets());
    b[28..34].copy_from_slice(&MAC);
    edit(&mut b);
    b.extend_from_slice(&[99, 130, 83, 99]);
    b.extend_from_slice(opts);
    b
}

#[test]
fn option_overload_and_concatenation() {
    // Options continue in `file` (overload 1): hostname there, boot file only via option 67.
    let p = raw(&[53, 1, 5, 52, 1, 1, 12, 2, b'n', b'o', 255], |b| {
        b[108..117].copy_from_slice(&[67, 3, b'a', b'.', b'e', 12, 2, b'd', b'e']);
        b[117] = 255;
        b[44..48].copy_from_slice(b"srv\0");
    });
    let lease = parse_lease(&p).unwrap();
    assert_eq!(lease.boot_file.as_deref(), Some("a.e"));
    // RFC 3396: the two hostname parts concatenate, main area first.
    assert_eq!(lease.hostname.as_deref(), Some("node"));
    assert_eq!(lease.tftp_server_name.as_deref(), Some("srv"));
    // Overload 3: sname holds options too and is not a server name.
    let p = raw(&[52, 1, 3, 255], |b| {
        b[108..111].copy_from_slice(&[255, 0, 0]);
        b[44..51].copy_from_slice(&[66, 3, b'x', b'y', b'z', 255, 0]);
    });
    let lease = parse_lease(&p).unwrap();
    assert_eq!(lease.tftp_server_name.as_deref(), Some("xyz"));
    assert_eq!(lease.boot_file, None);
    // A full 128-byte file field without NUL is kept (dhcproto would drop it).
    let p = raw(&[255], |b| b[108..236].fill(b'f'));
    assert_eq!(
        parse_lease(&p).unwrap().boot_file.map(|f| f.len()),
        Some(128)
    );
}

#[test]
fn malformed_packets_are_errors() {
    assert_eq!(parse_lease(&[]), Err(PacketError::Truncated(0)));
    assert_eq!(parse_lease(&[0u8; 239]), Err(PacketError::Truncated(239)));
    assert_eq!(
        parse_lease(
            &raw(&[255], |b| b.truncate(236))
                .iter()
                .map(|x| x ^ 1)
                .collect::<Vec<_>>()
        ),
        Err(PacketError::BadMagic)
    );
    let cases: Vec<(Vec<u8>, PacketError)> = vec![
        (
            raw(&[1, 4, 255, 255], |_| {}),
            PacketError::OptionOverrun {
                code: 1,
                offset: 240,
            },
        ),
        (
            raw(&[0, 0, 12], |_| {}),
            PacketError::OptionOverrun {
                code: 12,
                offset: 242,
            },
        ),
        (
            raw(&[12, 200, b'x', b'y'], |_| {}),
            PacketError::OptionOverrun {
                code: 12,
                offset: 240,
            },
        ),
        (
            raw(&[1, 3, 255, 255, 255, 255], |_| {}),
            PacketError::BadLength { code: 1, len: 3 },
        ),
        (
            raw(&[1, 4, 255, 0, 255, 0, 255], |_| {}),
            PacketError::BadNetmask(Ipv4Addr::new(255, 0, 255, 0)),
        ),
        (
            raw(&[3, 5, 1, 2, 3, 4, 5, 255], |_| {}),
            PacketError::BadLength { code: 3, len: 5 },
        ),
        (
            raw(&[6, 0, 255], |_| {}),
            PacketError::BadLength { code: 6, len: 0 },
        ),
        (
            raw(&[51, 2, 0, 1, 255], |_| {}),
            PacketError::BadLength { code: 51, len: 2 },
        ),
        (
            raw(&[54, 5, 1, 2, 3, 4, 5, 255], |_| {}),
            PacketError::BadLength { code: 54, len: 5 },
        ),
        (raw(&[52, 1, 4, 255], |_| {}), PacketError::BadOverload(4)),
        (
            raw(&[52, 2, 1, 1, 255], |_| {}),
            PacketError::BadLength { code: 52, len: 2 },
        ),
        // Overloaded file area whose option runs past the field.
        (
            raw(&[52, 1, 1, 255], |b| {
                b[234] = 12;
                b[235] = 10;
            }),
            PacketError::OptionOverrun {
                code: 12,
                offset: 234,
            },
        ),
        // RFC 3396 concatenation producing a bad length for a fixed-size option.
        (
            raw(&[51, 4, 0, 0, 1, 0, 51, 4, 0, 0, 2, 0, 255], |_| {}),
            PacketError::BadLength { code: 51, len: 8 },
        ),
        (
            raw(&[119, 2, 0xC0, 0, 255], |_| {}),
            PacketError::BadDomainList,
        ),
        (
            raw(&[119, 3, 5, b'a', b'b', 255], |_| {}),
            PacketError::BadDomainList,
        ),
        (
            raw(&[119, 1, 0x80, 255], |_| {}),
            PacketError::BadDomainList,
        ),
    ];
    for (p, want) in cases {
        assert_eq!(parse_lease(&p), Err(want.clone()), "{want}");
    }
    // Missing End is tolerated; padding is skipped.
    assert!(parse_lease(&raw(&[0, 0, 53, 1, 5], |_| {})).is_ok());
}

#[test]
fn domain_list_limits() {
    // A name longer than 255 bytes is rejected.
    let mut long = Vec::new();
    for _ in 0..5 {
        long.push(63);
        long.extend_from_slice(&[b'a'; 63]);
    }
    long.push(0);
    assert_eq!(decode_domain_list(&long), Err(PacketError::BadDomainList));
    // Mutual pointers loop: rejected, not hung.
    assert_eq!(
        decode_domain_list(&[0xC0, 2, 0xC0, 0]),
        Err(PacketError::BadDomainList)
    );
    assert_eq!(decode_domain_list(&[0]), Ok(vec![]));
}

#[test]
fn mutated_packets_never_panic() {
    let base = reply(XID, MessageType::Ack, ADDR, SERVER, |m| {
        m.set_siaddr(SERVER).set_fname_str("pxelinux.0");
        m.opts_mut()
            .insert(unknown(119, &[1, b'a', 0, 1, b'b', 0xC0, 0]));
        m.opts_mut().insert(DhcpOption::Hostname("node".into()));
    });
    let mut x: u32 = 0x2545_F491;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let mut c = client();
    let now = Instant::now();
    c.start(now);
    for _ in 0..20_000 {
        let mut p = base.clone();
        for _ in 0..(rnd() % 8 + 1) {
            let i = rnd() as usize % p.len();
            match rnd() % 4 {
                0 => p[i] = rnd() as u8,
                1 => p.truncate(i),
                2 => p.insert(i, rnd() as u8),
                _ => {
                    if !p.is_empty() {
                        p.remove(i.min(p.len() - 1));
                    }
                }
            }
            if p.is_empty() {
                break;
            }
        }
        let _ = parse_lease(&p);
        let _ = c.on_packet(&p, now);
    }
}

#[test]
fn siaddr_alone_is_not_boot_information() {
    // dnsmasq sets siaddr to itself in every reply: such an offer must not pre-empt a later
    // one that names a boot file.
    let mut c = client();
    let t0 = Instant::now();
    c.start(t0);
    let siaddr_only = reply(XID, MessageType::Offer, ADDR, SERVER, |m| {
        m.set_siaddr(SERVER);
    });
    let s = c.on_packet(&siaddr_only, t0 + Duration::from_millis(10));
    assert!(s.send.is_empty(), "taken at once: {:?}", s.log);
    let s = c.on_packet(&boot_offer(XID, SERVER2), t0 + Duration::from_millis(20));
    assert_eq!(s.send.len(), 1);
    let m = decode(&s.send[0]);
    assert_eq!(
        m.opts().get(OptionCode::ServerIdentifier),
        Some(&DhcpOption::ServerIdentifier(SERVER2))
    );
}
