#![no_main]

use std::sync::Arc;

use kboot::config::include::{BlsFolders, ParseContext};
use kboot::disk::{Inventory, PartTable, Volume};
use kboot::fetch::local::{FsInfo, FsType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        // Every `source`/`configfile` returns the same text: fan-out and depth stay bounded.
        let mut calls = 0usize;
        let mut fetch = |_: &str| {
            calls += 1;
            assert!(calls <= 1000, "include budget not enforced");
            Ok(text.to_string())
        };
        let ctx = ParseContext {
            mac: Some([0x52, 0x54, 0, 0x12, 0x34, 0x56]),
            ip: Some(std::net::Ipv4Addr::new(10, 0, 2, 15)),
            efi: data.len() % 2 == 0,
            ..Default::default()
        };
        let menu = kboot::config::grub::parse(
            text,
            "tftp://10.0.2.2/boot/grub/grub.cfg",
            &ctx,
            &mut fetch,
        );
        for e in &menu.entries {
            if let Some(k) = e.kernel.as_deref() {
                assert_eq!(kboot::fetch::url::resolve(None, k).as_deref(), Ok(k));
            }
        }
        let _ = format!("{menu:?}");

        // The same text as a config on a local disk: GRUB device names, search, load_env,
        // file tests and blscfg resolve against a small inventory; the text is also every
        // file, grubenv and BLS entry.
        let part = |name: &str, disk: &str, n: u32, t: PartTable| Volume {
            name: name.into(),
            disk: Some(disk.into()),
            partition: Some(n),
            table: Some(t),
            fs: Some(FsInfo {
                fstype: FsType::Ext,
                uuid: Some(format!("{name}-uuid")),
                label: Some(name.into()),
            }),
            ..Default::default()
        };
        let inv = Inventory {
            disks: vec!["sda".into(), "vda".into()],
            volumes: vec![
                part("sda1", "sda", 1, PartTable::Msdos),
                part("vda2", "vda", 2, PartTable::Gpt),
            ],
        };
        let mut bls = BlsFolders::new();
        bls.insert(
            "sda1:/loader/entries".into(),
            text.split("\n\n")
                .enumerate()
                .map(|(i, t)| (format!("e-{i}.{}-1.conf", t.len()), t.to_string()))
                .collect(),
        );
        let ctx = ParseContext {
            inventory: Some(Arc::new(inv)),
            bls: Arc::new(bls),
            efi: data.len() % 3 == 0,
            ..Default::default()
        };
        let mut calls = 0usize;
        let mut fetch = |_: &str| {
            calls += 1;
            assert!(calls <= 1000, "include budget not enforced");
            Ok(text.to_string())
        };
        let menu = kboot::config::grub::parse(text, "sda1:/boot/grub/grub.cfg", &ctx, &mut fetch);
        for e in &menu.entries {
            if let Some(k) = e.kernel.as_deref() {
                assert_eq!(kboot::fetch::url::resolve(None, k).as_deref(), Ok(k));
            }
        }
        let _ = menu.default_entry();
    }
});
