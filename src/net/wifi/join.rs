//! Joining one network through wpa_supplicant, sans-IO: [`Join`] says which request to send
//! next, takes each reply and every event, and ends connected or with one sentence for the
//! user ("wrong passphrase for Guest Net", "Guest Net is out of range").
//!
//! The network is configured from what the scan saw: WPA2/WPA3 transition networks get
//! `key_mgmt=WPA-PSK SAE` (wpa_supplicant then prefers SAE, the stronger), WPA3-only ones SAE
//! with protected management frames required, WPA2 ones PSK with PMF where offered.

use std::time::{Duration, Instant};

use super::conf::{Credential, NetworkConfig};
use super::ctrl::{expect_id, expect_ok, Event, NetworkSetting, ReplyError, Request};
use super::{Secret, Security};

/// How long a join may take from the first request to "connected".
/// (The timeout error says "30 s": keep them equal.)
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Scans that did not find the network before it counts as out of range.
const NOT_FOUND_LIMIT: u32 = 3;
/// Association or authentication rejections before giving up.
const REJECT_LIMIT: u32 = 3;

/// Why a join failed, as the user reads it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    #[error("wrong passphrase for {0}")]
    WrongPassphrase(String),
    #[error("{0} is out of range")]
    OutOfRange(String),
    #[error("{0} needs a passphrase: give it with kboot.wifi.psk= or in the Wi-Fi screen")]
    NeedsPassphrase(String),
    #[error("a WPA2 passphrase has 8 to 63 characters (the one for {0} does not)")]
    BadPassphrase(String),
    #[error("{0} uses WEP or enterprise (802.1X) security, which kboot cannot join")]
    Unsupported(String),
    #[error(
        "{ssid} refused kboot (IEEE 802.11 status {status}): check the network's security settings"
    )]
    Rejected { ssid: String, status: u16 },
    #[error("could not join {0} within 30 s")]
    Timeout(String),
    #[error(transparent)]
    Supplicant(#[from] ReplyError),
    #[error("wpa_supplicant stopped while joining {0}")]
    SupplicantGone(String),
}

/// Where a join stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinState {
    /// Sending the network's configuration.
    Configuring,
    /// Configured and selected: waiting for the supplicant's events.
    Connecting,
    Connected {
        bssid: String,
    },
    Failed(JoinError),
}

/// One join (see the module documentation).
#[derive(Debug)]
pub struct Join {
    ssid_text: String,
    requests: Vec<Request>,
    /// Index of the request whose reply is awaited, in `requests`; the network id comes from
    /// the reply to ADD_NETWORK (index 1) and is patched into the rest.
    next: usize,
    id: Option<u32>,
    state: JoinState,
    deadline: Instant,
    not_found: u32,
    rejects: u32,
    last_status: u16,
}

