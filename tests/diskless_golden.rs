//! Golden command lines: every root source × every flavour, exact strings.
//! Each expectation was checked against the script that reads it (dracut's 95iscsi / 95nbd /
//! 95nfs and 40network, open-iscsi's and nbd-client's initramfs-tools scripts, initramfs-tools'
//! scripts/functions and scripts/nfs, the kernel's nfsroot.rst); see docs/diskless.md.

use std::net::Ipv4Addr;

use kboot::cmdline::flavor::{apply, render, render_with, Flavor, RenderOptions};
use kboot::cmdline::root::{parse_root_uri, RootSource};
use kboot::cmdline::secrets;
use kboot::net::Lease;

fn lease() -> Lease {
    Lease {
        iface: "eth0".into(),
        mac: [0x52, 0x54, 0x00, 0x12, 0x34, 0x56],
        client: Some(Ipv4Addr::new(10, 0, 2, 15)),
        netmask: Some(Ipv4Addr::new(255, 255, 255, 0)),
        gateway: Some(Ipv4Addr::new(10, 0, 2, 2)),
        dns: vec![Ipv4Addr::new(10, 0, 2, 3)],
        hostname: Some("client1".into()),
        next_server: Some(Ipv4Addr::new(10, 0, 2, 2)),
        ..Default::default()
    }
}

fn out(root: &str, flavor: Flavor) -> String {
    let r = parse_root_uri(root).unwrap();
    match render(&r, flavor, &lease()) {
        Ok(x) => x.args,
        Err(e) => format!("ERROR: {e}"),
    }
}

const DRACUT_NET: &str =
    "ip=10.0.2.15::10.0.2.2:255.255.255.0:client1:bootnet:none ifname=bootnet:52:54:00:12:34:56 rd.neednet=1 nameserver=10.0.2.3";
const TOOLS_NET: &str =
    "ip=10.0.2.15:10.0.2.2:10.0.2.2:255.255.255.0:client1::off:10.0.2.3 BOOTIF=01-52-54-00-12-34-56";
const KERNEL_NET: &str = "ip=10.0.2.15:10.0.2.2:10.0.2.2:255.255.255.0:client1::off:10.0.2.3";

fn golden(root: &str, flavor: Flavor, want: &str) {
    assert_eq!(out(root, flavor), want, "{root} for {flavor}");
}

const ISCSI: &str = "iscsi:10.0.2.2::3260:0:iqn.2024-01.org.kboot:root";

#[test]
fn iscsi_whole_lun() {
    golden(
        ISCSI,
        Flavor::Dracut,
        &format!(
            "{DRACUT_NET} netroot=iscsi:10.0.2.2::3260:0:iqn.2024-01.org.kboot:root \
             rd.iscsi.initiator=iqn.2010-04.org.ipxe:client1 \
             root=/dev/disk/by-path/ip-10.0.2.2:3260-iscsi-iqn.2024-01.org.kboot:root-lun-0"
        ),
    );
    golden(
        ISCSI,
        Flavor::InitramfsTools,
        &format!(
            "{TOOLS_NET} iscsi_initiator=iqn.2010-04.org.ipxe:client1 \
             iscsi_target_name=iqn.2024-01.org.kboot:root iscsi_target_ip=10.0.2.2 \
             iscsi_target_port=3260 root=iscsi:10.0.2.2::3260:0:iqn.2024-01.org.kboot:root"
        ),
    );
    golden(
        ISCSI,
        Flavor::Kernel,
        "ERROR: the plain kernel cannot attach an iSCSI root: it needs an initramfs (dracut or initramfs-tools)",
    );
}

#[test]
fn iscsi_hex_lun_port_and_protocol() {
    // RFC 4173 LUN "a" is LUN 10; both families match /dev/disk/by-path/*-lun-<decimal>.
    let root = "iscsi:10.0.2.2:6:3261:a:iqn.2024-01.org.kboot:root";
    golden(
        root,
        Flavor::Dracut,
        &format!(
            "{DRACUT_NET} netroot=iscsi:10.0.2.2::3261:10:iqn.2024-01.org.kboot:root \
             rd.iscsi.initiator=iqn.2010-04.org.ipxe:client1 \
             root=/dev/disk/by-path/ip-10.0.2.2:3261-iscsi-iqn.2024-01.org.kboot:root-lun-10"
        ),
    );
    golden(
        root,
        Flavor::InitramfsTools,
        &format!(
            "{TOOLS_NET} iscsi_initiator=iqn.2010-04.org.ipxe:client1 \
             iscsi_target_name=iqn.2024-01.org.kboot:root iscsi_target_ip=10.0.2.2 \
             iscsi_target_port=3261 root=iscsi:10.0.2.2::3261:10:iqn.2024-01.org.kboot:root"
        ),
    );
}

