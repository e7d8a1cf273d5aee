//! Bringing a wireless link up for booting: find the station interface, load the crypto the
//! kernel needs for WPA keys, start wpa_supplicant, scan, join the first configured network in
//! range, then run DHCP on the link as on a cable.

use std::path::Path;
use std::time::Duration;

use super::client::{ClientError, CtrlClient, JoinFailure};
use super::conf::{self, NetworkConfig};
use super::device::{self, StartError, Supplicant};
use super::join::JoinError;
use super::scan::ScanResult;
use crate::net::{Lease, NetError};

/// The wifi.conf kboot's initramfs may carry (laid by `buildroot-overlay/`).
pub const IMAGE_CONF: &str = "/etc/kboot/wifi.conf";
/// The wifi.conf on a local disk's first FAT or ext4 partition.
pub const DISK_CONF: &str = "/kboot/wifi.conf";
/// Where the supplicant's config and control sockets live.
const RUN_DIR: &str = "/run/kboot/wpa";
/// Modules the kernel asks for (through /sbin/modprobe, which kboot's image has not) when a
/// WPA key is installed: CCMP and GCMP ciphers and BIP's CMAC. Loaded before the supplicant.
pub const CRYPTO_MODULES: &[&str] = &["ctr", "ccm", "gcm", "cmac", "aes_generic", "ghash_generic"];
/// Scans that may pass without a configured network in range, per attempt.
const SCAN_ROUNDS: usize = 3;
const SCAN_LIMIT: Duration = Duration::from_secs(15);

