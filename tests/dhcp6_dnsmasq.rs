//! Integration test: kboot's IPv6 bring-up (SLAAC + DHCPv6) against a real dnsmasq, across a
//! veth pair between two throw-away network namespaces, then an HTTP download over IPv6 with
//! `kboot::fetch::fetch`. Needs root, /usr/sbin/dnsmasq and python3.
//!
//! Only 2001:db8::/32 (documentation prefix) and link-local addresses are used, and both ends
//! live in their own namespaces, so no packet reaches the host's networks. Namespaces and
//! servers are removed by a Drop guard even when an assertion fails.

#[path = "support/netns.rs"]
mod netns;
use netns::{in_netns, output, sh};
use std::fs::File;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use kboot::net::Lease6;

const DNSMASQ: &str = "/usr/sbin/dnsmasq";
const SERVER: &str = "2001:db8:1::1";
const HTTP_PORT: u16 = 8080;

/// Everything one case created; removed on drop.
struct Lab {
    id: String,
    dir: PathBuf,
    children: Vec<Child>,
}

impl Lab {
    fn srv_ns(&self) -> String {
        format!("kb6-{}-srv", self.id)
    }
    fn cli_ns(&self) -> String {
        format!("kb6-{}-cli", self.id)
    }
    fn srv_if(&self) -> String {
        format!("kb6-{}-s", self.id)
    }
    fn cli_if(&self) -> String {
        format!("kb6-{}-c", self.id)
    }

    fn new(tag: char) -> Lab {
        let id = format!("{:04x}{tag}", std::process::id() & 0xffff);
        let dir = std::env::temp_dir().join(format!("kb6-{id}"));
        let lab = Lab {
            id,
            dir,
            children: Vec::new(),
        };
        let _ = std::fs::remove_dir_all(&lab.dir);
        std::fs::create_dir_all(lab.dir.join("www")).unwrap();
        let (srv, cli, sif, cif) = (lab.srv_ns(), lab.cli_ns(), lab.srv_if(), lab.cli_if());
        // Leftovers from an aborted run with the same pid.
        let _ = Command::new("ip").args(["netns", "del", &srv]).output();
        let _ = Command::new("ip").args(["netns", "del", &cli]).output();
        sh(&["ip", "netns", "add", &srv]);
        sh(&["ip", "netns", "add", &cli]);
        sh(&[
            "ip", "link", "add", &cif, "netns", &cli, "type", "veth", "peer", "name", &sif,
            "netns", &srv,
        ]);
        sh(&["ip", "-n", &srv, "link", "set", "lo", "up"]);
        sh(&["ip", "-n", &cli, "link", "set", "lo", "up"]);
        sh(&[
            "ip",
            "-n",
            &srv,
            "addr",
            "add",
            &format!("{SERVER}/64"),
            "dev",
            &sif,
            "nodad",
        ]);
        // The server's link-local address is usable at once (no DAD): dnsmasq can only answer
        // the client's first router solicitation from it, and the kernel's next one comes 4 s
        // later, when kboot has stopped waiting for an RA (seen in CI on a loaded machine).
        sh(&[
            "ip",
            "netns",
            "exec",
            &srv,
            "sysctl",
            "-qw",
            &format!("net.ipv6.conf.{sif}.accept_dad=0"),
        ]);
        sh(&["ip", "-n", &srv, "link", "set", &sif, "up"]);
        lab
    }

