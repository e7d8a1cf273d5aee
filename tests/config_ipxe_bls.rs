//! iPXE scripts, BLS entries and format detection, petitboot-style: a script, a map of fake
//! files and a lease context in; titles, URLs, command lines, defaults and timeouts out.
//! Golden trees under `tests/fixtures/` are compared with `<tree>.json`
//! (`KBOOT_BLESS=1` rewrites them).

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use kboot::config::bls;
use kboot::config::detect::{self, Format};
use kboot::config::include::ParseContext;
use kboot::config::ipxe;
use kboot::config::model::Action;
use kboot::config::parse::parse_config;
use kboot::config::{Entry, Menu};

const URL: &str = "http://10.0.2.2/boot/boot.ipxe";

fn ctx() -> ParseContext {
    ParseContext {
        mac: Some([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]),
        ip: Some(Ipv4Addr::new(10, 0, 2, 15)),
        next_server: Some("10.0.2.2".into()),
        hostname: Some("client1".into()),
        uuid: Some("8d0d3b5a-1c1e-4b7a-9f3e-0123456789ab".into()),
        efi: true,
        ..Default::default()
    }
}

/// Parse `text` at [`URL`] with `files` (URL → text) as the only fetchable files; also
/// returns the URLs fetched.
fn ipxe_with(text: &str, files: &[(&str, &str)], ctx: &ParseContext) -> (Menu, Vec<String>) {
    let map: HashMap<String, String> = files
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut asked = Vec::new();
    let mut fetch = |u: &str| -> Result<String, String> {
        asked.push(u.to_string());
        map.get(u).cloned().ok_or_else(|| format!("{u} not found"))
    };
    let m = ipxe::parse(text, URL, ctx, &mut fetch);
    (m, asked)
}

fn ipxe(text: &str) -> Menu {
    ipxe_with(text, &[], &ctx()).0
}

fn ids(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.id.as_str()).collect()
}

fn has_warning(m: &Menu, needle: &str) -> bool {
    m.warnings.iter().any(|w| w.contains(needle))
}

// ---------------------------------------------------------------- iPXE: simple scripts

#[test]
fn ipxe_kernel_initrd_boot_is_one_entry() {
    let m = ipxe(
        "#!ipxe\ndhcp\nkernel http://h/vmlinuz console=ttyS0 initrd=initrd.img\ninitrd initrd.img\nboot\n",
    );
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    assert_eq!(m.entries.len(), 1);
    let e = &m.entries[0];
    assert_eq!(e.id, "boot");
    assert_eq!(e.kernel.as_deref(), Some("http://h/vmlinuz"));
    assert_eq!(e.initrds, vec!["http://10.0.2.2/boot/initrd.img"]);
    assert_eq!(e.cmdline, "console=ttyS0");
}

#[test]
fn ipxe_missing_shebang_warns_but_parses() {
    let m = ipxe("kernel vmlinuz\nboot\n");
    assert_eq!(m.entries.len(), 1);
    assert!(
        m.warnings[0].starts_with("boot.ipxe line 1:"),
        "{:?}",
        m.warnings
    );
    assert!(m.warnings[0].contains("#!ipxe"));
}

#[test]
fn ipxe_flags_skipped_and_imgargs_by_name() {
    let m = ipxe(
        "#!ipxe\nkernel --name k --timeout 3000 --autofree --replace ../k/vmlinuz\nmodule -n i --autofree i.gz\nimgargs k quiet splash\nboot k\n",
    );
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    let e = &m.entries[0];
    assert_eq!(e.kernel.as_deref(), Some("http://10.0.2.2/k/vmlinuz"));
    assert_eq!(e.initrds, vec!["http://10.0.2.2/boot/i.gz"]);
    assert_eq!(e.cmdline, "quiet splash");
}

