//! Unified kernel images end to end (issue 13, item 3). A UKI is built at test time the way
//! ukify does it without ukify (Debian 12 has none): `objcopy --add-section` onto systemd's
//! stub (Debian's systemd-boot-efi, installed by qemu/setup) with kboot's kernel as `.linux`,
//! the demo initrd as `.initrd`, an os-release, a uname and a command line carrying a marker.
//! It sits on a FAT disk at `/EFI/Linux/kboot-test.efi` (Boot Loader Spec type #2), and:
//! - unsigned, with no trust configured, it boots by its own command line;
//! - signed with `sbsign` by a certificate made now with openssl, it boots when kboot trusts
//!   that certificate (`/etc/kboot/trusted-certs/test.pem`, from an initrd over kboot's
//!   initramfs: what `qemu/build --trust-cert` lays in), and swtpm's PCR 11 then holds its
//!   sections as systemd-stub measures them (recomputed here from the file);
//! - the same signed UKI with a changed `.cmdline` is refused with the sentence, nothing
//!   kexec'd; so is one signed by a certificate kboot does not trust;
//! - a UKI named by a kboot.conf over TFTP boots with its own command line, not the entry's.
//!
//! Needs `qemu/build` to have run (the README's test command does it) and qemu/setup's packages
//! (systemd-boot-efi, sbsigntool, openssl, mtools, dosfstools, swtpm).

mod common;

use common::swtpm::Swtpm;
use common::{keys, run_ok, tftp_folder, Guest, GuestOptions};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const BOOT: Duration = Duration::from_secs(200);
const MENU: Duration = Duration::from_secs(120);
const STUB: &str = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";
const UKI_PATH: &str = "/EFI/Linux/kboot-test.efi";
const TITLE: &str = "kboot UKI test";

/// A UKI in `dir` whose `.cmdline` is `console=ttyS0 kboot_test=<marker>`.
fn build_uki(dir: &Path, marker: &str) -> PathBuf {
    assert!(
        Path::new(STUB).exists(),
        "{STUB} is missing: run qemu/setup (Debian package systemd-boot-efi)"
    );
    let osrel = dir.join("osrel");
    std::fs::write(
        &osrel,
        format!("NAME=\"kboot test\"\nPRETTY_NAME=\"{TITLE}\"\nVERSION_ID=1\n"),
    )
    .unwrap();
    let cmdline = dir.join("cmdline");
    std::fs::write(&cmdline, format!("console=ttyS0 kboot_test={marker}")).unwrap();
    let uname = dir.join("uname");
    std::fs::write(&uname, "6.6.0-kboot-test").unwrap();
    let out = dir.join("kboot-test.efi");
    let section = |name: &str, file: &Path, vma: &str| -> Vec<String> {
        vec![
            "--add-section".into(),
            format!("{name}={}", file.display()),
            "--change-section-vma".into(),
            format!("{name}={vma}"),
        ]
    };
    let mut args = Vec::new();
    args.extend(section(".osrel", &osrel, "0x20000"));
    args.extend(section(".cmdline", &cmdline, "0x30000"));
    args.extend(section(".uname", &uname, "0x40000"));
    args.extend(section(".linux", &dir.join("bzImage-kboot"), "0x2000000"));
    args.extend(section(
        ".initrd",
        &dir.join("demo-initrd.cpio.gz"),
        "0x3000000",
    ));
    run_ok(Command::new("objcopy").args(&args).arg(STUB).arg(&out));
    out
}

/// A certificate and its key, made now with openssl (RSA 2048, as sbsign wants).
fn make_cert(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("{name}.key"));
    let cert = dir.join(format!("{name}.pem"));
    run_ok(
        Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
            ])
            .arg("-subj")
            .arg(format!("/CN={name}"))
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert),
    );
    (key, cert)
}

fn sign(uki: &Path, key: &Path, cert: &Path) -> PathBuf {
    let out = uki.with_extension("signed.efi");
    common::sbsign(key, cert, uki, &out);
    out
}

/// A FAT file system (no partition table: the guest's /dev/vda) holding `uki` at UKI_PATH.
fn fat_disk(dir: &Path, uki: &Path) -> PathBuf {
    let image = dir.join("esp.img");
    let _ = std::fs::remove_file(&image);
    run_ok(
        Command::new("mkfs.vfat")
            .args(["-n", "KBOOTESP", "-C"])
            .arg(&image)
            .arg("32768"),
    );
    for d in ["::/EFI", "::/EFI/Linux"] {
        run_ok(Command::new("mmd").arg("-i").arg(&image).arg(d));
    }
    run_ok(
        Command::new("mcopy")
            .arg("-i")
            .arg(&image)
            .arg(uki)
            .arg(format!("::{UKI_PATH}")),
    );
    image
}

