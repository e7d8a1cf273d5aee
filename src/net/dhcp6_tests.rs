use super::*;
use std::time::{Duration, Instant};

const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const SERVER: &[u8] = &[0, 1, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd, 1, 2, 3, 4, 5, 6];

fn cfg(mode: Mode) -> Config {
    let mut c = Config::new("eth0", MAC, 0x00ab_cdef, mode);
    c.jitter = false;
    c
}

fn o(code: u16, data: &[u8]) -> Vec<u8> {
    let mut v = code.to_be_bytes().to_vec();
    v.extend_from_slice(&(data.len() as u16).to_be_bytes());
    v.extend_from_slice(data);
    v
}

fn msg(t: u8, xid: u32, opts: &[Vec<u8>]) -> Vec<u8> {
    let x = xid.to_be_bytes();
    let mut v = vec![t, x[1], x[2], x[3]];
    for op in opts {
        v.extend_from_slice(op);
    }
    v
}

fn iaaddr(a: &str, pref: u32, valid: u32, sub: &[Vec<u8>]) -> Vec<u8> {
    let ip: Ipv6Addr = a.parse().unwrap();
    let mut d = ip.octets().to_vec();
    d.extend_from_slice(&pref.to_be_bytes());
    d.extend_from_slice(&valid.to_be_bytes());
    for s in sub {
        d.extend_from_slice(s);
    }
    o(opt::IAADDR, &d)
}

fn ia_na(iaid: u32, sub: &[Vec<u8>]) -> Vec<u8> {
    let mut d = iaid.to_be_bytes().to_vec();
    d.extend_from_slice(&1800u32.to_be_bytes());
    d.extend_from_slice(&2880u32.to_be_bytes());
    for s in sub {
        d.extend_from_slice(s);
    }
    o(opt::IA_NA, &d)
}

fn status_opt(code: u16, text: &str) -> Vec<u8> {
    let mut d = code.to_be_bytes().to_vec();
    d.extend_from_slice(text.as_bytes());
    o(opt::STATUS_CODE, &d)
}

fn dns_opt(addrs: &[&str]) -> Vec<u8> {
    let mut d = Vec::new();
    for a in addrs {
        d.extend_from_slice(&a.parse::<Ipv6Addr>().unwrap().octets());
    }
    o(opt::DNS_SERVERS, &d)
}

fn url_opt(u: &str) -> Vec<u8> {
    o(opt::BOOTFILE_URL, u.as_bytes())
}

fn params_opt(ps: &[&str]) -> Vec<u8> {
    let mut d = Vec::new();
    for p in ps {
        d.extend_from_slice(&(p.len() as u16).to_be_bytes());
        d.extend_from_slice(p.as_bytes());
    }
    o(opt::BOOTFILE_PARAM, &d)
}

fn client_id(c: &Client) -> Vec<u8> {
    o(opt::CLIENTID, &c.config().duid())
}

/// What QEMU's libslirp answers to an INFORMATION-REQUEST (no server DUID).
fn slirp_reply(c: &Client) -> Vec<u8> {
    msg(
        msg_type::REPLY,
        c.xid(),
        &[
            client_id(c),
            dns_opt(&["fec0::3"]),
            url_opt("tftp://[fec0:0000:0000:0000:0000:0000:0000:0002]/boot.ipxe"),
        ],
    )
}

fn advertise(c: &Client, addr: &str, pref: Option<u8>, extra: &[Vec<u8>]) -> Vec<u8> {
    let mut opts = vec![
        client_id(c),
        o(opt::SERVERID, SERVER),
        ia_na(c.config().iaid(), &[iaaddr_ok(addr)]),
    ];
    if let Some(p) = pref {
        opts.push(o(opt::PREFERENCE, &[p]));
    }
    opts.extend_from_slice(extra);
    msg(msg_type::ADVERTISE, c.xid(), &opts)
}

fn iaaddr_ok(a: &str) -> Vec<u8> {
    iaaddr(a, 3600, 7200, &[])
}