    fn spawn(&mut self, log_name: &str, cmd: &[&str]) {
        let log = File::create(self.dir.join(log_name)).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.srv_ns()])
            .args(cmd)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {cmd:?} failed: {e}"));
        self.children.push(child);
    }

    fn start_dnsmasq(&mut self, range: &str) {
        let iface = format!("--interface={}", self.srv_if());
        let range = format!("--dhcp-range={range}");
        let url =
            format!("--dhcp-option=option6:bootfile-url,http://[{SERVER}]:{HTTP_PORT}/boot.ipxe");
        self.spawn(
            "dnsmasq.log",
            &[
                DNSMASQ,
                "--no-daemon",
                "--conf-file=/dev/null",
                "--pid-file",
                "--port=0",
                "--log-dhcp",
                "--log-facility=-",
                "--leasefile-ro",
                "--bind-interfaces",
                &iface,
                "--enable-ra",
                &range,
                &url,
                "--dhcp-option=option6:bootfile-param,console=ttyS0",
                &format!("--dhcp-option=option6:dns-server,[{SERVER}]"),
                "--dhcp-option=option6:domain-search,lab.example",
            ],
        );
        // The client starts only once dnsmasq advertises, so its first solicitation is answered.
        let end = Instant::now() + Duration::from_secs(10);
        while !self
            .log("dnsmasq.log")
            .contains("router advertisement enabled")
        {
            assert!(
                Instant::now() < end,
                "dnsmasq did not start within 10 s:\n{}",
                self.log("dnsmasq.log")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn start_http(&mut self) {
        std::fs::write(self.dir.join("www/boot.ipxe"), BOOT_SCRIPT).unwrap();
        let www = self.dir.join("www").display().to_string();
        let port = HTTP_PORT.to_string();
        self.spawn(
            "http.log",
            &[
                "python3",
                "-m",
                "http.server",
                "--bind",
                SERVER,
                "--directory",
                &www,
                &port,
            ],
        );
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.srv_ns()])
            .output();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.cli_ns()])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const BOOT_SCRIPT: &str =
    "#!ipxe\nkernel http://[2001:db8:1::1]:8080/vmlinuz console=ttyS0\nboot\n";

fn preconditions() {
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
}

fn bring_up(lab: &Lab) -> (Lease6, Vec<String>, PathBuf) {
    let iface = lab.cli_if();
    let resolv = lab.dir.join("resolv.conf");
    std::fs::write(&resolv, "nameserver 192.0.2.1\n").unwrap();
    let r2 = resolv.clone();
    let (lease, lines) = in_netns(&lab.cli_ns(), move || {
        let mut lines = Vec::new();
        let r = kboot::net::bring_up_v6_at(&iface, Some(&r2), &mut |l| lines.push(l));
        (r.map_err(|e| e.to_string()), lines)
    });
    let lease = lease.unwrap_or_else(|e| {
        panic!(
            "IPv6 bring-up failed: {e}\n{lines:#?}\n{}",
            lab.log("dnsmasq.log")
        )
    });
    (lease, lines, resolv)
}

