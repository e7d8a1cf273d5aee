//! wpa_supplicant's control interface, sans-IO: the requests kboot sends (one datagram each,
//! on the unix socket `/run/wpa_supplicant/<iface>`), their replies, and the unsolicited events
//! (`<3>CTRL-EVENT-CONNECTED ...`) an attached client receives.
//!
//! Written here rather than taken from a crate: the wpa-ctrl crates are thin blocking socket
//! wrappers that leave the protocol (quoting, replies, events) to the caller, which is the part
//! worth testing; the socket itself is a few lines of std (`UnixDatagram`).

use super::Secret;

/// A request to wpa_supplicant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Receive events on this socket.
    Attach,
    Ping,
    Scan,
    ScanResults,
    Status,
    AddNetwork,
    RemoveAllNetworks,
    SetNetwork(u32, NetworkSetting),
    SelectNetwork(u32),
    Disconnect,
}

/// One `SET_NETWORK` variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkSetting {
    /// Sent as hex, so any bytes (quotes, spaces, non-UTF-8) pass unchanged.
    Ssid(Vec<u8>),
    /// `scan_ssid=1`: probe for it by name (a hidden network).
    ScanSsid,
    /// `key_mgmt`: `NONE`, `WPA-PSK`, `SAE`, `WPA-PSK SAE`.
    KeyMgmt(&'static str),
    /// WPA2 passphrase (8 to 63 printable ASCII characters), sent quoted.
    Psk(Secret),
    /// WPA2 pre-shared key as 64 hex digits, sent as it is.
    PskHex(Secret),
    /// SAE (WPA3) password, sent quoted.
    SaePassword(Secret),
    /// `ieee80211w`: 0 off, 1 optional, 2 required (protected management frames).
    Pmf(u8),
}

impl Request {
    /// The datagram.
    pub fn encode(&self) -> Vec<u8> {
        self.text(false).into_bytes()
    }

    /// The request as the log may show it: secrets replaced by `***`.
    pub fn redacted(&self) -> String {
        self.text(true)
    }

    fn text(&self, redact: bool) -> String {
        match self {
            Request::Attach => "ATTACH".into(),
            Request::Ping => "PING".into(),
            Request::Scan => "SCAN".into(),
            Request::ScanResults => "SCAN_RESULTS".into(),
            Request::Status => "STATUS".into(),
            Request::AddNetwork => "ADD_NETWORK".into(),
            Request::RemoveAllNetworks => "REMOVE_NETWORK all".into(),
            Request::SelectNetwork(id) => format!("SELECT_NETWORK {id}"),
            Request::Disconnect => "DISCONNECT".into(),
            Request::SetNetwork(id, s) => {
                let secret = |s: &Secret, quoted: bool| -> String {
                    let text = if redact {
                        crate::cmdline::secrets::MASK
                    } else {
                        s.expose()
                    };
                    if quoted {
                        format!("\"{text}\"")
                    } else {
                        text.to_string()
                    }
                };
                let (name, value) = match s {
                    NetworkSetting::Ssid(b) => ("ssid", hex(b)),
                    NetworkSetting::ScanSsid => ("scan_ssid", "1".into()),
                    NetworkSetting::KeyMgmt(k) => ("key_mgmt", (*k).into()),
                    NetworkSetting::Psk(p) => ("psk", secret(p, true)),
                    NetworkSetting::PskHex(p) => ("psk", secret(p, false)),
                    NetworkSetting::SaePassword(p) => ("sae_password", secret(p, true)),
                    NetworkSetting::Pmf(n) => ("ieee80211w", n.to_string()),
                };
                format!("SET_NETWORK {id} {name} {value}")
            }
        }
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A reply that says no.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("wpa_supplicant refused '{request}' ({reply})")]
    Refused { request: String, reply: String },
    #[error("wpa_supplicant answered '{request}' with something kboot cannot read: {reply:?}")]
    Unexpected { request: String, reply: String },
}

