//! Reboot, power off, and the last steps before starting a kexec'd kernel.

use nix::sys::reboot::{reboot, RebootMode};

/// What the user chose from the menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerAction {
    Reboot,
    PowerOff,
}

/// Sync, unmount, and reboot or power off. Returns only on failure, with a sentence.
pub fn power(action: PowerAction) -> String {
    super::mounts::unmount_all();
    let mode = match action {
        PowerAction::Reboot => RebootMode::RB_AUTOBOOT,
        PowerAction::PowerOff => RebootMode::RB_POWER_OFF,
    };
    let err = match reboot(mode) {
        Ok(never) => match never {},
        Err(e) => format!("{action:?} failed: {e}"),
    };
    let _ = super::mounts::mount_early();
    err
}

/// Start the kernel loaded by `boot::kexec::load`. Returns only on failure.
pub fn kexec_loaded_kernel() -> crate::boot::kexec::KexecError {
    if !crate::boot::kexec::is_loaded() {
        return crate::boot::kexec::KexecError::NothingLoaded;
    }
    super::mounts::unmount_all();
    let err = crate::boot::kexec::exec_unchecked();
    // Still here: put the file systems back so the menu keeps working.
    let _ = super::mounts::mount_early();
    err
}
