//! Filesystem superblocks: which filesystem a device holds, with its UUID and label as blkid
//! prints them (sans-IO: ext2/3/4, vfat, iso9660, btrfs, xfs).

use crate::disk::bytes::{get, le16, le32};
use crate::fetch::url::DeviceRef;

/// Bytes of a device [`probe`] needs: up to and including the btrfs superblock at 64 KiB.
pub const PROBE_LEN: usize = 0x10000 + 0x1000;

/// A filesystem kboot can mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsType {
    Ext,
    Vfat,
    Iso9660,
    Btrfs,
    Xfs,
}

impl FsType {
    /// Kernel filesystem names to try for this type, in order.
    pub fn kernel_names(self) -> &'static [&'static str] {
        match self {
            FsType::Ext => &["ext4", "ext3", "ext2"],
            FsType::Vfat => &["vfat"],
            FsType::Iso9660 => &["iso9660"],
            FsType::Btrfs => &["btrfs"],
            FsType::Xfs => &["xfs"],
        }
    }
}

/// What a superblock says about a filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsInfo {
    pub fstype: FsType,
    /// As blkid prints it: `8-4-4-4-12` lowercase hex, `ABCD-1234` for vfat, the creation
    /// time `YYYY-MM-DD-HH-MM-SS-cc` for iso9660.
    pub uuid: Option<String>,
    pub label: Option<String>,
}

impl FsInfo {
    /// Whether this filesystem is the one `device` names by UUID or label (UUIDs compare
    /// without regard to case).
    pub fn matches(&self, device: &DeviceRef) -> bool {
        match device {
            DeviceRef::Uuid(u) => self
                .uuid
                .as_deref()
                .is_some_and(|x| x.eq_ignore_ascii_case(u)),
            DeviceRef::Label(l) => self.label.as_deref() == Some(l.as_str()),
            DeviceRef::Name(_) => false,
        }
    }
}

