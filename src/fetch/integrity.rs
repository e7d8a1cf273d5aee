//! Streaming integrity checks: a SHA-256 of the bytes as they pass to the sink.
//!
//! [`Sha256Writer`] wraps any `Write` and hashes exactly the bytes the inner writer accepted,
//! so a resumed HTTP download (which only writes the missing tail) still hashes the whole file
//! once, in order. [`verify_sha256`] compares the result with the digest the config gave.

use std::io::{self, Write};

use sha2::{Digest, Sha256};

use super::FetchError;

/// A `Write` adapter that computes the SHA-256 of everything written through it.
///
/// The hashing runs on a thread of its own, fed in [`CHUNK`]-sized copies through a bounded
/// channel, so that on a machine with two cores it overlaps the download instead of adding to
/// it (SHA-256 is about 1 ms per MB with SHA-NI, several without). When no thread can be
/// started it hashes inline.
pub struct Sha256Writer<W: Write> {
    inner: W,
    hasher: Hasher,
    pending: Vec<u8>,
    written: u64,
}

/// Bytes handed to the hashing thread at once.
pub const CHUNK: usize = 256 * 1024;
/// Chunks in flight at most (a bound on the memory the copies take: 2 MiB).
const IN_FLIGHT: usize = 8;

enum Hasher {
    Inline(Sha256),
    Thread {
        tx: std::sync::mpsc::SyncSender<Vec<u8>>,
        done: std::thread::JoinHandle<[u8; 32]>,
    },
}

impl Hasher {
    fn start() -> Hasher {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(IN_FLIGHT);
        let spawned = std::thread::Builder::new()
            .name("sha256".into())
            .spawn(move || {
                let mut h = Sha256::new();
                for chunk in rx {
                    h.update(&chunk);
                }
                h.finalize().into()
            });
        match spawned {
            Ok(done) => Hasher::Thread { tx, done },
            Err(_) => Hasher::Inline(Sha256::new()),
        }
    }

    fn update(&mut self, chunk: Vec<u8>) {
        match self {
            Hasher::Inline(h) => h.update(&chunk),
            Hasher::Thread { tx, .. } => {
                if let Err(std::sync::mpsc::SendError(chunk)) = tx.send(chunk) {
                    // The thread is gone (it cannot fail, but PID 1 must not lose bytes).
                    let mut h = Sha256::new();
                    h.update(&chunk);
                    *self = Hasher::Inline(h);
                }
            }
        }
    }

    fn finish(self) -> [u8; 32] {
        match self {
            Hasher::Inline(h) => h.finalize().into(),
            Hasher::Thread { tx, done } => {
                drop(tx);
                done.join().unwrap_or_default()
            }
        }
    }
}

impl<W: Write> Sha256Writer<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Hasher::start(),
            pending: Vec::with_capacity(CHUNK),
            written: 0,
        }
    }

    /// Bytes hashed so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The digest and the inner writer.
    pub fn finish(mut self) -> ([u8; 32], W) {
        let last = std::mem::take(&mut self.pending);
        self.hasher.update(last);
        (self.hasher.finish(), self.inner)
    }
}

impl<W: Write> Write for Sha256Writer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        // Hash only what the inner writer took: a short write is retried by the caller.
        let mut taken = &buf[..n];
        while !taken.is_empty() {
            let room = CHUNK - self.pending.len();
            let (now, rest) = taken.split_at(room.min(taken.len()));
            self.pending.extend_from_slice(now);
            taken = rest;
            if self.pending.len() == CHUNK {
                let full = std::mem::replace(&mut self.pending, Vec::with_capacity(CHUNK));
                self.hasher.update(full);
            }
        }
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Parse a SHA-256 digest written as 64 hex characters (either case; an optional `sha256:`
/// prefix is accepted, as in `sha256:ab12...`).
pub fn parse_sha256(hex: &str) -> Result<[u8; 32], FetchError> {
    let bad = |reason: String| FetchError::BadSha256 {
        value: hex.to_string(),
        reason,
    };
    let trimmed = hex.trim();
    let digits = trimmed
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("sha256:"))
        .map_or(trimmed, |_| &trimmed[7..]);
    if digits.len() != 64 {
        return Err(bad(format!(
            "it has {} characters, not 64",
            digits.chars().count()
        )));
    }
    let mut out = [0u8; 32];
    for (i, pair) in digits.as_bytes().chunks(2).enumerate() {
        let nibble = |c: u8| (c as char).to_digit(16);
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(hi), Some(lo)) => out[i] = (hi * 16 + lo) as u8,
            _ => {
                let pos = digits
                    .char_indices()
                    .find(|(_, c)| !c.is_ascii_hexdigit())
                    .map_or(i * 2, |(p, _)| p);
                return Err(bad(format!("character {} is not a hex digit", pos + 1)));
            }
        }
    }
    Ok(out)
}

