//! Integration tests: DHCP + config discovery against real dnsmasq (DHCP and TFTP) across
//! veth pairs between throw-away network namespaces. Needs root and /usr/sbin/dnsmasq.
//!
//! Only 192.0.2.0/24 (TEST-NET-1) is used and every end lives in its own namespace, so no
//! packet reaches the host's networks. Namespaces, dnsmasq processes and temporary
//! directories are removed by a Drop guard even when an assertion fails.

#[path = "support/netns.rs"]
mod netns;
use netns::{in_netns, sh};
use std::fs::File;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use kboot::discovery::{self, ConfigKind, Found};
use kboot::net::Lease;

const DNSMASQ: &str = "/usr/sbin/dnsmasq";
const CLIENT_MAC: &str = "02:00:00:00:00:77";

/// Tests in this file run one at a time: on a loaded 2-core machine, parallel labs can delay
/// a second server's DHCPOFFER past the client's 300 ms offer window.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn preconditions() -> std::sync::MutexGuard<'static, ()> {
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    assert!(
        Path::new(DNSMASQ).exists(),
        "{DNSMASQ} is missing: apt-get install dnsmasq"
    );
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test creates network namespaces and must run as root"
    );
    guard
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A server namespace and a client namespace joined by a veth pair; optionally a bridge in
/// the server namespace with a second server namespace on it. Removed on drop.
struct Lab {
    id: String,
    dir: PathBuf,
    children: Vec<Child>,
    second: bool,
}

impl Lab {
    fn ns(&self, what: &str) -> String {
        format!("kbd-{}-{what}", self.id)
    }
    fn ifname(&self, what: &str) -> String {
        format!("kbd{}{what}", self.id)
    }
    fn srv(&self) -> String {
        self.ns("srv")
    }
    fn srv2(&self) -> String {
        self.ns("srv2")
    }
    fn cli(&self) -> String {
        self.ns("cli")
    }
    fn cif(&self) -> String {
        self.ifname("c")
    }
    /// The interface the first dnsmasq serves: the veth, or the bridge.
    fn srv_if(&self) -> String {
        if self.second {
            self.ifname("br")
        } else {
            self.ifname("s")
        }
    }

    fn new(second: bool) -> Lab {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let id = format!("{:04x}{n}", std::process::id() & 0xffff);
        let lab = Lab {
            dir: std::env::temp_dir().join(format!("kbd-{id}")),
            id,
            children: Vec::new(),
            second,
        };
        let _ = std::fs::remove_dir_all(&lab.dir);
        std::fs::create_dir_all(lab.dir.join("tftp")).unwrap();
        for ns in [lab.srv(), lab.srv2(), lab.cli()] {
            let _ = Command::new("ip").args(["netns", "del", &ns]).output();
        }
        let (srv, cli) = (lab.srv(), lab.cli());
        sh(&["ip", "netns", "add", &srv]);
        sh(&["ip", "netns", "add", &cli]);
        let (cif, sif) = (lab.cif(), lab.ifname("s"));
        sh(&[
            "ip", "link", "add", &cif, "address", CLIENT_MAC, "netns", &cli, "type", "veth",
            "peer", "name", &sif, "netns", &srv,
        ]);
        sh(&["ip", "-n", &srv, "link", "set", "lo", "up"]);
        sh(&["ip", "-n", &srv, "link", "set", &sif, "up"]);
        sh(&["ip", "-n", &cli, "link", "set", &cif, "up"]);
        if second {
            let (br, s2a, s2b, srv2) = (
                lab.ifname("br"),
                lab.ifname("x"),
                lab.ifname("y"),
                lab.srv2(),
            );
            sh(&["ip", "netns", "add", &srv2]);
            sh(&[
                "ip",
                "-n",
                &srv,
                "link",
                "add",
                &br,
                "type",
                "bridge",
                "forward_delay",
                "0",
            ]);
            sh(&["ip", "-n", &srv, "link", "set", &sif, "master", &br]);
            sh(&[
                "ip", "link", "add", &s2a, "netns", &srv, "type", "veth", "peer", "name", &s2b,
                "netns", &srv2,
            ]);
            sh(&["ip", "-n", &srv, "link", "set", &s2a, "master", &br]);
            sh(&["ip", "-n", &srv, "link", "set", &s2a, "up"]);
            sh(&["ip", "-n", &srv, "link", "set", &br, "up"]);
            sh(&["ip", "-n", &srv, "addr", "add", "192.0.2.1/24", "dev", &br]);
            sh(&["ip", "-n", &srv2, "link", "set", "lo", "up"]);
            sh(&[
                "ip",
                "-n",
                &srv2,
                "addr",
                "add",
                "192.0.2.2/24",
                "dev",
                &s2b,
            ]);
            sh(&["ip", "-n", &srv2, "link", "set", &s2b, "up"]);
            std::fs::create_dir_all(lab.dir.join("tftp2")).unwrap();
        } else {
            sh(&["ip", "-n", &srv, "addr", "add", "192.0.2.1/24", "dev", &sif]);
        }
        lab
    }

