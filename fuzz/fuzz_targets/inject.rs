#![no_main]

//! kboot.inject= and kboot.modules= values, and the segment and hooks built from them.

use kboot::cmdline::flavor::Flavor;
use kboot::cmdline::inject::{collect, parse_inject, parse_modules, prepare, segment};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first bytes up to a NUL are a kboot.inject= value, the rest a module list and the
    // content of the injected file.
    let (head, rest) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(value) = std::str::from_utf8(head) else {
        return;
    };
    let modules = std::str::from_utf8(rest)
        .ok()
        .and_then(|m| parse_modules(m).ok())
        .unwrap_or_default();
    // Whatever the bytes, unpacking stays bounded and never panics.
    let _ = prepare("x.ko", rest.to_vec());
    let Ok(i) = parse_inject(value) else {
        return;
    };
    // A parsed path is relative, normalised and safe to write into a shell script.
    assert!(!i.path.starts_with('/') && !i.path.contains("//"), "{i:?}");
    assert!(!i.path.split('/').any(|p| p == ".." || p == "."), "{i:?}");
    assert!(
        !i.path.contains(|c: char| c.is_whitespace() || "'\"$`\\;&|<>(){}*?".contains(c)),
        "{i:?}"
    );
    assert!(!i.url.is_empty() && i.mode <= 0o7777);
    for flavor in [Flavor::Dracut, Flavor::InitramfsTools] {
        let files = collect(flavor, std::slice::from_ref(&i), &modules, &[], |_| {
            Ok(rest.to_vec())
        });
        if let Ok(files) = files {
            if let Ok(seg) = segment(&files) {
                assert_eq!(seg.len() % 4, 0);
                let segs = kboot::boot::initrd::segments(&seg).expect("our segment reads back");
                assert_eq!(segs.len(), 1);
                // Never a directory entry that would replace a merged-/usr symlink.
                for name in &segs[0].files {
                    assert!(!matches!(name.as_str(), "lib" | "bin" | "sbin" | "lib64"), "{name}");
                }
            }
        }
    }
});
