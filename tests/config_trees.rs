//! Whole config trees under `tests/fixtures/<tree>/`, served as if from a TFTP server, parsed
//! and compared with the golden `tests/fixtures/<tree>.json` (the `Menu` as pretty JSON).
//! Regenerate deliberately with `KBOOT_BLESS=1 cargo test --test config_trees`.

use std::path::PathBuf;

use kboot::config::include::ParseContext;
use kboot::config::Menu;

const SERVER: &str = "tftp://10.0.2.2/";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A fetcher serving `tests/fixtures/<tree>/` at `tftp://10.0.2.2/`.
fn serve(tree: &str) -> impl FnMut(&str) -> Result<String, String> {
    let root = fixtures().join(tree);
    move |url: &str| {
        let rel = url
            .strip_prefix(SERVER)
            .ok_or_else(|| format!("{url} is not on the test server"))?;
        if rel.split('/').any(|s| s == "..") {
            return Err(format!("{url} leaves the test tree"));
        }
        std::fs::read_to_string(root.join(rel)).map_err(|e| format!("{url}: {e}"))
    }
}

/// Compare `menu` with the golden JSON of `tree` (or write it when KBOOT_BLESS=1).
fn golden(tree: &str, menu: &Menu) {
    let path = fixtures().join(format!("{tree}.json"));
    let json = serde_json::to_string_pretty(menu).unwrap() + "\n";
    if std::env::var("KBOOT_BLESS").as_deref() == Ok("1") {
        std::fs::write(&path, &json).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with KBOOT_BLESS=1 to create it)",
            path.display()
        )
    });
    assert_eq!(
        json,
        want,
        "{tree}: parsed menu differs from {}",
        path.display()
    );
}

fn parse_pxelinux_tree(tree: &str, config: &str, ctx: &ParseContext) -> Menu {
    let url = format!("{SERVER}{config}");
    let mut fetch = serve(tree);
    let text = fetch(&url).unwrap();
    kboot::config::pxelinux::parse(&text, &url, ctx, &mut fetch)
}

fn parse_grub_tree(tree: &str, config: &str, ctx: &ParseContext) -> Menu {
    let url = format!("{SERVER}{config}");
    let mut fetch = serve(tree);
    let text = fetch(&url).unwrap();
    kboot::config::grub::parse(&text, &url, ctx, &mut fetch)
}

#[test]
fn pxelinux_debian_installer_tree() {
    let tree = "pxelinux-debian-installer";
    let m = parse_pxelinux_tree(tree, "pxelinux.cfg/default", &ParseContext::default());
    golden(tree, &m);

    assert_eq!(
        m.title.as_deref(),
        Some("Debian GNU/Linux installer menu (BIOS mode)")
    );
    assert_eq!(m.default.as_deref(), Some("installgui"));
    assert_eq!(m.timeout_ms, None, "TIMEOUT 0 with a menu waits");
    let ids: Vec<_> = m.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "installgui",
            "install",
            "advanced",
            "accessible",
            "help",
            "installspeechgui"
        ]
    );
    let adv = &m.entries[2];
    assert_eq!(adv.title, "Advanced options");
    assert_eq!(adv.hotkey, Some('a'));
    let adv_ids: Vec<_> = adv.children.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        adv_ids,
        [
            "mainmenu",
            "expertgui",
            "rescuegui",
            "autogui",
            "expert",
            "rescue",
            "auto",
            "expertspeechgui",
            "expertspeech"
        ]
    );
    // Labels repeated across submenus keep their names; each level is its own namespace.
    let acc = &m.entries[3];
    assert_eq!(acc.children[0].id, "mainmenu");
    assert_eq!(acc.children[1].id, "install");
    assert_eq!(
        acc.children[1].handoff,
        kboot::config::model::Handoff::Pxelinux(2)
    );
    assert_eq!(
        acc.children[3].action,
        Some(kboot::config::model::Action::LocalBoot)
    );
    assert!(adv.children[8].hidden);
    let e = &adv.children[4];
    assert_eq!((e.title.as_str(), e.hotkey), ("Expert install", Some('x')));
    assert_eq!(
        e.kernel.as_deref(),
        Some("tftp://10.0.2.2/debian-installer/amd64/linux")
    );
    assert_eq!(
        e.initrds,
        ["tftp://10.0.2.2/debian-installer/amd64/initrd.gz"]
    );
    assert_eq!(e.cmdline, "priority=low vga=788 ---");
    assert_eq!(
        m.entries[4].help.as_deref(),
        Some("   Display help screens; type 'menu' at boot prompt to return to this menu")
    );

    // PATH is ignored with a warning; the missing spk.cfg is a warning, the rest is kept.
    assert_eq!(m.warnings.len(), 2, "{:#?}", m.warnings);
    assert!(m.warnings[0].starts_with("tftp://10.0.2.2/pxelinux.cfg/default line 3: PATH"));
    assert!(m.warnings[1].starts_with(
        "tftp://10.0.2.2/debian-installer/amd64/boot-screens/menu.cfg line 36: INCLUDE of 'tftp://10.0.2.2/debian-installer/amd64/boot-screens/spk.cfg' failed"
    ));
}

