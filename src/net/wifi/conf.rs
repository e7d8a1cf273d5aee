//! `wifi.conf`: the networks kboot may join, in wpa_supplicant.conf syntax, so a file written
//! for (or by) wpa_supplicant works as it is:
//!
//! ```text
//! country=DE
//! network={
//!     ssid="Guest Net"
//!     psk="correct horse battery staple"
//!     scan_ssid=1          # hidden: probe for it by name
//!     priority=5
//! }
//! ```
//!
//! kboot reads the keys it needs (`ssid`, `psk`, `sae_password`, `key_mgmt`, `scan_ssid`,
//! `priority`, `disabled`, `ieee80211w`); other keys are kept out with one warning each.

use super::scan::unescape;
use super::Secret;

/// How kboot proves it may join.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Credential {
    /// An open network.
    #[default]
    None,
    /// A passphrase: WPA2's PSK (8 to 63 characters) and/or WPA3's SAE password.
    Passphrase(Secret),
    /// WPA2's pre-shared key as 64 hex digits (what `wpa_passphrase` prints).
    PskHex(Secret),
}

/// One network to join.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkConfig {
    pub ssid: Vec<u8>,
    pub credential: Credential,
    /// `sae_password` when it differs from the PSK passphrase.
    pub sae_password: Option<Secret>,
    /// `key_mgmt` as written (`WPA-PSK`, `SAE`, `NONE`, ...); `None`: chosen from the scan.
    pub key_mgmt: Option<String>,
    /// Probe for it by name: its beacons do not carry the SSID.
    pub hidden: bool,
    /// Higher first.
    pub priority: i32,
    /// `ieee80211w` as written.
    pub pmf: Option<u8>,
}

impl NetworkConfig {
    /// The SSID as text for the screen.
    pub fn ssid_text(&self) -> String {
        String::from_utf8_lossy(&self.ssid).into_owned()
    }
}

/// What a wifi.conf says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WifiConf {
    /// In file order, `disabled=1` ones left out.
    pub networks: Vec<NetworkConfig>,
    /// `country=`: the regulatory domain (ISO 3166 alpha-2).
    pub country: Option<String>,
    /// "line N: ..." for what was not understood.
    pub warnings: Vec<String>,
}

/// Largest wifi.conf read.
pub const MAX_LEN: usize = 64 * 1024;

/// Parse a wifi.conf. Never fails: what is not understood becomes a warning.
pub fn parse(text: &str) -> WifiConf {
    let mut out = WifiConf::default();
    if text.len() > MAX_LEN {
        out.warnings
            .push(format!("larger than {MAX_LEN} bytes: not read"));
        return out;
    }
    let mut current: Option<(usize, NetworkConfig, bool)> = None;
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        if let Some((start, net, disabled)) = current.as_mut() {
            if line == "}" {
                let (start, net, disabled) = (*start, std::mem::take(net), *disabled);
                current = None;
                if net.ssid.is_empty() {
                    out.warnings
                        .push(format!("line {start}: a network without ssid is left out"));
                } else if !disabled {
                    out.networks.push(net);
                }
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                out.warnings.push(format!(
                    "line {line_no}: expected key=value, got '{}'",
                    short(line)
                ));
                continue;
            };
            if let Err(e) = network_key(net, disabled, key.trim(), value.trim()) {
                out.warnings.push(format!("line {line_no}: {e}"));
            }
            continue;
        }
        match line.split_once('=') {
            Some((k, v)) if k.trim() == "network" && v.trim() == "{" => {
                current = Some((line_no, NetworkConfig::default(), false));
            }
            Some((k, v)) if k.trim() == "country" => {
                let v = v.trim().trim_matches('"');
                if v.len() == 2 && v.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    out.country = Some(v.to_ascii_uppercase());
                } else {
                    out.warnings.push(format!(
                        "line {line_no}: country '{}' is no country code",
                        short(v)
                    ));
                }
            }
            // Settings of the supplicant itself: kboot runs it its own way.
            Some((k, _)) if GLOBAL_IGNORED.contains(&k.trim()) => {}
            _ => out.warnings.push(format!(
                "line {line_no}: '{}' is not understood",
                short(line)
            )),
        }
    }
    if let Some((start, _, _)) = current {
        out.warnings.push(format!(
            "line {start}: network block without its closing '}}'"
        ));
    }
    out
}

const GLOBAL_IGNORED: &[&str] = &[
    "ctrl_interface",
    "ctrl_interface_group",
    "update_config",
    "ap_scan",
    "fast_reauth",
    "p2p_disabled",
    "pmf",
    "sae_pwe",
];

fn network_key(
    net: &mut NetworkConfig,
    disabled: &mut bool,
    key: &str,
    value: &str,
) -> Result<(), String> {
    match key {
        "ssid" => net.ssid = string_or_hex(value).ok_or("ssid is neither \"text\" nor hex")?,
        "psk" => {
            net.credential = if let Some(text) = quoted(value) {
                let text = String::from_utf8(text).map_err(|_| "psk is not text")?;
                Credential::Passphrase(Secret::new(text))
            } else if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
                Credential::PskHex(Secret::new(value))
            } else {
                return Err("psk is neither \"passphrase\" nor 64 hex digits".into());
            }
        }
        "sae_password" => {
            let text = quoted(value)
                .and_then(|t| String::from_utf8(t).ok())
                .ok_or("sae_password must be \"quoted\" text")?;
            net.sae_password = Some(Secret::new(text));
        }
        "key_mgmt" => net.key_mgmt = Some(value.to_string()),
        "scan_ssid" => net.hidden = value == "1",
        "priority" => net.priority = value.parse().map_err(|_| "priority is no number")?,
        "disabled" => *disabled = value == "1",
        "ieee80211w" => {
            net.pmf = Some(
                value
                    .parse()
                    .ok()
                    .filter(|n| *n <= 2)
                    .ok_or("ieee80211w is 0, 1 or 2")?,
            )
        }
        "bssid" | "id_str" | "proto" | "pairwise" | "group" | "freq_list" | "mode" => {}
        _ => return Err(format!("network key '{}' is not understood", short(key))),
    }
    Ok(())
}