fn sent_options(t: &Transmit) -> Packet6 {
    Packet6::parse(&t.payload).unwrap()
}

/// Top-level option codes of an encoded message, in order.
fn codes(payload: &[u8]) -> Vec<u16> {
    walk(&payload[4..], 4)
        .unwrap()
        .into_iter()
        .map(|(c, _, _)| c)
        .collect()
}

fn opt_data(payload: &[u8], code: u16) -> Option<Vec<u8>> {
    walk(&payload[4..], 4)
        .unwrap()
        .into_iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, d, _)| d.to_vec())
}

#[test]
fn information_request_contents() {
    let mut c = Client::new(cfg(Mode::Stateless));
    let t0 = Instant::now();
    let s = c.start(t0);
    assert_eq!(s.send.len(), 1);
    let p = &s.send[0].payload;
    assert_eq!(p[0], msg_type::INFORMATION_REQUEST);
    assert_eq!(u32::from_be_bytes([0, p[1], p[2], p[3]]), 0x00ab_cdef);
    let cs = codes(p);
    assert!(cs.contains(&opt::CLIENTID) && cs.contains(&8) && cs.contains(&opt::ORO));
    assert!(
        !cs.contains(&opt::IA_NA),
        "INFORMATION-REQUEST must not carry an IA"
    );
    assert!(!cs.contains(&opt::SERVERID));
    // DUID-LL from the MAC.
    assert_eq!(
        opt_data(p, opt::CLIENTID).unwrap(),
        vec![0, 3, 0, 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56]
    );
    let oro = opt_data(p, opt::ORO).unwrap();
    let oro: Vec<u16> = oro
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    for want in [23, 24, 59, 60, 32, 83] {
        assert!(oro.contains(&want), "ORO {oro:?} lacks {want}");
    }
    assert_eq!(opt_data(p, opt::CLIENT_ARCH_TYPE).unwrap(), vec![0, 0]);
    assert_eq!(opt_data(p, opt::NII).unwrap(), vec![1, 3, 16]);
    let vc = opt_data(p, opt::VENDOR_CLASS).unwrap();
    assert_eq!(&vc[..4], &343u32.to_be_bytes());
    assert_eq!(&vc[6..], b"PXEClient:Arch:00000:UNDI:003016");
    assert_eq!(
        usize::from(u16::from_be_bytes([vc[4], vc[5]])),
        vc.len() - 6
    );
    // Elapsed time 0 at the start.
    assert_eq!(opt_data(p, 8).unwrap(), vec![0, 0]);
    assert_eq!(s.deadline, Some(t0 + Duration::from_secs(1)));
}

#[test]
fn stateless_reply_from_slirp() {
    let mut c = Client::new(cfg(Mode::Stateless));
    let t0 = Instant::now();
    c.start(t0);
    let s = c.on_packet(&slirp_reply(&c), t0 + Duration::from_millis(5));
    let Outcome::Done(lease) = s.outcome else {
        panic!("{s:?}")
    };
    assert_eq!(lease.iface, "eth0");
    assert!(lease.addresses.is_empty());
    assert_eq!(lease.dns, vec!["fec0::3".parse::<Ipv6Addr>().unwrap()]);
    assert_eq!(
        lease.boot_file_url.as_deref(),
        Some("tftp://[fec0:0000:0000:0000:0000:0000:0000:0002]/boot.ipxe")
    );
    assert_eq!(s.deadline, None);
}

