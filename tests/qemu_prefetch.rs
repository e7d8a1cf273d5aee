//! End to end in QEMU: the default entry's kernel and initrd start downloading while the menu
//! counts down; booting it uses those files (no second download), booting another entry
//! discards them (the early transfer is cut off). The files come from an HTTP server in this
//! test (on the host's loopback, 10.0.2.2 for the guest) that records every request, how much
//! of each body it sent, and whether the client hung up early. Needs `qemu/build`.

mod common;

use common::{tftp_folder, Guest, GuestOptions};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BOOT: Duration = Duration::from_secs(150);
/// Menu on screen to the early download seen by the server: seconds in practice, and far
/// less than the configured countdown (600 s), so a boot at the countdown's end cannot pass
/// for an early download.
const EARLY: Duration = Duration::from_secs(120);

/// What the server saw of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Served {
    path: String,
    /// Body bytes written before the transfer ended.
    sent: u64,
    /// The whole body went out.
    complete: bool,
}

/// A tiny HTTP/1.1 file server that logs what it served. Paths starting with `/slow/` are sent
/// at about 128 KiB/s, so that a transfer is still running when the test acts.
struct LoggingServer {
    port: u16,
    log: Arc<Mutex<Vec<Served>>>,
    /// Paths whose body started to go out, in order.
    started: Arc<Mutex<Vec<String>>>,
}

impl LoggingServer {
    fn start(root: PathBuf) -> LoggingServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let started = Arc::new(Mutex::new(Vec::new()));
        let (l, st) = (log.clone(), started.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (root, log, started) = (root.clone(), l.clone(), st.clone());
                let _ = conn.set_read_timeout(Some(Duration::from_secs(300)));
                std::thread::spawn(move || serve(conn, &root, &log, &started));
            }
        });
        LoggingServer { port, log, started }
    }

    fn served(&self) -> Vec<Served> {
        self.log.lock().unwrap().clone()
    }

    /// Requests for `path` seen so far (finished or cut off).
    fn requests(&self, path: &str) -> Vec<Served> {
        self.served()
            .into_iter()
            .filter(|s| s.path == path)
            .collect()
    }

    /// Wait until `done` holds for the log (the server's own view; no timing in it).
    fn wait_until(&self, what: &str, timeout: Duration, done: impl Fn(&[Served]) -> bool) {
        let start = Instant::now();
        while !done(&self.served()) {
            assert!(
                start.elapsed() < timeout,
                "{what}: not seen within {timeout:?}; served: {:?}",
                self.served()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn serve(conn: TcpStream, root: &Path, log: &Mutex<Vec<Served>>, started: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut out = conn;
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request).unwrap_or(0) == 0 {
            return;
        }
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" || header == "\n" {
                break;
            }
        }
        let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
        let file = root.join(path.trim_start_matches('/'));
        let Ok(body) = std::fs::read(&file) else {
            let _ = out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
            continue;
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\r\n",
            body.len()
        );
        started.lock().unwrap().push(path.clone());
        let slow = path.starts_with("/slow/");
        let mut sent = 0u64;
        let mut ok = out.write_all(head.as_bytes()).is_ok();
        for chunk in body.chunks(if slow { 16 * 1024 } else { 256 * 1024 }) {
            if !ok {
                break;
            }
            ok = out.write_all(chunk).is_ok();
            if ok {
                sent += chunk.len() as u64;
            }
            if slow {
                std::thread::sleep(Duration::from_millis(125));
            }
        }
        let complete = ok && sent == body.len() as u64;
        log.lock().unwrap().push(Served {
            path,
            sent,
            complete,
        });
        if !complete {
            return;
        }
        // A keep-alive client sends its next request on this connection.
    }
}

fn guest(name: &str, dir: &Path) -> Guest {
    Guest::start(
        name,
        &GuestOptions {
            ..GuestOptions::serving(dir)
        },
    )
}

