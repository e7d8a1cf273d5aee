#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = kboot::tpm::codec::parse_extend(data);
    if let Ok(pcrs) = kboot::tpm::codec::parse_pcr_read(data) {
        assert!(pcrs.iter().all(|(p, _)| *p < 255 * 8));
    }
    let _ = kboot::tpm::codec::parse_pcr_banks(data);
    if let Ok(events) = kboot::tpm::eventlog::decode(data) {
        // What decodes encodes back to a log that decodes the same.
        let again = kboot::tpm::eventlog::encode(&events);
        let round = kboot::tpm::eventlog::decode(&again).expect("our own log decodes");
        assert_eq!(round.len(), events.len());
    }
});
