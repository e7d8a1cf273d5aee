//! Compressed arm64 (and RISC-V) kernels, unpacked before `kexec_file_load`.
//!
//! Linux 6.1's kexec_file_load on arm64 takes only a plain `Image` (arch/arm64/kernel/
//! kexec_image.c checks the `ARM\x64` magic at 0x38). Distributions ship two other forms:
//! - **EFI zboot** (`vmlinuz.efi`, CONFIG_EFI_ZBOOT: Fedora, Ubuntu 24.04+, Debian 13): a small
//!   PE/EFI application that carries the compressed Image. Its DOS header says where
//!   (drivers/firmware/efi/libstub/zboot-header.S): `MZ` at 0, `zimg` at 4, the payload's
//!   offset (u32 LE) at 8 and size at 12, the compression's name (NUL-terminated: `gzip`,
//!   `zstd22`, `xzkern`, `lzma`, `lz4`, `lzo`) at 24.
//! - **a gzip-compressed Image** (`vmlinuz` of Ubuntu before 24.04 and of many boards).
//!
//! [`unpack`] is the parser (bytes in, the plain Image out); [`prepare`] is its thin I/O shell
//! over the memfd a kernel was fetched into. x86 bzImages and plain Images pass untouched.
//! Unpacking drops the zboot's outer PE signature: a kernel that must pass signature checks in
//! kexec_file_load has to be a signed plain Image.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

use crate::boot::initrd::{Compression, DecodeError};

/// Bytes enough to tell the format ([`detect`]).
pub const HEADER_LEN: usize = 0x40;
/// No kernel Image is this big: unpacking stops here (a corrupt or hostile stream cannot fill
/// the memory PID 1 lives in).
pub const MAX_IMAGE: u64 = 256 << 20;

/// What the first bytes of a kernel say it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// Something kexec_file_load takes as it is (an arm64/RISC-V Image, an x86 bzImage,
    /// anything else the running kernel judges itself).
    AsIs,
    /// An EFI zboot image: `len` bytes of `compression` at `offset`.
    Zboot {
        offset: u64,
        len: u64,
        compression: String,
    },
    /// A gzip stream (a `vmlinuz` that is a gzipped Image).
    Gzip,
}

