//! End to end in QEMU: the menu driven with a USB keyboard only. q35 with `i8042=off` (QEMU's
//! machine property: no PS/2 controller, so no PS/2 keyboard at all), an xHCI controller with a usb-kbd, a VGA card and kboot's menu on both
//! tty0 and the serial line; keys are pressed on the USB keyboard through QEMU's monitor
//! (`sendkey`), never typed on the serial line, whose output is only read. Needs `qemu/build`.

mod common;

use common::{built, tftp_folder, Guest, GuestOptions};
use std::time::Duration;

const BOOT: Duration = Duration::from_secs(180);

#[test]
fn a_usb_keyboard_picks_edits_and_boots_a_non_default_entry() {
    let conf = "default=first\ntimeout=120\n\
                first='bzImage-kboot initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test=first'\n\
                second='bzImage-kboot initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test=second'\n\
                third='bzImage-kboot initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test=third'\n";
    let dir = tftp_folder("hw-usb-kbd", "kboot.conf", conf);
    let pack = built("modules.cpio.xz");
    let mut g = Guest::start(
        "hw-usb-kbd",
        &GuestOptions {
            machine: "q35,i8042=off",
            append: "console=tty0",
            nics: &["e1000e,netdev=n0"],
            initrd: Some(&pack),
            extra: &[
                "-vga",
                "std",
                "-device",
                "qemu-xhci,id=xhci",
                "-device",
                "usb-kbd,bus=xhci.0",
            ],
            monitor: true,
            ..GuestOptions::serving(&dir)
        },
    );
    g.wait_for("Booting 'first' in", BOOT);
    std::thread::sleep(Duration::from_millis(500));
    // Down stops the countdown and selects `second`; e edits its command line.
    g.sendkeys(&["down", "e"]);
    // The editor's title: the command line itself is drawn by difference against the menu
    // below it, so a character already in place (the second `o` of `kboot_test=` may be) is
    // not sent again.
    g.wait_for_all(&["Command line of 'second'"], BOOT);
    // The editor's cursor starts at the end of the line.
    g.type_text(" kboot_test=edited");
    g.sendkeys(&["ret"]);
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline.contains("kboot_test=second") && cmdline.contains("kboot_test=edited"),
        "target cmdline: {cmdline}"
    );
    assert!(
        !cmdline.contains("kboot_test=first"),
        "target cmdline: {cmdline}"
    );
    // No PS/2: the keys can only have come from the USB keyboard.
    let out = g.plain_output();
    assert!(
        !out.contains("AT Translated Set 2 keyboard") && !out.contains("serio: i8042 KBD port"),
        "i8042=off leaves no PS/2 keyboard"
    );
    assert!(out.contains("USB HID"), "the USB keyboard was found");
}
