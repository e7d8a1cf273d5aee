//! The network handoff: `ip=` and `BOOTIF=` appended to the target's command line, so the
//! target kernel or its initramfs needs no second DHCP round.
//!
//! [`Handoff::Default`] writes the kernel's full form
//! `ip=<client>:<server>:<gw>:<netmask>:<hostname>::off[:<dns0>[:<dns1>]] BOOTIF=01-<mac>`:
//! - The device field (6) is empty on purpose: interface names in kboot's kernel and in the
//!   target's differ (`eth0` vs `enp1s0`). `BOOTIF=` names the NIC by MAC, which the kernel's
//!   autoconfig ignores harmlessly and dracut / initramfs-tools use to pick the interface.
//! - Empty fields stay empty (the kernel and dracut treat them as absent); the first seven
//!   fields are always written so autoconf is explicitly `off`; `dns0`/`dns1` are written only
//!   as far as the lease has DNS servers (trailing empty fields are trimmed after `off`).
//! - `server` (field 2) is the lease's next-server (siaddr), and only when it is on the
//!   client's own subnet: dracut reads field 2 as a point-to-point *peer*, and an off-link
//!   peer there would replace the subnet route. An on-link peer yields the same subnet route.
//! - A field that would break the syntax (a hostname containing `:` or whitespace) is left
//!   empty.
//! - No client address → no `ip=` (only `BOOTIF=`); an all-zero MAC → no `BOOTIF=`.
//!
//! [`Handoff::Pxelinux`] reproduces pxelinux's IPAPPEND/SYSAPPEND exactly: bit 1 (value 1)
//! → `ip=<client>:<server>:<gw>:<netmask>` with every field a dotted quad (`0.0.0.0` when
//! unknown, the netmask defaulted classfully like the kernel); bit 2 (value 2) →
//! `BOOTIF=01-<mac>`. Other SYSAPPEND bits (SYSUUID, DMI strings) are not produced.

use std::net::Ipv4Addr;

use crate::config::model::Handoff;
use crate::net::Lease;

fn mac_known(lease: &Lease) -> bool {
    lease.mac != [0u8; 6]
}

fn mask_of(lease: &Lease) -> Option<Ipv4Addr> {
    lease.netmask.or_else(|| {
        let p = u32::from(lease.prefix_len()?);
        Some(Ipv4Addr::from(u32::MAX.checked_shl(32 - p).unwrap_or(0)))
    })
}

fn on_link(lease: &Lease, a: Ipv4Addr) -> bool {
    let (Some(c), Some(m)) = (lease.client, mask_of(lease)) else {
        return false;
    };
    let m = u32::from(m);
    u32::from(c) & m == u32::from(a) & m
}

fn safe_hostname(h: &str) -> bool {
    !h.is_empty()
        && !h
            .chars()
            .any(|c| c == ':' || c == '"' || c.is_whitespace() || c.is_control())
}

fn opt_ip(a: Option<Ipv4Addr>) -> String {
    a.filter(|a| !a.is_unspecified())
        .map(|a| a.to_string())
        .unwrap_or_default()
}

/// kboot's default `ip=` value (without `ip=`), `None` without a client address.
fn default_ip(lease: &Lease) -> Option<String> {
    let client = lease.client.filter(|c| !c.is_unspecified())?;
    let server = opt_ip(lease.next_server.filter(|s| on_link(lease, *s)));
    let host = lease
        .hostname
        .as_deref()
        .filter(|h| safe_hostname(h))
        .unwrap_or("");
    let mut fields = vec![
        client.to_string(),
        server,
        opt_ip(lease.gateway),
        opt_ip(lease.netmask),
        host.to_string(),
        String::new(),
        "off".to_string(),
    ];
    fields.extend(lease.dns.iter().take(2).map(|d| d.to_string()));
    Some(fields.join(":"))
}

