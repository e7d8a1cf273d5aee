//! End to end in QEMU: kboot chain-loaded the ways a PC's PXE firmware starts boot loaders
//! (docs/pxe.md). SeaBIOS with QEMU's iPXE option ROM (`-boot n`, Debian's ipxe-qemu) gets
//! its boot file from QEMU's DHCP/TFTP server and starts:
//! - an iPXE script that loads `kboot.bzImage` and the module pack as a second initrd;
//! - Debian's `pxelinux.0` (+ `ldlinux.c32`) whose APPEND line starts kboot's kernel with
//!   kboot's initramfs (the split pair `bzImage` + `initramfs.cpio.gz`);
//! - GRUB's netboot image (`boot/grub/i386-pc/core.0` from `grub-mknetdir`, made by
//!   `qemu/build-grubnet` from Debian's grub-pc-bin unpacked into the cache) whose `grub.cfg`
//!   has `linux`/`initrd` lines for `kboot.bzImage` and the module pack.
//!
//! Each kboot then reads the config its command line names and kexecs the demo target.
//! Needs `qemu/build` to have run (the README's test command does it) and Debian's `pxelinux`
//! and `syslinux-common` packages (qemu/setup installs them); the GRUB test needs
//! `qemu/build-grubnet` (qemu/test runs it).

mod common;

use common::{built, tftp_folder, Guest};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// From QEMU's start to the target's marker: the ROM's DHCP and TFTP (lock-step, a few MB per
/// second under TCG), kboot's boot, its DHCP and the target's boot.
const BOOT: Duration = Duration::from_secs(240);

/// A SeaBIOS PC that boots from the network (`-boot n`) with `nic` (its option ROM is QEMU's
/// iPXE build) on QEMU's user network serving `tftp` with `bootfile`.
fn pxe_guest(name: &str, tftp: &Path, bootfile: &str, nic: &str) -> Guest {
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args(["-m", "768", "-no-reboot", "-display", "none", "-nodefaults"])
        .args(["-serial", "stdio", "-monitor", "none", "-boot", "n"])
        .arg("-netdev")
        .arg(format!(
            "user,id=n0,tftp={},bootfile={bootfile}",
            tftp.display()
        ))
        .args(["-device", &format!("{nic},netdev=n0")]);
    Guest::from_command(name, cmd)
}

fn demo_conf(test: &str) -> String {
    format!(
        "default=only\ntimeout=0\n\
         only='bzImage-kboot initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test={test}'\n"
    )
}

#[test]
fn an_ipxe_script_chain_loads_kboot_with_the_module_pack_as_second_initrd() {
    let dir = tftp_folder("pxe-ipxe", "pxe.conf", &demo_conf("ipxe"));
    std::fs::copy(built("kboot.bzImage"), dir.join("kboot.bzImage")).unwrap();
    std::fs::copy(built("modules.cpio.xz"), dir.join("modules.cpio.xz")).unwrap();
    // What docs/pxe.md shows: kernel (with kboot's arguments), then the pack, then boot.
    std::fs::write(
        dir.join("boot.ipxe"),
        "#!ipxe\n\
         kernel kboot.bzImage console=ttyS0 kboot.config=tftp://10.0.2.2/pxe.conf\n\
         initrd modules.cpio.xz\n\
         boot\n",
    )
    .unwrap();
    // The NIC is a VMware vmxnet3: QEMU's iPXE ROM drives it, but kboot's kernel has no built-in
    // driver for it (vmxnet3 is a module in the pack). kboot reaches its config only when the
    // pack arrived as the second initrd and kboot loaded the driver from it.
    let mut g = pxe_guest("pxe-ipxe", &dir, "boot.ipxe", "vmxnet3");
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline.contains("kboot_test=ipxe"),
        "target cmdline: {cmdline}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pxelinux_starts_kboots_kernel_and_initramfs_from_its_append_line() {
    let syslinux = Path::new("/usr/lib/PXELINUX/pxelinux.0");
    let ldlinux = Path::new("/usr/lib/syslinux/modules/bios/ldlinux.c32");
    assert!(
        syslinux.exists() && ldlinux.exists(),
        "Debian's pxelinux and syslinux-common packages are missing: run qemu/setup"
    );
    let cfg = "DEFAULT kboot\n\
               PROMPT 0\n\
               LABEL kboot\n\
               \x20 KERNEL bzImage\n\
               \x20 APPEND initrd=initramfs.cpio.gz console=ttyS0 kboot.config=tftp://10.0.2.2/pxe.conf\n";
    let dir = tftp_folder("pxe-pxelinux", "pxelinux.cfg/default", cfg);
    std::fs::write(dir.join("pxe.conf"), demo_conf("pxelinux")).unwrap();
    std::fs::copy(syslinux, dir.join("pxelinux.0")).unwrap();
    std::fs::copy(ldlinux, dir.join("ldlinux.c32")).unwrap();
    std::fs::copy(built("bzImage"), dir.join("bzImage")).unwrap();
    std::fs::copy(built("initramfs.cpio.gz"), dir.join("initramfs.cpio.gz")).unwrap();
    let mut g = pxe_guest("pxe-pxelinux", &dir, "pxelinux.0", "virtio-net-pci");
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline.contains("kboot_test=pxelinux"),
        "target cmdline: {cmdline}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn grub_netboot_image_starts_kboot_from_its_grub_cfg() {
    let grubnet = built("grubnet");
    let core = grubnet.join("boot/grub/i386-pc/core.0");
    assert!(
        core.exists(),
        "{} is missing: run qemu/build-grubnet",
        core.display()
    );
    // A 1 s countdown so that kboot's menu shows before it boots.
    let conf = demo_conf("grub").replace("timeout=0", "timeout=1");
    let dir = tftp_folder("pxe-grub", "pxe.conf", &conf);
    // grub-mknetdir's tree as it would lie in /srv/tftp: boot/grub/i386-pc/{core.0, *.mod}.
    let status = Command::new("cp")
        .arg("-r")
        .arg(grubnet.join("boot"))
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success(), "cp -r {} failed", grubnet.display());
    std::fs::copy(built("kboot.bzImage"), dir.join("kboot.bzImage")).unwrap();
    std::fs::copy(built("modules.cpio.xz"), dir.join("modules.cpio.xz")).unwrap();
    // docs/pxe.md's grub.cfg (prefix boot/grub), on the serial line so that GRUB's own
    // output can be checked.
    std::fs::write(
        dir.join("boot/grub/grub.cfg"),
        "serial --unit=0 --speed=115200\n\
         terminal_input serial\n\
         terminal_output serial\n\
         set timeout=0\n\
         menuentry kboot {\n\
         \x20 echo KBOOT-GRUB: loading kboot on $grub_platform from $net_default_server\n\
         \x20 linux /kboot.bzImage console=ttyS0 kboot.config=tftp://10.0.2.2/pxe.conf\n\
         \x20 initrd /modules.cpio.xz\n\
         }\n",
    )
    .unwrap();
    // The DHCP server hands every client (the ROM, and kboot after it) GRUB's image as boot
    // file; kboot, told its config, does not look at it.
    let mut g = pxe_guest(
        "pxe-grub",
        &dir,
        "boot/grub/i386-pc/core.0",
        "virtio-net-pci",
    );
    g.wait_for("KBOOT-GRUB: loading kboot on pc from 10.0.2.2", BOOT);
    g.wait_for("Booting 'only'", BOOT);
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline.contains("kboot_test=grub"),
        "target cmdline: {cmdline}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
