//! The supervisor: starts the background workers (network, discovery, boots), runs the menu,
//! and restarts the menu if it ever panics. As PID 1 it never returns.
//!
//! ```text
//!  discovery thread --UiEvent--> menu (UI thread) --UiCommand--> command thread --> boot thread
//!        ^                                                                           |
//!        '------------------------ UiEvent (progress, errors) <---------------------'
//! ```

use super::args::KernelArgs;
use super::power::{self, PowerAction};
use crate::boot::payload::{
    fetch_payload, Payload, PayloadKey, Prefetch, PrefetchFlags, ProgressSum,
};
use crate::boot::prepare::{BootEvent, Loaded};
use crate::boot::BootSpec;
use crate::config::Menu;
use crate::fetch::{self, FetchOptions};
use crate::net::Lease;
use crate::ui::app::Preload;
use crate::ui::{UiCommand, UiEvent};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where the supervisor runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The real thing: bring the network up, kexec for real, reboot and power off.
    Pid1,
    /// On a host, for trying the menu: use the host's network, load with kexec but do not
    /// reboot into it, no power actions.
    Host,
}

/// State the threads share.
struct Shared {
    mode: Mode,
    events: Sender<UiEvent>,
    menu: Mutex<Option<(Menu, String)>>,
    lease: Mutex<Option<Lease>>,
    cancel: AtomicBool,
    busy: AtomicBool,
    /// Submenus for the configs found on local disks, shown after the config's entries.
    /// The Wi-Fi link in use.
    wifi: Mutex<Option<crate::net::wifi::bringup::WifiLink>>,
    /// kboot's wpa_supplicant, once Wi-Fi was used (the flow or the Wi-Fi screen).
    supplicant: Mutex<Option<crate::net::wifi::device::Supplicant>>,
    /// The "Local disks" menu: one submenu per config found on a disk.
    disk_menu: Mutex<Menu>,
    /// `kboot.timeout=`: replaces every config's countdown.
    timeout_override: Option<u64>,
    /// Set before kexec: the DHCP renew thread stops.
    stop_renew: AtomicBool,
    /// The default entry's files, downloading while the menu counts down.
    prefetch: Mutex<Option<Prefetch>>,
    /// What the drivers thread saw (NICs and disks that appeared, drivers loaded):
    /// `hw_events.subscribe()` to hear of them.
    hw_events: crate::hw::Events,
    /// The trusted keys and `kboot.verify=`.
    trust: crate::trust::Trust,
}

impl Shared {
    fn new(mode: Mode, events: Sender<UiEvent>, timeout_override: Option<u64>) -> Shared {
        Shared {
            mode,
            events,
            menu: Mutex::new(None),
            lease: Mutex::new(None),
            cancel: AtomicBool::new(false),
            busy: AtomicBool::new(false),
            disk_menu: Mutex::new(Menu::default()),
            wifi: Mutex::new(None),
            supplicant: Mutex::new(None),
            timeout_override,
            stop_renew: AtomicBool::new(false),
            prefetch: Mutex::new(None),
            hw_events: crate::hw::Events::default(),
            trust: crate::trust::Trust::default(),
        }
    }

    fn send(&self, ev: UiEvent) {
        let _ = self.events.send(ev);
    }
    fn log(&self, line: impl Into<String>) {
        self.send(UiEvent::Log(line.into()));
    }
}

