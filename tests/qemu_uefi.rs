//! End to end in QEMU under UEFI (OVMF, Debian's `ovmf` package): kboot's payload is an EFI
//! application (the kernel's EFI stub) started from the UEFI shell's `startup.nsh` on a FAT
//! disk, with its command line in the load options, and boots Debian's kernel, which finds
//! UEFI's runtime services (`/sys/firmware/efi`). With Secure Boot enforcing (OVMF's
//! "snakeoil" variables: the test key in PK, KEK and db) the firmware refuses an unsigned kboot
//! and starts the signed one; that kboot locks its kernel down, refuses an unsigned target
//! kernel with its sentence and boots Debian's signed kernel.
//!
//! Under Secure Boot OVMF does not start its own UEFI shell (unsigned): kboot starts from the
//! removable-media path `\EFI\BOOT\BOOTX64.EFI` there, without load options.
//!
//! OVMF under TCG is slow (about 10 s to the shell, 8 s from the shell to kboot's first
//! frame): two boots in all, with generous timeouts. The FAT image is written with mtools
//! (no mount). Needs `qemu/build` (with the demo folder: Debian's kernel) and Debian's `ovmf`,
//! `mtools` and `sbsigntool` packages (qemu/setup installs them).

mod common;

use common::{built, keys, run_ok, tftp_folder, Guest};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// From QEMU's start to the target's marker.
const BOOT: Duration = Duration::from_secs(300);
const OVMF: &str = "/usr/share/OVMF";
const SNAKEOIL_KEY: &str = "/usr/share/ovmf/PkKek-1-snakeoil.key";
const SNAKEOIL_CERT: &str = "/usr/share/ovmf/PkKek-1-snakeoil.pem";

/// A FAT image (no partition table, as a USB stick is often formatted) at `dir/esp.img`
/// holding `files` (path in the image, file on the host) and `startup.nsh` with `lines`.
fn esp(dir: &Path, files: &[(&str, &Path)], lines: &[&str]) -> PathBuf {
    let img = dir.join("esp.img");
    let _ = std::fs::remove_file(&img);
    let i = img.to_str().unwrap();
    // 64 MiB: mformat -C creates the file; -T sectors, -h/-s a geometry mtools accepts.
    run_ok(Command::new("mformat").args([
        "-i", i, "-C", "-T", "131072", "-h", "64", "-s", "32", "-v", "KBOOT", "::",
    ]));
    let mut dirs: Vec<String> = Vec::new();
    for (path, _) in files {
        let mut at = String::new();
        let parts: Vec<&str> = path.split('/').collect();
        for p in &parts[..parts.len() - 1] {
            at = format!("{at}/{p}");
            if !dirs.contains(&at) {
                run_ok(Command::new("mmd").args(["-i", i, &format!("::{at}")]));
                dirs.push(at.clone());
            }
        }
    }
    for (path, host) in files {
        run_ok(
            Command::new("mcopy")
                .args(["-i", i])
                .arg(host)
                .arg(format!("::/{path}")),
        );
    }
    if lines.is_empty() {
        return img;
    }
    let nsh = dir.join("startup.nsh");
    let text: String = lines.iter().map(|l| format!("{l}\r\n")).collect();
    std::fs::write(&nsh, text).unwrap();
    run_ok(
        Command::new("mcopy")
            .args(["-i", i])
            .arg(&nsh)
            .arg("::/startup.nsh"),
    );
    img
}

/// OVMF (its own copy of the variable store) with `esp` as the boot disk and one virtio NIC on
/// QEMU's user network serving `tftp`. `secure`: the Secure Boot build with the snakeoil
/// variables (SMM on q35, as that build requires). Network boot is not tried: the disk has the
/// only boot index, so OVMF drops its PXE and HTTP boot options and goes from the disk (no
/// `\EFI\BOOT\BOOTX64.EFI` on it) to the UEFI shell, which runs startup.nsh.
fn ovmf_guest(name: &str, dir: &Path, esp: &Path, tftp: &Path, secure: bool) -> Guest {
    ovmf_guest_with(name, dir, &[esp], tftp, "none", secure)
}