fn chap_root() -> RootSource {
    let mut r =
        parse_root_uri("iscsi:joe:s3cret:tgt:it's@10.0.2.2::::iqn.2024-01.org.kboot:root").unwrap();
    if let RootSource::Iscsi(i) = &mut r {
        i.rootfs = Some("UUID=0b1c-22".into());
        i.initiator = Some("iqn.2024-01.org.kboot:client1".into());
    }
    r
}

#[test]
fn iscsi_chap_goes_into_the_initramfs() {
    let r = render(&chap_root(), Flavor::Dracut, &lease()).unwrap();
    let want = format!(
        "{DRACUT_NET} netroot=iscsi:10.0.2.2::3260:0:iqn.2024-01.org.kboot:root \
         rd.iscsi.initiator=iqn.2024-01.org.kboot:client1 root=UUID=0b1c-22"
    );
    assert_eq!(r.args, want);
    assert_eq!(r.masked, want);
    assert_eq!(
        r.secrets,
        vec![(
            "etc/cmdline.d/90-kboot-secrets.conf".to_string(),
            b"rd.iscsi.username=joe rd.iscsi.password=s3cret rd.iscsi.in.username=tgt rd.iscsi.in.password=it's\n"
                .to_vec()
        )]
    );

    let r = render(&chap_root(), Flavor::InitramfsTools, &lease()).unwrap();
    let want = format!(
        "{TOOLS_NET} iscsi_initiator=iqn.2024-01.org.kboot:client1 \
         iscsi_target_name=iqn.2024-01.org.kboot:root iscsi_target_ip=10.0.2.2 \
         iscsi_target_port=3260 root=UUID=0b1c-22"
    );
    assert_eq!(r.args, want);
    assert_eq!(r.masked, want);
    assert_eq!(
        r.secrets,
        vec![(
            "etc/iscsi.initramfs".to_string(),
            b"# written by kboot\nISCSI_USERNAME='joe'\nISCSI_PASSWORD='s3cret'\n\
              ISCSI_IN_USERNAME='tgt'\nISCSI_IN_PASSWORD='it'\\''s'\n"
                .to_vec()
        )]
    );
    // The debug form shows the masked line and file names, never the passwords.
    assert!(!format!("{r:?}").contains("s3cret"));
}

#[test]
fn iscsi_chap_on_the_command_line_is_masked() {
    let opts = RenderOptions {
        secrets_on_cmdline: true,
        ..Default::default()
    };
    let r = render_with(&chap_root(), Flavor::Dracut, &lease(), &opts).unwrap();
    assert!(r.secrets.is_empty());
    assert!(r.args.ends_with(
        "root=UUID=0b1c-22 rd.iscsi.username=joe rd.iscsi.password=s3cret \
         rd.iscsi.in.username=tgt rd.iscsi.in.password=it's"
    ));
    assert!(r.masked.ends_with(
        "root=UUID=0b1c-22 rd.iscsi.username=joe rd.iscsi.password=*** \
         rd.iscsi.in.username=tgt rd.iscsi.in.password=***"
    ));
    let r = render_with(&chap_root(), Flavor::InitramfsTools, &lease(), &opts).unwrap();
    assert!(r.masked.ends_with(
        "root=UUID=0b1c-22 iscsi_username=joe iscsi_password=*** \
         iscsi_in_username=tgt iscsi_in_password=***"
    ));
    assert!(!r.masked.contains("s3cret") && r.args.contains("iscsi_password=s3cret"));
}

