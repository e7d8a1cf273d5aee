//! End to end in QEMU on disks other than virtio: NVMe, AHCI (q35's ICH9), a USB stick (also
//! plugged in after the menu is up), SCSI HBAs whose drivers are modules in the pack (megasas,
//! lsi53c895a) and an SD card behind sdhci-pci (modules too). Each disk holds an installed
//! system's extlinux.conf; its `Disk <name>` submenu must appear and its entry must boot. The
//! network has no config (the boot file is `none`), so only the disk can offer it. The module
//! pack (out/x86_64/modules.cpio.xz) is the second initrd. Needs `qemu/build`, e2fsprogs.

mod common;

use common::{built, installed_tree, keys, tftp_folder, Guest, GuestOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// From QEMU's start to the target's command line (TCG, 2 cores shared by parallel tests).
const BOOT: Duration = Duration::from_secs(180);

/// An ext4 image (no partition table) laid out as an installed system: /boot with kboot's
/// kernel, the demo initrd and an extlinux.conf whose only entry says `kboot_test=<test>`.
/// Its menu (`UI menu.c32`, no TIMEOUT) waits, as syslinux would, so the test picks the entry;
/// without a UI, syslinux (and kboot) would boot the default at once.
/// 16 MiB: a power of two, as QEMU's sd-card wants.
fn installed_disk(dir: &Path, test: &str) -> PathBuf {
    let staging = installed_tree(dir, test);
    let image = dir.join("disk.img");
    let status = std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", "kboothw", "-d"])
        .arg(&staging)
        .arg(&image)
        .arg("16M")
        .status()
        .expect("mkfs.ext4 (apt-get install e2fsprogs)");
    assert!(status.success(), "mkfs.ext4 failed");
    image
}

/// `-drive` for the image: writes go to a temporary file (IDE and SD cannot be read-only).
fn drive(image: &Path, id: &str) -> String {
    format!(
        "file={},if=none,id={id},format=raw,snapshot=on",
        image.display()
    )
}

/// The disk's submenu is up: open it and boot its entry.
fn boot_from_the_disk_menu(g: &mut Guest, test: &str) {
    std::thread::sleep(Duration::from_millis(500));
    // Close the dialog, open the disk's submenu (the only config entry), boot its entry.
    g.type_keys(&[b" ", keys::HOME, keys::ENTER]);
    std::thread::sleep(Duration::from_secs(1));
    g.type_keys(&[keys::ENTER]);
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline.contains(&format!("kboot_test={test}")),
        "target cmdline: {cmdline}"
    );
}

/// Boot q35 with the pack, no network config, and `devices` (QEMU arguments) holding the disk
/// `image` as drive `d0`; the disk must show up as `device`.
fn disk_test(test: &str, device: &str, devices: &[&str]) {
    let dir = tftp_folder(test, "unused.conf", "");
    let image = installed_disk(&dir, test);
    let pack = built("modules.cpio.xz");
    let drive = drive(&image, "d0");
    let mut extra = vec!["-drive", drive.as_str()];
    extra.extend_from_slice(devices);
    let mut g = Guest::start(
        test,
        &GuestOptions {
            machine: "q35",
            bootfile: "none",
            nics: &["e1000e,netdev=n0"],
            initrd: Some(&pack),
            extra: &extra,
            ..GuestOptions::serving(&dir)
        },
    );
    // The disk's submenu and the network's "no config" error, in either order (the disk may
    // come late).
    g.wait_for_all(
        &[
            &format!("Disk {device}: Installed on {test}"),
            "No boot config found",
        ],
        BOOT,
    );
    boot_from_the_disk_menu(&mut g, test);
}

#[test]
fn an_nvme_disk_shows_its_menu_and_boots() {
    disk_test(
        "hw-nvme",
        "nvme0n1",
        &["-device", "nvme,drive=d0,serial=kboot0001"],
    );
}

#[test]
fn an_ahci_disk_shows_its_menu_and_boots() {
    // q35's own ICH9 AHCI controller; its ports are ide.0 to ide.5.
    disk_test("hw-ahci", "sda", &["-device", "ide-hd,drive=d0,bus=ide.0"]);
}

