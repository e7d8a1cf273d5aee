//! End to end in QEMU: kboot's device paths on file systems this host's kernel cannot mount
//! (the host tests in tests/fetch_local.rs cover ext4, btrfs and xfs): a kboot.conf fetched
//! over TFTP names the kernel and initrd as `LABEL=...:/path` on a vfat disk and on an ISO 9660
//! image, attached as the guest's virtio disk; kboot finds the file system by its label
//! (its own superblock readers), mounts it read-only through the guest kernel and boots from
//! it. Needs `qemu/build` and mtools, dosfstools, xorriso (qemu/setup installs them).

mod common;

use common::{tftp_folder, Guest, GuestOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const BOOT: Duration = Duration::from_secs(150);

fn run(cmd: &mut Command) {
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (run qemu/setup)"));
    assert!(status.success(), "{cmd:?} failed");
}

/// The target kernel and demo initrd (renamed, so that nothing else could serve them).
fn payload(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("bzImage-kboot"), dir.join("demo-initrd.cpio.gz"))
}

fn boot_from_disk(name: &str, image: &Path, dir: &Path, label: &str) {
    let conf = format!(
        "default=disk\ntimeout=0\n\
         disk='LABEL={label}:/boot/vmlinuz initrd=LABEL={label}:/boot/initrd.gz console=ttyS0 kboot_test={name}'\n"
    );
    std::fs::write(dir.join("kboot.conf"), conf).unwrap();
    let mut g = Guest::start(
        name,
        &GuestOptions {
            disk: Some(image),
            ..GuestOptions::serving(dir)
        },
    );
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline.contains(&format!("kboot_test={name}")),
        "target cmdline: {cmdline}"
    );
}

#[test]
fn kernel_and_initrd_from_a_vfat_disk_by_label() {
    let dir = tftp_folder("devpath-vfat", "unused.conf", "");
    let (kernel, initrd) = payload(&dir);
    let image = dir.join("fat.img");
    run(Command::new("mkfs.vfat")
        .args(["-n", "KBOOTFAT", "-C"])
        .arg(&image)
        .arg("16384"));
    let mcopy = |from: &Path, to: &str| {
        run(Command::new("mcopy")
            .arg("-i")
            .arg(&image)
            .arg(from)
            .arg(format!("::{to}")))
    };
    run(Command::new("mmd").arg("-i").arg(&image).arg("::/boot"));
    mcopy(&kernel, "/boot/vmlinuz");
    mcopy(&initrd, "/boot/initrd.gz");
    boot_from_disk("vfat", &image, &dir, "KBOOTFAT");
}

#[test]
fn kernel_and_initrd_from_an_iso9660_image_by_label() {
    let dir = tftp_folder("devpath-iso", "unused.conf", "");
    let (kernel, initrd) = payload(&dir);
    let staging = dir.join("iso");
    std::fs::create_dir_all(staging.join("boot")).unwrap();
    std::fs::copy(&kernel, staging.join("boot/vmlinuz")).unwrap();
    std::fs::copy(&initrd, staging.join("boot/initrd.gz")).unwrap();
    let image = dir.join("cd.iso");
    run(Command::new("xorriso")
        .args([
            "-as", "mkisofs", "-quiet", "-R", "-J", "-V", "KBOOTISO", "-o",
        ])
        .arg(&image)
        .arg(&staging));
    boot_from_disk("iso", &image, &dir, "KBOOTISO");
}
