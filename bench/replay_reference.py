#!/usr/bin/env python3
"""Python reference for bench_replay: the same buffer operations on a textbook sum-tree, in
NumPy (vectorised over the batch) and, where Debian's python3-numba is installed, in Numba
(compiled loops), so that bench/run_replay_bench.py can print libreco's speed as a ratio.

What each implementation does, at capacity 1M and L = 20 (as bench/bench_replay.c):
  - storage: a ring of interaction records (item, feedback) holding each segment's L-history
    header and steps, and per transition its record position, window length, reward, done;
  - a binary sum-tree and min-tree over 2^20 leaves in float64 (array form, root at 1);
  - insert: a whole segment (L history + n steps) at the maximum priority, tree updated;
  - sample_256: stratified proportional sampling (one draw per equal-mass stratum), the state
    and next-state windows (items and feedback) rebuilt from the records, actions, rewards,
    done, IS weights (p_min / p_i)^beta, probabilities;
  - update_256: new priorities (p + eps)^alpha for the sampled indices, both trees updated.
Each figure is the best of REPS timed rounds (as in bench_replay) and is printed as one JSON
object per line, with the names and settings of bench_replay and "impl": "numpy" or "numba".

usage: replay_reference.py [--quick] [--impl numpy|numba|all]
"""
import argparse
import json
import time

import numpy as np

C = 1_000_000
L = 20
B = 256
R = 2 * C
P = 1 << (C - 1).bit_length()  # leaves of the binary tree
DEPTH = P.bit_length() - 1
ALPHA, BETA, EPS = 0.6, 0.4, 1e-6
PAD = -1
REPS = 5


