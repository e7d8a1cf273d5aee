//! Put /dev/console on fds 0, 1 and 2, and make it our controlling terminal.

use std::os::fd::AsRawFd;

/// Open /dev/console and make it stdin, stdout and stderr. Best effort: without a console there
/// is nobody to tell.
pub fn attach() {
    let Ok(console) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/console")
    else {
        return;
    };
    let fd = console.as_raw_fd();
    // SAFETY: plain fd duplication onto 0..2; `console` stays open until the end of scope.
    unsafe {
        libc::setsid();
        libc::ioctl(fd, libc::TIOCSCTTY, 1);
        for target in 0..3 {
            libc::dup2(fd, target);
        }
    }
}

/// Keep kernel messages below warnings off the console while the menu owns it (what `quiet`
/// does), unless the user asked for `debug`, `loglevel=` or `ignore_loglevel`.
pub fn quiet_kernel(cmdline: &str) {
    let asked = cmdline
        .split_whitespace()
        .any(|w| w == "debug" || w == "ignore_loglevel" || w.starts_with("loglevel="));
    if !asked {
        let _ = std::fs::write("/proc/sys/kernel/printk", "4");
    }
}
