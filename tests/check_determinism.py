#!/usr/bin/env python3
"""A seeded run gives the same results.json on every x86-64 CPU (docs/determinism.md).

Runs the quick experiment (experiment.deterministic on, its default) once per code path that a
CPU could pick, forcing each in turn on this machine, and compares the results bit for bit:
  - BLIS's sub-configurations (BLIS_ARCH_TYPE: generic, penryn, sandybridge, haswell, zen3,
    skx, those this CPU can run);
  - glibc's math builds without AVX2 and FMA (GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA),
    which changes the build of exp, log, pow, cos, expf, powf that glibc's ifuncs pick;
  - RECO_FORCE_KERNEL=portable (the deterministic kernels asked for by name).
The control: with experiment.deterministic off (BLIS products), two BLIS sub-configurations
must give different results, or this test could not see the difference it guards against.

usage: check_determinism.py RECOMIND SOURCE_ROOT OUT_DIR"""
import os
import shutil
import subprocess
import sys

# BLIS 0.9's arch_t ids (blis.h) and the CPU flags each sub-configuration's kernels need.
BLIS_ARCHS = [("generic", 25, []), ("penryn", 5, ["ssse3"]), ("sandybridge", 4, ["avx"]),
              ("haswell", 3, ["avx2", "fma"]), ("zen3", 6, ["avx2", "fma"]),
              ("skx", 0, ["avx512f", "avx512dq", "avx512bw", "avx512vl"])]
SHRINK = ["--set", "trainer.total_updates=200", "--set", "experiment.evaluation.sessions=50"]


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def run(exe, quick, out, env_extra, extra_args=()):
    env = dict(os.environ)
    for k in ("BLIS_ARCH_TYPE", "GLIBC_TUNABLES", "RECO_FORCE_KERNEL"):
        env.pop(k, None)
    env.update(env_extra)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    r = subprocess.run([exe, "--config", quick, "--out", out, "--quiet"] + SHRINK +
                       list(extra_args), capture_output=True, text=True, env=env, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("%s %s failed (%d): %s %s" % (env_extra, extra_args, r.returncode,
                                                          r.stdout[-2000:], r.stderr[-2000:]))
    with open(os.path.join(out, "results.json"), "rb") as f:
        return f.read()


def main():
    exe, root, out = sys.argv[1], sys.argv[2], sys.argv[3]
    quick = os.path.join(root, "examples", "configs", "quick.yaml")
    flags = cpu_flags()
    archs = [(n, i) for n, i, need in BLIS_ARCHS if all(x in flags for x in need)]
    paths = [("as picked", {})]
    paths += [("BLIS %s" % n, {"BLIS_ARCH_TYPE": str(i)}) for n, i in archs]
    paths += [("glibc without AVX2/FMA", {"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA"}),
              ("glibc without AVX2/FMA, BLIS generic",
               {"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA", "BLIS_ARCH_TYPE": "25"}),
              ("RECO_FORCE_KERNEL=portable", {"RECO_FORCE_KERNEL": "portable"})]
    fails = []
    ref = None
    for name, env in paths:
        got = run(exe, quick, os.path.join(out, "det"), env)
        if ref is None:
            ref = got
        elif got != ref:
            fails.append("deterministic run differs under %s (%s)" % (name, env))
        print("deterministic, %-40s %d bytes, %s" % (name + ":", len(got),
                                                    "identical" if got == ref else "DIFFERENT"))
    # the control: BLIS's own products differ between two sub-configurations
    if len(archs) >= 2:
        off = ["--set", "experiment.deterministic=false"]
        a = run(exe, quick, os.path.join(out, "blis_a"), {"BLIS_ARCH_TYPE": str(archs[0][1])}, off)
        b = run(exe, quick, os.path.join(out, "blis_b"), {"BLIS_ARCH_TYPE": str(archs[-1][1])},
                off)
        print("not deterministic, BLIS %s vs %s: %s" % (archs[0][0], archs[-1][0],
                                                       "identical" if a == b else "different"))
        if a == b:
            fails.append("control: BLIS %s and %s gave identical results with "
                         "experiment.deterministic off; the test cannot see a difference"
                         % (archs[0][0], archs[-1][0]))
    for f in fails:
        print("FAIL:", f)
    print("%d passed, %d failed" % (len(paths) - len([f for f in fails if "control" not in f]),
                                   len(fails)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
