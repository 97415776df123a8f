#!/usr/bin/env bash
# Runs every test of epode on a fresh Debian machine (as root): installs
# what is missing, starts private Prosody and ejabberd instances on
# 127.0.0.1, runs the Rust, C and Python tests against them, and stops
# exactly the servers it started. Exits non-zero if anything fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

step() { printf '\n==== %s\n' "$*"; }

# Everything is also kept in a log, to add up the counts at the end.
log=$(mktemp /tmp/epode-tests.XXXXXX.log)
exec > >(tee "$log") 2>&1

step "tools"
missing=()
for tool in gcc g++ make curl python3 pkg-config readelf clang-format; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
# X11's headers: tests/c/xlib_test.c includes epode.h after Xlib.h.
[ -e /usr/include/X11/Xlib.h ] || missing+=(libx11-dev)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc g++ make curl python3 pkg-config binutils libx11-dev \
        clang-format >/dev/null
fi
python3 -m pytest --version >/dev/null 2>&1 || python3 -m pip install -q pytest
rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt clippy >/dev/null 2>&1 || true

step "format and lints"
cargo fmt --check
cargo clippy --quiet --all-targets -- -D warnings
# The C of the examples and C tests, in the style of .clang-format.
clang-format --dry-run --Werror examples-c/*.c tests/c/*.c tests/c/*.h
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps

step "MSRV (Cargo.toml's rust-version)"
msrv=$(sed -n 's/^rust-version *= *"\(.*\)"/\1/p' Cargo.toml)
if cargo "+$msrv" --version >/dev/null 2>&1; then
    echo "building with the $msrv toolchain"
    cargo "+$msrv" check --quiet --locked --all-targets
else
    # No $msrv toolchain here: clippy's incompatible_msrv lint (which reads
    # rust-version) refuses standard-library items newer than it, and every
    # dependency built for this host must declare a rust-version <= it.
    echo "no $msrv toolchain: clippy incompatible_msrv and the dependencies' rust-version instead"
    CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback \
        cargo clippy --quiet --locked --all-targets -- -D clippy::incompatible_msrv
    meta=$(mktemp /tmp/epode-metadata.XXXXXX.json)
    cargo metadata --quiet --format-version 1 --locked \
        --filter-platform "$(rustc -vV | sed -n 's/^host: //p')" >"$meta"
    python3 - "$meta" <<'PY'
import json, sys
meta = json.load(open(sys.argv[1]))
def version(s):
    parts = [int(x) for x in s.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))
root = next(p for p in meta["packages"] if p["id"] == meta["resolve"]["root"])
used = {n["id"] for n in meta["resolve"]["nodes"]}
newer = [f"{p['name']} {p['version']} needs Rust {p['rust_version']}" for p in meta["packages"]
         if p["id"] in used and p["rust_version"] and version(p["rust_version"]) > version(root["rust_version"])]
print("\n".join(newer) or f"{len(used)} packages, none needs more than Rust {root['rust_version']}")
sys.exit(1 if newer else 0)
PY
    rm -f "$meta"
fi

step "servers"
# The soak test holds 1,000 connections: 2 descriptors each here, 1 in ejabberd.
ulimit -n "$(ulimit -Hn)"
srv=$(mktemp -d /tmp/epode-servers.XXXXXX)
stop_servers() {
    [ -z "${try_ours:-}" ] || tests/servers/try.sh stop >/dev/null 2>&1 || true
    tests/servers/prosody.sh stop "$srv/prosody" || true
    tests/servers/ejabberd.sh stop "$srv/ejabberd" || true
}
trap stop_servers EXIT
tests/servers/prosody.sh start "$srv/prosody" "${EPODE_PROSODY_PORT:-15222}"
tests/servers/ejabberd.sh start "$srv/ejabberd" "${EPODE_EJABBERD_PORT:-15322}"
tests/servers/check.sh "$srv/prosody" "$srv/ejabberd"
export EPODE_TEST_PROSODY="$srv/prosody" EPODE_TEST_EJABBERD="$srv/ejabberd"

step "Rust tests (unit, integration against the servers, header freshness)"
# The cross-process tests run Python children on the cdylib: build it first.
cargo build --quiet --lib
cargo test --quiet -- --test-threads=4

step "Rust tests again under AddressSanitizer (unit and integration)"
# -Zsanitizer is unstable: RUSTC_BOOTSTRAP=1 lets the stable toolchain take
# it. The sanitized build has its own target directory.
# Child processes (Python on ctypes) load the plain debug build.
EPODE_LIB="$root/target/debug/libepode.so" \
RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zsanitizer=address" cargo test --quiet \
    --target "$(rustc -vV | sed -n 's/^host: //p')" --target-dir target/asan \
    --lib --tests -- --test-threads=4

step "C tests (as C and C++, AddressSanitizer + UBSan)"
tests/c/run.sh

step "Python ctypes tests (a debug build: debug assertions on)"
cargo build --quiet --lib
EPODE_LIB="$root/target/debug/libepode.so" python3 -m pytest -q tests/python

step "Python package: pip install in a fresh venv, mypy, the tests on the installed package"
venv=$(mktemp -d /tmp/epode-venv.XXXXXX)
# Debian's python3 makes no venv until python3-venv is installed.
python3 -m venv "$venv" 2>/dev/null || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip >/dev/null
    rm -rf "$venv" && python3 -m venv "$venv"
}
"$venv/bin/pip" install -q pytest mypy
# pip builds in the tree, so Cargo reuses target/ (the release profile).
"$venv/bin/pip" install -q "$root"
# From the venv's directory, so that nothing of the checkout is imported.
(cd "$venv" && "$venv/bin/mypy" --strict -p epode && "$venv/bin/mypy" --strict "$root/tests/examples/echo_bot.py" "$root/tests/examples/echo_bot_async.py")
(cd "$venv" && env -u EPODE_LIB EPODE_TEST_INSTALLED=1 EPODE_PY_COVERAGE=1 \
    "$venv/bin/python" -m pytest -q "$root/tests/python")
# The wheel `pip wheel` builds: the library and py.typed inside, and it
# installs and loads on its own in a second venv.
"$venv/bin/pip" wheel -q --no-deps -w "$venv/wheel" "$root"
python3 -m venv "$venv/second"
"$venv/second/bin/pip" install -q "$venv"/wheel/epode-*.whl
(cd "$venv" && env -u EPODE_LIB "$venv/second/bin/python" - "$venv"/wheel/epode-*.whl <<'PY'
import sys, zipfile, epode, epode._lib
names = zipfile.ZipFile(sys.argv[1]).namelist()
assert "epode/py.typed" in names and any(n.startswith("epode/libepode") and n.endswith(".so") for n in names), names
assert epode._lib.origin == "bundled" and epode._lib.path.startswith(sys.prefix), epode._lib.path
print("wheel:", sys.argv[1].rsplit("/", 1)[-1], "loads", epode._lib.path.rsplit("/", 1)[-1], epode.library_version())
PY
)
rm -rf "$venv"

step "C examples against the servers"
tests/c/examples.sh

step "C examples as users build them: make's default flags, as C and as C++"
make -C examples-c clean >/dev/null
make -C examples-c
make -C examples-c cxx
echo "examples-c (default flags): built $(ls target/examples-c | wc -l) programs"

step "the README's code blocks, as written, against tests/servers/try.sh's server"
# Started here only if it is not up already (a developer's may be), and then stopped.
try_pid=$(cat /tmp/epode-try/prosody.pid 2>/dev/null || true)
try_ours=1
[ -n "$try_pid" ] && kill -0 "$try_pid" 2>/dev/null && try_ours=
tests/servers/try.sh >/dev/null
python3 tests/readme.py
[ -z "$try_ours" ] || tests/servers/try.sh stop >/dev/null 2>&1

step "the demo (README's first command)"
examples-c/demo.sh

step "soak: 1,000 WebSocket connections against ejabberd for 2 minutes"
benches/soak.sh "${EPODE_SOAK_CONNECTIONS:-1000}" "${EPODE_SOAK_SECONDS:-120}"

step "fuzz targets, a short run each (AddressSanitizer)"
.ci/fuzz

# One closing line for the whole run: every runner's counts added up.
read -r passed failed < <(python3 - "$log" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
passed = failed = 0
for m in re.finditer(r"test result: \w+\. (\d+) passed; (\d+) failed", text):
    passed += int(m[1]); failed += int(m[2])
for m in re.finditer(r"^\S+: (\d+) passed, (\d+) failed$", text, re.M):
    passed += int(m[1]); failed += int(m[2])
for m in re.finditer(r"^(\d+) passed(?:, (\d+) failed)? in ", text, re.M):
    passed += int(m[1]); failed += int(m[2] or 0)
print(passed, failed)
PY
)
stop_servers >/dev/null 2>&1
trap - EXIT
echo
echo "epode: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
