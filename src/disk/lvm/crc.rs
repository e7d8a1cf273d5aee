//! LVM2's checksum: CRC-32 with the usual reflected polynomial (0xEDB88320), started from
//! 0xF597A6CF and not inverted at the end (lvm2's `calc_crc`).

/// The starting value lvm2 uses for labels, metadata area headers and metadata text.
pub const INITIAL_CRC: u32 = 0xf597_a6cf;

const fn table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static TABLE: [u32; 256] = table();

/// Continues the checksum `crc` over `data`.
pub fn calc_crc(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        crc = TABLE[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}
