//! End to end in QEMU: the target kernel and initrd come over HTTP from a server on the host
//! (10.0.2.2 is the host's loopback), over TFTP from atftpd on the host with RFC 7440
//! windowsize negotiated, and over NFS (`nfs://`, mounted read-only through the guest kernel's
//! NFS client) from NFS-Ganesha on the host. Needs `qemu/build` to have run (the README's test
//! command does it); the NFS test also needs the packages `qemu/build-diskless` installs
//! (nfs-ganesha, nfs-ganesha-vfs, rpcbind), root (a portmapper on 127.0.0.1:111), and no other
//! NFS test at the same time: `flock /tmp/kboot-qemu-diskless.lock cargo test --test qemu_fetch nfs`.

mod common;

use common::servers::Ganesha;
use common::{tftp_folder, Guest, GuestOptions};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BOOT: Duration = Duration::from_secs(150);

fn guest(name: &str, dir: &std::path::Path) -> Guest {
    Guest::start(
        name,
        &GuestOptions {
            ..GuestOptions::serving(dir)
        },
    )
}

/// `python3 -m http.server` on 127.0.0.1, killed on drop.
struct HttpServer(Child);

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_server(dir: &std::path::Path) -> (HttpServer, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .arg("--directory")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 -m http.server");
    let server = HttpServer(child);
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "http.server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, port)
}

fn sha256_hex(path: &std::path::Path) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(std::fs::read(path).unwrap());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn kernel_and_initrd_over_http_from_the_host_with_sha256_checked() {
    let files = tftp_folder("http-files", "unused.conf", "");
    let (_server, port) = http_server(&files);
    let good = sha256_hex(&files.join("bzImage-kboot"));
    let bad = "0".repeat(64);
    // The default entry's kernel digest is wrong: kboot must refuse it and say so.
    let conf = format!(
        "default=badsum\ntimeout=1\n\
         badsum='http://10.0.2.2:{port}/bzImage-kboot initrd=http://10.0.2.2:{port}/demo-initrd.cpio.gz console=ttyS0 kboot.sha256.kernel={bad}'\n\
         http='http://10.0.2.2:{port}/bzImage-kboot initrd=http://10.0.2.2:{port}/demo-initrd.cpio.gz console=ttyS0 kboot_test=http kboot.sha256.kernel={good}'\n"
    );
    let dir = tftp_folder("http", "kboot.conf", &conf);
    let mut g = guest("http", &dir);
    g.wait_for("mismatch", BOOT);
    g.wait_for("Press", BOOT);
    std::thread::sleep(Duration::from_millis(500));
    g.type_keys(&[b" ", common::keys::DOWN, common::keys::ENTER]);
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline.contains("kboot_test=http"),
        "target cmdline: {cmdline}"
    );
    assert!(
        !cmdline.contains("kboot.sha256"),
        "kboot's keys leaked: {cmdline}"
    );
}

#[test]
fn kernel_and_initrd_over_tftp_from_atftpd_with_windowsize() {
    let files = tftp_folder("atftpd-files", "unused.conf", "");
    let server = common::atftpd::start("qemu-atftpd", |d| {
        for f in ["bzImage-kboot", "demo-initrd.cpio.gz"] {
            common::atftpd::write_file(d, f, &std::fs::read(files.join(f)).unwrap());
        }
    });
    let port = server.addr.port();
    let conf = format!(
        "default=atftpd\ntimeout=0\n\
         atftpd='tftp://10.0.2.2:{port}/bzImage-kboot initrd=tftp://10.0.2.2:{port}/demo-initrd.cpio.gz console=ttyS0 kboot_test=atftpd'\n"
    );
    let dir = tftp_folder("atftpd", "kboot.conf", &conf);
    let mut g = guest("atftpd", &dir);
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline.contains("kboot_test=atftpd"),
        "target cmdline: {cmdline}"
    );
    let log = server.log_text();
    assert!(
        log.contains("Serving /bzImage-kboot") && log.contains("windowsize option -> 16"),
        "atftpd did not negotiate windowsize 16 for the kernel: {log}"
    );
}

#[test]
fn kernel_and_initrd_over_nfs_from_ganesha_with_sha256_checked() {
    // Fixed ports (3260, 10809, 111) only in a network of this test's own.
    let _net = common::netns::PrivateNetwork::enter();
    // The export holds the files one folder down: kboot finds where the export ends by
    // itself (it tries <export>/boot first, then <export>, NFSv3 then NFSv4 for each). The
    // guest kernel asks the portmapper (10.0.2.2:111, over TCP) for the MOUNT and NFS ports.
    let files = tftp_folder("nfs-files", "unused.conf", "");
    let boot = files.join("boot");
    std::fs::create_dir_all(&boot).unwrap();
    for f in ["bzImage-kboot", "demo-initrd.cpio.gz"] {
        std::fs::rename(files.join(f), boot.join(f)).unwrap();
    }
    let good = sha256_hex(&boot.join("bzImage-kboot"));
    let nfs = Ganesha::export("qemu-fetch-nfs", files);
    let base = format!("nfs://10.0.2.2{}/boot", nfs.export.display());
    let conf = format!(
        "default=nfs\ntimeout=0\n\
         nfs='{base}/bzImage-kboot initrd={base}/demo-initrd.cpio.gz console=ttyS0 kboot_test=nfs kboot.sha256.kernel={good}'\n"
    );
    let dir = tftp_folder("nfs", "kboot.conf", &conf);
    let mut g = guest("nfs", &dir);
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline.contains("kboot_test=nfs"),
        "target cmdline: {cmdline}"
    );
    assert!(
        !cmdline.contains("kboot.sha256"),
        "kboot's keys leaked: {cmdline}"
    );
    drop(nfs);
}
