//! The `kboot:` prompt, as the original kboot read it.
//!
//! - `LABEL [args...]`: boot that menu entry with `args` appended to its command line.
//! - `KERNEL [initrd=URL[,URL]] [args...]`: boot a kernel given as a URL (`tftp://...`), a
//!   device path (`sda1:/boot/vmlinuz`) or a path relative to the config's location;
//!   `initrd=` words are pulled out (comma lists and repeats allowed, in order) and the rest
//!   becomes the command line.

use thiserror::Error;

use crate::boot::BootSpec;
use crate::cmdline;
use crate::config::{Entry, Menu};
use crate::fetch::url::{resolve, UrlError};

/// Why a prompt line cannot be booted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PromptError {
    #[error("nothing to boot: type a label or a URL such as tftp://10.0.2.2/vmlinuz")]
    Empty,
    #[error("no entry named '{0}' and '{0}' is not a URL: type a label or a URL such as tftp://10.0.2.2/vmlinuz")]
    UnknownLabel(String),
    #[error("no entry named '{word}' and it is not a usable kernel location: {source}")]
    BadKernel { word: String, source: UrlError },
    #[error("bad initrd '{word}': {source}")]
    BadInitrd { word: String, source: UrlError },
    #[error("entry '{0}' has no kernel to boot")]
    NoKernel(String),
}

/// Find an entry by label, searching submenus depth-first after the top level.
fn find_entry<'m>(entries: &'m [Entry], id: &str) -> Option<&'m Entry> {
    entries
        .iter()
        .find(|e| e.id == id)
        .or_else(|| entries.iter().find_map(|e| find_entry(&e.children, id)))
}

/// Does `word` name a location explicitly (a scheme or a device), rather than a bare word
/// that could only be a path relative to the config?
fn is_explicit_location(word: &str) -> bool {
    match word.split_once(':') {
        Some((prefix, _)) => !prefix.contains('/') || prefix.starts_with("/dev/"),
        None => false,
    }
}

