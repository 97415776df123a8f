#!/usr/bin/env bash
# The epode demo: starts a private Prosody on 127.0.0.1 (installing it with
# apt-get if needed), builds the library and the C examples, and logs in
# from C over every transport (WebSocket, BOSH, TCP, a shared connection,
# and a bare JID found by DNS SRV from a private dnsmasq),
# printing what happened. Stops the server it started.
# Run as root on Debian 12: examples-c/demo.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

if ! command -v cargo >/dev/null; then
    echo "demo.sh: cargo is needed (the Rust toolchain)" >&2
    exit 1
fi
for tool in cc make; do
    command -v "$tool" >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc make >/dev/null; }
done

srv=$(mktemp -d /tmp/epode-demo.XXXXXX)
trap 'tests/servers/prosody.sh stop "$srv/prosody" >/dev/null 2>&1 || true' EXIT
say "1. A private Prosody on 127.0.0.1"
tests/servers/prosody.sh start "$srv/prosody" "${EPODE_DEMO_PORT:-17222}"
# shellcheck disable=SC1091
. "$srv/prosody/env"

say "2. Building libepode and the C examples"
cargo build --release --quiet --lib
bin="$root/target/examples-c-release"
make -s -C examples-c PROFILE=release BUILD="$bin" all
status="$bin/status"
echo "built $(ls target/release/libepode.so target/release/libepode.a | tr '\n' ' ')"

failures=0
run() {
    local title=$1; shift
    say "$title"
    echo "\$ status $*"
    if "$status" "$@"; then echo "→ ok"; else echo "→ FAILED"; failures=$((failures + 1)); fi
}

run "3. WebSocket (RFC 7395), SCRAM-SHA-256 chosen" "$XMPP_WS_URL" "$XMPP_ALICE_JID" "$XMPP_ALICE_PASSWORD"
run "4. Secure WebSocket, certificate checked against the server's CA" "$XMPP_WSS_URL" "$XMPP_BOB_JID" "$XMPP_BOB_PASSWORD" "ca_file=$XMPP_CA_FILE"
run "5. BOSH (XEP-0124/0206)" "$XMPP_BOSH_URL" "$XMPP_CAROL_JID" "$XMPP_CAROL_PASSWORD"
run "6. BOSH over https in sync mode (the engine runs on the caller's thread)" "$XMPP_BOSH_HTTPS_URL" "$XMPP_ALICE_JID" "$XMPP_ALICE_PASSWORD" "ca_file=$XMPP_CA_FILE" sync=true
run "7. TCP (RFC 6120) with STARTTLS, certificate checked for the JID's domain" "tcp://127.0.0.1:$XMPP_C2S_PORT" "$XMPP_BOB_JID" "$XMPP_BOB_PASSWORD" "ca_file=$XMPP_CA_FILE"
run "8. TCP with TLS from the first byte (XEP-0368)" "tls://127.0.0.1:$XMPP_C2S_TLS_PORT" "$XMPP_CAROL_JID" "$XMPP_CAROL_PASSWORD" "ca_file=$XMPP_CA_FILE"
run "9. Anonymous login, PLAIN refused by the mechanisms option" "$XMPP_WS_URL" "$XMPP_ANON_DOMAIN" - mechanisms=ANONYMOUS
say "10. A wrong password: AUTHFAIL, then DISCONNECTED, and exit code 1"
echo "\$ status $XMPP_WS_URL $XMPP_ALICE_JID wrong-password"
if "$status" "$XMPP_WS_URL" "$XMPP_ALICE_JID" wrong-password; then
    echo "→ FAILED: a wrong password logged in"; failures=$((failures + 1))
else
    echo "→ refused, as it should be"
fi

say "11. A shared connection: two handles in one process, one socket, one login"
echo "\$ shared $XMPP_WS_URL $XMPP_DAVE_JID …"
if "$bin/shared" "$XMPP_WS_URL" "$XMPP_DAVE_JID" "$XMPP_DAVE_PASSWORD"; then
    echo "→ ok"
else
    echo "→ FAILED"; failures=$((failures + 1))
fi

say "12. A shared connection across two processes (worker=/path, a 0600 Unix socket)"
share=$(mktemp -d /tmp/epode-demo-share.XXXXXX)
mkfifo "$share/stdin"
echo "\$ status … --stay worker=$share/xmpp.sock &   # the first process logs in and stays"
"$status" "$XMPP_WS_URL" "$XMPP_DAVE_JID" "$XMPP_DAVE_PASSWORD" --stay "worker=$share/xmpp.sock" \
    <"$share/stdin" >"$share/first.out" 2>&1 &
first=$!
exec 8>"$share/stdin"
for _ in $(seq 100); do grep -qs "IQ result" "$share/first.out" && break; sleep 0.1; done
echo "\$ status … worker=$share/xmpp.sock     # the second attaches, pings, disconnects for both"
if "$status" "$XMPP_WS_URL" "$XMPP_DAVE_JID" "$XMPP_DAVE_PASSWORD" "worker=$share/xmpp.sock" | sed 's/^/  second: /'; then
    echo "→ ok"
else
    echo "→ FAILED"; failures=$((failures + 1))
fi
exec 8>&-
rc=0 && wait "$first" || rc=$?
sed 's/^/  first:  /' "$share/first.out"
[ "$rc" -eq 0 ] || { echo "→ the first process FAILED"; failures=$((failures + 1)); }
rm -rf "$share"

dns=$(mktemp -d /tmp/epode-demo-dns.XXXXXX)
printf 'srv-host=_xmpp-client._tcp.localhost,xmpp.test,%s,0,0\nhost-record=xmpp.test,127.0.0.1\n' "$XMPP_C2S_PORT" >"$dns/records.conf"
tests/servers/dns.sh start "$dns" "$((XMPP_C2S_PORT + 40))" >/dev/null
run "13. A bare JID: the server found by DNS SRV (a private dnsmasq on 127.0.0.1: _xmpp-client._tcp.localhost → xmpp.test:$XMPP_C2S_PORT)" \
    "" "$XMPP_ALICE_JID" "$XMPP_ALICE_PASSWORD" "ca_file=$XMPP_CA_FILE" "dns_server=127.0.0.1:$((XMPP_C2S_PORT + 40))"
tests/servers/dns.sh stop "$dns"
rm -rf "$dns"

say "Done: $((13 - failures)) of 13 sessions went as expected."
echo "demo: $((13 - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