/// Lower-case hex of a digest.
pub fn to_hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Check `actual` against the expected hex digest; the error shows both.
pub fn verify_sha256(expected_hex: &str, actual: [u8; 32]) -> Result<(), FetchError> {
    let expected = parse_sha256(expected_hex)?;
    if expected == actual {
        Ok(())
    } else {
        Err(FetchError::Sha256Mismatch {
            expected: to_hex(&expected),
            actual: to_hex(&actual),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn hashes_while_streaming() {
        let mut w = Sha256Writer::new(Vec::new());
        w.write_all(b"a").unwrap();
        w.write_all(b"bc").unwrap();
        assert_eq!(w.written(), 3);
        let (digest, inner) = w.finish();
        assert_eq!(inner, b"abc");
        verify_sha256(ABC, digest).unwrap();
        verify_sha256(&ABC.to_uppercase(), digest).unwrap();
        verify_sha256(&format!("sha256:{ABC}"), digest).unwrap();
    }

    #[test]
    fn inputs_across_many_chunks_hash_like_one_pass() {
        // Odd-sized writes over several chunks (and over the channel's bound).
        let data: Vec<u8> = (0..(CHUNK * IN_FLIGHT * 2 + 12345))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let mut w = Sha256Writer::new(io::sink());
        for piece in data.chunks(CHUNK / 3 + 17) {
            w.write_all(piece).unwrap();
        }
        assert_eq!(w.written(), data.len() as u64);
        let expected: [u8; 32] = Sha256::digest(&data).into();
        assert_eq!(w.finish().0, expected);
    }

    #[test]
    fn empty_input() {
        let w = Sha256Writer::new(io::sink());
        verify_sha256(EMPTY, w.finish().0).unwrap();
    }

    #[test]
    fn short_writes_hash_only_what_was_taken() {
        struct TwoBytes(Vec<u8>);
        impl Write for TwoBytes {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                let n = buf.len().min(2);
                self.0.extend_from_slice(&buf[..n]);
                Ok(n)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut w = Sha256Writer::new(TwoBytes(Vec::new()));
        w.write_all(b"abc").unwrap();
        let (digest, inner) = w.finish();
        assert_eq!(inner.0, b"abc");
        assert_eq!(to_hex(&digest), ABC);
    }

    #[test]
    fn mismatch_shows_both_digests() {
        let err = verify_sha256(EMPTY, parse_sha256(ABC).unwrap()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, FetchError::Sha256Mismatch { .. }));
        assert!(msg.contains(EMPTY) && msg.contains(ABC), "{msg}");
    }

    #[test]
    fn malformed_digests_are_clear_errors() {
        for (input, needle) in [
            ("", "0 characters"),
            ("abc", "3 characters"),
            (&ABC[1..], "63 characters"),
            (&format!("{ABC}0"), "65 characters"),
        ] {
            let err = parse_sha256(input).unwrap_err();
            assert!(matches!(err, FetchError::BadSha256 { .. }), "{err}");
            assert!(err.to_string().contains(needle), "{err}");
            assert!(err.to_string().contains("64 hex"), "{err}");
        }
        let mut bad = ABC.to_string();
        bad.replace_range(10..11, "g");
        let err = parse_sha256(&bad).unwrap_err();
        assert!(err.to_string().contains("character 11"), "{err}");
        // Multi-byte characters must not panic the slicing.
        let weird = "é".repeat(32);
        assert!(parse_sha256(&weird).is_err());
        let weird = format!("{}é", &ABC[..62]);
        assert!(parse_sha256(&weird).is_err());
    }
}
