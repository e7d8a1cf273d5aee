//! The drivers thread of PID 1: coldplug (every device already in /sys), the `kboot.modprobe=`
//! list, then hotplug (kernel uevents), loading what `modules.alias` names for each device and
//! logging one line per load or failure.
//!
//! The uevent socket is opened before /sys is walked, so a device that appears during the
//! walk is seen either way. Loading a host-controller driver makes its children appear (USB
//! devices behind xhci_pci): they come in as uevents. If the socket overflows (ENOBUFS,
//! events lost), /sys is walked again.

use super::device::Device;
use super::loader::{Finit, Insert, Loader};
use super::uevent::{self, Action};
use super::{Events, HwEvent};
use std::collections::HashSet;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// What the kernel command line asks of the drivers thread.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriverOptions {
    /// `kboot.modprobe=`: load these at start, whatever the devices.
    pub modprobe: Vec<String>,
    /// `kboot.blacklist=`: never load these for a device.
    pub blacklist: Vec<String>,
    /// When /init started: the line that ends coldplug says how long after it that was.
    pub started: Option<std::time::Instant>,
}

/// The modules directory of the running kernel: `/lib/modules/<uname -r>`.
pub fn default_dir() -> PathBuf {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    Path::new("/lib/modules").join(release)
}

/// Run the drivers thread: never returns unless there is no module pack or no uevent socket
/// (then it returns after coldplug). Logs through `log`; publishes on `events`.
pub fn run(opts: &DriverOptions, events: &Events, log: &mut dyn FnMut(String)) {
    let dir = default_dir();
    let mut loader = match Loader::open(&dir, Finit) {
        Ok(l) => l,
        Err(super::loader::OpenError::NoPack(_)) => {
            log("no module pack: drivers are the built-in ones".into());
            events.publish(HwEvent::ColdplugDone);
            return;
        }
        Err(e) => {
            log(format!("drivers: {e}; using the built-in ones"));
            events.publish(HwEvent::ColdplugDone);
            return;
        }
    };
    if let Ok(text) = std::fs::read_to_string("/proc/modules") {
        loader.mark_loaded(super::loader::parse_proc_modules(&text));
    }
    loader.set_blacklist(&opts.blacklist);
    let socket = match open_uevent_socket() {
        Ok(s) => Some(s),
        Err(e) => {
            log(format!(
                "drivers: no uevent socket ({e}): devices that appear later get no driver"
            ));
            None
        }
    };
    let begun = std::time::Instant::now();
    let mut loaded = 0;
    for module in &opts.modprobe {
        match loader.load(module) {
            Ok(now) if now.is_empty() => {}
            Ok(now) => {
                loaded += now.len();
                log(format!("loaded {} (kboot.modprobe)", with_deps(&now)));
            }
            Err(e) => log(format!("cannot load {module} (kboot.modprobe): {e}")),
        }
    }
    loaded += coldplug(Path::new("/sys"), &mut loader, events, log);
    let line = coldplug_line(loaded, begun.elapsed(), opts.started.map(|s| s.elapsed()));
    // The drivers thread runs in PID 1 only: the timing goes to the kernel log too.
    crate::kmsg::info(&line);
    log(line);
    events.publish(HwEvent::ColdplugDone);
    if let Some(socket) = socket {
        hotplug(&socket, &mut loader, events, log);
    }
}

/// The line that ends coldplug (every device present at start has its drivers), short enough
/// for the status line of an 80-column menu: `coldplug done: 3 modules loaded in 412 ms (530
/// ms after /init)`.
fn coldplug_line(
    loaded: usize,
    took: std::time::Duration,
    since_init: Option<std::time::Duration>,
) -> String {
    let after = since_init
        .map(|d| format!(" ({} ms after /init)", d.as_millis()))
        .unwrap_or_default();
    let plural = if loaded == 1 { "" } else { "s" };
    format!(
        "coldplug done: {loaded} module{plural} loaded in {} ms{after}",
        took.as_millis()
    )
}

/// `e1000e` or `e1000e (with pps_core, ptp)`: the last module is the one asked for.
fn with_deps(now: &[String]) -> String {
    match now.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, deps)) => format!("{last} (with {})", deps.join(", ")),
        None => String::new(),
    }
}

/// Load what a device needs and log it: `loaded e1000e for pci 0000:00:02.0 (8086:10d3)`.
/// Returns how many modules were inserted.
pub fn load_for_device<I: Insert>(
    dev: &Device,
    loader: &mut Loader<I>,
    events: &Events,
    log: &mut dyn FnMut(String),
) -> usize {
    let mut loaded = 0;
    for outcome in loader.load_for(&dev.modalias) {
        match outcome.result {
            Ok(now) if now.is_empty() => {}
            Ok(now) => {
                loaded += now.len();
                log(format!("loaded {} for {}", with_deps(&now), dev.describe()));
                events.publish(HwEvent::DriverLoaded {
                    modules: now,
                    device: dev.describe(),
                });
            }
            Err(e) => log(format!(
                "cannot load {} for {}: {e}",
                outcome.module,
                dev.describe()
            )),
        }
    }
    loaded
}

