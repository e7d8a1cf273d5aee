//! Trust: boot only what the owner of a key signed.
//!
//! Keys come from kboot's image (`/etc/kboot/trusted.pub`, laid there by
//! `qemu/build --trust-key FILE`; several keys allowed) and from `kboot.trust=BASE64KEY` on
//! kboot's command line. A config is signed by `URL.minisig` beside it (every included file
//! too); it pins the kernel and initrds by SHA-256, or each of them has its own `.minisig`.
//! The policy (`kboot.verify=off|warn|require`, `require` as soon as a key is present) says
//! what a failure does: `require` refuses the boot with one sentence naming the file, the key
//! and why; `warn` boots and says so in red; `off` checks nothing.
//!
//! [`keys`] reads keys and signatures (sans-IO), [`Trust::verify`] checks bytes against a
//! signature's text, [`config`] fetches and checks a config tree, and the boot pipeline's
//! verify stage (`boot::prepare::verify`) checks what is booted.

pub mod authenticode;
pub mod config;
pub mod keys;

use keys::{Key, KeyError, KeyId};
use std::fmt;

/// Where kboot's image holds its trusted keys.
pub const KEY_FILE: &str = "/etc/kboot/trusted.pub";

/// Largest `.minisig` file read (they are about 300 bytes).
pub const SIGNATURE_LIMIT: u64 = 4096;

/// `kboot.verify=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// Check nothing (kboot without keys).
    #[default]
    Off,
    /// Check, and boot anyway with a red "not signed" line.
    Warn,
    /// Boot only what a trusted key signed, with the command line the signed config gives.
    Require,
}

impl std::str::FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> Result<Policy, String> {
        match s {
            "off" => Ok(Policy::Off),
            "warn" => Ok(Policy::Warn),
            "require" => Ok(Policy::Require),
            other => Err(format!("kboot.verify={other} is not off, warn or require")),
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Policy::Off => "off",
            Policy::Warn => "warn",
            Policy::Require => "require",
        })
    }
}

/// Why something is not trusted: each one sentence naming the file, the key and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    #[error("{file} is not signed: there is no {file}.minisig ({why}), and kboot trusts only what key {keys} signed")]
    NoSignature {
        file: String,
        keys: String,
        why: String,
    },
    #[error("{file} is signed by key {signer}, which kboot does not trust (it trusts key {keys})")]
    WrongKey {
        file: String,
        signer: KeyId,
        keys: String,
    },
    #[error(
        "{file} does not match its signature by key {key}: it was changed after it was signed"
    )]
    BadSignature { file: String, key: KeyId },
    #[error("{file}: its signature file cannot be read: {reason}")]
    Unreadable { file: String, reason: KeyError },
    #[error("{file} differs from the SHA-256 the config signed by key {key} pins ({detail})")]
    HashMismatch {
        file: String,
        key: String,
        detail: String,
    },
    #[error("{file} was not signed by a trusted key: kboot.verify=require needs a key, and kboot has none (add one with qemu/build --trust-key or kboot.trust=)")]
    NoKeys { file: String },
    #[error("the command line was changed, and kboot.verify=require boots only the one in the config signed by key {key} (set kboot.verify=warn to allow edits)")]
    Edited { key: String },
    #[error("{file} is neither pinned by a SHA-256 in the config signed by key {key} nor signed itself ({why})")]
    FileNotCovered {
        file: String,
        key: String,
        why: Box<TrustError>,
    },
    #[error("the initrds of '{title}' are several, not all pinned by a SHA-256 in the signed config, and where each one lies in the buffer is unknown: give each a kboot.sha256.initrd= pin")]
    InitrdsNotPinned { title: String },
    #[error("'{title}' was not chosen from a signed config ({why}), and kboot.verify=require boots only what a trusted key signed")]
    Unsigned { title: String, why: String },
}

/// The keys and the policy kboot runs with.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    pub keys: Vec<Key>,
    pub policy: Policy,
    /// X.509 certificates a unified kernel image's Authenticode signature may be made with
    /// (`/etc/kboot/trusted-certs/*.pem`).
    pub certs: Vec<authenticode::TrustedCert>,
}

