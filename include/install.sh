#!/bin/sh
# Builds libepode in release mode and installs it where C compilers and
# pkg-config find it:
#
#   include/install.sh [PREFIX]        PREFIX defaults to /usr/local
#
#   PREFIX/lib/libepode.so, PREFIX/lib/libepode.a, PREFIX/include/epode.h,
#   PREFIX/lib/pkgconfig/epode.pc
#
# Environment: DESTDIR stages the files under another root (for packaging;
# the paths inside epode.pc stay those of PREFIX); LIBDIR overrides
# PREFIX/lib (e.g. /usr/lib/x86_64-linux-gnu); CARGO_TARGET_DIR is honoured.
# Then: cc app.c $(pkg-config --cflags --libs epode). When it installs into
# the running system (no DESTDIR) as root it refreshes the loader cache.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
prefix=${1:-/usr/local}
case $prefix in
/*) ;;
*) echo "install.sh: PREFIX must be an absolute path, not $prefix" >&2; exit 2 ;;
esac
libdir=${LIBDIR:-$prefix/lib}
includedir=$prefix/include
destdir=${DESTDIR:-}
target=${CARGO_TARGET_DIR:-$root/target}
version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$root/Cargo.toml" | head -n 1)

cargo build --release --lib --manifest-path "$root/Cargo.toml"

install -d "$destdir$libdir/pkgconfig" "$destdir$includedir"
install -m 0755 "$target/release/libepode.so" "$destdir$libdir/libepode.so"
install -m 0644 "$target/release/libepode.a" "$destdir$libdir/libepode.a"
install -m 0644 "$root/include/epode.h" "$destdir$includedir/epode.h"
sed -e "s|@PREFIX@|$prefix|" -e "s|@LIBDIR@|$libdir|" -e "s|@INCLUDEDIR@|$includedir|" \
    -e "s|@VERSION@|$version|" "$root/include/epode.pc.in" >"$destdir$libdir/pkgconfig/epode.pc"
chmod 0644 "$destdir$libdir/pkgconfig/epode.pc"

if [ -z "$destdir" ] && [ "$(id -u)" -eq 0 ] && command -v ldconfig >/dev/null 2>&1; then
    ldconfig
fi
echo "installed epode $version in $destdir$prefix (pkg-config: $libdir/pkgconfig/epode.pc)"
