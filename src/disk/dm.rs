//! Device-mapper through its ioctls on /dev/mapper/control, just enough to create a read-only
//! device from a dm-linear table (what `dmsetup create --readonly` does). The `struct dm_ioctl`
//! buffers are built and read sans-IO ([`encode`], [`decode`]); [`create_linear`] is the I/O.
//!
//! Layout from the kernel's include/uapi/linux/dm-ioctl.h (interface version 4).

use std::fs::OpenOptions;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

/// The control device.
pub const CONTROL: &str = "/dev/mapper/control";
/// `sizeof(struct dm_ioctl)`; the table follows it.
const HEADER: usize = 312;
const NAME_LEN: usize = 128;
const UUID_LEN: usize = 129;
/// `sizeof(struct dm_target_spec)`.
const SPEC: usize = 40;
pub const READONLY_FLAG: u32 = 1 << 0;

/// The ioctl commands kboot uses (their numbers in `DM_IOCTL`'s range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    Version = 0,
    DevCreate = 3,
    DevRemove = 4,
    DevSuspend = 6,
    TableLoad = 9,
}

/// One table row: `len` sectors from `start` handled by `target` with `params`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub start: u64,
    pub len: u64,
    pub target: &'static str,
    pub params: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DmError {
    #[error("{CONTROL} is missing: this kernel has no device-mapper (CONFIG_BLK_DEV_DM)")]
    NoControl,
    #[error("cannot open {CONTROL}: {0}")]
    Open(io::Error),
    #[error("device-mapper {cmd:?} for {name} failed: {source}")]
    Ioctl {
        cmd: Cmd,
        name: String,
        source: io::Error,
    },
    #[error("cannot map {0}: {1}")]
    Invalid(String, &'static str),
}

/// The ioctl request number of `cmd`: `_IOWR(0xfd, cmd, struct dm_ioctl)`.
pub fn request(cmd: Cmd) -> libc::c_ulong {
    nix::request_code_readwrite!(0xfd, cmd as u8, HEADER) as libc::c_ulong
}

/// The `struct dm_ioctl` buffer for `cmd` on device `name`, with its table (for TableLoad).
/// Names, UUIDs and parameters with NULs or too long for their fields are refused.
pub fn encode(
    name: &str,
    uuid: &str,
    flags: u32,
    targets: &[Target],
) -> Result<Vec<u8>, &'static str> {
    if name.is_empty() || name.len() >= NAME_LEN || name.contains(['\0', '/']) {
        return Err("the device name is empty, too long or has / or NUL");
    }
    if uuid.len() >= UUID_LEN || uuid.contains('\0') {
        return Err("the UUID is too long or has NUL");
    }
    let mut table = Vec::new();
    for t in targets {
        if t.params.contains('\0') || t.target.len() >= 16 {
            return Err("a table row has NUL or a too long target name");
        }
        let start = table.len();
        table.resize(start + SPEC, 0);
        table[start..start + 8].copy_from_slice(&t.start.to_le_bytes());
        table[start + 8..start + 16].copy_from_slice(&t.len.to_le_bytes());
        table[start + 24..start + 24 + t.target.len()].copy_from_slice(t.target.as_bytes());
        table.extend_from_slice(t.params.as_bytes());
        table.push(0);
        // `next`: from this spec to the next one, 8-byte aligned.
        table.resize(table.len().next_multiple_of(8), 0);
        let next = (table.len() - start) as u32;
        table[start + 20..start + 24].copy_from_slice(&next.to_le_bytes());
    }
    // Room for what the kernel writes back (at least a few KiB, as libdevmapper gives).
    let size = (HEADER + table.len()).max(16 << 10);
    let mut b = vec![0u8; size];
    b[0..4].copy_from_slice(&4u32.to_le_bytes());
    b[12..16].copy_from_slice(&(size as u32).to_le_bytes());
    b[16..20].copy_from_slice(&(HEADER as u32).to_le_bytes());
    b[20..24].copy_from_slice(&(targets.len() as u32).to_le_bytes());
    b[28..32].copy_from_slice(&flags.to_le_bytes());
    b[48..48 + name.len()].copy_from_slice(name.as_bytes());
    b[176..176 + uuid.len()].copy_from_slice(uuid.as_bytes());
    b[HEADER..HEADER + table.len()].copy_from_slice(&table);
    Ok(b)
}

/// What the kernel wrote back: (interface version, device number).
pub fn decode(b: &[u8]) -> Option<([u32; 3], u64)> {
    let w = |at: usize| crate::disk::bytes::le32(b, at);
    Some([w(0)?, w(4)?, w(8)?]).zip(crate::disk::bytes::le64(b, 40))
}

/// The device number (major, minor) the kernel encodes in `dm_ioctl.dev`.
pub fn dev_numbers(dev: u64) -> (u32, u32) {
    (
        libc::major(dev as libc::dev_t),
        libc::minor(dev as libc::dev_t),
    )
}

