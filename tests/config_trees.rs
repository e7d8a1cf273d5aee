//! Whole config trees under `tests/fixtures/<tree>/`, served as if from a TFTP server, parsed
//! and compared with the golden `tests/fixtures/<tree>.json` (the `Menu` as pretty JSON).
//! Regenerate deliberately with `KBOOT_BLESS=1 cargo test --test config_trees`.

use std::path::PathBuf;

use kboot::config::include::ParseContext;
use kboot::config::Menu;

const SERVER: &str = "tftp://10.0.2.2/";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A fetcher serving `tests/fixtures/<tree>/` at `tftp://10.0.2.2/`.
fn serve(tree: &str) -> impl FnMut(&str) -> Result<String, String> {
    let root = fixtures().join(tree);
    move |url: &str| {
        let rel = url
            .strip_prefix(SERVER)
            .ok_or_else(|| format!("{url} is not on the test server"))?;
        if rel.split('/').any(|s| s == "..") {
            return Err(format!("{url} leaves the test tree"));
        }
        std::fs::read_to_string(root.join(rel)).map_err(|e| format!("{url}: {e}"))
    }
}

/// Compare `menu` with the golden JSON of `tree` (or write it when KBOOT_BLESS=1).
fn golden(tree: &str, menu: &impl serde::Serialize) {
    let path = fixtures().join(format!("{tree}.json"));
    let json = serde_json::to_string_pretty(menu).unwrap() + "\n";
    if std::env::var("KBOOT_BLESS").as_deref() == Ok("1") {
        std::fs::write(&path, &json).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with KBOOT_BLESS=1 to create it)",
            path.display()
        )
    });
    assert_eq!(
        json,
        want,
        "{tree}: parsed menu differs from {}",
        path.display()
    );
}

fn parse_pxelinux_tree(tree: &str, config: &str, ctx: &ParseContext) -> Menu {
    let url = format!("{SERVER}{config}");
    let mut fetch = serve(tree);
    let text = fetch(&url).unwrap();
    kboot::config::pxelinux::parse(&text, &url, ctx, &mut fetch)
}

fn parse_grub_tree(tree: &str, config: &str, ctx: &ParseContext) -> Menu {
    let url = format!("{SERVER}{config}");
    let mut fetch = serve(tree);
    let text = fetch(&url).unwrap();
    kboot::config::grub::parse(&text, &url, ctx, &mut fetch)
}

#[test]
fn pxelinux_debian_installer_tree() {
    let tree = "pxelinux-debian-installer";
    let m = parse_pxelinux_tree(tree, "pxelinux.cfg/default", &ParseContext::default());
    golden(tree, &m);

    assert_eq!(
        m.title.as_deref(),
        Some("Debian GNU/Linux installer menu (BIOS mode)")
    );
    assert_eq!(m.default.as_deref(), Some("installgui"));
    assert_eq!(m.timeout_ms, None, "TIMEOUT 0 with a menu waits");
    let ids: Vec<_> = m.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "installgui",
            "install",
            "advanced",
            "accessible",
            "help",
            "installspeechgui"
        ]
    );
    let adv = &m.entries[2];
    assert_eq!(adv.title, "Advanced options");
    assert_eq!(adv.hotkey, Some('a'));
    let adv_ids: Vec<_> = adv.children.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        adv_ids,
        [
            "mainmenu",
            "expertgui",
            "rescuegui",
            "autogui",
            "expert",
            "rescue",
            "auto",
            "expertspeechgui",
            "expertspeech"
        ]
    );
    // Labels repeated across submenus keep their names; each level is its own namespace.
    let acc = &m.entries[3];
    assert_eq!(acc.children[0].id, "mainmenu");
    assert_eq!(acc.children[1].id, "install");
    assert_eq!(
        acc.children[1].handoff,
        kboot::config::model::Handoff::Pxelinux(2)
    );
    assert_eq!(
        acc.children[3].action,
        Some(kboot::config::model::Action::LocalBoot)
    );
    assert!(adv.children[8].hidden);
    let e = &adv.children[4];
    assert_eq!((e.title.as_str(), e.hotkey), ("Expert install", Some('x')));
    assert_eq!(
        e.kernel.as_deref(),
        Some("tftp://10.0.2.2/debian-installer/amd64/linux")
    );
    assert_eq!(
        e.initrds,
        ["tftp://10.0.2.2/debian-installer/amd64/initrd.gz"]
    );
    assert_eq!(e.cmdline, "priority=low vga=788 ---");
    assert_eq!(
        m.entries[4].help.as_deref(),
        Some("   Display help screens; type 'menu' at boot prompt to return to this menu")
    );

    // PATH is ignored with a warning; the missing spk.cfg is a warning, the rest is kept.
    assert_eq!(m.warnings.len(), 2, "{:#?}", m.warnings);
    assert!(m.warnings[0].starts_with("tftp://10.0.2.2/pxelinux.cfg/default line 3: PATH"));
    assert!(m.warnings[1].starts_with(
        "tftp://10.0.2.2/debian-installer/amd64/boot-screens/menu.cfg line 36: INCLUDE of 'tftp://10.0.2.2/debian-installer/amd64/boot-screens/spk.cfg' failed"
    ));
}

