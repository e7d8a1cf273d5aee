//! Linux MD RAID superblocks (as mdadm writes them): v0.90 and v1.0 near the end of a member,
//! v1.1 at its start, v1.2 at 4 KiB. kboot reads a RAID1 member's data area through
//! dm-linear instead of assembling the array, so it needs where the data is and whether the
//! member is clean and active.
//!
//! Layouts from the kernel's include/uapi/linux/raid/md_p.h (mdp_super_t,
//! mdp_superblock_1) and mdadm's super0.c/super1.c (checksums, UUID printing).

use super::bytes::{get, le32, le64};

const MAGIC: u32 = 0xa92b_4efc;
/// Bytes to read at each location.
pub const SB_LEN: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MdVersion {
    V0_90,
    V1_0,
    V1_1,
    V1_2,
}

impl std::fmt::Display for MdVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MdVersion::V0_90 => "0.90",
            MdVersion::V1_0 => "1.0",
            MdVersion::V1_1 => "1.1",
            MdVersion::V1_2 => "1.2",
        })
    }
}

/// What a member's superblock says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdSuper {
    pub version: MdVersion,
    /// The array's UUID as mdadm prints it: `xxxxxxxx:xxxxxxxx:xxxxxxxx:xxxxxxxx`.
    pub uuid: String,
    /// The array's name (v1), e.g. `host:0`.
    pub name: Option<String>,
    /// RAID level (1 = mirror).
    pub level: i32,
    /// Where the array's data starts on this member, in 512-byte sectors.
    pub data_offset: u64,
    /// The array's size in sectors (what each RAID1 member holds).
    pub size: u64,
    /// The array was shut down cleanly (no resync pending).
    pub clean: bool,
    /// This member is an in-sync, active member (not a spare, not faulty, not rebuilding).
    pub active: bool,
    pub events: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MdError {
    #[error("bad MD RAID {version} superblock: {what}")]
    Bad {
        version: MdVersion,
        what: &'static str,
    },
}

/// Where each superblock version would be on a device of `size` bytes: (version, byte
/// offset), in the order mdadm tries them.
pub fn locations(size: u64) -> Vec<(MdVersion, u64)> {
    let mut out = Vec::new();
    let sectors = size / 512;
    if sectors >= 16 {
        out.push((MdVersion::V1_0, ((sectors - 16) & !7) * 512));
    }
    out.push((MdVersion::V1_1, 0));
    out.push((MdVersion::V1_2, 4096));
    if size >= 0x20000 {
        out.push((MdVersion::V0_90, (size & !0xffff) - 0x10000));
    }
    out
}

/// The mdadm checksum: 32-bit little-endian words summed into 64 bits, folded once.
fn fold_sum(b: &[u8], skip_word_at: usize) -> u32 {
    let mut sum: u64 = 0;
    let mut at = 0;
    while at + 4 <= b.len() {
        if at != skip_word_at {
            sum += u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as u64;
        }
        at += 4;
    }
    if b.len() - at == 2 {
        sum += u16::from_le_bytes([b[at], b[at + 1]]) as u64;
    }
    ((sum & 0xffff_ffff) + (sum >> 32)) as u32
}

/// Parses the superblock of `version` read at byte `offset` of a member. `Ok(None)`: no MD
/// superblock there.
pub fn parse(version: MdVersion, b: &[u8], offset: u64) -> Result<Option<MdSuper>, MdError> {
    if le32(b, 0) != Some(MAGIC) {
        return Ok(None);
    }
    let bad = |what| Err(MdError::Bad { version, what });
    match version {
        MdVersion::V0_90 => parse_090(b),
        _ => {
            if le32(b, 4) != Some(1) {
                return bad("not a version 1 superblock");
            }
            parse_1(version, b, offset)
        }
    }
}

