//! Local disks: every block device is mounted read-only and searched for the configs boot
//! loaders keep there (GRUB, syslinux/extlinux/isolinux, kboot.conf, Boot Loader Spec entries),
//! as petitboot does, so kboot also boots the system installed on the machine. Paths in those
//! configs become device locations (`sda1:/boot/vmlinuz`) that the fetch layer mounts again.

use super::detect::Format;
use super::include::ParseContext;
use super::{Entry, Menu};
use crate::config::model::Handoff;
use crate::fetch::local;
use crate::fetch::url::DeviceRef;
use std::path::Path;
use std::sync::atomic::AtomicBool;

/// Where boot loaders keep their configs, relative to a filesystem's root, in the order they
/// are shown.
pub const CONFIG_PATHS: &[&str] = &[
    "/kboot.conf",
    "/boot/kboot.conf",
    "/etc/kboot.conf",
    "/boot/grub/grub.cfg",
    "/grub/grub.cfg",
    "/boot/grub2/grub.cfg",
    "/grub2/grub.cfg",
    "/EFI/BOOT/grub.cfg",
    "/efi/boot/grub.cfg",
    "/boot/extlinux/extlinux.conf",
    "/extlinux/extlinux.conf",
    "/extlinux.conf",
    "/boot/syslinux/syslinux.cfg",
    "/syslinux/syslinux.cfg",
    "/syslinux.cfg",
    "/isolinux/isolinux.cfg",
    "/boot/isolinux/isolinux.cfg",
];

/// Boot Loader Spec entry folders, relative to a filesystem's root.
pub const BLS_DIRS: &[&str] = &["/loader/entries", "/boot/loader/entries"];

/// Largest config file read from a disk.
const CONFIG_LIMIT: u64 = 1 << 20;

/// One config found on one device.
#[derive(Debug, Clone)]
pub struct DiskMenu {
    /// Kernel name of the device (`sda1`, `vda`, `nvme0n1p2`).
    pub device: String,
    /// The config's location, e.g. `sda1:/boot/grub/grub.cfg`.
    pub url: String,
    pub format: Format,
    pub menu: Menu,
}

/// Block devices worth a look: everything in /sys/class/block with a size, except RAM disks
/// and zram.
pub fn block_devices() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/sys/class/block")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.retain(|n| {
        let size = std::fs::read_to_string(format!("/sys/class/block/{n}/size"))
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0);
        size > 0 && !n.starts_with("ram") && !n.starts_with("zram")
    });
    names.sort();
    names
}

/// The configs present under a mounted filesystem `root`: config files (in [`CONFIG_PATHS`]
/// order) and BLS entry folders holding `*.conf` files.
pub fn configs_under(root: &Path) -> (Vec<&'static str>, Vec<&'static str>) {
    let files = CONFIG_PATHS
        .iter()
        .copied()
        .filter(|p| root.join(p.trim_start_matches('/')).is_file())
        .collect();
    let bls = BLS_DIRS
        .iter()
        .copied()
        .filter(|d| {
            std::fs::read_dir(root.join(d.trim_start_matches('/')))
                .map(|rd| {
                    rd.filter_map(Result::ok)
                        .any(|e| e.file_name().to_string_lossy().ends_with(".conf"))
                })
                .unwrap_or(false)
        })
        .collect();
    (files, bls)
}

