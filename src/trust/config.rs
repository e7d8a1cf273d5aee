//! A config tree under a key: the config and every file it includes are checked against their
//! `URL.minisig`, and the verdict goes into each entry (its details say "signed by <key id>"
//! or "not signed", and the boot's verify stage reads it).
//!
//! Every format pins files the same way: `kboot.sha256.kernel=HEX` and
//! `kboot.sha256.initrd=HEX[,HEX...]` among an entry's kernel arguments (kboot.conf's own
//! keys, pxelinux `APPEND`, GRUB's `linux` line, iPXE's `kernel` line, a BLS entry's
//! `options`) are taken off the command line and become the entry's pins.

use super::keys::KeyId;
use super::{signature_url, Policy, Trust, TrustError, SIGNATURE_LIMIT};
use crate::config::detect::Format;
use crate::config::include::ParseContext;
use crate::config::load::CONFIG_LIMIT;
use crate::config::model::{Entry, Signature};
use crate::config::Menu;
use crate::fetch::{self, FetchError, FetchOptions};
use std::sync::atomic::AtomicBool;

/// Fetch a file's bytes (at most `limit`).
fn fetch_bytes(url: &str, limit: u64, cancel: &AtomicBool) -> Result<Vec<u8>, FetchError> {
    let mut buf = Vec::new();
    let opts = FetchOptions {
        max_size: Some(limit),
        ..FetchOptions::default()
    };
    fetch::fetch(url, &mut buf, &opts, &mut |_| {}, cancel)?;
    Ok(buf)
}

/// Fetch `url`'s `.minisig` and check `data` against it.
pub fn check_file(
    trust: &Trust,
    url: &str,
    data: &[u8],
    cancel: &AtomicBool,
) -> Result<KeyId, TrustError> {
    let sig = fetch_bytes(&signature_url(url), SIGNATURE_LIMIT, cancel)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| e.to_string());
    trust.verify(url, data, sig.as_deref().map_err(String::as_str))
}

/// What [`load`] found.
#[derive(Debug)]
pub struct Loaded {
    pub format: Format,
    pub menu: Menu,
    /// `None` under `kboot.verify=off`; else the key that signed the whole tree, or the first
    /// file that was not signed by a trusted key.
    pub verdict: Option<Result<KeyId, TrustError>>,
}