class NumpyReplay:
    def __init__(self):
        self.rec_item = np.zeros(R, np.int32)
        self.rec_fb = np.zeros(R, np.uint16)
        self.t_pos = np.zeros(C, np.int64)
        self.t_back = np.zeros(C, np.int16)
        self.t_reward = np.zeros(C, np.float32)
        self.t_done = np.zeros(C, np.uint8)
        self.sum = np.zeros(2 * P, np.float64)
        self.min = np.full(2 * P, np.inf)
        self.head = 0  # transitions ever added
        self.rec_head = 0
        self.max_p = 1.0
        self.rng = np.random.default_rng(1)
        self.offsets = np.arange(L)

    def count(self):
        return self.head

    def _propagate(self, leaves):
        idx = np.unique(leaves + P) // 2
        while idx[0] >= 1:
            self.sum[idx] = self.sum[2 * idx] + self.sum[2 * idx + 1]
            self.min[idx] = np.minimum(self.min[2 * idx], self.min[2 * idx + 1])
            if idx[0] == 1:
                break
            idx = np.unique(idx // 2)

    def insert(self, hist_items, hist_fb, items, fb, rewards, ends):
        h, n = len(hist_items), len(items)
        rec = (self.rec_head + np.arange(h + n)) % R
        self.rec_item[rec[:h]] = hist_items
        self.rec_fb[rec[:h]] = hist_fb
        self.rec_item[rec[h:]] = items
        self.rec_fb[rec[h:]] = fb
        slots = (self.head + np.arange(n)) % C
        self.t_pos[slots] = rec[h:]
        self.t_back[slots] = np.minimum(L, h + np.arange(n))
        self.t_reward[slots] = rewards
        self.t_done[slots] = 0
        self.t_done[slots[-1]] = ends
        leaf = self.max_p ** ALPHA
        self.sum[slots + P] = leaf
        self.min[slots + P] = leaf
        self._propagate(slots)
        self.head += n
        self.rec_head = (self.rec_head + h + n) % R

    def _window(self, end, count):
        k = end[:, None] - L + self.offsets[None, :]
        valid = self.offsets[None, :] >= (L - count)[:, None]
        k = k % R
        items = np.where(valid, self.rec_item[k], PAD)
        fb = np.where(valid, self.rec_fb[k], 0).astype(np.uint32)
        return items, fb

    def sample(self, n=B):
        total = self.sum[1]
        u = (np.arange(n) + self.rng.random(n)) * (total / n)
        idx = np.ones(n, np.int64)
        for _ in range(DEPTH):
            left = self.sum[2 * idx]
            go = u >= left
            u = np.where(go, u - left, u)
            idx = 2 * idx + go
        slots = idx - P
        p = self.sum[idx]
        pos = self.t_pos[slots]
        back = self.t_back[slots].astype(np.int64)
        s_items, s_fb = self._window(pos, back)
        n_items, n_fb = self._window(pos + 1, np.minimum(L, back + 1))
        out = {
            "slots": slots,
            "state_items": s_items, "state_fb": s_fb,
            "next_items": n_items, "next_fb": n_fb,
            "actions": self.rec_item[pos], "rewards": self.t_reward[slots],
            "done": self.t_done[slots],
            "weights": ((self.min[1] / p) ** BETA).astype(np.float32),
            "prob": (p / total).astype(np.float32),
        }
        return out

    def update(self, slots, priorities):
        pe = priorities.astype(np.float64) + EPS
        leaf = pe ** ALPHA
        self.sum[slots + P] = leaf
        self.min[slots + P] = leaf
        self.max_p = max(self.max_p, float(pe.max()))
        self._propagate(slots)


def make_numba():
    import numba

    @numba.njit(cache=False)
    def nb_insert(rec_item, rec_fb, t_pos, t_back, t_reward, t_done, sm, mn, state,
                  hist_items, hist_fb, items, fb, rewards, ends):
        # state: [head, rec_head, max_p]
        head, rec_head, max_p = int(state[0]), int(state[1]), state[2]
        h, n = hist_items.shape[0], items.shape[0]
        for k in range(h):
            r = (rec_head + k) % R
            rec_item[r] = hist_items[k]
            rec_fb[r] = hist_fb[k]
        leaf = max_p ** ALPHA
        for j in range(n):
            r = (rec_head + h + j) % R
            rec_item[r] = items[j]
            rec_fb[r] = fb[j]
            s = (head + j) % C
            t_pos[s] = r
            t_back[s] = min(L, h + j)
            t_reward[s] = rewards[j]
            t_done[s] = ends if j == n - 1 else 0
            i = s + P
            sm[i] = leaf
            mn[i] = leaf
            i //= 2
            while i >= 1:
                sm[i] = sm[2 * i] + sm[2 * i + 1]
                mn[i] = min(mn[2 * i], mn[2 * i + 1])
                i //= 2
        state[0] = head + n
        state[1] = (rec_head + h + n) % R

    @numba.njit(cache=False)
    def nb_sample(rec_item, rec_fb, t_pos, t_back, t_reward, t_done, sm, mn, us, beta,
                  o_slot, o_si, o_sf, o_ni, o_nf, o_act, o_rew, o_done, o_w, o_p):
        n = us.shape[0]
        total = sm[1]
        pmin = mn[1]
        for b in range(n):
            u = (b + us[b]) * (total / n)
            i = 1
            while i < P:
                left = sm[2 * i]
                if u >= left:
                    u -= left
                    i = 2 * i + 1
                else:
                    i = 2 * i
            s = i - P
            o_slot[b] = s
            pos = t_pos[s]
            back = t_back[s]
            for q in range(L):
                k = q - (L - back)
                if k < 0:
                    o_si[b, q] = PAD
                    o_sf[b, q] = 0
                else:
                    r = (pos - back + k) % R
                    o_si[b, q] = rec_item[r]
                    o_sf[b, q] = rec_fb[r]
            nb = min(L, back + 1)
            for q in range(L):
                k = q - (L - nb)
                if k < 0:
                    o_ni[b, q] = PAD
                    o_nf[b, q] = 0
                else:
                    r = (pos + 1 - nb + k) % R
                    o_ni[b, q] = rec_item[r]
                    o_nf[b, q] = rec_fb[r]
            o_act[b] = rec_item[pos]
            o_rew[b] = t_reward[s]
            o_done[b] = t_done[s]
            p = sm[i]
            o_w[b] = (pmin / p) ** beta
            o_p[b] = p / total

    @numba.njit(cache=False)
    def nb_update(sm, mn, state, slots, priorities):
        max_p = state[2]
        for k in range(slots.shape[0]):
            pe = priorities[k] + EPS
            if pe > max_p:
                max_p = pe
            i = slots[k] + P
            leaf = pe ** ALPHA
            sm[i] = leaf
            mn[i] = leaf
            i //= 2
            while i >= 1:
                sm[i] = sm[2 * i] + sm[2 * i + 1]
                mn[i] = min(mn[2 * i], mn[2 * i + 1])
                i //= 2
        state[2] = max_p

    class NumbaReplay(NumpyReplay):
        def __init__(self):
            super().__init__()
            self.state = np.array([0.0, 0.0, 1.0])
            self.o_slot = np.zeros(B, np.int64)
            self.o_si = np.zeros((B, L), np.int32)
            self.o_sf = np.zeros((B, L), np.uint32)
            self.o_ni = np.zeros((B, L), np.int32)
            self.o_nf = np.zeros((B, L), np.uint32)
            self.o_act = np.zeros(B, np.int32)
            self.o_rew = np.zeros(B, np.float32)
            self.o_done = np.zeros(B, np.uint8)
            self.o_w = np.zeros(B, np.float32)
            self.o_p = np.zeros(B, np.float32)

        def count(self):
            return int(self.state[0])

        def insert(self, hist_items, hist_fb, items, fb, rewards, ends):
            nb_insert(self.rec_item, self.rec_fb, self.t_pos, self.t_back, self.t_reward,
                      self.t_done, self.sum, self.min, self.state, hist_items, hist_fb, items,
                      fb, rewards, ends)

        def sample(self, n=B):
            nb_sample(self.rec_item, self.rec_fb, self.t_pos, self.t_back, self.t_reward,
                      self.t_done, self.sum, self.min, self.rng.random(n), BETA, self.o_slot,
                      self.o_si, self.o_sf, self.o_ni, self.o_nf, self.o_act, self.o_rew,
                      self.o_done, self.o_w, self.o_p)
            return {"slots": self.o_slot}

        def update(self, slots, priorities):
            nb_update(self.sum, self.min, self.state, slots, priorities)

    return NumbaReplay


def figure(impl, name, setting, value, unit):
    print(json.dumps({"bench": "replay_ref", "impl": impl, "name": name, "setting": setting,
                      "threads": 1, "value": float("%.6g" % value), "unit": unit}), flush=True)


def segment(s, n):
    hist = ((s * 7919 + np.arange(L)) % 1000000).astype(np.int32)
    hfb = (np.arange(L) & 15).astype(np.uint16)
    items = ((s * 104729 + np.arange(n)) % 1000000).astype(np.int32)
    fb = ((s + np.arange(n)) & 15).astype(np.uint16)
    rew = (((s + np.arange(n)) % 7) * 0.5 - 1.0).astype(np.float32)
    return hist, hfb, items, fb, rew


def run(impl, cls, quick):
    rb = cls()
    # insert rate: fill to capacity, then time inserts that overwrite
    for seg_len, n_trans in ((64, 400_000 if quick else 2_000_000),
                             (16, 100_000 if quick else 500_000)):
        segs = [segment(s, seg_len) for s in range(8)]
        while rb.count() < C:
            rb.insert(*segs[rb.count() % 8], 0)
        n_segs = n_trans // seg_len // REPS
        best = float("inf")
        for _ in range(REPS):
            t0 = time.perf_counter()
            for k in range(n_segs):
                rb.insert(*segs[k % 8], k & 1)
            best = min(best, time.perf_counter() - t0)
        figure(impl, "insert", "capacity=1M L=20 seg=%d" % seg_len,
               1e-6 * n_segs * seg_len / best, "M/s")
    # spread the priorities, then time sample, update, both
    gen = np.random.default_rng(77)
    pri = (gen.random((64, B)) * gen.random((64, B)) * 10.0).astype(np.float32)
    for it in range(200 if quick else 2000):
        out = rb.sample()
        rb.update(out["slots"], pri[it % 64])
    per_rep = (300 if quick else 2000) // REPS
    setting = "capacity=1M L=20 B=256"
    best_s = best_u = best_su = float("inf")
    for _ in range(REPS):
        t0 = time.perf_counter()
        for _ in range(per_rep):
            out = rb.sample()
        best_s = min(best_s, time.perf_counter() - t0)
        slots = out["slots"].copy()
        t0 = time.perf_counter()
        for it in range(per_rep):
            rb.update(slots, pri[it % 64])
        best_u = min(best_u, time.perf_counter() - t0)
        t0 = time.perf_counter()
        for it in range(per_rep):
            out = rb.sample()
            rb.update(out["slots"], pri[it % 64])
        best_su = min(best_su, time.perf_counter() - t0)
    figure(impl, "sample_256", setting, 1e6 * best_s / per_rep, "us")
    figure(impl, "update_256", setting, 1e6 * best_u / per_rep, "us")
    us = 1e6 * best_su / per_rep
    figure(impl, "sample_update_256", setting, us, "us")
    figure(impl, "sample_update_256_rate", setting, 1e6 / us, "batches/s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--impl", default="all", choices=["numpy", "numba", "all"])
    a = ap.parse_args()
    if a.impl in ("numpy", "all"):
        run("numpy", NumpyReplay, a.quick)
    if a.impl in ("numba", "all"):
        try:
            cls = make_numba()
        except ImportError:
            print("# numba not installed (apt-get install python3-numba): numba skipped",
                  flush=True)
            return
        run("numba", cls, a.quick)


if __name__ == "__main__":
    main()
