use super::*;
use std::collections::HashMap;

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// QEMU user networking: guest 10.0.2.15, host (DHCP, TFTP) 10.0.2.2.
fn qemu() -> Lease {
    Lease {
        iface: "eth0".into(),
        mac: [0x52, 0x54, 0x00, 0x12, 0x34, 0x56],
        client: Some(ip("10.0.2.15")),
        netmask: Some(ip("255.255.255.0")),
        server_id: Some(ip("10.0.2.2")),
        next_server: Some(ip("10.0.2.2")),
        boot_file: Some("pxelinux.0".into()),
        ..Lease::default()
    }
}

fn urls(c: &[Candidate]) -> Vec<&str> {
    c.iter().map(|c| c.url.as_str()).collect()
}

#[test]
fn plain_pxelinux_order() {
    let c = candidates(&qemu(), Some("4C4C4544-0042-3510-8052-B3C04F4E4D32"));
    assert_eq!(
        urls(&c),
        vec![
            "tftp://10.0.2.2/pxelinux.0",
            "tftp://10.0.2.2/pxelinux.cfg/4c4c4544-0042-3510-8052-b3c04f4e4d32",
            "tftp://10.0.2.2/pxelinux.cfg/01-52-54-00-12-34-56",
            "tftp://10.0.2.2/pxelinux.cfg/0A00020F",
            "tftp://10.0.2.2/pxelinux.cfg/0A00020",
            "tftp://10.0.2.2/pxelinux.cfg/0A0002",
            "tftp://10.0.2.2/pxelinux.cfg/0A000",
            "tftp://10.0.2.2/pxelinux.cfg/0A00",
            "tftp://10.0.2.2/pxelinux.cfg/0A0",
            "tftp://10.0.2.2/pxelinux.cfg/0A",
            "tftp://10.0.2.2/pxelinux.cfg/0",
            "tftp://10.0.2.2/pxelinux.cfg/default",
            "tftp://10.0.2.2/kboot.conf",
        ]
    );
    assert_eq!(c[0].why, "boot file (option 67)");
    assert_eq!(c[1].why, "pxelinux lookup: UUID");
    assert_eq!(c[2].why, "pxelinux lookup: MAC");
    assert_eq!(c[3].why, "pxelinux lookup: IP 0A00020F");
    assert_eq!(c[11].why, "pxelinux lookup: default");
    assert_eq!(c[12].why, "kboot.conf at the TFTP root");
}

