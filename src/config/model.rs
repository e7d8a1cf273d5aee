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
    /// HTTP proxy for this menu's kernels and initrds (kboot.conf `proxy=`), e.g.
    /// `http://192.0.2.9:3128`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// Problems found while parsing ("kboot.conf line 4: ..."), shown in the log pane.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// Whether an entry's config was signed by a trusted key (see `crate::trust`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// The key id of the key that signed the config and everything it included.
    SignedBy(String),
    /// Why not, as a sentence naming the file and the key.
    NotSigned(String),
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
    /// For a submenu: the `id` of the child booted when this submenu is the default (GRUB's
    /// `set default="Advanced options>Recovery"`, a disk config's own default). `None` = the
    /// first child.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_child: Option<String>,
    /// A key that selects the entry at once (pxelinux `^x` in MENU LABEL, iPXE `item --key`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hotkey: Option<char>,
    /// Help text shown with the entry (pxelinux TEXT HELP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Not listed in the menu, but still bootable by label/default (pxelinux MENU HIDE).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
    /// Set when the entry does something other than booting `kernel`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// Which network parameters kboot appends to the target command line.
    #[serde(skip_serializing_if = "Handoff::is_default")]
    pub handoff: Handoff,
    /// A root file system on a disk server (iSCSI, NBD, NFS) that kboot describes to the
    /// target's initramfs (kboot.conf `kboot.root=`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diskless: Option<Diskless>,
    /// Expected SHA-256 of the kernel/initrd URLs, checked while streaming (kboot.conf
    /// `kboot.sha256.kernel=`, `kboot.sha256.initrd=`); a mismatch refuses to boot.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub sha256: std::collections::BTreeMap<String, String>,
    /// What kboot's trust check said of the config this entry came from (`None`:
    /// `kboot.verify=off`, or a local disk's config).
    #[serde(skip)]
    pub signature: Option<Signature>,
    /// The URL and SHA-256 of each config file this entry came from: the config, then each
    /// file it included, in the order read (measured into PCR 8).
    #[serde(skip)]
    pub config_files: Vec<(String, [u8; 32])>,
}

/// The diskless root of an entry, rendered for the target's initramfs at boot time (once the
/// initrd is fetched and its flavour can be detected).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Diskless {
    /// A root URI (`iscsi:...` RFC 4173, `nbd:...`, `nfs:...`, `server:/path`, `template:...`)
    /// or `dhcp` for DHCP option 17 (root-path).
    pub root: String,
    /// `dracut`, `initramfs-tools` or `kernel`; `None` detects it from the initrd.
    pub flavor: Option<String>,
    /// The `root=` of the filesystem on an iSCSI disk (e.g. `LABEL=root`, `/dev/sda1`).
    pub rootfs: Option<String>,
    /// The iSCSI initiator name (else DHCP option 203, else generated).
    pub initiator: Option<String>,
    /// Files to add to the target's initramfs (kboot.conf `kboot.inject=`), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inject: Vec<Inject>,
    /// Kernel modules the target's initramfs loads before it attaches the root (kboot.conf
    /// `kboot.modules=`), in order: from an injected `<name>.ko`, else from the initrd.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<String>,
    /// CHAP credentials on the target's command line (kboot.conf `kboot.secrets=cmdline`)
    /// instead of in a file in its initramfs (the default, `kboot.secrets=initramfs`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub secrets_on_cmdline: bool,
}

/// One file kboot adds to the target's initramfs (an appended cpio segment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inject {
    /// Path inside the initramfs, relative (no leading `/`), normalised.
    pub path: String,
    /// Absolute URL of the content.
    pub url: String,
    /// Permission bits (default 0644; 0755 for a file to execute).
    pub mode: u32,
}

/// An entry that is not a kernel to boot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "target")]
pub enum Action {
    /// Boot from the local disk (pxelinux LOCALBOOT, iPXE `exit` in a menu, GRUB chainloader).
    LocalBoot,
    /// Leave this (sub)menu (pxelinux MENU EXIT).
    Exit,
    Reboot,
    PowerOff,
    /// Load another config (pxelinux CONFIG, iPXE `chain` of a script, GRUB configfile): an
    /// absolute URL.
    Chain(String),
}

/// The network description kboot hands to the target kernel on its command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case", tag = "mode", content = "bits")]
pub enum Handoff {
    /// kboot's default: `ip=<client>:<server>:<gw>:<mask>:<hostname>::off:<dns0>:<dns1>` and
    /// `BOOTIF=01-<mac>`.
    #[default]
    Default,
    /// pxelinux IPAPPEND/SYSAPPEND bits: 1 = `ip=<client>:<server>:<gw>:<mask>`,
    /// 2 = `BOOTIF=01-<mac>`; 0 = nothing.
    Pxelinux(u32),
    /// Nothing appended (kboot.conf `kboot.ip=off` and similar opt-outs).
    Off,
}

impl Handoff {
    pub fn is_default(&self) -> bool {
        *self == Handoff::Default
    }
}

impl Menu {
    /// Index of the default entry among the top-level entries (0 if none matches).
    pub fn default_index(&self) -> usize {
        self.default
            .as_deref()
            .and_then(|d| self.entries.iter().position(|e| e.id == d))
            .unwrap_or(0)
    }

    /// The entry the countdown boots: the default top-level entry, and for a submenu its
    /// [`Entry::default_child`] (else its first child), down to an entry without children.
    pub fn default_entry(&self) -> Option<&Entry> {
        let mut e = self.entries.get(self.default_index())?;
        // Bounded: each step goes one level down.
        while !e.children.is_empty() {
            e = e
                .default_child
                .as_deref()
                .and_then(|id| e.children.iter().find(|c| c.id == id))
                .or_else(|| e.children.first())?;
        }
        Some(e)
    }

    /// Find a top-level entry by label.
    pub fn find(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }
}
