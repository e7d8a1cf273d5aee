//! The /init of kboot's demo target initrd: proves that a kexec'd kernel started with the
//! command line kboot gave it. It prints a greeting, the kernel release, /proc/cmdline and
//! whether /sys/firmware/efi exists (UEFI's runtime services reached it) on the console, then
//! powers the machine off (which ends a QEMU run started with -no-reboot).
//!
//! Built as a static musl binary by qemu/build and packed with `kboot mkinitramfs`.

use std::io::Write;

/// With a TPM: the SHA-256 PCRs kboot extends (8, 9, 11 for a UKI, 12) and the event log it handed over, for
/// the measured-boot test (tests/qemu_tpm.rs) to recompute.
/// Needs /sys (mounted by `main`).
fn tpm_report(out: &mut impl Write) {
    let dir = std::path::Path::new("/sys/class/tpm/tpm0/pcr-sha256");
    if !dir.exists() {
        return;
    }
    for pcr in [8, 9, 11, 12] {
        let value = std::fs::read_to_string(dir.join(pcr.to_string())).unwrap_or_default();
        let _ = writeln!(out, "KBOOT-DEMO: pcr-sha256 {pcr}: {}", value.trim());
    }
    if let Ok(log) = std::fs::read("/run/kboot/tpm-eventlog") {
        let _ = writeln!(out, "KBOOT-DEMO: tpm-eventlog: {} bytes", log.len());
    }
    if let Ok(json) = std::fs::read_to_string("/run/kboot/tpm-eventlog.json") {
        let one_line: String = json.split_whitespace().collect::<Vec<_>>().join(" ");
        let _ = writeln!(out, "KBOOT-DEMO: tpm-eventlog.json: {one_line}");
    }
}

/// Mount a kernel file system (`fstype` is also its source) on `target`, best effort.
fn mount(fstype: &std::ffi::CStr, target: &std::ffi::CStr) {
    let _ = std::fs::create_dir_all(target.to_str().unwrap_or("/"));
    // SAFETY: plain mount(2) with NUL-terminated strings that outlive the call.
    unsafe {
        libc::mount(
            fstype.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        );
    }
}

fn main() {
    mount(c"proc", c"/proc");
    // sysfs tells whether the kernel runs with UEFI's runtime services, and shows the TPM.
    mount(c"sysfs", c"/sys");
    let efi = std::path::Path::new("/sys/firmware/efi").exists();
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
        "\nKBOOT-DEMO: hello from the target kernel {}",
        release.trim()
    );
    let _ = writeln!(out, "KBOOT-DEMO: cmdline: {}", cmdline.trim());
    let _ = writeln!(
        out,
        "KBOOT-DEMO: firmware: {}",
        if efi {
            "UEFI (/sys/firmware/efi)"
        } else {
            "no /sys/firmware/efi"
        }
    );
    tpm_report(&mut out);
    let stay = cmdline.split_whitespace().any(|w| w == "kboot_demo.stay");
    let _ = writeln!(
        out,
        "KBOOT-DEMO: {}",
        if stay {
            "staying up (kboot_demo.stay)"
        } else {
            "powering off"
        }
    );
    let _ = out.flush();
    if stay {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    // SAFETY: sync and reboot(2) with a valid command; PID 1 in a throwaway initrd.
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_POWER_OFF);
    }
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
