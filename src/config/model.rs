//! The one menu model every config format lowers into.

use serde::Serialize;

/// A whole boot menu, as parsed from one config (and its includes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Menu {
    pub title: Option<String>,
    /// The `id` of the entry booted when the countdown ends.
    pub default: Option<String>,
    /// Countdown before the default boots; `None` = wait forever.
    pub timeout_ms: Option<u64>,
    pub entries: Vec<Entry>,
    /// kboot.conf `message=`: a file whose text is shown above the menu (kept as written).
    pub message: Option<String>,
    /// Network settings a config asks for (kboot.conf `ip=`, `netmask=`, `gateway=`, `dns=`,
    /// `tftp_server=`, the Xbox 360 loader's keys), as `(key, value)` in file order.
    pub network: Vec<(String, String)>,
    /// Problems found while parsing ("kboot.conf line 4: ..."), shown in the log pane.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// One bootable entry (or a submenu when `children` is non-empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Entry {
    /// Label used by `default=` and at the `kboot:` prompt.
    pub id: String,
    /// As displayed.
    pub title: String,
    /// Absolute URL of the kernel.
    pub kernel: Option<String>,
    /// Absolute URLs of the initrds, in order.
    pub initrds: Vec<String>,
    /// The target command line (without initrd= arguments turned into `initrds`).
    pub cmdline: String,
    /// Location of a device tree blob to pass to the target (kboot.conf `dtb=`).
    pub devicetree: Option<String>,
    pub children: Vec<Entry>,
}

impl Menu {
    /// Index of the default entry among the top-level entries (0 if none matches).
    pub fn default_index(&self) -> usize {
        self.default
            .as_deref()
            .and_then(|d| self.entries.iter().position(|e| e.id == d))
            .unwrap_or(0)
    }

    /// Find a top-level entry by label.
    pub fn find(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }
}
