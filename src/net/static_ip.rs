//! Static network configuration: the kernel's `ip=` parameter and kboot.conf's Xbox 360
//! loader keys (`ip=`, `netmask=`, `gateway=`, `dns=`, `tftp_server=`).
//!
//! The kernel's syntax (Documentation/admin-guide/nfs/nfsroot.rst):
//! `ip=<client>:<server>:<gw>:<netmask>:<hostname>:<device>:<autoconf>:<dns0>:<dns1>:<ntp0>`,
//! or a single word `ip=off|none|on|any|dhcp|bootp|rarp|both`. dracut's short form
//! `ip=<device>:dhcp|on|any` is accepted too.
//!
//! How the fields map to what kboot does:
//! - A client address makes the configuration static, whatever the autoconf field says (the
//!   kernel also skips autoconfiguration once it has an address).
//! - No client address: autoconf `off`/`none` means no network ([`IpConfig::Off`]); empty,
//!   `on`, `any`, `dhcp`, `bootp`, `both` or `rarp` mean DHCP (kboot has no BOOTP/RARP client;
//!   DHCP servers answer the same clients).
//! - `dhcp6`, `auto6`, `ibft` and IPv6 addresses are refused with an error: kboot speaks
//!   DHCPv4 only, and a kexec'd kernel has no firmware iBFT to read.
//!
//! The kernel ignores fields it cannot parse; we refuse them with one sentence instead, so a
//! typo shows up on the screen rather than as a silent DHCP fallback.

use std::net::Ipv4Addr;

use super::link::{prefix_len, LinkInfo};
use super::Lease;

/// What an `ip=` value asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpConfig {
    /// Run DHCP, on `device` when one is named (`ip=:::::eth1:dhcp`, `ip=eth1:dhcp`).
    Dhcp { device: Option<String> },
    /// No network configuration (`ip=off`, `ip=none`).
    Off,
    /// A fixed address.
    Static(StaticIp),
}

/// A static IPv4 configuration. Empty fields are `None` / empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticIp {
    pub client: Ipv4Addr,
    /// Field 2: the boot server (the kernel's NFS server; kboot's next-server for TFTP).
    pub server: Option<Ipv4Addr>,
    pub gateway: Option<Ipv4Addr>,
    /// `None`: the classful default of `client` (/8, /16, /24), as the kernel does.
    pub netmask: Option<Ipv4Addr>,
    pub hostname: Option<String>,
    /// Field 6: the interface to configure (`eth0`), or a MAC address.
    pub device: Option<String>,
    pub dns: Vec<Ipv4Addr>,
    pub ntp: Vec<Ipv4Addr>,
    /// kboot.conf `tftp_server=` (a host name or address); the kernel syntax has no such field.
    pub tftp_server: Option<String>,
}

/// Why an `ip=` value or a kboot.conf network key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpParamError {
    #[error("ip= {field} {value:?} is not an IPv4 address")]
    BadAddress { field: &'static str, value: String },
    #[error("ip= netmask {0:?} is neither a contiguous dotted mask nor a prefix length 0-32")]
    BadNetmask(String),
    #[error(
        "ip= hostname {0:?} is longer than 64 characters or contains spaces or control characters"
    )]
    BadHostname(String),
    #[error("ip= device {0:?} is not a valid interface name or MAC address")]
    BadDevice(String),
    #[error("ip= autoconf method {0:?} is not supported (use dhcp, on, any, off or none)")]
    BadAutoconf(String),
    #[error("ip= has {0} fields; the kernel syntax has at most 10")]
    TooManyFields(usize),
    #[error("ip= {0:?} is IPv6, which kboot's static configuration does not support")]
    Ipv6(String),
    #[error("kboot.conf sets {0}= but no ip= address to go with it")]
    KeyWithoutAddress(String),
    #[error("kboot.conf tftp_server {0:?} is not a host name or IPv4 address")]
    BadTftpServer(String),
}

