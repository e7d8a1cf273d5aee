#![no_main]

use libfuzzer_sys::fuzz_target;

// The Authenticode check over any bytes: the PE layout, the certificate table and the PKCS#7
// parsing must give errors, never panics. (Trusted certificates: none, then a fixed one, so
// that the signer lookup and the digest run too.)
fuzz_target!(|data: &[u8]| {
    let _ = kboot::trust::authenticode::digest(data);
    let _ = kboot::trust::authenticode::is_signed(data);
    let _ = kboot::trust::authenticode::verify("fuzz.efi", data, &[]);
    if let Ok(certs) = kboot::trust::authenticode::parse_pem(data) {
        let _ = kboot::trust::authenticode::verify("fuzz.efi", data, &certs);
    }
});
