//! TPM 2.0 commands kboot sends, and their responses (TPM 2.0 Library, Part 3): PCR_Extend,
//! PCR_Read and GetCapability(TPM_CAP_PCRS). Sans-IO: commands are built as bytes, responses
//! parsed from bytes; every length is checked, malformed input is an error, never a panic.

/// TPM_ST_NO_SESSIONS.
const ST_NO_SESSIONS: u16 = 0x8001;
/// TPM_ST_SESSIONS.
const ST_SESSIONS: u16 = 0x8002;
const CC_PCR_EXTEND: u32 = 0x0000_0182;
const CC_PCR_READ: u32 = 0x0000_017E;
const CC_GET_CAPABILITY: u32 = 0x0000_017A;
/// TPM_RS_PW: the password session, with an empty password (the PCRs kboot extends need none).
const RS_PW: u32 = 0x4000_0009;
/// TPM_CAP_PCRS: the allocated PCR banks.
const CAP_PCRS: u32 = 5;
/// TPM_ALG_SHA256.
pub const ALG_SHA256: u16 = 0x000B;
/// TPM_ALG_SHA1.
pub const ALG_SHA1: u16 = 0x0004;
/// Largest response kboot accepts (a TPM's buffer is 4 KiB).
pub const MAX_RESPONSE: usize = 4096;

/// Why a response is not understood, or what the TPM said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TpmError {
    #[error("the TPM's answer is cut short ({0} bytes)")]
    Short(usize),
    #[error("the TPM's answer says it is {said} bytes long but is {got}")]
    Length { said: u32, got: usize },
    #[error("the TPM's answer has an unknown tag {0:#06x}")]
    Tag(u16),
    #[error("the TPM refused the command (response code {0:#x})")]
    Code(u32),
    #[error("the TPM's answer is malformed: {0}")]
    Malformed(&'static str),
}

/// A big-endian reader over a response.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TpmError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or(TpmError::Malformed("a field runs past the end"))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, TpmError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, TpmError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, TpmError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

fn command(tag: u16, code: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(10 + body.len());
    out.extend_from_slice(&tag.to_be_bytes());
    out.extend_from_slice(&((10 + body.len()) as u32).to_be_bytes());
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// TPM2_PCR_Extend of `pcr` in the SHA-256 bank with `digest`.
pub fn pcr_extend(pcr: u32, digest: &[u8; 32]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&pcr.to_be_bytes());
    // The authorization area: one password session with an empty password.
    let auth: Vec<u8> = [
        &RS_PW.to_be_bytes()[..],
        &0u16.to_be_bytes(), // nonce
        &[0u8],              // session attributes
        &0u16.to_be_bytes(), // hmac (the password)
    ]
    .concat();
    body.extend_from_slice(&(auth.len() as u32).to_be_bytes());
    body.extend_from_slice(&auth);
    // TPML_DIGEST_VALUES: one SHA-256 digest.
    body.extend_from_slice(&1u32.to_be_bytes());
    body.extend_from_slice(&ALG_SHA256.to_be_bytes());
    body.extend_from_slice(digest);
    command(ST_SESSIONS, CC_PCR_EXTEND, &body)
}

/// A PCR selection bitmap (3 bytes: PCRs 0 to 23).
fn select(pcrs: &[u32]) -> [u8; 3] {
    let mut bits = [0u8; 3];
    for &p in pcrs.iter().filter(|p| **p < 24) {
        bits[(p / 8) as usize] |= 1 << (p % 8);
    }
    bits
}

/// TPM2_PCR_Read of `pcrs` (0 to 23) in the SHA-256 bank.
pub fn pcr_read(pcrs: &[u32]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&1u32.to_be_bytes());
    body.extend_from_slice(&ALG_SHA256.to_be_bytes());
    body.push(3);
    body.extend_from_slice(&select(pcrs));
    command(ST_NO_SESSIONS, CC_PCR_READ, &body)
}

/// TPM2_GetCapability(TPM_CAP_PCRS): which PCR banks are allocated.
pub fn get_pcr_banks() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&CAP_PCRS.to_be_bytes());
    body.extend_from_slice(&0u32.to_be_bytes());
    body.extend_from_slice(&1u32.to_be_bytes());
    command(ST_NO_SESSIONS, CC_GET_CAPABILITY, &body)
}

