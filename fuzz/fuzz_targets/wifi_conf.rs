//! Fuzzes the Wi-Fi text formats: wifi.conf (wpa_supplicant.conf syntax), wpa_supplicant's
//! scan results, status and event messages. None may panic; what parses must be sane.
#![no_main]

use kboot::net::wifi::{conf, ctrl, scan};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let c = conf::parse(&text);
    for n in &c.networks {
        assert!(!n.ssid.is_empty());
    }
    if let Ok((results, _bad)) = scan::parse_results(&text) {
        let nets = scan::networks(&results);
        assert!(nets.len() <= results.len());
        for w in nets.windows(2) {
            assert!(w[0].signal >= w[1].signal);
        }
    }
    let _ = ctrl::parse_status(&text);
    let _ = ctrl::parse_event(&text);
    let _ = scan::unescape(&text);
});
