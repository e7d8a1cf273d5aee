//! Fuzzes the SNTP reply parser and the offset computation.
//!
//! The first 8 bytes are the nonce kboot sent, the rest is the datagram; whatever parses must
//! carry that nonce as its origin, a valid stratum and leap indicator, and give a sample
//! without overflowing.
#![no_main]

use std::time::Duration;

use kboot::net::sntp::{ntp_to_unix_nanos, parse_reply, sample, ReplyError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (nonce, datagram) = match data.split_first_chunk::<8>() {
        Some((n, rest)) => (u64::from_be_bytes(*n), rest),
        None => (0, data),
    };
    match parse_reply(datagram, &[nonce]) {
        Ok(r) => {
            assert_eq!(r.origin, nonce);
            assert!((1..=15).contains(&r.stratum));
            assert!(r.leap < 3);
            assert_ne!(r.transmit, 0);
            let t = ntp_to_unix_nanos(r.transmit);
            assert!(t >= -(70 * 366 * 86_400) * 1_000_000_000);
            for rtt in [Duration::ZERO, Duration::from_millis(3), Duration::MAX] {
                let _ = sample(&r, i64::from(datagram.len() as u32) * 1_000_000_007, rtt);
            }
        }
        Err(ReplyError::TooShort { len }) => assert!(len < 48),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
