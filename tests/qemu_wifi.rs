//! End to end in QEMU over Wi-Fi: mac80211_hwsim's two simulated radios in one guest, the access
//! point's radio in network and mount namespaces of its own, kboot on the other (wlan0) with no
//! wired NIC at all.
//!
//! The guest boots kboot's payload with out/x86_64/test/wifi-initrd.cpio (qemu/build-wifi-test:
//! the module pack's files, wpa_supplicant at /usr/sbin, and the test-only rig) and
//! `rdinit=/test-init`: tests/wifi/ap-init loads hwsim and the crypto modules, moves wlan1 into
//! the access point's namespace, runs hostapd, dnsmasq (DHCP with the boot file kboot.conf and
//! next-server 192.0.2.1; TFTP) and busybox httpd there, prints
//! "kboot-test: access point '<ssid>' (<name>) up ..." and execs kboot's /init as PID 1. The
//! served kboot.conf has two entries, `tftp` (the default; kboot_test.boot=http makes `http` the
//! default) and `http`, whose targets print `kboot_test=<name>-tftp` / `-http`.
//!
//! `kboot.menu=off` makes kboot print plain log lines, which the tests read. What kboot prints
//! over Wi-Fi: `wlan0: joined <SSID> (<BSSID>)`, then the usual `wlan0: DHCP lease <addr>/24 from
//! 192.0.2.1`; failures as one sentence: `wrong passphrase for <SSID>`, `<SSID> is out of range`.
//!
//! KBOOT_WIFI_APLOG=1 adds the access point's hostapd and dnsmasq logs to the serial output
//! ("ap: " lines, for debugging; they interleave with kboot's lines).
//! Needs qemu/build and qemu/build-wifi-test (qemu/test runs both).

mod common;

use common::{built, Guest, GuestOptions};
use std::path::PathBuf;
use std::time::Duration;

/// From QEMU's start to the target's command line (TCG, 2 cores shared by parallel tests; the
/// guest loads hwsim and starts an access point before kboot).
const BOOT: Duration = Duration::from_secs(180);

/// mac80211_hwsim's second radio (wlan1, the access point's): its MAC is the BSSID.
const BSSID: &str = "02:00:00:00:01:00";

/// The access points of qemu/build-wifi-test (the same names, SSIDs and passphrases).
const WPA2_PSK: &str = "kboot-wpa2-secret-4711";
const SAE_PSK: &str = "kboot-sae-secret-4712";
const HIDDEN_PSK: &str = "kboot-hidden-secret-4713";
const MIXED_PSK: &str = "kboot-mixed-secret-4714";

/// out/x86_64/test/wifi-initrd.cpio, or the command that makes it.
fn wifi_initrd() -> PathBuf {
    let p = common::repo().join("out/x86_64/test/wifi-initrd.cpio");
    assert!(
        p.exists(),
        "{} is missing: run qemu/build-wifi-test (qemu/test does)",
        p.display()
    );
    p
}

/// Boot kboot with the rig: `ap` names the access point, `name` the target's marker, `append`
/// adds kboot's Wi-Fi parameters; `kboot.menu=off` (plain log lines).
fn start(name: &str, ap: &str, append: &str) -> Guest {
    start_with(name, ap, &format!("kboot.menu=off {append}"))
}

/// [`start`] without `kboot.menu=off`: the menu runs on the serial console.
fn start_with(name: &str, ap: &str, append: &str) -> Guest {
    start_rig(name, ap, append, None)
}

/// [`start_with`], with `disk` as the guest's virtio disk.
fn start_rig(name: &str, ap: &str, append: &str, disk: Option<&std::path::Path>) -> Guest {
    // kboot's own payload must exist too (built() says what to run).
    built("kboot.bzImage");
    let initrd = wifi_initrd();
    // No wired NIC: QEMU's user network is not used; GuestOptions wants a folder anyway.
    let empty = std::env::temp_dir();
    let aplog = if std::env::var_os("KBOOT_WIFI_APLOG").is_some() {
        " kboot_test.aplog=1"
    } else {
        ""
    };
    let append =
        format!("rdinit=/test-init kboot_test.ap={ap} kboot_test.name={name}{aplog} {append}");
    let mut g = Guest::start(
        &format!("wifi-{name}"),
        &GuestOptions {
            append: &append,
            nics: &["none"],
            initrd: Some(&initrd),
            disk,
            ..GuestOptions::serving(&empty)
        },
    );
    if append.contains("kboot_test.ap_delay=") {
        // The access point comes up later, while kboot runs.
        g.wait_for("kboot-test: the access point", BOOT);
    } else {
        // The rig's own line: the access point is up before kboot starts.
        let up = g.line_after("kboot-test: access point", BOOT);
        assert!(
            up.contains(" up "),
            "the access point did not come up: {up}"
        );
    }
    g
}

