#!/usr/bin/env python3
"""recomind's configuration, without running an experiment (each check takes milliseconds).

usage: check_recomind_config.py RECOMIND SOURCE_ROOT defaults|keys

defaults  the built-in defaults equal examples/configs/default.yaml; every configuration in
          examples/configs loads; --print-config shows the options the run derives or does
          not read only as comments, and its text loads back to the same text.
keys      options the run derives or does not read are refused when given, by --set or in a
          file (tests/config/recomind/), with the exit status 2 and a message naming the
          --set argument or the file:line:column, the option and the reason, before any work;
          options the run does use are accepted."""
import os
import re
import subprocess
import sys
import tempfile

# Options recomind always derives or never reads, and a substring of the reason for the
# quick configuration (world: 300 items, lookback 20, 100 candidates, user features,
# long_len 20).
ALWAYS_FIXED = {
    "model.n_items": "derived from world.n_items = 300",
    "model.n_signals": "derived from the world's 4 signals",
    "model.lookback": "derived from world.lookback = 20",
    "model.user_dim": "derived from world.user_features = true",
    "model.long_len": "derived from world.long_len = 20",
    "replay.lookback": "derived from world.lookback = 20",
    "replay.context": "derived from the model's inputs",
    "replay.user_dim": "derived from world.user_features = true",
    "replay.long_len": "derived from world.long_len = 20",
    "explorer.max_candidates": "derived from world.n_candidates = 100",
    "explorer.stream": "not read",
    "sim.max_sessions": "derived from trainer.n_generators x sessions_per_generator = 8 "
                        "(training) and world.max_sessions = 64 (evaluation)",
    "sim.seconds_base": "derived from the logs",
    "trainer.n_users": "derived from the logs: their 200 users",
    "trainer.metrics_csv": "not read",
    "fit.checkpoint": "not read",
    "experiment.seed": "not read",
    "experiment.time_limit_s": "not read",
    "experiment.verbosity": "not read",
}


def run(exe, *args):
    return subprocess.run([exe] + list(args), capture_output=True, text=True, timeout=60)


def flat(yaml_text):
    """{dotted path: the rest of its line} of the writer's block YAML; comment lines give
    their path with the key '#'-prefixed."""
    keys, stack = {}, []
    for line in yaml_text.split("\n"):
        m = re.match(r"^( *)(# )?([A-Za-z0-9_]+):(.*)$", line)
        if not m:
            continue
        depth = len(m.group(1)) // 2
        stack = stack[:depth] + [m.group(3)]
        keys[("#" if m.group(2) else "") + ".".join(stack)] = m.group(4).strip()
    return keys


def defaults(exe, root, fails):
    cfgs = os.path.join(root, "examples", "configs")
    d1 = run(exe, "--print-config")
    d2 = run(exe, "--config", os.path.join(cfgs, "default.yaml"), "--print-config")
    if d1.returncode or d2.returncode or d1.stdout != d2.stdout:
        fails.append("recomind's built-in defaults differ from examples/configs/default.yaml: "
                     "%r %r" % (d1.stderr, d2.stderr))
    for name in sorted(os.listdir(cfgs)):
        if not name.endswith(".yaml"):
            continue
        r = run(exe, "--config", os.path.join(cfgs, name), "--print-config")
        if r.returncode != 0:
            fails.append("%s: exit %d: %s" % (name, r.returncode, r.stderr))
            continue
        keys = flat(r.stdout)
        for k in ALWAYS_FIXED:
            if k in keys:
                fails.append("%s: --print-config shows %s: %s, a value the run does not use"
                             % (name, k, keys[k]))
            if "#" + k not in keys:
                fails.append("%s: --print-config does not say where %s comes from" % (name, k))
        # the printed text is a configuration recomind accepts, and prints back the same
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(r.stdout)
        again = run(exe, "--config", f.name, "--print-config")
        os.unlink(f.name)
        if again.returncode != 0 or again.stdout != r.stdout:
            fails.append("%s: --print-config's text does not load back: %s"
                         % (name, again.stderr))
    quick = run(exe, "--config", os.path.join(cfgs, "quick.yaml"), "--print-config")
    keys = flat(quick.stdout)
    for k, why in ALWAYS_FIXED.items():
        if why not in keys.get("#" + k, ""):
            fails.append("quick.yaml: %s is printed as %r, expected a comment with %r"
                         % (k, keys.get("#" + k), why))
    # the values the run uses are printed as they are
    for k, v in (("world.n_items", "300"), ("model.dim", "8"), ("model.max_candidates", "128"),
                 ("sim.max_session_len", "50"), ("experiment.name", '"recomind-quick"')):
        if keys.get(k) != v:
            fails.append("quick.yaml: %s printed as %r, expected %r" % (k, keys.get(k), v))