fn first_line(reply: &str) -> &str {
    reply.lines().next().unwrap_or("").trim()
}

/// `OK`, or why not.
pub fn expect_ok(request: &Request, reply: &str) -> Result<(), ReplyError> {
    match first_line(reply) {
        "OK" => Ok(()),
        r if r.starts_with("FAIL") || r == "UNKNOWN COMMAND" => Err(ReplyError::Refused {
            request: request.redacted(),
            reply: r.to_string(),
        }),
        r => Err(ReplyError::Unexpected {
            request: request.redacted(),
            reply: r.chars().take(80).collect(),
        }),
    }
}

/// The network id `ADD_NETWORK` answers.
pub fn expect_id(request: &Request, reply: &str) -> Result<u32, ReplyError> {
    let r = first_line(reply);
    r.parse().map_err(|_| {
        if r.starts_with("FAIL") {
            ReplyError::Refused {
                request: request.redacted(),
                reply: r.to_string(),
            }
        } else {
            ReplyError::Unexpected {
                request: request.redacted(),
                reply: r.chars().take(80).collect(),
            }
        }
    })
}

/// What `STATUS` says (the fields kboot uses).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// `COMPLETED` once associated and keys are set; `SCANNING`, `ASSOCIATING`, `DISCONNECTED`...
    pub wpa_state: String,
    pub bssid: Option<String>,
    pub ssid: Option<Vec<u8>>,
    pub freq: Option<u32>,
    pub key_mgmt: Option<String>,
}

/// Parse a `STATUS` reply (`key=value` lines; unknown keys ignored).
pub fn parse_status(reply: &str) -> Status {
    let mut s = Status::default();
    for (k, v) in reply.lines().filter_map(|l| l.split_once('=')) {
        match k {
            "wpa_state" => s.wpa_state = v.to_string(),
            "bssid" => s.bssid = Some(v.to_string()),
            "ssid" => s.ssid = super::scan::unescape(v),
            "freq" => s.freq = v.parse().ok(),
            "key_mgmt" => s.key_mgmt = Some(v.to_string()),
            _ => {}
        }
    }
    s
}

/// An unsolicited message from the supplicant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    ScanStarted,
    ScanResults,
    ScanFailed,
    /// Associated and keys set: `CTRL-EVENT-CONNECTED - Connection to <bssid> completed`.
    Connected {
        bssid: String,
    },
    Disconnected {
        bssid: String,
        reason: u16,
    },
    /// The network was disabled for a while after failures; `reason` is e.g. `WRONG_KEY`,
    /// `AUTH_FAILED`, `CONN_FAILED`.
    TempDisabled {
        ssid: Vec<u8>,
        reason: String,
    },
    /// A scan found none of the enabled networks.
    NetworkNotFound,
    AssocReject {
        status: u16,
    },
    AuthReject {
        status: u16,
    },
    /// The supplicant is going away.
    Terminating,
    /// Anything else (kept for the log).
    Other(String),
}

/// Whether a datagram from the supplicant is an event rather than a reply: `<N>...`.
pub fn is_event(msg: &str) -> bool {
    let b = msg.as_bytes();
    b.first() == Some(&b'<')
        && b.iter().skip(1).take_while(|c| c.is_ascii_digit()).count() >= 1
        && msg[1..]
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .starts_with('>')
}