fn parse_1(version: MdVersion, b: &[u8], offset: u64) -> Result<Option<MdSuper>, MdError> {
    let bad = |what| Err(MdError::Bad { version, what });
    let Some(head) = get(b, 0, 256) else {
        return bad("cut short");
    };
    if le64(head, 144) != Some(offset / 512) {
        return bad("it records another position");
    }
    let max_dev = le32(head, 220).unwrap_or(u32::MAX) as usize;
    if max_dev > (SB_LEN - 256) / 2 {
        return bad("too many devices");
    }
    let Some(sb) = get(b, 0, 256 + 2 * max_dev) else {
        return bad("cut short");
    };
    if fold_sum(sb, 216) != le32(sb, 216).unwrap_or(0) {
        return bad("wrong checksum");
    }
    let uuid = get(sb, 16, 16).unwrap_or(&[0; 16]);
    let uuid = uuid
        .chunks(4)
        .map(|c| c.iter().map(|x| format!("{x:02x}")).collect::<String>())
        .collect::<Vec<_>>()
        .join(":");
    let name = get(sb, 32, 32).and_then(|n| {
        let end = n.iter().position(|&c| c == 0).unwrap_or(n.len());
        (end > 0).then(|| String::from_utf8_lossy(&n[..end]).into_owned())
    });
    let feature_map = le32(sb, 8).unwrap_or(0);
    let dev_number = le32(sb, 160).unwrap_or(u32::MAX) as usize;
    let role = (dev_number < max_dev)
        .then(|| crate::disk::bytes::le16(sb, 256 + 2 * dev_number))
        .flatten()
        .unwrap_or(0xffff);
    // Feature bit 1: this member is still being recovered.
    let recovering = feature_map & 2 != 0;
    Ok(Some(MdSuper {
        version,
        uuid,
        name,
        level: le32(sb, 72).unwrap_or(0) as i32,
        data_offset: le64(sb, 128).unwrap_or(0),
        size: le64(sb, 80).unwrap_or(0),
        clean: le64(sb, 208) == Some(u64::MAX),
        active: role < 0xfffe && !recovering,
        events: le64(sb, 200).unwrap_or(0),
    }))
}

