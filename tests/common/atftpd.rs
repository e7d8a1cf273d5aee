//! A real `atftpd` on 127.0.0.1 at a free port, serving a fresh folder; killed and removed on
//! drop (the log is kept when the test failed). Needs `/usr/sbin/atftpd` (Debian `atftpd`):
//! the tests fail, on purpose, when it is missing.

use std::net::{SocketAddr, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use kboot::fetch::tftp::{download, TftpOptions};

pub const ATFTPD: &str = "/usr/sbin/atftpd";

pub struct Server {
    child: Child,
    pub dir: PathBuf,
    log: PathBuf,
    pub addr: SocketAddr,
}

impl Server {
    /// What atftpd logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        if std::thread::panicking() {
            eprintln!("atftpd log: {}", self.log.display());
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// Deterministic pseudo-random bytes (the same for a seed every time), for served files.
pub fn content(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// A free UDP port on loopback (racy, but good enough for a test).
pub fn free_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind an ephemeral port");
    s.local_addr().expect("local address").port()
}

/// Write a world-readable file (atftpd drops to nobody), creating parent folders.
pub fn write_file(dir: &Path, name: &str, data: &[u8]) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create parent");
        let mut p = parent;
        while p.starts_with(dir) {
            let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755));
            match p.parent() {
                Some(up) => p = up,
                None => break,
            }
        }
    }
    std::fs::write(&path, data).expect("write served file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod file");
}

/// Start atftpd serving a fresh folder (named after `name`) filled by `fill`.
pub fn start(name: &str, fill: impl FnOnce(&Path)) -> Server {
    assert!(
        Path::new(ATFTPD).exists(),
        "{ATFTPD} is missing: apt-get install atftpd (the TFTP integration tests need it)"
    );
    let tag = format!("kboot-{name}-{}", std::process::id());
    let dir = std::env::temp_dir().join(&tag);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create served dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
    fill(&dir);
    write_file(&dir, "ready", b"ok");
    let port = free_port();
    let log_path = std::env::temp_dir().join(format!("{tag}.log"));
    let log = std::fs::File::create(&log_path).expect("create log");
    let child = Command::new(ATFTPD)
        .args([
            "--daemon",
            "--no-fork",
            "--logfile",
            "-",
            "--verbose=7",
            "--port",
        ])
        .arg(port.to_string())
        .args(["--bind-address", "127.0.0.1"])
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("dup log"))
        .stderr(log)
        .spawn()
        .expect("spawn atftpd");
    let server = Server {
        child,
        dir,
        log: log_path,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
    };
    let quick = TftpOptions {
        timeout: Duration::from_millis(100),
        retries: 2,
        ..TftpOptions::default()
    };
    let start = Instant::now();
    loop {
        let mut sink = Vec::new();
        let cancel = AtomicBool::new(false);
        match download(
            server.addr,
            "/ready",
            &quick,
            &mut sink,
            &mut |_, _| {},
            &cancel,
        ) {
            Ok(_) => break,
            Err(e) if start.elapsed() > Duration::from_secs(10) => {
                panic!("atftpd did not come up on {}: {e}", server.addr)
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    server
}
