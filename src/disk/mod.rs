//! Block devices as installers lay them out: whole disks, their partitions (MBR or GPT),
//! LVM2 logical volumes and MD RAID1 members, each with what its superblock says.
//!
//! [`Inventory`] is plain data: config parsers (GRUB's `set root=(hd0,msdos1)`,
//! `search --fs-uuid`, `lvmid/...`) resolve device names against it without any I/O, and
//! tests build one by hand.

pub(crate) mod bytes;
pub mod dm;
pub mod luks;
pub mod lvm;
pub mod md;
pub mod probe;
mod scan;
pub mod table;

pub use scan::inventory;
pub use table::partition_table;

use probe::{FsInfo, FsType};

/// The partition table of a whole disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartTable {
    /// DOS/MBR (GRUB's `msdos`): primaries 1-4, logical partitions from 5.
    Msdos,
    /// GUID partition table (GRUB's `gpt`).
    Gpt,
}

/// An LVM2 logical volume that kboot mapped (read-only) through device-mapper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LvmVolume {
    /// Volume group name, as in `/dev/<vg>/<lv>`.
    pub vg_name: String,
    /// Logical volume name.
    pub lv_name: String,
    /// The VG's UUID as LVM prints it (`xxxxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxxxx`), which is what
    /// GRUB's `lvmid/<vg uuid>/<lv uuid>` names.
    pub vg_uuid: String,
    /// The LV's UUID, same format.
    pub lv_uuid: String,
}

/// One block device kboot can read a filesystem from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Volume {
    /// Kernel name (`nvme0n1p1`, `sda`, `dm-0`, `mmcblk0p2`); `/dev/<name>` opens it.
    pub name: String,
    /// For a partition: the whole disk it is on (`nvme0n1`).
    pub disk: Option<String>,
    /// For a partition: its number as the kernel and GRUB count it (1-based; logical MBR
    /// partitions from 5).
    pub partition: Option<u32>,
    /// For a partition: its disk's table type.
    pub table: Option<PartTable>,
    /// The filesystem on it, when its superblock was recognised.
    pub fs: Option<FsInfo>,
    /// Set for a logical volume.
    pub lvm: Option<LvmVolume>,
    /// For an MD RAID member (or the volume mapped from one): the array UUID as mdadm prints
    /// it (`xxxxxxxx:xxxxxxxx:xxxxxxxx:xxxxxxxx`), which GRUB's `mduuid/<hex>` names without
    /// colons.
    pub md_uuid: Option<String>,
    /// What else kboot learned and the user should know, e.g. "LUKS-encrypted: the target's
    /// initramfs asks for the passphrase".
    pub note: Option<String>,
}

/// Every disk and volume kboot sees, in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Whole disks (`nvme0n1`, `sda`), sorted by kernel name. GRUB's `hdN` numbering is
    /// relative to the disk a config was read from (that disk is `hd0`, as firmware puts the
    /// boot disk first); the others follow in this order.
    pub disks: Vec<String>,
    /// Every volume: whole disks with a filesystem, partitions, logical volumes.
    pub volumes: Vec<Volume>,
}

impl Inventory {
    /// The volume with this kernel name.
    pub fn volume(&self, name: &str) -> Option<&Volume> {
        self.volumes.iter().find(|v| v.name == name)
    }