const FIELD_NAMES: [&str; 10] = [
    "client address",
    "server address",
    "gateway",
    "netmask",
    "hostname",
    "device",
    "autoconf",
    "dns0",
    "dns1",
    "ntp0",
];

/// The autoconf words that mean "run DHCP".
fn is_dhcp_word(w: &str) -> bool {
    matches!(w, "" | "on" | "any" | "dhcp" | "bootp" | "rarp" | "both")
}

fn check_autoconf(w: &str) -> Result<bool, IpParamError> {
    match w {
        "off" | "none" => Ok(false),
        w if is_dhcp_word(w) => Ok(true),
        other => Err(IpParamError::BadAutoconf(other.to_string())),
    }
}

fn addr(field: &'static str, v: &str) -> Result<Option<Ipv4Addr>, IpParamError> {
    if v.is_empty() {
        return Ok(None);
    }
    if v.contains('[') {
        return Err(IpParamError::Ipv6(v.to_string()));
    }
    // The kernel reads 0.0.0.0 as "not given" in every address field.
    v.parse::<Ipv4Addr>()
        .map(|a| Some(a).filter(|a| !a.is_unspecified()))
        .map_err(|_| IpParamError::BadAddress {
            field,
            value: v.to_string(),
        })
}

/// A dotted contiguous netmask or a prefix length (`24`, `/24`).
pub fn parse_netmask(v: &str) -> Result<Option<Ipv4Addr>, IpParamError> {
    if v.is_empty() {
        return Ok(None);
    }
    let bad = || IpParamError::BadNetmask(v.to_string());
    let digits = v.strip_prefix('/').unwrap_or(v);
    if !digits.is_empty() && digits.len() <= 2 && digits.bytes().all(|b| b.is_ascii_digit()) {
        let p: u32 = digits.parse().map_err(|_| bad())?;
        if p > 32 {
            return Err(bad());
        }
        let m = u32::MAX.checked_shl(32 - p).unwrap_or(0);
        // /0 is 0.0.0.0, which the kernel reads as "not given".
        return Ok(Some(Ipv4Addr::from(m)).filter(|m| !m.is_unspecified()));
    }
    let m: Ipv4Addr = v.parse().map_err(|_| bad())?;
    prefix_len(m).ok_or_else(bad)?;
    Ok(Some(m).filter(|m| !m.is_unspecified()))
}

fn hostname(v: &str) -> Result<Option<String>, IpParamError> {
    if v.is_empty() {
        return Ok(None);
    }
    if v.len() > 64 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(IpParamError::BadHostname(v.to_string()));
    }
    Ok(Some(v.to_string()))
}

/// An interface name as the kernel allows it (1-15 bytes, no `/`, `:` or whitespace), or a
/// MAC address.
fn device(v: &str) -> Result<Option<String>, IpParamError> {
    if v.is_empty() {
        return Ok(None);
    }
    let name_ok = v.len() <= 15
        && v != "."
        && v != ".."
        && !v
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control());
    if name_ok || super::link::parse_mac(v).is_some() {
        Ok(Some(v.to_string()))
    } else {
        Err(IpParamError::BadDevice(v.to_string()))
    }
}

