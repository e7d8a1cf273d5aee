//! PID 1 and the clock: say when it is plainly wrong, and set it from SNTP once the network
//! is up (HTTPS refuses certificates outside their validity, so this runs before discovery).

use super::args::KernelArgs;
use crate::clock;
use crate::net::sntp::{self, QueryOptions};
use crate::net::Lease;
use std::time::Duration;

/// The SNTP query in PID 1: it holds discovery up, so at most 3 s whatever the servers do.
pub const PID1_QUERY: QueryOptions = QueryOptions {
    timeout: Duration::from_secs(1),
    tries: 2,
    total: Duration::from_secs(3),
};

/// The NTP servers to ask: `kboot.ntp=` first, then DHCP option 42 (or `ip=`'s NTP field),
/// without repeats.
pub fn servers(args: &KernelArgs, lease: Option<&Lease>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let from_lease = lease
        .iter()
        .flat_map(|l| l.ntp.iter().map(|a| a.to_string()));
    for s in args.ntp.iter().cloned().chain(from_lease) {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Log a warning when the clock is before [`clock::PLAUSIBLE_FLOOR`] (e.g. at start, after
/// the RTC set it).
pub fn warn_if_implausible(log: &mut dyn FnMut(String)) {
    if let Some(w) = clock::check_now() {
        log(format!("warning: {w}"));
    }
}

/// After the network came up: set the clock from the known NTP servers and log it; when that
/// is impossible and the clock is plainly wrong, say so.
pub fn sync_after_network(args: &KernelArgs, lease: Option<&Lease>, log: &mut dyn FnMut(String)) {
    let servers = servers(args, lease);
    if servers.is_empty() {
        warn_if_implausible(log);
        return;
    }
    match sntp::query(&servers, &PID1_QUERY) {
        Ok(answer) => match set_from(&answer) {
            Ok(message) => log(message),
            Err(why) => {
                log(why);
                warn_if_implausible(log);
            }
        },
        Err(e) => {
            log(format!("cannot set the clock: {e}"));
            warn_if_implausible(log);
        }
    }
}

/// Set the clock from an SNTP answer (PID 1, `kboot sntp --set`): the line saying so, or why
/// it was not set (a server whose own time is implausible, or no right to set the clock).
pub fn set_from(answer: &sntp::Answer) -> Result<String, String> {
    let server = answer.server.to_string();
    let old = clock::now_unix_nanos();
    let new = old.saturating_add(answer.sample.offset_nanos);
    if let Some(refusal) = implausible_answer(&server, new) {
        return Err(refusal);
    }
    clock::set_unix_nanos(new).map_err(|e| e.to_string())?;
    Ok(set_message(&server, new, old))
}

/// When an NTP server's time is itself before [`clock::PLAUSIBLE_FLOOR`], the sentence
/// refusing it: a broken server must not turn a right clock into a wrong one.
fn implausible_answer(server: &str, server_unix_nanos: i64) -> Option<String> {
    let secs = server_unix_nanos.div_euclid(1_000_000_000);
    (secs < clock::PLAUSIBLE_FLOOR).then(|| {
        format!(
            "the NTP server {server} says {}, which is before this kboot was built: the clock \
             is left as it is; check that server",
            clock::format_utc(secs)
        )
    })
}

/// "clock set from 192.0.2.1:123: 2026-06-01 00:00:00.000 UTC (was 2001-01-01 12:00:00.000
/// UTC, off by 796910400 s)"
pub fn set_message(server: &str, new_unix_nanos: i64, old_unix_nanos: i64) -> String {
    let off = (i128::from(new_unix_nanos) - i128::from(old_unix_nanos)).unsigned_abs();
    let off = if off >= 10_000_000_000 {
        format!("{} s", off / 1_000_000_000)
    } else {
        format!("{:.3} s", off as f64 / 1e9)
    };
    format!(
        "clock set from {server}: {} (was {}, off by {off})",
        clock::format_utc_millis(new_unix_nanos),
        clock::format_utc_millis(old_unix_nanos)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn kernel_argument_servers_come_first_without_repeats() {
        let args = KernelArgs::parse("kboot.ntp=ntp.example,192.0.2.2");
        let lease = Lease {
            ntp: vec![Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2)],
            ..Lease::default()
        };
        assert_eq!(
            servers(&args, Some(&lease)),
            vec!["ntp.example", "192.0.2.2", "192.0.2.1"]
        );
        assert_eq!(
            servers(&KernelArgs::default(), Some(&lease)),
            vec!["192.0.2.1", "192.0.2.2"]
        );
        assert!(servers(&KernelArgs::default(), None).is_empty());
    }

    #[test]
    fn a_server_time_before_the_floor_is_refused() {
        assert_eq!(
            implausible_answer("192.0.2.1:123", 978_350_400_000_000_000).as_deref(),
            Some(
                "the NTP server 192.0.2.1:123 says 2001-01-01 12:00:00 UTC, which is before \
                 this kboot was built: the clock is left as it is; check that server"
            )
        );
        assert_eq!(
            implausible_answer("s", clock::PLAUSIBLE_FLOOR * 1_000_000_000),
            None
        );
        assert!(implausible_answer("s", -1).is_some());
    }

    #[test]
    fn the_log_line_names_server_new_and_old_time_and_the_offset() {
        let old = 978_350_400_000_000_000; // 2001-01-01 12:00:00 UTC
        let new = 1_780_272_000_250_000_000; // 2026-06-01 00:00:00.25 UTC
        assert_eq!(
            set_message("192.0.2.1:123", new, old),
            "clock set from 192.0.2.1:123: 2026-06-01 00:00:00.250 UTC \
             (was 2001-01-01 12:00:00.000 UTC, off by 801921600 s)"
        );
        assert_eq!(
            set_message("s", old, old + 1_600_000),
            "clock set from s: 2001-01-01 12:00:00.000 UTC \
             (was 2001-01-01 12:00:00.001 UTC, off by 0.002 s)"
        );
    }
}
