//! The measurement log kboot hands the target: the TCG PC Client "crypto agile" format (the
//! one `/sys/kernel/security/tpm0/binary_bios_measurements` and `tpm2_eventlog` read), with
//! SHA-256 digests only, and a JSON copy. Sans-IO: events in, bytes out; and a parser for the
//! same format (tests, fuzzing, a target that replays the log).

use serde::Serialize;

/// EV_NO_ACTION: the log's header event.
pub const EV_NO_ACTION: u32 = 0x0000_0003;
/// EV_IPL: what a boot loader measures (kernels, initrds, command lines).
pub const EV_IPL: u32 = 0x0000_000D;

/// One extend, as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub pcr: u32,
    #[serde(serialize_with = "event_type_name")]
    pub event_type: u32,
    #[serde(serialize_with = "hex")]
    pub sha256: [u8; 32],
    /// What was measured, in words (`kernel tftp://...`), or the command line itself.
    pub event: String,
}

fn event_type_name<S: serde::Serializer>(t: &u32, s: S) -> Result<S::Ok, S::Error> {
    match *t {
        EV_IPL => s.serialize_str("EV_IPL"),
        EV_NO_ACTION => s.serialize_str("EV_NO_ACTION"),
        other => s.serialize_str(&format!("{other:#x}")),
    }
}

fn hex<S: serde::Serializer>(d: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::fetch::integrity::to_hex(d))
}

/// The header event: a TCG_PCR_EVENT (SHA-1 layout) holding the TCG_EfiSpecIDEvent that says
/// the rest uses the crypto-agile layout with SHA-256.
fn header() -> Vec<u8> {
    let mut spec = Vec::new();
    spec.extend_from_slice(b"Spec ID Event03\0");
    spec.extend_from_slice(&0u32.to_le_bytes()); // platform class: client
    spec.extend_from_slice(&[0, 2, 0, 2]); // version 2.0, errata 0, uintn size 2 (UINT64)
    spec.extend_from_slice(&1u32.to_le_bytes()); // one algorithm
    spec.extend_from_slice(&super::codec::ALG_SHA256.to_le_bytes());
    spec.extend_from_slice(&32u16.to_le_bytes());
    spec.push(0); // no vendor info
    let mut out = Vec::new();
    out.extend_from_slice(&0u32.to_le_bytes()); // PCR 0
    out.extend_from_slice(&EV_NO_ACTION.to_le_bytes());
    out.extend_from_slice(&[0u8; 20]);
    out.extend_from_slice(&(spec.len() as u32).to_le_bytes());
    out.extend_from_slice(&spec);
    out
}

/// The binary log: the header, then one TCG_PCR_EVENT2 per event.
pub fn encode(events: &[Event]) -> Vec<u8> {
    let mut out = header();
    for e in events {
        out.extend_from_slice(&e.pcr.to_le_bytes());
        out.extend_from_slice(&e.event_type.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&super::codec::ALG_SHA256.to_le_bytes());
        out.extend_from_slice(&e.sha256);
        out.extend_from_slice(&(e.event.len() as u32).to_le_bytes());
        out.extend_from_slice(e.event.as_bytes());
    }
    out
}

/// The JSON copy: `[{"pcr", "event_type", "sha256", "event"}...]`.
pub fn to_json(events: &[Event]) -> String {
    serde_json::to_string_pretty(events).unwrap_or_else(|_| "[]".into())
}

/// Why a log does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error("the event log is cut short at byte {0}")]
    Short(usize),
    #[error("the event log does not start with a Spec ID Event03 header")]
    NoHeader,
    #[error("event at byte {0} has a digest of an algorithm the header did not declare")]
    UnknownAlgorithm(usize),
}