/// Run kboot's loader. Never returns.
pub fn run(args: KernelArgs, mode: Mode, started: Instant) -> ! {
    let (ev_tx, ev_rx) = mpsc::channel::<UiEvent>();
    let (cmd_tx, cmd_rx) = mpsc::channel::<UiCommand>();
    let mut shared = Shared::new(mode, ev_tx, args.timeout_s);
    let key_file = std::fs::read_to_string(crate::trust::KEY_FILE).ok();
    let (trust, problems) = crate::trust::Trust::from_parts(
        key_file.as_deref(),
        &args.trust_keys,
        args.verify.as_deref(),
    );
    let (certs, cert_problems) =
        crate::trust::load_certs(std::path::Path::new(crate::trust::authenticode::CERT_DIR));
    let trust = trust.with_certs(certs, args.verify.as_deref());
    for p in problems.into_iter().chain(cert_problems) {
        shared.send(UiEvent::Error(p));
    }
    if trust.policy != crate::trust::Policy::Off
        && (!trust.keys.is_empty() || trust.certs.is_empty())
    {
        shared.log(format!(
            "kboot.verify={}: trusted key {}",
            trust.policy,
            trust.key_list()
        ));
    }
    if !trust.certs.is_empty() {
        shared.log(format!(
            "kboot.verify={}: trusted certificates for unified kernel images: {}",
            trust.policy,
            trust.cert_list()
        ));
    }
    shared.trust = trust;
    let shared = Arc::new(shared);
    shared.log(format!(
        "kboot {} started ({} ms after /init, uptime {})",
        env!("CARGO_PKG_VERSION"),
        started.elapsed().as_millis(),
        std::fs::read_to_string("/proc/uptime")
            .ok()
            .and_then(|u| u.split_whitespace().next().map(|s| format!("{s} s")))
            .unwrap_or_else(|| "unknown".into())
    ));
    // The menu's first frame comes before everything else: on one slow CPU (TCG) the mounts
    // and threads below would otherwise delay it by tens of milliseconds. As PID 1 with a menu
    // they start right after that frame, on the menu's thread (or when the menu cannot start).
    let start = {
        let shared = shared.clone();
        let args = args.clone();
        move || start_workers(&args, &shared, cmd_rx, started)
    };
    if mode == Mode::Pid1 && !args.menu_off {
        crate::ui::after_first_frame(Box::new(start));
    } else {
        start();
    }

    if args.menu_off {
        unattended(ev_rx, cmd_tx)
    }
    // As PID 1 the menu runs on every console= at once (serial and VGA); on a host, on this
    // terminal. A command line without console= (UEFI's \EFI\BOOT\BOOTX64.EFI, a coreboot
    // payload or a PXE ROM started kboot without arguments): the screen and the first serial
    // port (arm64's is a PL011, ttyAMA0), as far as they exist.
    let mut opts = crate::ui::RunOptions {
        consoles: if mode == Mode::Pid1 && args.consoles.is_empty() {
            let serial = if cfg!(target_arch = "aarch64") {
                "ttyAMA0"
            } else {
                "ttyS0"
            };
            vec!["tty0".into(), serial.into()]
        } else if mode == Mode::Pid1 {
            args.consoles.clone()
        } else {
            Vec::new()
        },
        // The first frame's timing goes to the kernel log too: PID 1's only.
        started: (mode == Mode::Pid1).then_some(started),
        ..Default::default()
    };
    loop {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            crate::ui::run(&ev_rx, cmd_tx.clone(), opts.clone())
        }));
        // Only the first run's first frame is timed. A menu that could not draw at all must
        // not keep the network and the boot from starting.
        opts.started = None;
        crate::ui::run_after_first_frame();
        match result {
            Ok(Ok(())) => eprintln!("kboot: the menu ended; starting it again"),
            Ok(Err(e)) => eprintln!("kboot: the menu failed: {e}; starting it again"),
            Err(_) => eprintln!("kboot: the menu crashed (a bug); starting it again"),
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The background work: PID 1's late set-up, then the drivers, discovery, disk scan and
/// command threads.
fn start_workers(
    args: &KernelArgs,
    shared: &Arc<Shared>,
    cmd_rx: Receiver<UiCommand>,
    started: Instant,
) {
    let mode = shared.mode;
    if mode == Mode::Pid1 {
        super::late_setup(&mut |l| shared.log(l));
    }
    // Drivers first: the NIC discovery waits for may need a module. The thread runs beside the
    // menu for ever (hotplug) and only logs. Discovery and the disk scan subscribe to what it
    // sees before it starts, so they miss nothing (a NIC or disk that shows up late).
    let (nic_events, disk_events) = if mode == Mode::Pid1 {
        let subscribed = (
            Some(shared.hw_events.subscribe()),
            Some(shared.hw_events.subscribe()),
        );
        let opts = crate::hw::drivers::DriverOptions {
            modprobe: args.modprobe.clone(),
            blacklist: args.blacklist.clone(),
            started: Some(started),
        };
        spawn_guarded("drivers", shared.clone(), move |s| {
            crate::hw::drivers::run(&opts, &s.hw_events, &mut |l| s.log(l))
        });
        subscribed
    } else {
        (None, None)
    };
    spawn_guarded("discovery", shared.clone(), {
        let args = args.clone();
        move |s| discover_and_follow(&args, &s, nic_events)
    });
    if mode == Mode::Pid1 && !args.no_disks {
        spawn_guarded("disks", shared.clone(), move |s| {
            scan_disks(&s);
            if let Some(rx) = disk_events {
                rescan_disks_on_hotplug(&rx, &s);
            }
        });
    }
    spawn_guarded("commands", shared.clone(), {
        let args = args.clone();
        move |s| handle_commands(cmd_rx, &args, &s)
    });
}

/// `kboot.menu=off`: no TUI. Print every event as a plain line and boot the default entry of
/// the first menu that arrives.
fn unattended(events: Receiver<UiEvent>, commands: Sender<UiCommand>) -> ! {
    let mut booted = false;
    loop {
        match events.recv() {
            Ok(UiEvent::Menu { source, menu }) => {
                println!("kboot: menu from {source}: {} entries", menu.entries.len());
                if !booted {
                    if let Some(spec) = menu
                        .default_entry()
                        .and_then(|e| crate::cmdline::entry_to_boot_spec(e, None))
                    {
                        println!("kboot: booting '{}'", spec.title);
                        booted = commands.send(UiCommand::Boot(spec)).is_ok();
                    }
                }
            }
            Ok(UiEvent::Progress(_)) | Ok(UiEvent::Preload(_)) => {}
            Ok(UiEvent::Error(e)) => {
                println!("kboot: error: {e}");
                booted = false;
            }
            Ok(UiEvent::Log(l)) | Ok(UiEvent::NetStatus(l)) => println!("kboot: {l}"),
            Ok(other) => println!("kboot: {other:?}"),
            Err(_) => std::thread::sleep(Duration::from_secs(1)),
        }
    }
}

/// Run `body` on a named thread; a panic becomes an error line instead of a dead thread nobody
/// notices.
fn spawn_guarded(name: &str, shared: Arc<Shared>, body: impl FnOnce(Arc<Shared>) + Send + 'static) {
    let thread_name = name.to_string();
    let s2 = shared.clone();
    let spawned = std::thread::Builder::new()
        .name(thread_name.clone())
        .spawn(move || {
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(shared))).is_err() {
                s2.send(UiEvent::Error(format!(
                    "internal error in the {thread_name} worker (a bug): the menu still works"
                )));
            }
        });
    if let Err(e) = spawned {
        eprintln!("kboot: cannot start the {name} thread: {e}");
    }
}

/// How long discovery waits for the drivers of the devices present at start when there is no
/// Ethernet interface yet (its driver may be a module in the pack).
const COLDPLUG_WAIT: Duration = Duration::from_secs(30);

