//! End to end in QEMU: installed systems whose /boot kboot reads through device-mapper.
//!
//! LVM2: the disk has an MBR with one partition (type 0x8e) holding the PV that Debian 12's lvm2 made
//! (tests/fixtures/lvm/pv0.head.gz: label and metadata); its LV `vgkboot/root` has two
//! segments (LV extents 0-1 at PV extents 0-1, 2-3 at 3-4), and an ext4 file system with an
//! extlinux.conf is written into them piece by piece, where dm-linear must find it. kboot must
//! map the LV read-only as dm-0, show its `Disk dm-0` submenu and boot its entry. A second
//! test puts the file system on `vgkboot/span`, which runs from that partition onto a second
//! disk (a whole-disk PV, the fixture's pv1).
//!
//! MD RAID1: one member of a two-disk mirror (a v1.2 superblock at 4 KiB of its partition,
//! written here as mdadm lays it out, data from 1 MiB); kboot reads its data area through
//! dm-linear as dm-0.
//!
//! Needs `qemu/build` and e2fsprogs.

mod common;

use common::{installed_tree, mbr_disk, tftp_folder, Guest, GuestOptions, PART_START};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

const BOOT: Duration = Duration::from_secs(180);
const MIB: u64 = 1 << 20;

/// The PV's first extent on the partition (1 MiB; the partition starts at sector 2048).
const PE_START: u64 = MIB;
const EXTENT: u64 = 4 * MIB;

/// A 16 MiB ext4 image holding /boot/extlinux/extlinux.conf, kboot's kernel and the demo
/// initrd, its only entry saying `kboot_test=<test>`.
fn lv_filesystem(dir: &Path, test: &str) -> PathBuf {
    filesystem(dir, test, 16, 6)
}

/// [`lv_filesystem`] of `mib` MiB, with `filler` MiB of filler written before the kernel (so
/// that the kernel lies further in).
fn filesystem(dir: &Path, test: &str, mib: u64, filler: usize) -> PathBuf {
    let staging = installed_tree(dir, test);
    // Filler first, so that the kernel ends up further in: in the LV's second segment
    // (checked by kernel_tail_at).
    std::fs::write(staging.join("boot/0-filler"), vec![0xa5u8; filler << 20]).unwrap();
    let image = dir.join("lv.img");
    let status = std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", "lvroot", "-d"])
        .arg(&staging)
        .arg(&image)
        .arg(format!("{mib}M"))
        .status()
        .expect("mkfs.ext4 (apt-get install e2fsprogs)");
    assert!(status.success(), "mkfs.ext4 failed");
    image
}

/// Where the last 4 KiB of kboot's kernel are in the file system image `fs`: the test shows
/// that kboot maps a segment only if the kernel lies (partly) in it.
fn kernel_tail_at(dir: &Path, fs: &[u8]) -> u64 {
    let kernel = std::fs::read(dir.join("bzImage-kboot")).unwrap();
    let tail = &kernel[kernel.len() / 4096 * 4096 - 4096..][..4096];
    fs.chunks(1024)
        .position(|c| tail.starts_with(c))
        .map(|i| i as u64 * 1024)
        .expect("the kernel's tail in the file system")
}

