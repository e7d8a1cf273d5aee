//! Will this kernel and initrd fit? Checked before `kexec_file_load`, so that a payload too
//! big for the machine is one clear sentence instead of a bare EINVAL, an ENOMEM, or the
//! kernel's "System is deadlocked on memory" panic (PID 1 cannot be OOM-killed).
//!
//! What Linux needs (kernel/kexec_file.c, arch/x86/kernel/kexec-bzimage64.c):
//! - segments: the kernel's `init_size` from its bzImage header (the memory it unpacks into,
//!   not its file size) or, for an arm64 `Image`, its header's `image_size` (the memory it
//!   runs in, bss included; arch/arm64/kernel/kexec_image.c), the initrd, and a little for boot parameters and purgatory. Their
//!   pages must be at most half of the machine's RAM (`sanity_check_segment_list`: EINVAL).
//! - while loading: both files read into kernel buffers (`kernel_read_file`) and the segment
//!   pages allocated and filled, all at once, next to kboot's own memfds (already in use).
//!   `qemu/bench-memory` measured that peak (docs/PERFORMANCE.md).

use std::fs::File;
use std::os::unix::fs::FileExt;

/// Room for boot parameters, the command line and purgatory.
const SMALL_SEGMENTS: u64 = 1 << 20;
/// The start of a kernel that [`init_size`] and [`arm64_image_size`] read (a bzImage's setup
/// header up to `init_size`; an arm64 Image's 64-byte header is within it).
pub const HEADER_LEN: usize = 0x264;

/// A payload that cannot be loaded, as the user should read it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MemoryError {
    #[error("this kernel and initrd take {need_mib} MiB once loaded, and Linux's kexec allows at most half of this machine's {total_mib} MiB: give the machine more RAM, or use a smaller initrd")]
    OverHalf { need_mib: u64, total_mib: u64 },
    #[error("loading this kernel and initrd needs about {need_mib} MiB of free memory and {free_mib} MiB are free: give the machine more RAM, or use a smaller initrd")]
    NotEnoughFree { need_mib: u64, free_mib: u64 },
}

/// The memory a kernel asks for while it starts (bzImage `init_size`, boot protocol >= 2.10),
/// from the start of its file; `None` when this is not a bzImage that says.
pub fn init_size(header: &[u8]) -> Option<u64> {
    let le16 = |at: usize| Some(u16::from_le_bytes(header.get(at..at + 2)?.try_into().ok()?));
    let le32 = |at: usize| Some(u32::from_le_bytes(header.get(at..at + 4)?.try_into().ok()?));
    if header.get(0x202..0x206)? != b"HdrS" || le16(0x206)? < 0x020a {
        return None;
    }
    le32(0x260).map(u64::from).filter(|&n| n > 0)
}

/// The memory an arm64 `Image` runs in (Documentation/arch/arm64/booting.rst: the
/// little-endian `image_size` at offset 16, bss included, under the magic `ARM\x64` at 0x38);
/// `None` when this is not an arm64 Image, or an old one (before Linux 3.17) that leaves it 0.
pub fn arm64_image_size(header: &[u8]) -> Option<u64> {
    if header.get(0x38..0x3c)? != b"ARM\x64" {
        return None;
    }
    let size = u64::from_le_bytes(header.get(16..24)?.try_into().ok()?);
    (size > 0).then_some(size)
}

/// The bytes the loaded segments take: the kernel's `init_size` or arm64 `image_size` (or its
/// file size when that is bigger or unknown), the initrd, and the small ones.
pub fn segments(kernel_header: &[u8], kernel_len: u64, initrd_len: u64) -> u64 {
    let kernel = init_size(kernel_header)
        .or_else(|| arm64_image_size(kernel_header))
        .map_or(kernel_len, |n| n.max(kernel_len));
    kernel
        .saturating_add(initrd_len)
        .saturating_add(SMALL_SEGMENTS)
}