/// The configuration requests for `net`, as a scan saw it (`seen`: its security, `None` when
/// the scan did not see it, e.g. a hidden network). The id `u32::MAX` stands for the id
/// ADD_NETWORK will return.
fn plan(net: &NetworkConfig, seen: Option<Security>) -> Result<Vec<Request>, JoinError> {
    let ssid = net.ssid_text();
    const ID: u32 = u32::MAX;
    let set = |s| Request::SetNetwork(ID, s);
    let mut out = vec![
        Request::RemoveAllNetworks,
        Request::AddNetwork,
        set(NetworkSetting::Ssid(net.ssid.clone())),
    ];
    if net.hidden {
        out.push(set(NetworkSetting::ScanSsid));
    }
    let passphrase: Option<&Secret> = match &net.credential {
        Credential::Passphrase(p) => Some(p),
        _ => None,
    };
    let sae_password = net.sae_password.as_ref().or(passphrase);
    let psk_ok = passphrase.is_some_and(|p| (8..=63).contains(&p.expose().chars().count()))
        || matches!(net.credential, Credential::PskHex(_));
    let has_credential = net.credential != Credential::None || net.sae_password.is_some();
    // What to ask for: the config's key_mgmt when written, else what the scan saw.
    let security = match (&net.key_mgmt, seen) {
        (Some(k), _) => {
            let (psk, sae) = (k.contains("WPA-PSK"), k.contains("SAE"));
            match (psk, sae) {
                (true, true) => Security::Wpa2Wpa3,
                (false, true) => Security::Wpa3Sae,
                (true, false) => Security::Wpa2Psk,
                (false, false) if k.trim() == "NONE" => Security::Open,
                (false, false) => return Err(JoinError::Unsupported(ssid)),
            }
        }
        (None, Some(s)) => s,
        // Not seen (hidden, or not in range yet): whatever the credential allows.
        (None, None) if has_credential => Security::Wpa2Wpa3,
        (None, None) => Security::Open,
    };
    let pmf = |dflt: u8| set(NetworkSetting::Pmf(net.pmf.unwrap_or(dflt)));
    match security {
        Security::Unsupported => return Err(JoinError::Unsupported(ssid)),
        Security::Open => out.push(set(NetworkSetting::KeyMgmt("NONE"))),
        Security::Wpa2Psk => {
            if !has_credential {
                return Err(JoinError::NeedsPassphrase(ssid));
            }
            if !psk_ok {
                return Err(JoinError::BadPassphrase(ssid));
            }
            out.push(set(NetworkSetting::KeyMgmt("WPA-PSK")));
            out.push(psk_setting(&net.credential));
            out.push(pmf(1));
        }
        Security::Wpa3Sae => {
            let Some(p) = sae_password else {
                return Err(JoinError::NeedsPassphrase(ssid));
            };
            out.push(set(NetworkSetting::KeyMgmt("SAE")));
            out.push(set(NetworkSetting::SaePassword(p.clone())));
            out.push(pmf(2));
        }
        Security::Wpa2Wpa3 => {
            if !has_credential {
                return Err(JoinError::NeedsPassphrase(ssid));
            }
            match (psk_ok, sae_password) {
                (true, Some(p)) => {
                    out.push(set(NetworkSetting::KeyMgmt("WPA-PSK SAE")));
                    out.push(psk_setting(&net.credential));
                    out.push(set(NetworkSetting::SaePassword(p.clone())));
                }
                (true, None) => {
                    out.push(set(NetworkSetting::KeyMgmt("WPA-PSK")));
                    out.push(psk_setting(&net.credential));
                }
                // A passphrase too short or long for WPA2 still works for SAE.
                (false, Some(p)) => {
                    out.push(set(NetworkSetting::KeyMgmt("SAE")));
                    out.push(set(NetworkSetting::SaePassword(p.clone())));
                }
                (false, None) => return Err(JoinError::BadPassphrase(ssid)),
            }
            out.push(pmf(1));
        }
    }
    out.push(Request::SelectNetwork(ID));
    Ok(out)
}

fn psk_setting(c: &Credential) -> Request {
    let s = match c {
        Credential::PskHex(h) => NetworkSetting::PskHex(h.clone()),
        Credential::Passphrase(p) => NetworkSetting::Psk(p.clone()),
        Credential::None => NetworkSetting::Psk(Secret::default()),
    };
    Request::SetNetwork(u32::MAX, s)
}

impl Join {
    /// Start joining `net`; `seen` is its security as the last scan saw it.
    pub fn new(net: &NetworkConfig, seen: Option<Security>, now: Instant) -> Join {
        let ssid_text = net.ssid_text();
        let (requests, state) = match plan(net, seen) {
            Ok(r) => (r, JoinState::Configuring),
            Err(e) => (Vec::new(), JoinState::Failed(e)),
        };
        Join {
            ssid_text,
            requests,
            next: 0,
            id: None,
            state,
            deadline: now + JOIN_TIMEOUT,
            not_found: 0,
            rejects: 0,
            last_status: 0,
        }
    }

    pub fn state(&self) -> &JoinState {
        &self.state
    }

    /// The request to send now (then wait for its reply), if any.
    pub fn request(&self) -> Option<Request> {
        if self.state != JoinState::Configuring {
            return None;
        }
        let r = self.requests.get(self.next)?.clone();
        let id = self.id.unwrap_or(0);
        Some(match r {
            Request::SetNetwork(u32::MAX, s) => Request::SetNetwork(id, s),
            Request::SelectNetwork(u32::MAX) => Request::SelectNetwork(id),
            other => other,
        })
    }

    /// The reply to [`Join::request`]'s request.
    pub fn on_reply(&mut self, reply: &str) {
        let Some(req) = self.request() else {
            return;
        };
        let result = match req {
            Request::AddNetwork => expect_id(&req, reply).map(|id| self.id = Some(id)),
            _ => expect_ok(&req, reply),
        };
        match result {
            Ok(()) => {
                self.next += 1;
                if self.next >= self.requests.len() {
                    self.state = JoinState::Connecting;
                }
            }
            Err(e) => self.state = JoinState::Failed(e.into()),
        }
    }