/// kboot joined `ssid` on wlan0 and got a lease from the access point.
fn assert_joined_and_leased(g: &mut Guest, ssid: &str) {
    let joined = g.line_after("wlan0: joined ", BOOT);
    assert_eq!(joined, format!("{ssid} ({BSSID})"), "the join line");
    let lease = g.line_after("wlan0: DHCP lease ", BOOT);
    // "192.0.2.5x/24 from 192.0.2.1" (dnsmasq's range is 192.0.2.50-59).
    let (addr, server) = lease
        .split_once(" from ")
        .unwrap_or_else(|| panic!("the lease line: {lease}"));
    assert!(
        addr.starts_with("192.0.2.5") && addr.ends_with("/24"),
        "the lease line: {lease}"
    );
    assert!(server.starts_with("192.0.2.1"), "the lease line: {lease}");
}

/// The config was discovered on the access point (boot file kboot.conf, next-server
/// 192.0.2.1), the default entry booted and its target printed `kboot_test=<marker>` and no
/// `ip=` (a wireless lease hands no ip= to the target).
fn assert_booted(g: &mut Guest, marker: &str) {
    let menu = g.line_after("kboot: menu from ", BOOT);
    assert!(
        menu.contains("192.0.2.1") && menu.contains("kboot.conf"),
        "the config came from elsewhere: {menu}"
    );
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline
            .split_whitespace()
            .any(|w| w == format!("kboot_test={marker}")),
        "target cmdline: {cmdline}"
    );
    assert!(
        !cmdline.split_whitespace().any(|w| w.starts_with("ip=")),
        "a wireless lease handed ip= to the target: {cmdline}"
    );
}

/// `secret` appears nowhere in what the guest printed, but for the kernel's own two echoes of
/// its command line ("[    0.000000] Command line: ..." and "Kernel command line: ..."), which
/// kboot does not control.
fn assert_never_printed(g: &Guest, secret: &str) {
    let out = g.plain_output();
    let kernel_echo = |l: &str| {
        l.starts_with('[')
            && (l.contains("] Command line: ") || l.contains("] Kernel command line: "))
    };
    let leaks: Vec<&str> = out
        .lines()
        .filter(|l| l.contains(secret) && !kernel_echo(l))
        .collect();
    assert!(
        leaks.is_empty(),
        "the passphrase was printed:\n{}",
        leaks.join("\n")
    );
}

#[test]
fn the_rig_serves_dhcp_tftp_and_http_over_hwsim_without_kboot() {
    // The rig's self-test (kboot_test.selftest=1): wpa_supplicant, udhcpc, busybox tftp and
    // wget do what kboot's Wi-Fi flow does. When this fails, the rig is broken, not kboot.
    let mut g = start("selftest", "wpa2", "kboot_test.selftest=1");
    g.wait_for("kboot-test: selftest ok", BOOT);
    let out = g.plain_output();
    assert!(
        out.contains("lease 192.0.2.5") && out.contains("boot_file kboot.conf"),
        "{out}"
    );
}

#[test]
fn wpa2_psk_from_the_command_line_boots_over_tftp() {
    let mut g = start(
        "wpa2",
        "wpa2",
        &format!("kboot.wifi.ssid=kboot-wpa2 kboot.wifi.psk={WPA2_PSK}"),
    );
    assert_joined_and_leased(&mut g, "kboot-wpa2");
    assert_booted(&mut g, "wpa2-tftp");
    assert_never_printed(&g, WPA2_PSK);
}

#[test]
fn wpa2_psk_boots_over_http() {
    // The default entry's kernel and initrd are http://192.0.2.1/ URLs (busybox httpd on the
    // access point).
    let mut g = start(
        "wpa2h",
        "wpa2",
        &format!("kboot_test.boot=http kboot.wifi.ssid=kboot-wpa2 kboot.wifi.psk={WPA2_PSK}"),
    );
    assert_joined_and_leased(&mut g, "kboot-wpa2");
    assert_booted(&mut g, "wpa2h-http");
}

