//! Which partition table a whole disk has, from its first sectors.

use super::bytes::get;
use super::PartTable;

/// Bytes [`partition_table`] looks at: the MBR and a GPT header on 512- or 4096-byte sectors.
pub const TABLE_PROBE_LEN: usize = 4096 + 512;

/// GPT when a GPT header (`EFI PART`) is at LBA 1 and the MBR is protective (an entry of type
/// 0xEE, as the kernel requires); otherwise MBR ("msdos") when the boot signature 0x55AA is
/// there; otherwise none. Call it for disks that have partitions: a FAT file system on a whole
/// disk also ends its first sector with 0x55AA.
pub fn partition_table(head: &[u8]) -> Option<PartTable> {
    if get(head, 510, 2)? != [0x55, 0xAA] {
        return None;
    }
    let protective = (0..4).any(|i| head.get(446 + 16 * i + 4) == Some(&0xEE));
    let gpt_header = [512, 4096]
        .iter()
        .any(|&at| get(head, at, 8) == Some(b"EFI PART"));
    Some(if protective && gpt_header {
        PartTable::Gpt
    } else {
        PartTable::Msdos
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mbr(types: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; TABLE_PROBE_LEN];
        b[510] = 0x55;
        b[511] = 0xAA;
        for (i, &t) in types.iter().enumerate() {
            b[446 + 16 * i + 4] = t;
        }
        b
    }

    #[test]
    fn gpt_mbr_and_none() {
        let mut g = mbr(&[0xEE]);
        g[512..520].copy_from_slice(b"EFI PART");
        assert_eq!(partition_table(&g), Some(PartTable::Gpt));
        // 4K sectors: the header is at 4096.
        let mut g4 = mbr(&[0xEE]);
        g4[4096..4104].copy_from_slice(b"EFI PART");
        assert_eq!(partition_table(&g4), Some(PartTable::Gpt));
        // A GPT header without a protective MBR: the kernel reads the MBR.
        let mut h = mbr(&[0x83]);
        h[512..520].copy_from_slice(b"EFI PART");
        assert_eq!(partition_table(&h), Some(PartTable::Msdos));
        assert_eq!(partition_table(&mbr(&[0x83, 0x05])), Some(PartTable::Msdos));
        assert_eq!(partition_table(&vec![0u8; 4096]), None);
    }

    #[test]
    fn short_input_never_panics() {
        let mut g = mbr(&[0xEE]);
        g[512..520].copy_from_slice(b"EFI PART");
        for len in 0..g.len() {
            let t = partition_table(&g[..len]);
            assert_eq!(t.is_some(), len >= 512);
        }
    }
}
