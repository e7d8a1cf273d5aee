//! The LVM2 metadata area: a 512-byte header (`mda_header`: checksum, magic, version, where
//! the area is, and `raw_locn`s saying where the current metadata text is), then a circular
//! buffer of text. The current text may wrap from the end of the area back to just after the
//! header.

use super::crc::{calc_crc, INITIAL_CRC};
use super::LvmError;
use crate::disk::bytes::{get, le32, le64};

/// The header's size; the circular buffer starts right after it.
pub const MDA_HEADER_SIZE: usize = 512;
const MAGIC: &[u8; 16] = b"\x20LVM2\x20x[5A%r0N*>";
/// `raw_locn.flags`: this metadata area is ignored (`pvchange --metadataignore`).
const RAW_LOCN_IGNORED: u32 = 1;
/// Largest metadata text kboot accepts (lvm2's own default area is 1 MiB).
pub const MAX_METADATA: u64 = 64 << 20;

/// Where the current metadata text is, relative to the metadata area's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawLocn {
    pub offset: u64,
    pub size: u64,
    pub checksum: u32,
}

/// A checked metadata area header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MdaHeader {
    /// The area's byte offset on the device, as the header records it.
    pub start: u64,
    /// The area's size in bytes, header included.
    pub size: u64,
    /// The current metadata, `None` when the area holds none or is marked ignored.
    pub current: Option<RawLocn>,
}

/// Checks the header at the start of a metadata area that the label put at byte `area_start`.
pub fn parse_header(b: &[u8], area_start: u64) -> Result<MdaHeader, LvmError> {
    let bad = |what: &str| LvmError::MetadataArea(what.to_string());
    let h = get(b, 0, MDA_HEADER_SIZE).ok_or_else(|| bad("header cut short"))?;
    if &h[4..20] != MAGIC {
        return Err(bad("wrong magic"));
    }
    let crc = le32(h, 0).unwrap_or(0);
    if calc_crc(INITIAL_CRC, &h[4..]) != crc {
        return Err(bad("wrong header checksum"));
    }
    let version = le32(h, 20).unwrap_or(0);
    if version != 1 {
        return Err(bad(&format!("unknown version {version}")));
    }
    let start = le64(h, 24).unwrap_or(0);
    let size = le64(h, 32).unwrap_or(0);
    if start != area_start {
        return Err(bad(&format!(
            "it says it starts at byte {start}, the label says {area_start}"
        )));
    }
    if size <= MDA_HEADER_SIZE as u64 {
        return Err(bad("area smaller than its header"));
    }
    // The first raw_locn is the committed metadata.
    let offset = le64(h, 40).unwrap_or(0);
    let len = le64(h, 48).unwrap_or(0);
    let checksum = le32(h, 56).unwrap_or(0);
    let flags = le32(h, 60).unwrap_or(0);
    let current = (offset != 0 && len != 0 && flags & RAW_LOCN_IGNORED == 0).then_some(RawLocn {
        offset,
        size: len,
        checksum,
    });
    Ok(MdaHeader {
        start,
        size,
        current,
    })
}

/// The byte ranges (relative to the area's start) holding the current text: one, or two when
/// it wraps. Checked against the area's size.
pub fn text_ranges(h: &MdaHeader) -> Result<Vec<(u64, u64)>, LvmError> {
    let bad = |what: &str| LvmError::MetadataArea(what.to_string());
    let Some(r) = h.current else {
        return Ok(Vec::new());
    };
    let ring = h.size - MDA_HEADER_SIZE as u64;
    if r.offset < MDA_HEADER_SIZE as u64 || r.offset >= h.size {
        return Err(bad("metadata offset outside the area"));
    }
    if r.size > ring || r.size > MAX_METADATA {
        return Err(bad("metadata larger than the area"));
    }
    let end = r
        .offset
        .checked_add(r.size)
        .ok_or_else(|| bad("metadata offset overflows"))?;
    if end <= h.size {
        Ok(vec![(r.offset, r.size)])
    } else {
        let first = h.size - r.offset;
        Ok(vec![
            (r.offset, first),
            (MDA_HEADER_SIZE as u64, r.size - first),
        ])
    }
}

/// Reads the current metadata text out of a whole metadata area (`area` starts with the
/// header and is `header.size` bytes, or at least long enough for the text) and checks its
/// checksum. `Ok(None)`: the area holds no metadata.
pub fn read_text(area: &[u8], area_start: u64) -> Result<Option<String>, LvmError> {
    let h = parse_header(area, area_start)?;
    let Some(r) = h.current else {
        return Ok(None);
    };
    let mut text = Vec::new();
    for (off, len) in text_ranges(&h)? {
        let part = usize::try_from(off)
            .ok()
            .zip(usize::try_from(len).ok())
            .and_then(|(o, l)| get(area, o, l))
            .ok_or_else(|| LvmError::MetadataArea("metadata runs past what was read".into()))?;
        text.extend_from_slice(part);
    }
    if calc_crc(INITIAL_CRC, &text) != r.checksum {
        return Err(LvmError::MetadataArea("wrong metadata checksum".into()));
    }
    while text.last() == Some(&0) {
        text.pop();
    }
    String::from_utf8(text)
        .map(Some)
        .map_err(|_| LvmError::MetadataArea("metadata is not UTF-8 text".into()))
}
