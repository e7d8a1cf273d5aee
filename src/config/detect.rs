//! Which config format a file is written in, from its text and where it came from.
//!
//! Order of evidence:
//! 1. `#!ipxe` (or the legacy `#!gpxe`) on the first line → [`Format::Ipxe`].
//! 2. The location: `pxelinux.cfg/…`, `syslinux.cfg`, `isolinux.cfg`, `extlinux.conf` →
//!    Pxelinux; `grub.cfg` (and `grub.cfg-…`) → Grub; `*.ipxe` → Ipxe;
//!    `loader/entries/*.conf` → Bls; `kboot.conf` → Kboot.
//! 3. The text: each line votes — `menuentry`/`submenu`, `set default=`, lines ending in `{`
//!    for GRUB; `LABEL`/`APPEND`/`MENU`/`DEFAULT x`/`PROMPT`/`TIMEOUT`... at the start of a
//!    line (any case) for pxelinux; `key=value` lines for kboot.conf; `title`, `options`,
//!    `version`, `machine-id`, `sort-key` key-space-value lines for BLS. The most votes win;
//!    nothing recognisable is [`Format::Kboot`], kboot's own format.

use serde::Serialize;

/// A config format kboot can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Kboot,
    Pxelinux,
    Grub,
    Ipxe,
    Bls,
}

impl Format {
    /// Every format, in the order of `--format` help.
    pub const ALL: [Format; 5] = [
        Format::Kboot,
        Format::Pxelinux,
        Format::Grub,
        Format::Ipxe,
        Format::Bls,
    ];

    /// The `--format` name of a format.
    pub fn name(self) -> &'static str {
        match self {
            Format::Kboot => "kboot",
            Format::Pxelinux => "pxelinux",
            Format::Grub => "grub",
            Format::Ipxe => "ipxe",
            Format::Bls => "bls",
        }
    }

    /// The format a `--format` name stands for (case-insensitive). `None` for `auto` and for
    /// unknown names: use [`parse_format_arg`] to tell them apart.
    pub fn from_name(name: &str) -> Option<Format> {
        let n = name.trim();
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(n))
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A `--format` argument: `Ok(None)` for `auto`, `Ok(Some(f))` for a format name, `Err` with
/// a one-sentence reason otherwise.
pub fn parse_format_arg(arg: &str) -> Result<Option<Format>, String> {
    if arg.trim().eq_ignore_ascii_case("auto") {
        return Ok(None);
    }
    Format::from_name(arg).map(Some).ok_or_else(|| {
        format!(
            "unknown config format '{}' (use auto, kboot, pxelinux, grub, ipxe or bls)",
            arg.chars().take(40).collect::<String>()
        )
    })
}

/// The format the location's name implies, if any.
pub fn from_url(url: &str) -> Option<Format> {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    let path = path.replace('\\', "/");
    let name = path.rsplit('/').next().unwrap_or(&path);
    let name = name.rsplit(':').next().unwrap_or(name);
    if path.contains("pxelinux.cfg/")
        || matches!(
            name,
            "syslinux.cfg" | "isolinux.cfg" | "extlinux.conf" | "pxelinux.cfg"
        )
    {
        return Some(Format::Pxelinux);
    }
    if name == "grub.cfg" || name.starts_with("grub.cfg-") {
        return Some(Format::Grub);
    }
    if name.ends_with(".ipxe") {
        return Some(Format::Ipxe);
    }
    if path.contains("loader/entries/") && name.ends_with(".conf") {
        return Some(Format::Bls);
    }
    if name == "kboot.conf" {
        return Some(Format::Kboot);
    }
    None
}

const PXELINUX_ONLY: &[&str] = &[
    "label",
    "append",
    "menu",
    "prompt",
    "timeout",
    "totaltimeout",
    "ontimeout",
    "onerror",
    "localboot",
    "include",
    "say",
    "ui",
    "ipappend",
    "sysappend",
    "implicit",
    "display",
    "text",
    "endtext",
    "allowoptions",
    "noescape",
    "nocomplete",
    "f1",
    "f2",
    "config",
    "path",
    "fdt",
];