/// Parse the value of a kernel `ip=` parameter (without the `ip=`).
pub fn parse_ip_param(value: &str) -> Result<IpConfig, IpParamError> {
    // As the kernel: a method word, else `off`/`none`/empty, else fields (a bare address is
    // the client field alone).
    if !value.contains(':') {
        match value {
            "" | "off" | "none" => return Ok(IpConfig::Off),
            w if is_dhcp_word(w) => return Ok(IpConfig::Dhcp { device: None }),
            w if w.parse::<Ipv4Addr>().is_err() => {
                return Err(IpParamError::BadAutoconf(w.to_string()))
            }
            _ => {}
        }
    }
    let fields: Vec<&str> = value.split(':').collect();
    // dracut's `ip=<device>:dhcp|on|any` (two fields, the first not an address).
    if fields.len() == 2 && fields[0].parse::<Ipv4Addr>().is_err() && !fields[0].is_empty() {
        let dev = device(fields[0])?;
        return match fields[1] {
            "dhcp" | "on" | "any" => Ok(IpConfig::Dhcp { device: dev }),
            other => Err(IpParamError::BadAutoconf(other.to_string())),
        };
    }
    if fields.len() > FIELD_NAMES.len() {
        // An IPv6 address in the client field splits into many fields.
        if value.contains('[') {
            return Err(IpParamError::Ipv6(value.to_string()));
        }
        return Err(IpParamError::TooManyFields(fields.len()));
    }
    let f = |i: usize| fields.get(i).copied().unwrap_or("");
    let client = addr(FIELD_NAMES[0], f(0))?;
    let server = addr(FIELD_NAMES[1], f(1))?;
    let gateway = addr(FIELD_NAMES[2], f(2))?;
    let netmask = parse_netmask(f(3))?;
    let host = hostname(f(4))?;
    let dev = device(f(5))?;
    let dhcp = check_autoconf(f(6))?;
    let mut dns = Vec::new();
    for i in [7, 8] {
        if let Some(a) = addr(FIELD_NAMES[i], f(i))? {
            dns.push(a);
        }
    }
    let ntp: Vec<Ipv4Addr> = addr(FIELD_NAMES[9], f(9))?.into_iter().collect();
    match client {
        Some(client) => Ok(IpConfig::Static(StaticIp {
            client,
            server,
            gateway,
            netmask,
            hostname: host,
            device: dev,
            dns,
            ntp,
            tftp_server: None,
        })),
        None if dhcp => Ok(IpConfig::Dhcp { device: dev }),
        None => Ok(IpConfig::Off),
    }
}

/// Parse kboot.conf's network keys (`Menu.network`, in file order; later keys win).
///
/// - `ip=` is an address (`ip=192.0.2.10`) or a whole kernel `ip=` value (`ip=dhcp`,
///   `ip=192.0.2.10::192.0.2.1:255.255.255.0`); the other keys override its fields.
/// - `netmask=` dotted or a prefix length; `gateway=`; `dns=` one or more addresses separated
///   by commas or spaces (repeatable); `tftp_server=` a host name or address; `hostname=`.
/// - Unknown keys are ignored (other layers may own them).
///
/// `Ok(None)` when there is no `ip=` key and no other network key.
pub fn from_conf_pairs(pairs: &[(String, String)]) -> Result<Option<IpConfig>, IpParamError> {
    let mut base: Option<IpConfig> = None;
    let mut overrides: Vec<(&str, &str)> = Vec::new();
    for (k, v) in pairs {
        let (k, v) = (k.trim(), v.trim());
        match k {
            "ip" => base = Some(parse_ip_param(v)?),
            "netmask" | "gateway" | "dns" | "tftp_server" | "hostname" => overrides.push((k, v)),
            _ => {}
        }
    }
    let Some(base) = base else {
        return match overrides.first() {
            Some((k, _)) => Err(IpParamError::KeyWithoutAddress(k.to_string())),
            None => Ok(None),
        };
    };
    let IpConfig::Static(mut s) = base else {
        // DHCP or off: the fixed keys have nothing to attach to; tftp_server alone is
        // still meaningful to a caller but not expressible here, so it is ignored.
        return Ok(Some(base));
    };
    let mut dns_reset = false;
    for (k, v) in overrides {
        match k {
            "netmask" => s.netmask = parse_netmask(v)?,
            "gateway" => s.gateway = addr("gateway", v)?,
            "hostname" => s.hostname = hostname(v)?,
            "dns" => {
                if !dns_reset {
                    s.dns.clear();
                    dns_reset = true;
                }
                for a in v.split([',', ' ', '\t']).filter(|a| !a.is_empty()) {
                    s.dns.extend(addr("dns", a)?);
                }
            }
            "tftp_server" => {
                s.tftp_server = if v.is_empty() {
                    None
                } else if valid_host(v) {
                    Some(v.to_string())
                } else {
                    return Err(IpParamError::BadTftpServer(v.to_string()));
                }
            }
            _ => {}
        }
    }
    Ok(Some(IpConfig::Static(s)))
}

