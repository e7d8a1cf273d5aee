//! Local disks: every volume is mounted read-only and searched for the configs boot loaders
//! keep there (GRUB, syslinux/extlinux/isolinux, kboot.conf, Boot Loader Spec entries), as
//! petitboot does, so kboot also boots the system installed on the machine. Paths in those
//! configs become device locations (`sda1:/boot/vmlinuz`) that the fetch layer mounts again.
//!
//! One scan builds the disk inventory once; GRUB device names (`hd0,msdos1`, `lvmid/...`) and
//! `search` resolve against it. Files the configs name on the same volume (includes, grubenv)
//! are read from the mount; BLS folders are read here and handed to GRUB's `blscfg`. Each
//! config becomes a submenu titled after the installed system (the os-release name of the
//! root its default entry boots), whose default child is the config's default.

use super::detect::Format;
use super::include::{BlsFolders, Fetcher, ParseContext};
use super::os_release;
use super::{Entry, Menu};
use crate::config::model::Handoff;
use crate::disk::{Inventory, LvmVolume, Volume};
use crate::fetch::local;
use crate::fetch::url::{parse_location, DeviceRef, Location};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

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

/// Boot Loader Spec type #2 folders (unified kernel images, `*.efi`), relative to a
/// filesystem's root: the ESP's or XBOOTLDR's `/EFI/Linux`, and a root filesystem's `/boot`.
pub const UKI_DIRS: &[&str] = &["/EFI/Linux", "/boot/EFI/Linux"];

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
    /// What is installed: the os-release name of the root filesystem the default entry
    /// boots ("Debian GNU/Linux 12 (bookworm)").
    pub os: Option<String>,
    /// The whole disk the config is on (`nvme0n1`), for the title.
    pub disk: Option<String>,
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

/// Scan every volume. Volumes without a filesystem kboot knows are skipped quietly; mount
/// failures and parse warnings are logged. GRUB device names in the configs resolve against
/// the inventory built here, once per scan.
pub fn scan(ctx: &ParseContext, log: &mut dyn FnMut(String)) -> Vec<DiskMenu> {
    // Also maps LVM2 logical volumes and RAID1 members read-only (dm-N); it logs what it
    // notes about a volume (LUKS, unmappable LVs).
    let inventory = Arc::new(crate::disk::inventory(log));
    let mut ctx = ctx.clone();
    ctx.inventory = Some(inventory.clone());
    let mut out = Vec::new();
    for vol in &inventory.volumes {
        let Some(info) = &vol.fs else {
            continue;
        };
        let types = local::types_to_try(Some(info));
        let dev = Path::new("/dev").join(&vol.name);
        let mount = match local::mount_ro(&dev.display().to_string(), &types, None) {
            Ok(m) => m,
            Err((tried, e)) => {
                log(format!(
                    "{}: cannot mount it read-only ({tried}): {e}",
                    vol.name
                ));
                continue;
            }
        };
        let cancel = AtomicBool::new(false);
        let mut other =
            |u: &str| crate::fetch::fetch_text(u, CONFIG_LIMIT, &cancel).map_err(|e| e.to_string());
        let mut found = read_volume(mount.dir(), &vol.name, &ctx, &mut other, log);
        // The root volume, when it is another one, is mounted once for all configs here.
        let mut other: Option<(String, local::Mounted)> = None;
        let mut read = |root: &Volume, path: &str| -> Option<String> {
            if root.name == vol.name {
                return read_limited(&mount.dir().join(path)).ok();
            }
            if other.as_ref().map(|(n, _)| n) != Some(&root.name) {
                let m = local::mount_device(&DeviceRef::Name(root.name.clone())).ok()?;
                other = Some((root.name.clone(), m));
            }
            let (_, m) = other.as_ref()?;
            read_limited(&m.dir().join(path)).ok()
        };
        for d in &mut found {
            d.disk = vol.disk.clone();
            d.os = installed_os(&d.menu, &inventory, &mut read);
        }
        out.extend(found);
    }
    out
}

