//! Authenticode: the signature a signed EFI binary (a UKI, a shim, a signed kernel) carries in
//! its PE certificate table, as `sbsign` and `pesign` write it. Sans-IO: the file's bytes and
//! the trusted certificates in, the signer or one sentence out.
//!
//! The check, in order: the PE layout is read (bounds-checked: malformed files are errors);
//! the certificate table holds a PKCS#7 SignedData (parsed by the `authenticode` crate); the
//! Authenticode digest of the file (everything but the checksum, the security directory entry
//! and the certificate table, sections in file order; SHA-256) equals the digest the signature
//! carries; the signed attributes' messageDigest is the SHA-256 of the signed content; and the
//! signature over the signed attributes verifies with one of the trusted certificates' keys
//! (ring, through rustls-webpki: RSA PKCS#1 v1.5 or ECDSA). The trusted certificate is the
//! signing certificate itself (the one given to `sbsign --cert`), as a firmware's `db` entry is.

use authenticode::{AttributeCertificateIterator, PeOffsetError, PeOffsets, PeTrait};
use der::{Decode, Encode};
use sha2::Digest;
use std::ops::Range;
use x509_cert::Certificate;

/// Where kboot's image holds the certificates a UKI may be signed with (`*.pem`, laid there
/// by `qemu/build --trust-cert FILE`).
pub const CERT_DIR: &str = "/etc/kboot/trusted-certs";

/// The largest PEM file read from [`CERT_DIR`].
pub const CERT_FILE_LIMIT: u64 = 1 << 20;

const SHA256_OID: &str = "2.16.840.1.101.3.4.2.1";
const MESSAGE_DIGEST_OID: &str = "1.2.840.113549.1.9.4";

/// A certificate kboot trusts for Authenticode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedCert {
    /// Its DER encoding.
    pub der: Vec<u8>,
    /// Its subject, for messages (`CN=Owner`).
    pub subject: String,
    issuer: x509_cert::name::Name,
    serial: Vec<u8>,
}

/// Why a certificate file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("it holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    NoCertificate,
    #[error("a certificate in it cannot be read: {0}")]
    Bad(String),
}

/// Why a signed EFI binary is not trusted: each one sentence naming the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthenticodeError {
    #[error("{file} is not signed: it has no Authenticode signature, and kboot boots only a unified kernel image signed by a trusted certificate (sign it with sbsign)")]
    NotSigned { file: String },
    #[error("{file}: its Authenticode signature cannot be read ({why})")]
    Malformed { file: String, why: String },
    #[error("{file} is signed with {what}, which kboot does not check (sign it with SHA-256)")]
    Unsupported { file: String, what: String },
    #[error(
        "{file} is signed by a certificate kboot does not trust ({signer}); it trusts {trusted}"
    )]
    Untrusted {
        file: String,
        signer: String,
        trusted: String,
    },
    #[error(
        "{file} does not match its Authenticode signature: it was changed after it was signed"
    )]
    DigestMismatch { file: String },
    #[error("{file}: its Authenticode signature does not verify with the certificate {cert}: the signature was altered")]
    BadSignature { file: String, cert: String },
    #[error("{file} is a signed unified kernel image, and kboot has no trusted certificate to check it with (add one with qemu/build --trust-cert)")]
    NoCerts { file: String },
}

/// The certificates of one PEM file (several allowed).
pub fn parse_pem(text: &[u8]) -> Result<Vec<TrustedCert>, CertError> {
    use rustls_pki_types::pem::PemObject;
    let mut out = Vec::new();
    for der in rustls_pki_types::CertificateDer::pem_slice_iter(text) {
        let der = der.map_err(|e| CertError::Bad(e.to_string()))?;
        out.push(from_der(der.as_ref())?);
    }
    if out.is_empty() {
        return Err(CertError::NoCertificate);
    }
    Ok(out)
}

