//! End to end in QEMU: PXE discovery without `kboot.config=`, the pxelinux lookup by MAC, the
//! IPAPPEND handoff, and a machine with two NICs of which only the second has a DHCP server.
//! Needs `qemu/build` to have run (the README's test command does it).

mod common;

use common::{tftp_folder, Guest, GuestOptions};
use std::time::Duration;

const BOOT: Duration = Duration::from_secs(150);

/// QEMU's default MAC for the first user-network NIC.
const MAC_FILE: &str = "pxelinux.cfg/01-52-54-00-12-34-56";

fn entry(label: &str, extra: &str) -> String {
    format!(
        "DEFAULT {label}\nTIMEOUT 10\nLABEL {label}\n  KERNEL bzImage-kboot\n  APPEND initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test={label}\n{extra}"
    )
}

#[test]
fn the_mac_specific_pxelinux_config_boots_with_ipappend_3() {
    let dir = tftp_folder("pxe-mac", MAC_FILE, &entry("by-mac", "  IPAPPEND 3\n"));
    std::fs::write(dir.join("pxelinux.cfg/default"), entry("fallback", "")).unwrap();
    let mut g = Guest::start(
        "pxe-mac",
        &GuestOptions {
            bootfile: "pxelinux.0",
            ..GuestOptions::serving(&dir)
        },
    );
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline.contains("kboot_test=by-mac"),
        "target cmdline: {cmdline}"
    );
    // pxelinux's IPAPPEND 1 form: ip=<client>:<server>:<gw>:<netmask>
    assert!(
        cmdline.contains("ip=10.0.2.15:10.0.2.2:10.0.2.2:255.255.255.0"),
        "target cmdline: {cmdline}"
    );
    assert!(
        cmdline.contains("BOOTIF=01-52-54-00-12-34-56"),
        "target cmdline: {cmdline}"
    );
}

#[test]
fn with_two_nics_the_one_with_a_dhcp_server_is_used() {
    let conf = "default=only\ntimeout=0\n\
                only='bzImage-kboot initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test=two-nics'\n";
    let dir = tftp_folder("two-nics", "kboot.conf", conf);
    // The first NIC (lower PCI slot, so eth0) has no network behind it at all.
    let mut g = Guest::start(
        "two-nics",
        &GuestOptions {
            nics: &[
                "virtio-net-pci,addr=0x3,mac=52:54:00:00:00:01",
                "virtio-net-pci,netdev=n0,addr=0x4,mac=52:54:00:12:34:56",
            ],
            ..GuestOptions::serving(&dir)
        },
    );
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline.contains("kboot_test=two-nics"),
        "target cmdline: {cmdline}"
    );
    // kboot's own handoff: the lease came from the second NIC.
    assert!(
        cmdline.contains("ip=10.0.2.15:"),
        "target cmdline: {cmdline}"
    );
    assert!(
        cmdline.contains("BOOTIF=01-52-54-00-12-34-56"),
        "target cmdline: {cmdline}"
    );
}
