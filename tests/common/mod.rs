//! Shared harness for the QEMU end-to-end tests: boot `out/x86_64/kboot.bzImage` headless with
//! user networking, read and write its serial line, wait for text.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file under out/x86_64 that `qemu/build` makes; fails the test with what to run if missing.
pub fn built(name: &str) -> PathBuf {
    let p = repo().join("out/x86_64").join(name);
    assert!(
        p.exists(),
        "{} is missing: run qemu/build first (the README's test command does)",
        p.display()
    );
    p
}

/// A fresh TFTP folder holding kboot's kernel (as a target) and the demo initrd, plus `conf`
/// written as `conf_name`.
pub fn tftp_folder(test: &str, conf_name: &str, conf: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kboot-e2e-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(built("bzImage"), dir.join("bzImage-kboot")).unwrap();
    std::fs::copy(
        built("demo-initrd.cpio.gz"),
        dir.join("demo-initrd.cpio.gz"),
    )
    .unwrap();
    let conf_path = dir.join(conf_name);
    std::fs::create_dir_all(conf_path.parent().unwrap()).unwrap();
    std::fs::write(conf_path, conf).unwrap();
    dir
}

/// Options for one guest.
pub struct GuestOptions<'a> {
    pub tftp: &'a Path,
    /// Extra kernel arguments for kboot's kernel (after console=ttyS0).
    pub append: &'a str,
    pub memory_mb: u32,
    pub bootfile: &'a str,
    /// `-device` strings for the NICs; empty = one virtio-net on QEMU's user network (`n0`).
    pub nics: &'a [&'a str],
    /// More options for the user network, e.g. `,ipv4=off`.
    pub netdev: &'a str,
    /// An extra initrd for kboot's own kernel (unpacked over the embedded initramfs).
    pub initrd: Option<&'a Path>,
    /// A raw disk image attached read-only as a virtio disk (/dev/vda).
    pub disk: Option<&'a Path>,
}

impl<'a> GuestOptions<'a> {
    /// The usual guest: 512 MiB, one virtio NIC on QEMU's user network serving `tftp` with
    /// `kboot.conf` as DHCP's boot file, nothing appended, no extra initrd or disk.
    pub fn serving(tftp: &'a Path) -> Self {
        GuestOptions {
            tftp,
            append: "",
            memory_mb: 512,
            bootfile: "kboot.conf",
            nics: &[],
            netdev: "",
            initrd: None,
            disk: None,
        }
    }
}

/// A running QEMU guest whose serial line is our pipe.
pub struct Guest {
    child: Child,
    stdin: ChildStdin,
    output: Arc<(Mutex<Vec<u8>>, Condvar)>,
    /// Bytes of output already consumed by `wait_for` (searches start after the last match).
    cursor: usize,
    started: Instant,
    name: String,
}

fn nic_args(nics: &[&str]) -> Vec<String> {
    let nics: &[&str] = if nics.is_empty() {
        &["virtio-net-pci,netdev=n0"]
    } else {
        nics
    };
    nics.iter()
        .flat_map(|n| ["-device".to_string(), n.to_string()])
        .collect()
}

