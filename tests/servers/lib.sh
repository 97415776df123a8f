# Shared by prosody.sh and ejabberd.sh, which set SERVER and PACKAGES and
# then source this: messages, package installation, pid files, timing, TLS.

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

# True while the process exists and is not a zombie (reaped by init soon).
alive() {
    local stat
    # (read, not $(<file): under set -e a failing $(<file) ends the script)
    read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# Waits up to SECS until none of the given pids is alive. Returns 1 on timeout.
#   wait_gone SECS PID...
wait_gone() {
    local deadline=$(($(date +%s) + $1)) pid
    shift
    for pid in "$@"; do
        while alive "$pid"; do
            (($(date +%s) < deadline)) || return 1
            sleep 0.05
        done
    done
}

# SIGTERM to the first pid (a clean shutdown), then SIGKILL to all of them
# if they are not gone within SECS.
#   stop_pids SECS PID...
stop_pids() {
    local grace=$1
    shift
    kill -TERM "$1" 2>/dev/null || true
    if ! wait_gone "$grace" "$@"; then
        say "pid $1 did not stop after SIGTERM; killing it${2:+ and its helpers}"
        kill -KILL "$@" 2>/dev/null || true
        wait_gone 10 "$@" || die "processes $* are still there"
    fi
}

# Whether something listens on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A private CA, one server certificate for every host name given (and
# 127.0.0.1), and a client certificate for alice with exactly one xmppAddr
# (SASL EXTERNAL; with an empty authzid ejabberd refuses two). Kept across
# restarts; made again only when something is missing.
#   make_tls DIR CLIENT_JID HOST...
make_tls() {
    local tls=$1 client_jid=$2 names=() name
    shift 2
    for name in "$@"; do names+=("DNS:$name"); done
    local san
    san=$(IFS=,; echo "${names[*]}")
    if [ -s "$tls/ca.crt" ] && [ -s "$tls/server.pem" ] && [ -s "$tls/alice.crt" ] &&
        [ "$(cat "$tls/alice.jid" 2>/dev/null)" = "$client_jid" ]; then
        return 0
    fi
    rm -rf "$tls" && mkdir -p "$tls"
    cat >"$tls/openssl.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = $san,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[client_ext]
# Prosody checks a client certificate's purpose as if it were a server's:
# clientAuth alone is refused ("unsuitable certificate purpose").
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = otherName:1.3.6.1.5.5.7.8.5;UTF8:$client_jid
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
    (
        cd "$tls"
        umask 077
        key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
        sign() { # name subject extensions
            key "$1.key"
            openssl req -new -config openssl.cnf -key "$1.key" -subj "$2" -out "$1.csr"
            openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" \
                -days 825 -extfile openssl.cnf -extensions "$3" -out "$1.crt" 2>/dev/null
            rm -f "$1.csr"
        }
        key ca.key
        openssl req -new -x509 -config openssl.cnf -extensions ca_ext -key ca.key \
            -subj "/CN=epode test CA ($SERVER, $(date -u +%FT%TZ))" -days 3650 -out ca.crt
        sign server "/CN=$DOMAIN" server_ext
        sign alice "/CN=alice" client_ext
        cat server.crt server.key >server.pem # ejabberd's certfiles: certificate + key
        chmod 644 ./*.crt
        echo "$client_jid" >alice.jid
    ) || die "could not make the TLS files in $tls"
}