    /// An event from the supplicant.
    pub fn on_event(&mut self, ev: &Event) {
        if matches!(
            self.state,
            JoinState::Failed(_) | JoinState::Connected { .. }
        ) {
            return;
        }
        let ssid = self.ssid_text.clone();
        match ev {
            Event::Connected { bssid } if self.state == JoinState::Connecting => {
                self.state = JoinState::Connected {
                    bssid: bssid.clone(),
                }
            }
            Event::TempDisabled { reason, .. } if reason == "WRONG_KEY" => {
                self.state = JoinState::Failed(JoinError::WrongPassphrase(ssid))
            }
            Event::NetworkNotFound => {
                self.not_found += 1;
                if self.not_found >= NOT_FOUND_LIMIT {
                    self.state = JoinState::Failed(JoinError::OutOfRange(ssid));
                }
            }
            Event::AssocReject { status } | Event::AuthReject { status } => {
                self.rejects += 1;
                self.last_status = *status;
                if self.rejects >= REJECT_LIMIT {
                    self.state = JoinState::Failed(JoinError::Rejected {
                        ssid,
                        status: self.last_status,
                    });
                }
            }
            // SAE with a wrong password: its authentication fails and the network is disabled
            // for a while (wpa_supplicant 2.10 says AUTH_FAILED there).
            Event::TempDisabled { reason, .. } if reason == "AUTH_FAILED" => {
                self.state = JoinState::Failed(JoinError::WrongPassphrase(ssid))
            }
            Event::Terminating => self.state = JoinState::Failed(JoinError::SupplicantGone(ssid)),
            _ => {}
        }
    }

