//! Fuzzes the LVM2 label and metadata area readers on raw device bytes: the label in the
//! first sectors, and the same bytes read as a metadata area at offset 0 and 4096.
#![no_main]

use kboot::disk::lvm::{label::parse_label, mda};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(label)) = parse_label(data) {
        assert_eq!(label.pv_uuid.len(), 32);
        assert!(label.sector < 4);
    }
    for start in [0, 4096] {
        if let Ok(Some(text)) = mda::read_text(data, start) {
            assert!(text.len() <= data.len());
        }
    }
});
