#!/usr/bin/env bash
# A private Prosody to try epode against (the README's quick starts use it):
#
#   tests/servers/try.sh          start it (or say it runs), print its URLs and accounts
#   tests/servers/try.sh stop     stop it
#
# It listens on 127.0.0.1 only, ports 16222-16225 (EPODE_TRY_PORT sets the
# first), keeps its files in /tmp/epode-try (EPODE_TRY_DIR) and stays up
# until stopped. Installs Prosody with apt-get when it is missing (as root).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${EPODE_TRY_DIR:-/tmp/epode-try}
port=${EPODE_TRY_PORT:-16222}

case ${1:-start} in
start)
    if [ -s "$dir/prosody.pid" ] && kill -0 "$(cat "$dir/prosody.pid")" 2>/dev/null; then
        echo "try.sh: already running in $dir"
    else
        "$here/prosody.sh" start "$dir" "$port"
    fi
    # shellcheck disable=SC1091
    . "$dir/env"
    cat <<INFO
Prosody runs on 127.0.0.1 (stop it with: tests/servers/try.sh stop)
  WebSocket  $XMPP_WS_URL
  BOSH       $XMPP_BOSH_URL
  wss/https  $XMPP_WSS_URL  $XMPP_BOSH_HTTPS_URL  (CA: $XMPP_CA_FILE)
  accounts   alice@$XMPP_DOMAIN / alice-pass, bob@$XMPP_DOMAIN / bob-pass,
             carol@$XMPP_DOMAIN / carol-pass, dave@$XMPP_DOMAIN / dave-pass
  anonymous  $XMPP_ANON_DOMAIN
INFO
    ;;
stop) "$here/prosody.sh" stop "$dir" ;;
*)
    echo "usage: tests/servers/try.sh [start|stop]" >&2
    exit 2
    ;;
esac
