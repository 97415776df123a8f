#!/usr/bin/env bash
# A private ejabberd instance for epode's tests, listening on 127.0.0.1 only.
#
#   ejabberd.sh start DIR [BASE_PORT]  create/start the instance in DIR (default base 15322)
#   ejabberd.sh stop DIR               stop exactly the server this DIR started
#   ejabberd.sh env DIR                print DIR/env (export lines for the tests)
#
# Ports: BASE c2s (STARTTLS optional), BASE+1 c2s direct TLS, BASE+2 http,
# BASE+3 https (BOSH at /bosh, WebSocket at /ws), BASE+4 c2s for SASL
# EXTERNAL (STARTTLS required, client certificate verified), BASE+5 HTTP API
# (mod_http_api at /api), BASE+9 Erlang distribution (no epmd).
# Never touches the Debian system service, /etc/ejabberd or epmd; see README.md.
set -euo pipefail

SERVER=ejabberd
DEFAULT_BASE=15322
PACKAGES=(ejabberd erlang-p1-oauth2 openssl curl)
# shellcheck source=tests/servers/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
DOMAIN=localhost
SCRAM_DOMAIN=scram.localhost
ANON_DOMAIN=anon.localhost
USERS=(alice bob carol)

# Absolute, and free of characters that would need quoting in the generated
# YAML, Erlang arguments and shell wrappers.
instance_dir() {
    local dir
    dir=$(realpath -m -- "$1")
    [[ $dir =~ ^[A-Za-z0-9._/+@-]+$ ]] || die "DIR must not contain spaces, quotes or other special characters: $dir"
    echo "$dir"
}

# --- packages -----------------------------------------------------------------


# Where Debian puts ejabberd's and the p1 libraries' applications
# (/usr/lib/<multiarch triplet>); what ejabberdctl passes as ERL_LIBS.
erl_libs() {
    local ebin
    for ebin in /usr/lib/*/ejabberd-*/ebin; do
        [ -e "$ebin/ejabberd.app" ] && {
            dirname "$(dirname "$ebin")"
            return 0
        }
    done
    die "ejabberd's ebin directory was not found under /usr/lib/*/"
}

# --- TLS ----------------------------------------------------------------------

