//! End to end in QEMU: PID 1 sets the clock from the NTP server named by `kboot.ntp=`, an
//! SNTP server written here on the host's 127.0.0.1, which QEMU's user network shows the
//! guest as 10.0.2.2. The server keeps 2030, so the guest's new time cannot be its RTC's.
//! Needs `qemu/build` to have run (the README's test command does it).

mod common;

use common::{Guest, GuestOptions};
use kboot::net::sntp::unix_nanos_to_ntp;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

const BOOT: Duration = Duration::from_secs(150);
/// 2030-01-01 00:00:00 UTC.
const SERVER_EPOCH: i64 = 1_893_456_000;

/// A good SNTP server on 127.0.0.1 keeping SERVER_EPOCH + elapsed; returns its port.
fn sntp_server() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    let started = Instant::now();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            if n != 48 || buf[0] & 7 != 3 {
                continue;
            }
            let now = SERVER_EPOCH * 1_000_000_000 + started.elapsed().as_nanos() as i64;
            let ts = unix_nanos_to_ntp(now).to_be_bytes();
            let mut r = [0u8; 48];
            r[0] = (4 << 3) | 4;
            r[1] = 1;
            r[12..16].copy_from_slice(b"GPS\0");
            r[24..32].copy_from_slice(&buf[40..48]);
            r[32..40].copy_from_slice(&ts);
            r[40..48].copy_from_slice(&ts);
            let _ = socket.send_to(&r, from);
        }
    });
    port
}

#[test]
fn pid1_sets_the_clock_from_kboot_ntp_before_discovery() {
    let port = sntp_server();
    // A server that never answers, on the host's loopback too.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("kboot-e2e-clock-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let append =
        format!("kboot.menu=off kboot.disks=off kboot.ntp=10.0.2.2:{silent_port},10.0.2.2:{port}");
    let mut g = Guest::start(
        "clock",
        &GuestOptions {
            append: &append,
            ..GuestOptions::serving(&dir)
        },
    );
    // The silent server costs one try (1 s), then the good one answers.
    // The whole line: serial output arrives in pieces (CI once matched half of it).
    let line = g.line_after(
        &format!("clock set from 10.0.2.2:{port}: 2030-01-01 00:00:"),
        BOOT,
    );
    eprintln!("guest: ...2030-01-01 00:00:{line}");
    assert!(line.contains("(was "), "{line}");
    assert!(!line.contains("(was 2030"), "{line}");
    // Discovery comes after the clock (HTTPS configs need it).
    g.wait_for("kboot.conf", BOOT);
    drop(silent);
    let _ = std::fs::remove_dir_all(&dir);
}
