#![no_main]

use kboot::cmdline::flavor::{render, Flavor};
use kboot::cmdline::root::{expand, parse_root_uri, RootSource};
use kboot::net::Lease;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lease = Lease {
        mac: [0x52, 0x54, 0, 0x12, 0x34, 0x56],
        client: Some([10, 0, 2, 15].into()),
        next_server: Some([10, 0, 2, 2].into()),
        hostname: Some("h".into()),
        ..Default::default()
    };
    let _ = expand(text, &lease, Some("u"));
    let Ok(root) = parse_root_uri(text) else {
        return;
    };
    // The display form carries no CHAP password and parses back to the same source.
    let shown = root.to_string();
    match &root {
        RootSource::Iscsi(r) if r.chap.is_some() => {
            assert!(shown.contains(":***"), "{shown}")
        }
        RootSource::Template(_) => {}
        _ => assert_eq!(
            parse_root_uri(&shown).as_ref(),
            Ok(&root),
            "{text:?} -> {shown:?}"
        ),
    }
    for flavor in [Flavor::Dracut, Flavor::InitramfsTools, Flavor::Kernel] {
        if let Ok(r) = render(&root, flavor, &lease) {
            // Rendered parameters never hold whitespace inside one parameter's value
            // (outside templates, whose text is the entry's own).
            if !matches!(root, RootSource::Template(_)) {
                for tok in kboot::cmdline::split(&r.args) {
                    assert!(!tok.contains('"'), "{tok}");
                }
                // CHAP credentials go into files, never onto the command line.
                for tok in kboot::cmdline::split(&r.args) {
                    let key = kboot::cmdline::param_key(&tok);
                    assert!(!kboot::cmdline::secrets::is_secret_key(key), "{tok}");
                }
            }
        }
    }
});
