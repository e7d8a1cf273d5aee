//! The LVM2 physical volume label: `LABELONE` in one of a device's first four 512-byte sectors,
//! followed by the PV header (the PV's UUID, its size, its data areas and metadata areas).

use super::crc::{calc_crc, INITIAL_CRC};
use super::LvmError;
use crate::disk::bytes::{get, le32, le64};

/// Bytes of a sector as LVM2 counts them (also on 4K-sector disks).
pub const SECTOR: usize = 512;
/// The label is in one of the first four sectors.
pub const SCAN_SECTORS: usize = 4;
/// Bytes [`parse_label`] needs: the first four sectors.
pub const LABEL_SCAN_LEN: usize = SECTOR * SCAN_SECTORS;

/// A region of the device, in bytes from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Area {
    pub offset: u64,
    /// 0 for a data area means "up to the end of the device".
    pub size: u64,
}

/// What an LVM2 label says about a physical volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvLabel {
    /// The sector the label was found in (0-3).
    pub sector: u64,
    /// The PV's UUID: 32 characters, without the dashes LVM prints.
    pub pv_uuid: String,
    /// Device size in bytes as recorded at `pvcreate`.
    pub device_size: u64,
    pub data_areas: Vec<Area>,
    /// Where the metadata areas are (usually one, at 4 KiB).
    pub metadata_areas: Vec<Area>,
}

/// Finds and checks the LVM2 label in the first sectors of a device (`head` holds at least
/// [`LABEL_SCAN_LEN`] bytes when the device is that large). `Ok(None)`: no label.
pub fn parse_label(head: &[u8]) -> Result<Option<PvLabel>, LvmError> {
    for n in 0..SCAN_SECTORS {
        let Some(sector) = get(head, n * SECTOR, SECTOR) else {
            break;
        };
        if &sector[..8] != b"LABELONE" {
            continue;
        }
        return parse_sector(sector, n as u64).map(Some);
    }
    Ok(None)
}

fn parse_sector(s: &[u8], n: u64) -> Result<PvLabel, LvmError> {
    let bad = |what: &str| LvmError::Label(format!("sector {n}: {what}"));
    let sector_xl = le64(s, 8).ok_or_else(|| bad("short"))?;
    if sector_xl != n {
        return Err(bad(&format!("it says it is sector {sector_xl}")));
    }
    let crc = le32(s, 16).ok_or_else(|| bad("short"))?;
    if calc_crc(INITIAL_CRC, &s[20..]) != crc {
        return Err(bad("wrong checksum"));
    }
    let offset = le32(s, 20).ok_or_else(|| bad("short"))? as usize;
    if get(s, 24, 8) != Some(b"LVM2 001") {
        return Err(bad("not an LVM2 label (type is not \"LVM2 001\")"));
    }
    // pv_header: uuid[32], device_size u64, then two lists of {offset, size} u64 pairs, each
    // ended by a zero entry: data areas, then metadata areas.
    if !(32..SECTOR).contains(&offset) {
        return Err(bad("PV header offset out of the sector"));
    }
    let uuid = get(s, offset, 32).ok_or_else(|| bad("PV header cut short"))?;
    if !uuid.iter().all(u8::is_ascii_alphanumeric) {
        return Err(bad("PV UUID is not alphanumeric"));
    }
    let pv_uuid = String::from_utf8_lossy(uuid).into_owned();
    let device_size = le64(s, offset + 32).ok_or_else(|| bad("PV header cut short"))?;
    let mut at = offset + 40;
    let mut list = || -> Result<Vec<Area>, LvmError> {
        let mut out = Vec::new();
        loop {
            let (Some(off), Some(size)) = (le64(s, at), le64(s, at + 8)) else {
                return Err(bad("area list runs past the sector"));
            };
            at += 16;
            if off == 0 {
                return Ok(out);
            }
            out.push(Area { offset: off, size });
        }
    };
    let data_areas = list()?;
    let metadata_areas = list()?;
    Ok(PvLabel {
        sector: n,
        pv_uuid,
        device_size,
        data_areas,
        metadata_areas,
    })
}

/// `xxxxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxxxx`, the way LVM prints a 32-character UUID.
pub fn dashed_uuid(raw: &str) -> String {
    if raw.len() != 32 || !raw.is_ascii() {
        return raw.to_string();
    }
    let cuts = [6, 4, 4, 4, 4, 4, 6];
    let mut out = String::with_capacity(38);
    let mut at = 0;
    for (i, len) in cuts.iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        out.push_str(&raw[at..at + len]);
        at += len;
    }
    out
}

/// A UUID without its dashes, for comparing the label's form with the metadata's.
pub fn plain_uuid(uuid: &str) -> String {
    uuid.chars().filter(|&c| c != '-').collect()
}
