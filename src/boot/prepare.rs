//! One boot, top to bottom: [`prepare`] takes what the menu, the editor or the prompt chose
//! (a [`BootSpec`]) and leaves the target loaded in the kernel, ready for the reboot into it.
//!
//! ```text
//! prepare(spec) = fetch ─▶ verify (signatures, pins, command line) ─▶ command line
//!                 (diskless root, flavour) ─▶ inject (cpio) ─▶ measure (TPM) ─▶ unpack
//!                 (gzip/EFI-zboot kernels) ─▶ load (kexec_file_load)
//! ```
//!
//! Each stage is a function of its own, testable alone; [`prepare`] only calls them in order.
//! What happens around the pipeline (the threads, the UI's events, the DHCP release and the
//! reboot) is the supervisor's.

use super::payload::{fetch_payload, Digests, Outcome, Payload, PayloadKey, Prefetch};
use super::BootSpec;
use crate::cmdline::flavor::{self, Flavor, RenderOptions, Rendered};
use crate::cmdline::inject::InitrdFile;
use crate::config::model::Diskless;
use crate::config::model::Signature;
use crate::fetch::{self, FetchOptions, Progress};
use crate::net::Lease;
use crate::trust::{Policy, Trust, TrustError};
use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// What a boot reports while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum BootEvent {
    /// A line for the log pane.
    Log(String),
    /// Bytes of the kernel or an initrd arrived.
    Progress(Progress),
}

/// What the pipeline needs from the world around it.
pub struct Env<'a> {
    /// kboot's lease (the diskless root and the handoff need it).
    pub lease: Option<Lease>,
    /// How the kernel and initrds are fetched (the entry's checksums, the menu's proxy).
    pub fetch: FetchOptions,
    /// Set by the user's Esc: every stage stops as soon as it can.
    pub cancel: &'a AtomicBool,
    /// The early download of the default entry, taken over when it holds `spec`'s files.
    pub early: Option<Prefetch>,
    /// The machine's UUID, for an iSCSI initiator name made up from it.
    pub machine_uuid: Option<String>,
    /// The trusted keys and `kboot.verify=`.
    pub trust: &'a Trust,
    /// Where the events go.
    pub report: &'a (dyn Fn(BootEvent) + Sync),
}

impl Env<'_> {
    fn log(&self, line: impl Into<String>) {
        (self.report)(BootEvent::Log(line.into()));
    }
}

/// The target, loaded: what is left is the reboot into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The command line the target was loaded with.
    pub cmdline: String,
}

/// Fetch, assemble and load one target. On success the kernel holds the target (and kboot's
/// copies of its files are freed); on failure nothing is loaded and the error is one sentence.
pub fn prepare(spec: &BootSpec, mut env: Env<'_>) -> Result<Loaded, String> {
    let early = env.early.take();
    let payload = fetch(spec, early, &env).map_err(|e| pin_failure(spec, e))?;
    check_cancel(env.cancel)?;
    let (payload, uki) = split_uki(spec, payload, &env)?;
    let spec = uki.as_ref().map_or(spec, |u| &u.spec);
    if uki.is_none() {
        verify(spec, &payload, &env)?;
    }
    let Payload {
        kernel,
        mut initrd,
        initrd_flavor,
        digests,
    } = payload;
    let (cmdline, files) = match &spec.diskless {
        Some(d) => {
            let flavor = initramfs_flavor(spec, d, initrd.as_ref(), initrd_flavor)?;
            let rendered = command_line(spec, d, flavor, &env)?;
            let files = collect_files(d, flavor, &rendered, &env)?;
            (flavor::apply(&spec.cmdline, &rendered), files)
        }
        None => (spec.cmdline.clone(), Vec::new()),
    };
    inject(spec, initrd.as_mut(), &files, &env)?;
    check_cancel(env.cancel)?;
    measure(
        spec,
        &kernel,
        initrd.as_mut(),
        &digests,
        &cmdline,
        uki.as_ref().map_or(&[][..], |u| &u.pcr11),
        &env,
    )?;
    let kernel = unpack(kernel)?;
    load(&kernel, initrd.as_ref(), &cmdline)?;
    Ok(Loaded { cmdline })
}

fn check_cancel(cancel: &AtomicBool) -> Result<(), String> {
    if cancel.load(Ordering::Relaxed) {
        return Err("Boot cancelled".into());
    }
    Ok(())
}

/// Stage 1: the kernel and initrds, from the early download when it holds them, else fetched
/// now (both at once, progress reported).
pub fn fetch(spec: &BootSpec, early: Option<Prefetch>, env: &Env<'_>) -> Result<Payload, String> {
    if let Some(payload) = take_early_download(spec, early, env)? {
        env.log(format!(
            "'{}': using the files downloaded during the countdown",
            spec.title
        ));
        return Ok(payload);
    }
    env.log(format!("fetching kernel {}", spec.kernel));
    if !spec.initrds.is_empty() {
        env.log(format!("fetching initrd {}", spec.initrds.join(" ")));
    }
    let progress = |p: &Progress| (env.report)(BootEvent::Progress(p.clone()));
    let started = std::time::Instant::now();
    let payload = fetch_payload(spec, &env.fetch, env.cancel, &progress)?;
    let bytes: u64 = [Some(&payload.kernel), payload.initrd.as_ref()]
        .into_iter()
        .flatten()
        .filter_map(|f| f.metadata().ok())
        .map(|m| m.len())
        .sum();
    env.log(format!(
        "'{}': fetched {bytes} bytes in {} ms",
        spec.title,
        started.elapsed().as_millis()
    ));
    Ok(payload)
}

