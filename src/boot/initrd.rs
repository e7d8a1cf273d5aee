//! Reading a target's initrd the way the kernel unpacks it: concatenated segments, each an
//! uncompressed newc cpio archive (at a 4-byte aligned offset) or a compressed stream
//! holding one or more archives, with NUL padding between segments (the kernel's
//! `unpack_to_rootfs`). Used to list what an initrd holds and to tell its initramfs family.
//!
//! Member data is skipped, never kept: memory stays bounded by the decompressors' windows,
//! whatever the size of the initrd. gzip, xz and zstd are read (the defaults of dracut and
//! initramfs-tools); bzip2, lzma, lzo and lz4 are recognised and reported as unsupported.

use std::io::{self, Write};

use crate::cmdline::flavor::Flavor;

/// How one segment is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Xz,
    Zstd,
    Bzip2,
    Lzma,
    Lzo,
    Lz4,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "uncompressed",
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
            Compression::Lzma => "lzma",
            Compression::Lzo => "lzo",
            Compression::Lz4 => "lz4",
        }
    }

    /// The compression whose magic starts `b`, if any.
    pub fn sniff(b: &[u8]) -> Option<Compression> {
        Some(match b {
            [0x1f, 0x8b | 0x9e, ..] => Compression::Gzip,
            [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => Compression::Xz,
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
            [b'B', b'Z', b'h', ..] => Compression::Bzip2,
            [0x5d, 0, 0, ..] => Compression::Lzma,
            [0x89, b'L', b'Z', b'O', ..] => Compression::Lzo,
            [0x02, 0x21, 0x4c, 0x18, ..] => Compression::Lz4,
            _ => return None,
        })
    }
}

/// Why [`Compression::decode`] stopped.
#[derive(Debug)]
pub enum DecodeError {
    /// A compression kboot recognises but has no decoder for.
    Unsupported(&'static str),
    /// An xz stream followed by more bytes: lzma-rs reads exactly one stream and then insists
    /// on the end of its input.
    DataAfterXz,
    Io(io::Error),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Unsupported(name) => write!(f, "{name} is not supported"),
            DecodeError::DataAfterXz => write!(f, "xz error: {XZ_TRAILING}"),
            DecodeError::Io(e) => e.fmt(f),
        }
    }
}

/// lzma-rs's complaint about bytes after an xz stream.
const XZ_TRAILING: &str = "Unexpected data after last XZ block";

impl Compression {
    /// Unpack the stream of this kind at the front of `input` into `out`. `input` is left at
    /// what follows the stream (gzip, zstd, and xz also when the error is
    /// [`DecodeError::DataAfterXz`]).
    pub fn decode<W: Write>(self, input: &mut &[u8], out: &mut W) -> Result<(), DecodeError> {
        match self {
            Compression::Gzip => {
                let mut dec = flate2::bufread::GzDecoder::new(&mut *input);
                io::copy(&mut dec, out).map(drop).map_err(DecodeError::Io)
            }
            Compression::Xz => match lzma_rs::xz_decompress(input, out) {
                Ok(()) => Ok(()),
                Err(lzma_rs::error::Error::XzError(m)) if m == XZ_TRAILING => {
                    Err(DecodeError::DataAfterXz)
                }
                Err(e) => Err(DecodeError::Io(io::Error::other(e.to_string()))),
            },
            Compression::Zstd => match ruzstd::decoding::StreamingDecoder::new(&mut *input) {
                Ok(mut dec) => io::copy(&mut dec, out).map(drop).map_err(DecodeError::Io),
                Err(e) => Err(DecodeError::Io(io::Error::other(e.to_string()))),
            },
            other => Err(DecodeError::Unsupported(other.name())),
        }
    }
}

/// One segment of an initrd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Where it starts in the initrd.
    pub offset: usize,
    /// How many bytes of the initrd it takes (compressed size for compressed ones).
    pub len: usize,
    pub compression: Compression,
    /// Member names in archive order, as stored (trailers left out).
    pub files: Vec<String>,
}

