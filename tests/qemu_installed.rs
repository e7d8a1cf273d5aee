//! End to end in QEMU: installed Debian 12 systems, as an installer leaves them, boot from their
//! own disks through kboot's menu to their `login:` prompt. The disks are made by
//! `qemu/build-installed` (debootstrap, then Debian's own grub-install and update-grub run in a
//! QEMU guest; cached): out/x86_64/installed/ holds the images and the configs written on them.
//!
//! - debian-mbr.img (MBR, one ext4 partition, Debian's grub.cfg) on NVMe;
//! - debian-lvm.img (GPT, /boot separate, root on the LVM2 LV kboot-vg/root) on AHCI;
//! - the recovery entry of "Advanced options", chosen over the serial line;
//! - bls-usb.img (grub.cfg with `blscfg`, grubenv, /loader/entries as Fedora writes them) on a
//!   USB stick behind qemu-xhci.
//!
//! The target's command line must be exactly what GRUB would pass (BOOT_IMAGE= and the `linux`
//! line's arguments, read from the grub.cfg on the image), with no network handoff. The systems
//! print it early in their boot ("KBOOT-TARGET: cmdline: ..." from a unit build-installed adds:
//! Debian's `quiet` hides the kernel's own line). The images are attached with snapshot=on: the
//! cached images are never written. Needs `qemu/build` and `qemu/build-installed`.
//!
//! Measured on the images without kboot (QEMU TCG, 2 busy cores): SeaBIOS + the disk's own GRUB
//! to `login:` in 35-94 s; the kernel and initrd given to QEMU with the entry's command line, to
//! `login:` in 29-109 s, to recovery's sulogin in 25-95 s. Hence the generous timeouts below.

mod common;

use common::{built, keys, repo, tftp_folder, Guest, GuestOptions};
use std::path::PathBuf;
use std::time::Duration;

/// From QEMU's start to kboot's disk menu (TCG, the disk scan, 2 cores shared by parallel tests).
const MENU: Duration = Duration::from_secs(180);
/// From the choice of an entry to the target's command line: loading a 40 MB initrd from the
/// disk, kexec, the Debian kernel and its initramfs under TCG.
const CMDLINE: Duration = Duration::from_secs(240);
/// From the target's command line to its `login:` prompt (systemd under TCG).
const LOGIN: Duration = Duration::from_secs(240);

/// What the target's unit prints (see build-installed).
const TARGET_CMDLINE: &str = "KBOOT-TARGET: cmdline:";
/// Debian 12's os-release PRETTY_NAME, as the disk's submenu must be named.
const DEBIAN: &str = "Debian GNU/Linux 12 (bookworm)";

/// A file `qemu/build-installed` made.
fn installed(name: &str) -> PathBuf {
    let p = repo().join("out/x86_64/installed").join(name);
    assert!(
        p.exists(),
        "{} is missing: run qemu/build-installed (the README's test command does)",
        p.display()
    );
    p
}

/// `-drive` for the image: writes go to a temporary file, never to the cached image.
fn drive(image: &std::path::Path, id: &str) -> String {
    format!(
        "file={},if=none,id={id},format=raw,snapshot=on",
        image.display()
    )
}

/// A menuentry of a grub.cfg: its title and the arguments of its `linux` line.
#[derive(Debug)]
struct GrubEntry {
    title: String,
    kernel: String,
    args: Vec<String>,
}

/// The menuentries of a grub.cfg (submenus flattened) with their `linux` lines, read the simple
/// way: grub-mkconfig writes one `menuentry '<title>' ... {` line and one `linux` line each.
fn grub_entries(cfg: &str) -> Vec<GrubEntry> {
    let mut out = Vec::new();
    let mut title: Option<String> = None;
    for line in cfg.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("menuentry '") {
            title = rest.split('\'').next().map(str::to_string);
        } else if let Some(rest) = line.strip_prefix("linux") {
            if !rest.starts_with([' ', '\t']) {
                continue;
            }
            let mut words = rest.split_whitespace().map(str::to_string);
            let kernel = words.next().expect("a linux line names its kernel");
            out.push(GrubEntry {
                title: title.take().expect("a linux line inside a menuentry"),
                kernel,
                args: words.collect(),
            });
        }
    }
    out
}

/// The command line GRUB passes for an entry: BOOT_IMAGE=<kernel path> and the arguments, as
/// words.
fn grub_cmdline(kernel: &str, args: &[String]) -> Vec<String> {
    std::iter::once(format!("BOOT_IMAGE={kernel}"))
        .chain(args.iter().cloned())
        .collect()
}

