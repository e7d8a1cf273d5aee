//! Booting the target: kexec_file_load and the reboot into it.

pub mod header;
pub mod initrd;
pub mod kexec;
pub mod memory;
pub mod payload;
pub mod prepare;
pub mod uki;
pub mod zboot;

/// Everything needed to boot one target: what the menu, the editor or the prompt produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BootSpec {
    /// What the user sees while it loads ("Debian 12", or the URL typed at the prompt).
    pub title: String,
    /// Absolute URL of the kernel.
    pub kernel: String,
    /// Absolute URLs of the initrds, loaded concatenated in this order.
    pub initrds: Vec<String>,
    /// The final target command line (the diskless-root parameters are added at boot time).
    pub cmdline: String,
    /// A diskless root to describe to the target's initramfs (boxed: it is large and rarely
    /// set, and a `BootSpec` travels in UI messages).
    pub diskless: Option<Box<crate::config::model::Diskless>>,
    /// Expected SHA-256 per URL of `kernel` and `initrds`.
    pub sha256: std::collections::BTreeMap<String, String>,
    /// Whether the entry's config was signed by a trusted key (`None`: not checked, or typed
    /// at the prompt).
    pub signature: Option<crate::config::model::Signature>,
    /// The command line the entry's config gave (handoff included), before any edit: under
    /// `kboot.verify=require` only this one boots.
    pub config_cmdline: Option<String>,
    /// The URL and SHA-256 of the entry's config and of each file it included (measured into
    /// PCR 8).
    pub config_files: Vec<(String, [u8; 32])>,
}
