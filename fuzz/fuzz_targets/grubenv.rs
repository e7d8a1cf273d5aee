#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // With and without the signature, so both the rejection and the body are exercised.
    let mut signed = kboot::config::grubenv::SIGNATURE.as_bytes().to_vec();
    signed.extend_from_slice(data);
    for block in [data, &signed[..]] {
        if let Ok(vars) = kboot::config::grubenv::parse(block) {
            for (k, _) in &vars {
                assert!(!k.is_empty() && !k.contains('\n') && !k.contains('='), "{k:?}");
            }
            let mut names: Vec<_> = vars.iter().map(|(k, _)| k).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), vars.len(), "a name is listed twice");
        }
    }
});