/// Scan every block device. Devices without a filesystem kboot knows are skipped quietly;
/// mount failures and parse warnings are logged.
pub fn scan(ctx: &ParseContext, log: &mut dyn FnMut(String)) -> Vec<DiskMenu> {
    let mut out = Vec::new();
    // Maps LVM2 logical volumes and RAID1 members read-only (dm-N), so they are listed below.
    let _ = crate::disk::inventory(log);
    for name in block_devices() {
        let device = DeviceRef::Name(name.clone());
        let Ok((dev, Some(info))) = local::find_device(&device) else {
            continue;
        };
        let types = local::types_to_try(Some(&info));
        let mount = match local::mount_ro(&dev.display().to_string(), &types, None) {
            Ok(m) => m,
            Err((tried, e)) => {
                log(format!("{name}: cannot mount it read-only ({tried}): {e}"));
                continue;
            }
        };
        let (files, bls_dirs) = configs_under(mount.dir());
        for path in files {
            let url = format!("{name}:{path}");
            let full = mount.dir().join(path.trim_start_matches('/'));
            let text = match read_limited(&full) {
                Ok(t) => t,
                Err(e) => {
                    log(format!("{url}: {e}"));
                    continue;
                }
            };
            let (format, menu) =
                super::load::parse_fetched(&text, &url, None, ctx, &AtomicBool::new(false));
            log(format!(
                "{url}: {format} config, {} entries",
                menu.entries.len()
            ));
            out.push(DiskMenu {
                device: name.clone(),
                url,
                format,
                menu,
            });
        }
        for dir in bls_dirs {
            let entries = read_bls_dir(&mount.dir().join(dir.trim_start_matches('/')));
            let root = dir.trim_end_matches("/loader/entries");
            let base = format!("{name}:{root}/");
            let menu = super::bls::menu_from_entries(entries, &base);
            let url = format!("{name}:{dir}/");
            log(format!(
                "{url}: {} Boot Loader Spec entries",
                menu.entries.len()
            ));
            out.push(DiskMenu {
                device: name.clone(),
                url,
                format: Format::Bls,
                menu,
            });
        }
    }
    out
}

fn read_limited(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.len() > CONFIG_LIMIT {
        return Err(format!("larger than {CONFIG_LIMIT} bytes: not read"));
    }
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| e.to_string())
}

fn read_bls_dir(dir: &Path) -> Vec<(String, String)> {
    let mut entries: Vec<(String, String)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".conf"))
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    read_limited(&e.path()).ok().map(|t| (name, t))
                })
                .collect()
        })
        .unwrap_or_default();
    entries.sort();
    entries
}

/// One submenu per config found, titled after the device, for the main menu. Disk entries
/// boot installed systems: they get no network handoff.
pub fn as_entries(found: &[DiskMenu]) -> Vec<Entry> {
    found
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut children = d.menu.entries.clone();
            no_handoff(&mut children);
            let path = d.url.split_once(':').map_or(d.url.as_str(), |(_, p)| p);
            let what = d.menu.title.clone().unwrap_or_else(|| path.to_string());
            Entry {
                id: format!("disk{i}-{}", d.device),
                title: format!("Disk {}: {what}", d.device),
                help: Some(d.url.clone()),
                children,
                ..Default::default()
            }
        })
        .filter(|e| !e.children.is_empty())
        .collect()
}

fn no_handoff(entries: &mut [Entry]) {
    for e in entries {
        e.handoff = Handoff::Off;
        no_handoff(&mut e.children);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_loader_configs_and_bls_folders_under_a_root() {
        let root = std::env::temp_dir().join(format!("kboot-disks-{}", std::process::id()));
        std::fs::create_dir_all(root.join("boot/grub")).unwrap();
        std::fs::create_dir_all(root.join("boot/loader/entries")).unwrap();
        std::fs::create_dir_all(root.join("loader/entries")).unwrap();
        std::fs::write(root.join("boot/grub/grub.cfg"), "menuentry x {}").unwrap();
        std::fs::write(root.join("extlinux.conf"), "LABEL a").unwrap();
        std::fs::write(root.join("boot/loader/entries/a.conf"), "title a").unwrap();
        // An empty entries folder does not count.
        let (files, bls) = configs_under(&root);
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(files, vec!["/boot/grub/grub.cfg", "/extlinux.conf"]);
        assert_eq!(bls, vec!["/boot/loader/entries"]);
    }

    #[test]
    fn disk_menus_become_submenus_without_handoff() {
        let menu = super::super::kboot::parse(
            "linux='/boot/vmlinuz root=/dev/sda2'\n",
            Some("sda1:/kboot.conf"),
        );
        let found = vec![
            DiskMenu {
                device: "sda1".into(),
                url: "sda1:/kboot.conf".into(),
                format: Format::Kboot,
                menu,
            },
            DiskMenu {
                device: "sdb".into(),
                url: "sdb:/extlinux.conf".into(),
                format: Format::Pxelinux,
                menu: Menu::default(),
            },
        ];
        let entries = as_entries(&found);
        assert_eq!(entries.len(), 1, "a config without entries is left out");
        assert_eq!(entries[0].title, "Disk sda1: /kboot.conf");
        let child = &entries[0].children[0];
        assert_eq!(child.kernel.as_deref(), Some("sda1:/boot/vmlinuz"));
        assert_eq!(child.handoff, Handoff::Off);
    }
}