/// The configs on one volume mounted at `dir` (kernel name `name`), parsed with `ctx` (which
/// carries the inventory). Files on this volume (`name:/path`: includes, grubenv, `search
/// --file`) are read from `dir`; others through `other` (the fetch layer). BLS folders are read here
/// for GRUB's `blscfg`; a folder a grub.cfg on this volume already shows through `blscfg` is
/// not shown again on its own.
pub fn read_volume(
    dir: &Path,
    name: &str,
    ctx: &ParseContext,
    other: &mut Fetcher<'_>,
    log: &mut dyn FnMut(String),
) -> Vec<DiskMenu> {
    let (files, bls_dirs) = configs_under(dir);
    let mut folders = BlsFolders::new();
    for d in &bls_dirs {
        let entries = read_bls_dir(&dir.join(d.trim_start_matches('/')));
        folders.insert(format!("{name}:{d}"), entries);
    }
    let mut ctx = ctx.clone();
    ctx.bls = Arc::new(folders);
    // The files each config includes, with their digests, for PCR 8.
    let included = std::cell::RefCell::new(Vec::new());
    let mut fetch = |u: &str| -> Result<String, String> {
        let text = match on_volume(u, name) {
            Some(path) => read_limited(&dir.join(path.trim_start_matches('/'))),
            None => other(u),
        }?;
        included
            .borrow_mut()
            .push((u.to_string(), sha256(text.as_bytes())));
        Ok(text)
    };
    let mut out = Vec::new();
    let mut bls_shown = false;
    for path in files {
        let url = format!("{name}:{path}");
        let text = match read_limited(&dir.join(path.trim_start_matches('/'))) {
            Ok(t) => t,
            Err(e) => {
                log(format!("{url}: {e}"));
                continue;
            }
        };
        included.replace(vec![(url.clone(), sha256(text.as_bytes()))]);
        let (format, mut menu) = super::parse::parse_config(&text, &url, None, &ctx, &mut fetch);
        crate::trust::config::set_config_files(&mut menu.entries, &included.borrow());
        log(format!(
            "{url}: {format} config, {} entries",
            menu.entries.len()
        ));
        for w in &menu.warnings {
            log(format!("warning: {w}"));
        }
        if format == Format::Grub && text.contains("blscfg") && !menu.entries.is_empty() {
            bls_shown = true;
        }
        out.push(DiskMenu {
            device: name.to_string(),
            url,
            format,
            menu,
            os: None,
            disk: None,
        });
    }
    out.extend(uki_menus(dir, name, log));
    if bls_shown {
        return out;
    }
    for d in bls_dirs {
        let entries = ctx
            .bls
            .get(&format!("{name}:{d}"))
            .cloned()
            .unwrap_or_default();
        let root = d.trim_end_matches("/loader/entries");
        let base = format!("{name}:{root}/");
        let url = format!("{name}:{d}/");
        // Every entry file of the folder, for PCR 8 (which file made which entry is the
        // folder's business: all are measured).
        let files: Vec<(String, [u8; 32])> = entries
            .iter()
            .map(|(file, text)| (format!("{url}{file}"), sha256(text.as_bytes())))
            .collect();
        let mut menu = super::bls::menu_from_entries(entries, &base);
        crate::trust::config::set_config_files(&mut menu.entries, &files);
        log(format!(
            "{url}: {} Boot Loader Spec entries",
            menu.entries.len()
        ));
        out.push(DiskMenu {
            device: name.to_string(),
            url,
            format: Format::Bls,
            menu,
            os: None,
            disk: None,
        });
    }
    out
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// Boot Loader Spec type #2 entries: each unified kernel image in a [`UKI_DIRS`] folder of the
/// volume mounted at `dir` (`name`) is an entry titled from its `.osrel` (PRETTY_NAME) and
/// `.uname`, as systemd-boot shows it, newest file name first. Only the headers and the small
/// sections are read here; a `*.efi` file that is no UKI (no `.linux`) is skipped.
pub fn uki_menus(dir: &Path, name: &str, log: &mut dyn FnMut(String)) -> Vec<DiskMenu> {
    use std::os::unix::fs::FileExt;
    let mut out = Vec::new();
    for d in UKI_DIRS {
        let Ok(rd) = std::fs::read_dir(dir.join(d.trim_start_matches('/'))) else {
            continue;
        };
        let mut files: Vec<(String, std::path::PathBuf)> = rd
            .filter_map(Result::ok)
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
            .filter(|(n, p)| n.to_ascii_lowercase().ends_with(".efi") && p.is_file())
            .collect();
        files.sort_by(|a, b| super::bls::version_cmp(&b.0, &a.0));
        let mut entries = Vec::new();
        for (file_name, path) in files {
            let Ok(file) = std::fs::File::open(&path) else {
                continue;
            };
            let len = file.metadata().map(|m| m.len()).unwrap_or(0);
            let mut head = vec![0u8; crate::boot::uki::HEAD.min(len as usize)];
            if file.read_exact_at(&mut head, 0).is_err() {
                continue;
            }
            let mut read = |at: usize, n: usize| {
                let mut b = vec![0u8; n];
                file.read_exact_at(&mut b, at as u64).ok().map(|_| b)
            };
            let url = format!("{name}:{d}/{file_name}");
            let Some(uki) = crate::boot::uki::describe(&head, len, &mut read) else {
                log(format!(
                    "{url}: not a unified kernel image (no .linux section): skipped"
                ));
                continue;
            };
            let stem = file_name
                .rsplit_once('.')
                .map_or(file_name.as_str(), |(s, _)| s)
                .to_string();
            entries.push(Entry {
                id: stem.clone(),
                title: uki.title.unwrap_or(stem),
                kernel: Some(url.clone()),
                cmdline: uki.cmdline.unwrap_or_default(),
                help: Some(format!("unified kernel image {url}")),
                ..Default::default()
            });
        }
        if entries.is_empty() {
            continue;
        }
        let url = format!("{name}:{d}/");
        log(format!("{url}: {} unified kernel images", entries.len()));
        out.push(DiskMenu {
            device: name.to_string(),
            url,
            format: Format::Bls,
            menu: Menu {
                title: Some("Unified kernel images".into()),
                default: entries.first().map(|e| e.id.clone()),
                entries,
                ..Default::default()
            },
            os: None,
            disk: None,
        });
    }
    out
}

/// The path of `url` when it is a file on the volume `name` (`name:/path`).
fn on_volume(url: &str, name: &str) -> Option<String> {
    match parse_location(url).ok()? {
        Location::Device {
            device: DeviceRef::Name(n),
            path,
        } if n == name => Some(path),
        _ => None,
    }
}

/// The root filesystem a kernel command line names (`root=UUID=...`, `root=LABEL=...`,
/// `root=/dev/mapper/vg-lv`, `root=/dev/vg/lv`, `root=/dev/nvme0n1p2`,
/// `/dev/disk/by-uuid/...`) among the inventory's volumes, and the btrfs subvolume from
/// `rootflags=subvol=`. The last `root=` counts, as for the kernel.
pub fn root_volume<'i>(cmdline: &str, inv: &'i Inventory) -> Option<(&'i Volume, Option<String>)> {
    let words = crate::cmdline::split(cmdline);
    let root = words.iter().rev().find_map(|w| w.strip_prefix("root="))?;
    let root = root.trim_matches('"');
    let subvol = words
        .iter()
        .rev()
        .find_map(|w| w.strip_prefix("rootflags="))
        .and_then(|f| {
            f.trim_matches('"')
                .split(',')
                .find_map(|o| o.strip_prefix("subvol="))
                .map(|s| s.trim_matches('/').to_string())
        })
        .filter(|s| !s.is_empty());
    let by_uuid = |u: &str| {
        inv.volumes.iter().find(|v| {
            v.fs.as_ref()
                .and_then(|f| f.uuid.as_deref())
                .is_some_and(|x| x.eq_ignore_ascii_case(u))
        })
    };
    let by_label = |l: &str| {
        inv.volumes
            .iter()
            .find(|v| v.fs.as_ref().and_then(|f| f.label.as_deref()) == Some(l))
    };
    let lv = |pred: &dyn Fn(&LvmVolume) -> bool| {
        inv.volumes
            .iter()
            .find(|v| v.lvm.as_ref().is_some_and(pred))
    };
    let vol = if let Some(u) = root.strip_prefix("UUID=") {
        by_uuid(u)
    } else if let Some(l) = root.strip_prefix("LABEL=") {
        by_label(l)
    } else if let Some(u) = root.strip_prefix("/dev/disk/by-uuid/") {
        by_uuid(u)
    } else if let Some(l) = root.strip_prefix("/dev/disk/by-label/") {
        by_label(l)
    } else if let Some(m) = root.strip_prefix("/dev/mapper/") {
        let esc = |s: &str| s.replace('-', "--");
        lv(&|l| format!("{}-{}", esc(&l.vg_name), esc(&l.lv_name)) == m)
    } else if let Some(dev) = root.strip_prefix("/dev/") {
        match dev.split_once('/') {
            Some((vg, name)) => lv(&|l| l.vg_name == vg && l.lv_name == name),
            None => inv.volume(dev),
        }
    } else {
        None
    }?;
    Some((vol, subvol))
}