#[test]
fn pxelinux_tree_from_a_subdirectory_server_root() {
    // The same tree served below /boot/: paths follow the pxelinux.cfg/ parent.
    let url = "tftp://10.0.2.2/boot/pxelinux.cfg/default";
    let mut inner = serve("pxelinux-debian-installer");
    let mut fetch = |u: &str| match u.strip_prefix("tftp://10.0.2.2/boot/") {
        Some(rest) => inner(&format!("{SERVER}{rest}")),
        None => Err(format!("{u} not found")),
    };
    let text = fetch(url).unwrap();
    let m = kboot::config::pxelinux::parse(&text, url, &ParseContext::default(), &mut fetch);
    assert_eq!(
        m.entries[0].kernel.as_deref(),
        Some("tftp://10.0.2.2/boot/debian-installer/amd64/linux")
    );
    assert_eq!(m.entries.len(), 6);
}

#[test]
fn grub_debian_netboot_tree() {
    let tree = "grub-debian-netboot";
    let m = parse_grub_tree(
        tree,
        "debian-installer/amd64/grub/grub.cfg",
        &ParseContext::default(),
    );
    golden(tree, &m);

    assert_eq!(m.timeout_ms, Some(10_000));
    assert_eq!(m.default.as_deref(), Some("Advanced options ..."));
    let ids: Vec<_> = m.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "Graphical install",
            "Install",
            "Advanced options ...",
            "Rescue over NFS",
            "local",
            "Ubuntu live (HTTP)"
        ]
    );
    assert_eq!(m.entries[0].hotkey, Some('g'));
    let adv = &m.entries[2];
    assert_eq!(adv.children.len(), 4);
    assert_eq!(
        adv.children[3].children[0].title,
        "... Expert speech install"
    );
    // GRUB's loader passes `BOOT_IMAGE=<path as written>` first.
    assert_eq!(
        adv.children[0].cmdline,
        "BOOT_IMAGE=/debian-installer/amd64/linux priority=low vga=788 ---"
    );
    assert_eq!(
        m.entries[3].kernel.as_deref(),
        Some("tftp://10.0.2.2/debian-installer/amd64/linux")
    );
    let live = &m.entries[5];
    assert_eq!(
        live.kernel.as_deref(),
        Some("http://releases.example.org/noble/casper/vmlinuz")
    );
    assert_eq!(
        live.cmdline,
        // GRUB's loader escapes quotes inside an argument.
        "BOOT_IMAGE=/noble/casper/vmlinuz ip=dhcp url=http://releases.example.org/noble/ubuntu.iso \"boot message=\\'hi there\\'\""
    );
    // loadfont and background_image only concern GRUB's display: read quietly. The default
    // inside the submenu is the submenu's default child.
    assert_eq!(m.warnings, Vec::<String>::new());
    assert_eq!(
        adv.default_child.as_deref(),
        Some("... Graphical expert install")
    );
    assert_eq!(
        m.default_entry().map(|e| e.title.as_str()),
        Some("... Graphical expert install")
    );
}

#[test]
fn grub_debian_netboot_tree_on_efi() {
    let ctx = ParseContext {
        efi: true,
        ..Default::default()
    };
    let m = parse_grub_tree(
        "grub-debian-netboot",
        "debian-installer/amd64/grub/grub.cfg",
        &ctx,
    );
    // fwsetup cannot be done by kboot: the EFI-only entry is read but skipped.
    assert_eq!(m.entries.len(), 6);
    assert!(m
        .warnings
        .iter()
        .any(|w| w.contains("menuentry 'UEFI Firmware Settings' skipped")));
}

