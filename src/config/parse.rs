//! The one entry point from config text to a [`Menu`]: detect the format, then dispatch.

use crate::config::detect::{self, Format};
use crate::config::include::{Fetcher, ParseContext};
use crate::config::{bls, grub, ipxe, kboot, pxelinux, Menu};

/// Parse `text`, fetched from `url`, as `format` (or the detected format when `None`).
/// Returns the format used and the menu; never fails (problems are `menu.warnings`).
pub fn parse_config(
    text: &str,
    url: &str,
    format: Option<Format>,
    ctx: &ParseContext,
    fetch: &mut Fetcher,
) -> (Format, Menu) {
    let format = format.unwrap_or_else(|| detect::sniff(text, url));
    let menu = match format {
        Format::Kboot => kboot::parse(text, Some(url)),
        Format::Pxelinux => pxelinux::parse(text, url, ctx, fetch),
        Format::Grub => grub::parse(text, url, ctx, fetch),
        Format::Ipxe => ipxe::parse(text, url, ctx, fetch),
        Format::Bls => {
            let (root, name) = bls_root(url);
            bls::menu_from_entries(vec![(name, text.to_string())], &root)
        }
    };
    (format, menu)
}

/// The partition root of a BLS entry and its file name: the root is what comes before
/// `loader/entries/` (`http://s/boot/loader/entries/a.conf` → `http://s/boot/`), else the
/// entry's own directory.
pub fn bls_root(url: &str) -> (String, String) {
    let (dir, name) = match url.rfind('/') {
        Some(i) => (&url[..=i], &url[i + 1..]),
        None => match url.rfind(':') {
            Some(i) => (&url[..=i], &url[i + 1..]),
            None => ("", url),
        },
    };
    let root = match dir.rfind("loader/entries/") {
        Some(i) => &dir[..i],
        None => dir,
    };
    (root.to_string(), name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bls_roots() {
        assert_eq!(
            bls_root("http://s/boot/loader/entries/a.conf"),
            ("http://s/boot/".to_string(), "a.conf".to_string())
        );
        assert_eq!(
            bls_root("sda1:/loader/entries/a.conf"),
            ("sda1:/".to_string(), "a.conf".to_string())
        );
        assert_eq!(
            bls_root("http://s/x/a.conf"),
            ("http://s/x/".to_string(), "a.conf".to_string())
        );
    }

    #[test]
    fn dispatch() {
        let ctx = ParseContext::default();
        let mut f = |_: &str| -> Result<String, String> { Err("none".into()) };
        let (fmt, m) = parse_config(
            "title T\nlinux /vmlinuz\n",
            "http://s/boot/loader/entries/t.conf",
            None,
            &ctx,
            &mut f,
        );
        assert_eq!(fmt, Format::Bls);
        assert_eq!(
            m.entries[0].kernel.as_deref(),
            Some("http://s/boot/vmlinuz")
        );
        let (fmt, m) = parse_config("a='k quiet'\n", "tftp://h/x/kboot.conf", None, &ctx, &mut f);
        assert_eq!(fmt, Format::Kboot);
        assert_eq!(m.entries[0].kernel.as_deref(), Some("tftp://h/x/k"));
        let (fmt, m) = parse_config(
            "#!ipxe\nkernel k\nboot\n",
            "http://h/b",
            Some(Format::Ipxe),
            &ctx,
            &mut f,
        );
        assert_eq!(fmt, Format::Ipxe);
        assert_eq!(m.entries[0].kernel.as_deref(), Some("http://h/k"));
    }
}
