#!/usr/bin/env bash
# Builds the C API tests as C and as C++ (-Wall -Wextra -Werror) against
# the cdylib, with AddressSanitizer + UBSan, and runs each. Any failed
# check, warning, sanitizer report or leak fails the run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

cargo build --quiet --lib
lib="$root/target/debug"
out="$root/target/c-tests"
mkdir -p "$out"

flags=(-Wall -Wextra -Werror -g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer
       -I"$root/include" -I"$root/tests/c")
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

status=0
for src in tests/c/*_test.c; do
    name=$(basename "$src" .c)
    gcc -std=c11 "${flags[@]}" "$src" -L"$lib" -lepode -o "$out/$name"
    g++ -std=c++17 -x c++ "${flags[@]}" "$src" -L"$lib" -lepode -o "$out/$name-cpp"
    for bin in "$out/$name" "$out/$name-cpp"; do
        echo "== $(basename "$bin")"
        "$bin" "$@" || status=1
    done
done
exit $status