/// Turn one line typed at the `kboot:` prompt into what to boot. `menu` is the current
/// menu (labels win over paths); `base` is the config's location, for relative paths.
pub fn parse_prompt(
    line: &str,
    menu: Option<&Menu>,
    base: Option<&str>,
) -> Result<BootSpec, PromptError> {
    let words = cmdline::split(line);
    let Some((first, rest)) = words.split_first() else {
        return Err(PromptError::Empty);
    };

    if let Some(entry) = menu.and_then(|m| find_entry(&m.entries, first)) {
        let extra = cmdline::join(rest);
        return cmdline::entry_to_boot_spec(entry, Some(&extra))
            .ok_or_else(|| PromptError::NoKernel(entry.id.clone()));
    }

    let kernel = match resolve(base, first) {
        Ok(k) => k,
        Err(source) => {
            return Err(if is_explicit_location(first) {
                PromptError::BadKernel {
                    word: first.clone(),
                    source,
                }
            } else {
                PromptError::UnknownLabel(first.clone())
            })
        }
    };

    let mut initrds = Vec::new();
    let mut args: Vec<&str> = Vec::new();
    for word in rest {
        if cmdline::param_key(word) == "initrd" {
            let value = cmdline::param_value(word).unwrap_or_default();
            for loc in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let url = resolve(base, loc).map_err(|source| PromptError::BadInitrd {
                    word: loc.to_string(),
                    source,
                })?;
                initrds.push(url);
            }
        } else {
            args.push(word);
        }
    }
    Ok(BootSpec {
        title: kernel.clone(),
        kernel,
        initrds,
        cmdline: cmdline::join(&args),
        diskless: None,
        sha256: Default::default(),
        signature: None,
        config_cmdline: None,
        config_files: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::kboot;

    const BASE: &str = "tftp://10.0.2.2/boot/kboot.conf";

    fn menu() -> Menu {
        kboot::parse(
            "linux='vmlinux initrd=initrd.img root=/dev/sda1 quiet'\nbare='root=x'\n",
            Some(BASE),
        )
    }

    #[test]
    fn label_boots_entry_with_extra_args() {
        let m = menu();
        let s = parse_prompt("  linux   single  init=/bin/sh ", Some(&m), Some(BASE)).unwrap();
        assert_eq!(s.title, "linux");
        assert_eq!(s.kernel, "tftp://10.0.2.2/boot/vmlinux");
        assert_eq!(s.initrds, vec!["tftp://10.0.2.2/boot/initrd.img"]);
        assert_eq!(s.cmdline, "root=/dev/sda1 quiet single init=/bin/sh");
        let s = parse_prompt("linux", Some(&m), Some(BASE)).unwrap();
        assert_eq!(s.cmdline, "root=/dev/sda1 quiet");
    }

    #[test]
    fn label_in_submenu() {
        let mut m = Menu::default();
        m.entries.push(Entry {
            id: "sub".into(),
            children: vec![Entry {
                id: "deep".into(),
                title: "Deep".into(),
                kernel: Some("http://h/k".into()),
                ..Default::default()
            }],
            ..Default::default()
        });
        assert_eq!(
            parse_prompt("deep", Some(&m), None).unwrap().kernel,
            "http://h/k"
        );
        assert_eq!(
            parse_prompt("sub", Some(&m), None),
            Err(PromptError::NoKernel("sub".into()))
        );
    }

    #[test]
    fn url_with_initrd_and_args() {
        let s = parse_prompt(
            "tftp://10.0.2.2/vmlinuz initrd=tftp://10.0.2.2/a,b initrd=c root=/dev/nfs ip=dhcp",
            None,
            Some(BASE),
        )
        .unwrap();
        assert_eq!(s.kernel, "tftp://10.0.2.2/vmlinuz");
        assert_eq!(s.title, "tftp://10.0.2.2/vmlinuz");
        assert_eq!(
            s.initrds,
            vec![
                "tftp://10.0.2.2/a",
                "tftp://10.0.2.2/boot/b",
                "tftp://10.0.2.2/boot/c"
            ]
        );
        assert_eq!(s.cmdline, "root=/dev/nfs ip=dhcp");
    }

    #[test]
    fn url_without_menu_or_base() {
        let s = parse_prompt("tftp://10.0.2.2/vmlinuz", None, None).unwrap();
        assert_eq!(s.kernel, "tftp://10.0.2.2/vmlinuz");
        assert!(s.initrds.is_empty());
        assert_eq!(s.cmdline, "");
    }

    #[test]
    fn device_and_relative_paths() {
        let s = parse_prompt("sda1:/boot/vmlinuz quiet", None, None).unwrap();
        assert_eq!(s.kernel, "sda1:/boot/vmlinuz");
        assert_eq!(s.cmdline, "quiet");
        let s = parse_prompt("other/vmlinuz", Some(&menu()), Some(BASE)).unwrap();
        assert_eq!(s.kernel, "tftp://10.0.2.2/boot/other/vmlinuz");
        let s = parse_prompt("/vmlinuz", None, Some(BASE)).unwrap();
        assert_eq!(s.kernel, "tftp://10.0.2.2/vmlinuz");
    }

    #[test]
    fn empty_line() {
        assert_eq!(parse_prompt("", None, None), Err(PromptError::Empty));
        assert_eq!(
            parse_prompt(" \t\r\n", Some(&menu()), Some(BASE)),
            Err(PromptError::Empty)
        );
    }

    #[test]
    fn unknown_label_without_base() {
        let e = parse_prompt("x", Some(&menu()), None).unwrap_err();
        assert_eq!(e, PromptError::UnknownLabel("x".into()));
        assert_eq!(
            e.to_string(),
            "no entry named 'x' and 'x' is not a URL: type a label or a URL such as tftp://10.0.2.2/vmlinuz"
        );
    }

    #[test]
    fn bad_urls() {
        assert!(matches!(
            parse_prompt("http://[::1 quiet", None, None),
            Err(PromptError::BadKernel { .. })
        ));
        assert!(matches!(
            parse_prompt("tftp://", None, None),
            Err(PromptError::BadKernel { .. })
        ));
        assert!(matches!(
            parse_prompt("gopher://h/k", None, None),
            Err(PromptError::BadKernel { .. })
        ));
        assert!(matches!(
            parse_prompt("http://h/k initrd=tftp://", None, None),
            Err(PromptError::BadInitrd { .. })
        ));
        assert!(matches!(
            parse_prompt("http://h/k initrd=rel", None, None),
            Err(PromptError::BadInitrd { .. })
        ));
    }

    #[test]
    fn quoted_args_survive() {
        let s = parse_prompt(r#"http://h/k foo="a  b" quiet"#, None, None).unwrap();
        assert_eq!(s.cmdline, r#"foo="a  b" quiet"#);
    }

    #[test]
    fn entry_without_kernel_in_menu() {
        let mut m = menu();
        m.entries.push(Entry {
            id: "nokernel".into(),
            ..Default::default()
        });
        assert_eq!(
            parse_prompt("nokernel", Some(&m), Some(BASE)),
            Err(PromptError::NoKernel("nokernel".into()))
        );
    }
}
