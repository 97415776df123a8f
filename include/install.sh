#!/bin/sh
# Builds libepode in release mode and installs it where C compilers and
# pkg-config find it:
#
#   include/install.sh [PREFIX]        PREFIX defaults to /usr/local
#
#   PREFIX/lib/libepode.so.0.1.0 (SONAME libepode.so.0) with the symlinks
#   libepode.so.0 and libepode.so, PREFIX/lib/libepode.a,
#   PREFIX/include/epode.h, PREFIX/lib/pkgconfig/epode.pc
#
# The installed libraries carry no debug information; the shared library's
# is kept beside it in PREFIX/lib/debug/libepode.so.0.1.0.debug (found by
# gdb through the .gnu_debuglink section).
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

# The SONAME's major is the ABI's (include/build.rs); the file name carries the version.
soname=libepode.so.0
real=libepode.so.$version
install -d "$destdir$libdir/pkgconfig" "$destdir$libdir/debug" "$destdir$includedir"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$target/release/libepode.so" "$stage/$real"
cp "$target/release/libepode.a" "$stage/libepode.a"
objcopy --only-keep-debug "$stage/$real" "$stage/$real.debug"
strip --strip-debug --strip-unneeded "$stage/$real"
(cd "$stage" && objcopy --add-gnu-debuglink="$real.debug" "$real")
strip --strip-debug "$stage/libepode.a"
install -m 0755 "$stage/$real" "$destdir$libdir/$real"
install -m 0644 "$stage/$real.debug" "$destdir$libdir/debug/$real.debug"
ln -sf "$real" "$destdir$libdir/$soname"
ln -sf "$soname" "$destdir$libdir/libepode.so"
install -m 0644 "$stage/libepode.a" "$destdir$libdir/libepode.a"
install -m 0644 "$root/include/epode.h" "$destdir$includedir/epode.h"
# Outside the loader's own directories, programs built with pkg-config's
# flags find the library through an rpath.
case $libdir in
/lib | /lib/* | /usr/lib | /usr/lib/* | /usr/local/lib) rpath= ;;
*) rpath=" -Wl,-rpath,\${libdir}" ;;
esac
sed -e "s|@PREFIX@|$prefix|" -e "s|@LIBDIR@|$libdir|" -e "s|@INCLUDEDIR@|$includedir|" \
    -e "s|@VERSION@|$version|" -e "s|@RPATH@|$rpath|" \
    "$root/include/epode.pc.in" >"$destdir$libdir/pkgconfig/epode.pc"
chmod 0644 "$destdir$libdir/pkgconfig/epode.pc"

if [ -z "$destdir" ] && [ "$(id -u)" -eq 0 ] && command -v ldconfig >/dev/null 2>&1; then
    ldconfig
fi
echo "installed epode $version in $destdir$prefix (pkg-config: $libdir/pkgconfig/epode.pc)"
