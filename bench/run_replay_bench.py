#!/usr/bin/env python3
"""Runs bench_replay and, where /usr/bin/python3 has NumPy (Debian's python3-numpy), the
sum-tree reference bench/replay_reference.py (NumPy, and Numba where python3-numba is
installed) in the same invocation; prints every libreco figure as JSON with the reference
values and ratios added, then a table with the issue's targets.

Ratios are "how many times better libreco is": reference time / libreco time for times (us),
libreco rate / reference rate for rates (M/s, batches/s). "ref_value" and "ratio" refer to
Numba when it ran, else NumPy. Timings on shared machines are noisy: both sides report the
best of several rounds; compare ratios within one run.

usage: run_replay_bench.py BENCH_REPLAY_BINARY [--quick]
"""
import json
import os
import subprocess
import sys

# The reference needs Debian's python3 (python3-numpy/-numba live there, not in pyenv).
REF_PYTHON = "/usr/bin/python3"
# The targets at capacity 1M, L = 20: (name, setting, unit) -> (bound, "<=" or ">=").
TARGETS = {
    ("sample_update_256", "capacity=1M L=20 B=256"): (50.0, "<="),
    ("insert", "capacity=1M L=20 seg=64"): (20.0, ">="),
    ("bytes_per_transition", "capacity=1M L=20"): (32.0, "<="),
}


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def have(module):
    if not os.path.exists(REF_PYTHON):
        return False
    return subprocess.run([REF_PYTHON, "-c", "import " + module],
                          capture_output=True).returncode == 0


def ratio(value, ref, unit):
    return ref / value if unit == "us" else value / ref


def main():
    binary = sys.argv[1]
    quick = "--quick" in sys.argv[2:]
    ours = run([binary] + (["--quick"] if quick else []))
    refs = {}
    impls = []
    if have("numpy"):
        impls = ["numpy"] + (["numba"] if have("numba") else [])
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "replay_reference.py")
        for impl in impls:
            for r in run([REF_PYTHON, script, "--impl", impl] + (["--quick"] if quick else [])):
                refs[(r["impl"], r["name"], r["setting"])] = r["value"]
    rows = []
    for f in ours:
        for impl in impls:
            key = (impl, f["name"], f["setting"])
            if key in refs and f["value"] > 0:
                f["ref_" + impl] = refs[key]
                f["ratio_" + impl] = ratio(f["value"], refs[key], f["unit"])
                f["ref_value"] = refs[key]
                f["ratio"] = f["ratio_" + impl]
        target = TARGETS.get((f["name"], f["setting"]))
        if target is not None:
            bound, op = target
            ok = f["value"] <= bound if op == "<=" else f["value"] >= bound
            f["target"] = "%s %g: %s" % (op, bound, "met" if ok else "MISSED")
        print(json.dumps(f), flush=True)
        rows.append(f)
    if not impls:
        print("# NumPy not installed for %s (apt-get install python3-numpy): no reference"
              % REF_PYTHON)
    elif "numba" not in impls:
        print("# Numba not installed (apt-get install python3-numba): NumPy reference only")
    print("\n%-24s %-32s %10s %-9s %10s %8s %10s %8s  %s" % (
        "figure", "setting", "libreco", "unit", "numpy", "ratio", "numba", "ratio", "target"))
    for f in rows:
        cells = []
        for impl in ("numpy", "numba"):
            if "ref_" + impl in f:
                cells += ["%10.4g" % f["ref_" + impl], "%7.1fx" % f["ratio_" + impl]]
            else:
                cells += ["%10s" % "-", "%8s" % "-"]
        print("%-24s %-32s %10.4g %-9s %s %s %s %s  %s" % (
            f["name"], f["setting"], f["value"], f["unit"], cells[0], cells[1], cells[2],
            cells[3], f.get("target", "")))


if __name__ == "__main__":
    main()
