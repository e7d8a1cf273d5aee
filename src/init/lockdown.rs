//! Keeping the chain Secure Boot started: when the firmware says Secure Boot is on, kboot puts
//! its own kernel in lockdown (`integrity`) through securityfs before it loads anything.
//!
//! Upstream Linux 6.1 does not lock itself down under Secure Boot (distributions patch that in;
//! kboot's kernel is upstream). In lockdown, `kexec_file_load` accepts only kernels whose
//! signature a key of the kernel verifies (the platform keyring: UEFI db and MOK; the built-in
//! keys: Debian's Secure Boot CA and `qemu/build --kernel-trust` certificates), and refuses the
//! others with EPERM (`boot::kexec` turns that into a sentence).
//!
//! The parsers are sans-IO; [`apply`] is the thin shell PID 1 calls once, after the early mounts.

use std::path::Path;

/// The EFI global variable GUID: `SecureBoot-<guid>` is the firmware's word on Secure Boot.
pub const SECURE_BOOT_VAR: &str = "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c";
const EFIVARS: &str = "/sys/firmware/efi/efivars";
const SECURITYFS: &str = "/sys/kernel/security";
const LOCKDOWN: &str = "/sys/kernel/security/lockdown";

/// The kernel's lockdown levels (`/sys/kernel/security/lockdown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    None,
    Integrity,
    Confidentiality,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Integrity => "integrity",
            Level::Confidentiality => "confidentiality",
        }
    }
}

/// The value of an efivarfs file: 4 bytes of attributes, then the data. `SecureBoot` is one
/// byte, 1 when Secure Boot is enforcing. `None` for a file too short to hold it.
pub fn secure_boot_from_efivar(file: &[u8]) -> Option<bool> {
    file.get(4).map(|&b| b == 1)
}

/// The current level in the securityfs file's text: `none [integrity] confidentiality`. `None`
/// when no level is bracketed (an empty or unexpected file).
pub fn parse_lockdown(text: &str) -> Option<Level> {
    text.split_whitespace()
        .find_map(|w| match w.strip_prefix('[')?.strip_suffix(']')? {
            "none" => Some(Level::None),
            "integrity" => Some(Level::Integrity),
            "confidentiality" => Some(Level::Confidentiality),
            _ => None,
        })
}

/// What [`apply`] found and did, for one line in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not booted by UEFI (BIOS, coreboot, QEMU's -kernel): nothing to keep.
    NoUefi,
    /// UEFI without Secure Boot (or the variable could not be read).
    SecureBootOff,
    /// Secure Boot is on and the kernel is now (or already was) at `level`.
    Locked(Level),
    /// Secure Boot is on but lockdown could not be set: the sentence says why.
    Failed(String),
    /// No Secure Boot, but the kernel is locked down anyway (`lockdown=` on its command line).
    Requested(Level),
}

impl Outcome {
    /// The log line; `None` when there is nothing worth saying (no UEFI).
    pub fn line(&self) -> Option<String> {
        match self {
            Outcome::NoUefi => None,
            Outcome::SecureBootOff => {
                Some("UEFI without Secure Boot: no lockdown, kernels load signed or not".into())
            }
            Outcome::Locked(l) => Some(format!(
                "Secure Boot is on: kernel lockdown is {}; only signed kernels boot",
                l.name()
            )),
            Outcome::Failed(why) => Some(format!(
                "Secure Boot is on, but kboot could not lock its kernel down: {why}"
            )),
            Outcome::Requested(l) => Some(format!(
                "kernel lockdown is {} (lockdown= on kboot's command line): only signed kernels and modules load",
                l.name()
            )),
        }
    }
}

/// Why the kernel is in lockdown, for the sentences that refuse a kernel or a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The firmware's Secure Boot ([`apply`] locked the kernel down).
    SecureBoot,
    /// `lockdown=` on kboot's kernel command line, without Secure Boot.
    CommandLine,
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Cause::SecureBoot => "because Secure Boot is on",
            Cause::CommandLine => "because lockdown= is on its kernel command line",
        })
    }
}

/// Whether the kernel is in lockdown (`integrity` or more) now, and why; `None` when it is not.
pub fn locked() -> Option<Cause> {
    current().filter(|l| *l >= Level::Integrity)?;
    Some(if secure_boot_on() {
        Cause::SecureBoot
    } else {
        Cause::CommandLine
    })
}

