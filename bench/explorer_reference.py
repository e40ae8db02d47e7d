#!/usr/bin/env python3
"""NumPy reference for bench_explorer: RecoMind's top-K softmax selection for a batch of
B = 256 states x C = 500 candidates (eps 0.1, tau 1, K = 125), vectorised over the batch as a
NumPy user would write it: argmax, argpartition for the top K, a stabilised softmax, one
inverse-CDF draw per row, and the chosen action's mixture probability. Prints one JSON object
like bench_common.h (ns per selection).

usage: explorer_reference.py [--quick]     (Debian's /usr/bin/python3 with python3-numpy)
"""
import json
import sys
import time

import numpy as np

B, C, EPS, TAU, K = 256, 500, 0.1, 1.0, 125


def select_top_k_softmax(q, rng):
    rows = np.arange(q.shape[0])
    amax = q.argmax(axis=1)
    top = np.argpartition(-q, K - 1, axis=1)[:, :K]
    tq = np.take_along_axis(q, top, axis=1)
    w = np.exp((tq - q[rows, amax][:, None]) / TAU)
    s = w.sum(axis=1)
    u1 = rng.random(q.shape[0])
    u2 = rng.random(q.shape[0])
    cdf = np.cumsum(w, axis=1)
    j = np.minimum((cdf < (u2 * s)[:, None]).sum(axis=1), K - 1)
    explore = u1 < EPS
    choice = np.where(explore, top[rows, j], amax)
    w_choice = np.where(explore, w[rows, j], 1.0)
    prob = EPS * w_choice / s + (1.0 - EPS) * (choice == amax)
    return choice, prob


def main():
    quick = "--quick" in sys.argv[1:]
    reps = 50 if quick else 500
    rng = np.random.default_rng(12345)
    q = rng.standard_normal((B, C)).astype(np.float32)
    for _ in range(5):
        select_top_k_softmax(q, rng)
    t0 = time.perf_counter()
    acc = 0
    for _ in range(reps):
        choice, _ = select_top_k_softmax(q, rng)
        acc += int(choice[0])
    t1 = time.perf_counter()
    ns = 1e9 * (t1 - t0) / (reps * B)
    print(json.dumps({"bench": "explorer_numpy", "name": "select_top_k_softmax",
                      "setting": "B=256 C=500 eps=0.1 tau=1 K=125", "threads": 1,
                      "value": round(ns, 3), "unit": "ns/selection"}, separators=(",", ":")))
    print("checksum %d" % acc, file=sys.stderr)


if __name__ == "__main__":
    main()