/// Parse an event datagram (`<3>CTRL-EVENT-...`); `None` when it is no event.
pub fn parse_event(msg: &str) -> Option<Event> {
    if !is_event(msg) {
        return None;
    }
    let body = msg.split_once('>')?.1.trim_end();
    let (name, rest) = body.split_once(' ').unwrap_or((body, ""));
    let num = |key: &str| {
        param(rest, key)
            .and_then(|v| v.parse::<u16>().ok())
            .unwrap_or(0)
    };
    Some(match name {
        "CTRL-EVENT-SCAN-STARTED" => Event::ScanStarted,
        "CTRL-EVENT-SCAN-RESULTS" => Event::ScanResults,
        "CTRL-EVENT-SCAN-FAILED" => Event::ScanFailed,
        "CTRL-EVENT-CONNECTED" => {
            // "- Connection to 02:00:00:00:01:00 completed [id=0 id_str=]"
            let bssid = rest
                .split_whitespace()
                .find(|w| w.len() == 17 && w.matches(':').count() == 5)
                .unwrap_or("")
                .to_string();
            Event::Connected { bssid }
        }
        "CTRL-EVENT-DISCONNECTED" => Event::Disconnected {
            bssid: param(rest, "bssid").unwrap_or_default(),
            reason: num("reason"),
        },
        "CTRL-EVENT-SSID-TEMP-DISABLED" => Event::TempDisabled {
            ssid: param(rest, "ssid")
                .and_then(|s| super::scan::unescape(&s))
                .unwrap_or_default(),
            reason: param(rest, "reason").unwrap_or_default(),
        },
        "CTRL-EVENT-NETWORK-NOT-FOUND" => Event::NetworkNotFound,
        "CTRL-EVENT-ASSOC-REJECT" => Event::AssocReject {
            status: num("status_code"),
        },
        "CTRL-EVENT-AUTH-REJECT" => Event::AuthReject {
            status: num("status_code"),
        },
        "CTRL-EVENT-TERMINATING" => Event::Terminating,
        _ => Event::Other(body.chars().take(200).collect()),
    })
}

