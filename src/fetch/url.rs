//! kboot locations: URLs, device paths, and bare paths resolved against a config's location.
//!
//! The forms kboot.conf and the `kboot:` prompt accept (netboot.md §1):
//! - `scheme://...` with scheme `tftp`, `http`, `https`, `ftp`, `nfs` or `file`;
//! - `dev:path` where `dev` is a kernel block device name (`sda1`, `nvme0n1p2`; `/dev/sda1:`
//!   is accepted too), `UUID=...:path` or `LABEL=...:path`;
//! - a bare path (`/boot/vmlinux`, `vmlinux`, `../x`), relative to where the config came from.
//!
//! URLs are canonicalised by the `url` crate: the path is percent-encoded (a space becomes
//! `%20`), so fetchers must percent-decode `Url::path()` before using it as a file name.

use std::fmt;

use thiserror::Error;

/// The URL schemes kboot can fetch from.
pub const SCHEMES: &[&str] = &["tftp", "http", "https", "ftp", "nfs", "file"];

/// A block device named in a `dev:path` location.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeviceRef {
    /// A kernel device name such as `sda1` (without `/dev/`).
    Name(String),
    /// A filesystem UUID (`UUID=...`).
    Uuid(String),
    /// A filesystem label (`LABEL=...`).
    Label(String),
}

/// Where a kernel, initrd or config lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A network or file URL (tftp, http, https, ftp, nfs, file).
    Url(url::Url),
    /// A file on a local block device; `path` is absolute and normalised.
    Device { device: DeviceRef, path: String },
}

/// Why a location could not be parsed or resolved.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UrlError {
    #[error("the location is empty")]
    Empty,
    #[error("location '{0}' contains whitespace, which no URL or path may contain here")]
    Whitespace(String),
    #[error("'{input}' is not a valid URL: {reason}")]
    Invalid { input: String, reason: String },
    #[error("'{input}' uses the unsupported scheme '{scheme}' (kboot fetches tftp, http, https, ftp, nfs and file URLs)")]
    UnsupportedScheme { input: String, scheme: String },
    #[error("'{0}' has no host name")]
    MissingHost(String),
    #[error("'{0}' names a device but no file path after the ':'")]
    MissingDevicePath(String),
    #[error("'{0}' has an empty device name, UUID or label before the ':'")]
    MissingDevice(String),
    #[error("'{0}' is neither a URL, a device path (sda1:/boot/vmlinux) nor a plain path")]
    NotALocation(String),
    #[error("'{0}' is a bare path, not a URL or a device path")]
    BarePath(String),
    #[error("'{0}' is a path relative to the config, but the config's location is unknown: use a full URL such as tftp://10.0.2.2/vmlinuz or a device path such as sda1:/boot/vmlinuz")]
    NoBase(String),
    #[error("the config location '{base}' cannot anchor relative paths: {reason}")]
    BadBase { base: String, reason: String },
}

impl fmt::Display for DeviceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceRef::Name(n) => f.write_str(n),
            DeviceRef::Uuid(u) => write!(f, "UUID={u}"),
            DeviceRef::Label(l) => write!(f, "LABEL={l}"),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Url(u) => f.write_str(u.as_str()),
            Location::Device { device, path } => write!(f, "{device}:{path}"),
        }
    }
}