/// An initrd over kboot's initramfs holding `cert` as /etc/kboot/trusted-certs/test.pem.
fn cert_initrd(dir: &Path, cert: &Path) -> PathBuf {
    let segment = kboot::cmdline::secrets::cpio_segment(&[(
        "etc/kboot/trusted-certs/test.pem".into(),
        std::fs::read(cert).unwrap(),
    )])
    .unwrap();
    let path = dir.join("certs.cpio");
    std::fs::write(&path, segment).unwrap();
    path
}

/// Boot kboot with `disk` and no network config, and open the disk's submenu and its first
/// entry (the UKI) as a user would.
fn boot_disk(name: &str, dir: &Path, disk: &Path, initrd: Option<&Path>, extra: &[&str]) -> Guest {
    let mut g = Guest::start(
        name,
        &GuestOptions {
            bootfile: "none",
            disk: Some(disk),
            initrd,
            extra,
            ..GuestOptions::serving(dir)
        },
    );
    g.wait_for("Disk vda", MENU);
    g.wait_for("No boot config found", MENU);
    std::thread::sleep(Duration::from_millis(500));
    g.type_keys(&[b" ", keys::HOME, keys::ENTER]);
    std::thread::sleep(Duration::from_secs(1));
    g.type_keys(&[keys::ENTER]);
    g
}

/// The sections of a PE file (name, contents cut to VirtualSize), read here independently of
/// kboot's reader.
fn pe_sections(file: &[u8]) -> Vec<(String, Vec<u8>)> {
    let u16at = |a: usize| u16::from_le_bytes([file[a], file[a + 1]]) as usize;
    let u32at = |a: usize| u32::from_le_bytes(file[a..a + 4].try_into().unwrap()) as usize;
    let pe = u32at(0x3C);
    let count = u16at(pe + 6);
    let table = pe + 24 + u16at(pe + 20);
    (0..count)
        .map(|i| {
            let h = table + 40 * i;
            let name = String::from_utf8_lossy(&file[h..h + 8])
                .trim_end_matches('\0')
                .to_string();
            let size = u32at(h + 8).min(u32at(h + 16));
            let at = u32at(h + 20);
            (name, file[at..at + size].to_vec())
        })
        .collect()
}

/// PCR 11 after systemd-stub's measurements of `uki`: per section of the UKI specification's
/// list present, in its order, SHA-256 of the name with its NUL, then of the contents.
fn expected_pcr11(uki: &[u8]) -> String {
    let order = [
        ".linux", ".osrel", ".cmdline", ".initrd", ".ucode", ".splash", ".dtb", ".uname", ".sbat",
        ".pcrpkey",
    ];
    let sections = pe_sections(uki);
    let mut pcr = [0u8; 32];
    let mut extend = |data: &[u8]| {
        let digest: [u8; 32] = Sha256::digest(data).into();
        let mut h = Sha256::new();
        h.update(pcr);
        h.update(digest);
        pcr = h.finalize().into();
    };
    for name in order {
        if let Some((_, data)) = sections.iter().find(|(n, _)| n == name) {
            extend(format!("{name}\0").as_bytes());
            extend(data);
        }
    }
    pcr.iter().map(|b| format!("{b:02X}")).collect()
}