#[test]
fn ipxe_lease_variables_expand() {
    let m = ipxe(concat!(
        "#!ipxe\n",
        "kernel tftp://${next-server}/${platform}/${buildarch}/vmlinuz ",
        "mac=${net0/mac} hyp=${mac:hexhyp} raw=${net0/mac:hexraw} ip=${ip} ",
        "ip2=${net0/ip} host=${hostname} uuid=${uuid} q=${hostname:uristring}\n",
        "boot\n"
    ));
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    let e = &m.entries[0];
    assert_eq!(
        e.kernel.as_deref(),
        Some("tftp://10.0.2.2/efi/x86_64/vmlinuz")
    );
    assert_eq!(
        e.cmdline,
        "mac=52:54:00:12:34:56 hyp=52-54-00-12-34-56 raw=525400123456 ip=10.0.2.15 \
         ip2=10.0.2.15 host=client1 uuid=8d0d3b5a-1c1e-4b7a-9f3e-0123456789ab q=client1"
    );
}

#[test]
fn ipxe_set_nested_and_pcbios() {
    let c = ParseContext {
        efi: false,
        ..ctx()
    };
    let (m, _) = ipxe_with(
        "#!ipxe\nset arch-pcbios i386\nset arch-efi x86_64\nset base http://h/${arch-${platform}}\nkernel ${base}/vmlinuz\nboot\n",
        &[],
        &c,
    );
    assert_eq!(
        m.entries[0].kernel.as_deref(),
        Some("http://h/i386/vmlinuz")
    );
}

#[test]
fn ipxe_isset_iseq_decide_when_known() {
    let m = ipxe(concat!(
        "#!ipxe\n",
        "isset ${nothing} && set a yes || set a no\n",
        "iseq ${platform} efi && set b efi || set b bios\n",
        "isset ${ip} || set a broken\n",
        "kernel http://h/${a}/${b}\nboot\n"
    ));
    assert_eq!(m.entries[0].kernel.as_deref(), Some("http://h/no/efi"));
}

#[test]
fn ipxe_unknown_values_take_the_success_path() {
    // ${filename} and ${root-path} are not in the lease context: undecidable.
    let m = ipxe(
        "#!ipxe\nisset ${root-path} && set r yes || set r no\niseq ${filename} x && set f yes || set f no\nkernel http://h/${r}/${f}\nboot\n",
    );
    assert_eq!(m.entries[0].kernel.as_deref(), Some("http://h/yes/yes"));
    // Without a lease value, ${ip} is unknown too.
    let (m, _) = ipxe_with(
        "#!ipxe\nisset ${ip} && set x up || set x down\nkernel http://h/${x}\nboot\n",
        &[],
        &ParseContext::default(),
    );
    assert_eq!(m.entries[0].kernel.as_deref(), Some("http://h/up"));
}

#[test]
fn ipxe_failure_without_handler_ends_the_script() {
    let m = ipxe("#!ipxe\nisset ${nothing}\nkernel http://h/k\nboot\n");
    assert!(m.entries.is_empty());
    assert!(
        has_warning(&m, "line 2: a command fails there"),
        "{:?}",
        m.warnings
    );
    // A trailing || absorbs the failure.
    let m = ipxe("#!ipxe\nisset ${nothing} && goto x ||\nkernel http://h/k\nboot\n");
    assert_eq!(m.entries.len(), 1);
}

#[test]
fn ipxe_line_continuation_and_comments() {
    let m =
        ipxe("#!ipxe\n# a comment\nkernel http://h/k \\\n  quiet \\\n  splash # trailing\nboot\n");
    assert_eq!(m.entries[0].cmdline, "quiet splash");
}

#[test]
fn ipxe_chain_of_a_kernel_boots_it_with_loaded_initrds() {
    let m = ipxe(
        "#!ipxe\ninitrd http://h/initrd.magic\nchain http://h/bzImage initrd=initrd.magic ro\n",
    );
    let e = &m.entries[0];
    assert_eq!(e.kernel.as_deref(), Some("http://h/bzImage"));
    assert_eq!(e.initrds, vec!["http://h/initrd.magic"]);
    assert_eq!(e.cmdline, "ro");
}

#[test]
fn ipxe_chain_to_a_script_is_followed_with_the_same_variables() {
    let (m, asked) = ipxe_with(
        "#!ipxe\nset v 7\nchain next.ipxe\n",
        &[(
            "http://10.0.2.2/boot/next.ipxe",
            "#!ipxe\nkernel kernels/vmlinuz-${v}\nboot\n",
        )],
        &ctx(),
    );
    assert_eq!(asked, vec!["http://10.0.2.2/boot/next.ipxe"]);
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    assert_eq!(
        m.entries[0].kernel.as_deref(),
        Some("http://10.0.2.2/boot/kernels/vmlinuz-7")
    );
}

