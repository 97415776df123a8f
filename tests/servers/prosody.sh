#!/usr/bin/env bash
# A private Prosody instance for epode's tests, listening on 127.0.0.1 only.
#
#   prosody.sh start DIR [BASE_PORT]   create/start the instance in DIR (default base 15222)
#   prosody.sh stop DIR                stop exactly the server this DIR started
#   prosody.sh env DIR                 print DIR/env (export lines for the tests)
#
# Ports: BASE c2s (STARTTLS optional on localhost), BASE+1 c2s direct TLS,
# BASE+2 http, BASE+3 https (BOSH at /http-bind, WebSocket at /xmpp-websocket).
# Never touches the Debian system service or /etc/prosody; see README.md.
set -euo pipefail

SERVER=prosody
DEFAULT_BASE=15222
PACKAGES=(prosody prosody-modules openssl curl)
# shellcheck source=tests/servers/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
DOMAIN=localhost
SCRAM_DOMAIN=scram.localhost
ANON_DOMAIN=anon.localhost
CERT_DOMAIN=cert.localhost # SASL EXTERNAL (mod_auth_ccert, prosody-modules)
USERS=(alice bob carol)

# Absolute, and free of characters that would need quoting in the generated
# Lua config and shell wrappers. Unix socket paths are limited to 108 bytes,
# and the admin socket lives at DIR/data/prosody.sock.
instance_dir() {
    local dir
    dir=$(realpath -m -- "$1")
    [[ $dir =~ ^[A-Za-z0-9._/+@-]+$ ]] || die "DIR must not contain spaces, quotes or other special characters: $dir"
    ((${#dir} <= 85)) || die "DIR is too long for the admin socket path (max 85 characters): $dir"
    echo "$dir"
}

# --- packages -----------------------------------------------------------------


# --- TLS ----------------------------------------------------------------------

# A private CA, one server certificate for every host name (and 127.0.0.1),
# and a client certificate for alice with one xmppAddr (SASL EXTERNAL).
# Kept across restarts; made again only when something is missing.
make_tls() {
    local tls=$1 client_jid=$2
    if [ -s "$tls/ca.crt" ] && [ -s "$tls/server.crt" ] && [ -s "$tls/alice.crt" ] &&
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
subjectAltName = DNS:$DOMAIN, DNS:$SCRAM_DOMAIN, DNS:$ANON_DOMAIN, DNS:$CERT_DOMAIN, IP:127.0.0.1
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
        cat server.crt server.key >server.pem
        chmod 644 ./*.crt
        echo "$client_jid" >alice.jid
    ) || die "could not make the TLS files in $tls"
}

# --- processes ----------------------------------------------------------------

# True while the process exists and is not a zombie (reaped by init soon).
alive() {
    local stat
    # (read, not $(<file): under set -e a failing $(<file) ends the script)
    read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# Waits until the server is gone. Returns 1 on timeout.
wait_gone() {
    local pid=$1 deadline=$(($(date +%s) + $2))
    while alive "$pid"; do
        (($(date +%s) < deadline)) || return 1
        sleep 0.05
    done
}

# SIGTERM to the server (a clean shutdown), SIGKILL if it is not gone
# within 20 s. Prosody starts no helper processes.
kill_server() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" 20; then
        say "pid $pid did not stop after SIGTERM; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        wait_gone "$pid" 10 || die "pid $pid is still there"
    fi
}

stop_instance() {
    local dir=$1 pid t0
    t0=$(now_us)
    pid=$(live_pid "$dir")
    if [ -z "$pid" ]; then
        say "not running in $dir"
        rm -f "$dir/$SERVER.pid"
        return 0
    fi
    kill_server "$pid"
    rm -f "$dir/$SERVER.pid"
    say "stopped (pid $pid) in $(since "$t0") s"
}

# True when something accepts TCP connections on 127.0.0.1:$1.

# --- configuration ------------------------------------------------------------

write_config() {
    local dir=$1 base=$2
    local tls=$dir/tls
    cat >"$dir/prosody.cfg.lua" <<EOF
-- Generated by tests/servers/prosody.sh: a private test instance, loopback only.
run_as_root = true -- CI runs as root; mod_posix refuses it otherwise
pidfile = "$dir/prosody.pid"
data_path = "$dir/data"
log = { { levels = { min = "info" }, to = "file", filename = "$dir/prosody.log" } }
gc = { mode = "generational" }

interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { $base }
c2s_direct_tls_ports = { $((base + 1)) }
http_ports = { $((base + 2)) }
http_interfaces = { "127.0.0.1" }
https_ports = { $((base + 3)) }
https_interfaces = { "127.0.0.1" }
http_default_host = "$DOMAIN"
network_settings = { tcp_backlog = 1024 } -- many parallel test clients connect at once

ssl = { certificate = "$tls/server.crt"; key = "$tls/server.key" }
certificates = "$tls" -- else every prosodyctl call complains about DIR/certs

-- No "limits" (rate limiting would distort tests and benchmarks), no
-- "register" (accounts come from prosodyctl), s2s off (it would bind 5269).
modules_enabled = {
    "roster"; "saslauth"; "tls"; "disco"; "carbons"; "pep"; "private";
    "blocklist"; "vcard_legacy"; "version"; "uptime"; "time"; "ping";
    "offline"; "smacks"; "bosh"; "websocket"; "admin_shell"; "posix";
}
modules_disabled = { "s2s" }

smacks_hibernation_time = 60

-- Relaxed host: PLAIN and SCRAM without TLS, every SCRAM hash computable.
VirtualHost "$DOMAIN"
    authentication = "internal_plain"
    c2s_require_encryption = false
    allow_unencrypted_plain_auth = true

-- Prosody's own defaults: TLS required, hashed storage with SHA-256.
VirtualHost "$SCRAM_DOMAIN"
    authentication = "internal_hashed"
    password_hash = "SHA-256"

-- ANONYMOUS on every transport, plain ws and BOSH over http included
-- (with encryption required, a plain ws stream gets no features at all).
VirtualHost "$ANON_DOMAIN"
    authentication = "anonymous"
    c2s_require_encryption = false

-- SASL EXTERNAL: a client certificate is asked for on STARTTLS.
VirtualHost "$CERT_DOMAIN"
    authentication = "ccert"
    c2s_ssl = {
        cafile = "$tls/ca.crt";
        capath = false;
        verify = { "peer"; "client_once" };
    }
EOF

    # DIR/ctl: prosodyctl bound to this instance (shell, register, ...).
    cat >"$dir/ctl" <<EOF
#!/bin/sh
# prosodyctl for the Prosody test instance in $dir
exec prosodyctl --config '$dir/prosody.cfg.lua' "\$@"
EOF
    chmod 755 "$dir/ctl"
}

register_accounts() {
    local dir=$1 user host
    for host in "$DOMAIN" "$SCRAM_DOMAIN"; do
        for user in "${USERS[@]}"; do
            "$dir/ctl" register "$user" "$host" "$user-pass" >/dev/null ||
                die "prosodyctl register $user@$host failed"
        done
    done
}

write_env() {
    local dir=$1 base=$2 pid=$3 version user
    version=$(dpkg-query -W -f='${Version}' prosody)
    local http=$((base + 2)) https=$((base + 3))
    {
        echo "# Prosody test instance, written by tests/servers/prosody.sh"
        e() { printf "export %s='%s'\n" "$1" "$2"; }
        e XMPP_SERVER "$SERVER"
        e XMPP_SERVER_VERSION "$version"
        e XMPP_HOST 127.0.0.1
        e XMPP_DOMAIN "$DOMAIN"
        e XMPP_SCRAM_DOMAIN "$SCRAM_DOMAIN"
        e XMPP_ANON_DOMAIN "$ANON_DOMAIN"
        e XMPP_C2S_PORT "$base"
        e XMPP_C2S_TLS_PORT "$((base + 1))"
        e XMPP_HTTP_PORT "$http"
        e XMPP_HTTPS_PORT "$https"
        e XMPP_BOSH_URL "http://127.0.0.1:$http/http-bind"
        e XMPP_BOSH_HTTPS_URL "https://127.0.0.1:$https/http-bind"
        e XMPP_WS_URL "ws://127.0.0.1:$http/xmpp-websocket"
        e XMPP_WSS_URL "wss://127.0.0.1:$https/xmpp-websocket"
        e XMPP_EXTERNAL_DOMAIN "$CERT_DOMAIN"
        e XMPP_EXTERNAL_PORT "$base"
        e XMPP_CA_FILE "$dir/tls/ca.crt"
        e XMPP_CLIENT_CERT "$dir/tls/alice.crt"
        e XMPP_CLIENT_KEY "$dir/tls/alice.key"
        e XMPP_CLIENT_CERT_JID "alice@$CERT_DOMAIN"
        e XMPP_USERS "${USERS[*]}"
        for user in "${USERS[@]}"; do
            e "XMPP_${user^^}_JID" "$user@$DOMAIN"
            e "XMPP_${user^^}_PASSWORD" "$user-pass"
        done
        e XMPP_CTL "$dir/ctl"
        e XMPP_PID "$pid"
        e XMPP_LOG "$dir/prosody.log"
        e XMPP_DIR "$dir"
    } >"$dir/env.tmp"
    mv "$dir/env.tmp" "$dir/env"
}

# --- start --------------------------------------------------------------------

start_instance() {
    local dir=$1 base=$2 t0 pid port
    t0=$(now_us)
    mkdir -p "$dir"

    # Already running: cheap and idempotent, as long as it is the same base.
    pid=$(live_pid "$dir")
    if [ -n "$pid" ]; then
        local running
        running=$(cat "$dir/base")
        [ "$running" = "$base" ] || die "the instance in $dir runs on base port $running, not $base; stop it first"
        if [ -s "$dir/env" ] && port_open "$((base + 2))"; then
            say "already running in $dir (pid $pid)"
            return 0
        fi
        register_accounts "$dir"
        write_env "$dir" "$base" "$pid"
        say "already running in $dir (pid $pid); env written"
        return 0
    fi

    for port in "$base" $((base + 1)) $((base + 2)) $((base + 3)); do
        port_open "$port" && die "127.0.0.1:$port is already in use (another instance? pick another BASE_PORT)"
    done

    install_packages
    rm -f "$dir/env" "$dir/$SERVER.pid"
    mkdir -p "$dir/data"
    echo "$base" >"$dir/base"
    make_tls "$dir/tls" "alice@$CERT_DOMAIN"
    write_config "$dir" "$base"
    register_accounts "$dir" # works on the stores directly, before the start

    # setsid: its own session, detached from the caller's terminal and job
    # control (a Ctrl-C in the caller's shell does not reach it).
    setsid prosody --config "$dir/prosody.cfg.lua" -F >"$dir/prosody.out" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$dir/$SERVER.pid" # mod_posix writes the same pid here
    # From here on, a failure stops the server again: no half-made instance.
    # shellcheck disable=SC2064 # expanded now: pid and dir are locals
    trap "kill_server $pid; rm -f '$dir/$SERVER.pid'" EXIT

    # Ready when BOSH answers over http and every port accepts connections
    # (Prosody keeps running when one port fails to bind).
    local deadline=$(($(date +%s) + 30))
    until curl -s -o /dev/null -m 2 "http://127.0.0.1:$((base + 2))/http-bind" &&
        port_open "$base" && port_open $((base + 1)) && port_open $((base + 3)); do
        if ! alive "$pid" || (($(date +%s) >= deadline)); then
            say "Prosody did not come up; last lines of $dir/prosody.log and prosody.out:"
            tail -n 20 "$dir/prosody.log" "$dir/prosody.out" >&2 || true
            exit 1
        fi
        sleep 0.05
    done

    write_env "$dir" "$base" "$pid"
    trap - EXIT
    say "started in $dir (pid $pid, ports $base-$((base + 3))) in $(since "$t0") s"
}

main() {
    local cmd=${1:-} dir
    [ $# -ge 2 ] || {
        echo "usage: $0 start DIR [BASE_PORT] | stop DIR | env DIR" >&2
        exit 2
    }
    dir=$(instance_dir "$2")
    case $cmd in
    start)
        local base=${3:-$DEFAULT_BASE}
        if ! [[ $base =~ ^[0-9]+$ ]] || ((base <= 1024 || base + 3 >= 65536)); then
            die "bad BASE_PORT: $base"
        fi
        start_instance "$dir" "$base"
        ;;
    stop) stop_instance "$dir" ;;
    env)
        [ -s "$dir/env" ] || die "no env in $dir: is the instance started?"
        cat "$dir/env"
        ;;
    *) die "unknown command: $cmd (start, stop, env)" ;;
    esac
}

main "$@"
