//! Real disk servers for the diskless end-to-end tests, on the host's loopback only (the guest
//! reaches it as 10.0.2.2 through QEMU's user network): `tgtd` (iSCSI, Debian `tgt`) and
//! `qemu-nbd` (NBD, Debian `qemu-utils`). Each is started by the test, serves a private copy (or
//! a throw-away snapshot) of the root image that `qemu/build-diskless` made, and is killed on
//! drop, its files removed; its log is kept and named when the test failed.
//!
//! `qemu/build-diskless` installs the packages; the helpers fail with that advice when a server
//! is missing.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const TGTD: &str = "/usr/sbin/tgtd";
pub const TGTADM: &str = "/usr/sbin/tgtadm";
pub const QEMU_NBD: &str = "/usr/bin/qemu-nbd";
/// The iSCSI port: the guest's initramfs defaults to it and tgtd has to have it.
pub const ISCSI_PORT: u16 = 3260;

fn require(path: &str, package: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: run qemu/build-diskless (it installs Debian's {package})"
    );
}

/// A scratch path for one server of one test.
fn scratch(test: &str, what: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "kboot-diskless-{test}-{what}-{}",
        std::process::id()
    ))
}

/// A free TCP port on loopback (racy, but good enough for a test).
pub fn free_tcp_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local address").port()
}

/// Wait until something accepts TCP connections on 127.0.0.1:`port`, or the child exits.
fn wait_listening(child: &mut Child, port: u16, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{what} exited ({status}) before listening on 127.0.0.1:{port}; log {}:\n{}",
                log.display(),
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "{what} does not listen on 127.0.0.1:{port} after 15 s; log {}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One log file for a server's stdout and stderr.
fn log_files(path: &Path) -> (Stdio, Stdio) {
    let f = std::fs::File::create(path).expect("create a server log");
    let g = f.try_clone().expect("clone the log handle");
    (f.into(), g.into())
}

/// Kill and reap a server; remove its scratch files, keeping the log when the test failed.
fn stop(child: &mut Child, files: &[&Path], log: &Path, what: &str) {
    let _ = child.kill();
    let _ = child.wait();
    for f in files {
        let _ = std::fs::remove_file(f);
    }
    if std::thread::panicking() {
        eprintln!("{what} log: {}", log.display());
    } else {
        let _ = std::fs::remove_file(log);
    }
}

/// `tgtd` exporting a private copy of `image` as LUN 1 of target `iqn` on 127.0.0.1:3260,
/// to initiators connecting from 127.0.0.1 (QEMU's user network makes the guest one of them).
pub struct Tgtd {
    child: Child,
    control: u32,
    image: PathBuf,
    log: PathBuf,
    pub iqn: String,
}

impl Tgtd {
    pub fn start(test: &str, image: &Path, iqn: &str) -> Tgtd {
        require(TGTD, "tgt");
        require(TGTADM, "tgt");
        if let Err(e) = TcpListener::bind(("127.0.0.1", ISCSI_PORT)) {
            panic!(
                "127.0.0.1:{ISCSI_PORT} is busy ({e}): the iSCSI test needs that port for its own \
                 tgtd; stop whatever listens there (ss -ltnp 'sport = :{ISCSI_PORT}')"
            );
        }
        let copy = scratch(test, "lun.img");
        std::fs::copy(image, &copy).expect("copy the root image for tgtd");
        let log = scratch(test, "tgtd.log");
        // tgtd's management socket is /var/run/tgtd/socket.<control>: a number of our own, so
        // another tgtd on this machine (the default one uses 0) is not disturbed.
        let control = 1000 + std::process::id() % 60000;
        let (out, err) = log_files(&log);
        let mut child = Command::new(TGTD)
            .args(["-f", "-C", &control.to_string()])
            .args(["--iscsi", &format!("portal=127.0.0.1:{ISCSI_PORT}")])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start tgtd");
        wait_listening(&mut child, ISCSI_PORT, "tgtd", &log);
        let t = Tgtd {
            child,
            control,
            image: copy,
            log,
            iqn: iqn.into(),
        };
        let lun = t.image.display().to_string();
        t.adm(&["--op", "new", "--mode", "target", "--tid", "1", "-T", iqn]);
        t.adm(&[
            "--op",
            "new",
            "--mode",
            "logicalunit",
            "--tid",
            "1",
            "--lun",
            "1",
            "-b",
            &lun,
        ]);
        t.adm(&[
            "--op",
            "bind",
            "--mode",
            "target",
            "--tid",
            "1",
            "-I",
            "127.0.0.1",
        ]);
        t
    }

    /// Run `tgtadm --lld iscsi ARGS` against this tgtd; panics with its output on failure.
    pub fn adm(&self, args: &[&str]) -> String {
        let out = Command::new(TGTADM)
            .args(["-C", &self.control.to_string(), "--lld", "iscsi"])
            .args(args)
            .output()
            .expect("run tgtadm");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "tgtadm {args:?} failed: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        );
        text
    }

    /// `tgtadm --op show --mode target`: the targets, LUNs and the initiators connected now.
    pub fn show(&self) -> String {
        self.adm(&["--op", "show", "--mode", "target"])
    }
}

impl Drop for Tgtd {
    fn drop(&mut self) {
        // tgtd ignores SIGTERM in the foreground; SIGKILL it and remove its socket files.
        let sock = PathBuf::from(format!("/var/run/tgtd/socket.{}", self.control));
        let lock = PathBuf::from(format!("/var/run/tgtd/socket.{}.lock", self.control));
        stop(
            &mut self.child,
            &[&self.image, &sock, &lock],
            &self.log,
            "tgtd",
        );
    }
}

/// `qemu-nbd` exporting `image` as export `name` on 127.0.0.1 at a free port, writable through a
/// temporary snapshot (`--snapshot`: the image itself is never written).
pub struct QemuNbd {
    child: Child,
    log: PathBuf,
    pub port: u16,
    pub name: String,
}

impl QemuNbd {
    pub fn start(test: &str, image: &Path, name: &str) -> QemuNbd {
        require(QEMU_NBD, "qemu-utils");
        let port = free_tcp_port();
        let log = scratch(test, "qemu-nbd.log");
        let (out, err) = log_files(&log);
        let mut child = Command::new(QEMU_NBD)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--export-name", name, "--persistent", "--shared", "4"])
            .args(["--format", "raw", "--snapshot"])
            .arg(image)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start qemu-nbd");
        wait_listening(&mut child, port, "qemu-nbd", &log);
        QemuNbd {
            child,
            log,
            port,
            name: name.into(),
        }
    }
}

impl Drop for QemuNbd {
    fn drop(&mut self) {
        stop(&mut self.child, &[], &self.log, "qemu-nbd");
    }
}
