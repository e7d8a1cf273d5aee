//! A volume group as its metadata describes it, and the dm-linear table of each logical volume
//! kboot can map: `striped` segments with one stripe (what `lvcreate` makes by default and
//! lvm2 reports as "linear"), any number of them, on any of the VG's PVs.

use super::text::{Section, Value};
use super::LvmError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vg {
    pub name: String,
    /// As LVM prints it, with dashes.
    pub uuid: String,
    pub seqno: u64,
    /// Extent size in 512-byte sectors.
    pub extent_size: u64,
    pub pvs: Vec<Pv>,
    pub lvs: Vec<Lv>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pv {
    /// The PV's name inside the metadata (`pv0`), which segments refer to.
    pub key: String,
    /// As LVM prints it, with dashes.
    pub uuid: String,
    /// Sector where the first extent starts.
    pub pe_start: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lv {
    pub name: String,
    pub uuid: String,
    /// Shown to users (`VISIBLE` in its status); hidden LVs are parts of others (thin pool
    /// data, RAID images, snapshot stores).
    pub visible: bool,
    pub segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub start_extent: u64,
    pub extent_count: u64,
    /// `type` (`striped`, `thin`, `raid1`, `snapshot`...).
    pub kind: String,
    pub stripe_count: u64,
    /// (PV key, first extent on that PV) for each stripe.
    pub stripes: Vec<(String, u64)>,
    /// For a `snapshot` segment: the LV holding the snapshot's copy-on-write data.
    pub cow_store: Option<String>,
}

/// One row of a dm-linear table: `len` sectors of the LV from `start` are `len` sectors of
/// the PV with `pv_uuid` from `pv_sector`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinearPart {
    pub start: u64,
    pub len: u64,
    /// The PV's UUID with dashes.
    pub pv_uuid: String,
    pub pv_sector: u64,
}

fn uint(s: &Section, key: &str, what: &str) -> Result<u64, LvmError> {
    s.int(key)
        .and_then(|i| u64::try_from(i).ok())
        .ok_or_else(|| LvmError::Metadata(format!("{what}: no valid {key}")))
}

fn string(s: &Section, key: &str, what: &str) -> Result<String, LvmError> {
    s.str(key)
        .map(str::to_string)
        .ok_or_else(|| LvmError::Metadata(format!("{what}: no {key}")))
}

fn has_flag(s: &Section, key: &str, flag: &str) -> bool {
    matches!(s.value(key), Some(Value::List(l)) if l.iter().any(|v| *v == Value::Str(flag.into())))
}

/// The volume group described by parsed metadata text (the one top-level section with an
/// `id` and an `extent_size`).
pub fn from_metadata(top: &Section) -> Result<Vg, LvmError> {
    let (name, vg) = top
        .sections()
        .find(|(_, s)| s.str("id").is_some() && s.int("extent_size").is_some())
        .ok_or_else(|| LvmError::Metadata("no volume group in it".into()))?;
    let what = format!("VG {name}");
    let extent_size = uint(vg, "extent_size", &what)?;
    if extent_size == 0 {
        return Err(LvmError::Metadata(format!("{what}: extent_size is 0")));
    }
    let mut pvs = Vec::new();
    if let Some(p) = vg.section("physical_volumes") {
        for (key, pv) in p.sections() {
            let what = format!("{what} PV {key}");
            pvs.push(Pv {
                key: key.to_string(),
                uuid: string(pv, "id", &what)?,
                pe_start: uint(pv, "pe_start", &what)?,
            });
        }
    }
    let mut lvs = Vec::new();
    if let Some(l) = vg.section("logical_volumes") {
        for (lv_name, lv) in l.sections() {
            let what = format!("{what} LV {lv_name}");
            let mut segments = Vec::new();
            for (key, seg) in lv.sections() {
                if !key.starts_with("segment") {
                    continue;
                }
                let what = format!("{what} {key}");
                let stripes = match seg.value("stripes") {
                    Some(Value::List(items)) => items
                        .chunks(2)
                        .map(|pair| match pair {
                            [Value::Str(pv), Value::Int(pe)] if *pe >= 0 => {
                                Ok((pv.clone(), *pe as u64))
                            }
                            _ => Err(LvmError::Metadata(format!("{what}: bad stripes list"))),
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                    _ => Vec::new(),
                };
                segments.push(Segment {
                    start_extent: uint(seg, "start_extent", &what)?,
                    extent_count: uint(seg, "extent_count", &what)?,
                    kind: string(seg, "type", &what)?,
                    stripe_count: seg
                        .int("stripe_count")
                        .and_then(|i| u64::try_from(i).ok())
                        .unwrap_or(0),
                    stripes,
                    cow_store: seg.str("cow_store").map(str::to_string),
                });
            }
            lvs.push(Lv {
                name: lv_name.to_string(),
                uuid: string(lv, "id", &what)?,
                visible: has_flag(lv, "status", "VISIBLE"),
                segments,
            });
        }
    }
    Ok(Vg {
        name: name.to_string(),
        uuid: string(vg, "id", &what)?,
        seqno: uint(vg, "seqno", &what)?,
        extent_size,
        pvs,
        lvs,
    })
}

impl Vg {
    /// The dm-linear table for `lv`, or why kboot does not map it (one short phrase).
    pub fn linear_table(&self, lv: &Lv) -> Result<Vec<LinearPart>, String> {
        if !lv.visible {
            return Err("it is hidden (a part of another volume)".into());
        }
        let is_cow = self
            .lvs
            .iter()
            .flat_map(|l| &l.segments)
            .any(|s| s.kind == "snapshot" && s.cow_store.as_deref() == Some(lv.name.as_str()));
        if is_cow {
            return Err("it is a snapshot (kboot does not read snapshots)".into());
        }
        if lv.segments.is_empty() {
            return Err("it has no segments".into());
        }
        let mut segs: Vec<&Segment> = lv.segments.iter().collect();
        segs.sort_by_key(|s| s.start_extent);
        let mut out = Vec::new();
        let mut next = 0u64;
        for s in segs {
            if s.kind != "striped" {
                return Err(format!("it has a {} segment", s.kind));
            }
            if s.stripe_count != 1 || s.stripes.len() != 1 {
                return Err(format!(
                    "it is striped over {} PVs",
                    s.stripe_count.max(s.stripes.len() as u64)
                ));
            }
            if s.start_extent != next || s.extent_count == 0 {
                return Err("its segments leave a gap or overlap".into());
            }
            let (key, pe) = &s.stripes[0];
            let pv = self
                .pvs
                .iter()
                .find(|p| &p.key == key)
                .ok_or_else(|| format!("its segment names an unknown PV {key}"))?;
            let es = self.extent_size;
            let (Some(start), Some(len), Some(pv_sector)) = (
                s.start_extent.checked_mul(es),
                s.extent_count.checked_mul(es),
                pe.checked_mul(es).and_then(|x| x.checked_add(pv.pe_start)),
            ) else {
                return Err("its extents lie beyond any device".into());
            };
            if pv_sector.checked_add(len).is_none() {
                return Err("its extents lie beyond any device".into());
            }
            next = s.start_extent.saturating_add(s.extent_count);
            out.push(LinearPart {
                start,
                len,
                pv_uuid: pv.uuid.clone(),
                pv_sector,
            });
        }
        Ok(out)
    }
}

/// The device-mapper name LVM gives `vg/lv`: `<vg>-<lv>` with each `-` inside a name doubled.
pub fn dm_name(vg: &str, lv: &str) -> String {
    format!("{}-{}", vg.replace('-', "--"), lv.replace('-', "--"))
}

/// The device-mapper UUID LVM gives an LV: `LVM-` and both UUIDs without dashes.
pub fn dm_uuid(vg_uuid: &str, lv_uuid: &str) -> String {
    format!(
        "LVM-{}{}",
        super::label::plain_uuid(vg_uuid),
        super::label::plain_uuid(lv_uuid)
    )
}
