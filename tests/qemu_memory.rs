//! End to end in QEMU: a kernel and initrd too big for the machine's kexec are refused with a
//! sentence, and kboot goes on (no bare EINVAL from kexec_file_load, no out-of-memory panic).
//! Linux refuses kexec segments that add up to more than half of the RAM; kboot works that out
//! before it calls kexec_file_load (src/boot/memory.rs). Here the guest has 256 MiB and the
//! initrd is 120 MiB (sparse, fetched over QEMU's TFTP): it fits in memory, but not in half of
//! it with the kernel. `kboot.menu=off` prints kboot's messages as plain lines.
//! Needs `qemu/build`.

mod common;

use common::{tftp_folder, Guest, GuestOptions};
use std::time::Duration;

#[test]
fn a_payload_over_half_of_the_ram_is_refused_with_a_sentence() {
    let conf = "default=big\ntimeout=0\n\
                big='bzImage-kboot initrd=big.img console=ttyS0 kboot_test=big'\n";
    let dir = tftp_folder("memory", "kboot.conf", conf);
    let big = std::fs::File::create(dir.join("big.img")).unwrap();
    big.set_len(120 << 20).unwrap();
    let mut g = Guest::start(
        "memory",
        &GuestOptions {
            append: "kboot.menu=off kboot.disks=off",
            memory_mb: 256,
            ..GuestOptions::serving(&dir)
        },
    );
    let line = g.line_after("kboot: error: ", Duration::from_secs(180));
    assert!(
        line.contains("allows at most half of this machine's"),
        "not the half-of-RAM refusal: {line}"
    );
    assert!(line.contains("more RAM"), "no advice: {line}");
    // kboot is still there: nothing was started, and the kernel did not panic.
    std::thread::sleep(Duration::from_secs(2));
    let out = g.plain_output();
    assert!(
        !out.contains("Kernel panic") && !out.contains("KBOOT-DEMO"),
        "{out}"
    );
}
