//! wpa_supplicant's `SCAN_RESULTS` reply: one access point per line,
//! `bssid<TAB>frequency<TAB>signal level<TAB>flags<TAB>ssid`, after a header line.

use super::{Band, Security};

/// One access point the last scan saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanResult {
    pub bssid: String,
    /// Centre frequency, MHz.
    pub freq: u32,
    /// dBm.
    pub signal: i32,
    /// As the supplicant prints them: `[WPA2-PSK-CCMP][ESS]`.
    pub flags: String,
    /// The SSID's bytes (any bytes are allowed); empty for a hidden network.
    pub ssid: Vec<u8>,
    pub security: Security,
}

impl ScanResult {
    /// The SSID as text for the screen (invalid UTF-8 replaced).
    pub fn ssid_text(&self) -> String {
        String::from_utf8_lossy(&self.ssid).into_owned()
    }

    pub fn band(&self) -> Band {
        Band::from_mhz(self.freq)
    }

    /// A hidden network: its beacons carry no SSID (empty or all zero bytes).
    pub fn hidden(&self) -> bool {
        self.ssid.iter().all(|&b| b == 0)
    }
}

/// Why a scan-results reply could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("the scan results from wpa_supplicant have no header line")]
    NoHeader,
}

/// Parse a `SCAN_RESULTS` reply. Lines that do not parse are skipped (counted in the second
/// value), so one odd access point never hides the others.
pub fn parse_results(reply: &str) -> Result<(Vec<ScanResult>, usize), ScanError> {
    let mut lines = reply.lines();
    let header = lines.next().ok_or(ScanError::NoHeader)?;
    if !header.starts_with("bssid") {
        return Err(ScanError::NoHeader);
    }
    let mut out = Vec::new();
    let mut bad = 0;
    for line in lines.filter(|l| !l.is_empty()) {
        match parse_line(line) {
            Some(r) => out.push(r),
            None => bad += 1,
        }
    }
    Ok((out, bad))
}

fn parse_line(line: &str) -> Option<ScanResult> {
    let mut f = line.splitn(5, '\t');
    let bssid = f.next()?;
    let freq = f.next()?.parse().ok()?;
    let signal = f.next()?.parse().ok()?;
    let flags = f.next()?;
    let ssid = unescape(f.next().unwrap_or(""))?;
    let valid_bssid = bssid.len() == 17
        && bssid
            .split(':')
            .all(|b| b.len() == 2 && b.bytes().all(|c| c.is_ascii_hexdigit()));
    if !valid_bssid {
        return None;
    }
    Some(ScanResult {
        bssid: bssid.to_ascii_lowercase(),
        freq,
        signal,
        flags: flags.to_string(),
        ssid,
        security: security_of(flags),
    })
}

/// Undo wpa_supplicant's `printf_encode` of an SSID: `\\`, `\"`, `\e`, `\n`, `\r`, `\t`,
/// `\xNN`. `None` for a broken escape.
pub fn unescape(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = *b.get(i + 1)?;
        i += 2;
        out.push(match c {
            b'\\' => b'\\',
            b'"' => b'"',
            b'e' => 0x1b,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'x' => {
                let hex = std::str::from_utf8(b.get(i..i + 2)?).ok()?;
                i += 2;
                u8::from_str_radix(hex, 16).ok()?
            }
            _ => return None,
        });
    }
    Some(out)
}

/// The security a network offers, from its flags (`[WPA2-PSK+SAE-CCMP][ESS]`).
pub fn security_of(flags: &str) -> Security {
    let (mut psk, mut sae, mut eap, mut wep) = (false, false, false, false);
    for group in flags.split('[').map(|g| g.trim_end_matches(']')) {
        if group.starts_with("WEP") {
            wep = true;
        } else if group.starts_with("WPA") || group.starts_with("RSN") {
            psk |= group.contains("PSK");
            sae |= group.contains("SAE");
            eap |= group.contains("EAP");
        }
    }
    match (psk, sae) {
        (true, true) => Security::Wpa2Wpa3,
        (false, true) => Security::Wpa3Sae,
        (true, false) => Security::Wpa2Psk,
        (false, false) if eap || wep => Security::Unsupported,
        (false, false) => Security::Open,
    }
}

