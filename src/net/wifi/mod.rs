//! Wi-Fi: kboot drives wpa_supplicant (the supplicant every Linux system uses; no maintained
//! Rust one exists) over its control socket, and reads the networks to join from
//! `kboot.wifi.*` on its command line or from a `wpa_supplicant.conf`-syntax `wifi.conf`.
//!
//! Everything here is sans-IO: [`ctrl`] encodes requests and parses replies and events,
//! [`scan`] reads scan results, [`conf`] reads wifi.conf, [`join`] is the state machine that
//! joins one network and turns the supplicant's events into one sentence for the user.

pub mod bringup;
pub mod client;
pub mod conf;
pub mod ctrl;
pub mod device;
pub mod join;
pub mod scan;

use std::fmt;

/// A passphrase or password: never printed. `Debug` and `Display` show `***`; the text is
/// reached only through [`Secret::expose`], where it is handed to the supplicant.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The secret itself: only for the request that gives it to wpa_supplicant.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::cmdline::secrets::MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::cmdline::secrets::MASK)
    }
}

/// How a network protects itself, strongest last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Security {
    /// No protection (or OWE's opportunistic encryption, which needs no credentials either).
    Open,
    /// WPA2 personal (PSK).
    Wpa2Psk,
    /// WPA2/WPA3 transition: PSK and SAE both offered; kboot uses SAE when it can.
    Wpa2Wpa3,
    /// WPA3 personal (SAE).
    Wpa3Sae,
    /// WEP or enterprise (802.1X/EAP): kboot cannot join these.
    Unsupported,
}

impl Security {
    /// Whether joining needs a passphrase.
    pub fn needs_passphrase(self) -> bool {
        matches!(
            self,
            Security::Wpa2Psk | Security::Wpa2Wpa3 | Security::Wpa3Sae
        )
    }

    /// As the picker shows it.
    pub fn label(self) -> &'static str {
        match self {
            Security::Open => "open",
            Security::Wpa2Psk => "WPA2",
            Security::Wpa2Wpa3 => "WPA2/WPA3",
            Security::Wpa3Sae => "WPA3",
            Security::Unsupported => "not supported",
        }
    }
}

/// The band of a channel, from its centre frequency in MHz.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Band {
    Ghz2_4,
    Ghz5,
    Ghz6,
    Other,
}

impl Band {
    pub fn from_mhz(freq: u32) -> Band {
        match freq {
            2400..=2500 => Band::Ghz2_4,
            5150..=5925 if freq < 5955 => Band::Ghz5,
            5955..=7125 => Band::Ghz6,
            _ => Band::Other,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Band::Ghz2_4 => "2.4 GHz",
            Band::Ghz5 => "5 GHz",
            Band::Ghz6 => "6 GHz",
            Band::Other => "?",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter22");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        assert_eq!(s.expose(), "hunter22");
    }

    #[test]
    fn bands() {
        assert_eq!(Band::from_mhz(2437), Band::Ghz2_4);
        assert_eq!(Band::from_mhz(5180), Band::Ghz5);
        assert_eq!(Band::from_mhz(5975), Band::Ghz6);
        assert_eq!(Band::from_mhz(0), Band::Other);
    }
}
