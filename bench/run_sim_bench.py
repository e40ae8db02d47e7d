#!/usr/bin/env python3
"""Runs bench_sim and, where PyTorch is installed (Debian's python3-torch), the PyTorch
reference of the same loop (bench/sim_reference.py) in the same invocation; prints every
figure as JSON with "ref_value" and "ratio" (libreco rate / reference rate), then a table.

usage: run_sim_bench.py BENCH_SIM_BINARY [--quick]
"""
import json
import os
import subprocess
import sys

REF_PYTHON = "/usr/bin/python3"  # python3-torch is installed for Debian's python


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main():
    binary, args = sys.argv[1], sys.argv[2:]
    ours = run([binary] + args)
    refs = {}
    have_torch = os.path.exists(REF_PYTHON) and subprocess.run(
        [REF_PYTHON, "-c", "import torch"], capture_output=True).returncode == 0
    if have_torch:
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sim_reference.py")
        for r in run([REF_PYTHON, script] + args):
            refs[(r["name"], r["setting"])] = r["value"]
    for f in ours:
        key = (f["name"], f["setting"])
        if key in refs:
            f["ref_value"] = refs[key]
            f["ratio"] = f["value"] / refs[key]
        print(json.dumps(f), flush=True)
    if not have_torch:
        print("# PyTorch not installed (apt-get install python3-torch): no reference ratios")
    print("\n%-18s %-36s %14s %14s %8s" % ("figure", "setting", "libreco", "pytorch", "ratio"))
    for f in ours:
        ref = "%.4g" % f["ref_value"] if "ref_value" in f else "-"
        ratio = "%.1fx" % f["ratio"] if "ratio" in f else "-"
        print("%-18s %-36s %10.4g %-3s %14s %8s" % (f["name"], f["setting"], f["value"],
                                                     "/s", ref, ratio))


if __name__ == "__main__":
    main()