    /// Time passes: a join that takes too long fails (out of range when the network was never
    /// seen, else a timeout).
    pub fn on_tick(&mut self, now: Instant) {
        if matches!(
            self.state,
            JoinState::Failed(_) | JoinState::Connected { .. }
        ) {
            return;
        }
        if now >= self.deadline {
            let ssid = self.ssid_text.clone();
            self.state = JoinState::Failed(if self.not_found > 0 {
                JoinError::OutOfRange(ssid)
            } else {
                JoinError::Timeout(ssid)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(ssid: &str, pass: Option<&str>) -> NetworkConfig {
        NetworkConfig {
            ssid: ssid.as_bytes().to_vec(),
            credential: pass.map_or(Credential::None, |p| Credential::Passphrase(Secret::new(p))),
            ..Default::default()
        }
    }

    /// Run the configuration with "OK" replies (id 4 for ADD_NETWORK); the requests sent.
    fn configure(j: &mut Join) -> Vec<String> {
        let mut sent = Vec::new();
        while let Some(r) = j.request() {
            sent.push(String::from_utf8(r.encode()).unwrap());
            j.on_reply(if r == Request::AddNetwork {
                "4\n"
            } else {
                "OK\n"
            });
        }
        sent
    }

    #[test]
    fn wpa2_network_configured_and_connected() {
        let now = Instant::now();
        let mut j = Join::new(
            &net("home", Some("password1")),
            Some(Security::Wpa2Psk),
            now,
        );
        assert_eq!(
            configure(&mut j),
            [
                "REMOVE_NETWORK all",
                "ADD_NETWORK",
                "SET_NETWORK 4 ssid 686f6d65",
                "SET_NETWORK 4 key_mgmt WPA-PSK",
                "SET_NETWORK 4 psk \"password1\"",
                "SET_NETWORK 4 ieee80211w 1",
                "SELECT_NETWORK 4",
            ]
        );
        assert_eq!(j.state(), &JoinState::Connecting);
        j.on_event(&Event::ScanResults);
        j.on_event(&Event::Connected {
            bssid: "02:00:00:00:01:00".into(),
        });
        assert_eq!(
            j.state(),
            &JoinState::Connected {
                bssid: "02:00:00:00:01:00".into()
            }
        );
    }

    #[test]
    fn transition_networks_offer_both_and_wpa3_requires_pmf() {
        let now = Instant::now();
        let mut j = Join::new(&net("t", Some("password1")), Some(Security::Wpa2Wpa3), now);
        let sent = configure(&mut j);
        assert!(sent.contains(&"SET_NETWORK 4 key_mgmt WPA-PSK SAE".to_string()));
        assert!(sent.contains(&"SET_NETWORK 4 sae_password \"password1\"".to_string()));
        let mut j = Join::new(&net("w3", Some("pw")), Some(Security::Wpa3Sae), now);
        let sent = configure(&mut j);
        assert!(sent.contains(&"SET_NETWORK 4 key_mgmt SAE".to_string()));
        assert!(sent.contains(&"SET_NETWORK 4 ieee80211w 2".to_string()));
        assert!(!sent.iter().any(|s| s.contains(" psk ")));
        // Open, and hidden: probed by name.
        let mut hidden = net("h", None);
        hidden.hidden = true;
        let sent = configure(&mut Join::new(&hidden, None, now));
        assert!(sent.contains(&"SET_NETWORK 4 scan_ssid 1".to_string()));
        assert!(sent.contains(&"SET_NETWORK 4 key_mgmt NONE".to_string()));
    }

    #[test]
    fn failures_read_as_one_sentence() {
        let now = Instant::now();
        let fail = |n: NetworkConfig, seen| match Join::new(&n, seen, now).state() {
            JoinState::Failed(e) => e.to_string(),
            s => panic!("{s:?}"),
        };
        assert_eq!(
            fail(net("Guest Net", None), Some(Security::Wpa2Psk)),
            "Guest Net needs a passphrase: give it with kboot.wifi.psk= or in the Wi-Fi screen"
        );
        assert!(fail(net("g", Some("short")), Some(Security::Wpa2Psk)).contains("8 to 63"));
        assert!(fail(net("corp", Some("x")), Some(Security::Unsupported)).contains("enterprise"));

        let mut j = Join::new(
            &net("Guest Net", Some("password1")),
            Some(Security::Wpa2Psk),
            now,
        );
        configure(&mut j);
        j.on_event(&Event::Disconnected {
            bssid: String::new(),
            reason: 15,
        });
        j.on_event(&Event::TempDisabled {
            ssid: b"Guest Net".to_vec(),
            reason: "WRONG_KEY".into(),
        });
        assert_eq!(
            j.state(),
            &JoinState::Failed(JoinError::WrongPassphrase("Guest Net".into()))
        );
        assert_eq!(
            format!("{}", JoinError::WrongPassphrase("Guest Net".into())),
            "wrong passphrase for Guest Net"
        );

        let mut j = Join::new(&net("Guest Net", Some("password1")), None, now);
        configure(&mut j);
        for _ in 0..3 {
            j.on_event(&Event::NetworkNotFound);
        }
        assert_eq!(
            j.state(),
            &JoinState::Failed(JoinError::OutOfRange("Guest Net".into()))
        );
        assert_eq!(
            JoinError::OutOfRange("Guest Net".into()).to_string(),
            "Guest Net is out of range"
        );

        let mut j = Join::new(&net("x", Some("password1")), None, now);
        configure(&mut j);
        j.on_tick(now + JOIN_TIMEOUT);
        assert!(matches!(
            j.state(),
            JoinState::Failed(JoinError::Timeout(_))
        ));
    }

    #[test]
    fn refused_and_garbled_replies_end_the_join() {
        let now = Instant::now();
        let mut j = Join::new(&net("x", Some("password1")), Some(Security::Wpa2Psk), now);
        j.on_reply("OK\n");
        j.on_reply("FAIL\n");
        let JoinState::Failed(e) = j.state() else {
            panic!("{:?}", j.state())
        };
        assert!(e.to_string().contains("refused 'ADD_NETWORK'"), "{e}");
        let mut j = Join::new(&net("x", Some("password1")), Some(Security::Wpa2Psk), now);
        j.on_reply("OK");
        j.on_reply("4");
        j.on_reply("OK");
        j.on_reply("OK");
        j.on_reply("\u{0}garbage");
        let JoinState::Failed(e) = j.state() else {
            panic!("{:?}", j.state())
        };
        // The request in the error is redacted.
        assert!(e.to_string().contains("psk \"***\""), "{e}");
        // Events before configuration ends do not connect it.
        let mut j = Join::new(&net("x", Some("password1")), Some(Security::Wpa2Psk), now);
        j.on_event(&Event::Connected { bssid: "b".into() });
        assert_eq!(j.state(), &JoinState::Configuring);
    }
}
