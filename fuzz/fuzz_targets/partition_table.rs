//! Fuzzes the partition table sniffer and the filesystem/LUKS probes on a disk's first bytes.
#![no_main]

use kboot::disk::{luks::luks_version, partition_table};
use kboot::fetch::local::probe;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let t = partition_table(data);
    assert!(t.is_none() || data.len() >= 512);
    let _ = probe(data);
    let _ = luks_version(data);
});