# A private CA, one server certificate for every host name (and 127.0.0.1),
# and a client certificate for alice with exactly one xmppAddr (with an empty
# authzid, ejabberd refuses a certificate carrying two).
# Kept across restarts; made again only when something is missing.
make_tls() {
    local tls=$1 client_jid=$2
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
subjectAltName = DNS:$DOMAIN, DNS:$SCRAM_DOMAIN, DNS:$ANON_DOMAIN, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[client_ext]
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

# --- processes ----------------------------------------------------------------

# The pids of every process below $1. The VM's helpers (erl_child_setup,
# and inet_gethost below it) make sessions of their own, so the server's
# process group alone does not cover them.
descendants() {
    local -A parent=()
    local f s pid ppid
    for f in /proc/[0-9]*/stat; do
        read -r s 2>/dev/null <"$f" || continue
        pid=${s%% *}
        s=${s##*) } # after "(comm) ": state ppid ...
        ppid=${s#* }
        parent[$pid]=${ppid%% *}
    done
    local queue=("$1") p c
    while ((${#queue[@]})); do
        p=${queue[0]}
        queue=("${queue[@]:1}")
        for c in "${!parent[@]}"; do
            [ "${parent[$c]}" = "$p" ] && echo "$c" && queue+=("$c")
        done
    done
    return 0
}

# True while the process exists and is not a zombie (reaped by init soon).
alive() {
    local stat
    # (read, not $(<file): under set -e a failing $(<file) ends the script)
    read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# Waits until none of the given pids is alive. Returns 1 on timeout.
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

# SIGTERM to beam.smp (the VM runs init:stop(), a clean mnesia shutdown;
# its helpers exit with it), SIGKILL to all of them if they are not gone
# within 30 s.
kill_server() {
    local pid=$1 helpers
    helpers=$(descendants "$pid")
    kill -TERM "$pid" 2>/dev/null || true
    # shellcheck disable=SC2086 # one pid a word
    if ! wait_gone 30 "$pid" $helpers; then
        say "pid $pid did not stop after SIGTERM; killing it and its helpers"
        kill -KILL "$pid" $helpers 2>/dev/null || true
        wait_gone 10 "$pid" $helpers || die "processes $pid $helpers are still there"
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
    cat >"$dir/ejabberd.yml" <<EOF
# Generated by tests/servers/ejabberd.sh: a private test instance, loopback only.
hosts:
  - $DOMAIN
  - $SCRAM_DOMAIN
  - $ANON_DOMAIN

loglevel: info
certfiles:
  - $tls/server.pem
ca_file: $tls/ca.crt
c2s_cafile: $tls/ca.crt # verifies client certificates (SASL EXTERNAL)

# DOMAIN keeps plain passwords: every SCRAM hash can be computed, so
# SCRAM-SHA-1/256/512 are all offered.
auth_method: internal
auth_password_format: plain
host_config:
  $SCRAM_DOMAIN:
    auth_password_format: scram
    auth_scram_hash: sha512
  $ANON_DOMAIN:
    auth_method: anonymous
    anonymous_protocol: sasl_anon

# No server-to-server: no s2s listener, and no outgoing s2s either (a
# stanza to a remote domain bounces at once instead of a DNS look-up).
s2s_access: none

# X-OAUTH2 tokens (oauth_issue_token through the API); needs erlang-p1-oauth2.
# Without oauth_access the API answers "badpass" to oauth_issue_token.
oauth_expire: 86400
oauth_access: all

# No shaper on any listener, no mod_fail2ban, no max_user_sessions:
# tests and benchmarks must not be throttled or banned. backlog: the
# default of 5 drops connections that many parallel clients open at once.
listen:
  - port: $base
    ip: 127.0.0.1
    backlog: 1024
    module: ejabberd_c2s
    starttls: true
    max_stanza_size: 262144
  - port: $((base + 1))
    ip: 127.0.0.1
    backlog: 1024
    module: ejabberd_c2s
    tls: true
    max_stanza_size: 262144
  - port: $((base + 4))
    ip: 127.0.0.1
    backlog: 1024
    module: ejabberd_c2s
    starttls_required: true
    tls_verify: true
    max_stanza_size: 262144
  - port: $((base + 2))
    ip: 127.0.0.1
    backlog: 1024
    module: ejabberd_http
    request_handlers:
      /bosh: mod_bosh
      /ws: ejabberd_http_ws
  - port: $((base + 3))
    ip: 127.0.0.1
    backlog: 1024
    module: ejabberd_http
    tls: true
    request_handlers:
      /bosh: mod_bosh
      /ws: ejabberd_http_ws
  - port: $((base + 5))
    ip: 127.0.0.1
    backlog: 1024
    module: ejabberd_http
    request_handlers:
      /api: mod_http_api

acl:
  loopback:
    ip:
      - 127.0.0.0/8

access_rules:
  local:
    allow: all
  c2s:
    allow: all

# Everything to callers on loopback (registration, kicks, tokens) and to
# DIR/ctl; nothing else listens anyway.
api_permissions:
  "console commands":
    from:
      - ejabberd_ctl
    who: all
    what: "*"
  "loopback api":
    from:
      - mod_http_api
    who:
      ip: 127.0.0.0/8
    what: "*"

modules:
  mod_adhoc: {}
  mod_admin_extra: {} # kick_session, change_password, send_message, ...
  mod_blocking: {}
  mod_bosh: {}
  mod_caps: {}
  mod_carboncopy: {}
  mod_disco: {}
  mod_http_api: {}
  mod_last: {}
  mod_offline: {}
  mod_ping: {}
  mod_privacy: {}
  mod_private: {}
  mod_roster: {}
  mod_stream_mgmt:
    resume_timeout: 60
    resend_on_timeout: if_offline
  mod_vcard: {}
  mod_version: {}
EOF

    # The VM's settings, shared by start, DIR/ctl and DIR/eval.
    local node="ejabberd$base@localhost"
    cat >"$dir/instance" <<EOF
# ejabberd test instance in $dir (sourced by ctl, eval and ejabberd.sh)
NODE=$node
DIST_PORT=$((base + 9))
export HOME=$dir
export ERL_LIBS=$(erl_libs)
export EJABBERD_CONFIG_PATH=$dir/ejabberd.yml
export EJABBERD_LOG_PATH=$dir/log/ejabberd.log
export ERL_CRASH_DUMP=$dir/log/erl_crash.dump
EOF

    # DIR/ctl: ejabberdctl for this node. /usr/sbin/ejabberdctl itself would
    # su to the ejabberd user and look the node up through epmd; this is the
    # same call (ejabberd_ctl in a hidden VM), with the fixed port instead.
    cat >"$dir/ctl" <<EOF
#!/bin/sh
# ejabberdctl for the ejabberd test instance in $dir
. '$dir/instance'
exec erl -sname "ctl\$\$-\$NODE" -hidden -noinput -start_epmd false -erl_epmd_port "\$DIST_PORT" \\
    -dist_listen false -s ejabberd_ctl -extra "\$NODE" "\$@"
EOF

    # DIR/eval 'EXPRS': parses the expressions here, evaluates them on the
    # node (erl_eval through rpc) and prints the value; exit 1 on an error.
    cat >"$dir/eval" <<EOF
#!/bin/sh
# Evaluates Erlang expressions on the ejabberd test instance in $dir
[ \$# -eq 1 ] || { echo "usage: \$0 'Erlang expressions'" >&2; exit 2; }
. '$dir/instance'
exec erl -sname "eval\$\$-\$NODE" -hidden -noinput -start_epmd false -erl_epmd_port "\$DIST_PORT" \\
    -dist_listen false -eval '
    [Node, Text] = init:get_plain_arguments(),
    Result = try
        Bare = string:trim(string:trim(Text, trailing), trailing, "."),
        {ok, Tokens, _} = erl_scan:string(Bare ++ "."),
        {ok, Exprs} = erl_parse:parse_exprs(Tokens),
        rpc:call(list_to_atom(Node), erl_eval, exprs, [Exprs, []], 60000)
    catch Class:Reason -> {error, {Class, Reason}}
    end,
    case Result of
        {value, Value, _} -> io:format("~p~n", [Value]), halt(0);
        _ -> io:format(standard_error, "eval failed: ~p~n", [Result]), halt(1)
    end.' -extra "\$NODE" "\$1"
EOF
    chmod 755 "$dir/ctl" "$dir/eval"

    # The distribution cookie is private to this instance (HOME=DIR).
    if [ ! -s "$dir/.erlang.cookie" ]; then
        (umask 077 && openssl rand -hex 20 | tr -d '\n' >"$dir/.erlang.cookie")
    fi
}

# POST to mod_http_api; prints the answer, fails on an HTTP error.
api() {
    local base=$1 command=$2 json=$3
    curl -sS -m 20 --fail-with-body -H 'Content-Type: application/json' \
        -d "$json" "http://127.0.0.1:$((base + 5))/api/$command"
}

# Registers (or, when they exist, resets the passwords of) the accounts.
register_accounts() {
    local base=$1 user host out
    for host in "$DOMAIN" "$SCRAM_DOMAIN"; do
        for user in "${USERS[@]}"; do
            local who="\"user\":\"$user\",\"host\":\"$host\""
            if ! out=$(api "$base" register "{$who,\"password\":\"$user-pass\"}" 2>&1); then
                [[ $out == *"already registered"* ]] || die "register $user@$host: $out"
                out=$(api "$base" change_password "{$who,\"newpass\":\"$user-pass\"}" 2>&1) ||
                    die "change_password $user@$host: $out"
            fi
        done
    done
}

# A token that SASL X-OAUTH2 accepts for alice@DOMAIN, valid 24 h.
issue_token() {
    local base=$1 out
    out=$(api "$base" oauth_issue_token "{\"jid\":\"alice@$DOMAIN\",\"ttl\":86400,\"scopes\":\"sasl_auth\"}" 2>&1) ||
        die "oauth_issue_token: $out"
    out=$(sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p' <<<"$out")
    [ -n "$out" ] || die "oauth_issue_token returned no token"
    echo "$out"
}

write_env() {
    local dir=$1 base=$2 pid=$3 token=$4 version user
    version=$(dpkg-query -W -f='${Version}' ejabberd)
    local http=$((base + 2)) https=$((base + 3))
    {
        echo "# ejabberd test instance, written by tests/servers/ejabberd.sh"
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
        e XMPP_BOSH_URL "http://127.0.0.1:$http/bosh"
        e XMPP_BOSH_HTTPS_URL "https://127.0.0.1:$https/bosh"
        e XMPP_WS_URL "ws://127.0.0.1:$http/ws"
        e XMPP_WSS_URL "wss://127.0.0.1:$https/ws"
        e XMPP_EXTERNAL_DOMAIN "$DOMAIN"
        e XMPP_EXTERNAL_PORT "$((base + 4))"
        e XMPP_CA_FILE "$dir/tls/ca.crt"
        e XMPP_CLIENT_CERT "$dir/tls/alice.crt"
        e XMPP_CLIENT_KEY "$dir/tls/alice.key"
        e XMPP_CLIENT_CERT_JID "alice@$DOMAIN"
        e XMPP_USERS "${USERS[*]}"
        for user in "${USERS[@]}"; do
            e "XMPP_${user^^}_JID" "$user@$DOMAIN"
            e "XMPP_${user^^}_PASSWORD" "$user-pass"
        done
        e XMPP_API_URL "http://127.0.0.1:$((base + 5))/api"
        e XMPP_ALICE_OAUTH_TOKEN "$token"
        e XMPP_CTL "$dir/ctl"
        e XMPP_EVAL "$dir/eval"
        e XMPP_PID "$pid"
        e XMPP_LOG "$dir/log/ejabberd.log"
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
        local token
        register_accounts "$base"
        token=$(issue_token "$base")
        write_env "$dir" "$base" "$pid" "$token"
        say "already running in $dir (pid $pid); env written"
        return 0
    fi

    for port in "$base" $((base + 1)) $((base + 2)) $((base + 3)) $((base + 4)) $((base + 5)) $((base + 9)); do
        port_open "$port" && die "127.0.0.1:$port is already in use (another instance? pick another BASE_PORT)"
    done

    install_packages
    rm -f "$dir/env" "$dir/$SERVER.pid"
    # mnesia's schema belongs to the node name, which contains the base port:
    # a database made under another base is dropped (the accounts are made
    # again below anyway).
    if [ "$(cat "$dir/base" 2>/dev/null)" != "$base" ]; then
        rm -rf "$dir/db"
    fi
    mkdir -p "$dir/db" "$dir/log"
    echo "$base" >"$dir/base"
    make_tls "$dir/tls" "alice@$DOMAIN"
    write_config "$dir" "$base"

    # The VM directly (see ctl above for why not ejabberdctl): no epmd, the
    # distribution listens on 127.0.0.1:BASE+9 only. erl execs down to
    # beam.smp, so $! is the VM's pid; setsid detaches it from the caller's
    # terminal and process group.
    (
        # shellcheck source=/dev/null
        . "$dir/instance" # NODE, DIST_PORT and the VM's environment
        cd "$dir"
        # shellcheck disable=SC2153
        exec setsid erl -sname "$NODE" -noinput +K true +P 250000 \
            -start_epmd false -erl_epmd_port "$DIST_PORT" \
            -kernel inet_dist_use_interface '{127,0,0,1}' \
            -mnesia dir "\"$dir/db\"" \
            -s ejabberd -ejabberd quiet true \
            >"$dir/log/erl.out" 2>&1 </dev/null
    ) &
    pid=$!
    echo "$pid" >"$dir/$SERVER.pid"
    # From here on, a failure stops the server again: no half-made instance.
    # shellcheck disable=SC2064 # expanded now: pid and dir are locals
    trap "kill_server $pid; rm -f '$dir/$SERVER.pid'" EXIT

    # Ready when BOSH answers over http and every listener accepts
    # connections (the listeners are started last).
    local deadline=$(($(date +%s) + 60))
    until curl -s -o /dev/null -m 2 "http://127.0.0.1:$((base + 2))/bosh" &&
        port_open "$base" && port_open $((base + 1)) && port_open $((base + 3)) &&
        port_open $((base + 4)) && port_open $((base + 5)); do
        if ! alive "$pid" || (($(date +%s) >= deadline)); then
            say "ejabberd did not come up; last lines of its logs:"
            tail -n 20 "$dir/log/ejabberd.log" "$dir/log/error.log" "$dir/log/erl.out" >&2 2>/dev/null || true
            exit 1
        fi
        sleep 0.05
    done

    local token
    register_accounts "$base"
    token=$(issue_token "$base")
    write_env "$dir" "$base" "$pid" "$token"
    trap - EXIT
    say "started in $dir (pid $pid, ports $base-$((base + 5)), dist $((base + 9))) in $(since "$t0") s"
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
        if ! [[ $base =~ ^[0-9]+$ ]] || ((base <= 1024 || base + 9 >= 65536)); then
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
