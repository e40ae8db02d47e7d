#!/usr/bin/env python3
"""NAME
    ablations.py - RecoMind's ablations: initialisation, exploration rule, top-K share,
    offline-RL safeguards

SYNOPSIS
    examples/ablations.py [--recomind PATH] [--config FILE] [--out DIR] [--seeds LIST]
                          [--jobs N] [--study all|init|explorer|topk|pessimism|conservative]
                          [--help]

DESCRIPTION
    Runs the recomind example once per variant (each variant is the base experiment with
    one change, passed with --set; the variants that equal the base experiment share one
    run), then reads each run's results.json and
    learning_curve.csv and prints one table per study:

      init      warm start (the default) against random initialisation; also the updates
                each needed before greedy-Q's simulator return reached greedy-supervised's
      explorer  top-K softmax (RecoMind's rule, the default) against epsilon-greedy
                uniform and Boltzmann over all candidates
      topk      the top-K share K = 10%, 25% (default), 50%, 100%
      snapshot  the last network (the default) against held-out snapshot selection
                (pipeline.select_snapshot=heldout) and the same with early stopping
                (pipeline.early_stop_patience=2)
      pessimism     off (the default) against training in a pessimistic ensemble of 3
                    feedback models (sim.ensemble 3, sim.pessimism 1 and 3; docs/sim.md)
      conservative  off (the default) against the conservative Q update
                    (qnet.conservative_alpha 0.1 and 1; docs/qnet.md)

    Columns: RecoMind's lift over greedy-supervised in the simulator and in the world on
    long watches, depth and return, pooled over the seeds, with their intervals; the rows
    "sim/ctl" and "world/ctl" are RecoMind's lift over warm-start (the control: what the
    RL updates add). Writes ablations.csv and (with gnuplot) ablations.png into --out.

OPTIONS
    --recomind PATH   the recomind program (default: build/examples/recomind)
    --config FILE     base experiment (default: recomind's built-in defaults)
    --out DIR         output directory (default: ablations)
    --seeds LIST      seeds of every variant (default: 1)
    --jobs N          variants run at once (default: 2; each uses one core)
    --study NAMES     which studies, comma-separated (default: all); variants equal to the
                      base experiment still share one run
    --help, -h        this text

EXIT STATUS
    0 on success, 1 if a run failed, 2 on a bad command line.
"""
import csv
import json
import math
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

STUDIES = {
    "init": [("warm start", [], False), ("random init", [], True)],
    "explorer": [
        ("top-K softmax", [], False),
        ("epsilon-greedy", ["explorer.rule=epsilon_greedy"], False),
        ("Boltzmann", ["explorer.rule=boltzmann"], False),
    ],
    "topk": [
        ("K = 10%", ["explorer.top_k_fraction=0.1"], False),
        ("K = 25%", [], False),
        ("K = 50%", ["explorer.top_k_fraction=0.5"], False),
        ("K = 100%", ["explorer.top_k_fraction=1"], False),
    ],
    "snapshot": [
        ("last", [], False),
        ("held-out selection", ["pipeline.select_snapshot=heldout"], False),
        ("held-out + early stop", ["pipeline.select_snapshot=heldout",
                                   "pipeline.early_stop_patience=2"], False),
    ],
    "pessimism": [
        ("pessimism off", [], False),
        ("K=3 lambda=1", ["sim.ensemble=3", "sim.pessimism=1"], False),
        ("K=3 lambda=3", ["sim.ensemble=3", "sim.pessimism=3"], False),
    ],
    "conservative": [
        ("CQL off", [], False),
        ("alpha=0.1", ["qnet.conservative_alpha=0.1"], False),
        ("alpha=1", ["qnet.conservative_alpha=1"], False),
    ],
}
ENVS = ["sim", "world", "sim/ctl", "world/ctl"]
METRICS = ["long_watches", "depth", "return"]


def usage(out):
    out.write(__doc__)


def parse(argv):
    opts = {"recomind": "build/examples/recomind", "config": None, "out": "ablations",
            "seeds": "1", "jobs": 2, "study": "all"}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--help", "-h"):
            usage(sys.stdout)
            sys.exit(0)
        key = a[2:] if a.startswith("--") else None
        if key not in opts:
            sys.stderr.write("ablations.py: unknown argument '%s' (try --help)\n" % a)
            sys.exit(2)
        if i + 1 >= len(argv):
            sys.stderr.write("ablations.py: %s needs a value\n" % a)
            sys.exit(2)
        opts[key] = argv[i + 1]
        i += 2
    try:
        opts["jobs"] = max(1, int(opts["jobs"]))
    except ValueError:
        sys.stderr.write("ablations.py: --jobs needs an integer\n")
        sys.exit(2)
    if opts["study"] != "all" and not all(x in STUDIES for x in opts["study"].split(",")):
        sys.stderr.write("ablations.py: --study is all or a comma-separated list of %s\n"
                         % ", ".join(STUDIES))
        sys.exit(2)
    return opts


