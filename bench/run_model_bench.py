#!/usr/bin/env python3
"""Runs bench_model and, where PyTorch is installed (Debian's python3-torch), the PyTorch
reference of the same architecture in the same invocation; prints every figure as JSON with
"ref_value" and "ratio" (reference time / libreco time: > 1 means libreco is faster), then a
table. Timings on shared machines are noisy: compare ratios within one run.

usage: run_model_bench.py BENCH_MODEL_BINARY [--quick] [--threads N[,N]] [--items N,N,...]
"""
import json
import os
import subprocess
import sys

# Peak FP32 rate of one core of this machine kind (AVX2 FMA; shared/NOTES.md): 117 GFLOP/s.
PEAK_GFLOPS_PER_CORE = 117.0
# The reference needs Debian's python3 (python3-torch is installed there, not in pyenv).
REF_PYTHON = "/usr/bin/python3"


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def have_torch():
    if not os.path.exists(REF_PYTHON):
        return False
    return subprocess.run([REF_PYTHON, "-c", "import torch"], capture_output=True).returncode == 0


def main():
    binary = sys.argv[1]
    args = sys.argv[2:]
    quick = "--quick" in args
    threads = ["1"]
    items = "10000,100000,1000000" if not quick else "10000,1000000"
    i = 0
    while i < len(args):
        if args[i] == "--threads":
            threads = args[i + 1].split(",")
            i += 1
        elif args[i] == "--items":
            items = args[i + 1]
            i += 1
        i += 1
    ref_script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "model_reference.py")
    torch_ok = have_torch()
    rows = []
    for t in threads:
        base = ["--threads", t, "--items", items] + (["--quick"] if quick else [])
        ours = run([binary] + base)
        refs = {}
        if torch_ok:
            for r in run([REF_PYTHON, ref_script] + base):
                refs[(r["name"], r["setting"])] = r["value"]
        for f in ours:
            key = (f["name"], f["setting"])
            if key in refs and f["unit"] in ("ms", "us"):
                f["ref_value"] = refs[key]
                f["ratio"] = refs[key] / f["value"]
            if f["name"] == "td_update" and (key[0] + "_sparse_adam", key[1]) in refs:
                f["ref_sparse_value"] = refs[(key[0] + "_sparse_adam", key[1])]
                f["ratio_sparse"] = f["ref_sparse_value"] / f["value"]
            if f["unit"] == "GFLOP/s":
                f["peak_fraction"] = f["value"] / (PEAK_GFLOPS_PER_CORE * int(t))
            print(json.dumps(f), flush=True)
            rows.append(f)
    if not torch_ok:
        print("# PyTorch not installed (apt-get install python3-torch): no reference ratios")
    print("\n%-28s %-26s %3s %12s %12s %8s" % ("figure", "setting", "thr", "libreco", "pytorch",
                                                "ratio"))
    for f in rows:
        ref = "%.4g" % f["ref_value"] if "ref_value" in f else "-"
        ratio = "%.2fx" % f["ratio"] if "ratio" in f else "-"
        if "peak_fraction" in f:
            ratio = "%.0f%% pk" % (100 * f["peak_fraction"])
        print("%-28s %-26s %3d %9.4g %-2s %12s %8s" % (f["name"], f["setting"], f["threads"],
                                                        f["value"], f["unit"], ref, ratio))
        if "ratio_sparse" in f:
            print("%-28s %-26s %3d %12s %12.4g %7.2fx" % ("  vs SparseAdam", "", f["threads"],
                                                          "", f["ref_sparse_value"],
                                                          f["ratio_sparse"]))


if __name__ == "__main__":
    main()