/// Discovery, once the NIC drivers had their chance; then, as long as kboot has no lease, a
/// network interface that appears later (a USB NIC plugged in, a module loaded late) starts
/// discovery again.
fn discover_and_follow(
    args: &KernelArgs,
    s: &Arc<Shared>,
    hw: Option<Receiver<crate::hw::HwEvent>>,
) {
    use crate::hw::HwEvent;
    let Some(hw) = hw else {
        return discover(args, s);
    };
    if crate::net::ethernet_interfaces().is_empty() {
        s.log("no network interface yet: waiting for the drivers of the devices present");
        let deadline = Instant::now() + COLDPLUG_WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match hw.recv_timeout(left) {
                Ok(HwEvent::ColdplugDone) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
    let mut tried = crate::net::ethernet_interfaces();
    discover(args, s);
    if args.config.as_deref().is_some_and(is_local) {
        return;
    }
    while let Ok(ev) = hw.recv() {
        let HwEvent::NetAdded { iface } = ev else {
            continue;
        };
        let has_lease = s.lease.lock().unwrap_or_else(|p| p.into_inner()).is_some();
        if has_lease
            || tried.contains(&iface)
            || !crate::net::ethernet_interfaces().contains(&iface)
        {
            continue;
        }
        s.log(format!(
            "{iface}: new network interface; looking for a config through it"
        ));
        tried = crate::net::ethernet_interfaces();
        discover(args, s);
    }
}

/// Network bring-up, then find, fetch and parse the config.
fn discover(args: &KernelArgs, s: &Arc<Shared>) {
    if let Some(url) = args.config.as_deref().filter(|c| is_local(c)) {
        show_local_config(url, args, s);
        return;
    }
    if s.mode == Mode::Pid1 {
        bring_up_network(args, s, None);
    }
    find_config(args, s);
}

/// With the network up (or not): the config kboot.config= names, else discovery's.
fn find_config(args: &KernelArgs, s: &Arc<Shared>) {
    if let Some(url) = &args.config {
        load_and_show(url, s);
        return;
    }
    let Some(lease) = s.lease.lock().unwrap_or_else(|p| p.into_inner()).clone() else {
        if s.mode == Mode::Pid1 && discover_v6(args, None, s) {
            return;
        }
        s.send(UiEvent::Error(
            "No config to load: the network is down and kboot.config= is not set; press c and type a kernel URL"
                .into(),
        ));
        return;
    };
    if let Some(line) = crate::discovery::root_path_line(&lease) {
        s.log(line);
    }
    let uuid = crate::config::load::machine_uuid();
    loop {
        let cancel = AtomicBool::new(false);
        let mut fetcher = crate::discovery::fetcher(&cancel);
        let mut log = |line: String| s.log(line);
        let found = crate::discovery::discover(
            &lease,
            uuid.as_deref(),
            running_version().as_deref(),
            &mut fetcher,
            &mut log,
        );
        if let Some(found) = found {
            show_found(found, &lease, s);
            return;
        }
        if s.mode == Mode::Pid1 && discover_v6(args, Some(&lease.iface), s) {
            return;
        }
        // Option 211 (petitboot's reboot-time): look again after that many seconds.
        match lease.reboot_time.filter(|t| *t > 0) {
            Some(secs) => {
                s.log(format!(
                    "no config found; looking again in {secs} s (DHCP option 211)"
                ));
                std::thread::sleep(Duration::from_secs(u64::from(secs)));
            }
            None => {
                s.send(UiEvent::Error(
                    "No boot config found on the boot server (see the log for every URL tried); press c and type a kernel URL"
                        .into(),
                ));
                return;
            }
        }
    }
}

/// The running kernel's `/proc/version`: discovery refuses a boot file that is this image.
fn running_version() -> Option<String> {
    std::fs::read_to_string("/proc/version").ok()
}

/// IPv6 (SLAAC + DHCPv6) on `iface` (else the interface kboot.net=/BOOTIF= names, else the
/// first Ethernet link), then the DHCPv6 boot-file URL (option 59). True when a menu was shown.
fn discover_v6(args: &KernelArgs, iface: Option<&str>, s: &Shared) -> bool {
    let iface = match iface
        .map(str::to_string)
        .or_else(|| args.wanted_interface())
    {
        Some(i) => i,
        None => match crate::net::link::Netlink::open().and_then(|mut nl| nl.links()) {
            Ok(links) => match links.into_iter().find(|l| l.is_ethernet) {
                Some(l) => l.name,
                None => return false,
            },
            Err(_) => return false,
        },
    };
    let events = s.events.clone();
    let mut report = |line: String| {
        let _ = events.send(UiEvent::Log(line));
    };
    let resolv = std::path::Path::new("/etc/resolv.conf");
    let lease6 = match crate::net::bring_up_v6_at(&iface, Some(resolv), &mut report) {
        Ok(l) => l,
        Err(e) => {
            s.log(format!("IPv6 on {iface}: {e}"));
            return false;
        }
    };
    if let Some(a) = lease6.addresses.first() {
        s.send(UiEvent::NetStatus(format!("{iface} {a}")));
    }
    let cancel = AtomicBool::new(false);
    let mut fetcher = crate::discovery::fetcher(&cancel);
    let mut log = |line: String| s.log(line);
    match crate::discovery::discover_v6(
        &lease6,
        running_version().as_deref(),
        &mut fetcher,
        &mut log,
    ) {
        Some(found) => {
            let lease = s.lease.lock().unwrap_or_else(|p| p.into_inner()).clone();
            show_found(found, &lease.unwrap_or_default(), s);
            true
        }
        None => false,
    }
}

/// Static `ip=` from kboot's command line, else DHCP; then keep the lease renewed.
/// A config kboot can read before the network is up: a file, or a path on a local disk.
fn is_local(url: &str) -> bool {
    url.starts_with("file:")
        || matches!(
            crate::fetch::url::parse_location(url),
            Ok(crate::fetch::url::Location::Device { .. })
        )
}

/// A local config (a disk, or the image's own /etc) is shown at once. Its network keys (the
/// Xbox 360 loader's `ip=`, `netmask=`, `gateway=`, `dns=`, `tftp_server=`) configure the
/// network; without them kboot's command line or DHCP does, and the menu is shown again with
/// the ip=/BOOTIF handoff once there is a lease.
fn show_local_config(url: &str, args: &KernelArgs, s: &Arc<Shared>) {
    let ctx = crate::config::load::context(None);
    let (format, menu) = match load_checked(url, None, None, &ctx, s) {
        Ok(m) => m,
        Err(e) => {
            s.send(UiEvent::Error(format!("Cannot load the config: {e}")));
            if s.mode == Mode::Pid1 {
                bring_up_network(args, s, None);
            }
            return;
        }
    };
    let from_config = match crate::net::static_ip::from_conf_pairs(&menu.network) {
        Ok(c) => c,
        Err(e) => {
            s.send(UiEvent::Error(format!("{url}: network keys: {e}")));
            None
        }
    };
    if s.mode == Mode::Pid1 && from_config.is_some() {
        bring_up_network(args, s, from_config);
        publish_menu(url, format, menu, s);
        return;
    }
    publish_menu(url, format, menu.clone(), s);
    if s.mode == Mode::Pid1 {
        bring_up_network(args, s, None);
        if s.lease.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
            publish_menu(url, format, menu, s);
        }
    }
}

/// Configure the network: `config` (from a config file's keys) if given, else `ip=` from
/// kboot's command line, else DHCP; then keep a DHCP lease renewed.
fn bring_up_network(
    args: &KernelArgs,
    s: &Arc<Shared>,
    config: Option<crate::net::static_ip::IpConfig>,
) {
    use crate::net::static_ip::{parse_ip_param, IpConfig};
    let wanted = args.wanted_interface();
    let events = s.events.clone();
    let mut report = |line: String| {
        let _ = events.send(UiEvent::NetStatus(line));
    };
    let from_cmdline = || match args.ip.as_deref().map(parse_ip_param) {
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            s.send(UiEvent::Error(format!("ip= on kboot's command line: {e}")));
            IpConfig::Dhcp { device: None }
        }
        None => IpConfig::Dhcp { device: None },
    };
    let config = config.unwrap_or_else(from_cmdline);
    // kboot.net= naming a wireless interface, or kboot.wifi.ssid=, asks for Wi-Fi first.
    let wireless = crate::net::wifi::device::wireless_interfaces();
    let wifi_first =
        args.wifi_ssid.is_some() || wanted.as_ref().is_some_and(|w| wireless.contains(w));
    let result = match &config {
        IpConfig::Off => {
            s.send(UiEvent::NetStatus("network off (ip=off)".into()));
            return;
        }
        _ if wifi_first => Err(None),
        IpConfig::Static(st) => {
            crate::net::apply_static(st, wanted.as_deref(), &mut report).map_err(Some)
        }
        IpConfig::Dhcp { device } => {
            let wanted = device.clone().or(wanted.clone());
            crate::net::bring_up(wanted.as_deref(), &mut report).map_err(Some)
        }
    };
    let lease = match result {
        Ok(lease) => {
            s.send(UiEvent::NetStatus(lease_summary(&lease)));
            lease
        }
        Err(wired) => {
            let wifi_iface = wanted.filter(|w| wireless.contains(w));
            match bring_up_wifi(args, wifi_iface.as_deref(), s) {
                Some(lease) => lease,
                None => {
                    if let Some(e) = wired {
                        s.send(UiEvent::NetStatus("no network".into()));
                        s.send(UiEvent::Error(e.to_string()));
                    }
                    return;
                }
            }
        }
    };
    *s.lease.lock().unwrap_or_else(|p| p.into_inner()) = Some(lease.clone());
    // Before any HTTPS: the clock must be right for certificates.
    super::clock::sync_after_network(args, Some(&lease), &mut |l| s.log(l));
    if lease.server_id.is_some() {
        spawn_guarded("dhcp-renew", s.clone(), move |s| {
            let mut log = |line: String| s.log(line);
            if let Err(e) = crate::net::renew_loop(&lease, &s.stop_renew, &mut log) {
                s.send(UiEvent::Error(e.to_string()));
            }
        });
    }
}

