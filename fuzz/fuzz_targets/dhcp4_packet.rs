//! Arbitrary bytes through the DHCPv4 reply parser and option decoding into a Lease, and
//! through the client state machine: must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::Instant;

use kboot::net::dhcp4::{Client, Config};
use kboot::net::dhcp4_packet::{parse_lease, Packet};

fuzz_target!(|data: &[u8]| {
    let _ = parse_lease(data);
    if let Ok(p) = Packet::parse(data) {
        let _ = p.has_boot_info();
        let _ = p.server_message();
        // Drive the state machine with the packet's own xid/MAC so it gets past the filter.
        let mut client = Client::new(Config::new("eth0", p.client_mac(), p.xid));
        let now = Instant::now();
        client.start(now);
        let _ = client.on_packet(data, now);
        let _ = client.on_timeout(now + std::time::Duration::from_millis(400));
        let _ = client.on_packet(data, now);
    }
});
