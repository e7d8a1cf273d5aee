#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let menu = kboot::config::kboot::parse(text, Some("tftp://10.0.2.2/kboot.conf"));
        // Every surviving entry has a kernel that is itself a valid absolute location.
        for e in &menu.entries {
            let k = e
                .kernel
                .as_deref()
                .expect("kboot.conf entries always have a kernel");
            assert_eq!(kboot::fetch::url::resolve(None, k).as_deref(), Ok(k));
        }
        let _ = kboot::config::kboot::parse(text, None);
        let _ = kboot::config::kboot::parse(text, Some("sda1:/boot/kboot.conf"));
    }
});