/// How long Wi-Fi waits before scanning again for a configured network not in range (an
/// access point may come up after kboot does).
const WIFI_RETRY: Duration = Duration::from_secs(5);

/// Wi-Fi when no wired link gave a lease (or kboot was told to use it): the configured
/// networks (kboot.wifi.*, wifi.conf), joined and leased. `None` when there is no Wi-Fi to
/// use; errors go to the screen. A network out of range is looked for again and again.
fn bring_up_wifi(args: &KernelArgs, iface: Option<&str>, s: &Arc<Shared>) -> Option<Lease> {
    use crate::net::wifi::bringup::{self, WifiError};
    use crate::net::wifi::join::JoinError;
    let has_device = !crate::net::wifi::device::wireless_interfaces().is_empty();
    let mut log = |l: String| s.log(l);
    let (networks, country) = bringup::configured(args.wifi_network(), &mut log);
    if networks.is_empty() {
        if has_device {
            s.log("Wi-Fi: no network configured; press w to pick one".to_string());
        }
        return None;
    }
    let mut last_error = String::new();
    loop {
        s.send(UiEvent::NetStatus("Wi-Fi: scanning".into()));
        let result = with_supplicant(s, iface, country.as_deref(), |sup, log| {
            bringup::connect(sup, &networks, log)
        });
        match result {
            Ok(link) => return Some(wifi_joined(link, s)),
            Err(e) => {
                let again = matches!(e, WifiError::Join(JoinError::OutOfRange(_)));
                let text = e.to_string();
                s.log(text.clone());
                if text != last_error {
                    s.send(UiEvent::NetStatus("no network".into()));
                    s.send(UiEvent::Error(text.clone()));
                    last_error = text;
                }
                if !again {
                    return None;
                }
                std::thread::sleep(WIFI_RETRY);
            }
        }
    }
}

/// Run `f` with kboot's wpa_supplicant, started first if it is not running yet.
fn with_supplicant<T>(
    s: &Arc<Shared>,
    iface: Option<&str>,
    country: Option<&str>,
    f: impl FnOnce(
        &crate::net::wifi::device::Supplicant,
        &mut dyn FnMut(String),
    ) -> Result<T, crate::net::wifi::bringup::WifiError>,
) -> Result<T, crate::net::wifi::bringup::WifiError> {
    let mut log = |l: String| s.log(l);
    let mut slot = s.supplicant.lock().unwrap_or_else(|p| p.into_inner());
    if slot.is_none() {
        *slot = Some(crate::net::wifi::bringup::start_supplicant(
            iface, country, &mut log,
        )?);
    }
    match slot.as_ref() {
        Some(sup) => f(sup, &mut log),
        None => Err(crate::net::wifi::bringup::WifiError::NoDevice),
    }
}

/// A Wi-Fi link is up: show it, keep it, and hand back its lease.
fn wifi_joined(link: crate::net::wifi::bringup::WifiLink, s: &Arc<Shared>) -> Lease {
    s.send(UiEvent::NetStatus(link.status()));
    let lease = link.lease.clone();
    *s.wifi.lock().unwrap_or_else(|p| p.into_inner()) = Some(link);
    lease
}

/// The Wi-Fi screen's scan.
fn wifi_scan(s: &Arc<Shared>) {
    let result = with_supplicant(s, None, None, |sup, _| crate::net::wifi::bringup::scan(sup));
    let answer = result
        .map(|list| {
            list.iter()
                .map(|r| crate::ui::app::WifiNetwork {
                    ssid: r.ssid.clone(),
                    signal: r.signal,
                    security: r.security,
                    band: r.band().label(),
                })
                .collect()
        })
        .map_err(|e| e.to_string());
    s.send(UiEvent::WifiScan(answer));
}

/// Join the network picked on the Wi-Fi screen, then look for a config over it.
fn wifi_join(
    args: &KernelArgs,
    ssid: Vec<u8>,
    passphrase: Option<crate::net::wifi::Secret>,
    s: &Arc<Shared>,
) {
    use crate::net::wifi::conf::{Credential, NetworkConfig};
    let net = NetworkConfig {
        ssid,
        credential: passphrase.map_or(Credential::None, Credential::Passphrase),
        ..Default::default()
    };
    let title = net.ssid_text();
    let result = with_supplicant(s, None, None, |sup, log| {
        crate::net::wifi::bringup::connect(sup, std::slice::from_ref(&net), log)
    });
    match result {
        Ok(link) => {
            s.send(UiEvent::WifiJoined(format!(
                "joined {title}: {}",
                link.status()
            )));
            let lease = wifi_joined(link, s);
            *s.lease.lock().unwrap_or_else(|p| p.into_inner()) = Some(lease);
            find_config(args, s);
        }
        Err(e) => s.send(UiEvent::WifiStatus(e.to_string())),
    }
}

