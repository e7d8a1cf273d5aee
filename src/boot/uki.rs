//! Unified kernel images (UKI, BLS Type 2): a PE/COFF EFI binary whose sections carry the
//! kernel (`.linux`), the initrd (`.initrd`), the command line (`.cmdline`), the os-release
//! (`.osrel`) and the kernel release (`.uname`). This is the sans-IO reader: bytes in, sections
//! out; malformed files are errors, never panics.

/// The sections of a UKI kboot uses, as slices of the file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Uki<'a> {
    pub linux: &'a [u8],
    pub initrd: Option<&'a [u8]>,
    /// The embedded command line, trailing NULs and white space removed.
    pub cmdline: Option<String>,
    pub osrel: Option<String>,
    pub uname: Option<String>,
}

impl Uki<'_> {
    /// The title for a menu: `.osrel`'s PRETTY_NAME (else NAME VERSION), with `.uname`.
    pub fn title(&self) -> Option<String> {
        let os = crate::config::os_release::parse(self.osrel.as_deref()?);
        let name = os.display_name()?;
        Some(match &self.uname {
            Some(u) => format!("{name} ({u})"),
            None => name,
        })
    }
}

/// Why a file is not a UKI kboot can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UkiError {
    #[error("not a PE file (no MZ header)")]
    NotPe,
    #[error("the PE header is cut short or points outside the file")]
    Truncated,
    #[error("the PE signature is missing")]
    NoPeSignature,
    #[error("section {0} points outside the file")]
    SectionOutside(String),
    #[error("not a unified kernel image: it has no .linux section")]
    NoLinux,
}

/// One section header: name, and the file range of its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub offset: usize,
    pub len: usize,
}

fn u16le(b: &[u8], at: usize) -> Result<u16, UkiError> {
    let s = b.get(at..at + 2).ok_or(UkiError::Truncated)?;
    Ok(u16::from_le_bytes([s[0], s[1]]))
}

fn u32le(b: &[u8], at: usize) -> Result<u32, UkiError> {
    let s = b.get(at..at + 4).ok_or(UkiError::Truncated)?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// The section table of a PE file. A section's data is its raw data cut to its virtual size
/// (the raw data is padded to the file alignment; systemd's stub reads VirtualSize bytes).
pub fn sections(file: &[u8]) -> Result<Vec<Section>, UkiError> {
    section_table(file, file.len() as u64)
}

/// How much of a file's start [`section_table`] needs in practice (the headers of systemd's
/// stub and of ukify's output are under 4 KiB).
pub const HEAD: usize = 64 * 1024;

/// The section table from the start of a PE file (`head`, which must hold the headers), the
/// whole file being `file_len` bytes: a UKI on a disk is recognised and titled without reading
/// its kernel and initrd.
pub fn section_table(head: &[u8], file_len: u64) -> Result<Vec<Section>, UkiError> {
    if head.get(..2) != Some(b"MZ") {
        return Err(UkiError::NotPe);
    }
    let pe = u32le(head, 0x3C)? as usize;
    if head.get(pe..pe.checked_add(4).ok_or(UkiError::Truncated)?) != Some(b"PE\0\0") {
        return Err(UkiError::NoPeSignature);
    }
    let coff = pe + 4;
    let count = usize::from(u16le(head, coff + 2)?);
    let optional = usize::from(u16le(head, coff + 16)?);
    let table = coff + 20 + optional;
    let mut out = Vec::with_capacity(count.min(head.len() / 40));
    for i in 0..count {
        let h = table + i * 40;
        let raw = head.get(h..h + 40).ok_or(UkiError::Truncated)?;
        let name_bytes = &raw[..8];
        let end = name_bytes.iter().position(|b| *b == 0).unwrap_or(8);
        let name = String::from_utf8_lossy(&name_bytes[..end]).into_owned();
        let virtual_size = u32le(raw, 8)? as usize;
        let raw_size = u32le(raw, 16)? as usize;
        let offset = u32le(raw, 20)? as usize;
        let len = if virtual_size > 0 {
            virtual_size.min(raw_size)
        } else {
            raw_size
        };
        if offset.checked_add(len).is_none_or(|e| e as u64 > file_len) {
            return Err(UkiError::SectionOutside(name));
        }
        out.push(Section { name, offset, len });
    }
    Ok(out)
}

/// Whether a file is a UKI: a PE file with a `.linux` section. (An x86 bzImage is a PE file
/// too, with an EFI stub, but it has no `.linux` section.)
pub fn is_uki(head: &[u8], file_len: u64) -> bool {
    section_table(head, file_len).is_ok_and(|s| s.iter().any(|s| s.name == ".linux"))
}

/// What a menu shows of a UKI on a disk, from its section table and the small sections read
/// through `read(offset, len)`: its title (from `.osrel` and `.uname`) and its embedded
/// command line. `None`: not a UKI.
pub fn describe(
    head: &[u8],
    file_len: u64,
    read: &mut dyn FnMut(usize, usize) -> Option<Vec<u8>>,
) -> Option<Described> {
    const SMALL: usize = 64 * 1024;
    let sections = section_table(head, file_len).ok()?;
    if !sections.iter().any(|s| s.name == ".linux") {
        return None;
    }
    let mut get = |name: &str| {
        let s = sections.iter().find(|s| s.name == name)?;
        (s.len <= SMALL).then_some(())?;
        read(s.offset, s.len).map(|b| text(&b))
    };
    let uki = Uki {
        osrel: get(".osrel"),
        uname: get(".uname"),
        cmdline: get(".cmdline"),
        ..Uki::default()
    };
    Some(Described {
        title: uki.title(),
        cmdline: uki.cmdline.clone(),
    })
}

/// A UKI as [`describe`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    pub title: Option<String>,
    pub cmdline: Option<String>,
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .trim_end_matches('\0')
        .trim()
        .to_string()
}