#[test]
fn wpa3_sae_boots() {
    // hostapd: wpa_key_mgmt=SAE, sae_password, ieee80211w=2 (PMF required), sae_pwe=2.
    let mut g = start(
        "sae",
        "sae",
        &format!("kboot.wifi.ssid=kboot-sae kboot.wifi.psk={SAE_PSK}"),
    );
    assert_joined_and_leased(&mut g, "kboot-sae");
    assert_booted(&mut g, "sae-tftp");
}

#[test]
fn wpa2_wpa3_transition_network_boots() {
    // hostapd: wpa_key_mgmt=WPA-PSK SAE, PMF optional; kboot picks the strongest (SAE).
    let mut g = start(
        "mixed",
        "mixed",
        &format!("kboot.wifi.ssid=kboot-mixed kboot.wifi.psk={MIXED_PSK}"),
    );
    assert_joined_and_leased(&mut g, "kboot-mixed");
    assert_booted(&mut g, "mixed-tftp");
}

#[test]
fn open_network_boots() {
    let mut g = start("open", "open", "kboot.wifi.ssid=kboot-open");
    assert_joined_and_leased(&mut g, "kboot-open");
    assert_booted(&mut g, "open-tftp");
}

#[test]
fn hidden_ssid_boots() {
    // hostapd: ignore_broadcast_ssid=1; the beacons carry no SSID, kboot probes for it.
    let mut g = start(
        "hidden",
        "hidden",
        &format!("kboot.wifi.ssid=kboot-hidden kboot.wifi.psk={HIDDEN_PSK} kboot.wifi.hidden=1"),
    );
    assert_joined_and_leased(&mut g, "kboot-hidden");
    assert_booted(&mut g, "hidden-tftp");
}

#[test]
fn ssid_and_passphrase_with_spaces_in_kernel_quoting_boot() {
    let mut g = start(
        "spaces",
        "spaces",
        "kboot.wifi.ssid=\"kboot guest net\" kboot.wifi.psk=\"correct horse battery staple\"",
    );
    assert_joined_and_leased(&mut g, "kboot guest net");
    assert_booted(&mut g, "spaces-tftp");
    assert_never_printed(&g, "correct horse battery staple");
}

#[test]
fn a_wrong_passphrase_says_so_in_one_sentence() {
    let wrong = "not-the-passphrase-0000";
    let mut g = start(
        "wrongpsk",
        "wpa2",
        &format!("kboot.wifi.ssid=kboot-wpa2 kboot.wifi.psk={wrong}"),
    );
    g.wait_for("wrong passphrase for kboot-wpa2", BOOT);
    let out = g.plain_output();
    assert!(
        !out.contains("wlan0: joined") && !out.contains("KBOOT-DEMO"),
        "joined or booted with a wrong passphrase:\n{out}"
    );
    assert_never_printed(&g, wrong);
}

#[test]
fn an_absent_ssid_is_out_of_range() {
    // The access point (kboot-wpa2) is up, but kboot is told to join another network.
    let mut g = start(
        "absent",
        "wpa2",
        &format!("kboot.wifi.ssid=kboot-nowhere kboot.wifi.psk={WPA2_PSK}"),
    );
    g.wait_for("kboot-nowhere is out of range", BOOT);
    let out = g.plain_output();
    assert!(
        !out.contains("wlan0: joined") && !out.contains("KBOOT-DEMO"),
        "joined or booted a network it was not told to:\n{out}"
    );
}

#[test]
fn wifi_conf_in_the_initramfs_boots_and_its_passphrase_is_never_printed() {
    // /etc/kboot/wifi.conf (network={ ssid="kboot-wpa2" psk="..." }), laid by the rig before
    // kboot starts; no kboot.wifi.* parameter, so the passphrase is not on the kernel's command
    // line either: it must appear nowhere on the console, not even in the kernel's echo.
    let mut g = start("wificonf", "wpa2", "kboot_test.wificonf=wpa2");
    assert_joined_and_leased(&mut g, "kboot-wpa2");
    assert_booted(&mut g, "wificonf-tftp");
    let out = g.plain_output();
    assert!(
        !out.contains(WPA2_PSK),
        "the passphrase from wifi.conf was printed:\n{out}"
    );
}

