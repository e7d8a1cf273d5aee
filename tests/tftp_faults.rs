//! kboot's TFTP client against an in-process `async-tftp` server (RFC 7440 windowsize,
//! block-number rollover) through a fault-injecting UDP proxy (drop, duplicate, reorder,
//! delay), and against dnsmasq's TFTP server in a network namespace of its own.
//!
//! Every case must end with identical bytes. The async-tftp server serves generated content
//! from memory (`/gen/<size>`: nothing to clean up) and, once, a real temp directory.

#[path = "support/netns.rs"]
mod netns;
use netns::{in_netns, sh};
#[path = "support/udp_proxy.rs"]
mod udp_proxy;

use std::fs::File;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_tftp::packet;
use async_tftp::server::{Handler, TftpServerBuilder};
use futures_lite::AsyncRead;
use kboot::fetch::tftp::{download, TftpOptions};
use udp_proxy::{Faults, Proxy};

/// Byte `i` of every generated file.
fn byte_at(i: u64) -> u8 {
    let mut z = (i / 8).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> ((i % 8) * 8)) as u8
}

fn expected(size: u64) -> Vec<u8> {
    (0..size).map(byte_at).collect()
}

/// An `AsyncRead` producing `byte_at(0..len)`.
struct Gen {
    pos: u64,
    len: u64,
}

impl AsyncRead for Gen {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        let n = (self.len - self.pos).min(buf.len() as u64) as usize;
        let start = self.pos;
        for (k, b) in buf[..n].iter_mut().enumerate() {
            *b = byte_at(start + k as u64);
        }
        self.pos += n as u64;
        Poll::Ready(Ok(n))
    }
}

/// Serves `/gen/<size>` from memory; writes are refused.
struct GenHandler;

impl Handler for GenHandler {
    type Reader = Gen;
    type Writer = futures_lite::io::Sink;

    async fn read_req_open(
        &mut self,
        _client: &SocketAddr,
        path: &Path,
    ) -> Result<(Gen, Option<u64>), packet::Error> {
        let len = path
            .strip_prefix("/gen")
            .or_else(|_| path.strip_prefix("gen"))
            .ok()
            .and_then(|p| p.to_str())
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or(packet::Error::FileNotFound)?;
        Ok((Gen { pos: 0, len }, Some(len)))
    }

    async fn write_req_open(
        &mut self,
        _client: &SocketAddr,
        _path: &Path,
        _size: Option<u64>,
    ) -> Result<futures_lite::io::Sink, packet::Error> {
        Err(packet::Error::IllegalOperation)
    }
}

/// Server retransmission timeout: short, so that lost packets cost little test time.
const SERVER_TIMEOUT: Duration = Duration::from_millis(10);

fn spawn_server<H: Handler + 'static>(
    make: impl FnOnce() -> TftpServerBuilder<H> + Send + 'static,
) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        futures_lite::future::block_on(async move {
            let server = make()
                .bind("127.0.0.1:0".parse().expect("address"))
                .timeout(SERVER_TIMEOUT)
                .ignore_client_timeout()
                .max_send_retries(200)
                .build()
                .await
                .expect("start async-tftp");
            tx.send(server.listen_addr().expect("listen address"))
                .expect("report address");
            let _ = server.serve().await;
        })
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("async-tftp server starts")
}

/// The shared in-memory server (it lives as long as the test process).
fn gen_server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| spawn_server(|| TftpServerBuilder::with_handler(GenHandler)))
}

fn client_opts(blksize: u16, windowsize: u16) -> TftpOptions {
    TftpOptions {
        blksize,
        windowsize,
        timeout: Duration::from_millis(15),
        retries: 12,
        ..TftpOptions::default()
    }
}

const SMALL_SIZES: [u64; 4] = [0, 1, 1468 * 16, 3 << 20];
/// One block past block number 65535 at blksize 512, plus a partial block.
const ROLLOVER: u64 = 65_536 * 512 + 1000;

fn fetch_via(addr: SocketAddr, path: &str, opts: &TftpOptions) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let n = download(
        addr,
        path,
        opts,
        &mut out,
        &mut |_, _| {},
        &AtomicBool::new(false),
    )
    .map_err(|e| e.to_string())?;
    if n != out.len() as u64 {
        return Err(format!("download said {n} bytes but wrote {}", out.len()));
    }
    Ok(out)
}

fn same(case: &str, got: &[u8], want: &[u8]) {
    assert_eq!(got.len(), want.len(), "{case}: length");
    if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!("{case}: first difference at byte {i}");
    }
}