/// The early download, when it is of `spec`'s files: waited for (progress to the gauge) and
/// taken. Of other files: discarded. `Ok(None)`: fetch afresh (also after a failed early
/// download, so that the error comes with its own progress).
fn take_early_download(
    spec: &BootSpec,
    early: Option<Prefetch>,
    env: &Env<'_>,
) -> Result<Option<Payload>, String> {
    let Some(p) = early else {
        return Ok(None);
    };
    if *p.key() != PayloadKey::of(spec) {
        discard_early(p, env.report);
        return Ok(None);
    }
    if !p.is_done() {
        env.log(format!(
            "'{}': the download started {:.1} s ago during the countdown, waiting for the rest",
            spec.title,
            p.age().as_secs_f64()
        ));
    }
    match p.wait(env.cancel) {
        Outcome::Ready(payload) => Ok(Some(payload)),
        Outcome::Cancelled => Err("Boot cancelled".into()),
        Outcome::Failed(_) => Ok(None),
    }
}

/// Nobody wants these files any more: stop the early download and free its memory.
pub fn discard_early(p: Prefetch, report: &(dyn Fn(BootEvent) + Sync)) {
    report(BootEvent::Log(format!(
        "discarding the early download of '{}'",
        p.title()
    )));
    p.discard(Duration::from_secs(3));
}

