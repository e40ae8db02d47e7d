"""Off-policy evaluation through the binding (libreco.ope) on the shop, a second
environment: a log with propensities and candidates, built-in and Python targets, the
truth of the per-step value computed from the shop's own expected rewards."""
import numpy as np
import pytest

import libreco
from shop_env import CANDIDATES, N_ITEMS, WEIGHTS, KnowsBest, Shop


def shop_log(n=6000, seed=3):
    shop = Shop()
    log = libreco.Log.for_env(shop, propensity=True, max_candidates=CANDIDATES)
    log.generate(shop, policy="uniform", n_interactions=n, n_users=n // 30, seed=seed,
                 max_candidates=CANDIDATES)
    return shop, log


class KnowsBestProbs(KnowsBest):
    """KnowsBest with its distribution: one-hot on the argmax."""

    def probabilities(self, states, candidates, counts):
        idx = self.choose(states, candidates, counts)
        p = np.zeros(candidates.shape, np.float32)
        p[np.arange(len(idx)), idx] = 1.0
        return p


def truth_per_step(shop, log, probs_of):
    """The target's expected immediate reward on the log's states, from the shop's truth."""
    c = log.columns()
    cand, cnt = c["candidates"], c["candidate_counts"]
    p = probs_of(cand, cnt)
    er = shop.expected_reward(np.where(cand >= 0, cand, 0))
    return float(np.mean(np.sum(np.where(cand >= 0, p * er, 0.0), axis=1)))


def test_ope_weighted_target_covers_the_truth():
    shop, log = shop_log()
    w = np.linspace(0.5, 3.0, N_ITEMS).astype(np.float32)
    target = libreco.Policy.weighted(w)
    c = log.columns()
    # the built-in's distribution is w / sum over each row's candidates
    p = target.probabilities({"candidates": c["candidates"][:5]},
                             counts=c["candidate_counts"][:5])
    ww = w[c["candidates"][:5]]
    assert np.allclose(p, ww / ww.sum(axis=1, keepdims=True), atol=1e-6)

    def probs_of(cand, cnt):
        x = w[np.where(cand >= 0, cand, 0)] * (cand >= 0)
        return x / x.sum(axis=1, keepdims=True)
    truth = truth_per_step(shop, log, probs_of)
    r = libreco.ope(log, target, WEIGHTS)
    assert r["steps"] == log.n_rows
    for e in ("ips", "snips"):
        v = r["step"][e]
        assert v["lo"] <= truth <= v["hi"], (e, v, truth)
    assert np.isnan(r["step"]["dr"]["value"])  # no direct method
    # the logging policy's own value differs: the estimate is not the log's mean
    assert abs(r["logged_step"] - r["step"]["ips"]["value"]) > 0


def test_ope_python_target_with_probabilities():
    shop, log = shop_log()
    target = KnowsBestProbs(shop)
    c = log.columns()

    def probs_of(cand, cnt):
        er = np.where(cand >= 0, shop.expected_reward(np.where(cand >= 0, cand, 0)), -np.inf)
        p = np.zeros(cand.shape)
        p[np.arange(len(cand)), np.argmax(er, axis=1)] = 1.0
        return p
    truth = truth_per_step(shop, log, probs_of)
    r = libreco.ope(log, target, WEIGHTS)
    v = r["step"]["ips"]
    assert v["lo"] <= truth <= v["hi"], (v, truth)
    assert r["ess"] < r["sessions"]  # a deterministic target keeps few sessions whole
    # explicit candidates give the same values as the log's column
    r2 = libreco.ope(log, target, WEIGHTS, candidates=c["candidates"],
                     counts=c["candidate_counts"])
    assert r2["step"]["ips"]["value"] == v["value"]


def test_ope_errors():
    shop, log = shop_log(n=600)
    with pytest.raises(libreco.InvalidArgumentError, match="has no probabilities"):
        libreco.ope(log, KnowsBest(shop), WEIGHTS)
    plain = libreco.Log.for_env(shop, propensity=True)
    plain.generate(shop, policy="uniform", n_interactions=300, n_users=10, seed=1)
    with pytest.raises(libreco.InvalidArgumentError, match="no candidates column"):
        libreco.ope(plain, libreco.Policy.random(), WEIGHTS)
    with pytest.raises(libreco.InvalidArgumentError, match="gamma"):
        libreco.ope(log, libreco.Policy.random(), WEIGHTS, gamma=2.0)
