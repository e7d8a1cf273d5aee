//! What a kernel file's headers say, sans-IO: whether a kernel is kboot's own image (the
//! version string of an x86 bzImage; the `Linux version` banner inside an arm64 or RISC-V
//! `Image`, also one unpacked from EFI zboot or gzip), to know it when a DHCP server hands it
//! back as boot file, and whether a PE image (an EFI-stub kernel) carries an Authenticode
//! signature (to say why lockdown refused it).

/// The version string an x86 bzImage carries in its setup header (boot protocol 2.00+:
/// `kernel_version` at 0x20E points to a NUL-terminated string 0x200 bytes further), e.g.
/// `6.1.0-57-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3`.
/// `None` for anything else (no `HdrS`, an old protocol, a pointer outside `b`, no NUL within
/// 512 bytes, bytes that are not printable ASCII).
pub fn bzimage_version(b: &[u8]) -> Option<&str> {
    if b.get(0x202..0x206)? != b"HdrS" {
        return None;
    }
    let protocol = u16::from_le_bytes(b.get(0x206..0x208)?.try_into().ok()?);
    let ptr = u16::from_le_bytes(b.get(0x20e..0x210)?.try_into().ok()?);
    if protocol < 0x0200 || ptr == 0 {
        return None;
    }
    let start = usize::from(ptr) + 0x200;
    let rest = b.get(start..)?;
    let rest = &rest[..rest.len().min(512)];
    let len = rest.iter().position(|&c| c == 0)?;
    let s = std::str::from_utf8(&rest[..len]).ok()?;
    (!s.is_empty() && s.bytes().all(|c| (0x20..0x7f).contains(&c))).then_some(s)
}

/// `/proc/version` (`Linux version R (B) (compiler...) V`) cut to what a bzImage header holds:
/// `R (B) V`. `None` when the text does not have that shape.
pub fn running_version(proc_version: &str) -> Option<String> {
    let rest = proc_version.trim().strip_prefix("Linux version ")?;
    let (release, rest) = rest.split_once(" (")?;
    let (builder, _) = rest.split_once(") ")?;
    let hash = rest.rfind(") #")?;
    let uts = &rest[hash + 2..];
    Some(format!("{release} ({builder}) {uts}"))
}

/// True when `image` is the very kernel build kboot runs on. A DHCP server that gives kboot
/// the boot file it gave the firmware hands kboot itself; booting it would only start kboot
/// again, so discovery refuses it and says why.
/// - An x86 bzImage: its header's version string is the running kernel's (release, builder,
///   build number and time: each relink of kboot's payload gets a new `#N` and time).
/// - An arm64 or RISC-V `Image` has no version in its header, but is not compressed: the
///   kernel's banner (`linux_banner`, the text `/proc/version` prints, from `Linux version`
///   to the build time) lies in it as it is. kboot's own arm64 payload (`kboot.Image`, 11 MB)
///   is searched in a few milliseconds ([`memchr::memmem`]).
/// - An EFI zboot or gzip Image is unpacked first ([`crate::boot::zboot::unpack`]); one that
///   cannot be unpacked is not kboot (its boot then fails with the unpacking's own sentence).
///
/// `image` must hold the whole Image on arm64 ([`own_image_check_len`] says how much).
pub fn is_running_kernel(image: &[u8], proc_version: &str) -> bool {
    if let Some(v) = bzimage_version(image) {
        return running_version(proc_version).is_some_and(|r| v == r);
    }
    let banner = proc_version.trim_end_matches('\n');
    if !banner.starts_with("Linux version ") || running_version(banner).is_none() {
        return false;
    }
    if crate::boot::zboot::is_image(image) {
        return image_has_banner(image, banner);
    }
    match crate::boot::zboot::unpack(image) {
        Ok(Some(unpacked)) => {
            crate::boot::zboot::is_image(&unpacked) && image_has_banner(&unpacked, banner)
        }
        _ => false,
    }
}

/// The most of a kernel boot file that discovery reads to know kboot's own arm64 image.
pub const OWN_IMAGE_MAX: u64 = 64 << 20;