#[test]
fn netboot_md_hex_example() {
    let mut l = qemu();
    l.client = Some(ip("192.168.0.10"));
    let c = candidates(&l, None);
    let hex: Vec<&str> = c
        .iter()
        .filter(|c| c.why.starts_with("pxelinux lookup: IP"))
        .map(|c| c.url.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(
        hex,
        vec!["C0A8000A", "C0A8000", "C0A800", "C0A80", "C0A8", "C0A", "C0", "C"]
    );
    // A malformed UUID is left out rather than guessed at.
    assert!(!candidates(&l, Some("nonsense"))
        .iter()
        .any(|c| c.why.contains("UUID")));
}

#[test]
fn option_209_full_url_wins_and_stops_the_pxelinux_lookup() {
    let mut l = qemu();
    l.pxe_config_file = Some("tftp://192.0.2.9/cfg/node7.cfg".into());
    let c = candidates(&l, None);
    assert_eq!(
        urls(&c),
        vec![
            "tftp://192.0.2.9/cfg/node7.cfg",
            "tftp://10.0.2.2/pxelinux.0",
            "tftp://10.0.2.2/kboot.conf"
        ]
    );
    assert_eq!(c[0].why, "option 209 is a full URL");
}

#[test]
fn option_210_http_forces_http() {
    let mut l = qemu();
    l.pxe_config_file = Some("pxelinux.cfg/kboot".into());
    l.pxe_path_prefix = Some("http://192.0.2.1/boot".into());
    let c = candidates(&l, None);
    assert_eq!(c[0].url, "http://192.0.2.1/boot/pxelinux.cfg/kboot");
    assert_eq!(c[0].why, "option 210 is a URL: 210 + 209");
    // Without 209 the pxelinux lookup runs under the HTTP prefix.
    l.pxe_config_file = None;
    let c = candidates(&l, None);
    assert_eq!(
        c[1].url,
        "http://192.0.2.1/boot/pxelinux.cfg/01-52-54-00-12-34-56"
    );
    let g = grub_candidates(&l, None);
    assert_eq!(
        g[0].url,
        "http://192.0.2.1/boot/grub.cfg-01-52-54-00-12-34-56"
    );
}

#[test]
fn host_precedence_and_prefixes() {
    let mut l = qemu();
    l.tftp_server_name = Some("boot.example".into());
    l.boot_file = Some("/boot/x86/pxelinux.0".into());
    l.pxe_config_file = Some("cfg/kboot".into());
    let c = candidates(&l, None);
    assert_eq!(c[0].url, "tftp://boot.example/boot/x86/cfg/kboot");
    assert_eq!(c[0].why, "option 209 under the boot file's directory");
    assert_eq!(c[1].url, "tftp://boot.example/boot/x86/pxelinux.0");
    // 210 relative (pxelinux concatenates; we add the missing slash).
    l.pxe_path_prefix = Some("/srv/pxe".into());
    assert_eq!(
        candidates(&l, None)[0].url,
        "tftp://boot.example/srv/pxe/cfg/kboot"
    );
    // 66 not a host name → siaddr; no siaddr → server id.
    l.tftp_server_name = Some("bad name/".into());
    l.pxe_path_prefix = None;
    assert_eq!(
        candidates(&l, None)[0].url,
        "tftp://10.0.2.2/boot/x86/cfg/kboot"
    );
    l.next_server = Some(Ipv4Addr::UNSPECIFIED);
    l.server_id = Some(ip("10.0.2.3"));
    assert_eq!(
        candidates(&l, None)[0].url,
        "tftp://10.0.2.3/boot/x86/cfg/kboot"
    );
    // pxelinux's "::" means absolute from the root.
    l.pxe_config_file = Some("::top.cfg".into());
    assert_eq!(candidates(&l, None)[0].url, "tftp://10.0.2.3/top.cfg");
}

#[test]
fn boot_file_url_gives_its_directory() {
    let mut l = qemu();
    l.boot_file = Some("http://192.0.2.1/efi/ipxe.efi".into());
    let c = candidates(&l, None);
    assert_eq!(c[0].url, "http://192.0.2.1/efi/ipxe.efi");
    assert_eq!(
        c[1].url,
        "http://192.0.2.1/efi/pxelinux.cfg/01-52-54-00-12-34-56"
    );
    l.boot_file = Some("http://192.0.2.1".into());
    assert_eq!(
        candidates(&l, None)[1].url,
        "tftp://10.0.2.2/pxelinux.cfg/01-52-54-00-12-34-56"
    );
}

#[test]
fn no_server_no_candidates() {
    let l = Lease {
        mac: [2, 0, 0, 0, 0, 1],
        client: Some(ip("192.0.2.7")),
        ..Lease::default()
    };
    assert!(candidates(&l, None).is_empty());
    assert!(grub_candidates(&l, None).is_empty());
}

#[test]
fn grub_lookup() {
    let mut l = qemu();
    l.boot_file = Some("grub/x86_64-efi/core.efi".into());
    let g = grub_candidates(&l, Some("4c4c4544-0042-3510-8052-b3c04f4e4d32"));
    // GRUB's prefix (grub/, above the platform folder) first, then the boot file's folder.
    let names = [
        "grub.cfg-4c4c4544-0042-3510-8052-b3c04f4e4d32",
        "grub.cfg-01-52-54-00-12-34-56",
        "grub.cfg-0A00020F",
        "grub.cfg-0A00020",
        "grub.cfg-0A0002",
        "grub.cfg-0A000",
        "grub.cfg-0A00",
        "grub.cfg-0A0",
        "grub.cfg-0A",
        "grub.cfg-0",
        "grub.cfg",
    ];
    let parent: Vec<String> = names
        .iter()
        .map(|n| format!("tftp://10.0.2.2/grub/{n}"))
        .collect();
    assert_eq!(urls(&g)[..names.len()], parent);
    assert_eq!(
        urls(&g)[names.len()..],
        vec![
            "tftp://10.0.2.2/grub/x86_64-efi/grub.cfg-4c4c4544-0042-3510-8052-b3c04f4e4d32",
            "tftp://10.0.2.2/grub/x86_64-efi/grub.cfg-01-52-54-00-12-34-56",
            "tftp://10.0.2.2/grub/x86_64-efi/grub.cfg-0A00020F",
            "tftp://10.0.2.2/grub/x86_64-efi/grub.cfg-0A00020",
            "tftp://10.0.2.2/grub/x86_64-efi/grub.cfg-0A0002",
            "tftp://10.0.2.2/grub/x86_64-efi/grub.cfg-0A000",
            "tftp://10.0.2.2/grub/x86_64-efi/grub.cfg-0A00",
            "tftp://10.0.2.2/grub/x86_64-efi/grub.cfg-0A0",
            "tftp://10.0.2.2/grub/x86_64-efi/grub.cfg-0A",
            "tftp://10.0.2.2/grub/x86_64-efi/grub.cfg-0",
            "tftp://10.0.2.2/grub/x86_64-efi/grub.cfg",
        ]
    );
}

fn bzimage() -> Vec<u8> {
    let mut b = vec![0u8; 0x400];
    b[0] = b'M';
    b[1] = b'Z';
    b[0x202..0x206].copy_from_slice(b"HdrS");
    b
}

#[test]
fn kernel_sniffing() {
    assert!(looks_like_kernel(&bzimage()));
    assert!(looks_like_kernel(b"\x7fELF\x02\x01\x01"));
    let mut arm = vec![0u8; 0x40];
    arm[0x38..0x3c].copy_from_slice(b"ARM\x64");
    assert!(looks_like_kernel(&arm));
    let mut zboot = b"MZ\0\0zimg".to_vec();
    zboot.resize(64, 0);
    assert!(looks_like_kernel(&zboot));
    // ipxe.efi / grubx64.efi: PE without a Linux magic.
    let mut pe = vec![0u8; 0x400];
    pe[..2].copy_from_slice(b"MZ");
    assert!(!looks_like_kernel(&pe));
    assert!(!looks_like_kernel(b""));
    assert!(!looks_like_kernel(&bzimage()[..0x204]));
    assert!(!looks_like_kernel(b"DEFAULT linux\n"));
}

#[test]
fn config_sniffing() {
    assert_eq!(
        config_kind(b"#!ipxe\ndhcp\nchain x\n"),
        Some(ConfigKind::Ipxe)
    );
    assert_eq!(
        config_kind(b"\n# generated\nDEFAULT menu.c32\nLABEL a\n"),
        Some(ConfigKind::Pxelinux)
    );
    assert_eq!(
        config_kind(b"set timeout=5\nmenuentry 'x' {\n}\n"),
        Some(ConfigKind::Grub)
    );
    assert_eq!(
        config_kind(b"default=linux\nlinux='tftp://h/k quiet'\n"),
        Some(ConfigKind::KbootConf)
    );
    assert_eq!(config_kind(b"\x7fELF\0\0"), None);
    assert_eq!(config_kind(&bzimage()), None);
    assert_eq!(config_kind(b"<html><body>404</body></html>"), None);
    assert_eq!(config_kind(b""), None);
    assert_eq!(config_kind(b"   \n\n"), None);
    assert_eq!(config_kind(b"\x1b[2J hello"), None);
}

/// A fake server: files by URL; hosts in `down` time out.
struct Fake {
    files: HashMap<String, Vec<u8>>,
    down: Vec<String>,
    tried: Vec<String>,
}

impl Fake {
    fn new(files: &[(&str, &[u8])]) -> Fake {
        Fake {
            files: files
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_vec()))
                .collect(),
            down: Vec::new(),
            tried: Vec::new(),
        }
    }
    fn get(&mut self, url: &str) -> Result<Vec<u8>, Miss> {
        self.tried.push(url.to_string());
        if self.down.iter().any(|d| url.starts_with(d.as_str())) {
            return Err(Miss::Unreachable("no answer after 5 tries".into()));
        }
        self.files
            .get(url)
            .cloned()
            .ok_or_else(|| Miss::NotFound("not found".into()))
    }
}

