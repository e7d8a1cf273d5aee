//! kboot's own kernel command line (`/proc/cmdline`): the `kboot.*` parameters and the few
//! standard ones kboot reads.

/// What kboot's command line asks of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelArgs {
    /// `kboot.config=URL`: where the menu comes from (else discovered through DHCP).
    pub config: Option<String>,
    /// `kboot.net=<iface|mac>`: the interface to use.
    pub net: Option<String>,
    /// `BOOTIF=01-aa-bb-...`: the interface the firmware booted from (pxelinux convention).
    pub bootif: Option<String>,
    /// `kboot.menu=off`: no TUI; boot the default at once with plain log lines.
    pub menu_off: bool,
    /// `kboot.timeout=SECONDS`: overrides the config's countdown.
    pub timeout_s: Option<u64>,
    /// Every `console=` in order (the last one is /dev/console).
    pub consoles: Vec<String>,
    /// `kboot.disks=off`: do not look for configs on local disks.
    pub no_disks: bool,
    /// `ip=` in the kernel's own syntax (`ip=client:server:gw:mask:host:iface:off:dns0:dns1`,
    /// or `ip=dhcp`): a static address instead of DHCP.
    pub ip: Option<String>,
    /// `kboot.ntp=<host or address>[:port][,...]`: NTP servers, asked before DHCP option 42's.
    pub ntp: Vec<String>,
    /// `kboot.proxy=URL`: HTTP proxy for every http/https fetch (configs, kernels, initrds).
    pub proxy: Option<String>,
    /// `kboot.modprobe=a,b`: modules to load at start, whatever the devices (repeatable).
    pub modprobe: Vec<String>,
    /// `kboot.blacklist=a,b`: modules never loaded for a device (repeatable). As modprobe's
    /// `blacklist`, this stops only loads found through modules.alias: a module named in
    /// `kboot.modprobe=`, or needed by another module, still loads.
    pub blacklist: Vec<String>,
    /// `kboot.wifi.ssid=NAME` (kernel quoting for spaces: `kboot.wifi.ssid="Guest Net"`): the
    /// wireless network to join when no wired link gets a lease.
    pub wifi_ssid: Option<String>,
    /// `kboot.wifi.psk=PASSPHRASE`: its WPA2/WPA3 passphrase (never printed).
    pub wifi_psk: Option<crate::net::wifi::Secret>,
    /// `kboot.wifi.hidden=1`: the network does not broadcast its SSID.
    pub wifi_hidden: bool,
    /// `kboot.trust=BASE64KEY` (repeatable): minisign public keys trusted besides the image's
    /// `/etc/kboot/trusted.pub`.
    pub trust_keys: Vec<String>,
    /// `kboot.verify=off|warn|require` (default: require when there is a key, else off).
    pub verify: Option<String>,
}

impl KernelArgs {
    /// Parse a kernel command line. Unknown words are ignored; malformed values are dropped.
    pub fn parse(cmdline: &str) -> Self {
        let mut args = KernelArgs::default();
        for word in crate::cmdline::split(cmdline) {
            let (key, value) = match word.split_once('=') {
                Some((k, v)) => (k, Some(v.trim_matches('"').to_string())),
                None => (word.as_str(), None),
            };
            match (key, value) {
                ("kboot.config", Some(v)) if !v.is_empty() => args.config = Some(v),
                ("kboot.net", Some(v)) if !v.is_empty() => args.net = Some(v),
                ("BOOTIF", Some(v)) if !v.is_empty() => args.bootif = Some(v),
                ("kboot.menu", Some(v)) => args.menu_off = matches!(v.as_str(), "off" | "0" | "no"),
                ("kboot.timeout", Some(v)) => args.timeout_s = v.parse().ok(),
                ("kboot.disks", Some(v)) => {
                    args.no_disks = matches!(v.as_str(), "off" | "0" | "no")
                }
                ("console", Some(v)) if !v.is_empty() => args.consoles.push(v),
                ("ip", Some(v)) if !v.is_empty() => args.ip = Some(v),
                ("kboot.ntp", Some(v)) => args.ntp.extend(list(&v)),
                ("kboot.proxy", Some(v)) if !v.is_empty() => args.proxy = Some(v),
                ("kboot.modprobe", Some(v)) => args.modprobe.extend(list(&v)),
                ("kboot.blacklist", Some(v)) => args.blacklist.extend(list(&v)),
                ("kboot.wifi.ssid", Some(v)) if !v.is_empty() => args.wifi_ssid = Some(v),
                ("kboot.wifi.psk", Some(v)) => {
                    args.wifi_psk = Some(crate::net::wifi::Secret::new(v))
                }
                ("kboot.wifi.hidden", Some(v)) => {
                    args.wifi_hidden = matches!(v.as_str(), "1" | "yes" | "on")
                }
                ("kboot.trust", Some(v)) if !v.is_empty() => args.trust_keys.push(v),
                ("kboot.verify", Some(v)) if !v.is_empty() => args.verify = Some(v),
                _ => {}
            }
        }
        args
    }

