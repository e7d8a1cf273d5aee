//! `kboot sntp` against SNTP servers written here, on 127.0.0.1 (and ::1) with random ports:
//! a good one, one answering with the wrong origin, one that never answers, and one that
//! sends a kiss-o'-death. The host clock is never set (no --set).

use std::process::{Command, Output};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[path = "support/sntp.rs"]
mod sntp_support;
use sntp_support::{serve, Behaviour, SERVER_EPOCH};

fn sntp(args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_kboot"))
        .arg("sntp")
        .args(args)
        .output()
        .expect("run kboot sntp");
    (out, started.elapsed())
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn a_good_server_gives_its_time_and_our_offset() {
    let s = serve("127.0.0.1:0", Behaviour::Good).unwrap();
    let (out, took) = sntp(&[&s.addr.to_string()]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains(&format!(
            "server       {} (NTP version 4, stratum 1)",
            s.addr
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("server time  2030-01-01 00:00:0"),
        "{stdout}"
    );
    // The offset is the server's 2030 minus the host clock, give or take a second.
    let host_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let offset: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("offset       "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no offset line in {stdout}"));
    let expected = SERVER_EPOCH as f64 - host_now;
    assert!((offset - expected).abs() < 2.0, "{offset} vs {expected}");
    assert_eq!(s.requests.load(Ordering::SeqCst), 1);
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[test]
fn a_good_server_over_ipv6() {
    let Some(s) = serve("[::1]:0", Behaviour::Good) else {
        eprintln!("no IPv6 loopback here: skipped");
        return;
    };
    let (out, _) = sntp(&[&s.addr.to_string()]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains(&format!("server       [::1]:{}", s.addr.port())),
        "{stdout}"
    );
    assert!(stdout.contains("server time  2030-01-01"), "{stdout}");
}

#[test]
fn a_reply_with_the_wrong_origin_is_refused() {
    let s = serve("127.0.0.1:0", Behaviour::WrongOrigin).unwrap();
    let (out, took) = sntp(&[&s.addr.to_string(), "--timeout", "0.3", "--tries", "2"]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(
        stderr.trim(),
        format!(
            "kboot: NTP server {}: the reply does not answer kboot's request (wrong origin \
             timestamp): a stale or forged packet, or a broken server",
            s.addr
        )
    );
    // Each try waits its whole timeout for a genuine answer, then gives up.
    assert_eq!(s.requests.load(Ordering::SeqCst), 2);
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn a_silent_server_times_out_within_the_bound() {
    let s = serve("127.0.0.1:0", Behaviour::Silent).unwrap();
    let (out, took) = sntp(&[&s.addr.to_string()]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    let want = format!(
        "kboot: the NTP server {} did not answer (3 tries in ",
        s.addr
    );
    assert!(stderr.starts_with(&want), "{stderr}");
    assert!(stderr.contains("a firewall lets UDP through"), "{stderr}");
    assert_eq!(s.requests.load(Ordering::SeqCst), 3);
    // Three tries of one second each, by default.
    assert!(
        took >= Duration::from_millis(2900) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

#[test]
fn a_kiss_of_death_stops_the_questions_and_names_its_code() {
    let s = serve("127.0.0.1:0", Behaviour::Kiss(b"RATE")).unwrap();
    let (out, took) = sntp(&[&s.addr.to_string()]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert_eq!(
        stderr.trim(),
        format!(
            "kboot: NTP server {}: kiss-o'-death RATE: the server asks this machine to query \
             less often; use another server",
            s.addr
        )
    );
    assert_eq!(s.requests.load(Ordering::SeqCst), 1, "asked once only");
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[test]
fn the_next_server_is_asked_when_the_first_fails() {
    let deny = serve("127.0.0.1:0", Behaviour::Kiss(b"DENY")).unwrap();
    let silent = serve("127.0.0.1:0", Behaviour::Silent).unwrap();
    let good = serve("127.0.0.1:0", Behaviour::Good).unwrap();
    let (out, took) = sntp(&[
        &deny.addr.to_string(),
        &silent.addr.to_string(),
        &good.addr.to_string(),
        "--timeout",
        "0.3",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains(&good.addr.to_string()), "{stdout}");
    assert_eq!(deny.requests.load(Ordering::SeqCst), 1);
    assert_eq!(silent.requests.load(Ordering::SeqCst), 1);
    assert!(took < Duration::from_secs(2), "{took:?}");

    // None answers: every server's reason, in order.
    let (out, _) = sntp(&[
        &deny.addr.to_string(),
        &silent.addr.to_string(),
        "--timeout",
        "0.2",
        "--tries",
        "1",
    ]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.starts_with(&format!(
            "kboot: no NTP server answered: NTP server {}: kiss-o'-death DENY: the server \
             refuses to serve this machine; use another server; the NTP server {} did not \
             answer (1 tries in",
            deny.addr, silent.addr
        )),
        "{stderr}"
    );
}