/// Why a compressed kernel could not be unpacked. One sentence each, saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum ZbootError {
    #[error("the kernel is an EFI zboot image whose compressed payload ({len} bytes at offset {offset}) does not fit in its {file_len} bytes: the file is truncated or corrupt; download it again")]
    PayloadOutside {
        offset: u64,
        len: u64,
        file_len: u64,
    },
    #[error("the kernel is an EFI zboot image compressed with {0:?}, which kboot cannot unpack (it reads gzip, zstd, xz and lzma): use the kernel's plain Image or a gzip or zstd build")]
    UnknownCompression(String),
    #[error("the kernel's {what} data could not be unpacked ({detail}): the file is corrupt; download it again")]
    Corrupt { what: &'static str, detail: String },
    #[error("the kernel unpacks to more than {} MiB: this is not a kernel Image; check the kernel URL", MAX_IMAGE >> 20)]
    TooBig,
    #[error("the kernel unpacked from its {what} wrapper is not a Linux Image (no ARM64 or RISC-V magic): check the kernel URL")]
    NotAnImage { what: &'static str },
    #[error("reading or writing the kernel in memory failed: {0}")]
    Io(#[from] io::Error),
}

/// The format of a kernel from its first bytes ([`HEADER_LEN`] are enough).
pub fn detect(header: &[u8]) -> Format {
    let le32 = |at: usize| {
        header
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64)
    };
    if header.starts_with(b"MZ") && header.get(4..8) == Some(b"zimg".as_slice()) {
        if let (Some(offset), Some(len)) = (le32(8), le32(12)) {
            let name = header.get(24..HEADER_LEN.min(header.len())).unwrap_or(&[]);
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            return Format::Zboot {
                offset,
                len,
                compression: String::from_utf8_lossy(name).into_owned(),
            };
        }
    }
    if header.starts_with(&[0x1f, 0x8b]) {
        return Format::Gzip;
    }
    Format::AsIs
}

/// True when `b` starts like a Linux `Image` (arm64's `ARM\x64` or RISC-V's `RSC\x05` at 0x38).
pub fn is_image(b: &[u8]) -> bool {
    matches!(b.get(0x38..0x3c), Some(m) if m == b"ARM\x64" || m == b"RSC\x05")
}

/// The plain Image inside `kernel`, or `None` when `kernel` is to be loaded as it is.
pub fn unpack(kernel: &[u8]) -> Result<Option<Vec<u8>>, ZbootError> {
    unpack_capped(kernel, MAX_IMAGE)
}

/// [`unpack`] with the largest Image allowed.
fn unpack_capped(kernel: &[u8], cap: u64) -> Result<Option<Vec<u8>>, ZbootError> {
    let (what, compression, data) = match detect(kernel) {
        Format::AsIs => return Ok(None),
        Format::Gzip => ("gzip", Compression::Gzip, kernel),
        Format::Zboot {
            offset,
            len,
            compression,
        } => {
            let file_len = kernel.len() as u64;
            let data = offset
                .checked_add(len)
                .filter(|&end| end <= file_len && len > 0)
                .map(|end| &kernel[offset as usize..end as usize])
                .ok_or(ZbootError::PayloadOutside {
                    offset,
                    len,
                    file_len,
                })?;
            let c = match compression.as_str() {
                "gzip" => Compression::Gzip,
                "zstd22" | "zstd" => Compression::Zstd,
                "xzkern" | "xz" => Compression::Xz,
                "lzma" => Compression::Lzma,
                _ => return Err(ZbootError::UnknownCompression(compression)),
            };
            ("EFI zboot", c, data)
        }
    };
    let mut out = Capped {
        buf: Vec::new(),
        cap,
        over: false,
    };
    let mut input = data;
    let decoded = match compression {
        Compression::Lzma => {
            lzma_rs::lzma_decompress(&mut input, &mut out).map_err(|e| e.to_string())
        }
        c => match c.decode(&mut input, &mut out) {
            // An xz stream followed by padding is still a complete kernel.
            Ok(()) | Err(DecodeError::DataAfterXz) => Ok(()),
            Err(e) => Err(e.to_string()),
        },
    };
    if out.over {
        return Err(ZbootError::TooBig);
    }
    if let Err(detail) = decoded {
        return Err(ZbootError::Corrupt { what, detail });
    }
    let image = out.buf;
    if !is_image(&image) {
        return Err(ZbootError::NotAnImage { what });
    }
    Ok(Some(image))
}

/// A `Vec` that refuses to grow past its cap (and remembers that it did: the
/// decompressors turn the write error into their own).
struct Capped {
    buf: Vec<u8>,
    cap: u64,
    over: bool,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.buf.len() as u64 + buf.len() as u64 > self.cap {
            self.over = true;
            return Err(io::Error::other("the kernel is too big"));
        }
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The kernel to hand to kexec_file_load: `kernel` itself when it is loadable as it is, else
/// a new memfd holding the Image unpacked from it (the compressed one is dropped).
pub fn prepare(mut kernel: File) -> Result<File, ZbootError> {
    let mut header = [0u8; HEADER_LEN];
    let n = kernel.read_at(&mut header, 0)?;
    if detect(&header[..n]) == Format::AsIs {
        return Ok(kernel);
    }
    let mut bytes = Vec::new();
    kernel.seek(SeekFrom::Start(0))?;
    kernel.read_to_end(&mut bytes)?;
    drop(kernel);
    let Some(image) = unpack(&bytes)? else {
        unreachable!("detect said it was compressed");
    };
    drop(bytes);
    let mut out = crate::fetch::memfd("kernel-image")?;
    out.write_all(&image)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake arm64 Image: the magic at 0x38 and some body.
    fn image(len: usize) -> Vec<u8> {
        let mut b: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        b[0x38..0x3c].copy_from_slice(b"ARM\x64");
        b
    }

    fn gzip(b: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }

    /// An EFI zboot image as zboot-header.S lays it out: the header, padding, the payload,
    /// then (as the real one has) the stub's code after it.
    pub(crate) fn zboot(payload: &[u8], comp: &str) -> Vec<u8> {
        let mut b = vec![0u8; 0x200];
        b[0..2].copy_from_slice(b"MZ");
        b[4..8].copy_from_slice(b"zimg");
        b[8..12].copy_from_slice(&0x200u32.to_le_bytes());
        b[12..16].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        b[24..24 + comp.len()].copy_from_slice(comp.as_bytes());
        b[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
        b.extend_from_slice(payload);
        b.extend_from_slice(&[0xaa; 100]);
        b
    }

    #[test]
    fn plain_image_and_bzimage_pass_as_they_are() {
        assert_eq!(detect(&image(0x1000)), Format::AsIs);
        assert!(unpack(&image(0x1000)).unwrap().is_none());
        let mut bz = vec![0u8; 0x300];
        bz[0..2].copy_from_slice(b"MZ");
        bz[0x202..0x206].copy_from_slice(b"HdrS");
        assert!(unpack(&bz).unwrap().is_none());
        assert!(unpack(&[]).unwrap().is_none());
    }

    #[test]
    fn gzip_image_unpacks() {
        let img = image(100_000);
        assert_eq!(detect(&gzip(&img)), Format::Gzip);
        assert_eq!(unpack(&gzip(&img)).unwrap().unwrap(), img);
    }

    #[test]
    fn zboot_gzip_zstd_xz_lzma_unpack() {
        let img = image(70_000);
        let mut xz = Vec::new();
        lzma_rs::xz_compress(&mut &img[..], &mut xz).unwrap();
        let mut lzma = Vec::new();
        lzma_rs::lzma_compress(&mut &img[..], &mut lzma).unwrap();
        let zst = ruzstd::encoding::compress_to_vec(
            &img[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        for (comp, payload) in [
            ("gzip", gzip(&img)),
            ("zstd22", zst),
            ("xzkern", xz),
            ("lzma", lzma),
        ] {
            let z = zboot(&payload, comp);
            assert_eq!(
                detect(&z),
                Format::Zboot {
                    offset: 0x200,
                    len: payload.len() as u64,
                    compression: comp.into()
                }
            );
            assert_eq!(unpack(&z).unwrap().unwrap(), img, "{comp}");
        }
    }

    #[test]
    fn zboot_with_unknown_compression_is_refused_by_name() {
        let e = unpack(&zboot(b"whatever", "lz4")).unwrap_err();
        assert!(
            matches!(&e, ZbootError::UnknownCompression(c) if c == "lz4"),
            "{e}"
        );
        assert!(e.to_string().contains("\"lz4\""), "{e}");
    }

    #[test]
    fn truncated_zboot_is_refused() {
        let z = zboot(&gzip(&image(5000)), "gzip");
        // Cut inside the payload: the header's size no longer fits.
        let cut = &z[..0x200 + 10];
        assert!(matches!(
            unpack(cut).unwrap_err(),
            ZbootError::PayloadOutside { offset: 0x200, .. }
        ));
        // Offsets that overflow or point past the end.
        let mut bad = z.clone();
        bad[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        bad[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            unpack(&bad).unwrap_err(),
            ZbootError::PayloadOutside { .. }
        ));
        // Zero length.
        let mut empty = z.clone();
        empty[12..16].copy_from_slice(&0u32.to_le_bytes());
        assert!(matches!(
            unpack(&empty).unwrap_err(),
            ZbootError::PayloadOutside { .. }
        ));
        // A header shorter than its fields: not a zboot at all.
        assert_eq!(detect(b"MZ\0\0zimg\0\0"), Format::AsIs);
    }

    #[test]
    fn corrupt_streams_are_refused() {
        let mut g = gzip(&image(50_000));
        let mid = g.len() / 2;
        for b in &mut g[mid..mid + 64] {
            *b ^= 0x5a;
        }
        assert!(matches!(
            unpack(&g).unwrap_err(),
            ZbootError::Corrupt { what: "gzip", .. }
        ));
        let z = zboot(&[0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3], "zstd22");
        assert!(matches!(
            unpack(&z).unwrap_err(),
            ZbootError::Corrupt {
                what: "EFI zboot",
                ..
            }
        ));
    }

    #[test]
    fn wrapped_non_image_is_refused() {
        let e = unpack(&gzip(b"hello, not a kernel")).unwrap_err();
        assert!(matches!(e, ZbootError::NotAnImage { what: "gzip" }), "{e}");
        let e = unpack(&zboot(&gzip(&[0u8; 4096]), "gzip")).unwrap_err();
        assert!(
            matches!(e, ZbootError::NotAnImage { what: "EFI zboot" }),
            "{e}"
        );
    }

    #[test]
    fn a_bomb_stops_at_the_cap() {
        // 4 MiB of zeros compress to a few KB; with a 1 MiB cap unpacking stops early.
        let mut big = image(4 << 20);
        big[0x40..].fill(0);
        let g = gzip(&big);
        assert!(g.len() < 64 << 10);
        assert!(matches!(
            unpack_capped(&g, 1 << 20).unwrap_err(),
            ZbootError::TooBig
        ));
        let z = zboot(&g, "gzip");
        assert!(matches!(
            unpack_capped(&z, 1 << 20).unwrap_err(),
            ZbootError::TooBig
        ));
        // The same under the cap unpacks.
        assert_eq!(unpack_capped(&g, 4 << 20).unwrap().unwrap(), big);
    }

    #[test]
    fn prepare_swaps_the_memfd_only_when_packed() {
        use std::io::Write as _;
        let img = image(30_000);
        let mut f = crate::fetch::memfd("t").unwrap();
        f.write_all(&zboot(&gzip(&img), "gzip")).unwrap();
        let mut out = prepare(f).unwrap();
        let mut got = Vec::new();
        out.seek(SeekFrom::Start(0)).unwrap();
        out.read_to_end(&mut got).unwrap();
        assert_eq!(got, img);
        let mut f = crate::fetch::memfd("t").unwrap();
        f.write_all(&img).unwrap();
        let mut out = prepare(f).unwrap();
        got.clear();
        out.seek(SeekFrom::Start(0)).unwrap();
        out.read_to_end(&mut got).unwrap();
        assert_eq!(got, img);
    }
}
