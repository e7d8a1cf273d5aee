//! Drivers on demand: kboot loads kernel modules itself, with no modprobe, udev or shell.
//!
//! A module pack (a second initrd) lays `/lib/modules/<release>/` with the modules,
//! `modules.dep` and `modules.alias`, and `/lib/firmware/` (the kernel's firmware loader reads
//! that standard path by itself). As PID 1, [`drivers::run`] matches every device's modalias
//! against `modules.alias` ([`alias`]), loads the modules found with their dependencies first
//! ([`dep`], [`loader`]), then listens for kernel uevents ([`uevent`]) to do the same for
//! devices that appear later (USB keyboards, NICs, sticks).
//!
//! ```text
//!  /sys/devices/**/modalias ─┐                         modules.dep
//!                            ├─▶ modalias ─▶ alias ─▶ module ─▶ dep order ─▶ finit_module
//!  netlink uevent (add) ─────┘                 ▲                              (memfd if .xz/.zst/.gz)
//!                                        modules.alias
//! ```
//! Other code learns of new network interfaces and block devices through [`Events`].

pub mod alias;
pub mod dep;
pub mod device;
pub mod drivers;
pub mod loader;
pub mod uevent;

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

/// Why a file system's module could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FsModuleError {
    #[error(transparent)]
    Open(#[from] loader::OpenError),
    #[error("cannot load {module} for file system {fstype}: {source}")]
    Load {
        module: String,
        fstype: String,
        source: loader::LoadError,
    },
}

/// Load the module of a file system type the kernel does not know yet, from the module pack of
/// the running kernel: `fs-<type>` in modules.alias, the name the kernel's own request_module
/// would ask modprobe for (kboot has no modprobe). True when a module was loaded now; false
/// when the pack has none for it or it was loaded already.
pub fn load_filesystem(fstype: &str) -> Result<bool, FsModuleError> {
    let mut loader = loader::Loader::open(&drivers::default_dir(), loader::Finit)?;
    if let Ok(text) = std::fs::read_to_string("/proc/modules") {
        loader.mark_loaded(loader::parse_proc_modules(&text));
    }
    let mut fresh = false;
    for outcome in loader.load_for(&format!("fs-{fstype}")) {
        match outcome.result {
            Ok(now) => fresh |= !now.is_empty(),
            Err(source) => {
                return Err(FsModuleError::Load {
                    module: outcome.module,
                    fstype: fstype.to_string(),
                    source,
                })
            }
        }
    }
    Ok(fresh)
}

/// A module name as the kernel compares them: `-` and `_` are the same, written `_`.
pub fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

/// Something the drivers thread saw that other code may care about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HwEvent {
    /// Modules (dependencies first) were loaded for a device, e.g. `pci 0000:00:02.0 (8086:10d3)`.
    DriverLoaded {
        modules: Vec<String>,
        device: String,
    },
    /// Every device present at start has been looked at (the kboot.modprobe= list too); what
    /// comes after is hotplug.
    ColdplugDone,
    /// A network interface appeared (uevent `add`, SUBSYSTEM=net), e.g. `eth0`.
    NetAdded { iface: String },
    /// A block device appeared (uevent `add`, SUBSYSTEM=block), e.g. `sda` or `sda1`.
    BlockAdded { name: String, partition: bool },
}

/// Where [`HwEvent`]s go: every subscriber gets each event sent after it subscribed. Cheap to
/// clone (all clones share the subscribers).
///
/// Network discovery, for instance, can `subscribe()` and wait for `NetAdded` when no link is
/// up yet, or for `ColdplugDone` before deciding there is no NIC. Events sent before a
/// subscription are not replayed: look at /sys/class/net (or /sys/block) after subscribing
/// for what is already there.
#[derive(Debug, Clone, Default)]
pub struct Events {
    subscribers: Arc<Mutex<Vec<Sender<HwEvent>>>>,
}

impl Events {
    /// A receiver for every event from now on.
    pub fn subscribe(&self) -> Receiver<HwEvent> {
        let (tx, rx) = mpsc::channel();
        self.lock().push(tx);
        rx
    }

    /// Send an event to every subscriber still listening (the others are dropped).
    pub fn publish(&self, ev: HwEvent) {
        self.lock().retain(|tx| tx.send(ev.clone()).is_ok());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Sender<HwEvent>>> {
        self.subscribers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribers_get_later_events_and_gone_ones_are_dropped() {
        let events = Events::default();
        events.publish(HwEvent::ColdplugDone);
        let rx = events.subscribe();
        let gone = events.subscribe();
        drop(gone);
        events.clone().publish(HwEvent::NetAdded {
            iface: "eth0".into(),
        });
        assert_eq!(
            rx.try_recv(),
            Ok(HwEvent::NetAdded {
                iface: "eth0".into()
            })
        );
        assert!(rx.try_recv().is_err());
        assert_eq!(events.lock().len(), 1);
    }

    /// The fuzz targets' checks, on inputs made by mutating real-looking files (for hosts
    /// without cargo-fuzz): no parser or matcher panics or hangs on them.
    #[test]
    fn mutated_inputs_never_panic() {
        let seeds: [&[u8]; 3] = [
            b"alias pci:v00008086d000010D3sv*sd*bc*sc*i* e1000e\nalias usb:v*p*d*dc*dsc*dp*ic03isc[0-1]ip01in* usbhid\n",
            b"kernel/e1000e.ko.xz: kernel/ptp.ko.xz kernel/pps_core.ko.xz\nkernel/ptp.ko.xz: kernel/pps_core.ko.xz\nkernel/pps_core.ko.xz:\n",
            b"add@/devices/pci0000:00/0000:00:02.0\0ACTION=add\0SUBSYSTEM=pci\0MODALIAS=pci:v00008086d000010D3\0",
        ];
        const ALPHABET: &[u8] = b"*?[]!^-\\:\n\0 @=az\xff";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..3000 {
            let mut data = seeds[round % 3].to_vec();
            for _ in 0..(next() % 8) {
                let at = (next() as usize) % (data.len() + 1);
                let byte = ALPHABET[(next() as usize) % ALPHABET.len()];
                match next() % 3 {
                    0 if at < data.len() => data[at] = byte,
                    1 if at < data.len() => {
                        data.remove(at);
                    }
                    _ => data.insert(at, byte),
                }
            }
            if let Ok(t) = alias::AliasTable::parse(&data) {
                let _ = t.lookup("pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00");
                let _ = t.lookup("usb:v0627p0001d0000dc00dsc00dp00ic03isc01ip01in00");
            }
            if let Ok(t) = dep::DepTable::parse(&data) {
                for name in t.modules.keys() {
                    let _ = t.load_order(name);
                }
            }
            let _ = uevent::parse(&data);
            let _ = alias::fnmatch(&data, seeds[0]);
        }
    }
}
