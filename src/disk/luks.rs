//! LUKS headers: kboot cannot read an encrypted volume, but says what it is.

use super::bytes::get;

/// The note a LUKS volume gets.
pub const NOTE: &str =
    "LUKS-encrypted: kboot cannot read it; the target's initramfs asks for the passphrase";

/// The LUKS version (1 or 2) when `head` starts with a LUKS header (or LUKS2's secondary
/// header, magic `SKUL\xba\xbe`).
pub fn luks_version(head: &[u8]) -> Option<u16> {
    let magic = get(head, 0, 6)?;
    if magic != b"LUKS\xba\xbe" && magic != b"SKUL\xba\xbe" {
        return None;
    }
    let v = u16::from_be_bytes([*head.get(6)?, *head.get(7)?]);
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_junk() {
        assert_eq!(luks_version(b"LUKS\xba\xbe\x00\x01rest"), Some(1));
        assert_eq!(luks_version(b"LUKS\xba\xbe\x00\x02"), Some(2));
        assert_eq!(luks_version(b"SKUL\xba\xbe\x00\x02"), Some(2));
        assert_eq!(luks_version(b"LUKS\xba\xbe\x00"), None);
        assert_eq!(luks_version(b"LUKS"), None);
        assert_eq!(luks_version(b"LUKZ\xba\xbe\x00\x01"), None);
        assert_eq!(luks_version(&[]), None);
    }
}
