//! End to end in QEMU with a software TPM (swtpm, QEMU's tpm-tis): kboot measures what it boots
//! (issue 13, item 2). The target (kboot's own kernel with the demo initrd) prints the SHA-256
//! PCRs 8, 9 and 12 from /sys/class/tpm/tpm0/pcr-sha256/ and the event log kboot handed it; the
//! test recomputes the PCRs from the served files and the command line. A second boot with
//! another command line gives another PCR 12 (and the same PCR 9).
//!
//! Needs `qemu/build` (with the TPM drivers in kboot's kernel) and Debian's swtpm (qemu/setup).

mod common;

use common::swtpm::Swtpm;
use common::{tftp_folder, Guest, GuestOptions};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BOOT: Duration = Duration::from_secs(150);

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
    let args = tpm.qemu_args();
    let extra: Vec<&str> = args.iter().map(String::as_str).collect();
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

/// A TFTP folder whose kboot.conf boots the demo target with `marker`; with `pins`, the kernel
/// and initrd are pinned by SHA-256 (kboot then measures the pins instead of reading the files
/// again: the PCRs must come out the same).
fn folder(test: &str, marker: &str, pins: bool) -> PathBuf {
    let dir = tftp_folder(test, "kboot.conf", "");
    let pin = |n: &str| -> String {
        sha256(&std::fs::read(dir.join(n)).unwrap())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let pins = if pins {
        format!(
            " kboot.sha256.kernel={} kboot.sha256.initrd={}",
            pin("bzImage-kboot"),
            pin("demo-initrd.cpio.gz")
        )
    } else {
        String::new()
    };
    let conf = format!(
        "default=m\ntimeout=0\n\
         m='bzImage-kboot initrd=demo-initrd.cpio.gz console=ttyS0 kboot_test={marker}{pins}'\n"
    );
    std::fs::write(dir.join("kboot.conf"), conf).unwrap();
    dir
}

#[test]
fn pcrs_8_9_12_hold_the_config_the_files_and_the_command_line() {
    let dir = folder("tpm", "measured", false);
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

    // Another command line: another PCR 12, the same PCR 9 (measured from the pins this time).
    let other = folder("tpm2", "other", true);
    let (cmdline2, pcrs2, _) = measured_boot("tpm2", &other);
    assert!(cmdline2.contains("kboot_test=other"), "{cmdline2}");
    assert_ne!(pcrs2[2], pcrs[2]);
    assert_eq!(pcrs2[2], hex(&extend(zero, sha256(cmdline2.as_bytes()))));
    assert_eq!(pcrs2[1], pcrs[1]);
}

/// The codec against a real TPM 2.0 implementation (swtpm's libtpms), without a VM: what kboot
/// sends through /dev/tpmrm0 goes over swtpm's command socket here.
#[test]
fn the_codec_extends_and_reads_pcrs_of_swtpm() {
    use kboot::tpm::codec;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    let dir = std::env::temp_dir().join(format!("kboot-swtpm-codec-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let server = dir.join("server");
    let mut child = Command::new("swtpm")
        .args(["socket", "--tpm2", "--flags", "not-need-init,startup-clear"])
        .arg("--tpmstate")
        .arg(format!("dir={}", dir.display()))
        .arg("--server")
        .arg(format!("type=unixio,path={}", server.display()))
        .arg("--ctrl")
        .arg(format!("type=unixio,path={}", dir.join("ctrl").display()))
        .spawn()
        .expect("swtpm is missing: run qemu/setup (Debian packages swtpm, swtpm-tools)");
    let t = Instant::now();
    let mut s = loop {
        match UnixStream::connect(&server) {
            Ok(s) => break s,
            Err(_) if t.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => panic!("swtpm's socket: {e}"),
        }
    };
    let mut transmit = |cmd: &[u8]| -> Vec<u8> {
        s.write_all(cmd).unwrap();
        let mut head = [0u8; 10];
        s.read_exact(&mut head).unwrap();
        let size = u32::from_be_bytes(head[2..6].try_into().unwrap()) as usize;
        let mut rest = vec![0u8; size - 10];
        s.read_exact(&mut rest).unwrap();
        [&head[..], &rest].concat()
    };
    let banks = codec::parse_pcr_banks(&transmit(&codec::get_pcr_banks())).unwrap();
    assert!(banks.contains(&codec::ALG_SHA256), "{banks:?}");
    let before = codec::parse_pcr_read(&transmit(&codec::pcr_read(&[8, 9, 12]))).unwrap();
    assert_eq!(before, vec![(8, [0; 32]), (9, [0; 32]), (12, [0; 32])]);
    let digest = sha256(b"kboot kernel");
    codec::parse_extend(&transmit(&codec::pcr_extend(9, &digest))).unwrap();
    let after = codec::parse_pcr_read(&transmit(&codec::pcr_read(&[9]))).unwrap();
    assert_eq!(after, vec![(9, extend([0; 32], digest))]);
    // PCR 0..7 belong to the firmware; extending a locality-restricted PCR (17) is refused
    // with the TPM's code, not a parse error.
    let refused = codec::parse_extend(&transmit(&codec::pcr_extend(17, &digest)));
    assert!(
        matches!(refused, Err(codec::TpmError::Code(_))),
        "{refused:?}"
    );
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
