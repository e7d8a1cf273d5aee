//! The dracut flavour end to end, with real pieces: kboot (in QEMU) fetches Debian's real kernel
//! and a real dracut initramfs (Debian 12's dracut 059 with its nbd, iscsi and nfs modules and
//! network-legacy, made by `qemu/build-dracut`) over TFTP. The entries have `kboot.root=` and no
//! `kboot.flavor=`: kboot must detect dracut in the fetched initrd and render dracut's
//! parameters (`ip=` in dracut's field order, `ifname=bootnet:<mac>`, `rd.neednet=1`,
//! `nameserver=`, `root=nbd:...` / `netroot=iscsi:...` / `root=nfs:...`). dracut then renames
//! the NIC with that MAC to `bootnet`, configures it statically from `ip=...:none`, attaches the
//! root from a disk server the test runs on the host's loopback (10.0.2.2 for the guest) and
//! switches to it; the root's /sbin/init (examples/root_init.rs) prints where / came from and
//! /proc/cmdline.
//!
//! Needs `qemu/setup` (tgt, qemu-utils, nfs-ganesha), `qemu/build`, `qemu/build-diskless` (the
//! root image) and `qemu/build-dracut`. Each test runs in a network namespace of its own
//! (common::netns), where the fixed ports are free: NBD uses qemu-nbd on 127.0.0.1:10809
//! (dracut's `root=nbd:` takes an export name only with the default port), iSCSI a relay on
//! 127.0.0.1:3260 to tgtd, NFS NFS-Ganesha and a portmapper on 127.0.0.1:111 as in
//! tests/qemu_diskless.rs. Runs as root; two suites on one machine do not meet.

mod common;

use common::diskless::{boot, root_cmdline, root_hello, root_modules, Folder};
use common::servers::{
    free_tcp_port, Ganesha, IscsiPortalRelay, QemuNbd, Tgtd, ISCSI_PORT, NBD_PORT,
};
use std::path::PathBuf;
use std::time::Duration;

/// QEMU start to the network root's marker: kboot, then a distro kernel and a dracut initramfs
/// under TCG (about 40 s alone), with another QEMU test sharing the two cores.
const ROOT: Duration = Duration::from_secs(240);

/// What `qemu/build-dracut` and `qemu/build-diskless` made: the TFTP folder and the root image.
fn built() -> (PathBuf, PathBuf) {
    let out = common::repo().join("out/x86_64");
    let tftp = out.join("diskless-dracut");
    let image = out.join("diskless-root.ext4");
    for (p, script) in [
        (tftp.join("vmlinuz-debian"), "qemu/build-dracut"),
        (tftp.join("initrd-dracut.img"), "qemu/build-dracut"),
        (image.clone(), "qemu/build-diskless"),
    ] {
        assert!(
            p.exists(),
            "{} is missing: run {script} (after qemu/build)",
            p.display()
        );
    }
    common::built("kboot.bzImage");
    (tftp, image)
}

/// A TFTP folder with the Debian kernel, the dracut initramfs and Debian's dummy.ko (which the
/// image lacks, for kboot.inject=; made by build-diskless).
fn folder(test: &str, conf: &str) -> Folder {
    let (src, _) = built();
    let dummy = common::repo().join("out/x86_64/diskless/dummy.ko");
    assert!(
        dummy.exists(),
        "{} is missing: run qemu/build-diskless",
        dummy.display()
    );
    let files = [
        src.join("vmlinuz-debian"),
        src.join("initrd-dracut.img"),
        dummy,
    ];
    Folder::new(&format!("dracut-{test}"), &files, conf)
}

/// One entry named `name` booting the dracut initramfs with `args`, as a whole kboot.conf.
/// `rd.shell=0`: a dracut that fails powers off instead of waiting in its emergency shell.
fn conf(name: &str, args: &str) -> String {
    format!(
        "default={name}\ntimeout=0\n{name}='vmlinuz-debian initrd=initrd-dracut.img rw \
         console=ttyS0 rd.shell=0 {args}'\n"
    )
}

