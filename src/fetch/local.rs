//! Files on local block devices: `sda1:/boot/vmlinuz`, `UUID=...:/vmlinuz`, `LABEL=...:/vmlinuz`.
//!
//! The device is found by name (`/dev/<name>`) or by scanning `/sys/class/block` and reading
//! each device's filesystem UUID and label from its superblock ([`probe`], sans-IO, in
//! src/disk/probe.rs: ext2/3/4, vfat, iso9660, btrfs, xfs). It is mounted read-only through the kernel under
//! `/run/kboot/mnt/<n>` (the detected type first, then every other type in turn), the file is
//! streamed, and the mount is undone (lazily, so a busy mount never blocks the boot).

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::url::DeviceRef;

/// Where kboot mounts devices and NFS exports, one numbered folder per mount.
pub const MOUNT_ROOT: &str = "/run/kboot/mnt";

pub use crate::disk::probe::{probe, FsInfo, FsType, PROBE_LEN};

/// Every kernel filesystem name kboot tries when the superblock says nothing.
const ALL_TYPES: &[&str] = &["ext4", "ext3", "ext2", "vfat", "iso9660", "btrfs", "xfs"];

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
