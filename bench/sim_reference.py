#!/usr/bin/env python3
"""PyTorch reference for bench_sim: simulator environment steps with RecoMind's policy in the
loop, the same work as bench/bench_sim.c — per step and session: encode the state, score the
session's C=500 candidates with the Q head, choose by epsilon-greedy over a softmax of the
top-K (25%) candidates, score the chosen item with the signal and exit heads, draw the
signals and the exit, append the interaction to the state. The model is
bench/model_reference.py's (same architecture). Prints one JSON object per figure.

usage: sim_reference.py [--quick]
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_reference as mr  # noqa: E402

C, N, K_FRAC, EPS, TAU, MAX_LEN = 500, 10000, 0.25, 0.1, 1.0, 50


def run(model, E, seconds, g):
    items = torch.full((E, mr.L), -1, dtype=torch.long)
    bits = torch.zeros(E, mr.L, mr.FSIG)
    length = torch.zeros(E, dtype=torch.long)
    k = max(1, int(round(K_FRAC * C)))
    steps = 0
    t0 = time.perf_counter()
    with torch.no_grad():
        while time.perf_counter() - t0 < seconds:
            for _ in range(10):
                # candidates drawn with replacement: cheaper than libreco's distinct draws,
                # so the ratio this reference gives is a conservative one
                cand = torch.randint(0, N, (E, C), generator=g)
                proj = model.user(items, bits)                       # (E, H, D)
                e = model.item(cand)                                 # (E, C, D)
                q = (proj[:, mr.H - 1, None, :] * e).sum(-1) + model.bias(cand)[..., mr.H - 1]
                top_q, top_i = q.topk(k, dim=1)
                soft = torch.multinomial((top_q / TAU).softmax(1), 1, generator=g)[:, 0]
                explore = torch.rand(E, generator=g) < EPS
                pick = torch.where(explore, top_i.gather(1, soft[:, None])[:, 0], q.argmax(1))
                shown = cand.gather(1, pick[:, None])[:, 0]
                logits = model.score_items(proj, shown, slice(0, mr.FSIG + 1))
                p = logits.sigmoid()
                fb = (torch.rand(E, mr.FSIG, generator=g) < p[:, :mr.FSIG]).float()
                done = torch.rand(E, generator=g) < p[:, mr.FSIG]
                items = torch.cat([items[:, 1:], shown[:, None]], 1)
                bits = torch.cat([bits[:, 1:], fb[:, None]], 1)
                length += 1
                done |= length >= MAX_LEN
                items[done] = -1
                bits[done] = 0
                length[done] = 0
                steps += E
    return steps / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    model = mr.Model(N, False)
    for E in (1, 256):
        rate = run(model, E, 2.0 if args.quick else 5.0, g)
        print(json.dumps({"bench": "sim_ref", "name": "env_steps_per_s",
                          "setting": "E=%d C=%d N=%d top-K softmax" % (E, C, N), "threads": 1,
                          "value": rate, "unit": "steps/s"}), flush=True)


if __name__ == "__main__":
    main()
