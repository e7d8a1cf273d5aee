//! The file systems PID 1 mounts before anything else, and unmounts before kexec.

use nix::mount::{mount, umount2, MntFlags, MsFlags};

/// (source, target, fstype, flags, data)
const EARLY: &[(&str, &str, &str, u64, &str)] = &[
    ("devtmpfs", "/dev", "devtmpfs", libc::MS_NOSUID, "mode=0755"),
    (
        "proc",
        "/proc",
        "proc",
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        "",
    ),
    (
        "sysfs",
        "/sys",
        "sysfs",
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        "",
    ),
    (
        "tmpfs",
        "/run",
        "tmpfs",
        libc::MS_NOSUID | libc::MS_NODEV,
        "mode=0755",
    ),
    (
        "tmpfs",
        "/tmp",
        "tmpfs",
        libc::MS_NOSUID | libc::MS_NODEV,
        "mode=1777",
    ),
];

/// How many of [`EARLY`] the menu needs: /dev (consoles) and /proc (the command line).
const FOR_MENU: usize = 2;

/// Mount /dev and /proc, all the menu's first frame needs. Returns one sentence per mount that
/// failed (a mount that is already there is not a failure).
pub fn mount_for_menu() -> Vec<String> {
    mount_all(&EARLY[..FOR_MENU])
}

/// Mount /sys, /run and /tmp, and make /run/kboot; as [`mount_for_menu`].
pub fn mount_rest() -> Vec<String> {
    let errors = mount_all(&EARLY[FOR_MENU..]);
    let _ = std::fs::create_dir_all("/run/kboot");
    errors
}

/// Mount everything of [`EARLY`] again (after a failed kexec or reboot unmounted it).
pub fn mount_early() -> Vec<String> {
    let mut errors = mount_for_menu();
    errors.extend(mount_rest());
    errors
}

fn mount_all(list: &[(&str, &str, &str, u64, &str)]) -> Vec<String> {
    let mut errors = Vec::new();
    for (source, target, fstype, flags, data) in list {
        let _ = std::fs::create_dir_all(target);
        let flags = MsFlags::from_bits_truncate(*flags as _);
        let data = (!data.is_empty()).then_some(*data);
        match mount(Some(*source), *target, Some(*fstype), flags, data) {
            Ok(()) | Err(nix::errno::Errno::EBUSY) => {}
            Err(e) => errors.push(format!("cannot mount {fstype} on {target}: {e}")),
        }
    }
    errors
}

/// Detach everything mounted by `mount_early` (and anything else under it), innermost first.
pub fn unmount_all() {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let mut targets: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|t| *t != "/")
        .collect();
    targets.sort_by_key(|t| std::cmp::Reverse(t.len()));
    nix::unistd::sync();
    for t in targets {
        let _ = umount2(t, MntFlags::MNT_DETACH);
    }
}