/// The os-release name of the root the menu's default entry boots. `read(volume, path)`
/// reads a file (`etc/os-release`, below the btrfs subvolume of `rootflags=subvol=`) from that
/// volume's filesystem.
pub fn installed_os(
    menu: &Menu,
    inv: &Inventory,
    read: &mut dyn FnMut(&Volume, &str) -> Option<String>,
) -> Option<String> {
    let entry = menu.default_entry()?;
    let (vol, subvol) = root_volume(&entry.cmdline, inv)?;
    ["etc/os-release", "usr/lib/os-release"]
        .iter()
        .find_map(|p| {
            let path = match &subvol {
                Some(s) => format!("{s}/{p}"),
                None => p.to_string(),
            };
            read(vol, &path)
        })
        .and_then(|t| os_release::parse(&t).display_name())
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

/// One submenu per config found, for the main menu: titled after what is installed ("Debian
/// GNU/Linux 12 (bookworm) on nvme0n1"), else after the device and config path. The config's
/// default is the submenu's default child. Disk entries boot installed systems: they get no
/// network handoff.
pub fn as_entries(found: &[DiskMenu]) -> Vec<Entry> {
    found
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut children = d.menu.entries.clone();
            no_handoff(&mut children);
            let path = d.url.split_once(':').map_or(d.url.as_str(), |(_, p)| p);
            let title = match &d.os {
                Some(os) => format!("{os} on {}", d.disk.as_deref().unwrap_or(&d.device)),
                None => {
                    let what = d.menu.title.clone().unwrap_or_else(|| path.to_string());
                    format!("Disk {}: {what}", d.device)
                }
            };
            let default_child = d
                .menu
                .default
                .clone()
                .filter(|id| children.iter().any(|c| c.id == *id));
            Entry {
                id: format!("disk{i}-{}", d.device),
                title,
                help: Some(d.url.clone()),
                children,
                default_child,
                ..Default::default()
            }
        })
        .filter(|e| !e.children.is_empty())
        .collect()
}

