//! Secrets in target command lines: masking for the screen and logs, and the appended cpio
//! segment that carries them into the target's initramfs instead.
//!
//! Anything on the command line is readable by every user of the target (`/proc/cmdline`),
//! so CHAP passwords go into a file inside the initramfs where the flavour reads one (see
//! [`super::flavor`]); whatever still ends up on a command line is shown through [`mask`].

use crate::image::{ImageError, Initramfs, Node};

/// What a masked value reads as.
pub const MASK: &str = "***";

/// True for parameter keys whose value is a secret: anything with `password`, `passwd`,
/// `passphrase`, `secret` or `psk` in its name (`rd.iscsi.password`, `iscsi_in_password`,
/// `password`, `wpa_psk`, ...), ASCII case-insensitive.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["password", "passwd", "passphrase", "secret", "psk"]
        .iter()
        .any(|w| k.contains(w))
}

/// The command line with secrets replaced by `***`: values of password-like keys, the
/// passwords of `iscsi:user:pass[:ruser:rpass]@...` root paths and of `scheme://user:pass@`
/// URLs. Whitespace is normalised as [`super::join`] does.
pub fn mask(cmdline: &str) -> String {
    let toks: Vec<String> = super::split(cmdline)
        .iter()
        .map(|t| mask_token(t))
        .collect();
    toks.join(" ")
}

fn mask_token(tok: &str) -> String {
    let key = super::param_key(tok);
    if tok.contains('=') && is_secret_key(key) {
        return format!("{key}={MASK}");
    }
    mask_value(tok)
}

/// Mask the credentials inside one value or root path (no key handling).
pub fn mask_value(v: &str) -> String {
    let v = mask_iscsi_auth(v);
    mask_url_userinfo(&v)
}

/// `iscsi:u:p@...` → `iscsi:u:***@...`, `iscsi:u:p:ru:rp@...` → `iscsi:u:***:ru:***@...`;
/// any other credentials prefix is hidden whole.
fn mask_iscsi_auth(v: &str) -> String {
    let lower = v.to_ascii_lowercase();
    let Some(start) = lower.find("iscsi:").map(|i| i + "iscsi:".len()) else {
        return v.to_string();
    };
    let Some(at) = v[start..].find('@').map(|i| start + i) else {
        return v.to_string();
    };
    let auth = &v[start..at];
    if auth.is_empty() {
        return v.to_string();
    }
    let fields: Vec<&str> = auth.split(':').collect();
    let masked = if fields.len() == 2 || fields.len() == 4 {
        fields
            .iter()
            .enumerate()
            .map(|(i, f)| if i % 2 == 1 { MASK } else { f })
            .collect::<Vec<_>>()
            .join(":")
    } else {
        MASK.to_string()
    };
    format!("{}{}{}", &v[..start], masked, &v[at..])
}

/// `scheme://user:pass@host` → `scheme://user:***@host` (every URL in the value).
fn mask_url_userinfo(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut rest = v;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // The authority ends at the first '/', '?', '#' or whitespace.
        let end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.split_once(':') {
                    Some((user, _)) => out.push_str(&format!("{user}:{MASK}")),
                    None => out.push_str(userinfo),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// An uncompressed newc cpio segment holding `files` (mode 0600, parents 0755, ending with
/// the trailer, a multiple of 4 bytes long), to append to a target's initrd.
pub fn cpio_segment(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, ImageError> {
    let mut fs = Initramfs::default();
    for (path, data) in files {
        fs.add(path, Node::File(data.clone()), 0o600)?;
    }
    fs.write_cpio(Vec::new())
}

/// Append `segment` to `initrd`, first padding it with NULs to a multiple of 4 bytes: the
/// kernel looks for an uncompressed archive only at 4-byte aligned offsets, and skips NULs.
pub fn append_segment(initrd: &mut Vec<u8>, segment: &[u8]) {
    let pad = (4 - initrd.len() % 4) % 4;
    initrd.resize(initrd.len() + pad, 0);
    initrd.extend_from_slice(segment);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_password_keys() {
        assert_eq!(
            mask("quiet rd.iscsi.username=joe rd.iscsi.password=s3cret iscsi_in_password=x"),
            "quiet rd.iscsi.username=joe rd.iscsi.password=*** iscsi_in_password=***"
        );
        assert_eq!(
            mask(r#"iscsi_password="a b" password= PASSWD=1 wpa_psk=k rd.iscsi.in.password=z"#),
            "iscsi_password=*** password=*** PASSWD=*** wpa_psk=*** rd.iscsi.in.password=***"
        );
        // A bare flag named like a key is not a secret value.
        assert_eq!(mask("password"), "password");
        assert_eq!(mask("root=/dev/sda1  ro"), "root=/dev/sda1 ro");
    }

    #[test]
    fn masks_iscsi_credentials() {
        assert_eq!(
            mask("netroot=iscsi:joe:pw@10.0.2.2::3260:0:iqn.x:y"),
            "netroot=iscsi:joe:***@10.0.2.2::3260:0:iqn.x:y"
        );
        assert_eq!(
            mask("root=ISCSI:a:b:c:d@h::::t"),
            "root=ISCSI:a:***:c:***@h::::t"
        );
        assert_eq!(mask("root=iscsi:weird@h::::t"), "root=iscsi:***@h::::t");
        assert_eq!(mask("root=iscsi:@h::::t@x"), "root=iscsi:@h::::t@x");
        assert_eq!(mask("root=iscsi:h::::t"), "root=iscsi:h::::t");
    }

    #[test]
    fn masks_url_userinfo() {
        assert_eq!(
            mask("kboot.conf=http://u:p@h/x?a=b@c ftp://anon@h/ https://h/p:q@r"),
            "kboot.conf=http://u:***@h/x?a=b@c ftp://anon@h/ https://h/p:q@r"
        );
        assert_eq!(mask_value("é://ü:ß@ħ/"), "é://ü:***@ħ/");
    }

    #[test]
    fn segment_is_aligned_and_readable() {
        let seg = cpio_segment(&[(
            "etc/iscsi.initramfs".into(),
            b"ISCSI_PASSWORD='x'\n".to_vec(),
        )])
        .unwrap();
        assert_eq!(seg.len() % 4, 0);
        let mut r = cpio::NewcReader::new(&seg[..]).unwrap();
        assert_eq!(r.entry().name(), "etc");
        r = cpio::NewcReader::new(r.finish().unwrap()).unwrap();
        assert_eq!(r.entry().name(), "etc/iscsi.initramfs");
        assert_eq!(r.entry().mode(), libc::S_IFREG | 0o600);
        assert!(cpio_segment(&[("../x".into(), vec![])]).is_err());

        let mut initrd = vec![1u8; 5];
        append_segment(&mut initrd, &seg);
        assert_eq!(&initrd[5..8], &[0, 0, 0]);
        assert_eq!(&initrd[8..], &seg[..]);
        let mut aligned = vec![1u8; 8];
        append_segment(&mut aligned, b"0707");
        assert_eq!(aligned.len(), 12);
    }
}
