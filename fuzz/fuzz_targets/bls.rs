#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        // The input split into several entries, so sorting sees many versions and keys.
        let entries: Vec<(String, String)> = text
            .split("\n\n")
            .enumerate()
            .map(|(i, t)| (format!("e{i}-{}.conf", t.len()), t.to_string()))
            .collect();
        for base in ["sda1:/", "http://10.0.2.2/boot/"] {
            let menu = kboot::config::bls::menu_from_entries(entries.clone(), base);
            for e in &menu.entries {
                let k = e.kernel.as_deref().expect("BLS entries always have a kernel");
                assert_eq!(kboot::fetch::url::resolve(None, k).as_deref(), Ok(k));
            }
        }
        let _ = kboot::config::bls::parse_entry(text, "x.conf", "sda1:/");
        let mut words = text.split_whitespace();
        if let (Some(a), Some(b)) = (words.next(), words.next()) {
            let ab = kboot::config::bls::version_cmp(a, b);
            assert_eq!(ab, kboot::config::bls::version_cmp(b, a).reverse());
            // GRUB blscfg's order (RPM's rpmvercmp) is antisymmetric too.
            let ab = kboot::config::bls::rpm_vercmp(a, b);
            assert_eq!(ab, kboot::config::bls::rpm_vercmp(b, a).reverse());
            let ab = kboot::config::bls::grub_blscfg_cmp(a, b);
            assert_eq!(ab, kboot::config::bls::grub_blscfg_cmp(b, a).reverse());
        }
        for (k, _) in kboot::config::bls::grub_keys(text) {
            assert!(!k.is_empty() && !k.contains(' ') && !k.contains('\n'), "{k:?}");
        }
    }
});