/// kboot's dracut network handoff for QEMU's user network (lease 10.0.2.15/24, router 10.0.2.2,
/// DNS 10.0.2.3, MAC 52:54:00:12:34:56; QEMU gives no host name): dracut's
/// `ip=<client>:<peer>:<gw>:<netmask>:<hostname>:<iface>:none` with an empty peer.
const HANDOFF: [&str; 4] = [
    "ip=10.0.2.15::10.0.2.2:255.255.255.0::bootnet:none",
    "ifname=bootnet:52:54:00:12:34:56",
    "rd.neednet=1",
    "nameserver=10.0.2.3",
];

/// The image is one kboot tells as dracut (`kboot::boot::initrd::detect_flavor`, the code the
/// loader runs on the fetched initrd), so the entries below need no `kboot.flavor=`.
fn assert_detected_as_dracut() {
    let (tftp, _) = built();
    let bytes = std::fs::read(tftp.join("initrd-dracut.img")).unwrap();
    assert_eq!(
        kboot::boot::initrd::detect_flavor(&bytes),
        Some(kboot::cmdline::flavor::Flavor::Dracut),
        "kboot does not detect dracut in {}",
        tftp.display()
    );
}

/// The target got the dracut handoff and none of the initramfs-tools one.
fn assert_dracut_handoff(cmdline: &str) {
    for p in HANDOFF {
        assert!(cmdline.contains(p), "'{p}' missing from {cmdline}");
    }
    assert!(
        !cmdline.contains("BOOTIF=") && !cmdline.contains(":off"),
        "initramfs-tools parameters in a dracut command line: {cmdline}"
    );
}

#[test]
fn nbd_root_through_a_detected_dracut_initramfs() {
    // Fixed ports (3260, 10809, 111) only in a network of this test's own.
    let _net = common::netns::PrivateNetwork::enter();
    let (_, image) = built();
    assert_detected_as_dracut();
    let nbd = QemuNbd::start_on("dracut-nbd", &image, "root", NBD_PORT);
    // An export name: dracut's nbdroot.sh runs `nbd-client <server> -name root` (port 10809).
    // And a module the image lacks, injected and loaded by kboot's dracut hook (the image has
    // kmod's modprobe but no insmod).
    let folder = folder(
        "nbd",
        &conf(
            "nbd",
            "kboot.root=nbd:10.0.2.2:root:ext4 \
             kboot.inject=/lib/modules/kboot/dummy.ko=dummy.ko kboot.modules=dummy",
        ),
    );
    let mut g = boot("dracut-nbd", &folder.0);
    let line = root_hello(&mut g, ROOT);
    assert!(
        line.contains("/dev/nbd0") && line.contains("(ext4)"),
        "root not on the NBD device: {line}"
    );
    let cmdline = root_cmdline(&mut g);
    assert_dracut_handoff(&cmdline);
    assert!(
        cmdline.contains("root=nbd:10.0.2.2:root:ext4"),
        "'root=nbd:10.0.2.2:root:ext4' missing from {cmdline}"
    );
    let modules = root_modules(&mut g);
    assert!(
        modules.iter().any(|m| m == "dummy"),
        "the injected dummy module is not loaded: {modules:?}"
    );
    eprintln!(
        "dracut nbd: root init at {:.1} s; target cmdline: {cmdline}",
        g.seconds()
    );
    drop(nbd);
}

const INITIATOR: &str = "iqn.2026-11.test.kboot:dracut-client";
const TARGET: &str = "iqn.2026-11.test.kboot:root";

/// The CHAP account the iSCSI test's tgtd requires (tgt wants 12 to 16 characters).
const CHAP_USER: &str = "kbootclient";
const CHAP_PASSWORD: &str = "s3cret-dracut1";

