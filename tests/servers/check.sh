#!/usr/bin/env bash
# Smoke check of started test servers: tests/servers/check.sh DIR...
# For each instance (DIR/env): BOSH session creation over http and https
# (curl, https verified against the instance's CA), then check.py for
# WebSocket on ws and wss, logins and the fault-injection hooks.
# Exits non-zero on the first instance with a failure; never skips.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

fail() {
    echo "check: FAIL $*" >&2
    exit 1
}

# POSTs a BOSH session request; the answer must carry a sid and stream
# features with SASL mechanisms. Prints the mechanisms.
bosh_session() {
    local url=$1 domain=$2
    shift 2
    local body out
    body="<body rid='$((RANDOM * 32768 + RANDOM + 1000))' to='$domain' xml:lang='en' wait='60' hold='1'"
    body+=" ver='1.6' xmpp:version='1.0' xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh'/>"
    out=$(curl -sS -m 15 --fail-with-body -H 'Content-Type: text/xml; charset=utf-8' --data "$body" "$@" "$url" 2>&1) ||
        fail "BOSH $url: $out"
    [[ $out =~ sid=[\'\"][^\'\"]+ ]] || fail "BOSH $url: no sid in: $out"
    [[ $out == *"stream:features"* ]] || fail "BOSH $url: no stream:features in: $out"
    [[ $out == *"<mechanism>"* ]] || fail "BOSH $url: no SASL mechanisms in: $out"
    grep -o '<mechanism>[^<]*' <<<"$out" | sed 's/<mechanism>//' | tr '\n' ' '
}

check_instance() {
    local dir=$1 mechs
    [ -s "$dir/env" ] || fail "$dir/env is missing: start the server first"
    (
        # shellcheck source=/dev/null
        . "$dir/env"
        local name=$XMPP_SERVER
        [ -s "$XMPP_CA_FILE" ] || fail "$name: CA file $XMPP_CA_FILE is missing"
        mechs=$(bosh_session "$XMPP_BOSH_URL" "$XMPP_DOMAIN")
        echo "check: ok   $name BOSH http  $XMPP_BOSH_URL: $mechs"
        mechs=$(bosh_session "$XMPP_BOSH_HTTPS_URL" "$XMPP_DOMAIN" --cacert "$XMPP_CA_FILE")
        echo "check: ok   $name BOSH https $XMPP_BOSH_HTTPS_URL: $mechs"
    )
    python3 "$here/check.py" "$dir" || fail "$dir (see above)"
}

[ $# -ge 1 ] || {
    echo "usage: $0 DIR... (instances started by prosody.sh / ejabberd.sh)" >&2
    exit 2
}
command -v curl >/dev/null || fail "curl is not installed"
command -v python3 >/dev/null || fail "python3 is not installed"
for dir in "$@"; do
    check_instance "$dir"
done
echo "check: all passed for $*"
