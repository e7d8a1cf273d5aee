#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(name) = kboot::config::os_release::parse(text).display_name() {
            // Shown in a menu title: no control characters, no surrounding blanks.
            assert!(!name.chars().any(char::is_control), "{name:?}");
            assert_eq!(name.trim(), name);
            assert!(!name.is_empty());
        }
    }
});