#[test]
fn stateless_retransmission_doubles_and_caps() {
    let mut c = Client::new(cfg(Mode::Stateless));
    let t0 = Instant::now();
    let mut s = c.start(t0);
    let mut at = Vec::new();
    let mut elapsed = Vec::new();
    for _ in 0..5 {
        let d = s.deadline.unwrap();
        at.push(d.duration_since(t0).as_secs());
        s = c.on_timeout(d);
        assert_eq!(s.send.len(), 1, "{s:?}");
        elapsed.push(opt_data(&s.send[0].payload, 8).unwrap());
    }
    // 1, 2, 4, 8, 8 s between sends.
    assert_eq!(at, vec![1, 3, 7, 15, 23]);
    // The next one would be at 31 s, past the 30 s limit.
    assert_eq!(s.deadline, Some(t0 + Duration::from_secs(30)));
    // Elapsed time in hundredths of a second: 1 s = 100.
    assert_eq!(elapsed[0], 100u16.to_be_bytes().to_vec());
    assert_eq!(elapsed[1], 300u16.to_be_bytes().to_vec());
}

#[test]
fn gives_up_after_give_up() {
    let mut c = Client::new(cfg(Mode::Stateless));
    let t0 = Instant::now();
    let mut s = c.start(t0);
    let mut n = 0;
    loop {
        n += 1;
        assert!(n < 50);
        let d = s.deadline.expect("a deadline while pending");
        s = c.on_timeout(d);
        if let Outcome::Failed(e) = &s.outcome {
            assert_eq!(*e, Dhcp6Error::NoReply(30));
            assert_eq!(d, t0 + Duration::from_secs(30));
            break;
        }
    }
}

#[test]
fn jitter_stays_within_ten_percent() {
    let mut conf = cfg(Mode::Stateful);
    conf.jitter = true;
    for seed in 1..200u32 {
        conf.xid = seed.wrapping_mul(2_654_435_761);
        let mut c = Client::new(conf.clone());
        let t0 = Instant::now();
        let s = c.start(t0);
        let first = s.deadline.unwrap().duration_since(t0);
        // SOLICIT: RAND strictly positive.
        assert!(first > Duration::from_secs(1), "{first:?}");
        assert!(first <= Duration::from_millis(1100), "{first:?}");
        let rt = c.next_rt(Duration::from_secs(2));
        assert!(rt >= Duration::from_millis(3800) && rt <= Duration::from_millis(4200));
        let capped = c.next_rt(Duration::from_secs(6));
        assert!(capped >= Duration::from_millis(7200) && capped <= Duration::from_millis(8800));
    }
}

#[test]
fn stateful_exchange() {
    let mut c = Client::new(cfg(Mode::Stateful));
    let t0 = Instant::now();
    let s = c.start(t0);
    let sol = &s.send[0].payload;
    assert_eq!(sol[0], msg_type::SOLICIT);
    let ia = opt_data(sol, opt::IA_NA).unwrap();
    assert_eq!(&ia[..4], &c.config().iaid().to_be_bytes());
    let oro = opt_data(sol, opt::ORO).unwrap();
    assert!(oro.chunks(2).any(|x| x == [0, 82]), "SOL_MAX_RT in ORO");
    // An advertisement without preference 255 is held until the first RT.
    let adv = advertise(
        &c,
        "2001:db8:1::150",
        None,
        &[url_opt("http://[2001:db8:1::1]/boot.ipxe")],
    );
    let s = c.on_packet(&adv, t0 + Duration::from_millis(100));
    assert!(s.send.is_empty());
    assert_eq!(s.deadline, Some(t0 + Duration::from_secs(1)));
    let s = c.on_timeout(t0 + Duration::from_secs(1));
    assert_eq!(s.send.len(), 1);
    let req = &s.send[0].payload;
    assert_eq!(req[0], msg_type::REQUEST);
    assert_eq!(opt_data(req, opt::SERVERID).unwrap(), SERVER);
    let p = sent_options(&s.send[0]);
    assert_eq!(p.ia_na.len(), 1);
    assert_eq!(
        p.ia_na[0].addrs[0].addr,
        "2001:db8:1::150".parse::<Ipv6Addr>().unwrap()
    );
    // A new transaction for the REQUEST; elapsed time restarts.
    assert_ne!(p.xid, 0x00ab_cdef);
    assert_eq!(opt_data(req, 8).unwrap(), vec![0, 0]);
    // A reply with the old xid is ignored.
    let stale = msg(
        msg_type::REPLY,
        0x00ab_cdef,
        &[
            client_id(&c),
            o(opt::SERVERID, SERVER),
            ia_na(c.config().iaid(), &[iaaddr_ok("2001:db8:1::150")]),
        ],
    );
    let s = c.on_packet(&stale, t0 + Duration::from_millis(1100));
    assert_eq!(s.outcome, Outcome::Pending);
    // The real REPLY; boot URL only in the ADVERTISE is kept.
    let reply = msg(
        msg_type::REPLY,
        c.xid(),
        &[
            client_id(&c),
            o(opt::SERVERID, SERVER),
            ia_na(c.config().iaid(), &[iaaddr_ok("2001:db8:1::150")]),
            dns_opt(&["2001:db8:1::1"]),
            params_opt(&["console=ttyS0", "quiet"]),
        ],
    );
    let s = c.on_packet(&reply, t0 + Duration::from_millis(1200));
    let Outcome::Done(lease) = s.outcome else {
        panic!("{s:?}")
    };
    assert_eq!(
        lease.addresses,
        vec!["2001:db8:1::150".parse::<Ipv6Addr>().unwrap()]
    );
    assert_eq!(
        lease.boot_file_url.as_deref(),
        Some("http://[2001:db8:1::1]/boot.ipxe")
    );
    assert_eq!(lease.boot_file_params, vec!["console=ttyS0", "quiet"]);
    assert_eq!(
        lease.dns,
        vec!["2001:db8:1::1".parse::<Ipv6Addr>().unwrap()]
    );
}