def refused(fails, what, r, *needles):
    if r.returncode != 2:
        fails.append("%s: exit %d, expected 2 (stderr %r)" % (what, r.returncode, r.stderr))
    for n in needles:
        if n not in r.stderr:
            fails.append("%s: stderr lacks %r: %r" % (what, n, r.stderr))
    if r.stdout:
        fails.append("%s: work started (stdout %r)" % (what, r.stdout[:200]))


def keys(exe, root, fails):
    quick = os.path.join(root, "examples", "configs", "quick.yaml")
    # the command line: both options are refused, each with its reason
    r = run(exe, "--set", "model.n_items=5", "--set", "replay.lookback=7")
    refused(fails, "--set model.n_items=5 --set replay.lookback=7", r,
            "recomind: --set model.n_items=5: model.n_items: derived from world.n_items = 1000",
            "recomind: --set replay.lookback=7: replay.lookback: derived from world.lookback "
            "= 20", "2 options given that the run derives or does not read")
    for key, why in sorted(ALWAYS_FIXED.items()):
        # one refusal per option, with the quick configuration's reason; --print-config too
        value = {"replay.context": "true",
                 "experiment.verbosity": "debug", "trainer.metrics_csv": "x.csv",
                 "fit.checkpoint": "x.reco"}.get(key, "7")
        r = run(exe, "--config", quick, "--set", "%s=%s" % (key, value), "--print-config")
        refused(fails, "--set %s=%s" % (key, value), r,
                "--set %s=%s: %s: %s" % (key, value, key, why))
    # in a file: the key's line and column
    bad = os.path.join(root, "tests", "config", "recomind")
    path = os.path.join(bad, "derived_model_n_items.yaml")
    refused(fails, "derived_model_n_items.yaml", run(exe, "--config", path),
            "recomind: %s:6:3: model.n_items: derived from world.n_items = 300" % path)
    path = os.path.join(bad, "unused_metrics_csv.yaml")
    refused(fails, "unused_metrics_csv.yaml", run(exe, "--config", path, "--quiet"),
            "%s:5:3: trainer.metrics_csv: not read" % path,
            "%s:3:14: experiment.seed: not read" % path, "2 options given")
    path = os.path.join(bad, "capped_session_len.yaml")
    refused(fails, "capped_session_len.yaml", run(exe, "--config", path),
            "%s:4:7: sim.max_session_len: 80 is cut to world.max_session_len = 50" % path)
    # options overridden only beyond a bound: refused there, the run's own below it
    r = run(exe, "--set", "model.max_candidates=10", "--print-config")
    refused(fails, "model.max_candidates=10", r,
            "model.max_candidates: 10 is raised to world.n_candidates = 500")
    for key, value in (("model.max_candidates", "600"), ("sim.max_session_len", "150"),
                       ("model.dim", "32"), ("experiment.name", "mine")):
        r = run(exe, "--set", "%s=%s" % (key, value), "--print-config")
        if r.returncode != 0 or flat(r.stdout).get(key, "").strip('"') != value:
            fails.append("--set %s=%s: exit %d, printed %r: %s" % (
                key, value, r.returncode, flat(r.stdout).get(key), r.stderr))
    # the pipeline section must agree with what the world declares, naming both values
    for key, value, why in (
            ("pipeline.candidates", "40", "40 differs from world.n_candidates = 100"),
            ("pipeline.session_cap", "80", "80 differs from world.max_session_len = 50"),
            ("pipeline.reward", "[1,1,1,1]", "[1, 1, 1, 1] differs from world.reward (click, "
             "long_watch, like, hide) = [0.1, 1, 0.3, -0.5]"),
            ("sim.n_candidates", "500", "500 differs from world.n_candidates = 100"),
            ("pipeline.heldout_share", "0.3", "not read: only a run on logs splits them")):
        r = run(exe, "--config", quick, "--set", "%s=%s" % (key, value), "--print-config")
        refused(fails, "--set %s=%s" % (key, value), r,
                "--set %s=%s: %s: %s" % (key, value, key, why))
    # ... and is taken from it when left out (or given equal)
    r = run(exe, "--config", quick, "--set", "pipeline.candidates=100", "--print-config")
    if r.returncode != 0 or "# candidates: derived from world.n_candidates = 100" not in r.stdout:
        fails.append("pipeline.candidates=100: exit %d, not shown as derived: %s"
                     % (r.returncode, r.stderr))
    # the same file without the refused key runs its checks clean
    r = run(exe, "--config", quick, "--set", "world.n_items=50", "--print-config")
    if r.returncode != 0 or "# n_items: derived from world.n_items = 50" not in r.stdout:
        fails.append("world.n_items=50: exit %d, model.n_items not derived from it: %s"
                     % (r.returncode, r.stderr))


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("defaults", "keys"):
        sys.exit(__doc__)
    exe, root, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    fails = []
    (defaults if mode == "defaults" else keys)(exe, root, fails)
    for f in fails:
        print("FAIL:", f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
