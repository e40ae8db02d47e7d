#!/usr/bin/env bash
# ABI check against the committed baseline abi/libreco.abi (an abidw dump restricted to the
# public headers).
#
#   bash abi/check.sh            build HEAD with -g -Og and compare; fails on any difference
#   bash abi/check.sh --update   rewrite the baseline from HEAD
#
# abidiff's status is a bit set: 1 error, 2 usage, 4 ABI change, 8 incompatible change. Any
# non-zero status fails: while libreco is 0.x an intended change updates the baseline in the
# same commit, and the commit message says why (docs/abi.md). Added symbols are not reported
# (a minor release may add functions in a new map node).
set -euo pipefail
cd "$(dirname "$0")/.."

build=${ABI_BUILD_DIR:-build-abi}
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" --buildtype=plain -Dc_args='-g -Og' -Dtests=false \
        -Dexamples=false -Dbench=false -Ddocs=disabled >/dev/null
fi
meson compile -C "$build" >/dev/null
lib=$(readlink -f "$build/lib/libreco.so")
headers=(--headers-dir include/reco --header-file "$build/include/reco/version.h")

if [ "${1:-}" = "--update" ]; then
    abidw --drop-private-types --no-corpus-path "${headers[@]}" --out-file abi/libreco.abi "$lib"
    echo "abi/check.sh: baseline abi/libreco.abi rewritten from $(basename "$lib")"
    exit 0
fi

[ -f abi/libreco.abi ] || { echo "abi/check.sh: no baseline abi/libreco.abi" >&2; exit 1; }
set +e
abidiff --drop-private-types --fail-no-debug-info --no-added-syms \
    --headers-dir2 include/reco --header-file2 "$build/include/reco/version.h" \
    abi/libreco.abi "$lib"
status=$?
set -e
if [ "$status" -ne 0 ]; then
    echo "abi/check.sh: abidiff status $status (4 = ABI change to review, 8 = incompatible)." >&2
    echo "If the change is intended, run 'bash abi/check.sh --update' and say why in the commit." >&2
    exit 1
fi
echo "abi/check.sh: ABI unchanged against abi/libreco.abi"
