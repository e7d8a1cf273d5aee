//! Finding the boot config from a DHCP lease (sans-IO; the caller supplies the fetcher).
//!
//! The order is netboot.md §2 (petitboot's, plus the UUID like pxelinux and GRUB):
//! 1. Option 209 is a full URL → that URL.
//! 2. Option 210 is a URL → 210 + 209 (`http://` in 210 forces HTTP for everything relative).
//! 3. Else host = option 66, else siaddr, else the server identifier; the URL is
//!    `tftp://host/` + (210, or the directory of option 67) + 209.
//! 4. Without 209, the pxelinux lookup under that same prefix: `pxelinux.cfg/` + the UUID
//!    (lowercase, dashed), `01-<mac lowercase dashed>`, the client IP as 8 uppercase hex
//!    digits shortened one digit at a time, `default`. Only the first file found is used.
//!
//! kboot adds three things around that list:
//! - The boot file (option 67 / BOOTP `file`) right after the 209 candidate: servers that
//!   hand a config or a kernel straight to kboot name it there. [`discover`] sniffs it: a
//!   config (`#!ipxe`, pxelinux, GRUB, kboot.conf) is used; a kernel ([`looks_like_kernel`])
//!   becomes a menu entry of its own and the search goes on for a config; anything else (a
//!   PXE program such as `pxelinux.0`, `ipxe.efi`) is skipped. Boot files named like GRUB,
//!   shim, iPXE or pxelinux programs ([`pxe_program_name`]: `grubx64.efi`, `grubaa64.efi`,
//!   `shimx64.efi`, `pxelinux.0`, ...) are skipped without being fetched; `bootx64.efi` and
//!   `bootaa64.efi` are fetched and sniffed (they may be GRUB, shim or a kernel). A kernel boot
//!   file that is kboot's own running image ([`crate::boot::header::is_running_kernel`]) is
//!   refused with a sentence: the DHCP server handed kboot what it handed the firmware.
//! - `kboot.conf` at the TFTP root, last of [`candidates`].
//! - GRUB's network lookup ([`grub_candidates`]) after that, relative to the same prefix; when
//!   the boot file sits in a GRUB platform folder (`grub-mknetdir`'s
//!   `boot/grub/x86_64-efi/core.efi`), first relative to the folder above it (GRUB's prefix).
//!
//! Option 17 (root-path) is only reported ([`root_path_line`]); turning it into a diskless
//! entry belongs to the diskless-root work.

use std::io::Write;
use std::net::Ipv4Addr;
use std::sync::atomic::AtomicBool;

use crate::config::Entry;
use crate::net::static_ip::valid_host;
use crate::net::{Lease, Lease6};

/// One place a config may be, and why it is tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub url: String,
    /// Human reason: "option 209 is a full URL", "pxelinux lookup: MAC", ...
    pub why: String,
}

/// Why the fetcher did not return a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Miss {
    /// The server answered, but has no such file (or refused it): try the next candidate.
    NotFound(String),
    /// The server did not answer or cannot be reached: the remaining candidates on the same
    /// server are skipped (each would wait for the same timeout).
    Unreachable(String),
}

/// What a file looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigKind {
    Ipxe,
    Pxelinux,
    Grub,
    KbootConf,
}

impl ConfigKind {
    pub fn name(self) -> &'static str {
        match self {
            ConfigKind::Ipxe => "an iPXE script",
            ConfigKind::Pxelinux => "a pxelinux config",
            ConfigKind::Grub => "a GRUB config",
            ConfigKind::KbootConf => "a kboot.conf",
        }
    }
}

/// What [`discover`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Where the config came from (the base for its relative paths); the boot file's URL when
    /// only a kernel boot file was found.
    pub url: String,
    /// The config's text, when a config was found.
    pub text: Option<String>,
    /// The config's format as sniffed (the caller may still parse by its own rules).
    pub kind: Option<ConfigKind>,
    /// A kernel named by option 67, as an entry of its own (to add to the menu, or to be the
    /// menu when there is no config).
    pub kernel_entry: Option<Entry>,
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lowercase, from 16 bytes in textual order.
pub fn uuid_string(b: &[u8; 16]) -> String {
    let h: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        h[0..4].concat(),
        h[4..6].concat(),
        h[6..8].concat(),
        h[8..10].concat(),
        h[10..16].concat()
    )
}

