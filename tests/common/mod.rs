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
/// written as `conf_name` ([`arch::Arch::tftp_folder`] for x86_64).
pub fn tftp_folder(test: &str, conf_name: &str, conf: &str) -> PathBuf {
    arch::Arch::X86_64.tftp_folder(test, conf_name, conf)
}

/// Options for one guest.
pub struct GuestOptions<'a> {
    pub tftp: &'a Path,
    /// Extra kernel arguments for kboot's kernel (after console=ttyS0).
    pub append: &'a str,
    pub memory_mb: u32,
    pub bootfile: &'a str,
    /// `-device` strings for the NICs; empty = one virtio-net on QEMU's user network (`n0`);
    /// `["none"]` = no NIC at start (the user network `n0` is still there for a `device_add`).
    pub nics: &'a [&'a str],
    /// More options for the user network, e.g. `,ipv4=off`.
    pub netdev: &'a str,
    /// An extra initrd for kboot's own kernel (unpacked over the embedded initramfs).
    pub initrd: Option<&'a Path>,
    /// A raw disk image attached read-only as a virtio disk (/dev/vda).
    pub disk: Option<&'a Path>,
    /// QEMU's machine type (`-M`), e.g. `q35`; empty = QEMU's default (pc).
    pub machine: &'a str,
    /// More QEMU arguments, as they are (controllers, disks on other buses, `-vga std`...).
    pub extra: &'a [&'a str],
    /// Open QEMU's monitor on a unix socket, for [`Guest::monitor`] (`sendkey`, `device_add`).
    pub monitor: bool,
    /// The payload under out/<arch>/ that QEMU boots: `kboot.bzImage`, or
    /// `kboot-full.bzImage` (the module pack embedded); `kboot.Image` on aarch64. Empty: no
    /// `-kernel` (nor `-append`, `-initrd`): the firmware boots from a disk in `extra`.
    pub payload: &'a str,
    /// The guest's architecture (QEMU, machine, console, out/ folder).
    pub arch: arch::Arch,
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
            machine: "",
            extra: &[],
            monitor: false,
            payload: "kboot.bzImage",
            arch: arch::Arch::X86_64,
        }
    }

    /// The usual guest on arm64: `-M virt`, kboot.Image, console on ttyAMA0.
    pub fn serving_arm64(tftp: &'a Path) -> Self {
        GuestOptions {
            payload: "kboot.Image",
            arch: arch::Arch::Aarch64,
            ..Self::serving(tftp)
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
    /// Where QEMU's monitor listens (GuestOptions::monitor), and the connection to it.
    monitor_path: Option<PathBuf>,
    monitor: Option<std::os::unix::net::UnixStream>,
}

fn nic_args(nics: &[&str]) -> Vec<String> {
    let nics: &[&str] = if nics.is_empty() {
        &["virtio-net-pci,netdev=n0"]
    } else {
        nics
    };
    nics.iter()
        .filter(|n| **n != "none")
        .flat_map(|n| ["-device".to_string(), n.to_string()])
        .collect()
}

impl Guest {
    pub fn start(name: &str, opts: &GuestOptions) -> Guest {
        let arch = opts.arch;
        let payload = (!opts.payload.is_empty()).then(|| arch.built(opts.payload));
        let monitor_path = opts.monitor.then(|| {
            std::env::temp_dir().join(format!("kboot-mon-{name}-{}.sock", std::process::id()))
        });
        if let Some(p) = &monitor_path {
            let _ = std::fs::remove_file(p);
        }
        let monitor_args = match &monitor_path {
            Some(p) => vec![
                "-monitor".to_string(),
                format!("unix:{},server=on,wait=off", p.display()),
            ],
            None => vec!["-monitor".to_string(), "none".to_string()],
        };
        let machine_args = if opts.machine.is_empty() {
            arch.default_machine().to_vec()
        } else {
            vec!["-M", opts.machine]
        };
        let kernel_args: Vec<std::ffi::OsString> = match &payload {
            Some(p) => vec![
                "-kernel".into(),
                p.into(),
                "-append".into(),
                format!("console={} {}", arch.console(), opts.append).into(),
            ],
            None => Vec::new(),
        };
        let mut cmd = Command::new(arch.qemu());
        cmd.args([
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
        .args(machine_args)
        .args(monitor_args)
        .arg("-nodefaults")
        .args(kernel_args)
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
        .args(opts.extra);
        Guest::spawn(name, cmd, monitor_path)
    }

    /// A guest from a QEMU command line of the caller's own (firmware boots: OVMF, iPXE), whose
    /// serial line must be on stdio (`-serial stdio`, or a `stdio` chardev).
    pub fn from_command(name: &str, cmd: Command) -> Guest {
        Guest::spawn(name, cmd, None)
    }

    fn spawn(name: &str, mut cmd: Command, monitor_path: Option<PathBuf>) -> Guest {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {:?} ({e}): run qemu/setup (it installs QEMU)",
                    cmd.get_program()
                )
            });
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
            monitor_path,
            monitor: None,
        }
    }

    /// Run a command on QEMU's monitor (GuestOptions::monitor) and return its answer, e.g.
    /// `sendkey ret` or `device_add usb-storage,bus=xhci.0,drive=stick`.
    pub fn monitor(&mut self, command: &str) -> String {
        if self.monitor.is_none() {
            let path = self
                .monitor_path
                .clone()
                .expect("GuestOptions::monitor was not set");
            let deadline = Instant::now() + Duration::from_secs(20);
            let stream = loop {
                match std::os::unix::net::UnixStream::connect(&path) {
                    Ok(s) => break s,
                    Err(e) if Instant::now() >= deadline => {
                        panic!("{}: no QEMU monitor at {}: {e}", self.name, path.display())
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            };
            stream
                .set_read_timeout(Some(Duration::from_secs(30)))
                .unwrap();
            self.monitor = Some(stream);
            // The greeting ends with the first prompt.
            self.monitor_read();
        }
        let stream = self.monitor.as_mut().unwrap();
        stream.write_all(format!("{command}\n").as_bytes()).unwrap();
        let answer = self.monitor_read();
        strip_ansi(answer.as_bytes())
    }

    /// Read the monitor up to its next `(qemu) ` prompt.
    fn monitor_read(&mut self) -> String {
        let stream = self.monitor.as_mut().unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.ends_with(b"(qemu) ") {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => panic!("{}: reading QEMU's monitor: {e}", self.name),
            }
        }
        String::from_utf8_lossy(&got).into_owned()
    }

    /// Press keys on the guest's emulated keyboard (PS/2 or USB), through the monitor's
    /// `sendkey`: each is a QEMU key name (`ret`, `down`, `e`, `shift-minus`).
    pub fn sendkeys(&mut self, keys: &[&str]) {
        for k in keys {
            let answer = self.monitor(&format!("sendkey {k}"));
            assert!(
                !answer.contains("Invalid") && !answer.contains("unknown"),
                "{}: sendkey {k}: {answer}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Type text on the guest's emulated keyboard (see [`Guest::sendkeys`]): letters, digits,
    /// space and `=_-.,/`.
    pub fn type_text(&mut self, text: &str) {
        let names: Vec<String> = text.chars().map(qemu_key).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        self.sendkeys(&names);
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

    /// Wait until every one of `needles` appeared after the previous match, in any order (a
    /// late disk's menu and an error can come either way round), ignoring white space: the
    /// menu is redrawn by difference, so the spaces of a line already on the screen may never
    /// be sent again. The next search starts after everything printed by then.
    pub fn wait_for_all(&mut self, needles: &[&str], timeout: Duration) {
        let squash = |t: &str| -> String { t.chars().filter(|c| !c.is_whitespace()).collect() };
        let wanted: Vec<String> = needles.iter().map(|n| squash(n)).collect();
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.plain_output();
            let seen = squash(&text[self.cursor.min(text.len())..]);
            let missing: Vec<&str> = needles
                .iter()
                .zip(&wanted)
                .filter(|(_, w)| !seen.contains(w.as_str()))
                .map(|(n, _)| *n)
                .collect();
            if missing.is_empty() {
                self.cursor = text.len();
                return;
            }
            if text.contains("[qemu exited]") || Instant::now() >= deadline {
                self.dump();
                panic!(
                    "{}: {missing:?} did not appear within {timeout:?} ({:.1} s after start)",
                    self.name,
                    self.started.elapsed().as_secs_f64()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
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

    /// Print the end of the output: the last 6000 characters, or KBOOT_TEST_TAIL of them.
    fn dump(&self) {
        let text = self.plain_output();
        let n = std::env::var("KBOOT_TEST_TAIL")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(6000);
        let tail: String = text
            .chars()
            .rev()
            .take(n)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        eprintln!(
            "----- {} serial output (last {n} chars, ANSI stripped) -----\n{tail}\n-----",
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
        if let Some(p) = &self.monitor_path {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The QEMU key name (`sendkey`) that types `c` on a US keyboard.
pub fn qemu_key(c: char) -> String {
    match c {
        'a'..='z' | '0'..='9' => c.to_string(),
        'A'..='Z' => format!("shift-{}", c.to_ascii_lowercase()),
        ' ' => "spc".into(),
        '=' => "equal".into(),
        '-' => "minus".into(),
        '_' => "shift-minus".into(),
        '.' => "dot".into(),
        ',' => "comma".into(),
        '/' => "slash".into(),
        other => panic!("no QEMU key name for {other:?}"),
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
pub mod arch;
pub mod atftpd;
pub mod diskless;
pub mod netns;
pub mod servers;
pub mod swtpm;

/// The files of an installed system in `dir/root`: /boot with kboot's kernel (`vmlinuz`), the
/// demo initrd and an extlinux.conf whose menu waits (`UI menu.c32`) and whose only entry says
/// `kboot_test=<test>`. The tests make a filesystem image of it.
pub fn installed_tree(dir: &Path, test: &str) -> PathBuf {
    let staging = dir.join("root");
    std::fs::create_dir_all(staging.join("boot/extlinux")).unwrap();
    std::fs::copy(dir.join("bzImage-kboot"), staging.join("boot/vmlinuz")).unwrap();
    std::fs::copy(
        dir.join("demo-initrd.cpio.gz"),
        staging.join("boot/initrd.gz"),
    )
    .unwrap();
    std::fs::write(
        staging.join("boot/extlinux/extlinux.conf"),
        format!(
            "UI menu.c32\nMENU TITLE Installed on {test}\nDEFAULT local\nLABEL local\n  MENU LABEL Local system\n  \
             KERNEL /boot/vmlinuz\n  INITRD /boot/initrd.gz\n  APPEND console=ttyS0 kboot_test={test}\n"
        ),
    )
    .unwrap();
    staging
}

/// Where [`mbr_disk`]'s one partition starts: 1 MiB, as installers align it.
pub const PART_START: u64 = 1 << 20;

/// A raw disk image of `len` bytes with an MBR whose one partition (of type `kind`) starts at
/// [`PART_START`] and fills the rest.
pub fn mbr_disk(path: &Path, len: u64, kind: u8) -> std::fs::File {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    f.set_len(len).unwrap();
    let mut mbr = [0u8; 512];
    let entry = &mut mbr[446..462];
    entry[4] = kind;
    entry[8..12].copy_from_slice(&((PART_START / 512) as u32).to_le_bytes());
    entry[12..16].copy_from_slice(&(((len - PART_START) / 512) as u32).to_le_bytes());
    mbr[510] = 0x55;
    mbr[511] = 0xAA;
    f.write_all(&mbr).unwrap();
    f
}

/// Run a host command the test needs (mkfs, sbsign, objcopy...); fail the test with its stderr
/// when it fails.
pub fn run_ok(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (run qemu/setup)"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Sign the PE file `input` into `output` with sbsign (Debian's sbsigntool): `key` a PEM
/// private key without password, `cert` its PEM certificate.
pub fn sbsign(key: &Path, cert: &Path, input: &Path, output: &Path) {
    run_ok(
        Command::new("sbsign")
            .arg("--key")
            .arg(key)
            .arg("--cert")
            .arg(cert)
            .arg("--output")
            .arg(output)
            .arg(input),
    );
}