/// Why an initrd could not be read. One sentence each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InitrdError {
    #[error("the initrd is empty")]
    Empty,
    #[error(
        "the initrd has unknown data at offset {0}: neither a cpio archive nor a known compression"
    )]
    BadMagic(usize),
    #[error(
        "the cpio archive at offset {0} is not 4-byte aligned, so the kernel would not unpack it"
    )]
    Unaligned(usize),
    #[error("the {1} segment at offset {0} uses a compression kboot cannot read (only gzip, xz and zstd)")]
    Unsupported(usize, &'static str),
    #[error("the {1} segment at offset {0} is corrupt: {2}")]
    Decompress(usize, &'static str, String),
    #[error("the cpio data of the segment at offset {0} is malformed: {1}")]
    Cpio(usize, String),
    #[error("the segment at offset {0} ends in the middle of a cpio member")]
    Truncated(usize),
    #[error("the initrd holds more than {MAX_FILES} members or unpacks to more than 4 GiB, more than kboot reads")]
    TooBig,
}

/// Limits against decompression bombs.
const MAX_FILES: usize = if cfg!(test) { 2_000 } else { 200_000 };
const MAX_UNPACKED: u64 = 4 << 30;
const MAX_NAME: u64 = 4096;
const HEADER_LEN: usize = 110;
const TRAILER: &str = "TRAILER!!!";

/// Every segment of `bytes`, in order.
pub fn segments(bytes: &[u8]) -> Result<Vec<Segment>, InitrdError> {
    if bytes.is_empty() {
        return Err(InitrdError::Empty);
    }
    match walk(bytes, false) {
        Walk {
            error: None, segs, ..
        } => Ok(segs),
        Walk { error: Some(e), .. } => Err(e),
    }
}

/// The initramfs family that built `bytes`, from the files it holds: dracut leaves
/// `usr/lib/dracut/` (with `modules.txt`, `build-parameter.txt`), initramfs-tools leaves
/// `scripts/functions` and `conf/initramfs.conf`. Segments read before an unreadable one
/// still count. `None` when neither shows. Reading stops at the first telling file, so a
/// Debian initrd is decided within its first few hundred kilobytes.
pub fn detect_flavor(bytes: &[u8]) -> Option<Flavor> {
    let w = walk(bytes, true);
    w.found.or_else(|| {
        flavor_from_names(
            w.segs
                .iter()
                .flat_map(|s| s.files.iter().map(String::as_str)),
        )
    })
}

/// The flavour for a target: detected from its initrd, or [`Flavor::Kernel`] without one.
pub fn flavor_for(initrd: Option<&[u8]>) -> Option<Flavor> {
    match initrd {
        None => Some(Flavor::Kernel),
        Some(b) => detect_flavor(b),
    }
}

/// [`detect_flavor`] over member names.
pub fn flavor_from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<Flavor> {
    let mut tools = false;
    for name in names {
        match marker(name) {
            Some(Flavor::Dracut) => return Some(Flavor::Dracut),
            Some(_) => tools = true,
            None => {}
        }
    }
    tools.then_some(Flavor::InitramfsTools)
}

/// A file (a memfd) mapped read-only, unmapped when dropped.
pub struct Mapped {
    map: Option<(std::ptr::NonNull<std::ffi::c_void>, usize)>,
}

impl Mapped {
    /// The file's bytes.
    pub fn as_slice(&self) -> &[u8] {
        match self.map {
            // SAFETY: the mapping is `len` bytes long and lives as long as `self`.
            Some((ptr, len)) => unsafe {
                std::slice::from_raw_parts(ptr.as_ptr() as *const u8, len)
            },
            None => &[],
        }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        if let Some((ptr, len)) = self.map.take() {
            // SAFETY: unmapping what `map_file` mapped; no slice of it outlives `self`.
            let _ = unsafe { nix::sys::mman::munmap(ptr, len) };
        }
    }
}

/// Map a fetched file (a memfd) to read it without copying it. Nobody may truncate the file
/// while the mapping lives (kboot's memfds are its own).
pub fn map_file(file: &std::fs::File) -> std::io::Result<Mapped> {
    let Some(len) = std::num::NonZeroUsize::new(file.metadata()?.len() as usize) else {
        return Ok(Mapped { map: None });
    };
    // SAFETY: a private read-only mapping of our own memfd; unmapped by `Mapped`'s drop.
    let map = unsafe {
        nix::sys::mman::mmap(
            None,
            len,
            nix::sys::mman::ProtFlags::PROT_READ,
            nix::sys::mman::MapFlags::MAP_PRIVATE,
            file,
            0,
        )
    }
    .map_err(std::io::Error::from)?;
    Ok(Mapped {
        map: Some((map, len.get())),
    })
}

/// Detect the initramfs flavour of a fetched initrd (a memfd) without copying it.
pub fn flavor_of_file(file: &std::fs::File) -> Option<Flavor> {
    let mapped = map_file(file).ok()?;
    detect_flavor(mapped.as_slice())
}

/// Append a newc segment to an initrd file (a memfd), 4-byte aligned.
pub fn append_segment(file: &mut std::fs::File, segment: &[u8]) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write as _};
    let end = file.seek(SeekFrom::End(0))?;
    let pad = (4 - (end % 4) as usize) % 4;
    file.write_all(&[0u8; 3][..pad])?;
    file.write_all(segment)
}