#[test]
fn ipxe_chain_unfetchable_becomes_a_chain_action() {
    let m = ipxe("#!ipxe\nchain http://boot.test/menu.php?mac=${mac:hexhyp}\n");
    assert_eq!(m.entries.len(), 1);
    assert_eq!(
        m.entries[0].action,
        Some(Action::Chain(
            "http://boot.test/menu.php?mac=52-54-00-12-34-56".into()
        ))
    );
    assert!(has_warning(&m, "loaded when chosen"));
}

#[test]
fn ipxe_chain_to_firmware_is_not_bootable() {
    let m = ipxe("#!ipxe\nchain tftp://h/ipxe.efi\n");
    assert!(m.entries.is_empty());
    assert!(has_warning(&m, "firmware program"));
}

#[test]
fn ipxe_sanboot_entry_and_note() {
    let m =
        ipxe("#!ipxe\nsanboot --no-describe iscsi:10.0.2.2::::iqn.2010-04.org.ipxe:${hostname}\n");
    assert_eq!(m.entries.len(), 1);
    let e = &m.entries[0];
    assert!(e.kernel.is_none());
    assert!(e.cmdline.is_empty());
    assert!(e.title.contains("iscsi:10.0.2.2"));
    assert!(has_warning(
        &m,
        "kboot.sanboot=iscsi:10.0.2.2::::iqn.2010-04.org.ipxe:client1"
    ));
    // sanboot without a URI boots the local drive.
    let m = ipxe("#!ipxe\nsanboot --drive 0x80\n");
    assert_eq!(m.entries[0].action, Some(Action::LocalBoot));
}

// ---------------------------------------------------------------- iPXE: menus

const MENU: &str = r#"#!ipxe
:start
menu Boot menu for ${hostname}
item --gap -- Systems
item --key d debian Debian
item --key f --default fedora Fedora
item --gap
item sub More ...
item local Local disk
item off Power off
item again Back to this menu
choose --default debian --timeout 3000 target && goto ${target}
:debian
kernel http://h/debian/linux
initrd http://h/debian/initrd.gz
boot
:fedora
kernel http://h/fedora/vmlinuz inst.stage2=http://h/fedora
boot
:sub
menu Tools
item memtest Memtest
item up Up
choose --timeout 0 t && goto ${t}
:memtest
kernel http://h/memtest
boot
:up
goto start
:local
exit
:off
poweroff
:again
goto start
"#;

#[test]
fn ipxe_menu_items_become_entries() {
    let m = ipxe(MENU);
    assert_eq!(m.title.as_deref(), Some("Boot menu for client1"));
    assert_eq!(
        ids(&m.entries),
        vec!["debian", "fedora", "sub", "local", "off"]
    );
    assert_eq!(m.entries[0].title, "Debian");
    assert_eq!(
        m.entries[0].kernel.as_deref(),
        Some("http://h/debian/linux")
    );
    assert_eq!(m.entries[0].initrds, vec!["http://h/debian/initrd.gz"]);
    assert_eq!(m.entries[1].cmdline, "inst.stage2=http://h/fedora");
    assert_eq!(m.entries[3].action, Some(Action::LocalBoot));
    assert_eq!(m.entries[4].action, Some(Action::PowerOff));
}

#[test]
fn ipxe_choose_default_timeout_and_keys() {
    let m = ipxe(MENU);
    // choose --default wins over item --default.
    assert_eq!(m.default.as_deref(), Some("debian"));
    assert_eq!(m.timeout_ms, Some(3000));
    assert_eq!(m.entries[0].hotkey, Some('d'));
    assert_eq!(m.entries[1].hotkey, Some('f'));
    assert_eq!(m.entries[2].hotkey, None);
    // Without choose --default the item --default counts; no --timeout waits forever.
    let m = ipxe(&MENU.replace("--default debian --timeout 3000 ", ""));
    assert_eq!(m.default.as_deref(), Some("fedora"));
    assert_eq!(m.timeout_ms, None);
}