fn run(l: &Lease, f: &mut Fake) -> (Option<Found>, Vec<String>) {
    run_on(l, f, None)
}

/// `run` on a kernel whose `/proc/version` is `running`.
fn run_on(l: &Lease, f: &mut Fake, running: Option<&str>) -> (Option<Found>, Vec<String>) {
    let mut log = Vec::new();
    let found = discover(l, None, running, &mut |u| f.get(u), &mut |m| log.push(m));
    (found, log)
}

#[test]
fn discover_takes_the_first_pxelinux_file() {
    let mut f = Fake::new(&[
        ("tftp://10.0.2.2/pxelinux.0", b"\xeb\x1e\0\0PXE binary"),
        ("tftp://10.0.2.2/pxelinux.cfg/0A0002", b"DEFAULT a\n"),
        ("tftp://10.0.2.2/pxelinux.cfg/default", b"DEFAULT b\n"),
    ]);
    let (found, log) = run(&qemu(), &mut f);
    let found = found.unwrap();
    assert_eq!(found.url, "tftp://10.0.2.2/pxelinux.cfg/0A0002");
    assert_eq!(found.text.as_deref(), Some("DEFAULT a\n"));
    assert_eq!(found.kind, Some(ConfigKind::Pxelinux));
    assert_eq!(found.kernel_entry, None);
    assert!(
        log.contains(&"tftp://10.0.2.2/pxelinux.cfg/01-52-54-00-12-34-56: not found".to_string())
    );
    assert!(log.contains(&"pxelinux lookup: only the first file found is used".to_string()));
    assert!(log.iter().any(|l| l.starts_with(
        "tftp://10.0.2.2/pxelinux.0: the boot file is a boot loader for the firmware (pxelinux.0), not a kernel; skipped without fetching it"
    )));
    assert!(!f.tried.contains(&"tftp://10.0.2.2/pxelinux.0".to_string()));
    assert_eq!(
        log.last().unwrap(),
        "tftp://10.0.2.2/pxelinux.cfg/0A0002: found a pxelinux config (pxelinux lookup: IP 0A0002)"
    );
    assert!(!f
        .tried
        .contains(&"tftp://10.0.2.2/pxelinux.cfg/default".to_string()));
}

