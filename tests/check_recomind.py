#!/usr/bin/env python3
"""End-to-end test of the main example: the quick experiment runs the whole pipeline (world,
logs, feedback model, simulator, RecoMind training, evaluation in the simulator and the world)
and writes results that follow the documented schema; ablations.py has a man-page --help and
refuses unknown flags. (The built-in defaults and the configuration keys are checked by
check_recomind_config.py.)

usage: check_recomind.py RECOMIND SOURCE_ROOT OUT_DIR"""
import csv
import json
import math
import os
import shutil
import subprocess
import sys

METRICS = ["depth", "long_watches", "deep_share", "long_watches_deep", "depth_deep", "return",
           "hides", "topics"]
POLICIES = ["random", "popular", "greedy-supervised", "recomind", "warm-start"]
# an env that names its signals (the world) also has each signal's count by name
SIGNALS = ["click", "long_watch", "like", "hide"]
SIGNAL_METRICS = SIGNALS + [s + "_deep" for s in SIGNALS]


def main():
    exe, root, out = sys.argv[1], sys.argv[2], sys.argv[3]
    fails = []
    shutil.rmtree(out, ignore_errors=True)
    quick = os.path.join(root, "examples", "configs", "quick.yaml")
    r = subprocess.run([exe, "--config", quick, "--out", out], capture_output=True, text=True,
                       timeout=600)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        return 1
    for needle in ("pooled over 1 seeds", "recomind lift", "simulator fidelity",
                   "feedback model vs the world's own probabilities",
                   "off-policy estimates from a log of the logging policy"):
        if needle not in r.stdout:
            fails.append("stdout lacks %r" % needle)
    with open(os.path.join(out, "results.json")) as f:
        res = json.load(f)
    if res.get("schema") != "libreco.eval/1" or res.get("baseline") != "greedy-supervised":
        fails.append("schema or baseline: %r %r" % (res.get("schema"), res.get("baseline")))
    allenvs = res.get("environments", {})
    want = {"sim (seed 1)", "world (seed 1)", "sim (pooled)", "world (pooled)",
            "sim (over seeds)", "world (over seeds)"}
    if set(allenvs) != want:
        fails.append("environments %s, expected %s" % (sorted(allenvs), sorted(want)))
    # every entry has RecoMind's lifts over warm-start (the control), shaped as the lifts
    for name, env in allenvs.items():
        if env.get("control") != "warm-start" or \
                list(env.get("control_lifts", {})) != ["recomind"] or \
                env["control_lifts"]["recomind"].keys() != env["lifts"]["recomind"].keys():
            fails.append("%s: control lifts missing or misshapen" % name)
    # over seeds with one seed: the seed's lift, no interval
    for side in ("sim", "world"):
        over, one = allenvs.get(side + " (over seeds)", {}), allenvs.get(side + " (seed 1)", {})
        if over.get("seeds") != 1 or over.get("interval") != "t over seeds":
            fails.append("%s (over seeds): seeds %r" % (side, over.get("seeds")))
            continue
        a = over["lifts"]["recomind"]["return"]["relative"]
        b = one["lifts"]["recomind"]["return"]["relative"]
        if a["mean"] != b["mean"] or a["lo"] is not None or a["hi"] is not None:
            fails.append("%s (over seeds) with one seed: %r, the seed's %r" % (side, a, b))
    envs = {k: v for k, v in allenvs.items() if "(over seeds)" not in k}
    for name, env in envs.items():
        if env.get("sessions") != 100:
            fails.append("%s: %r sessions, expected 100" % (name, env.get("sessions")))
        if sorted(env["policies"]) != sorted(POLICIES):
            fails.append("%s: policies %s" % (name, sorted(env["policies"])))
        listed = METRICS + (SIGNAL_METRICS if name.startswith("world") else [])
        for p in POLICIES:
            if list(env["policies"][p]) not in (listed, METRICS + SIGNAL_METRICS):
                fails.append("%s/%s: metrics %s" % (name, p, list(env["policies"][p])))
                continue
            if "long_watch" in env["policies"][p] and \
                    env["policies"][p]["long_watch"] != env["policies"][p]["long_watches"]:
                fails.append("%s/%s: long_watch differs from long_watches" % (name, p))
            for m in listed:
                st = env["policies"][p][m]
                if st["mean"] is not None and not (st["lo"] <= st["mean"] <= st["hi"]):
                    fails.append("%s/%s/%s: mean outside its interval %r" % (name, p, m, st))
        if "greedy-supervised" in env["lifts"]:
            fails.append("%s: the baseline has a lift" % name)
        rel = env["lifts"]["recomind"]["return"]["relative"]
        if rel["mean"] is None or not math.isfinite(rel["mean"]):
            fails.append("%s: recomind's return lift is not a number" % name)
    # the experiment's sections: per seed, the fit against the world's own probabilities
    # and the simulator's fidelity; pooled fidelity (exactly these keys)
    fit_keys = {"signal", "auc", "auc_popularity", "auc_oracle", "logloss", "logloss_oracle",
                "ece"}
    fid_keys = {"policy", "sim_return", "world_return", "rel_error", "rel_error_lo",
                "rel_error_hi"}
    seeds = res.get("seeds", [])
    if [s.get("seed") for s in seeds] != [1]:
        fails.append("seeds section: %r" % [s.get("seed") for s in seeds])
    for sd in seeds:
        fit = sd.get("fit", [])
        if [o.get("signal") for o in fit] != ["click", "long_watch", "like", "hide", "exit"]:
            fails.append("fit signals: %r" % [o.get("signal") for o in fit])
        for o in fit:
            if set(o) != fit_keys:
                fails.append("fit keys: %r" % sorted(o))
            elif not (0.0 <= o["auc_oracle"] <= 1.0 and o["logloss_oracle"] > 0.0):
                fails.append("fit: the oracle's metrics are missing: %r" % o)
    for fid in [sd.get("fidelity", []) for sd in seeds] + [res.get("fidelity", [])]:
        if [o.get("policy") for o in fid] != POLICIES:
            fails.append("fidelity policies: %r" % [o.get("policy") for o in fid])
        for o in fid:
            if set(o) != fid_keys:
                fails.append("fidelity keys: %r" % sorted(o))
            elif not (o["rel_error_lo"] <= o["rel_error"] <= o["rel_error_hi"] and
                      abs(o["sim_return"] / o["world_return"] - 1 - o["rel_error"]) < 1e-4):
                fails.append("fidelity: inconsistent %r" % o)
    # off-policy estimates (docs/ope.md): per seed, every policy with its world return and
    # IPS/SNIPS/DR per session and per step, each mean inside its interval
    ope = res.get("off_policy")
    if not isinstance(ope, list) or [o.get("seed") for o in ope] != [1]:
        fails.append("off_policy section: %r" % (ope,))
    for o in ope if isinstance(ope, list) else []:
        pols = o.get("policies") or []
        if o.get("log_rows", 0) <= 0 or [q.get("policy") for q in pols] != POLICIES:
            fails.append("off_policy seed %r: %r" % (o.get("seed"), o))
        for q in pols:
            if set(q) != {"policy", "world_return", "session", "step", "ess", "max_weight",
                          "covered"}:
                fails.append("off_policy keys: %r" % sorted(q))
                continue
            for part in ("session", "step"):
                for est in ("ips", "snips", "dr"):
                    st = q[part][est]
                    if st["mean"] is None or not (st["lo"] <= st["mean"] <= st["hi"]):
                        fails.append("off_policy %s %s %s: %r" % (q["policy"], part, est, st))
            if q["covered"] != (q["session"]["dr"]["lo"] <= q["world_return"] <=
                                q["session"]["dr"]["hi"]):
                fails.append("off_policy %s: covered is wrong" % q["policy"])
    # pooled == the one seed when there is one seed
    a, b = envs["world (seed 1)"], envs["world (pooled)"]
    if a["policies"] != b["policies"]:
        fails.append("world (pooled) differs from world (seed 1) with one seed")
    with open(os.path.join(out, "results.csv")) as f:
        rows = list(csv.DictReader(f))
    want_rows = sum(len(POLICIES) * len(env["policies"][POLICIES[0]]) for env in envs.values())
    if len(rows) != want_rows:
        fails.append("results.csv has %d rows, results.json %d" % (len(rows), want_rows))
    with open(os.path.join(out, "learning_curve.csv")) as f:
        curve = list(csv.DictReader(f))
    if len(curve) < 2 or curve[0]["updates"] != "0" or curve[-1]["updates"] != "500":
        fails.append("learning curve rows: %r" % [c["updates"] for c in curve])
    # the same run again gives the same results (one generator: a function of the seeds)
    out2 = out + "-again"
    shutil.rmtree(out2, ignore_errors=True)
    r2 = subprocess.run([exe, "--config", quick, "--out", out2, "--quiet"],
                        capture_output=True, text=True, timeout=600)
    with open(os.path.join(out2, "results.json")) as f:
        if r2.returncode != 0 or json.load(f) != res:
            fails.append("a second run of the quick experiment gave other results")
    # bad command lines
    for args, msg in ((["--set", "world.n_items"], "PATH=VALUE"),
                      (["--set", "world.n_itemz=3"], "n_itemz"),
                      (["--init", "cold"], "warm or random")):
        r = subprocess.run([exe] + args, capture_output=True, text=True)
        if r.returncode != 2 or msg not in r.stderr:
            fails.append("%s: exit %d, stderr %r" % (args, r.returncode, r.stderr))
    abl = os.path.join(root, "examples", "ablations.py")
    r = subprocess.run([sys.executable, abl, "--help"], capture_output=True, text=True)
    if r.returncode != 0 or "SYNOPSIS" not in r.stdout:
        fails.append("ablations.py --help")
    r = subprocess.run([sys.executable, abl, "--no-such-flag"], capture_output=True, text=True)
    if r.returncode != 2 or "--no-such-flag" not in r.stderr:
        fails.append("ablations.py --no-such-flag: exit %d" % r.returncode)
    for f in fails:
        print("FAIL:", f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
