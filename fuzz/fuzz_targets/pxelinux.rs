#![no_main]

use kboot::config::include::ParseContext;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        // Every include returns the same text: include fan-out and depth must stay bounded.
        let mut calls = 0usize;
        let mut fetch = |_: &str| {
            calls += 1;
            assert!(calls <= 1000, "include budget not enforced");
            Ok(text.to_string())
        };
        let menu = kboot::config::pxelinux::parse(
            text,
            "tftp://10.0.2.2/boot/pxelinux.cfg/default",
            &ParseContext::default(),
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
