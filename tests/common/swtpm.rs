//! A software TPM 2.0 for one guest: Debian's `swtpm` on a unix socket, which QEMU's `tpm-tis`
//! device reaches through a chardev. Killed, and its state removed, when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub struct Swtpm {
    child: Child,
    dir: PathBuf,
}

impl Swtpm {
    /// Start one with its state in `dir/swtpm` (emptied first).
    pub fn start(dir: &Path) -> Swtpm {
        let dir = dir.join("swtpm");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("sock");
        let child = Command::new("swtpm")
            .args(["socket", "--tpm2", "--tpmstate"])
            .arg(format!("dir={}", dir.display()))
            .arg("--ctrl")
            .arg(format!("type=unixio,path={}", sock.display()))
            .spawn()
            .expect("swtpm is missing: run qemu/setup (Debian packages swtpm, swtpm-tools)");
        let t = Instant::now();
        while !sock.exists() {
            assert!(t.elapsed() < Duration::from_secs(10), "swtpm did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Swtpm { child, dir }
    }

    /// The control socket, for QEMU's `-chardev socket,path=`.
    pub fn sock(&self) -> String {
        self.dir.join("sock").display().to_string()
    }

    /// QEMU's arguments for a `tpm-tis` device backed by this swtpm.
    pub fn qemu_args(&self) -> Vec<String> {
        vec![
            "-chardev".to_string(),
            format!("socket,id=chrtpm,path={}", self.sock()),
            "-tpmdev".to_string(),
            "emulator,id=tpm0,chardev=chrtpm".to_string(),
            "-device".to_string(),
            "tpm-tis,tpmdev=tpm0".to_string(),
        ]
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
