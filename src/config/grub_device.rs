//! GRUB device names (`hd0,msdos1`, `lvm/vg-root`, `lvmid/...`, `mduuid/...`) resolved to the
//! Linux volumes kboot sees, without any I/O: the [`Inventory`] is plain data.
//!
//! Rules:
//! - `hdN` counts whole disks as the firmware would: `hd0` is the disk holding the config
//!   being read (the firmware booted GRUB from it), the other disks follow in inventory order.
//! - `hdN,M`, `hdN,msdosM`, `hdN,gptM` name partition M (1-based; logical MBR partitions from
//!   5) of that disk; a table type that does not match the disk's is an error, as in GRUB.
//!   Nested labels (`hd0,msdos1,bsd1`) are not supported. `hdN` alone is a whole disk with a
//!   filesystem on it.
//! - `lvm/VG-LV` (a `-` inside a VG or LV name doubled, as GRUB writes it) and
//!   `lvmid/VGUUID/LVUUID` name a logical volume; `mduuid/HEX` (the array UUID without colons)
//!   an MD RAID array (its assembled volume, else a member with a filesystem), `md/N` and `mdN`
//!   the array the kernel calls `mdN`.
//! - A Linux kernel name (`nvme0n1p1`) names that volume: GRUB never writes one, but kboot's
//!   own values of `$root` read back.
//! - Surrounding parentheses are ignored. Anything else (`cd`, `fd0`, `ahci0,msdos1`, `loop`,
//!   garbage) is an error naming the device, never a panic.

use super::snippet;
use std::sync::Arc;

use crate::disk::{Inventory, PartTable, Volume};

/// Why a GRUB device name names no volume, as one sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    #[error("'{0}' is not a GRUB device kboot can map to a Linux volume")]
    Unknown(String),
    #[error("GRUB's disk hd{index} does not exist: kboot sees {count} disk(s)")]
    NoDisk { index: u64, count: usize },
    #[error("'{name}' names no partition on {disk}")]
    NoPartition { name: String, disk: String },
    #[error("'{name}' names a {want} partition, but {disk} has a {have} partition table")]
    TableMismatch {
        name: String,
        want: &'static str,
        have: &'static str,
        disk: String,
    },
    #[error("'{0}' names a partition inside a partition (a BSD or Solaris label), which kboot does not read")]
    Nested(String),
    #[error("the whole disk {disk} ('{name}') has no filesystem kboot knows")]
    NoFilesystem { name: String, disk: String },
    #[error("no logical volume kboot mapped is '{0}'")]
    NoLogicalVolume(String),
    #[error("no RAID array kboot sees is '{0}'")]
    NoArray(String),
}

/// GRUB's view of an [`Inventory`]: the disk order, `hd0` first.
#[derive(Debug, Clone)]
pub struct GrubDevices {
    inventory: Arc<Inventory>,
    /// Whole-disk kernel names; index = GRUB's `hdN`.
    disks: Vec<String>,
}

fn table_name(t: PartTable) -> &'static str {
    match t {
        PartTable::Msdos => "msdos",
        PartTable::Gpt => "gpt",
    }
}

/// A VG or LV name as GRUB writes it inside `lvm/...`: each `-` doubled.
fn lvm_escape(s: &str) -> String {
    s.replace('-', "--")
}

impl GrubDevices {
    /// `boot_volume` is the kernel name of the volume the config was read from: its disk is
    /// `hd0`. Without one (or for a logical volume) the inventory order is used as is.
    pub fn new(inventory: Arc<Inventory>, boot_volume: Option<&str>) -> Self {
        let boot_disk = boot_volume.and_then(|name| {
            if inventory.disks.iter().any(|d| d == name) {
                return Some(name.to_string());
            }
            inventory.volume(name).and_then(|v| v.disk.clone())
        });
        let mut disks = Vec::with_capacity(inventory.disks.len());
        if let Some(b) = boot_disk.filter(|b| inventory.disks.contains(b)) {
            disks.push(b);
        }
        for d in &inventory.disks {
            if !disks.contains(d) {
                disks.push(d.clone());
            }
        }
        GrubDevices { inventory, disks }
    }

    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    /// Every volume in the order GRUB's device iteration meets them: partitions and whole
    /// disks by `hdN` then partition number, then logical volumes and arrays.
    pub fn volumes_in_order(&self) -> Vec<&Volume> {
        let mut out: Vec<(usize, u32, usize, &Volume)> = Vec::new();
        for (i, v) in self.inventory.volumes.iter().enumerate() {
            let disk_index = match &v.disk {
                Some(d) => self.disks.iter().position(|x| x == d),
                None => self.disks.iter().position(|x| *x == v.name),
            };
            let key = match disk_index {
                Some(n) => (n, v.partition.unwrap_or(0)),
                None => (usize::MAX, 0),
            };
            out.push((key.0, key.1, i, v));
        }
        out.sort_by_key(|(d, p, i, _)| (*d, *p, *i));
        out.into_iter().map(|(_, _, _, v)| v).collect()
    }

