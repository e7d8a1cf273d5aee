//! Device paths (`loopN:/path`, `UUID=...:/path`, `LABEL=...:/path`) against filesystem
//! images the test builds and attaches to loop devices: ext4, vfat, iso9660, btrfs, xfs.
//! Our superblock reader is checked against `blkid` on the same images.
//!
//! Needs root, loop devices and mkfs.ext4 / mkfs.vfat + mcopy (mtools) / xorriso /
//! mkfs.btrfs / mkfs.xfs. A filesystem the running kernel cannot mount is reported and
//! skipped (printed), not failed: that is the host's kernel, not kboot's.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

use kboot::fetch::{fetch, local, FetchError, FetchOptions};

fn run(args: &[&str]) -> Result<String, String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{args:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] ^ seed)
        .collect()
}

/// An image attached to a loop device; detached and removed on drop.
struct Lab {
    work: PathBuf,
    loopdev: Option<String>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(l) = self.loopdev.take() {
            let _ = Command::new("losetup").args(["-d", &l]).output();
        }
        let _ = std::fs::remove_dir_all(&self.work);
    }
}

/// Builds a `fs` image holding `files` (relative path, bytes) labelled `label`.
fn build(fs: &str, label: &str, files: &[(&str, Vec<u8>)]) -> Result<Lab, String> {
    let work = std::env::temp_dir().join(format!("kboot-local-{fs}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let src = work.join("src");
    for (path, data) in files {
        let p = src.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).map_err(|e| e.to_string())?;
        std::fs::write(&p, data).map_err(|e| e.to_string())?;
    }
    let mut lab = Lab {
        work: work.clone(),
        loopdev: None,
    };
    let img = work.join("fs.img");
    let img_s = img.display().to_string();
    let src_s = src.display().to_string();
    let sized = |mib: u64| -> Result<(), String> {
        let f = std::fs::File::create(&img).map_err(|e| e.to_string())?;
        f.set_len(mib << 20).map_err(|e| e.to_string())
    };
    match fs {
        "ext4" => {
            sized(32)?;
            run(&["mkfs.ext4", "-q", "-F", "-L", label, "-d", &src_s, &img_s])?;
        }
        "vfat" => {
            sized(32)?;
            run(&["mkfs.vfat", "-n", label, &img_s])?;
            run(&["mcopy", "-s", "-i", &img_s, &format!("{src_s}/boot"), "::/"])?;
        }
        "iso9660" => {
            run(&[
                "xorriso", "-as", "mkisofs", "-quiet", "-V", label, "-o", &img_s, &src_s,
            ])?;
        }
        "btrfs" => {
            sized(128)?;
            run(&["mkfs.btrfs", "-q", "-L", label, "--rootdir", &src_s, &img_s])?;
        }
        "xfs" => {
            sized(320)?;
            run(&["mkfs.xfs", "-q", "-L", label, &img_s])?;
        }
        other => return Err(format!("unknown fs {other}")),
    }
    let dev = run(&["losetup", "-f", "--show", &img_s])?;
    lab.loopdev = Some(dev.clone());
    if fs == "xfs" {
        // mkfs.xfs cannot populate: mount read-write once and copy.
        let mnt = work.join("mnt");
        std::fs::create_dir_all(&mnt).map_err(|e| e.to_string())?;
        let mnt_s = mnt.display().to_string();
        run(&["mount", "-t", "xfs", &dev, &mnt_s])?;
        let copied = run(&["cp", "-a", &format!("{src_s}/."), &mnt_s]);
        run(&["umount", &mnt_s])?;
        copied?;
    }
    Ok(lab)
}

fn get(loc: &str) -> Result<Vec<u8>, FetchError> {
    let mut out = Vec::new();
    fetch(
        loc,
        &mut out,
        &FetchOptions::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )?;
    Ok(out)
}

fn check(fs: &str) {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test attaches loop devices and mounts them: it must run as root"
    );
    let label = format!(
        "KB{:04X}{}",
        std::process::id() & 0xffff,
        &fs[..1].to_uppercase()
    );
    let kernel = content(300_001, 1);
    let initrd = content(70_000, 2);
    let lab = build(
        fs,
        &label,
        &[
            ("boot/vmlinuz", kernel.clone()),
            ("boot/sub/initrd.img", initrd.clone()),
        ],
    )
    .unwrap_or_else(|e| panic!("building the {fs} image: {e}"));
    let dev = lab.loopdev.clone().unwrap();
    let name = Path::new(&dev)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();

    // Our probe against blkid.
    let head = std::fs::read(&dev)
        .map(|mut b| {
            b.truncate(local::PROBE_LEN);
            b
        })
        .unwrap_or_default();
    let info = local::probe(&head).unwrap_or_else(|| panic!("{fs}: probe found nothing"));
    let blkid_uuid = run(&["blkid", "-p", "-s", "UUID", "-o", "value", &dev]).unwrap_or_default();
    let blkid_label = run(&["blkid", "-p", "-s", "LABEL", "-o", "value", &dev]).unwrap_or_default();
    assert_eq!(
        info.uuid.clone().unwrap_or_default(),
        blkid_uuid,
        "{fs} UUID"
    );
    assert_eq!(
        info.label.clone().unwrap_or_default(),
        blkid_label,
        "{fs} label"
    );

    let by_name = format!("{name}:/boot/vmlinuz");
    match get(&by_name) {
        Ok(got) => assert!(got == kernel, "{fs}: {by_name} differs"),
        Err(FetchError::Local(local::LocalError::Mount { reason, .. })) if !kernel_has(fs) => {
            eprintln!("SKIP {fs}: this host's kernel cannot mount it ({reason})");
            return;
        }
        Err(e) => panic!("{fs}: {by_name}: {e}"),
    }
    let by_uuid = format!("UUID={blkid_uuid}:/boot/sub/initrd.img");
    assert!(
        get(&by_uuid).unwrap_or_else(|e| panic!("{fs}: {e}")) == initrd,
        "{by_uuid}"
    );
    let by_label = format!("LABEL={label}:/boot/sub/../vmlinuz");
    assert!(
        get(&by_label).unwrap_or_else(|e| panic!("{fs}: {e}")) == kernel,
        "{by_label}"
    );
    let err = get(&format!("LABEL={label}:/boot/missing")).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("cannot read /boot/missing on LABEL={label}")),
        "{msg}"
    );
    let err = get(&format!("{name}:/boot")).unwrap_err();
    assert!(err.to_string().contains("directory"), "{err}");
    // Nothing stays mounted.
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    assert!(!mounts.contains(&dev), "{dev} is still mounted:\n{mounts}");
    eprintln!("{fs}: by name, UUID={blkid_uuid} and LABEL={label}: ok");
}

fn kernel_has(fs: &str) -> bool {
    std::fs::read_to_string("/proc/filesystems")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().last() == Some(fs))
}

#[test]
fn ext4() {
    check("ext4");
}

#[test]
fn vfat() {
    check("vfat");
}

#[test]
fn iso9660() {
    check("iso9660");
}

#[test]
fn btrfs() {
    check("btrfs");
}

#[test]
fn xfs() {
    check("xfs");
}
