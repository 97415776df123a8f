#!/usr/bin/env bash
# Runs the benchmark program against a private Prosody on 127.0.0.1
# (started and stopped here). Usage: benches/run.sh [ws|bosh] [N]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
srv=$(mktemp -d /tmp/epode-bench.XXXXXX)
trap 'tests/servers/prosody.sh stop "$srv/prosody" >/dev/null 2>&1 || true' EXIT
tests/servers/prosody.sh start "$srv/prosody" "${EPODE_BENCH_PORT:-18222}" >/dev/null
EPODE_TEST_PROSODY="$srv/prosody" cargo bench --bench xmpp -- "$@"