impl Guest {
    pub fn start(name: &str, opts: &GuestOptions) -> Guest {
        let payload = built("kboot.bzImage");
        let mut child = Command::new("qemu-system-x86_64")
            .args([
                "-m",
                &opts.memory_mb.to_string(),
                "-no-reboot",
                "-display",
                "none",
            ])
            .args([
                "-chardev",
                "stdio,id=ser0,signal=off",
                "-serial",
                "chardev:ser0",
            ])
            .args(["-monitor", "none", "-nodefaults"])
            .arg("-kernel")
            .arg(&payload)
            .args(["-append", &format!("console=ttyS0 {}", opts.append)])
            .arg("-netdev")
            .arg(format!(
                "user,id=n0,tftp={},bootfile={}{}",
                opts.tftp.display(),
                opts.bootfile,
                opts.netdev
            ))
            .args(nic_args(opts.nics))
            .args(
                opts.initrd
                    .iter()
                    .flat_map(|i| [std::ffi::OsStr::new("-initrd"), i.as_os_str()]),
            )
            .args(opts.disk.iter().flat_map(|d| {
                [
                    "-drive".to_string(),
                    format!("file={},if=virtio,format=raw,readonly=on", d.display()),
                ]
            }))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start qemu-system-x86_64: apt-get install qemu-system-x86");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let output = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match stdout.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let (lock, cv) = &*sink;
                        lock.lock().unwrap().extend_from_slice(&buf[..n]);
                        cv.notify_all();
                    }
                }
            }
            let (lock, cv) = &*sink;
            lock.lock().unwrap().extend_from_slice(b"\n[qemu exited]\n");
            cv.notify_all();
        });
        Guest {
            child,
            stdin,
            output,
            cursor: 0,
            started: Instant::now(),
            name: name.into(),
        }
    }

    /// Everything the serial line printed so far, with ANSI escape sequences removed.
    pub fn plain_output(&self) -> String {
        strip_ansi(&self.output.0.lock().unwrap())
    }

    /// Wait until `needle` appears in the (ANSI-stripped) output after the previous match.
    /// Returns the text from the previous match up to and including the line of this one.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let (lock, cv) = &*self.output;
        let mut guard = lock.lock().unwrap();
        loop {
            let text = strip_ansi(&guard);
            if let Some(pos) = text[self.cursor.min(text.len())..].find(needle) {
                let start = self.cursor.min(text.len());
                let end = start + pos + needle.len();
                let line_end = text[end..]
                    .find('\n')
                    .map(|i| end + i)
                    .unwrap_or(text.len());
                self.cursor = end;
                return text[start..line_end].to_string();
            }
            if text.contains("[qemu exited]") || Instant::now() >= deadline {
                drop(guard);
                self.dump();
                panic!(
                    "{}: '{needle}' did not appear within {:?} ({:.1} s after start)",
                    self.name,
                    timeout,
                    self.started.elapsed().as_secs_f64()
                );
            }
            let left = deadline.saturating_duration_since(Instant::now());
            guard = cv
                .wait_timeout(guard, left.min(Duration::from_millis(200)))
                .unwrap()
                .0;
        }
    }

    /// The line printed by the demo target that holds its command line.
    pub fn target_cmdline(&mut self, timeout: Duration) -> String {
        self.line_after("KBOOT-DEMO: cmdline:", timeout)
    }

    /// Wait for `marker`, then for the end of its line (serial output arrives in pieces), and
    /// return what follows the marker on that line.
    pub fn line_after(&mut self, marker: &str, timeout: Duration) -> String {
        self.wait_for(marker, timeout);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let plain = self.plain_output();
            if let Some(pos) = plain.rfind(marker) {
                let rest = &plain[pos + marker.len()..];
                if let Some(end) = rest.find('\n') {
                    return rest[..end].trim().to_string();
                }
            }
            if Instant::now() >= deadline {
                let rest = plain.rfind(marker).map(|p| &plain[p..]).unwrap_or_default();
                panic!(
                    "{}: the line after '{marker}' never ended: {rest}",
                    self.name
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Type on the serial line.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).unwrap();
        self.stdin.flush().unwrap();
    }

    /// Type slowly, one key at a time (a human on a serial line).
    pub fn type_keys(&mut self, keys: &[&[u8]]) {
        for k in keys {
            self.send(k);
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    pub fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    fn dump(&self) {
        let text = self.plain_output();
        let tail: String = text
            .chars()
            .rev()
            .take(6000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        eprintln!(
            "----- {} serial output (last 6000 chars, ANSI stripped) -----\n{tail}\n-----",
            self.name
        );
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dump();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Remove CSI/OSC escape sequences and carriage returns; cursor movements become nothing, so
/// words drawn by a TUI stay readable.
pub fn strip_ansi(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => match chars.peek() {
                Some('[') => {
                    chars.next();
                    for d in chars.by_ref() {
                        if ('@'..='~').contains(&d) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    chars.next();
                    for d in chars.by_ref() {
                        if d == '\x07' {
                            break;
                        }
                    }
                }
                _ => {
                    chars.next();
                }
            },
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Key codes as a VT100 terminal sends them.
pub mod keys {
    pub const DOWN: &[u8] = b"\x1b[B";
    pub const UP: &[u8] = b"\x1b[A";
    pub const END: &[u8] = b"\x1b[F";
    pub const HOME: &[u8] = b"\x1b[H";
    pub const ENTER: &[u8] = b"\r";
    pub const ESC: &[u8] = b"\x1b";
}
pub mod atftpd;
pub mod diskless;
pub mod netns;
pub mod servers;
