#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sections) = kboot::boot::uki::sections(data) {
        for s in &sections {
            assert!(s.offset + s.len <= data.len());
        }
    }
    if let Ok(uki) = kboot::boot::uki::parse(data) {
        let _ = uki.title();
    }
});