/// A host name or IPv4 address usable in a `tftp://host/` URL.
pub fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

/// The [`Lease`] a static configuration amounts to, for discovery and the `ip=` handoff
/// (which read only leases). `server` becomes next-server, `tftp_server=` option 66.
pub fn lease_from_static(s: &StaticIp, iface: &str, mac: [u8; 6]) -> Lease {
    Lease {
        iface: iface.to_string(),
        mac,
        client: Some(s.client),
        netmask: s.netmask,
        gateway: s.gateway,
        dns: s.dns.clone(),
        hostname: s.hostname.clone(),
        next_server: s.server,
        tftp_server_name: s.tftp_server.clone(),
        ntp: s.ntp.clone(),
        ..Lease::default()
    }
}

/// Whether `link` is the one a static configuration names (by name or MAC).
pub fn names_link(device: &str, link: &LinkInfo) -> bool {
    link.name == device || (super::link::parse_mac(device).is_some_and(|m| link.mac == Some(m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn st(v: &str) -> StaticIp {
        match parse_ip_param(v) {
            Ok(IpConfig::Static(s)) => s,
            other => panic!("{v}: {other:?}"),
        }
    }

    #[test]
    fn single_words() {
        for w in ["dhcp", "on", "any", "bootp", "rarp", "both"] {
            assert_eq!(
                parse_ip_param(w),
                Ok(IpConfig::Dhcp { device: None }),
                "{w}"
            );
        }
        assert_eq!(parse_ip_param("off"), Ok(IpConfig::Off));
        assert_eq!(parse_ip_param("none"), Ok(IpConfig::Off));
        assert_eq!(
            parse_ip_param("dhcp6"),
            Err(IpParamError::BadAutoconf("dhcp6".into()))
        );
        assert_eq!(parse_ip_param(""), Ok(IpConfig::Off));
        assert!(matches!(
            parse_ip_param("192.0.2.300"),
            Err(IpParamError::BadAutoconf(_))
        ));
    }

    #[test]
    fn full_kernel_form() {
        let s = st("192.0.2.10:192.0.2.1:192.0.2.254:255.255.255.0:box:eth0:off:192.0.2.53:192.0.2.54:192.0.2.123");
        assert_eq!(
            s,
            StaticIp {
                client: ip("192.0.2.10"),
                server: Some(ip("192.0.2.1")),
                gateway: Some(ip("192.0.2.254")),
                netmask: Some(ip("255.255.255.0")),
                hostname: Some("box".into()),
                device: Some("eth0".into()),
                dns: vec![ip("192.0.2.53"), ip("192.0.2.54")],
                ntp: vec![ip("192.0.2.123")],
                tftp_server: None,
            }
        );
    }

    #[test]
    fn short_and_empty_fields() {
        let s = st("192.0.2.10");
        // No colon: a bare address is the client field alone.
        assert_eq!(s.client, ip("192.0.2.10"));
        let s = st("192.0.2.10::192.0.2.1:255.255.255.0");
        assert_eq!(s.server, None);
        assert_eq!(s.gateway, Some(ip("192.0.2.1")));
        assert_eq!(s.hostname, None);
        assert!(s.dns.is_empty());
        let s = st("192.0.2.10:::24::::");
        assert_eq!(s.netmask, Some(ip("255.255.255.0")));
        let s = st("192.0.2.10:::/0");
        assert_eq!(s.netmask, None);
        // A client address wins over autoconf=dhcp, as in the kernel.
        assert_eq!(st("192.0.2.10::::::dhcp").client, ip("192.0.2.10"));
        // 0.0.0.0 is "not given", as in the kernel.
        assert_eq!(
            parse_ip_param("0.0.0.0::0.0.0.0"),
            Ok(IpConfig::Dhcp { device: None })
        );
        assert_eq!(st("192.0.2.10::0.0.0.0").gateway, None);
        // Only dns1.
        assert_eq!(
            st("192.0.2.10::::::off::192.0.2.9").dns,
            vec![ip("192.0.2.9")]
        );
    }

    #[test]
    fn dhcp_with_device() {
        assert_eq!(
            parse_ip_param(":::::eth1:dhcp"),
            Ok(IpConfig::Dhcp {
                device: Some("eth1".into())
            })
        );
        assert_eq!(
            parse_ip_param("eth1:dhcp"),
            Ok(IpConfig::Dhcp {
                device: Some("eth1".into())
            })
        );
        assert_eq!(
            parse_ip_param(":::::eth1:"),
            Ok(IpConfig::Dhcp {
                device: Some("eth1".into())
            })
        );
        assert_eq!(parse_ip_param(":::::eth1:off"), Ok(IpConfig::Off));
        assert_eq!(
            parse_ip_param("eth1:dhcp6"),
            Err(IpParamError::BadAutoconf("dhcp6".into()))
        );
    }

    #[test]
    fn malformed() {
        use IpParamError::*;
        assert!(matches!(
            parse_ip_param("192.0.2.300::"),
            Err(BadAddress { .. })
        ));
        assert!(matches!(
            parse_ip_param("192.0.2.1:x:"),
            Err(BadAddress { .. })
        ));
        assert_eq!(
            parse_ip_param("192.0.2.1:::255.0.255.0"),
            Err(BadNetmask("255.0.255.0".into()))
        );
        assert_eq!(
            parse_ip_param("192.0.2.1:::33"),
            Err(BadNetmask("33".into()))
        );
        assert!(matches!(
            parse_ip_param("192.0.2.1::::a b"),
            Err(BadHostname(_))
        ));
        assert!(matches!(
            parse_ip_param(&format!("192.0.2.1::::{}", "h".repeat(65))),
            Err(BadHostname(_))
        ));
        assert!(matches!(
            parse_ip_param("192.0.2.1:::::averyveryverylongname"),
            Err(BadDevice(_))
        ));
        assert!(matches!(
            parse_ip_param("192.0.2.1::::::ibft"),
            Err(BadAutoconf(_))
        ));
        assert!(matches!(
            parse_ip_param("1:2:3:4:5:6:off:8:9:10:11"),
            Err(TooManyFields(11))
        ));
        assert!(matches!(parse_ip_param("[2001:db8::1]::::"), Err(Ipv6(_))));
        assert!(matches!(
            parse_ip_param("192.0.2.1::::::off:x"),
            Err(BadAddress { field: "dns0", .. })
        ));
        // Every error is one sentence.
        let e = parse_ip_param("192.0.2.1:::255.0.255.0").unwrap_err();
        assert_eq!(
            e.to_string(),
            "ip= netmask \"255.0.255.0\" is neither a contiguous dotted mask nor a prefix length 0-32"
        );
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn xbox_keys() {
        let c = from_conf_pairs(&pairs(&[
            ("tftp_server", "192.0.2.5"),
            ("ip", "192.0.2.20"),
            ("netmask", "255.255.255.0"),
            ("gateway", "192.0.2.1"),
            ("dns", "192.0.2.53, 192.0.2.54"),
            ("dns", "192.0.2.55"),
            ("timeout", "5"),
        ]))
        .unwrap();
        let Some(IpConfig::Static(s)) = c else {
            panic!("{c:?}")
        };
        assert_eq!(s.client, ip("192.0.2.20"));
        assert_eq!(s.netmask, Some(ip("255.255.255.0")));
        assert_eq!(s.gateway, Some(ip("192.0.2.1")));
        assert_eq!(
            s.dns,
            vec![ip("192.0.2.53"), ip("192.0.2.54"), ip("192.0.2.55")]
        );
        assert_eq!(s.tftp_server.as_deref(), Some("192.0.2.5"));
    }

    #[test]
    fn xbox_keys_edge_cases() {
        assert_eq!(from_conf_pairs(&pairs(&[("default", "x")])), Ok(None));
        assert_eq!(
            from_conf_pairs(&pairs(&[("ip", "dhcp"), ("gateway", "192.0.2.1")])),
            Ok(Some(IpConfig::Dhcp { device: None }))
        );
        assert_eq!(
            from_conf_pairs(&pairs(&[("gateway", "192.0.2.1")])),
            Err(IpParamError::KeyWithoutAddress("gateway".into()))
        );
        assert!(matches!(
            from_conf_pairs(&pairs(&[("ip", "192.0.2.2"), ("tftp_server", "a/b")])),
            Err(IpParamError::BadTftpServer(_))
        ));
        // Keys override the kernel-syntax fields.
        let Ok(Some(IpConfig::Static(s))) = from_conf_pairs(&pairs(&[
            ("ip", "192.0.2.2::192.0.2.1:255.255.0.0::::192.0.2.8"),
            ("netmask", "24"),
            ("dns", "192.0.2.9"),
        ])) else {
            panic!()
        };
        assert_eq!(s.netmask, Some(ip("255.255.255.0")));
        assert_eq!(s.gateway, Some(ip("192.0.2.1")));
        assert_eq!(s.dns, vec![ip("192.0.2.9")]);
    }

    #[test]
    fn lease_from_static_fields() {
        let mut s = st("192.0.2.10:192.0.2.1:192.0.2.254::box::off:192.0.2.53");
        s.tftp_server = Some("boot.example".into());
        let l = lease_from_static(&s, "eth0", [2, 0, 0, 0, 0, 1]);
        assert_eq!(l.iface, "eth0");
        assert_eq!(l.client, Some(ip("192.0.2.10")));
        assert_eq!(l.next_server, Some(ip("192.0.2.1")));
        assert_eq!(l.gateway, Some(ip("192.0.2.254")));
        assert_eq!(l.prefix_len(), Some(24), "classful default");
        assert_eq!(l.hostname.as_deref(), Some("box"));
        assert_eq!(l.boot_server().as_deref(), Some("boot.example"));
        assert_eq!(l.server_id, None);
    }

    /// The `ip_param` fuzz target's invariant over pseudo-random inputs from an alphabet
    /// that hits every branch: no panic, and a static result survives the handoff round trip.
    #[test]
    fn pseudo_fuzz_round_trip() {
        use crate::cmdline::handoff::handoff_args;
        use crate::config::model::Handoff;
        let check = |text: &str| -> bool {
            let Ok(IpConfig::Static(s)) = parse_ip_param(text) else {
                return false;
            };
            let lease = lease_from_static(&s, "eth0", [2, 0, 0, 0, 0, 1]);
            let args = handoff_args(Handoff::Default, &lease);
            let ip = crate::cmdline::get(&args, "ip").expect("ip= for a static address");
            let Ok(IpConfig::Static(back)) = parse_ip_param(&ip) else {
                panic!("{text:?} -> {ip:?}")
            };
            assert_eq!(back.client, s.client, "{text:?}");
            assert_eq!(back.gateway, s.gateway, "{text:?}");
            assert_eq!(back.netmask, s.netmask, "{text:?}");
            true
        };
        const ALPHA: &[u8] = b"0123456789..::::/abdefhnoprtx[]- ";
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut statics = 0;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 48) as usize;
            let mut y = x;
            let text: String = (0..len)
                .map(|_| {
                    y = y.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    ALPHA[(y >> 33) as usize % ALPHA.len()] as char
                })
                .collect();
            statics += usize::from(check(&text));
        }
        assert!(statics < 20_000);
        for t in [
            "192.0.2.1",
            "10.0.0.1::10.0.0.254:8",
            "192.0.2.1:::255.255.255.0:h::off",
            "192.0.2.1:::0",
            "192.0.2.1:192.0.2.2:0.0.0.0:/16:a:b:dhcp:1.1.1.1:2.2.2.2:3.3.3.3",
        ] {
            assert!(check(t), "{t}");
        }
    }
}
