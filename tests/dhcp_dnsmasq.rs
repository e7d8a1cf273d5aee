//! Integration test: kboot's DHCP client against a real dnsmasq, across a veth pair between
//! two throw-away network namespaces. Needs root and /usr/sbin/dnsmasq.
//!
//! Only 192.0.2.0/24 (TEST-NET-1) is used, and both ends live in their own namespaces, so
//! no packet reaches the host's networks. Namespaces and dnsmasq are removed by a Drop
//! guard even when an assertion fails.

#[path = "support/netns.rs"]
mod netns;
use netns::{in_netns, output, sh};
use std::fs::File;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const DNSMASQ: &str = "/usr/sbin/dnsmasq";

/// Everything the test created; removed on drop.
struct Lab {
    id: String,
    dir: PathBuf,
    dnsmasq: Option<Child>,
}

impl Lab {
    fn srv_ns(&self) -> String {
        format!("kbt-{}-srv", self.id)
    }
    fn cli_ns(&self) -> String {
        format!("kbt-{}-cli", self.id)
    }
    fn srv_if(&self) -> String {
        format!("kbt-{}-s", self.id)
    }
    fn cli_if(&self) -> String {
        format!("kbt-{}-c", self.id)
    }

    fn new() -> Lab {
        // One lab per test; tests of this file run in parallel in one process.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("{:04x}{n}", std::process::id() & 0xffff);
        let dir = std::env::temp_dir().join(format!("kbt-{id}"));
        let lab = Lab {
            id,
            dir,
            dnsmasq: None,
        };
        let _ = std::fs::remove_dir_all(&lab.dir);
        std::fs::create_dir_all(&lab.dir).unwrap();
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
        sh(&["ip", "-n", &srv, "addr", "add", "192.0.2.1/24", "dev", &sif]);
        sh(&["ip", "-n", &srv, "link", "set", &sif, "up"]);
        lab
    }