#[test]
fn discover_boot_file_as_config_or_kernel() {
    let mut l = qemu();
    l.boot_file = Some("boot.ipxe".into());
    let mut f = Fake::new(&[("tftp://10.0.2.2/boot.ipxe", b"#!ipxe\nboot\n")]);
    let (found, _) = run(&l, &mut f);
    assert_eq!(found.unwrap().kind, Some(ConfigKind::Ipxe));
    assert_eq!(f.tried.len(), 1);

    // A kernel boot file plus a config: both come back.
    l.boot_file = Some("images/vmlinuz".into());
    let k = bzimage();
    let mut f = Fake::new(&[
        ("tftp://10.0.2.2/images/vmlinuz", &k),
        ("tftp://10.0.2.2/kboot.conf", b"default=x\n"),
    ]);
    let (found, log) = run(&l, &mut f);
    let found = found.unwrap();
    assert_eq!(found.url, "tftp://10.0.2.2/kboot.conf");
    assert_eq!(found.kind, Some(ConfigKind::KbootConf));
    let e = found.kernel_entry.unwrap();
    assert_eq!(e.kernel.as_deref(), Some("tftp://10.0.2.2/images/vmlinuz"));
    assert_eq!(e.title, "vmlinuz (boot file from DHCP)");
    assert!(log.iter().any(|l| l.contains("is a kernel")), "{log:?}");

    // Only the kernel.
    let mut f = Fake::new(&[("tftp://10.0.2.2/images/vmlinuz", &k)]);
    let (found, log) = run(&l, &mut f);
    let found = found.unwrap();
    assert_eq!(found.text, None);
    assert_eq!(found.url, "tftp://10.0.2.2/images/vmlinuz");
    assert!(found.kernel_entry.is_some());
    assert_eq!(
        log.last().unwrap(),
        "no config found; the kernel boot file is the only entry"
    );
}