/// Turn what discovery found into a menu: a config, a kernel boot file, or both.
fn show_found(found: crate::discovery::Found, lease: &Lease, s: &Shared) {
    use crate::config::detect::Format;
    use crate::discovery::ConfigKind;
    let ctx = crate::config::load::context(Some(lease));
    let result = found.text.as_deref().map(|text| {
        let format = found.kind.map(|k| match k {
            ConfigKind::Ipxe => Format::Ipxe,
            ConfigKind::Pxelinux => Format::Pxelinux,
            ConfigKind::Grub => Format::Grub,
            ConfigKind::KbootConf => Format::Kboot,
        });
        load_checked(&found.url, Some(text), format, &ctx, s)
    });
    let mut result = match result.transpose() {
        Ok(r) => r,
        Err(e) => {
            s.send(UiEvent::Error(format!("Cannot load the config: {e}")));
            return;
        }
    };
    if let Some(kernel) = found.kernel_entry {
        let (_, menu) = result.get_or_insert_with(|| (Format::Kboot, Menu::default()));
        menu.entries.push(kernel);
    }
    match result {
        Some((format, menu)) => publish_menu(&found.url, format, menu, s),
        None => s.send(UiEvent::Error(format!(
            "{} was found but holds no menu",
            found.url
        ))),
    }
}

/// Fetch (unless `text` is given), check against the trusted keys and parse a config. A
/// config that is not signed is still shown (each entry says why in its details; booting one
/// under `kboot.verify=require` is refused with that sentence).
fn load_checked(
    url: &str,
    text: Option<&str>,
    format: Option<crate::config::detect::Format>,
    ctx: &crate::config::include::ParseContext,
    s: &Shared,
) -> Result<(crate::config::detect::Format, Menu), crate::fetch::FetchError> {
    let loaded =
        crate::trust::config::load(url, text, format, ctx, &s.trust, &AtomicBool::new(false))?;
    match &loaded.verdict {
        Some(Ok(key)) => s.log(format!("{url}: signed by key {key}")),
        Some(Err(e)) => s.log(format!("not signed: {e}")),
        None => {}
    }
    Ok((loaded.format, loaded.menu))
}

/// Fetch and parse a config, then hand its menu to the UI (or say why not).
fn load_and_show(url: &str, s: &Shared) {
    s.log(format!("loading config {url}"));
    let lease = s.lease.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let ctx = crate::config::load::context(lease.as_ref());
    match load_checked(url, None, None, &ctx, s) {
        Ok((format, menu)) => publish_menu(url, format, menu, s),
        Err(e) => s.send(UiEvent::Error(format!("Cannot load the config: {e}"))),
    }
}

fn publish_menu(url: &str, format: crate::config::detect::Format, mut menu: Menu, s: &Shared) {
    for w in &menu.warnings {
        s.log(w.clone());
    }
    if let Some(t) = s.timeout_override {
        menu.timeout_ms = Some(t * 1000);
    }
    // The network handoff goes into each entry's command line now, so the editor shows
    // exactly what the target will get.
    let lease = s.lease.lock().unwrap_or_else(|p| p.into_inner()).clone();
    apply_handoff(&mut menu.entries, lease.as_ref());
    s.log(format!(
        "{url}: {format} config, {} entries",
        menu.entries.len()
    ));
    *s.menu.lock().unwrap_or_else(|p| p.into_inner()) = Some((menu, url.to_string()));
    show_menu(s);
}

/// Send the UI the config's menu with the local disks' submenus after its entries (or, before
/// any config arrived, a menu of the disks alone).
fn show_menu(s: &Shared) {
    let disks = s
        .disk_menu
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    // Without a network menu the disks' menu is shown alone and counts down as the first
    // disk's config says (an installed system boots by itself, as under its own loader); a
    // network menu that comes later takes over, with the disks' entries after its own.
    let (mut menu, source) = match s.menu.lock().unwrap_or_else(|p| p.into_inner()).clone() {
        Some(m) => m,
        None if disks.entries.is_empty() => return,
        None => (
            Menu {
                entries: Vec::new(),
                ..disks.clone()
            },
            "local disks".to_string(),
        ),
    };
    let mut disks = disks.entries;
    if s.trust.policy != crate::trust::Policy::Off {
        let unsigned = crate::config::model::Signature::NotSigned(
            "a config found on a local disk is not signed".into(),
        );
        mark_unchecked(&mut disks, &unsigned);
    }
    menu.entries.extend(disks);
    prefetch_default(&menu, s);
    s.send(UiEvent::Menu { source, menu });
}

/// Give entries nobody checked (a local disk's) the signature `sig`.
fn mark_unchecked(entries: &mut [crate::config::Entry], sig: &crate::config::model::Signature) {
    for e in entries {
        if e.signature.is_none() {
            e.signature = Some(sig.clone());
        }
        mark_unchecked(&mut e.children, sig);
    }
}

/// Start downloading the default entry's files while the menu counts down, so that the boot
/// finds them here (or mostly here) when the countdown ends. An early download of other files
/// (from a menu shown before) is discarded first.
fn prefetch_default(menu: &Menu, s: &Shared) {
    let counts_down = menu.timeout_ms.is_some_and(|t| t > 0);
    let spec = menu
        .default_entry()
        .filter(|e| counts_down && e.children.is_empty() && e.action.is_none())
        .and_then(|e| crate::cmdline::entry_to_boot_spec(e, None).map(|spec| (e.id.clone(), spec)));
    let mut slot = s.prefetch.lock().unwrap_or_else(|p| p.into_inner());
    let key = spec.as_ref().map(|(_, spec)| PayloadKey::of(spec));
    if slot.as_ref().map(|p| p.key()) == key.as_ref() {
        return; // the same files are on their way already (or nothing to do)
    }
    if let Some(old) = slot.take() {
        discard_early(old, s);
    }
    let Some((entry_id, spec)) = spec else {
        return;
    };
    if s.busy.load(Ordering::SeqCst) {
        return; // a boot is running: it fetches what it needs itself
    }
    let opts = boot_fetch_options(&spec, s);
    let events = s.events.clone();
    s.log(format!(
        "downloading '{}' while the menu counts down",
        spec.title
    ));
    let key = PayloadKey::of(&spec);
    let title = spec.title.clone();
    *slot = Some(Prefetch::start(&title, key, move |flags| {
        prefetch_work(&spec, &entry_id, &opts, flags, &events)
    }));
}

