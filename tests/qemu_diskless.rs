//! Diskless roots end to end, with real pieces: kboot (in QEMU) fetches Debian's real kernel and
//! a real Debian initramfs (mkinitramfs with open-iscsi and nbd-client, made by
//! `qemu/build-diskless`) over TFTP and kexecs them with its `ip=`/`BOOTIF=` handoff; that
//! initramfs attaches the root filesystem from a disk server the test runs on the host's
//! loopback (10.0.2.2 for the guest) and starts its /sbin/init, which prints where / came from.
//! iSCSI: tgtd on 127.0.0.1:3260; NBD: qemu-nbd; NFS: NFS-Ganesha (user space: this machine's
//! kernel has no nfsd) plus a portmapper on 127.0.0.1:111. The tests with fixed ports run in a
//! network namespace of their own (common::netns). Runs as root (tgtd, namespaces).
//!
//! The entries use kboot's diskless keys (kboot.root=, kboot.inject=, kboot.modules=); the
//! command line kboot gives the target and the modules loaded are asserted from what the root's
//! init prints.
//!
//! Needs `qemu/setup` (tgt, qemu-utils, nfs-ganesha, nfs-ganesha-vfs, rpcbind), `qemu/build` and
//! `qemu/build-diskless` (the Debian initramfs, built in the private root of qemu/build-root).

mod common;

use common::diskless::{boot, root_cmdline, root_hello, root_modules, Folder};
use common::servers::{Ganesha, QemuNbd, Tgtd, ISCSI_PORT};
use std::path::PathBuf;
use std::time::Duration;

/// QEMU start to the network root's marker: kboot, then a distro kernel and initramfs under TCG,
/// with another QEMU test sharing the two cores.
const ROOT: Duration = Duration::from_secs(300);

/// What `qemu/build-diskless` made: the TFTP folder and the root image.
fn diskless() -> (PathBuf, PathBuf) {
    let out = common::repo().join("out/x86_64");
    let tftp = out.join("diskless");
    let image = out.join("diskless-root.ext4");
    for p in [
        tftp.join("vmlinuz-debian"),
        tftp.join("initrd-debian.img"),
        tftp.join("dummy.ko"),
        image.clone(),
    ] {
        assert!(
            p.exists(),
            "{} is missing: run qemu/build-diskless (after qemu/build)",
            p.display()
        );
    }
    common::built("kboot.bzImage");
    (tftp, image)
}

/// A TFTP folder with the Debian kernel, the initramfs-tools initrd and dummy.ko.
fn folder(test: &str, conf: &str) -> Folder {
    let (src, _) = diskless();
    let files = ["vmlinuz-debian", "initrd-debian.img", "dummy.ko"].map(|f| src.join(f));
    Folder::new(test, &files, conf)
}

/// The parts of kboot's handoff for QEMU's user network (lease 10.0.2.15/24, router and
/// next-server 10.0.2.2, DNS 10.0.2.3, MAC 52:54:00:12:34:56).
const HANDOFF: [&str; 2] = [
    "ip=10.0.2.15:10.0.2.2:10.0.2.2:255.255.255.0:::off:10.0.2.3",
    "BOOTIF=01-52-54-00-12-34-56",
];

const INITIATOR: &str = "iqn.2026-11.test.kboot:client";
const TARGET: &str = "iqn.2026-11.test.kboot:root";

#[test]
fn iscsi_root_through_debian_initramfs_tools_and_open_iscsi() {
    // Fixed ports (3260, 10809, 111) only in a network of this test's own.
    let _net = common::netns::PrivateNetwork::enter();
    let (_, image) = diskless();
    let tgtd = Tgtd::start("iscsi", &image, TARGET);
    // kboot's own keys: an RFC 4173 root path; the flavour (initramfs-tools) is detected in
    // the fetched initrd and kboot writes open-iscsi's parameters.
    let entry = format!(
        "vmlinuz-debian initrd=initrd-debian.img rw console=ttyS0 \
         kboot.root=iscsi:10.0.2.2::{ISCSI_PORT}:1:{TARGET} \
         kboot.rootfs=LABEL=kbootroot kboot.initiator={INITIATOR}"
    );
    let folder = folder(
        "iscsi",
        &format!("default=iscsi\ntimeout=0\niscsi='{entry}'\n"),
    );
    let mut g = boot("iscsi", &folder.0);
    // open-iscsi's iscsistart in the target's initramfs logs in to our tgtd ...
    let login = g.wait_for("is operational now", ROOT);
    assert!(
        login.contains(TARGET) && login.contains("10.0.2.2,3260"),
        "login line: {login}"
    );
    let login_at = g.seconds();
    // ... and the root init on the iSCSI disk (a SCSI disk, sd*) prints its marker.
    let hello = root_hello(&mut g, ROOT);
    assert!(
        hello.contains("/dev/sd") && hello.contains("(ext4)"),
        "root not on the iSCSI disk: {hello}"
    );
    let cmdline = root_cmdline(&mut g);
    for p in HANDOFF.iter().chain(&[
        "iscsi_target_ip=10.0.2.2",
        "root=LABEL=kbootroot",
        "iscsi_target_name=iqn.2026-11.test.kboot:root",
        "iscsi_initiator=iqn.2026-11.test.kboot:client",
    ]) {
        assert!(cmdline.contains(p), "'{p}' missing from {cmdline}");
    }
    eprintln!(
        "iscsi: logged in at {login_at:.1} s, root init at {:.1} s; target cmdline: {cmdline}",
        g.seconds()
    );
    drop(tgtd);
}