/// The expected command line of the grub.cfg entry whose title satisfies `pick`.
fn expected_cmdline(cfg_name: &str, pick: impl Fn(&str) -> bool) -> Vec<String> {
    let cfg = std::fs::read_to_string(installed(cfg_name)).unwrap();
    let entries = grub_entries(&cfg);
    let e = entries
        .iter()
        .find(|e| pick(&e.title))
        .unwrap_or_else(|| panic!("no such entry in {cfg_name}: {entries:?}"));
    grub_cmdline(&e.kernel, &e.args)
}

/// Boot q35 with the module pack, no network config, and `devices` holding the drive `d0`
/// (the image `image`).
fn start(test: &str, image: &str, devices: &[&str]) -> Guest {
    let dir = tftp_folder(test, "unused.conf", "");
    let pack = built("modules.cpio.xz");
    let drive = drive(&installed(image), "d0");
    let mut extra = vec!["-drive", drive.as_str()];
    extra.extend_from_slice(devices);
    Guest::start(
        test,
        &GuestOptions {
            machine: "q35",
            memory_mb: 1024,
            bootfile: "none",
            nics: &["e1000e,netdev=n0"],
            initrd: Some(&pack),
            extra: &extra,
            ..GuestOptions::serving(&dir)
        },
    )
}

/// Wait for the disk's submenu, named after the installed system, and the network's "no
/// config" error (either order); close the dialog and open the submenu.
fn open_the_disk_menu(g: &mut Guest, title: &str) {
    g.wait_for_all(&[title, "No boot config found"], MENU);
    eprintln!("{title}: the menu is up after {:.0} s", g.seconds());
    std::thread::sleep(Duration::from_millis(500));
    g.type_keys(&[b" ", keys::HOME, keys::ENTER]);
    std::thread::sleep(Duration::from_secs(1));
}

/// The target's command line as it printed it (words), checked against `expected`; no network
/// handoff. Then its login prompt.
fn target_boots_with(g: &mut Guest, expected: &[String]) {
    let chosen = g.seconds();
    let line = g.line_after(TARGET_CMDLINE, CMDLINE);
    let got: Vec<&str> = line.split_whitespace().collect();
    eprintln!(
        "target command line after {:.0} s: {line}",
        g.seconds() - chosen
    );
    assert_eq!(
        got, expected,
        "the target's command line is not the one GRUB would pass"
    );
    for handoff in ["ip=", "BOOTIF=", "kboot."] {
        assert!(
            !got.iter().any(|w| w.starts_with(handoff)),
            "a disk entry gets no network handoff ({handoff}): {line}"
        );
    }
}

fn reaches_login(g: &mut Guest) {
    let t = g.seconds();
    g.wait_for("login:", LOGIN);
    eprintln!("login: {:.0} s after the command line", g.seconds() - t);
}

#[test]
fn debian_on_one_mbr_partition_on_nvme_boots_its_default_entry_to_login() {
    let mut g = start(
        "inst-nvme",
        "debian-mbr.img",
        &["-device", "nvme,drive=d0,serial=kbootnvme1"],
    );
    open_the_disk_menu(&mut g, &format!("{DEBIAN} on nvme0n1"));
    // The submenu opens on its default entry (GRUB_DEFAULT=0: "Debian GNU/Linux").
    g.type_keys(&[keys::ENTER]);
    let expected = expected_cmdline("debian-mbr.grub.cfg", |t| t == "Debian GNU/Linux");
    assert!(expected.iter().any(|w| w.starts_with("root=UUID=")));
    target_boots_with(&mut g, &expected);
    reaches_login(&mut g);
}

#[test]
fn debian_with_root_on_lvm_on_ahci_boots_its_default_entry_to_login() {
    // q35's own ICH9 AHCI controller; its ports are ide.0 to ide.5.
    let mut g = start(
        "inst-ahci-lvm",
        "debian-lvm.img",
        &["-device", "ide-hd,drive=d0,bus=ide.0"],
    );
    open_the_disk_menu(&mut g, &format!("{DEBIAN} on sda"));
    g.type_keys(&[keys::ENTER]);
    let expected = expected_cmdline("debian-lvm.grub.cfg", |t| t == "Debian GNU/Linux");
    // The kernel is on the /boot partition (BOOT_IMAGE=/vmlinuz-...), root is the LV.
    assert!(expected.contains(&"root=/dev/mapper/kboot--vg-root".to_string()));
    assert!(expected[0].starts_with("BOOT_IMAGE=/vmlinuz-"));
    target_boots_with(&mut g, &expected);
    reaches_login(&mut g);
}

