//! End to end in QEMU: an installed system whose /boot is on an LVM2 logical volume. The disk
//! has an MBR with one partition (type 0x8e) holding the PV that Debian 12's lvm2 made
//! (tests/fixtures/lvm/pv0.head.gz: label and metadata); its LV `vgkboot/root` has two
//! segments (LV extents 0-1 at PV extents 0-1, 2-3 at 3-4), and an ext4 file system with an
//! extlinux.conf is written into them piece by piece, where dm-linear must find it. kboot must
//! map the LV read-only as dm-0, show its `Disk dm-0` submenu and boot its entry. Needs
//! `qemu/build` and e2fsprogs.

mod common;

use common::{tftp_folder, Guest, GuestOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

const BOOT: Duration = Duration::from_secs(180);
const MIB: u64 = 1 << 20;

/// The partition's start on the disk (sector 2048) and the PV's first extent on it (1 MiB).
const PART_START: u64 = MIB;
const PE_START: u64 = MIB;
const EXTENT: u64 = 4 * MIB;

/// A 16 MiB ext4 image holding /boot/extlinux/extlinux.conf, kboot's kernel and the demo
/// initrd, its only entry saying `kboot_test=<test>`.
fn lv_filesystem(dir: &Path, test: &str) -> PathBuf {
    let staging = dir.join("root");
    std::fs::create_dir_all(staging.join("boot/extlinux")).unwrap();
    std::fs::copy(dir.join("bzImage-kboot"), staging.join("boot/vmlinuz")).unwrap();
    std::fs::copy(
        dir.join("demo-initrd.cpio.gz"),
        staging.join("boot/initrd.gz"),
    )
    .unwrap();
    std::fs::write(
        staging.join("boot/extlinux/extlinux.conf"),
        format!(
            "MENU TITLE Installed on {test}\nDEFAULT local\nLABEL local\n  MENU LABEL Local system\n  \
             KERNEL /boot/vmlinuz\n  INITRD /boot/initrd.gz\n  APPEND console=ttyS0 kboot_test={test}\n"
        ),
    )
    .unwrap();
    let image = dir.join("lv.img");
    let status = std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", "lvroot", "-d"])
        .arg(&staging)
        .arg(&image)
        .arg("16M")
        .status()
        .expect("mkfs.ext4 (apt-get install e2fsprogs)");
    assert!(status.success(), "mkfs.ext4 failed");
    image
}

/// The disk: MBR, partition 1 = the PV (72 MiB, as lvm2 recorded it), the LV's file system in
/// its two segments.
fn lvm_disk(dir: &Path, test: &str) -> PathBuf {
    let fs = std::fs::read(lv_filesystem(dir, test)).unwrap();
    assert_eq!(fs.len() as u64, 16 * MIB);
    let mut head = Vec::new();
    flate2::read::GzDecoder::new(&include_bytes!("fixtures/lvm/pv0.head.gz")[..])
        .read_to_end(&mut head)
        .unwrap();
    let part_len = 72 * MIB;
    let image = dir.join("disk.img");
    let mut f = std::fs::File::create(&image).unwrap();
    f.set_len(PART_START + part_len).unwrap();
    let mut mbr = [0u8; 512];
    let entry = &mut mbr[446..462];
    entry[4] = 0x8e; // Linux LVM
    entry[8..12].copy_from_slice(&((PART_START / 512) as u32).to_le_bytes());
    entry[12..16].copy_from_slice(&((part_len / 512) as u32).to_le_bytes());
    mbr[510] = 0x55;
    mbr[511] = 0xAA;
    f.write_all(&mbr).unwrap();
    let mut put = |at: u64, data: &[u8]| {
        f.seek(SeekFrom::Start(at)).unwrap();
        f.write_all(data).unwrap();
    };
    put(PART_START, &head);
    // segment1: LV extents 0-1 at PV extents 0-1; segment2: LV extents 2-3 at PV extents 3-4.
    let half = (2 * EXTENT) as usize;
    put(PART_START + PE_START, &fs[..half]);
    put(PART_START + PE_START + 3 * EXTENT, &fs[half..]);
    image
}

#[test]
fn an_lvm_logical_volume_shows_its_menu_and_boots() {
    let test = "disk-lvm";
    let dir = tftp_folder(test, "unused.conf", "");
    let image = lvm_disk(&dir, test);
    let mut g = Guest::start(
        test,
        &GuestOptions {
            bootfile: "none",
            disk: Some(&image),
            ..GuestOptions::serving(&dir)
        },
    );
    g.wait_for_all(
        &["Disk dm-0: Installed on disk-lvm", "No boot config found"],
        BOOT,
    );
    std::thread::sleep(Duration::from_millis(500));
    g.type_keys(&[b" ", common::keys::HOME, common::keys::ENTER]);
    std::thread::sleep(Duration::from_secs(1));
    g.type_keys(&[common::keys::ENTER]);
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline.contains(&format!("kboot_test={test}")),
        "target cmdline: {cmdline}"
    );
}
