//! The wireless side that needs a system: which interfaces are Wi-Fi stations, and the
//! wpa_supplicant child kboot starts for one of them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::client::{ClientError, CtrlClient};

/// Where kboot looks for the supplicant (the initramfs lays it in /usr/sbin; a module pack
/// may carry it in /lib/kboot).
pub const SUPPLICANT_PATHS: &[&str] = &[
    "/usr/sbin/wpa_supplicant",
    "/sbin/wpa_supplicant",
    "/lib/kboot/wpa_supplicant",
];
/// How long the supplicant may take to open its control socket.
const START_TIMEOUT: Duration = Duration::from_secs(5);

/// Wi-Fi station interfaces under a `/sys/class/net`-like folder, sorted: those with a
/// `wireless` or `phy80211` entry and Ethernet framing (type 1). Monitor and radiotap
/// interfaces (type 803, such as mac80211_hwsim's `hwsim0`) are left out.
pub fn wireless_interfaces_in(class_net: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(class_net)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            let p = e.path();
            (p.join("wireless").exists() || p.join("phy80211").exists())
                && std::fs::read_to_string(p.join("type")).is_ok_and(|t| t.trim() == "1")
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Whether the interface `name` is a Wi-Fi one (it has a `wireless` or `phy80211` entry).
pub fn is_wireless(name: &str) -> bool {
    let p = Path::new("/sys/class/net").join(name);
    p.join("wireless").exists() || p.join("phy80211").exists()
}

/// [`wireless_interfaces_in`] for this machine.
pub fn wireless_interfaces() -> Vec<String> {
    wireless_interfaces_in(Path::new("/sys/class/net"))
}

/// The first supplicant binary that exists.
pub fn find_supplicant() -> Option<PathBuf> {
    SUPPLICANT_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// Why the supplicant could not be started, as one sentence.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("no Wi-Fi device: is its driver or firmware in the module pack?")]
    NoDevice,
    #[error("wpa_supplicant is not in this image (looked in {}): Wi-Fi needs it", SUPPLICANT_PATHS.join(", "))]
    NoSupplicant,
    #[error("cannot write {path}: {source}")]
    Config {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot start {path}: {source}")]
    Spawn {
        path: String,
        source: std::io::Error,
    },
    #[error("wpa_supplicant on {iface} exited at start ({status}); its driver may not support this device")]
    Exited { iface: String, status: String },
    #[error("wpa_supplicant on {0} did not open its control socket within 5 s")]
    NoSocket(String),
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// A wpa_supplicant kboot started for one interface; stopped on drop.
pub struct Supplicant {
    child: Child,
    pub iface: String,
    ctrl_dir: PathBuf,
}

impl Supplicant {
    /// Start `binary` on `iface` with its control socket in `<run_dir>/ctrl/` and wait for
    /// the socket. `country` sets the regulatory domain.
    pub fn start(
        binary: &Path,
        iface: &str,
        run_dir: &Path,
        country: Option<&str>,
    ) -> Result<Supplicant, StartError> {
        let ctrl_dir = run_dir.join("ctrl");
        let conf = run_dir.join(format!("wpa_supplicant-{iface}.conf"));
        // Only what kboot's build knows: it has no config writing (CONFIG_NO_CONFIG_WRITE), so
        // `update_config` would be an unknown field that stops it at start.
        let text = format!(
            "ctrl_interface={}\n{}",
            ctrl_dir.display(),
            country
                .map(|c| format!("country={c}\n"))
                .unwrap_or_default()
        );
        let config_err = |source| StartError::Config {
            path: conf.display().to_string(),
            source,
        };
        std::fs::create_dir_all(&ctrl_dir).map_err(config_err)?;
        std::fs::write(&conf, text).map_err(config_err)?;
        let socket = ctrl_dir.join(iface);
        let _ = std::fs::remove_file(&socket);
        let mut child = Command::new(binary)
            .args(["-i", iface, "-D", "nl80211", "-c"])
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| StartError::Spawn {
                path: binary.display().to_string(),
                source,
            })?;
        let deadline = Instant::now() + START_TIMEOUT;
        while !socket.exists() {
            // As PID 1, kboot's reaper may collect the child's status first: a child that is
            // gone counts as exited too.
            let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
            let gone = || nix::sys::signal::kill(pid, None) == Err(nix::errno::Errno::ESRCH);
            let exited = match child.try_wait() {
                Ok(Some(status)) => Some(status.to_string()),
                Ok(None) if gone() => Some("its status was collected by kboot's reaper".into()),
                Ok(None) => None,
                Err(_) => Some("its status was collected by kboot's reaper".into()),
            };
            if let Some(status) = exited {
                return Err(StartError::Exited {
                    iface: iface.to_string(),
                    status,
                });
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(StartError::NoSocket(iface.to_string()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Supplicant {
            child,
            iface: iface.to_string(),
            ctrl_dir,
        })
    }

    /// A new control connection (attached for events).
    pub fn client(&self) -> Result<CtrlClient, StartError> {
        let mut c = CtrlClient::connect(&self.ctrl_dir.join(&self.iface), &self.ctrl_dir)?;
        c.attach()?;
        Ok(c)
    }
}

impl Drop for Supplicant {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stations_only() {
        let root = std::env::temp_dir().join(format!("kboot-wlan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let mk = |name: &str, ty: &str, marker: Option<&str>| {
            let d = root.join(name);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("type"), format!("{ty}\n")).unwrap();
            if let Some(m) = marker {
                std::fs::create_dir_all(d.join(m)).unwrap();
            }
        };
        mk("wlan1", "1", Some("phy80211"));
        mk("wlan0", "1", Some("wireless"));
        mk("hwsim0", "803", None);
        mk("mon0", "803", Some("phy80211"));
        mk("eth0", "1", None);
        mk("lo", "772", None);
        assert_eq!(wireless_interfaces_in(&root), ["wlan0", "wlan1"]);
        assert!(wireless_interfaces_in(&root.join("missing")).is_empty());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_supplicant_that_exits_at_once_is_a_sentence() {
        let dir = std::env::temp_dir().join(format!("kboot-wpa-start-{}", std::process::id()));
        let err = Supplicant::start(Path::new("/bin/false"), "wlan0", &dir, None)
            .err()
            .expect("fails")
            .to_string();
        assert!(
            err.starts_with("wpa_supplicant on wlan0 exited at start"),
            "{err}"
        );
        let err = Supplicant::start(Path::new("/nonexistent/wpa"), "wlan0", &dir, None)
            .err()
            .expect("fails")
            .to_string();
        assert!(err.starts_with("cannot start /nonexistent/wpa"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