// ---------------------------------------------------------------------------------------
// Disk trees: `tests/fixtures/<tree>/<volume>/` is the filesystem of one volume (kernel name),
// read as `config::disks` reads a mounted volume, with a hand-built disk inventory. The golden
// JSON is the list of main-menu entries (one submenu per config, titled after what is
// installed).

use kboot::config::disks::{as_entries, installed_os, read_volume, DiskMenu};
use kboot::config::Entry;
use kboot::disk::{Inventory, LvmVolume, PartTable, Volume};
use kboot::fetch::local::{FsInfo, FsType};
use std::sync::Arc;

fn fs(fstype: FsType, uuid: &str, label: Option<&str>) -> Option<FsInfo> {
    Some(FsInfo {
        fstype,
        uuid: Some(uuid.into()),
        label: label.map(String::from),
    })
}

fn part(name: &str, disk: &str, n: u32, table: PartTable, fs: Option<FsInfo>) -> Volume {
    Volume {
        name: name.into(),
        disk: Some(disk.into()),
        partition: Some(n),
        table: Some(table),
        fs,
        ..Default::default()
    }
}

/// The configs on `<tree>/<volume>/` and the main-menu entries made of them; os-release
/// files are read from `<tree>/<root volume>/`.
fn disk_tree(tree: &str, volume: &str, inv: &Inventory, efi: bool) -> (Vec<DiskMenu>, Vec<Entry>) {
    let root = fixtures().join(tree);
    let ctx = ParseContext {
        inventory: Some(Arc::new(inv.clone())),
        efi,
        ..Default::default()
    };
    let mut log = |_: String| {};
    // Files on other volumes come from their fixture folders; nothing touches this machine's
    // devices.
    let tree_root = root.clone();
    let mut other = move |u: &str| -> Result<String, String> {
        let (vol, path) = u
            .split_once(':')
            .ok_or_else(|| format!("{u}: not a device path"))?;
        if path.split('/').any(|s| s == "..") {
            return Err(format!("{u} leaves the test tree"));
        }
        std::fs::read_to_string(tree_root.join(vol).join(path.trim_start_matches('/')))
            .map_err(|e| format!("{u}: {e}"))
    };
    let mut found = read_volume(&root.join(volume), volume, &ctx, &mut other, &mut log);
    for d in &mut found {
        d.disk = inv.volume(volume).and_then(|v| v.disk.clone());
        d.os = installed_os(&d.menu, inv, &mut |v: &Volume, p: &str| {
            std::fs::read_to_string(root.join(&v.name).join(p)).ok()
        });
    }
    let entries = as_entries(&found);
    (found, entries)
}

const DEB_ROOT: &str = "3e1b5a2c-8d4f-4c6e-9a7b-1f2e3d4c5b6a";