#[test]
fn ipxe_submenu_via_goto_and_back() {
    let m = ipxe(MENU);
    let sub = &m.entries[2];
    assert_eq!(sub.title, "More ...");
    assert_eq!(ids(&sub.children), vec!["memtest", "up"]);
    assert_eq!(sub.children[0].kernel.as_deref(), Some("http://h/memtest"));
    // "up" goes back to the enclosing menu: leave the submenu.
    assert_eq!(sub.children[1].action, Some(Action::Exit));
}

#[test]
fn ipxe_item_looping_to_its_own_menu_is_left_out() {
    let m = ipxe(MENU);
    assert!(m.find("again").is_none());
    assert!(has_warning(
        &m,
        "item 'again' only comes back to the same menu"
    ));
}

#[test]
fn ipxe_goto_missing_label() {
    let m = ipxe(
        "#!ipxe\nmenu M\nitem a A\nitem b B\nchoose x && goto ${x}\n:a\nkernel http://h/a\nboot\n",
    );
    assert_eq!(ids(&m.entries), vec!["a"]);
    assert!(
        has_warning(&m, "goto 'b' names no label"),
        "{:?}",
        m.warnings
    );
    assert!(has_warning(&m, "item 'b' left out"));
}

#[test]
fn ipxe_infinite_goto_loops_terminate() {
    let m = ipxe("#!ipxe\n:a\ngoto b\n:b\ngoto a\n");
    assert!(m.entries.is_empty());
    assert!(has_warning(&m, "goto loops forever"), "{:?}", m.warnings);
    // A loop with a growing counter is followed until it ends.
    let m = ipxe(
        "#!ipxe\nset i 0\n:loop\ninc i\niseq ${i} 5 || goto loop\nkernel http://h/k${i}\nboot\n",
    );
    assert_eq!(m.entries[0].kernel.as_deref(), Some("http://h/k5"));
}

#[test]
fn ipxe_menus_calling_each_other_terminate() {
    // a → b → a → ...: each submenu returns to an ancestor.
    let m = ipxe(
        "#!ipxe\n:a\nmenu A\nitem b To B\nitem k Kernel\nchoose x && goto ${x}\n:b\nmenu B\nitem a To A\nitem k Kernel\nchoose y && goto ${y}\n:k\nkernel http://h/k\nboot\n",
    );
    assert_eq!(ids(&m.entries), vec!["b", "k"]);
    assert_eq!(ids(&m.entries[0].children), vec!["a", "k"]);
    assert_eq!(m.entries[0].children[0].action, Some(Action::Exit));
}

#[test]
fn ipxe_shell_reboot_exit_items() {
    let m = ipxe("#!ipxe\nmenu\nitem s Shell\nitem r Reboot\nitem e Exit\nchoose x && goto ${x}\n:s\nshell\n:r\nreboot\n:e\nexit 0\n");
    assert_eq!(m.title, None);
    let actions: Vec<_> = m.entries.iter().map(|e| e.action.clone()).collect();
    assert_eq!(
        actions,
        vec![
            Some(Action::Exit),
            Some(Action::Reboot),
            Some(Action::LocalBoot)
        ]
    );
}

#[test]
fn ipxe_prompt_with_timeout_is_not_pressed() {
    let m = ipxe(
        "#!ipxe\nprompt --key 0x02 --timeout 2000 Press Ctrl-B for the shell && shell ||\nkernel http://h/k\nboot\n",
    );
    assert_eq!(m.entries[0].kernel.as_deref(), Some("http://h/k"));
}

#[test]
fn ipxe_ignored_and_unknown_commands() {
    let m = ipxe("#!ipxe\necho hi\nsleep 1\nconsole --x 1024\ncpair 0\ncolour 1\nimgtrust\nparams\nparam a b\nfrobnicate\nkernel http://h/k\nimgverify k http://h/k.sig\nboot\n");
    assert_eq!(m.entries.len(), 1);
    assert!(
        has_warning(&m, "line 10: unknown command 'frobnicate'"),
        "{:?}",
        m.warnings
    );
    assert!(has_warning(&m, "imgtrust is ignored"));
    assert!(has_warning(&m, "param (HTTP form parameters)"));
}

// ---------------------------------------------------------------- iPXE: malformed input

