//! Fuzzes the kernel uevent parser: any datagram gives an event, "not a kernel event"
//! (libudev's) or an error, never a panic; what parses has a device path under / and
//! non-empty variable names.
#![no_main]

use kboot::hw::uevent::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(ev)) = parse(data) {
        assert!(ev.devpath.starts_with('/'));
        assert!(ev.vars.iter().all(|(k, _)| !k.is_empty()));
        let _ = (ev.subsystem(), ev.modalias(), ev.get("INTERFACE"));
    }
});
