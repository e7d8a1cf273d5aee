//! Network bring-up: links over netlink, a DHCPv4 client, resolv.conf. Produces a [`Lease`].
//! IPv6: SLAAC through the kernel plus a DHCPv6 client ([`bring_up_v6`]), producing a [`Lease6`].

pub mod dhcp4;
pub mod dhcp4_packet;
pub mod dhcp4_renew;
pub mod dhcp4_socket;
pub mod dhcp6;
pub mod dhcp6_socket;
pub mod link;
pub mod resolv;
pub mod slaac;
pub mod sntp;
pub mod static_ip;
mod udp;
pub mod wifi;

use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use link::{LinkError, LinkInfo, Netlink};

/// What the network layer learned for one interface: the address kboot configured and every
/// boot-relevant DHCP option. Later layers (discovery, the ip= handoff) read only this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
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
    /// Option 28, broadcast address.
    pub broadcast: Option<Ipv4Addr>,
    /// Option 42, NTP servers.
    pub ntp: Vec<Ipv4Addr>,
    /// Option 43, vendor-specific information (raw; PXE sub-options live here).
    pub vendor_specific: Option<Vec<u8>>,
    /// Option 119, domain search list (decoded names, in order).
    pub domain_search: Vec<String>,
    /// Option 203, iSCSI initiator IQN (iPXE).
    pub iscsi_initiator: Option<String>,
    /// Option 211, pxelinux reboot time in seconds (re-run discovery after this long).
    pub reboot_time: Option<u32>,
    /// Set when the lease came over Wi-Fi: the network's SSID. The target then gets no
    /// `ip=` handoff by default (its initramfs would need the credentials to use the link).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wireless: Option<String>,
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

impl Lease {
    /// Prefix length from option 1; without it, the classful default of the address
    /// (/8, /16, /24), as the kernel's own autoconfig does.
    pub fn prefix_len(&self) -> Option<u8> {
        if let Some(p) = self.netmask.and_then(link::prefix_len) {
            return Some(p);
        }
        let first = self.client?.octets()[0];
        Some(match first {
            0..=127 => 8,
            128..=191 => 16,
            _ => 24,
        })
    }

    /// Option 28, else the broadcast address computed from address and prefix.
    pub fn broadcast_addr(&self) -> Option<Ipv4Addr> {
        if self.broadcast.is_some() {
            return self.broadcast;
        }
        let p = u32::from(self.prefix_len()?);
        let host_mask = u32::MAX.checked_shr(p).unwrap_or(0);
        Some(Ipv4Addr::from(u32::from(self.client?) | host_mask))
    }
}

/// What IPv6 bring-up learned for one interface: its routable addresses (SLAAC and/or
/// DHCPv6 IA_NA) and the DHCPv6 options a netboot client uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Lease6 {
    /// Kernel interface name in kboot's own kernel (e.g. `eth0`).
    pub iface: String,
    /// Usable addresses that are not link-local: SLAAC first, then DHCPv6 ones.
    pub addresses: Vec<Ipv6Addr>,
    /// Option 23.
    pub dns: Vec<Ipv6Addr>,
    /// Option 59 (RFC 5970), e.g. `http://[2001:db8::1]/boot.ipxe` or QEMU's
    /// `tftp://[fec0:0000:…:0002]/file`.
    pub boot_file_url: Option<String>,
    /// Option 60 (RFC 5970), in order.
    pub boot_file_params: Vec<String>,
    /// Option 24.
    pub domain_search: Vec<String>,
}