#[test]
fn ipxe_unterminated_variable() {
    let m = ipxe("#!ipxe\nkernel http://h/${oops\nboot\n");
    assert!(has_warning(&m, "unterminated '${'"), "{:?}", m.warnings);
}

#[test]
fn ipxe_ten_thousand_lines() {
    let mut s = String::from("#!ipxe\n");
    for i in 0..10_000 {
        s.push_str(&format!("set v{i} {i}\n"));
    }
    s.push_str("kernel http://h/k-${v9999}\nboot\n");
    let m = ipxe(&s);
    assert_eq!(m.entries[0].kernel.as_deref(), Some("http://h/k-9999"));
    // A 10k-item menu is fine too.
    let mut s = String::from("#!ipxe\nmenu big\n");
    for i in 0..10_000 {
        s.push_str(&format!("item i{i} Item {i}\n"));
    }
    s.push_str("choose x && goto ${x}\n:i5\nkernel http://h/k\nboot\n");
    let m = ipxe(&s);
    assert_eq!(ids(&m.entries), vec!["i5"]);
}

#[test]
fn ipxe_binary_junk_and_edge_cases_never_panic() {
    let mut junk = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..20_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        junk.push((x >> 16) as u8);
    }
    let junk = String::from_utf8_lossy(&junk).into_owned();
    for t in [
        junk.as_str(),
        "",
        "#!ipxe",
        "#!ipxe\n${",
        "#!ipxe\nset a ${a}${a}${a}${a}\nset a ${a}${a}${a}${a}\n",
        "#!ipxe\nset a $${}{a}\nkernel ${a}\n",
        "#!ipxe\n||\n&&\n:\ngoto\nchoose\nitem\nmenu\nimgargs\nboot\n",
        "#!ipxe\nkernel \"é\\\nboot é",
        "#!ipxe\nchoose --timeout é x\n",
        "#!ipxe\nitem --key éé a\n",
        "#!ipxe\n\u{feff}kernel k\r\nboot\r\n",
        "#!ipxe\nkernel 'unterminated\nboot\n",
        "\\",
    ] {
        let _ = ipxe(t);
        let _ = ipxe(&format!("#!ipxe\n{t}"));
    }
}

#[test]
fn ipxe_deeply_nested_menus_are_bounded() {
    let mut s = String::from("#!ipxe\n");
    for i in 0..30 {
        s.push_str(&format!(
            ":m{i}\nmenu M{i}\nitem m{} Next\nitem k Kernel\nchoose x{i} && goto ${{x{i}}}\n",
            i + 1
        ));
    }
    s.push_str(":k\nkernel http://h/k\nboot\n");
    let m = ipxe(&s);
    let mut depth = 0;
    let mut level = &m.entries;
    while let Some(e) = level.iter().find(|e| !e.children.is_empty()) {
        depth += 1;
        level = &e.children;
    }
    assert!(depth < ipxe::MAX_MENU_DEPTH, "{depth}");
    assert!(has_warning(&m, "menus nest deeper"));
}

#[test]
fn ipxe_exponential_menus_stay_bounded() {
    // 8 levels × 10 items each: 10^8 paths if nothing bounded the work.
    let mut s = String::from("#!ipxe\n");
    for i in 0..8 {
        s.push_str(&format!(":m{i}\nmenu M{i}\n"));
        for j in 0..10 {
            s.push_str(&format!("item m{} Item {j}\n", i + 1));
        }
        s.push_str(&format!("choose --keep x{i} && goto ${{x{i}}}\n"));
    }
    s.push_str(":m8\nkernel http://h/k\nboot\n");
    let start = std::time::Instant::now();
    let _ = ipxe(&s);
    assert!(start.elapsed().as_secs() < 60);
}

// ---------------------------------------------------------------- BLS

