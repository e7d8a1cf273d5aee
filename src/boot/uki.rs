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
    if file.get(..2) != Some(b"MZ") {
        return Err(UkiError::NotPe);
    }
    let pe = u32le(file, 0x3C)? as usize;
    if file.get(pe..pe.checked_add(4).ok_or(UkiError::Truncated)?) != Some(b"PE\0\0") {
        return Err(UkiError::NoPeSignature);
    }
    let coff = pe + 4;
    let count = usize::from(u16le(file, coff + 2)?);
    let optional = usize::from(u16le(file, coff + 16)?);
    let table = coff + 20 + optional;
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let h = table + i * 40;
        let raw = file.get(h..h + 40).ok_or(UkiError::Truncated)?;
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
        if offset.checked_add(len).is_none_or(|e| e > file.len()) {
            return Err(UkiError::SectionOutside(name));
        }
        out.push(Section { name, offset, len });
    }
    Ok(out)
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
        }
    }
}
