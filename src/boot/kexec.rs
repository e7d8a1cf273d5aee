//! `kexec_file_load(2)` and the reboot into the loaded kernel.
//!
//! kboot only uses `kexec_file_load`: the kernel parses and (with KEXEC_SIG) verifies the image
//! itself, which is the one kexec path allowed under lockdown/Secure Boot, and it needs no
//! user-space purgatory.

use crate::init::lockdown::Cause;
use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd};

/// kexec_file_load's system call number. The libc crate names it on x86_64 only; arm64 uses
/// the generic table (include/uapi/asm-generic/unistd.h), where it is 294.
#[cfg(target_arch = "aarch64")]
const SYS_KEXEC_FILE_LOAD: libc::c_long = 294;
#[cfg(not(target_arch = "aarch64"))]
const SYS_KEXEC_FILE_LOAD: libc::c_long = libc::SYS_kexec_file_load;

/// Why loading or starting a kernel failed, as the user should read it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KexecError {
    #[error("this kernel cannot kexec: it was built without CONFIG_KEXEC_FILE (kexec_file_load is missing)")]
    NotSupported,
    #[error("the kernel refused the image: it is not a bootable kernel for this machine (ENOEXEC); check the kernel URL")]
    NotAKernel,
    #[error("the kernel refused the image's signature (EKEYREJECTED): sign it with a key this kernel trusts, or boot without lockdown")]
    SignatureRejected,
    #[error("the image's signature could not be checked (EBADMSG/ENOKEY): it is unsigned or signed by an unknown key")]
    SignatureMissing,
    #[error("not enough memory to load the kernel and initrd (ENOMEM): use a smaller initrd or more RAM")]
    NoMemory,
    #[error("kexec is not permitted (EPERM): kboot must run as root, and lockdown may forbid unsigned kernels")]
    NotPermitted,
    #[error("this kernel is not signed, and kboot runs in lockdown {0}: boot a kernel signed for Secure Boot (Debian's are), or sign this one (sbsign) with a key in the firmware's db or MOK, or one given to qemu/build --kernel-trust")]
    Unsigned(Cause),
    #[error("this kernel's signature is not from a key kboot trusts, and kboot runs in lockdown {0}: enroll its signer in the firmware's db or MOK, or build kboot with qemu/build --kernel-trust CERT")]
    UntrustedSignature(Cause),
    #[error("the kernel command line is too long or invalid ({len} bytes): shorten it")]
    BadCmdline { len: usize },
    #[error("kexec_file_load failed: {0}")]
    Other(nix::errno::Errno),
    #[error("the reboot into the new kernel failed: {0}")]
    Reboot(nix::errno::Errno),
    #[error("no kernel is loaded: kexec_file_load must succeed first")]
    NothingLoaded,
}

/// What is known about a refused load beyond the errno: lockdown turns every failed signature
/// check into EPERM, so the sentence depends on the lockdown level and on the image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refusal {
    /// The kernel is in lockdown (`integrity` or `confidentiality`), and why.
    pub locked_down: Option<Cause>,
    /// The image is a PE file with (`Some(true)`) or without an Authenticode signature;
    /// `None` when it is not a PE file.
    pub signed: Option<bool>,
}

impl KexecError {
    fn from_load_errno(errno: nix::errno::Errno, cmdline_len: usize, why: Refusal) -> Self {
        use nix::errno::Errno;
        match errno {
            Errno::EPERM => match (why.locked_down, why.signed) {
                (Some(cause), Some(true)) => KexecError::UntrustedSignature(cause),
                (Some(cause), _) => KexecError::Unsigned(cause),
                (None, _) => KexecError::NotPermitted,
            },
            Errno::ENOSYS => KexecError::NotSupported,
            Errno::ENOEXEC => KexecError::NotAKernel,
            Errno::EKEYREJECTED => KexecError::SignatureRejected,
            Errno::EBADMSG | Errno::ENOKEY | Errno::ENODATA => KexecError::SignatureMissing,
            Errno::ENOMEM => KexecError::NoMemory,
            Errno::EINVAL if cmdline_len > 2048 => KexecError::BadCmdline { len: cmdline_len },
            other => KexecError::Other(other),
        }
    }
}

/// Load `kernel` (and `initrd`) with `cmdline` for the next `exec()`.
pub fn load(
    kernel: BorrowedFd<'_>,
    initrd: Option<BorrowedFd<'_>>,
    cmdline: &str,
) -> Result<(), KexecError> {
    let c = CString::new(cmdline).map_err(|_| KexecError::BadCmdline { len: cmdline.len() })?;
    let len = c.as_bytes_with_nul().len(); // cmdline_len counts the trailing NUL
    let (initrd_fd, flags) = match initrd {
        Some(fd) => (fd.as_raw_fd(), 0),
        None => (-1, libc::KEXEC_FILE_NO_INITRAMFS),
    };
    // SAFETY: the fds are valid for the call, the string outlives it, len matches it.
    let rc = unsafe {
        libc::syscall(
            SYS_KEXEC_FILE_LOAD,
            kernel.as_raw_fd(),
            initrd_fd,
            len as libc::c_ulong,
            c.as_ptr(),
            flags as libc::c_ulong,
        )
    };
    if rc != 0 {
        let errno = nix::errno::Errno::last();
        return Err(KexecError::from_load_errno(errno, len, refusal(kernel)));
    }
    Ok(())
}