/// The firmware's SecureBoot variable says Secure Boot is enforcing (false without UEFI).
pub fn secure_boot_on() -> bool {
    if !Path::new("/sys/firmware/efi").exists() {
        return false;
    }
    mount_if_missing("efivarfs", EFIVARS, libc::MS_RDONLY);
    std::fs::read(Path::new(EFIVARS).join(SECURE_BOOT_VAR))
        .ok()
        .and_then(|b| secure_boot_from_efivar(&b))
        .unwrap_or(false)
}

/// Read the firmware's SecureBoot variable and, when it is on, raise the kernel's lockdown to
/// `integrity` (never lowering a level the command line, `lockdown=`, already set). Without
/// Secure Boot, a lockdown the command line asked for is reported.
pub fn apply() -> Outcome {
    let uefi = Path::new("/sys/firmware/efi").exists();
    if !secure_boot_on() {
        return match current() {
            Some(l) if l >= Level::Integrity => Outcome::Requested(l),
            _ if uefi => Outcome::SecureBootOff,
            _ => Outcome::NoUefi,
        };
    }
    mount_if_missing("securityfs", SECURITYFS, 0);
    let current = std::fs::read_to_string(LOCKDOWN)
        .ok()
        .and_then(|t| parse_lockdown(&t));
    match current {
        None => {
            return Outcome::Failed(
                "its kernel has no lockdown (CONFIG_SECURITY_LOCKDOWN_LSM): rebuild it with kernel-config/x86_64.config".into(),
            )
        }
        Some(l) if l >= Level::Integrity => return Outcome::Locked(l),
        Some(_) => {}
    }
    if let Err(e) = std::fs::write(LOCKDOWN, "integrity") {
        return Outcome::Failed(format!("writing integrity to {LOCKDOWN} failed: {e}"));
    }
    match std::fs::read_to_string(LOCKDOWN)
        .ok()
        .and_then(|t| parse_lockdown(&t))
    {
        Some(l) if l >= Level::Integrity => Outcome::Locked(l),
        other => Outcome::Failed(format!(
            "{LOCKDOWN} still says {}",
            other.map_or("nothing", Level::name)
        )),
    }
}

/// The kernel's lockdown level now, when securityfs shows it (for error sentences). Mounts
/// securityfs when it is not yet (a `lockdown=` on the command line locks without Secure Boot).
pub fn current() -> Option<Level> {
    if !Path::new(LOCKDOWN).exists() {
        mount_if_missing("securityfs", SECURITYFS, 0);
    }
    std::fs::read_to_string(LOCKDOWN)
        .ok()
        .and_then(|t| parse_lockdown(&t))
}

fn mount_if_missing(fstype: &str, target: &str, flags: u64) {
    use nix::mount::{mount, MsFlags};
    let flags = MsFlags::from_bits_truncate(
        (flags | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC) as _,
    );
    // EBUSY: already mounted there. Other failures show up as the file missing.
    let _ = mount(Some(fstype), target, Some(fstype), flags, None::<&str>);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secure_boot_variable() {
        assert_eq!(secure_boot_from_efivar(&[6, 0, 0, 0, 1]), Some(true));
        assert_eq!(secure_boot_from_efivar(&[6, 0, 0, 0, 0]), Some(false));
        assert_eq!(secure_boot_from_efivar(&[6, 0, 0, 0, 2]), Some(false));
        assert_eq!(secure_boot_from_efivar(&[6, 0, 0, 0]), None);
        assert_eq!(secure_boot_from_efivar(&[]), None);
    }

    #[test]
    fn the_lockdown_file() {
        assert_eq!(
            parse_lockdown("[none] integrity confidentiality\n"),
            Some(Level::None)
        );
        assert_eq!(
            parse_lockdown("none [integrity] confidentiality\n"),
            Some(Level::Integrity)
        );
        assert_eq!(
            parse_lockdown("none integrity [confidentiality]"),
            Some(Level::Confidentiality)
        );
        assert_eq!(parse_lockdown("none integrity confidentiality"), None);
        assert_eq!(parse_lockdown(""), None);
        assert_eq!(parse_lockdown("[bogus] [] ["), None);
        assert!(Level::Confidentiality > Level::Integrity && Level::Integrity > Level::None);
    }

    #[test]
    fn outcomes_read_as_sentences() {
        assert_eq!(Outcome::NoUefi.line(), None);
        assert!(Outcome::Locked(Level::Integrity)
            .line()
            .unwrap()
            .contains("lockdown is integrity"));
        assert!(Outcome::Failed("x".into())
            .line()
            .unwrap()
            .contains("could not lock"));
    }
}
