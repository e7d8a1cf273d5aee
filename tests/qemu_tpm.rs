//! End to end in QEMU with a software TPM (swtpm, QEMU's tpm-tis): kboot measures what it boots
//! (issue 13, item 2). The target (kboot's own kernel with the demo initrd) prints the SHA-256
//! PCRs 8, 9 and 12 from /sys/class/tpm/tpm0/pcr-sha256/ and the event log kboot handed it; the
//! test recomputes the PCRs from the served files and the command line. A second boot with
//! another command line gives another PCR 12 (and the same PCR 9).
//!
//! Needs `qemu/build` (with the TPM drivers in kboot's kernel) and Debian's swtpm (qemu/setup).

mod common;

use common::{tftp_folder, Guest, GuestOptions};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const BOOT: Duration = Duration::from_secs(150);

/// A swtpm process serving one guest, killed (and its state removed) when dropped.
struct Swtpm {
    child: Child,
    dir: PathBuf,
}

impl Swtpm {
    fn start(dir: &Path) -> Swtpm {
        let dir = dir.join("swtpm");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("sock");
        let child = Command::new("swtpm")
            .args(["socket", "--tpm2", "--tpmstate"])
            .arg(format!("dir={}", dir.display()))
            .arg("--ctrl")
            .arg(format!("type=unixio,path={}", sock.display()))
            .spawn()
            .expect("swtpm is missing: run qemu/setup (Debian packages swtpm, swtpm-tools)");
        let t = Instant::now();
        while !sock.exists() {
            assert!(t.elapsed() < Duration::from_secs(10), "swtpm did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Swtpm { child, dir }
    }

    fn sock(&self) -> String {
        self.dir.join("sock").display().to_string()
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn extend(pcr: [u8; 32], digest: [u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(pcr);
    h.update(digest);
    h.finalize().into()
}

fn hex(d: &[u8; 32]) -> String {
    d.iter().map(|b| format!("{b:02X}")).collect()
}

/// Boot once with swtpm; returns the target's command line and its PCRs 8, 9, 12 (upper-case
/// hex, as sysfs prints them) and the event log line.
fn measured_boot(name: &str, dir: &Path) -> (String, [String; 3], String) {
    let tpm = Swtpm::start(dir);
    let chardev = format!("socket,id=chrtpm,path={}", tpm.sock());
    let extra = [
        "-chardev",
        chardev.as_str(),
        "-tpmdev",
        "emulator,id=tpm0,chardev=chrtpm",
        "-device",
        "tpm-tis,tpmdev=tpm0",
    ];
    let mut g = Guest::start(
        name,
        &GuestOptions {
            append: "kboot.menu=off",
            extra: &extra,
            ..GuestOptions::serving(dir)
        },
    );
    g.wait_for("measured into /dev/tpm", BOOT);
    let cmdline = g.target_cmdline(BOOT);
    let pcr = |g: &mut Guest, n: u32| g.line_after(&format!("KBOOT-DEMO: pcr-sha256 {n}:"), BOOT);
    let pcrs = [pcr(&mut g, 8), pcr(&mut g, 9), pcr(&mut g, 12)];
    let log = g.line_after("KBOOT-DEMO: tpm-eventlog.json:", BOOT);
    (cmdline, pcrs, log)
}

fn folder(test: &str, marker: &str) -> PathBuf {
    let conf = format!(
        "default=m\ntimeout=0\n\
         m='bzImage-kboot initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test={marker}'\n"
    );
    tftp_folder(test, "kboot.conf", &conf)
}

#[test]
fn pcrs_8_9_12_hold_the_config_the_files_and_the_command_line() {
    let dir = folder("tpm", "measured");
    let (cmdline, pcrs, log) = measured_boot("tpm", &dir);
    assert!(cmdline.contains("kboot_test=measured"), "{cmdline}");

    let file = |n: &str| std::fs::read(dir.join(n)).unwrap();
    let zero = [0u8; 32];
    let pcr8 = extend(zero, sha256(&file("kboot.conf")));
    let pcr9 = extend(
        extend(zero, sha256(&file("bzImage-kboot"))),
        sha256(&file("demo-initrd.cpio.gz")),
    );
    let pcr12 = extend(zero, sha256(cmdline.as_bytes()));
    assert_eq!(pcrs[0], hex(&pcr8), "PCR 8 (the config)");
    assert_eq!(pcrs[1], hex(&pcr9), "PCR 9 (kernel, then initrd)");
    assert_eq!(
        pcrs[2],
        hex(&pcr12),
        "PCR 12 (the command line {cmdline:?})"
    );
    // The log the target got names each event with its digest.
    assert!(log.contains("\"pcr\": 12"), "{log}");
    assert!(
        log.contains(&hex(&sha256(cmdline.as_bytes())).to_lowercase()),
        "{log}"
    );
    assert!(
        log.contains("kboot kernel tftp://10.0.2.2/bzImage-kboot"),
        "{log}"
    );

    // Another command line: another PCR 12, the same PCR 9.
    let other = folder("tpm2", "other");
    let (cmdline2, pcrs2, _) = measured_boot("tpm2", &other);
    assert!(cmdline2.contains("kboot_test=other"), "{cmdline2}");
    assert_ne!(pcrs2[2], pcrs[2]);
    assert_eq!(pcrs2[2], hex(&extend(zero, sha256(cmdline2.as_bytes()))));
    assert_eq!(pcrs2[1], pcrs[1]);
}
