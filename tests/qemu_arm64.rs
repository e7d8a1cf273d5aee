//! kboot on arm64, end to end: `qemu-system-aarch64 -M virt` (Cortex-A57, TCG) boots kboot's
//! arm64 payload (out/aarch64/kboot.Image: kboot's kernel with the EFI stub and its initramfs
//! embedded), directly with `-kernel` and under UEFI (AAVMF, from Debian's qemu-efi-aarch64),
//! and kboot kexecs Debian's arm64 kernel, a gzip-compressed and an EFI-zboot wrapped Image with
//! the arm64 marker initrd (demo-initrd.cpio.gz: examples/demo_init built for
//! aarch64-unknown-linux-musl), whose /init prints the kernel release and its command line on
//! the PL011 console (ttyAMA0).
//!
//! Needs `qemu/build --arch aarch64` (qemu/test runs it).

mod common;

use common::arch::Arch;
use common::{keys, Guest, GuestOptions};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// QEMU start to the target's marker: arm64 under TCG is slower than x86_64, and Debian's arm64
/// kernel is a 32 MB uncompressed Image fetched over QEMU's TFTP.
const BOOT: Duration = Duration::from_secs(300);
const MENU: Duration = Duration::from_secs(150);

const ARM: Arch = Arch::Aarch64;

fn guest(name: &str, tftp: &Path, append: &str) -> Guest {
    Guest::start(
        name,
        &GuestOptions {
            append,
            ..GuestOptions::serving_arm64(tftp)
        },
    )
}

/// The marker line of the target and its command line.
fn target(g: &mut Guest) -> (String, String) {
    let hello = g.line_after("KBOOT-DEMO: hello from the target kernel", BOOT);
    let cmdline = g.target_cmdline(Duration::from_secs(30));
    (hello, cmdline)
}

