#![no_main]

use kboot::config::include::ParseContext;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        // Every `source`/`configfile` returns the same text: fan-out and depth stay bounded.
        let mut calls = 0usize;
        let mut fetch = |_: &str| {
            calls += 1;
            assert!(calls <= 1000, "include budget not enforced");
            Ok(text.to_string())
        };
        let ctx = ParseContext {
            mac: Some([0x52, 0x54, 0, 0x12, 0x34, 0x56]),
            ip: Some(std::net::Ipv4Addr::new(10, 0, 2, 15)),
            efi: data.len() % 2 == 0,
            ..Default::default()
        };
        let menu = kboot::config::grub::parse(
            text,
            "tftp://10.0.2.2/boot/grub/grub.cfg",
            &ctx,
            &mut fetch,
        );
        for e in &menu.entries {
            if let Some(k) = e.kernel.as_deref() {
                assert_eq!(kboot::fetch::url::resolve(None, k).as_deref(), Ok(k));
            }
        }
        let _ = format!("{menu:?}");
    }
});