/// [`ovmf_guest`] with several disks (boot indexes in order) and a DHCP boot file.
fn ovmf_guest_with(
    name: &str,
    dir: &Path,
    disks: &[&Path],
    tftp: &Path,
    bootfile: &str,
    secure: bool,
) -> Guest {
    let (code, vars_template) = if secure {
        ("OVMF_CODE_4M.secboot.fd", "OVMF_VARS_4M.snakeoil.fd")
    } else {
        ("OVMF_CODE_4M.fd", "OVMF_VARS_4M.fd")
    };
    let code = Path::new(OVMF).join(code);
    assert!(
        code.exists(),
        "{} is missing: run qemu/setup (Debian's ovmf package)",
        code.display()
    );
    let vars = dir.join("vars.fd");
    std::fs::copy(Path::new(OVMF).join(vars_template), &vars).unwrap();
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args(["-m", "768", "-no-reboot", "-display", "none", "-nodefaults"])
        .args(["-serial", "stdio", "-monitor", "none"]);
    if secure {
        cmd.args(["-machine", "q35,smm=on"])
            .args(["-global", "driver=cfi.pflash01,property=secure,value=on"]);
    }
    cmd.arg("-drive")
        .arg(format!(
            "if=pflash,format=raw,unit=0,readonly=on,file={}",
            code.display()
        ))
        .arg("-drive")
        .arg(format!(
            "if=pflash,format=raw,unit=1,file={}",
            vars.display()
        ))
        .arg("-netdev")
        .arg(format!(
            "user,id=n0,tftp={},bootfile={bootfile}",
            tftp.display()
        ))
        .args(["-device", "virtio-net-pci,netdev=n0,romfile="]);
    for (i, disk) in disks.iter().enumerate() {
        cmd.arg("-drive")
            .arg(format!(
                "file={},if=none,id=disk{i},format=raw",
                disk.display()
            ))
            .args([
                "-device",
                &format!("virtio-blk-pci,drive=disk{i},bootindex={i}"),
            ]);
    }
    Guest::from_command(name, cmd)
}

/// A TFTP folder with Debian's (signed) kernel, kboot's (unsigned) kernel, the demo initrd and
/// `conf` as `name`.
fn folder(test: &str, name: &str, conf: &str) -> PathBuf {
    let dir = tftp_folder(test, name, conf);
    let debian = built("tftp/vmlinuz-debian");
    std::fs::copy(debian, dir.join("vmlinuz-debian")).unwrap();
    dir
}

#[test]
fn the_uefi_shell_starts_kboot_with_load_options_and_debian_sees_uefi() {
    let conf = "default=debian\ntimeout=0\n\
                debian='vmlinuz-debian initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test=uefi'\n";
    let dir = folder("uefi", "uefi.conf", conf);
    // QEMU's DHCP names no config (bootfile=none): kboot finds uefi.conf only through the
    // kboot.config= of its load options.
    let img = esp(
        &dir,
        &[("EFI/kboot/kboot.efi", &built("kboot.bzImage"))],
        &[r"fs0:\EFI\kboot\kboot.efi console=ttyS0 kboot.config=tftp://10.0.2.2/uefi.conf"],
    );
    let mut g = ovmf_guest("uefi", &dir, &img, &dir, false);
    // The shell echoes the line it runs: the firmware hands over to kboot here.
    g.wait_for(r"kboot.efi console=ttyS0", BOOT);
    let handover = g.seconds();
    g.wait_for("Waiting", BOOT);
    let first_frame = g.seconds();
    eprintln!(
        "uefi: the shell started kboot at {handover:.1} s, kboot's first frame at {first_frame:.1} s: {:.1} s from hand-over to first frame",
        first_frame - handover
    );
    let hello = g.line_after("KBOOT-DEMO: hello from the target kernel", BOOT);
    assert!(hello.contains("-amd64"), "not Debian's kernel: {hello}");
    let cmdline = g.target_cmdline(Duration::from_secs(20));
    assert!(
        cmdline.contains("kboot_test=uefi"),
        "target cmdline: {cmdline}"
    );
    let firmware = g.line_after("KBOOT-DEMO: firmware:", Duration::from_secs(20));
    assert_eq!(firmware, "UEFI (/sys/firmware/efi)");
    let _ = std::fs::remove_dir_all(&dir);
}

