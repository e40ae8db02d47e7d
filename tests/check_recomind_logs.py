#!/usr/bin/env python3
"""End-to-end test of recomind's logs-only path: a log written by the built-in world (through
world-to-model, as the tutorial does) is all recomind --logs gets: no world. It must fit,
train RecoMind in the simulator of one half of the users, evaluate in the held-out
simulator of the other half, report the logged sessions' own return with a marked place for
the off-policy estimate, and write a Q-network checkpoint that serve-qnet loads and ranks
with. Bad logs and options that do not apply to logs are refused.

usage: check_recomind_logs.py RECOMIND WORLD_TO_MODEL SERVE_QNET OUT_DIR"""
import json
import os
import shutil
import subprocess
import sys

# Small sizes: the whole check takes a few seconds.
CONFIG = """\
experiment:
  seeds: [1]
  evaluation: {sessions: 60, deep_depth: 10, confidence: 0.95}
pipeline: {candidates: 50, lookback: 10, session_cap: 40, heldout_share: 0.4}
model: {dim: 8, n_blocks: 1, n_heads: 2, ffn_dim: 16, init_std: 0.1, max_batch: 64,
        max_candidates: 64, position: true, elapsed: true}
fit: {epochs: 2, batch_size: 64, lr: 0.002, patience: 3}
qnet: {gamma: 0.8, target_period: 100}
trainer: {n_generators: 1, sessions_per_generator: 8, segment_len: 16, replay_ratio: 0.5,
          warmup: 100, batch_size: 32, n_candidates: 32, snapshot_period: 1,
          max_staleness: 0, total_updates: 200, metrics_interval: 100}
"""


def run(*args, stdin=None):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=300, input=stdin)


def main():
    recomind, w2m, serve, out = sys.argv[1:5]
    fails = []
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    logs = os.path.join(out, "logs.csv")
    r = run(w2m, "8000", "popularity", "1", "600", logs)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        return 1
    cfg = os.path.join(out, "logs.yaml")
    with open(cfg, "w") as f:
        f.write(CONFIG)
    res_dir = os.path.join(out, "run")
    r = run(recomind, "--logs", logs, "--config", cfg, "--out", res_dir)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        return 1
    for needle in ("the logged sessions of the held-out users", "in the held-out simulator",
                   "off-policy estimate against the logging policy: not available yet",
                   "serve-qnet --checkpoint"):
        if needle not in r.stdout:
            fails.append("stdout lacks %r" % needle)
    with open(os.path.join(res_dir, "results.json")) as f:
        res = json.load(f)
    want = {"sim (seed 1)", "held-out sim (seed 1)", "sim (pooled)", "held-out sim (pooled)",
            "sim (over seeds)", "held-out sim (over seeds)"}
    if set(res.get("environments", {})) != want:
        fails.append("environments %s, expected %s" % (sorted(res.get("environments", {})),
                                                        sorted(want)))
    if "off_policy" not in res or res["off_policy"] is not None:
        fails.append("results.json: off_policy should be present and null: %r"
                     % res.get("off_policy"))
    if "logged" not in res:
        fails.append("results.json lacks the logged sessions' values")
    for name, env in res.get("environments", {}).items():
        if "(over seeds)" in name:
            if env.get("seeds") != 1 or "control_lifts" not in env:
                fails.append("%s: seeds %r" % (name, env.get("seeds")))
            continue
        if "warm-start" not in env["policies"] or "control_lifts" not in env:
            fails.append("%s: no warm-start control" % name)
        if env.get("sessions") != 60:
            fails.append("%s: %r sessions, expected 60" % (name, env.get("sessions")))
        # the logs' signals by name on both sides (the simulators imitate the logs' names)
        rec = env["policies"].get("recomind", {})
        for m in ("return", "click", "long_watch"):
            if m not in rec:
                fails.append("%s/recomind lacks %s" % (name, m))
    ckpt = os.path.join(res_dir, "qnet.reco")
    if not os.path.exists(ckpt):
        fails.append("no qnet.reco in %s" % res_dir)
    else:
        # the checkpoint serves: the model takes the position and the elapsed time
        req = "12:3 7 40:1 ; 5 9 13 200 ; steps 3 ; elapsed 40\n"
        s = run(serve, "--checkpoint", ckpt, "--threads", "2", stdin=req)
        ranked = s.stdout.split()
        items = sorted(int(x.split(":")[0]) for x in ranked) if s.returncode == 0 else []
        if s.returncode != 0 or items != [5, 9, 13, 200] or "600 items" not in s.stderr:
            fails.append("serve-qnet on %s: exit %d, %r, %r" % (ckpt, s.returncode, s.stdout,
                                                                s.stderr))
        else:
            scores = [float(x.split(":")[1]) for x in ranked]
            if scores != sorted(scores, reverse=True):
                fails.append("serve-qnet: not ranked by decreasing Q: %r" % s.stdout)
    # same logs, same seed: the same numbers
    r2 = run(recomind, "--logs", logs, "--config", cfg, "--out", res_dir + "2", "--quiet")
    with open(os.path.join(res_dir + "2", "results.json")) as f:
        if r2.returncode != 0 or json.load(f) != res:
            fails.append("a second run on the same logs gave other results")
    # refusals: bad logs (file:line:column), options that do not apply to logs
    bad = os.path.join(out, "bad.csv")
    with open(bad, "w") as f:
        f.write("user,session,step,timestamp,item,click,exit\n1,0,0,5,3,1,0\n1,0,1,9,x,0,1\n")
    r = run(recomind, "--logs", bad, "--config", cfg, "--quiet")
    if r.returncode == 0 or "bad.csv:3:9: item" not in r.stderr:
        fails.append("bad logs: exit %d, %r" % (r.returncode, r.stderr))
    for opt, needle in ((["--set", "world.n_items=300"],
                         "world.n_items: not read: the pipeline runs on logs"),
                        (["--set", "experiment.logging.interactions=5000"],
                         "experiment.logging.interactions: not read: the logs are given"),
                        (["--set", "model.n_items=5"], "model.n_items: derived from the logs"),
                        (["--eval-heldout"], "eval-heldout")):
        r = run(recomind, "--logs", logs, "--config", cfg, "--quiet", *opt)
        if r.returncode != 2 or needle not in r.stderr:
            fails.append("%s: exit %d, %r (expected 2 and %r)" % (opt, r.returncode, r.stderr,
                                                                 needle))
    for f in fails:
        print("FAIL: " + f)
    if not fails:
        print("ok: recomind --logs trains from logs alone and serve-qnet loads its checkpoint")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
