//! Arbitrary bytes through the DHCPv6 message parser and through the client state machine
//! (stateless and stateful, before and after an ADVERTISE window): must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};

use kboot::net::dhcp6::{Client, Config, Mode, Packet6};
use kboot::net::Lease6;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet6::parse(data) {
        let _ = p.addresses(0);
        let _ = p.failure(0);
        let mut lease = Lease6::default();
        p.fill_lease(&mut lease);
        // Drive the state machines with the packet's own xid so it gets past the filter.
        for mode in [Mode::Stateless, Mode::Stateful] {
            let mut client = Client::new(Config::new("eth0", [2, 0, 0, 0, 0, 1], p.xid, mode));
            let now = Instant::now();
            client.start(now);
            let _ = client.on_packet(data, now);
            let _ = client.on_timeout(now + Duration::from_millis(1200));
            let _ = client.on_packet(data, now + Duration::from_millis(1300));
        }
    }
});