#[test]
fn a_usb_stick_shows_its_menu_and_boots() {
    disk_test(
        "hw-usb-stick",
        "sda",
        &[
            "-device",
            "qemu-xhci,id=xhci",
            "-device",
            "usb-storage,bus=xhci.0,drive=d0",
        ],
    );
}

#[test]
fn a_disk_behind_a_megaraid_hba_from_the_pack_shows_its_menu_and_boots() {
    // megaraid_sas is not built in: the disk can only show up through the pack.
    disk_test(
        "hw-megasas",
        "sda",
        &[
            "-device",
            "megasas,id=hba",
            "-device",
            "scsi-hd,drive=d0,bus=hba.0",
        ],
    );
}

#[test]
fn a_disk_behind_an_lsi_hba_from_the_pack_shows_its_menu_and_boots() {
    // sym53c8xx is not built in: the disk can only show up through the pack.
    disk_test(
        "hw-lsi",
        "sda",
        &[
            "-device",
            "lsi53c895a,id=hba",
            "-device",
            "scsi-hd,drive=d0,bus=hba.0",
        ],
    );
}

#[test]
fn an_sd_card_behind_sdhci_pci_shows_its_menu_and_boots() {
    // sdhci-pci, sdhci, mmc_core and mmc_block are not built in: the card can only show up
    // through the pack.
    disk_test(
        "hw-sdcard",
        "mmcblk0",
        &["-device", "sdhci-pci", "-device", "sd-card,drive=d0"],
    );
}

#[test]
fn a_usb_stick_plugged_in_after_the_menu_is_up_shows_its_menu_and_boots() {
    let test = "hw-usb-hotplug";
    let dir = tftp_folder(test, "unused.conf", "");
    let image = installed_disk(&dir, test);
    let pack = built("modules.cpio.xz");
    let drive = drive(&image, "stick");
    let mut g = Guest::start(
        test,
        &GuestOptions {
            machine: "q35",
            bootfile: "none",
            nics: &["e1000e,netdev=n0"],
            initrd: Some(&pack),
            extra: &["-device", "qemu-xhci,id=xhci", "-drive", &drive],
            monitor: true,
            ..GuestOptions::serving(&dir)
        },
    );
    g.wait_for_all(&["No boot config found"], BOOT);
    assert!(
        !g.plain_output().replace(' ', "").contains("Disksda"),
        "no disk before the stick is plugged in"
    );
    let answer = g.monitor("device_add usb-storage,bus=xhci.0,drive=stick,id=stick0");
    assert!(!answer.contains("Error"), "device_add: {answer}");
    g.wait_for_all(&[&format!("Disk sda: Installed on {test}")], BOOT);
    boot_from_the_disk_menu(&mut g, test);
}

#[test]
fn a_btrfs_disk_mounts_through_the_module_from_the_pack_and_boots() {
    // btrfs is a module in the pack, not built in: kboot loads it (fs-btrfs) before mounting.
    let test = "hw-btrfs";
    let dir = tftp_folder(test, "unused.conf", "");
    let staging = installed_tree(&dir, test);
    let image = dir.join("btrfs.img");
    std::fs::File::create(&image)
        .unwrap()
        .set_len(128 << 20)
        .unwrap();
    let status = std::process::Command::new("mkfs.btrfs")
        .args(["-q", "-f", "-L", "kboothw", "--rootdir"])
        .arg(&staging)
        .arg(&image)
        .status()
        .expect("mkfs.btrfs (apt-get install btrfs-progs)");
    assert!(status.success(), "mkfs.btrfs failed");
    let pack = built("modules.cpio.xz");
    let mut g = Guest::start(
        test,
        &GuestOptions {
            bootfile: "none",
            disk: Some(&image),
            initrd: Some(&pack),
            ..GuestOptions::serving(&dir)
        },
    );
    g.wait_for_all(
        &[
            &format!("Disk vda: Installed on {test}"),
            "No boot config found",
        ],
        BOOT,
    );
    boot_from_the_disk_menu(&mut g, test);
}
