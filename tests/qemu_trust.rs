//! End to end in QEMU: signed boots (issue 13, item 1). Keys are made at test time with
//! Debian's `minisign` (qemu/setup installs it), configs and files signed with it, and kboot
//! trusts the key through `kboot.trust=` or `/etc/kboot/trusted.pub` (an extra initrd unpacked
//! over its initramfs). Each attack must be refused with its sentence and nothing kexec'd;
//! `kboot.verify=warn` boots with the warning shown.
//!
//! Needs `qemu/build` to have run (the README's test command does it).

mod common;

use common::{keys, tftp_folder, Guest, GuestOptions};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const BOOT: Duration = Duration::from_secs(150);
const MENU: Duration = Duration::from_secs(90);

/// A minisign key pair made for one test (no password), and its public key's base64 line.
struct TestKey {
    secret: PathBuf,
    public_b64: String,
    public_file: PathBuf,
}

fn minisign(args: &[&str]) {
    let out = Command::new("minisign")
        .args(args)
        .output()
        .expect("minisign is missing: run qemu/setup (Debian package minisign)");
    assert!(
        out.status.success(),
        "minisign {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn make_key(dir: &Path, name: &str) -> TestKey {
    let secret = dir.join(format!("{name}.key"));
    let public_file = dir.join(format!("{name}.pub"));
    minisign(&[
        "-G",
        "-W",
        "-f",
        "-p",
        public_file.to_str().unwrap(),
        "-s",
        secret.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&public_file).unwrap();
    let public_b64 = text.lines().nth(1).unwrap().trim().to_string();
    TestKey {
        secret,
        public_b64,
        public_file,
    }
}

/// Sign `file` into `file.minisig`.
fn sign(key: &TestKey, file: &Path) {
    let sig = format!("{}.minisig", file.display());
    minisign(&[
        "-S",
        "-s",
        key.secret.to_str().unwrap(),
        "-m",
        file.to_str().unwrap(),
        "-x",
        &sig,
    ]);
}

fn sha256_of(file: &Path) -> String {
    let digest = Sha256::digest(std::fs::read(file).unwrap());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A TFTP folder with a kboot.conf whose only entry boots kboot's kernel and the demo initrd
/// (its marker in the command line), pinned by SHA-256 when `pins`; signed by `key` if given.
fn folder(test: &str, pins: bool, timeout: u32) -> PathBuf {
    let dir = tftp_folder(test, "kboot.conf", "");
    let pin = if pins {
        format!(
            " kboot.sha256.kernel={} kboot.sha256.initrd={}",
            sha256_of(&dir.join("bzImage-kboot")),
            sha256_of(&dir.join("demo-initrd.cpio.gz"))
        )
    } else {
        String::new()
    };
    let conf = format!(
        "default=signed\ntimeout={timeout}\n\
         signed='bzImage-kboot initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test={test}{pin}'\n"
    );
    std::fs::write(dir.join("kboot.conf"), conf).unwrap();
    dir
}

fn guest(name: &str, tftp: &Path, append: &str) -> Guest {
    Guest::start(
        name,
        &GuestOptions {
            append,
            ..GuestOptions::serving(tftp)
        },
    )
}

/// `sentence` (one that names the file and the key) is shown and the target never starts.
fn refused(g: &mut Guest, needles: &[&str]) {
    g.wait_for_all(needles, BOOT);
    std::thread::sleep(Duration::from_secs(5));
    let out = g.plain_output();
    assert!(
        !out.contains("KBOOT-DEMO") && !out.contains("kboot: starting"),
        "the target started after the refusal:\n{out}"
    );
}

fn key_id(key: &TestKey) -> String {
    let text = std::fs::read_to_string(&key.public_file).unwrap();
    // minisign's comment drops leading zeros ("EF6C23761A31BDD"); kboot shows all 16 digits.
    let id = text
        .lines()
        .next()
        .and_then(|l| l.rsplit(' ').next())
        .unwrap();
    format!("{:016X}", u64::from_str_radix(id, 16).unwrap())
}

#[test]
fn a_signed_config_with_pins_boots_and_says_by_which_key() {
    let dir = folder("signedpins", true, 1);
    let key = make_key(&dir, "owner");
    sign(&key, &dir.join("kboot.conf"));
    // The key in kboot's image: /etc/kboot/trusted.pub, from an initrd over its initramfs
    // (what qemu/build --trust-key lays in), with a second, unrelated key before it.
    let other = make_key(&dir, "other");
    let both = format!(
        "{}{}",
        std::fs::read_to_string(&other.public_file).unwrap(),
        std::fs::read_to_string(&key.public_file).unwrap()
    );
    let segment =
        kboot::cmdline::secrets::cpio_segment(&[("etc/kboot/trusted.pub".into(), both.into())])
            .unwrap();
    let keys_cpio = dir.join("keys.cpio");
    std::fs::write(&keys_cpio, segment).unwrap();
    let mut g = Guest::start(
        "signedpins",
        &GuestOptions {
            append: "kboot.menu=off",
            initrd: Some(&keys_cpio),
            ..GuestOptions::serving(&dir)
        },
    );
    let id = key_id(&key);
    g.wait_for(&format!("kboot.conf: signed by key {id}"), MENU);
    g.wait_for(&format!("signed by key {id} (config, command line"), BOOT);
    let cmdline = g.target_cmdline(BOOT);
    assert!(cmdline.contains("kboot_test=signedpins"), "{cmdline}");
    assert!(
        !cmdline.contains("kboot.sha256"),
        "pins are not passed on: {cmdline}"
    );
}

#[test]
fn a_config_without_a_signature_is_refused() {
    let dir = folder("nosig", true, 1);
    let key = make_key(&dir, "owner");
    let mut g = guest(
        "nosig",
        &dir,
        &format!("kboot.menu=off kboot.trust={}", key.public_b64),
    );
    refused(
        &mut g,
        &[
            "Not booted: tftp://10.0.2.2/kboot.conf is not signed: there is no tftp://10.0.2.2/kboot.conf.minisig",
            &format!("kboot trusts only what key {} signed", key_id(&key)),
        ],
    );
}

#[test]
fn a_config_signed_by_another_key_is_refused() {
    let dir = folder("otherkey", true, 1);
    let trusted = make_key(&dir, "owner");
    let intruder = make_key(&dir, "intruder");
    sign(&intruder, &dir.join("kboot.conf"));
    let mut g = guest(
        "otherkey",
        &dir,
        &format!("kboot.menu=off kboot.trust={}", trusted.public_b64),
    );
    refused(
        &mut g,
        &[&format!(
            "tftp://10.0.2.2/kboot.conf is signed by key {}, which kboot does not trust (it trusts key {})",
            key_id(&intruder),
            key_id(&trusted)
        )],
    );
}

#[test]
fn a_config_changed_after_signing_is_refused() {
    let dir = folder("changed", true, 1);
    let key = make_key(&dir, "owner");
    let conf = dir.join("kboot.conf");
    sign(&key, &conf);
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(
        &conf,
        text.replace("console=ttyS0", "console=ttyS0 init=/bin/sh"),
    )
    .unwrap();
    let mut g = guest(
        "changed",
        &dir,
        &format!("kboot.menu=off kboot.trust={}", key.public_b64),
    );
    refused(
        &mut g,
        &[&format!(
            "tftp://10.0.2.2/kboot.conf does not match its signature by key {}: it was changed after it was signed",
            key_id(&key)
        )],
    );
}

#[test]
fn a_kernel_swapped_on_the_server_fails_its_pin() {
    let dir = folder("swapkernel", true, 1);
    let key = make_key(&dir, "owner");
    sign(&key, &dir.join("kboot.conf"));
    // The attacker's kernel: any other bytes.
    let mut evil = std::fs::read(dir.join("bzImage-kboot")).unwrap();
    evil[4096] ^= 0xff;
    std::fs::write(dir.join("bzImage-kboot"), evil).unwrap();
    let mut g = guest(
        "swapkernel",
        &dir,
        &format!("kboot.menu=off kboot.trust={}", key.public_b64),
    );
    refused(
        &mut g,
        &[&format!(
            "Not booted: tftp://10.0.2.2/bzImage-kboot differs from the SHA-256 the config signed by key {} pins",
            key_id(&key)
        )],
    );
}

#[test]
fn an_initrd_swapped_after_signing_fails_its_own_signature() {
    // No pins: the kernel and the initrd each have a .minisig.
    let dir = folder("swapinitrd", false, 1);
    let key = make_key(&dir, "owner");
    for f in ["kboot.conf", "bzImage-kboot", "demo-initrd.cpio.gz"] {
        sign(&key, &dir.join(f));
    }
    let mut evil = std::fs::read(dir.join("demo-initrd.cpio.gz")).unwrap();
    evil.extend_from_slice(&[0u8; 512]);
    std::fs::write(dir.join("demo-initrd.cpio.gz"), evil).unwrap();
    let mut g = guest(
        "swapinitrd",
        &dir,
        &format!("kboot.menu=off kboot.trust={}", key.public_b64),
    );
    let id = key_id(&key);
    refused(
        &mut g,
        &[&format!(
            "tftp://10.0.2.2/demo-initrd.cpio.gz is neither pinned by a SHA-256 in the config signed by key {id} nor signed itself (tftp://10.0.2.2/demo-initrd.cpio.gz does not match its signature by key {id}: it was changed after it was signed)"
        )],
    );
}

#[test]
fn per_file_signatures_boot_without_pins() {
    let dir = folder("perfile", false, 1);
    let key = make_key(&dir, "owner");
    for f in ["kboot.conf", "bzImage-kboot", "demo-initrd.cpio.gz"] {
        sign(&key, &dir.join(f));
    }
    let mut g = guest(
        "perfile",
        &dir,
        &format!("kboot.menu=off kboot.trust={}", key.public_b64),
    );
    let cmdline = g.target_cmdline(BOOT);
    assert!(cmdline.contains("kboot_test=perfile"), "{cmdline}");
}

#[test]
fn an_edited_command_line_is_refused_under_require() {
    let dir = folder("edited", true, 60);
    let key = make_key(&dir, "owner");
    sign(&key, &dir.join("kboot.conf"));
    let mut g = guest("edited", &dir, &format!("kboot.trust={}", key.public_b64));
    g.wait_for_all(&["Menu from tftp://10.0.2.2/kboot.conf: 1 entries"], MENU);
    std::thread::sleep(Duration::from_millis(500));
    g.type_keys(&[b"e"]);
    g.type_keys(&[b" init=/bin/sh"]);
    g.type_keys(&[keys::ENTER]);
    refused(
        &mut g,
        &["the command line was changed", "kboot.verify=warn"],
    );
}

#[test]
fn warn_boots_an_unsigned_config_with_the_warning_shown() {
    let dir = folder("warn", true, 3);
    let key = make_key(&dir, "owner");
    let mut g = guest(
        "warn",
        &dir,
        &format!("kboot.verify=warn kboot.trust={}", key.public_b64),
    );
    g.wait_for_all(
        &["Not signed: tftp://10.0.2.2/kboot.conf is not signed"],
        MENU,
    );
    let cmdline = g.target_cmdline(BOOT);
    assert!(cmdline.contains("kboot_test=warn"), "{cmdline}");
}

/// `kboot verify URL --key K` on the host: the report a boot server's CI would read.
#[test]
fn kboot_verify_reports_each_entry_and_fails_on_any_unsigned_one() {
    let dir = std::env::temp_dir().join(format!("kboot-verify-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("vmlinuz"), "KERNEL").unwrap();
    std::fs::write(dir.join("initrd.img"), "INITRD").unwrap();
    let key = make_key(&dir, "owner");
    let conf = dir.join("kboot.conf");
    std::fs::write(
        &conf,
        format!(
            "default=a\na='vmlinuz initrd=initrd.img kboot.sha256.kernel={} kboot.sha256.initrd={}'\nb='vmlinuz initrd=initrd.img'\n",
            sha256_of(&dir.join("vmlinuz")),
            sha256_of(&dir.join("initrd.img"))
        ),
    )
    .unwrap();
    sign(&key, &conf);
    let run = |key_arg: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_kboot"))
            .args(["verify", conf.to_str().unwrap(), "--key", key_arg])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let id = key_id(&key);
    let (ok, report) = run(key.public_file.to_str().unwrap());
    assert!(!ok, "entry b has neither pins nor signatures:\n{report}");
    assert!(
        report.contains(&format!("ok    entry 'a': signed by key {id}")),
        "{report}"
    );
    assert!(report.contains("FAIL  entry 'b': "), "{report}");
    sign(&key, &dir.join("vmlinuz"));
    sign(&key, &dir.join("initrd.img"));
    let (ok, report) = run(&key.public_b64);
    assert!(ok, "{report}");
    assert!(
        report.contains(&format!("ok    entry 'b': signed by key {id}")),
        "{report}"
    );
    let other = make_key(&dir, "other");
    let (ok, report) = run(&other.public_b64);
    assert!(!ok);
    assert!(report.contains("which kboot does not trust"), "{report}");
    let _ = std::fs::remove_dir_all(dir);
}

/// A second initrd (an uncompressed newc archive holding one file), for the tests of several
/// initrds.
fn second_initrd(dir: &Path, text: &str) -> PathBuf {
    let tree = dir.join("second-tree");
    std::fs::create_dir_all(tree.join("etc")).unwrap();
    std::fs::write(tree.join("etc/kboot-second"), text).unwrap();
    let out = dir.join("second.cpio");
    let status = Command::new("sh")
        .current_dir(&tree)
        .arg("-c")
        .arg(format!(
            "find etc | cpio --quiet -o -H newc -R 0:0 > {}",
            out.display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    out
}

#[test]
fn each_of_several_initrds_is_checked_by_its_own_signature() {
    let dir = tftp_folder("twoinitrds", "kboot.conf", "");
    std::fs::write(
        dir.join("kboot.conf"),
        "default=two\ntimeout=0\n\
         two='bzImage-kboot initrd=demo-initrd.cpio.gz,second.cpio console=ttyS0 kboot_test=twoinitrds'\n",
    )
    .unwrap();
    let second = second_initrd(&dir, "signed\n");
    let key = make_key(&dir, "owner");
    for f in [
        "kboot.conf",
        "bzImage-kboot",
        "demo-initrd.cpio.gz",
        "second.cpio",
    ] {
        sign(&key, &dir.join(f));
    }
    let append = format!("kboot.menu=off kboot.trust={}", key.public_b64);
    let mut g = guest("twoinitrds", &dir, &append);
    g.wait_for("signed by key", BOOT);
    let cmdline = g.target_cmdline(BOOT);
    assert!(cmdline.contains("kboot_test=twoinitrds"), "{cmdline}");
    drop(g);

    // The second initrd changed after signing (same size): its own signature fails, and only
    // its name is in the sentence.
    let mut bytes = std::fs::read(&second).unwrap();
    let at = bytes
        .windows(6)
        .position(|w| w == b"signed")
        .expect("the file's text in the archive");
    bytes[at..at + 6].copy_from_slice(b"SIGNED");
    std::fs::write(&second, bytes).unwrap();
    let mut g = guest("twoinitrds-swapped", &dir, &append);
    refused(&mut g, &["second.cpio", "Not booted"]);
    let out = g.plain_output();
    assert!(
        !out.contains("demo-initrd.cpio.gz is neither pinned"),
        "the unchanged initrd was blamed:\n{out}"
    );
}
