//! A target's payload (its kernel and initrds, each in a memfd) and the early download of the
//! default entry's payload while the menu counts down.
//!
//! [`fetch_payload`] downloads the kernel and the initrds at the same time. [`Prefetch`] runs
//! that in the background for the default entry as soon as a menu with a countdown is shown;
//! when the user (or the countdown) boots the same files, the boot takes the download over
//! (waiting for the rest of it with the progress shown); when another entry is booted, the early
//! download is cancelled and its memory freed first.

use crate::boot::BootSpec;
use crate::fetch::{self, FetchOptions, Progress};
use std::collections::BTreeMap;
use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A target's kernel and its initrds (concatenated, 4-byte aligned), ready for kexec_file_load.
#[derive(Debug)]
pub struct Payload {
    pub kernel: File,
    pub initrd: Option<File>,
    /// The initramfs flavour found in `initrd` when it was already looked for (the early
    /// download does, for a diskless entry), so that the boot does not read it again.
    pub initrd_flavor: Option<crate::cmdline::flavor::Flavor>,
    /// Where each file is and its SHA-256, taken while the bytes arrived.
    pub digests: Digests,
}

/// The SHA-256 of a payload's files, hashed during the fetch (or the config's pins, which the
/// fetch checked), so that verify and measure never read the files again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digests {
    /// The kernel, as fetched (before any unpacking). `None`: unknown, hash the file.
    pub kernel: Option<fetch::Part>,
    /// Each initrd's place in the concatenated initrd and its digest, in order; empty when
    /// unknown.
    pub initrds: Vec<fetch::Part>,
}

/// Download a target's kernel and initrds at the same time, each into its own memfd. The first
/// failure cancels the other transfer, and its error (not the cancellation it caused) is the
/// one returned.
pub fn fetch_payload(
    spec: &BootSpec,
    opts: &FetchOptions,
    cancel: &AtomicBool,
    progress: &(dyn Fn(&Progress) + Sync),
) -> Result<Payload, String> {
    let fetch_one = |name: &str, urls: &[String]| {
        let mut progress = |p: &Progress| progress(p);
        let result = fetch::fetch_summed(name, urls, opts, &mut progress, cancel);
        if result.is_err() {
            cancel.store(true, Ordering::Relaxed);
        }
        result
    };
    let (kernel, initrd) = std::thread::scope(|scope| {
        let initrd =
            (!spec.initrds.is_empty()).then(|| scope.spawn(|| fetch_one("initrd", &spec.initrds)));
        let kernel = fetch_one("kernel", std::slice::from_ref(&spec.kernel));
        let initrd = initrd.map(|handle| handle.join());
        (kernel, initrd)
    });
    let initrd = match initrd {
        None => Ok(None),
        Some(Ok(result)) => result.map(Some),
        Some(Err(_)) => return Err("internal error while fetching the initrd (a bug)".into()),
    };
    match (kernel, initrd) {
        (Ok((kernel, mut kernel_parts)), Ok(initrd)) => {
            let (initrd, initrds) = match initrd {
                Some((file, parts)) => (Some(file), parts),
                None => (None, Vec::new()),
            };
            Ok(Payload {
                kernel,
                initrd,
                initrd_flavor: None,
                digests: Digests {
                    kernel: kernel_parts.pop(),
                    initrds,
                },
            })
        }
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e.to_string()),
        (Err(k), Err(i)) => {
            let first = if matches!(k, fetch::FetchError::Cancelled { .. }) {
                i
            } else {
                k
            };
            Err(first.to_string())
        }
    }
}

/// What identifies a payload: the same files with the same checksums. The command line is not
/// part of it (an edited line boots the same files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadKey {
    kernel: String,
    initrds: Vec<String>,
    sha256: BTreeMap<String, String>,
}

impl PayloadKey {
    /// The initrd URLs, in order.
    pub fn initrds(&self) -> &[String] {
        &self.initrds
    }

    pub fn of(spec: &BootSpec) -> Self {
        PayloadKey {
            kernel: spec.kernel.clone(),
            initrds: spec.initrds.clone(),
            sha256: spec.sha256.clone(),
        }
    }
}

