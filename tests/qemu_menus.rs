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
            tftp: &dir,
            append: "kboot.config=tftp://10.0.2.2/pxelinux.cfg/default",
            memory_mb: 512,
            bootfile: "pxelinux.0",
            nics: &[],
            netdev: "",
            initrd: None,
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
