#!/bin/sh
# Installs the built library into a scratch DESTDIR, then builds examples/quickstart.c the way
# a user would — with nothing but `pkg-config --cflags --libs reco` — and runs it against the
# installed libreco.so. Proves the .pc file, the installed headers and the soname symlinks.
# usage: check_install.sh SOURCE_ROOT BUILD_ROOT
set -eu
src=$1
build=$2
dest=$(mktemp -d "${TMPDIR:-/tmp}/reco-install.XXXXXX")
trap 'rm -rf "$dest"' EXIT INT TERM

meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >/dev/null

pc=$(find "$dest" -name reco.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: reco.pc was not installed"; exit 1; }
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR=$dest
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
cflags=$(pkg-config --cflags reco)
libs=$(pkg-config --libs reco)
echo "pkg-config --cflags --libs reco: $cflags $libs"
# The -L flag already carries the DESTDIR (the sysroot); that is where libreco.so.0 lies.
libdir=$(pkg-config --libs-only-L reco | tr ' ' '\n' | sed -n 's/^-L//p' | head -n 1)

for f in include/reco/reco.h include/reco/version.h; do
  find "$dest" -path "*/$f" | grep -q . || { echo "FAIL: $f not installed"; exit 1; }
done
# Only the public headers are installed: nothing from lib/.
if find "$dest" -name '*_private.h' | grep -q .; then
  echo "FAIL: a private header was installed"; exit 1
fi

cc=${CC:-cc}
# shellcheck disable=SC2086
$cc -std=c99 -Wall -Wextra -pedantic -Werror $cflags -o "$dest/quickstart" \
    "$src/examples/quickstart.c" $libs
out=$(LD_LIBRARY_PATH="$libdir" "$dest/quickstart")
echo "$out"
echo "$out" | grep -q "libreco $(pkg-config --modversion reco)" || {
  echo "FAIL: the program did not report the installed version"; exit 1; }
# It must have run against the installed copy, not the build tree's.
LD_LIBRARY_PATH="$libdir" ldd "$dest/quickstart" | grep "libreco.so.0" | grep -q "$dest" || {
  echo "FAIL: not linked against the installed library"; exit 1; }
echo "ok: installed library, headers and reco.pc build and run a program"
