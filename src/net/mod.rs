//! Network bring-up: links over netlink, a DHCPv4 client, resolv.conf. Produces a [`Lease`].

use serde::Serialize;
use std::net::Ipv4Addr;

/// What the network layer learned for one interface: the address kboot configured and every
/// boot-relevant DHCP option. Later layers (discovery, the ip= handoff) read only this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Lease {
    /// Kernel interface name in kboot's own kernel (e.g. `eth0`).
    pub iface: String,
    /// Hardware address of that interface.
    pub mac: [u8; 6],
    pub client: Option<Ipv4Addr>,
    pub netmask: Option<Ipv4Addr>,
    pub gateway: Option<Ipv4Addr>,
    pub dns: Vec<Ipv4Addr>,
    pub hostname: Option<String>,
    pub domain: Option<String>,
    /// Option 54, the DHCP server identifier.
    pub server_id: Option<Ipv4Addr>,
    /// BOOTP siaddr (next-server).
    pub next_server: Option<Ipv4Addr>,
    /// Option 66, TFTP server name.
    pub tftp_server_name: Option<String>,
    /// Option 67 or the BOOTP `file` field.
    pub boot_file: Option<String>,
    /// Option 17.
    pub root_path: Option<String>,
    /// Option 209, pxelinux config file.
    pub pxe_config_file: Option<String>,
    /// Option 210, pxelinux path prefix.
    pub pxe_path_prefix: Option<String>,
    /// Option 51, seconds.
    pub lease_time: Option<u32>,
}

impl Lease {
    /// `aa:bb:cc:dd:ee:ff`
    pub fn mac_colon(&self) -> String {
        self.mac
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    /// `01-aa-bb-cc-dd-ee-ff`, as pxelinux's BOOTIF and config lookup spell it.
    pub fn bootif(&self) -> String {
        let dashed = self
            .mac
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join("-");
        format!("01-{dashed}")
    }

    /// The host to fetch from when a config names no server: option 66, else siaddr, else
    /// the DHCP server identifier.
    pub fn boot_server(&self) -> Option<String> {
        if let Some(name) = self.tftp_server_name.as_deref().filter(|s| !s.is_empty()) {
            return Some(name.to_string());
        }
        self.next_server
            .filter(|a| !a.is_unspecified())
            .or(self.server_id)
            .map(|a| a.to_string())
    }
}
