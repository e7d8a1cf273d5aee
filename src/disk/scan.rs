//! The I/O shell of the disk layer: walks /sys/class/block, reads each device's first
//! sectors, and maps LVM2 logical volumes and MD RAID1 members read-only through
//! device-mapper. Safe to run again (on hotplug): what is already mapped is found by its
//! device-mapper UUID and reused.

use super::lvm::label::{parse_label, plain_uuid, PvLabel};
use super::lvm::vg::{dm_name, dm_uuid, Vg};
use super::lvm::{mda, parse_vg};
use super::md::{self, MdSuper};
use super::probe::{probe, FsInfo, PROBE_LEN};
use super::{dm, luks, table, Inventory, LvmVolume, Volume};
use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Instant;

const SYS: &str = "/sys/class/block";

/// One block device as sysfs and its first bytes describe it.
struct Dev {
    name: String,
    /// `major:minor`.
    numbers: String,
    partition: Option<u32>,
    parent: Option<String>,
    size: u64,
    head: Vec<u8>,
}

fn sys(name: &str, file: &str) -> Option<String> {
    std::fs::read_to_string(format!("{SYS}/{name}/{file}"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// Reads up to `len` bytes at `offset` of `path` (fewer at the end of the device).
fn read_at(path: &Path, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let f = File::open(path)?;
    let mut buf = vec![0u8; len];
    let mut n = 0;
    while n < len {
        match f.read_at(&mut buf[n..], offset + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(n);
    Ok(buf)
}

fn dev_path(name: &str) -> std::path::PathBuf {
    Path::new("/dev").join(name)
}

/// Every block device with a size, except RAM disks, zram, and device-mapper and MD devices
/// (returned apart: `dm-N` -> its dm UUID, and `mdN` names).
fn block_devices() -> (Vec<String>, BTreeMap<String, String>, Vec<String>) {
    let mut names: Vec<String> = std::fs::read_dir(SYS)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut plain = Vec::new();
    let mut dms = BTreeMap::new();
    let mut mds = Vec::new();
    for n in names {
        let size = sys(&n, "size")
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0);
        if size == 0 || n.starts_with("ram") || n.starts_with("zram") {
            continue;
        }
        if n.starts_with("dm-") {
            dms.insert(n.clone(), sys(&n, "dm/uuid").unwrap_or_default());
        } else if n.starts_with("md") && Path::new(&format!("{SYS}/{n}/md")).exists() {
            mds.push(n);
        } else {
            plain.push(n);
        }
    }
    (plain, dms, mds)
}

fn read_dev(name: &str, log: &mut dyn FnMut(String)) -> Option<Dev> {
    let size = sys(name, "size")?.parse::<u64>().ok()?.saturating_mul(512);
    let partition = sys(name, "partition").and_then(|p| p.parse().ok());
    let parent = partition.and_then(|_| {
        std::fs::canonicalize(format!("{SYS}/{name}"))
            .ok()?
            .parent()?
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
    });
    let head = match read_at(&dev_path(name), 0, PROBE_LEN) {
        Ok(h) => h,
        Err(e) => {
            log(format!("{name}: cannot read /dev/{name}: {e}"));
            return None;
        }
    };
    Some(Dev {
        name: name.to_string(),
        numbers: sys(name, "dev").unwrap_or_default(),
        partition,
        parent,
        size,
        head,
    })
}

/// The MD superblock of a device, if any (the first valid one in mdadm's order).
fn md_super(dev: &Dev, log: &mut dyn FnMut(String)) -> Option<MdSuper> {
    for (version, offset) in md::locations(dev.size) {
        let bytes = if (offset as usize).saturating_add(md::SB_LEN) <= dev.head.len() {
            dev.head[offset as usize..offset as usize + md::SB_LEN].to_vec()
        } else {
            read_at(&dev_path(&dev.name), offset, md::SB_LEN).ok()?
        };
        match md::parse(version, &bytes, offset) {
            Ok(Some(sb)) => return Some(sb),
            Ok(None) => {}
            Err(e) => log(format!("{}: {e}", dev.name)),
        }
    }
    None
}

/// The newest metadata on any of a PV's metadata areas.
fn pv_metadata(dev: &Dev, label: &PvLabel, log: &mut dyn FnMut(String)) -> Option<Vg> {
    let mut best: Option<Vg> = None;
    for area in &label.metadata_areas {
        let len = area
            .size
            .min(mda::MAX_METADATA + mda::MDA_HEADER_SIZE as u64) as usize;
        let bytes = match read_at(&dev_path(&dev.name), area.offset, len) {
            Ok(b) => b,
            Err(e) => {
                log(format!("{}: cannot read its LVM2 metadata: {e}", dev.name));
                continue;
            }
        };
        let vg =
            mda::read_text(&bytes, area.offset).and_then(|t| t.map(|t| parse_vg(&t)).transpose());
        match vg {
            Ok(Some(vg)) if best.as_ref().is_none_or(|b| b.seqno < vg.seqno) => best = Some(vg),
            Ok(_) => {}
            Err(e) => log(format!("{}: {e}", dev.name)),
        }
    }
    best
}

/// The kernel name `dm-N` of an existing device-mapper device with `uuid`.
fn mapped(dms: &BTreeMap<String, String>, uuid: &str) -> Option<String> {
    dms.iter().find(|(_, u)| *u == uuid).map(|(n, _)| n.clone())
}

/// Maps `targets` as a read-only device `name`/`uuid` unless a device with `uuid` exists;
/// returns its kernel name.
fn map(
    dms: &mut BTreeMap<String, String>,
    name: &str,
    uuid: &str,
    targets: &[dm::Target],
    what: &str,
    log: &mut dyn FnMut(String),
) -> Option<String> {
    if let Some(n) = mapped(dms, uuid) {
        return Some(n);
    }
    if !dm::available() {
        log(format!(
            "{what}: not mapped: {CONTROL} is missing (no device-mapper in this kernel)",
            CONTROL = dm::CONTROL
        ));
        return None;
    }
    let t0 = Instant::now();
    let dev = match dm::create_linear(name, uuid, targets) {
        Ok(d) => d,
        Err(e) => {
            log(format!("{what}: not mapped: {e}"));
            return None;
        }
    };
    let (major, minor) = dm::dev_numbers(dev);
    let kname = format!("dm-{minor}");
    let node = dev_path(&kname);
    if !node.exists() {
        // devtmpfs makes the node; without it, make one.
        let _ = nix::sys::stat::mknod(
            &node,
            nix::sys::stat::SFlag::S_IFBLK,
            nix::sys::stat::Mode::from_bits_truncate(0o600),
            nix::sys::stat::makedev(major as u64, minor as u64),
        );
    }
    log(format!(
        "{what}: mapped read-only as {kname} ({} ms)",
        t0.elapsed().as_millis()
    ));
    dms.insert(kname.clone(), uuid.to_string());
    Some(kname)
}

fn probe_node(name: &str) -> Option<FsInfo> {
    read_at(&dev_path(name), 0, PROBE_LEN)
        .ok()
        .and_then(|h| probe(&h))
}

/// Every disk and volume, with LVM2 logical volumes and RAID1 members mapped read-only.
pub fn inventory(log: &mut dyn FnMut(String)) -> Inventory {
    // The first scan and a hotplug rescan may overlap: one at a time, so that a volume is
    // mapped once and the second finds it mapped.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let (names, mut dms, mds) = block_devices();
    let devs: Vec<Dev> = names.iter().filter_map(|n| read_dev(n, log)).collect();
    let mut inv = Inventory::default();
    let mut pvs: Vec<(usize, PvLabel)> = Vec::new();
    let mut members: Vec<(usize, MdSuper)> = Vec::new();
    // A v0.90 or v1.0 superblock at the end of a disk's last partition can also be at the end
    // of the disk itself: only partitions and disks without partitions are members.
    let has_partitions =
        |d: &Dev| d.partition.is_none() && devs.iter().any(|x| x.parent.as_ref() == Some(&d.name));
    for (i, d) in devs.iter().enumerate() {
        let is_disk = d.partition.is_none();
        if is_disk {
            inv.disks.push(d.name.clone());
        }
        let table = d
            .parent
            .as_ref()
            .and_then(|p| devs.iter().find(|x| &x.name == p))
            .and_then(|p| table::partition_table(&p.head));
        let mut v = Volume {
            name: d.name.clone(),
            disk: d.parent.clone(),
            partition: d.partition,
            table,
            ..Volume::default()
        };
        if let Some(version) = luks::luks_version(&d.head) {
            log(format!("{}: LUKS{version}-encrypted, not read", d.name));
            v.note = Some(luks::NOTE.to_string());
        } else if let Some(label) = match parse_label(&d.head) {
            Ok(l) => l,
            Err(e) => {
                log(format!("{}: {e}", d.name));
                None
            }
        } {
            v.note = Some("LVM2 physical volume".into());
            pvs.push((i, label));
        } else if let Some(sb) = (!has_partitions(d)).then(|| md_super(d, log)).flatten() {
            v.md_uuid = Some(sb.uuid.clone());
            v.note = Some(format!("MD RAID member ({} superblock)", sb.version));
            members.push((i, sb));
        } else {
            v.fs = probe(&d.head);
        }
        // A whole disk is a volume only when something is on it directly.
        if !is_disk || v.fs.is_some() || v.note.is_some() {
            inv.volumes.push(v);
        }
    }
    lvm_volumes(&devs, &pvs, &mut dms, &mut inv, log);
    md_volumes(&devs, &members, &mut dms, &mds, &mut inv, log);
    // Arrays the kernel assembled itself.
    for n in mds {
        if let Some(fs) = probe_node(&n) {
            inv.volumes.push(Volume {
                name: n,
                fs: Some(fs),
                ..Volume::default()
            });
        }
    }
    inv
}

fn lvm_volumes(
    devs: &[Dev],
    pvs: &[(usize, PvLabel)],
    dms: &mut BTreeMap<String, String>,
    inv: &mut Inventory,
    log: &mut dyn FnMut(String),
) {
    // Each PV of a VG holds a copy of its metadata: keep the newest.
    let mut vgs: BTreeMap<String, Vg> = BTreeMap::new();
    for (i, label) in pvs {
        if let Some(vg) = pv_metadata(&devs[*i], label, log) {
            let newer = vgs.get(&vg.uuid).is_none_or(|b| b.seqno < vg.seqno);
            if newer {
                vgs.insert(vg.uuid.clone(), vg);
            }
        }
    }
    let mut vgs: Vec<Vg> = vgs.into_values().collect();
    vgs.sort_by(|a, b| a.name.cmp(&b.name));
    for (i, label) in pvs {
        let vg = vgs
            .iter()
            .find(|vg| vg.pvs.iter().any(|p| plain_uuid(&p.uuid) == label.pv_uuid));
        let v = inv.volumes.iter_mut().find(|v| v.name == devs[*i].name);
        if let (Some(vg), Some(v)) = (vg, v) {
            v.note = Some(format!("LVM2 physical volume of VG {}", vg.name));
        }
    }
    for vg in vgs {
        for lv in vg.lvs.iter().filter(|l| l.visible) {
            let what = format!("LVM {}/{}", vg.name, lv.name);
            let parts = match vg.linear_table(lv) {
                Ok(p) => p,
                Err(why) => {
                    log(format!("{what}: not mapped: {why}"));
                    continue;
                }
            };
            let mut targets = Vec::new();
            for p in &parts {
                let pv = pvs
                    .iter()
                    .find(|(_, l)| l.pv_uuid == plain_uuid(&p.pv_uuid))
                    .map(|(i, _)| &devs[*i]);
                let Some(pv) = pv else {
                    log(format!(
                        "{what}: not mapped: its PV {} was not found",
                        p.pv_uuid
                    ));
                    targets.clear();
                    break;
                };
                if p.pv_sector.saturating_add(p.len) > pv.size / 512 {
                    log(format!(
                        "{what}: not mapped: it runs past the end of {}",
                        pv.name
                    ));
                    targets.clear();
                    break;
                }
                targets.push(dm::Target {
                    start: p.start,
                    len: p.len,
                    target: "linear",
                    params: format!("{} {}", pv.numbers, p.pv_sector),
                });
            }
            if targets.is_empty() {
                continue;
            }
            let uuid = dm_uuid(&vg.uuid, &lv.uuid);
            let Some(kname) = map(
                dms,
                &dm_name(&vg.name, &lv.name),
                &uuid,
                &targets,
                &what,
                log,
            ) else {
                continue;
            };
            inv.volumes.push(Volume {
                fs: probe_node(&kname),
                name: kname,
                lvm: Some(LvmVolume {
                    vg_name: vg.name.clone(),
                    lv_name: lv.name.clone(),
                    vg_uuid: vg.uuid.clone(),
                    lv_uuid: lv.uuid.clone(),
                }),
                ..Volume::default()
            });
        }
    }
}

fn md_volumes(
    devs: &[Dev],
    members: &[(usize, MdSuper)],
    dms: &mut BTreeMap<String, String>,
    assembled: &[String],
    inv: &mut Inventory,
    log: &mut dyn FnMut(String),
) {
    let mut arrays: BTreeMap<&str, Vec<&(usize, MdSuper)>> = BTreeMap::new();
    for m in members {
        arrays.entry(m.1.uuid.as_str()).or_default().push(m);
    }
    for (uuid, ms) in arrays {
        let what = format!("MD array {uuid}");
        // A member the kernel already uses in an array has that array in its holders.
        let held_by = ms.iter().find_map(|(i, _)| {
            let holders = std::fs::read_dir(format!("{SYS}/{}/holders", devs[*i].name)).ok()?;
            holders
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .find(|h| assembled.contains(h))
        });
        if let Some(md) = held_by {
            log(format!("{what}: assembled by the kernel as {md}"));
            continue;
        }
        let level = ms[0].1.level;
        if level != 1 {
            log(format!(
                "{what}: RAID level {level}: kboot reads only RAID1 members"
            ));
            continue;
        }
        let Some((i, sb)) = ms.iter().find(|(_, s)| s.clean && s.active) else {
            log(format!("{what}: no clean, active member to read"));
            continue;
        };
        let member = &devs[*i];
        if sb.size == 0 || sb.data_offset.saturating_add(sb.size) > member.size / 512 {
            log(format!(
                "{what}: not mapped: its data area does not fit on {}",
                member.name
            ));
            continue;
        }
        let hex = plain_uuid(&uuid.replace(':', ""));
        let targets = [dm::Target {
            start: 0,
            len: sb.size,
            target: "linear",
            params: format!("{} {}", member.numbers, sb.data_offset),
        }];
        let what = format!("{what} (RAID1 member {})", member.name);
        let Some(kname) = map(
            dms,
            &format!("kboot-md-{hex}"),
            &format!("KBOOT-MD-{hex}"),
            &targets,
            &what,
            log,
        ) else {
            continue;
        };
        inv.volumes.push(Volume {
            fs: probe_node(&kname),
            name: kname,
            md_uuid: Some(uuid.to_string()),
            note: Some(format!("RAID1 member {} read read-only", member.name)),
            ..Volume::default()
        });
    }
}