/// Lockdown's level and the image's signature, read after a refusal.
fn refusal(kernel: BorrowedFd<'_>) -> Refusal {
    let mut head = vec![0u8; 4096];
    let n = nix::sys::uio::pread(kernel, &mut head, 0).unwrap_or(0);
    Refusal {
        locked_down: crate::init::lockdown::locked(),
        signed: super::header::pe_signed(&head[..n]),
    }
}

/// Unload whatever `load` loaded (used when the user cancels).
pub fn unload() -> Result<(), KexecError> {
    // SAFETY: KEXEC_FILE_UNLOAD ignores the fds and the command line.
    let rc = unsafe {
        libc::syscall(
            SYS_KEXEC_FILE_LOAD,
            -1,
            -1,
            0 as libc::c_ulong,
            std::ptr::null::<libc::c_char>(),
            libc::KEXEC_FILE_UNLOAD as libc::c_ulong,
        )
    };
    if rc != 0 {
        return Err(KexecError::from_load_errno(
            nix::errno::Errno::last(),
            0,
            Refusal::default(),
        ));
    }
    Ok(())
}

/// True when a kernel is loaded and `exec()` would start it.
pub fn is_loaded() -> bool {
    std::fs::read_to_string("/sys/kernel/kexec_loaded")
        .map(|s| s.trim() == "1")
        .unwrap_or(false)
}

/// Start the loaded kernel: sync, then `reboot(LINUX_REBOOT_CMD_KEXEC)`. Only returns on error.
/// The caller unmounts what it mounted first (see `init::shutdown`).
pub fn exec() -> KexecError {
    if !is_loaded() {
        return KexecError::NothingLoaded;
    }
    exec_unchecked()
}

/// `exec()` without the /sys check, for when /sys is already unmounted.
pub fn exec_unchecked() -> KexecError {
    nix::unistd::sync();
    match nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_KEXEC) {
        Ok(never) => match never {},
        Err(e) => KexecError::Reboot(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::errno::Errno;

    #[test]
    fn errnos_become_sentences() {
        assert_eq!(
            KexecError::from_load_errno(Errno::ENOSYS, 10, Refusal::default()),
            KexecError::NotSupported
        );
        assert_eq!(
            KexecError::from_load_errno(Errno::ENOEXEC, 10, Refusal::default()),
            KexecError::NotAKernel
        );
        assert_eq!(
            KexecError::from_load_errno(Errno::EKEYREJECTED, 10, Refusal::default()),
            KexecError::SignatureRejected
        );
        assert_eq!(
            KexecError::from_load_errno(Errno::ENOMEM, 10, Refusal::default()),
            KexecError::NoMemory
        );
        assert_eq!(
            KexecError::from_load_errno(Errno::EINVAL, 5000, Refusal::default()),
            KexecError::BadCmdline { len: 5000 }
        );
        assert!(KexecError::NotSupported
            .to_string()
            .contains("CONFIG_KEXEC_FILE"));
    }

    #[test]
    fn eperm_under_lockdown_says_what_to_sign() {
        let locked = |signed| Refusal {
            locked_down: Some(Cause::SecureBoot),
            signed,
        };
        assert_eq!(
            KexecError::from_load_errno(Errno::EPERM, 10, locked(Some(false))),
            KexecError::Unsigned(Cause::SecureBoot)
        );
        assert_eq!(
            KexecError::from_load_errno(Errno::EPERM, 10, locked(None)),
            KexecError::Unsigned(Cause::SecureBoot)
        );
        assert_eq!(
            KexecError::from_load_errno(Errno::EPERM, 10, locked(Some(true))),
            KexecError::UntrustedSignature(Cause::SecureBoot)
        );
        assert_eq!(
            KexecError::from_load_errno(Errno::EPERM, 10, Refusal::default()),
            KexecError::NotPermitted
        );
        // Lockdown changes nothing for other errnos.
        assert_eq!(
            KexecError::from_load_errno(Errno::ENOEXEC, 10, locked(Some(true))),
            KexecError::NotAKernel
        );
        for e in [
            KexecError::Unsigned(Cause::SecureBoot),
            KexecError::UntrustedSignature(Cause::SecureBoot),
        ] {
            let s = e.to_string();
            assert!(s.contains("Secure Boot is on") && !s.contains('\n'), "{s}");
        }
        // A lockdown from the command line is named as such, not as Secure Boot.
        let requested = KexecError::from_load_errno(
            Errno::EPERM,
            10,
            Refusal {
                locked_down: Some(Cause::CommandLine),
                signed: Some(false),
            },
        )
        .to_string();
        assert!(
            requested.starts_with(
                "this kernel is not signed, and kboot runs in lockdown because lockdown= is on its kernel command line:"
            ),
            "{requested}"
        );
    }

    #[test]
    fn a_nul_in_the_command_line_is_refused_before_the_syscall() {
        let f = std::fs::File::open("/dev/null").unwrap();
        use std::os::fd::AsFd;
        assert_eq!(
            load(f.as_fd(), None, "a\0b"),
            Err(KexecError::BadCmdline { len: 3 })
        );
    }
}