/// The target kernel and demo initrd under `sub/` of a fresh folder, for each of `subs`.
fn files(test: &str, subs: &[&str]) -> PathBuf {
    let dir = tftp_folder(test, "unused.conf", "");
    for sub in subs {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).unwrap();
        for f in ["bzImage-kboot", "demo-initrd.cpio.gz"] {
            std::fs::copy(dir.join(f), d.join(f)).unwrap();
        }
    }
    dir
}

fn entry(name: &str, port: u16, sub: &str) -> String {
    format!(
        "{name}='http://10.0.2.2:{port}/{sub}/bzImage-kboot initrd=http://10.0.2.2:{port}/{sub}/demo-initrd.cpio.gz console=ttyS0 kboot_test={name}'\n"
    )
}

#[test]
fn the_default_entry_downloads_during_the_countdown_and_the_boot_uses_it() {
    let dir = files("prefetch-used-files", &["a", "b"]);
    let server = LoggingServer::start(dir.clone());
    let port = server.port;
    // A countdown far longer than the wait below: nothing but the early download can fetch
    // the files before Enter.
    let conf = format!(
        "default=first\ntimeout=600\n{}{}",
        entry("first", port, "a"),
        entry("second", port, "b")
    );
    let dir = tftp_folder("prefetch-used", "kboot.conf", &conf);
    let mut g = guest("prefetch-used", &dir);
    g.wait_for("Booting", BOOT);
    server.wait_until("the early download of kernel and initrd", EARLY, |log| {
        ["/a/bzImage-kboot", "/a/demo-initrd.cpio.gz"]
            .iter()
            .all(|p| log.iter().any(|s| s.path == *p && s.complete))
    });
    assert!(
        server.requests("/b/bzImage-kboot").is_empty(),
        "only the default entry is fetched early: {:?}",
        server.served()
    );
    g.send(common::keys::ENTER); // the default entry is selected: boot it now
    let cmdline = g.target_cmdline(BOOT);
    assert!(cmdline.contains("kboot_test=first"), "target: {cmdline}");
    for path in ["/a/bzImage-kboot", "/a/demo-initrd.cpio.gz"] {
        assert_eq!(
            server.requests(path).len(),
            1,
            "{path} was downloaded again instead of using the early copy: {:?}",
            server.served()
        );
    }
}

#[test]
fn booting_another_entry_discards_the_early_download() {
    let dir = files("prefetch-discard-files", &["slow", "b"]);
    let server = LoggingServer::start(dir.clone());
    let port = server.port;
    let conf = format!(
        "default=first\ntimeout=600\n{}{}",
        entry("first", port, "slow"),
        entry("second", port, "b")
    );
    let dir = tftp_folder("prefetch-discard", "kboot.conf", &conf);
    let mut g = guest("prefetch-discard", &dir);
    g.wait_for("Booting", BOOT);
    // The default's kernel is on its way (slowly: ~20 s for kboot's kernel) ...
    let start = Instant::now();
    while !server
        .started
        .lock()
        .unwrap()
        .iter()
        .any(|p| p == "/slow/bzImage-kboot")
    {
        assert!(
            start.elapsed() < EARLY,
            "the default entry was not fetched during the countdown; served: {:?}",
            server.served()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // ... when the user picks the other entry.
    g.type_keys(&[common::keys::DOWN, common::keys::ENTER]);
    let cmdline = g.target_cmdline(BOOT);
    assert!(cmdline.contains("kboot_test=second"), "target: {cmdline}");
    // The server notices the hang-up at its next write.
    server.wait_until(
        "the end of the early transfer",
        Duration::from_secs(30),
        |log| log.iter().any(|s| s.path == "/slow/bzImage-kboot"),
    );
    let slow = server.requests("/slow/bzImage-kboot");
    assert!(
        slow.len() == 1 && !slow[0].complete,
        "the early download of the default kernel should have been cut off: {:?}",
        server.served()
    );
    for path in ["/b/bzImage-kboot", "/b/demo-initrd.cpio.gz"] {
        let r = server.requests(path);
        assert!(
            r.len() == 1 && r[0].complete,
            "{path}: {:?}",
            server.served()
        );
    }
}