impl Trust {
    /// From the image's key file (its text, if any), `kboot.trust=` values and `kboot.verify=`.
    /// Problems (a bad key, an unknown policy) are returned as sentences for the log; the
    /// policy falls back to `require` when there is a key (safe) and `off` otherwise.
    pub fn from_parts(
        key_file: Option<&str>,
        cmdline_keys: &[String],
        verify: Option<&str>,
    ) -> (Trust, Vec<String>) {
        let mut problems = Vec::new();
        let mut keys = Vec::new();
        if let Some(text) = key_file {
            let (k, errors) = keys::parse_key_file(text);
            keys.extend(k);
            problems.extend(errors.into_iter().map(|e| format!("{KEY_FILE}: {e}")));
        }
        for b64 in cmdline_keys {
            match keys::parse_key(b64) {
                Ok(k) if keys.iter().any(|o| o.id == k.id) => {}
                Ok(k) => keys.push(k),
                Err(e) => problems.push(format!("kboot.trust=: {e}")),
            }
        }
        let default = if keys.is_empty() {
            Policy::Off
        } else {
            Policy::Require
        };
        let policy = match verify.map(str::parse::<Policy>) {
            None => default,
            Some(Ok(p)) => p,
            Some(Err(e)) => {
                problems.push(format!("{e}: using {}", Policy::Require.max(default)));
                Policy::Require.max(default)
            }
        };
        (
            Trust {
                keys,
                policy,
                certs: Vec::new(),
            },
            problems,
        )
    }

    /// Add the certificates of [`authenticode::CERT_DIR`] (read by [`load_certs`]): like a key,
    /// a certificate makes the policy `require` unless `kboot.verify=` says otherwise.
    pub fn with_certs(
        mut self,
        certs: Vec<authenticode::TrustedCert>,
        verify: Option<&str>,
    ) -> Trust {
        if !certs.is_empty() && verify.is_none() {
            self.policy = Policy::Require;
        }
        self.certs = certs;
        self
    }

    /// The trusted certificates' subjects, for messages.
    pub fn cert_list(&self) -> String {
        let names: Vec<&str> = self.certs.iter().map(|c| c.subject.as_str()).collect();
        if names.is_empty() {
            "(none)".into()
        } else {
            names.join(" or ")
        }
    }

    /// The trusted key ids, for messages ("A or B").
    pub fn key_list(&self) -> String {
        let ids: Vec<String> = self.keys.iter().map(|k| k.id.to_string()).collect();
        if ids.is_empty() {
            "(none)".into()
        } else {
            ids.join(" or ")
        }
    }

    /// Check `data` (the bytes of `file`) against the text of its `.minisig` (`None`: there is
    /// none, `why` says what happened when it was fetched). Returns the key that signed it.
    pub fn verify(
        &self,
        file: &str,
        data: &[u8],
        signature: Result<&str, &str>,
    ) -> Result<KeyId, TrustError> {
        if self.keys.is_empty() {
            return Err(TrustError::NoKeys { file: file.into() });
        }
        let text = signature.map_err(|why| TrustError::NoSignature {
            file: file.into(),
            keys: self.key_list(),
            why: why.into(),
        })?;
        let unreadable = |reason| TrustError::Unreadable {
            file: file.into(),
            reason,
        };
        let signer = keys::signature_key_id(text).map_err(unreadable)?;
        let key =
            self.keys
                .iter()
                .find(|k| k.id == signer)
                .ok_or_else(|| TrustError::WrongKey {
                    file: file.into(),
                    signer,
                    keys: self.key_list(),
                })?;
        let sig = minisign_verify::Signature::decode(text)
            .map_err(|_| unreadable(KeyError::BadSignature("it does not decode")))?;
        key.key
            .verify(data, &sig, true)
            .map_err(|_| TrustError::BadSignature {
                file: file.into(),
                key: signer,
            })?;
        Ok(signer)
    }
}

impl PartialOrd for Policy {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Policy {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let rank = |p: &Policy| match p {
            Policy::Off => 0,
            Policy::Warn => 1,
            Policy::Require => 2,
        };
        rank(self).cmp(&rank(other))
    }
}

