//! Files on local block devices: `sda1:/boot/vmlinuz`, `UUID=...:/vmlinuz`, `LABEL=...:/vmlinuz`.
//!
//! The device is found by name (`/dev/<name>`) or by scanning `/sys/class/block` and reading
//! each device's filesystem UUID and label from its superblock ([`probe`], sans-IO: ext2/3/4,
//! vfat, iso9660, btrfs, xfs). It is mounted read-only through the kernel under
//! `/run/kboot/mnt/<n>` (the detected type first, then every other type in turn), the file is
//! streamed, and the mount is undone (lazily, so a busy mount never blocks the boot).

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::url::DeviceRef;

/// Where kboot mounts devices and NFS exports, one numbered folder per mount.
pub const MOUNT_ROOT: &str = "/run/kboot/mnt";

/// Bytes of a device [`probe`] needs: up to and including the btrfs superblock at 64 KiB.
pub const PROBE_LEN: usize = 0x10000 + 0x1000;

/// A filesystem kboot can mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsType {
    Ext,
    Vfat,
    Iso9660,
    Btrfs,
    Xfs,
}

impl FsType {
    /// Kernel filesystem names to try for this type, in order.
    pub fn kernel_names(self) -> &'static [&'static str] {
        match self {
            FsType::Ext => &["ext4", "ext3", "ext2"],
            FsType::Vfat => &["vfat"],
            FsType::Iso9660 => &["iso9660"],
            FsType::Btrfs => &["btrfs"],
            FsType::Xfs => &["xfs"],
        }
    }
}

/// Every kernel filesystem name kboot tries when the superblock says nothing.
const ALL_TYPES: &[&str] = &["ext4", "ext3", "ext2", "vfat", "iso9660", "btrfs", "xfs"];

/// What a superblock says about a filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsInfo {
    pub fstype: FsType,
    /// As blkid prints it: `8-4-4-4-12` lowercase hex, `ABCD-1234` for vfat, the creation
    /// time `YYYY-MM-DD-HH-MM-SS-cc` for iso9660.
    pub uuid: Option<String>,
    pub label: Option<String>,
}

impl FsInfo {
    /// Whether this filesystem is the one `device` names by UUID or label (UUIDs compare
    /// without regard to case).
    pub fn matches(&self, device: &DeviceRef) -> bool {
        match device {
            DeviceRef::Uuid(u) => self
                .uuid
                .as_deref()
                .is_some_and(|x| x.eq_ignore_ascii_case(u)),
            DeviceRef::Label(l) => self.label.as_deref() == Some(l.as_str()),
            DeviceRef::Name(_) => false,
        }
    }
}

/// Why a local file could not be read, as one sentence.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("no block device has {device}: check the UUID or label (blkid shows them)")]
    NoSuchFilesystem { device: String },
    #[error("the device /dev/{name} does not exist")]
    NoSuchDevice { name: String },
    #[error("cannot mount {device} read-only (tried {tried}): {reason}")]
    Mount {
        device: String,
        tried: String,
        reason: String,
    },
    #[error("cannot create the mount point {path}: {source}")]
    MountPoint { path: String, source: io::Error },
    #[error("cannot read {path} on {device}: {source}")]
    Open {
        device: String,
        path: String,
        source: io::Error,
    },
}

