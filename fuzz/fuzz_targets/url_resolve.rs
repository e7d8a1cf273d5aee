#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // First line: the base ("-" for none); second line: the reference.
    let (base, reference) = text
        .split_once('\n')
        .unwrap_or(("tftp://10.0.2.2/boot/kboot.conf", text));
    let base = (base != "-").then_some(base);
    let _ = kboot::fetch::url::parse_location(reference);
    if let Ok(resolved) = kboot::fetch::url::resolve(base, reference) {
        // A resolved location is absolute and canonical: resolving it again changes nothing.
        let again = kboot::fetch::url::resolve(None, &resolved);
        assert_eq!(
            again.as_deref(),
            Ok(resolved.as_str()),
            "base {base:?} ref {reference:?}"
        );
    }
    let _ = kboot::config::prompt::parse_prompt(text, None, base);
});