    /// `kboot disks`: a `disks:` line, then one line per volume with its name and the fields
    /// it has (`disk=sda part=1 table=gpt fs=ext uuid=... label=... lvm=vg/lv md=... note=...`).
    pub fn to_text(&self) -> String {
        let mut out = format!("disks: {}\n", self.disks.join(" "));
        for v in &self.volumes {
            out.push_str(&v.name);
            let mut field = |k: &str, val: &str| {
                out.push_str(&format!(" {k}={val}"));
            };
            if let Some(d) = &v.disk {
                field("disk", d);
            }
            if let Some(p) = v.partition {
                field("part", &p.to_string());
            }
            if let Some(t) = v.table {
                field("table", t.grub_name());
            }
            if let Some(fs) = &v.fs {
                field("fs", fs_name(fs.fstype));
                if let Some(u) = &fs.uuid {
                    field("uuid", u);
                }
                if let Some(l) = &fs.label {
                    field("label", &format!("{l:?}"));
                }
            }
            if let Some(l) = &v.lvm {
                field("lvm", &format!("{}/{}", l.vg_name, l.lv_name));
            }
            if let Some(m) = &v.md_uuid {
                field("md", m);
            }
            if let Some(n) = &v.note {
                field("note", &format!("{n:?}"));
            }
            out.push('\n');
        }
        out
    }

    /// `kboot disks --json`.
    pub fn to_json(&self) -> serde_json::Value {
        let volumes: Vec<serde_json::Value> = self
            .volumes
            .iter()
            .map(|v| {
                serde_json::json!({
                    "name": v.name,
                    "disk": v.disk,
                    "partition": v.partition,
                    "table": v.table.map(PartTable::grub_name),
                    "fs": v.fs.as_ref().map(|f| fs_name(f.fstype)),
                    "uuid": v.fs.as_ref().and_then(|f| f.uuid.clone()),
                    "label": v.fs.as_ref().and_then(|f| f.label.clone()),
                    "lvm": v.lvm.as_ref().map(|l| serde_json::json!({
                        "vg": l.vg_name, "lv": l.lv_name,
                        "vg_uuid": l.vg_uuid, "lv_uuid": l.lv_uuid,
                    })),
                    "md_uuid": v.md_uuid,
                    "note": v.note,
                })
            })
            .collect();
        serde_json::json!({ "disks": self.disks, "volumes": volumes })
    }
}

impl PartTable {
    /// GRUB's name for it: `msdos` or `gpt`.
    pub fn grub_name(self) -> &'static str {
        match self {
            PartTable::Msdos => "msdos",
            PartTable::Gpt => "gpt",
        }
    }
}

/// A short name of a filesystem type (`ext` stands for ext2/3/4: the probe does not tell them
/// apart).
pub fn fs_name(t: FsType) -> &'static str {
    match t {
        FsType::Ext => "ext",
        FsType::Vfat => "vfat",
        FsType::Iso9660 => "iso9660",
        FsType::Btrfs => "btrfs",
        FsType::Xfs => "xfs",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Inventory {
        Inventory {
            disks: vec!["sda".into()],
            volumes: vec![
                Volume {
                    name: "sda1".into(),
                    disk: Some("sda".into()),
                    partition: Some(1),
                    table: Some(PartTable::Gpt),
                    fs: Some(FsInfo {
                        fstype: FsType::Ext,
                        uuid: Some("1234".into()),
                        label: Some("my boot".into()),
                    }),
                    ..Volume::default()
                },
                Volume {
                    name: "dm-0".into(),
                    lvm: Some(LvmVolume {
                        vg_name: "vg".into(),
                        lv_name: "root".into(),
                        vg_uuid: "a".into(),
                        lv_uuid: "b".into(),
                    }),
                    note: Some("x".into()),
                    ..Volume::default()
                },
            ],
        }
    }

    #[test]
    fn text_and_json_listings() {
        assert_eq!(
            sample().to_text(),
            "disks: sda\nsda1 disk=sda part=1 table=gpt fs=ext uuid=1234 label=\"my boot\"\n\
             dm-0 lvm=vg/root note=\"x\"\n"
        );
        let j = sample().to_json();
        assert_eq!(j["volumes"][0]["table"], "gpt");
        assert_eq!(j["volumes"][0]["label"], "my boot");
        assert_eq!(j["volumes"][1]["lvm"]["lv"], "root");
        assert_eq!(j["volumes"][1]["partition"], serde_json::Value::Null);
    }
}
