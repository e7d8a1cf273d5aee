//! minisign public keys and signatures as text: the key files (`trusted.pub`, several keys
//! allowed), `kboot.trust=BASE64KEY`, and the key id a signature names. Sans-IO.
//!
//! A minisign public key is base64 of `Ed` + an 8-byte key id + a 32-byte Ed25519 key; a
//! signature file is an untrusted comment, base64 of `Ed`/`ED` + key id + 64-byte signature,
//! a trusted comment and a global signature. minisign shows a key id as the 8 bytes read as a
//! little-endian number, in upper-case hex: kboot does the same.

use minisign_verify::PublicKey;
use std::fmt;

/// A key id as minisign shows it (`minisign -R`, the `.pub` file's comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub [u8; 8]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016X}", u64::from_le_bytes(self.0))
    }
}

/// One trusted key.
#[derive(Clone)]
pub struct Key {
    pub id: KeyId,
    pub key: PublicKey,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.id)
    }
}

/// Why a key or a signature could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("'{0}' is not a minisign public key (base64 of 42 bytes starting with Ed)")]
    BadKey(String),
    #[error("the signature file is not minisign's format ({0})")]
    BadSignature(&'static str),
}

/// Standard base64 (with or without padding); `None` on any other character.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let body = text.trim().trim_end_matches('=');
    if body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    for chunk in body.as_bytes().chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= value(c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

/// One key from its base64 line (`RWQ...`, as in the second line of a `.pub` file or in
/// `kboot.trust=`).
pub fn parse_key(b64: &str) -> Result<Key, KeyError> {
    let b64 = b64.trim();
    let bad = || KeyError::BadKey(b64.chars().take(60).collect());
    let raw = base64_decode(b64).ok_or_else(bad)?;
    if raw.len() != 42 || &raw[..2] != b"Ed" {
        return Err(bad());
    }
    let key = PublicKey::from_base64(b64).map_err(|_| bad())?;
    let mut id = [0u8; 8];
    id.copy_from_slice(&raw[2..10]);
    Ok(Key { id: KeyId(id), key })
}

/// Every key of a key file: the base64 lines, with `untrusted comment:` lines, `#` comments and
/// blank lines skipped, so that several `.pub` files can simply be concatenated. A line that
/// is not a key is reported and skipped.
pub fn parse_key_file(text: &str) -> (Vec<Key>, Vec<KeyError>) {
    let mut keys = Vec::new();
    let mut errors = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with("untrusted comment:") {
            continue;
        }
        match parse_key(line) {
            Ok(k) if keys.iter().any(|o: &Key| o.id == k.id) => {}
            Ok(k) => keys.push(k),
            Err(e) => errors.push(e),
        }
    }
    (keys, errors)
}

/// The key id a signature file names (checked before verifying, to tell "another key" from
/// "a bad signature").
pub fn signature_key_id(sig_text: &str) -> Result<KeyId, KeyError> {
    let mut lines = sig_text.lines();
    let first = lines.next().ok_or(KeyError::BadSignature("empty"))?;
    if !first.starts_with("untrusted comment:") {
        return Err(KeyError::BadSignature("no untrusted comment line"));
    }
    let sig = lines
        .next()
        .ok_or(KeyError::BadSignature("no signature line"))?;
    let raw = base64_decode(sig).ok_or(KeyError::BadSignature("the signature is not base64"))?;
    if raw.len() != 74 || !(raw[..2] == *b"Ed" || raw[..2] == *b"ED") {
        return Err(KeyError::BadSignature(
            "unknown signature algorithm or length",
        ));
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&raw[2..10]);
    Ok(KeyId(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    // From minisign-verify's own test vector (a public test key, no secret of ours).
    const PK: &str = "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3";
    const SIG: &str = "untrusted comment: signature from minisign secret key
RWQf6LRCGA9i59SLOFxz6NxvASXDJeRtuZykwQepbDEGt87ig1BNpWaVWuNrm73YiIiJbq71Wi+dP9eKL8OC351vwIasSSbXxwA=
trusted comment: timestamp:1555779966\tfile:test
QtKMXWyYcwdpZAlPF7tE2ENJkRd1ujvKjlj1m9RtHTBnZPa5WKU5uWRs5GoP5M/VqE81QFuMKI5k/SfNQUaOAA==";

    #[test]
    fn base64_round_trips_and_refuses_garbage() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8").unwrap(), b"hello");
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert!(base64_decode("a").is_none());
        assert!(base64_decode("aGV$bG8=").is_none());
        assert!(base64_decode("é").is_none());
    }

    #[test]
    fn a_key_and_its_id_as_minisign_shows_it() {
        let k = parse_key(PK).unwrap();
        assert_eq!(k.id.to_string(), "E7620F1842B4E81F");
        assert_eq!(signature_key_id(SIG).unwrap(), k.id);
        k.key
            .verify(
                b"test",
                &minisign_verify::Signature::decode(SIG).unwrap(),
                true,
            )
            .unwrap();
    }

    #[test]
    fn malformed_keys_are_errors() {
        for bad in [
            "",
            "RWQ",
            "not base64 at all!",
            "aGVsbG8=",
            // The right length, the wrong algorithm.
            "WWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3",
            // One byte short.
            "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GA",
        ] {
            assert!(parse_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_key_file_holds_several_keys_and_comments() {
        let other = "RWTAPRW2qy9FjsBiMVG2uwwN5nqiHJ6HBVC3ZCpD2G2wyp1Mtz3Ms8AY";
        let text = format!(
            "untrusted comment: minisign public key E7620F1842B4E81F\n{PK}\n\n# second\n{other}\n{PK}\nnonsense\n"
        );
        let (keys, errors) = parse_key_file(&text);
        assert_eq!(keys.len(), 2, "the repeated key counts once");
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn malformed_signatures_are_errors() {
        for bad in [
            "",
            "RWQf6LRCGA9i59SLOFxz6NxvASXDJeRtuZykwQepbDEG",
            "untrusted comment: x",
            "untrusted comment: x\n!!!",
            "untrusted comment: x\naGVsbG8=",
        ] {
            assert!(signature_key_id(bad).is_err(), "{bad:?}");
        }
    }
}
