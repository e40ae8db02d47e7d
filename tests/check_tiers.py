#!/usr/bin/env python3
"""API tiers, from a compiler's point of view (docs/abi.md, "API tiers"):

- the header lists of include/reco/meson.build agree with the tier each header states
  (abi/tiers.py also checks the headers' own consistency);
- a lab header included without RECO_LAB_API stops the compilation with a message naming it
  and the macro;
- <reco/reco.h> without RECO_LAB_API declares every core function and no lab function; with
  it, all of them; and a translation unit that includes it first without and then with the
  macro gets the lab declarations too (the umbrella's second guard).

usage: check_tiers.py SRC_INCLUDE BUILD_INCLUDE --core H... --lab H... -- CC [ARGS...]
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "abi"))
import tiers  # noqa: E402

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def parse(argv):
    sep = argv.index("--")
    cc = argv[sep + 1:]
    head = argv[1:sep]
    src_inc, build_inc = head[0], head[1]
    lists = {"core": [], "lab": []}
    cur = None
    for a in head[2:]:
        if a in ("--core", "--lab"):
            cur = a[2:]
        else:
            lists[cur].append(a)
    return src_inc, build_inc, lists, cc


def compile_c(cc, incs, source, defines=(), preprocess=False):
    args = list(cc) + ["-std=c99", "-x", "c"] + ["-I" + i for i in incs]
    args += ["-D" + d for d in defines]
    args += ["-E", "-P"] if preprocess else ["-fsyntax-only"]
    args += ["-"]
    p = subprocess.run(args, input=source, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def declared(text, names):
    return {n for n in names if re.search(r"\b%s\s*\(" % re.escape(n), text)}


def main():
    src_inc, build_inc, lists, cc = parse(sys.argv)
    t = tiers.Tiers(os.path.join(src_inc, "reco"))
    for p in t.problems:
        fail(p)
    for tier in tiers.TIERS:
        stated = set(t.header_names(tier))
        listed = set(lists[tier])
        if stated != listed:
            fail("include/reco/meson.build lists as %s: %s; the headers say %s: %s"
                 % (tier, sorted(listed - stated), tier, sorted(stated - listed)))
    incs = [src_inc, build_inc]
    for h in t.header_names("lab"):
        rc, _, err = compile_c(cc, incs, '#include "reco/%s"\n' % h)
        if rc == 0:
            fail("reco/%s compiles without RECO_LAB_API" % h)
        elif "reco/%s is lab API" % h not in err or "RECO_LAB_API" not in err:
            fail("reco/%s without RECO_LAB_API fails without its message:\n%s" % (h, err))
    core, lab = set(t.symbols("core")), set(t.symbols("lab"))
    cases = [
        ("reco.h", '#include "reco/reco.h"\n', (), core),
        ("reco.h with RECO_LAB_API", '#include "reco/reco.h"\n', ("RECO_LAB_API",), core | lab),
        ("reco.h, then RECO_LAB_API and reco.h again",
         '#include "reco/reco.h"\n#define RECO_LAB_API\n#include "reco/reco.h"\n', (),
         core | lab),
    ]
    for what, source, defines, want in cases:
        rc, out, err = compile_c(cc, incs, source, defines, preprocess=True)
        if rc != 0:
            fail("%s does not preprocess:\n%s" % (what, err))
            continue
        got = declared(out, core | lab)
        if got != want:
            fail("%s: missing %s; should not declare %s"
                 % (what, sorted(want - got), sorted(got - want)))
    if failures:
        return 1
    print("ok: %d core headers (%d functions), %d lab headers (%d functions); lab headers "
          "refuse to compile without RECO_LAB_API; reco.h declares the core alone, and the lab "
          "with the macro" % (len(t.header_names("core")), len(core),
                              len(t.header_names("lab")), len(lab)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