fn gunzip(gz: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn put(f: &mut std::fs::File, at: u64, data: &[u8]) {
    f.seek(SeekFrom::Start(at)).unwrap();
    f.write_all(data).unwrap();
}

/// The disk: MBR, partition 1 = the PV (72 MiB, as lvm2 recorded it), the LV's file system in
/// its two segments.
fn lvm_disk(dir: &Path, test: &str) -> PathBuf {
    let fs = std::fs::read(lv_filesystem(dir, test)).unwrap();
    assert_eq!(fs.len() as u64, 16 * MIB);
    let head = gunzip(include_bytes!("fixtures/lvm/pv0.head.gz"));
    let at = kernel_tail_at(dir, &fs);
    assert!(
        at >= 2 * EXTENT,
        "the kernel lies in the LV's first segment (at {at}): make the filler larger"
    );
    let image = dir.join("disk.img");
    let mut f = mbr_disk(&image, PART_START + 72 * MIB, 0x8e);
    let mut put = |at: u64, data: &[u8]| put(&mut f, at, data);
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
    boots_from_dm0(test, &image);
}

/// A clean, active member (device 0 of 2) of a RAID1 array, superblock v1.2 at 4 KiB of its
/// partition (mdp_superblock_1, as mdadm writes it), data from 1 MiB: the 16 MiB file system.
fn md_disk(dir: &Path, test: &str) -> PathBuf {
    let fs = std::fs::read(lv_filesystem(dir, test)).unwrap();
    let mut sb = vec![0u8; 4096];
    let put32 = |sb: &mut [u8], at: usize, v: u32| sb[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let put64 = |sb: &mut [u8], at: usize, v: u64| sb[at..at + 8].copy_from_slice(&v.to_le_bytes());
    put32(&mut sb, 0, 0xa92b_4efc); // magic
    put32(&mut sb, 4, 1); // major version
    sb[16..32].copy_from_slice(&[0x5e; 16]); // array UUID
    sb[32..41].copy_from_slice(b"kboot:md0");
    put32(&mut sb, 72, 1); // level
    put64(&mut sb, 80, fs.len() as u64 / 512); // size
    put32(&mut sb, 92, 2); // raid_disks
    put64(&mut sb, 128, 2048); // data_offset
    put64(&mut sb, 136, fs.len() as u64 / 512); // data_size
    put64(&mut sb, 144, 8); // super_offset
    put32(&mut sb, 160, 0); // dev_number
    put64(&mut sb, 200, 42); // events
    put64(&mut sb, 208, u64::MAX); // resync_offset: clean
    put32(&mut sb, 220, 2); // max_dev
    sb[256..260].copy_from_slice(&[0, 0, 1, 0]); // dev_roles: 0, 1
    let sum: u64 = sb[..260]
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()) as u64)
        .sum();
    let csum = ((sum & 0xffff_ffff) + (sum >> 32)) as u32;
    put32(&mut sb, 216, csum);
    let image = dir.join("disk.img");
    let mut f = mbr_disk(&image, PART_START + 20 * MIB, 0xfd);
    put(&mut f, PART_START + 4096, &sb);
    put(&mut f, PART_START + MIB, &fs);
    image
}

/// Boots kboot with `image` as its virtio disk; `Disk dm-0` must show up and boot.
fn boots_from_dm0(test: &str, image: &Path) {
    boots_from(test, image, &[], "dm-0");
}

/// Boots kboot with `image` as its first virtio disk and `extra` QEMU arguments; `Disk
/// <device>` must show up and boot.
fn boots_from(test: &str, image: &Path, extra: &[&str], device: &str) {
    let dir = image.parent().unwrap();
    let mut g = Guest::start(
        test,
        &GuestOptions {
            bootfile: "none",
            disk: Some(image),
            extra,
            ..GuestOptions::serving(dir)
        },
    );
    g.wait_for_all(
        &[
            &format!("Disk {device}: Installed on {test}"),
            "No boot config found",
        ],
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

#[test]
fn an_md_raid1_member_shows_its_menu_and_boots() {
    let test = "disk-md";
    let dir = tftp_folder(test, "unused.conf", "");
    let image = md_disk(&dir, test);
    boots_from_dm0(test, &image);
}

/// LV `vgkboot/span` of the fixture: LV extents 0-10 at pv0's extents 6-16 (the partition of
/// the first disk), 11-18 at pv1's extents 1-8 (the whole second disk). Its file system (76
/// MiB) has the kernel on the second disk. Mapped third (after root and swap): dm-2.
#[test]
fn an_lvm_volume_spanning_two_disks_shows_its_menu_and_boots() {
    let test = "disk-lvm-span";
    let dir = tftp_folder(test, "unused.conf", "");
    let fs = std::fs::read(filesystem(&dir, test, 76, 46)).unwrap();
    let at = kernel_tail_at(&dir, &fs);
    assert!(
        at >= 11 * EXTENT,
        "the kernel lies on the first PV (at {at})"
    );
    let first = dir.join("disk.img");
    let mut f = mbr_disk(&first, PART_START + 72 * MIB, 0x8e);
    put(
        &mut f,
        PART_START,
        &gunzip(include_bytes!("fixtures/lvm/pv0.head.gz")),
    );
    let split = (11 * EXTENT) as usize;
    put(&mut f, PART_START + PE_START + 6 * EXTENT, &fs[..split]);
    let second = dir.join("disk2.img");
    let mut f = std::fs::File::create(&second).unwrap();
    f.set_len(40 * MIB).unwrap();
    put(
        &mut f,
        0,
        &gunzip(include_bytes!("fixtures/lvm/pv1.head.gz")),
    );
    put(&mut f, PE_START + EXTENT, &fs[split..]);
    let drive = format!("file={},if=virtio,format=raw,readonly=on", second.display());
    boots_from(test, &first, &["-drive", &drive], "dm-2");
}
