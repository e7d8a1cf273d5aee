//! Little-endian fields at offsets of an on-disk structure, `None` when the buffer is short.

pub fn get(b: &[u8], at: usize, len: usize) -> Option<&[u8]> {
    b.get(at..at.checked_add(len)?)
}

pub fn le16(b: &[u8], at: usize) -> Option<u16> {
    get(b, at, 2).map(|s| u16::from_le_bytes([s[0], s[1]]))
}

pub fn le32(b: &[u8], at: usize) -> Option<u32> {
    get(b, at, 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

pub fn le64(b: &[u8], at: usize) -> Option<u64> {
    let s = get(b, at, 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}