/// The certificates in `dir` (`*.pem`, in name order; each file may hold several), and the
/// problems found as sentences for the log. No folder: none.
pub fn load_certs(dir: &std::path::Path) -> (Vec<authenticode::TrustedCert>, Vec<String>) {
    let mut names: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "pem"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let (mut certs, mut problems) = (Vec::new(), Vec::new());
    for path in names {
        let read = std::fs::metadata(&path)
            .map_err(|e| e.to_string())
            .and_then(|m| {
                if m.len() > authenticode::CERT_FILE_LIMIT {
                    Err(format!(
                        "larger than {} bytes",
                        authenticode::CERT_FILE_LIMIT
                    ))
                } else {
                    std::fs::read(&path).map_err(|e| e.to_string())
                }
            });
        match read.map(|b| authenticode::parse_pem(&b).map_err(|e| e.to_string())) {
            Ok(Ok(c)) => certs.extend(c),
            Ok(Err(e)) | Err(e) => problems.push(format!(
                "{}: not used as a trusted certificate: {e}",
                path.display()
            )),
        }
    }
    (certs, problems)
}

/// The signature URL of a file.
pub fn signature_url(url: &str) -> String {
    format!("{url}.minisig")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub const PK: &str = "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3";
    pub const SIG: &str = "untrusted comment: signature from minisign secret key
RWQf6LRCGA9i59SLOFxz6NxvASXDJeRtuZykwQepbDEGt87ig1BNpWaVWuNrm73YiIiJbq71Wi+dP9eKL8OC351vwIasSSbXxwA=
trusted comment: timestamp:1555779966\tfile:test
QtKMXWyYcwdpZAlPF7tE2ENJkRd1ujvKjlj1m9RtHTBnZPa5WKU5uWRs5GoP5M/VqE81QFuMKI5k/SfNQUaOAA==";
    /// A well-formed key that did not make SIG (its id differs).
    pub const OTHER: &str = "RWQAAAAAAAAAAHmlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3";

    pub fn trust(keys: &[&str]) -> Trust {
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        Trust::from_parts(None, &keys, None).0
    }

    #[test]
    fn the_policy_is_require_as_soon_as_there_is_a_key() {
        assert_eq!(Trust::from_parts(None, &[], None).0.policy, Policy::Off);
        let (t, problems) = Trust::from_parts(Some(&format!("{PK}\n")), &[], None);
        assert_eq!((t.policy, t.keys.len()), (Policy::Require, 1));
        assert!(problems.is_empty());
        let (t, _) = Trust::from_parts(None, &[PK.into()], Some("warn"));
        assert_eq!(t.policy, Policy::Warn);
        let (t, problems) = Trust::from_parts(None, &[PK.into()], Some("maybe"));
        assert_eq!(t.policy, Policy::Require, "a typo never weakens the policy");
        assert!(problems[0].contains("kboot.verify=maybe"), "{problems:?}");
        let (t, problems) = Trust::from_parts(Some("junk\n"), &["x".into()], None);
        assert_eq!((t.policy, problems.len()), (Policy::Off, 2));
    }

    #[test]
    fn each_failure_is_its_own_sentence() {
        let t = trust(&[PK]);
        assert_eq!(
            t.verify("f", b"test", Ok(SIG)).unwrap().to_string(),
            "E7620F1842B4E81F"
        );
        let e = t
            .verify("tftp://h/kboot.conf", b"Test", Ok(SIG))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "tftp://h/kboot.conf does not match its signature by key E7620F1842B4E81F: it was changed after it was signed"
        );
        let e = t
            .verify("tftp://h/kboot.conf", b"test", Err("not found"))
            .unwrap_err();
        assert!(matches!(e, TrustError::NoSignature { .. }), "{e}");
        assert!(e.to_string().contains("E7620F1842B4E81F"), "{e}");
        let other = trust(&[OTHER]);
        let e = other.verify("x", b"test", Ok(SIG)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("x is signed by key E7620F1842B4E81F, which kboot does not trust"),
            "{e}"
        );
        let e = other.verify("x", b"test", Ok("garbage")).unwrap_err();
        assert!(matches!(e, TrustError::Unreadable { .. }), "{e}");
        let none = Trust::default();
        assert!(matches!(
            none.verify("x", b"test", Ok(SIG)),
            Err(TrustError::NoKeys { .. })
        ));
    }
}
