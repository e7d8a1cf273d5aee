//! End to end in QEMU on network cards other than virtio: kboot's kernel with the module pack
//! (out/x86_64/modules.cpio.xz) as a second initrd, as a PXE server or GRUB would load it. Each
//! NIC gets a lease from QEMU's DHCP server and boots the menu's default entry, whose target
//! prints its command line. `kboot.menu=off` makes kboot print its log as plain lines (the
//! menu redraws by difference), which the tests read. Needs `qemu/build` (the README's test
//! command runs it).

mod common;

use common::{built, tftp_folder, Guest, GuestOptions};
use std::time::Duration;

/// From QEMU's start to the target's command line (TCG, 2 cores shared by parallel tests).
const BOOT: Duration = Duration::from_secs(180);

/// A kboot.conf whose default entry boots at once and says which test it came from.
fn conf(test: &str) -> String {
    format!(
        "default=demo\ntimeout=0\n\
         demo='bzImage-kboot initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test={test}'\n"
    )
}

fn assert_booted(g: &mut Guest, test: &str) {
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline.contains(&format!("kboot_test={test}")),
        "target cmdline: {cmdline}"
    );
}

#[test]
fn vmxnet3_from_the_module_pack_gets_a_lease_and_boots() {
    // vmxnet3 is not built into kboot's kernel: without the pack there is no NIC at all.
    let dir = tftp_folder("hw-vmxnet3", "kboot.conf", &conf("vmxnet3"));
    let pack = built("modules.cpio.xz");
    let mut g = Guest::start(
        "hw-vmxnet3",
        &GuestOptions {
            append: "kboot.menu=off",
            nics: &["vmxnet3,netdev=n0"],
            initrd: Some(&pack),
            ..GuestOptions::serving(&dir)
        },
    );
    // 15ad:07b0 is VMware's VMXNET3. The whole line: wait_for can return while its end is
    // still on the way.
    let line = g.line_after("loaded vmxnet3", BOOT);
    assert!(line.contains("(15ad:07b0)"), "the load line: {line}");
    assert_booted(&mut g, "vmxnet3");
}

#[test]
fn e1000e_on_q35_with_the_pack_gets_a_lease_and_boots() {
    // The hardware of `qemu/launch --hw`: q35 (AHCI, ICH9), e1000e (built in), xHCI with a USB
    // keyboard, the module pack; coldplug must end and the boot must go through e1000e.
    let dir = tftp_folder("hw-e1000e", "kboot.conf", &conf("e1000e"));
    let pack = built("modules.cpio.xz");
    let mut g = Guest::start(
        "hw-e1000e",
        &GuestOptions {
            machine: "q35",
            append: "kboot.menu=off",
            nics: &["e1000e,netdev=n0"],
            initrd: Some(&pack),
            extra: &[
                "-device",
                "qemu-xhci,id=xhci",
                "-device",
                "usb-kbd,bus=xhci.0",
            ],
            ..GuestOptions::serving(&dir)
        },
    );
    g.wait_for("coldplug done:", BOOT);
    assert_booted(&mut g, "e1000e");
    let out = g.plain_output();
    assert!(
        !out.contains("cannot load"),
        "a module failed to load:\n{out}"
    );
}

#[test]
fn a_usb_nic_plugged_in_after_the_menu_is_up_gets_a_lease_and_boots() {
    // No NIC at start: kboot says it has no network; then a CDC Ethernet USB NIC is plugged
    // in through QEMU's monitor. Its driver (cdc_ether, with usbnet) comes from the pack, and
    // the new interface starts discovery.
    let dir = tftp_folder("hw-usbnet", "kboot.conf", &conf("usbnet"));
    let pack = built("modules.cpio.xz");
    let mut g = Guest::start(
        "hw-usbnet",
        &GuestOptions {
            machine: "q35",
            append: "kboot.menu=off",
            nics: &["none"],
            initrd: Some(&pack),
            extra: &["-device", "qemu-xhci,id=xhci"],
            monitor: true,
            ..GuestOptions::serving(&dir)
        },
    );
    g.wait_for("No config to load", BOOT);
    let answer = g.monitor("device_add usb-net,netdev=n0,bus=xhci.0,id=usbnet");
    assert!(!answer.contains("Error"), "device_add: {answer}");
    let line = g.line_after("loaded cdc_ether", BOOT);
    assert!(line.contains("usb"), "the load line: {line}");
    g.wait_for("new network interface", BOOT);
    assert_booted(&mut g, "usbnet");
}

#[test]
fn a_nic_with_carrier_but_no_dhcp_server_does_not_delay_the_boot_over_the_second() {
    // eth0 is on a QEMU hub with nothing else on it: carrier, but no DHCP server; eth1 is on
    // the user network. DHCP runs on both at once: eth1's lease wins and stops eth0's
    // exchange, which alone would retransmit for about 30 s before giving up.
    let dir = tftp_folder("hw-deadnic", "kboot.conf", &conf("deadnic"));
    let mut g = Guest::start(
        "hw-deadnic",
        &GuestOptions {
            append: "kboot.menu=off",
            nics: &["virtio-net-pci,netdev=dead", "virtio-net-pci,netdev=n0"],
            extra: &["-netdev", "hubport,id=dead,hubid=9"],
            ..GuestOptions::serving(&dir)
        },
    );
    g.wait_for_all(&["eth0: carrier", "eth1: carrier"], BOOT);
    let line = g.line_after("eth1: lease first", BOOT);
    assert!(line.contains("stopping DHCP on the other links"), "{line}");
    g.wait_for("eth1: DHCP lease", BOOT);
    let leased = std::time::Instant::now();
    // The bound: the boot over eth1 starts within 5 s of its lease (it takes well
    // under a second: the config's fetch; a bring-up that waited for eth0 would take ~30 s).
    g.wait_for("booting 'demo'", BOOT);
    let took = leased.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "the boot started {took:?} after the lease"
    );
    assert_booted(&mut g, "deadnic");
    let out = g.plain_output();
    // eth0 was stopped, not given up on.
    assert!(
        !out.contains("DHCP failed on every interface"),
        "eth0 was waited for:\n{out}"
    );
    if std::env::var_os("KBOOT_DUMP").is_some() {
        eprintln!("{out}");
    }
}

#[test]
fn kboot_full_carries_the_pack_inside_and_loads_vmxnet3_from_it() {
    // `qemu/build --embed-modules`: the same boot as with the pack as a second initrd, but
    // from the one file out/x86_64/kboot-full.bzImage and no initrd at all.
    let dir = tftp_folder("hw-full", "kboot.conf", &conf("full"));
    let mut g = Guest::start(
        "hw-full",
        &GuestOptions {
            append: "kboot.menu=off",
            nics: &["vmxnet3,netdev=n0"],
            payload: "kboot-full.bzImage",
            ..GuestOptions::serving(&dir)
        },
    );
    let line = g.line_after("loaded vmxnet3", BOOT);
    assert!(line.contains("(15ad:07b0)"), "the load line: {line}");
    assert_booted(&mut g, "full");
    assert!(
        !g.plain_output().contains("no module pack"),
        "{}",
        g.plain_output()
    );
}
