#!/usr/bin/env bash
# ABI check against the committed baseline abi/libreco.abi (an abidw dump restricted to the
# public headers) and abi/libreco.tiers (the API tier of each function when it was taken).
#
#   bash abi/check.sh            build HEAD with -g -Og and compare
#   bash abi/check.sh --update   rewrite the baseline from HEAD
#
# Two comparisons (docs/abi.md, "The check"):
#   core  the lab functions suppressed (abi/tiers.py writes the suppressions: the lab tier
#         of the headers, plus lab functions of the baseline that are gone). Any non-zero
#         abidiff status fails: while libreco is 0.x an intended change updates the baseline
#         in the same commit, and the commit message says why.
#   lab   no suppressions, run when the core is unchanged: a difference is a lab change,
#         reported and allowed in 0.x.
# abidiff's status is a bit set: 1 error, 2 usage, 4 ABI change, 8 incompatible change. Added
# symbols are not reported (a minor release may add functions in a new map node). A function
# that was core in the baseline and is lab now fails the check.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
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
    "$python" abi/tiers.py include/reco --list > abi/libreco.tiers
    echo "abi/check.sh: baseline abi/libreco.abi and abi/libreco.tiers rewritten from" \
         "$(basename "$lib")"
    exit 0
fi

[ -f abi/libreco.abi ] || { echo "abi/check.sh: no baseline abi/libreco.abi" >&2; exit 1; }
[ -f abi/libreco.tiers ] || { echo "abi/check.sh: no baseline abi/libreco.tiers" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/reco-abi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
"$python" abi/tiers.py include/reco --suppressions abi/libreco.tiers > "$tmp/lab.suppr"

compare() {
    set +e
    abidiff --drop-private-types --fail-no-debug-info --no-added-syms \
        --headers-dir2 include/reco --header-file2 "$build/include/reco/version.h" \
        "$@" abi/libreco.abi "$lib"
    status=$?
    set -e
}

echo "abi/check.sh: core API (lab functions suppressed)"
compare --suppressions "$tmp/lab.suppr"
if [ "$status" -ne 0 ]; then
    echo "abi/check.sh: the core ABI changed: abidiff status $status (4 = ABI change to" \
         "review, 8 = incompatible)." >&2
    echo "If the change is intended, run 'bash abi/check.sh --update' and say why in the commit." >&2
    exit 1
fi
echo "abi/check.sh: core ABI unchanged against abi/libreco.abi"

echo "abi/check.sh: whole API (lab tier included)"
compare > "$tmp/lab.diff"
if [ "$status" -ne 0 ]; then
    cat "$tmp/lab.diff"
    echo "abi/check.sh: the lab ABI changed (abidiff status $status): allowed in 0.x, see" \
         "docs/abi.md. Record it with 'bash abi/check.sh --update' and name it in the commit."
    exit 0
fi
echo "abi/check.sh: lab ABI unchanged too"
