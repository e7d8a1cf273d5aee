//! Downloads from a real tftpd-hpa (`in.tftpd`, which knows blksize, tsize and timeout but not
//! RFC 7440 windowsize) on 127.0.0.1 with our TFTP client. Its package conflicts with atftpd's,
//! so `qemu/setup` unpacks the binary from the .deb into ~/.cache/kboot/tftpd-hpa ($KBOOT_CACHE); the test
//! fails, on purpose, when it is missing.

mod common;

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use common::atftpd::{content, free_port, write_file};
use kboot::fetch::tftp::{download, TftpError, TftpOptions};

fn in_tftpd() -> PathBuf {
    // The cache qemu/setup fills: $KBOOT_CACHE, else ~/.cache/kboot (qemu/lib.sh).
    let cache = std::env::var_os("KBOOT_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
            Path::new(&home).join(".cache/kboot")
        });
    let path = cache.join("tftpd-hpa/usr/sbin/in.tftpd");
    assert!(
        path.exists(),
        "{} is missing: run qemu/setup (it unpacks tftpd-hpa there)",
        path.display()
    );
    path
}

/// tftpd-hpa in the foreground on 127.0.0.1:<free port>, serving a fresh folder; killed and
/// removed on drop.
struct Hpa {
    child: Child,
    dir: PathBuf,
    addr: SocketAddr,
}

impl Drop for Hpa {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start(tag: &str, files: &[(String, Vec<u8>)]) -> Hpa {
    let dir = std::env::temp_dir().join(format!("kboot-tftpd-hpa-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for (name, data) in files {
        write_file(&dir, name, data);
    }
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    // --foreground: no inetd; --secure: paths are under the folder; as root it drops to nobody.
    let child = Command::new(in_tftpd())
        .args(["--foreground", "--address", &addr.to_string(), "--secure"])
        .args(["--user", "nobody"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start in.tftpd");
    let hpa = Hpa { child, dir, addr };
    // Ready when it serves a file.
    write_file(&hpa.dir, "ready", b"ok");
    let start = Instant::now();
    while fetch(hpa.addr, "/ready", &TftpOptions::default()).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "in.tftpd did not start on {addr}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    hpa
}

fn fetch(server: SocketAddr, path: &str, opts: &TftpOptions) -> Result<Vec<u8>, TftpError> {
    let mut out = Vec::new();
    let n = download(
        server,
        path,
        opts,
        &mut out,
        &mut |_, _| {},
        &AtomicBool::new(false),
    )?;
    assert_eq!(n, out.len() as u64);
    Ok(out)
}

#[test]
fn downloads_from_tftpd_hpa_without_windowsize() {
    let files: Vec<(String, Vec<u8>)> = [0usize, 1, 512, 1467, 1468, 1469, 3 * 1468, 5 << 20]
        .iter()
        .enumerate()
        .map(|(i, &len)| (format!("sub/file-{len}"), content(len, i as u32 + 7)))
        .collect();
    let server = start("files", &files);
    for (name, data) in &files {
        // Our default asks for windowsize 16: tftpd-hpa leaves it out of its OACK and the
        // transfer goes lock-step; blksize 512 (no options worth asking for) works too.
        for opts in [
            TftpOptions::default(),
            TftpOptions {
                blksize: 512,
                windowsize: 1,
                ..TftpOptions::default()
            },
        ] {
            let got = fetch(server.addr, &format!("/{name}"), &opts)
                .unwrap_or_else(|e| panic!("{name} with {opts:?}: {e}"));
            assert!(
                got == *data,
                "{name} with {opts:?}: {} bytes instead of {}, or different bytes",
                got.len(),
                data.len()
            );
        }
    }
}

#[test]
fn tftpd_hpa_not_found_is_a_clear_error() {
    let server = start("missing", &[]);
    let err = fetch(
        server.addr,
        "/pxelinux.cfg/default",
        &TftpOptions::default(),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("not found") && text.contains("/pxelinux.cfg/default"),
        "{text}"
    );
}
