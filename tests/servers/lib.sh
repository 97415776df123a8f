# Shared by prosody.sh and ejabberd.sh, which set SERVER and PACKAGES and
# then source this: messages, package installation, pid files, timing.

say() { echo "$SERVER.sh: $*" >&2; }

die() {
    say "error: $*"
    exit 1
}

# Microseconds since the epoch, for the start time report.
now_us() { echo "${EPOCHREALTIME/[.,]/}"; }

since() { local us=$(($(now_us) - $1)); printf '%d.%02d' $((us / 1000000)) $((us % 1000000 / 10000)); }

install_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    (($(id -u) == 0)) || die "missing packages: ${missing[*]} (run as root to install them)"
    say "installing ${missing[*]}"
    # The packages' postinst would start the system services where systemd
    # runs; a temporary policy-rc.d (as in Docker images) keeps them down.
    local policy=/usr/sbin/policy-rc.d added=
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && added=1
    fi
    local rc=0
    {
        apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null
    } || rc=$?
    [ -n "$added" ] && rm -f "$policy"
    ((rc == 0)) || die "apt-get install ${missing[*]} failed"
}

# The pid in DIR's pid file if that process is alive and is really this
# instance's server (its command line names DIR), else nothing.
live_pid() {
    local dir=$1 pid
    pid=$(cat "$dir/$SERVER.pid" 2>/dev/null) || return 0
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$dir/"; then
        echo "$pid"
    fi
}

# Whether something listens on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