/// Why the network could not be brought up.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error(transparent)]
    Dhcp(#[from] dhcp4_socket::RunError),
    #[error("no Ethernet interface found{}", .0.as_deref().map(|w| format!(" matching {w:?}")).unwrap_or_default())]
    NoInterface(Option<String>),
    #[error("no Ethernet interface got a carrier within {0} s (is a cable plugged in?)")]
    NoCarrier(u64),
    #[error("interface {0} is down; bring it up first or let kboot configure it")]
    LinkDown(String),
    #[error("interface {0} has no Ethernet address")]
    NoMac(String),
    #[error("the DHCP lease on {0} carries no usable address")]
    NoAddress(String),
    #[error("writing {path} failed: {err}")]
    Resolv { path: String, err: std::io::Error },
    #[error("DHCP failed on every interface with carrier ({tried}); the last error was: {last}")]
    AllFailed { tried: String, last: Box<NetError> },
    /// The lease could not be kept (NAK, expiry); the text says which interface and why.
    #[error("{0}")]
    LeaseLost(String),
    #[error(transparent)]
    Dhcp6(#[from] dhcp6_socket::RunError),
    #[error("IPv6 is disabled on {0} (or the kernel has no IPv6)")]
    Ipv6Disabled(String),
    #[error("{0} got no usable IPv6 link-local address within {1} s (duplicate address detection failed?)")]
    NoLinkLocal(String, u64),
    #[error("{iface} got no routable IPv6 address: {why}")]
    NoAddress6 { iface: String, why: String },
}

/// How long `bring_up` waits for a carrier.
pub const CARRIER_TIMEOUT: Duration = Duration::from_secs(5);
const RESOLV_CONF: &str = "/etc/resolv.conf";

fn dhcp_config(link: &LinkInfo) -> Result<dhcp4::Config, NetError> {
    let mac = link.mac.ok_or_else(|| NetError::NoMac(link.name.clone()))?;
    let mut cfg = dhcp4::Config::new(&link.name, mac, dhcp4_socket::rand_xid());
    cfg.arch = dhcp4_socket::detect_arch();
    cfg.uuid = dhcp4_socket::detect_uuid();
    Ok(cfg)
}

/// Apply a lease: flush the interface's IPv4 addresses, add the leased one with prefix and
/// broadcast, add the default route, write /etc/resolv.conf (when the lease names DNS).
fn apply_lease(
    nl: &mut Netlink,
    index: u32,
    lease: &Lease,
    resolv_path: &Path,
    report: &mut dyn FnMut(String),
) -> Result<(), NetError> {
    let (Some(addr), Some(prefix)) = (lease.client, lease.prefix_len()) else {
        return Err(NetError::NoAddress(lease.iface.clone()));
    };
    nl.flush_addresses(index)?;
    nl.add_address(index, addr, prefix, lease.broadcast_addr())?;
    if let Some(gw) = lease.gateway.filter(|g| !g.is_unspecified()) {
        nl.add_default_route(index, gw)?;
        report(format!("{}: default route via {gw}", lease.iface));
    }
    if !lease.dns.is_empty() {
        resolv::write(lease, resolv_path).map_err(|err| NetError::Resolv {
            path: resolv_path.display().to_string(),
            err,
        })?;
    }
    Ok(())
}

fn lease_line(lease: &Lease) -> String {
    let addr = lease.client.map_or_else(|| "?".into(), |a| a.to_string());
    let prefix = lease
        .prefix_len()
        .map_or_else(String::new, |p| format!("/{p}"));
    let server = lease
        .server_id
        .map_or_else(|| "an unidentified server".into(), |s| s.to_string());
    format!("{}: DHCP lease {addr}{prefix} from {server}", lease.iface)
}

/// The Ethernet interfaces the kernel has now (`/sys/class/net/*/type` is 1, ARPHRD_ETHER),
/// wireless ones left out, sorted by name: what [`bring_up`] would try.
pub fn ethernet_interfaces() -> Vec<String> {
    ethernet_interfaces_in(Path::new("/sys/class/net"))
}

/// [`ethernet_interfaces`] under another sysfs folder (tests).
pub fn ethernet_interfaces_in(class_net: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(class_net)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| std::fs::read_to_string(e.path().join("type")).is_ok_and(|t| t.trim() == "1"))
        .filter(|e| !e.path().join("wireless").exists() && !e.path().join("phy80211").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Bring the network up for booting: `lo` up with 127.0.0.1/8, every Ethernet link (or only
/// `wanted`, an interface name or MAC from `kboot.net=`) up, and DHCP on every link with a
/// carrier at the same time. The first lease wins: it is applied (address, default route,
/// /etc/resolv.conf), the other exchanges are stopped and a lease one of them got meanwhile
/// is released. A link whose carrier comes later joins while others are still trying; with no
/// exchange running, links get [`CARRIER_TIMEOUT`] to show a carrier.
pub fn bring_up(wanted: Option<&str>, report: &mut dyn FnMut(String)) -> Result<Lease, NetError> {
    bring_up_at(wanted, Path::new(RESOLV_CONF), report)
}

/// [`bring_up`] writing the resolver configuration to `resolv_conf` (tests).
pub fn bring_up_at(
    wanted: Option<&str>,
    resolv_conf: &Path,
    report: &mut dyn FnMut(String),
) -> Result<Lease, NetError> {
    let mut nl = Netlink::open()?;
    let links = nl.links()?;
    if let Some(lo) = links.iter().find(|l| l.is_loopback) {
        nl.set_up(lo.index)?;
        nl.add_address(lo.index, Ipv4Addr::LOCALHOST, 8, None)?;
    }
    let wanted_mac = wanted.and_then(link::parse_mac);
    let candidates: Vec<LinkInfo> = links
        .into_iter()
        .filter(|l| match wanted {
            Some(w) => {
                !l.is_loopback && (l.name == w || (wanted_mac.is_some() && l.mac == wanted_mac))
            }
            // Wireless links need a supplicant first: they are Wi-Fi's (see wifi::bringup).
            None => l.is_ethernet && !wifi::device::is_wireless(&l.name),
        })
        .collect();
    if candidates.is_empty() {
        return Err(NetError::NoInterface(wanted.map(str::to_string)));
    }
    for l in &candidates {
        nl.set_up(l.index)?;
        report(format!("{}: link up", l.name));
    }
    let mut race = DhcpRace::new();
    let outcome = race.run(&mut nl, &candidates, resolv_conf, report);
    race.finish(report);
    outcome
}

/// What a DHCP thread tells [`bring_up`].
enum RaceMsg {
    Log(String),
    Done(u32, Box<Result<Lease, NetError>>),
}

/// DHCP on several links at once (see [`bring_up`]).
struct DhcpRace {
    stop: std::sync::Arc<AtomicBool>,
    tx: std::sync::mpsc::Sender<RaceMsg>,
    rx: std::sync::mpsc::Receiver<RaceMsg>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl DhcpRace {
    fn new() -> DhcpRace {
        let (tx, rx) = std::sync::mpsc::channel();
        DhcpRace {
            stop: Default::default(),
            tx,
            rx,
            threads: Vec::new(),
        }
    }

    fn start(&mut self, link: &LinkInfo) {
        let cfg = dhcp_config(link);
        let tx = self.tx.clone();
        let stop = self.stop.clone();
        let index = link.index;
        let spawned = std::thread::Builder::new()
            .name(format!("dhcp-{}", link.name))
            .spawn(move || {
                let log = tx.clone();
                let result = cfg.and_then(|cfg| {
                    let mut report = |line: String| {
                        let _ = log.send(RaceMsg::Log(line));
                    };
                    Ok(dhcp4_socket::run_until(cfg, &mut report, &stop)?)
                });
                let _ = tx.send(RaceMsg::Done(index, Box::new(result)));
            });
        match spawned {
            Ok(t) => self.threads.push(t),
            Err(e) => {
                let err = NetError::Dhcp(dhcp4_socket::RunError::Socket(
                    dhcp4_socket::SocketError::Open {
                        iface: link.name.clone(),
                        err: e,
                    },
                ));
                let _ = self.tx.send(RaceMsg::Done(index, Box::new(Err(err))));
            }
        }
    }

    fn run(
        &mut self,
        nl: &mut Netlink,
        candidates: &[LinkInfo],
        resolv_conf: &Path,
        report: &mut dyn FnMut(String),
    ) -> Result<Lease, NetError> {
        let name = |i: u32| {
            candidates
                .iter()
                .find(|l| l.index == i)
                .map_or("?", |l| l.name.as_str())
        };
        let carrier_deadline = Instant::now() + CARRIER_TIMEOUT;
        let mut started: Vec<u32> = Vec::new();
        let mut running = 0usize;
        let mut last: Option<NetError> = None;
        loop {
            let pending: Vec<u32> = candidates
                .iter()
                .map(|l| l.index)
                .filter(|i| !started.contains(i))
                .collect();
            let waiting_for_carrier =
                !pending.is_empty() && (running > 0 || Instant::now() < carrier_deadline);
            if running == 0 && !waiting_for_carrier {
                break;
            }
            if waiting_for_carrier {
                for index in nl.wait_carrier(&pending, Duration::ZERO)? {
                    let Some(link) = candidates.iter().find(|l| l.index == index) else {
                        continue;
                    };
                    report(format!("{}: carrier", link.name));
                    started.push(index);
                    running += 1;
                    self.start(link);
                }
            }
            match self.rx.recv_timeout(Duration::from_millis(50)) {
                Ok(RaceMsg::Log(line)) => report(line),
                Ok(RaceMsg::Done(index, result)) => match *result {
                    Ok(lease) => {
                        running -= 1;
                        self.stop.store(true, Ordering::Relaxed);
                        if running > 0 {
                            report(format!(
                                "{}: lease first; stopping DHCP on the other links",
                                lease.iface
                            ));
                        }
                        apply_lease(nl, index, &lease, resolv_conf, report)?;
                        report(lease_line(&lease));
                        return Ok(lease);
                    }
                    Err(e) => {
                        running -= 1;
                        report(format!("{}: {e}", name(index)));
                        last = Some(e);
                    }
                },
                Err(_) => {}
            }
        }
        Err(match last {
            None => NetError::NoCarrier(CARRIER_TIMEOUT.as_secs()),
            Some(last) => NetError::AllFailed {
                tried: candidates
                    .iter()
                    .filter(|l| started.contains(&l.index))
                    .map(|l| l.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                last: Box::new(last),
            },
        })
    }

    /// Stop what still runs and wait for it; a lease another link got meanwhile is released.
    fn finish(self, report: &mut dyn FnMut(String)) {
        self.stop.store(true, Ordering::Relaxed);
        drop(self.tx);
        for t in self.threads {
            let _ = t.join();
        }
        for msg in self.rx.try_iter() {
            let RaceMsg::Done(_, result) = msg else {
                continue;
            };
            if let Ok(lease) = *result {
                report(match dhcp4_socket::release_unconfigured(&lease) {
                    Ok(()) => format!("{}: released the lease it got too late", lease.iface),
                    Err(e) => format!("{}: {e}", lease.iface),
                });
            }
        }
    }
}

/// Run DHCP on one interface for the host CLI (`kboot dhcp IFACE`). Without `apply` nothing
/// is configured (the link must already be up); with `apply` the link is brought up and the
/// lease is applied as [`bring_up`] does, writing /etc/resolv.conf.
pub fn dhcp_on(
    iface: &str,
    apply: bool,
    report: &mut dyn FnMut(String),
) -> Result<Lease, NetError> {
    dhcp_on_at(iface, apply, Path::new(RESOLV_CONF), report)
}

/// [`dhcp_on`] with the resolv.conf path to write when applying (tests, chroots).
pub fn dhcp_on_at(
    iface: &str,
    apply: bool,
    resolv_conf: &Path,
    report: &mut dyn FnMut(String),
) -> Result<Lease, NetError> {
    let mut nl = Netlink::open()?;
    let link = nl.find(iface)?;
    if apply {
        nl.set_up(link.index)?;
        if nl.wait_carrier(&[link.index], CARRIER_TIMEOUT)?.is_empty() {
            return Err(NetError::NoCarrier(CARRIER_TIMEOUT.as_secs()));
        }
    } else if !link.is_up() {
        return Err(NetError::LinkDown(link.name));
    }
    let lease = dhcp4_socket::run(dhcp_config(&link)?, report)?;
    if apply {
        apply_lease(&mut nl, link.index, &lease, resolv_conf, report)?;
    }
    report(lease_line(&lease));
    Ok(lease)
}

/// Configure an interface from a static `ip=` (or kboot.conf) configuration, as
/// [`bring_up`] does from a lease: `lo` up, the interface up, address, default route and
/// /etc/resolv.conf (when DNS servers are given). The interface is `s.device`, else `wanted`
/// (`kboot.net=`/`BOOTIF=`: a name or MAC), else the first Ethernet link to get a carrier
/// within [`CARRIER_TIMEOUT`] (else the first Ethernet link: a static address does not need a
/// carrier to be configured). Returns the equivalent [`Lease`] for discovery and the handoff.
pub fn apply_static(
    s: &static_ip::StaticIp,
    wanted: Option<&str>,
    report: &mut dyn FnMut(String),
) -> Result<Lease, NetError> {
    apply_static_at(s, wanted, Path::new(RESOLV_CONF), report)
}

/// [`apply_static`] with the resolv.conf path to write (tests, chroots).
pub fn apply_static_at(
    s: &static_ip::StaticIp,
    wanted: Option<&str>,
    resolv_conf: &Path,
    report: &mut dyn FnMut(String),
) -> Result<Lease, NetError> {
    let mut nl = Netlink::open()?;
    let links = nl.links()?;
    if let Some(lo) = links.iter().find(|l| l.is_loopback) {
        nl.set_up(lo.index)?;
        nl.add_address(lo.index, Ipv4Addr::LOCALHOST, 8, None)?;
    }
    let name = s.device.as_deref().or(wanted);
    let link = match name {
        Some(n) => links
            .iter()
            .find(|l| !l.is_loopback && static_ip::names_link(n, l))
            .cloned()
            .ok_or_else(|| NetError::NoInterface(Some(n.to_string())))?,
        None => {
            let eth: Vec<&LinkInfo> = links.iter().filter(|l| l.is_ethernet).collect();
            for l in &eth {
                nl.set_up(l.index)?;
            }
            let idx: Vec<u32> = eth.iter().map(|l| l.index).collect();
            let ready = if idx.is_empty() {
                Vec::new()
            } else {
                nl.wait_carrier(&idx, CARRIER_TIMEOUT)?
            };
            let pick = ready.first().copied().or(idx.first().copied());
            eth.iter()
                .find(|l| Some(l.index) == pick)
                .map(|l| (*l).clone())
                .ok_or(NetError::NoInterface(None))?
        }
    };
    let mac = link.mac.ok_or_else(|| NetError::NoMac(link.name.clone()))?;
    nl.set_up(link.index)?;
    report(format!("{}: link up", link.name));
    if nl.wait_carrier(&[link.index], CARRIER_TIMEOUT)?.is_empty() {
        report(format!(
            "{}: no carrier yet; configuring the static address anyway",
            link.name
        ));
    }
    let lease = static_ip::lease_from_static(s, &link.name, mac);
    apply_lease(&mut nl, link.index, &lease, resolv_conf, report)?;
    let prefix = lease
        .prefix_len()
        .map_or_else(String::new, |p| format!("/{p}"));
    report(format!(
        "{}: static address {}{prefix}",
        lease.iface, s.client
    ));
    Ok(lease)
}

/// Send a DHCPRELEASE for `lease` (best effort; call just before kexec so the server can
/// hand the address out again, or skip it when the target is expected to keep the address).
/// A lease without a server identifier (a static configuration) sends nothing.
pub fn release(lease: &Lease) -> Result<(), NetError> {
    if lease.server_id.is_none() {
        return Ok(());
    }
    dhcp4_socket::release(lease).map_err(|e| NetError::Dhcp(dhcp4_socket::RunError::Socket(e)))
}

/// How often [`renew_loop`] looks at its stop flag.
const RENEW_POLL: Duration = Duration::from_millis(200);

/// Keep `lease` alive while the menu waits: renew at T1 by unicast DHCPREQUEST, rebind at T2,
/// as [`dhcp4_renew::Renewal`] describes. Meant to run on its own thread; returns the latest
/// lease when `stop` is set (checked every 200 ms), or [`NetError::LeaseLost`] when the server
/// refuses the renewal or the lease expires. The lease is taken as bound at the call; renewed
/// options are reported but not re-applied (the address stays the same by construction).
pub fn renew_loop(
    lease: &Lease,
    stop: &AtomicBool,
    report: &mut dyn FnMut(String),
) -> Result<Lease, NetError> {
    let mut r = dhcp4_renew::Renewal::new(lease.clone(), Instant::now(), dhcp4_socket::rand_xid());
    renew_with(&mut r, stop, report)
}

/// [`renew_loop`] with a prepared state machine (tests shorten its timers).
pub fn renew_with(
    r: &mut dhcp4_renew::Renewal,
    stop: &AtomicBool,
    report: &mut dyn FnMut(String),
) -> Result<Lease, NetError> {
    let sock_err = |e| NetError::Dhcp(dhcp4_socket::RunError::Socket(e));
    let iface = r.lease().iface.clone();
    let mut sock: Option<dhcp4_socket::DhcpSocket> = None;
    let mut buf = vec![0u8; 4096];
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(r.lease().clone());
        }
        let now = Instant::now();
        let Some(deadline) = r.deadline() else {
            std::thread::sleep(RENEW_POLL);
            continue;
        };
        let step = if now >= deadline {
            r.on_timeout(now)
        } else {
            // Open the socket lazily: nothing listens on port 68 until T1 is near.
            let wait_until = deadline.min(now + RENEW_POLL);
            match &sock {
                Some(s) => match s.recv_until(&mut buf, wait_until).map_err(sock_err)? {
                    Some(n) => r.on_packet(&buf[..n], Instant::now()),
                    None => continue,
                },
                None => {
                    std::thread::sleep(wait_until.saturating_duration_since(now));
                    continue;
                }
            }
        };
        for line in step.log {
            report(line);
        }
        if !step.send.is_empty() && sock.is_none() {
            sock = Some(dhcp4_socket::DhcpSocket::open(&iface).map_err(sock_err)?);
        }
        if let Some(s) = &sock {
            for t in &step.send {
                s.send(t).map_err(sock_err)?;
            }
        }
        match step.outcome {
            dhcp4_renew::RenewOutcome::Pending => {}
            dhcp4_renew::RenewOutcome::Renewed(_) => {}
            dhcp4_renew::RenewOutcome::Lost(why) => return Err(NetError::LeaseLost(why)),
        }
    }
}

/// How long [`bring_up_v6`] waits for a usable link-local address (DAD takes ~1–2 s).
pub const LINK_LOCAL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long [`bring_up_v6`] waits for a router advertisement. The kernel solicits one up to
/// 1 s after the link-local address is usable and again 4 s later (rtr_solicit_interval);
/// routers answer at once. 6 s sees the answer to that second solicitation too, so one lost
/// solicitation (or a router whose own address was still tentative) doesn't lose the M/O flags.
pub const RA_TIMEOUT: Duration = Duration::from_secs(6);
/// How long [`bring_up_v6`] waits for SLAAC addresses and for DAD of DHCPv6 addresses.
pub const ADDRESS_TIMEOUT: Duration = Duration::from_secs(4);

/// Bring IPv6 up on `iface` for booting, like u-root's netboot: link up, wait for a
/// link-local address and a router advertisement (the kernel does SLAAC), then DHCPv6 in the
/// mode the RA asks for:
/// - M flag: stateful (SOLICIT/REQUEST for an IA_NA address), switching to
///   INFORMATION-REQUEST when no server advertises within 5 s;
/// - O flag: stateless INFORMATION-REQUEST (DNS, boot-file URL);
/// - an RA with neither flag (QEMU's user network, which still answers
///   INFORMATION-REQUEST): INFORMATION-REQUEST for at most 6 s;
/// - no RA at all: stateful for 3 s, then INFORMATION-REQUEST, 15 s in all.
///
/// DHCPv6 addresses are added as /128 and used once DAD has passed. A DHCPv6 failure is
/// reported but not fatal when SLAAC gave an address; having no routable address at all is.
/// Nothing is written to /etc/resolv.conf (see [`bring_up_v6_at`]).
pub fn bring_up_v6(iface: &str, report: &mut dyn FnMut(String)) -> Result<Lease6, NetError> {
    bring_up_v6_at(iface, None, report)
}

/// [`bring_up_v6`], also adding the DHCPv6 DNS servers and search domains to `resolv_conf`
/// (kept lines stay; PID 1 passes `/etc/resolv.conf` after DHCPv4 wrote it, tests a
/// temporary file).
pub fn bring_up_v6_at(
    iface: &str,
    resolv_conf: Option<&Path>,
    report: &mut dyn FnMut(String),
) -> Result<Lease6, NetError> {
    let mut nl = Netlink::open()?;
    let link = nl.find(iface)?;
    let name = link.name.clone();
    if slaac::ipv6_disabled(&name) {
        return Err(NetError::Ipv6Disabled(name));
    }
    let mac = link.mac.ok_or_else(|| NetError::NoMac(name.clone()))?;
    nl.set_up(link.index)?;
    if nl.wait_carrier(&[link.index], CARRIER_TIMEOUT)?.is_empty() {
        return Err(NetError::NoCarrier(CARRIER_TIMEOUT.as_secs()));
    }
    let mut v6 = slaac::V6Netlink::open()?;
    let Some(ll) = v6.wait_link_local(link.index, LINK_LOCAL_TIMEOUT)? else {
        return Err(NetError::NoLinkLocal(name, LINK_LOCAL_TIMEOUT.as_secs()));
    };
    report(format!("{name}: IPv6 link-local {ll}"));
    let ra = v6.wait_ra(link.index, RA_TIMEOUT)?;
    let mut cfg = dhcp6::Config::new(&name, mac, dhcp4_socket::rand_xid(), dhcp6::Mode::Stateless);
    cfg.arch = dhcp4_socket::detect_arch();
    match ra {
        Some(f) if f.managed => {
            report(format!(
                "{name}: router advertisement with M flag: stateful DHCPv6"
            ));
            cfg.mode = dhcp6::Mode::Stateful;
            cfg.info_fallback = Some(Duration::from_secs(5));
        }
        Some(f) if f.other => {
            report(format!(
                "{name}: router advertisement with O flag: stateless DHCPv6"
            ));
        }
        Some(_) => {
            report(format!(
                "{name}: router advertisement without M/O flags: trying stateless DHCPv6 briefly"
            ));
            cfg.give_up = Duration::from_secs(6);
        }
        None => {
            report(format!(
                "{name}: no router advertisement within {} s: trying stateful, then stateless DHCPv6",
                RA_TIMEOUT.as_secs()
            ));
            cfg.mode = dhcp6::Mode::Stateful;
            cfg.info_fallback = Some(Duration::from_secs(3));
            cfg.give_up = Duration::from_secs(15);
        }
    }
    // SLAAC runs in parallel with DHCPv6; it only needs the RA, which has arrived.
    let dhcp = dhcp6_socket::run(cfg, link.index, report);
    let mut lease = match dhcp {
        Ok(l) => l,
        Err(e) => {
            report(format!("{name}: {e}"));
            Lease6 {
                iface: name.clone(),
                ..Lease6::default()
            }
        }
    };
    let leased = std::mem::take(&mut lease.addresses);
    for a in &leased {
        v6.add_address(link.index, *a, 128)?;
    }
    let mut addresses = if ra.is_some() && leased.is_empty() {
        v6.wait_global(link.index, ADDRESS_TIMEOUT)?
    } else {
        v6.global_addresses(link.index)?
    };
    if !leased.is_empty() {
        let ok = v6.wait_usable(link.index, &leased, ADDRESS_TIMEOUT)?;
        for a in &leased {
            if !ok.contains(a) {
                report(format!(
                    "{name}: DHCPv6 address {a} failed duplicate address detection"
                ));
            }
        }
        addresses.retain(|a| !leased.contains(a));
        addresses.extend(ok);
    }
    if addresses.is_empty() {
        let why = if ra.is_none() {
            "no router advertisement and no DHCPv6 address".to_string()
        } else {
            "the router advertisement gave no SLAAC prefix and DHCPv6 no address".to_string()
        };
        return Err(NetError::NoAddress6 { iface: name, why });
    }
    lease.addresses = addresses;
    if let Some(path) = resolv_conf.filter(|_| !lease.dns.is_empty()) {
        add_resolv6(&lease, path).map_err(|err| NetError::Resolv {
            path: path.display().to_string(),
            err,
        })?;
    }
    report(lease6_line(&lease));
    Ok(lease)
}

fn lease6_line(l: &Lease6) -> String {
    let addrs = l
        .addresses
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let boot = l
        .boot_file_url
        .as_deref()
        .map(|u| format!("; boot file {u}"))
        .unwrap_or_default();
    format!("{}: IPv6 {addrs}{boot}", l.iface)
}

/// Add `nameserver` lines for the lease's DNS servers (and its search domains to a `search`
/// line) to `path`, keeping what is there.
fn add_resolv6(l: &Lease6, path: &Path) -> std::io::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = String::new();
    let mut search: Vec<String> = Vec::new();
    for line in old.lines() {
        if let Some(rest) = line.strip_prefix("search ") {
            search.extend(rest.split_whitespace().map(str::to_string));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    for d in &l.dns {
        let line = format!("nameserver {d}");
        if !old.lines().any(|x| x.trim() == line) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    for s in &l.domain_search {
        if !search.contains(s) {
            search.push(s.clone());
        }
    }
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    std::fs::write(path, out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ethernet_interfaces_are_the_type_1_links_sorted() {
        let dir = std::env::temp_dir().join(format!("kboot-class-net-{}", std::process::id()));
        for (name, kind) in [
            ("lo", "772"),
            ("eth1", "1"),
            ("eth0", "1\n"),
            ("wg0", "65534"),
        ] {
            std::fs::create_dir_all(dir.join(name)).expect("mkdir");
            std::fs::write(dir.join(name).join("type"), kind).expect("write");
        }
        std::fs::create_dir_all(dir.join("broken")).expect("mkdir");
        assert_eq!(super::ethernet_interfaces_in(&dir), ["eth0", "eth1"]);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(super::ethernet_interfaces_in(&dir).is_empty());
    }
}