/// Fetch (unless `text` is the config's, already fetched), check and parse a config and its
/// includes. Fails only when the config itself cannot be fetched.
pub fn load(
    url: &str,
    text: Option<&str>,
    format: Option<Format>,
    ctx: &ParseContext,
    trust: &Trust,
    cancel: &AtomicBool,
) -> Result<Loaded, FetchError> {
    let bytes = match text {
        Some(t) => t.as_bytes().to_vec(),
        None => fetch_bytes(url, CONFIG_LIMIT, cancel)?,
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let checking = trust.policy != Policy::Off;
    let mut verdict = checking.then(|| check_file(trust, url, &bytes, cancel));
    let mut include_failure = None;
    let mut files = vec![(url.to_string(), sha256(&bytes))];
    let mut fetcher = |u: &str| {
        let data = fetch_bytes(u, CONFIG_LIMIT, cancel).map_err(|e| e.to_string())?;
        files.push((u.to_string(), sha256(&data)));
        if checking && include_failure.is_none() {
            if let Err(e) = check_file(trust, u, &data, cancel) {
                include_failure = Some(e);
            }
        }
        Ok(String::from_utf8_lossy(&data).into_owned())
    };
    let (format, mut menu) =
        crate::config::parse::parse_config(&text, url, format, ctx, &mut fetcher);
    if let (Some(Ok(_)), Some(e)) = (&verdict, include_failure) {
        verdict = Some(Err(e));
    }
    take_pins(&mut menu.entries, &mut menu.warnings);
    set_config_files(&mut menu.entries, &files);
    if let Some(v) = &verdict {
        mark(&mut menu.entries, v);
    }
    Ok(Loaded {
        format,
        menu,
        verdict,
    })
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// Every entry (and submenu entry) records the config files it came from (the config and all
/// it included: which include chose which entry is not kept, so all are measured), for PCR 8.
pub fn set_config_files(entries: &mut [Entry], files: &[(String, [u8; 32])]) {
    for e in entries {
        e.config_files = files.to_vec();
        set_config_files(&mut e.children, files);
    }
}

/// The verdict as an entry's [`Signature`].
pub fn signature_of(verdict: &Result<KeyId, TrustError>) -> Signature {
    match verdict {
        Ok(k) => Signature::SignedBy(k.to_string()),
        Err(e) => Signature::NotSigned(e.to_string()),
    }
}

/// Give every entry (and submenu entry) the config's verdict.
pub fn mark(entries: &mut [Entry], verdict: &Result<KeyId, TrustError>) {
    for e in entries {
        e.signature = Some(signature_of(verdict));
        mark(&mut e.children, verdict);
    }
}

/// `kboot.sha256.kernel=` and `kboot.sha256.initrd=` on an entry's command line (any format)
/// become its pins; a bad digest or count is a warning and the entry keeps no pin for it (a
/// boot under `require` then needs the file's own `.minisig`).
pub fn take_pins(entries: &mut [Entry], warnings: &mut Vec<String>) {
    use crate::cmdline::{get, remove};
    for e in entries {
        take_pins(&mut e.children, warnings);
        let (Some(kernel), k, i) = (
            e.kernel.clone(),
            get(&e.cmdline, "kboot.sha256.kernel"),
            get(&e.cmdline, "kboot.sha256.initrd"),
        ) else {
            continue;
        };
        if k.is_none() && i.is_none() {
            continue;
        }
        e.cmdline = remove(
            &remove(&e.cmdline, "kboot.sha256.kernel"),
            "kboot.sha256.initrd",
        );
        let mut bad = |what: &str, why: String| {
            warnings.push(format!("entry '{}': kboot.sha256.{what}: {why}", e.id));
        };
        if let Some(hex) = k {
            match fetch::integrity::parse_sha256(&hex) {
                Ok(_) => {
                    e.sha256.insert(kernel, hex);
                }
                Err(err) => bad("kernel", err.to_string()),
            }
        }
        if let Some(list) = i {
            let digests: Vec<&str> = list.split(',').collect();
            if digests.len() != e.initrds.len() {
                bad(
                    "initrd",
                    format!("{} digests for {} initrds", digests.len(), e.initrds.len()),
                );
                continue;
            }
            for (url, hex) in e.initrds.iter().zip(digests) {
                match fetch::integrity::parse_sha256(hex) {
                    Ok(_) => {
                        e.sha256.insert(url.clone(), hex.to_string());
                    }
                    Err(err) => bad("initrd", err.to_string()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::tests::{trust, OTHER, PK, SIG};

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("kboot-trustcfg-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    const A: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn pins_come_off_any_formats_command_line() {
        let mut entries = vec![Entry {
            id: "e".into(),
            kernel: Some("tftp://h/k".into()),
            initrds: vec!["tftp://h/i".into()],
            cmdline: format!("quiet kboot.sha256.kernel={A} kboot.sha256.initrd={A} ro"),
            ..Default::default()
        }];
        let mut warnings = Vec::new();
        take_pins(&mut entries, &mut warnings);
        assert_eq!(entries[0].cmdline, "quiet ro");
        assert_eq!(entries[0].sha256.len(), 2);
        assert!(warnings.is_empty());
        let mut entries = vec![Entry {
            id: "e".into(),
            kernel: Some("tftp://h/k".into()),
            cmdline: format!("kboot.sha256.kernel=xyz kboot.sha256.initrd={A},{A}"),
            ..Default::default()
        }];
        take_pins(&mut entries, &mut warnings);
        assert!(entries[0].sha256.is_empty());
        assert_eq!(warnings.len(), 2, "{warnings:?}");
    }

    #[test]
    fn a_signed_file_tree_marks_its_entries_and_a_changed_one_does_not() {
        let dir = scratch("tree");
        // SIG signs the four bytes "test": a config that is exactly "test" is a kboot.conf
        // with no entries; one entry comes from the menu then, so write a pxelinux one and
        // check the verdict only.
        std::fs::write(dir.join("cfg"), "test").unwrap();
        std::fs::write(dir.join("cfg.minisig"), SIG).unwrap();
        let url = format!("file://{}", dir.join("cfg").display());
        let ctx = ParseContext::default();
        let no = AtomicBool::new(false);
        let l = load(&url, None, None, &ctx, &trust(&[PK]), &no).unwrap();
        assert_eq!(l.verdict.unwrap().unwrap().to_string(), "E7620F1842B4E81F");
        let l = load(&url, Some("Test"), None, &ctx, &trust(&[PK]), &no).unwrap();
        assert!(matches!(
            l.verdict,
            Some(Err(TrustError::BadSignature { .. }))
        ));
        let l = load(&url, None, None, &ctx, &trust(&[OTHER]), &no).unwrap();
        assert!(matches!(l.verdict, Some(Err(TrustError::WrongKey { .. }))));
        // Off: not even looked at.
        let l = load(&url, Some("Test"), None, &ctx, &Trust::default(), &no).unwrap();
        assert!(l.verdict.is_none());
        std::fs::remove_file(dir.join("cfg.minisig")).unwrap();
        let l = load(&url, None, None, &ctx, &trust(&[PK]), &no).unwrap();
        assert!(matches!(
            l.verdict,
            Some(Err(TrustError::NoSignature { .. }))
        ));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn every_entry_records_the_config_and_each_include_for_pcr_8() {
        let dir = scratch("includes");
        let inc = dir.join("more.cfg");
        std::fs::write(&inc, "LABEL two\n  KERNEL k2\n").unwrap();
        let main = format!(
            "DEFAULT one\nLABEL one\n  KERNEL k1\nINCLUDE file://{}\n",
            inc.display()
        );
        std::fs::write(dir.join("pxe.cfg"), &main).unwrap();
        let url = format!("file://{}", dir.join("pxe.cfg").display());
        let no = AtomicBool::new(false);
        let l = load(
            &url,
            None,
            None,
            &ParseContext::default(),
            &Trust::default(),
            &no,
        )
        .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(l.menu.entries.len(), 2, "{:?}", l.menu.warnings);
        let expected = vec![
            (url.clone(), sha256(main.as_bytes())),
            (
                format!("file://{}", inc.display()),
                sha256(b"LABEL two\n  KERNEL k2\n"),
            ),
        ];
        for e in &l.menu.entries {
            assert_eq!(e.config_files, expected, "entry {}", e.id);
        }
    }

    #[test]
    fn entries_get_the_verdict_down_to_submenus() {
        let mut entries = vec![Entry {
            children: vec![Entry::default()],
            ..Default::default()
        }];
        let k = crate::trust::keys::parse_key(PK).unwrap().id;
        mark(&mut entries, &Ok(k));
        assert_eq!(
            entries[0].children[0].signature,
            Some(Signature::SignedBy("E7620F1842B4E81F".into()))
        );
    }
}