/// Check a response's header; returns its parameters (after the header).
pub fn response(bytes: &[u8]) -> Result<&[u8], TpmError> {
    if bytes.len() < 10 {
        return Err(TpmError::Short(bytes.len()));
    }
    let mut r = Reader { bytes, pos: 0 };
    let tag = r.u16()?;
    let size = r.u32()?;
    let code = r.u32()?;
    if size as usize != bytes.len() {
        return Err(TpmError::Length {
            said: size,
            got: bytes.len(),
        });
    }
    if tag != ST_NO_SESSIONS && tag != ST_SESSIONS {
        return Err(TpmError::Tag(tag));
    }
    if code != 0 {
        return Err(TpmError::Code(code));
    }
    Ok(&bytes[10..])
}

/// A PCR_Extend response: success or the TPM's code.
pub fn parse_extend(bytes: &[u8]) -> Result<(), TpmError> {
    response(bytes).map(|_| ())
}

/// A TPML_PCR_SELECTION: (hash algorithm, PCRs selected).
fn selection(r: &mut Reader<'_>) -> Result<Vec<(u16, Vec<u32>)>, TpmError> {
    let count = r.u32()?;
    if count > 16 {
        return Err(TpmError::Malformed("more than 16 PCR banks"));
    }
    let mut banks = Vec::new();
    for _ in 0..count {
        let alg = r.u16()?;
        let size = r.u8()?;
        let bits = r.take(usize::from(size))?;
        let pcrs = (0..u32::from(size) * 8)
            .filter(|p| bits[(p / 8) as usize] & (1 << (p % 8)) != 0)
            .collect();
        banks.push((alg, pcrs));
    }
    Ok(banks)
}

/// A PCR_Read response: the SHA-256 values of the PCRs read, in PCR order.
pub fn parse_pcr_read(bytes: &[u8]) -> Result<Vec<(u32, [u8; 32])>, TpmError> {
    let params = response(bytes)?;
    let mut r = Reader {
        bytes: params,
        pos: 0,
    };
    let _update_counter = r.u32()?;
    let banks = selection(&mut r)?;
    let count = r.u32()?;
    let pcrs: Vec<u32> = banks
        .iter()
        .filter(|(alg, _)| *alg == ALG_SHA256)
        .flat_map(|(_, p)| p.clone())
        .collect();
    if count as usize != pcrs.len() || banks.len() != 1 {
        return Err(TpmError::Malformed(
            "the digests do not match the selection",
        ));
    }
    let mut out = Vec::new();
    for pcr in pcrs {
        let size = r.u16()?;
        if size != 32 {
            return Err(TpmError::Malformed("a SHA-256 digest is not 32 bytes"));
        }
        let mut d = [0u8; 32];
        d.copy_from_slice(r.take(32)?);
        out.push((pcr, d));
    }
    Ok(out)
}

/// A GetCapability(TPM_CAP_PCRS) response: the banks with at least one PCR allocated.
pub fn parse_pcr_banks(bytes: &[u8]) -> Result<Vec<u16>, TpmError> {
    let params = response(bytes)?;
    let mut r = Reader {
        bytes: params,
        pos: 0,
    };
    let _more = r.u8()?;
    if r.u32()? != CAP_PCRS {
        return Err(TpmError::Malformed("the answer is not about PCR banks"));
    }
    Ok(selection(&mut r)?
        .into_iter()
        .filter(|(_, pcrs)| !pcrs.is_empty())
        .map(|(alg, _)| alg)
        .collect())
}

