#!/usr/bin/env bash
# Smoke test of qemu/build-wpa's static wpa_supplicant and hostapd over mac80211_hwsim, in a QEMU
# guest (the host kernel may have no mac80211_hwsim; kboot's kernel has it in its module pack).
# Not part of qemu/test: run it by hand.
#
#   tests/wifi/smoke.sh [OUT]      OUT: the folder with bzImage and modules.cpio (default out/x86_64)
#
# The guest is kboot's kernel alone (OUT/bzImage) with an initramfs made here: Debian's
# busybox-static (fetched with `apt-get download` into a temporary folder, never installed), the
# two binaries, cfg80211/mac80211/mac80211_hwsim decompressed from OUT/modules.cpio, and an init
# script. mac80211_hwsim makes two radios, wlan0 and wlan1, on one simulated medium: hostapd runs
# on wlan0 (channel 6), wpa_supplicant on wlan1, both in the guest's one network namespace (this
# only proves association and the 4-way handshake or SAE; a data path needs the AP in its own
# namespace). For each network (WPA2-PSK with PMF optional, WPA3-SAE with PMF required, open,
# hidden WPA2-PSK) the guest prints "SMOKE <name> OK" once wpa_supplicant reported
# CTRL-EVENT-CONNECTED, or "SMOKE <name> FAIL" and the last lines of both logs after 60 s.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/qemu/lib.sh"
out=${1:-$here/out/x86_64}
wpas=$here/out/x86_64/wpa_supplicant
hostapd=$here/out/x86_64/test/hostapd
for f in "$out/bzImage" "$out/modules.cpio" "$wpas" "$hostapd"; do
    [ -f "$f" ] || { echo "smoke: $f is missing (qemu/build, qemu/build-wpa)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir -p "$root"/{bin,etc,lib,proc,sys,dev,run,tmp}

(cd "$tmp" && apt-get download busybox-static >/dev/null 2>&1) || { echo "smoke: apt-get download busybox-static failed" >&2; exit 1; }
dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/bb"
cp "$tmp/bb/bin/busybox" "$root/bin/busybox"
cp "$wpas" "$hostapd" "$root/bin/"
# mac80211_hwsim, and the crypto modules mac80211 asks for when a key is installed (CCMP:
# ccm(aes) and ctr, GCMP: gcm(aes) and ghash, BIP: cmac(aes)), with what modules.dep says they need, dependencies
# first. The kernel finds crypto modules through request_module(), i.e. /sbin/modprobe, which this
# guest (like kboot) does not have: without them hostapd fails with "key addition failed".
(cd "$tmp" && cpio -id --quiet '*/modules.dep' <"$out/modules.cpio")
dep=$(find "$tmp/lib" -name modules.dep)
moddir=$(dirname "$dep")
order=()
add_module() { # add_module PATH (as modules.dep names it)
    local m=$1 d
    for d in "${order[@]}"; do [ "$d" != "$m" ] || return 0; done
    for d in $(grep "^$m:" "$dep" | cut -d: -f2); do add_module "$d"; done
    order+=("$m")
}
for name in mac80211_hwsim aes_generic ctr ccm ghash-generic gcm cmac; do
    path=$(grep -o "^[^:]*/$name\.ko[^:]*" "$dep") || { echo "smoke: $name is not in the module pack" >&2; exit 1; }
    add_module "$path"
done
(cd "$tmp" && cpio -id --quiet "${order[@]/#/*/}" <"$out/modules.cpio")
for m in "${order[@]}"; do
    name=$(basename "$m"); name=${name%%.ko*}
    case $m in
        *.xz) xz -dc "$moddir/$m" ;;
        *) cat "$moddir/$m" ;;
    esac >"$root/lib/$name.ko"
    echo "$name" >>"$root/lib/order"
done