/// `"text"` (escapes as wpa_supplicant prints them), or hex digits.
fn string_or_hex(v: &str) -> Option<Vec<u8>> {
    quoted(v).or_else(|| {
        if v.is_empty() || !v.len().is_multiple_of(2) {
            return None;
        }
        (0..v.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(v.get(i..i + 2)?, 16).ok())
            .collect()
    })
}

/// The text between the first and the last double quote, as wpa_supplicant reads it (the
/// text itself may hold quotes).
fn quoted(v: &str) -> Option<Vec<u8>> {
    let inner = v.strip_prefix('"')?.strip_suffix('"')?;
    Some(inner.as_bytes().to_vec()).filter(|_| v.len() >= 2)
}

/// The line without a `#` comment outside double quotes.
fn strip_comment(line: &str) -> &str {
    let mut in_quotes = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            '#' if !in_quotes => return &line[..i],
            _ => {}
        }
    }
    line
}

fn short(s: &str) -> String {
    s.chars().take(40).collect()
}

/// The SSID written on kboot's command line (`kboot.wifi.ssid=`): text as it is, with
/// `\xNN` escapes for bytes a command line cannot carry.
pub fn ssid_from_cmdline(v: &str) -> Vec<u8> {
    unescape(v).unwrap_or_else(|| v.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wpa_supplicant_conf_as_people_write_it() {
        let c = parse(
            "ctrl_interface=DIR=/var/run/wpa_supplicant GROUP=netdev\n\
             update_config=1\n\
             country=de\n\
             \n\
             # home\n\
             network={\n\
             \tssid=\"Guest Net\"\n\
             \tpsk=\"pass # not a comment\"  # a comment\n\
             \tpriority=5\n\
             }\n\
             network={\n\
             \tssid=6b626f6f74\n\
             \tkey_mgmt=NONE\n\
             \tscan_ssid=1\n\
             }\n\
             network={\n\
             \tssid=\"wpa3\"\n\
             \tsae_password=\"s\"\n\
             \tkey_mgmt=SAE\n\
             \tieee80211w=2\n\
             }\n\
             network={\n\
             \tssid=\"hexpsk\"\n\
             \tpsk=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n\
             }\n\
             network={\n\
             \tssid=\"off\"\n\
             \tdisabled=1\n\
             }\n",
        );
        assert_eq!(c.warnings, Vec::<String>::new());
        assert_eq!(c.country.as_deref(), Some("DE"));
        assert_eq!(c.networks.len(), 4);
        let n = &c.networks[0];
        assert_eq!(n.ssid_text(), "Guest Net");
        assert_eq!(
            n.credential,
            Credential::Passphrase(Secret::new("pass # not a comment"))
        );
        assert_eq!(n.priority, 5);
        assert_eq!(c.networks[1].ssid, b"kboot");
        assert!(c.networks[1].hidden);
        assert_eq!(c.networks[1].key_mgmt.as_deref(), Some("NONE"));
        assert_eq!(c.networks[2].sae_password, Some(Secret::new("s")));
        assert_eq!(c.networks[2].pmf, Some(2));
        assert!(matches!(c.networks[3].credential, Credential::PskHex(_)));
        // The passphrase never shows in a debug print.
        assert!(!format!("{c:?}").contains("not a comment"));
    }

    #[test]
    fn malformed_files_give_warnings_not_failures() {
        let c = parse(
            "network={\n\tpsk=\"only a key\"\n}\n\
             network={\n\tssid=abc\n\tpsk=short\n\tpriority=high\n\tfrobnicate=1\n\tnonsense\n}\n\
             country=Germany\n\
             what is this\n\
             network={\n\tssid=\"unterminated\"\n",
        );
        assert!(c.networks.is_empty(), "{:?}", c.networks);
        let w = c.warnings.join("\n");
        for needle in [
            "line 1: a network without ssid is left out",
            "line 5: ssid is neither",
            "line 6: psk is neither",
            "line 7: priority is no number",
            "line 8: network key 'frobnicate' is not understood",
            "line 9: expected key=value",
            "line 4: a network without ssid is left out",
            "line 11: country 'Germany' is no country code",
            "line 12: 'what is this' is not understood",
            "line 13: network block without its closing '}'",
        ] {
            assert!(w.contains(needle), "missing {needle:?} in:\n{w}");
        }
        for junk in [
            "\"",
            "network={\n\"",
            "ssid=\"",
            "network={\nssid=\"\n}",
            "=\n=",
            "#\"#",
        ] {
            let _ = parse(junk);
        }
        assert_eq!(parse(&"x".repeat(MAX_LEN + 1)).warnings.len(), 1);
    }

    #[test]
    fn ssid_on_the_command_line() {
        assert_eq!(ssid_from_cmdline("Guest Net"), b"Guest Net");
        assert_eq!(ssid_from_cmdline("caf\\xc3\\xa9"), "café".as_bytes());
        assert_eq!(ssid_from_cmdline("a\\qb"), b"a\\qb");
    }
}
