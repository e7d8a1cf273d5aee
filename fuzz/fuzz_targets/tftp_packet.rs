//! Fuzzes the TFTP packet parser and the download state machine.
//!
//! The input is parsed as one packet; then it is cut into a script of events driving a
//! [`Transfer`]: each event starts with a selector byte (tick, cancel, or a datagram from the
//! server, its TID or a stranger) and datagrams carry a one-byte length.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kboot::fetch::tftp::packet::Packet;
use kboot::fetch::tftp::{TftpOptions, Transfer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::parse(data) {
        // Whatever parses must re-encode (except ERRORs, whose message is tolerant).
        if !matches!(p, Packet::Error { .. }) {
            let bytes = p.encode().expect("a parsed packet re-encodes");
            assert_eq!(Packet::parse(&bytes).as_ref(), Ok(&p));
        }
    }

    let server: SocketAddr = ([10, 0, 2, 2], 69).into();
    let tid: SocketAddr = ([10, 0, 2, 2], 50000).into();
    let stranger: SocketAddr = ([10, 0, 2, 3], 50000).into();
    let opts = TftpOptions {
        blksize: 16,
        windowsize: 4,
        max_size: Some(1 << 16),
        ..TftpOptions::default()
    };
    let mut now = Instant::now();
    let Ok(mut t) = Transfer::new(server, "/f", &opts, now) else {
        return;
    };
    let mut written = 0u64;
    let mut rest = data;
    while let [sel, tail @ ..] = rest {
        rest = tail;
        let step = match sel % 6 {
            0 => {
                now += Duration::from_millis(u64::from(*sel) * 40);
                t.handle_timeout(now)
            }
            1 => t.cancel(),
            k => {
                let Some((&len, tail)) = rest.split_first() else {
                    break;
                };
                let len = usize::from(len).min(tail.len());
                let (datagram, tail) = tail.split_at(len);
                rest = tail;
                let from = match k {
                    2 => server,
                    3 => stranger,
                    _ => tid,
                };
                t.handle_datagram(now, from, datagram)
            }
        };
        if let Some(w) = step.write {
            written += w.len() as u64;
        }
        assert_eq!(written, t.progress().0);
        assert!(written <= 1 << 16);
        while t.poll_transmit().is_some() {}
        if step.outcome.is_some() {
            assert!(t.is_finished());
            break;
        }
    }
});
