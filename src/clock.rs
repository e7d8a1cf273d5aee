//! The wall clock: read it, show it as UTC, tell when it is plainly wrong, set it.
//!
//! TLS refuses certificates when the clock is outside their validity, and a machine whose RTC
//! battery died boots in 2000 or 1970. kboot sets the clock from SNTP ([`crate::net::sntp`])
//! and says so when it is still before [`PLAUSIBLE_FLOOR`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 2026-01-01 00:00:00 UTC, a little before this kboot was built: a clock before it is wrong.
pub const PLAUSIBLE_FLOOR: i64 = 1_767_225_600;

/// Why the clock could not be set.
#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    #[error(
        "cannot set the clock to {time}: {source} (setting the clock needs root or CAP_SYS_TIME)"
    )]
    Set { time: String, source: nix::Error },
    #[error("cannot set the clock to {time}: the time is out of range")]
    OutOfRange { time: String },
}

/// The wall clock, in nanoseconds since 1970-01-01 UTC (negative before it).
pub fn now_unix_nanos() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

/// Unix seconds -> `YYYY-MM-DD HH:MM:SS UTC` (Howard Hinnant's civil-from-days; any i64).
pub fn format_utc(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let tod = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    )
}

/// Unix nanoseconds -> `YYYY-MM-DD HH:MM:SS.mmm UTC`.
pub fn format_utc_millis(unix_nanos: i64) -> String {
    let secs = unix_nanos.div_euclid(1_000_000_000);
    let millis = unix_nanos.rem_euclid(1_000_000_000) / 1_000_000;
    let whole = format_utc(secs);
    let date_time = whole.trim_end_matches(" UTC");
    format!("{date_time}.{millis:03} UTC")
}

/// What to do about a clock before [`PLAUSIBLE_FLOOR`].
pub const CLOCK_ADVICE: &str = "give the machine an NTP server (DHCP option 42 or kboot.ntp=) \
     or set its RTC";

/// The warning for a clock that reads `unix` seconds, or `None` when it is plausible.
pub fn implausible_warning(unix: i64) -> Option<String> {
    (unix < PLAUSIBLE_FLOOR).then(|| {
        format!(
            "the clock says {}, which is before this kboot was built: HTTPS certificates \
             will be refused; {CLOCK_ADVICE}",
            format_utc(unix)
        )
    })
}

/// [`implausible_warning`] for the clock now.
pub fn check_now() -> Option<String> {
    implausible_warning(now_unix_nanos().div_euclid(1_000_000_000))
}

/// Set the system clock (CLOCK_REALTIME) to `unix_nanos`.
pub fn set_unix_nanos(unix_nanos: i64) -> Result<(), ClockError> {
    use nix::sys::time::TimeSpec;
    use nix::time::{clock_settime, ClockId};
    let time = format_utc_millis(unix_nanos);
    if unix_nanos < 0 {
        return Err(ClockError::OutOfRange { time });
    }
    let d = Duration::from_nanos(unix_nanos as u64);
    let ts = TimeSpec::from_duration(d);
    clock_settime(ClockId::CLOCK_REALTIME, ts).map_err(|source| ClockError::Set { time, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(PLAUSIBLE_FLOOR), "2026-01-01 00:00:00 UTC");
        assert_eq!(format_utc(978_350_400), "2001-01-01 12:00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_utc(-1), "1969-12-31 23:59:59 UTC");
        assert_eq!(
            format_utc(4_294_967_296 - 2_208_988_800),
            "2036-02-07 06:28:16 UTC"
        );
        assert_eq!(format_utc_millis(-1_000_000), "1969-12-31 23:59:59.999 UTC");
        assert_eq!(
            format_utc_millis(1_500_000_000_123_456_789),
            "2017-07-14 02:40:00.123 UTC"
        );
    }

    #[test]
    fn extreme_values_do_not_panic() {
        for v in [i64::MIN, i64::MIN + 1, i64::MAX, i64::MAX - 86_400] {
            let _ = format_utc(v);
            let _ = format_utc_millis(v);
        }
    }

    #[test]
    fn a_clock_before_the_floor_is_called_wrong_and_says_what_to_do() {
        let w = implausible_warning(978_350_400).unwrap();
        assert_eq!(
            w,
            "the clock says 2001-01-01 12:00:00 UTC, which is before this kboot was built: \
             HTTPS certificates will be refused; give the machine an NTP server (DHCP option \
             42 or kboot.ntp=) or set its RTC"
        );
        assert!(implausible_warning(PLAUSIBLE_FLOOR - 1).is_some());
        assert_eq!(implausible_warning(PLAUSIBLE_FLOOR), None);
    }

    #[test]
    fn a_negative_time_is_refused_before_any_syscall() {
        let e = set_unix_nanos(-5).unwrap_err();
        assert!(matches!(e, ClockError::OutOfRange { .. }), "{e}");
    }
}
