//! End to end in QEMU: kboot's kernel booted with `lockdown=integrity` (what Secure Boot does
//! to it, without the firmware), so that only signed kernels and modules load.
//!
//! - `qemu/build --kernel-trust CERT`: kboot's kernel built with a test certificate among its
//!   trusted keys (qemu/build-kernel-trust-test makes the key and that kernel) boots Debian's
//!   kernel re-signed with the test key, and refuses the same kernel unsigned, or signed by a
//!   key it does not trust, each with its sentence.
//! - The module pack is signed at the kernel's build (MODULE_SIG_ALL): in lockdown its modules
//!   load, and a module whose signature was taken off is refused with a sentence.
//!
//! Needs `qemu/build` and `qemu/build-kernel-trust-test` (the README's test command runs both),
//! and Debian's `sbsigntool`, `xz-utils`, `cpio` (qemu/setup installs them).

mod common;

use common::{built, keys, run_ok, sbsign, Guest, GuestOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// From QEMU's start to the target's command line (TCG, 2 cores shared by parallel tests).
const BOOT: Duration = Duration::from_secs(240);

fn folder(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kboot-e2e-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        built("demo-initrd.cpio.gz"),
        dir.join("demo-initrd.cpio.gz"),
    )
    .unwrap();
    dir
}

/// Debian's kernel with its signature taken off (sbattach --remove): unsigned.
fn unsigned_debian(dir: &Path) -> PathBuf {
    let out = dir.join("vmlinuz-unsigned");
    std::fs::copy(built("tftp/vmlinuz-debian"), &out).unwrap();
    run_ok(Command::new("sbattach").arg("--remove").arg(&out));
    out
}

/// Close the error box, go to the menu's `n`th entry (0 = the first) and boot it.
fn pick(g: &mut Guest, n: usize) {
    std::thread::sleep(Duration::from_millis(500));
    let mut seq: Vec<&[u8]> = vec![b" ", keys::HOME];
    seq.extend(std::iter::repeat_n(keys::DOWN, n));
    seq.push(keys::ENTER);
    g.type_keys(&seq);
}