#[test]
fn iscsi_ipv6_and_generated_initiators() {
    let root = parse_root_uri("iscsi:[fd00::2]::::iqn.x:y").unwrap();
    let mut l = lease();
    l.hostname = None;
    l.iscsi_initiator = Some("iqn.2000-01.com.dhcp:opt203".into());
    let r = render(&root, Flavor::Dracut, &l).unwrap();
    assert_eq!(
        r.args,
        "ip=10.0.2.15::10.0.2.2:255.255.255.0::bootnet:none ifname=bootnet:52:54:00:12:34:56 \
         rd.neednet=1 nameserver=10.0.2.3 netroot=iscsi:[fd00::2]::3260:0:iqn.x:y \
         rd.iscsi.initiator=iqn.2000-01.com.dhcp:opt203 \
         root=/dev/disk/by-path/ip-fd00::2:3260-iscsi-iqn.x:y-lun-0"
    );
    assert_eq!(
        out("iscsi:[fd00::2]::::iqn.x:y", Flavor::InitramfsTools),
        "ERROR: initramfs-tools cannot mount a whole iSCSI LUN from an IPv6 server: set the root filesystem (kboot.rootfs=)"
    );
    l.iscsi_initiator = None;
    let opts = RenderOptions {
        uuid: Some("4C4C4544-0042"),
        ..Default::default()
    };
    let r = render_with(&root, Flavor::Dracut, &l, &opts).unwrap();
    assert!(r
        .args
        .contains("rd.iscsi.initiator=iqn.2010-04.org.ipxe:4c4c4544-0042"));
}

#[test]
fn nbd() {
    golden(
        "nbd:10.0.2.2:root:ext4",
        Flavor::Dracut,
        &format!("{DRACUT_NET} root=nbd:10.0.2.2:root:ext4"),
    );
    golden(
        "nbd:10.0.2.2:root:ext4",
        Flavor::InitramfsTools,
        &format!("{TOOLS_NET} nbdroot=10.0.2.2:10809/root root=/dev/nbd0 rootfstype=ext4"),
    );
    golden(
        "nbd:10.0.2.2:root:ext4",
        Flavor::Kernel,
        "ERROR: the plain kernel cannot attach an NBD root: it needs an initramfs (dracut or initramfs-tools)",
    );
    golden(
        "nbd:10.0.2.2:10809",
        Flavor::Dracut,
        &format!("{DRACUT_NET} root=nbd:10.0.2.2:10809"),
    );
    golden(
        "nbd:10.0.2.2:10809",
        Flavor::InitramfsTools,
        "ERROR: initramfs-tools' nbd-client script needs an export name; this NBD root gives only a port",
    );
    golden(
        "nbd:10.0.2.2:2000/root:ext4:noatime",
        Flavor::Dracut,
        "ERROR: dracut's NBD root takes a port or an export name, not both (an export name uses port 10809)",
    );
    golden(
        "nbd:10.0.2.2:10809/root::ro:timeout=30",
        Flavor::Dracut,
        &format!("{DRACUT_NET} root=nbd:10.0.2.2:root::ro:timeout=30"),
    );
    golden(
        "nbd:10.0.2.2:2000/root:ext4:noatime",
        Flavor::InitramfsTools,
        &format!(
            "{TOOLS_NET} nbdroot=10.0.2.2:2000/root root=/dev/nbd0 rootfstype=ext4 rootflags=noatime"
        ),
    );
    golden(
        "nbd:[fd00::2]:root",
        Flavor::InitramfsTools,
        &format!("{TOOLS_NET} nbdroot=[fd00::2]:10809/root root=/dev/nbd0"),
    );
    golden(
        "nbd:[fd00::2]:root",
        Flavor::Dracut,
        "ERROR: dracut's NBD root splits on ':' and cannot take an IPv6 server",
    );
}