/// The networks for the picker: one per SSID (its strongest access point), hidden ones left
/// out, strongest first.
pub fn networks(results: &[ScanResult]) -> Vec<ScanResult> {
    let mut best: Vec<ScanResult> = Vec::new();
    for r in results.iter().filter(|r| !r.hidden()) {
        match best.iter_mut().find(|b| b.ssid == r.ssid) {
            Some(b) if b.signal >= r.signal => {}
            Some(b) => *b = r.clone(),
            None => best.push(r.clone()),
        }
    }
    best.sort_by(|a, b| b.signal.cmp(&a.signal).then(a.ssid.cmp(&b.ssid)));
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPLY: &str = "bssid / frequency / signal level / flags / ssid\n\
        02:00:00:00:01:00\t2437\t-30\t[WPA2-PSK-CCMP][ESS]\tkboot-wpa2\n\
        02:00:00:00:02:00\t2412\t-45\t[WPA2-SAE-CCMP][ESS]\tkboot-wpa3\n\
        02:00:00:00:03:00\t2462\t-50\t[WPA2-PSK+SAE-CCMP][ESS]\tGuest Net\n\
        02:00:00:00:04:00\t5180\t-70\t[ESS]\tcaf\\xc3\\xa9 \\\"open\\\"\n\
        02:00:00:00:05:00\t2437\t-60\t[WPA2-EAP-CCMP][ESS]\tcorp\n\
        02:00:00:00:06:00\t2437\t-20\t[WPA2-PSK-CCMP][ESS]\t\n\
        02:00:00:00:07:00\t2437\t-25\t[WPA2-PSK-CCMP][ESS]\tkboot-wpa2\n\
        02:00:00:00:08:00\t2437\t-90\t[WEP][ESS]\told\n";

    #[test]
    fn scan_results_with_every_kind_of_network() {
        let (r, bad) = parse_results(REPLY).expect("parses");
        assert_eq!(bad, 0);
        assert_eq!(r.len(), 8);
        assert_eq!(r[0].security, Security::Wpa2Psk);
        assert_eq!(r[1].security, Security::Wpa3Sae);
        assert_eq!(r[2].security, Security::Wpa2Wpa3);
        assert_eq!(r[2].ssid_text(), "Guest Net");
        assert_eq!(r[3].security, Security::Open);
        assert_eq!(r[3].ssid_text(), "café \"open\"");
        assert_eq!(r[3].band(), Band::Ghz5);
        assert_eq!(r[4].security, Security::Unsupported);
        assert!(r[5].hidden());
        assert_eq!(r[7].security, Security::Unsupported);
        let n = networks(&r);
        let names: Vec<String> = n.iter().map(ScanResult::ssid_text).collect();
        // Strongest first, one per SSID (kboot-wpa2 at -25, its stronger BSS), hidden left out.
        assert_eq!(
            names,
            [
                "kboot-wpa2",
                "kboot-wpa3",
                "Guest Net",
                "corp",
                "café \"open\"",
                "old"
            ]
        );
        assert_eq!(n[0].bssid, "02:00:00:00:07:00");
    }

    #[test]
    fn malformed_results_are_skipped_not_fatal() {
        assert_eq!(parse_results(""), Err(ScanError::NoHeader));
        assert_eq!(parse_results("FAIL\n"), Err(ScanError::NoHeader));
        let reply = "bssid / frequency / signal level / flags / ssid\n\
            zz:00:00:00:01:00\t2437\t-30\t[ESS]\ta\n\
            02:00:00:00:01:00\tx\t-30\t[ESS]\tb\n\
            02:00:00:00:01:00\t2437\n\
            02:00:00:00:01:00\t2437\t-30\t[ESS]\tbad\\q\n\
            02:00:00:00:01:00\t2437\t-30\t[ESS]\ttrunc\\x4\n\
            02:00:00:00:01:00\t2437\t-30\t[ESS]\tok\n";
        let (r, bad) = parse_results(reply).expect("header");
        assert_eq!(bad, 5);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].ssid, b"ok");
    }

    #[test]
    fn unescaping() {
        assert_eq!(unescape("a\\\\b\\x00\\t").unwrap(), b"a\\b\x00\t");
        assert_eq!(unescape("\\"), None);
        assert_eq!(unescape("\\xg0"), None);
        assert_eq!(unescape("\\x\u{e9}"), None);
    }
}