#[test]
fn debian12_ext4_on_mbr() {
    // The config's disk is GRUB's hd0 even though another disk comes first.
    let inv = Inventory {
        disks: vec!["sda".into(), "nvme0n1".into()],
        volumes: vec![
            part(
                "sda1",
                "sda",
                1,
                PartTable::Msdos,
                fs(FsType::Ext, "99999999-0000-0000-0000-000000000000", None),
            ),
            part(
                "nvme0n1p1",
                "nvme0n1",
                1,
                PartTable::Msdos,
                fs(FsType::Ext, DEB_ROOT, None),
            ),
        ],
    };
    let tree = "disk-debian12-mbr";
    let (found, entries) = disk_tree(tree, "nvme0n1p1", &inv, false);
    golden(tree, &entries);
    assert_eq!(found.len(), 1);
    let m = &found[0].menu;
    assert_eq!(m.warnings, Vec::<String>::new());
    assert_eq!(m.timeout_ms, Some(5000));
    assert_eq!(
        m.default.as_deref(),
        Some(format!("gnulinux-simple-{DEB_ROOT}").as_str())
    );
    let e = &m.entries[0];
    assert_eq!(e.title, "Debian GNU/Linux");
    assert_eq!(
        e.kernel.as_deref(),
        Some("nvme0n1p1:/boot/vmlinuz-6.1.0-18-amd64")
    );
    assert_eq!(e.initrds, ["nvme0n1p1:/boot/initrd.img-6.1.0-18-amd64"]);
    assert_eq!(
        e.cmdline,
        format!("BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=UUID={DEB_ROOT} ro quiet")
    );
    let adv = &m.entries[1];
    assert_eq!(adv.title, "Advanced options for Debian GNU/Linux");
    assert_eq!(adv.children.len(), 4);
    assert_eq!(
        adv.children[1].title,
        "Debian GNU/Linux, with Linux 6.1.0-18-amd64 (recovery mode)"
    );
    assert_eq!(
        adv.children[1].cmdline,
        format!("BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=UUID={DEB_ROOT} ro single")
    );
    assert_eq!(
        adv.children[3].kernel.as_deref(),
        Some("nvme0n1p1:/boot/vmlinuz-6.1.0-17-amd64")
    );
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0].title,
        "Debian GNU/Linux 12 (bookworm) on nvme0n1"
    );
    assert_eq!(entries[0].default_child, m.default);
    assert_eq!(
        entries[0].children[0].handoff,
        kboot::config::model::Handoff::Off
    );

    // On EFI the firmware-settings entry is not offered (fwsetup's answer is unknown: GRUB's
    // `$?` is unset, so the entry is not defined), still without a warning.
    let (found, _) = disk_tree(tree, "nvme0n1p1", &inv, true);
    assert_eq!(found[0].menu.warnings, Vec::<String>::new());
    assert_eq!(found[0].menu.entries.len(), 2);

    // The search finds the root by UUID even when the inventory's partition numbering does
    // not match `set root='hd0,msdos1'` (a disk moved): both branches of the hint idiom agree.
    let moved = Inventory {
        disks: vec!["nvme0n1".into()],
        volumes: vec![part(
            "nvme0n1p1",
            "nvme0n1",
            2,
            PartTable::Msdos,
            fs(FsType::Ext, DEB_ROOT, None),
        )],
    };
    let (found, _) = disk_tree(tree, "nvme0n1p1", &moved, false);
    assert_eq!(
        found[0].menu.entries[0].kernel.as_deref(),
        Some("nvme0n1p1:/boot/vmlinuz-6.1.0-18-amd64")
    );
}

const LVM_ROOT: &str = "5ee0f00d-3333-4d5e-8f90-a1b2c3d4e5f6";

fn lvm_inventory() -> Inventory {
    Inventory {
        disks: vec!["sda".into()],
        volumes: vec![
            part(
                "sda1",
                "sda",
                1,
                PartTable::Gpt,
                fs(FsType::Vfat, "2B1C-3D4E", None),
            ),
            part(
                "sda2",
                "sda",
                2,
                PartTable::Gpt,
                fs(FsType::Ext, "b007b007-2222-4c6e-9a7b-1f2e3d4c5b6a", None),
            ),
            part("sda3", "sda", 3, PartTable::Gpt, None),
            Volume {
                name: "dm-0".into(),
                fs: fs(FsType::Ext, LVM_ROOT, None),
                lvm: Some(LvmVolume {
                    vg_name: "debian-vg".into(),
                    lv_name: "root".into(),
                    vg_uuid: "Z3bT1a-8xQe-Xn7P-0bGt-2WdN-yK4s-Vq9LmC".into(),
                    lv_uuid: "hR5cUe-Jw2D-4kLp-Sx8f-Qm3Z-eN6v-Tb1YoA".into(),
                }),
                ..Default::default()
            },
        ],
    }
}

#[test]
fn debian12_boot_on_gpt2_root_on_lvm_saved_default() {
    let tree = "disk-debian12-lvm";
    let inv = lvm_inventory();
    let (found, entries) = disk_tree(tree, "sda2", &inv, true);
    golden(tree, &entries);
    let m = &found[0].menu;
    assert_eq!(found[0].url, "sda2:/grub/grub.cfg");
    assert_eq!(m.warnings, Vec::<String>::new());
    // GRUB_DEFAULT=saved: grubenv's saved_entry names the recovery entry inside the submenu.
    assert_eq!(
        m.default.as_deref(),
        Some(format!("gnulinux-advanced-{LVM_ROOT}").as_str())
    );
    let d = m.default_entry().unwrap();
    assert_eq!(d.id, format!("gnulinux-6.1.0-18-amd64-recovery-{LVM_ROOT}"));
    assert_eq!(d.kernel.as_deref(), Some("sda2:/vmlinuz-6.1.0-18-amd64"));
    assert_eq!(d.initrds, ["sda2:/initrd.img-6.1.0-18-amd64"]);
    assert_eq!(
        d.cmdline,
        "BOOT_IMAGE=/vmlinuz-6.1.0-18-amd64 root=/dev/mapper/debian--vg-root ro single"
    );
    assert_eq!(entries[0].title, "Debian GNU/Linux 12 (bookworm) on sda");
    assert_eq!(
        entries[0].default_child.as_deref(),
        Some(format!("gnulinux-advanced-{LVM_ROOT}").as_str())
    );
}