/// The early download itself: progress goes to the countdown line until a boot attaches, then
/// to the boot's gauge; a diskless entry's initrd flavour is detected for the entry's details.
fn prefetch_work(
    spec: &BootSpec,
    entry_id: &str,
    opts: &FetchOptions,
    flags: &PrefetchFlags,
    events: &Sender<UiEvent>,
) -> Result<Payload, String> {
    let started = Instant::now();
    let sum = Mutex::new((ProgressSum::default(), Instant::now()));
    let progress = |p: &fetch::Progress| {
        if flags.attached.load(Ordering::Relaxed) {
            let _ = events.send(UiEvent::Progress(p.clone()));
            return;
        }
        let mut sum = sum.lock().unwrap_or_else(|p| p.into_inner());
        let (bytes, total) = sum.0.add(p);
        if sum.1.elapsed() >= Duration::from_millis(250) {
            sum.1 = Instant::now();
            let _ = events.send(UiEvent::Preload(Preload {
                bytes,
                total,
                done: false,
            }));
        }
    };
    let mut result = fetch_payload(spec, opts, &flags.cancel, &progress);
    if let Ok(payload) = &mut result {
        // Look inside a diskless entry's initrd now, for its details and for the boot.
        if let (Some(d), Some(initrd)) = (&spec.diskless, &payload.initrd) {
            if d.flavor.is_none() {
                payload.initrd_flavor = crate::boot::initrd::flavor_of_file(initrd);
                report_flavor(entry_id, &spec.title, Ok(payload.initrd_flavor), events);
            }
        }
    }
    let _ = match &result {
        Ok(payload) => {
            let bytes = [Some(&payload.kernel), payload.initrd.as_ref()]
                .into_iter()
                .flatten()
                .filter_map(|f| f.metadata().ok())
                .map(|m| m.len())
                .sum::<u64>();
            let _ = events.send(UiEvent::Preload(Preload {
                bytes,
                total: Some(bytes),
                done: true,
            }));
            events.send(UiEvent::Log(format!(
                "'{}' is downloaded ({} bytes in {:.1} s)",
                spec.title,
                bytes,
                started.elapsed().as_secs_f64()
            )))
        }
        Err(_) if flags.cancel.load(Ordering::Relaxed) => Ok(()),
        Err(e) => events.send(UiEvent::Log(format!(
            "the early download of '{}' failed: {e}",
            spec.title
        ))),
    };
    result
}

/// Look for boot-loader configs on the local disks and add them to the menu (shown again only
/// when what the disks hold changed).
fn scan_disks(s: &Shared) {
    let ctx = crate::config::load::context(None);
    let mut log = |line: String| s.log(line);
    let found = crate::config::disks::scan(&ctx, &mut log);
    let menu = crate::config::disks::as_menu(&found);
    {
        let mut shown = s.disk_menu.lock().unwrap_or_else(|p| p.into_inner());
        if *shown == menu {
            return;
        }
        *shown = menu;
    }
    show_menu(s);
}

/// A disk that appears later (a USB stick, a disk behind an HBA whose module just loaded, an
/// NVMe namespace probed after /init started) makes the disks be scanned again, once the burst
/// of block events (the disk, then each partition) has passed.
fn rescan_disks_on_hotplug(hw: &Receiver<crate::hw::HwEvent>, s: &Shared) {
    use crate::hw::HwEvent;
    const SETTLE: Duration = Duration::from_millis(500);
    while let Ok(ev) = hw.recv() {
        let HwEvent::BlockAdded { name, .. } = ev else {
            continue;
        };
        let mut names = vec![name];
        while let Ok(ev) = hw.recv_timeout(SETTLE) {
            if let HwEvent::BlockAdded { name, .. } = ev {
                names.push(name);
            }
        }
        s.log(format!(
            "new block devices {}: scanning the disks again",
            names.join(", ")
        ));
        scan_disks(s);
    }
}

fn apply_handoff(entries: &mut [crate::config::Entry], lease: Option<&Lease>) {
    for e in entries {
        if e.kernel.is_some() {
            e.cmdline = crate::cmdline::handoff::apply(&e.cmdline, e.handoff, lease);
            if let Some(note) = wireless_note(e.handoff, lease) {
                e.help = Some(match e.help.take() {
                    Some(h) => format!("{h}\n{note}"),
                    None => note,
                });
                // The details' Network field says what happens: nothing is appended.
                e.handoff = crate::config::model::Handoff::Off;
            }
        }
        apply_handoff(&mut e.children, lease);
    }
}

/// What the entry details say when the lease is a Wi-Fi one and the entry would have had the
/// default `ip=` handoff.
fn wireless_note(handoff: crate::config::model::Handoff, lease: Option<&Lease>) -> Option<String> {
    let ssid = lease?.wireless.as_deref()?;
    (handoff == crate::config::model::Handoff::Default).then(|| {
        format!(
            "No ip= handoff: kboot's link is Wi-Fi ({ssid}), which the target's initramfs cannot join without the credentials; add ip= to the command line if it can."
        )
    })
}

/// Tell the menu (the entry's details) and the log what the initrd of an entry is.
fn report_flavor(
    entry_id: &str,
    title: &str,
    detected: Result<Option<crate::cmdline::flavor::Flavor>, String>,
    events: &Sender<UiEvent>,
) {
    let flavor = match detected {
        Ok(Some(f)) => format!("{f} (detected in the initrd)"),
        Ok(None) => "neither dracut nor initramfs-tools: set kboot.flavor=".to_string(),
        Err(e) => format!("not known: {e}"),
    };
    let _ = events.send(UiEvent::Log(format!("initrd of '{title}': {flavor}")));
    let _ = events.send(UiEvent::Detected {
        entry: entry_id.to_string(),
        flavor,
    });
}

/// The details of a diskless entry asked what its initrd is: fetch it into memory, look, and
/// let it go. A boot that starts meanwhile stops this (it has the network to itself).
fn inspect_initrd(
    entry: &str,
    initrds: Vec<String>,
    sha256: std::collections::BTreeMap<String, String>,
    s: &Shared,
) {
    let early = s
        .prefetch
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .is_some_and(|p| p.key().initrds() == initrds.as_slice());
    if early {
        return; // the early download of the default entry reports it when it is done
    }
    let spec = BootSpec {
        initrds,
        sha256,
        ..BootSpec::default()
    };
    let opts = boot_fetch_options(&spec, s);
    let result = fetch::fetch_to_memfd("initrd", &spec.initrds, &opts, &mut |_| {}, &s.busy);
    let result = match &result {
        Ok(file) => Ok(crate::boot::initrd::flavor_of_file(file)),
        Err(fetch::FetchError::Cancelled { .. }) => Err("a boot started first".to_string()),
        Err(e) => Err(e.to_string()),
    };
    report_flavor(entry, entry, result, &s.events);
}