/// How an early download ended, for the boot that wanted it.
#[derive(Debug)]
pub enum Outcome {
    Ready(Payload),
    /// It failed; the boot fetches again, which shows the error with its own progress.
    Failed(String),
    /// The boot was cancelled (Esc) while waiting: the download was stopped too.
    Cancelled,
}

enum Slot {
    Running,
    Done(Result<Payload, String>),
}

/// Flags the download's worker reads.
#[derive(Debug, Default)]
pub struct PrefetchFlags {
    /// Stop now: nobody wants the files any more.
    pub cancel: AtomicBool,
    /// A boot is waiting for the files: send progress to the menu's gauge.
    pub attached: AtomicBool,
}

/// An early download running (or finished) in the background.
pub struct Prefetch {
    key: PayloadKey,
    title: String,
    started: Instant,
    flags: Arc<PrefetchFlags>,
    slot: Arc<(Mutex<Slot>, Condvar)>,
}

impl std::fmt::Debug for Prefetch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prefetch")
            .field("key", &self.key)
            .field("title", &self.title)
            .finish_non_exhaustive()
    }
}

impl Prefetch {
    /// Start `work` on a thread of its own. It must return soon after `flags.cancel` is set. A
    /// panic in it ends the download with an error instead of leaving a boot waiting forever.
    pub fn start(
        title: &str,
        key: PayloadKey,
        work: impl FnOnce(&PrefetchFlags) -> Result<Payload, String> + Send + 'static,
    ) -> Prefetch {
        let flags = Arc::new(PrefetchFlags::default());
        let slot = Arc::new((Mutex::new(Slot::Running), Condvar::new()));
        let (f, sl) = (flags.clone(), slot.clone());
        let spawned = std::thread::Builder::new()
            .name("prefetch".into())
            .spawn(move || {
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&f)))
                    .unwrap_or_else(|_| Err("internal error in the early download (a bug)".into()));
                let (lock, cond) = &*sl;
                *lock.lock().unwrap_or_else(|p| p.into_inner()) = Slot::Done(result);
                cond.notify_all();
            });
        if let Err(e) = spawned {
            *slot.0.lock().unwrap_or_else(|p| p.into_inner()) =
                Slot::Done(Err(format!("cannot start the early download: {e}")));
        }
        Prefetch {
            key,
            title: title.to_string(),
            started: Instant::now(),
            flags,
            slot,
        }
    }

    pub fn key(&self) -> &PayloadKey {
        &self.key
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    /// How long ago it started.
    pub fn age(&self) -> Duration {
        self.started.elapsed()
    }

    /// True once the files are all here (or the download failed).
    pub fn is_done(&self) -> bool {
        matches!(
            *self.slot.0.lock().unwrap_or_else(|p| p.into_inner()),
            Slot::Done(_)
        )
    }

    /// Take the files over for a boot: from now on progress goes to the menu's gauge; wait for
    /// the rest. `cancel` (the boot's Esc) stops the download too.
    pub fn wait(self, cancel: &AtomicBool) -> Outcome {
        self.flags.attached.store(true, Ordering::Relaxed);
        let (lock, cond) = &*self.slot;
        let mut slot = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Slot::Done(_) = &*slot {
                let Slot::Done(result) = std::mem::replace(&mut *slot, Slot::Running) else {
                    unreachable!("matched Done above")
                };
                return match result {
                    Ok(payload) => Outcome::Ready(payload),
                    Err(_) if cancel.load(Ordering::Relaxed) => Outcome::Cancelled,
                    Err(e) => Outcome::Failed(e),
                };
            }
            if cancel.load(Ordering::Relaxed) {
                self.flags.cancel.store(true, Ordering::Relaxed);
            }
            slot = cond
                .wait_timeout(slot, Duration::from_millis(100))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Nobody wants these files: stop the download and wait (at most `grace`) for its thread to
    /// let go of them, so that their memory is free before another download starts.
    pub fn discard(self, grace: Duration) {
        self.flags.cancel.store(true, Ordering::Relaxed);
        let (lock, cond) = &*self.slot;
        let deadline = Instant::now() + grace;
        let mut slot = lock.lock().unwrap_or_else(|p| p.into_inner());
        while matches!(*slot, Slot::Running) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            slot = cond
                .wait_timeout(slot, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        // Dropping the result closes the memfds.
        *slot = Slot::Running;
    }
}

/// Sum of the progress of several parallel transfers (kernel and initrd), by URL.
#[derive(Debug, Default)]
pub struct ProgressSum {
    by_url: BTreeMap<String, (u64, Option<u64>)>,
}

impl ProgressSum {
    /// Record one report; returns (bytes, total) over all transfers (total only when every
    /// transfer knows its own).
    pub fn add(&mut self, p: &Progress) -> (u64, Option<u64>) {
        self.by_url.insert(p.url.clone(), (p.bytes, p.total));
        let bytes = self.by_url.values().map(|(b, _)| b).sum();
        let total = self
            .by_url
            .values()
            .map(|(_, t)| *t)
            .try_fold(0u64, |acc, t| Some(acc + t?));
        (bytes, total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::memfd_with;
    use std::io::{Read, Seek};

    fn spec(kernel: &str) -> BootSpec {
        BootSpec {
            title: "t".into(),
            kernel: kernel.into(),
            initrds: vec!["initrd".into()],
            ..BootSpec::default()
        }
    }

    #[test]
    fn the_key_ignores_the_command_line_but_not_the_files_or_checksums() {
        let a = spec("k");
        let mut edited = a.clone();
        edited.cmdline = "quiet".into();
        assert_eq!(PayloadKey::of(&a), PayloadKey::of(&edited));
        assert_ne!(PayloadKey::of(&a), PayloadKey::of(&spec("other")));
        let mut summed = a.clone();
        summed.sha256.insert("k".into(), "00".into());
        assert_ne!(PayloadKey::of(&a), PayloadKey::of(&summed));
    }

    #[test]
    fn a_finished_download_is_handed_over_with_its_bytes() {
        let p = Prefetch::start("t", PayloadKey::of(&spec("k")), |_| {
            Ok(Payload {
                kernel: memfd_with(b"kernel"),
                initrd: Some(memfd_with(b"initrd")),
                initrd_flavor: None,
                digests: Digests::default(),
            })
        });
        let Outcome::Ready(mut payload) = p.wait(&AtomicBool::new(false)) else {
            panic!("not ready")
        };
        let mut s = String::new();
        payload.kernel.read_to_string(&mut s).unwrap();
        assert_eq!(s, "kernel");
    }

    #[test]
    fn waiting_attaches_and_gets_the_result_when_it_arrives() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let p = Prefetch::start("t", PayloadKey::of(&spec("k")), move |flags| {
            rx.recv().unwrap();
            assert!(
                flags.attached.load(Ordering::Relaxed),
                "progress would not reach the gauge"
            );
            Ok(Payload {
                kernel: memfd_with(b"k"),
                initrd: None,
                initrd_flavor: None,
                digests: Digests::default(),
            })
        });
        assert!(!p.is_done());
        let waiter = std::thread::spawn(move || p.wait(&AtomicBool::new(false)));
        std::thread::sleep(Duration::from_millis(150));
        tx.send(()).unwrap();
        assert!(matches!(waiter.join().unwrap(), Outcome::Ready(_)));
    }

    fn until_cancelled(flags: &PrefetchFlags) -> Result<Payload, String> {
        let t = Instant::now();
        while !flags.cancel.load(Ordering::Relaxed) {
            assert!(t.elapsed() < Duration::from_secs(10), "never cancelled");
            std::thread::sleep(Duration::from_millis(5));
        }
        Err("cancelled".into())
    }

    #[test]
    fn escape_while_waiting_stops_the_download() {
        let p = Prefetch::start("t", PayloadKey::of(&spec("k")), until_cancelled);
        let cancel = Arc::new(AtomicBool::new(false));
        let c = cancel.clone();
        let waiter = std::thread::spawn(move || p.wait(&c));
        std::thread::sleep(Duration::from_millis(50));
        cancel.store(true, Ordering::Relaxed);
        assert!(matches!(waiter.join().unwrap(), Outcome::Cancelled));
    }

    #[test]
    fn a_failed_download_is_reported_as_failed() {
        let p = Prefetch::start("t", PayloadKey::of(&spec("k")), |_| Err("not found".into()));
        match p.wait(&AtomicBool::new(false)) {
            Outcome::Failed(e) => assert_eq!(e, "not found"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_panic_in_the_download_ends_it_with_an_error() {
        let p = Prefetch::start("t", PayloadKey::of(&spec("k")), |_| panic!("boom"));
        assert!(matches!(
            p.wait(&AtomicBool::new(false)),
            Outcome::Failed(e) if e.contains("bug")
        ));
    }

    #[test]
    fn discarding_cancels_and_waits_for_the_worker() {
        let ended = Arc::new(AtomicBool::new(false));
        let e = ended.clone();
        let p = Prefetch::start("t", PayloadKey::of(&spec("k")), move |flags| {
            let r = until_cancelled(flags);
            e.store(true, Ordering::Relaxed);
            r
        });
        std::thread::sleep(Duration::from_millis(20));
        p.discard(Duration::from_secs(5));
        assert!(ended.load(Ordering::Relaxed));
    }

    #[test]
    fn discarding_a_stuck_download_gives_up_after_the_grace_time() {
        let p = Prefetch::start("t", PayloadKey::of(&spec("k")), |_| {
            std::thread::sleep(Duration::from_secs(10));
            Err("late".into())
        });
        let t = Instant::now();
        p.discard(Duration::from_millis(100));
        // Far below the worker's 10 s, with room for a loaded machine.
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn parallel_progress_is_summed_and_the_total_needs_every_part() {
        let mut sum = ProgressSum::default();
        let p = |url: &str, bytes, total| Progress {
            url: url.into(),
            bytes,
            total,
            rate: 0,
        };
        assert_eq!(sum.add(&p("k", 10, Some(100))), (10, Some(100)));
        assert_eq!(sum.add(&p("i", 5, None)), (15, None));
        assert_eq!(sum.add(&p("i", 50, Some(200))), (60, Some(300)));
        assert_eq!(sum.add(&p("k", 100, Some(100))), (150, Some(300)));
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("kboot-payload-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn fetch_payload_reads_kernel_and_initrds_from_files() {
        let dir = scratch("files");
        for (name, body) in [("k", "KERNEL"), ("i1", "ab"), ("i2", "cd")] {
            std::fs::write(dir.join(name), body).unwrap();
        }
        let url = |n: &str| format!("file://{}", dir.join(n).display());
        let spec = BootSpec {
            kernel: url("k"),
            initrds: vec![url("i1"), url("i2")],
            ..BootSpec::default()
        };
        let mut payload = fetch_payload(
            &spec,
            &FetchOptions::default(),
            &AtomicBool::new(false),
            &|_| {},
        )
        .unwrap();
        let mut k = String::new();
        payload.kernel.rewind().unwrap();
        payload.kernel.read_to_string(&mut k).unwrap();
        assert_eq!(k, "KERNEL");
        let mut i = Vec::new();
        let mut initrd = payload.initrd.unwrap();
        initrd.rewind().unwrap();
        initrd.read_to_end(&mut i).unwrap();
        assert_eq!(i, b"ab\0\0cd", "initrds are concatenated 4-byte aligned");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn fetch_payload_reports_the_real_failure_not_the_cancellation() {
        let dir = scratch("missing");
        std::fs::write(dir.join("k"), "K").unwrap();
        let spec = BootSpec {
            kernel: format!("file://{}", dir.join("k").display()),
            initrds: vec![format!("file://{}", dir.join("missing").display())],
            ..BootSpec::default()
        };
        let e = fetch_payload(
            &spec,
            &FetchOptions::default(),
            &AtomicBool::new(false),
            &|_| {},
        )
        .unwrap_err();
        assert!(e.contains("missing"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