/// A PCR's new value after an extend: SHA-256(old || digest).
pub fn extended(old: &[u8; 32], digest: &[u8; 32]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(old);
    h.update(digest);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(tag: u16, code: u32, params: &[u8]) -> Vec<u8> {
        let mut v = command(tag, code, params);
        v.truncate(10 + params.len());
        v
    }

    #[test]
    fn extend_is_encoded_as_the_spec_lays_it_out() {
        let c = pcr_extend(9, &[0xAB; 32]);
        assert_eq!(&c[..2], &[0x80, 0x02]);
        assert_eq!(
            u32::from_be_bytes(c[2..6].try_into().unwrap()) as usize,
            c.len()
        );
        assert_eq!(&c[6..10], &[0, 0, 0x01, 0x82]);
        assert_eq!(&c[10..14], &[0, 0, 0, 9]);
        assert_eq!(&c[14..18], &[0, 0, 0, 9], "auth area size");
        assert_eq!(&c[18..22], &[0x40, 0, 0, 9]);
        assert_eq!(&c[27..31], &[0, 0, 0, 1], "one digest");
        assert_eq!(&c[31..33], &[0, 0x0B]);
        assert_eq!(&c[33..], &[0xAB; 32]);
        assert_eq!(c.len(), 65);
    }

    #[test]
    fn read_selects_the_pcrs_in_a_bitmap() {
        let c = pcr_read(&[8, 9, 12]);
        assert_eq!(&c[6..10], &[0, 0, 0x01, 0x7E]);
        assert_eq!(&c[10..], &[0, 0, 0, 1, 0, 0x0B, 3, 0, 0b0001_0011, 0]);
    }

    #[test]
    fn a_pcr_read_answer_is_parsed_in_pcr_order() {
        let mut p = vec![0, 0, 0, 7]; // update counter
        p.extend_from_slice(&[0, 0, 0, 1, 0, 0x0B, 3, 0, 0b0001_0011, 0]);
        p.extend_from_slice(&[0, 0, 0, 3]);
        for v in [1u8, 2, 3] {
            p.extend_from_slice(&[0, 32]);
            p.extend_from_slice(&[v; 32]);
        }
        let got = parse_pcr_read(&answer(ST_NO_SESSIONS, 0, &p)).unwrap();
        assert_eq!(got, vec![(8, [1; 32]), (9, [2; 32]), (12, [3; 32])]);
        // Every prefix of it is an error, not a panic.
        let full = answer(ST_NO_SESSIONS, 0, &p);
        for n in 0..full.len() {
            let mut cut = full[..n].to_vec();
            if cut.len() >= 6 {
                cut[2..6].copy_from_slice(&(n as u32).to_be_bytes());
            }
            assert!(parse_pcr_read(&cut).is_err(), "prefix {n}");
        }
    }

    #[test]
    fn the_banks_and_the_tpms_refusals() {
        let mut p = vec![0, 0, 0, 0, 5, 0, 0, 0, 2];
        p.extend_from_slice(&[0, 0x04, 3, 0, 0, 0]); // SHA-1: nothing allocated
        p.extend_from_slice(&[0, 0x0B, 3, 0xff, 0xff, 0xff]);
        assert_eq!(
            parse_pcr_banks(&answer(ST_NO_SESSIONS, 0, &p)).unwrap(),
            vec![ALG_SHA256]
        );
        assert_eq!(
            parse_extend(&answer(ST_SESSIONS, 0x9a2, &[])),
            Err(TpmError::Code(0x9a2))
        );
        assert_eq!(parse_extend(&answer(ST_SESSIONS, 0, &[])), Ok(()));
        assert!(matches!(parse_extend(&[0x80]), Err(TpmError::Short(1))));
        let mut wrong = answer(ST_SESSIONS, 0, &[]);
        wrong[5] = 11;
        assert!(matches!(parse_extend(&wrong), Err(TpmError::Length { .. })));
        assert!(matches!(
            parse_extend(&answer(0x1234, 0, &[])),
            Err(TpmError::Tag(0x1234))
        ));
        // A selection claiming a huge bitmap runs past the end.
        let bad = [0, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0x0B, 255, 0];
        assert!(parse_pcr_banks(&answer(ST_NO_SESSIONS, 0, &bad)).is_err());
    }

    #[test]
    fn an_extend_is_sha256_of_the_old_value_and_the_digest() {
        use sha2::Digest;
        // PCR 9 from zero after extending with SHA-256("abc"), computed on the host with
        // `(head -c 32 /dev/zero; printf abc | sha256sum | cut -d' ' -f1 | xxd -r -p) | sha256sum`.
        let abc: [u8; 32] = sha2::Sha256::digest(b"abc").into();
        let got: String = extended(&[0; 32], &abc)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            got,
            "589f9ffed4c477966bfb8d41f37895b08c69047df8f911d6f3b57fbe08faee8d"
        );
    }
}
