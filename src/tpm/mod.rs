//! Measured boot: before kexec, kboot extends SHA-256 PCRs with what it boots (following the
//! Linux TPM PCR registry where it speaks): the config that chose the entry into PCR 8, the
//! kernel and the initrd into PCR 9, the command line into PCR 12. Each extend is logged in a
//! TCG crypto-agile event log that goes into the target's initramfs at
//! `/run/kboot/tpm-eventlog` (and a JSON copy at `/run/kboot/tpm-eventlog.json`), so that the
//! target can replay it.
//!
//! [`codec`] writes the TPM2 commands and reads their answers (sans-IO); [`eventlog`] writes the
//! log; [`Tpm`] is the thin shell over `/dev/tpmrm0` (else `/dev/tpm0`).

pub mod codec;
pub mod eventlog;

use codec::TpmError;
use eventlog::{Event, EV_IPL};
use std::io::{Read, Write};

/// The PCRs kboot extends.
pub const PCR_CONFIG: u32 = 8;
pub const PCR_KERNEL: u32 = 9;
pub const PCR_CMDLINE: u32 = 12;
/// A unified kernel image's sections, as systemd-stub measures them (`kernel-boot`).
pub const PCR_UKI: u32 = 11;

/// The UKI sections measured into PCR 11, in the UKI specification's canonical order (the
/// order of systemd's `unified_sections[]`; `.pcrsig` is never measured, since it holds the
/// signature of the PCR 11 values themselves).
pub const UKI_SECTIONS: &[&str] = &[
    ".linux", ".osrel", ".cmdline", ".initrd", ".ucode", ".splash", ".dtb", ".uname", ".sbat",
    ".pcrpkey",
];

/// Where the logs go in the target's initramfs.
pub const LOG_PATH: &str = "run/kboot/tpm-eventlog";
pub const JSON_PATH: &str = "run/kboot/tpm-eventlog.json";

/// The device kboot talks to.
pub struct Tpm {
    dev: std::fs::File,
    pub path: &'static str,
}

/// Why the TPM could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("{path}: {source}")]
    Io {
        path: &'static str,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Tpm {
        path: &'static str,
        source: TpmError,
    },
    #[error("{path} has no SHA-256 PCR bank allocated: nothing measured")]
    NoSha256 { path: &'static str },
}

impl Tpm {
    /// The resource manager `/dev/tpmrm0`, else `/dev/tpm0`; `None` when there is no TPM.
    pub fn open() -> Option<Result<Tpm, DeviceError>> {
        for path in ["/dev/tpmrm0", "/dev/tpm0"] {
            match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
            {
                Ok(dev) => return Some(Ok(Tpm { dev, path })),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Some(Err(DeviceError::Io { path, source })),
            }
        }
        None
    }

    /// Send one command and read its answer (the driver returns it whole in one read).
    pub fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, DeviceError> {
        let path = self.path;
        let io = |source| DeviceError::Io { path, source };
        self.dev.write_all(command).map_err(io)?;
        let mut buf = vec![0u8; codec::MAX_RESPONSE];
        let n = self.dev.read(&mut buf).map_err(io)?;
        buf.truncate(n);
        Ok(buf)
    }

    fn tpm_err(&self, source: TpmError) -> DeviceError {
        DeviceError::Tpm {
            path: self.path,
            source,
        }
    }

    /// True when the SHA-256 bank is allocated.
    pub fn has_sha256(&mut self) -> Result<bool, DeviceError> {
        let answer = self.transmit(&codec::get_pcr_banks())?;
        let banks = codec::parse_pcr_banks(&answer).map_err(|e| self.tpm_err(e))?;
        Ok(banks.contains(&codec::ALG_SHA256))
    }

    pub fn extend(&mut self, pcr: u32, digest: &[u8; 32]) -> Result<(), DeviceError> {
        let answer = self.transmit(&codec::pcr_extend(pcr, digest))?;
        codec::parse_extend(&answer).map_err(|e| self.tpm_err(e))
    }

    pub fn read(&mut self, pcrs: &[u32]) -> Result<Vec<(u32, [u8; 32])>, DeviceError> {
        let answer = self.transmit(&codec::pcr_read(pcrs))?;
        codec::parse_pcr_read(&answer).map_err(|e| self.tpm_err(e))
    }
}