/// The family one member name gives away, if any.
fn marker(name: &str) -> Option<Flavor> {
    {
        let mut n = name;
        loop {
            let stripped = n.trim_start_matches('/');
            let stripped = stripped.strip_prefix("./").unwrap_or(stripped);
            if stripped == n {
                break;
            }
            n = stripped;
        }
        let dracut = ["usr/lib/dracut", "lib/dracut"].iter().any(|d| {
            n.strip_prefix(d)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        });
        if dracut {
            return Some(Flavor::Dracut);
        }
        if n == "scripts/functions" || n == "conf/initramfs.conf" {
            return Some(Flavor::InitramfsTools);
        }
    }
    None
}

struct Walk {
    segs: Vec<Segment>,
    error: Option<InitrdError>,
    /// With `detect`: the family of the first telling member (the walk stopped there).
    found: Option<Flavor>,
}

/// Walk all segments; on error, the segments read so far (the failing one included, with
/// the members listed before the error) and the error. With `detect`, stop at the first
/// member that tells the initramfs family.
fn walk(bytes: &[u8], detect: bool) -> Walk {
    let (segs, error, found) = walk_inner(bytes, detect);
    Walk { segs, error, found }
}

fn walk_inner(bytes: &[u8], detect: bool) -> (Vec<Segment>, Option<InitrdError>, Option<Flavor>) {
    let mut segs = Vec::new();
    let mut pos = 0usize;
    let mut budget = Budget {
        files: 0,
        unpacked: 0,
    };
    while pos < bytes.len() {
        if bytes[pos] == 0 {
            pos += 1;
            continue;
        }
        let rest = &bytes[pos..];
        if rest[0] == b'0' {
            if !pos.is_multiple_of(4) {
                return (segs, Some(InitrdError::Unaligned(pos)), None);
            }
            let mut lister = Lister::new(true, detect, &mut budget);
            let res = lister.feed(rest);
            let files = std::mem::take(&mut lister.files);
            let end = lister.end_ok();
            let len = *res.as_ref().unwrap_or(&rest.len());
            segs.push(Segment {
                offset: pos,
                len,
                compression: Compression::None,
                files,
            });
            match res {
                Err(ListError::Found(f)) => return (segs, None, Some(f)),
                Err(e) => return (segs, Some(lister_error(pos, e)), None),
                Ok(_) => {}
            }
            if !end {
                return (segs, Some(InitrdError::Truncated(pos)), None);
            }
            pos += len.max(1);
            continue;
        }
        let Some(kind) = Compression::sniff(rest) else {
            return (segs, Some(InitrdError::BadMagic(pos)), None);
        };
        let mut cursor = rest;
        let mut lister = Lister::new(false, detect, &mut budget);
        let res: io::Result<()> = match kind.decode(&mut cursor, &mut lister) {
            // What follows an xz stream is the next segment, and the cursor stands at it.
            Ok(()) | Err(DecodeError::DataAfterXz) => Ok(()),
            Err(DecodeError::Io(e)) => Err(e),
            Err(DecodeError::Unsupported(name)) => {
                segs.push(Segment {
                    offset: pos,
                    len: rest.len(),
                    compression: kind,
                    files: Vec::new(),
                });
                return (segs, Some(InitrdError::Unsupported(pos, name)), None);
            }
        };
        let consumed = rest.len() - cursor.len();
        let end = lister.end_ok();
        let cpio_err = lister.err.take();
        let files = std::mem::take(&mut lister.files);
        segs.push(Segment {
            offset: pos,
            len: consumed,
            compression: kind,
            files,
        });
        match cpio_err {
            Some(ListError::Found(f)) => return (segs, None, Some(f)),
            Some(e) => return (segs, Some(lister_error(pos, e)), None),
            None => {}
        }
        if let Err(e) = res {
            return (
                segs,
                Some(InitrdError::Decompress(pos, kind.name(), e.to_string())),
                None,
            );
        }
        if !end {
            return (segs, Some(InitrdError::Truncated(pos)), None);
        }
        if consumed == 0 {
            return (segs, Some(InitrdError::BadMagic(pos)), None);
        }
        pos += consumed;
    }
    (segs, None, None)
}