/// `8-4-4-4-12` lowercase hex; `None` for an all-zero UUID.
fn uuid_string(b: &[u8]) -> Option<String> {
    if b.len() != 16 || b.iter().all(|&x| x == 0) {
        return None;
    }
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// A label up to the first NUL, trailing spaces removed; `None` when empty.
fn label_string(b: &[u8]) -> Option<String> {
    let end = b.iter().position(|&x| x == 0).unwrap_or(b.len());
    let s = String::from_utf8_lossy(&b[..end]).trim_end().to_string();
    (!s.is_empty()).then_some(s)
}

/// Reads the filesystem type, UUID and label from the first [`PROBE_LEN`] bytes of a device
/// (fewer is fine: types whose superblock lies further are then not found).
pub fn probe(head: &[u8]) -> Option<FsInfo> {
    probe_btrfs(head)
        .or_else(|| probe_xfs(head))
        .or_else(|| probe_ext(head))
        .or_else(|| probe_iso9660(head))
        .or_else(|| probe_vfat(head))
}

fn probe_ext(b: &[u8]) -> Option<FsInfo> {
    const SB: usize = 1024;
    (le16(b, SB + 56)? == 0xEF53).then_some(())?;
    Some(FsInfo {
        fstype: FsType::Ext,
        uuid: uuid_string(get(b, SB + 104, 16)?),
        label: label_string(get(b, SB + 120, 16)?),
    })
}

fn probe_btrfs(b: &[u8]) -> Option<FsInfo> {
    const SB: usize = 0x10000;
    (get(b, SB + 64, 8)? == b"_BHRfS_M").then_some(())?;
    Some(FsInfo {
        fstype: FsType::Btrfs,
        uuid: uuid_string(get(b, SB + 32, 16)?),
        label: label_string(get(b, SB + 299, 256)?),
    })
}

fn probe_xfs(b: &[u8]) -> Option<FsInfo> {
    (get(b, 0, 4)? == b"XFSB").then_some(())?;
    Some(FsInfo {
        fstype: FsType::Xfs,
        uuid: uuid_string(get(b, 32, 16)?),
        label: label_string(get(b, 108, 12)?),
    })
}

fn probe_iso9660(b: &[u8]) -> Option<FsInfo> {
    const PVD: usize = 16 * 2048;
    (get(b, PVD, 6)? == b"\x01CD001").then_some(())?;
    // blkid's UUID: the volume creation time, digits only, as YYYY-MM-DD-HH-MM-SS-cc.
    let t = get(b, PVD + 813, 16)?;
    let uuid = (t.iter().all(u8::is_ascii_digit) && t.iter().any(|&c| c != b'0')).then(|| {
        let s = String::from_utf8_lossy(t);
        format!(
            "{}-{}-{}-{}-{}-{}-{}",
            &s[..4],
            &s[4..6],
            &s[6..8],
            &s[8..10],
            &s[10..12],
            &s[12..14],
            &s[14..16]
        )
    });
    Some(FsInfo {
        fstype: FsType::Iso9660,
        uuid,
        label: label_string(get(b, PVD + 40, 32)?),
    })
}

fn probe_vfat(b: &[u8]) -> Option<FsInfo> {
    (get(b, 510, 2)? == [0x55, 0xAA]).then_some(())?;
    let bytes_per_sector = le16(b, 11)?;
    if !matches!(bytes_per_sector, 512 | 1024 | 2048 | 4096) || *b.get(13)? == 0 {
        return None;
    }
    // FAT32 keeps its extended boot record further on than FAT12/16.
    let (id_at, label_at) = if get(b, 82, 5)? == b"FAT32" {
        (67, 71)
    } else if get(b, 54, 3)? == b"FAT" {
        (39, 43)
    } else {
        return None;
    };
    let id = le32(b, id_at)?;
    let label = label_string(get(b, label_at, 11)?).filter(|l| l != "NO NAME");
    Some(FsInfo {
        fstype: FsType::Vfat,
        uuid: Some(format!("{:04X}-{:04X}", id >> 16, id & 0xffff)),
        label,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(len: usize) -> Vec<u8> {
        vec![0u8; len]
    }

    fn put(b: &mut [u8], at: usize, data: &[u8]) {
        b[at..at + data.len()].copy_from_slice(data);
    }

    const UUID: [u8; 16] = [
        0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd,
        0xef,
    ];
    const UUID_S: &str = "12345678-9abc-def0-0123-456789abcdef";

    #[test]
    fn ext4() {
        let mut b = image(4096);
        put(&mut b, 1024 + 56, &0xEF53u16.to_le_bytes());
        put(&mut b, 1024 + 104, &UUID);
        put(&mut b, 1024 + 120, b"rootfs\0\0\0\0\0\0\0\0\0\0");
        let info = probe(&b).unwrap();
        assert_eq!(info.fstype, FsType::Ext);
        assert_eq!(info.uuid.as_deref(), Some(UUID_S));
        assert_eq!(info.label.as_deref(), Some("rootfs"));
        assert!(info.matches(&DeviceRef::Uuid(UUID_S.to_uppercase())));
        assert!(info.matches(&DeviceRef::Label("rootfs".into())));
        assert!(!info.matches(&DeviceRef::Label("Rootfs".into())));
    }

    #[test]
    fn vfat_16_and_32() {
        let mut b = image(512);
        put(&mut b, 510, &[0x55, 0xAA]);
        put(&mut b, 11, &512u16.to_le_bytes());
        b[13] = 4;
        put(&mut b, 54, b"FAT16   ");
        put(&mut b, 39, &0x1234_ABCDu32.to_le_bytes());
        put(&mut b, 43, b"BOOT       ");
        let info = probe(&b).unwrap();
        assert_eq!(info.fstype, FsType::Vfat);
        assert_eq!(info.uuid.as_deref(), Some("1234-ABCD"));
        assert_eq!(info.label.as_deref(), Some("BOOT"));
        assert!(info.matches(&DeviceRef::Uuid("1234-abcd".into())));

        let mut b = image(512);
        put(&mut b, 510, &[0x55, 0xAA]);
        put(&mut b, 11, &512u16.to_le_bytes());
        b[13] = 8;
        put(&mut b, 82, b"FAT32   ");
        put(&mut b, 67, &0xDEAD_BEEFu32.to_le_bytes());
        put(&mut b, 71, b"NO NAME    ");
        let info = probe(&b).unwrap();
        assert_eq!(info.uuid.as_deref(), Some("DEAD-BEEF"));
        assert_eq!(info.label, None);
    }

    #[test]
    fn iso9660() {
        let mut b = image(40 * 1024);
        put(&mut b, 32768, b"\x01CD001\x01");
        let mut id = [b' '; 32];
        id[..9].copy_from_slice(b"DEBIAN_12");
        put(&mut b, 32768 + 40, &id);
        put(&mut b, 32768 + 813, b"2024061012345600\x00");
        let info = probe(&b).unwrap();
        assert_eq!(info.fstype, FsType::Iso9660);
        assert_eq!(info.label.as_deref(), Some("DEBIAN_12"));
        assert_eq!(info.uuid.as_deref(), Some("2024-06-10-12-34-56-00"));
    }

    #[test]
    fn btrfs_and_xfs() {
        let mut b = image(PROBE_LEN);
        put(&mut b, 0x10000 + 64, b"_BHRfS_M");
        put(&mut b, 0x10000 + 32, &UUID);
        put(&mut b, 0x10000 + 299, b"data\0");
        let info = probe(&b).unwrap();
        assert_eq!(info.fstype, FsType::Btrfs);
        assert_eq!(info.uuid.as_deref(), Some(UUID_S));
        assert_eq!(info.label.as_deref(), Some("data"));

        let mut b = image(512);
        put(&mut b, 0, b"XFSB");
        put(&mut b, 32, &UUID);
        put(&mut b, 108, b"xroot\0\0\0\0\0\0\0");
        let info = probe(&b).unwrap();
        assert_eq!(info.fstype, FsType::Xfs);
        assert_eq!(info.label.as_deref(), Some("xroot"));
    }

    #[test]
    fn junk_short_and_empty_inputs_are_not_filesystems() {
        assert_eq!(probe(&[]), None);
        assert_eq!(probe(&[0xff; 100]), None);
        assert_eq!(probe(&image(PROBE_LEN)), None);
        // A boot signature alone (an MBR) is not a FAT.
        let mut b = image(512);
        put(&mut b, 510, &[0x55, 0xAA]);
        assert_eq!(probe(&b), None);
        // Every truncation of a valid image: no panic.
        let mut b = image(PROBE_LEN);
        put(&mut b, 0x10000 + 64, b"_BHRfS_M");
        put(&mut b, 1024 + 56, &0xEF53u16.to_le_bytes());
        put(&mut b, 32768, b"\x01CD001\x01");
        for len in (0..b.len()).step_by(97) {
            let _ = probe(&b[..len]);
        }
    }
}