/// pxelinux's IPAPPEND 1 value (without `ip=`).
fn pxelinux_ip(lease: &Lease) -> Option<String> {
    let client = lease.client.filter(|c| !c.is_unspecified())?;
    let server = lease
        .next_server
        .filter(|s| !s.is_unspecified())
        .or_else(|| {
            lease
                .tftp_server_name
                .as_deref()
                .and_then(|n| n.parse().ok())
        })
        .or(lease.server_id)
        .unwrap_or(Ipv4Addr::UNSPECIFIED);
    let gw = lease.gateway.unwrap_or(Ipv4Addr::UNSPECIFIED);
    let mask = mask_of(lease).unwrap_or(Ipv4Addr::UNSPECIFIED);
    Some(format!("{client}:{server}:{gw}:{mask}"))
}

/// The parameters `handoff` asks for, from `lease`, space-separated (empty for none).
pub fn handoff_args(handoff: Handoff, lease: &Lease) -> String {
    let mut out: Vec<String> = Vec::new();
    let bootif = || format!("BOOTIF={}", lease.bootif());
    match handoff {
        Handoff::Off => {}
        // A wireless link: the target's initramfs could not bring it up without the
        // credentials, so nothing is handed over unless the entry asks (IPAPPEND).
        Handoff::Default if lease.wireless.is_some() => {}
        Handoff::Default => {
            if let Some(ip) = default_ip(lease) {
                out.push(format!("ip={ip}"));
            }
            if mac_known(lease) {
                out.push(bootif());
            }
        }
        Handoff::Pxelinux(bits) => {
            if bits & 1 != 0 {
                if let Some(ip) = pxelinux_ip(lease) {
                    out.push(format!("ip={ip}"));
                }
            }
            if bits & 2 != 0 && mac_known(lease) {
                out.push(bootif());
            }
        }
    }
    out.join(" ")
}