#[test]
fn nbd_root_through_debian_initramfs_tools_and_nbd_client() {
    let (_, image) = diskless();
    let nbd = QemuNbd::start("nbd", &image, "root");
    // kboot renders nbd-client's nbdroot=<server>:<port>/<export name> and root=/dev/nbd0.
    let entry = format!(
        "vmlinuz-debian initrd=initrd-debian.img rw console=ttyS0 \
         kboot.root=nbd:10.0.2.2:{}/{}:ext4 kboot.flavor=initramfs-tools",
        nbd.port, nbd.name
    );
    let folder = folder("nbd", &format!("default=nbd\ntimeout=0\nnbd='{entry}'\n"));
    let mut g = boot("nbd", &folder.0);
    let hello = root_hello(&mut g, ROOT);
    assert!(
        hello.contains("/dev/nbd0") && hello.contains("(ext4)"),
        "root not on the NBD device: {hello}"
    );
    let cmdline = root_cmdline(&mut g);
    for p in HANDOFF
        .iter()
        .chain(&["root=/dev/nbd0", "nbdroot=10.0.2.2:"])
    {
        assert!(cmdline.contains(p), "'{p}' missing from {cmdline}");
    }
    // The control for the injection test below: nothing loads dummy by itself.
    let modules = root_modules(&mut g);
    assert!(
        modules.iter().any(|m| m == "nbd") && !modules.iter().any(|m| m == "dummy"),
        "modules: {modules:?}"
    );
    eprintln!(
        "nbd: root init at {:.1} s; target cmdline: {cmdline}",
        g.seconds()
    );
    drop(nbd);
}

#[test]
fn template_root_with_an_injected_module() {
    let (_, image) = diskless();
    let nbd = QemuNbd::start("inject", &image, "root");
    // A disk server kboot has no renderer for is written by the entry as a template (here
    // nbd-client's own parameters, with the lease's next-server), and a driver the target's
    // initramfs lacks is fetched next to the kernel and loaded there before the root is
    // attached: Debian's dummy.ko, which nothing else loads (see the NBD test).
    let entry = format!(
        "vmlinuz-debian initrd=initrd-debian.img rw console=ttyS0 \
         kboot.root=\"template:nbdroot=${{server}}:{}/{} root=/dev/nbd0 rootfstype=ext4\" \
         kboot.inject=/lib/modules/kboot/dummy.ko=dummy.ko kboot.modules=dummy",
        nbd.port, nbd.name
    );
    let folder = folder(
        "inject",
        &format!("default=inject\ntimeout=0\ninject='{entry}'\n"),
    );
    let mut g = boot("inject", &folder.0);
    let hello = root_hello(&mut g, ROOT);
    assert!(
        hello.contains("/dev/nbd0") && hello.contains("(ext4)"),
        "root not on the NBD device: {hello}"
    );
    let cmdline = root_cmdline(&mut g);
    let nbdroot = format!("nbdroot=10.0.2.2:{}/{}", nbd.port, nbd.name);
    for p in HANDOFF
        .iter()
        .chain(&[nbdroot.as_str(), "root=/dev/nbd0", "rootfstype=ext4"])
    {
        assert!(cmdline.contains(p), "'{p}' missing from {cmdline}");
    }
    assert!(
        !cmdline.contains("kboot.") && !cmdline.contains("${"),
        "kboot's keys or an unexpanded variable reached the target: {cmdline}"
    );
    let modules = root_modules(&mut g);
    assert!(
        modules.iter().any(|m| m == "dummy"),
        "dummy is not loaded: {modules:?}"
    );
    eprintln!(
        "inject: root init at {:.1} s with dummy loaded; target cmdline: {cmdline}",
        g.seconds()
    );
    drop(nbd);
}

#[test]
fn nfs_root_through_debian_initramfs_tools_and_klibc_nfsmount() {
    // Fixed ports (3260, 10809, 111) only in a network of this test's own.
    let _net = common::netns::PrivateNetwork::enter();
    let (_, image) = diskless();
    let nfs = Ganesha::start("nfs", &image);
    // initramfs-tools' nfs boot: klibc nfsmount (NFSv3 over TCP, nolock), which asks the
    // server's portmapper for the NFS and MOUNT ports.
    // kboot renders boot=nfs root=/dev/nfs nfsroot=<server>:<path> (flavour detected).
    let entry = format!(
        "vmlinuz-debian initrd=initrd-debian.img rw console=ttyS0 kboot.root=nfs:10.0.2.2:{}",
        nfs.export.display()
    );
    let folder = folder("nfs", &format!("default=nfs\ntimeout=0\nnfs='{entry}'\n"));
    let mut g = boot("nfs", &folder.0);
    let hello = root_hello(&mut g, ROOT);
    assert!(
        hello.contains(&format!("10.0.2.2:{}", nfs.export.display())) && hello.contains("(nfs)"),
        "root not on our NFS export: {hello}"
    );
    let cmdline = root_cmdline(&mut g);
    for p in HANDOFF
        .iter()
        .chain(&["boot=nfs", "root=/dev/nfs", "nfsroot=10.0.2.2:"])
    {
        assert!(cmdline.contains(p), "'{p}' missing from {cmdline}");
    }
    eprintln!(
        "nfs: root init at {:.1} s; target cmdline: {cmdline}",
        g.seconds()
    );
    drop(nfs);
}