    fn start_dnsmasq(&mut self) {
        let log = File::create(self.dir.join("dnsmasq.log")).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.srv_ns(), DNSMASQ])
            .args([
                "--no-daemon",
                "--conf-file=/dev/null",
                "--pid-file",
                "--port=0",
                "--log-dhcp",
                "--log-facility=-",
                "--leasefile-ro",
                // No ICMP probe of the address before offering (saves 3 s per run).
                "--no-ping",
                "--bind-interfaces",
            ])
            .arg(format!("--interface={}", self.srv_if()))
            .args([
                "--dhcp-range=192.0.2.50,192.0.2.60,255.255.255.0,1h",
                "--dhcp-option=3,192.0.2.1",
                "--dhcp-option=6,192.0.2.1",
                "--dhcp-option=15,lab.example",
                // Quotes on dnsmasq's command line are literal: none here.
                "--dhcp-option=17,192.0.2.1:/srv/nfsroot",
                // File, server name (sent as option 66 when requested) and siaddr.
                "--dhcp-boot=pxelinux.0,tftp.lab.example,192.0.2.1",
                "--dhcp-option=209,pxelinux.cfg/kboot",
                "--dhcp-option=210,http://192.0.2.1/boot/",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting dnsmasq failed: {e}"));
        self.dnsmasq = Some(child);
    }

    fn dnsmasq_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dnsmasq.log")).unwrap_or_default()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut c) = self.dnsmasq.take() {
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

#[test]
fn dhcp_against_dnsmasq() {
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
    let mut lab = Lab::new();
    lab.start_dnsmasq();
    // Give dnsmasq a moment to bind; the client's 1 s retransmission covers the rest.
    std::thread::sleep(Duration::from_millis(200));
    let cif = lab.cli_if();
    sh(&["ip", "-n", &lab.cli_ns(), "link", "set", &cif, "up"]);

    // 1. Query only: no configuration.
    let iface = cif.clone();
    let result = in_netns(&lab.cli_ns(), move || {
        let mut lines = Vec::new();
        let r = kboot::net::dhcp_on(&iface, false, &mut |l| lines.push(l));
        (r.map_err(|e| e.to_string()), lines)
    });
    let (lease, lines) = result;
    let lease = lease.unwrap_or_else(|e| panic!("DHCP failed: {e}\n{}", lab.dnsmasq_log()));
    let addr = lease.client.expect("lease has an address");
    assert!(
        (Ipv4Addr::new(192, 0, 2, 50)..=Ipv4Addr::new(192, 0, 2, 60)).contains(&addr),
        "{addr} not in the range"
    );
    assert_eq!(lease.iface, cif);
    assert_eq!(lease.netmask, Some(Ipv4Addr::new(255, 255, 255, 0)));
    assert_eq!(lease.gateway, Some(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(lease.dns, vec![Ipv4Addr::new(192, 0, 2, 1)]);
    assert_eq!(lease.domain.as_deref(), Some("lab.example"));
    assert_eq!(lease.server_id, Some(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(lease.next_server, Some(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(
        lease.tftp_server_name.as_deref(),
        Some("tftp.lab.example"),
        "{}",
        lab.dnsmasq_log()
    );
    assert_eq!(lease.boot_file.as_deref(), Some("pxelinux.0"));
    assert_eq!(lease.root_path.as_deref(), Some("192.0.2.1:/srv/nfsroot"));
    assert_eq!(lease.pxe_config_file.as_deref(), Some("pxelinux.cfg/kboot"));
    assert_eq!(
        lease.pxe_path_prefix.as_deref(),
        Some("http://192.0.2.1/boot/")
    );
    assert_eq!(lease.lease_time, Some(3600));
    assert!(
        lines
            .iter()
            .any(|l| l == &format!("{cif}: DHCP lease {addr}/24 from 192.0.2.1")),
        "{lines:?}"
    );
    let shown = output(&["ip", "-n", &lab.cli_ns(), "-4", "addr", "show", "dev", &cif]);
    assert!(!shown.contains("inet "), "query-only configured: {shown}");
    // The server saw our PXE vendor class.
    assert!(
        lab.dnsmasq_log().contains("PXEClient:Arch:"),
        "{}",
        lab.dnsmasq_log()
    );

    // 1b. A lease that was never configured (it lost the race to another link) is released
    // by broadcast, and the server takes it back.
    let unused = lease.clone();
    in_netns(&lab.cli_ns(), move || {
        kboot::net::dhcp4_socket::release_unconfigured(&unused).expect("release")
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !lab
        .dnsmasq_log()
        .contains(&format!("DHCPRELEASE({}) {addr}", lab.srv_if()))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "dnsmasq saw no release of {addr}:\n{}",
            lab.dnsmasq_log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // 2. Apply: address, default route and resolv.conf (a temporary path).
    let resolv = lab.dir.join("resolv.conf");
    let iface = cif.clone();
    let resolv2 = resolv.clone();
    let lease2 = in_netns(&lab.cli_ns(), move || {
        kboot::net::dhcp_on_at(&iface, true, &resolv2, &mut |_| {}).map_err(|e| e.to_string())
    })
    .unwrap_or_else(|e| panic!("DHCP with apply failed: {e}\n{}", lab.dnsmasq_log()));
    let addr2 = lease2.client.unwrap();
    let shown = output(&["ip", "-n", &lab.cli_ns(), "-4", "addr", "show", "dev", &cif]);
    assert!(
        shown.contains(&format!("inet {addr2}/24 brd 192.0.2.255")),
        "{shown}"
    );
    let routes = output(&["ip", "-n", &lab.cli_ns(), "-4", "route", "show", "default"]);
    assert!(routes.contains("default via 192.0.2.1"), "{routes}");
    let text = std::fs::read_to_string(&resolv).unwrap();
    assert!(text.contains("nameserver 192.0.2.1\n"), "{text}");
    assert!(text.contains("search lab.example\n"), "{text}");
}

#[test]
fn the_first_lease_wins_over_a_link_with_carrier_and_no_server() {
    // Two links in the client's namespace, both with carrier: `<id>-a` (sorted first) leads
    // to a namespace where nothing answers DHCP, `<id>-c` to dnsmasq. DHCP runs on both at
    // once, so the live link's lease ends the dead link's exchange instead of waiting for it
    // to give up (its retransmissions would take about 30 s).
    assert!(Path::new(DNSMASQ).exists(), "{DNSMASQ} is missing");
    let mut lab = Lab::new();
    let (cli, srv) = (lab.cli_ns(), lab.srv_ns());
    let dead = format!("kbt-{}-a", lab.id);
    let dead_peer = format!("kbt-{}-d", lab.id);
    sh(&[
        "ip", "link", "add", &dead, "netns", &cli, "type", "veth", "peer", "name", &dead_peer,
        "netns", &srv,
    ]);
    sh(&["ip", "-n", &srv, "link", "set", &dead_peer, "up"]);
    lab.start_dnsmasq();
    std::thread::sleep(Duration::from_millis(200));
    let resolv = lab.dir.join("resolv.conf");
    let started = std::time::Instant::now();
    let (result, lines) = in_netns(&cli, move || {
        let mut lines = Vec::new();
        let r = kboot::net::bring_up_at(None, &resolv, &mut |l| lines.push(l));
        (r.map_err(|e| e.to_string()), lines)
    });
    let took = started.elapsed();
    let lease = result.unwrap_or_else(|e| panic!("bring_up failed: {e}\n{lines:#?}"));
    let cif = lab.cli_if();
    assert_eq!(lease.iface, cif, "{lines:#?}");
    // Both links ran DHCP: the dead one had its carrier and sent a DISCOVER too.
    for link in [&dead, &cif] {
        assert!(
            lines.iter().any(|l| l == &format!("{link}: carrier")),
            "{link} was not tried: {lines:#?}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l == &format!("{cif}: lease first; stopping DHCP on the other links")),
        "{lines:#?}"
    );
    // The dead link was stopped, not given up on: no failure was reported for it.
    assert!(
        !lines.iter().any(|l| l.starts_with(&format!("{dead}: DHCP"))
            && (l.contains("failed") || l.contains("no offer"))),
        "{lines:#?}"
    );
    // Only the winner is configured.
    let shown = output(&["ip", "-n", &cli, "-4", "addr", "show", "dev", &dead]);
    assert!(
        !shown.contains("inet "),
        "the dead link got an address: {shown}"
    );
    let shown = output(&["ip", "-n", &cli, "-4", "addr", "show", "dev", &cif]);
    assert!(shown.contains("inet 192.0.2."), "{shown}");
    // Not a timing assertion: a sequential bring-up would have waited for the dead link's
    // whole exchange first (about 30 s), far beyond this bound on any machine.
    assert!(took < Duration::from_secs(20), "took {took:?}: {lines:#?}");
}
