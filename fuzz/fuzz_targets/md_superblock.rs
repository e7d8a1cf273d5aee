//! Fuzzes the MD RAID superblock parser, the input read as each version at its usual offset.
#![no_main]

use kboot::disk::md::{parse, MdVersion};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for (version, offset) in [
        (MdVersion::V0_90, 0),
        (MdVersion::V1_0, 0),
        (MdVersion::V1_1, 0),
        (MdVersion::V1_2, 4096),
    ] {
        if let Ok(Some(sb)) = parse(version, data, offset) {
            assert_eq!(sb.uuid.len(), 35);
        }
    }
});