/// What a reference string looks like, before any real parsing.
enum Shape<'a> {
    /// `scheme://...` (or `scheme:` with a known scheme name).
    Url { scheme: &'a str },
    /// `dev:path`, `UUID=..:path`, `LABEL=..:path`.
    Device { device: DeviceRef, path: &'a str },
    /// No scheme and no device: a path relative to the base.
    Bare,
}

fn is_device_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn is_scheme_like(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.')
}

fn shape(s: &str) -> Result<Shape<'_>, UrlError> {
    // UUID= and LABEL= may contain characters a device name may not, so handle them first.
    for (prefix, make) in [
        ("UUID=", DeviceRef::Uuid as fn(String) -> DeviceRef),
        ("LABEL=", DeviceRef::Label as fn(String) -> DeviceRef),
    ] {
        if let Some(rest) = strip_prefix_ignore_ascii_case(s, prefix) {
            let Some((id, path)) = rest.split_once(':') else {
                return Err(UrlError::MissingDevicePath(s.to_string()));
            };
            if id.is_empty() {
                return Err(UrlError::MissingDevice(s.to_string()));
            }
            return Ok(Shape::Device {
                device: make(id.to_string()),
                path,
            });
        }
    }
    let Some((prefix, rest)) = s.split_once(':') else {
        return Ok(Shape::Bare);
    };
    if let Some(dev) = prefix.strip_prefix("/dev/") {
        // A "device" named like a URL scheme (`/dev/file:...`) would print as `file:...` and
        // read back as a URL: it is a path with a colon in it instead.
        if is_device_name(dev) && !SCHEMES.iter().any(|k| dev.eq_ignore_ascii_case(k)) {
            return Ok(Shape::Device {
                device: DeviceRef::Name(dev.to_string()),
                path: rest,
            });
        }
    }
    if prefix.contains('/') {
        // `images/a:b` — the colon is inside a path.
        return Ok(Shape::Bare);
    }
    if prefix.is_empty() {
        return Err(UrlError::MissingDevice(s.to_string()));
    }
    if SCHEMES.iter().any(|k| prefix.eq_ignore_ascii_case(k)) {
        return Ok(Shape::Url { scheme: prefix });
    }
    if rest.starts_with("//") {
        if is_scheme_like(prefix) {
            return Err(UrlError::UnsupportedScheme {
                input: s.to_string(),
                scheme: prefix.to_ascii_lowercase(),
            });
        }
        return Err(UrlError::NotALocation(s.to_string()));
    }
    if is_device_name(prefix) {
        return Ok(Shape::Device {
            device: DeviceRef::Name(prefix.to_string()),
            path: rest,
        });
    }
    Err(UrlError::NotALocation(s.to_string()))
}

fn strip_prefix_ignore_ascii_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

fn check_text(s: &str) -> Result<(), UrlError> {
    if s.is_empty() {
        return Err(UrlError::Empty);
    }
    if s.chars().any(char::is_whitespace) {
        return Err(UrlError::Whitespace(s.to_string()));
    }
    Ok(())
}

fn parse_url(input: &str, scheme: &str) -> Result<Location, UrlError> {
    let after = input.get(scheme.len() + 1..).unwrap_or("");
    if !after.starts_with("//") {
        return Err(UrlError::Invalid {
            input: input.to_string(),
            reason: format!("expected '//' after '{}:'", scheme.to_ascii_lowercase()),
        });
    }
    let url = url::Url::parse(input).map_err(|e| UrlError::Invalid {
        input: input.to_string(),
        reason: e.to_string(),
    })?;
    check_url(input, url)
}

fn check_url(input: &str, mut url: url::Url) -> Result<Location, UrlError> {
    // The WHATWG parser is not idempotent on every input (percent-encoded dot segments after
    // backslashes, say): parse the serialisation again until it stops changing, so that a
    // resolved location always reads back as itself.
    for _ in 0..4 {
        match url::Url::parse(url.as_str()) {
            Ok(again) if again == url => break,
            Ok(again) => url = again,
            Err(e) => {
                return Err(UrlError::Invalid {
                    input: input.to_string(),
                    reason: e.to_string(),
                })
            }
        }
    }
    if !SCHEMES.contains(&url.scheme()) {
        return Err(UrlError::UnsupportedScheme {
            input: input.to_string(),
            scheme: url.scheme().to_string(),
        });
    }
    if url.scheme() != "file" && url.host_str().is_none_or(str::is_empty) {
        return Err(UrlError::MissingHost(input.to_string()));
    }
    Ok(Location::Url(url))
}

/// Normalise a device path: absolute, no `.`/`..`/empty segments (`..` stops at the root).
fn normalize_path(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut s = String::with_capacity(path.len() + 1);
    for seg in &out {
        s.push('/');
        s.push_str(seg);
    }
    if s.is_empty() || (path.ends_with('/') && !out.is_empty()) {
        s.push('/');
    }
    s
}

fn device_location(input: &str, device: DeviceRef, path: &str) -> Result<Location, UrlError> {
    if path.is_empty() {
        return Err(UrlError::MissingDevicePath(input.to_string()));
    }
    Ok(Location::Device {
        device,
        path: normalize_path(path),
    })
}

/// Parse an absolute location: a URL or a device path. Bare paths are an error
/// ([`UrlError::BarePath`]); use [`resolve`] for those.
pub fn parse_location(s: &str) -> Result<Location, UrlError> {
    check_text(s)?;
    match shape(s)? {
        Shape::Url { scheme } => parse_url(s, scheme),
        Shape::Device { device, path } => device_location(s, device, path),
        Shape::Bare => Err(UrlError::BarePath(s.to_string())),
    }
}