fn parse_090(b: &[u8]) -> Result<Option<MdSuper>, MdError> {
    let version = MdVersion::V0_90;
    let bad = |what| Err(MdError::Bad { version, what });
    let Some(sb) = get(b, 0, SB_LEN) else {
        return bad("cut short");
    };
    let word = |n: usize| le32(sb, 4 * n).unwrap_or(0);
    if word(1) != 0 || word(2) != 90 {
        return bad("not version 0.90");
    }
    if fold_sum(sb, 4 * 38) != word(38) {
        return bad("wrong checksum");
    }
    let uuid = [word(5), word(13), word(14), word(15)]
        .iter()
        .map(|w| format!("{w:08x}"))
        .collect::<Vec<_>>()
        .join(":");
    // this_disk (word 992): number, major, minor, raid_disk, state (0 faulty, 1 active, 2 sync).
    let state = word(992 + 4);
    Ok(Some(MdSuper {
        version,
        uuid,
        name: None,
        level: word(7) as i32,
        data_offset: 0,
        size: word(8) as u64 * 2,
        clean: word(33) & 1 != 0,
        active: state & 1 == 0 && state & 6 == 6,
        events: (word(40) as u64) << 32 | word(39) as u64,
    }))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn put32(b: &mut [u8], at: usize, v: u32) {
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    fn put64(b: &mut [u8], at: usize, v: u64) {
        b[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }

    /// A v1.x superblock of a clean 2-disk RAID1 as mdadm writes one, at byte `offset`.
    pub(crate) fn sb1(offset: u64, data_offset: u64, size: u64) -> Vec<u8> {
        let mut b = vec![0u8; SB_LEN];
        put32(&mut b, 0, MAGIC);
        put32(&mut b, 4, 1);
        b[16..32].copy_from_slice(&[
            0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54,
            0x32, 0x10,
        ]);
        b[32..38].copy_from_slice(b"host:0");
        put32(&mut b, 72, 1);
        put64(&mut b, 80, size);
        put32(&mut b, 92, 2);
        put64(&mut b, 128, data_offset);
        put64(&mut b, 144, offset / 512);
        put32(&mut b, 160, 1);
        put64(&mut b, 200, 17);
        put64(&mut b, 208, u64::MAX);
        put32(&mut b, 220, 2);
        b[256..260].copy_from_slice(&[0, 0, 1, 0]);
        let c = fold_sum(&b[..260], 216);
        put32(&mut b, 216, c);
        b
    }

    fn sb090(size_kb: u32) -> Vec<u8> {
        let mut b = vec![0u8; SB_LEN];
        put32(&mut b, 0, MAGIC);
        put32(&mut b, 8, 90);
        put32(&mut b, 20, 0xdeadbeef);
        put32(&mut b, 52, 0x01234567);
        put32(&mut b, 56, 0x89abcdef);
        put32(&mut b, 60, 0x0badf00d);
        put32(&mut b, 28, 1);
        put32(&mut b, 32, size_kb);
        put32(&mut b, 4 * 33, 1);
        put32(&mut b, 4 * 39, 5);
        put32(&mut b, 4 * 996, 6);
        let c = fold_sum(&b, 4 * 38);
        put32(&mut b, 4 * 38, c);
        b
    }

    #[test]
    fn v1_2_member() {
        let b = sb1(4096, 2048, 100_000);
        let s = parse(MdVersion::V1_2, &b, 4096).unwrap().unwrap();
        assert_eq!(s.uuid, "01234567:89abcdef:fedcba98:76543210");
        assert_eq!(s.name.as_deref(), Some("host:0"));
        assert_eq!((s.level, s.data_offset, s.size), (1, 2048, 100_000));
        assert!(s.clean && s.active);
        assert_eq!(s.events, 17);
        // Recorded at another position: refused (a v1.2 superblock seen as v1.1).
        assert!(parse(MdVersion::V1_1, &b, 0).is_err());
    }

    #[test]
    fn v0_90_member() {
        let b = sb090(51200);
        let s = parse(MdVersion::V0_90, &b, 0).unwrap().unwrap();
        assert_eq!(s.uuid, "deadbeef:01234567:89abcdef:0badf00d");
        assert_eq!((s.level, s.data_offset, s.size), (1, 0, 102_400));
        assert!(s.clean && s.active);
        assert_eq!(s.events, 5);
    }

    #[test]
    fn locations_by_size() {
        let l = locations(100 << 20);
        assert!(l.contains(&(MdVersion::V1_0, (100 << 20) - 8192)));
        assert!(l.contains(&(MdVersion::V0_90, (100 << 20) - 65536)));
        assert_eq!(
            locations(1000),
            vec![(MdVersion::V1_1, 0), (MdVersion::V1_2, 4096)]
        );
        assert_eq!(locations(0).len(), 2);
    }

    #[test]
    fn malformed_superblocks() {
        assert_eq!(parse(MdVersion::V1_2, &[0u8; 4096], 4096), Ok(None));
        assert_eq!(parse(MdVersion::V1_2, &[], 4096), Ok(None));
        let good = sb1(4096, 2048, 1000);
        for len in 0..good.len() {
            let _ = parse(MdVersion::V1_2, &good[..len], 4096);
        }
        let good090 = sb090(100);
        for len in (0..good090.len()).step_by(3) {
            let _ = parse(MdVersion::V0_90, &good090[..len], 0);
        }
        let mut b = good.clone();
        b[100] ^= 1;
        assert!(matches!(
            parse(MdVersion::V1_2, &b, 4096),
            Err(MdError::Bad {
                what: "wrong checksum",
                ..
            })
        ));
        let mut b = good090.clone();
        b[2000] ^= 1;
        assert!(parse(MdVersion::V0_90, &b, 0).is_err());
        let mut b = good.clone();
        put32(&mut b, 220, u32::MAX);
        assert!(parse(MdVersion::V1_2, &b, 4096).is_err());
        let mut b = good.clone();
        put32(&mut b, 4, 2);
        assert!(parse(MdVersion::V1_2, &b, 4096).is_err());
        // A member whose role index is out of range: not active.
        let mut b = good.clone();
        put32(&mut b, 160, 1_000_000);
        let c = fold_sum(&b[..260], 216);
        put32(&mut b, 216, c);
        assert!(!parse(MdVersion::V1_2, &b, 4096).unwrap().unwrap().active);
    }
}