fn lister_error(pos: usize, e: ListError) -> InitrdError {
    match e {
        ListError::TooBig => InitrdError::TooBig,
        ListError::Cpio(m) => InitrdError::Cpio(pos, m),
        // Handled by the walk; not an error.
        ListError::Found(_) => InitrdError::Cpio(pos, "stopped early".into()),
    }
}

struct Budget {
    files: usize,
    unpacked: u64,
}

#[derive(Debug)]
enum ListError {
    Cpio(String),
    TooBig,
    /// Not an error: detection found its answer and stops the walk.
    Found(Flavor),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between members or archives: NULs are skipped, anything else starts a header.
    Reset,
    Header,
    Name {
        namesize: u64,
        filesize: u64,
    },
    Skip(u64),
    /// Trailer seen and the caller asked to stop there.
    Done,
}

/// A push parser for newc cpio streams that keeps only member names.
struct Lister<'b> {
    pos: u64,
    state: State,
    buf: Vec<u8>,
    files: Vec<String>,
    stop_at_trailer: bool,
    detect: bool,
    err: Option<ListError>,
    budget: &'b mut Budget,
}

impl<'b> Lister<'b> {
    fn new(stop_at_trailer: bool, detect: bool, budget: &'b mut Budget) -> Self {
        Lister {
            pos: 0,
            state: State::Reset,
            buf: Vec::new(),
            files: Vec::new(),
            stop_at_trailer,
            detect,
            err: None,
            budget,
        }
    }

    /// True when the stream may end here (not inside a member).
    fn end_ok(&self) -> bool {
        matches!(self.state, State::Reset | State::Done)
    }

