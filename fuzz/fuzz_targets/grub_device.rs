#![no_main]

use std::sync::Arc;

use kboot::config::grub_device::GrubDevices;
use kboot::disk::{Inventory, LvmVolume, PartTable, Volume};
use kboot::fetch::local::{FsInfo, FsType};
use libfuzzer_sys::fuzz_target;

fn inventory() -> Inventory {
    let fs = |u: &str| {
        Some(FsInfo {
            fstype: FsType::Ext,
            uuid: Some(u.into()),
            label: Some("l".into()),
        })
    };
    let part = |name: &str, disk: &str, n: u32, t: PartTable| Volume {
        name: name.into(),
        disk: Some(disk.into()),
        partition: Some(n),
        table: Some(t),
        fs: fs(name),
        ..Default::default()
    };
    Inventory {
        disks: vec!["nvme0n1".into(), "sda".into(), "vdb".into()],
        volumes: vec![
            part("nvme0n1p1", "nvme0n1", 1, PartTable::Gpt),
            part("nvme0n1p2", "nvme0n1", 2, PartTable::Gpt),
            part("sda1", "sda", 1, PartTable::Msdos),
            part("sda5", "sda", 5, PartTable::Msdos),
            Volume {
                name: "vdb".into(),
                fs: fs("vdb"),
                ..Default::default()
            },
            Volume {
                name: "dm-0".into(),
                fs: fs("dm"),
                lvm: Some(LvmVolume {
                    vg_name: "v-g".into(),
                    lv_name: "l--v".into(),
                    vg_uuid: "a".into(),
                    lv_uuid: "b".into(),
                }),
                ..Default::default()
            },
            Volume {
                name: "md0".into(),
                md_uuid: Some("01:02".into()),
                fs: fs("md"),
                ..Default::default()
            },
        ],
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let inv = Arc::new(inventory());
    let boots = [None, Some("sda5"), Some("vdb"), Some("dm-0"), Some("nope")];
    let boot = boots[data.len() % boots.len()];
    let devs = GrubDevices::new(inv, boot);
    for name in text.lines() {
        match devs.resolve(name) {
            // Whatever a name resolves to, GRUB's name for that volume resolves back to it.
            Ok(v) => {
                let back = devs.name_of(v);
                assert_eq!(devs.resolve(&back).map(|b| &b.name), Ok(&v.name), "{back}");
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
});