#[test]
fn nfs() {
    let root = "nfs:10.0.2.2:/srv/root:vers=3,tcp";
    golden(
        root,
        Flavor::Dracut,
        &format!("{DRACUT_NET} root=nfs:10.0.2.2:/srv/root:vers=3,tcp"),
    );
    golden(
        root,
        Flavor::InitramfsTools,
        &format!("{TOOLS_NET} boot=nfs root=/dev/nfs nfsroot=10.0.2.2:/srv/root,vers=3,tcp"),
    );
    golden(
        root,
        Flavor::Kernel,
        &format!("{KERNEL_NET} root=/dev/nfs nfsroot=10.0.2.2:/srv/root,vers=3,tcp"),
    );
    let root = "nfs4:10.0.2.2:/srv/root";
    golden(
        root,
        Flavor::Dracut,
        &format!("{DRACUT_NET} root=nfs4:10.0.2.2:/srv/root"),
    );
    golden(
        root,
        Flavor::InitramfsTools,
        "ERROR: initramfs-tools mounts NFS roots with klibc's nfsmount, which speaks NFS v2/v3 only: use nfs: instead of nfs4:",
    );
    golden(
        root,
        Flavor::Kernel,
        &format!("{KERNEL_NET} root=/dev/nfs nfsroot=10.0.2.2:/srv/root,vers=4"),
    );
    // Option 17 style, the server from next-server.
    let root = "/srv/root";
    golden(
        root,
        Flavor::Dracut,
        &format!("{DRACUT_NET} root=nfs:10.0.2.2:/srv/root"),
    );
    golden(
        root,
        Flavor::InitramfsTools,
        &format!("{TOOLS_NET} boot=nfs root=/dev/nfs nfsroot=10.0.2.2:/srv/root"),
    );
    golden(
        root,
        Flavor::Kernel,
        &format!("{KERNEL_NET} root=/dev/nfs nfsroot=10.0.2.2:/srv/root"),
    );
    golden(
        "nfs.example.org:/srv/root",
        Flavor::Kernel,
        "ERROR: the kernel mounts an NFS root by IPv4 address only, and \"nfs.example.org\" is not one",
    );
    golden(
        "nfs.example.org:/srv/root",
        Flavor::Dracut,
        &format!("{DRACUT_NET} root=nfs:nfs.example.org:/srv/root"),
    );
}

#[test]
fn templates() {
    let root = "template:rd.myscsi=${server}:${mac_dashed} rd.myscsi.name=${hostname}";
    let tail = "rd.myscsi=10.0.2.2:52-54-00-12-34-56 rd.myscsi.name=client1";
    golden(root, Flavor::Dracut, &format!("{DRACUT_NET} {tail}"));
    golden(root, Flavor::InitramfsTools, &format!("{TOOLS_NET} {tail}"));
    golden(root, Flavor::Kernel, &format!("{KERNEL_NET} {tail}"));
    golden(
        "template:x=${nope}",
        Flavor::Kernel,
        "ERROR: the template uses ${nope}, which is not one of ip, netmask, gateway, server, dns, hostname, mac, mac_dashed, uuid, iface",
    );
}

#[test]
fn lease_variations() {
    // No gateway, two DNS servers, no hostname, no netmask (classful /8 for 10.x).
    let l = Lease {
        mac: [2, 0, 0, 0, 0, 1],
        client: Some(Ipv4Addr::new(10, 1, 2, 3)),
        dns: vec![
            Ipv4Addr::new(9, 9, 9, 9),
            Ipv4Addr::new(1, 1, 1, 1),
            Ipv4Addr::new(8, 8, 8, 8),
        ],
        ..Default::default()
    };
    let root = parse_root_uri("nfs:10.0.0.1:/r").unwrap();
    assert_eq!(
        render(&root, Flavor::Dracut, &l).unwrap().args,
        "ip=10.1.2.3:::255.0.0.0::bootnet:none ifname=bootnet:02:00:00:00:00:01 rd.neednet=1 \
         nameserver=9.9.9.9 nameserver=1.1.1.1 nameserver=8.8.8.8 root=nfs:10.0.0.1:/r"
    );
    assert_eq!(
        render(&root, Flavor::InitramfsTools, &l).unwrap().args,
        "ip=10.1.2.3:::255.0.0.0:::off:9.9.9.9:1.1.1.1 BOOTIF=01-02-00-00-00-00-01 \
         boot=nfs root=/dev/nfs nfsroot=10.0.0.1:/r"
    );
    assert_eq!(
        render(&parse_root_uri("/r").unwrap(), Flavor::Kernel, &l)
            .unwrap_err()
            .to_string(),
        "the NFS root names no server and the lease has no next-server"
    );
}

#[test]
fn applied_to_an_entry_and_injected() {
    let r = render(&chap_root(), Flavor::InitramfsTools, &lease()).unwrap();
    let line = apply(
        "ro quiet ip=dhcp root=UUID=old BOOTIF=01-aa-bb-cc-dd-ee-ff",
        &r,
    );
    assert_eq!(line, format!("ro quiet {}", r.args));
    let seg = secrets::cpio_segment(&r.secrets).unwrap();
    let mut initrd = b"\x1f\x8b fake compressed initrd".to_vec();
    secrets::append_segment(&mut initrd, &seg);
    assert_eq!(initrd.len() % 4, 0);
    let segs = kboot::boot::initrd::segments(&initrd[28..]).unwrap();
    assert_eq!(segs[0].files, vec!["etc", "etc/iscsi.initramfs"]);
}

