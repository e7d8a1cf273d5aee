//! Fuzzes the modules.alias parser and the fnmatch matcher.
//!
//! The first line of the input is a modalias, the rest a modules.alias file. Whatever parses
//! must look the modalias up without panicking and give each module once, in `_` spelling;
//! every pattern, with its special characters quoted, must match its own text.
#![no_main]

use kboot::hw::alias::{fnmatch, AliasTable};
use libfuzzer_sys::fuzz_target;

/// `text` as a pattern matching exactly itself.
fn quoted(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 2);
    for &b in text {
        if matches!(b, b'*' | b'?' | b'[' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let (modalias, file) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    assert!(fnmatch(&quoted(modalias), modalias));
    assert!(fnmatch(b"*", modalias));
    let _ = fnmatch(modalias, file);
    if let Ok(table) = AliasTable::parse(file) {
        let modalias = String::from_utf8_lossy(modalias);
        let found = table.lookup(&modalias);
        for (i, m) in found.iter().enumerate() {
            assert!(!m.contains('-'));
            assert!(!found[..i].contains(m), "{m} twice");
            assert!(table.aliases.iter().any(|a| &a.module == m));
        }
    }
});