#[test]
fn a_uki_built_with_objcopy_and_signed_with_sbsign_verifies_on_the_host() {
    // The same check PID 1 runs, on the real stub's layout and sbsign's real output: fast, and
    // it tells a layout problem apart from a boot problem.
    let dir = tftp_folder("uki-host", "unused.conf", "");
    let uki = build_uki(&dir, "uki-host");
    let (key, cert) = make_cert(&dir, "kboot UKI owner");
    let (_, other) = make_cert(&dir, "someone else");
    let signed = std::fs::read(sign(&uki, &key, &cert)).unwrap();
    let trusted = kboot::trust::authenticode::parse_pem(&std::fs::read(&cert).unwrap()).unwrap();
    let untrusted = kboot::trust::authenticode::parse_pem(&std::fs::read(&other).unwrap()).unwrap();
    use kboot::trust::authenticode::verify;
    assert_eq!(
        verify("x.efi", &signed, &trusted).unwrap(),
        "CN=kboot UKI owner"
    );
    let e = verify("x.efi", &signed, &untrusted)
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not trust"), "{e}");
    let e = verify("x.efi", &std::fs::read(&uki).unwrap(), &trusted)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("x.efi is not signed"), "{e}");
    let parsed = kboot::boot::uki::parse(&signed).unwrap();
    assert_eq!(
        parsed.cmdline.as_deref(),
        Some("console=ttyS0 kboot_test=uki-host")
    );
    assert_eq!(
        parsed.title().as_deref(),
        Some("kboot UKI test (6.6.0-kboot-test)")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_uki_on_a_disk_boots_with_its_own_command_line() {
    let dir = tftp_folder("uki-own", "unused.conf", "");
    let uki = build_uki(&dir, "uki-own");
    let disk = fat_disk(&dir, &uki);
    let mut g = boot_disk("uki-own", &dir, &disk, None, &[]);
    g.wait_for(&format!("unified kernel image vda:{UKI_PATH}"), BOOT);
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline.contains("kboot_test=uki-own"),
        "target cmdline: {cmdline}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_signed_uki_boots_under_a_trusted_certificate_and_is_measured_into_pcr_11() {
    let dir = tftp_folder("uki-signed", "unused.conf", "");
    let uki = build_uki(&dir, "uki-signed");
    let (key, cert) = make_cert(&dir, "kboot UKI owner");
    let signed = sign(&uki, &key, &cert);
    let disk = fat_disk(&dir, &signed);
    let certs = cert_initrd(&dir, &cert);
    let tpm = Swtpm::start(&dir);
    let args = tpm.qemu_args();
    let extra: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut g = boot_disk("uki-signed", &dir, &disk, Some(&certs), &extra);
    // (The log line naming the signer is redrawn by difference on the serial line, so it is
    // not matched here: that the UKI boots at all says it: the certificate makes the policy
    // `require`, under which a UKI from a disk boots only with a valid signature by it, as
    // the refusal test shows with the same set-up.)
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline.contains("kboot_test=uki-signed"),
        "target cmdline: {cmdline}"
    );
    let pcr11 = g.line_after("KBOOT-DEMO: pcr-sha256 11:", BOOT);
    assert_eq!(pcr11, expected_pcr11(&std::fs::read(&signed).unwrap()));
    let log = g.line_after("KBOOT-DEMO: tpm-eventlog.json:", BOOT);
    assert!(log.contains("\".linux\""), "{log}");
    drop(tpm);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_signed_uki_with_a_changed_command_line_is_refused() {
    let dir = tftp_folder("uki-changed", "unused.conf", "");
    let uki = build_uki(&dir, "uki-changed");
    let (key, cert) = make_cert(&dir, "kboot UKI owner");
    let signed = sign(&uki, &key, &cert);
    // The marker in .cmdline changed in place (same length: the layout stays, the signature
    // too), as someone with write access to the ESP would.
    let mut bytes = std::fs::read(&signed).unwrap();
    let at = bytes
        .windows(b"kboot_test=uki-changed".len())
        .position(|w| w == b"kboot_test=uki-changed")
        .unwrap();
    bytes[at..at + 22].copy_from_slice(b"kboot_test=uki-chAnged");
    let evil = dir.join("evil.efi");
    std::fs::write(&evil, &bytes).unwrap();
    let disk = fat_disk(&dir, &evil);
    let certs = cert_initrd(&dir, &cert);
    let mut g = boot_disk("uki-changed", &dir, &disk, Some(&certs), &[]);
    g.wait_for_all(
        &[
            &format!("vda:{UKI_PATH} does not match its Authenticode"),
            "it was changed after it was signed",
        ],
        BOOT,
    );
    std::thread::sleep(Duration::from_secs(5));
    let out = g.plain_output();
    assert!(
        !out.contains("KBOOT-DEMO") && !out.contains("kboot: starting"),
        "the target started after the refusal:\n{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_uki_named_by_a_kboot_conf_over_tftp_boots_with_its_own_command_line() {
    // The entry's command line is ignored (and the log says so): the UKI's .cmdline wins.
    let dir = tftp_folder(
        "uki-tftp",
        "kboot.conf",
        "default=uki\ntimeout=1\nuki='kboot-test.efi console=ttyS0 kboot_test=from-the-entry'\n",
    );
    build_uki(&dir, "uki-tftp");
    let mut g = Guest::start(
        "uki-tftp",
        &GuestOptions {
            append: "kboot.menu=off",
            ..GuestOptions::serving(&dir)
        },
    );
    g.wait_for("unified kernel image tftp://10.0.2.2/kboot-test.efi", BOOT);
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline.contains("kboot_test=uki-tftp"),
        "target cmdline: {cmdline}"
    );
    assert!(
        !cmdline.contains("from-the-entry"),
        "target cmdline: {cmdline}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_uki_signed_by_an_untrusted_certificate_is_refused() {
    let dir = tftp_folder("uki-untrusted", "unused.conf", "");
    let uki = build_uki(&dir, "uki-untrusted");
    let (_, trusted) = make_cert(&dir, "kboot UKI owner");
    let (key, other) = make_cert(&dir, "someone else");
    let signed = sign(&uki, &key, &other);
    let disk = fat_disk(&dir, &signed);
    let certs = cert_initrd(&dir, &trusted);
    let mut g = boot_disk("uki-untrusted", &dir, &disk, Some(&certs), &[]);
    // (The error dialog wraps the sentence: its parts are matched.)
    g.wait_for("does not trust (issued by CN=someone else", BOOT);
    std::thread::sleep(Duration::from_secs(5));
    let out = g.plain_output();
    assert!(
        !out.contains("KBOOT-DEMO") && !out.contains("kboot: starting"),
        "the target started after the refusal:\n{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