    /// Consume `data`; returns how many bytes were used (less than `data.len()` only once
    /// the trailer was reached with `stop_at_trailer`).
    fn feed(&mut self, data: &[u8]) -> Result<usize, ListError> {
        self.budget.unpacked += data.len() as u64;
        if self.budget.unpacked > MAX_UNPACKED {
            return Err(ListError::TooBig);
        }
        let mut i = 0usize;
        while i < data.len() {
            match self.state {
                State::Done => return Ok(i),
                State::Reset => {
                    if data[i] == 0 {
                        i += 1;
                        self.pos += 1;
                        continue;
                    }
                    if !self.pos.is_multiple_of(4) {
                        return Err(ListError::Cpio(format!(
                            "a header starts at unaligned offset {}",
                            self.pos
                        )));
                    }
                    self.state = State::Header;
                    self.buf.clear();
                }
                State::Header => {
                    let take = (HEADER_LEN - self.buf.len()).min(data.len() - i);
                    self.buf.extend_from_slice(&data[i..i + take]);
                    i += take;
                    self.pos += take as u64;
                    if self.buf.len() == HEADER_LEN {
                        let (namesize, filesize) = parse_header(&self.buf)?;
                        self.buf.clear();
                        self.state = State::Name { namesize, filesize };
                    }
                }
                State::Name { namesize, filesize } => {
                    let want = namesize as usize - self.buf.len();
                    let take = want.min(data.len() - i);
                    self.buf.extend_from_slice(&data[i..i + take]);
                    i += take;
                    self.pos += take as u64;
                    if self.buf.len() == namesize as usize {
                        let raw = self.buf.split(|&b| b == 0).next().unwrap_or(&[]);
                        let name = String::from_utf8_lossy(raw).into_owned();
                        self.buf.clear();
                        let trailer = name == TRAILER;
                        if !trailer {
                            self.budget.files += 1;
                            if self.budget.files > MAX_FILES {
                                return Err(ListError::TooBig);
                            }
                            let found = if self.detect { marker(&name) } else { None };
                            self.files.push(name);
                            if let Some(f) = found {
                                return Err(ListError::Found(f));
                            }
                        }
                        let pad_name = pad4(self.pos);
                        let skip = pad_name + filesize + pad4(filesize);
                        self.state = State::Skip(skip);
                        if trailer {
                            // Consume the trailer's padding, then stop or go on.
                            let take = (skip as usize).min(data.len() - i);
                            i += take;
                            self.pos += take as u64;
                            self.state = if take as u64 == skip {
                                if self.stop_at_trailer {
                                    State::Done
                                } else {
                                    State::Reset
                                }
                            } else {
                                State::Skip(skip - take as u64)
                            };
                        }
                    }
                }
                State::Skip(n) => {
                    let take = n.min((data.len() - i) as u64);
                    i += take as usize;
                    self.pos += take;
                    self.state = if take == n {
                        State::Reset
                    } else {
                        State::Skip(n - take)
                    };
                }
            }
        }
        Ok(i)
    }
}

fn pad4(n: u64) -> u64 {
    (4 - n % 4) % 4
}

fn hex_field(h: &[u8], at: usize) -> Result<u64, ListError> {
    let f = &h[at..at + 8];
    let s = std::str::from_utf8(f)
        .ok()
        .filter(|s| s.bytes().all(|b| b.is_ascii_hexdigit()));
    s.and_then(|s| u64::from_str_radix(s, 16).ok())
        .ok_or_else(|| ListError::Cpio("a header field is not hexadecimal".into()))
}

/// (namesize, filesize) of a newc header.
fn parse_header(h: &[u8]) -> Result<(u64, u64), ListError> {
    match &h[..6] {
        b"070701" | b"070702" => {}
        b"070707" => {
            return Err(ListError::Cpio(
                "old portable (odc) cpio format; the kernel reads newc only".into(),
            ))
        }
        _ => {
            return Err(ListError::Cpio(
                "no newc magic where a header should be".into(),
            ))
        }
    }
    let filesize = hex_field(h, 54)?;
    let namesize = hex_field(h, 94)?;
    if namesize == 0 || namesize > MAX_NAME {
        return Err(ListError::Cpio(format!(
            "a member name of {namesize} bytes (1 to {MAX_NAME} allowed)"
        )));
    }
    Ok((namesize, filesize))
}