/// `cmdline` with the handoff parameters appended. A parameter the command line already has
/// (`ip=...` or `BOOTIF=...`, in any form, e.g. `ip=dhcp`) is not added again: the entry's
/// explicit choice wins. Without a lease (no network) the command line is only normalised.
pub fn apply(cmdline: &str, handoff: Handoff, lease: Option<&Lease>) -> String {
    let Some(lease) = lease else {
        return super::join(&[cmdline]);
    };
    let present: Vec<String> = super::split(cmdline)
        .iter()
        .map(|t| super::param_key(t).to_string())
        .collect();
    let extra: Vec<String> = super::split(&handoff_args(handoff, lease))
        .into_iter()
        .filter(|t| !present.iter().any(|k| k == super::param_key(t)))
        .collect();
    super::append(cmdline, &super::join(&extra))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn lease() -> Lease {
        Lease {
            iface: "eth0".into(),
            mac: [0x52, 0x54, 0x00, 0x12, 0x34, 0x56],
            client: Some(ip("192.0.2.50")),
            netmask: Some(ip("255.255.255.0")),
            gateway: Some(ip("192.0.2.1")),
            dns: vec![ip("192.0.2.53"), ip("192.0.2.54"), ip("192.0.2.55")],
            hostname: Some("node7".into()),
            server_id: Some(ip("192.0.2.1")),
            next_server: Some(ip("192.0.2.5")),
            ..Lease::default()
        }
    }

    #[test]
    fn default_golden() {
        assert_eq!(
            handoff_args(Handoff::Default, &lease()),
            "ip=192.0.2.50:192.0.2.5:192.0.2.1:255.255.255.0:node7::off:192.0.2.53:192.0.2.54 \
             BOOTIF=01-52-54-00-12-34-56"
        );
    }

    #[test]
    fn default_empty_fields_stay_empty_and_trailing_ones_go() {
        let l = Lease {
            iface: "eth0".into(),
            mac: [2, 0, 0, 0, 0, 1],
            client: Some(ip("10.1.2.3")),
            ..Lease::default()
        };
        assert_eq!(
            handoff_args(Handoff::Default, &l),
            "ip=10.1.2.3::::::off BOOTIF=01-02-00-00-00-00-01"
        );
        let mut l2 = lease();
        l2.dns.truncate(1);
        l2.hostname = Some("bad:name".into());
        l2.next_server = Some(ip("198.51.100.9")); // off-link: dracut would take it as a peer
        assert_eq!(
            handoff_args(Handoff::Default, &l2),
            "ip=192.0.2.50::192.0.2.1:255.255.255.0:::off:192.0.2.53 BOOTIF=01-52-54-00-12-34-56"
        );
    }

    #[test]
    fn default_without_address_or_mac() {
        let mut l = lease();
        l.client = None;
        assert_eq!(
            handoff_args(Handoff::Default, &l),
            "BOOTIF=01-52-54-00-12-34-56"
        );
        l.mac = [0; 6];
        assert_eq!(handoff_args(Handoff::Default, &l), "");
    }

    #[test]
    fn pxelinux_golden() {
        let l = lease();
        assert_eq!(
            handoff_args(Handoff::Pxelinux(1), &l),
            "ip=192.0.2.50:192.0.2.5:192.0.2.1:255.255.255.0"
        );
        assert_eq!(
            handoff_args(Handoff::Pxelinux(2), &l),
            "BOOTIF=01-52-54-00-12-34-56"
        );
        assert_eq!(
            handoff_args(Handoff::Pxelinux(3), &l),
            "ip=192.0.2.50:192.0.2.5:192.0.2.1:255.255.255.0 BOOTIF=01-52-54-00-12-34-56"
        );
        assert_eq!(handoff_args(Handoff::Pxelinux(0), &l), "");
        assert_eq!(handoff_args(Handoff::Pxelinux(4), &l), "");
        // pxelinux writes 0.0.0.0 for unknown fields and a classful mask.
        let bare = Lease {
            mac: [2, 0, 0, 0, 0, 1],
            client: Some(ip("10.1.2.3")),
            ..Lease::default()
        };
        assert_eq!(
            handoff_args(Handoff::Pxelinux(1), &bare),
            "ip=10.1.2.3:0.0.0.0:0.0.0.0:255.0.0.0"
        );
        // Server falls back to option 66 as an address, then the server identifier.
        let mut l = lease();
        l.next_server = None;
        l.tftp_server_name = Some("192.0.2.6".into());
        assert!(handoff_args(Handoff::Pxelinux(1), &l).starts_with("ip=192.0.2.50:192.0.2.6:"));
        l.tftp_server_name = Some("boot.example".into());
        assert!(handoff_args(Handoff::Pxelinux(1), &l).starts_with("ip=192.0.2.50:192.0.2.1:"));
    }

    #[test]
    fn off_is_nothing() {
        assert_eq!(handoff_args(Handoff::Off, &lease()), "");
        assert_eq!(
            apply("root=/dev/nfs  quiet", Handoff::Off, Some(&lease())),
            "root=/dev/nfs quiet"
        );
    }

    #[test]
    fn apply_appends_and_the_entry_wins() {
        let l = lease();
        assert_eq!(
            apply("quiet", Handoff::Pxelinux(3), Some(&l)),
            "quiet ip=192.0.2.50:192.0.2.5:192.0.2.1:255.255.255.0 BOOTIF=01-52-54-00-12-34-56"
        );
        assert_eq!(
            apply("ip=dhcp quiet", Handoff::Default, Some(&l)),
            "ip=dhcp quiet BOOTIF=01-52-54-00-12-34-56"
        );
        assert_eq!(
            apply(
                "BOOTIF=01-aa-bb-cc-dd-ee-ff",
                Handoff::Pxelinux(3),
                Some(&l)
            ),
            "BOOTIF=01-aa-bb-cc-dd-ee-ff ip=192.0.2.50:192.0.2.5:192.0.2.1:255.255.255.0"
        );
        // `ipv6.disable=1` and `ip6=` are other keys.
        assert!(apply("ipv6.disable=1", Handoff::Default, Some(&l)).contains(" ip=192.0.2.50:"));
        assert_eq!(apply(" a  b ", Handoff::Default, None), "a b");
        assert_eq!(
            apply("", Handoff::Pxelinux(2), Some(&l)),
            "BOOTIF=01-52-54-00-12-34-56"
        );
    }
}
