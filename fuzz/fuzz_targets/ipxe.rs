#![no_main]

use kboot::config::include::ParseContext;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let ctx = ParseContext {
            mac: Some([0x52, 0x54, 0, 0x12, 0x34, 0x56]),
            ip: Some(std::net::Ipv4Addr::new(10, 0, 2, 15)),
            next_server: Some("10.0.2.2".into()),
            hostname: Some("fuzz".into()),
            uuid: None,
            efi: data.len() % 2 == 0,
            ..Default::default()
        };
        // Every chained script is the input itself: chains, loops and nesting all at once.
        let own = text.to_string();
        let mut fetch = |u: &str| -> Result<String, String> {
            if u.len() % 3 == 0 {
                Err("not found".into())
            } else {
                Ok(own.clone())
            }
        };
        let menu = kboot::config::ipxe::parse(text, "http://10.0.2.2/boot.ipxe", &ctx, &mut fetch);
        // Every kernel is a canonical absolute location.
        fn check(entries: &[kboot::config::Entry]) {
            for e in entries {
                if let Some(k) = e.kernel.as_deref() {
                    assert_eq!(kboot::fetch::url::resolve(None, k).as_deref(), Ok(k));
                }
                check(&e.children);
            }
        }
        check(&menu.entries);
        let _ = kboot::config::detect::sniff(text, "http://10.0.2.2/x");
    }
});
