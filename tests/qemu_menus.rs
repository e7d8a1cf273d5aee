//! End to end in QEMU: other config formats in kboot's menu, driven over the serial line.
//! Needs `qemu/build` to have run (the README's test command does it).

mod common;

use common::{keys, tftp_folder, Guest, GuestOptions};
use std::time::Duration;

const BOOT: Duration = Duration::from_secs(120);
const MENU: Duration = Duration::from_secs(60);

const PXELINUX: &str = "\
UI menu.c32
MENU TITLE kboot test PXE menu
TIMEOUT 0
DEFAULT first
LABEL first
  MENU LABEL ^First system
  KERNEL bzImage-kboot
  APPEND initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test=first
MENU BEGIN tools
  MENU TITLE Tools
  MENU LABEL ^Tools and rescue
  LABEL back
    MENU LABEL Back
    MENU EXIT
  LABEL rescue
    MENU LABEL ^Rescue system
    KERNEL bzImage-kboot
    APPEND initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test=rescue
MENU END
";

#[test]
fn pxelinux_submenu_hotkey_and_edit_over_the_serial_line() {
    let dir = tftp_folder("pxe-submenu", "pxelinux.cfg/default", PXELINUX);
    let mut g = Guest::start(
        "pxe-submenu",
        &GuestOptions {
            append: "kboot.config=tftp://10.0.2.2/pxelinux.cfg/default",
            bootfile: "pxelinux.0",
            ..GuestOptions::serving(&dir)
        },
    );
    g.wait_for("Tools and rescue", MENU);
    std::thread::sleep(Duration::from_millis(500));
    // Hotkey t selects the submenu, Enter opens it, hotkey r selects the entry inside.
    g.type_keys(&[b"t", keys::ENTER]);
    g.wait_for("Rescue system", MENU);
    g.type_keys(&[b"r", b"e"]);
    g.type_keys(&[b" kboot_test=edited", keys::ENTER]);
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline.contains("kboot_test=rescue"),
        "target cmdline: {cmdline}"
    );
    assert!(
        cmdline.contains("kboot_test=edited"),
        "target cmdline: {cmdline}"
    );
    // pxelinux entries follow pxelinux: no IPAPPEND, no ip=/BOOTIF= appended.
    assert!(!cmdline.contains("BOOTIF="), "target cmdline: {cmdline}");
}

#[test]
fn a_config_on_a_local_disk_shows_up_and_boots() {
    // An ext4 disk (no partition table) with an extlinux.conf, a kernel and an initrd, as an
    // installed system would have; no network config at all.
    let dir = tftp_folder("disk", "unused.conf", "");
    let staging = dir.join("root");
    std::fs::create_dir_all(staging.join("boot/extlinux")).unwrap();
    std::fs::copy(
        dir.join("bzImage-kboot"),
        staging.join("boot/bzImage-kboot"),
    )
    .unwrap();
    std::fs::copy(
        dir.join("demo-initrd.cpio.gz"),
        staging.join("boot/initrd.gz"),
    )
    .unwrap();
    std::fs::write(
        staging.join("boot/extlinux/extlinux.conf"),
        "UI menu.c32\nMENU TITLE Installed system\nDEFAULT local\nLABEL local\n  MENU LABEL ^Local disk system\n  \
         KERNEL /boot/bzImage-kboot\n  INITRD /boot/initrd.gz\n  APPEND console=ttyS0 kboot_test=disk\n",
    )
    .unwrap();
    let image = dir.join("disk.img");
    let status = std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", "kbootdisk", "-d"])
        .arg(&staging)
        .arg(&image)
        .arg("16M")
        .status()
        .expect("mkfs.ext4 (apt-get install e2fsprogs)");
    assert!(status.success(), "mkfs.ext4 failed");
    let mut g = Guest::start(
        "disk",
        &GuestOptions {
            bootfile: "none",
            disk: Some(&image),
            ..GuestOptions::serving(&dir)
        },
    );
    // The network has no config (an error dialog says so); the disk's menu is there anyway.
    g.wait_for("Disk vda", MENU);
    g.wait_for("No boot config found", MENU);
    std::thread::sleep(Duration::from_millis(500));
    // Close the dialog, open the disk's submenu (the only config entry), boot its entry.
    g.type_keys(&[b" ", keys::HOME, keys::ENTER]);
    // (The submenu's lines are redrawn by difference, so its text is not matched here.)
    std::thread::sleep(Duration::from_secs(1));
    g.type_keys(&[keys::ENTER]);
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline.contains("kboot_test=disk"),
        "target cmdline: {cmdline}"
    );
    assert!(
        !cmdline.contains("BOOTIF="),
        "disk entries get no handoff: {cmdline}"
    );
}