/// The menu shown when there is no network menu: the disks' submenus, the first one the
/// default (booting its own default entry, see [`Menu::default_entry`]), counting down with
/// that config's timeout (GRUB's `set timeout=5`; none waits).
pub fn as_menu(found: &[DiskMenu]) -> Menu {
    let entries = as_entries(found);
    let first = entries.first().map(|e| e.id.clone());
    let timeout_ms = first.as_ref().and_then(|id| {
        let i: usize = id.strip_prefix("disk")?.split('-').next()?.parse().ok()?;
        found.get(i)?.menu.timeout_ms
    });
    Menu {
        title: Some("Local disks".into()),
        default: first,
        timeout_ms,
        entries,
        ..Default::default()
    }
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
    fn a_disks_config_and_what_it_sources_are_recorded_for_pcr_8() {
        let root = std::env::temp_dir().join(format!("kboot-disks-pcr8-{}", std::process::id()));
        std::fs::create_dir_all(root.join("boot/grub")).unwrap();
        let main = "source /boot/grub/more.cfg\nmenuentry 'A' { linux /vmlinuz }\n";
        let more = "menuentry 'B' { linux /vmlinuz-b }\n";
        std::fs::write(root.join("boot/grub/grub.cfg"), main).unwrap();
        std::fs::write(root.join("boot/grub/more.cfg"), more).unwrap();
        let mut other = |u: &str| -> Result<String, String> { Err(format!("no {u}")) };
        let found = read_volume(
            &root,
            "vda1",
            &ParseContext::default(),
            &mut other,
            &mut |_| {},
        );
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(found.len(), 1);
        let entries = &found[0].menu.entries;
        assert!(!entries.is_empty());
        for e in entries {
            assert_eq!(e.config_files.len(), 2, "{:?}", e.config_files);
            assert_eq!(
                e.config_files[0],
                (
                    "vda1:/boot/grub/grub.cfg".to_string(),
                    sha256(main.as_bytes())
                )
            );
            assert_eq!(e.config_files[1].1, sha256(more.as_bytes()));
        }
    }

    #[test]
    fn unified_kernel_images_become_entries_titled_from_their_os_release() {
        let root = std::env::temp_dir().join(format!("kboot-uki-{}", std::process::id()));
        let dir = root.join("EFI/Linux");
        std::fs::create_dir_all(&dir).unwrap();
        let uki = |version: &str| {
            crate::boot::uki::tests::pe(&[
                (
                    ".osrel",
                    b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
                ),
                (".uname", version.as_bytes()),
                (".cmdline", b"root=/dev/vda2 quiet"),
                (".linux", b"KERNEL"),
            ])
        };
        std::fs::write(dir.join("debian-6.1.0-17.efi"), uki("6.1.0-17-amd64")).unwrap();
        std::fs::write(dir.join("debian-6.1.0-18.efi"), uki("6.1.0-18-amd64")).unwrap();
        let bz = crate::boot::uki::tests::pe(&[(".text", b"T")]);
        std::fs::write(dir.join("memtest.efi"), bz).unwrap();
        let mut logged = Vec::new();
        let found = uki_menus(&root, "vda1", &mut |l| logged.push(l));
        let _ = std::fs::remove_dir_all(&root);
        assert_eq!(found.len(), 1);
        let m = &found[0];
        assert_eq!(m.url, "vda1:/EFI/Linux/");
        let titles: Vec<&str> = m.menu.entries.iter().map(|e| e.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Debian GNU/Linux 12 (bookworm) (6.1.0-18-amd64)",
                "Debian GNU/Linux 12 (bookworm) (6.1.0-17-amd64)"
            ],
            "newest first"
        );
        let e = &m.menu.entries[0];
        assert_eq!(
            e.kernel.as_deref(),
            Some("vda1:/EFI/Linux/debian-6.1.0-18.efi")
        );
        assert_eq!(e.cmdline, "root=/dev/vda2 quiet");
        assert_eq!(m.menu.default.as_deref(), Some("debian-6.1.0-18"));
        assert!(
            logged
                .iter()
                .any(|l| l.contains("memtest.efi: not a unified kernel image")),
            "{logged:?}"
        );
    }

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
                os: None,
                disk: None,
            },
            DiskMenu {
                device: "sdb".into(),
                url: "sdb:/extlinux.conf".into(),
                format: Format::Pxelinux,
                menu: Menu::default(),
                os: None,
                disk: None,
            },
        ];
        let entries = as_entries(&found);
        assert_eq!(entries.len(), 1, "a config without entries is left out");
        assert_eq!(entries[0].title, "Disk sda1: /kboot.conf");
        let child = &entries[0].children[0];
        assert_eq!(child.kernel.as_deref(), Some("sda1:/boot/vmlinuz"));
        assert_eq!(child.handoff, Handoff::Off);
    }

    #[test]
    fn root_volumes_from_command_lines() {
        let inv = crate::config::grub_device::tests::sample();
        let r = |c: &str| root_volume(c, &inv).map(|(v, s)| (v.name.clone(), s));
        assert_eq!(
            r("root=UUID=22222222-2222-2222-2222-222222222222 ro quiet"),
            Some(("nvme0n1p2".into(), None))
        );
        assert_eq!(r("root=LABEL=root"), Some(("dm-0".into(), None)));
        assert_eq!(
            r("root=/dev/mapper/debian--vg-root ro single"),
            Some(("dm-0".into(), None))
        );
        assert_eq!(r("root=/dev/debian-vg/root"), Some(("dm-0".into(), None)));
        assert_eq!(r("root=/dev/sda5"), Some(("sda5".into(), None)));
        assert_eq!(
            r("root=/dev/disk/by-uuid/11111111-1111-1111-1111-111111111111"),
            Some(("sda1".into(), None))
        );
        assert_eq!(
            r("root=/dev/sda1 rootflags=compress=zstd,subvol=/root root=/dev/md127"),
            Some(("md127".into(), Some("root".into())))
        );
        for bad in [
            "",
            "ro quiet",
            "root=",
            "root=PARTUUID=x",
            "root=/dev/nope",
            "root=UUID=",
            "root=/dev/mapper/",
            "root=/dev/a/b/c",
            "root=\"",
            "root=ZFS=rpool",
        ] {
            assert_eq!(r(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_local_menu_boots_the_first_disks_default() {
        let grub = |default: &str| {
            let mut m = super::super::grub::parse(
                &format!("set timeout=3\nset default='{default}'\nmenuentry A {{ linux /a }}\nsubmenu S {{ menuentry B {{ linux /b single }} }}\n"),
                "vda1:/boot/grub/grub.cfg",
                &ParseContext::default(),
                &mut |_: &str| Err("none".to_string()),
            );
            m.warnings.clear();
            m
        };
        let found = vec![
            DiskMenu {
                device: "vda1".into(),
                url: "vda1:/empty.conf".into(),
                format: Format::Kboot,
                menu: Menu::default(),
                os: None,
                disk: None,
            },
            DiskMenu {
                device: "vda1".into(),
                url: "vda1:/boot/grub/grub.cfg".into(),
                format: Format::Grub,
                menu: grub("S>B"),
                os: Some("Debian GNU/Linux 12 (bookworm)".into()),
                disk: Some("vda".into()),
            },
        ];
        let m = as_menu(&found);
        assert_eq!(m.default.as_deref(), Some("disk1-vda1"));
        assert_eq!(m.timeout_ms, Some(3000));
        assert_eq!(m.entries[0].title, "Debian GNU/Linux 12 (bookworm) on vda");
        let e = m.default_entry().unwrap();
        assert_eq!(
            (e.id.as_str(), e.cmdline.as_str()),
            ("B", "BOOT_IMAGE=/b single")
        );
        assert_eq!(e.kernel.as_deref(), Some("vda1:/b"));
        assert_eq!(e.handoff, Handoff::Off);
        assert_eq!(as_menu(&[]).default, None);
    }
}
