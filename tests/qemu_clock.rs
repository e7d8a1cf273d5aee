//! End to end in QEMU: PID 1 sets the clock from the NTP server named by `kboot.ntp=`, an
//! SNTP server written here on the host's 127.0.0.1, which QEMU's user network shows the
//! guest as 10.0.2.2. The server keeps 2030, so the guest's new time cannot be its RTC's.
//! Needs `qemu/build` to have run (the README's test command does it).

mod common;

use common::{Guest, GuestOptions};
#[path = "support/sntp.rs"]
mod sntp_support;
use sntp_support::{serve, Behaviour};
use std::time::Duration;

const BOOT: Duration = Duration::from_secs(150);

#[test]
fn pid1_sets_the_clock_from_kboot_ntp_before_discovery() {
    let port = serve("127.0.0.1:0", Behaviour::Good).unwrap().addr.port();
    // A server that never answers, on the host's loopback too.
    let silent_port = serve("127.0.0.1:0", Behaviour::Silent).unwrap().addr.port();
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
    let _ = std::fs::remove_dir_all(&dir);
}
