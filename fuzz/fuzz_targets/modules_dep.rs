//! Fuzzes the modules.dep parser and the load order.
//!
//! Whatever parses is ordered module by module (the first 64): an order names each module
//! once, ends with the module asked for, and puts every module after all it needs; a cycle or
//! a missing entry must be an error, never a hang or a panic.
#![no_main]

use kboot::hw::dep::DepTable;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(table) = DepTable::parse(data) else {
        return;
    };
    for name in table.modules.keys().take(64) {
        let Ok(order) = table.load_order(name) else {
            continue;
        };
        assert_eq!(order.last(), Some(name));
        for (i, m) in order.iter().enumerate() {
            assert!(!order[..i].contains(m), "{m} twice");
            let entry = table.modules.get(m).expect("ordered modules are in the table");
            for dep in &entry.deps {
                assert!(order[..i].contains(dep), "{m} before its dependency {dep}");
            }
        }
    }
});