#[test]
fn with_lockdown_on_the_command_line_only_kernels_signed_by_a_kernel_trust_key_boot() {
    let trust = built("test/kernel-trust/bzImage");
    let test_dir = trust.parent().unwrap().to_path_buf();
    let dir = folder("kernel-trust");
    let unsigned = unsigned_debian(&dir);
    sbsign(
        &test_dir.join("key.pem"),
        &test_dir.join("cert.pem"),
        &unsigned,
        &dir.join("vmlinuz-testkey"),
    );
    // Another key, made now: the kernel has never seen its certificate.
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    run_ok(Command::new("openssl").args([
        "req",
        "-new",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=a key kboot does not trust/",
        "-keyout",
        other.join("key.pem").to_str().unwrap(),
        "-out",
        other.join("cert.pem").to_str().unwrap(),
    ]));
    sbsign(
        &other.join("key.pem"),
        &other.join("cert.pem"),
        &unsigned,
        &dir.join("vmlinuz-otherkey"),
    );
    std::fs::write(
        dir.join("kboot.conf"),
        "default=unsigned\ntimeout=0\n\
         unsigned='vmlinuz-unsigned initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test=unsigned'\n\
         otherkey='vmlinuz-otherkey initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test=otherkey'\n\
         testkey='vmlinuz-testkey initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test=testkey'\n",
    )
    .unwrap();
    // The kernel of `qemu/build --kernel-trust cert.pem`, with kboot's initramfs beside it.
    let initramfs = built("initramfs.cpio.gz");
    let mut g = Guest::start(
        "kernel-trust",
        &GuestOptions {
            payload: "test/kernel-trust/bzImage",
            initrd: Some(&initramfs),
            append: "lockdown=integrity",
            memory_mb: 768,
            ..GuestOptions::serving(&dir)
        },
    );
    g.wait_for_all(
        &[
            "this kernel is not signed, and kboot runs in lockdown",
            "because lockdown= is on its kernel command line",
            "Press any key to continue",
        ],
        BOOT,
    );
    pick(&mut g, 1);
    g.wait_for_all(
        &[
            "this kernel's signature is not from a key kboot trusts",
            "qemu/build --kernel-trust CERT",
            "Press any key to continue",
        ],
        BOOT,
    );
    pick(&mut g, 2);
    let hello = g.line_after("KBOOT-DEMO: hello from the target kernel", BOOT);
    assert!(hello.contains("-amd64"), "not Debian's kernel: {hello}");
    let cmdline = g.target_cmdline(Duration::from_secs(30));
    assert!(cmdline.contains("kboot_test=testkey"), "{cmdline}");
    let out = g.plain_output();
    for refused in ["kboot_test=unsigned", "kboot_test=otherkey"] {
        assert!(
            !out.contains(&format!("KBOOT-DEMO: cmdline: console=ttyS0 {refused}")),
            "{refused} booted"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Everything but the appended signature of a module (`~Module signature appended~\n` after
/// the signature and its 12-byte `struct module_signature`, whose last 4 bytes are the
/// signature's length, big endian).
fn without_signature(module: &[u8]) -> Vec<u8> {
    const MAGIC: &[u8] = b"~Module signature appended~\n";
    assert!(module.ends_with(MAGIC), "the pack's module is not signed");
    let info_end = module.len() - MAGIC.len();
    let sig_len = u32::from_be_bytes(module[info_end - 4..info_end].try_into().unwrap()) as usize;
    module[..info_end - 12 - sig_len].to_vec()
}

/// The pack's vmxnet3.ko.xz with its signature taken off, in a cpio archive that, unpacked
/// after the pack, replaces the signed one.
fn unsigned_vmxnet3_overlay(dir: &Path) -> PathBuf {
    let tree = dir.join("overlay");
    std::fs::create_dir_all(&tree).unwrap();
    let pack = built("modules.cpio");
    run_ok(
        Command::new("cpio")
            .current_dir(&tree)
            .args(["-i", "--quiet", "-d", "-F"])
            .arg(&pack)
            .arg("lib/modules/*/vmxnet3.ko.xz"),
    );
    let found = Command::new("find")
        .arg(&tree)
        .args(["-name", "vmxnet3.ko.xz"])
        .output()
        .unwrap();
    let path = PathBuf::from(String::from_utf8(found.stdout).unwrap().trim());
    assert!(path.is_file(), "no vmxnet3.ko.xz in {}", pack.display());
    run_ok(Command::new("xz").arg("-d").arg(&path));
    let ko = path.with_extension("");
    let stripped = without_signature(&std::fs::read(&ko).unwrap());
    std::fs::write(&ko, stripped).unwrap();
    run_ok(Command::new("xz").args(["--check=crc32"]).arg(&ko));
    let overlay = dir.join("unsigned-vmxnet3.cpio");
    run_ok(Command::new("sh").current_dir(&tree).arg("-c").arg(format!(
        "find lib | cpio --quiet -o -H newc -R 0:0 > {}",
        overlay.display()
    )));
    overlay
}

fn pack_guest(name: &str, dir: &Path, initrd: &Path) -> Guest {
    Guest::start(
        name,
        &GuestOptions {
            append: "lockdown=integrity kboot.menu=off",
            nics: &["vmxnet3,netdev=n0"],
            initrd: Some(initrd),
            memory_mb: 768,
            ..GuestOptions::serving(dir)
        },
    )
}

#[test]
fn in_lockdown_the_packs_signed_modules_load_and_an_unsigned_one_is_refused() {
    let dir = folder("lockdown-modules");
    std::fs::copy(built("tftp/vmlinuz-debian"), dir.join("vmlinuz-debian")).unwrap();
    std::fs::write(
        dir.join("kboot.conf"),
        "default=debian\ntimeout=0\n\
         debian='vmlinuz-debian initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test=lockdown-pack'\n",
    )
    .unwrap();
    // Signed: vmxnet3 (not built into kboot's kernel) loads, gets the lease, Debian's signed
    // kernel boots.
    let pack = built("modules.cpio.xz");
    let mut g = pack_guest("lockdown-pack", &dir, &pack);
    g.wait_for(
        "kernel lockdown is integrity (lockdown= on kboot's command line): only signed kernels and modules load",
        BOOT,
    );
    let line = g.line_after("loaded vmxnet3", BOOT);
    assert!(line.contains("(15ad:07b0)"), "the load line: {line}");
    let cmdline = g.target_cmdline(BOOT);
    assert!(cmdline.contains("kboot_test=lockdown-pack"), "{cmdline}");
    drop(g);

    // Unsigned: the same module without its signature, laid over the pack's.
    let overlay = unsigned_vmxnet3_overlay(&dir);
    let both = dir.join("pack-with-unsigned-vmxnet3");
    let mut bytes = std::fs::read(&pack).unwrap();
    bytes.extend(std::fs::read(&overlay).unwrap());
    std::fs::write(&both, bytes).unwrap();
    let mut g = pack_guest("lockdown-unsigned", &dir, &both);
    let refused = g.line_after("the kernel refused module vmxnet3", BOOT);
    assert!(
        refused.contains("the kernel is in lockdown and the module is not signed"),
        "{refused}"
    );
    assert!(!g.plain_output().contains("loaded vmxnet3"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_signature_is_taken_off_exactly() {
    let mut module = b"\x7fELF-the-module".to_vec();
    let signed_len = module.len();
    module.extend([0xAA; 5]); // the signature
    module.extend([0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 5]); // struct module_signature, sig_len 5
    module.extend(b"~Module signature appended~\n");
    assert_eq!(without_signature(&module), module[..signed_len]);
}