def run(opts, study, name, sets, random_init):
    d = os.path.join(opts["out"], study, name.replace(" ", "_").replace("%", "pct")
                     .replace("=", ""))
    os.makedirs(d, exist_ok=True)
    cmd = [opts["recomind"], "--quiet", "--out", d, "--seeds", opts["seeds"],
           "--set", "experiment.threads=1", "--set", "experiment.output.formats=[json, csv]"]
    if opts["config"]:
        cmd += ["--config", opts["config"]]
    for s in sets:
        cmd += ["--set", s]
    if random_init:
        cmd += ["--init", "random"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return study, name, d, p.stderr.strip() or "exit %d" % p.returncode
    return study, name, d, None


def lifts(d):
    with open(os.path.join(d, "results.json")) as f:
        r = json.load(f)
    out = {}
    for env in ENVS:
        e = r["environments"]["%s (pooled)" % env.split("/")[0]]
        lift = e["control_lifts" if env.endswith("/ctl") else "lifts"]["recomind"]
        for m in METRICS:
            rel = lift[m]["relative"]
            out[(env, m)] = (rel["mean"], rel["lo"], rel["hi"])
    return out


def updates_to_reach(d):
    """Per seed: the first evaluated update count whose greedy-Q simulator return reached
    greedy-supervised's; None when it never did."""
    seeds = {}
    with open(os.path.join(d, "learning_curve.csv")) as f:
        for row in csv.DictReader(f):
            seeds.setdefault(row["seed"], []).append(row)
    res = []
    for rows in seeds.values():
        hit = None
        for row in rows:
            if float(row["greedy_q_sim_return"]) >= float(row["greedy_supervised_sim_return"]):
                hit = int(row["updates"])
                break
        res.append(hit)
    return res


def pct(t):
    if t[0] is None or (isinstance(t[0], float) and math.isnan(t[0])):
        return "n/a"
    return "%+.1f%% [%+.1f, %+.1f]" % (100 * t[0], 100 * t[1], 100 * t[2])


def main():
    opts = parse(sys.argv[1:])
    if not os.access(opts["recomind"], os.X_OK):
        sys.stderr.write("ablations.py: %s is not an executable (build first, or pass "
                         "--recomind)\n" % opts["recomind"])
        return 2
    studies = list(STUDIES) if opts["study"] == "all" else opts["study"].split(",")
    jobs = [(s, n, sets, ri) for s in studies for (n, sets, ri) in STUDIES[s]]
    os.makedirs(opts["out"], exist_ok=True)
    # variants that are the base experiment itself (warm start, top-K softmax, K = 25%) are
    # one run: the runs are deterministic, so it is run once and shared
    unique = {}
    for j in jobs:
        unique.setdefault((tuple(j[2]), j[3]), j)
    with ThreadPoolExecutor(max_workers=opts["jobs"]) as ex:
        ran = dict(zip(unique, ex.map(lambda j: run(opts, *j), unique.values())))
    done = []
    for s, n, sets, ri in jobs:
        _, _, d, err = ran[(tuple(sets), ri)]
        done.append((s, n, d, err))
    failed = [x for x in done if x[3]]
    for s, n, d, err in failed:
        sys.stderr.write("ablations.py: %s / %s failed: %s\n" % (s, n, err))
    rows = []
    for s, n, d, err in done:
        if err:
            continue
        l = lifts(d)
        reach = updates_to_reach(d)
        rows.append((s, n, l, reach))
    for s in studies:
        print("\n== %s (seeds %s): RecoMind's lift over greedy-supervised, pooled" %
              (s, opts["seeds"]))
        print("%-16s %-9s %24s %24s %24s  %s" % ("variant", "env", *METRICS,
                                                 "updates to reach greedy-sup (sim)"))
        for (st, n, l, reach) in rows:
            if st != s:
                continue
            for env in ENVS:
                print("%-16s %-9s %24s %24s %24s  %s" % (
                    n, env, *(pct(l[(env, m)]) for m in METRICS),
                    ", ".join("never" if r is None else str(r) for r in reach)
                    if env == "sim" else ""))
    path = os.path.join(opts["out"], "ablations.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["study", "variant", "env", "metric", "lift", "lo", "hi",
                    "updates_to_reach_greedy_supervised"])
        for (s, n, l, reach) in rows:
            for env in ENVS:
                for m in METRICS:
                    w.writerow([s, n, env, m, *l[(env, m)],
                                " ".join("never" if r is None else str(r) for r in reach)])
    print("\nablations: %s" % path)
    if shutil.which("gnuplot") and rows:
        dat = os.path.join(opts["out"], "ablations.dat")
        with open(dat, "w") as f:
            for (s, n, l, reach) in rows:
                vals = []
                for env in ("sim", "world"):
                    v = l[(env, "return")]
                    vals += [100 * (x if x is not None else float("nan")) for x in v]
                f.write('"%s: %s" %s\n' % (s, n, " ".join("%.4f" % x for x in vals)))
        gp = os.path.join(opts["out"], "ablations.gp")
        with open(gp, "w") as f:
            f.write("set terminal pngcairo size 1000,520 noenhanced\n")
            f.write("set output '%s'\n" % os.path.join(opts["out"], "ablations.png"))
            f.write("set title 'Ablations: RecoMind return lift over greedy-supervised "
                    "(%, 95% interval)'\n")
            f.write("set style data histogram\nset style histogram errorbars gap 2 lw 1\n")
            f.write("set style fill solid 0.6\nset xtics rotate by -25\nset xzeroaxis lt -1\n")
            f.write("set ylabel 'return lift (%)'\nset key top left\n")
            f.write("plot '%s' using 2:3:4:xtic(1) title 'simulator', '' using 5:6:7 "
                    "title 'world'\n" % dat)
        if subprocess.run(["gnuplot", gp]).returncode == 0:
            print("plot: %s" % os.path.join(opts["out"], "ablations.png"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