/// Check a payload against the machine: `mem_total` and `mem_available` as /proc/meminfo says
/// (bytes), with the payload's memfds already counted as used.
pub fn check(
    kernel_header: &[u8],
    kernel_len: u64,
    initrd_len: u64,
    mem_total: u64,
    mem_available: u64,
) -> Result<(), MemoryError> {
    const MIB: u64 = 1 << 20;
    let seg = segments(kernel_header, kernel_len, initrd_len);
    if seg > mem_total / 2 {
        return Err(MemoryError::OverHalf {
            need_mib: seg.div_ceil(MIB),
            total_mib: mem_total / MIB,
        });
    }
    // The files read into kernel buffers, plus the segments.
    let need = seg.saturating_add(kernel_len).saturating_add(initrd_len);
    if need > mem_available {
        return Err(MemoryError::NotEnoughFree {
            need_mib: need.div_ceil(MIB),
            free_mib: mem_available / MIB,
        });
    }
    Ok(())
}

/// [`check`] for a kernel and initrd in files (memfds), against this machine's /proc/meminfo;
/// `Ok` when there is no /proc to ask (the kernel decides then).
pub fn check_files(kernel: &File, initrd: Option<&File>) -> Result<(), MemoryError> {
    let Some((total, available)) = crate::meminfo::total_and_available() else {
        return Ok(());
    };
    let mut header = [0u8; HEADER_LEN];
    let n = kernel.read_at(&mut header, 0).unwrap_or(0);
    let len = |f: &File| f.metadata().map_or(0, |m| m.len());
    check(
        &header[..n],
        len(kernel),
        initrd.map_or(0, len),
        total,
        available,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn bzimage_header(version: u16, init_size: u32) -> Vec<u8> {
        let mut h = vec![0u8; HEADER_LEN];
        h[0x202..0x206].copy_from_slice(b"HdrS");
        h[0x206..0x208].copy_from_slice(&version.to_le_bytes());
        h[0x260..0x264].copy_from_slice(&init_size.to_le_bytes());
        h
    }

    #[test]
    fn init_size_is_read_from_a_new_enough_bzimage_only() {
        assert_eq!(
            init_size(&bzimage_header(0x020f, 0x3f9_c000)),
            Some(0x3f9_c000)
        );
        assert_eq!(
            init_size(&bzimage_header(0x0209, 0x3f9_c000)),
            None,
            "too old"
        );
        assert_eq!(init_size(&bzimage_header(0x020f, 0)), None);
        let mut not = bzimage_header(0x020f, 1);
        not[0x202] = b'X';
        assert_eq!(init_size(&not), None);
        assert_eq!(init_size(&[]), None);
        assert_eq!(
            init_size(&bzimage_header(0x020f, 5)[..0x262]),
            None,
            "cut short"
        );
    }

    fn arm64_header(image_size: u64) -> Vec<u8> {
        let mut h = vec![0u8; 0x40];
        h[16..24].copy_from_slice(&image_size.to_le_bytes());
        h[0x38..0x3c].copy_from_slice(b"ARM\x64");
        h
    }

    #[test]
    fn image_size_is_read_from_an_arm64_image() {
        // Debian 12's arm64 6.1.0-57 Image: a 32 956 352 B file, image_size 0x201_0000
        // (33 619 968 B, its bss included).
        assert_eq!(
            arm64_image_size(&arm64_header(0x201_0000)),
            Some(33_619_968)
        );
        // Old Images leave it 0: unknown.
        assert_eq!(arm64_image_size(&arm64_header(0)), None);
        let mut not = arm64_header(5);
        not[0x3b] = 0;
        assert_eq!(arm64_image_size(&not), None, "no magic");
        assert_eq!(arm64_image_size(&arm64_header(5)[..0x3c]), Some(5));
        assert_eq!(
            arm64_image_size(&arm64_header(5)[..0x38]),
            None,
            "cut short"
        );
        assert_eq!(arm64_image_size(&[]), None);
        // A bzImage is not one.
        assert_eq!(arm64_image_size(&bzimage_header(0x020f, 5)), None);
    }

    #[test]
    fn an_arm64_image_counts_its_image_size_else_its_file_size() {
        // image_size bigger than the file (the bss): it counts.
        assert_eq!(
            segments(&arm64_header(40 * MIB), 30 * MIB, MIB),
            41 * MIB + SMALL_SEGMENTS
        );
        // 0 (unknown) or smaller than the file: the file size counts.
        assert_eq!(
            segments(&arm64_header(0), 30 * MIB, 0),
            30 * MIB + SMALL_SEGMENTS
        );
        assert_eq!(
            segments(&arm64_header(MIB), 30 * MIB, 0),
            30 * MIB + SMALL_SEGMENTS
        );
        // Over half of a 72 MiB machine only through image_size.
        assert!(check(&arm64_header(35 * MIB), 30 * MIB, 0, 72 * MIB, 72 * MIB).is_ok());
        assert!(matches!(
            check(&arm64_header(36 * MIB), 30 * MIB, 0, 72 * MIB, 72 * MIB),
            Err(MemoryError::OverHalf { need_mib: 37, .. })
        ));
    }

    #[test]
    fn the_measured_116_mb_payload() {
        // Debian's 6.1 kernel (7.9 MiB file, init_size 63.6 MiB) and a 102.8 MiB initrd
        // (qemu/bench-memory): 166.4 MiB of segments.
        let header = bzimage_header(0x020f, (63.6 * MIB as f64) as u32);
        let (kernel, initrd) = ((7.9 * MIB as f64) as u64, (102.8 * MIB as f64) as u64);
        let seg = segments(&header, kernel, initrd);
        assert!(seg > 166 * MIB && seg < 169 * MIB, "{}", seg / MIB);
        // Linux refuses segments over half of RAM (-m 304 gave EINVAL).
        assert!(matches!(
            check(&header, kernel, initrd, 290 * MIB, 200 * MIB),
            Err(MemoryError::OverHalf { total_mib: 290, .. })
        ));
        // Enough RAM in total, not enough free next to the memfds.
        assert!(matches!(
            check(&header, kernel, initrd, 400 * MIB, 250 * MIB),
            Err(MemoryError::NotEnoughFree { free_mib: 250, .. })
        ));
        assert_eq!(check(&header, kernel, initrd, 480 * MIB, 300 * MIB), Ok(()));
    }

    #[test]
    fn a_kernel_without_a_header_counts_its_file_size() {
        assert_eq!(segments(b"MZ", 10 * MIB, 0), 10 * MIB + SMALL_SEGMENTS);
        // init_size smaller than the file (never in practice): the file size counts.
        assert_eq!(
            segments(&bzimage_header(0x020f, 1024), 10 * MIB, MIB),
            11 * MIB + SMALL_SEGMENTS
        );
    }

    #[test]
    fn files_are_checked_against_this_machine() {
        use std::io::Write;
        let (total, _) = crate::meminfo::total_and_available().expect("/proc/meminfo");
        let mut kernel = crate::fetch::memfd("kernel").unwrap();
        kernel.write_all(&bzimage_header(0x020f, 1 << 20)).unwrap();
        assert_eq!(check_files(&kernel, None), Ok(()));
        // A sparse initrd as large as the machine: over half of it.
        let initrd = crate::fetch::memfd("initrd").unwrap();
        initrd.set_len(total).unwrap();
        assert!(matches!(
            check_files(&kernel, Some(&initrd)),
            Err(MemoryError::OverHalf { .. })
        ));
    }

    #[test]
    fn the_error_sentences_say_what_to_do() {
        let e = MemoryError::OverHalf {
            need_mib: 168,
            total_mib: 290,
        };
        assert!(e.to_string().contains("half of this machine's 290 MiB"));
        assert!(e.to_string().contains("more RAM"));
    }
}