# The access points (hostapd) and the matching client configurations (wpa_supplicant).
ap_common='interface=wlan0
driver=nl80211
hw_mode=g
channel=6
ctrl_interface=/run/hostapd'
cat >"$root/etc/ap-psk.conf" <<EOF
$ap_common
ssid=kboot-psk
wpa=2
wpa_key_mgmt=WPA-PSK WPA-PSK-SHA256
rsn_pairwise=CCMP
ieee80211w=1
wpa_passphrase=correct horse battery
EOF
cat >"$root/etc/ap-sae.conf" <<EOF
$ap_common
ssid=kboot-sae
wpa=2
wpa_key_mgmt=SAE
rsn_pairwise=CCMP
ieee80211w=2
sae_password=correct horse battery
sae_pwe=2
EOF
cat >"$root/etc/ap-open.conf" <<EOF
$ap_common
ssid=kboot-open
EOF
cat >"$root/etc/ap-hidden.conf" <<EOF
$ap_common
ssid=kboot-hidden
ignore_broadcast_ssid=1
wpa=2
wpa_key_mgmt=WPA-PSK
rsn_pairwise=CCMP
wpa_passphrase=correct horse battery
EOF
sta_common='ctrl_interface=/run/wpa_supplicant'
cat >"$root/etc/sta-psk.conf" <<EOF
$sta_common
network={
    ssid="kboot-psk"
    key_mgmt=WPA-PSK WPA-PSK-SHA256
    ieee80211w=1
    psk="correct horse battery"
}
EOF
cat >"$root/etc/sta-sae.conf" <<EOF
$sta_common
sae_pwe=2
network={
    ssid="kboot-sae"
    key_mgmt=SAE
    ieee80211w=2
    sae_password="correct horse battery"
}
EOF
cat >"$root/etc/sta-open.conf" <<EOF
$sta_common
network={
    ssid="kboot-open"
    key_mgmt=NONE
}
EOF
cat >"$root/etc/sta-hidden.conf" <<EOF
$sta_common
network={
    ssid="kboot-hidden"
    scan_ssid=1
    key_mgmt=WPA-PSK
    psk="correct horse battery"
}
EOF

cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
for m in $(cat /lib/order); do
    args=""
    [ $m != mac80211_hwsim ] || args=radios=2
    insmod /lib/$m.ko $args || echo "SMOKE insmod $m FAIL"
done
sleep 1
echo "SMOKE interfaces: $(ls /sys/class/net | tr '\n' ' ')"
wpa_supplicant -v | head -1
hostapd -v 2>&1 | head -1
for net in psk sae open hidden; do
    rm -rf /run/hostapd /run/wpa_supplicant
    hostapd /etc/ap-$net.conf >/tmp/ap-$net.log 2>&1 &
    ap=$!
    sleep 2
    start=$(cut -d. -f1 /proc/uptime)
    wpa_supplicant -i wlan1 -c /etc/sta-$net.conf >/tmp/sta-$net.log 2>&1 &
    sta=$!
    ok=0
    for i in $(seq 60); do
        grep -q CTRL-EVENT-CONNECTED /tmp/sta-$net.log && { ok=1; break; }
        sleep 1
    done
    if [ $ok = 1 ]; then
        echo "SMOKE $net OK after $(( $(cut -d. -f1 /proc/uptime) - start )) s: $(grep -m1 CTRL-EVENT-CONNECTED /tmp/sta-$net.log)"
        ls /run/wpa_supplicant/wlan1 >/dev/null 2>&1 && echo "SMOKE $net control socket /run/wpa_supplicant/wlan1 present"
    else
        echo "SMOKE $net FAIL"
        tail -15 /tmp/ap-$net.log
        tail -15 /tmp/sta-$net.log
    fi
    kill $sta $ap
    wait $sta $ap 2>/dev/null
done
echo "SMOKE done"
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$tmp/initrd.cpio.gz"

# TCG, like the other QEMU tests (nested KVM on CI machines is not dependable).
timeout 600 qemu-system-x86_64 -accel tcg -m 512 -nographic -no-reboot -nodefaults -serial stdio \
    -kernel "$out/bzImage" -initrd "$tmp/initrd.cpio.gz" \
    -append "console=ttyS0 rdinit=/init panic=-1 quiet" | tee "$tmp/console.log" | grep --line-buffered SMOKE
grep -q 'SMOKE done' "$tmp/console.log" || { echo "smoke: the guest did not finish" >&2; exit 1; }
! grep -q 'SMOKE .*FAIL' "$tmp/console.log" || { grep -A30 'FAIL' "$tmp/console.log" >&2; exit 1; }
echo "smoke: all networks connected"