#[test]
fn bls_sorting_sort_key_machine_id_version() {
    let e = |name: &str, text: &str| (name.to_string(), text.to_string());
    let m = bls::menu_from_entries(
        vec![
            e("a-5.conf", "title A\nversion 5\nmachine-id dd\nlinux /a5\n"),
            e(
                "a-10.conf",
                "title A\nversion 10\nmachine-id dd\nlinux /a10\n",
            ),
            e("b.conf", "title B\nversion 3\nmachine-id bb\nlinux /b\n"),
            e(
                "c.conf",
                "title C\nsort-key xxxx\nversion 5\nmachine-id 30\nlinux /c\n",
            ),
            e(
                "cx.conf",
                "title C\nsort-key xxxx\nversion 10\nmachine-id 30\nlinux /cx\n",
            ),
            e(
                "d.conf",
                "title D\nsort-key kkkk\nversion 100\nmachine-id 81\nlinux /d\n",
            ),
        ],
        "sda1:/",
    );
    // Like systemd's own test: sort-keys first (increasing), newest version first; then
    // file names in decreasing version order.
    assert_eq!(ids(&m.entries), vec!["d", "cx", "c", "b", "a-10", "a-5"]);
    // Same titles are told apart by version.
    assert_eq!(m.entries[1].title, "C (10)");
    assert_eq!(m.entries[5].title, "A (5)");
    assert_eq!(m.default_index(), 0);
}

#[test]
fn bls_multiple_initrds_and_options() {
    let e = bls::parse_entry(
        "title T\nlinux /vmlinuz\ninitrd /ucode.img\ninitrd /initramfs.img\noptions root=/dev/sda2\noptions  quiet   splash\n",
        "t.conf",
        "http://s/boot/",
    )
    .unwrap();
    assert_eq!(e.kernel.as_deref(), Some("http://s/boot/vmlinuz"));
    assert_eq!(
        e.initrds,
        vec!["http://s/boot/ucode.img", "http://s/boot/initramfs.img"]
    );
    assert_eq!(e.cmdline, "root=/dev/sda2 quiet splash");
}

#[test]
fn bls_broken_entries_warn() {
    let m = bls::menu_from_entries(
        vec![
            ("nolinux.conf".into(), "title x\n".into()),
            ("junk.conf".into(), "\u{0}\u{1}é\nlinux\nfoo bar\n".into()),
            ("ok.conf".into(), "linux /k\n".into()),
        ],
        "sda1:/",
    );
    assert_eq!(ids(&m.entries), vec!["ok"]);
    assert_eq!(m.entries[0].title, "ok");
    assert!(has_warning(
        &m,
        "nolinux.conf: entry skipped: it has no 'linux' key"
    ));
    assert!(has_warning(
        &m,
        "junk.conf line 2: key 'linux' has no value"
    ));
    assert!(has_warning(&m, "junk.conf line 3: unknown key 'foo'"));
}

// ---------------------------------------------------------------- detection

#[test]
fn detect_all_five_formats_from_text() {
    let cases = [
        ("#!ipxe\ndhcp\nchain boot.php\n", Format::Ipxe),
        (
            "set default=0\nset timeout=5\nmenuentry 'Linux' {\n  linux /vmlinuz root=/dev/sda1\n  initrd /initrd.img\n}\n",
            Format::Grub,
        ),
        (
            "DEFAULT menu.c32\nPROMPT 0\nTIMEOUT 50\nLABEL linux\n  KERNEL vmlinuz\n  APPEND initrd=initrd.img quiet\n",
            Format::Pxelinux,
        ),
        (
            "default linux\nlabel linux\nkernel vmlinuz\nappend root=/dev/nfs\n",
            Format::Pxelinux,
        ),
        (
            "default=linux\ntimeout=5\nlinux='vmlinux root=/dev/sda1 quiet'\n",
            Format::Kboot,
        ),
        (
            "title Fedora\nversion 6.8\nlinux /vmlinuz\ninitrd /initramfs.img\noptions root=/dev/sda2 quiet\n",
            Format::Bls,
        ),
    ];
    for (text, want) in cases {
        assert_eq!(detect::sniff(text, "tftp://h/boot.cfg"), want, "{text}");
    }
    assert_eq!(detect::sniff("", "tftp://h/x"), Format::Kboot);
    assert_eq!(detect::sniff("\u{0}\u{1}junk", "tftp://h/x"), Format::Kboot);
}