#[test]
fn arm64_autoboot_kexecs_debians_arm64_kernel() {
    // No kboot.config=: kboot finds tftp://<next-server>/kboot.conf through QEMU's DHCP.
    let conf = "default=debian\ntimeout=1\n\
                other='Image-kboot initrd=demo-initrd.cpio.gz console=ttyAMA0 kboot_test=other'\n\
                debian='vmlinuz-debian initrd=demo-initrd.cpio.gz console=ttyAMA0 kboot_test=arm64-autoboot'\n";
    let dir = ARM.tftp_folder("autoboot", "kboot.conf", conf);
    let mut g = guest("arm64-autoboot", &dir, "");
    let (hello, cmdline) = target(&mut g);
    assert!(
        hello.contains("-arm64"),
        "not Debian's arm64 kernel: {hello}"
    );
    assert!(
        cmdline.contains("kboot_test=arm64-autoboot") && cmdline.contains("console=ttyAMA0"),
        "target cmdline: {cmdline}"
    );
    assert!(
        !cmdline.contains("kboot_test=other"),
        "target cmdline: {cmdline}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn arm64_interactive_edit_over_the_pl011_console_reaches_the_target() {
    // Labels no kernel prints ("second" is in arm64's "Bringing up secondary CPUs").
    let conf = "default=alpha\ntimeout=120\n\
                alpha='Image-kboot initrd=demo-initrd.cpio.gz console=ttyAMA0 kboot_test=alpha'\n\
                bravo='Image-kboot initrd=demo-initrd.cpio.gz console=ttyAMA0 kboot_test=bravo'\n";
    let dir = ARM.tftp_folder("interactive", "kboot.conf", conf);
    let mut g = guest("arm64-interactive", &dir, "");
    g.wait_for("bravo", MENU);
    std::thread::sleep(Duration::from_millis(500));
    g.type_keys(&[keys::DOWN, b"e"]);
    g.type_keys(&[b" kboot_test=edited"]);
    g.type_keys(&[keys::ENTER]);
    let (hello, cmdline) = target(&mut g);
    assert!(hello.contains("-kboot"), "not kboot's own kernel: {hello}");
    assert!(
        cmdline.contains("kboot_test=bravo") && cmdline.contains("kboot_test=edited"),
        "target cmdline: {cmdline}"
    );
    assert!(
        !cmdline.contains("kboot_test=alpha"),
        "target cmdline: {cmdline}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn arm64_pxelinux_discovery_by_mac_with_ipappend() {
    // No kboot.conf: DHCP's boot file is pxelinux.0, and kboot reads the pxelinux.cfg/ file
    // of its MAC beside it (the default one must not be used).
    let entry = |label: &str, extra: &str| {
        format!(
            "DEFAULT {label}\nTIMEOUT 10\nLABEL {label}\n  KERNEL Image-kboot\n  \
             APPEND initrd=demo-initrd.cpio.gz console=ttyAMA0 kboot_test={label}\n{extra}"
        )
    };
    let dir = ARM.tftp_folder(
        "pxe",
        "pxelinux.cfg/01-52-54-00-12-34-56",
        &entry("by-mac", "  IPAPPEND 3\n"),
    );
    std::fs::write(dir.join("pxelinux.cfg/default"), entry("fallback", "")).unwrap();
    let mut g = Guest::start(
        "arm64-pxe",
        &GuestOptions {
            bootfile: "pxelinux.0",
            ..GuestOptions::serving_arm64(&dir)
        },
    );
    let (_, cmdline) = target(&mut g);
    assert!(
        cmdline.contains("kboot_test=by-mac"),
        "target cmdline: {cmdline}"
    );
    assert!(
        cmdline.contains("ip=10.0.2.15:10.0.2.2:10.0.2.2:255.255.255.0")
            && cmdline.contains("BOOTIF=01-52-54-00-12-34-56"),
        "target cmdline: {cmdline}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `image` gzip-compressed, as a distribution's arm64 `vmlinuz` often is.
fn gzip(image: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(image).unwrap();
    e.finish().unwrap()
}

/// `image` in an EFI zboot container laid out as Linux's zboot-header.S does (`MZ`, `zimg`,
/// payload offset and size, compression name; a PE header offset at 0x3c), with the gzip
/// payload after a header page and filler standing in for the decompressor stub after it. Not
/// an EFI program (the firmware could not run it), but the bytes kboot reads from one.
fn zboot(image: &[u8]) -> Vec<u8> {
    let payload = gzip(image);
    let mut b = vec![0u8; 0x1000];
    b[0..2].copy_from_slice(b"MZ");
    b[4..8].copy_from_slice(b"zimg");
    b[8..12].copy_from_slice(&0x1000u32.to_le_bytes());
    b[12..16].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    b[24..28].copy_from_slice(b"gzip");
    b[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
    b[0x40..0x44].copy_from_slice(b"PE\0\0");
    b.extend_from_slice(&payload);
    b.extend_from_slice(&[0u8; 0x2000]);
    b
}

#[test]
fn arm64_gzip_and_efi_zboot_kernels_are_unpacked_then_kexeced() {
    // arm64's kexec_file_load (6.1) takes a plain Image only: kboot unpacks the others.
    let image = std::fs::read(ARM.built("tftp/vmlinuz-debian")).unwrap();
    assert_eq!(
        &image[0x38..0x3c],
        b"ARM\x64",
        "Debian's arm64 vmlinuz is an Image"
    );
    for (name, bytes) in [("vmlinuz.efi", zboot(&image)), ("vmlinuz.gz", gzip(&image))] {
        let conf = format!(
            "default=packed\ntimeout=0\n\
             packed='{name} initrd=demo-initrd.cpio.gz console=ttyAMA0 kboot_test={name}'\n"
        );
        let dir = ARM.tftp_folder(&format!("packed-{name}"), "kboot.conf", &conf);
        std::fs::write(dir.join(name), &bytes).unwrap();
        let mut g = guest(&format!("arm64-{name}"), &dir, "");
        let (hello, cmdline) = target(&mut g);
        assert!(
            hello.contains("-arm64"),
            "{name}: not Debian's kernel: {hello}"
        );
        assert!(
            cmdline.contains(&format!("kboot_test={name}")),
            "{name}: target cmdline: {cmdline}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A FAT disk image (no partition table, as the firmware also reads) holding `files`
/// (path in the image, file), made with mtools: nothing is mounted.
fn fat_disk(path: &Path, files: &[(&str, &Path)]) {
    let _ = std::fs::remove_file(path);
    let run = |cmd: &mut Command| {
        let out = cmd
            .output()
            .expect("mtools/dosfstools missing: run qemu/setup");
        assert!(out.status.success(), "{cmd:?}: {out:?}");
    };
    run(Command::new("mkfs.vfat")
        .args(["-C", "-n", "KBOOTESP"])
        .arg(path)
        .arg("131072"));
    run(Command::new("mmd")
        .arg("-i")
        .arg(path)
        .args(["::/EFI", "::/EFI/BOOT"]));
    for (at, file) in files {
        run(Command::new("mcopy")
            .arg("-i")
            .arg(path)
            .arg(file)
            .arg(format!("::{at}")));
    }
}

#[test]
fn arm64_aavmf_starts_kboot_image_as_bootaa64_efi_and_it_kexecs_debians_kernel() {
    // The same payload as the direct boot, as the removable-media boot program
    // \EFI\BOOT\BOOTAA64.EFI: AAVMF (Debian's qemu-efi-aarch64) finds and starts it with no
    // boot entry and no load options; the console comes from the firmware's ACPI SPCR table.
    let code = Path::new("/usr/share/AAVMF/AAVMF_CODE.fd");
    let vars_template = Path::new("/usr/share/AAVMF/AAVMF_VARS.fd");
    assert!(
        code.exists() && vars_template.exists(),
        "AAVMF is missing: run qemu/setup (it installs qemu-efi-aarch64)"
    );
    let conf = "default=debian\ntimeout=1\n\
                debian='vmlinuz-debian initrd=demo-initrd.cpio.gz console=ttyAMA0 kboot_test=aavmf'\n";
    let dir = ARM.tftp_folder("aavmf", "kboot.conf", conf);
    let vars = dir.join("AAVMF_VARS.fd");
    std::fs::copy(vars_template, &vars).unwrap();
    let esp = dir.join("esp.img");
    fat_disk(
        &esp,
        &[("/EFI/BOOT/BOOTAA64.EFI", &ARM.built("kboot.Image"))],
    );
    let drives = [
        format!(
            "if=pflash,format=raw,unit=0,readonly=on,file={}",
            code.display()
        ),
        format!("if=pflash,format=raw,unit=1,file={}", vars.display()),
        format!("if=virtio,format=raw,file={}", esp.display()),
    ];
    let extra: Vec<&str> = drives.iter().flat_map(|d| ["-drive", d.as_str()]).collect();
    let mut g = Guest::start(
        "arm64-aavmf",
        &GuestOptions {
            payload: "",
            memory_mb: 1024,
            extra: &extra,
            ..GuestOptions::serving_arm64(&dir)
        },
    );
    // The EFI stub of kboot's kernel says so when the firmware hands over.
    g.wait_for("EFI stub: Booting Linux Kernel", BOOT);
    let handover = g.seconds();
    g.wait_for("Waiting", MENU);
    let first_frame = g.seconds();
    eprintln!(
        "arm64-aavmf: firmware hand-over at {handover:.2} s, kboot's menu at {first_frame:.2} s: \
         {:.2} s from hand-over to the first frame",
        first_frame - handover
    );
    let (hello, cmdline) = target(&mut g);
    assert!(
        hello.contains("-arm64"),
        "not Debian's arm64 kernel: {hello}"
    );
    assert!(
        cmdline.contains("kboot_test=aavmf"),
        "target cmdline: {cmdline}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn arm64_nbd_root_through_debian_initramfs_tools_and_nbd_client() {
    // qemu/build-diskless-arm64: Debian's arm64 kernel, Debian's initramfs-tools initramfs with
    // nbd-client carried over to arm64, and the ext4 root whose /sbin/init prints a marker;
    // qemu-nbd serves a copy of the root on the host's loopback (10.0.2.2 for the guest).
    let out = common::repo().join("out/aarch64");
    let tftp = out.join("diskless");
    let image = out.join("diskless-root.ext4");
    for p in [
        tftp.join("vmlinuz-debian"),
        tftp.join("initrd-debian.img"),
        image.clone(),
    ] {
        assert!(
            p.exists(),
            "{} is missing: run qemu/build-diskless-arm64 (after qemu/build-diskless)",
            p.display()
        );
    }
    let nbd = common::servers::QemuNbd::start("arm64-nbd", &image, "root");
    let entry = format!(
        "vmlinuz-debian initrd=initrd-debian.img rw console=ttyAMA0 \
         kboot.root=nbd:10.0.2.2:{}/{}:ext4 kboot.flavor=initramfs-tools",
        nbd.port, nbd.name
    );
    let folder = common::diskless::Folder::new(
        "arm64-nbd",
        &[tftp.join("vmlinuz-debian"), tftp.join("initrd-debian.img")],
        &format!("default=nbd\ntimeout=0\nnbd='{entry}'\n"),
    );
    let mut g = Guest::start(
        "arm64-nbd",
        &GuestOptions {
            append: "kboot.config=tftp://10.0.2.2/kboot.conf",
            memory_mb: 1024,
            ..GuestOptions::serving_arm64(&folder.0)
        },
    );
    let hello = common::diskless::root_hello(&mut g, Duration::from_secs(600));
    assert!(
        hello.contains("/dev/nbd0") && hello.contains("(ext4)"),
        "root not on the NBD device: {hello}"
    );
    let cmdline = common::diskless::root_cmdline(&mut g);
    for p in [
        "ip=10.0.2.15:10.0.2.2:10.0.2.2:255.255.255.0:::off:10.0.2.3",
        "root=/dev/nbd0",
        "nbdroot=10.0.2.2:",
    ] {
        assert!(cmdline.contains(p), "'{p}' missing from {cmdline}");
    }
    eprintln!(
        "arm64-nbd: root init at {:.1} s; target cmdline: {cmdline}",
        g.seconds()
    );
}

#[test]
fn arm64_kboot_refuses_its_own_image_as_dhcp_boot_file() {
    // The DHCP server hands kboot the boot file it would give the firmware: kboot.Image, the
    // very payload kboot runs on. kboot knows it by the kernel's banner inside the Image (the
    // text of /proc/version; boot/header.rs), skips it with its sentence and goes on to the
    // kboot.conf at the TFTP root.
    let conf = "default=debian\ntimeout=1\n\
                debian='vmlinuz-debian initrd=demo-initrd.cpio.gz console=ttyAMA0 kboot_test=self'\n";
    let dir = ARM.tftp_folder("self", "kboot.conf", conf);
    std::fs::copy(ARM.built("kboot.Image"), dir.join("kboot.Image")).unwrap();
    // kboot.menu=off: every log line on the serial line as it is (no TUI to redraw it).
    let mut g = Guest::start(
        "arm64-self",
        &GuestOptions {
            bootfile: "kboot.Image",
            append: "kboot.menu=off",
            ..GuestOptions::serving_arm64(&dir)
        },
    );
    g.wait_for(
        "tftp://10.0.2.2/kboot.Image: the boot file is kboot's own image",
        BOOT,
    );
    let (_, cmdline) = target(&mut g);
    assert!(
        cmdline.contains("kboot_test=self"),
        "target cmdline: {cmdline}"
    );
    let out = g.plain_output();
    assert!(
        !out.contains("it gets a menu entry of its own"),
        "kboot offered its own image as an entry"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