/// Every device under `sys` (normally /sys) with a modalias: a walk of `devices/` that does
/// not follow symbolic links, plus `bus/*/devices/*` for anything outside it. Sorted by path
/// (parents before children, so a bus's driver loads before its devices').
pub fn sysfs_devices(sys: &Path) -> Vec<Device> {
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    let mut stack = vec![(sys.join("devices"), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && depth < 64 {
                stack.push((entry.path(), depth + 1));
            } else if kind.is_file() && entry.file_name() == "modalias" {
                if let Some(dev) = read_device(sys, &dir) {
                    seen.insert(dev.devpath.clone());
                    found.push(dev);
                }
            }
        }
    }
    let buses = std::fs::read_dir(sys.join("bus"))
        .into_iter()
        .flatten()
        .flatten();
    for bus in buses {
        let devices = std::fs::read_dir(bus.path().join("devices"))
            .into_iter()
            .flatten();
        for link in devices.flatten() {
            let Ok(real) = std::fs::canonicalize(link.path()) else {
                continue;
            };
            if let Some(dev) = read_device(sys, &real) {
                if seen.insert(dev.devpath.clone()) {
                    found.push(dev);
                }
            }
        }
    }
    found.sort_by(|a, b| a.devpath.cmp(&b.devpath));
    found
}

/// The device in the sysfs folder `dir`, if it has a non-empty modalias.
fn read_device(sys: &Path, dir: &Path) -> Option<Device> {
    let modalias = std::fs::read_to_string(dir.join("modalias")).ok()?;
    let modalias = modalias.trim();
    if modalias.is_empty() {
        return None;
    }
    let subsystem = std::fs::read_link(dir.join("subsystem"))
        .ok()
        .and_then(|l| l.file_name().map(|n| n.to_string_lossy().into_owned()));
    let devpath = match dir.strip_prefix(sys) {
        Ok(rel) => format!("/{}", rel.display()),
        Err(_) => dir.display().to_string(),
    };
    Some(Device {
        devpath,
        subsystem,
        modalias: modalias.to_string(),
    })
}

/// Load drivers for every device present now. Returns how many modules were inserted.
pub fn coldplug<I: Insert>(
    sys: &Path,
    loader: &mut Loader<I>,
    events: &Events,
    log: &mut dyn FnMut(String),
) -> usize {
    sysfs_devices(sys)
        .iter()
        .map(|dev| load_for_device(dev, loader, events, log))
        .sum()
}

/// A `NETLINK_KOBJECT_UEVENT` socket on the kernel's multicast group 1, with a receive buffer
/// large enough for the burst of events a driver load causes.
pub fn open_uevent_socket() -> nix::Result<OwnedFd> {
    use nix::sys::socket::{
        bind, setsockopt, socket, sockopt, AddressFamily, NetlinkAddr, SockFlag, SockProtocol,
        SockType,
    };
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkKObjectUEvent,
    )?;
    // Only root may force a buffer past rmem_max; PID 1 is root. Failing is not fatal.
    let _ = setsockopt(&fd, sockopt::RcvBufForce, &(4 << 20));
    bind(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &NetlinkAddr::new(0, 1),
    )?;
    Ok(fd)
}

