#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (keys, _) = kboot::trust::keys::parse_key_file(&text);
    if let Ok(id) = kboot::trust::keys::signature_key_id(&text) {
        // A signature that names a key: verifying garbage against any key is an error.
        let trust = kboot::trust::Trust {
            keys,
            policy: kboot::trust::Policy::Require,
            certs: Vec::new(),
        };
        if let Ok(k) = trust.verify("f", data, Ok(&text)) {
            assert_eq!(k, id);
        }
    }
    let _ = kboot::trust::keys::base64_decode(&text);
});