    /// The volume a GRUB device name names.
    pub fn resolve(&self, name: &str) -> Result<&Volume, DeviceError> {
        let trimmed = name.trim();
        let dev = match trimmed.strip_prefix('(') {
            Some(inner) => inner.strip_suffix(')').unwrap_or(inner),
            None => trimmed,
        };
        let unknown = || DeviceError::Unknown(snippet(name));
        if dev.is_empty() {
            return Err(unknown());
        }
        if let Some(rest) = dev.strip_prefix("hd") {
            if rest.starts_with(|c: char| c.is_ascii_digit()) {
                return self.resolve_hd(dev, rest);
            }
        }
        if let Some(lv) = dev.strip_prefix("lvm/") {
            return self
                .inventory
                .volumes
                .iter()
                .find(|v| {
                    v.lvm.as_ref().is_some_and(|l| {
                        format!("{}-{}", lvm_escape(&l.vg_name), lvm_escape(&l.lv_name)) == lv
                    })
                })
                .ok_or_else(|| DeviceError::NoLogicalVolume(snippet(dev)));
        }
        if let Some(ids) = dev.strip_prefix("lvmid/") {
            let (vg, lv) = ids.split_once('/').ok_or_else(unknown)?;
            return self
                .inventory
                .volumes
                .iter()
                .find(|v| {
                    v.lvm.as_ref().is_some_and(|l| {
                        l.vg_uuid.eq_ignore_ascii_case(vg) && l.lv_uuid.eq_ignore_ascii_case(lv)
                    })
                })
                .ok_or_else(|| DeviceError::NoLogicalVolume(snippet(dev)));
        }
        if let Some(hex) = dev.strip_prefix("mduuid/") {
            let want = hex.to_ascii_lowercase();
            if want.is_empty() || !want.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(unknown());
            }
            let matching: Vec<&Volume> = self
                .inventory
                .volumes
                .iter()
                .filter(|v| {
                    v.md_uuid
                        .as_deref()
                        .is_some_and(|u| u.replace(':', "").to_ascii_lowercase() == want)
                })
                .collect();
            // The assembled array first, else a member carrying the filesystem.
            return matching
                .iter()
                .find(|v| v.disk.is_none())
                .or_else(|| matching.iter().find(|v| v.fs.is_some()))
                .copied()
                .ok_or_else(|| DeviceError::NoArray(snippet(dev)));
        }
        let md = dev
            .strip_prefix("md/")
            .or_else(|| dev.strip_prefix("md").filter(|n| n.parse::<u32>().is_ok()));
        if let Some(n) = md {
            if n.is_empty() {
                return Err(unknown());
            }
            let kernel = if n.parse::<u32>().is_ok() {
                format!("md{n}")
            } else {
                format!("md/{n}")
            };
            return self
                .inventory
                .volume(&kernel)
                .ok_or_else(|| DeviceError::NoArray(snippet(dev)));
        }
        // kboot's own names read back (`$root` set by kboot, `nvme0n1p1`).
        self.inventory.volume(dev).ok_or_else(unknown)
    }

    fn resolve_hd(&self, dev: &str, rest: &str) -> Result<&Volume, DeviceError> {
        let unknown = || DeviceError::Unknown(snippet(dev));
        let (num, parts) = match rest.split_once(',') {
            Some((n, p)) => (n, Some(p)),
            None => (rest, None),
        };
        if !num.bytes().all(|b| b.is_ascii_digit()) {
            return Err(unknown());
        }
        let index: u64 = num.parse().map_err(|_| unknown())?;
        let disk = usize::try_from(index)
            .ok()
            .and_then(|i| self.disks.get(i))
            .ok_or(DeviceError::NoDisk {
                index,
                count: self.disks.len(),
            })?;
        let Some(part) = parts else {
            return self
                .inventory
                .volume(disk)
                .filter(|v| v.fs.is_some())
                .ok_or_else(|| DeviceError::NoFilesystem {
                    name: snippet(dev),
                    disk: disk.clone(),
                });
        };
        if part.contains(',') {
            return Err(DeviceError::Nested(snippet(dev)));
        }
        let (want, digits) = if let Some(d) = part.strip_prefix("msdos") {
            (Some(PartTable::Msdos), d)
        } else if let Some(d) = part.strip_prefix("gpt") {
            (Some(PartTable::Gpt), d)
        } else {
            (None, part)
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(unknown());
        }
        let n: u32 = match digits.parse() {
            Ok(n) if n >= 1 => n,
            _ => {
                return Err(DeviceError::NoPartition {
                    name: snippet(dev),
                    disk: disk.clone(),
                })
            }
        };
        let vol = self
            .inventory
            .volumes
            .iter()
            .find(|v| v.disk.as_deref() == Some(disk.as_str()) && v.partition == Some(n))
            .ok_or_else(|| DeviceError::NoPartition {
                name: snippet(dev),
                disk: disk.clone(),
            })?;
        if let (Some(w), Some(have)) = (want, vol.table) {
            if w != have {
                return Err(DeviceError::TableMismatch {
                    name: snippet(dev),
                    want: table_name(w),
                    have: table_name(have),
                    disk: disk.clone(),
                });
            }
        }
        Ok(vol)
    }

    /// The name GRUB gives `vol` (`hd0,gpt2`, `lvm/vg-root`, `mduuid/...`), else its kernel
    /// name (which [`resolve`](Self::resolve) reads back).
    pub fn name_of(&self, vol: &Volume) -> String {
        if let Some(l) = &vol.lvm {
            return format!("lvm/{}-{}", lvm_escape(&l.vg_name), lvm_escape(&l.lv_name));
        }
        if let (Some(d), Some(p)) = (&vol.disk, vol.partition) {
            if let Some(i) = self.disks.iter().position(|x| x == d) {
                let t = vol.table.map_or("", table_name);
                return format!("hd{i},{t}{p}");
            }
        }
        if let Some(i) = self.disks.iter().position(|x| *x == vol.name) {
            return format!("hd{i}");
        }
        if let (Some(u), None) = (&vol.md_uuid, &vol.disk) {
            return format!("mduuid/{}", u.replace(':', "").to_ascii_lowercase());
        }
        vol.name.clone()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::disk::LvmVolume;
    use crate::fetch::local::{FsInfo, FsType};

    fn part(name: &str, disk: &str, n: u32, table: PartTable, uuid: &str) -> Volume {
        Volume {
            name: name.into(),
            disk: Some(disk.into()),
            partition: Some(n),
            table: Some(table),
            fs: Some(FsInfo {
                fstype: FsType::Ext,
                uuid: Some(uuid.into()),
                label: None,
            }),
            ..Default::default()
        }
    }

    /// Two disks: sda (MBR, a filesystem on sda1 and sda5) and nvme0n1 (GPT: an ESP, /boot,
    /// an LVM PV holding vg "debian-vg" with LV "root"), plus an MD array.
    pub(crate) fn sample() -> Inventory {
        let mut esp = part("nvme0n1p1", "nvme0n1", 1, PartTable::Gpt, "ABCD-1234");
        esp.fs = Some(FsInfo {
            fstype: FsType::Vfat,
            uuid: Some("ABCD-1234".into()),
            label: Some("EFI".into()),
        });
        Inventory {
            disks: vec!["nvme0n1".into(), "sda".into()],
            volumes: vec![
                esp,
                part(
                    "nvme0n1p2",
                    "nvme0n1",
                    2,
                    PartTable::Gpt,
                    "22222222-2222-2222-2222-222222222222",
                ),
                Volume {
                    name: "nvme0n1p3".into(),
                    disk: Some("nvme0n1".into()),
                    partition: Some(3),
                    table: Some(PartTable::Gpt),
                    ..Default::default()
                },
                part(
                    "sda1",
                    "sda",
                    1,
                    PartTable::Msdos,
                    "11111111-1111-1111-1111-111111111111",
                ),
                part(
                    "sda5",
                    "sda",
                    5,
                    PartTable::Msdos,
                    "55555555-5555-5555-5555-555555555555",
                ),
                Volume {
                    name: "dm-0".into(),
                    fs: Some(FsInfo {
                        fstype: FsType::Ext,
                        uuid: Some("00000000-aaaa-bbbb-cccc-000000000000".into()),
                        label: Some("root".into()),
                    }),
                    lvm: Some(LvmVolume {
                        vg_name: "debian-vg".into(),
                        lv_name: "root".into(),
                        vg_uuid: "Vg0000-aaaa-bbbb-cccc-dddd-eeee-ffffff".into(),
                        lv_uuid: "Lv0000-aaaa-bbbb-cccc-dddd-eeee-ffffff".into(),
                    }),
                    ..Default::default()
                },
                Volume {
                    name: "md127".into(),
                    md_uuid: Some("0a1b2c3d:4e5f6a7b:8c9d0e1f:2a3b4c5d".into()),
                    fs: Some(FsInfo {
                        fstype: FsType::Ext,
                        uuid: Some("77777777-7777-7777-7777-777777777777".into()),
                        label: None,
                    }),
                    ..Default::default()
                },
            ],
        }
    }

    fn devs(boot: &str) -> GrubDevices {
        GrubDevices::new(Arc::new(sample()), Some(boot))
    }

    fn r(d: &GrubDevices, name: &str) -> Result<String, DeviceError> {
        d.resolve(name).map(|v| v.name.clone())
    }

    #[test]
    fn hd0_is_the_disk_of_the_config() {
        let d = devs("sda1");
        assert_eq!(r(&d, "hd0,msdos1").as_deref(), Ok("sda1"));
        assert_eq!(r(&d, "(hd0,msdos5)").as_deref(), Ok("sda5"));
        assert_eq!(r(&d, "hd0,5").as_deref(), Ok("sda5"));
        assert_eq!(r(&d, "(hd1,gpt2)").as_deref(), Ok("nvme0n1p2"));
        let d = devs("nvme0n1p2");
        assert_eq!(r(&d, "hd0,gpt2").as_deref(), Ok("nvme0n1p2"));
        assert_eq!(r(&d, "hd1,msdos1").as_deref(), Ok("sda1"));
        // A config on a logical volume: inventory order.
        let d = devs("dm-0");
        assert_eq!(r(&d, "hd1,1").as_deref(), Ok("sda1"));
    }

    #[test]
    fn lvm_md_and_kernel_names() {
        let d = devs("nvme0n1p2");
        assert_eq!(r(&d, "lvm/debian--vg-root").as_deref(), Ok("dm-0"));
        assert_eq!(
            r(&d, "(lvmid/vg0000-AAAA-bbbb-cccc-dddd-eeee-ffffff/Lv0000-aaaa-bbbb-cccc-dddd-eeee-ffffff)")
                .as_deref(),
            Ok("dm-0")
        );
        assert_eq!(
            r(&d, "mduuid/0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d").as_deref(),
            Ok("md127")
        );
        assert_eq!(r(&d, "md/127").as_deref(), Ok("md127"));
        assert_eq!(r(&d, "md127").as_deref(), Ok("md127"));
        assert_eq!(r(&d, "nvme0n1p1").as_deref(), Ok("nvme0n1p1"));
    }

    #[test]
    fn names_read_back() {
        let d = devs("nvme0n1p2");
        for v in d.inventory().volumes.iter() {
            let n = d.name_of(v);
            assert_eq!(r(&d, &n).as_deref(), Ok(v.name.as_str()), "{n}");
        }
        assert_eq!(d.name_of(d.resolve("sda5").unwrap()), "hd1,msdos5");
        assert_eq!(d.name_of(d.resolve("dm-0").unwrap()), "lvm/debian--vg-root");
    }

    #[test]
    fn impossible_names_are_errors() {
        let d = devs("sda1");
        assert!(matches!(
            d.resolve("hd99,msdos1"),
            Err(DeviceError::NoDisk { index: 99, .. })
        ));
        assert!(matches!(
            d.resolve("hd0,msdos0"),
            Err(DeviceError::NoPartition { .. })
        ));
        assert!(matches!(
            d.resolve("hd0,gpt1"),
            Err(DeviceError::TableMismatch { .. })
        ));
        assert!(matches!(
            d.resolve("hd0,msdos1,bsd1"),
            Err(DeviceError::Nested(_))
        ));
        assert!(matches!(
            d.resolve("hd1"),
            Err(DeviceError::NoFilesystem { .. })
        ));
        assert!(matches!(
            d.resolve("lvm/nope-root"),
            Err(DeviceError::NoLogicalVolume(_))
        ));
        for bad in [
            "",
            "()",
            "(",
            "hd",
            "hd0,",
            "hd0,msdos",
            "hd0,gptx",
            "hd-1",
            "hd18446744073709551616,1",
            "hd0,99999999999999999999",
            "cd",
            "fd0",
            "ahci0,msdos1",
            "lvmid/onlyone",
            "mduuid/",
            "mduuid/zz",
            "md/",
            "loop",
            "((hd0,1))",
            "hd0 ,1",
        ] {
            let e = d.resolve(bad);
            assert!(e.is_err(), "{bad:?} resolved to {e:?}");
            assert!(!e.unwrap_err().to_string().is_empty());
        }
    }
}
