//! What the diskless end-to-end tests share (tests/qemu_diskless.rs for initramfs-tools,
//! tests/qemu_diskless_dracut.rs for dracut): a TFTP folder of fixture files plus a kboot.conf,
//! the guest that boots it, and what the root's init (examples/root_init.rs) prints.

use super::{Guest, GuestOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The marker of the root's init; the rest of its line names the device mounted on /.
pub const HELLO: &str = "KBOOT-ROOT: hello from the network root on ";

/// A fresh TFTP folder holding `files` (hard links where possible, else copies; each must
/// exist) and `conf` as kboot.conf; removed on drop.
pub struct Folder(pub PathBuf);

impl Folder {
    pub fn new(test: &str, files: &[PathBuf], conf: &str) -> Folder {
        let dir =
            std::env::temp_dir().join(format!("kboot-diskless-{test}-tftp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for src in files {
            let name = src.file_name().expect("a file name");
            if std::fs::hard_link(src, dir.join(name)).is_err() {
                std::fs::copy(src, dir.join(name))
                    .unwrap_or_else(|e| panic!("{}: {e}", src.display()));
            }
        }
        std::fs::write(dir.join("kboot.conf"), conf).unwrap();
        Folder(dir)
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// kboot in QEMU (1 GiB: a distro kernel and initramfs follow it) loading the folder's
/// kboot.conf.
pub fn boot(name: &str, tftp: &Path) -> Guest {
    Guest::start(
        name,
        &GuestOptions {
            append: "kboot.config=tftp://10.0.2.2/kboot.conf",
            memory_mb: 1024,
            ..GuestOptions::serving(tftp)
        },
    )
}

/// Wait up to `timeout` for the root init's marker line (whole: serial output arrives in
/// pieces) and check it comes from our root image; returns the line, which names the root
/// device and its filesystem.
pub fn root_hello(g: &mut Guest, timeout: Duration) -> String {
    let line = format!("{HELLO}{}", g.line_after(HELLO, timeout));
    assert!(
        line.contains("marker=kboot-diskless-root"),
        "not our root image: {line}"
    );
    line
}

/// The command line the root's init printed.
pub fn root_cmdline(g: &mut Guest) -> String {
    g.line_after("KBOOT-ROOT: cmdline:", Duration::from_secs(10))
}

/// The modules loaded when the root's init ran.
pub fn root_modules(g: &mut Guest) -> Vec<String> {
    g.line_after("KBOOT-ROOT: modules:", Duration::from_secs(10))
        .split_whitespace()
        .map(str::to_string)
        .collect()
}