fn normal_uuid(u: &str) -> Option<String> {
    crate::net::dhcp4_socket::parse_uuid(u.trim()).map(|b| uuid_string(&b))
}

/// `01-aa-bb-cc-dd-ee-ff` is [`Lease::bootif`].
fn ip_hex(a: Ipv4Addr) -> String {
    let o = a.octets();
    format!("{:02X}{:02X}{:02X}{:02X}", o[0], o[1], o[2], o[3])
}

/// `scheme://...` with a plausible scheme.
fn is_url(s: &str) -> bool {
    match s.split_once("://") {
        Some((scheme, _)) => {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The host for relative names: option 66 (when it is a usable host name), else siaddr,
/// else the server identifier.
pub fn boot_host(lease: &Lease) -> Option<String> {
    if let Some(n) = non_empty(&lease.tftp_server_name).filter(|n| valid_host(n)) {
        return Some(n.to_string());
    }
    lease
        .next_server
        .filter(|a| !a.is_unspecified() && !a.is_broadcast())
        .or(lease.server_id.filter(|a| !a.is_unspecified()))
        .map(|a| a.to_string())
}

/// A path relative to a TFTP root: without `::` (pxelinux's "absolute") or leading `/`.
fn rel(p: &str) -> &str {
    let p = p.strip_prefix("::").unwrap_or(p);
    p.trim_start_matches('/')
}

/// `base` (a URL) joined with `rel`, with exactly one `/` between them.
fn join(base: &str, rel_path: &str) -> String {
    let r = rel(rel_path);
    if base.ends_with('/') {
        format!("{base}{r}")
    } else {
        format!("{base}/{r}")
    }
}

/// Directory part (with trailing `/`) of a path; empty for a bare name.
fn dir_of(p: &str) -> &str {
    p.rfind('/').map_or("", |i| &p[..=i])
}

/// The URL (ending in `/`) that relative pxelinux/GRUB names hang off: option 210 when it is
/// a URL; else `tftp://host/` + (210, or the directory of 67); a 67 that is itself a URL
/// gives its own directory. `None` when there is no host to ask.
pub fn prefix_url(lease: &Lease) -> Option<String> {
    let with_slash = |s: String| {
        if s.ends_with('/') {
            s
        } else {
            format!("{s}/")
        }
    };
    if let Some(p) = non_empty(&lease.pxe_path_prefix) {
        if is_url(p) {
            return Some(with_slash(p.to_string()));
        }
        let host = boot_host(lease)?;
        let r = rel(p);
        return Some(if r.is_empty() {
            format!("tftp://{host}/")
        } else {
            with_slash(format!("tftp://{host}/{r}"))
        });
    }
    if let Some(f) = non_empty(&lease.boot_file) {
        // A URL with a path: its own directory (`http://h/boot/ipxe.efi` → `http://h/boot/`).
        if let Some((_, after)) = f.split_once("://").filter(|_| is_url(f)) {
            if let Some(i) = after.find('/') {
                let host_len = f.len() - after.len() + i;
                return Some(format!("{}{}", &f[..host_len], dir_of(&f[host_len..])));
            }
        }
    }
    let host = boot_host(lease)?;
    let d = non_empty(&lease.boot_file)
        .filter(|f| !is_url(f))
        .map(|f| dir_of(rel(f)))
        .unwrap_or("");
    Some(format!("tftp://{host}/{d}"))
}

/// The URL of the boot file (option 67), if any.
pub fn boot_file_url(lease: &Lease) -> Option<String> {
    let f = non_empty(&lease.boot_file)?;
    if is_url(f) {
        return Some(f.to_string());
    }
    let host = boot_host(lease)?;
    Some(join(&format!("tftp://{host}/"), f))
}

/// The client address as 8 uppercase hex digits, then shortened one digit at a time.
fn hex_ladder(a: Ipv4Addr) -> Vec<String> {
    let h = ip_hex(a);
    (1..=8).rev().map(|n| h[..n].to_string()).collect()
}

/// The config candidates of netboot.md §2, in order (see the module documentation), plus the
/// boot file right after the option-209 candidate and `kboot.conf` at the TFTP root last.
pub fn candidates(lease: &Lease, uuid: Option<&str>) -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut push = |url: String, why: String| {
        if !out.iter().any(|c: &Candidate| c.url == url) {
            out.push(Candidate { url, why });
        }
    };
    let prefix = prefix_url(lease);
    let p209 = non_empty(&lease.pxe_config_file);
    let p210 = non_empty(&lease.pxe_path_prefix);
    if let Some(c) = p209 {
        if is_url(c) {
            push(c.to_string(), "option 209 is a full URL".into());
        } else if let Some(p) = p210.filter(|p| is_url(p)) {
            push(
                join(prefix.as_deref().unwrap_or(p), c),
                "option 210 is a URL: 210 + 209".into(),
            );
        } else if let Some(base) = &prefix {
            let from = if p210.is_some() {
                "option 210"
            } else {
                "the boot file's directory"
            };
            // pxelinux's `::name` is absolute from the TFTP root, ignoring the prefix.
            let url = match (c.strip_prefix("::"), boot_host(lease)) {
                (Some(abs), Some(host)) => join(&format!("tftp://{host}/"), abs),
                _ => join(base, c),
            };
            push(url, format!("option 209 under {from}"));
        }
    }
    if let Some(u) = boot_file_url(lease) {
        push(u, "boot file (option 67)".into());
    }
    if p209.is_none() {
        if let Some(base) = &prefix {
            if let Some(u) = uuid.and_then(normal_uuid) {
                push(
                    join(base, &format!("pxelinux.cfg/{u}")),
                    "pxelinux lookup: UUID".into(),
                );
            }
            if lease.mac != [0u8; 6] {
                push(
                    join(base, &format!("pxelinux.cfg/{}", lease.bootif())),
                    "pxelinux lookup: MAC".into(),
                );
            }
            if let Some(ip) = lease.client.filter(|c| !c.is_unspecified()) {
                for h in hex_ladder(ip) {
                    push(
                        join(base, &format!("pxelinux.cfg/{h}")),
                        format!("pxelinux lookup: IP {h}"),
                    );
                }
            }
            push(
                join(base, "pxelinux.cfg/default"),
                "pxelinux lookup: default".into(),
            );
        }
    }
    if let Some(host) = boot_host(lease) {
        push(
            format!("tftp://{host}/kboot.conf"),
            "kboot.conf at the TFTP root".into(),
        );
    }
    out
}

/// Config candidates from an IPv6 lease (u-root's netboot order): the DHCPv6 boot-file URL
/// (option 59, RFC 5970) first, then `pxelinux.cfg/default` and `kboot.conf` in that URL's
/// directory. QEMU's user network hands out `tftp://[fec0:0000:…:0002]/<bootfile>`;
/// a server may hand out `http://[2001:db8::1]/boot.ipxe`. Empty without option 59.
pub fn v6_candidates(lease6: &Lease6) -> Vec<Candidate> {
    let Some(url) = non_empty(&lease6.boot_file_url).filter(|u| is_url(u)) else {
        return Vec::new();
    };
    let mut out = vec![Candidate {
        url: url.to_string(),
        why: "DHCPv6 boot-file URL (option 59)".into(),
    }];
    // The directory of the URL's path (`scheme://host/dir/`), when it has a path.
    let dir = url.split_once("://").and_then(|(_, after)| {
        let path_at = url.len() - after.len() + after.find('/')?;
        Some(format!("{}{}", &url[..path_at], dir_of(&url[path_at..])))
    });
    if let Some(dir) = dir {
        for (name, why) in [
            (
                "pxelinux.cfg/default",
                "pxelinux default next to the DHCPv6 boot file",
            ),
            ("kboot.conf", "kboot.conf next to the DHCPv6 boot file"),
        ] {
            let u = join(&dir, name);
            if u != url {
                out.push(Candidate {
                    url: u,
                    why: why.into(),
                });
            }
        }
    }
    out
}

/// GRUB's network lookup, relative to the same prefix as pxelinux's (option 210, else the
/// directory of 67): `grub.cfg-<UUID>`, `grub.cfg-01-<MAC>`, `grub.cfg-<IP hex, shortened>`,
/// `grub.cfg`.
pub fn grub_candidates(lease: &Lease, uuid: Option<&str>) -> Vec<Candidate> {
    let Some(base) = prefix_url(lease) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(parent) = grub_platform_parent(&base) {
        out.extend(grub_lookup(lease, uuid, &parent));
    }
    out.extend(grub_lookup(lease, uuid, &base));
    out
}

/// GRUB's platform folders (`grub-mknetdir` puts `core.efi`/`core.0` in one of them under
/// its prefix `boot/grub/`).
const GRUB_PLATFORMS: &[&str] = &["x86_64-efi", "i386-efi", "i386-pc", "arm64-efi"];

/// `tftp://h/boot/grub/` for `tftp://h/boot/grub/x86_64-efi/`.
fn grub_platform_parent(base: &str) -> Option<String> {
    let trimmed = base.strip_suffix('/')?;
    let (parent, last) = trimmed.rsplit_once('/')?;
    (GRUB_PLATFORMS.contains(&last) && parent.contains("://")).then(|| format!("{parent}/"))
}

fn grub_lookup(lease: &Lease, uuid: Option<&str>, base: &str) -> Vec<Candidate> {
    let base = base.to_string();
    let mut out = Vec::new();
    if let Some(u) = uuid.and_then(normal_uuid) {
        out.push(Candidate {
            url: join(&base, &format!("grub.cfg-{u}")),
            why: "GRUB lookup: UUID".into(),
        });
    }
    if lease.mac != [0u8; 6] {
        out.push(Candidate {
            url: join(&base, &format!("grub.cfg-{}", lease.bootif())),
            why: "GRUB lookup: MAC".into(),
        });
    }
    if let Some(ip) = lease.client.filter(|c| !c.is_unspecified()) {
        for h in hex_ladder(ip) {
            out.push(Candidate {
                url: join(&base, &format!("grub.cfg-{h}")),
                why: format!("GRUB lookup: IP {h}"),
            });
        }
    }
    out.push(Candidate {
        url: join(&base, "grub.cfg"),
        why: "GRUB lookup: grub.cfg".into(),
    });
    out
}

/// Boot-file names of programs that are never a Linux kernel: GRUB (`grubx64.efi`,
/// `grubaa64.efi`, `grubnetx64.efi`, `core.efi`, `core.0`), shim, iPXE (`ipxe.efi`,
/// `snponly.efi`, `*.pxe`, `*.kpxe`) and pxelinux/syslinux. A firmware's DHCP answer names
/// them; kboot gets the same answer and looks for their configs instead of fetching them.
/// `bootx64.efi`/`bootaa64.efi` are not in the list: that name may hold any EFI program,
/// kboot itself included.
pub fn pxe_program_name(name: &str) -> bool {
    let n = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    let efi = n.strip_suffix(".efi").unwrap_or("");
    efi.starts_with("grub")
        || efi.starts_with("shim")
        || efi.starts_with("mm")
        || matches!(
            efi,
            "ipxe" | "snponly" | "snp" | "syslinux" | "core" | "fbx64" | "fbaa64"
        )
        || n.ends_with(".pxe")
        || n.ends_with(".kpxe")
        || n.ends_with(".kkpxe")
        || matches!(
            n.as_str(),
            "pxelinux.0" | "lpxelinux.0" | "gpxelinux.0" | "core.0" | "pxegrub.0" | "grldr"
        )
}

/// True when the first bytes of a file are a kernel kexec can load: an x86 bzImage (`HdrS`
/// at 0x202, which every x86 EFI-stub kernel has too), an ELF file (vmlinux), an arm64 or
/// RISC-V `Image` (magic at 0x38, with or without the EFI stub), or an EFI zboot image
/// (`MZ` + `zimg`). A PE file without a Linux magic (`ipxe.efi`, `grubx64.efi`, shim) is
/// *not* a kernel: kexec cannot run it. 0x240 bytes are enough to decide.
pub fn looks_like_kernel(b: &[u8]) -> bool {
    b.get(0x202..0x206) == Some(b"HdrS".as_slice())
        || b.starts_with(b"\x7fELF")
        || b.get(0x38..0x3c) == Some(b"ARM\x64".as_slice())
        || b.get(0x38..0x3c) == Some(b"RSC\x05".as_slice())
        || (b.starts_with(b"MZ") && b.get(4..8) == Some(b"zimg".as_slice()))
}

const PXELINUX_WORDS: &[&str] = &[
    "default",
    "label",
    "kernel",
    "linux",
    "append",
    "initrd",
    "prompt",
    "timeout",
    "totaltimeout",
    "ontimeout",
    "onerror",
    "ui",
    "menu",
    "include",
    "say",
    "display",
    "localboot",
    "ipappend",
    "sysappend",
    "config",
    "path",
    "serial",
    "console",
    "font",
    "implicit",
    "allowoptions",
    "noescape",
    "nocomplete",
    "text",
    "f1",
];

const GRUB_WORDS: &[&str] = &[
    "menuentry",
    "submenu",
    "set",
    "insmod",
    "configfile",
    "source",
    "search",
    "if",
    "function",
    "loadfont",
    "terminal_output",
    "terminal_input",
    "export",
    "blscfg",
];

/// What kind of config `b` is, or `None` for a binary or unrecognised text.
pub fn config_kind(b: &[u8]) -> Option<ConfigKind> {
    let head = &b[..b.len().min(4096)];
    if head.contains(&0) {
        return None;
    }
    let text = String::from_utf8_lossy(b);
    let controls = text
        .chars()
        .take(4096)
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\x0c'))
        .count();
    if controls > 0 || text.chars().take(4096).filter(|&c| c == '\u{fffd}').count() > 8 {
        return None;
    }
    let first = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    if first.to_ascii_lowercase().starts_with("#!ipxe") {
        return Some(ConfigKind::Ipxe);
    }
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let word = line
            .split(|c: char| c.is_whitespace())
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if GRUB_WORDS.contains(&word.as_str()) {
            return Some(ConfigKind::Grub);
        }
        if PXELINUX_WORDS.contains(&word.as_str()) {
            return Some(ConfigKind::Pxelinux);
        }
        if let Some((k, _)) = line.split_once('=') {
            if !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            {
                return Some(ConfigKind::KbootConf);
            }
        }
        return None;
    }
    None
}

/// Option 17 as a log line; diskless entries from it are built elsewhere.
pub fn root_path_line(lease: &Lease) -> Option<String> {
    let rp = non_empty(&lease.root_path)?;
    Some(format!(
        "option 17 root-path {rp:?} (a diskless root; no menu entry is made from it yet)"
    ))
}

/// `scheme://authority` of a URL, to group candidates by server.
fn server_of(url: &str) -> &str {
    let Some(i) = url.find("://") else {
        return url;
    };
    let rest = &url[i + 3..];
    let end = rest.find('/').map_or(url.len(), |j| i + 3 + j);
    &url[..end]
}

fn file_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

/// Try every candidate ([`candidates`], then [`grub_candidates`]) in order through `fetch`
/// and return the first config found (plus a kernel boot file, if 67 named one). Every URL
/// tried is logged with its outcome. `None` when nothing usable was found.
///
/// `fetch` may return only the first part of a large file (see [`fetcher`]): a boot file is
/// sniffed from its first bytes, and configs are small.
/// `running` is the running kernel's `/proc/version`: a kernel boot file that is this very
/// image is refused (see the module documentation).
pub fn discover(
    lease: &Lease,
    uuid: Option<&str>,
    running: Option<&str>,
    fetch: &mut dyn FnMut(&str) -> Result<Vec<u8>, Miss>,
    log: &mut dyn FnMut(String),
) -> Option<Found> {
    if let Some(l) = root_path_line(lease) {
        log(l);
    }
    if let Some(n) = non_empty(&lease.tftp_server_name).filter(|n| !valid_host(n)) {
        log(format!(
            "option 66 {n:?} is not a host name; using siaddr or the DHCP server instead"
        ));
    }
    let mut list = candidates(lease, uuid);
    for g in grub_candidates(lease, uuid) {
        if !list.iter().any(|c| c.url == g.url) {
            list.push(g);
        }
    }
    if list.is_empty() {
        log("the DHCP lease names no boot server, config or boot file: nothing to look up".into());
        return None;
    }
    try_candidates(&list, boot_file_url(lease).as_deref(), running, fetch, log)
}

/// IPv6: try the DHCPv6 boot-file URL (option 59) and the configs beside it.
pub fn discover_v6(
    lease6: &Lease6,
    running: Option<&str>,
    fetch: &mut dyn FnMut(&str) -> Result<Vec<u8>, Miss>,
    log: &mut dyn FnMut(String),
) -> Option<Found> {
    let list = v6_candidates(lease6);
    if list.is_empty() {
        log("the DHCPv6 answer names no boot-file URL (option 59): nothing to look up".into());
        return None;
    }
    try_candidates(&list, lease6.boot_file_url.as_deref(), running, fetch, log)
}

/// Fetch the candidates in order and return the first config (plus a kernel boot file seen on
/// the way). `boot_url` is the DHCP boot file, which may also be a kernel.
fn try_candidates(
    list: &[Candidate],
    boot_url: Option<&str>,
    running: Option<&str>,
    fetch: &mut dyn FnMut(&str) -> Result<Vec<u8>, Miss>,
    log: &mut dyn FnMut(String),
) -> Option<Found> {
    let mut dead: Vec<String> = Vec::new();
    let mut kernel_entry: Option<Entry> = None;
    let mut pxelinux_noted = false;
    for c in list {
        let server = server_of(&c.url).to_string();
        if dead.contains(&server) {
            continue;
        }
        if c.why.starts_with("pxelinux lookup") && !pxelinux_noted {
            pxelinux_noted = true;
            log("pxelinux lookup: only the first file found is used".into());
        }
        let is_boot_file = boot_url == Some(c.url.as_str());
        if is_boot_file && pxe_program_name(&c.url) {
            log(format!(
                "{}: the boot file is a boot loader for the firmware ({}), not a kernel; skipped without fetching it, its configs are looked up beside it",
                c.url,
                file_name(&c.url)
            ));
            continue;
        }
        let bytes = match fetch(&c.url) {
            Ok(b) => b,
            Err(Miss::NotFound(m)) => {
                log(format!("{}: {m}", c.url));
                continue;
            }
            Err(Miss::Unreachable(m)) => {
                log(format!(
                    "{}: {m}; skipping the other candidates on {server}",
                    c.url
                ));
                dead.push(server);
                continue;
            }
        };
        if let Some(kind) = config_kind(&bytes) {
            log(format!("{}: found {} ({})", c.url, kind.name(), c.why));
            return Some(Found {
                url: c.url.clone(),
                text: Some(String::from_utf8_lossy(&bytes).into_owned()),
                kind: Some(kind),
                kernel_entry,
            });
        }
        if is_boot_file
            && running.is_some_and(|r| crate::boot::header::is_running_kernel(&bytes, r))
        {
            log(format!(
                "{}: the boot file is kboot's own image (the kernel kboot runs on): the DHCP server gives kboot the boot file it gave the firmware; not booting it again (tag kboot's requests by their user class \"kboot\", docs/pxe.md)",
                c.url
            ));
            continue;
        }
        if is_boot_file && looks_like_kernel(&bytes) {
            log(format!(
                "{}: the boot file is a kernel; it gets a menu entry of its own",
                c.url
            ));
            let name = file_name(&c.url).to_string();
            kernel_entry = Some(Entry {
                id: "bootfile".into(),
                title: format!("{name} (boot file from DHCP)"),
                kernel: Some(c.url.clone()),
                ..Entry::default()
            });
            continue;
        }
        if is_boot_file {
            log(format!(
                "{}: the boot file is neither a config nor a kernel (a PXE program?); skipped",
                c.url
            ));
        } else {
            log(format!(
                "{}: not a config kboot recognises ({} bytes); skipped",
                c.url,
                bytes.len()
            ));
        }
    }
    match kernel_entry {
        Some(e) => {
            log("no config found; the kernel boot file is the only entry".into());
            Some(Found {
                url: e.kernel.clone().unwrap_or_default(),
                text: None,
                kind: None,
                kernel_entry: Some(e),
            })
        }
        None => {
            log(format!("no config found after {} candidates", list.len()));
            None
        }
    }
}

/// How much of each file [`fetcher`] keeps (configs are far smaller; a kernel is cut short).
pub const FETCH_LIMIT: usize = 1 << 20;

/// A sink that keeps the first `limit` bytes and then stops the transfer. On arm64 (any kboot
/// that is not x86: `whole_images`), an arm64 Image or EFI zboot file is kept whole (up to
/// [`crate::boot::header::OWN_IMAGE_MAX`]): its kernel banner, which tells kboot's own image,
/// lies megabytes in.
struct Head {
    buf: Vec<u8>,
    limit: usize,
    /// Keep arm64 Images and zboot files whole ([`WHOLE_IMAGES`]).
    whole_images: bool,
}

/// Only where kboot itself is an arm64 (or RISC-V) Image: on x86 such an Image is never kboot.
const WHOLE_IMAGES: bool = !cfg!(target_arch = "x86_64");

impl Write for Head {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.whole_images && self.buf.len() < 0x40 && self.buf.len() + data.len() >= 0x40 {
            let mut first = self.buf.clone();
            first.extend_from_slice(&data[..0x40 - self.buf.len()]);
            if let Some(n) = crate::boot::header::own_image_check_len(&first) {
                self.limit = self.limit.max(n as usize);
            }
        }
        let room = self.limit - self.buf.len();
        if room == 0 {
            return Err(std::io::Error::other("enough bytes to identify the file"));
        }
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A fetcher for [`discover`] on top of [`crate::fetch::fetch`]: at most [`FETCH_LIMIT`]
/// bytes per file (the transfer stops there), TFTP "file not found"/"access denied" as
/// [`Miss::NotFound`], everything else as [`Miss::Unreachable`].
pub fn fetcher(cancel: &AtomicBool) -> impl FnMut(&str) -> Result<Vec<u8>, Miss> + '_ {
    move |url: &str| {
        use crate::fetch::{tftp::TftpError, FetchError, FetchOptions};
        let mut head = Head {
            buf: Vec::new(),
            limit: FETCH_LIMIT,
            whole_images: WHOLE_IMAGES,
        };
        let r = crate::fetch::fetch(
            url,
            &mut head,
            &FetchOptions::default(),
            &mut |_| {},
            cancel,
        );
        match r {
            Ok(_) => Ok(head.buf),
            Err(_) if head.buf.len() >= FETCH_LIMIT => Ok(head.buf),
            Err(FetchError::Tftp(TftpError::FileNotFound { .. })) => {
                Err(Miss::NotFound("not found".into()))
            }
            Err(e @ FetchError::Tftp(TftpError::AccessDenied { .. })) => {
                Err(Miss::NotFound(e.to_string()))
            }
            Err(e @ FetchError::Tftp(TftpError::Server { .. })) => {
                Err(Miss::NotFound(e.to_string()))
            }
            Err(e @ FetchError::File { .. }) => Err(Miss::NotFound(e.to_string())),
            Err(e) => Err(Miss::Unreachable(e.to_string())),
        }
    }
}

#[cfg(test)]
#[path = "discovery_tests.rs"]
mod tests;