/// What one boot measures, in order (sans-IO): each config file's digest (the config, then its
/// includes, as read; none for a line typed at the prompt), the kernel's,
/// each initrd's (one event per file, in the order the kernel gets them, then one for the files
/// kboot added, when it added any), the command line's (its UTF-8 bytes).
pub fn plan(
    configs: &[(&str, [u8; 32])],
    kernel: (&str, [u8; 32]),
    initrds: &[(&str, [u8; 32])],
    cmdline: &str,
) -> Vec<Event> {
    use sha2::{Digest, Sha256};
    let mut events = Vec::new();
    for (url, digest) in configs {
        events.push(Event {
            pcr: PCR_CONFIG,
            event_type: EV_IPL,
            sha256: *digest,
            event: format!("kboot config {url}"),
        });
    }
    events.push(Event {
        pcr: PCR_KERNEL,
        event_type: EV_IPL,
        sha256: kernel.1,
        event: format!("kboot kernel {}", kernel.0),
    });
    for (url, digest) in initrds {
        events.push(Event {
            pcr: PCR_KERNEL,
            event_type: EV_IPL,
            sha256: *digest,
            event: format!("kboot initrd {url}"),
        });
    }
    events.push(Event {
        pcr: PCR_CMDLINE,
        event_type: EV_IPL,
        sha256: Sha256::digest(cmdline.as_bytes()).into(),
        event: cmdline.to_string(),
    });
    events
}

/// What systemd-stub measures of a UKI into PCR 11, from `sections` (name, contents; any
/// order, any names): for each section of [`UKI_SECTIONS`] present, in that order, two EV_IPL
/// events: the section name with its trailing NUL, then the section's contents. (systemd
/// describes both events by the name in UTF-16; kboot's log describes them in UTF-8, the first
/// as the name, the second as the name and its size. The digests, which make the PCR, are the
/// same.)
pub fn plan_uki(sections: &[(&str, &[u8])]) -> Vec<Event> {
    use sha2::{Digest, Sha256};
    let mut events = Vec::new();
    for name in UKI_SECTIONS {
        let Some((_, data)) = sections.iter().find(|(n, _)| n == name) else {
            continue;
        };
        let mut named = name.as_bytes().to_vec();
        named.push(0);
        events.push(Event {
            pcr: PCR_UKI,
            event_type: EV_IPL,
            sha256: Sha256::digest(&named).into(),
            event: name.to_string(),
        });
        events.push(Event {
            pcr: PCR_UKI,
            event_type: EV_IPL,
            sha256: Sha256::digest(data).into(),
            event: format!("{name} ({} bytes)", data.len()),
        });
    }
    events
}

/// Extend the TPM with `events`, in order, after checking that it has a SHA-256 bank.
pub fn extend_all(tpm: &mut Tpm, events: &[Event]) -> Result<(), DeviceError> {
    if !tpm.has_sha256()? {
        return Err(DeviceError::NoSha256 { path: tpm.path });
    }
    for e in events {
        tpm.extend(e.pcr, &e.sha256)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_puts_each_thing_in_its_pcr() {
        let ev = plan(
            &[("tftp://h/kboot.conf", [8; 32])],
            ("tftp://h/k", [9; 32]),
            &[("tftp://h/i", [10; 32]), ("tftp://h/j", [11; 32])],
            "quiet",
        );
        let pcrs: Vec<u32> = ev.iter().map(|e| e.pcr).collect();
        assert_eq!(pcrs, vec![8, 9, 9, 9, 12]);
        assert_eq!(ev[2].event, "kboot initrd tftp://h/i");
        assert_eq!(ev[3].event, "kboot initrd tftp://h/j");
        assert_eq!(ev[3].sha256, [11; 32]);
        assert_eq!(ev[4].event, "quiet");
        // `printf quiet | sha256sum` on the host.
        assert_eq!(
            crate::fetch::integrity::to_hex(&ev[4].sha256),
            "008f0747f4e27c8462baa991a538025bcc2dd143e78422f1afbdfcd9e757a20f"
        );
        let without = plan(&[], ("k", [9; 32]), &[], "");
        assert_eq!(without.len(), 2);
    }

    #[test]
    fn a_uki_is_measured_section_by_section_in_the_canonical_order() {
        let ev = plan_uki(&[
            (".text", b"stub"),
            (".initrd", b"I"),
            (".linux", b"K"),
            (".pcrsig", b"{}"),
            (".cmdline", b"quiet"),
        ]);
        let names: Vec<&str> = ev.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(
            names,
            [
                ".linux",
                ".linux (1 bytes)",
                ".cmdline",
                ".cmdline (5 bytes)",
                ".initrd",
                ".initrd (1 bytes)"
            ]
        );
        assert!(ev.iter().all(|e| e.pcr == 11 && e.event_type == EV_IPL));
        // `printf '.linux\0' | sha256sum` and `printf quiet | sha256sum` on the host.
        let hex = |d: &[u8; 32]| crate::fetch::integrity::to_hex(d);
        assert_eq!(
            hex(&ev[0].sha256),
            "0da293e37ad5511c59be47993769aacb91b243f7d010288e118dc90e95aaef5a"
        );
        assert_eq!(
            hex(&ev[3].sha256),
            "008f0747f4e27c8462baa991a538025bcc2dd143e78422f1afbdfcd9e757a20f"
        );
    }
}