/// Runs one download of `/gen/<size>` through a proxy with `faults`; returns the number of
/// packets the proxy forwarded (both directions, duplicates included).
fn case(faults: Faults, blksize: u16, windowsize: u16, size: u64) -> u64 {
    let name = format!(
        "{} ws{windowsize} blksize {blksize} {size} B",
        faults.describe()
    );
    let proxy = Proxy::start("127.0.0.1:0".parse().unwrap(), gen_server(), faults)
        .expect("start the proxy");
    let started = Instant::now();
    let got = fetch_via(
        proxy.addr(),
        &format!("/gen/{size}"),
        &client_opts(blksize, windowsize),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let secs = started.elapsed().as_secs_f64();
    same(&name, &got, &expected(size));
    let (fwd, dropped, dup, reord) = proxy.stats().snapshot();
    eprintln!(
        "{name}: ok in {secs:.2} s (proxy: {fwd} forwarded, {dropped} dropped, {dup} duplicated, {reord} reordered)"
    );
    fwd
}

fn matrix(faults: Faults) {
    for ws in [1, 16] {
        for size in SMALL_SIZES {
            case(faults, 1468, ws, size);
        }
    }
}

const SEED: u64 = 0x6b_626f_6f74;

#[test]
fn clean_proxy() {
    matrix(Faults {
        seed: SEED,
        ..Faults::default()
    });
}

#[test]
fn drop_10_percent() {
    matrix(Faults {
        drop_pct: 10,
        seed: SEED + 1,
        ..Faults::default()
    });
}

#[test]
fn duplicate_10_percent() {
    matrix(Faults {
        dup_pct: 10,
        seed: SEED + 2,
        ..Faults::default()
    });
}

#[test]
fn duplicates_do_not_multiply_the_traffic() {
    // 3 MiB at blksize 1468 and window 16: 2 143 DATA + 134 ACKs + the request and OACK, about
    // 2 280 packets, 10 % more with the duplicates. Re-ACKing every duplicate made the server
    // resend the rest of its window each time: 36 082 packets for this file (a storm).
    let ideal = (3u64 << 20) / 1468 + 1;
    let acks = ideal / 16 + 1;
    let fwd = case(
        Faults {
            dup_pct: 10,
            seed: SEED + 7,
            ..Faults::default()
        },
        1468,
        16,
        3 << 20,
    );
    assert!(
        fwd < 2 * (ideal + acks),
        "{fwd} packets for {} DATA and {acks} ACKs",
        ideal
    );
}

#[test]
fn reorder() {
    matrix(Faults {
        reorder_pct: 20,
        seed: SEED + 3,
        ..Faults::default()
    });
}

#[test]
fn delay_1ms() {
    matrix(Faults {
        delay: Duration::from_millis(1),
        seed: SEED + 4,
        ..Faults::default()
    });
}

#[test]
fn drop_duplicate_reorder() {
    matrix(Faults {
        drop_pct: 10,
        dup_pct: 10,
        reorder_pct: 20,
        seed: SEED + 5,
        ..Faults::default()
    });
}

#[test]
fn everything_with_delay() {
    matrix(Faults {
        drop_pct: 10,
        dup_pct: 10,
        reorder_pct: 20,
        delay: Duration::from_millis(1),
        seed: SEED + 6,
    });
}

#[test]
fn rollover_past_block_65535() {
    case(
        Faults {
            seed: SEED + 7,
            ..Faults::default()
        },
        512,
        16,
        ROLLOVER,
    );
    case(
        Faults {
            drop_pct: 1,
            dup_pct: 5,
            reorder_pct: 5,
            seed: SEED + 8,
            ..Faults::default()
        },
        512,
        16,
        ROLLOVER,
    );
}

#[test]
fn lock_step_rollover_without_proxy() {
    let name = "ws1 blksize 512 direct";
    let got = fetch_via(
        gen_server(),
        &format!("/gen/{ROLLOVER}"),
        &client_opts(512, 1),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    same(name, &got, &expected(ROLLOVER));
}

/// A temp directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("kboot-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        // dnsmasq drops to nobody: the tree must be world-readable.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .expect("chmod temp dir");
        TempDir(dir)
    }

    fn put(&self, name: &str, data: &[u8]) {
        let p = self.0.join(name);
        std::fs::write(&p, data).expect("write served file");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn async_tftp_serving_a_directory_through_faults() {
    let dir = TempDir::new("tftp-dir");
    let data = expected(200_000);
    dir.put("kernel", &data);
    let root = dir.0.clone();
    let server =
        spawn_server(move || TftpServerBuilder::with_dir_ro(&root).expect("serve the directory"));
    for ws in [1, 16] {
        let faults = Faults {
            drop_pct: 10,
            dup_pct: 10,
            reorder_pct: 20,
            seed: SEED + 9,
            ..Faults::default()
        };
        let proxy = Proxy::start("127.0.0.1:0".parse().unwrap(), server, faults).unwrap();
        let got = fetch_via(proxy.addr(), "/kernel", &client_opts(1468, ws))
            .unwrap_or_else(|e| panic!("dir ws{ws}: {e}"));
        same(&format!("dir ws{ws}"), &got, &data);
        let err = fetch_via(proxy.addr(), "/missing", &client_opts(1468, ws)).unwrap_err();
        assert!(err.contains("not found"), "{err}");
    }
}

// ---- dnsmasq ----------------------------------------------------------------------------

const DNSMASQ: &str = "/usr/sbin/dnsmasq";

/// dnsmasq's TFTP server only listens on port 69, so it runs in a network namespace of our
/// own (loopback only); removed on drop with its files.
struct DnsmasqLab {
    ns: String,
    child: Option<Child>,
    dir: TempDir,
    log: PathBuf,
}

impl Drop for DnsmasqLab {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).output();
        if std::thread::panicking() {
            eprintln!(
                "dnsmasq log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

#[test]
fn dnsmasq_tftp_in_a_namespace() {
    assert!(
        Path::new(DNSMASQ).exists(),
        "{DNSMASQ} is missing: apt-get install dnsmasq"
    );
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test creates a network namespace and must run as root"
    );
    let ns = format!("kbt-tftp-{:04x}", std::process::id() & 0xffff);
    let _ = Command::new("ip").args(["netns", "del", &ns]).output();
    sh(&["ip", "netns", "add", &ns]);
    let dir = TempDir::new("tftp-dnsmasq");
    let log = std::env::temp_dir().join(format!("kboot-dnsmasq-tftp-{}.log", std::process::id()));
    let mut lab = DnsmasqLab {
        ns: ns.clone(),
        child: None,
        dir,
        log: log.clone(),
    };
    sh(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
    let sizes = [0u64, 1, 1468 * 16, 3 << 20, ROLLOVER];
    for size in sizes {
        lab.dir.put(&format!("f{size}"), &expected(size));
    }
    let child = Command::new("ip")
        .args(["netns", "exec", &ns, DNSMASQ])
        .args([
            "--no-daemon",
            "--conf-file=/dev/null",
            "--pid-file",
            "--port=0",
            "--log-facility=-",
            "--enable-tftp",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
        ])
        .arg(format!("--tftp-root={}", lab.dir.0.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(&log).expect("create log"))
        .spawn()
        .expect("spawn dnsmasq");
    lab.child = Some(child);
    let results = in_netns(&ns, move || {
        let server: SocketAddr = "127.0.0.1:69".parse().unwrap();
        // Wait until it answers.
        let start = Instant::now();
        let quick = TftpOptions {
            timeout: Duration::from_millis(100),
            retries: 1,
            ..TftpOptions::default()
        };
        while fetch_via(server, "/f1", &quick).is_err() {
            if start.elapsed() > Duration::from_secs(10) {
                return Err("dnsmasq did not answer on 127.0.0.1:69".to_string());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut results = Vec::new();
        for (size, blksize, ws) in [
            (0, 1468, 16),
            (1, 1468, 16),
            (1468 * 16, 1468, 16),
            (3 << 20, 1468, 16),
            (3 << 20, 1468, 1),
            (ROLLOVER, 512, 16),
        ] {
            let t0 = Instant::now();
            let got = fetch_via(server, &format!("/f{size}"), &client_opts(blksize, ws))?;
            results.push((size, blksize, ws, got, t0.elapsed()));
        }
        let missing = fetch_via(server, "/nope", &client_opts(1468, 16)).unwrap_err();
        results.push((u64::MAX, 0, 0, missing.into_bytes(), Duration::ZERO));
        Ok(results)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    for (size, blksize, ws, got, took) in results {
        if size == u64::MAX {
            let msg = String::from_utf8_lossy(&got);
            assert!(msg.contains("not found"), "{msg}");
            continue;
        }
        let name = format!("dnsmasq {size} B blksize {blksize} ws{ws}");
        same(&name, &got, &expected(size));
        eprintln!("{name}: ok in {:.2} s", took.as_secs_f64());
    }
}