const BLS_ONLY: &[&str] = &[
    "title",
    "version",
    "machine-id",
    "sort-key",
    "options",
    "devicetree",
    "architecture",
];

/// Guess the format of `text`, fetched from `url`.
pub fn sniff(text: &str, url: &str) -> Format {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.lines().next().unwrap_or("").trim_start();
    if first.starts_with("#!ipxe") || first.starts_with("#!gpxe") {
        return Format::Ipxe;
    }
    if let Some(f) = from_url(url) {
        return f;
    }
    let (mut grub, mut pxe, mut kboot, mut bls) = (0u32, 0u32, 0u32, 0u32);
    for line in text.lines().take(5_000) {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let word_end = t.find(|c: char| c.is_whitespace()).unwrap_or(t.len());
        let word = &t[..word_end];
        let rest = t[word_end..].trim_start();
        let lw = word.to_ascii_lowercase();
        if lw == "menuentry" || lw == "submenu" || t.starts_with("menuentry'") {
            grub += 5;
            continue;
        }
        if t.ends_with('{') || t == "}" || lw == "insmod" || lw == "fi" || lw == "if" {
            grub += 2;
            continue;
        }
        if lw == "set" && (rest.starts_with("default=") || rest.starts_with("timeout=")) {
            grub += 3;
            continue;
        }
        if let Some((k, v)) = t.split_once('=') {
            let k = k.trim();
            if !k.is_empty() && !k.contains(char::is_whitespace) {
                let v = v.trim_start();
                kboot += if v.starts_with('\'') || v.starts_with('"') {
                    3
                } else {
                    2
                };
                continue;
            }
        }
        if PXELINUX_ONLY.contains(&lw.as_str()) {
            // `menu` in BLS-less worlds; `default x` is shared with nobody but kboot's `default=`.
            pxe += 2;
            continue;
        }
        if lw == "default" && !rest.is_empty() {
            pxe += 2;
            continue;
        }
        if BLS_ONLY.contains(&word) && !rest.is_empty() {
            bls += 2;
            continue;
        }
        match lw.as_str() {
            "kernel" => pxe += 1,
            "linux" | "initrd" => {
                if word.chars().all(|c| c.is_ascii_lowercase()) {
                    bls += 1;
                }
                pxe += 1;
            }
            "linuxefi" | "initrdefi" | "linux16" | "initrd16" | "search" | "source"
            | "configfile" | "chainloader" => grub += 2,
            _ => {}
        }
    }
    let ranked = [
        (grub, Format::Grub),
        (pxe, Format::Pxelinux),
        (bls, Format::Bls),
        (kboot, Format::Kboot),
    ];
    let mut best = (0, Format::Kboot);
    for (score, f) in ranked {
        if score > best.0 {
            best = (score, f);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for f in Format::ALL {
            assert_eq!(Format::from_name(f.name()), Some(f));
        }
        assert_eq!(Format::from_name("IPXE"), Some(Format::Ipxe));
        assert_eq!(Format::from_name("auto"), None);
        assert_eq!(parse_format_arg("auto"), Ok(None));
        assert_eq!(parse_format_arg("grub"), Ok(Some(Format::Grub)));
        assert!(parse_format_arg("yaboot").is_err());
    }

    #[test]
    fn urls() {
        assert_eq!(
            from_url("tftp://h/pxelinux.cfg/01-aa-bb"),
            Some(Format::Pxelinux)
        );
        assert_eq!(from_url("http://h/boot/grub/grub.cfg"), Some(Format::Grub));
        assert_eq!(from_url("http://h/grub.cfg-01-aa"), Some(Format::Grub));
        assert_eq!(from_url("http://h/menu.ipxe"), Some(Format::Ipxe));
        assert_eq!(
            from_url("sda1:/loader/entries/fedora.conf"),
            Some(Format::Bls)
        );
        assert_eq!(from_url("tftp://h/kboot.conf"), Some(Format::Kboot));
        assert_eq!(from_url("tftp://h/boot.cfg"), None);
    }
}