#[test]
fn pxelinux_tree_from_a_subdirectory_server_root() {
    // The same tree served below /boot/: paths follow the pxelinux.cfg/ parent.
    let url = "tftp://10.0.2.2/boot/pxelinux.cfg/default";
    let mut inner = serve("pxelinux-debian-installer");
    let mut fetch = |u: &str| match u.strip_prefix("tftp://10.0.2.2/boot/") {
        Some(rest) => inner(&format!("{SERVER}{rest}")),
        None => Err(format!("{u} not found")),
    };
    let text = fetch(url).unwrap();
    let m = kboot::config::pxelinux::parse(&text, url, &ParseContext::default(), &mut fetch);
    assert_eq!(
        m.entries[0].kernel.as_deref(),
        Some("tftp://10.0.2.2/boot/debian-installer/amd64/linux")
    );
    assert_eq!(m.entries.len(), 6);
}

#[test]
fn grub_debian_netboot_tree() {
    let tree = "grub-debian-netboot";
    let m = parse_grub_tree(
        tree,
        "debian-installer/amd64/grub/grub.cfg",
        &ParseContext::default(),
    );
    golden(tree, &m);

    assert_eq!(m.timeout_ms, Some(10_000));
    assert_eq!(m.default.as_deref(), Some("Advanced options ..."));
    let ids: Vec<_> = m.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "Graphical install",
            "Install",
            "Advanced options ...",
            "Rescue over NFS",
            "local",
            "Ubuntu live (HTTP)"
        ]
    );
    assert_eq!(m.entries[0].hotkey, Some('g'));
    let adv = &m.entries[2];
    assert_eq!(adv.children.len(), 4);
    assert_eq!(
        adv.children[3].children[0].title,
        "... Expert speech install"
    );
    assert_eq!(adv.children[0].cmdline, "priority=low vga=788 ---");
    assert_eq!(
        m.entries[3].kernel.as_deref(),
        Some("tftp://10.0.2.2/debian-installer/amd64/linux")
    );
    let live = &m.entries[5];
    assert_eq!(
        live.kernel.as_deref(),
        Some("http://releases.example.org/noble/casper/vmlinuz")
    );
    assert_eq!(
        live.cmdline,
        "ip=dhcp url=http://releases.example.org/noble/ubuntu.iso \"boot message='hi there'\""
    );
    // loadfont and background_image depend on the machine; default in a submenu.
    assert_eq!(m.warnings.len(), 3, "{:#?}", m.warnings);
    assert!(m.warnings[0].contains("grub.cfg line 1:"));
    assert!(m.warnings[1].contains("grub.cfg line 13:"));
    assert!(m.warnings[2].contains("grub.cfg line 27: default"));
}

#[test]
fn grub_debian_netboot_tree_on_efi() {
    let ctx = ParseContext {
        efi: true,
        ..Default::default()
    };
    let m = parse_grub_tree(
        "grub-debian-netboot",
        "debian-installer/amd64/grub/grub.cfg",
        &ctx,
    );
    // fwsetup cannot be done by kboot: the EFI-only entry is read but skipped.
    assert_eq!(m.entries.len(), 6);
    assert!(m
        .warnings
        .iter()
        .any(|w| w.contains("menuentry 'UEFI Firmware Settings' skipped")));
}