/// A fetch that failed on a pin of a signed config, as the trust sentence (the file, the key
/// and why); any other failure as it is.
pub fn pin_failure(spec: &BootSpec, e: String) -> String {
    let Some(Signature::SignedBy(key)) = &spec.signature else {
        return e;
    };
    let normal = |h: &str| h.trim().trim_start_matches("sha256:").to_ascii_lowercase();
    let Some(expected) = e
        .split("SHA-256 mismatch: expected ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
    else {
        return e;
    };
    let file = spec
        .sha256
        .iter()
        .find(|(_, hex)| normal(hex) == normal(expected))
        .map_or_else(|| spec.kernel.clone(), |(url, _)| url.clone());
    let detail = e
        .split("SHA-256 mismatch: ")
        .nth(1)
        .unwrap_or(&e)
        .to_string();
    format!(
        "Not booted: {}",
        TrustError::HashMismatch {
            file,
            key: key.clone(),
            detail,
        }
    )
}

/// A unified kernel image, split by [`split_uki`]: the entry as it boots (with the UKI's own
/// command line) and the PCR 11 events of its sections.
pub struct UkiBoot {
    pub spec: BootSpec,
    pub pcr11: Vec<crate::tpm::eventlog::Event>,
}

/// Stage 1b: a unified kernel image (a PE file with a `.linux` section: a bzImage, a PE file
/// too, has none) is checked, then split: kernel = `.linux`, initrd = `.initrd` followed by
/// the entry's own initrds, command line = `.cmdline` (the entry's, edited or not, is ignored
/// and the log says so; a UKI without `.cmdline` boots with the entry's). The check comes
/// before any section is used: with trusted certificates and an Authenticode signature in the
/// file, that signature (and the entry's initrds through [`check_signed`], when it adds some);
/// else the checks of [`verify`] on the file as fetched (a signed config's pin or its
/// `.minisig`). Any other kernel passes through untouched (`None`: [`verify`] comes next).
pub fn split_uki(
    spec: &BootSpec,
    payload: Payload,
    env: &Env<'_>,
) -> Result<(Payload, Option<UkiBoot>), String> {
    use std::io::{Seek, Write};
    let map = super::initrd::map_file(&payload.kernel)
        .map_err(|e| format!("Cannot read the kernel {}: {e}", spec.kernel))?;
    let bytes = map.as_slice();
    if !super::uki::is_uki(bytes, bytes.len() as u64) {
        drop(map);
        return Ok((payload, None));
    }
    let uki = super::uki::parse(bytes).map_err(|e| format!("{}: {e}", spec.kernel))?;
    let mut booted = spec.clone();
    if let Some(own) = &uki.cmdline {
        if !spec.cmdline.trim().is_empty() && spec.cmdline.trim() != own {
            env.log(format!(
                "'{}': the command line '{}' is ignored: a unified kernel image boots with its own (.cmdline)",
                spec.title, spec.cmdline
            ));
        }
        booted.cmdline = own.clone();
        booted.config_cmdline = Some(own.clone());
    }
    let started = std::time::Instant::now();
    let checked =
        (env.trust.policy != Policy::Off).then(|| check_uki(&booted, &payload, bytes, env));
    let signer = match (env.trust.policy, checked) {
        (_, None) => "not checked (kboot.verify=off)".to_string(),
        (_, Some(Ok(who))) => format!(
            "signed by {who} (checked in {} ms)",
            started.elapsed().as_millis()
        ),
        (Policy::Warn, Some(Err(why))) => {
            env.log(format!(
                "not signed: {why}; booting anyway (kboot.verify=warn)"
            ));
            "NOT SIGNED".to_string()
        }
        (_, Some(Err(why))) => return Err(format!("Not booted: {why}")),
    };
    // The kernel as it is; the UKI's initrd padded to 4 bytes when the entry's follow it.
    let memfd = |name: &str, data: &[u8], pad: bool| -> Result<File, String> {
        let mut f =
            crate::fetch::memfd(name).map_err(|e| format!("Cannot split {}: {e}", spec.kernel))?;
        let padding = if pad {
            data.len().wrapping_neg() % 4
        } else {
            0
        };
        f.write_all(data)
            .and_then(|_| f.write_all(&[0u8; 3][..padding]))
            .map_err(|e| format!("Cannot split {} in memory: {e}", spec.kernel))?;
        Ok(f)
    };
    let kernel = memfd("kernel", uki.linux, false)?;
    let initrd = match (uki.initrd, payload.initrd) {
        (None, extra) => extra,
        (Some(own), None) => Some(memfd("initrd", own, false)?),
        (Some(own), Some(mut extra)) => {
            let mut f = memfd("initrd", own, true)?;
            extra
                .rewind()
                .and_then(|_| std::io::copy(&mut extra, &mut f))
                .map_err(|e| format!("Cannot add the entry's initrds to the UKI's: {e}"))?;
            Some(f)
        }
    };
    let sections = super::uki::sections(bytes).map_err(|e| format!("{}: {e}", spec.kernel))?;
    let named: Vec<(&str, &[u8])> = sections
        .iter()
        .map(|s| (s.name.as_str(), &bytes[s.offset..s.offset + s.len]))
        .collect();
    // Hashed only when there is a TPM to extend (one more pass over the whole file).
    let tpm = ["/dev/tpmrm0", "/dev/tpm0"]
        .iter()
        .any(|p| std::path::Path::new(p).exists());
    let pcr11 = if tpm {
        crate::tpm::plan_uki(&named)
    } else {
        Vec::new()
    };
    // Two short lines: the menu's log pane is as wide as the screen.
    env.log(format!("UKI {} {signer}", spec.kernel));
    env.log(format!(
        "unified kernel image {} ({}): kernel {} bytes, initrd {} bytes, {}",
        spec.kernel,
        uki.title().unwrap_or_else(|| "no .osrel".into()),
        uki.linux.len(),
        uki.initrd.map_or(0, <[u8]>::len),
        if uki.cmdline.is_some() {
            "its own command line"
        } else {
            "the entry's command line (it has no .cmdline)"
        }
    ));
    drop(map);
    // Not the files as fetched any more: measure hashes the kernel and initrd it gets.
    let payload = Payload {
        kernel,
        initrd,
        initrd_flavor: None,
        digests: Digests::default(),
    };
    Ok((
        payload,
        Some(UkiBoot {
            spec: booted,
            pcr11,
        }),
    ))
}

/// The trust check of a UKI (see [`split_uki`]): who signed it, or why not as one sentence.
fn check_uki(
    spec: &BootSpec,
    payload: &Payload,
    bytes: &[u8],
    env: &Env<'_>,
) -> Result<String, String> {
    use crate::trust::authenticode;
    let trust = env.trust;
    if !trust.certs.is_empty() && authenticode::is_signed(bytes) {
        let who =
            authenticode::verify(&spec.kernel, bytes, &trust.certs).map_err(|e| e.to_string())?;
        if spec.initrds.is_empty() {
            return Ok(format!("certificate {who}"));
        }
        let key = check_signed(spec, payload, trust, env.cancel)?;
        return Ok(format!("certificate {who} (its initrds: key {key})"));
    }
    check_signed(spec, payload, trust, env.cancel)
        .map(|key| format!("key {key}"))
        .map_err(|why| {
            if trust.certs.is_empty() {
                why
            } else {
                authenticode::AuthenticodeError::NotSigned {
                    file: spec.kernel.clone(),
                }
                .to_string()
            }
        })
}

/// Stage 2: what is booted is what a trusted key signed: the config (its verdict came with the
/// entry), the command line (unchanged from the config's), each file (pinned by the signed
/// config, which the fetch checked, else its own `.minisig`). Under `warn` a failure is logged
/// and the boot goes on; under `require` it is the boot's error; under `off` nothing is checked.
pub fn verify(spec: &BootSpec, payload: &Payload, env: &Env<'_>) -> Result<(), String> {
    if env.trust.policy == Policy::Off {
        return Ok(());
    }
    let started = std::time::Instant::now();
    match check_signed(spec, payload, env.trust, env.cancel) {
        Ok(key) => {
            env.log(format!(
                "'{}': signed by key {key} (config, command line, kernel and initrds; checked in {} ms)",
                spec.title,
                started.elapsed().as_millis()
            ));
            Ok(())
        }
        Err(why) if env.trust.policy == Policy::Warn => {
            env.log(format!(
                "not signed: {why}; booting anyway (kboot.verify=warn)"
            ));
            Ok(())
        }
        Err(why) => Err(format!("Not booted: {why}")),
    }
}

/// The checks of [`verify`]: the signing key's id, or why not as one sentence. (`kboot verify`
/// runs them on every entry of a config tree.)
pub fn check_signed(
    spec: &BootSpec,
    payload: &Payload,
    trust: &Trust,
    cancel: &AtomicBool,
) -> Result<String, String> {
    let key = match &spec.signature {
        Some(Signature::SignedBy(key)) => key.clone(),
        Some(Signature::NotSigned(why)) => return Err(why.clone()),
        None => {
            return Err(TrustError::Unsigned {
                title: spec.title.clone(),
                why: "typed at the prompt or found on a local disk".into(),
            }
            .to_string())
        }
    };
    if spec.config_cmdline.as_deref() != Some(spec.cmdline.as_str()) {
        return Err(TrustError::Edited { key }.to_string());
    }
    let covered = |url: &str, bytes: &[u8]| -> Result<(), String> {
        if spec.sha256.contains_key(url) {
            return Ok(()); // the fetch checked it against the signed pin
        }
        crate::trust::config::check_file(trust, url, bytes, cancel)
            .map(|_| ())
            .map_err(|why| {
                TrustError::FileNotCovered {
                    file: url.to_string(),
                    key: key.clone(),
                    why: Box::new(why),
                }
                .to_string()
            })
    };
    let read = |url: &str, file: &File| {
        super::initrd::map_file(file).map_err(|e| format!("cannot read {url}: {e}"))
    };
    if !spec.sha256.contains_key(&spec.kernel) {
        covered(
            &spec.kernel,
            read(&spec.kernel, &payload.kernel)?.as_slice(),
        )?;
    }
    let Some(initrd) = &payload.initrd else {
        return Ok(key);
    };
    if spec.initrds.iter().all(|u| spec.sha256.contains_key(u)) {
        return Ok(key);
    }
    let map = read(&spec.initrds.join(" "), initrd)?;
    let all = map.as_slice();
    match (spec.initrds.as_slice(), payload.digests.initrds.as_slice()) {
        ([one], _) => covered(one, all)?,
        // Each initrd is checked by its own .minisig, over its own bytes in the concatenation.
        (urls, parts) if parts.len() == urls.len() => {
            for (url, part) in urls.iter().zip(parts) {
                let bytes = usize::try_from(part.offset)
                    .ok()
                    .zip(usize::try_from(part.offset + part.len).ok())
                    .and_then(|(from, to)| all.get(from..to))
                    .ok_or_else(|| format!("cannot read {url}: it is not where it was fetched"))?;
                covered(url, bytes)?;
            }
        }
        _ => {
            return Err(TrustError::InitrdsNotPinned {
                title: spec.title.clone(),
            }
            .to_string())
        }
    }
    Ok(key)
}

/// Stage 3a: which initramfs the target has (the entry's `kboot.flavor=`, else what the
/// initrd holds), for a diskless root.
pub fn initramfs_flavor(
    spec: &BootSpec,
    d: &Diskless,
    initrd: Option<&File>,
    detected: Option<Flavor>,
) -> Result<Flavor, String> {
    if let Some(f) = d.flavor.as_deref() {
        return f.parse::<Flavor>().map_err(|e| e.to_string());
    }
    match initrd {
        None => Ok(Flavor::Kernel),
        Some(file) => detected
            .or_else(|| super::initrd::flavor_of_file(file))
            .ok_or_else(|| {
                format!(
                    "Cannot tell whether the initrd of '{}' is dracut or initramfs-tools: add kboot.flavor= to the entry",
                    spec.title
                )
            }),
    }
}

/// Stage 3b: the diskless root rendered for the target's initramfs (its command-line
/// parameters and the secrets that go into a file).
pub fn command_line(
    spec: &BootSpec,
    d: &Diskless,
    flavor: Flavor,
    env: &Env<'_>,
) -> Result<Rendered, String> {
    use crate::cmdline::root::{parse_root_uri, RootSource};
    let lease = env.lease.as_ref().ok_or(
        "A diskless root needs the network: kboot has no lease (check the cable and the DHCP server)",
    )?;
    let uri = if d.root == "dhcp" {
        lease.root_path.clone().ok_or(
            "kboot.root=dhcp, but the DHCP server sent no root path (option 17): set it, or write the root URI in the entry",
        )?
    } else {
        d.root.clone()
    };
    let mut root = parse_root_uri(&uri).map_err(|e| e.to_string())?;
    if let RootSource::Iscsi(i) = &mut root {
        if d.rootfs.is_some() {
            i.rootfs = d.rootfs.clone();
        }
        i.initiator = d
            .initiator
            .clone()
            .or_else(|| i.initiator.clone())
            .or_else(|| lease.iscsi_initiator.clone());
    }
    let how = match (&d.flavor, &spec.initrds.is_empty()) {
        (Some(_), _) => "configured",
        (None, true) => "no initrd",
        (None, false) => "detected in the initrd",
    };
    let opts = RenderOptions {
        uuid: env.machine_uuid.as_deref(),
        secrets_on_cmdline: d.secrets_on_cmdline,
    };
    let rendered = flavor::render_with(&root, flavor, lease, &opts).map_err(|e| e.to_string())?;
    env.log(format!(
        "diskless root for '{}': {flavor} ({how}): {}",
        spec.title, rendered.masked
    ));
    Ok(rendered)
}

/// Stage 4a: the files for the target's initramfs: secrets, `kboot.inject=` files (fetched
/// now, each bounded) and `kboot.modules=` hooks.
pub fn collect_files(
    d: &Diskless,
    flavor: Flavor,
    rendered: &Rendered,
    env: &Env<'_>,
) -> Result<Vec<InitrdFile>, String> {
    let fetch_small = |url: &str| {
        env.log(format!("fetching {url} for the target's initramfs"));
        let opts = FetchOptions {
            max_size: Some(crate::cmdline::inject::MAX_FILE),
            ..env.fetch.clone()
        };
        let mut buf = Vec::new();
        fetch::fetch(url, &mut buf, &opts, &mut |_| {}, env.cancel)
            .map(|_| buf)
            .map_err(|e| e.to_string())
    };
    crate::cmdline::inject::collect(
        flavor,
        &d.inject,
        &d.modules,
        &rendered.secrets,
        fetch_small,
    )
    .map_err(|e| e.to_string())
}

/// Stage 4b: append `files` to the initrd as one newc segment.
pub fn inject(
    spec: &BootSpec,
    initrd: Option<&mut File>,
    files: &[InitrdFile],
    env: &Env<'_>,
) -> Result<(), String> {
    if files.is_empty() {
        return Ok(());
    }
    let file = initrd.ok_or(
        "The files for the target's initramfs need an initrd to go into, and this entry has none: add initrd= to it",
    )?;
    let segment = crate::cmdline::inject::segment(files).map_err(|e| e.to_string())?;
    super::initrd::append_segment(file, &segment)
        .map_err(|e| format!("Cannot add files to the initrd in memory: {e}"))?;
    let names: Vec<String> = files.iter().map(|f| format!("/{}", f.path)).collect();
    env.log(format!(
        "added to the initrd of '{}': {}",
        spec.title,
        names.join(" ")
    ));
    Ok(())
}

/// Stage 5: extend the TPM's PCRs with the config (8), the kernel and each initrd (9) and the
/// command line (12), and add the event log to the initrd (`/run/kboot/tpm-eventlog` and its
/// JSON copy). No TPM: one log line. A TPM that fails: a log line, and the boot goes on
/// unmeasured (its PCRs then tell a verifier so). The files are not read again: their digests
/// were taken while they streamed in (or are the pins the fetch checked); only what kboot added
/// to the initrd (a diskless root's files) is hashed here, as one more PCR 9 event.
pub fn measure(
    spec: &BootSpec,
    kernel: &File,
    initrd: Option<&mut File>,
    digests: &Digests,
    cmdline: &str,
    uki: &[crate::tpm::eventlog::Event],
    env: &Env<'_>,
) -> Result<(), String> {
    use crate::tpm;
    let mut dev = match tpm::Tpm::open() {
        None => {
            env.log("no TPM: nothing measured");
            return Ok(());
        }
        Some(Err(e)) => {
            env.log(format!("TPM: {e}: nothing measured"));
            return Ok(());
        }
        Some(Ok(t)) => t,
    };
    let started = std::time::Instant::now();
    let sha = |bytes: &[u8]| -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(bytes).into()
    };
    let map = |f: &File| {
        super::initrd::map_file(f).map_err(|e| format!("cannot read a file to measure it: {e}"))
    };
    let kernel_digest = match &digests.kernel {
        Some(part) => part.sha256,
        None => sha(map(kernel)?.as_slice()),
    };
    let initrd_events = match &initrd {
        Some(f) => initrd_events(spec, map(f)?.as_slice(), digests),
        None => Vec::new(),
    };
    let config_refs: Vec<(&str, [u8; 32])> = spec
        .config_files
        .iter()
        .map(|(u, d)| (u.as_str(), *d))
        .collect();
    let initrd_refs: Vec<(&str, [u8; 32])> = initrd_events
        .iter()
        .map(|(u, d)| (u.as_str(), *d))
        .collect();
    let mut events = uki.to_vec(); // a UKI's sections (PCR 11), as systemd-stub measures them
    events.extend(tpm::plan(
        &config_refs,
        (&spec.kernel, kernel_digest),
        &initrd_refs,
        cmdline,
    ));
    if let Err(e) = tpm::extend_all(&mut dev, &events) {
        env.log(format!("TPM: {e}: the boot goes on unmeasured"));
        return Ok(());
    }
    env.log(format!(
        "measured into {} (PCRs 8, 9, 12): {} events in {} ms",
        dev.path,
        events.len(),
        started.elapsed().as_millis()
    ));
    let Some(file) = initrd else {
        env.log("no initrd: the TPM event log is not handed to the target");
        return Ok(());
    };
    let segment = crate::cmdline::secrets::cpio_segment(&[
        (tpm::LOG_PATH.to_string(), tpm::eventlog::encode(&events)),
        (
            tpm::JSON_PATH.to_string(),
            tpm::eventlog::to_json(&events).into_bytes(),
        ),
    ])
    .map_err(|e| e.to_string())?;
    super::initrd::append_segment(file, &segment)
        .map_err(|e| format!("Cannot add the TPM event log to the initrd in memory: {e}"))
}

