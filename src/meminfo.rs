//! /proc/meminfo: how much memory there is and how much is free. One parser for the fetch
//! layer's size limit and memory guard and for the check before kexec (src/boot/memory.rs).

/// `name`'s value from the text of /proc/meminfo, in bytes (`None` when it is missing, not a
/// number, in another unit than kB, or too big).
pub fn field(text: &str, name: &str) -> Option<u64> {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))?;
    let mut words = line.split_whitespace();
    let n: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") | None => n.checked_mul(1024),
        Some(_) => None,
    }
}

fn read() -> Option<String> {
    std::fs::read_to_string("/proc/meminfo").ok()
}

/// `MemAvailable` now, in bytes.
pub fn available() -> Option<u64> {
    field(&read()?, "MemAvailable")
}

/// `MemTotal` and `MemAvailable` now, in bytes.
pub fn total_and_available() -> Option<(u64, u64)> {
    let text = read()?;
    Some((field(&text, "MemTotal")?, field(&text, "MemAvailable")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_in_bytes_and_malformed_ones() {
        let text = "MemTotal:        8000000 kB\nMemFree:  100 kB\nMemAvailable:    2097152 kB\n";
        assert_eq!(field(text, "MemAvailable"), Some(2 << 30));
        assert_eq!(field(text, "MemTotal"), Some(8_000_000 * 1024));
        assert_eq!(field("MemTotal: 5 kB\n", "MemAvailable"), None);
        assert_eq!(field("MemAvailable: x kB\n", "MemAvailable"), None);
        assert_eq!(field("MemAvailable: 5 MB\n", "MemAvailable"), None);
        assert_eq!(field("MemAvailableX: 5 kB\n", "MemAvailable"), None);
        assert_eq!(
            field("MemAvailable: 18446744073709551615 kB\n", "MemAvailable"),
            None
        );
        assert_eq!(field("", "MemTotal"), None);
        assert!(
            total_and_available().is_some(),
            "this Linux has /proc/meminfo"
        );
        assert!(available().is_some());
    }
}