#[test]
fn preference_255_is_taken_at_once_and_highest_wins() {
    let mut c = Client::new(cfg(Mode::Stateful));
    let t0 = Instant::now();
    c.start(t0);
    let s = c.on_packet(
        &advertise(&c, "2001:db8:1::1a0", Some(255), &[]),
        t0 + Duration::from_millis(10),
    );
    assert_eq!(s.send.len(), 1);
    assert_eq!(s.send[0].payload[0], msg_type::REQUEST);

    let mut c = Client::new(cfg(Mode::Stateful));
    c.start(t0);
    let low = advertise(&c, "2001:db8:1::1", Some(1), &[]);
    let mut high = advertise(&c, "2001:db8:1::2", Some(9), &[]);
    // Different server DUID for the second.
    let pos = high
        .windows(SERVER.len())
        .position(|w| w == SERVER)
        .unwrap();
    high[pos + SERVER.len() - 1] = 0x77;
    c.on_packet(&low, t0 + Duration::from_millis(10));
    c.on_packet(&high, t0 + Duration::from_millis(20));
    let s = c.on_timeout(t0 + Duration::from_secs(1));
    let p = sent_options(&s.send[0]);
    assert_eq!(
        p.ia_na[0].addrs[0].addr,
        "2001:db8:1::2".parse::<Ipv6Addr>().unwrap()
    );
}