#[test]
fn discover_skips_an_unreachable_server() {
    let mut l = qemu();
    l.pxe_config_file = Some("tftp://192.0.2.99/x.cfg".into());
    let mut f = Fake::new(&[("tftp://10.0.2.2/pxelinux.cfg/default", b"DEFAULT x\n")]);
    f.down = vec!["tftp://10.0.2.2/".into()];
    let (found, log) = run(&l, &mut f);
    assert_eq!(found, None);
    // 209 (not found), then the boot file times out: nothing else on 10.0.2.2 is tried.
    // pxelinux.0 is known by its name and not fetched.
    assert_eq!(
        f.tried,
        vec!["tftp://192.0.2.99/x.cfg", "tftp://10.0.2.2/kboot.conf"]
    );
    assert!(log
        .iter()
        .any(|l| l.ends_with("skipping the other candidates on tftp://10.0.2.2")));
}

#[test]
fn discover_logs_root_path_and_falls_back_to_grub() {
    let mut l = qemu();
    l.root_path = Some("iscsi:192.0.2.1::::iqn.2010-04.org.example:disk".into());
    let mut f = Fake::new(&[("tftp://10.0.2.2/grub.cfg", b"menuentry 'x' {\n}\n")]);
    let (found, log) = run(&l, &mut f);
    assert_eq!(found.unwrap().kind, Some(ConfigKind::Grub));
    assert!(log[0].starts_with("option 17 root-path \"iscsi:192.0.2.1"));
    let none = Lease::default();
    let (found, log) = run(&none, &mut Fake::new(&[]));
    assert_eq!(found, None);
    assert_eq!(log.len(), 1);
}

#[test]
fn uuid_formatting() {
    assert_eq!(
        uuid_string(&[
            0x4c, 0x4c, 0x45, 0x44, 0x00, 0x42, 0x35, 0x10, 0x80, 0x52, 0xb3, 0xc0, 0x4f, 0x4e,
            0x4d, 0x32
        ]),
        "4c4c4544-0042-3510-8052-b3c04f4e4d32"
    );
}

#[test]
fn firmware_boot_loaders_are_known_by_name() {
    for n in [
        "grubx64.efi",
        "GRUBAA64.EFI",
        "grubnetx64.efi",
        "boot/grub/x86_64-efi/core.efi",
        "shimx64.efi",
        "ipxe.efi",
        "snponly.efi",
        "undionly.kpxe",
        "ipxe.pxe",
        "pxelinux.0",
        "lpxelinux.0",
        "boot/grub/i386-pc/core.0",
        "syslinux.efi",
    ] {
        assert!(pxe_program_name(n), "{n}");
    }
    // bootx64.efi may be anything (kboot itself, a kernel); kernels and configs are fetched.
    for n in [
        "bootx64.efi",
        "BOOTAA64.EFI",
        "vmlinuz",
        "kboot.bzImage",
        "boot.ipxe",
        "grub.cfg",
        "linux.efi",
        "",
    ] {
        assert!(!pxe_program_name(n), "{n}");
    }
}