const FEDORA_MID: &str = "6a9857a393724b7a981ebb5b8495b9ea";
const FEDORA_ROOT: &str = "f3d0f00d-5555-4b2c-8d3e-4f5a6b7c8d9e";

#[test]
fn fedora_blscfg_with_grubenv() {
    let tree = "disk-fedora-bls";
    let inv = Inventory {
        disks: vec!["vda".into()],
        volumes: vec![
            part("vda1", "vda", 1, PartTable::Gpt, None),
            part(
                "vda2",
                "vda",
                2,
                PartTable::Gpt,
                fs(FsType::Ext, "f3d0b007-4444-4a1b-9c2d-3e4f5a6b7c8d", None),
            ),
            part(
                "vda3",
                "vda",
                3,
                PartTable::Gpt,
                fs(FsType::Btrfs, FEDORA_ROOT, Some("fedora")),
            ),
        ],
    };
    let (found, entries) = disk_tree(tree, "vda2", &inv, false);
    golden(tree, &entries);
    // The BLS folder is shown through grub.cfg's blscfg only.
    assert_eq!(
        found.len(),
        1,
        "{:?}",
        found.iter().map(|d| &d.url).collect::<Vec<_>>()
    );
    let m = &found[0].menu;
    assert_eq!(m.warnings, Vec::<String>::new());
    let ids: Vec<_> = m.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            format!("{FEDORA_MID}-6.8.11-300.fc40.x86_64"),
            format!("{FEDORA_MID}-6.8.5-301.fc40.x86_64"),
            format!("{FEDORA_MID}-0-rescue"),
        ]
    );
    assert_eq!(m.default.as_deref(), Some(ids[1]));
    let e = &m.entries[1];
    assert_eq!(
        e.title,
        "Fedora Linux (6.8.5-301.fc40.x86_64) 40 (Server Edition)"
    );
    assert_eq!(
        e.kernel.as_deref(),
        Some("vda2:/vmlinuz-6.8.5-301.fc40.x86_64")
    );
    assert_eq!(e.initrds, ["vda2:/initramfs-6.8.5-301.fc40.x86_64.img"]);
    // $kernelopts from grubenv, $tuned_params unset: as GRUB's blscfg expands them.
    assert_eq!(
        e.cmdline,
        format!("BOOT_IMAGE=(hd0,gpt2)/vmlinuz-6.8.5-301.fc40.x86_64 root=UUID={FEDORA_ROOT} ro rootflags=subvol=root rhgb quiet")
    );
    assert!(m.entries[0]
        .cmdline
        .ends_with(&format!("/vmlinuz-6.8.11-300.fc40.x86_64 root=UUID={FEDORA_ROOT} ro rootflags=subvol=root rhgb quiet")));
    assert_eq!(entries[0].title, "Fedora Linux 40 (Server Edition) on vda");
}

// Real configs: written by Debian 12's own grub-mkconfig (grub2 2.06) inside a VM that
// installed the system (the QEMU installed-system fixtures), copied here unchanged.

const REAL_MBR_ROOT: &str = "8276eaae-f160-11f1-96e7-8ff618cdd3b2";