/// Parse a log kboot wrote (SHA-256 only): its events after the header.
pub fn decode(bytes: &[u8]) -> Result<Vec<Event>, LogError> {
    let mut pos = 0usize;
    let take = |pos: &mut usize, n: usize| -> Result<&[u8], LogError> {
        let end = pos.checked_add(n).filter(|e| *e <= bytes.len());
        let end = end.ok_or(LogError::Short(*pos))?;
        let s = &bytes[*pos..end];
        *pos = end;
        Ok(s)
    };
    let u32le = |s: &[u8]| u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
    // Header: pcr, type, 20-byte digest, size, Spec ID event.
    let head = take(&mut pos, 32)?;
    if u32le(&head[4..8]) != EV_NO_ACTION {
        return Err(LogError::NoHeader);
    }
    let size = u32le(&head[28..32]) as usize;
    let spec = take(&mut pos, size)?;
    if !spec.starts_with(b"Spec ID Event03\0") {
        return Err(LogError::NoHeader);
    }
    let mut events = Vec::new();
    while pos < bytes.len() {
        let at = pos;
        let h = take(&mut pos, 12)?;
        let (pcr, event_type, count) = (u32le(&h[0..4]), u32le(&h[4..8]), u32le(&h[8..12]));
        let mut sha256 = None;
        for _ in 0..count.min(8) {
            let alg = take(&mut pos, 2)?;
            if u16::from_le_bytes([alg[0], alg[1]]) != super::codec::ALG_SHA256 {
                return Err(LogError::UnknownAlgorithm(at));
            }
            let mut d = [0u8; 32];
            d.copy_from_slice(take(&mut pos, 32)?);
            sha256 = Some(d);
        }
        if count > 8 {
            return Err(LogError::UnknownAlgorithm(at));
        }
        let size = u32le(take(&mut pos, 4)?) as usize;
        let data = take(&mut pos, size)?;
        events.push(Event {
            pcr,
            event_type,
            sha256: sha256.unwrap_or([0; 32]),
            event: String::from_utf8_lossy(data).into_owned(),
        });
    }
    Ok(events)
}

/// The PCR values the events give, from zero: (pcr, value), in PCR order.
pub fn replay(events: &[Event]) -> Vec<(u32, [u8; 32])> {
    let mut pcrs: std::collections::BTreeMap<u32, [u8; 32]> = Default::default();
    for e in events {
        let v = pcrs.entry(e.pcr).or_insert([0; 32]);
        *v = super::codec::extended(v, &e.sha256);
    }
    pcrs.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events() -> Vec<Event> {
        vec![
            Event {
                pcr: 8,
                event_type: EV_IPL,
                sha256: [1; 32],
                event: "config tftp://h/kboot.conf".into(),
            },
            Event {
                pcr: 12,
                event_type: EV_IPL,
                sha256: [2; 32],
                event: "quiet".into(),
            },
        ]
    }

    #[test]
    fn the_log_round_trips_and_starts_with_the_spec_id_header() {
        let bytes = encode(&events());
        assert_eq!(&bytes[32..48], b"Spec ID Event03\0");
        assert_eq!(decode(&bytes).unwrap(), events());
        let json = to_json(&events());
        assert!(json.contains("\"event_type\": \"EV_IPL\""), "{json}");
        assert!(json.contains(&"01".repeat(32)), "{json}");
    }

    #[test]
    fn a_cut_or_foreign_log_is_an_error() {
        let bytes = encode(&events());
        for n in [0, 10, 31, 40, bytes.len() - 1] {
            assert!(decode(&bytes[..n]).is_err(), "cut at {n}");
        }
        let mut sha1 = bytes.clone();
        let first = 32 + 33; // after the header and its Spec ID event
        sha1[first + 12] = 0x04; // the first event's algorithm: SHA-1
        assert!(matches!(decode(&sha1), Err(LogError::UnknownAlgorithm(_))));
        let mut head = bytes;
        head[4] = 9;
        assert_eq!(decode(&head), Err(LogError::NoHeader));
    }

    #[test]
    fn replaying_gives_each_pcr_its_chain() {
        let mut ev = events();
        ev.push(Event {
            pcr: 8,
            event_type: EV_IPL,
            sha256: [3; 32],
            event: String::new(),
        });
        let pcrs = replay(&ev);
        let p8 = super::super::codec::extended(
            &super::super::codec::extended(&[0; 32], &[1; 32]),
            &[3; 32],
        );
        assert_eq!(
            pcrs,
            vec![
                (8, p8),
                (12, super::super::codec::extended(&[0; 32], &[2; 32]))
            ]
        );
    }
}