#[test]
fn detect_uses_the_url() {
    let t = "just some words\n";
    assert_eq!(
        detect::sniff(t, "tftp://h/pxelinux.cfg/default"),
        Format::Pxelinux
    );
    assert_eq!(
        detect::sniff(t, "http://h/boot/grub/grub.cfg"),
        Format::Grub
    );
    assert_eq!(detect::sniff(t, "http://h/menu.ipxe"), Format::Ipxe);
    assert_eq!(detect::sniff(t, "sda1:/loader/entries/a.conf"), Format::Bls);
    assert_eq!(detect::sniff(t, "tftp://h/kboot.conf"), Format::Kboot);
    // The iPXE magic line beats the name.
    assert_eq!(
        detect::sniff("#!ipxe\n", "tftp://h/kboot.conf"),
        Format::Ipxe
    );
}

#[test]
fn parse_config_dispatches() {
    let c = ctx();
    let mut f = |_: &str| -> Result<String, String> { Err("no".into()) };
    let (fmt, m) = parse_config(
        "#!ipxe\nkernel vmlinuz\nboot\n",
        "http://h/x/boot",
        None,
        &c,
        &mut f,
    );
    assert_eq!(fmt, Format::Ipxe);
    assert_eq!(m.entries[0].kernel.as_deref(), Some("http://h/x/vmlinuz"));
    let (fmt, m) = parse_config(
        "title T\nlinux /vmlinuz\n",
        "sda1:/loader/entries/t.conf",
        None,
        &c,
        &mut f,
    );
    assert_eq!(fmt, Format::Bls);
    assert_eq!(m.entries[0].kernel.as_deref(), Some("sda1:/vmlinuz"));
    // A forced format wins over detection.
    let (fmt, m) = parse_config(
        "a='k'\n",
        "http://h/menu.ipxe",
        Some(Format::Kboot),
        &c,
        &mut f,
    );
    assert_eq!(fmt, Format::Kboot);
    assert_eq!(m.entries[0].id, "a");
}

// ---------------------------------------------------------------- golden trees

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Compare `menu` with `<tree>.json`, or write it when `KBOOT_BLESS=1`.
fn golden(tree: &str, menu: &Menu) {
    let path = fixtures().join(format!("{tree}.json"));
    let got = serde_json::to_string_pretty(menu).unwrap() + "\n";
    if std::env::var("KBOOT_BLESS").as_deref() == Ok("1") {
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with KBOOT_BLESS=1 to create it)",
            path.display()
        )
    });
    assert_eq!(
        got,
        want,
        "{tree}: the menu differs from {}",
        path.display()
    );
}

#[test]
fn golden_ipxe_netboot() {
    let dir = fixtures().join("ipxe-netboot");
    const BASE: &str = "http://10.0.2.2/netboot/";
    let mut asked = Vec::new();
    let mut fetch = |u: &str| -> Result<String, String> {
        asked.push(u.to_string());
        let name = u
            .strip_prefix(BASE)
            .ok_or_else(|| format!("{u} is not on the test server"))?;
        std::fs::read_to_string(dir.join(name)).map_err(|e| format!("{u}: {e}"))
    };
    let text = std::fs::read_to_string(fixtures().join("ipxe-netboot/boot.ipxe")).unwrap();
    let m = ipxe::parse(&text, &format!("{BASE}boot.ipxe"), &ctx(), &mut fetch);
    golden("ipxe-netboot", &m);

    assert_eq!(
        m.title.as_deref(),
        Some("kboot.test (efi, 52:54:00:12:34:56)")
    );
    assert_eq!(m.default.as_deref(), Some("local"));
    assert_eq!(m.timeout_ms, Some(5000));
    assert_eq!(
        ids(&m.entries),
        vec![
            "linux",
            "utils",
            "debian-live",
            "shell",
            "reboot",
            "local",
            "nfs",
            "later",
            "broken"
        ]
    );
    let linux = &m.entries[0];
    assert_eq!(linux.hotkey, Some('l'));
    assert_eq!(ids(&linux.children), vec!["debian", "fedora", "back"]);
    let deb = &linux.children[0];
    assert!(deb
        .kernel
        .as_deref()
        .unwrap()
        .ends_with("/debian-installer/amd64/linux"));
    assert_eq!(deb.cmdline, "priority=critical BOOTIF=01-52-54-00-12-34-56");
    let fedora = &linux.children[1];
    assert!(fedora
        .cmdline
        .starts_with("inst.repo=http://dl.fedoraproject.org/"));
    assert_eq!(linux.children[2].action, Some(Action::Exit));
    // utils.ipxe is chained, followed, and its "Back" (exit 0) returns to the main menu.
    let utils = &m.entries[1];
    assert_eq!(
        ids(&utils.children),
        vec!["memtest", "gparted", "utils_exit"]
    );
    assert_eq!(
        utils.children[1].cmdline,
        "boot=live union=overlay fetch=http://mirror.test/live/gparted/filesystem.squashfs"
    );
    assert_eq!(utils.children[2].action, Some(Action::Exit));
    let live = &m.entries[2];
    assert_eq!(
        live.kernel.as_deref(),
        Some("http://mirror.test/live/debian/vmlinuz")
    );
    assert_eq!(live.initrds, vec!["http://mirror.test/live/debian/initrd"]);
    assert_eq!(m.entries[3].action, Some(Action::Exit));
    assert_eq!(m.entries[4].action, Some(Action::Reboot));
    assert_eq!(m.entries[5].action, Some(Action::LocalBoot));
    assert!(m.entries[6].kernel.is_none());
    assert_eq!(
        m.entries[7].action,
        Some(Action::Chain(format!("{BASE}rescue.ipxe")))
    );
    assert!(has_warning(
        &m,
        "kboot.sanboot=iscsi:10.0.2.2::::iqn.2010-04.org.ipxe:client1"
    ));
    assert!(has_warning(
        &m,
        "item 'toggle' only comes back to the same menu"
    ));
    // A failing command ends menu.ipxe, so boot.ipxe's `chain ... || goto failed` runs: shell.
    assert!(has_warning(&m, "goto 'nowhere' names no label"));
    assert_eq!(m.entries[8].action, Some(Action::Exit));
    // Each script is fetched once, however many paths chain to it.
    let mut sorted = asked.clone();
    sorted.dedup();
    assert_eq!(asked.len(), sorted.len(), "{asked:?}");
}