/// The PCR 9 events of an initrd as the kernel gets it (`all`): one per fetched file with the
/// digest taken while it streamed in, then one over what kboot appended after them (a diskless
/// root's files). Without those digests, the whole initrd is one event.
pub fn initrd_events(spec: &BootSpec, all: &[u8], digests: &Digests) -> Vec<(String, [u8; 32])> {
    use sha2::Digest;
    let sha = |bytes: &[u8]| -> [u8; 32] { sha2::Sha256::digest(bytes).into() };
    let mut events = Vec::new();
    let fetched_end = match digests.initrds.last() {
        Some(last) if digests.initrds.len() == spec.initrds.len() => {
            for part in &digests.initrds {
                events.push((part.url.clone(), part.sha256));
            }
            usize::try_from(last.offset + last.len).unwrap_or(usize::MAX)
        }
        _ => {
            events.push((spec.initrds.join(" "), sha(all)));
            all.len()
        }
    };
    if let Some(added) = all.get(fetched_end..).filter(|a| !a.is_empty()) {
        events.push(("(files added by kboot)".to_string(), sha(added)));
    }
    events
}

/// A gzip or EFI-zboot kernel (arm64's vmlinuz.efi) becomes the plain Image kexec_file_load
/// takes; any other kernel stays as it is. After verify and measure: they cover the bytes as
/// fetched.
pub fn unpack(kernel: File) -> Result<File, String> {
    super::zboot::prepare(kernel).map_err(|e| e.to_string())
}