/// Split a UKI into the parts kboot boots.
pub fn parse(file: &[u8]) -> Result<Uki<'_>, UkiError> {
    let mut uki = Uki::default();
    let mut linux = None;
    for s in sections(file)? {
        let data = &file[s.offset..s.offset + s.len];
        match s.name.as_str() {
            ".linux" => linux = Some(data),
            ".initrd" => uki.initrd = Some(data),
            ".cmdline" => uki.cmdline = Some(text(data)),
            ".osrel" => uki.osrel = Some(text(data)),
            ".uname" => uki.uname = Some(text(data)),
            _ => {}
        }
    }
    uki.linux = linux.ok_or(UkiError::NoLinux)?;
    Ok(uki)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal PE file with the given sections (name, data), as objcopy --add-section lays
    /// them out: headers, then each section's data padded to 512 bytes.
    pub fn pe(sections: &[(&str, &[u8])]) -> Vec<u8> {
        let mut f = vec![0u8; 0x80];
        f[..2].copy_from_slice(b"MZ");
        f[0x3C..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        f.extend_from_slice(b"PE\0\0");
        let mut coff = [0u8; 20];
        coff[..2].copy_from_slice(&0x8664u16.to_le_bytes());
        coff[2..4].copy_from_slice(&(sections.len() as u16).to_le_bytes());
        coff[16..18].copy_from_slice(&0xF0u16.to_le_bytes());
        f.extend_from_slice(&coff);
        f.extend_from_slice(&[0u8; 0xF0]);
        let table = f.len();
        f.resize(table + 40 * sections.len(), 0);
        let mut data_at = f.len().div_ceil(512) * 512;
        for (i, (name, data)) in sections.iter().enumerate() {
            let h = table + 40 * i;
            f[h..h + name.len()].copy_from_slice(name.as_bytes());
            f[h + 8..h + 12].copy_from_slice(&(data.len() as u32).to_le_bytes());
            let raw = data.len().div_ceil(512) * 512;
            f[h + 16..h + 20].copy_from_slice(&(raw as u32).to_le_bytes());
            f[h + 20..h + 24].copy_from_slice(&(data_at as u32).to_le_bytes());
            f.resize(data_at + raw, 0);
            f[data_at..data_at + data.len()].copy_from_slice(data);
            data_at += raw;
        }
        f
    }

    #[test]
    fn a_uki_is_split_into_its_sections() {
        let file = pe(&[
            (
                ".osrel",
                b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
            ),
            (".cmdline", b"root=/dev/vda1 quiet\n\0"),
            (".uname", b"6.1.0-18-amd64"),
            (".linux", b"KERNEL"),
            (".initrd", b"INITRD"),
        ]);
        let uki = parse(&file).unwrap();
        assert_eq!(uki.linux, b"KERNEL");
        assert_eq!(uki.initrd, Some(&b"INITRD"[..]));
        assert_eq!(uki.cmdline.as_deref(), Some("root=/dev/vda1 quiet"));
        assert_eq!(
            uki.title().as_deref(),
            Some("Debian GNU/Linux 12 (bookworm) (6.1.0-18-amd64)")
        );
    }

    #[test]
    fn malformed_files_are_errors() {
        assert_eq!(parse(b""), Err(UkiError::NotPe));
        assert_eq!(parse(b"MZ"), Err(UkiError::Truncated));
        let good = pe(&[(".linux", b"K")]);
        let mut no_sig = good.clone();
        no_sig[0x80] = b'X';
        assert_eq!(parse(&no_sig), Err(UkiError::NoPeSignature));
        assert_eq!(parse(&pe(&[(".text", b"x")])), Err(UkiError::NoLinux));
        let mut outside = good.clone();
        let table = 0x80 + 4 + 20 + 0xF0;
        outside[table + 20..table + 24].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(parse(&outside), Err(UkiError::SectionOutside(_))));
        let mut lfanew = good.clone();
        lfanew[0x3C..0x40].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(parse(&lfanew).is_err());
        for n in 0..good.len() {
            let _ = parse(&good[..n]);
            let _ = section_table(&good[..n], good.len() as u64);
        }
        // A huge section count: the table runs out of the file.
        let mut huge = good.clone();
        huge[0x80 + 6..0x80 + 8].copy_from_slice(&u16::MAX.to_le_bytes());
        assert_eq!(parse(&huge), Err(UkiError::Truncated));
        // Overlapping sections are read as they are (each within the file).
        let two = pe(&[(".linux", b"K"), (".initrd", b"I")]);
        let mut overlap = two.clone();
        let first = overlap[table + 20..table + 24].to_vec();
        overlap[table + 60..table + 64].copy_from_slice(&first);
        assert_eq!(parse(&overlap).unwrap().initrd, Some(&b"K"[..]));
        // An offset that overflows.
        let mut wrap = good.clone();
        wrap[table + 16..table + 20].copy_from_slice(&u32::MAX.to_le_bytes());
        wrap[table + 8..table + 12].copy_from_slice(&0u32.to_le_bytes());
        wrap[table + 20..table + 24].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(parse(&wrap), Err(UkiError::SectionOutside(_))));
    }

    #[test]
    fn a_uki_on_a_disk_is_described_from_its_head() {
        let file = pe(&[
            (
                ".osrel",
                b"NAME=Debian\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
            ),
            (".uname", b"6.1.0-18-amd64\n"),
            (".cmdline", b"root=/dev/vda2\0"),
            (".linux", b"KERNEL"),
        ]);
        let head = &file[..1024];
        assert!(is_uki(head, file.len() as u64));
        let mut read = |at: usize, len: usize| file.get(at..at + len).map(<[u8]>::to_vec);
        let d = describe(head, file.len() as u64, &mut read).unwrap();
        assert_eq!(
            d.title.as_deref(),
            Some("Debian GNU/Linux 12 (bookworm) (6.1.0-18-amd64)")
        );
        assert_eq!(d.cmdline.as_deref(), Some("root=/dev/vda2"));
        // A bzImage-like PE (sections, no .linux) is not a UKI.
        let bz = pe(&[(".setup", b"S"), (".text", b"T")]);
        assert!(!is_uki(&bz, bz.len() as u64));
        assert_eq!(describe(&bz, bz.len() as u64, &mut read), None);
        // A section table pointing past the real file length.
        assert!(!is_uki(head, 600));
    }
}