#[test]
fn wifi_conf_on_a_disk_partition_boots_and_its_passphrase_is_never_printed() {
    // /kboot/wifi.conf on the first partition (ext4, MBR) of the machine's disk, as a user would
    // leave it on a stick; nothing in the initramfs or on the command line.
    let dir = std::env::temp_dir().join(format!("kboot-wifi-disk-{}", std::process::id()));
    let staging = dir.join("staging");
    std::fs::create_dir_all(staging.join("kboot")).unwrap();
    std::fs::write(
        staging.join("kboot/wifi.conf"),
        format!(
            "# left on the stick\nnetwork={{\n\tssid=\"kboot-wpa2\"\n\tpsk=\"{WPA2_PSK}\"\n}}\n"
        ),
    )
    .unwrap();
    let image = dir.join("disk.img");
    drop(common::mbr_disk(
        &image,
        common::PART_START + (16 << 20),
        0x83,
    ));
    let status = std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", "stick"])
        .arg(format!("-Eoffset={}", common::PART_START))
        .arg("-d")
        .arg(&staging)
        .arg(&image)
        .arg("16M")
        .status()
        .expect("mkfs.ext4 (apt-get install e2fsprogs)");
    assert!(status.success(), "mkfs.ext4 failed");
    let mut g = start_rig("diskconf", "wpa2", "kboot.menu=off", Some(&image));
    g.wait_for("vda1:/kboot/wifi.conf: 1 Wi-Fi network", BOOT);
    assert_joined_and_leased(&mut g, "kboot-wpa2");
    assert_booted(&mut g, "diskconf-tftp");
    let out = g.plain_output();
    assert!(
        !out.contains(WPA2_PSK),
        "the passphrase from the disk's wifi.conf was printed:\n{out}"
    );
    drop(g);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_boot_file_over_dhcpv6_on_the_wireless_link_boots() {
    // Dual stack, as many networks are: DHCPv4 gives wlan0 an address but no boot file; the
    // access point's router advertisements and DHCPv6 give tftp://[2001:db8:1::1]/v6/kboot.conf
    // (not at the TFTP root, where IPv4 discovery would find it). kboot runs the same IPv6
    // client on the wireless link and fetches everything over IPv6.
    let mut g = start(
        "v6",
        "wpa2",
        &format!("kboot_test.v6boot=1 kboot.wifi.ssid=kboot-wpa2 kboot.wifi.psk={WPA2_PSK}"),
    );
    assert_joined_and_leased(&mut g, "kboot-wpa2");
    // "wlan0: IPv6 2001:db8:1::5x; boot file tftp://[2001:db8:1::1]/kboot.conf"
    let v6 = g.line_after("wlan0: IPv6 2001:", BOOT);
    assert!(
        v6.starts_with("db8:1::5")
            && v6.ends_with("; boot file tftp://[2001:db8:1::1]/v6/kboot.conf"),
        "the IPv6 line: wlan0: IPv6 2001:{v6}"
    );
    let menu = g.line_after("kboot: menu from ", BOOT);
    assert!(
        menu.contains("tftp://[2001:db8:1::1]/v6/kboot.conf"),
        "the config came from elsewhere: {menu}"
    );
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline
            .split_whitespace()
            .any(|w| w == "kboot_test=v6-tftp"),
        "target cmdline: {cmdline}"
    );
    assert!(
        !cmdline.split_whitespace().any(|w| w.starts_with("ip=")),
        "a wireless lease handed ip= to the target: {cmdline}"
    );
}

