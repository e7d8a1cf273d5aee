//! Host side: kboot's own initramfs, written as a newc cpio archive (what the kernel unpacks).
//!
//! The archive holds `/init` (the static kboot binary), the directories PID 1 mounts on, the
//! `/dev/console` node the kernel opens before `/init` runs, and everything under an overlay
//! folder (`buildroot-overlay/`, laid in as it is, like Buildroot's `BR2_ROOTFS_OVERLAY`).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// What one archive member is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Dir,
    File(Vec<u8>),
    Symlink(String),
    CharDev { major: u32, minor: u32 },
}

/// Errors while assembling an initramfs.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write the initramfs: {0}")]
    Write(#[from] io::Error),
    #[error("{path} is {size} bytes, more than a cpio newc member can hold (4 GiB)")]
    TooBig { path: String, size: usize },
    #[error("{0} is not a valid archive path: paths are relative, without '..' or empty parts")]
    BadPath(String),
}

/// An initramfs being assembled: archive paths (no leading `/`) to members and modes.
/// Later additions replace earlier ones, so an overlay can override defaults.
#[derive(Debug, Default, Clone)]
pub struct Initramfs {
    members: BTreeMap<String, (Node, u32)>,
}

/// Directories every kboot initramfs has: mount points and places PID 1 writes to.
pub const BASE_DIRS: &[&str] = &[
    "dev", "proc", "sys", "run", "tmp", "etc", "mnt", "root", "var",
];

impl Initramfs {
    /// An archive with the base directories and `/dev/console` (c 5 1), and nothing else.
    pub fn base() -> Self {
        let mut fs = Self::default();
        for dir in BASE_DIRS {
            fs.add(dir, Node::Dir, 0o755).expect("base paths are valid");
        }
        fs.add("tmp", Node::Dir, 0o1777).expect("valid");
        fs.add("dev/console", Node::CharDev { major: 5, minor: 1 }, 0o600)
            .expect("valid");
        fs
    }

    /// Add (or replace) one member; parent directories are created as needed (mode 0755).
    pub fn add(&mut self, path: &str, node: Node, mode: u32) -> Result<(), ImageError> {
        let path = normalize(path)?;
        let mut parent = String::new();
        let parts: Vec<&str> = path.split('/').collect();
        for part in &parts[..parts.len() - 1] {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(part);
            self.members
                .entry(parent.clone())
                .or_insert((Node::Dir, 0o755));
        }
        self.members.insert(path, (node, mode & 0o7777));
        Ok(())
    }

    /// Lay a host folder into the archive at its root, keeping file modes and symlinks.
    pub fn add_tree(&mut self, root: &Path) -> Result<(), ImageError> {
        self.add_tree_at(root, root)
    }

    fn add_tree_at(&mut self, root: &Path, dir: &Path) -> Result<(), ImageError> {
        let read_err = |source| ImageError::Read {
            path: dir.to_path_buf(),
            source,
        };
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .map_err(read_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(read_err)?;
        names.sort_by_key(|e| e.file_name());
        for entry in names {
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .map_err(|_| ImageError::BadPath(path.display().to_string()))?
                .to_string_lossy()
                .into_owned();
            let err = |source| ImageError::Read {
                path: path.clone(),
                source,
            };
            let meta = std::fs::symlink_metadata(&path).map_err(err)?;
            let mode = meta.permissions().mode();
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).map_err(err)?;
                self.add(
                    &rel,
                    Node::Symlink(target.to_string_lossy().into_owned()),
                    0o777,
                )?;
            } else if meta.is_dir() {
                self.add(&rel, Node::Dir, mode)?;
                self.add_tree_at(root, &path)?;
            } else if meta.is_file() {
                let data = std::fs::read(&path).map_err(err)?;
                self.add(&rel, Node::File(data), mode)?;
            } else {
                // Device nodes in an overlay: keep them (a Buildroot overlay may carry some).
                use std::os::unix::fs::FileTypeExt;
                if meta.file_type().is_char_device() {
                    let rdev = meta.rdev();
                    let (major, minor) = (libc::major(rdev), libc::minor(rdev));
                    self.add(&rel, Node::CharDev { major, minor }, mode)?;
                }
            }
        }
        Ok(())
    }

    /// Drop the directory member `path` (not what it holds), so that the archive does not
    /// create or replace it. True when there was one.
    pub fn remove_dir(&mut self, path: &str) -> bool {
        match self.members.get(path) {
            Some((Node::Dir, _)) => self.members.remove(path).is_some(),
            _ => false,
        }
    }

    /// The members, sorted so that every directory precedes what it holds.
    pub fn members(&self) -> impl Iterator<Item = (&str, &Node, u32)> {
        self.members.iter().map(|(p, (n, m))| (p.as_str(), n, *m))
    }

    /// Write the archive (uncompressed newc, ending with the trailer).
    pub fn write_cpio<W: Write>(&self, mut out: W) -> Result<W, ImageError> {
        for (ino, (path, (node, mode))) in self.members.iter().enumerate() {
            let (kind, data): (u32, &[u8]) = match node {
                Node::Dir => (libc::S_IFDIR, &[]),
                Node::File(bytes) => (libc::S_IFREG, bytes),
                Node::Symlink(target) => (libc::S_IFLNK, target.as_bytes()),
                Node::CharDev { .. } => (libc::S_IFCHR, &[]),
            };
            let size = u32::try_from(data.len()).map_err(|_| ImageError::TooBig {
                path: path.clone(),
                size: data.len(),
            })?;
            let mut builder = cpio::newc::Builder::new(path)
                .ino(ino as u32 + 1)
                .mode(kind | mode)
                .nlink(if matches!(node, Node::Dir) { 2 } else { 1 });
            if let Node::CharDev { major, minor } = node {
                builder = builder.rdev_major(*major).rdev_minor(*minor);
            }
            let mut writer = builder.write(out, size);
            writer.write_all(data)?;
            out = writer.finish()?;
        }
        Ok(cpio::newc::trailer(out)?)
    }
}