#[test]
fn golden_bls_fedora() {
    let dir = fixtures().join("bls-fedora/loader/entries");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    let m = bls::menu_from_entries(files, "http://10.0.2.2/fedora/");
    golden("bls-fedora", &m);
    assert_eq!(
        ids(&m.entries),
        vec![
            "arch",
            "arch-lts",
            "6a9857a393724b7a981ebb5b8495b9ea-6.8.11-300.fc40.x86_64",
            "6a9857a393724b7a981ebb5b8495b9ea-6.8.5-301.fc40.x86_64",
            "6a9857a393724b7a981ebb5b8495b9ea-0-rescue",
            "uki",
        ]
    );
    assert_eq!(m.entries[0].title, "Arch Linux (6.9.1-arch1-1)");
    assert_eq!(
        m.entries[0].initrds,
        vec![
            "http://10.0.2.2/fedora/arch/intel-ucode.img",
            "http://10.0.2.2/fedora/arch/initramfs-linux.img"
        ]
    );
    assert_eq!(
        m.entries[2].cmdline,
        "root=UUID=6b3f2d1c-0b0e-4c9e-9d1a-1b2c3d4e5f60 ro rootflags=subvol=root rhgb quiet"
    );
    assert_eq!(m.entries[4].cmdline, "");
    assert!(has_warning(&m, "GRUB variable '$kernelopts'"));
    assert!(has_warning(
        &m,
        "aarch64-only.conf: entry skipped: it is for architecture 'aa64'"
    ));
    // The `efi` entry is booted as a unified kernel image (recognised by content at boot).
    let uki = m.entries.iter().find(|e| e.id == "uki").unwrap();
    assert_eq!(
        uki.kernel.as_deref(),
        Some("http://10.0.2.2/fedora/EFI/Linux/uki.efi")
    );
}

#[test]
fn ipxe_script_chaining_itself_is_bounded() {
    let me = "#!ipxe\nset n ${n}x\nchain boot.ipxe\n";
    let (m, asked) = ipxe_with(me, &[(URL, me)], &ctx());
    // Fetched once (cached); the chain depth limit ends the recursion with a Chain action.
    assert_eq!(asked.len(), 1);
    assert_eq!(m.entries[0].action, Some(Action::Chain(URL.into())));
    assert!(
        has_warning(&m, "scripts chain deeper than"),
        "{:?}",
        m.warnings
    );
}
