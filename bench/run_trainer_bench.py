#!/usr/bin/env python3
"""Runs bench_trainer and, where PyTorch is installed (Debian's python3-torch), the PyTorch
reference of the same training loop (bench/trainer_reference.py) in the same invocation;
prints every figure as JSON, the throughput figures with "ref_value" and "ratio" (libreco
rate / reference rate: > 1 means libreco is faster; 1 generator thread against the reference
with 1 PyTorch thread, 2 against 2), then a table. Timings on shared machines are noisy:
compare ratios within one run.

usage: run_trainer_bench.py BENCH_TRAINER_BINARY [--quick] [--threads N[,N]] [--updates U]
"""
import json
import os
import subprocess
import sys

REF_PYTHON = "/usr/bin/python3"


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def have_torch():
    if not os.path.exists(REF_PYTHON):
        return False
    return subprocess.run([REF_PYTHON, "-c", "import torch, numpy"],
                          capture_output=True).returncode == 0


def main():
    binary, args = sys.argv[1], sys.argv[2:]
    quick = "--quick" in args
    threads, updates = ["1", "2"], None
    i = 0
    while i < len(args):
        if args[i] == "--threads":
            threads = args[i + 1].split(",")
            i += 1
        elif args[i] == "--updates":
            updates = args[i + 1]
            i += 1
        i += 1
    extra = (["--quick"] if quick else []) + (["--updates", updates] if updates else [])
    ref_script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "trainer_reference.py")
    torch_ok = have_torch()
    rows = []
    for t in threads:
        ours = run([binary, "--threads", t] + extra)
        if t != threads[0]:
            ours = [f for f in ours if f["unit"] == "1/s"]  # the wire costs once
        refs = {}
        if torch_ok:
            for r in run([REF_PYTHON, ref_script, "--threads", t] + extra):
                refs[r["name"]] = r["value"]
        for f in ours:
            if f["unit"] == "1/s" and f["name"] in refs:
                f["ref_value"] = refs[f["name"]]
                f["ratio"] = f["value"] / refs[f["name"]]
            print(json.dumps(f), flush=True)
            rows.append(f)
    if not torch_ok:
        print("# PyTorch not installed (apt-get install python3-torch): no reference ratios")
    print("\n%-24s %-40s %3s %12s %12s %8s" % ("figure", "setting", "thr", "libreco",
                                               "pytorch", "ratio"))
    for f in rows:
        ref = "%.4g" % f["ref_value"] if "ref_value" in f else "-"
        ratio = "%.2fx" % f["ratio"] if "ratio" in f else "-"
        print("%-24s %-40s %3d %9.4g %-13s %8s %8s" % (f["name"], f["setting"], f["threads"],
                                                      f["value"], f["unit"], ref, ratio))


if __name__ == "__main__":
    main()