/// Last stage: check that the target fits in memory and hand it to the kernel.
pub fn load(kernel: &File, initrd: Option<&File>, cmdline: &str) -> Result<(), String> {
    use std::os::fd::AsFd;
    super::memory::check_files(kernel, initrd).map_err(|e| e.to_string())?;
    super::kexec::load(kernel.as_fd(), initrd.map(|f| f.as_fd()), cmdline)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::memfd_with;
    use std::io::{Read, Seek};
    use std::sync::Mutex;

    fn with_env<T>(lease: Option<Lease>, f: impl FnOnce(&Env<'_>) -> T) -> (T, Vec<BootEvent>) {
        with_env_trusting(lease, &Trust::default(), f)
    }

    fn with_env_trusting<T>(
        lease: Option<Lease>,
        trust: &Trust,
        f: impl FnOnce(&Env<'_>) -> T,
    ) -> (T, Vec<BootEvent>) {
        let events = Mutex::new(Vec::new());
        let report = |e: BootEvent| events.lock().unwrap().push(e);
        let cancel = AtomicBool::new(false);
        let env = Env {
            lease,
            fetch: FetchOptions::default(),
            cancel: &cancel,
            early: None,
            machine_uuid: None,
            trust,
            report: &report,
        };
        let out = f(&env);
        drop(env);
        (out, events.into_inner().unwrap())
    }

    fn lease() -> Lease {
        use std::net::Ipv4Addr;
        Lease {
            iface: "eth0".into(),
            mac: [0x52, 0x54, 0, 0x12, 0x34, 0x56],
            client: Some(Ipv4Addr::new(10, 0, 2, 15)),
            netmask: Some(Ipv4Addr::new(255, 255, 255, 0)),
            gateway: Some(Ipv4Addr::new(10, 0, 2, 2)),
            root_path: Some("iscsi:10.0.2.2::::iqn.2024-01.test:disk".into()),
            ..Default::default()
        }
    }

    #[test]
    fn an_early_download_of_the_same_files_is_taken_over() {
        let spec = BootSpec {
            title: "t".into(),
            kernel: "file:///nonexistent/k".into(),
            ..BootSpec::default()
        };
        let early = Prefetch::start("t", PayloadKey::of(&spec), |_| {
            Ok(Payload {
                kernel: memfd_with(b"early kernel"),
                initrd: None,
                initrd_flavor: None,
                digests: Default::default(),
            })
        });
        let (payload, events) = with_env(None, |env| fetch(&spec, Some(early), env));
        let mut k = String::new();
        payload.unwrap().kernel.read_to_string(&mut k).unwrap();
        assert_eq!(k, "early kernel");
        assert!(events
            .iter()
            .any(|e| matches!(e, BootEvent::Log(l) if l.contains("during the countdown"))));
    }

    #[test]
    fn an_early_download_of_other_files_is_discarded_and_the_files_fetched() {
        let spec = BootSpec {
            title: "t".into(),
            kernel: "file:///nonexistent/k".into(),
            ..BootSpec::default()
        };
        let other = BootSpec {
            kernel: "file:///other".into(),
            ..spec.clone()
        };
        let early = Prefetch::start(
            "other",
            PayloadKey::of(&other),
            |_| Err("never used".into()),
        );
        let (result, events) = with_env(None, |env| fetch(&spec, Some(early), env));
        let e = result.unwrap_err();
        assert!(e.contains("/nonexistent/k"), "{e}");
        assert!(events
            .iter()
            .any(|e| matches!(e, BootEvent::Log(l) if l.starts_with("discarding the early"))));
    }

    fn diskless(flavor: Option<&str>) -> Diskless {
        Diskless {
            root: "dhcp".into(),
            flavor: flavor.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn the_flavour_is_the_configured_one_else_the_initrds() {
        let spec = BootSpec {
            title: "t".into(),
            initrds: vec!["i".into()],
            ..BootSpec::default()
        };
        let d = diskless(Some("dracut"));
        assert_eq!(
            initramfs_flavor(&spec, &d, None, None).unwrap(),
            Flavor::Dracut
        );
        let d = diskless(None);
        assert_eq!(
            initramfs_flavor(&spec, &d, None, None).unwrap(),
            Flavor::Kernel
        );
        let tools = crate::cmdline::secrets::cpio_segment(&[(
            "scripts/functions".to_string(),
            b"#".to_vec(),
        )])
        .unwrap();
        let file = memfd_with(&tools);
        assert_eq!(
            initramfs_flavor(&spec, &d, Some(&file), None).unwrap(),
            Flavor::InitramfsTools
        );
        let unknown = memfd_with(b"not a cpio");
        let e = initramfs_flavor(&spec, &d, Some(&unknown), None).unwrap_err();
        assert!(e.contains("add kboot.flavor="), "{e}");
    }

    #[test]
    fn a_diskless_command_line_needs_a_lease_and_renders_the_root() {
        let spec = BootSpec {
            title: "t".into(),
            ..BootSpec::default()
        };
        let d = diskless(Some("dracut"));
        let (e, _) = with_env(None, |env| {
            command_line(&spec, &d, Flavor::Dracut, env).unwrap_err()
        });
        assert!(e.contains("no lease"), "{e}");
        let (r, events) = with_env(Some(lease()), |env| {
            command_line(&spec, &d, Flavor::Dracut, env).unwrap()
        });
        let line = flavor::apply("quiet", &r);
        assert!(line.contains("netroot=iscsi:"), "{line}");
        assert!(events
            .iter()
            .any(|e| matches!(e, BootEvent::Log(l) if l.contains("dracut (configured)"))));
    }

    #[test]
    fn injected_files_go_into_the_initrd_and_need_one() {
        let spec = BootSpec {
            title: "t".into(),
            ..BootSpec::default()
        };
        let files = vec![InitrdFile {
            path: "etc/x".into(),
            data: b"hello".to_vec(),
            mode: 0o644,
        }];
        let (none, _) = with_env(None, |env| inject(&spec, None, &files, env));
        assert!(none.unwrap_err().contains("add initrd="));
        let mut initrd = memfd_with(b"abc");
        let (ok, events) = with_env(None, |env| inject(&spec, Some(&mut initrd), &files, env));
        ok.unwrap();
        let mut bytes = Vec::new();
        initrd.rewind().unwrap();
        initrd.read_to_end(&mut bytes).unwrap();
        assert_eq!(&bytes[..4], b"abc\0", "appended 4-byte aligned");
        assert!(bytes.windows(5).any(|w| w == b"hello"));
        assert!(events
            .iter()
            .any(|e| matches!(e, BootEvent::Log(l) if l.ends_with("/etc/x"))));
        // Nothing to add: the initrd is left alone, even when there is none.
        let (ok, _) = with_env(None, |env| inject(&spec, None, &[], env));
        ok.unwrap();
    }

    #[test]
    fn each_initrd_is_its_own_event_and_kboots_additions_one_more() {
        use sha2::Digest;
        let sha = |b: &[u8]| -> [u8; 32] { sha2::Sha256::digest(b).into() };
        let spec = BootSpec {
            initrds: vec!["tftp://h/a".into(), "tftp://h/b".into()],
            ..BootSpec::default()
        };
        let part = |url: &str, offset, len, d| crate::fetch::Part {
            url: url.into(),
            offset,
            len,
            sha256: d,
        };
        let digests = Digests {
            kernel: None,
            initrds: vec![
                part("tftp://h/a", 0, 3, [1; 32]),
                part("tftp://h/b", 4, 2, [2; 32]),
            ],
        };
        // As fetched: the streamed digests, not hashes of these bytes.
        let events = initrd_events(&spec, b"abc\0xy", &digests);
        assert_eq!(
            events,
            vec![
                ("tftp://h/a".into(), [1; 32]),
                ("tftp://h/b".into(), [2; 32])
            ]
        );
        // With kboot's files appended: one more event, over exactly those bytes.
        let events = initrd_events(&spec, b"abc\0xy\0\0ADDED", &digests);
        assert_eq!(events.len(), 3);
        assert_eq!(
            events[2],
            ("(files added by kboot)".into(), sha(b"\0\0ADDED"))
        );
        // Digests unknown: the whole initrd is one event.
        let events = initrd_events(&spec, b"abc\0xy", &Digests::default());
        assert_eq!(
            events,
            vec![("tftp://h/a tftp://h/b".into(), sha(b"abc\0xy"))]
        );
    }

    #[test]
    fn a_cancelled_boot_stops_before_loading() {
        let dir = std::env::temp_dir().join(format!("kboot-prepare-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("k"), b"K").unwrap();
        let spec = BootSpec {
            title: "t".into(),
            kernel: format!("file://{}", dir.join("k").display()),
            ..BootSpec::default()
        };
        let cancel = AtomicBool::new(true);
        let report = |_: BootEvent| {};
        let env = Env {
            lease: None,
            fetch: FetchOptions::default(),
            cancel: &cancel,
            early: None,
            machine_uuid: None,
            trust: &Trust::default(),
            report: &report,
        };
        let e = prepare(&spec, env).unwrap_err();
        assert!(e.contains("cancelled"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }

    type Split = Result<(Payload, Option<UkiBoot>), String>;

    fn split_with(
        trust: &Trust,
        spec: &BootSpec,
        kernel: &[u8],
        initrd: Option<&[u8]>,
    ) -> (Split, Vec<String>) {
        let payload = Payload {
            kernel: memfd_with(kernel),
            initrd: initrd.map(memfd_with),
            initrd_flavor: None,
            digests: Digests::default(),
        };
        let (out, events) = with_env_trusting(None, trust, |env| split_uki(spec, payload, env));
        let logs = events
            .into_iter()
            .filter_map(|e| match e {
                BootEvent::Log(l) => Some(l),
                BootEvent::Progress(_) => None,
            })
            .collect();
        (out, logs)
    }

    fn read_all(f: &mut File) -> Vec<u8> {
        let mut v = Vec::new();
        f.rewind().unwrap();
        f.read_to_end(&mut v).unwrap();
        v
    }

    #[test]
    fn a_uki_is_split_and_boots_with_its_own_command_line() {
        let file = crate::boot::uki::tests::pe(&[
            (".osrel", b"PRETTY_NAME=\"Test OS\"\n"),
            (".cmdline", b"console=ttyS0 own\0"),
            (".linux", b"KERNEL"),
            (".initrd", b"INITRD"),
        ]);
        let spec = BootSpec {
            title: "t".into(),
            kernel: "vda1:/EFI/Linux/x.efi".into(),
            initrds: vec!["vda1:/extra".into()],
            cmdline: "edited".into(),
            ..BootSpec::default()
        };
        let (out, log) = split_with(&Trust::default(), &spec, &file, Some(b"EXTRA"));
        let (mut payload, uki) = out.unwrap();
        let uki = uki.unwrap();
        assert_eq!(read_all(&mut payload.kernel), b"KERNEL");
        assert_eq!(
            read_all(payload.initrd.as_mut().unwrap()),
            b"INITRD\0\0EXTRA",
            "the UKI's initrd (4-byte aligned), then the entry's"
        );
        assert_eq!(uki.spec.cmdline, "console=ttyS0 own");
        assert!(
            log.iter().any(|l| l.contains("'edited' is ignored")),
            "{log:?}"
        );
        // PCR 11's events (tpm::plan_uki, tested there) only when the machine has a TPM.
        let names: Vec<&str> = uki.pcr11.iter().map(|e| e.event.as_str()).collect();
        assert!(names.is_empty() || names.len() == 8, "{names:?}");
        // A bzImage (a PE file without .linux) passes through.
        let bz = crate::boot::uki::tests::pe(&[(".setup", b"S"), (".text", b"T")]);
        let (out, _) = split_with(&Trust::default(), &spec, &bz, None);
        let (mut payload, uki) = out.unwrap();
        assert!(uki.is_none());
        assert_eq!(read_all(&mut payload.kernel), bz);
    }

    #[test]
    fn a_signed_uki_is_checked_before_it_is_split() {
        let signed: &[u8] = include_bytes!("../trust/testdata/tiny.signed.efi");
        let owner =
            crate::trust::authenticode::parse_pem(include_bytes!("../trust/testdata/owner.pem"))
                .unwrap();
        let trust = Trust::default().with_certs(owner, None);
        assert_eq!(trust.policy, Policy::Require);
        let spec = BootSpec {
            title: "t".into(),
            kernel: "vda1:/EFI/Linux/x.efi".into(),
            ..BootSpec::default()
        };
        let (out, log) = split_with(&trust, &spec, signed, None);
        let (_, uki) = out.unwrap();
        assert_eq!(uki.unwrap().spec.cmdline, "console=ttyS0 quiet");
        assert!(
            log.iter()
                .any(|l| l.contains("signed by certificate CN=kboot test UKI owner")),
            "{log:?}"
        );
        // Its command line changed after signing.
        let at = signed.windows(5).position(|w| w == b"quiet").unwrap();
        let mut changed = signed.to_vec();
        changed[at..at + 5].copy_from_slice(b"loud!");
        let (out, _) = split_with(&trust, &spec, &changed, None);
        assert_eq!(
            out.err().unwrap(),
            "Not booted: vda1:/EFI/Linux/x.efi does not match its Authenticode signature: it was changed after it was signed"
        );
        // Not signed at all.
        let unsigned = crate::boot::uki::tests::pe(&[(".linux", b"K")]);
        let (out, _) = split_with(&trust, &spec, &unsigned, None);
        let e = out.err().unwrap();
        assert!(
            e.starts_with("Not booted: vda1:/EFI/Linux/x.efi is not signed"),
            "{e}"
        );
        // Under kboot.verify=warn it boots, with the line.
        let warn = Trust {
            policy: Policy::Warn,
            ..trust.clone()
        };
        let (out, log) = split_with(&warn, &spec, &changed, None);
        assert!(out.is_ok());
        assert!(log.iter().any(|l| l.starts_with("not signed: ")), "{log:?}");
    }
}
