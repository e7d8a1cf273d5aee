//! The /sbin/init of the diskless tests' network root (an ext4 image that `qemu/build-diskless`
//! makes and the tests export over iSCSI, NBD or NFS). It proves that the target's own initramfs
//! attached the root over the network and switched to it: it prints which device (or NFS export)
//! is mounted on /, the kernel command line and the loaded modules, then powers the machine
//! off.
//!
//! Built as a static musl binary; unlike demo_init it runs from a real root filesystem, where
//! the initramfs has usually moved /proc, /sys and /dev over already.

use std::io::Write;

/// The source and type of the filesystem mounted on `/`, from /proc/mounts (the last entry for
/// `/` wins: the initramfs's rootfs is listed first).
fn root_source(mounts: &str) -> Option<(String, String)> {
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (src, dir, fstype) = (f.next()?, f.next()?, f.next()?);
            (dir == "/").then(|| (src.to_string(), fstype.to_string()))
        })
        .rfind(|(_, fstype)| fstype != "rootfs")
}

fn main() {
    if !std::path::Path::new("/proc/self").exists() {
        let _ = std::fs::create_dir_all("/proc");
        // SAFETY: plain mount(2) with static NUL-terminated strings.
        unsafe {
            libc::mount(
                c"proc".as_ptr(),
                c"/proc".as_ptr(),
                c"proc".as_ptr(),
                0,
                std::ptr::null(),
            );
        }
    }
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let (src, fstype) = root_source(&mounts).unwrap_or_else(|| ("?".into(), "?".into()));
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    let marker = std::fs::read_to_string("/etc/kboot-root-marker").unwrap_or_default();
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
        "\nKBOOT-ROOT: hello from the network root on {src} ({fstype}) marker={}",
        marker.trim()
    );
    let _ = writeln!(out, "KBOOT-ROOT: cmdline: {}", cmdline.trim());
    // The loaded modules (first field of each /proc/modules line), for kboot.modules= tests.
    let modules = std::fs::read_to_string("/proc/modules").unwrap_or_default();
    let names: Vec<&str> = modules
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let _ = writeln!(out, "KBOOT-ROOT: modules: {}", names.join(" "));
    let _ = writeln!(out, "KBOOT-ROOT: powering off");
    let _ = out.flush();
    std::thread::sleep(std::time::Duration::from_millis(200));
    // SAFETY: sync and reboot(2) with a valid command; PID 1 of a throwaway test root.
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_POWER_OFF);
    }
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