/// How many bytes of a kernel [`is_running_kernel`] needs, from its first 0x40 bytes: an x86
/// bzImage has its version in the header (`None`: the first bytes do), but an arm64/RISC-V
/// `Image` has its banner in `.rodata`, megabytes in (6.2 MiB of kboot's 10.5 MiB
/// `kboot.Image`), so the whole file: its header's `image_size` (which includes the bss, so
/// covers the file); an EFI zboot image up to the end of its compressed payload. `None` for
/// anything else, for an Image that does not say its size, and above [`OWN_IMAGE_MAX`]
/// (kboot's own payload is far smaller).
pub fn own_image_check_len(head: &[u8]) -> Option<u64> {
    let le32 = |at: usize| {
        Some(u64::from(u32::from_le_bytes(
            head.get(at..at + 4)?.try_into().ok()?,
        )))
    };
    let len = if crate::boot::zboot::is_image(head) {
        u64::from_le_bytes(head.get(16..24)?.try_into().ok()?)
    } else if head.starts_with(b"MZ") && head.get(4..8) == Some(b"zimg".as_slice()) {
        le32(8)?.checked_add(le32(12)?)?
    } else {
        return None;
    };
    (len > 0 && len <= OWN_IMAGE_MAX).then_some(len)
}

/// Whether the banner (as `/proc/version` prints it, without its newline) is in `image`,
/// NUL- or newline-terminated as `linux_banner` is.
fn image_has_banner(image: &[u8], banner: &str) -> bool {
    memchr::memmem::find_iter(image, banner.as_bytes())
        .any(|at| matches!(image.get(at + banner.len()), Some(b'\n' | b'\0')))
}

