//! The I/O shell around the parsers: fetch a config (and its includes) by URL, detect its
//! format, parse it. Used by PID 1 and by `kboot menu`.

use super::detect::Format;
use super::include::ParseContext;
use super::Menu;
use crate::fetch::{self, FetchError};
use crate::net::Lease;
use std::sync::atomic::AtomicBool;

/// Largest config (or included file) accepted.
pub const CONFIG_LIMIT: u64 = 1 << 20;

/// Fetch `url`, detect the format (unless given) and parse it, fetching includes as needed.
pub fn load(
    url: &str,
    format: Option<Format>,
    ctx: &ParseContext,
    cancel: &AtomicBool,
) -> Result<(Format, Menu), FetchError> {
    let text = fetch::fetch_text(url, CONFIG_LIMIT, cancel)?;
    Ok(parse_fetched(&text, url, format, ctx, cancel))
}

/// Parse text already fetched from `url`; includes are fetched on demand.
pub fn parse_fetched(
    text: &str,
    url: &str,
    format: Option<Format>,
    ctx: &ParseContext,
    cancel: &AtomicBool,
) -> (Format, Menu) {
    let mut fetcher =
        |u: &str| fetch::fetch_text(u, CONFIG_LIMIT, cancel).map_err(|e| e.to_string());
    super::parse::parse_config(text, url, format, ctx, &mut fetcher)
}

/// The lease values and machine facts the parsers' variables use.
pub fn context(lease: Option<&Lease>) -> ParseContext {
    ParseContext {
        mac: lease.map(|l| l.mac),
        ip: lease.and_then(|l| l.client),
        next_server: lease.and_then(|l| l.boot_server()),
        hostname: lease.and_then(|l| l.hostname.clone()),
        uuid: machine_uuid(),
        efi: std::path::Path::new("/sys/firmware/efi").exists(),
        ..Default::default()
    }
}

/// SMBIOS system UUID, lowercase and dashed, when the firmware gives a real one.
pub fn machine_uuid() -> Option<String> {
    let raw = std::fs::read_to_string("/sys/class/dmi/id/product_uuid").ok()?;
    let uuid = raw.trim().to_ascii_lowercase();
    let valid = uuid.len() == 36
        && uuid.chars().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    (valid && uuid != "00000000-0000-0000-0000-000000000000").then_some(uuid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_and_detects_a_pxelinux_config_with_includes_from_files() {
        let dir = std::env::temp_dir().join(format!("kboot-load-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pxelinux.cfg")).unwrap();
        std::fs::write(
            dir.join("pxelinux.cfg/default"),
            "DEFAULT linux\nINCLUDE pxelinux.cfg/more.cfg\nLABEL linux\n KERNEL vmlinuz\n APPEND quiet\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("pxelinux.cfg/more.cfg"),
            "LABEL rescue\n KERNEL vmlinuz\n APPEND single\n",
        )
        .unwrap();
        let url = format!("file://{}/pxelinux.cfg/default", dir.display());
        let (format, menu) = load(
            &url,
            None,
            &ParseContext::default(),
            &AtomicBool::new(false),
        )
        .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(format, Format::Pxelinux);
        let ids: Vec<&str> = menu.entries.iter().map(|e| e.id.as_str()).collect();
        // INCLUDE is read in place: its entries come before the ones after it.
        assert_eq!(ids, ["rescue", "linux"], "warnings: {:?}", menu.warnings);
        assert_eq!(menu.default.as_deref(), Some("linux"));
        assert_eq!(
            menu.entries[0].kernel.as_deref(),
            Some(format!("file://{}/vmlinuz", dir.display()).as_str())
        );
    }

    #[test]
    fn a_missing_config_is_an_error_naming_it() {
        let err = load(
            "file:///nonexistent/kboot.conf",
            None,
            &ParseContext::default(),
            &AtomicBool::new(false),
        )
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/kboot.conf"));
    }
}
