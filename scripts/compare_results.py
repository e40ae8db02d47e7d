#!/usr/bin/env python3
"""Compare two recomind output folders: usage compare_results.py NEW_DIR BASELINE_DIR.

results.json must hold the same values on every key of the baseline (keys the baseline lacks,
such as metrics added since, are listed; a list may have entries added at its end), every baseline row of results.csv must be in the
new one, and learning_curve.csv must be identical."""
import csv, json, sys
a_dir, b_dir = sys.argv[1], sys.argv[2]
def strip(new, old, path=""):
    if isinstance(new, dict) and isinstance(old, dict):
        extra = sorted(set(new) - set(old))
        missing = sorted(set(old) - set(new))
        if missing: print("MISSING", path, missing)
        if extra: print("added at", path or "/", extra[:12], "..." if len(extra) > 12 else "")
        return all([strip(new[k], old[k], path + "/" + k) for k in old if k in new]) and not missing
    if isinstance(new, list) and isinstance(old, list) and len(new) >= len(old):
        # a list may grow at its end (a policy added after the others)
        if len(new) > len(old): print("added at", path, "entries", len(old), "..", len(new) - 1)
        return all([strip(new[i], old[i], path + "/%d" % i) for i in range(len(old))])
    if new != old:
        print("DIFF", path, new, old); return False
    return True
a = json.load(open(a_dir + "/results.json")); b = json.load(open(b_dir + "/results.json"))
ok = strip(a, b)
ra = set(map(tuple, csv.reader(open(a_dir + "/results.csv"))))
rb = list(map(tuple, csv.reader(open(b_dir + "/results.csv"))))
miss = [r for r in rb if r not in ra]
print("csv rows: new %d, baseline %d, baseline rows missing from new: %d" % (len(ra), len(rb), len(miss)))
print("learning_curve identical:", open(a_dir + "/learning_curve.csv").read() == open(b_dir + "/learning_curve.csv").read())
print("JSON values equal on the baseline's keys:", ok)
