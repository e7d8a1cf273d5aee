# Shared by the qemu/ scripts (sourced, not run): the cache folder, its locks, and apt installs
# that wait for a busy apt and leave no service enabled.

# Everything built or downloaded once lives here, keyed by content.
KBOOT_CACHE=${KBOOT_CACHE:-$HOME/.cache/kboot}
# rustup's cargo, also when qemu/setup has just installed it and the caller's PATH lacks it.
if [ -x "$HOME/.cargo/bin/cargo" ] && [[ ":$PATH:" != *":$HOME/.cargo/bin:"* ]]; then
    PATH=$HOME/.cargo/bin:$PATH
fi
sudo_cmd=""
[ "$(id -u)" = 0 ] || sudo_cmd=sudo

# with_lock NAME COMMAND...: run COMMAND holding the exclusive lock NAME of the cache. Every
# script that fills a cache entry takes that entry's lock, so two checkouts building at once
# wait for each other instead of writing into the same folder. The lock is a flock on a file
# under $KBOOT_CACHE/locks: the kernel drops it when the holder exits, however it exits.
with_lock() {
    local name=$1
    shift
    mkdir -p "$KBOOT_CACHE/locks"
    local file=$KBOOT_CACHE/locks/$name.lock
    (
        if ! flock -n 9; then
            echo "kboot: waiting for another build that holds the lock on $name ($file)" >&2
            flock 9
        fi
        "$@"
    ) 9>"$file"
}

# The services (systemd units and SysV start links) enabled on this machine now, one a line.
enabled_services() {
    {
        find /etc/systemd/system -mindepth 2 -maxdepth 2 -type l -path '*.wants/*' -printf '%f\n' 2>/dev/null || true
        { find /etc/rc2.d /etc/rc3.d /etc/rc4.d /etc/rc5.d -maxdepth 1 -name 'S*' -printf '%f\n' 2>/dev/null || true; } |
            sed 's/^S[0-9]*//; s/$/ (sysv)/'
    } | sort -u
}

# apt_update: apt-get update, waiting up to 15 minutes for the lock of apt's lists when another
# apt holds it (apt-get update does not honour DPkg::Lock::Timeout; install does).
apt_update() {
    local deadline=$((SECONDS + 900)) said="" out
    while :; do
        if out=$($sudo_cmd apt-get -o DPkg::Lock::Timeout=900 update -qq 2>&1); then
            [ -z "$out" ] || echo "$out" >&2
            return 0
        fi
        if grep -q 'Could not get lock\|Unable to lock' <<<"$out" && [ $SECONDS -lt $deadline ]; then
            if [ -z "$said" ]; then
                echo "kboot: another apt or dpkg is running ($(grep -o 'held by process [0-9]* ([^)]*)' <<<"$out" | head -1)); waiting for it to finish, up to 15 minutes" >&2
                said=1
            fi
            sleep 5
            continue
        fi
        echo "$out" >&2
        return 1
    done
}

# apt_install PACKAGE...: install the packages that are missing, without recommends. Waits up to
# 15 minutes when another apt or dpkg holds its lock (an unattended upgrade, a second checkout)
# instead of failing at once. A service that a package enabled is disabled and stopped right
# after: the tests start their servers themselves, on loopback or in network namespaces, and a
# developer's machine must not keep tgtd, rpcbind or dnsmasq listening after them.
apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    echo "kboot: installing ${missing[*]} (if another apt or dpkg runs, this waits for it, up to 15 minutes)" >&2
    # apt removes what conflicts (e.g. Debian 12's QEMU 7.2 replaces a qemu-utils from
    # backports): say so before it happens.
    local removed
    removed=$(apt-get -s install --no-install-recommends "${missing[@]}" 2>/dev/null | awk '/^Remv / {print $2}' | tr '\n' ' ')
    [ -z "$removed" ] || echo "kboot: to install these, apt removes ${removed}(they conflict with them)" >&2
    local before
    before=$(enabled_services)
    apt_update
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get -o DPkg::Lock::Timeout=900 install -y -qq \
        --no-install-recommends "${missing[@]}" >&2
    local new
    new=$(comm -13 <(echo "$before") <(enabled_services))
    [ -n "$new" ] || return 0
    local unit
    while read -r unit; do
        case "$unit" in
        *" (sysv)")
            unit=${unit% (sysv)}
            echo "kboot: disabling the SysV service $unit that the install enabled" >&2
            $sudo_cmd update-rc.d "$unit" disable >/dev/null 2>&1 || true
            [ -d /run/systemd/system ] || $sudo_cmd service "$unit" stop >/dev/null 2>&1 || true
            ;;
        *)
            echo "kboot: disabling the service $unit that the install enabled" >&2
            if [ -d /run/systemd/system ]; then
                $sudo_cmd systemctl disable --now "$unit" >/dev/null 2>&1 || true
            else
                $sudo_cmd systemctl disable "$unit" >/dev/null 2>&1 || true
            fi
            ;;
        esac
    done <<<"$new"
    # What systemctl could not disable (a unit linked by hand): remove its links.
    new=$(comm -13 <(echo "$before") <(enabled_services) | grep -v ' (sysv)$' || true)
    if [ -n "$new" ]; then
        while read -r unit; do
            $sudo_cmd find /etc/systemd/system -mindepth 2 -maxdepth 2 -type l -path "*.wants/$unit" -delete
        done <<<"$new"
    fi
}