#[test]
fn advertise_checks() {
    let mut c = Client::new(cfg(Mode::Stateful));
    let t0 = Instant::now();
    c.start(t0);
    let t = t0 + Duration::from_millis(10);
    let iaid = c.config().iaid();
    // Wrong xid.
    let mut a = advertise(&c, "2001:db8:1::5", Some(255), &[]);
    a[3] ^= 1;
    assert!(c.on_packet(&a, t).send.is_empty());
    // Someone else's DUID.
    let other = msg(
        msg_type::ADVERTISE,
        c.xid(),
        &[
            o(opt::CLIENTID, &[0, 3, 0, 1, 1, 2, 3, 4, 5, 6]),
            o(opt::SERVERID, SERVER),
            ia_na(iaid, &[iaaddr_ok("2001:db8:1::5")]),
            o(opt::PREFERENCE, &[255]),
        ],
    );
    assert!(c.on_packet(&other, t).send.is_empty());
    // No server id.
    let nosid = msg(
        msg_type::ADVERTISE,
        c.xid(),
        &[client_id(&c), ia_na(iaid, &[iaaddr_ok("2001:db8:1::5")])],
    );
    let s = c.on_packet(&nosid, t);
    assert!(s.send.is_empty() && s.log[0].contains("without server"));
    // NoAddrsAvail.
    let none = msg(
        msg_type::ADVERTISE,
        c.xid(),
        &[
            client_id(&c),
            o(opt::SERVERID, SERVER),
            ia_na(iaid, &[status_opt(status::NO_ADDRS_AVAIL, "no addresses")]),
        ],
    );
    let s = c.on_packet(&none, t);
    assert!(s.send.is_empty());
    assert!(s.log[0].contains("NoAddrsAvail (2): no addresses"), "{s:?}");
    // An address with a zero valid lifetime, or for another IAID.
    let dead = msg(
        msg_type::ADVERTISE,
        c.xid(),
        &[
            client_id(&c),
            o(opt::SERVERID, SERVER),
            ia_na(iaid, &[iaaddr("2001:db8:1::5", 0, 0, &[])]),
            ia_na(iaid ^ 1, &[iaaddr_ok("2001:db8:1::6")]),
        ],
    );
    assert!(c.on_packet(&dead, t).send.is_empty());
    // A REPLY while soliciting (no rapid commit) is ignored.
    let r = msg(msg_type::REPLY, c.xid(), &[client_id(&c)]);
    assert_eq!(c.on_packet(&r, t).outcome, Outcome::Pending);
}

#[test]
fn request_retries_then_solicits_again() {
    let mut c = Client::new(cfg(Mode::Stateful));
    let t0 = Instant::now();
    c.start(t0);
    let s = c.on_packet(
        &advertise(&c, "2001:db8:1::5", Some(255), &[]),
        t0 + Duration::from_millis(10),
    );
    let mut d = s.deadline.unwrap();
    let mut types = Vec::new();
    for _ in 0..4 {
        let s = c.on_timeout(d);
        types.push(s.send[0].payload[0]);
        d = s.deadline.unwrap();
    }
    // REQUEST sent 4 times in all (1 + 3 retransmissions), then SOLICIT.
    assert_eq!(
        types,
        vec![
            msg_type::REQUEST,
            msg_type::REQUEST,
            msg_type::REQUEST,
            msg_type::SOLICIT
        ]
    );
}

#[test]
fn reply_without_address_or_not_on_link_solicits_again() {
    for st in [status::NO_ADDRS_AVAIL, status::NOT_ON_LINK] {
        let mut c = Client::new(cfg(Mode::Stateful));
        let t0 = Instant::now();
        c.start(t0);
        c.on_packet(
            &advertise(&c, "2001:db8:1::5", Some(255), &[]),
            t0 + Duration::from_millis(10),
        );
        let r = msg(
            msg_type::REPLY,
            c.xid(),
            &[client_id(&c), o(opt::SERVERID, SERVER), status_opt(st, "")],
        );
        let s = c.on_packet(&r, t0 + Duration::from_millis(20));
        assert_eq!(s.send.len(), 1);
        assert_eq!(s.send[0].payload[0], msg_type::SOLICIT);
        // A REPLY from another server is ignored.
    }
    let mut c = Client::new(cfg(Mode::Stateful));
    let t0 = Instant::now();
    c.start(t0);
    c.on_packet(
        &advertise(&c, "2001:db8:1::5", Some(255), &[]),
        t0 + Duration::from_millis(10),
    );
    let r = msg(
        msg_type::REPLY,
        c.xid(),
        &[
            client_id(&c),
            o(opt::SERVERID, &[0, 3, 0, 1, 9, 9, 9, 9, 9, 9]),
            ia_na(c.config().iaid(), &[iaaddr_ok("2001:db8:1::5")]),
        ],
    );
    let s = c.on_packet(&r, t0 + Duration::from_millis(20));
    assert_eq!(s.outcome, Outcome::Pending);
    assert!(s.send.is_empty());
}

