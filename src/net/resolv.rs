//! /etc/resolv.conf from a lease.

use std::io;
use std::path::Path;

use super::Lease;

/// resolv.conf text: `search` from option 119 (else option 15), one `nameserver` per option 6
/// address (glibc and musl read at most 3; we write them all). Empty lease → comment only.
pub fn render(lease: &Lease) -> String {
    let mut out = format!(
        "# written by kboot from the DHCP lease on {}\n",
        lease.iface
    );
    let mut search: Vec<&str> = lease
        .domain_search
        .iter()
        .map(String::as_str)
        .filter(|d| valid_domain(d))
        .collect();
    if search.is_empty() {
        if let Some(d) = lease.domain.as_deref().filter(|d| valid_domain(d)) {
            search.push(d);
        }
    }
    if !search.is_empty() {
        out.push_str("search ");
        out.push_str(&search.join(" "));
        out.push('\n');
    }
    for ns in &lease.dns {
        out.push_str(&format!("nameserver {ns}\n"));
    }
    out
}

/// A domain we may write into resolv.conf: no whitespace, control characters or `#`/`;`
/// that would change the file's meaning.
fn valid_domain(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= 253
        && d.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

/// Write [`render`]'s text to `path` (atomically: a temporary file renamed over it).
pub fn write(lease: &Lease, path: &Path) -> io::Result<()> {
    let tmp = path.with_extension("kboot-tmp");
    std::fs::write(&tmp, render(lease))?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn renders_search_and_nameservers() {
        let lease = Lease {
            iface: "eth0".into(),
            dns: vec![Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2)],
            domain: Some("example.org".into()),
            domain_search: vec!["a.example".into(), "b.example".into()],
            ..Lease::default()
        };
        assert_eq!(
            render(&lease),
            "# written by kboot from the DHCP lease on eth0\n\
             search a.example b.example\n\
             nameserver 192.0.2.1\nnameserver 192.0.2.2\n"
        );
    }

    #[test]
    fn domain_fallback_and_hostile_names() {
        let mut lease = Lease {
            iface: "eth0".into(),
            domain: Some("lab.example".into()),
            ..Lease::default()
        };
        assert!(render(&lease).contains("search lab.example\n"));
        lease.domain = Some("evil\nnameserver 6.6.6.6".into());
        assert!(!render(&lease).contains("6.6.6.6"));
        assert!(!render(&lease).contains("search"));
    }

    #[test]
    fn write_replaces_file() {
        let dir = std::env::temp_dir().join(format!("kboot-resolv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("resolv.conf");
        std::fs::write(&path, "old").unwrap();
        let lease = Lease {
            dns: vec![Ipv4Addr::new(192, 0, 2, 53)],
            ..Lease::default()
        };
        write(&lease, &path).unwrap();
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .contains("nameserver 192.0.2.53"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