/// The value of `key=` in an event's parameters; a `"quoted"` value may hold spaces.
fn param(rest: &str, key: &str) -> Option<String> {
    let mut search = rest;
    loop {
        let at = search.find(&format!("{key}="))?;
        let before_ok = at == 0 || search.as_bytes()[at - 1] == b' ';
        let value = &search[at + key.len() + 1..];
        if !before_ok {
            search = value;
            continue;
        }
        if let Some(q) = value.strip_prefix('"') {
            // The SSID is printf-escaped: an escaped quote is `\"`.
            let mut end = None;
            let b = q.as_bytes();
            let mut i = 0;
            while i < b.len() {
                match b[i] {
                    b'\\' => i += 2,
                    b'"' => {
                        end = Some(i);
                        break;
                    }
                    _ => i += 1,
                }
            }
            return Some(q[..end.unwrap_or(q.len()).min(q.len())].to_string());
        }
        return Some(value.split(' ').next().unwrap_or("").to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_encode_and_secrets_stay_out_of_the_log() {
        let psk = Request::SetNetwork(0, NetworkSetting::Psk(Secret::new("pass word\"1")));
        assert_eq!(psk.encode(), b"SET_NETWORK 0 psk \"pass word\"1\"");
        assert_eq!(psk.redacted(), "SET_NETWORK 0 psk \"***\"");
        let ssid = Request::SetNetwork(3, NetworkSetting::Ssid(b"Guest \"Net\"".to_vec()));
        assert_eq!(
            ssid.encode(),
            b"SET_NETWORK 3 ssid 477565737420224e657422".to_vec()
        );
        let sae = Request::SetNetwork(1, NetworkSetting::SaePassword(Secret::new("s")));
        assert!(!sae.redacted().contains("\"s\""));
        assert_eq!(
            Request::SetNetwork(1, NetworkSetting::KeyMgmt("WPA-PSK SAE")).encode(),
            b"SET_NETWORK 1 key_mgmt WPA-PSK SAE"
        );
        assert_eq!(Request::RemoveAllNetworks.encode(), b"REMOVE_NETWORK all");
        assert_eq!(Request::SelectNetwork(2).encode(), b"SELECT_NETWORK 2");
    }

    #[test]
    fn replies() {
        let r = Request::Scan;
        assert_eq!(expect_ok(&r, "OK\n"), Ok(()));
        assert!(matches!(
            expect_ok(&r, "FAIL-BUSY\n"),
            Err(ReplyError::Refused { .. })
        ));
        assert!(matches!(
            expect_ok(&r, "UNKNOWN COMMAND\n"),
            Err(ReplyError::Refused { .. })
        ));
        assert!(matches!(
            expect_ok(&r, ""),
            Err(ReplyError::Unexpected { .. })
        ));
        assert_eq!(expect_id(&Request::AddNetwork, "7\n"), Ok(7));
        assert!(expect_id(&Request::AddNetwork, "FAIL\n").is_err());
        assert!(expect_id(&Request::AddNetwork, "-1\n").is_err());
        assert!(expect_id(&Request::AddNetwork, "99999999999\n").is_err());
        let e = expect_ok(
            &Request::SetNetwork(0, NetworkSetting::Psk(Secret::new("secret123"))),
            "FAIL\n",
        )
        .unwrap_err()
        .to_string();
        assert!(!e.contains("secret123"), "{e}");
    }

    #[test]
    fn status() {
        let s = parse_status(
            "bssid=02:00:00:00:01:00\nfreq=2437\nssid=Guest Net\nid=0\nmode=station\n\
             pairwise_cipher=CCMP\nkey_mgmt=SAE\nwpa_state=COMPLETED\naddress=02:00:00:00:00:00\n",
        );
        assert_eq!(s.wpa_state, "COMPLETED");
        assert_eq!(s.ssid.as_deref(), Some(&b"Guest Net"[..]));
        assert_eq!(s.freq, Some(2437));
        assert_eq!(s.key_mgmt.as_deref(), Some("SAE"));
        assert_eq!(parse_status("garbage\n\n=\n"), Status::default());
    }

    #[test]
    fn events() {
        assert_eq!(
            parse_event("<3>CTRL-EVENT-CONNECTED - Connection to 02:00:00:00:01:00 completed [id=0 id_str=]"),
            Some(Event::Connected {
                bssid: "02:00:00:00:01:00".into()
            })
        );
        assert_eq!(
            parse_event("<3>CTRL-EVENT-SSID-TEMP-DISABLED id=0 ssid=\"Guest \\\"Net\\\" x\" auth_failures=1 duration=10 reason=WRONG_KEY"),
            Some(Event::TempDisabled {
                ssid: b"Guest \"Net\" x".to_vec(),
                reason: "WRONG_KEY".into()
            })
        );
        assert_eq!(
            parse_event(
                "<3>CTRL-EVENT-DISCONNECTED bssid=02:00:00:00:01:00 reason=3 locally_generated=1"
            ),
            Some(Event::Disconnected {
                bssid: "02:00:00:00:01:00".into(),
                reason: 3
            })
        );
        assert_eq!(
            parse_event("<3>CTRL-EVENT-ASSOC-REJECT bssid=02:00:00:00:01:00 status_code=17"),
            Some(Event::AssocReject { status: 17 })
        );
        assert_eq!(
            parse_event("<3>CTRL-EVENT-NETWORK-NOT-FOUND "),
            Some(Event::NetworkNotFound)
        );
        assert_eq!(
            parse_event("<2>Trying to associate with 02:00:00:00:01:00"),
            Some(Event::Other(
                "Trying to associate with 02:00:00:00:01:00".into()
            ))
        );
        for not_event in ["OK", "", "<", "<>", "<x>A", "7\n", "<3"] {
            assert_eq!(parse_event(not_event), None, "{not_event:?}");
        }
        // Malformed parameters: defaults, never a panic.
        assert_eq!(
            parse_event("<3>CTRL-EVENT-DISCONNECTED reason=x bssid"),
            Some(Event::Disconnected {
                bssid: String::new(),
                reason: 0
            })
        );
        let _ = parse_event("<3>CTRL-EVENT-SSID-TEMP-DISABLED ssid=\"\\");
        let _ = parse_event("<3>CTRL-EVENT-SSID-TEMP-DISABLED ssid=\"é\\");
    }
}