fn get(b: &[u8], at: usize, len: usize) -> Option<&[u8]> {
    b.get(at..at.checked_add(len)?)
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    get(b, at, 2).map(|s| u16::from_le_bytes([s[0], s[1]]))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    get(b, at, 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// `8-4-4-4-12` lowercase hex; `None` for an all-zero UUID.
fn uuid_string(b: &[u8]) -> Option<String> {
    if b.len() != 16 || b.iter().all(|&x| x == 0) {
        return None;
    }
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// A label up to the first NUL, trailing spaces removed; `None` when empty.
fn label_string(b: &[u8]) -> Option<String> {
    let end = b.iter().position(|&x| x == 0).unwrap_or(b.len());
    let s = String::from_utf8_lossy(&b[..end]).trim_end().to_string();
    (!s.is_empty()).then_some(s)
}

/// Reads the filesystem type, UUID and label from the first [`PROBE_LEN`] bytes of a device
/// (fewer is fine: types whose superblock lies further are then not found).
pub fn probe(head: &[u8]) -> Option<FsInfo> {
    probe_btrfs(head)
        .or_else(|| probe_xfs(head))
        .or_else(|| probe_ext(head))
        .or_else(|| probe_iso9660(head))
        .or_else(|| probe_vfat(head))
}

fn probe_ext(b: &[u8]) -> Option<FsInfo> {
    const SB: usize = 1024;
    (le16(b, SB + 56)? == 0xEF53).then_some(())?;
    Some(FsInfo {
        fstype: FsType::Ext,
        uuid: uuid_string(get(b, SB + 104, 16)?),
        label: label_string(get(b, SB + 120, 16)?),
    })
}

fn probe_btrfs(b: &[u8]) -> Option<FsInfo> {
    const SB: usize = 0x10000;
    (get(b, SB + 64, 8)? == b"_BHRfS_M").then_some(())?;
    Some(FsInfo {
        fstype: FsType::Btrfs,
        uuid: uuid_string(get(b, SB + 32, 16)?),
        label: label_string(get(b, SB + 299, 256)?),
    })
}

fn probe_xfs(b: &[u8]) -> Option<FsInfo> {
    (get(b, 0, 4)? == b"XFSB").then_some(())?;
    Some(FsInfo {
        fstype: FsType::Xfs,
        uuid: uuid_string(get(b, 32, 16)?),
        label: label_string(get(b, 108, 12)?),
    })
}

fn probe_iso9660(b: &[u8]) -> Option<FsInfo> {
    const PVD: usize = 16 * 2048;
    (get(b, PVD, 6)? == b"\x01CD001").then_some(())?;
    // blkid's UUID: the volume creation time, digits only, as YYYY-MM-DD-HH-MM-SS-cc.
    let t = get(b, PVD + 813, 16)?;
    let uuid = (t.iter().all(u8::is_ascii_digit) && t.iter().any(|&c| c != b'0')).then(|| {
        let s = String::from_utf8_lossy(t);
        format!(
            "{}-{}-{}-{}-{}-{}-{}",
            &s[..4],
            &s[4..6],
            &s[6..8],
            &s[8..10],
            &s[10..12],
            &s[12..14],
            &s[14..16]
        )
    });
    Some(FsInfo {
        fstype: FsType::Iso9660,
        uuid,
        label: label_string(get(b, PVD + 40, 32)?),
    })
}

fn probe_vfat(b: &[u8]) -> Option<FsInfo> {
    (get(b, 510, 2)? == [0x55, 0xAA]).then_some(())?;
    let bytes_per_sector = le16(b, 11)?;
    if !matches!(bytes_per_sector, 512 | 1024 | 2048 | 4096) || *b.get(13)? == 0 {
        return None;
    }
    // FAT32 keeps its extended boot record further on than FAT12/16.
    let (id_at, label_at) = if get(b, 82, 5)? == b"FAT32" {
        (67, 71)
    } else if get(b, 54, 3)? == b"FAT" {
        (39, 43)
    } else {
        return None;
    };
    let id = le32(b, id_at)?;
    let label = label_string(get(b, label_at, 11)?).filter(|l| l != "NO NAME");
    Some(FsInfo {
        fstype: FsType::Vfat,
        uuid: Some(format!("{:04X}-{:04X}", id >> 16, id & 0xffff)),
        label,
    })
}

/// Reads up to [`PROBE_LEN`] bytes from the start of `dev`.
fn read_head(dev: &Path) -> io::Result<Vec<u8>> {
    let mut f = File::open(dev)?;
    let mut buf = vec![0u8; PROBE_LEN];
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(n);
    Ok(buf)
}

/// Finds the device node for `device`, and what its superblock says when it was read.
pub fn find_device(device: &DeviceRef) -> Result<(PathBuf, Option<FsInfo>), LocalError> {
    if let DeviceRef::Name(name) = device {
        let path = Path::new("/dev").join(name);
        if !path.exists() {
            return Err(LocalError::NoSuchDevice { name: name.clone() });
        }
        let info = read_head(&path).ok().and_then(|h| probe(&h));
        return Ok((path, info));
    }
    let mut names: Vec<String> = std::fs::read_dir("/sys/class/block")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    for name in names {
        // Empty devices (unused loop devices, ejected CD drives) have size 0.
        let size = std::fs::read_to_string(format!("/sys/class/block/{name}/size"))
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0);
        if size == 0 || name.starts_with("ram") {
            continue;
        }
        let path = Path::new("/dev").join(&name);
        let Some(info) = read_head(&path).ok().and_then(|h| probe(&h)) else {
            continue;
        };
        if info.matches(device) {
            return Ok((path, Some(info)));
        }
    }
    Err(LocalError::NoSuchFilesystem {
        device: device.to_string(),
    })
}

/// A mount kboot made; unmounted (lazily) and its folder removed on drop.
#[derive(Debug)]
pub struct Mounted {
    dir: PathBuf,
}

impl Mounted {
    /// The folder the filesystem is mounted on.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.dir, nix::mount::MntFlags::MNT_DETACH);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// A fresh, empty folder under [`MOUNT_ROOT`].
pub fn mount_point() -> Result<PathBuf, LocalError> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = Path::new(MOUNT_ROOT).join(format!("{}-{n}", std::process::id()));
        let err = |source| LocalError::MountPoint {
            path: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(MOUNT_ROOT).map_err(err)?;
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(err(e)),
        }
    }
}

/// Mounts `source` read-only, trying each kernel filesystem type in `types` with `data`.
/// Returns the mount, or the types tried with the error of the first one (the detected type
/// comes first, so its error is the telling one; ENODEV: the kernel lacks the driver).
pub fn mount_ro(
    source: &str,
    types: &[&str],
    data: Option<&str>,
) -> Result<Mounted, (String, nix::Error)> {
    let dir = mount_point().map_err(|e| (String::new(), io_to_nix(&e)))?;
    let mut first = None;
    let mount = |fstype: &str| {
        nix::mount::mount(
            Some(source),
            &dir,
            Some(fstype),
            nix::mount::MsFlags::MS_RDONLY
                | nix::mount::MsFlags::MS_NOSUID
                | nix::mount::MsFlags::MS_NODEV
                | nix::mount::MsFlags::MS_NOEXEC,
            data,
        )
    };
    for (i, fstype) in types.iter().enumerate() {
        let mut result = mount(fstype);
        // ENODEV: the kernel knows no such file system. As PID 1 there is no modprobe for the
        // kernel to ask: kboot loads the module (btrfs, xfs) from the module pack itself, for
        // the first type only (the detected one), not for every guess after it.
        if result == Err(nix::Error::ENODEV)
            && i == 0
            && std::process::id() == 1
            && crate::hw::load_filesystem(fstype).unwrap_or(false)
        {
            result = mount(fstype);
        }
        match result {
            Ok(()) => return Ok(Mounted { dir }),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    let _ = std::fs::remove_dir(&dir);
    Err((types.join(", "), first.unwrap_or(nix::Error::ENODEV)))
}

fn io_to_nix(e: &LocalError) -> nix::Error {
    match e {
        LocalError::MountPoint { source, .. } => source
            .raw_os_error()
            .map(nix::Error::from_raw)
            .unwrap_or(nix::Error::EIO),
        _ => nix::Error::EIO,
    }
}

/// The order of kernel types to try: the detected one first, then all the others.
pub fn types_to_try(info: Option<&FsInfo>) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = info
        .map(|i| i.fstype.kernel_names().to_vec())
        .unwrap_or_default();
    for t in ALL_TYPES {
        if !out.contains(t) {
            out.push(t);
        }
    }
    out
}

/// Mounts the filesystem `device` names, read-only.
pub fn mount_device(device: &DeviceRef) -> Result<Mounted, LocalError> {
    let (dev, info) = find_device(device)?;
    let types = types_to_try(info.as_ref());
    let source = dev.display().to_string();
    mount_ro(&source, &types, None).map_err(|(tried, e)| {
        if tried.is_empty() {
            LocalError::MountPoint {
                path: MOUNT_ROOT.into(),
                source: io::Error::from_raw_os_error(e as i32),
            }
        } else {
            let reason = match (e, info.as_ref()) {
                (nix::Error::ENODEV, Some(i)) => format!(
                    "the kernel has no {} driver",
                    i.fstype.kernel_names().join("/")
                ),
                _ => e.desc().to_string(),
            };
            LocalError::Mount {
                device: format!("{device} ({source})"),
                tried,
                reason,
            }
        }
    })
}

/// Opens `path` (absolute, normalised) inside a mount; the error names `device`.
pub fn open_in(
    mount: &Mounted,
    device: &str,
    path: &str,
) -> Result<(File, Option<u64>), LocalError> {
    let full = mount.dir().join(path.trim_start_matches('/'));
    let err = |source| LocalError::Open {
        device: device.to_string(),
        path: path.to_string(),
        source,
    };
    let file = File::open(&full).map_err(err)?;
    let meta = file.metadata().map_err(err)?;
    if meta.is_dir() {
        return Err(err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is a directory",
        )));
    }
    Ok((file, Some(meta.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(len: usize) -> Vec<u8> {
        vec![0u8; len]
    }

    fn put(b: &mut [u8], at: usize, data: &[u8]) {
        b[at..at + data.len()].copy_from_slice(data);
    }

    const UUID: [u8; 16] = [
        0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd,
        0xef,
    ];
    const UUID_S: &str = "12345678-9abc-def0-0123-456789abcdef";

    #[test]
    fn ext4() {
        let mut b = image(4096);
        put(&mut b, 1024 + 56, &0xEF53u16.to_le_bytes());
        put(&mut b, 1024 + 104, &UUID);
        put(&mut b, 1024 + 120, b"rootfs\0\0\0\0\0\0\0\0\0\0");
        let info = probe(&b).unwrap();
        assert_eq!(info.fstype, FsType::Ext);
        assert_eq!(info.uuid.as_deref(), Some(UUID_S));
        assert_eq!(info.label.as_deref(), Some("rootfs"));
        assert!(info.matches(&DeviceRef::Uuid(UUID_S.to_uppercase())));
        assert!(info.matches(&DeviceRef::Label("rootfs".into())));
        assert!(!info.matches(&DeviceRef::Label("Rootfs".into())));
    }

    #[test]
    fn vfat_16_and_32() {
        let mut b = image(512);
        put(&mut b, 510, &[0x55, 0xAA]);
        put(&mut b, 11, &512u16.to_le_bytes());
        b[13] = 4;
        put(&mut b, 54, b"FAT16   ");
        put(&mut b, 39, &0x1234_ABCDu32.to_le_bytes());
        put(&mut b, 43, b"BOOT       ");
        let info = probe(&b).unwrap();
        assert_eq!(info.fstype, FsType::Vfat);
        assert_eq!(info.uuid.as_deref(), Some("1234-ABCD"));
        assert_eq!(info.label.as_deref(), Some("BOOT"));
        assert!(info.matches(&DeviceRef::Uuid("1234-abcd".into())));

        let mut b = image(512);
        put(&mut b, 510, &[0x55, 0xAA]);
        put(&mut b, 11, &512u16.to_le_bytes());
        b[13] = 8;
        put(&mut b, 82, b"FAT32   ");
        put(&mut b, 67, &0xDEAD_BEEFu32.to_le_bytes());
        put(&mut b, 71, b"NO NAME    ");
        let info = probe(&b).unwrap();
        assert_eq!(info.uuid.as_deref(), Some("DEAD-BEEF"));
        assert_eq!(info.label, None);
    }

    #[test]
    fn iso9660() {
        let mut b = image(40 * 1024);
        put(&mut b, 32768, b"\x01CD001\x01");
        let mut id = [b' '; 32];
        id[..9].copy_from_slice(b"DEBIAN_12");
        put(&mut b, 32768 + 40, &id);
        put(&mut b, 32768 + 813, b"2024061012345600\x00");
        let info = probe(&b).unwrap();
        assert_eq!(info.fstype, FsType::Iso9660);
        assert_eq!(info.label.as_deref(), Some("DEBIAN_12"));
        assert_eq!(info.uuid.as_deref(), Some("2024-06-10-12-34-56-00"));
    }

    #[test]
    fn btrfs_and_xfs() {
        let mut b = image(PROBE_LEN);
        put(&mut b, 0x10000 + 64, b"_BHRfS_M");
        put(&mut b, 0x10000 + 32, &UUID);
        put(&mut b, 0x10000 + 299, b"data\0");
        let info = probe(&b).unwrap();
        assert_eq!(info.fstype, FsType::Btrfs);
        assert_eq!(info.uuid.as_deref(), Some(UUID_S));
        assert_eq!(info.label.as_deref(), Some("data"));

        let mut b = image(512);
        put(&mut b, 0, b"XFSB");
        put(&mut b, 32, &UUID);
        put(&mut b, 108, b"xroot\0\0\0\0\0\0\0");
        let info = probe(&b).unwrap();
        assert_eq!(info.fstype, FsType::Xfs);
        assert_eq!(info.label.as_deref(), Some("xroot"));
    }

    #[test]
    fn junk_short_and_empty_inputs_are_not_filesystems() {
        assert_eq!(probe(&[]), None);
        assert_eq!(probe(&[0xff; 100]), None);
        assert_eq!(probe(&image(PROBE_LEN)), None);
        // A boot signature alone (an MBR) is not a FAT.
        let mut b = image(512);
        put(&mut b, 510, &[0x55, 0xAA]);
        assert_eq!(probe(&b), None);
        // Every truncation of a valid image: no panic.
        let mut b = image(PROBE_LEN);
        put(&mut b, 0x10000 + 64, b"_BHRfS_M");
        put(&mut b, 1024 + 56, &0xEF53u16.to_le_bytes());
        put(&mut b, 32768, b"\x01CD001\x01");
        for len in (0..b.len()).step_by(97) {
            let _ = probe(&b[..len]);
        }
    }

    #[test]
    fn type_order_puts_the_detected_type_first() {
        let info = FsInfo {
            fstype: FsType::Vfat,
            uuid: None,
            label: None,
        };
        let t = types_to_try(Some(&info));
        assert_eq!(t[0], "vfat");
        assert_eq!(t.len(), ALL_TYPES.len());
        assert_eq!(types_to_try(None), ALL_TYPES);
    }
}
