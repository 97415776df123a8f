#!/usr/bin/env bash
# The peer comparison (../shared/bench/run.sh: epode beside libstrophe,
# tokio-xmpp, Strophe.js ... on one private Prosody) with epode's TCP
# transport added: the shared harness knows only epode's WebSocket, BOSH
# and shared transports. This copies it to a work folder, adds the line
# `epode tcp` to its peers.txt, applies benches/peers/epode-tcp.patch to its
# epode program (tcp:// for the harness's host:port, plaintext allowed, as
# the bench server runs without TLS for every TCP peer) and runs it there.
#
#   benches/peers.sh [run.sh's arguments]    e.g. --only libstrophe --only epode
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${EPODE_SHARED_BENCH:-$root/../shared/bench}
[ -x "$shared/run.sh" ] || { echo "no harness at $shared (EPODE_SHARED_BENCH)" >&2; exit 1; }
copy=$(mktemp -d /tmp/epode-bench-harness.XXXXXX)
trap 'rm -rf "$copy"' EXIT
cp -r "$shared"/. "$copy"/
chmod -R u+w "$copy"
sed -i 's|^epode       websocket  peers/epode/bench$|epode       tcp        peers/epode/bench\n&|' "$copy/peers.txt"
grep -q '^epode  *tcp ' "$copy/peers.txt" || { echo "peers.txt has changed: cannot add epode tcp" >&2; exit 1; }
patch -s -d "$copy" -p0 <"$root/benches/peers/epode-tcp.patch"
cd "$root"
EPODE_DIR="$root" "$copy/run.sh" "$@"