#[test]
fn real_debian12_grub_mkconfig_on_mbr() {
    let tree = "disk-debian12-mbr-real";
    let inv = Inventory {
        disks: vec!["vda".into()],
        volumes: vec![part(
            "vda1",
            "vda",
            1,
            PartTable::Msdos,
            fs(FsType::Ext, REAL_MBR_ROOT, None),
        )],
    };
    let (found, entries) = disk_tree(tree, "vda1", &inv, false);
    golden(tree, &entries);
    let m = &found[0].menu;
    assert_eq!(m.warnings, Vec::<String>::new());
    assert_eq!(m.timeout_ms, Some(1000));
    let d = m.default_entry().unwrap();
    assert_eq!(d.id, format!("gnulinux-simple-{REAL_MBR_ROOT}"));
    assert_eq!(
        d.kernel.as_deref(),
        Some("vda1:/boot/vmlinuz-6.1.0-57-amd64")
    );
    assert_eq!(d.initrds, ["vda1:/boot/initrd.img-6.1.0-57-amd64"]);
    assert_eq!(
        d.cmdline,
        format!("BOOT_IMAGE=/boot/vmlinuz-6.1.0-57-amd64 root=UUID={REAL_MBR_ROOT} ro console=ttyS0,115200 quiet")
    );
    let rec = &m.entries[1].children[1];
    assert_eq!(
        rec.title,
        "Debian GNU/Linux, with Linux 6.1.0-57-amd64 (recovery mode)"
    );
    assert_eq!(
        rec.cmdline,
        format!("BOOT_IMAGE=/boot/vmlinuz-6.1.0-57-amd64 root=UUID={REAL_MBR_ROOT} ro single console=ttyS0,115200")
    );
}

#[test]
fn real_debian12_grub_mkconfig_boot_partition_and_lvm() {
    let tree = "disk-debian12-lvm-real";
    let inv = Inventory {
        disks: vec!["vda".into()],
        volumes: vec![
            part("vda1", "vda", 1, PartTable::Gpt, None),
            part(
                "vda2",
                "vda",
                2,
                PartTable::Gpt,
                fs(FsType::Ext, "5b564129-6931-4d2a-ae18-acbe26d1a0ce", None),
            ),
            part("vda3", "vda", 3, PartTable::Gpt, None),
            Volume {
                name: "dm-0".into(),
                fs: fs(FsType::Ext, "e98ae324-5af1-48e7-a909-150c270a8672", None),
                lvm: Some(LvmVolume {
                    vg_name: "kboot-vg".into(),
                    lv_name: "root".into(),
                    vg_uuid: "a".into(),
                    lv_uuid: "b".into(),
                }),
                ..Default::default()
            },
        ],
    };
    let (found, entries) = disk_tree(tree, "vda2", &inv, false);
    golden(tree, &entries);
    let m = &found[0].menu;
    assert_eq!(m.warnings, Vec::<String>::new());
    let d = m.default_entry().unwrap();
    assert_eq!(d.kernel.as_deref(), Some("vda2:/vmlinuz-6.1.0-57-amd64"));
    assert_eq!(d.initrds, ["vda2:/initrd.img-6.1.0-57-amd64"]);
    assert_eq!(
        d.cmdline,
        "BOOT_IMAGE=/vmlinuz-6.1.0-57-amd64 root=/dev/mapper/kboot--vg-root ro console=ttyS0,115200 quiet"
    );
    assert_eq!(m.entries[1].children.len(), 2);
}

#[test]
fn real_blscfg_layout_with_grubenv() {
    let tree = "disk-bls-usb-real";
    let inv = Inventory {
        disks: vec!["sda".into()],
        volumes: vec![
            part("sda1", "sda", 1, PartTable::Gpt, None),
            part(
                "sda2",
                "sda",
                2,
                PartTable::Gpt,
                fs(FsType::Ext, "1072ee48-80bc-44a8-b257-afab7cb43a45", None),
            ),
        ],
    };
    let (found, entries) = disk_tree(tree, "sda2", &inv, false);
    golden(tree, &entries);
    assert_eq!(found.len(), 1);
    let m = &found[0].menu;
    assert_eq!(m.warnings, Vec::<String>::new());
    let ids: Vec<_> = m.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "44bcd66f7d03422d9c29ca07d2a0898b-6.1.0-57-amd64",
            "44bcd66f7d03422d9c29ca07d2a0898b-0-rescue"
        ]
    );
    let d = m.default_entry().unwrap();
    assert_eq!(d.id, ids[0]);
    assert_eq!(d.kernel.as_deref(), Some("sda2:/vmlinuz-6.1.0-57-amd64"));
    // grubenv's kernelopts wins over the grub.cfg fallback (`if [ -z "${kernelopts}" ]`).
    assert_eq!(
        d.cmdline,
        "BOOT_IMAGE=(hd0,gpt2)/vmlinuz-6.1.0-57-amd64 root=UUID=d3fd5ca1-7e7f-49da-8b51-73e5db5b3634 ro console=ttyS0,115200"
    );
}