/// True when the target command line gives the target our leased address (`ip=<client>:...`).
fn hands_over_address(cmdline: &str, lease: &Lease) -> bool {
    let Some(client) = lease.client else {
        return false;
    };
    crate::cmdline::get_all(cmdline, "ip")
        .iter()
        .any(|v| v.split(':').next() == Some(client.to_string().as_str()))
}

fn lease_summary(l: &Lease) -> String {
    let prefix = l.netmask.map(|m| u32::from(m).count_ones()).unwrap_or(32);
    match l.client {
        Some(ip) => format!(
            "{} {ip}/{prefix}{}",
            l.iface,
            l.gateway.map(|g| format!(" via {g}")).unwrap_or_default()
        ),
        None => format!("{} (no address)", l.iface),
    }
}

fn handle_commands(commands: Receiver<UiCommand>, args: &KernelArgs, s: &Arc<Shared>) {
    while let Ok(cmd) = commands.recv() {
        match cmd {
            UiCommand::WifiScan => spawn_guarded("wifi-scan", s.clone(), |s| wifi_scan(&s)),
            UiCommand::WifiJoin {
                ssid, passphrase, ..
            } => {
                let args = args.clone();
                spawn_guarded("wifi-join", s.clone(), move |s| {
                    wifi_join(&args, ssid, passphrase, &s)
                });
            }
            UiCommand::Boot(spec) => start_boot(spec, s),
            UiCommand::Prompt(line) => {
                let current = s.menu.lock().unwrap_or_else(|p| p.into_inner()).clone();
                let (menu, base) = match &current {
                    Some((m, url)) => (Some(m), Some(url.as_str())),
                    None => (None, None),
                };
                match crate::config::prompt::parse_prompt(&line, menu, base) {
                    Ok(spec) => start_boot(spec, s),
                    Err(e) => s.send(UiEvent::Error(e.to_string())),
                }
            }
            UiCommand::LoadConfig(url) => {
                let s = s.clone();
                spawn_guarded("config", s.clone(), move |s| {
                    load_and_show(&url, &s);
                    s.send(UiEvent::Ready);
                });
            }
            UiCommand::Cancel => s.cancel.store(true, Ordering::Relaxed),
            UiCommand::Inspect {
                entry,
                initrds,
                sha256,
            } => spawn_guarded("inspect", s.clone(), move |s| {
                inspect_initrd(&entry, initrds, sha256, &s)
            }),
            UiCommand::Reboot | UiCommand::PowerOff if s.mode == Mode::Host => s.send(
                UiEvent::Error("Reboot and power off are disabled on a host".into()),
            ),
            UiCommand::Reboot => s.send(UiEvent::Error(power::power(PowerAction::Reboot))),
            UiCommand::PowerOff => s.send(UiEvent::Error(power::power(PowerAction::PowerOff))),
        }
    }
}

fn start_boot(spec: BootSpec, s: &Arc<Shared>) {
    if s.busy.swap(true, Ordering::SeqCst) {
        s.send(UiEvent::Error(
            "A boot is already in progress: press Esc to cancel it first".into(),
        ));
        return;
    }
    s.cancel.store(false, Ordering::Relaxed);
    spawn_guarded("boot", s.clone(), move |s| {
        let result = boot(&spec, &s);
        s.busy.store(false, Ordering::SeqCst);
        if let Err(e) = result {
            s.send(UiEvent::Error(e));
        }
    });
}

/// How a target's kernel and initrds are fetched: the entry's checksums and the menu's
/// `proxy=` (else kboot.proxy=, the process default) on top of the defaults.
fn boot_fetch_options(spec: &BootSpec, s: &Shared) -> FetchOptions {
    let menu = s.menu.lock().unwrap_or_else(|p| p.into_inner());
    FetchOptions {
        sha256_by_url: spec.sha256.clone(),
        proxy: menu.as_ref().and_then(|(m, _)| m.proxy.clone()),
        ..FetchOptions::default()
    }
}

/// Nobody wants these files any more: stop the early download and free its memory.
fn discard_early(p: Prefetch, s: &Shared) {
    crate::boot::prepare::discard_early(p, &|ev| forward(ev, &s.events));
}

/// A boot's event, as the UI's.
fn forward(ev: BootEvent, events: &Sender<UiEvent>) {
    let _ = events.send(match ev {
        BootEvent::Log(line) => UiEvent::Log(line),
        BootEvent::Progress(p) => UiEvent::Progress(p),
    });
}