#[test]
fn an_efi_boot_file_leads_to_the_grub_cfg_beside_it() {
    let mut l = qemu();
    l.boot_file = Some("efi/grubx64.efi".into());
    let mut f = Fake::new(&[("tftp://10.0.2.2/efi/grub.cfg", b"menuentry 'x' {\n}\n")]);
    let (found, log) = run(&l, &mut f);
    let found = found.unwrap();
    assert_eq!(found.url, "tftp://10.0.2.2/efi/grub.cfg");
    assert_eq!(found.kind, Some(ConfigKind::Grub));
    assert!(
        !f.tried.iter().any(|u| u.ends_with(".efi")),
        "{:?}",
        f.tried
    );
    assert!(log
        .iter()
        .any(|m| m.contains("grubx64.efi") && m.contains("skipped")));

    // grub-mknetdir's layout: core.efi in boot/grub/x86_64-efi/, grub.cfg in boot/grub/.
    l.boot_file = Some("boot/grub/x86_64-efi/core.efi".into());
    let mut f = Fake::new(&[(
        "tftp://10.0.2.2/boot/grub/grub.cfg",
        b"menuentry 'x' {\n}\n",
    )]);
    let (found, _) = run(&l, &mut f);
    assert_eq!(found.unwrap().url, "tftp://10.0.2.2/boot/grub/grub.cfg");
}

#[test]
fn kboot_refuses_its_own_image_as_boot_file() {
    const PROC: &str = "Linux version 6.1.192-kboot (root@vm) (gcc (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #10 Sun Dec  6 13:05:05 UTC 2026\n";
    let mut me = bzimage();
    me[0x206..0x208].copy_from_slice(&0x020fu16.to_le_bytes());
    me[0x20e..0x210].copy_from_slice(&0x100u16.to_le_bytes());
    let v = b"6.1.192-kboot (root@vm) #10 Sun Dec  6 13:05:05 UTC 2026\0";
    me[0x300..0x300 + v.len()].copy_from_slice(v);
    let mut l = qemu();
    l.boot_file = Some("kboot.bzImage".into());
    let mut f = Fake::new(&[
        ("tftp://10.0.2.2/kboot.bzImage", &me),
        ("tftp://10.0.2.2/kboot.conf", b"default=x\n"),
    ]);
    let (found, log) = run_on(&l, &mut f, Some(PROC));
    let found = found.unwrap();
    assert_eq!(found.url, "tftp://10.0.2.2/kboot.conf");
    assert_eq!(found.kernel_entry, None, "no entry for kboot itself");
    assert!(
        log.iter()
            .any(|m| m.contains("kboot's own image") && m.contains("user class")),
        "{log:?}"
    );
    // The same file on another kboot build (or without /proc/version) is just a kernel.
    let other = PROC.replace("#10", "#11");
    let mut f = Fake::new(&[("tftp://10.0.2.2/kboot.bzImage", &me)]);
    let (found, _) = run_on(&l, &mut f, Some(&other));
    assert!(found.unwrap().kernel_entry.is_some());
    let mut f = Fake::new(&[("tftp://10.0.2.2/kboot.bzImage", &me)]);
    assert!(run(&l, &mut f).0.unwrap().kernel_entry.is_some());
}

