#!/usr/bin/env python3
"""PyTorch reference for bench_trainer: the same RecoMind training loop in one process, so
that bench/run_trainer_bench.py can print libreco's throughput as a ratio.

The loop (the setting of bench_trainer.c and examples/train_recomind.c):
  - model: bench/model_reference.py's architecture (item + signal + position embeddings, a
    user slot, one pre-LN transformer block computing only the user slot, final LayerNorm,
    heads (W_h u) . e_i + b_{h,i}) at d=16, L=20, 2 heads, FFN 32, 4 signals + exit + Q;
    a frozen feedback model, an online and a target Q-network (random init);
  - generator: 16 sessions step together: 500 distinct random candidates per session, the
    online network's Q head scores them (lock-step: the snapshot is the newest parameters),
    top-K softmax selection (K = 125, epsilon 0.1), the simulator scores the shown item
    with the feedback model's signal and exit heads, draws the feedback bits, the reward and
    the exit, shifts the window; finished segments (32 steps, or the session's end) go to the
    replay with their history;
  - replay: bench/replay_reference.py's NumPy sum-tree buffer (capacity 100000, alpha 0.6);
  - learner: after a 2000-transition warm-up, one update per 4 inserted transitions (replay
    ratio 0.25): stratified PER sample of 64, 128 random distinct items shared as the
    candidates of every s', Double DQN target from the target network, IS-weighted Huber
    loss, Adam, priority write-back, target sync every 250 updates.
Rates are measured after the warm-up. Prints JSON objects like bench_common.h.

usage: trainer_reference.py [--quick] [--threads N] [--updates U]
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as Fn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_reference as mr  # noqa: E402
import replay_reference as rr  # noqa: E402

N_ITEMS, D, L, FSIG, FFN, NH = 1000, 16, 20, 4, 32, 2
S, SEG, SIM_C, B, CAND = 16, 32, 500, 64, 128
RATIO, WARMUP, CAPACITY = 0.25, 2000, 100000
GAMMA, HUBER, EPS_EXPLORE, K = 0.9, 1.0, 0.1, 125
MAX_LEN = 100
REWARD = torch.tensor([0.1, 1.0, 0.3, -0.5])

# the architecture of model_reference.py at this size (its constants are module globals)
mr.D, mr.L, mr.FSIG, mr.FFN, mr.NH = D, L, FSIG, FFN, NH
mr.T, mr.H = L + 1, FSIG + 2
# the replay reference at this capacity and lookback
rr.C, rr.L = CAPACITY, L
rr.R = 2 * CAPACITY
rr.P = 1 << (CAPACITY - 1).bit_length()
rr.DEPTH = rr.P.bit_length() - 1
Q_HEAD = FSIG + 1


def bits_of(fb):
    """(..., L) feedback bit masks -> (..., L, FSIG) floats."""
    fb = torch.as_tensor(np.asarray(fb, dtype=np.int64))
    return ((fb[..., None] >> torch.arange(FSIG)) & 1).float()


class Sim:
    def __init__(self, g):
        self.g = g
        self.items = torch.full((S, L), -1, dtype=torch.long)
        self.fb = torch.zeros((S, L), dtype=torch.long)
        self.len = torch.zeros(S, dtype=torch.long)

    def candidates(self):
        return torch.multinomial(torch.ones(S, N_ITEMS), SIM_C, generator=self.g)

    def step(self, feedback_model, shown):
        with torch.no_grad():
            u = feedback_model.user(self.items, bits_of(self.fb))
            p = torch.sigmoid(feedback_model.score_items(u, shown, slice(0, FSIG + 1)))
        draws = torch.rand(S, FSIG + 1, generator=self.g) < p
        bits = (draws[:, :FSIG].long() << torch.arange(FSIG)).sum(1)
        reward = (draws[:, :FSIG].float() * REWARD).sum(1)
        self.len += 1
        exit_ = draws[:, FSIG]
        trunc = (~exit_) & (self.len >= MAX_LEN)
        self.items = torch.cat([self.items[:, 1:], shown[:, None]], 1)
        self.fb = torch.cat([self.fb[:, 1:], bits[:, None]], 1)
        return bits, reward, exit_, trunc

    def reset(self, mask):
        self.items[mask] = -1
        self.fb[mask] = 0
        self.len[mask] = 0


def select(q, g):
    """Top-K softmax with epsilon-uniform exploration over (S, SIM_C) scores."""
    top, idx = q.topk(K, dim=1)
    pick = idx.gather(1, torch.multinomial(torch.softmax(top, 1), 1, generator=g))[:, 0]
    uni = torch.randint(0, SIM_C, (S,), generator=g)
    explore = torch.rand(S, generator=g) < EPS_EXPLORE
    return torch.where(explore, uni, pick)


def run(threads, updates):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    feedback = mr.Model(N_ITEMS, False)
    online, target = mr.Model(N_ITEMS, False), mr.Model(N_ITEMS, False)
    target.load_state_dict(online.state_dict())
    opt = torch.optim.Adam(online.parameters(), lr=5e-4)
    replay = rr.NumpyReplay()
    sim = Sim(g)
    hist = [(np.zeros(0, np.int32), np.zeros(0, np.uint32))] * S
    seg = [[] for _ in range(S)]
    inserted, done_updates = 0, 0
    t_start = None
    ins_at_start = 0
    rows = torch.arange(S)
    while done_updates < updates:
        # one round of the generator
        cand = sim.candidates()
        with torch.no_grad():
            u = online.user(sim.items, bits_of(sim.fb))
            e = online.item(cand)                                   # (S, C, D)
            q = (u[:, Q_HEAD, None, :] * e).sum(-1) + online.bias(cand)[..., Q_HEAD]
        shown = cand[rows, select(q, g)]
        before_items, before_fb = sim.items.clone(), sim.fb.clone()
        bits, reward, exit_, trunc = sim.step(feedback, shown)
        ended = exit_ | trunc
        for s in range(S):
            if not seg[s]:
                valid = before_items[s] >= 0
                hist[s] = (before_items[s][valid].numpy().astype(np.int32),
                           before_fb[s][valid].numpy().astype(np.uint32))
            seg[s].append((int(shown[s]), int(bits[s]), float(reward[s])))
            if ended[s] or len(seg[s]) == SEG:
                st = np.array(seg[s])
                replay.insert(hist[s][0], hist[s][1], st[:, 0].astype(np.int32),
                              st[:, 1].astype(np.uint32), st[:, 2].astype(np.float32),
                              int(exit_[s]))
                inserted += len(seg[s])
                seg[s] = []
        if ended.any():
            sim.reset(ended)
        # the learner: every update the ratio allows
        while inserted >= max(WARMUP, B) and (inserted - WARMUP) * RATIO >= done_updates + 1 \
                and done_updates < updates:
            if t_start is None:
                t_start, ins_at_start, upd_at_start = time.perf_counter(), inserted, done_updates
            smp = replay.sample(B)
            s_items = torch.as_tensor(smp["state_items"].astype(np.int64))
            n_items = torch.as_tensor(smp["next_items"].astype(np.int64))
            s_bits, n_bits = bits_of(smp["state_fb"]), bits_of(smp["next_fb"])
            act = torch.as_tensor(smp["actions"].astype(np.int64))
            rew = torch.as_tensor(smp["rewards"])
            dn = torch.as_tensor(smp["done"].astype(np.float32))
            w = torch.as_tensor(smp["weights"])
            c = torch.randperm(N_ITEMS, generator=g)[:CAND]
            with torch.no_grad():
                a = c[online.score_candidates(online.user(n_items, n_bits), c, Q_HEAD).argmax(1)]
                qt = target.score_items(target.user(n_items, n_bits), a,
                                        slice(Q_HEAD, Q_HEAD + 1))[:, 0]
                y = rew + GAMMA * (1 - dn) * qt
            opt.zero_grad()
            pred = online.score_items(online.user(s_items, s_bits), act,
                                      slice(Q_HEAD, Q_HEAD + 1))[:, 0]
            td = pred - y
            (w * Fn.huber_loss(pred, y, reduction="none", delta=HUBER)).mean().backward()
            opt.step()
            replay.update(smp["slots"], td.detach().abs().numpy())
            done_updates += 1
            if done_updates % 250 == 0:
                target.load_state_dict(online.state_dict())
    dt = time.perf_counter() - t_start
    return (inserted - ins_at_start) / dt, (done_updates - upd_at_start) / dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--updates", type=int, default=0)
    args = ap.parse_args()
    updates = args.updates or (1000 if args.quick else 5000)
    tps, ups = run(args.threads, updates)
    setting = "B=%d C=%d sim_C=%d ratio=%g threads=%d" % (B, CAND, SIM_C, RATIO, args.threads)
    for name, v in (("transitions_per_s", tps), ("updates_per_s", ups)):
        print(json.dumps({"bench": "trainer_ref", "name": name, "setting": setting,
                          "threads": args.threads, "value": v, "unit": "1/s"}), flush=True)


if __name__ == "__main__":
    main()