/// kboot.bzImage signed with OVMF's snakeoil key (what `qemu/build --sign KEY CERT` does with
/// the test key), into `dir/kboot.signed.efi`.
fn signed_kboot(dir: &Path) -> PathBuf {
    // The key is encrypted (password "snakeoil", README.Debian); sbsign wants it in the clear.
    let key = dir.join("snakeoil.key");
    run_ok(
        Command::new("openssl")
            .args([
                "rsa",
                "-passin",
                "pass:snakeoil",
                "-in",
                SNAKEOIL_KEY,
                "-out",
            ])
            .arg(&key),
    );
    let out = dir.join("kboot.signed.efi");
    common::sbsign(
        &key,
        Path::new(SNAKEOIL_CERT),
        &built("kboot.bzImage"),
        &out,
    );
    out
}

#[test]
fn under_secure_boot_only_signed_kboot_starts_and_it_boots_only_signed_kernels() {
    // Under Secure Boot OVMF refuses its own (unsigned) UEFI shell: kboot is started the way
    // a firmware starts a USB stick, as \EFI\BOOT\BOOTX64.EFI, without load options. kboot then
    // shows its menu on the screen and the first serial port, and finds sb.conf as the DHCP
    // boot file.
    let conf = "default=unsigned\ntimeout=0\n\
                unsigned='bzImage-kboot initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test=unsigned-target'\n\
                signed='vmlinuz-debian initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test=signed-target'\n";
    let dir = folder("secureboot", "sb.conf", conf);
    let signed = signed_kboot(&dir);
    let unsigned_dir = dir.join("unsigned");
    std::fs::create_dir_all(&unsigned_dir).unwrap();
    // Two disks: the firmware tries the unsigned kboot first (boot index 0), refuses it, then
    // starts the signed one.
    let unsigned_img = esp(
        &unsigned_dir,
        &[("EFI/BOOT/BOOTX64.EFI", &built("kboot.bzImage"))],
        &[],
    );
    let signed_img = esp(&dir, &[("EFI/BOOT/BOOTX64.EFI", &signed)], &[]);
    let mut g = ovmf_guest_with(
        "secureboot",
        &dir,
        &[&unsigned_img, &signed_img],
        &dir,
        "sb.conf",
        true,
    );
    // OVMF's boot manager on the serial line: the first disk's image is refused.
    let refused = g.wait_for("Access Denied", BOOT);
    assert!(
        refused.contains("failed to load Boot0001") && !refused.contains("Shell"),
        "{refused}"
    );
    // The signed kboot runs, in lockdown: the default entry (kboot's own kernel, unsigned) is
    // refused with the sentence.
    // (Pieces that do not wrap in the 80-column error box.)
    g.wait_for_all(
        &[
            "this kernel is not signed, and kboot runs in lockdown",
            "because Secure Boot is on",
            "Press any key to continue",
        ],
        BOOT,
    );
    std::thread::sleep(Duration::from_millis(500));
    // Close the error, pick Debian's signed kernel.
    g.type_keys(&[b" ", keys::DOWN, keys::ENTER]);
    let hello = g.line_after("KBOOT-DEMO: hello from the target kernel", BOOT);
    assert!(hello.contains("-amd64"), "not Debian's kernel: {hello}");
    let cmdline = g.target_cmdline(Duration::from_secs(20));
    assert!(
        cmdline.contains("kboot_test=signed-target"),
        "target cmdline: {cmdline}"
    );
    let firmware = g.line_after("KBOOT-DEMO: firmware:", Duration::from_secs(20));
    assert_eq!(firmware, "UEFI (/sys/firmware/efi)");
    assert!(!g
        .plain_output()
        .contains("KBOOT-DEMO: cmdline: console=ttyS0 kboot_test=unsigned-target"));
    let _ = std::fs::remove_dir_all(&dir);
}