    /// A file under the (first) TFTP root.
    fn put(&self, root: &str, path: &str, text: &str) {
        let p = self.dir.join(root).join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// dnsmasq with DHCP and TFTP in namespace `ns` on `iface`, plus `extra` options.
    /// With `root`, dnsmasq also serves TFTP (and then sets siaddr to itself in every offer).
    fn dnsmasq(
        &mut self,
        ns: &str,
        iface: &str,
        root: Option<&str>,
        log_name: &str,
        extra: &[&str],
    ) {
        let log = File::create(self.dir.join(log_name)).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", ns, DNSMASQ])
            .args([
                "--no-daemon",
                "--conf-file=/dev/null",
                "--pid-file",
                "--port=0",
                "--log-dhcp",
                "--log-facility=-",
                "--leasefile-ro",
                "--no-ping",
                "--bind-interfaces",
                "--user=root",
            ])
            .arg(format!("--interface={iface}"))
            .args(root.map(|r| format!("--tftp-root={}", self.dir.join(r).display())))
            .args(root.map(|_| "--enable-tftp"))
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting dnsmasq failed: {e}"));
        self.children.push(child);
        self.wait_ready(log_name);
    }

    /// Wait until dnsmasq has bound its sockets (a fixed sleep is not enough when tests run
    /// in parallel on a loaded machine: a late second server misses the offer window).
    fn wait_ready(&self, log_name: &str) {
        let end = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < end {
            let text = std::fs::read_to_string(self.dir.join(log_name)).unwrap_or_default();
            if text.contains("sockets bound exclusively") {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("dnsmasq did not start within 10 s:\n{}", self.log());
    }

    /// The usual single server: 192.0.2.1 hands out .50-.60, DNS, boot file `pxelinux.0`.
    fn start(&mut self, extra: &[&str]) {
        self.start_with(Some("tftp"), extra);
    }

    fn start_with(&mut self, root: Option<&str>, extra: &[&str]) {
        let mut args = vec![
            "--dhcp-range=192.0.2.50,192.0.2.60,255.255.255.0,1h",
            "--dhcp-option=3,192.0.2.1",
            "--dhcp-option=6,192.0.2.1",
        ];
        args.extend_from_slice(extra);
        let (srv, sif) = (self.srv(), self.srv_if());
        self.dnsmasq(&srv, &sif, root, "dnsmasq.log", &args);
    }

    fn log(&self) -> String {
        let mut s = std::fs::read_to_string(self.dir.join("dnsmasq.log")).unwrap_or_default();
        if self.second {
            s.push_str("\n--- second server ---\n");
            s.push_str(&std::fs::read_to_string(self.dir.join("dnsmasq2.log")).unwrap_or_default());
        }
        s
    }

    /// DHCP (applied, so TFTP works) in the client namespace.
    fn dhcp(&self) -> Lease {
        let iface = self.cif();
        let resolv = self.dir.join("resolv.conf");
        let t0 = std::time::Instant::now();
        let (r, lines) = in_netns(&self.cli(), move || {
            let mut lines = Vec::new();
            let r = kboot::net::dhcp_on_at(&iface, true, &resolv, &mut |l| {
                lines.push(format!("{:?} {l}", t0.elapsed()))
            });
            (r.map_err(|e| e.to_string()), lines)
        });
        if std::env::var_os("KBD_VERBOSE").is_some() {
            eprintln!("{lines:#?}");
        }
        r.unwrap_or_else(|e| panic!("DHCP failed: {e}\n{lines:#?}\n{}", self.log()))
    }

    /// DHCP, then discovery through the real TFTP fetcher.
    fn discover(&self) -> (Lease, Option<Found>, Vec<String>) {
        let lease = self.dhcp();
        let l2 = lease.clone();
        let (found, log) = in_netns(&self.cli(), move || {
            let cancel = AtomicBool::new(false);
            let mut fetch = discovery::fetcher(&cancel);
            let mut log = Vec::new();
            let found = discovery::discover(&l2, None, None, &mut fetch, &mut |m| log.push(m));
            (found, log)
        });
        (lease, found, log)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in [self.srv(), self.srv2(), self.cli()] {
            let _ = Command::new("ip").args(["netns", "del", &ns]).output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const RESERVED: &str = "--dhcp-host=02:00:00:00:00:77,192.0.2.77";
const BOOT: &str = "--dhcp-boot=pxelinux.0,,192.0.2.1";
const PXE_BINARY: &str = "\u{1}\u{2}not a config: stands in for pxelinux.0\u{0}";

#[test]
fn reservation_by_mac_and_the_mac_file() {
    let _serial = preconditions();
    let mut lab = Lab::new(false);
    lab.put("tftp", "pxelinux.0", PXE_BINARY);
    lab.put("tftp", "pxelinux.cfg/01-02-00-00-00-00-77", "DEFAULT mac\n");
    lab.put("tftp", "pxelinux.cfg/default", "DEFAULT fallback\n");
    lab.start(&[RESERVED, BOOT]);
    let (lease, found, log) = lab.discover();
    assert_eq!(lease.client, Some(Ipv4Addr::new(192, 0, 2, 77)));
    let found = found.unwrap_or_else(|| panic!("{log:#?}\n{}", lab.log()));
    assert_eq!(
        found.url,
        "tftp://192.0.2.1/pxelinux.cfg/01-02-00-00-00-00-77"
    );
    assert_eq!(found.text.as_deref(), Some("DEFAULT mac\n"));
    assert_eq!(found.kind, Some(ConfigKind::Pxelinux));
    assert!(
        log.iter().any(|l| l.starts_with(
            "tftp://192.0.2.1/pxelinux.0: the boot file is a boot loader for the firmware (pxelinux.0), not a kernel; skipped without fetching it"
        )),
        "{log:#?}"
    );
}

#[test]
fn only_the_hex_ip_file() {
    let _serial = preconditions();
    let mut lab = Lab::new(false);
    // 192.0.2.77 = C000024D; the lookup shortens to C00002.
    lab.put("tftp", "pxelinux.cfg/C00002", "DEFAULT hex\n");
    lab.start(&[RESERVED, BOOT]);
    let (_, found, log) = lab.discover();
    let found = found.unwrap_or_else(|| panic!("{log:#?}\n{}", lab.log()));
    assert_eq!(found.url, "tftp://192.0.2.1/pxelinux.cfg/C00002");
    for miss in [
        "tftp://192.0.2.1/pxelinux.cfg/01-02-00-00-00-00-77: not found",
        "tftp://192.0.2.1/pxelinux.cfg/C000024D: not found",
        "tftp://192.0.2.1/pxelinux.cfg/C000024: not found",
    ] {
        assert!(log.contains(&miss.to_string()), "{miss}\n{log:#?}");
    }
    // The boot file pxelinux.0 is known by its name: not fetched (the server has none).
    assert!(
        log.iter()
            .any(|l| l.starts_with("tftp://192.0.2.1/pxelinux.0: the boot file is a boot loader")),
        "{log:#?}"
    );
    assert!(log.contains(&"pxelinux lookup: only the first file found is used".to_string()));
}

#[test]
fn only_default() {
    let _serial = preconditions();
    let mut lab = Lab::new(false);
    lab.put("tftp", "pxelinux.cfg/default", "DEFAULT d\n");
    lab.start(&[BOOT]);
    let (lease, found, log) = lab.discover();
    assert!(
        (Ipv4Addr::new(192, 0, 2, 50)..=Ipv4Addr::new(192, 0, 2, 60))
            .contains(&lease.client.unwrap())
    );
    let found = found.unwrap_or_else(|| panic!("{log:#?}\n{}", lab.log()));
    assert_eq!(found.url, "tftp://192.0.2.1/pxelinux.cfg/default");
    assert_eq!(found.text.as_deref(), Some("DEFAULT d\n"));
}

#[test]
fn option_209_full_url() {
    let _serial = preconditions();
    let mut lab = Lab::new(false);
    lab.put("tftp", "cfg/node.cfg", "#!ipxe\necho hi\n");
    lab.put("tftp", "pxelinux.cfg/default", "DEFAULT not-this-one\n");
    lab.start(&[BOOT, "--dhcp-option=209,tftp://192.0.2.1/cfg/node.cfg"]);
    let (lease, found, log) = lab.discover();
    assert_eq!(
        lease.pxe_config_file.as_deref(),
        Some("tftp://192.0.2.1/cfg/node.cfg")
    );
    let found = found.unwrap_or_else(|| panic!("{log:#?}\n{}", lab.log()));
    assert_eq!(found.url, "tftp://192.0.2.1/cfg/node.cfg");
    assert_eq!(found.kind, Some(ConfigKind::Ipxe));
    assert_eq!(
        log.last().unwrap(),
        "tftp://192.0.2.1/cfg/node.cfg: found an iPXE script (option 209 is a full URL)"
    );
}

#[test]
fn option_210_http_prefix_candidates() {
    let _serial = preconditions();
    let mut lab = Lab::new(false);
    lab.start(&[
        BOOT,
        "--dhcp-option=209,pxelinux.cfg/kboot",
        "--dhcp-option=210,http://192.0.2.1/boot/",
    ]);
    let lease = lab.dhcp();
    let c = discovery::candidates(&lease, None);
    assert_eq!(c[0].url, "http://192.0.2.1/boot/pxelinux.cfg/kboot");
    assert_eq!(c[0].why, "option 210 is a URL: 210 + 209");
    assert_eq!(c[1].url, "tftp://192.0.2.1/pxelinux.0");
    // 209 given: no pxelinux lookup.
    assert!(!c.iter().any(|c| c.why.starts_with("pxelinux lookup")));
    let g = discovery::grub_candidates(&lease, None);
    assert!(g
        .iter()
        .all(|g| g.url.starts_with("http://192.0.2.1/boot/grub.cfg")));
}

#[test]
fn kernel_boot_file_becomes_an_entry() {
    let _serial = preconditions();
    let mut lab = Lab::new(false);
    let mut k = vec![0u8; 0x400];
    k[0x202..0x206].copy_from_slice(b"HdrS");
    std::fs::create_dir_all(lab.dir.join("tftp/images")).unwrap();
    std::fs::write(lab.dir.join("tftp/images/vmlinuz"), &k).unwrap();
    lab.put("tftp", "kboot.conf", "default=x\nx='vmlinuz quiet'\n");
    lab.start(&["--dhcp-boot=images/vmlinuz,,192.0.2.1"]);
    let (_, found, log) = lab.discover();
    let found = found.unwrap_or_else(|| panic!("{log:#?}\n{}", lab.log()));
    assert_eq!(found.url, "tftp://192.0.2.1/kboot.conf");
    assert_eq!(found.kind, Some(ConfigKind::KbootConf));
    let e = found.kernel_entry.expect("kernel entry");
    assert_eq!(e.kernel.as_deref(), Some("tftp://192.0.2.1/images/vmlinuz"));
}

#[test]
fn two_servers_the_one_with_boot_information_wins() {
    let _serial = preconditions();
    let mut lab = Lab::new(true);
    // Server 1 (192.0.2.1): addresses only (no TFTP: dnsmasq with TFTP puts itself in siaddr,
    // which counts as boot information). Server 2 (192.0.2.2): addresses and boot info.
    lab.start_with(None, &[]);
    lab.put("tftp2", "pxelinux.cfg/default", "DEFAULT from-second\n");
    let (srv2, s2b) = (lab.srv2(), lab.ifname("y"));
    lab.dnsmasq(
        &srv2,
        &s2b,
        Some("tftp2"),
        "dnsmasq2.log",
        &[
            "--dhcp-range=192.0.2.100,192.0.2.110,255.255.255.0,1h",
            "--dhcp-boot=pxelinux.0,,192.0.2.2",
        ],
    );
    let (lease, found, log) = lab.discover();
    let text = lab.log();
    assert!(
        text.contains("DHCPOFFER") && text.contains("--- second server ---"),
        "{text}"
    );
    assert_eq!(
        lease.server_id,
        Some(Ipv4Addr::new(192, 0, 2, 2)),
        "{lease:?}\n{text}"
    );
    assert!(
        (Ipv4Addr::new(192, 0, 2, 100)..=Ipv4Addr::new(192, 0, 2, 110))
            .contains(&lease.client.unwrap())
    );
    let found = found.unwrap_or_else(|| panic!("{log:#?}\n{text}"));
    assert_eq!(found.url, "tftp://192.0.2.2/pxelinux.cfg/default");
}

#[test]
fn renew_by_unicast_and_release() {
    let _serial = preconditions();
    let mut lab = Lab::new(false);
    lab.start(&[RESERVED]);
    let mut lease = lab.dhcp();
    assert_eq!(lease.lease_time, Some(3600));
    // Pretend the lease is 4 s long: T1 after 2 s.
    lease.lease_time = Some(4);
    let l2 = lease.clone();
    let (result, lines) = in_netns(&lab.cli(), move || {
        let stop = AtomicBool::new(false);
        let mut r = kboot::net::dhcp4_renew::Renewal::new(l2, std::time::Instant::now(), 99);
        r.min_retransmit = Duration::from_millis(500);
        let mut lines = Vec::new();
        let res = kboot::net::renew_with(&mut r, &stop, &mut |l| {
            if l.contains("renewed") {
                stop.store(true, Ordering::Relaxed);
            }
            lines.push(l);
        });
        (res.map_err(|e| e.to_string()), lines)
    });
    let renewed = result.unwrap_or_else(|e| panic!("{e}\n{lines:#?}\n{}", lab.log()));
    assert_eq!(renewed.lease_time, Some(3600), "{lines:#?}");
    assert_eq!(renewed.client, Some(Ipv4Addr::new(192, 0, 2, 77)));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("renewing the lease on 192.0.2.77 with 192.0.2.1")),
        "{lines:#?}"
    );
    // dnsmasq saw a REQUEST from the bound address (unicast renewal), then our RELEASE.
    let l3 = renewed.clone();
    in_netns(&lab.cli(), move || {
        kboot::net::release(&l3).map_err(|e| e.to_string())
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let text = lab.log();
    assert!(text.contains("DHCPREQUEST("), "{text}");
    assert!(text.contains("DHCPRELEASE("), "{text}");
}

#[test]
fn static_ip_configures_the_interface_and_finds_the_config() {
    let _serial = preconditions();
    let mut lab = Lab::new(false);
    lab.put("tftp", "kboot.conf", "default=x\n");
    // TFTP only: no DHCP range, so only the static configuration can work.
    lab.start_with(Some("tftp"), &[]);
    let kboot::net::static_ip::IpConfig::Static(s) = kboot::net::static_ip::parse_ip_param(
        "192.0.2.88:192.0.2.1:192.0.2.1:255.255.255.0:node::off:192.0.2.1",
    )
    .unwrap() else {
        panic!("not static")
    };
    let (iface, resolv) = (lab.cif(), lab.dir.join("resolv.conf"));
    let (lease, found, log) = in_netns(&lab.cli(), move || {
        let lease = kboot::net::apply_static_at(&s, Some(&iface), &resolv, &mut |_| {})
            .map_err(|e| e.to_string())
            .unwrap();
        let cancel = AtomicBool::new(false);
        let mut fetch = discovery::fetcher(&cancel);
        let mut log = Vec::new();
        let found = discovery::discover(&lease, None, None, &mut fetch, &mut |m| log.push(m));
        (lease, found, log)
    });
    let out = Command::new("ip")
        .args(["-n", &lab.cli(), "-4", "addr", "show", "dev", &lab.cif()])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("inet 192.0.2.88/24"), "{shown}");
    assert_eq!(lease.next_server, Some(Ipv4Addr::new(192, 0, 2, 1)));
    let text = std::fs::read_to_string(lab.dir.join("resolv.conf")).unwrap();
    assert!(text.contains("nameserver 192.0.2.1"), "{text}");
    let found = found.unwrap_or_else(|| panic!("{log:#?}\n{}", lab.log()));
    assert_eq!(found.url, "tftp://192.0.2.1/kboot.conf");
}
