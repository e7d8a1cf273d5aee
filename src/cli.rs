//! The command line: as PID 1 kboot is the boot loader; as a normal process it is a CLI.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(
    name = "kboot",
    version,
    about = "kboot: a kexec-based network boot loader",
    long_about = "kboot: a kexec-based network boot loader.\n\nRun as PID 1 (the /init of kboot's initramfs) it brings up the network, finds a boot menu, shows it and kexecs the chosen kernel. Run as a normal program it offers the subcommands below."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `kboot wifi ...`.
#[derive(Subcommand, Debug)]
pub enum WifiCommand {
    /// Scan and list the networks in range: SSID, signal, security, band, strongest first.
    Scan {
        /// The wireless interface; default: the first one.
        #[arg(long)]
        iface: Option<String>,
        /// Print JSON: [{"ssid", "bssid", "signal_dbm", "security", "band", "freq_mhz"}...].
        #[arg(long)]
        json: bool,
        /// Use the wpa_supplicant already running with its control sockets in this folder
        /// (e.g. /run/wpa_supplicant); default: start one of our own for the scan.
        #[arg(long)]
        ctrl: Option<PathBuf>,
        /// The wpa_supplicant binary to start (default: the first of /usr/sbin, /sbin).
        #[arg(long)]
        supplicant: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Download a URL (tftp://, http://, https://, file://) to a file, with a progress line on stderr.
    Fetch {
        url: String,
        /// Where to write the file.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// Expected SHA-256 of the file (64 hex characters), checked while streaming.
        #[arg(long, value_name = "HEX")]
        sha256: Option<String>,
        /// TFTP block size to ask for (RFC 2348).
        #[arg(long)]
        blksize: Option<u16>,
        /// TFTP window size to ask for (RFC 7440).
        #[arg(long)]
        windowsize: Option<u16>,
    },
    /// Fetch and parse a config (kboot.conf, pxelinux, GRUB, iPXE, BLS) the way the loader
    /// would, and print its menu.
    Menu {
        /// A URL or a local path.
        source: String,
        /// The config's format; `auto` detects it from the URL and the text.
        #[arg(long, default_value = "auto")]
        format: String,
        /// The MAC address the loader would have (for variables such as iPXE ${net0/mac}).
        #[arg(long)]
        mac: Option<String>,
        /// The IPv4 address the loader would have (for variables such as iPXE ${ip}).
        #[arg(long)]
        ip: Option<std::net::Ipv4Addr>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Fetch a kernel (and initrds) and load it with kexec_file_load; with --exec, boot it.
    Boot {
        /// Kernel URL or path.
        kernel: String,
        /// Initrd URL or path (repeat for several; they are concatenated).
        #[arg(long)]
        initrd: Vec<String>,
        /// The target kernel command line.
        #[arg(long, default_value = "")]
        append: String,
        /// Reboot into the loaded kernel right away (this ends the running system).
        #[arg(long)]
        exec: bool,
    },
    /// Run the DHCP client on a host interface (root): print the lease and the config URLs
    /// discovery would try. Configures nothing unless --apply.
    Dhcp {
        /// The interface, e.g. eth0 (it must be up unless --apply).
        iface: String,
        /// Print JSON: {"lease": {...}, "candidates": [{"url", "why"}...]}.
        #[arg(long)]
        json: bool,
        /// Configure the address, route and /etc/resolv.conf from the lease.
        #[arg(long)]
        apply: bool,
    },
    /// Write kboot's initramfs (newc cpio): /init = BINARY, plus an overlay folder.
    Mkinitramfs {
        /// The static kboot binary to install as /init.
        #[arg(long)]
        init: PathBuf,
        /// A folder laid into the archive as it is (e.g. buildroot-overlay/).
        #[arg(long)]
        overlay: Option<PathBuf>,
        /// Output file; `.gz` compresses with gzip.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// Print the command-line parameters kboot would append for a diskless root (iSCSI, NBD,
    /// NFS) in the target's initramfs flavour.
    Cmdline(Box<crate::cli_cmdline::CmdlineArgs>),
    /// Ask an NTP server for the time (SNTP, RFC 4330) and print it with this machine's offset;
    /// with --set, set the clock from it (root).
    Sntp {
        /// Host name or address, optionally with :port (`[v6]:port`); several are asked in
        /// turn until one answers.
        #[arg(required = true)]
        server: Vec<String>,
        /// Set the system clock from the answer.
        #[arg(long)]
        set: bool,
        /// Seconds to wait for each answer.
        #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
        timeout: f64,
        /// Requests per server.
        #[arg(long, default_value_t = 3)]
        tries: u32,
    },
    /// Wi-Fi on a host with a wireless device (root): `kboot wifi scan [--json]`.
    Wifi {
        #[command(subcommand)]
        what: WifiCommand,
    },
    /// Print the kernel modules kboot would load, in load order, from a module pack: for the
    /// given modaliases, or else for the devices in this machine's /sys. Loads nothing.
    Modules {
        /// The modules folder (modules.dep, modules.alias); default /lib/modules/<uname -r>.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// A device's modalias, e.g. pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00
        /// (repeat for several).
        #[arg(long)]
        modalias: Vec<String>,
        /// A module to load by name, as kboot.modprobe= does (repeat for several).
        #[arg(long)]
        module: Vec<String>,
        /// A module never to load for a device, as kboot.blacklist= (repeat for several).
        #[arg(long)]
        blacklist: Vec<String>,
    },
    /// List the disks and volumes kboot sees (partitions, LVM2 logical volumes, RAID1
    /// members), mapping logical volumes read-only through device-mapper as the loader does
    /// (root). What it did and skipped goes to stderr.
    Disks {
        /// Print JSON: {"disks": [...], "volumes": [{"name", "disk", "partition", "table",
        /// "fs", "uuid", "label", "lvm": {"vg", "lv", "vg_uuid", "lv_uuid"}, "md_uuid",
        /// "note"}...]}.
        #[arg(long)]
        json: bool,
    },
    /// Check a config tree the way PID 1 would under kboot.verify=require: the config and its
    /// includes against URL.minisig, then every entry's kernel and initrds (their SHA-256 pins,
    /// else their own .minisig). Prints one line per entry; fails when any is not signed.
    Verify {
        /// The config's URL (or a local path).
        url: String,
        /// A trusted minisign public key: a .pub file or its base64 line (repeat for several).
        #[arg(long, required = true)]
        key: Vec<String>,
    },
    /// Run the boot menu on this terminal (no network set-up, no reboot): to try kboot on a host.
    Loader {
        /// Config URL (as kboot.config= would give it).
        #[arg(long)]
        config: Option<String>,
        /// Boot the default entry at once, with plain log lines instead of the menu.
        #[arg(long)]
        no_menu: bool,
    },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    if std::process::id() == 1 {
        crate::init::run_as_pid1();
    }
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        use clap::CommandFactory;
        let _ = Cli::command().print_help();
        return ExitCode::from(2);
    };
    match run(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kboot: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(), String> {
    let cancel = AtomicBool::new(false);
    // http_proxy, https_proxy, no_proxy ... as curl reads them.
    crate::fetch::proxy::set_default(crate::fetch::proxy::ProxySettings::from_env());
    match command {
        Command::Fetch {
            url,
            output,
            sha256,
            blksize,
            windowsize,
        } => {
            let url = absolute(&url)?;
            let mut opts = crate::fetch::FetchOptions {
                sha256,
                // The file goes to disk, not to RAM: no free-memory limit.
                max_size: Some(u64::MAX),
                ..crate::fetch::FetchOptions::default()
            };
            if let Some(b) = blksize {
                opts.tftp.blksize = b;
            }
            if let Some(w) = windowsize {
                opts.tftp.windowsize = w;
            }
            let file = std::fs::File::create(&output)
                .map_err(|e| format!("cannot create {}: {e}", output.display()))?;
            // Small TFTP blocks are gathered; HTTP reads (as big as this) go straight through.
            let mut out = std::io::BufWriter::with_capacity(crate::fetch::SINK_BUFFER, file);
            let started = Instant::now();
            let mut bar = ProgressLine::default();
            let n = crate::fetch::fetch(&url, &mut out, &opts, &mut |p| bar.show(p), &cancel)
                .map_err(|e| e.to_string())?;
            std::io::Write::flush(&mut out)
                .map_err(|e| format!("cannot write {}: {e}", output.display()))?;
            bar.finish();
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "{n} bytes in {secs:.2} s ({:.1} MB/s) -> {}",
                n as f64 / secs.max(1e-9) / 1e6,
                output.display()
            );
            Ok(())
        }
        Command::Menu {
            source,
            format,
            mac,
            ip,
            json,
        } => {
            let url = absolute(&source)?;
            let format = crate::config::detect::parse_format_arg(&format)?;
            let mut ctx = crate::config::load::context(None);
            if let Some(m) = mac {
                ctx.mac = Some(crate::net::link::parse_mac(&m).ok_or_else(|| {
                    format!("--mac {m} is not a MAC address such as 52:54:00:12:34:56")
                })?);
            }
            ctx.ip = ip.or(ctx.ip);
            let (format, menu) = crate::config::load::load(&url, format, &ctx, &cancel)
                .map_err(|e| e.to_string())?;
            for w in &menu.warnings {
                eprintln!("warning: {w}");
            }
            if json {
                let mut value = serde_json::to_value(&menu).map_err(|e| e.to_string())?;
                if let Some(obj) = value.as_object_mut() {
                    obj.insert("format".into(), format.name().into());
                    obj.insert("warnings".into(), menu.warnings.clone().into());
                }
                let s = serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?;
                println!("{s}");
            } else {
                println!("format: {format}");
                print_menu(&menu);
            }
            Ok(())
        }
        Command::Verify { url, key } => verify(&absolute(&url)?, &key, &cancel),
        Command::Boot {
            kernel,
            initrd,
            append,
            exec,
        } => {
            let kernel = absolute(&kernel)?;
            let initrds = initrd
                .iter()
                .map(|i| absolute(i))
                .collect::<Result<Vec<_>, _>>()?;
            let opts = crate::fetch::FetchOptions::default();
            let mut bar = ProgressLine::default();
            let k = crate::fetch::fetch_to_memfd(
                "kernel",
                &[kernel],
                &opts,
                &mut |p| bar.show(p),
                &cancel,
            )
            .map_err(|e| e.to_string())?;
            let i = if initrds.is_empty() {
                None
            } else {
                Some(
                    crate::fetch::fetch_to_memfd(
                        "initrd",
                        &initrds,
                        &opts,
                        &mut |p| bar.show(p),
                        &cancel,
                    )
                    .map_err(|e| e.to_string())?,
                )
            };
            bar.finish();
            let k = crate::boot::zboot::prepare(k).map_err(|e| e.to_string())?;
            use std::os::fd::AsFd;
            crate::boot::kexec::load(k.as_fd(), i.as_ref().map(|f| f.as_fd()), &append)
                .map_err(|e| e.to_string())?;
            if exec {
                return Err(crate::boot::kexec::exec().to_string());
            }
            eprintln!("loaded; start it with 'kboot boot --exec ...' or 'systemctl kexec'");
            Ok(())
        }
        Command::Dhcp { iface, json, apply } => {
            let mut report = |line: String| eprintln!("{line}");
            let lease =
                crate::net::dhcp_on(&iface, apply, &mut report).map_err(|e| e.to_string())?;
            let uuid = crate::config::load::machine_uuid();
            let mut candidates = crate::discovery::candidates(&lease, uuid.as_deref());
            candidates.extend(crate::discovery::grub_candidates(&lease, uuid.as_deref()));
            if json {
                let list: Vec<serde_json::Value> = candidates
                    .iter()
                    .map(|c| serde_json::json!({"url": c.url, "why": c.why}))
                    .collect();
                let value = serde_json::json!({"lease": lease, "candidates": list});
                let text = serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?;
                println!("{text}");
            } else {
                print_lease(&lease);
                println!("config URLs discovery would try, in order:");
                for c in &candidates {
                    println!("  {}  ({})", c.url, c.why);
                }
            }
            Ok(())
        }
        Command::Mkinitramfs {
            init,
            overlay,
            output,
        } => {
            let fs = crate::image::kboot_initramfs(&init, overlay.as_deref())
                .map_err(|e| e.to_string())?;
            let tmp = output.with_extension("tmp");
            let file = std::fs::File::create(&tmp)
                .map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
            let writer = std::io::BufWriter::new(file);
            let result = if output.extension().is_some_and(|e| e == "gz") {
                let gz = flate2::write::GzEncoder::new(writer, flate2::Compression::best());
                fs.write_cpio(gz)
                    .and_then(|gz| gz.finish().map_err(Into::into))
                    .map(|_| ())
            } else {
                fs.write_cpio(writer)
                    .and_then(|mut w| std::io::Write::flush(&mut w).map_err(Into::into))
            };
            result.map_err(|e| e.to_string())?;
            std::fs::rename(&tmp, &output)
                .map_err(|e| format!("cannot write {}: {e}", output.display()))?;
            Ok(())
        }
        Command::Sntp {
            server,
            set,
            timeout,
            tries,
        } => sntp(&server, set, timeout, tries),
        Command::Cmdline(args) => crate::cli_cmdline::run(*args),
        Command::Wifi {
            what:
                WifiCommand::Scan {
                    iface,
                    json,
                    ctrl,
                    supplicant,
                },
        } => wifi_scan(iface, json, ctrl, supplicant),
        Command::Modules {
            dir,
            modalias,
            module,
            blacklist,
        } => modules(dir, &modalias, &module, &blacklist),
        Command::Disks { json } => {
            let inv = crate::disk::inventory(&mut |line| eprintln!("{line}"));
            if json {
                println!("{}", inv.to_json());
            } else {
                print!("{}", inv.to_text());
            }
            Ok(())
        }
        Command::Loader { config, no_menu } => {
            let args = crate::init::args::KernelArgs {
                config: config.map(|c| absolute(&c)).transpose()?,
                menu_off: no_menu,
                ..Default::default()
            };
            crate::init::supervisor::run(args, crate::init::supervisor::Mode::Host, Instant::now())
        }
    }
}

/// `kboot sntp`: print the server's time and our offset; with `set`, set the clock.
fn sntp(servers: &[String], set: bool, timeout: f64, tries: u32) -> Result<(), String> {
    use crate::clock::format_utc_millis;
    use crate::net::sntp::{query, QueryOptions};
    let timeout = Duration::try_from_secs_f64(timeout)
        .ok()
        .filter(|t| !t.is_zero() && *t <= Duration::from_secs(60))
        .ok_or_else(|| {
            format!("--timeout {timeout} is not a number of seconds between 0 and 60")
        })?;
    let tries = tries.clamp(1, 100);
    let opts = QueryOptions {
        timeout,
        tries,
        // The tries decide; the total is only a safety net (twice their sum).
        total: timeout * tries * servers.len().max(1) as u32 * 2,
    };
    let answer = query(servers, &opts).map_err(|e| e.to_string())?;
    let s = answer.sample;
    let ours = crate::clock::now_unix_nanos();
    let server_now = ours.saturating_add(s.offset_nanos);
    println!(
        "server       {} (NTP version {}, stratum {})",
        answer.server, s.reply.version, s.reply.stratum
    );
    println!("server time  {}", format_utc_millis(server_now));
    println!("our clock    {}", format_utc_millis(ours));
    let direction = match s.offset_nanos {
        0 => "the clocks agree",
        o if o > 0 => "this machine is behind",
        _ => "this machine is ahead",
    };
    println!(
        "offset       {:+.6} s ({direction}; round trip {:.3} ms)",
        s.offset_nanos as f64 / 1e9,
        s.delay_nanos as f64 / 1e6
    );
    if set {
        println!("{}", crate::init::clock::set_from(&answer)?);
    }
    Ok(())
}

/// `kboot modules`: what the drivers thread would load, without loading anything.
fn modules(
    dir: Option<PathBuf>,
    modaliases: &[String],
    names: &[String],
    blacklist: &[String],
) -> Result<(), String> {
    use crate::hw::device::Device;
    use crate::hw::loader::{DryRun, Loader};
    let dir = dir.unwrap_or_else(crate::hw::drivers::default_dir);
    let mut loader = Loader::open(&dir, DryRun::default()).map_err(|e| e.to_string())?;
    loader.set_blacklist(blacklist);
    let mut failed = false;
    for name in names {
        match loader.load(name) {
            Ok(now) => println!("{name}: {}", now.join(" ")),
            Err(e) => {
                println!("{name}: {e}");
                failed = true;
            }
        }
    }
    let devices: Vec<Device> = if modaliases.is_empty() && names.is_empty() {
        crate::hw::drivers::sysfs_devices(std::path::Path::new("/sys"))
    } else {
        modaliases
            .iter()
            .map(|m| Device {
                devpath: String::new(),
                subsystem: None,
                modalias: m.clone(),
            })
            .collect()
    };
    for dev in &devices {
        for outcome in loader.load_for(&dev.modalias) {
            let what = if dev.devpath.is_empty() {
                dev.modalias.clone()
            } else {
                dev.describe()
            };
            match outcome.result {
                Ok(now) => println!("{what}: {}", now.join(" ")),
                Err(e) => {
                    println!("{what}: {e}");
                    failed = true;
                }
            }
        }
    }
    println!("load order: {}", loader.inserter().inserted.join(" "));
    if failed {
        return Err("some modules could not be ordered".into());
    }
    Ok(())
}

/// A URL stays as it is; a local path becomes a file:// URL.
fn absolute(s: &str) -> Result<String, String> {
    if s.contains("://") {
        return Ok(s.to_string());
    }
    let path = std::path::absolute(s).map_err(|e| format!("bad path {s}: {e}"))?;
    let url = url::Url::from_file_path(&path).map_err(|_| format!("bad path {s}"))?;
    Ok(url.to_string())
}

fn print_menu(menu: &crate::config::Menu) {
    if let Some(t) = &menu.title {
        println!("{t}");
    }
    match menu.timeout_ms {
        Some(ms) => println!("timeout: {} s", ms as f64 / 1000.0),
        None => println!("timeout: none (waits)"),
    }
    let default = menu.entries.get(menu.default_index()).map(|e| e.id.clone());
    print_entries(&menu.entries, default.as_deref(), 0);
}

fn print_entries(entries: &[crate::config::Entry], default: Option<&str>, depth: usize) {
    let pad = "  ".repeat(depth);
    for e in entries {
        let mark = if Some(e.id.as_str()) == default {
            '*'
        } else {
            ' '
        };
        let hidden = if e.hidden { " (hidden)" } else { "" };
        println!("{pad}{mark} {} [{}]{hidden}", e.title, e.id);
        if let Some(a) = &e.action {
            println!("{pad}    action  {a:?}");
        }
        if let Some(k) = &e.kernel {
            println!("{pad}    kernel  {k}");
        }
        for i in &e.initrds {
            println!("{pad}    initrd  {i}");
        }
        if e.kernel.is_some() {
            println!("{pad}    cmdline {}", e.cmdline);
        }
        print_entries(&e.children, None, depth + 1);
    }
}

fn print_lease(l: &crate::net::Lease) {
    let show = |name: &str, v: Option<String>| {
        if let Some(v) = v {
            println!("{name:<14}{v}");
        }
    };
    show(
        "interface",
        Some(format!("{} ({})", l.iface, l.mac_colon())),
    );
    show("address", l.client.map(|a| a.to_string()));
    show("netmask", l.netmask.map(|a| a.to_string()));
    show("gateway", l.gateway.map(|a| a.to_string()));
    let dns: Vec<String> = l.dns.iter().map(|a| a.to_string()).collect();
    show("dns", (!dns.is_empty()).then(|| dns.join(" ")));
    show("hostname", l.hostname.clone());
    show("domain", l.domain.clone());
    show("server-id", l.server_id.map(|a| a.to_string()));
    show("next-server", l.next_server.map(|a| a.to_string()));
    show("tftp-server", l.tftp_server_name.clone());
    show("boot-file", l.boot_file.clone());
    show("root-path", l.root_path.clone());
    show("pxe-config", l.pxe_config_file.clone());
    show("pxe-prefix", l.pxe_path_prefix.clone());
    show("lease-time", l.lease_time.map(|t| format!("{t} s")));
}

/// A one-line progress bar on stderr.
#[derive(Default)]
struct ProgressLine {
    last: Option<Instant>,
    shown: bool,
}

impl ProgressLine {
    fn show(&mut self, p: &crate::fetch::Progress) {
        if self.last.is_some_and(|t| t.elapsed().as_millis() < 200) {
            return;
        }
        self.last = Some(Instant::now());
        self.shown = true;
        let total = p
            .total
            .map(|t| format!(" / {}", human(t)))
            .unwrap_or_default();
        eprint!(
            "\r{}: {}{} at {}/s   ",
            p.url,
            human(p.bytes),
            total,
            human(p.rate)
        );
    }
    fn finish(&self) {
        if self.shown {
            eprintln!();
        }
    }
}

/// 1536 -> "1.5 KiB"
pub fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `kboot wifi scan`.
fn wifi_scan(
    iface: Option<String>,
    json: bool,
    ctrl: Option<PathBuf>,
    supplicant: Option<PathBuf>,
) -> Result<(), String> {
    use crate::net::wifi::{client::CtrlClient, device, scan};
    let iface = match iface {
        Some(i) => i,
        None => device::wireless_interfaces()
            .into_iter()
            .next()
            .ok_or("this machine has no Wi-Fi interface (nothing in /sys/class/net is wireless)")?,
    };
    let limit = std::time::Duration::from_secs(15);
    let results = match ctrl {
        Some(dir) => {
            let mut c = CtrlClient::connect(&dir.join(&iface), &std::env::temp_dir())
                .map_err(|e| e.to_string())?;
            c.attach().map_err(|e| e.to_string())?;
            c.scan(limit).map_err(|e| e.to_string())?
        }
        None => {
            let binary = supplicant
                .or_else(device::find_supplicant)
                .ok_or("wpa_supplicant was not found: give it with --supplicant")?;
            let run = std::env::temp_dir().join(format!("kboot-wifi-{}", std::process::id()));
            let result = device::Supplicant::start(&binary, &iface, &run, None)
                .map_err(|e| e.to_string())
                .and_then(|s| {
                    let mut c = s.client().map_err(|e| e.to_string())?;
                    c.scan(limit).map_err(|e| e.to_string())
                });
            let _ = std::fs::remove_dir_all(&run);
            result?
        }
    };
    let nets = scan::networks(&results);
    if json {
        let list: Vec<serde_json::Value> = nets
            .iter()
            .map(|n| {
                serde_json::json!({
                    "ssid": n.ssid_text(),
                    "bssid": n.bssid,
                    "signal_dbm": n.signal,
                    "security": n.security.label(),
                    "band": n.band().label(),
                    "freq_mhz": n.freq,
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        for n in &nets {
            println!(
                "{:>4} dBm  {:<10} {:<8} {}",
                n.signal,
                n.security.label(),
                n.band().label(),
                n.ssid_text()
            );
        }
        let n = nets.len();
        eprintln!("{iface}: {n} network{}", if n == 1 { "" } else { "s" });
    }
    Ok(())
}

/// `kboot verify URL --key K`: the report, one line per entry; an error when anything is not
/// signed by one of the keys.
fn verify(url: &str, keys: &[String], cancel: &AtomicBool) -> Result<(), String> {
    use crate::trust::{Policy, Trust};
    let mut key_file = String::new();
    let mut inline = Vec::new();
    for k in keys {
        match std::fs::read_to_string(k) {
            Ok(text) => key_file.push_str(&format!("{text}\n")),
            Err(_) => inline.push(k.clone()),
        }
    }
    let (mut trust, problems) = Trust::from_parts(Some(&key_file), &inline, None);
    if let Some(p) = problems.first() {
        return Err(p.clone());
    }
    trust.policy = Policy::Require;
    let ctx = crate::config::load::context(None);
    let loaded = crate::trust::config::load(url, None, None, &ctx, &trust, cancel)
        .map_err(|e| e.to_string())?;
    let mut failures = 0;
    match &loaded.verdict {
        Some(Ok(k)) => println!("ok    {url}: signed by key {k}"),
        Some(Err(e)) => {
            failures += 1;
            println!("FAIL  {e}");
        }
        None => {}
    }
    let mut seen = Vec::new();
    let mut entries: Vec<&crate::config::Entry> = Vec::new();
    fn walk<'a>(es: &'a [crate::config::Entry], out: &mut Vec<&'a crate::config::Entry>) {
        for e in es {
            out.push(e);
            walk(&e.children, out);
        }
    }
    walk(&loaded.menu.entries, &mut entries);
    for e in entries {
        let Some(spec) = crate::cmdline::entry_to_boot_spec(e, None) else {
            continue;
        };
        let files = (
            spec.kernel.clone(),
            spec.initrds.clone(),
            spec.sha256.clone(),
        );
        if seen.contains(&files) {
            continue;
        }
        seen.push(files);
        let opts = crate::fetch::FetchOptions {
            sha256_by_url: spec.sha256.clone(),
            ..Default::default()
        };
        // Its own flag: a failed fetch sets it to stop its other transfer.
        let stop = AtomicBool::new(cancel.load(std::sync::atomic::Ordering::Relaxed));
        let result = crate::boot::payload::fetch_payload(&spec, &opts, &stop, &|_| {})
            .map_err(|e| crate::boot::prepare::pin_failure(&spec, e))
            .and_then(|payload| crate::boot::prepare::check_signed(&spec, &payload, &trust, &stop));
        match result {
            Ok(k) => println!("ok    entry '{}': signed by key {k}", e.id),
            Err(why) => {
                failures += 1;
                println!("FAIL  entry '{}': {why}", e.id);
            }
        }
    }
    match failures {
        0 => Ok(()),
        n => Err(format!(
            "{n} of the checks above failed: those entries would not boot under kboot.verify=require"
        )),
    }
}
