//! Fuzzes the LVM2 text metadata parser and the dm-linear tables made from it: whatever
//! parses must give each visible LV a table or a reason, and a table must cover the LV from
//! sector 0 without gaps.
#![no_main]

use kboot::disk::lvm::parse_vg;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(vg) = parse_vg(text) {
        for lv in &vg.lvs {
            if let Ok(parts) = vg.linear_table(lv) {
                let mut next = 0;
                for p in parts {
                    assert_eq!(p.start, next);
                    assert!(p.len > 0);
                    next = p.start + p.len;
                }
            }
        }
    }
});
