//! End to end in QEMU: boot kboot's payload, let it find its menu over DHCP/TFTP, fetch a target
//! kernel over TFTP and kexec it; the target's demo initrd prints a marker and its command line,
//! which these tests read off the serial console.
//!
//! Needs `qemu/build` to have run (the README's test command does it).

mod common;

use common::{keys, tftp_folder, Guest, GuestOptions};
use std::time::Duration;

/// Time allowed from QEMU start to the target's marker (TCG, 2 cores shared by parallel tests).
const BOOT: Duration = Duration::from_secs(120);
const MENU: Duration = Duration::from_secs(60);

fn guest(name: &str, tftp: &std::path::Path, append: &str) -> Guest {
    Guest::start(
        name,
        &GuestOptions {
            append,
            ..GuestOptions::serving(tftp)
        },
    )
}

#[test]
fn autoboot_fetches_the_default_entry_over_tftp_and_kexecs_it() {
    // No kboot.config=: kboot finds tftp://<next-server>/kboot.conf through QEMU's DHCP.
    let conf = "default=second\ntimeout=1\n\
                first='bzImage-kboot initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test=first'\n\
                second='bzImage-kboot initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test=autoboot'\n";
    let dir = tftp_folder("autoboot", "kboot.conf", conf);
    let mut g = guest("autoboot", &dir, "");
    g.wait_for("KBOOT-DEMO: hello from the target kernel", BOOT);
    let cmdline = g.target_cmdline(Duration::from_secs(10));
    assert!(
        cmdline.contains("kboot_test=autoboot"),
        "target cmdline: {cmdline}"
    );
    assert!(
        !cmdline.contains("kboot_test=first"),
        "target cmdline: {cmdline}"
    );
    assert!(
        cmdline.contains("console=ttyS0"),
        "target cmdline: {cmdline}"
    );
}

#[test]
fn kboot_config_on_the_command_line_names_any_config() {
    let conf = "default=only\ntimeout=0\n\
                only='bzImage-kboot initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test=any-conf'\n";
    let dir = tftp_folder("anyconf", "any.conf", conf);
    // A kboot.conf that must NOT be used.
    std::fs::write(
        dir.join("kboot.conf"),
        "default=x\ntimeout=0\nx='nonexistent'\n",
    )
    .unwrap();
    let mut g = guest("anyconf", &dir, "kboot.config=tftp://10.0.2.2/any.conf");
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline.contains("kboot_test=any-conf"),
        "target cmdline: {cmdline}"
    );
}

#[test]
fn interactive_edit_over_the_serial_line_reaches_the_target() {
    let conf = "default=first\ntimeout=60\n\
                first='bzImage-kboot initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test=first'\n\
                second='bzImage-kboot initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test=second'\n";
    let dir = tftp_folder("interactive", "kboot.conf", conf);
    let mut g = guest("interactive", &dir, "");
    // The menu shows both entries once the config is in.
    g.wait_for("second", MENU);
    std::thread::sleep(Duration::from_millis(500));
    // The editor opens with the cursor at the end of the line.
    g.type_keys(&[keys::DOWN, b"e"]);
    g.type_keys(&[b" kboot_test=edited"]);
    g.type_keys(&[keys::ENTER]);
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline.contains("kboot_test=second"),
        "target cmdline: {cmdline}"
    );
    assert!(
        cmdline.contains("kboot_test=edited"),
        "target cmdline: {cmdline}"
    );
    assert!(
        !cmdline.contains("kboot_test=first"),
        "target cmdline: {cmdline}"
    );
}

#[test]
fn a_missing_kernel_shows_an_error_and_the_menu_still_boots_another_entry() {
    let conf = "default=broken\ntimeout=1\n\
                broken='no-such-kernel initrd=demo-initrd.cpio.gz console=ttyS0'\n\
                good='bzImage-kboot initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test=recovered'\n";
    let dir = tftp_folder("failure", "kboot.conf", conf);
    let mut g = guest("failure", &dir, "");
    // The default entry fails; the error names the missing file.
    g.wait_for("not found", BOOT);
    g.wait_for("Press", MENU); // "Press any key to continue." (spaces may be cursor moves)
    std::thread::sleep(Duration::from_millis(500));
    // The first key closes the error dialog (and does nothing else), then the menu works.
    g.type_keys(&[b" ", keys::DOWN, keys::ENTER]);
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline.contains("kboot_test=recovered"),
        "target cmdline: {cmdline}"
    );
}

#[test]
fn the_demo_boots_a_real_debian_kernel() {
    // The demo folder qemu/build makes: Debian's linux-image-amd64 kernel as the default entry.
    let dir = common::built("tftp");
    assert!(
        dir.join("vmlinuz-debian").exists(),
        "qemu/build made no demo folder"
    );
    let mut g = guest("debian", &dir, "kboot.timeout=1");
    // The whole line: serial output arrives in pieces.
    let hello = g.line_after("KBOOT-DEMO: hello from the target kernel", BOOT);
    assert!(hello.contains("-amd64"), "not Debian's kernel: {hello}");
    let cmdline = g.target_cmdline(Duration::from_secs(10));
    assert!(
        cmdline.contains("kboot_demo=debian"),
        "target cmdline: {cmdline}"
    );
}

#[test]
fn a_local_config_with_network_keys_configures_a_static_address() {
    // The Xbox 360 loader's keys in a kboot.conf read before the network is up: here from an
    // extra initrd laid over kboot's own (as a disk or the image's overlay would hold it).
    let dir = tftp_folder("static", "unused.conf", "");
    let conf = "ip=10.0.2.50\nnetmask=255.255.255.0\ngateway=10.0.2.2\ndns=10.0.2.3\n\
                default=net\ntimeout=0\n\
                net='tftp://10.0.2.2/bzImage-kboot initrd=tftp://10.0.2.2/demo-initrd.cpio.gz console=ttyS0 kboot_test=static'\n";
    let mut fs = kboot::image::Initramfs::default();
    fs.add(
        "etc/kboot.conf",
        kboot::image::Node::File(conf.as_bytes().to_vec()),
        0o644,
    )
    .unwrap();
    let extra = dir.join("extra.cpio");
    fs.write_cpio(std::fs::File::create(&extra).unwrap())
        .unwrap();
    let mut g = Guest::start(
        "static",
        &GuestOptions {
            append: "kboot.config=file:///etc/kboot.conf",
            bootfile: "none",
            initrd: Some(&extra),
            ..GuestOptions::serving(&dir)
        },
    );
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline.contains("kboot_test=static"),
        "target cmdline: {cmdline}"
    );
    // Not the 10.0.2.15 QEMU's DHCP would have given: the config's own address.
    assert!(
        cmdline.contains("ip=10.0.2.50:"),
        "target cmdline: {cmdline}"
    );
}