/// Whether a PE image (`MZ`, `PE\0\0`) has a certificate table (data directory 4, where
/// Authenticode signatures live) that is not empty. `None` when `b` is not a PE image or its
/// headers are cut short.
pub fn pe_signed(b: &[u8]) -> Option<bool> {
    if b.get(0..2)? != b"MZ" {
        return None;
    }
    let pe = u32::from_le_bytes(b.get(0x3c..0x40)?.try_into().ok()?) as usize;
    if b.get(pe..pe.checked_add(4)?)? != b"PE\0\0" {
        return None;
    }
    let opt = pe.checked_add(24)?;
    let magic = u16::from_le_bytes(b.get(opt..opt + 2)?.try_into().ok()?);
    // Data directories: after 96 bytes of PE32 or 112 of PE32+ optional header; then the
    // number of them at -4.
    let dirs = match magic {
        0x10b => opt + 96,
        0x20b => opt + 112,
        _ => return None,
    };
    let count = u32::from_le_bytes(b.get(dirs - 4..dirs)?.try_into().ok()?);
    if count <= 4 {
        return Some(false);
    }
    let entry = dirs + 4 * 8;
    let size = u32::from_le_bytes(b.get(entry + 4..entry + 8)?.try_into().ok()?);
    Some(size > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROC: &str = "Linux version 6.1.192-kboot (root@vm) (gcc (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #10 Sun Dec  6 13:05:05 UTC 2026\n";

    /// A bzImage head with `version` where the header points.
    fn bzimage(version: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; 0x400];
        b[0x202..0x206].copy_from_slice(b"HdrS");
        b[0x206..0x208].copy_from_slice(&0x020fu16.to_le_bytes());
        b[0x20e..0x210].copy_from_slice(&0x100u16.to_le_bytes());
        b[0x300..0x300 + version.len()].copy_from_slice(version);
        b
    }

    #[test]
    fn the_version_string_of_a_bzimage() {
        let b = bzimage(b"6.1.192-kboot (root@vm) #10 Sun Dec  6 13:05:05 UTC 2026\0");
        assert_eq!(
            bzimage_version(&b),
            Some("6.1.192-kboot (root@vm) #10 Sun Dec  6 13:05:05 UTC 2026")
        );
    }

    #[test]
    fn malformed_headers_have_no_version() {
        assert_eq!(bzimage_version(b""), None);
        assert_eq!(bzimage_version(&[0u8; 0x300]), None);
        // No NUL, an empty string, control bytes.
        assert_eq!(bzimage_version(&bzimage(&[b'x'; 0x100])), None);
        assert_eq!(bzimage_version(&bzimage(b"\0")), None);
        assert_eq!(bzimage_version(&bzimage(b"6.1\x01\0")), None);
        // The pointer is past the end, zero, or the protocol is older than 2.00.
        let mut b = bzimage(b"6.1\0");
        b[0x20e..0x210].copy_from_slice(&0xffffu16.to_le_bytes());
        assert_eq!(bzimage_version(&b), None);
        let mut b = bzimage(b"6.1\0");
        b[0x20e..0x210].copy_from_slice(&0u16.to_le_bytes());
        assert_eq!(bzimage_version(&b), None);
        let mut b = bzimage(b"6.1\0");
        b[0x206..0x208].copy_from_slice(&0x0104u16.to_le_bytes());
        assert_eq!(bzimage_version(&b), None);
        // Cut right after the header.
        assert_eq!(bzimage_version(&bzimage(b"6.1\0")[..0x210]), None);
    }

    #[test]
    fn proc_version_is_cut_to_the_header_form() {
        assert_eq!(
            running_version(PROC).as_deref(),
            Some("6.1.192-kboot (root@vm) #10 Sun Dec  6 13:05:05 UTC 2026")
        );
        assert_eq!(running_version(""), None);
        assert_eq!(running_version("Linux version 6.1"), None);
        assert_eq!(
            running_version("Linux version 6.1 (a@b) (gcc) no-hash"),
            None
        );
    }

    #[test]
    fn kboot_knows_its_own_image_and_no_other() {
        let me = bzimage(b"6.1.192-kboot (root@vm) #10 Sun Dec  6 13:05:05 UTC 2026\0");
        assert!(is_running_kernel(&me, PROC));
        // The kernel alone (an earlier link: #1) and Debian's kernel are other images.
        let bare = bzimage(b"6.1.192-kboot (root@vm) #1 Sun Dec  6 11:41:40 UTC 2026\0");
        assert!(!is_running_kernel(&bare, PROC));
        let debian = bzimage(b"6.1.0-57-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2026-11-26)\0");
        assert!(!is_running_kernel(&debian, PROC));
        assert!(!is_running_kernel(b"MZ", PROC));
        assert!(!is_running_kernel(&me, ""));
    }

    /// An arm64 Image of `len` bytes (a header, zeros) with `banner` at `at`.
    fn arm64_image(len: usize, banner: &[u8], at: usize) -> Vec<u8> {
        let mut b = vec![0u8; len];
        b[0x38..0x3c].copy_from_slice(b"ARM\x64");
        b[at..at + banner.len()].copy_from_slice(banner);
        b
    }

    #[test]
    fn kboot_knows_its_own_arm64_image_by_its_banner() {
        let banner = PROC.as_bytes();
        let me = arm64_image(0x10000, banner, 0x8000);
        assert!(is_running_kernel(&me, PROC));
        assert!(
            is_running_kernel(&me, PROC.trim_end()),
            "without the newline"
        );
        // Another link of kboot (#11), Debian's arm64 kernel, no banner at all.
        let other = PROC.replace("#10", "#11");
        assert!(!is_running_kernel(
            &arm64_image(0x10000, other.as_bytes(), 0x8000),
            PROC
        ));
        let debian = b"Linux version 6.1.0-57-arm64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP Debian 6.1.192-3 (2026-11-26)\n";
        assert!(!is_running_kernel(
            &arm64_image(0x10000, debian, 0x8000),
            PROC
        ));
        assert!(!is_running_kernel(&arm64_image(0x10000, b"", 0), PROC));
        // The banner cut short at the end of the file, or continued by other text: not it.
        let cut = &PROC.as_bytes()[..PROC.len() - 5];
        assert!(!is_running_kernel(
            &arm64_image(0x8000 + cut.len(), cut, 0x8000),
            PROC
        ));
        let mut longer = arm64_image(0x10000, PROC.trim_end().as_bytes(), 0x8000);
        longer[0x8000 + PROC.trim_end().len()] = b'9';
        assert!(!is_running_kernel(&longer, PROC));
        // The banner at the very end of the file, NUL-terminated.
        let mut tail = arm64_image(0x9000, PROC.trim_end().as_bytes(), 0x9000 - PROC.len());
        *tail.last_mut().unwrap() = 0;
        assert!(is_running_kernel(&tail, PROC));
        // The banner in a file that is no Image (no magic): not a kernel kboot could be.
        let mut plain = me.clone();
        plain[0x38] = 0;
        assert!(!is_running_kernel(&plain, PROC));
        // /proc/version that is not one: no search at all.
        assert!(!is_running_kernel(&me, ""));
        assert!(!is_running_kernel(&me, "Linux version"));
        assert!(!is_running_kernel(&me, "\n"));
    }

    #[test]
    fn kboot_knows_its_own_arm64_image_inside_gzip_and_zboot() {
        use std::io::Write;
        let me = arm64_image(0x10000, PROC.as_bytes(), 0x8000);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&me).unwrap();
        let gz = gz.finish().unwrap();
        assert!(is_running_kernel(&gz, PROC));
        // EFI zboot: MZ, zimg, the payload's offset and size, its compression.
        let mut zboot = vec![0u8; 0x200];
        zboot[0..2].copy_from_slice(b"MZ");
        zboot[4..8].copy_from_slice(b"zimg");
        zboot[8..12].copy_from_slice(&0x200u32.to_le_bytes());
        zboot[12..16].copy_from_slice(&(gz.len() as u32).to_le_bytes());
        zboot[24..28].copy_from_slice(b"gzip");
        zboot.extend_from_slice(&gz);
        assert!(is_running_kernel(&zboot, PROC));
        assert!(!is_running_kernel(&zboot, &PROC.replace("#10", "#11")));
        // A corrupt stream is not kboot.
        let cut = &zboot[..zboot.len() - 20];
        assert!(!is_running_kernel(cut, PROC));
        let mut bad = gz.clone();
        bad[20] ^= 0xff;
        assert!(!is_running_kernel(&bad, PROC));
    }

    #[test]
    fn an_arm64_image_or_zboot_is_read_whole_for_the_check() {
        let mut image = arm64_image(0x40, b"", 0);
        assert_eq!(own_image_check_len(&image), None, "image_size 0: unknown");
        image[16..24].copy_from_slice(&(13u64 << 20).to_le_bytes());
        assert_eq!(own_image_check_len(&image), Some(13 << 20));
        image[16..24].copy_from_slice(&(OWN_IMAGE_MAX + 1).to_le_bytes());
        assert_eq!(own_image_check_len(&image), None, "too big to be kboot");
        assert_eq!(own_image_check_len(&image[..20]), None, "cut short");
        let mut zboot = vec![0u8; 0x40];
        zboot[0..2].copy_from_slice(b"MZ");
        zboot[4..8].copy_from_slice(b"zimg");
        zboot[8..12].copy_from_slice(&0x1000u32.to_le_bytes());
        zboot[12..16].copy_from_slice(&0x80_0000u32.to_le_bytes());
        assert_eq!(own_image_check_len(&zboot), Some(0x80_1000));
        zboot[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(own_image_check_len(&zboot), None);
        // A bzImage says its version in its first bytes; a PE that is no zboot is no kernel.
        assert_eq!(own_image_check_len(&bzimage(b"6.1\0")), None);
        assert_eq!(own_image_check_len(b"MZ\0\0PE"), None);
        assert_eq!(own_image_check_len(b""), None);
    }

    /// kboot's arm64 payload is 11 MB: the search must stay cheap, banner or not.
    #[test]
    fn the_arm64_banner_search_is_cheap_on_11_mb() {
        let len = 11 << 20;
        // Text-like filler full of near misses ("Linux version 6." without the rest).
        let mut me = arm64_image(len, b"", 0);
        for (i, chunk) in me[0x40..].chunks_mut(64).enumerate() {
            let n = chunk.len().min(16);
            chunk[..n].copy_from_slice(&b"Linux version 6."[..n]);
            chunk[n..].fill(b'a' + (i % 26) as u8);
        }
        let at = len - 0x10000;
        me[at..at + PROC.len()].copy_from_slice(PROC.as_bytes());
        let start = std::time::Instant::now();
        assert!(is_running_kernel(&me, PROC));
        assert!(!is_running_kernel(&me, &PROC.replace("#10", "#11")));
        let took = start.elapsed();
        eprintln!("two searches of 11 MiB: {took:?}");
        assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    }

    /// A PE32+ head whose certificate table has `size` bytes.
    fn pe(size: u32, dirs: u32) -> Vec<u8> {
        let mut b = vec![0u8; 0x200];
        b[0..2].copy_from_slice(b"MZ");
        b[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        b[0x80..0x84].copy_from_slice(b"PE\0\0");
        let opt = 0x80 + 24;
        b[opt..opt + 2].copy_from_slice(&0x20bu16.to_le_bytes());
        b[opt + 108..opt + 112].copy_from_slice(&dirs.to_le_bytes());
        let entry = opt + 112 + 32;
        b[entry..entry + 4].copy_from_slice(&0x1000u32.to_le_bytes());
        b[entry + 4..entry + 8].copy_from_slice(&size.to_le_bytes());
        b
    }

    #[test]
    fn pe_signatures() {
        assert_eq!(pe_signed(&pe(0x2000, 16)), Some(true));
        assert_eq!(pe_signed(&pe(0, 16)), Some(false));
        assert_eq!(pe_signed(&pe(0x2000, 4)), Some(false));
        assert_eq!(pe_signed(b"MZ"), None);
        assert_eq!(pe_signed(b"\x7fELF"), None);
        assert_eq!(pe_signed(&pe(0x2000, 16)[..0x100]), None);
        let mut bad = pe(1, 16);
        bad[0x3c..0x40].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(pe_signed(&bad), None);
        let mut bad = pe(1, 16);
        bad[0x80 + 24] = 0x99;
        assert_eq!(pe_signed(&bad), None);
    }
}