/// Resolve `reference` against `base` (the location of the config it came from) and return
/// the canonical location string.
///
/// Absolute URLs and device paths are returned canonicalised whatever the base. A bare path
/// resolves like a browser would: relative to the base's directory, or replacing the base's
/// path when it starts with `/` (a `//host/path` reference keeps only the scheme). For a
/// device base the path resolves within that device.
pub fn resolve(base: Option<&str>, reference: &str) -> Result<String, UrlError> {
    check_text(reference)?;
    match shape(reference)? {
        Shape::Url { scheme } => return parse_url(reference, scheme).map(|l| l.to_string()),
        Shape::Device { device, path } => {
            return device_location(reference, device, path).map(|l| l.to_string())
        }
        Shape::Bare => {}
    }
    let Some(base) = base else {
        return Err(UrlError::NoBase(reference.to_string()));
    };
    let base_loc = parse_location(base).map_err(|e| UrlError::BadBase {
        base: base.to_string(),
        reason: e.to_string(),
    })?;
    match base_loc {
        Location::Url(base_url) => {
            let joined = base_url.join(reference).map_err(|e| UrlError::Invalid {
                input: reference.to_string(),
                reason: e.to_string(),
            })?;
            check_url(reference, joined).map(|l| l.to_string())
        }
        Location::Device { device, path } => {
            let full = if reference.starts_with('/') {
                reference.to_string()
            } else {
                // The base path is normalised and absolute: its directory ends at the last '/'.
                let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
                format!("{dir}{reference}")
            };
            Ok(Location::Device {
                device,
                path: normalize_path(&full),
            }
            .to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TFTP_BASE: &str = "tftp://10.0.2.2/boot/kboot.conf";

    fn r(base: Option<&str>, reference: &str) -> Result<String, UrlError> {
        resolve(base, reference)
    }

    #[test]
    fn absolute_urls_stay() {
        for u in [
            "tftp://192.168.0.5/fire/boot/vmlinux",
            "http://192.168.0.5/ice/boot/vmlinux",
            "https://example.com/k?x=1",
            "ftp://host/pub/vmlinuz",
            "nfs://192.168.0.5/ice/boot/initrd",
            "file:///boot/vmlinuz",
        ] {
            assert_eq!(r(Some(TFTP_BASE), u).unwrap(), u);
            assert_eq!(r(None, u).unwrap(), u);
        }
    }

    #[test]
    fn urls_are_canonicalised() {
        assert_eq!(
            r(None, "HTTP://Example.COM/a/../b").unwrap(),
            "http://example.com/b"
        );
        assert_eq!(
            r(None, "TFTP://10.0.2.2/a/./b").unwrap(),
            "tftp://10.0.2.2/a/b"
        );
    }

    #[test]
    fn tftp_relative_joins_against_directory() {
        assert_eq!(
            r(Some(TFTP_BASE), "vmlinuz").unwrap(),
            "tftp://10.0.2.2/boot/vmlinuz"
        );
        assert_eq!(
            r(Some(TFTP_BASE), "x86/initrd.img").unwrap(),
            "tftp://10.0.2.2/boot/x86/initrd.img"
        );
        assert_eq!(
            r(Some(TFTP_BASE), "../vmlinuz").unwrap(),
            "tftp://10.0.2.2/vmlinuz"
        );
        assert_eq!(
            r(Some(TFTP_BASE), "../../../vmlinuz").unwrap(),
            "tftp://10.0.2.2/vmlinuz"
        );
    }

    #[test]
    fn tftp_absolute_path_replaces_base_path() {
        assert_eq!(
            r(Some(TFTP_BASE), "/srv/vmlinuz").unwrap(),
            "tftp://10.0.2.2/srv/vmlinuz"
        );
    }

    #[test]
    fn tftp_with_port_and_root_base() {
        assert_eq!(
            r(Some("tftp://10.0.2.2:6969/kboot.conf"), "vmlinuz").unwrap(),
            "tftp://10.0.2.2:6969/vmlinuz"
        );
        assert_eq!(
            r(Some("tftp://10.0.2.2"), "vmlinuz").unwrap(),
            "tftp://10.0.2.2/vmlinuz"
        );
        assert_eq!(
            r(Some("tftp://10.0.2.2/"), "vmlinuz").unwrap(),
            "tftp://10.0.2.2/vmlinuz"
        );
        assert_eq!(
            r(Some("tftp://10.0.2.2/pxe/"), "vmlinuz").unwrap(),
            "tftp://10.0.2.2/pxe/vmlinuz"
        );
    }

    #[test]
    fn http_relative_and_absolute() {
        let base = "http://192.168.0.5/ice/boot/kboot.conf?v=2";
        assert_eq!(
            r(Some(base), "vmlinux").unwrap(),
            "http://192.168.0.5/ice/boot/vmlinux"
        );
        assert_eq!(
            r(Some(base), "/fire/vmlinux").unwrap(),
            "http://192.168.0.5/fire/vmlinux"
        );
        assert_eq!(
            r(Some(base), "//other/vmlinux").unwrap(),
            "http://other/vmlinux"
        );
    }

    #[test]
    fn nfs_and_file_bases() {
        assert_eq!(
            r(Some("nfs://srv/export/kboot.conf"), "vmlinux").unwrap(),
            "nfs://srv/export/vmlinux"
        );
        assert_eq!(
            r(Some("file:///etc/kboot.conf"), "/boot/vmlinux").unwrap(),
            "file:///boot/vmlinux"
        );
    }

    #[test]
    fn device_references_stay() {
        assert_eq!(
            r(Some(TFTP_BASE), "sda1:/boot/vmlinux").unwrap(),
            "sda1:/boot/vmlinux"
        );
        assert_eq!(
            r(None, "UUID=1234-ABCD:/vmlinuz").unwrap(),
            "UUID=1234-ABCD:/vmlinuz"
        );
        assert_eq!(
            r(None, "LABEL=boot:/vmlinuz").unwrap(),
            "LABEL=boot:/vmlinuz"
        );
        assert_eq!(r(None, "sda1:boot/vmlinux").unwrap(), "sda1:/boot/vmlinux");
        assert_eq!(r(None, "/dev/sda1:/vmlinux").unwrap(), "sda1:/vmlinux");
        assert_eq!(r(None, "nvme0n1p2:/a/./b/../c").unwrap(), "nvme0n1p2:/a/c");
    }

    #[test]
    fn device_base_resolves_within_device() {
        let base = "sda1:/boot/kboot.conf";
        assert_eq!(r(Some(base), "vmlinux").unwrap(), "sda1:/boot/vmlinux");
        assert_eq!(r(Some(base), "/vmlinux").unwrap(), "sda1:/vmlinux");
        assert_eq!(r(Some(base), "../../x").unwrap(), "sda1:/x");
        assert_eq!(
            r(Some("UUID=abcd:/kboot.conf"), "k").unwrap(),
            "UUID=abcd:/k"
        );
    }

    #[test]
    fn urls_are_canonical_after_one_resolution() {
        // Found by the url_resolve fuzz target: backslashes and a percent-encoded dot segment
        // that the URL parser only collapses on a second pass.
        let reference = format!("file://hh-h.i{}%2E.{}/U:", "\\".repeat(9), "\\".repeat(24));
        let resolved = resolve(Some("tftp://10.0.2.2/boot/kboot.conf"), &reference).unwrap();
        assert_eq!(resolve(None, &resolved).as_deref(), Ok(resolved.as_str()));
    }

    #[test]
    fn a_dev_path_named_like_a_scheme_is_a_path_not_a_device() {
        // Found by the url_resolve fuzz target: "/dev/file://..." resolved to the device
        // "file", which printed as "file:/..." and did not parse back.
        let base = Some("tftp://10.0.2.2/boot/kboot.conf");
        let resolved = resolve(base, "/dev/file://n0y@n.r.nnn[").unwrap();
        assert_eq!(resolve(None, &resolved).as_deref(), Ok(resolved.as_str()));
        assert!(
            resolved.starts_with("tftp://10.0.2.2/dev/file:"),
            "{resolved}"
        );
        assert_eq!(
            parse_location("/dev/sda1:/boot/x").unwrap().to_string(),
            "sda1:/boot/x"
        );
    }

    #[test]
    fn parse_location_variants() {
        assert_eq!(
            parse_location("sda1:/boot/x").unwrap(),
            Location::Device {
                device: DeviceRef::Name("sda1".into()),
                path: "/boot/x".into()
            }
        );
        assert_eq!(
            parse_location("uuid=ab-cd:/x").unwrap(),
            Location::Device {
                device: DeviceRef::Uuid("ab-cd".into()),
                path: "/x".into()
            }
        );
        assert!(matches!(
            parse_location("tftp://h/x").unwrap(),
            Location::Url(u) if u.scheme() == "tftp" && u.path() == "/x"
        ));
        assert_eq!(
            parse_location("/boot/x"),
            Err(UrlError::BarePath("/boot/x".into()))
        );
    }

    #[test]
    fn bare_path_without_base_is_an_error() {
        let e = r(None, "vmlinuz").unwrap_err();
        assert_eq!(e, UrlError::NoBase("vmlinuz".into()));
        assert!(e.to_string().contains("tftp://10.0.2.2/vmlinuz"));
        assert!(matches!(r(None, "/boot/x"), Err(UrlError::NoBase(_))));
    }

    #[test]
    fn malformed() {
        assert_eq!(r(None, ""), Err(UrlError::Empty));
        assert!(matches!(r(None, "tftp://"), Err(UrlError::MissingHost(_))));
        assert!(matches!(
            r(None, "tftp:///x"),
            Err(UrlError::MissingHost(_))
        ));
        assert!(matches!(r(None, "http://"), Err(UrlError::Invalid { .. })));
        assert!(matches!(
            r(None, "http://[::1"),
            Err(UrlError::Invalid { .. })
        ));
        assert!(matches!(
            r(None, "http://a b/x"),
            Err(UrlError::Whitespace(_))
        ));
        assert!(matches!(r(None, " x"), Err(UrlError::Whitespace(_))));
        assert!(matches!(
            r(None, "gopher://h/x"),
            Err(UrlError::UnsupportedScheme { .. })
        ));
        assert!(matches!(r(None, "http:foo"), Err(UrlError::Invalid { .. })));
        assert!(matches!(
            r(None, "sda1:"),
            Err(UrlError::MissingDevicePath(_))
        ));
        assert!(matches!(
            r(None, "UUID=:/x"),
            Err(UrlError::MissingDevice(_))
        ));
        assert!(matches!(
            r(None, "UUID=abcd"),
            Err(UrlError::MissingDevicePath(_))
        ));
        assert!(matches!(r(None, ":/x"), Err(UrlError::MissingDevice(_))));
        assert!(matches!(
            r(None, "192.168.0.5:/export"),
            Err(UrlError::NotALocation(_))
        ));
    }

    #[test]
    fn bad_base_is_reported() {
        assert!(matches!(
            r(Some("/etc/kboot.conf"), "vmlinuz"),
            Err(UrlError::BadBase { .. })
        ));
        assert!(matches!(
            r(Some("tftp://"), "vmlinuz"),
            Err(UrlError::BadBase { .. })
        ));
    }

    #[test]
    fn colon_inside_relative_path_and_non_ascii() {
        assert_eq!(
            r(Some(TFTP_BASE), "img/a:b").unwrap(),
            "tftp://10.0.2.2/boot/img/a:b"
        );
        assert_eq!(
            r(Some(TFTP_BASE), "ké").unwrap(),
            "tftp://10.0.2.2/boot/k%C3%A9"
        );
        assert_eq!(r(Some("sda1:/é/c"), "ü").unwrap(), "sda1:/é/ü");
        // Multi-byte characters right where the prefix checks look must not panic.
        assert!(r(None, "UUIDé").is_err());
        assert!(r(None, "LABEL").is_err());
        assert!(r(None, "é:x").is_err());
    }

    #[test]
    fn display_round_trips() {
        for s in ["tftp://10.0.2.2/x", "sda1:/x", "UUID=a:/x", "LABEL=b:/y/"] {
            assert_eq!(parse_location(s).unwrap().to_string(), s);
        }
    }

    /// Every combination of three tricky pieces: resolve never panics, and a resolved
    /// location is canonical (resolving it again with no base gives it back unchanged).
    #[test]
    fn combinations_are_idempotent_and_never_panic() {
        const PIECES: &[&str] = &[
            "tftp://", "http://", "file://", "h", "/", ".", "..", ":", "sda1", "UUID=", "é", "%",
            "?", "#", "[", "]", "@", "\\", "//", "%2e",
        ];
        let bases = [
            None,
            Some(TFTP_BASE),
            Some("http://h/a/b?q#f"),
            Some("sda1:/boot/kboot.conf"),
            Some("file:///"),
        ];
        for a in PIECES {
            for b in PIECES {
                for c in PIECES {
                    let reference = format!("{a}{b}{c}");
                    let _ = parse_location(&reference);
                    for base in bases {
                        if let Ok(res) = resolve(base, &reference) {
                            assert_eq!(
                                resolve(None, &res).as_deref(),
                                Ok(res.as_str()),
                                "base {base:?} reference {reference:?}"
                            );
                        }
                    }
                }
            }
        }
    }
}