fn from_der(der: &[u8]) -> Result<TrustedCert, CertError> {
    let cert = Certificate::from_der(der).map_err(|e| CertError::Bad(e.to_string()))?;
    // Checked here so that a certificate webpki cannot use is refused when it is loaded.
    let pki = rustls_pki_types::CertificateDer::from(der);
    webpki::EndEntityCert::try_from(&pki).map_err(|e| CertError::Bad(format!("{e:?}")))?;
    let tbs = &cert.tbs_certificate;
    Ok(TrustedCert {
        der: der.to_vec(),
        subject: tbs.subject.to_string(),
        issuer: tbs.issuer.clone(),
        serial: tbs.serial_number.as_bytes().to_vec(),
    })
}

/// The PE layout the Authenticode digest needs (sans-IO, bounds-checked).
struct Pe<'a> {
    data: &'a [u8],
    sections: Vec<Range<usize>>,
    offsets: PeOffsets,
    cert_table: Option<Range<usize>>,
}

fn u16le(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

fn u32le(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

impl<'a> Pe<'a> {
    fn read(data: &'a [u8]) -> Option<Pe<'a>> {
        if data.get(..2)? != b"MZ" {
            return None;
        }
        let pe = u32le(data, 0x3C)? as usize;
        if data.get(pe..pe.checked_add(4)?)? != b"PE\0\0" {
            return None;
        }
        let coff = pe + 4;
        let count = usize::from(u16le(data, coff + 2)?);
        let optional_size = usize::from(u16le(data, coff + 16)?);
        let opt = coff + 20;
        let (dirs, dir_count) = match u16le(data, opt)? {
            0x10b => (opt + 96, u32le(data, opt + 92)?),
            0x20b => (opt + 112, u32le(data, opt + 108)?),
            _ => return None,
        };
        let security = dirs + 4 * 8;
        if dir_count < 5 || security + 8 > opt + optional_size {
            return None;
        }
        let after_header = u32le(data, opt + 60)? as usize;
        let offsets = PeOffsets {
            check_sum: opt + 64,
            after_check_sum: opt + 68,
            security_data_dir: security,
            after_security_data_dir: security + 8,
            after_header,
        };
        if offsets.after_security_data_dir > after_header || after_header > data.len() {
            return None;
        }
        let table = opt + optional_size;
        let mut sections = Vec::with_capacity(count.min(data.len() / 40));
        for i in 0..count {
            let h = table.checked_add(i * 40)?;
            let raw_size = u32le(data, h + 16)? as usize;
            let raw_at = u32le(data, h + 20)? as usize;
            let end = raw_at.checked_add(raw_size)?;
            if end > data.len() {
                return None;
            }
            sections.push(raw_at..end);
        }
        // Sections in file order must not overlap each other or the headers: a byte hashed
        // twice would leave another one unhashed.
        let mut sorted: Vec<&Range<usize>> = sections.iter().filter(|r| !r.is_empty()).collect();
        sorted.sort_by_key(|r| r.start);
        let mut end = after_header;
        for r in sorted {
            if r.start < end {
                return None;
            }
            end = r.end;
        }
        let cert_at = u32le(data, security)? as usize;
        let cert_len = u32le(data, security + 4)? as usize;
        let cert_table = if cert_len == 0 {
            None
        } else {
            let end = cert_at.checked_add(cert_len)?;
            (end <= data.len()).then_some(cert_at..end)?;
            Some(cert_at..end)
        };
        Some(Pe {
            data,
            sections,
            offsets,
            cert_table,
        })
    }
}

impl PeTrait for Pe<'_> {
    fn data(&self) -> &[u8] {
        self.data
    }
    fn num_sections(&self) -> usize {
        self.sections.len()
    }
    fn section_data_range(&self, index: usize) -> Result<Range<usize>, PeOffsetError> {
        index
            .checked_sub(1)
            .and_then(|i| self.sections.get(i))
            .cloned()
            .ok_or(PeOffsetError)
    }
    fn certificate_table_range(&self) -> Result<Option<Range<usize>>, PeOffsetError> {
        Ok(self.cert_table.clone())
    }
    fn offsets(&self) -> Result<PeOffsets, PeOffsetError> {
        Ok(self.offsets.clone())
    }
}

/// SHA-256 (sha2 0.11) behind the `digest` 0.10 trait the `authenticode` crate feeds.
struct Sha256Update(sha2::Sha256);

impl digest010::Update for Sha256Update {
    fn update(&mut self, data: &[u8]) {
        Digest::update(&mut self.0, data);
    }
}

/// The SHA-256 Authenticode digest of a PE file (what `sbsign` signs, what `pesign -h` prints).
pub fn digest(file: &[u8]) -> Option<[u8; 32]> {
    let pe = Pe::read(file)?;
    let mut h = Sha256Update(sha2::Sha256::new());
    authenticode::authenticode_digest(&pe, &mut h).ok()?;
    Some(h.0.finalize().into())
}

/// Whether a PE file carries a certificate table at all (an unsigned UKI has none).
pub fn is_signed(file: &[u8]) -> bool {
    Pe::read(file).is_some_and(|pe| pe.cert_table.is_some())
}

/// Check the Authenticode signature of `data` (the bytes of `file`) against `certs`. Returns
/// the subject of the certificate that signed it.
pub fn verify(file: &str, data: &[u8], certs: &[TrustedCert]) -> Result<String, AuthenticodeError> {
    let malformed = |why: String| AuthenticodeError::Malformed {
        file: file.into(),
        why,
    };
    let pe = Pe::read(data).ok_or_else(|| malformed("the PE headers are malformed".into()))?;
    let mut table = match AttributeCertificateIterator::new(&pe) {
        Ok(Some(t)) => t,
        Ok(None) => return Err(AuthenticodeError::NotSigned { file: file.into() }),
        Err(e) => return Err(malformed(e.to_string())),
    };
    let signature = match table.next() {
        None => return Err(AuthenticodeError::NotSigned { file: file.into() }),
        Some(Err(e)) => return Err(malformed(e.to_string())),
        Some(Ok(c)) => c
            .get_authenticode_signature()
            .map_err(|e| malformed(e.to_string()))?,
    };
    if certs.is_empty() {
        return Err(AuthenticodeError::NoCerts { file: file.into() });
    }
    let unsupported = |what: String| AuthenticodeError::Unsupported {
        file: file.into(),
        what,
    };
    if signature.digest_algorithm().oid.to_string() != SHA256_OID {
        return Err(unsupported(format!(
            "the digest algorithm {}",
            signature.digest_algorithm().oid
        )));
    }
    let signer = signature.signer_info();
    if signer.digest_alg.oid.to_string() != SHA256_OID {
        return Err(unsupported(format!(
            "the signer digest algorithm {}",
            signer.digest_alg.oid
        )));
    }
    // Who signed: the trusted certificate named by the signer's issuer and serial number.
    let (issuer, serial) = match &signer.sid {
        cms::signed_data::SignerIdentifier::IssuerAndSerialNumber(i) => {
            (i.issuer.clone(), i.serial_number.as_bytes().to_vec())
        }
        cms::signed_data::SignerIdentifier::SubjectKeyIdentifier(_) => {
            return Err(unsupported("a subject key identifier as signer".into()))
        }
    };
    let trusted = || {
        certs
            .iter()
            .map(|c| c.subject.clone())
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let cert = certs
        .iter()
        .find(|c| c.issuer == issuer && c.serial == serial)
        .ok_or_else(|| AuthenticodeError::Untrusted {
            file: file.into(),
            signer: format!("issued by {issuer}, serial {}", hex(&serial)),
            trusted: trusted(),
        })?;
    // The file is what was signed.
    let actual = digest(data)
        .ok_or_else(|| malformed("its sections overlap or lie outside the file".into()))?;
    if signature.digest() != actual {
        return Err(AuthenticodeError::DigestMismatch { file: file.into() });
    }
    // The signed attributes hold the digest of the signed content (SpcIndirectDataContent,
    // without its outer tag and length), and the signature is over them (as a SET OF).
    let attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or_else(|| malformed("it has no signed attributes".into()))?;
    let content = signature
        .encapsulated_content()
        .ok_or_else(|| malformed("it has no signed content".into()))?;
    let message_digest = attrs
        .iter()
        .find(|a| a.oid.to_string() == MESSAGE_DIGEST_OID)
        .and_then(|a| a.values.iter().next())
        .map(|v| v.value().to_vec())
        .ok_or_else(|| malformed("it has no message digest".into()))?;
    if message_digest != sha2::Sha256::digest(content).as_slice() {
        return Err(AuthenticodeError::BadSignature {
            file: file.into(),
            cert: cert.subject.clone(),
        });
    }
    let signed = attrs.to_der().map_err(|e| malformed(e.to_string()))?;
    let pki = rustls_pki_types::CertificateDer::from(cert.der.as_slice());
    let ee = webpki::EndEntityCert::try_from(&pki).map_err(|e| malformed(format!("{e:?}")))?;
    let algorithms = [
        webpki::ring::RSA_PKCS1_2048_8192_SHA256,
        webpki::ring::ECDSA_P256_SHA256,
        webpki::ring::ECDSA_P384_SHA256,
    ];
    if algorithms.iter().any(|alg| {
        ee.verify_signature(*alg, &signed, signature.signature())
            .is_ok()
    }) {
        Ok(cert.subject.clone())
    } else {
        Err(AuthenticodeError::BadSignature {
            file: file.into(),
            cert: cert.subject.clone(),
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PE32+ file with a proper optional header (as sbsign accepts) and the given sections.
    pub fn pe32plus(sections: &[(&str, &[u8])]) -> Vec<u8> {
        let mut f = vec![0u8; 0x80];
        f[..2].copy_from_slice(b"MZ");
        f[0x3C..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        f.extend_from_slice(b"PE\0\0");
        let mut coff = [0u8; 20];
        coff[..2].copy_from_slice(&0x8664u16.to_le_bytes());
        coff[2..4].copy_from_slice(&(sections.len() as u16).to_le_bytes());
        coff[16..18].copy_from_slice(&0xF0u16.to_le_bytes());
        coff[18..20].copy_from_slice(&0x0206u16.to_le_bytes());
        f.extend_from_slice(&coff);
        let opt = f.len();
        f.resize(opt + 0xF0, 0);
        f[opt..opt + 2].copy_from_slice(&0x20bu16.to_le_bytes());
        f[opt + 32..opt + 36].copy_from_slice(&0x1000u32.to_le_bytes()); // section alignment
        f[opt + 36..opt + 40].copy_from_slice(&0x200u32.to_le_bytes()); // file alignment
        f[opt + 108..opt + 112].copy_from_slice(&16u32.to_le_bytes());
        let table = f.len();
        f.resize(table + 40 * sections.len(), 0);
        let headers = f.len().div_ceil(512) * 512;
        f[opt + 60..opt + 64].copy_from_slice(&(headers as u32).to_le_bytes());
        let mut at = headers;
        let mut va = 0x1000usize;
        for (i, (name, data)) in sections.iter().enumerate() {
            let h = table + 40 * i;
            f[h..h + name.len()].copy_from_slice(name.as_bytes());
            f[h + 8..h + 12].copy_from_slice(&(data.len() as u32).to_le_bytes());
            f[h + 12..h + 16].copy_from_slice(&(va as u32).to_le_bytes());
            let raw = data.len().div_ceil(512) * 512;
            f[h + 16..h + 20].copy_from_slice(&(raw as u32).to_le_bytes());
            f[h + 20..h + 24].copy_from_slice(&(at as u32).to_le_bytes());
            f[h + 36..h + 40].copy_from_slice(&0x4000_0040u32.to_le_bytes());
            f.resize(at, 0);
            f.extend_from_slice(data);
            f.resize(at + raw, 0);
            at += raw;
            va += data.len().div_ceil(0x1000).max(1) * 0x1000;
        }
        f.resize(at, 0);
        f[opt + 56..opt + 60].copy_from_slice(&(va as u32).to_le_bytes()); // size of image
        f
    }

    #[test]
    fn an_unsigned_file_is_not_signed_and_has_a_digest() {
        let f = pe32plus(&[(".linux", b"kernel"), (".cmdline", b"quiet")]);
        assert!(!is_signed(&f));
        assert!(digest(&f).is_some());
        let e = verify("x.efi", &f, &[]).unwrap_err();
        assert!(matches!(e, AuthenticodeError::NotSigned { .. }), "{e}");
        assert!(e.to_string().starts_with("x.efi is not signed"), "{e}");
    }

    #[test]
    fn the_digest_skips_the_checksum_and_covers_the_sections() {
        let f = pe32plus(&[(".linux", b"kernel")]);
        let d = digest(&f).unwrap();
        let mut g = f.clone();
        g[0x80 + 24 + 64] ^= 0xFF; // the checksum
        assert_eq!(digest(&g).unwrap(), d);
        let mut g = f.clone();
        let last = g.len() - 512;
        g[last] ^= 1; // the section's data
        assert_ne!(digest(&g).unwrap(), d);
    }

    #[test]
    fn malformed_files_are_errors_never_panics() {
        let f = pe32plus(&[(".linux", b"kernel"), (".initrd", b"initrd")]);
        // Every truncation.
        for n in 0..f.len() {
            let _ = digest(&f[..n]);
            let _ = verify("x", &f[..n], &[]);
        }
        let opt = 0x80 + 24;
        let table = opt + 0xF0;
        let mut cases = Vec::new();
        // A huge section count.
        let mut g = f.clone();
        g[0x82 + 4..0x84 + 4].copy_from_slice(&0xFFFFu16.to_le_bytes());
        cases.push(g);
        // A section outside the file.
        let mut g = f.clone();
        g[table + 20..table + 24].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        cases.push(g);
        // Overlapping sections (the second on the first).
        let mut g = f.clone();
        let first = u32le(&g, table + 20).unwrap();
        g[table + 60..table + 64].copy_from_slice(&first.to_le_bytes());
        cases.push(g);
        // A certificate table outside the file, and one of garbage.
        let mut g = f.clone();
        g[opt + 144..opt + 148].copy_from_slice(&0xFFFF_FF00u32.to_le_bytes());
        g[opt + 148..opt + 152].copy_from_slice(&0x1000u32.to_le_bytes());
        cases.push(g);
        let mut g = f.clone();
        let at = g.len() as u32;
        g.extend_from_slice(&[8, 1, 0, 0, 0, 2, 2, 0]);
        g.extend_from_slice(&[0x30; 256]);
        g[opt + 144..opt + 148].copy_from_slice(&at.to_le_bytes());
        g[opt + 148..opt + 152].copy_from_slice(&264u32.to_le_bytes());
        cases.push(g);
        // Headers larger than the file, a bad e_lfanew, an unknown optional header.
        let mut g = f.clone();
        g[opt + 60..opt + 64].copy_from_slice(&u32::MAX.to_le_bytes());
        cases.push(g);
        let mut g = f.clone();
        g[0x3C..0x40].copy_from_slice(&u32::MAX.to_le_bytes());
        cases.push(g);
        let mut g = f.clone();
        g[opt] = 0;
        cases.push(g);
        for (i, g) in cases.iter().enumerate() {
            let _ = digest(g);
            let e = verify("x", g, &[]);
            assert!(e.is_err(), "case {i}");
        }
        // The overlapping one has no digest (the sections add up to more than the file).
        assert_eq!(digest(&cases[2]), None);
    }

    /// A tiny PE32+ file (`.linux`, `.cmdline`) signed by `sbsign` with `owner.pem`'s key
    /// (made once with openssl and sbsign; `sbverify --cert owner.pem` accepts it).
    const SIGNED: &[u8] = include_bytes!("testdata/tiny.signed.efi");
    const OWNER: &[u8] = include_bytes!("testdata/owner.pem");
    const OTHER: &[u8] = include_bytes!("testdata/other.pem");

    #[test]
    fn a_file_signed_by_a_trusted_certificate_verifies() {
        let owner = parse_pem(OWNER).unwrap();
        assert_eq!(owner[0].subject, "CN=kboot test UKI owner");
        assert!(is_signed(SIGNED));
        assert_eq!(
            verify("tiny.efi", SIGNED, &owner).unwrap(),
            "CN=kboot test UKI owner"
        );
        let mut both = parse_pem(OTHER).unwrap();
        both.extend(owner);
        assert!(verify("tiny.efi", SIGNED, &both).is_ok());
    }

    #[test]
    fn each_refusal_is_its_own_sentence() {
        let owner = parse_pem(OWNER).unwrap();
        let other = parse_pem(OTHER).unwrap();
        let e = verify("vda1:/EFI/Linux/x.efi", SIGNED, &other).unwrap_err();
        assert!(matches!(e, AuthenticodeError::Untrusted { .. }), "{e}");
        assert!(
            e.to_string().starts_with(
                "vda1:/EFI/Linux/x.efi is signed by a certificate kboot does not trust (issued by CN=kboot test UKI owner"
            ),
            "{e}"
        );
        assert!(e.to_string().ends_with("it trusts CN=someone else"), "{e}");
        let e = verify("x.efi", SIGNED, &[]).unwrap_err();
        assert!(matches!(e, AuthenticodeError::NoCerts { .. }), "{e}");
        // A changed command line: the digest no longer matches.
        let at = SIGNED.windows(5).position(|w| w == b"quiet").unwrap();
        let mut changed = SIGNED.to_vec();
        changed[at..at + 5].copy_from_slice(b"loud!");
        let e = verify("x.efi", &changed, &owner).unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.efi does not match its Authenticode signature: it was changed after it was signed"
        );
        // The signature's last byte changed: the signature does not verify.
        let table = {
            let pe = Pe::read(SIGNED).unwrap();
            pe.cert_table.unwrap()
        };
        let mut forged = SIGNED.to_vec();
        let sig_end = table.end - 1;
        // The signature value is the last element of SignerInfo, which ends the DER: find its
        // last non-padding byte.
        let last = (table.start..=sig_end)
            .rev()
            .find(|i| forged[*i] != 0)
            .unwrap();
        forged[last] ^= 0x55;
        let e = verify("x.efi", &forged, &owner).unwrap_err();
        assert!(matches!(e, AuthenticodeError::BadSignature { .. }), "{e}");
        // Every truncation and every single-byte change of the signed file: no panic; a
        // change anywhere the digest covers is refused (the checksum, the security directory
        // entry and the certificate table are outside it, and the certificates the signature
        // carries are not used: kboot's own are).
        let opt = 0x80 + 24;
        let uncovered = |n: usize| {
            (opt + 64..opt + 68).contains(&n)
                || (opt + 144..opt + 152).contains(&n)
                || table.contains(&n)
        };
        for n in 0..SIGNED.len() {
            let _ = verify("x", &SIGNED[..n], &owner);
            let mut g = SIGNED.to_vec();
            g[n] = g[n].wrapping_add(1);
            let result = verify("x", &g, &owner);
            assert!(result.is_err() || uncovered(n), "byte {n}");
        }
    }

    #[test]
    fn pem_files_without_certificates_are_refused() {
        assert_eq!(parse_pem(b"hello\n"), Err(CertError::NoCertificate));
        let bad = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(matches!(parse_pem(bad), Err(CertError::Bad(_))));
    }
}
