//! The I/O shell around [`super::ctrl`]: a unix datagram socket talking to wpa_supplicant's
//! control interface (`/run/wpa_supplicant/<iface>`), and the loops that scan and join with
//! [`super::join::Join`].
//!
//! Replies and events share the socket: a reply is the next datagram that is not an event;
//! events that arrive while a reply is awaited are kept for [`CtrlClient::next_event`].

use std::collections::VecDeque;
use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::conf::NetworkConfig;
use super::ctrl::{self, Event, Request};
use super::join::{Join, JoinError, JoinState};
use super::scan::{self, ScanResult};
use super::Security;

/// How long a request waits for its reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest datagram read (scan results of a busy place fit).
const MAX_DATAGRAM: usize = 64 * 1024;

/// A control-socket failure, as one sentence.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach wpa_supplicant at {path}: {source}")]
    Connect { path: String, source: io::Error },
    #[error("talking to wpa_supplicant failed: {0}")]
    Io(#[from] io::Error),
    #[error("wpa_supplicant did not answer '{0}' within 5 s")]
    NoReply(String),
    #[error(transparent)]
    Reply(#[from] ctrl::ReplyError),
    #[error("wpa_supplicant's scan results could not be read: {0}")]
    Scan(#[from] scan::ScanError),
    #[error("no scan results within {0} s")]
    ScanTimeout(u64),
}

/// A connection to one interface's control socket.
pub struct CtrlClient {
    sock: UnixDatagram,
    local: PathBuf,
    events: VecDeque<Event>,
}

impl CtrlClient {
    /// Connect to the control socket at `path`; our end is bound in `local_dir`.
    pub fn connect(path: &Path, local_dir: &Path) -> Result<CtrlClient, ClientError> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let local = local_dir.join(format!("kboot-ctrl-{}-{n}", std::process::id()));
        let _ = std::fs::remove_file(&local);
        let err = |source| ClientError::Connect {
            path: path.display().to_string(),
            source,
        };
        let sock = UnixDatagram::bind(&local).map_err(err)?;
        let client = CtrlClient {
            sock,
            local,
            events: VecDeque::new(),
        };
        client.sock.connect(path).map_err(err)?;
        Ok(client)
    }

    /// Send `req` and return its reply (events that come first are kept).
    pub fn request(&mut self, req: &Request) -> Result<String, ClientError> {
        self.sock.send(&req.encode())?;
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            let Some(msg) = self.recv_until(deadline)? else {
                return Err(ClientError::NoReply(req.redacted()));
            };
            match ctrl::parse_event(&msg) {
                Some(ev) => self.events.push_back(ev),
                None => return Ok(msg),
            }
        }
    }

    /// Receive events on this socket from now on.
    pub fn attach(&mut self) -> Result<(), ClientError> {
        let reply = self.request(&Request::Attach)?;
        Ok(ctrl::expect_ok(&Request::Attach, &reply)?)
    }

    /// The next event, waiting until `deadline`; replies to nothing (late ones) are dropped.
    pub fn next_event(&mut self, deadline: Instant) -> Result<Option<Event>, ClientError> {
        if let Some(ev) = self.events.pop_front() {
            return Ok(Some(ev));
        }
        while let Some(msg) = self.recv_until(deadline)? {
            if let Some(ev) = ctrl::parse_event(&msg) {
                return Ok(Some(ev));
            }
        }
        Ok(None)
    }

    fn recv_until(&mut self, deadline: Instant) -> Result<Option<String>, ClientError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        self.sock.set_read_timeout(Some(left))?;
        let mut buf = vec![0u8; MAX_DATAGRAM];
        match self.sock.recv(&mut buf) {
            Ok(n) => Ok(Some(String::from_utf8_lossy(&buf[..n]).into_owned())),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Scan and return what was found (waits for the scan's end, at most `limit`).
    pub fn scan(&mut self, limit: Duration) -> Result<Vec<ScanResult>, ClientError> {
        let deadline = Instant::now() + limit;
        let reply = self.request(&Request::Scan)?;
        // FAIL-BUSY: a scan is already running; its results will do.
        if !reply.starts_with("FAIL-BUSY") {
            ctrl::expect_ok(&Request::Scan, &reply)?;
        }
        loop {
            match self.next_event(deadline)? {
                Some(Event::ScanResults) => break,
                Some(_) => {}
                None => return Err(ClientError::ScanTimeout(limit.as_secs())),
            }
        }
        self.scan_results()
    }

    /// The results of the last scan, without scanning.
    pub fn scan_results(&mut self) -> Result<Vec<ScanResult>, ClientError> {
        let reply = self.request(&Request::ScanResults)?;
        Ok(scan::parse_results(&reply)?.0)
    }

    /// Join `net` (its security as `seen` in a scan, if it was); `report` gets progress lines.
    /// Returns the access point's BSSID.
    pub fn join(
        &mut self,
        net: &NetworkConfig,
        seen: Option<Security>,
        report: &mut dyn FnMut(String),
    ) -> Result<String, JoinFailure> {
        let mut j = Join::new(net, seen, Instant::now());
        loop {
            match j.state().clone() {
                JoinState::Connected { bssid } => return Ok(bssid),
                JoinState::Failed(e) => return Err(JoinFailure::Join(e)),
                JoinState::Configuring => {
                    let Some(req) = j.request() else {
                        continue;
                    };
                    let reply = self.request(&req).map_err(JoinFailure::Client)?;
                    j.on_reply(&reply);
                }
                JoinState::Connecting => {
                    let tick = Instant::now() + Duration::from_millis(500);
                    if let Some(ev) = self.next_event(tick).map_err(JoinFailure::Client)? {
                        if let Event::Other(text) = &ev {
                            report(format!("wpa_supplicant: {text}"));
                        }
                        j.on_event(&ev);
                    }
                    j.on_tick(Instant::now());
                }
            }
        }
    }
}

/// Why [`CtrlClient::join`] failed.
#[derive(Debug, thiserror::Error)]
pub enum JoinFailure {
    #[error(transparent)]
    Join(JoinError),
    #[error(transparent)]
    Client(ClientError),
}

impl Drop for CtrlClient {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.local);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::wifi::conf::Credential;
    use crate::net::wifi::Secret;

    /// A scripted wpa_supplicant: answers each request with the next line of `script`
    /// (`request => reply`, checked), may send events first; records what it got.
    fn fake(
        dir: &Path,
        script: Vec<(&'static str, Vec<String>)>,
    ) -> (PathBuf, std::thread::JoinHandle<Vec<String>>) {
        let path = dir.join("wlan0");
        let server = UnixDatagram::bind(&path).expect("bind");
        let handle = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = vec![0u8; 4096];
            server
                .set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            for (expect, replies) in script {
                let Ok((n, from)) = server.recv_from(&mut buf) else {
                    break;
                };
                let req = String::from_utf8_lossy(&buf[..n]).into_owned();
                assert!(req.starts_with(expect), "expected {expect}, got {req}");
                got.push(req);
                let to = from.as_pathname().expect("a bound client").to_path_buf();
                for r in replies {
                    let _ = server.send_to(r.as_bytes(), &to);
                }
            }
            got
        });
        (path, handle)
    }

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("kboot-wpa-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("tmp");
        d
    }

    fn s(x: &str) -> String {
        x.to_string()
    }

    #[test]
    fn scan_then_join_wpa2_against_a_scripted_supplicant() {
        let dir = tmp("join");
        let results = "bssid / frequency / signal level / flags / ssid\n\
            02:00:00:00:01:00\t2437\t-30\t[WPA2-PSK-CCMP][ESS]\tkboot-wpa2\n";
        let (path, server) = fake(
            &dir,
            vec![
                ("ATTACH", vec![s("OK\n")]),
                // An event before the reply is kept, not taken for the reply.
                (
                    "SCAN",
                    vec![
                        s("<3>CTRL-EVENT-SCAN-STARTED "),
                        s("OK\n"),
                        s("<3>CTRL-EVENT-SCAN-RESULTS "),
                    ],
                ),
                ("SCAN_RESULTS", vec![s(results)]),
                ("REMOVE_NETWORK all", vec![s("OK\n")]),
                ("ADD_NETWORK", vec![s("0\n")]),
                ("SET_NETWORK 0 ssid", vec![s("OK\n")]),
                ("SET_NETWORK 0 key_mgmt WPA-PSK", vec![s("OK\n")]),
                ("SET_NETWORK 0 psk \"password1\"", vec![s("OK\n")]),
                ("SET_NETWORK 0 ieee80211w 1", vec![s("OK\n")]),
                (
                    "SELECT_NETWORK 0",
                    vec![
                        s("OK\n"),
                        s("<3>Trying to associate with 02:00:00:00:01:00"),
                        s("<3>CTRL-EVENT-CONNECTED - Connection to 02:00:00:00:01:00 completed [id=0 id_str=]"),
                    ],
                ),
            ],
        );
        let mut c = CtrlClient::connect(&path, &dir).expect("connect");
        c.attach().expect("attach");
        let found = c.scan(Duration::from_secs(5)).expect("scan");
        assert_eq!(found.len(), 1);
        let net = NetworkConfig {
            ssid: b"kboot-wpa2".to_vec(),
            credential: Credential::Passphrase(Secret::new("password1")),
            ..Default::default()
        };
        let mut lines = Vec::new();
        let bssid = c
            .join(&net, Some(found[0].security), &mut |l| lines.push(l))
            .expect("joined");
        assert_eq!(bssid, "02:00:00:00:01:00");
        assert!(lines.iter().any(|l| l.contains("Trying to associate")));
        let got = server.join().expect("server");
        assert!(got
            .iter()
            .any(|r| r == "SET_NETWORK 0 ssid 6b626f6f742d77706132"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_wrong_passphrase_and_a_silent_supplicant_are_sentences() {
        let dir = tmp("wrong");
        let ok = || vec![s("OK\n")];
        let (path, server) = fake(
            &dir,
            vec![
                ("REMOVE_NETWORK", ok()),
                ("ADD_NETWORK", vec![s("1\n")]),
                ("SET_NETWORK 1 ssid", ok()),
                ("SET_NETWORK 1 key_mgmt", ok()),
                ("SET_NETWORK 1 psk", ok()),
                ("SET_NETWORK 1 ieee80211w", ok()),
                (
                    "SELECT_NETWORK 1",
                    vec![
                        s("OK\n"),
                        s("<3>CTRL-EVENT-DISCONNECTED bssid=02:00:00:00:01:00 reason=15"),
                        s("<3>CTRL-EVENT-SSID-TEMP-DISABLED id=1 ssid=\"Guest Net\" auth_failures=1 duration=10 reason=WRONG_KEY"),
                    ],
                ),
                // Then it stops answering.
                ("PING", vec![]),
            ],
        );
        let mut c = CtrlClient::connect(&path, &dir).expect("connect");
        let net = NetworkConfig {
            ssid: b"Guest Net".to_vec(),
            credential: Credential::Passphrase(Secret::new("wrong-pass")),
            ..Default::default()
        };
        let err = c
            .join(&net, Some(Security::Wpa2Psk), &mut |_| {})
            .unwrap_err();
        assert_eq!(err.to_string(), "wrong passphrase for Guest Net");
        let t = Instant::now();
        let err = c.request(&Request::Ping).unwrap_err();
        assert_eq!(
            err.to_string(),
            "wpa_supplicant did not answer 'PING' within 5 s"
        );
        assert!(t.elapsed() < Duration::from_secs(8));
        server.join().expect("server");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn no_supplicant_is_one_sentence() {
        let dir = tmp("none");
        let err = CtrlClient::connect(&dir.join("wlan9"), &dir)
            .err()
            .expect("no socket")
            .to_string();
        assert!(err.starts_with("cannot reach wpa_supplicant at "), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