#[test]
fn iscsi_chap_root_through_a_detected_dracut_initramfs() {
    // Fixed ports (3260, 10809, 111) only in a network of this test's own.
    let _net = common::netns::PrivateNetwork::enter();
    let (_, image) = built();
    assert_detected_as_dracut();
    // dracut discovers (SendTargets) before it logs in, and logs in to the node it found at the
    // portal it asked: tgtd (on a port of its own) answers with its socket's 127.0.0.1, so the
    // relay on 3260 turns that into the 10.0.2.2 the guest uses. See IscsiPortalRelay.
    let tgtd = Tgtd::start_on("dracut-iscsi", &image, TARGET, free_tcp_port());
    // With an incoming account bound to the target, tgtd lets no one log in without CHAP.
    tgtd.adm(&[
        "--op",
        "new",
        "--mode",
        "account",
        "--user",
        CHAP_USER,
        "--password",
        CHAP_PASSWORD,
    ]);
    tgtd.adm(&[
        "--op", "bind", "--mode", "account", "--tid", "1", "--user", CHAP_USER,
    ]);
    let portal = format!("10.0.2.2:{ISCSI_PORT},1");
    let relay = IscsiPortalRelay::start(ISCSI_PORT, tgtd.port, &portal);
    // An RFC 4173 root path with CHAP credentials and LUN 1 (tgtd's LUN 0 is its controller),
    // and no kboot.rootfs=: the whole LUN is the filesystem. kboot renders netroot=iscsi:...
    // (without the credentials), rd.iscsi.initiator= and the LUN's name as udev's path_id gives
    // it in dracut (root=/dev/disk/by-path/ip-<server>:<port>-iscsi-<target>-lun-<n>), and puts
    // rd.iscsi.username/password into /etc/cmdline.d/ of a cpio segment it appends to the
    // (zstd) initrd: dracut's getarg reads them from there.
    let folder = folder(
        "iscsi",
        &conf(
            "iscsi",
            &format!(
                "kboot.root=iscsi:{CHAP_USER}:{CHAP_PASSWORD}@10.0.2.2::{ISCSI_PORT}:1:{TARGET} \
                 kboot.initiator={INITIATOR}"
            ),
        ),
    );
    let mut g = boot("dracut-iscsi", &folder.0);
    let line = root_hello(&mut g, ROOT);
    assert!(
        line.contains("/dev/sd") && line.contains("(ext4)"),
        "root not on the iSCSI disk: {line}"
    );
    let cmdline = root_cmdline(&mut g);
    assert!(
        relay.rewritten.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "the root came up without a SendTargets discovery through the relay"
    );
    assert_dracut_handoff(&cmdline);
    for p in [
        format!("netroot=iscsi:10.0.2.2::{ISCSI_PORT}:1:{TARGET}"),
        format!("rd.iscsi.initiator={INITIATOR}"),
        format!("root=/dev/disk/by-path/ip-10.0.2.2:{ISCSI_PORT}-iscsi-{TARGET}-lun-1"),
    ] {
        assert!(cmdline.contains(&p), "'{p}' missing from {cmdline}");
    }
    assert!(
        !cmdline.contains(CHAP_PASSWORD) && !cmdline.contains(CHAP_USER),
        "CHAP credentials on the target's command line: {cmdline}"
    );
    assert!(
        !g.plain_output().contains(CHAP_PASSWORD),
        "the CHAP password was printed on the console"
    );
    eprintln!(
        "dracut iscsi: root init at {:.1} s; target cmdline: {cmdline}",
        g.seconds()
    );
    drop(relay);
    drop(tgtd);
}

#[test]
fn nfs_root_through_a_detected_dracut_initramfs() {
    // Fixed ports (3260, 10809, 111) only in a network of this test's own.
    let _net = common::netns::PrivateNetwork::enter();
    let (_, image) = built();
    assert_detected_as_dracut();
    let nfs = Ganesha::start("dracut-nfs", &image);
    // dracut's nfsroot mounts with `mount -t nfs -o <options>,nolock <server>:<path>`; with the
    // NFS and MOUNT ports in the options, mount.nfs needs no portmapper answer.
    let options = format!(
        "vers=3,tcp,port={},mountport={},mountproto=tcp",
        nfs.port, nfs.mount_port
    );
    let root = format!("nfs:10.0.2.2:{}:{options}", nfs.export.display());
    let folder = folder("nfs", &conf("nfs", &format!("kboot.root={root}")));
    let mut g = boot("dracut-nfs", &folder.0);
    let line = root_hello(&mut g, ROOT);
    assert!(
        line.contains(&format!("10.0.2.2:{}", nfs.export.display())) && line.contains("(nfs)"),
        "root not on our NFS export: {line}"
    );
    let cmdline = root_cmdline(&mut g);
    assert_dracut_handoff(&cmdline);
    assert!(
        cmdline.contains(&format!("root={root}")),
        "'root={root}' missing from {cmdline}"
    );
    eprintln!(
        "dracut nfs: root init at {:.1} s; target cmdline: {cmdline}",
        g.seconds()
    );
    drop(nfs);
}