/// Why Wi-Fi gave no link, as one sentence.
#[derive(Debug, thiserror::Error)]
pub enum WifiError {
    #[error("no Wi-Fi device: is its driver or firmware in the module pack?")]
    NoDevice,
    #[error("no Wi-Fi network is configured: give kboot.wifi.ssid= (and kboot.wifi.psk=) or {IMAGE_CONF}")]
    NothingConfigured,
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Join(#[from] JoinError),
    #[error("joined {ssid}, but DHCP over it failed: {err}")]
    Dhcp { ssid: String, err: Box<NetError> },
}

/// The networks to try, in order: `kboot.wifi.*` first, then the image's wifi.conf, then the
/// one on a local disk; within a file, higher `priority` first. Also the regulatory country.
pub fn configured(
    cmdline: Option<NetworkConfig>,
    log: &mut dyn FnMut(String),
) -> (Vec<NetworkConfig>, Option<String>) {
    let mut nets: Vec<NetworkConfig> = cmdline.into_iter().collect();
    let mut country = None;
    let mut read = |text: &str, from: &str, nets: &mut Vec<NetworkConfig>| {
        let c = conf::parse(text);
        for w in &c.warnings {
            log(format!("{from}: {w}"));
        }
        let mut file_nets = c.networks;
        file_nets.sort_by_key(|n| std::cmp::Reverse(n.priority));
        let n = file_nets.len();
        log(format!(
            "{from}: {n} Wi-Fi network{}",
            if n == 1 { "" } else { "s" }
        ));
        nets.extend(file_nets);
        if country.is_none() {
            country = c.country;
        }
    };
    if let Ok(text) = read_small(Path::new(IMAGE_CONF)) {
        read(&text, IMAGE_CONF, &mut nets);
    }
    if let Some((from, text)) = disk_conf() {
        read(&text, &from, &mut nets);
    }
    (nets, country)
}

fn read_small(path: &Path) -> std::io::Result<String> {
    let meta = std::fs::metadata(path)?;
    if meta.len() > conf::MAX_LEN as u64 {
        return Err(std::io::Error::other("too large"));
    }
    std::fs::read_to_string(path)
}

/// `/kboot/wifi.conf` on the first FAT or ext4 volume that has one.
fn disk_conf() -> Option<(String, String)> {
    use crate::fetch::local::{self, FsType};
    for name in crate::config::disks::block_devices() {
        let device = crate::fetch::url::DeviceRef::Name(name.clone());
        let Ok((dev, Some(info))) = local::find_device(&device) else {
            continue;
        };
        if !matches!(info.fstype, FsType::Vfat | FsType::Ext) {
            continue;
        }
        let types = local::types_to_try(Some(&info));
        let Ok(mount) = local::mount_ro(&dev.display().to_string(), &types, None) else {
            continue;
        };
        let path = mount.dir().join(DISK_CONF.trim_start_matches('/'));
        if let Ok(text) = read_small(&path) {
            return Some((format!("{name}:{DISK_CONF}"), text));
        }
    }
    None
}

/// A joined wireless link with its lease.
#[derive(Debug, Clone)]
pub struct WifiLink {
    pub ssid: String,
    pub bssid: String,
    pub signal: Option<i32>,
    pub lease: Lease,
}

impl WifiLink {
    /// The status line: `wlan0: <SSID> <signal> dBm <address>`.
    pub fn status(&self) -> String {
        let signal = self.signal.map(|s| format!(" {s} dBm")).unwrap_or_default();
        let addr = self
            .lease
            .client
            .map(|a| format!(" {a}/{}", self.lease.prefix_len().unwrap_or(32)))
            .unwrap_or_default();
        format!("{}: {}{signal}{addr}", self.lease.iface, self.ssid)
    }
}

/// Load the kernel's crypto for WPA keys from the module pack (best effort: built-in or
/// missing modules are fine when the kernel has them otherwise).
fn load_crypto(log: &mut dyn FnMut(String)) {
    use crate::hw::loader::{Finit, Loader};
    let Ok(mut loader) = Loader::open(&crate::hw::drivers::default_dir(), Finit) else {
        return;
    };
    if let Ok(text) = std::fs::read_to_string("/proc/modules") {
        loader.mark_loaded(crate::hw::loader::parse_proc_modules(&text));
    }
    let mut loaded = Vec::new();
    for m in CRYPTO_MODULES {
        if let Ok(now) = loader.load(m) {
            loaded.extend(now);
        }
    }
    if !loaded.is_empty() {
        log(format!("loaded {} (Wi-Fi key ciphers)", loaded.join(", ")));
    }
}

/// Start wpa_supplicant on `iface` (or the first wireless interface), the key ciphers loaded
/// first.
pub fn start_supplicant(
    iface: Option<&str>,
    country: Option<&str>,
    log: &mut dyn FnMut(String),
) -> Result<Supplicant, WifiError> {
    let iface = match iface {
        Some(i) => i.to_string(),
        None => device::wireless_interfaces()
            .into_iter()
            .next()
            .ok_or(WifiError::NoDevice)?,
    };
    load_crypto(log);
    let binary = device::find_supplicant().ok_or(StartError::NoSupplicant)?;
    let supplicant = Supplicant::start(&binary, &iface, Path::new(RUN_DIR), country)?;
    log(format!("{iface}: wpa_supplicant started"));
    Ok(supplicant)
}

/// Join the first configured network in range through `supplicant` and get a lease over it.
/// `log` gets progress lines.
pub fn connect(
    supplicant: &Supplicant,
    networks: &[NetworkConfig],
    log: &mut dyn FnMut(String),
) -> Result<WifiLink, WifiError> {
    if networks.is_empty() {
        return Err(WifiError::NothingConfigured);
    }
    let iface = supplicant.iface.clone();
    let mut client = supplicant.client()?;
    let (ssid, bssid, signal) = join_first(&mut client, &iface, networks, log)?;
    log(format!("{iface}: joined {ssid} ({bssid})"));
    let mut report = |l: String| log(l);
    let mut lease =
        crate::net::bring_up(Some(&iface), &mut report).map_err(|err| WifiError::Dhcp {
            ssid: ssid.clone(),
            err: Box::new(err),
        })?;
    lease.wireless = Some(ssid.clone());
    Ok(WifiLink {
        ssid,
        bssid,
        signal,
        lease,
    })
}

/// Scan through `supplicant`: the networks in range, one per SSID, strongest first.
pub fn scan(supplicant: &Supplicant) -> Result<Vec<ScanResult>, WifiError> {
    let mut client = supplicant.client()?;
    Ok(super::scan::networks(&client.scan(SCAN_LIMIT)?))
}

/// Scan (a few rounds) and join the first configured network seen (or hidden); the first
/// failure that says something about a network (wrong passphrase) wins over "out of range".
fn join_first(
    client: &mut CtrlClient,
    iface: &str,
    networks: &[NetworkConfig],
    log: &mut dyn FnMut(String),
) -> Result<(String, String, Option<i32>), WifiError> {
    let mut first_error: Option<JoinError> = None;
    for round in 0..SCAN_ROUNDS {
        let results = client.scan(SCAN_LIMIT)?;
        log(format!(
            "{iface}: scan {}: {} access points",
            round + 1,
            results.len()
        ));
        for net in networks {
            let seen = strongest(&results, &net.ssid);
            if seen.is_none() && !net.hidden {
                continue;
            }
            let ssid = net.ssid_text();
            log(format!("{iface}: joining {ssid}"));
            match client.join(net, seen.map(|r| r.security), log) {
                Ok(bssid) => return Ok((ssid, bssid, seen.map(|r| r.signal))),
                Err(JoinFailure::Join(e)) => {
                    log(format!("{iface}: {e}"));
                    if matches!(e, JoinError::WrongPassphrase(_)) {
                        return Err(e.into());
                    }
                    first_error.get_or_insert(e);
                }
                Err(JoinFailure::Client(e)) => return Err(e.into()),
            }
        }
    }
    Err(first_error
        .unwrap_or_else(|| JoinError::OutOfRange(networks[0].ssid_text()))
        .into())
}

fn strongest<'a>(results: &'a [ScanResult], ssid: &[u8]) -> Option<&'a ScanResult> {
    results
        .iter()
        .filter(|r| r.ssid == ssid)
        .max_by_key(|r| r.signal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_network_comes_first() {
        let cmd = NetworkConfig {
            ssid: b"cmd".to_vec(),
            ..Default::default()
        };
        let mut lines = Vec::new();
        let (nets, _) = configured(Some(cmd), &mut |l| lines.push(l));
        assert_eq!(nets[0].ssid, b"cmd");
    }

    #[test]
    fn nothing_configured_is_a_sentence() {
        assert!(WifiError::NothingConfigured
            .to_string()
            .starts_with("no Wi-Fi network is configured"));
    }
}
