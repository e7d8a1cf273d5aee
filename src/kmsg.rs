//! Lines for the kernel log (`/dev/kmsg`): the few timings worth finding in `dmesg` on a real
//! machine, and on a serial console as whole lines (the menu redraws by difference, so a line
//! it shows may reach a serial line with characters left out). PID 1 only: a host's kernel log
//! is not kboot's to write.

use std::io::Write;

/// `kboot: <line>` at the kernel's info level (printed on the console unless `quiet`).
/// Failures are ignored: the log is a convenience.
pub fn info(line: &str) {
    if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open("/dev/kmsg") {
        let _ = f.write_all(format_info(line).as_bytes());
    }
}

/// The record written for `line`: priority 6 (info), one line.
fn format_info(line: &str) -> String {
    format!("<6>kboot: {}\n", line.replace('\n', " "))
}

#[cfg(test)]
mod tests {
    #[test]
    fn records_are_one_info_line() {
        assert_eq!(super::format_info("a\nb"), "<6>kboot: a b\n");
    }
}
