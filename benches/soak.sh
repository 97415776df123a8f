#!/usr/bin/env bash
# The soak test: a private ejabberd on 127.0.0.1 (started and stopped here
# unless EPODE_TEST_EJABBERD names a running one), then benches/soak.rs.
# Usage: benches/soak.sh [CONNECTIONS] [SECONDS] [--bosh] [--pollable]   (default 1000 120)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# Two descriptors per WebSocket connection here (socket, eventfd), three in
# pollable mode (and its epoll set), one per connection in ejabberd: raise
# the soft limit as far as the hard one (root may raise that too).
ulimit -n 100000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ -z "${EPODE_TEST_EJABBERD:-}" ]; then
    srv=$(mktemp -d /tmp/epode-soak.XXXXXX)
    trap 'tests/servers/ejabberd.sh stop "$srv/ejabberd" >/dev/null 2>&1 || true' EXIT
    tests/servers/ejabberd.sh start "$srv/ejabberd" "${EPODE_SOAK_PORT:-18322}" >/dev/null
    export EPODE_TEST_EJABBERD="$srv/ejabberd"
fi
cargo bench --quiet --bench soak -- "$@"