fn ioctl(fd: i32, cmd: Cmd, buf: &mut [u8], name: &str) -> Result<(), DmError> {
    // SAFETY: buf is a writable dm_ioctl buffer whose data_size field says its true length.
    let r = unsafe { libc::ioctl(fd, request(cmd) as _, buf.as_mut_ptr()) };
    if r < 0 {
        return Err(DmError::Ioctl {
            cmd,
            name: name.to_string(),
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// Whether this kernel offers device-mapper.
pub fn available() -> bool {
    Path::new(CONTROL).exists()
}

/// Creates device `name` (with `uuid`) from `targets`, read-only, and activates it. Returns
/// its device number. On failure the half-made device is removed again.
pub fn create_linear(name: &str, uuid: &str, targets: &[Target]) -> Result<u64, DmError> {
    if !available() {
        return Err(DmError::NoControl);
    }
    let control = OpenOptions::new()
        .read(true)
        .write(true)
        .open(CONTROL)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENODEV) | Some(libc::ENOENT) => DmError::NoControl,
            _ => DmError::Open(e),
        })?;
    let fd = control.as_raw_fd();
    let inval = |why| DmError::Invalid(name.to_string(), why);
    let mut b = encode(name, uuid, 0, &[]).map_err(inval)?;
    ioctl(fd, Cmd::Version, &mut b, name)?;
    let mut b = encode(name, uuid, 0, &[]).map_err(inval)?;
    ioctl(fd, Cmd::DevCreate, &mut b, name)?;
    let loaded = (|| {
        let mut b = encode(name, "", READONLY_FLAG, targets).map_err(inval)?;
        ioctl(fd, Cmd::TableLoad, &mut b, name)?;
        // DEV_SUSPEND without the suspend flag resumes: the loaded table goes live.
        let mut b = encode(name, "", 0, &[]).map_err(inval)?;
        ioctl(fd, Cmd::DevSuspend, &mut b, name)?;
        decode(&b)
            .map(|(_, dev)| dev)
            .ok_or(inval("the kernel's answer is cut short"))
    })();
    if loaded.is_err() {
        if let Ok(mut b) = encode(name, "", 0, &[]) {
            let _ = ioctl(fd, Cmd::DevRemove, &mut b, name);
        }
    }
    loaded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_numbers_match_the_kernel() {
        // DM_VERSION = _IOWR(0xfd, 0, struct dm_ioctl) = 0xc138fd00 on x86_64.
        assert_eq!(request(Cmd::Version), 0xc138_fd00);
        assert_eq!(request(Cmd::TableLoad), 0xc138_fd09);
    }

    #[test]
    fn table_load_buffer() {
        let t = [
            Target {
                start: 0,
                len: 16384,
                target: "linear",
                params: "8:1 2048".into(),
            },
            Target {
                start: 16384,
                len: 8,
                target: "linear",
                params: "259:12 26624".into(),
            },
        ];
        let b = encode("vg-root", "LVM-abc", READONLY_FLAG, &t).unwrap();
        assert_eq!(&b[0..4], &4u32.to_le_bytes());
        assert_eq!(
            u32::from_le_bytes(b[12..16].try_into().unwrap()) as usize,
            b.len()
        );
        assert_eq!(&b[16..20], &312u32.to_le_bytes());
        assert_eq!(&b[20..24], &2u32.to_le_bytes());
        assert_eq!(&b[28..32], &1u32.to_le_bytes());
        assert_eq!(&b[48..56], b"vg-root\0");
        assert_eq!(&b[176..184], b"LVM-abc\0");
        // First spec: 40 bytes + "8:1 2048\0" (9) = 49 -> next = 56.
        assert_eq!(&b[312 + 8..312 + 16], &16384u64.to_le_bytes());
        assert_eq!(&b[312 + 20..312 + 24], &56u32.to_le_bytes());
        assert_eq!(&b[312 + 24..312 + 31], b"linear\0");
        assert_eq!(&b[312 + 40..312 + 49], b"8:1 2048\0");
        let second = 312 + 56;
        assert_eq!(&b[second..second + 8], &16384u64.to_le_bytes());
        assert_eq!(&b[second + 40..second + 53], b"259:12 26624\0");
        assert_eq!(b.len() % 8, 0);
    }

    #[test]
    fn bad_names_are_refused() {
        assert!(encode("", "", 0, &[]).is_err());
        assert!(encode(&"x".repeat(128), "", 0, &[]).is_err());
        assert!(encode("a/b", "", 0, &[]).is_err());
        assert!(encode("a", &"u".repeat(129), 0, &[]).is_err());
        let t = Target {
            start: 0,
            len: 1,
            target: "linear",
            params: "a\0b".into(),
        };
        assert!(encode("a", "", 0, &[t]).is_err());
    }

    #[test]
    fn decode_reads_dev_and_version() {
        let mut b = encode("x", "", 0, &[]).unwrap();
        b[4..8].copy_from_slice(&48u32.to_le_bytes());
        b[40..48].copy_from_slice(&((254u64 << 8) | 3).to_le_bytes());
        let (v, dev) = decode(&b).unwrap();
        assert_eq!(v, [4, 48, 0]);
        assert_eq!(dev_numbers(dev), (254, 3));
        assert_eq!(decode(&b[..20]), None);
    }
}