#[test]
fn stateful_falls_back_to_information_request() {
    let mut conf = cfg(Mode::Stateful);
    conf.info_fallback = Some(Duration::from_secs(3));
    let mut c = Client::new(conf);
    let t0 = Instant::now();
    let mut s = c.start(t0);
    let mut sent = Vec::new();
    while !c.informing() {
        let d = s.deadline.unwrap();
        s = c.on_timeout(d);
        sent.push((d.duration_since(t0).as_secs(), s.send[0].payload[0]));
    }
    assert_eq!(
        sent,
        vec![(1, msg_type::SOLICIT), (3, msg_type::INFORMATION_REQUEST)]
    );
    let s = c.on_packet(&slirp_reply(&c), t0 + Duration::from_millis(3100));
    assert!(matches!(s.outcome, Outcome::Done(_)), "{s:?}");
}

#[test]
fn information_reply_with_error_status_is_ignored() {
    let mut c = Client::new(cfg(Mode::Stateless));
    let t0 = Instant::now();
    c.start(t0);
    let r = msg(
        msg_type::REPLY,
        c.xid(),
        &[client_id(&c), status_opt(1, "go away")],
    );
    let s = c.on_packet(&r, t0);
    assert_eq!(s.outcome, Outcome::Pending);
    assert!(s.log[0].contains("UnspecFail (1): go away"));
}

#[test]
fn decode_options() {
    let iaid = 0x1234_5678;
    let names = b"\x03lab\x07example\x00\x04boot\x07example\x00";
    let p = msg(
        msg_type::REPLY,
        0x00ab_cdef,
        &[
            o(opt::SERVERID, SERVER),
            ia_na(
                iaid,
                &[
                    iaaddr("2001:db8:1::150", 100, 200, &[status_opt(0, "ok")]),
                    iaaddr("2001:db8:1::151", 300, 200, &[]),
                ],
            ),
            dns_opt(&["2001:db8:1::1", "2001:db8:1::2"]),
            o(opt::DOMAIN_LIST, names),
            url_opt("http://[2001:db8:1::1]:8080/boot.ipxe"),
            params_opt(&["a=1", "", "b c"]),
            o(opt::PREFERENCE, &[7]),
            o(999, &[1, 2, 3]),
        ],
    );
    let p = Packet6::parse(&p).unwrap();
    assert_eq!(p.msg_type, msg_type::REPLY);
    assert_eq!(p.xid, 0x00ab_cdef);
    assert_eq!(p.server_id.as_deref(), Some(SERVER));
    assert_eq!(p.preference, Some(7));
    assert_eq!(p.ia_na[0].t1, 1800);
    assert_eq!(p.ia_na[0].addrs[0].valid, 200);
    assert_eq!(p.ia_na[0].addrs[0].status.as_ref().unwrap().message, "ok");
    // Preferred > valid is invalid (RFC 8415 §21.6): only the first counts.
    assert_eq!(
        p.addresses(iaid),
        vec!["2001:db8:1::150".parse::<Ipv6Addr>().unwrap()]
    );
    assert!(p.addresses(iaid + 1).is_empty());
    assert_eq!(p.dns.len(), 2);
    assert_eq!(p.domain_search, vec!["lab.example", "boot.example"]);
    assert_eq!(
        p.boot_file_url.as_deref(),
        Some("http://[2001:db8:1::1]:8080/boot.ipxe")
    );
    assert_eq!(p.boot_file_params, vec!["a=1", "", "b c"]);
}

