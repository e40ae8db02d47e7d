#!/usr/bin/env python3
"""ABI structure check: what the library exports == the version script == what the public
headers mark RECO_API; every name is reco_-prefixed; the map is alphabetical per node; every
exported symbol belongs to exactly one API tier, core or lab (abi/tiers.py, docs/abi.md); and
the SONAME is libreco.so.<soversion>.

usage: check_symbols.py LIBRARY MAP HEADER_DIR SOVERSION
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "abi"))
import tiers  # noqa: E402  (abi/tiers.py: the tier of every header and declaration)


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def map_symbols(path):
    text = open(path).read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    names = []
    for node in re.finditer(r"(\w[\w.]*)\s*\{(.*?)\}\s*[\w.]*\s*;", text, flags=re.S):
        body = node.group(2)
        glob_part = body.split("local:")[0].replace("global:", "")
        node_names = [n.strip() for n in glob_part.split(";") if n.strip()]
        if node_names != sorted(node_names):
            fail("map node %s is not in alphabetical order" % node.group(1))
        names += node_names
    if len(names) != len(set(names)):
        fail("map lists a symbol twice")
    return set(names)


def exported_symbols(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBRVWiu":
            name = parts[2].split("@")[0]
            names.add(name)
    # version-node marker symbols (RECO_0.1) are absolute symbols, type A: not listed above
    return names


def header_symbols(header_tiers):
    """RECO_API functions of the public headers (version.h read from its template)."""
    return set(header_tiers.functions)


def soname(lib):
    out = subprocess.run(["readelf", "-d", lib], check=True, capture_output=True,
                         text=True).stdout
    m = re.search(r"\(SONAME\)\s+Library soname: \[(.*?)\]", out)
    return m.group(1) if m else None


def main():
    lib, mapfile, header_dir, soversion = sys.argv[1:5]
    in_map = map_symbols(mapfile)
    exported = exported_symbols(lib)
    header_tiers = tiers.Tiers(header_dir)
    if header_tiers.problems:
        fail("API tiers: " + "; ".join(header_tiers.problems))
    in_headers = header_symbols(header_tiers)
    bad_prefix = sorted(n for n in exported if not n.startswith("reco_"))
    if bad_prefix:
        fail("exported without the reco_ prefix: " + ", ".join(bad_prefix))
    if exported != in_map:
        fail("exported but not in the map: %s; in the map but not exported: %s"
             % (sorted(exported - in_map), sorted(in_map - exported)))
    if in_headers != in_map:
        fail("RECO_API in headers but not in the map: %s; in the map but not declared "
             "RECO_API: %s" % (sorted(in_headers - in_map), sorted(in_map - in_headers)))
    by_tier = {tier: set(header_tiers.symbols(tier)) for tier in tiers.TIERS}
    for name in sorted(exported):
        belongs = [tier for tier in tiers.TIERS if name in by_tier[tier]]
        if len(belongs) != 1:
            fail("%s belongs to %d API tiers (%s), not exactly one"
                 % (name, len(belongs), ", ".join(belongs) or "none"))
    want = "libreco.so." + soversion
    got = soname(lib)
    if got != want:
        fail("SONAME is %r, expected %r" % (got, want))
    print("ok: %d symbols exported (%d core, %d lab), all reco_-prefixed, equal to the map and "
          "the headers; SONAME %s" % (len(exported), len(by_tier["core"] & exported),
                                      len(by_tier["lab"] & exported), got))


if __name__ == "__main__":
    main()