/// Run the boot pipeline for `spec`, then start the target. Returns only on failure (or on a
/// host).
fn boot(spec: &BootSpec, s: &Shared) -> Result<(), String> {
    let report = |ev: BootEvent| forward(ev, &s.events);
    let env = crate::boot::prepare::Env {
        lease: s.lease.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        fetch: boot_fetch_options(spec, s),
        cancel: &s.cancel,
        early: s.prefetch.lock().unwrap_or_else(|p| p.into_inner()).take(),
        machine_uuid: spec
            .diskless
            .as_ref()
            .and_then(|_| crate::config::load::machine_uuid()),
        trust: &s.trust,
        report: &report,
    };
    let Loaded { cmdline } = crate::boot::prepare::prepare(spec, env)?;
    if s.mode == Mode::Host {
        let _ = crate::boot::kexec::unload();
        s.log(format!(
            "loaded {} (not starting it: kboot runs on a host)",
            spec.title
        ));
        return Err(format!(
            "'{}' loaded fine; a host kboot does not reboot into it",
            spec.title
        ));
    }
    s.stop_renew.store(true, Ordering::Relaxed);
    let lease = s.lease.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if let Some(lease) = lease.filter(|l| !hands_over_address(&cmdline, l)) {
        // The target will run DHCP itself: give the address back. When kboot hands the
        // address to the target (ip=...), the lease is kept so nobody else gets it.
        if let Err(e) = crate::net::release(&lease) {
            s.log(format!("DHCP release failed: {e}"));
        }
    }
    // Leave the console sane for the next kernel: reset colours, clear, show the cursor.
    print!("\x1b[0m\x1b[2J\x1b[H\x1b[?25h");
    println!(
        "kboot: starting {}: {} {}",
        spec.title,
        spec.kernel,
        crate::cmdline::secrets::mask(&cmdline)
    );
    let _ = std::io::Write::flush(&mut std::io::stdout());
    let err = power::kexec_loaded_kernel();
    Err(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Handoff;
    use crate::config::Entry;
    use std::net::Ipv4Addr;

    fn lease() -> Lease {
        Lease {
            iface: "eth0".into(),
            mac: [0x52, 0x54, 0, 0x12, 0x34, 0x56],
            client: Some(Ipv4Addr::new(10, 0, 2, 15)),
            netmask: Some(Ipv4Addr::new(255, 255, 255, 0)),
            gateway: Some(Ipv4Addr::new(10, 0, 2, 2)),
            next_server: Some(Ipv4Addr::new(10, 0, 2, 2)),
            server_id: Some(Ipv4Addr::new(10, 0, 2, 2)),
            ..Default::default()
        }
    }

    #[test]
    fn handoff_is_applied_to_every_entry_by_its_own_rule() {
        let kernel = Some("tftp://10.0.2.2/vmlinuz".to_string());
        let mut entries = vec![
            Entry {
                id: "a".into(),
                kernel: kernel.clone(),
                cmdline: "quiet".into(),
                ..Default::default()
            },
            Entry {
                id: "sub".into(),
                children: vec![Entry {
                    id: "b".into(),
                    kernel: kernel.clone(),
                    handoff: Handoff::Pxelinux(2),
                    ..Default::default()
                }],
                ..Default::default()
            },
            Entry {
                id: "c".into(),
                kernel,
                handoff: Handoff::Off,
                cmdline: "x".into(),
                ..Default::default()
            },
        ];
        apply_handoff(&mut entries, Some(&lease()));
        assert!(
            entries[0]
                .cmdline
                .starts_with("quiet ip=10.0.2.15:10.0.2.2:10.0.2.2:255.255.255.0"),
            "{}",
            entries[0].cmdline
        );
        assert!(entries[0].cmdline.contains("BOOTIF=01-52-54-00-12-34-56"));
        assert_eq!(
            entries[1].children[0].cmdline,
            "BOOTIF=01-52-54-00-12-34-56"
        );
        assert_eq!(entries[2].cmdline, "x");
        assert_eq!(entries[1].cmdline, "", "submenus get nothing");
    }

    #[test]
    fn the_lease_is_released_only_when_the_target_does_not_get_our_address() {
        let l = lease();
        assert!(hands_over_address(
            "quiet ip=10.0.2.15:::255.255.255.0::eth0:off",
            &l
        ));
        assert!(!hands_over_address("quiet ip=dhcp", &l));
        assert!(!hands_over_address("quiet", &l));
        assert!(!hands_over_address("ip=10.0.2.150:::", &l));
    }

    #[test]
    fn inspecting_an_initrd_reports_its_flavour_or_why_not() {
        let dir = std::env::temp_dir().join(format!("kboot-inspect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cpio = crate::cmdline::secrets::cpio_segment(&[(
            "scripts/functions".to_string(),
            b"# initramfs-tools".to_vec(),
        )])
        .unwrap();
        std::fs::write(dir.join("initrd.img"), cpio).unwrap();
        let (events, rx) = mpsc::channel();
        let s = Shared::new(Mode::Host, events, None);
        let detected = |url: String| {
            inspect_initrd("e1", vec![url], Default::default(), &s);
            rx.try_iter()
                .find_map(|ev| match ev {
                    UiEvent::Detected { entry, flavor } => Some((entry, flavor)),
                    _ => None,
                })
                .expect("no Detected event")
        };
        let url = format!("file://{}", dir.join("initrd.img").display());
        assert_eq!(
            detected(url),
            (
                "e1".to_string(),
                "initramfs-tools (detected in the initrd)".to_string()
            )
        );
        let (_, missing) = detected(format!("file://{}", dir.join("gone.img").display()));
        assert!(missing.starts_with("not known: "), "{missing}");
        // A boot has the network to itself: the inspection stops.
        s.busy.store(true, Ordering::SeqCst);
        let url = format!("file://{}", dir.join("initrd.img").display());
        assert_eq!(detected(url).1, "not known: a boot started first");

        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn boot_fetches_use_the_menu_proxy() {
        let (events, _rx) = mpsc::channel();
        let s = Shared::new(Mode::Host, events, None);
        let spec = BootSpec::default();
        assert_eq!(boot_fetch_options(&spec, &s).proxy, None);
        let menu = Menu {
            proxy: Some("http://192.0.2.9:3128".into()),
            ..Menu::default()
        };
        *s.menu.lock().unwrap() = Some((menu, "http://192.0.2.1/kboot.conf".into()));
        assert_eq!(
            boot_fetch_options(&spec, &s).proxy.as_deref(),
            Some("http://192.0.2.9:3128")
        );
    }

    #[test]
    fn a_wireless_lease_is_explained_in_the_entry_details() {
        use crate::config::model::Handoff;
        let mut lease = Lease {
            wireless: Some("Guest Net".into()),
            ..Default::default()
        };
        let note = wireless_note(Handoff::Default, Some(&lease)).expect("a note");
        assert!(note.starts_with("No ip= handoff: kboot's link is Wi-Fi (Guest Net)"));
        assert_eq!(wireless_note(Handoff::Off, Some(&lease)), None);
        assert_eq!(wireless_note(Handoff::Pxelinux(1), Some(&lease)), None);
        lease.wireless = None;
        assert_eq!(wireless_note(Handoff::Default, Some(&lease)), None);
        assert_eq!(wireless_note(Handoff::Default, None), None);
    }

    #[test]
    fn an_entry_booted_over_wifi_gets_no_ip_and_its_details_say_why() {
        use crate::config::model::Handoff;
        let lease = Lease {
            iface: "wlan0".into(),
            client: Some("192.0.2.50".parse().unwrap()),
            netmask: Some("255.255.255.0".parse().unwrap()),
            wireless: Some("Guest Net".into()),
            ..Default::default()
        };
        let mut entries = vec![crate::config::Entry {
            kernel: Some("tftp://192.0.2.1/vmlinuz".into()),
            cmdline: "quiet".into(),
            ..Default::default()
        }];
        apply_handoff(&mut entries, Some(&lease));
        assert_eq!(entries[0].cmdline, "quiet");
        assert_eq!(entries[0].handoff, Handoff::Off);
        assert!(entries[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("kboot's link is Wi-Fi (Guest Net)")));
    }
}