/// `/a//b/` -> `a/b`; rejects empty paths and `..`.
fn normalize(path: &str) -> Result<String, ImageError> {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() || parts.contains(&"..") {
        return Err(ImageError::BadPath(path.to_string()));
    }
    Ok(parts.join("/"))
}

/// kboot's initramfs: the base, `/init` = `binary`, then the overlay folder (if it exists).
pub fn kboot_initramfs(binary: &Path, overlay: Option<&Path>) -> Result<Initramfs, ImageError> {
    let mut fs = Initramfs::base();
    let init = std::fs::read(binary).map_err(|source| ImageError::Read {
        path: binary.to_path_buf(),
        source,
    })?;
    fs.add("init", Node::File(init), 0o755)?;
    if let Some(dir) = overlay.filter(|d| d.is_dir()) {
        fs.add_tree(dir)?;
    }
    Ok(fs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_back(bytes: &[u8]) -> Vec<(String, u32, Vec<u8>, u32, u32)> {
        let mut out = Vec::new();
        let mut rest = bytes;
        loop {
            let mut reader = cpio::NewcReader::new(rest).expect("valid header");
            if reader.entry().is_trailer() {
                break;
            }
            let e = reader.entry();
            let (name, mode, maj, min) = (
                e.name().to_string(),
                e.mode(),
                e.rdev_major(),
                e.rdev_minor(),
            );
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut reader, &mut data).unwrap();
            out.push((name, mode, data, maj, min));
            rest = reader.finish().unwrap();
        }
        out
    }

    #[test]
    fn base_has_console_and_mount_points() {
        let bytes = Initramfs::base().write_cpio(Vec::new()).unwrap();
        let members = read_back(&bytes);
        let console = members.iter().find(|m| m.0 == "dev/console").unwrap();
        assert_eq!(console.1, libc::S_IFCHR | 0o600);
        assert_eq!((console.3, console.4), (5, 1));
        for dir in BASE_DIRS {
            assert!(members
                .iter()
                .any(|m| m.0 == *dir && m.1 & libc::S_IFMT == libc::S_IFDIR));
        }
        assert_eq!(bytes.len() % 4, 0, "newc archives are 4-byte aligned");
    }

    #[test]
    fn files_keep_content_and_mode_and_parents_come_first() {
        let mut fs = Initramfs::base();
        fs.add("/etc/kboot/motd", Node::File(b"hello\n".to_vec()), 0o644)
            .unwrap();
        fs.add("sbin/init", Node::Symlink("/init".into()), 0o777)
            .unwrap();
        let members = read_back(&fs.write_cpio(Vec::new()).unwrap());
        let names: Vec<&str> = members.iter().map(|m| m.0.as_str()).collect();
        let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
        assert!(pos("etc") < pos("etc/kboot") && pos("etc/kboot") < pos("etc/kboot/motd"));
        let motd = &members[pos("etc/kboot/motd")];
        assert_eq!(motd.2, b"hello\n");
        assert_eq!(motd.1, libc::S_IFREG | 0o644);
        let link = &members[pos("sbin/init")];
        assert_eq!(link.2, b"/init");
        assert_eq!(link.1 & libc::S_IFMT, libc::S_IFLNK);
    }

    #[test]
    fn bad_paths_are_refused() {
        let mut fs = Initramfs::default();
        assert!(fs.add("", Node::Dir, 0o755).is_err());
        assert!(fs.add("/", Node::Dir, 0o755).is_err());
        assert!(fs.add("a/../b", Node::Dir, 0o755).is_err());
    }

    #[test]
    fn overlay_tree_is_laid_in() {
        let dir = std::env::temp_dir().join(format!("kboot-overlay-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("etc/ssl")).unwrap();
        std::fs::write(dir.join("etc/ssl/ca.pem"), b"PEM").unwrap();
        std::os::unix::fs::symlink("ca.pem", dir.join("etc/ssl/link")).unwrap();
        let bin = dir.join("fake-kboot");
        std::fs::write(&bin, b"\x7fELF").unwrap();
        let fs = kboot_initramfs(&bin, Some(&dir)).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let members = read_back(&fs.write_cpio(Vec::new()).unwrap());
        let get = |n: &str| members.iter().find(|m| m.0 == n).cloned().unwrap();
        assert_eq!(get("init").2, b"\x7fELF");
        assert_eq!(get("init").1, libc::S_IFREG | 0o755);
        assert_eq!(get("etc/ssl/ca.pem").2, b"PEM");
        assert_eq!(get("etc/ssl/link").2, b"ca.pem");
    }
}