impl Write for Lister<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.err.is_some() {
            return Err(io::Error::other("cpio error"));
        }
        match self.feed(buf) {
            Ok(_) => Ok(buf.len()),
            Err(e) => {
                self.err = Some(e);
                Err(io::Error::other("cpio error"))
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Initramfs, Node};

    fn archive(files: &[&str]) -> Vec<u8> {
        let mut fs = Initramfs::default();
        for f in files {
            fs.add(f, Node::File(format!("content of {f}").into_bytes()), 0o644)
                .unwrap();
        }
        fs.write_cpio(Vec::new()).unwrap()
    }

    fn gzip(b: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }

    fn xz(b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        lzma_rs::xz_compress(&mut &b[..], &mut out).unwrap();
        out
    }

    fn zstd(b: &[u8]) -> Vec<u8> {
        ruzstd::encoding::compress_to_vec(b, ruzstd::encoding::CompressionLevel::Fastest)
    }

    fn pad(v: &mut Vec<u8>, n: usize) {
        let to = v.len().div_ceil(n) * n;
        v.resize(to, 0);
    }

    #[test]
    fn plain_archive() {
        let a = archive(&["init", "etc/x"]);
        let segs = segments(&a).unwrap();
        assert_eq!(segs.len(), 1);
        assert_eq!(segs[0].files, vec!["etc", "etc/x", "init"]);
        assert_eq!((segs[0].offset, segs[0].len), (0, a.len()));
        assert_eq!(segs[0].compression, Compression::None);
    }

    #[test]
    fn microcode_then_compressed_like_real_initrds() {
        // Early microcode (plain), then the main archive compressed, then an appended
        // plain segment, with NUL padding between them.
        let mut img = archive(&["kernel/x86/microcode/GenuineIntel.bin"]);
        let early = img.len();
        img.extend(zstd(&archive(&["scripts/functions", "init"])));
        let zlen = img.len() - early;
        pad(&mut img, 4);
        img.extend([0u8; 8]);
        let appended_at = img.len();
        img.extend(archive(&["etc/iscsi.initramfs"]));
        let segs = segments(&img).unwrap();
        let kinds: Vec<_> = segs.iter().map(|s| s.compression).collect();
        assert_eq!(
            kinds,
            vec![Compression::None, Compression::Zstd, Compression::None]
        );
        assert_eq!((segs[1].offset, segs[1].len), (early, zlen));
        assert_eq!(segs[2].offset, appended_at);
        assert_eq!(segs[1].files, vec!["init", "scripts", "scripts/functions"]);
        assert_eq!(detect_flavor(&img), Some(Flavor::InitramfsTools));
    }

    #[test]
    fn every_supported_compression_and_exact_lengths() {
        let inner = archive(&["usr/lib/dracut/modules.txt", "etc/initrd-release"]);
        for (kind, packed) in [
            (Compression::Gzip, gzip(&inner)),
            (Compression::Xz, xz(&inner)),
            (Compression::Zstd, zstd(&inner)),
        ] {
            // Two compressed segments back to back (no padding for gzip/zstd is legal
            // when the next one is compressed too), then a plain one.
            let mut img = packed.clone();
            img.extend(&packed);
            pad(&mut img, 4);
            img.extend(archive(&["x"]));
            let segs = segments(&img).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
            assert_eq!(segs.len(), 3, "{kind:?}");
            assert_eq!(segs[0].compression, kind);
            assert_eq!(segs[0].len, packed.len(), "{kind:?}");
            assert_eq!(segs[1].offset, packed.len());
            assert_eq!(segs[0].files, segs[1].files);
            assert_eq!(segs[2].files, vec!["x"]);
            assert_eq!(detect_flavor(&img), Some(Flavor::Dracut));
        }
    }

    #[test]
    fn several_archives_inside_one_compressed_stream() {
        let mut inner = archive(&["a"]);
        inner.extend([0u8; 12]);
        inner.extend(archive(&["conf/initramfs.conf"]));
        let segs = segments(&gzip(&inner)).unwrap();
        assert_eq!(segs[0].files, vec!["a", "conf", "conf/initramfs.conf"]);
        assert_eq!(detect_flavor(&gzip(&inner)), Some(Flavor::InitramfsTools));
    }

    #[test]
    fn detection_rules() {
        assert_eq!(
            flavor_from_names(["./usr/lib/dracut/x"]),
            Some(Flavor::Dracut)
        );
        assert_eq!(flavor_from_names(["/lib/dracut"]), Some(Flavor::Dracut));
        assert_eq!(flavor_from_names(["usr/lib/dracutx"]), None);
        assert_eq!(flavor_from_names(["etc/initrd-release"]), None);
        assert_eq!(
            flavor_from_names(["scripts/functions"]),
            Some(Flavor::InitramfsTools)
        );
        assert_eq!(
            flavor_from_names(["scripts/functions", "usr/lib/dracut/modules.txt"]),
            Some(Flavor::Dracut)
        );
        assert_eq!(detect_flavor(&archive(&["init", "bin/sh"])), None);
        assert_eq!(flavor_for(None), Some(Flavor::Kernel));
        assert_eq!(detect_flavor(b""), None);
    }

    #[test]
    fn errors_are_clear_and_partial_results_still_detect() {
        assert_eq!(segments(b""), Err(InitrdError::Empty));
        assert_eq!(segments(b"\0\0\0\0"), Ok(vec![]));
        assert_eq!(segments(b"hello"), Err(InitrdError::BadMagic(0)));
        let mut img = vec![0u8; 2];
        img.extend(archive(&["a"]));
        // Skipped NULs put the archive at offset 2: the kernel rejects that.
        assert_eq!(segments(&img), Err(InitrdError::Unaligned(2)));
        let a = archive(&["scripts/functions"]);
        assert_eq!(segments(&a[..a.len() - 40]), Err(InitrdError::Truncated(0)));
        let mut img = archive(&["scripts/functions"]);
        let at = img.len();
        img.extend(b"BZh91AY&SY");
        assert_eq!(segments(&img), Err(InitrdError::Unsupported(at, "bzip2")));
        assert_eq!(detect_flavor(&img), Some(Flavor::InitramfsTools));
        let mut bad = gzip(&archive(&["x"]));
        let n = bad.len();
        bad[n - 6] ^= 0xff; // CRC / size trailer
        assert!(matches!(
            segments(&bad),
            Err(InitrdError::Decompress(0, "gzip", _))
        ));
        let mut odc = b"070707".to_vec();
        odc.resize(112, b'0');
        assert!(matches!(segments(&odc), Err(InitrdError::Cpio(0, _))));
        let mut header = archive(&["x"]);
        header[94..102].copy_from_slice(b"0000zzzz");
        assert!(matches!(segments(&header), Err(InitrdError::Cpio(0, _))));
        let mut header = archive(&["x"]);
        header[94..102].copy_from_slice(b"00100000");
        assert!(matches!(segments(&header), Err(InitrdError::Cpio(0, _))));
    }

    #[test]
    fn bombs_are_bounded() {
        // Many tiny members, more than the budget allows.
        let mut fs = Initramfs::default();
        for i in 0..(MAX_FILES + 1) {
            fs.add(&format!("d/{i}"), Node::Dir, 0o755).unwrap();
        }
        let img = gzip(&fs.write_cpio(Vec::new()).unwrap());
        assert_eq!(segments(&img), Err(InitrdError::TooBig));
    }

    fn host_initrds() -> Vec<Vec<u8>> {
        let Ok(dir) = std::fs::read_dir("/boot") else {
            return Vec::new();
        };
        dir.flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("initrd.img-"))
            .filter_map(|e| std::fs::read(e.path()).ok())
            .collect()
    }

    /// Only where the host has a Debian initrd (mkinitramfs, zstd); the synthetic tests
    /// above cover the formats. Detection stops early, so this is quick even unoptimised.
    #[test]
    fn real_debian_initrd_if_present() {
        for bytes in host_initrds() {
            assert_eq!(detect_flavor(&bytes), Some(Flavor::InitramfsTools));
        }
    }

    /// The full walk of a real initrd: ~40 s unoptimised for a 33 MB zstd image, so run it
    /// on demand (`cargo test -- --ignored real_debian_initrd_full_walk`).
    #[test]
    #[ignore]
    fn real_debian_initrd_full_walk() {
        for bytes in host_initrds() {
            let segs = segments(&bytes).unwrap();
            let names: Vec<&str> = segs
                .iter()
                .flat_map(|s| s.files.iter().map(String::as_str))
                .collect();
            assert!(names.contains(&"scripts/functions"), "{segs:?}");
            assert!(names.contains(&"init"));
            assert!(segs.iter().all(|s| s.len > 0));
        }
    }

    #[test]
    fn detection_stops_at_the_first_telling_member() {
        // A corrupt tail after the telling member does not matter to detection.
        let mut inner = archive(&["conf/initramfs.conf", "usr/bin/x"]);
        inner.truncate(inner.len() - 30);
        let img = gzip(&inner);
        assert!(segments(&img).is_err());
        assert_eq!(detect_flavor(&img), Some(Flavor::InitramfsTools));
    }
}