/// Read uevents for ever: `add` with a MODALIAS loads drivers; `add` of a network interface
/// or a block device is published. Returns only if the socket fails for good.
fn hotplug<I: Insert>(
    socket: &OwnedFd,
    loader: &mut Loader<I>,
    events: &Events,
    log: &mut dyn FnMut(String),
) {
    use nix::errno::Errno;
    let mut buf = vec![0u8; uevent::MAX_MESSAGE];
    let mut failures = 0u32;
    loop {
        let n = match nix::sys::socket::recv(
            std::os::fd::AsRawFd::as_raw_fd(socket),
            &mut buf,
            nix::sys::socket::MsgFlags::empty(),
        ) {
            Ok(n) => n,
            Err(Errno::EINTR) => continue,
            Err(Errno::ENOBUFS) => {
                // Events were dropped: look at /sys again for what was missed.
                let _ = coldplug(Path::new("/sys"), loader, events, log);
                continue;
            }
            Err(e) => {
                failures += 1;
                if failures >= 10 {
                    log(format!(
                        "drivers: the uevent socket failed ({e}); hotplug stops"
                    ));
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
                continue;
            }
        };
        failures = 0;
        let Some(data) = buf.get(..n) else { continue };
        // Malformed datagrams (or udev's) are skipped: they cannot be answered anyway.
        let Ok(Some(ev)) = uevent::parse(data) else {
            continue;
        };
        if ev.action != Action::Add {
            continue;
        }
        handle_add(&ev, loader, events, log);
    }
}

/// One `add` uevent: drivers for a device, news of an interface or a disk.
pub fn handle_add<I: Insert>(
    ev: &uevent::Uevent,
    loader: &mut Loader<I>,
    events: &Events,
    log: &mut dyn FnMut(String),
) {
    if let Some(modalias) = ev.modalias() {
        let dev = Device {
            devpath: ev.devpath.clone(),
            subsystem: ev.subsystem().map(str::to_string),
            modalias: modalias.to_string(),
        };
        let _ = load_for_device(&dev, loader, events, log);
    }
    match ev.subsystem() {
        Some("net") => {
            if let Some(iface) = ev.get("INTERFACE") {
                events.publish(HwEvent::NetAdded {
                    iface: iface.to_string(),
                });
            }
        }
        Some("block") => {
            if let Some(name) = ev.get("DEVNAME") {
                events.publish(HwEvent::BlockAdded {
                    name: name.rsplit('/').next().unwrap_or(name).to_string(),
                    partition: ev.get("DEVTYPE") == Some("partition"),
                });
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::alias::AliasTable;
    use super::super::dep::DepTable;
    use super::super::loader::DryRun;
    use super::*;

    fn loader() -> Loader<DryRun> {
        let deps = DepTable::parse(
            b"e1000e.ko.xz: ptp.ko.xz pps_core.ko.xz\nptp.ko.xz: pps_core.ko.xz\npps_core.ko.xz:\n",
        )
        .expect("parses");
        let aliases = AliasTable::parse(b"alias pci:v00008086d000010D3sv*sd*bc*sc*i* e1000e\n")
            .expect("parses");
        Loader::new(
            Path::new("/lib/modules/x"),
            deps,
            aliases,
            DryRun::default(),
        )
    }

    #[test]
    fn a_fake_sysfs_is_walked_and_logged() {
        let sys = std::env::temp_dir().join(format!("kboot-hw-sys-{}", std::process::id()));
        let nic = sys.join("devices/pci0000:00/0000:00:02.0");
        std::fs::create_dir_all(&nic).expect("mkdir");
        std::fs::create_dir_all(sys.join("bus/pci")).expect("mkdir");
        std::fs::write(
            nic.join("modalias"),
            "pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00\n",
        )
        .expect("write");
        std::os::unix::fs::symlink(sys.join("bus/pci"), nic.join("subsystem")).expect("link");
        std::fs::write(sys.join("devices/pci0000:00/modalias"), "\n").expect("write");
        // A symbolic link loop must not be followed.
        std::os::unix::fs::symlink(sys.join("devices"), nic.join("loop")).expect("link");

        let devices = sysfs_devices(&sys);
        assert_eq!(devices.len(), 1);
        assert_eq!(devices[0].describe(), "pci 0000:00:02.0 (8086:10d3)");

        let mut l = loader();
        let events = Events::default();
        let rx = events.subscribe();
        let mut lines = Vec::new();
        assert_eq!(
            coldplug(&sys, &mut l, &events, &mut |line| lines.push(line)),
            3
        );
        assert_eq!(
            coldplug(&sys, &mut l, &events, &mut |line| lines.push(line)),
            0
        );
        assert_eq!(
            lines,
            vec!["loaded e1000e (with pps_core, ptp) for pci 0000:00:02.0 (8086:10d3)"]
        );
        assert!(matches!(rx.try_recv(), Ok(HwEvent::DriverLoaded { .. })));
        let _ = std::fs::remove_dir_all(&sys);
    }

    #[test]
    fn the_coldplug_line_says_how_many_and_how_long() {
        use std::time::Duration;
        assert_eq!(
            coldplug_line(
                3,
                Duration::from_millis(412),
                Some(Duration::from_millis(530))
            ),
            "coldplug done: 3 modules loaded in 412 ms (530 ms after /init)"
        );
        assert_eq!(
            coldplug_line(1, Duration::from_millis(2), None),
            "coldplug done: 1 module loaded in 2 ms"
        );
    }

    #[test]
    fn uevents_load_drivers_and_announce_interfaces_and_disks() {
        let mut l = loader();
        let events = Events::default();
        let rx = events.subscribe();
        let mut lines = Vec::new();
        let msgs: [&[u8]; 3] = [
            b"add@/devices/pci0000:00/0000:00:02.0\0ACTION=add\0SUBSYSTEM=pci\0MODALIAS=pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00\0",
            b"add@/devices/pci0000:00/0000:00:02.0/net/eth0\0ACTION=add\0SUBSYSTEM=net\0INTERFACE=eth0\0",
            b"add@/devices/x/block/sda/sda1\0ACTION=add\0SUBSYSTEM=block\0DEVNAME=sda1\0DEVTYPE=partition\0",
        ];
        for m in msgs {
            let ev = uevent::parse(m).expect("parses").expect("kernel event");
            handle_add(&ev, &mut l, &events, &mut |line| lines.push(line));
        }
        assert_eq!(
            lines,
            vec!["loaded e1000e (with pps_core, ptp) for pci 0000:00:02.0 (8086:10d3)"]
        );
        let got: Vec<HwEvent> = rx.try_iter().collect();
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[1],
            HwEvent::NetAdded {
                iface: "eth0".into()
            }
        );
        assert_eq!(
            got[2],
            HwEvent::BlockAdded {
                name: "sda1".into(),
                partition: true
            }
        );
    }
}
