#!/usr/bin/env python3
"""PyTorch reference for bench_model: the same architecture and the same measured operations,
so that bench/run_model_bench.py can print libreco's speed as a ratio.

Architecture (docs/model.md): item + feedback-signal + position embeddings, a user slot,
pre-LN transformer blocks (the last one computes only the user slot's query and FFN, as
libreco does), final LayerNorm, heads score = (W_h u) . e_i + b_{h,i} with tied item
embeddings. Prints one JSON object per figure, like bench_common.h.

usage: model_reference.py [--quick] [--threads N] [--items N,N,...]
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as Fn

D, L, FSIG, B, C, FFN, NH = 64, 20, 5, 256, 500, 256, 2
T = L + 1
H = FSIG + 2


class Block(torch.nn.Module):
    def __init__(self, last):
        super().__init__()
        self.last = last
        self.ln1 = torch.nn.LayerNorm(D)
        self.qkv = torch.nn.Linear(D, 3 * D)
        self.o = torch.nn.Linear(D, D)
        self.ln2 = torch.nn.LayerNorm(D)
        self.ff1 = torch.nn.Linear(D, FFN)
        self.ff2 = torch.nn.Linear(FFN, D)

    def forward(self, x, key_mask):
        a = self.ln1(x)
        q, k, v = self.qkv(a).split(D, dim=-1)
        if self.last:
            q, x = q[:, -1:], x[:, -1:]
        b, tq = q.shape[0], q.shape[1]
        hd = D // NH
        q = q.view(b, tq, NH, hd).transpose(1, 2)
        k = k.view(b, T, NH, hd).transpose(1, 2)
        v = v.view(b, T, NH, hd).transpose(1, 2)
        s = q @ k.transpose(-1, -2) / math.sqrt(hd)
        s = s.masked_fill(~key_mask[:, None, None, :], float("-inf"))
        o = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, tq, D)
        m = x + self.o(o)
        return m + self.ff2(Fn.gelu(self.ff1(self.ln2(m)), approximate="tanh"))


class Model(torch.nn.Module):
    def __init__(self, n_items, sparse):
        super().__init__()
        self.item = torch.nn.Embedding(n_items, D, sparse=sparse)
        self.bias = torch.nn.Embedding(n_items, H, sparse=sparse)
        self.sig = torch.nn.Parameter(torch.randn(FSIG, D) * 0.02)
        self.pos = torch.nn.Parameter(torch.randn(T, D) * 0.02)
        self.tok = torch.nn.Parameter(torch.randn(D) * 0.02)
        self.blocks = torch.nn.ModuleList([Block(True)])
        self.lnf = torch.nn.LayerNorm(D)
        self.heads = torch.nn.Linear(D, H * D, bias=False)
        torch.nn.init.normal_(self.item.weight, std=0.02)
        torch.nn.init.zeros_(self.bias.weight)

    def user(self, items, bits):
        valid = items >= 0
        e = self.item(items.clamp(min=0)) * valid[..., None]
        e = e + bits @ self.sig
        x = torch.cat([e, self.tok.expand(items.shape[0], 1, D)], 1) + self.pos
        mask = torch.cat([valid, torch.ones(items.shape[0], 1, dtype=torch.bool)], 1)
        for blk in self.blocks:
            x = blk(x, mask)
        u = self.lnf(x[:, -1])
        return self.heads(u).view(-1, H, D)

    def score_items(self, proj, items, head_slice):
        # proj (B, H, D); items (B,) -> (B, heads)
        e = self.item(items)
        return (proj[:, head_slice] * e[:, None]).sum(-1) + self.bias(items)[:, head_slice]

    def score_candidates(self, proj, cand, head):
        e = self.item(cand)  # (C, D)
        return proj[:, head] @ e.T + self.bias(cand)[:, head]


def emit(name, setting, threads, value, unit):
    print(json.dumps({"bench": "model_ref", "name": name, "setting": setting,
                      "threads": threads, "value": value, "unit": unit}), flush=True)


def best_time(fn, reps):
    for _ in range(2):
        fn()
    best = 1e30
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def batch(n_items, rows, g):
    items = torch.randint(0, n_items, (rows, L), generator=g)
    items[torch.rand(rows, L, generator=g) < 0.25] = -1
    bits = (torch.rand(rows, L, FSIG, generator=g) < 0.3).float()
    return items, bits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--items", default="10000,100000,1000000")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    reps = 5 if args.quick else 30
    sizes = [int(x) for x in args.items.split(",")]
    g = torch.Generator().manual_seed(1)
    for n in sizes:
        for sparse in (False, True):
            torch.manual_seed(0)
            online, target = Model(n, sparse), Model(n, sparse)
            if sparse:
                sp = [online.item.weight, online.bias.weight]
                dense = [p for p in online.parameters() if all(p is not s for s in sp)]
                opts = [torch.optim.Adam(dense, lr=1e-3), torch.optim.SparseAdam(sp, lr=1e-3)]
            else:
                opts = [torch.optim.Adam(online.parameters(), lr=1e-3)]
            items, bits = batch(n, B, g)
            nitems, nbits = batch(n, B, g)
            cand = torch.randperm(n, generator=g)[:C]
            shown = torch.randint(0, n, (B,), generator=g)
            labels = (torch.rand(B, FSIG + 1, generator=g) < 0.3).float()
            weights = 0.5 + torch.rand(B, generator=g)
            tag = "_sparse_adam" if sparse else ""

            def step_bce():
                for o in opts:
                    o.zero_grad()
                z = online.score_items(online.user(items, bits), shown, slice(0, FSIG + 1))
                Fn.binary_cross_entropy_with_logits(z, labels).backward()
                for o in opts:
                    o.step()

            def td_update():
                with torch.no_grad():
                    a = online.score_candidates(online.user(nitems, nbits), cand, H - 1)
                    a = cand[a.argmax(1)]
                    y = 0.1 + 0.9 * target.score_items(target.user(nitems, nbits), a,
                                                       slice(H - 1, H))[:, 0]
                for o in opts:
                    o.zero_grad()
                pred = online.score_items(online.user(items, bits), a, slice(H - 1, H))[:, 0]
                (weights * Fn.huber_loss(pred, y, reduction="none", delta=1.0)).mean().backward()
                for o in opts:
                    o.step()

            if n == sizes[0] and not sparse:
                t = best_time(step_bce, reps)
                emit("train_step_bce", "B=%d N=%d" % (B, n), args.threads, t * 1e3, "ms")
            t = best_time(td_update, reps if n < 1000000 else max(3, reps // 5))
            emit("td_update" + tag, "B=%d C=%d N=%d" % (B, C, n), args.threads, t * 1e3, "ms")
            if n == sizes[0] and not sparse:
                one_items, one_bits = items[:1], bits[:1]
                lat = []
                with torch.no_grad():
                    for r in range(200 if args.quick else 2000):
                        t0 = time.perf_counter()
                        online.score_candidates(online.user(one_items, one_bits), cand, H - 1)
                        lat.append(time.perf_counter() - t0)
                lat.sort()
                s = "B=1 C=%d N=%d" % (C, n)
                emit("score_one_state_p50", s, args.threads, lat[len(lat) // 2] * 1e6, "us")
                emit("score_one_state_p99", s, args.threads, lat[len(lat) * 99 // 100] * 1e6, "us")


if __name__ == "__main__":
    main()
