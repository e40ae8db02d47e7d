"""The offline-RL safeguards from Python: a pessimistic ensemble simulator (``Sim(...,
ensemble=[...], pessimism=...)``, docs/sim.md) standing in for the tests' shop (the second
environment), and the Q-network's conservative penalty option (docs/qnet.md)."""
import numpy as np
import pytest

import libreco
from shop_env import CANDIDATES, LOOKBACK, N_ITEMS, Shop


def model(seed):
    return libreco.Model(n_items=N_ITEMS, n_signals=2, lookback=LOOKBACK, dim=8, ffn_dim=8,
                         max_candidates=CANDIDATES, init_std=0.5, seed=seed)


def probs(sim, shop, items):
    env = sim.env()
    env.reset([0], [7])
    return np.concatenate([sim.probabilities([0], [i]) for i in items])


def test_identical_models_are_one_model():
    shop, items = Shop(), [0, 5, 77]
    one = libreco.Sim.for_env(model(3), shop, max_sessions=2, seed=1)
    three = libreco.Sim.for_env(model(3), shop, max_sessions=2, seed=1,
                                ensemble=[model(3), model(3)], pessimism=0.9)
    assert np.array_equal(probs(one, shop, items), probs(three, shop, items))


def test_disagreement_is_penalised():
    shop, items, lam = Shop(), [0, 5, 77], 0.5
    a = probs(libreco.Sim.for_env(model(3), shop, max_sessions=2, seed=1), shop, items)
    b = probs(libreco.Sim.for_env(model(4), shop, max_sessions=2, seed=1), shop, items)
    both = libreco.Sim.for_env(model(3), shop, max_sessions=2, seed=1, ensemble=[model(4)],
                               pessimism=lam)
    p = probs(both, shop, items)
    assert np.allclose(p[:, :2], (a[:, :2] + b[:, :2]) / 2, atol=1e-6)
    want_exit = np.minimum(1, (a[:, 2] + b[:, 2]) / 2 + lam * np.abs(a[:, 2] - b[:, 2]) / 2)
    assert np.allclose(p[:, 2], want_exit, atol=1e-6)
    assert np.all(np.abs(a[:, 2] - b[:, 2]) > 1e-4)  # the models do disagree


def test_bad_options_refused():
    shop = Shop()
    with pytest.raises(libreco.InvalidArgumentError, match="sim.pessimism"):
        libreco.Sim.for_env(model(3), shop, max_sessions=2, pessimism=0.5)
    with pytest.raises(libreco.InvalidArgumentError, match="sim.ensemble"):
        small = libreco.Model(n_items=N_ITEMS + 1, n_signals=2, lookback=LOOKBACK, dim=8,
                              ffn_dim=8, max_candidates=CANDIDATES)
        libreco.Sim(model(3), max_sessions=2, n_candidates=CANDIDATES, ensemble=[small])


def test_conservative_alpha_option():
    o, _ = libreco.qnet_options(conservative_alpha=0.25)
    assert o.version == 2 and o.conservative_alpha == 0.25
    with pytest.raises(libreco.InvalidArgumentError, match="conservative_alpha"):
        libreco.QNet(model=dict(n_items=12, dim=8, ffn_dim=8), conservative_alpha=-1.0)


def test_the_shop_trains_with_both_safeguards():
    """The pipeline on the shop with a pessimistic ensemble of three models and the
    conservative update: it runs, RecoMind's values move, the fixed policies' do not."""
    from test_pipeline_run import check_result, config
    from shop_env import SIGNALS

    def returns(extra):
        with libreco.run_pipeline(config(extra), env=Shop, name="shop") as p:
            check_result(p, SIGNALS, "shop")
            ev = p.eval(0, "real")
            return [ev.stat(k, "return").mean for k in range(4)]

    off = returns("")
    on = returns("sim: {ensemble: 3, pessimism: 1.0}\n")
    on_q = returns("sim: {ensemble: 3, pessimism: 1.0}\n").copy()
    assert on == on_q                  # a function of its seeds
    assert off[:3] == on[:3] and off[3] != on[3]
    cfg = config().set("qnet.conservative_alpha", "0.5")
    with libreco.run_pipeline(cfg, env=Shop, name="shop") as p:
        assert p.eval(0, "real").stat(3, "return").mean != off[3]