fn fetch_in(lab: &Lab, url: &str) -> Result<Vec<u8>, String> {
    let url = url.to_string();
    in_netns(&lab.cli_ns(), move || {
        let mut body = Vec::new();
        // python's http.server may need a moment to bind: retry for up to 5 s.
        let end = Instant::now() + Duration::from_secs(5);
        loop {
            body.clear();
            let r = kboot::fetch::fetch(
                &url,
                &mut body,
                &kboot::fetch::FetchOptions::default(),
                &mut |_| {},
                &AtomicBool::new(false),
            );
            match r {
                Ok(_) => return Ok(body),
                Err(e) if Instant::now() >= end => return Err(e.to_string()),
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    })
}

fn in_subnet(a: &Ipv6Addr) -> bool {
    a.segments()[..4] == [0x2001, 0xdb8, 1, 0]
}

#[test]
fn stateful_dhcpv6_and_http_over_ipv6() {
    preconditions();
    let mut lab = Lab::new('a');
    lab.start_dnsmasq("2001:db8:1::100,2001:db8:1::1ff,64,1h");
    lab.start_http();
    let (lease, lines, resolv) = bring_up(&lab);
    let cif = lab.cli_if();
    assert_eq!(lease.iface, cif);
    assert!(
        lines.iter().any(|l| l.contains("M flag: stateful")),
        "{lines:#?}"
    );
    let leased: Vec<&Ipv6Addr> = lease
        .addresses
        .iter()
        .filter(|a| {
            let s = a.segments();
            in_subnet(a) && s[4..7] == [0, 0, 0] && (0x100..=0x1ff).contains(&s[7])
        })
        .collect();
    assert_eq!(leased.len(), 1, "{lease:?}\n{lines:#?}");
    let shown = output(&["ip", "-n", &lab.cli_ns(), "-6", "addr", "show", "dev", &cif]);
    assert!(
        shown.contains(&format!("inet6 {}/128", leased[0])),
        "{shown}"
    );
    assert_eq!(
        lease.boot_file_url.as_deref(),
        Some("http://[2001:db8:1::1]:8080/boot.ipxe"),
        "{}",
        lab.log("dnsmasq.log")
    );
    assert_eq!(lease.boot_file_params, vec!["console=ttyS0"]);
    assert_eq!(lease.dns, vec![SERVER.parse::<Ipv6Addr>().unwrap()]);
    assert_eq!(lease.domain_search, vec!["lab.example"]);
    let text = std::fs::read_to_string(&resolv).unwrap();
    assert!(text.contains("nameserver 192.0.2.1\n"), "{text}");
    assert!(text.contains("nameserver 2001:db8:1::1\n"), "{text}");
    assert!(text.contains("search lab.example\n"), "{text}");
    // The server saw our PXE vendor class (enterprise 343) and the ORO.
    let log = lab.log("dnsmasq.log");
    assert!(log.contains("vendor class: 343"), "{log}");
    assert!(log.contains("59:bootfile-url"), "{log}");

    // Discovery's first candidate is option 59, and it downloads over IPv6.
    let cands = kboot::discovery::v6_candidates(&lease);
    assert_eq!(cands[0].url, "http://[2001:db8:1::1]:8080/boot.ipxe");
    let body = fetch_in(&lab, &cands[0].url)
        .unwrap_or_else(|e| panic!("fetch failed: {e}\n{}", lab.log("http.log")));
    assert_eq!(body, BOOT_SCRIPT.as_bytes());
    // A missing file is an HTTP 404, not a network error.
    let miss = fetch_in(&lab, "http://[2001:db8:1::1]:8080/nope").unwrap_err();
    assert!(miss.contains("404"), "{miss}");
}

#[test]
fn stateless_dhcpv6_with_slaac() {
    preconditions();
    let mut lab = Lab::new('b');
    lab.start_dnsmasq(&format!(
        "::,constructor:{},ra-stateless,64,1h",
        lab.srv_if()
    ));
    let (lease, lines, _) = bring_up(&lab);
    // Normally the RA (O flag) arrives within 6 s and kboot goes stateless at once; on a
    // loaded machine dnsmasq's RA can come late, and kboot then tries SOLICIT (refused:
    // stateless server) and falls back to an INFORMATION-REQUEST. Either way it must end
    // stateless, with the SLAAC address and option 59.
    assert!(
        lines.iter().any(|l| l.contains("O flag: stateless"))
            || lines.iter().any(|l| l.contains("asking for options only")),
        "{lines:#?}\n{}",
        lab.log("dnsmasq.log")
    );
    // The address comes from SLAAC (EUI-64 or stable-privacy interface id), not DHCPv6.
    assert!(!lease.addresses.is_empty(), "{lease:?}");
    assert!(lease.addresses.iter().all(in_subnet), "{lease:?}");
    assert_eq!(
        lease.boot_file_url.as_deref(),
        Some("http://[2001:db8:1::1]:8080/boot.ipxe"),
        "{lines:#?}\n{}",
        lab.log("dnsmasq.log")
    );
    assert_eq!(lease.dns, vec![SERVER.parse::<Ipv6Addr>().unwrap()]);
}

#[test]
fn v6_candidates_order() {
    let lease = Lease6 {
        iface: "eth0".into(),
        boot_file_url: Some("tftp://[fec0:0000:0000:0000:0000:0000:0000:0002]/boot/pxe.cfg".into()),
        ..Lease6::default()
    };
    let c: Vec<String> = kboot::discovery::v6_candidates(&lease)
        .into_iter()
        .map(|c| c.url)
        .collect();
    assert_eq!(
        c,
        vec![
            "tftp://[fec0:0000:0000:0000:0000:0000:0000:0002]/boot/pxe.cfg",
            "tftp://[fec0:0000:0000:0000:0000:0000:0000:0002]/boot/pxelinux.cfg/default",
            "tftp://[fec0:0000:0000:0000:0000:0000:0000:0002]/boot/kboot.conf",
        ]
    );
    assert!(kboot::discovery::v6_candidates(&Lease6::default()).is_empty());
    let not_url = Lease6 {
        boot_file_url: Some("boot.ipxe".into()),
        ..Lease6::default()
    };
    assert!(kboot::discovery::v6_candidates(&not_url).is_empty());
}