    /// The network `kboot.wifi.*` names, as a wifi.conf entry that comes before the file's.
    pub fn wifi_network(&self) -> Option<crate::net::wifi::conf::NetworkConfig> {
        use crate::net::wifi::conf::{ssid_from_cmdline, Credential, NetworkConfig};
        let ssid = self.wifi_ssid.as_deref()?;
        Some(NetworkConfig {
            ssid: ssid_from_cmdline(ssid),
            credential: match &self.wifi_psk {
                Some(p) if !p.is_empty() => Credential::Passphrase(p.clone()),
                _ => Credential::None,
            },
            hidden: self.wifi_hidden,
            priority: i32::MAX,
            ..Default::default()
        })
    }

    /// The interface kboot should use: `kboot.net=` wins over `BOOTIF=` (turned into a MAC).
    pub fn wanted_interface(&self) -> Option<String> {
        if let Some(net) = &self.net {
            return Some(net.clone());
        }
        let mac = self
            .bootif
            .as_deref()?
            .strip_prefix("01-")?
            .replace('-', ":");
        (mac.len() == 17).then_some(mac)
    }
}

/// The words of a comma-separated list, empty ones left out.
fn list(v: &str) -> impl Iterator<Item = String> + '_ {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kboot_parameters() {
        let a = KernelArgs::parse(
            "console=tty0 console=ttyS0,115200 quiet kboot.config=tftp://10.0.2.2/any.conf \
             kboot.timeout=3 kboot.menu=off\n",
        );
        assert_eq!(a.config.as_deref(), Some("tftp://10.0.2.2/any.conf"));
        assert_eq!(a.consoles, vec!["tty0", "ttyS0,115200"]);
        assert_eq!(a.timeout_s, Some(3));
        assert!(a.menu_off);
    }

    #[test]
    fn wifi_credentials_with_kernel_quoting() {
        let a = KernelArgs::parse(
            "kboot.wifi.ssid=\"Guest Net\" kboot.wifi.psk=\"pass word 1\" kboot.wifi.hidden=1",
        );
        let n = a.wifi_network().expect("a network");
        assert_eq!(n.ssid, b"Guest Net");
        assert!(n.hidden);
        assert_eq!(
            n.credential,
            crate::net::wifi::conf::Credential::Passphrase(crate::net::wifi::Secret::new(
                "pass word 1"
            ))
        );
        // The passphrase never shows in a debug print of the arguments.
        assert!(!format!("{a:?}").contains("pass word"));
        let open = KernelArgs::parse("kboot.wifi.ssid=cafe kboot.wifi.psk=");
        assert_eq!(
            open.wifi_network().map(|n| n.credential),
            Some(crate::net::wifi::conf::Credential::None)
        );
        assert_eq!(KernelArgs::parse("kboot.wifi.psk=x").wifi_network(), None);
    }

    #[test]
    fn bootif_names_the_interface_unless_kboot_net_does() {
        let a = KernelArgs::parse("BOOTIF=01-52-54-00-12-34-56");
        assert_eq!(a.wanted_interface().as_deref(), Some("52:54:00:12:34:56"));
        let b = KernelArgs::parse("BOOTIF=01-52-54-00-12-34-56 kboot.net=eth1");
        assert_eq!(b.wanted_interface().as_deref(), Some("eth1"));
        assert_eq!(KernelArgs::parse("BOOTIF=junk").wanted_interface(), None);
    }

    #[test]
    fn ntp_servers_and_proxy() {
        let a = KernelArgs::parse(
            "kboot.ntp=192.0.2.1,ntp.example:1123 kboot.ntp=[2001:db8::1]:123,, \
             kboot.proxy=http://192.0.2.9:3128",
        );
        assert_eq!(
            a.ntp,
            vec!["192.0.2.1", "ntp.example:1123", "[2001:db8::1]:123"]
        );
        assert_eq!(a.proxy.as_deref(), Some("http://192.0.2.9:3128"));
    }

    #[test]
    fn modules_to_load_and_to_keep_out() {
        let a = KernelArgs::parse(
            "kboot.modprobe=e1000e,usb-storage kboot.blacklist=nouveau kboot.modprobe=,uas, \
             kboot.blacklist=floppy,pcspkr",
        );
        assert_eq!(a.modprobe, vec!["e1000e", "usb-storage", "uas"]);
        assert_eq!(a.blacklist, vec!["nouveau", "floppy", "pcspkr"]);
    }

    #[test]
    fn malformed_values_are_dropped() {
        let a = KernelArgs::parse("kboot.config= kboot.timeout=soon kboot.net kboot.ntp= kboot.proxy= kboot.ntp kboot.proxy kboot.modprobe= kboot.modprobe kboot.blacklist=, kboot.blacklist");
        assert_eq!(a, KernelArgs::default());
    }
}
