#![no_main]

use kboot::config::model::Handoff;
use kboot::net::static_ip::{from_conf_pairs, lease_from_static, parse_ip_param, IpConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(IpConfig::Static(s)) = parse_ip_param(text) {
        // A parsed static configuration round-trips through the handoff: the `ip=` kboot
        // would hand on parses back to the same address, gateway and mask.
        let lease = lease_from_static(&s, "eth0", [2, 0, 0, 0, 0, 1]);
        let args = kboot::cmdline::handoff::handoff_args(Handoff::Default, &lease);
        let ip = kboot::cmdline::get(&args, "ip").expect("an ip= for a static address");
        match parse_ip_param(&ip) {
            Ok(IpConfig::Static(back)) => {
                assert_eq!(back.client, s.client);
                assert_eq!(back.gateway, s.gateway);
                assert_eq!(back.netmask, s.netmask);
            }
            other => panic!("{text:?} -> {ip:?} -> {other:?}"),
        }
    }
    // kboot.conf keys: one `key=value` per line.
    let pairs: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let _ = from_conf_pairs(&pairs);
});