#[test]
fn malformed_packets_are_errors() {
    let x = 0x00ab_cdef;
    let cases: Vec<(Vec<u8>, Packet6Error)> = vec![
        (vec![7, 1], Packet6Error::Truncated(2)),
        (
            // Option header cut off.
            msg(7, x, &[vec![0, 23, 0]]),
            Packet6Error::OptionOverrun {
                code: 23,
                offset: 4,
            },
        ),
        (
            // Overlong option.
            msg(7, x, &[vec![0, 59, 0, 50, b'h', b't']]),
            Packet6Error::OptionOverrun {
                code: 59,
                offset: 4,
            },
        ),
        (
            msg(7, x, &[o(opt::DNS_SERVERS, &[0; 15])]),
            Packet6Error::BadLength { code: 23, len: 15 },
        ),
        (
            msg(7, x, &[o(opt::STATUS_CODE, &[0])]),
            Packet6Error::BadLength { code: 13, len: 1 },
        ),
        (
            msg(7, x, &[o(opt::PREFERENCE, &[1, 2])]),
            Packet6Error::BadLength { code: 7, len: 2 },
        ),
        (
            msg(7, x, &[o(opt::IA_NA, &[0; 11])]),
            Packet6Error::BadLength { code: 3, len: 11 },
        ),
        (
            // IAADDR shorter than 24 bytes inside an IA_NA.
            msg(7, x, &[ia_na(1, &[o(opt::IAADDR, &[0; 20])])]),
            Packet6Error::BadLength { code: 5, len: 20 },
        ),
        (
            // A nested option whose length runs past the IA_NA (but not the packet).
            {
                let mut ia = ia_na(1, &[vec![0, 5, 0, 40]]);
                ia.extend_from_slice(&[0; 40]);
                msg(7, x, &[ia])
            },
            Packet6Error::OptionOverrun {
                code: 5,
                offset: 20,
            },
        ),
        (
            // Status code inside an IAADDR, too short.
            msg(
                7,
                x,
                &[ia_na(1, &[iaaddr("2001:db8::1", 1, 2, &[o(13, &[0])])])],
            ),
            Packet6Error::BadLength { code: 13, len: 1 },
        ),
        (
            msg(7, x, &[o(opt::BOOTFILE_PARAM, &[0, 9, b'a'])]),
            Packet6Error::BadLength { code: 60, len: 3 },
        ),
        (
            msg(7, x, &[o(opt::DOMAIN_LIST, b"\x05ab")]),
            Packet6Error::BadDomainList,
        ),
    ];
    for (bytes, want) in cases {
        assert_eq!(Packet6::parse(&bytes), Err(want.clone()), "{bytes:?}");
        // And the client survives it with a log line.
        let mut c = Client::new(cfg(Mode::Stateless));
        c.start(Instant::now());
        let s = c.on_packet(&bytes, Instant::now());
        assert_eq!(s.outcome, Outcome::Pending);
        assert!(s.log[0].starts_with("ignored a malformed DHCPv6 packet"));
    }
}

#[test]
fn never_panics_on_prefixes_and_bit_flips() {
    let c = Client::new(cfg(Mode::Stateful));
    let full = msg(
        msg_type::REPLY,
        c.xid(),
        &[
            client_id(&c),
            o(opt::SERVERID, SERVER),
            ia_na(c.config().iaid(), &[iaaddr_ok("2001:db8:1::150")]),
            dns_opt(&["2001:db8:1::1"]),
            o(opt::DOMAIN_LIST, b"\x03lab\x07example\x00"),
            url_opt("http://[2001:db8:1::1]/x"),
            params_opt(&["a"]),
        ],
    );
    for n in 0..full.len() {
        let _ = Packet6::parse(&full[..n]);
    }
    for i in 0..full.len() {
        for bit in 0..8 {
            let mut b = full.clone();
            b[i] ^= 1 << bit;
            let _ = Packet6::parse(&b);
            let mut c = Client::new(cfg(Mode::Stateful));
            let t0 = Instant::now();
            c.start(t0);
            let _ = c.on_packet(&b, t0);
            let _ = c.on_timeout(t0 + Duration::from_secs(1));
            let _ = c.on_packet(&b, t0 + Duration::from_secs(1));
        }
    }
}