#[test]
fn kboot_refuses_its_own_arm64_image_as_boot_file() {
    const PROC: &str = "Linux version 6.1.192-kboot (root@vm) (aarch64-linux-gnu-gcc (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #3 SMP Sun Dec  6 13:40:02 UTC 2026\n";
    // kboot.Image: the arm64 magic in its header, the kernel's banner further in.
    let mut me = vec![0u8; 0x4000];
    me[0x38..0x3c].copy_from_slice(b"ARM\x64");
    me[0x2000..0x2000 + PROC.len()].copy_from_slice(PROC.as_bytes());
    let mut l = qemu();
    l.boot_file = Some("kboot.Image".into());
    let mut f = Fake::new(&[
        ("tftp://10.0.2.2/kboot.Image", &me),
        ("tftp://10.0.2.2/kboot.conf", b"default=x\n"),
    ]);
    let (found, log) = run_on(&l, &mut f, Some(PROC));
    let found = found.unwrap();
    assert_eq!(found.url, "tftp://10.0.2.2/kboot.conf");
    assert_eq!(found.kernel_entry, None, "no entry for kboot itself");
    assert!(
        log.iter().any(|m| m.contains("kboot's own image")),
        "{log:?}"
    );
    // Another build's kernel is a kernel boot file like any other.
    let other = PROC.replace("#3", "#4");
    let mut f = Fake::new(&[("tftp://10.0.2.2/kboot.Image", &me)]);
    let (found, _) = run_on(&l, &mut f, Some(&other));
    assert!(found.unwrap().kernel_entry.is_some());
}

#[test]
fn grub_mknetdirs_bios_core_0_is_skipped_for_the_grub_cfg_above_it() {
    // What the firmware got in tests/qemu_pxe.rs's GRUB test, and kboot gets after it from the
    // same DHCP server: boot/grub/i386-pc/core.0. kboot never fetches it (it is GRUB, not a
    // kernel) and reads GRUB's boot/grub/grub.cfg.
    let mut l = qemu();
    l.boot_file = Some("boot/grub/i386-pc/core.0".into());
    let mut f = Fake::new(&[
        ("tftp://10.0.2.2/boot/grub/i386-pc/core.0", &bzimage()),
        (
            "tftp://10.0.2.2/boot/grub/grub.cfg",
            b"menuentry 'x' {\n linux /vmlinuz\n}\n",
        ),
    ]);
    let (found, log) = run(&l, &mut f);
    let found = found.unwrap();
    assert_eq!(found.url, "tftp://10.0.2.2/boot/grub/grub.cfg");
    assert_eq!(found.kind, Some(ConfigKind::Grub));
    assert_eq!(found.kernel_entry, None);
    assert!(
        !f.tried.iter().any(|u| u.ends_with("core.0")),
        "{:?}",
        f.tried
    );
    assert!(
        log.iter()
            .any(|m| m.contains("core.0") && m.contains("boot loader for the firmware")),
        "{log:?}"
    );
}

#[test]
fn the_head_sink_keeps_an_arm64_image_whole_and_cuts_anything_else() {
    use std::io::Write;
    let feed_on = |whole_images: bool, first: &[u8], total: usize| {
        let mut head = Head {
            buf: Vec::new(),
            limit: FETCH_LIMIT,
            whole_images,
        };
        let mut file = first.to_vec();
        file.resize(total, 0xaa);
        // In pieces as TFTP delivers them, the first one shorter than the header.
        for piece in std::iter::once(&file[..0x20]).chain(file[0x20..].chunks(1468)) {
            if head.write_all(piece).is_err() {
                break;
            }
        }
        head.buf.len()
    };
    let feed = |first: &[u8], total: usize| feed_on(true, first, total);
    let mut image = vec![0u8; 0x40];
    image[0x38..0x3c].copy_from_slice(b"ARM\x64");
    image[16..24].copy_from_slice(&(3u64 << 20).to_le_bytes());
    assert_eq!(feed(&image, 3 << 20), 3 << 20, "the whole Image");
    assert_eq!(feed(&image, 5 << 20), 3 << 20, "up to its image_size");
    // An x86 kboot is never an arm64 Image: the usual head.
    assert_eq!(feed_on(false, &image, 3 << 20), FETCH_LIMIT);
    assert_eq!(WHOLE_IMAGES, !cfg!(target_arch = "x86_64"));
    image[16..24].copy_from_slice(&0u64.to_le_bytes());
    assert_eq!(
        feed(&image, 3 << 20),
        FETCH_LIMIT,
        "no size: the usual head"
    );
    assert_eq!(feed(&bzimage(), 3 << 20), FETCH_LIMIT);
    assert_eq!(feed(b"default=x\n", 100), 100);
}