/// A home-made disk server's root as a template, a driver fetched from the boot server and
/// the module hooks, exactly as each flavour gets them (docs/diskless.md, section 6).
#[test]
fn template_with_an_injected_driver() {
    use kboot::cmdline::inject::{collect, parse_inject, parse_modules, segment};
    let root = parse_root_uri("template:rd.myscsi=${server}:${mac_dashed}").unwrap();
    let inject =
        [parse_inject("/lib/modules/kboot/my-scsi.ko=tftp://10.0.2.2/my-scsi.ko").unwrap()];
    let modules = parse_modules("crc32c,my-scsi").unwrap();
    let fetch = |url: &str| -> Result<Vec<u8>, String> {
        assert_eq!(url, "tftp://10.0.2.2/my-scsi.ko");
        Ok(b"\x7fELF my-scsi".to_vec())
    };

    let r = render(&root, Flavor::InitramfsTools, &lease()).unwrap();
    assert_eq!(
        r.args,
        format!("{TOOLS_NET} rd.myscsi=10.0.2.2:52-54-00-12-34-56")
    );
    let files = collect(Flavor::InitramfsTools, &inject, &modules, &r.secrets, fetch).unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        vec!["lib/modules/kboot/my-scsi.ko", "conf/conf.d/kboot-modules"]
    );
    assert_eq!(
        String::from_utf8(files[1].data.clone()).unwrap(),
        "# Written by kboot (kboot.modules=): load kernel modules before the root is attached.\n\
         # /init sources this file, and open-iscsi sources it again: load what is not loaded yet.\n\
         [ -d /sys/module/crc32c ] || modprobe crc32c || echo \"kboot: cannot load the module crc32c\" >&2\n\
         [ -d /sys/module/my_scsi ] || insmod /lib/modules/kboot/my-scsi.ko || echo \"kboot: cannot load the module my_scsi from /lib/modules/kboot/my-scsi.ko\" >&2\n"
    );
    let segs = kboot::boot::initrd::segments(&segment(&files).unwrap()).unwrap();
    assert_eq!(
        segs[0].files,
        vec![
            "conf",
            "conf/conf.d",
            "conf/conf.d/kboot-modules",
            "lib/modules",
            "lib/modules/kboot",
            "lib/modules/kboot/my-scsi.ko"
        ]
    );

    let r = render(&root, Flavor::Dracut, &lease()).unwrap();
    let files = collect(Flavor::Dracut, &inject, &modules, &r.secrets, fetch).unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "lib/modules/kboot/my-scsi.ko",
            "lib/dracut/hooks/pre-udev/40-kboot-modules.sh",
            "etc/modules-load.d/kboot.conf"
        ]
    );
    assert_eq!(
        String::from_utf8(files[1].data.clone()).unwrap(),
        "#!/bin/sh\n\
         # Written by kboot (kboot.modules=): load kernel modules before udev starts.\n\
         kboot_insmod() {\n    \
         if command -v insmod >/dev/null 2>&1; then insmod \"$@\"; return; fi\n    \
         kmod=$(command -v kmod) || return 1\n    \
         ln -sf \"$kmod\" /tmp/insmod && /tmp/insmod \"$@\"\n\
         }\n\
         [ -d /sys/module/crc32c ] || modprobe crc32c || echo \"kboot: cannot load the module crc32c\" >&2\n\
         [ -d /sys/module/my_scsi ] || kboot_insmod /lib/modules/kboot/my-scsi.ko || echo \"kboot: cannot load the module my_scsi from /lib/modules/kboot/my-scsi.ko\" >&2\n"
    );
    assert_eq!(
        String::from_utf8(files[2].data.clone()).unwrap(),
        "# Written by kboot (kboot.modules=); injected modules are loaded by /lib/dracut/hooks/pre-udev/40-kboot-modules.sh.\ncrc32c\n"
    );

    assert_eq!(
        collect(Flavor::Kernel, &inject, &modules, &[], fetch)
            .unwrap_err()
            .to_string(),
        "kboot.inject= and kboot.modules= need an initramfs to add to: give the entry an initrd= (and no kboot.flavor=kernel)"
    );
}