#[test]
fn kboot_wifi_scan_on_a_host_lists_the_access_point() {
    // kboot's CLI as on a host with a wireless device (the rig runs it before kboot starts as
    // PID 1): it starts its own wpa_supplicant, scans, and prints JSON and a table. Then kboot
    // as PID 1 still joins and boots: the CLI's supplicant is gone and left the device usable.
    let mut g = start(
        "cliscan",
        "wpa2",
        &format!("kboot_test.cliscan=1 kboot.wifi.ssid=kboot-wpa2 kboot.wifi.psk={WPA2_PSK}"),
    );
    let status = g.line_after("cli: kboot wifi scan --json: exit status ", BOOT);
    assert_eq!(status, "0", "kboot wifi scan --json failed");
    // The table (stdout) and its count (stderr) come after the JSON.
    let count = g.line_after("cli-text: wlan0: ", BOOT);
    assert_eq!(count, "1 network", "the count on stderr");
    let out = g.plain_output();
    let json: String = out
        .lines()
        .filter_map(|l| l.strip_prefix("cli-json: "))
        .collect::<Vec<_>>()
        .join("\n");
    let list: serde_json::Value =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("not JSON ({e}):\n{json}"));
    let ap = list
        .as_array()
        .and_then(|l| l.iter().find(|n| n["ssid"] == "kboot-wpa2"))
        .unwrap_or_else(|| panic!("kboot-wpa2 is not in the scan:\n{json}"));
    assert_eq!(ap["bssid"], BSSID, "{ap}");
    assert_eq!(ap["security"], "WPA2", "{ap}");
    assert_eq!(ap["band"], "2.4 GHz", "{ap}");
    assert_eq!(ap["freq_mhz"], 2437, "{ap}");
    assert!(ap["signal_dbm"].as_i64().is_some_and(|s| s < 0), "{ap}");
    let text: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("cli-text: "))
        .collect();
    assert!(
        text.iter()
            .any(|r| r.contains(" dBm ") && r.contains("WPA2") && r.ends_with("kboot-wpa2")),
        "no table row for kboot-wpa2: {text:?}"
    );
    assert_joined_and_leased(&mut g, "kboot-wpa2");
    assert_booted(&mut g, "cliscan-tftp");
}

#[test]
fn an_access_point_that_comes_up_after_kboot_is_joined() {
    // kboot keeps scanning: the access point starts 20 s after kboot does. The rig leaves the
    // key ciphers (ccm, gcm, cmac...) to kboot here: kboot loads them from the pack itself.
    let mut g = start(
        "late",
        "wpa2",
        &format!("kboot_test.ap_delay=20 kboot.wifi.ssid=kboot-wpa2 kboot.wifi.psk={WPA2_PSK}"),
    );
    assert_joined_and_leased(&mut g, "kboot-wpa2");
    assert_booted(&mut g, "late-tftp");
    let out = g.plain_output();
    assert!(
        out.contains("(Wi-Fi key ciphers)"),
        "kboot did not load the key ciphers:\n{out}"
    );
}

#[test]
fn the_wifi_screen_joins_with_a_typed_passphrase_and_boots() {
    // No credentials anywhere: the menu comes up without a network; `w` opens the Wi-Fi screen,
    // Enter on kboot-wpa2 asks for the passphrase (masked), Enter joins, and discovery over the
    // new link brings the access point's menu, whose default entry Enter boots.
    let mut g = start_with("picker", "wpa2", "kboot_test.timeout=1");
    // The bring-up without a configured network ends in an error box ("No config to load";
    // its log line says "press w to pick one", but the menu redraws lines by difference, so
    // only new boxes are matched); a key dismisses it.
    g.wait_for_all(&["Press any key to continue"], BOOT);
    std::thread::sleep(Duration::from_secs(2));
    g.send(common::keys::ESC);
    std::thread::sleep(Duration::from_secs(1));
    g.send(b"w");
    // The list's row, selected ("> "); the screen's title may be drawn by difference.
    g.wait_for_all(&["> kboot-wpa2"], BOOT);
    g.send(common::keys::ENTER);
    std::thread::sleep(Duration::from_secs(1));
    let keys: Vec<&[u8]> = WPA2_PSK.as_bytes().chunks(1).collect();
    g.type_keys(&keys);
    g.send(common::keys::ENTER);
    // Joined, leased, and the access point's menu found: back to the menu (Esc; the keys
    // pressed before stopped its countdown and keep the selection where it was, on the
    // prompt item of the empty menu), its first entry (Home: `tftp`), boot it (Enter).
    g.wait_for_all(&["from tftp://192.0.2.1/kboot.conf"], BOOT);
    std::thread::sleep(Duration::from_secs(2));
    g.type_keys(&[common::keys::ESC, common::keys::HOME]);
    std::thread::sleep(Duration::from_secs(1));
    g.send(common::keys::ENTER);
    let cmdline = g.target_cmdline(BOOT);
    assert!(
        cmdline
            .split_whitespace()
            .any(|w| w == "kboot_test=picker-tftp"),
        "target cmdline: {cmdline}"
    );
    assert!(
        !cmdline.split_whitespace().any(|w| w.starts_with("ip=")),
        "a wireless lease handed ip= to the target: {cmdline}"
    );
    // Typed, not echoed: the passphrase is nowhere on the console.
    assert!(
        !g.plain_output().contains(WPA2_PSK),
        "the typed passphrase was echoed"
    );
}