#[test]
fn the_recovery_entry_of_advanced_options_boots_in_single_user_mode() {
    let mut g = start(
        "inst-recovery",
        "debian-mbr.img",
        &["-device", "nvme,drive=d0,serial=kbootnvme2"],
    );
    open_the_disk_menu(&mut g, &format!("{DEBIAN} on nvme0n1"));
    // In the disk's submenu: the second item is "Advanced options for Debian GNU/Linux"; in
    // it, the second is "..., with Linux <version> (recovery mode)".
    g.type_keys(&[keys::HOME, keys::DOWN, keys::ENTER]);
    std::thread::sleep(Duration::from_secs(1));
    g.type_keys(&[keys::HOME, keys::DOWN, keys::ENTER]);
    let expected = expected_cmdline("debian-mbr.grub.cfg", |t| t.ends_with("(recovery mode)"));
    assert!(expected.contains(&"single".to_string()), "{expected:?}");
    target_boots_with(&mut g, &expected);
    // systemd's rescue mode: the root account is locked, so sulogin says so.
    g.wait_for("root account is locked", LOGIN);
}

/// The BLS stick's expected command line: its entries say `options $kernelopts`, and grubenv
/// (which grub.cfg loads first) sets kernelopts.
fn bls_expected() -> (Vec<String>, String) {
    let env = std::fs::read_to_string(installed("bls-usb.grubenv")).unwrap();
    let kernelopts = env
        .lines()
        .find_map(|l| l.strip_prefix("kernelopts="))
        .expect("grubenv has kernelopts");
    let saved = env
        .lines()
        .find_map(|l| l.strip_prefix("saved_entry="))
        .expect("grubenv has saved_entry");
    let entry = std::fs::read_to_string(installed("bls-usb.entries").join(format!("{saved}.conf")))
        .expect("the saved entry's file");
    let field = |k: &str| {
        entry
            .lines()
            .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("the saved entry has no {k}"))
    };
    assert_eq!(field("options "), "$kernelopts");
    let args: Vec<String> = kernelopts.split_whitespace().map(str::to_string).collect();
    (grub_cmdline(&field("linux "), &args), field("title "))
}

#[test]
fn a_bls_stick_on_usb_boots_its_saved_entry_to_login() {
    let mut g = start(
        "inst-usb-bls",
        "bls-usb.img",
        &[
            "-device",
            "qemu-xhci,id=xhci",
            "-device",
            "usb-storage,bus=xhci.0,drive=d0",
        ],
    );
    open_the_disk_menu(&mut g, &format!("{DEBIAN} on sda"));
    // The submenu opens on grubenv's saved_entry (also the newest version, first as GRUB's
    // blscfg sorts them), not the rescue entry.
    g.type_keys(&[keys::ENTER]);
    let (expected, title) = bls_expected();
    // (Squashed: the menu is redrawn by difference, spaces may never be sent.)
    g.wait_for_all(&[&format!("Loading '{title}'")], CMDLINE);
    target_boots_with(&mut g, &expected);
    reaches_login(&mut g);
}

#[test]
fn grub_entries_are_read_from_a_grub_mkconfig_output() {
    // The test's own reading of grub.cfg (no QEMU): what the tests above compare with.
    let cfg = "menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple-x' {\n\
               \tlinux\t/boot/vmlinuz-6.1.0-1-amd64 root=UUID=abc ro  console=ttyS0,115200 quiet\n\
               \tinitrd\t/boot/initrd.img-6.1.0-1-amd64\n}\n\
               submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option 'x' {\n\
               \tmenuentry 'Debian GNU/Linux, with Linux 6.1.0-1-amd64 (recovery mode)' {\n\
               \t\tlinux\t/boot/vmlinuz-6.1.0-1-amd64 root=UUID=abc ro single console=ttyS0,115200\n\
               \t}\n}\n";
    let e = grub_entries(cfg);
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].title, "Debian GNU/Linux");
    assert_eq!(
        grub_cmdline(&e[0].kernel, &e[0].args).join(" "),
        "BOOT_IMAGE=/boot/vmlinuz-6.1.0-1-amd64 root=UUID=abc ro console=ttyS0,115200 quiet"
    );
    assert!(e[1].title.ends_with("(recovery mode)"));
    assert!(e[1].args.contains(&"single".to_string()));
}
