"""A second environment written in Python (tests/shop_env.py: two signals of its own, 24
candidates, its own reward weights, no popularity prior) through the whole pipeline: log
generation, fit, evaluation, the audit and the trainer; its declarations, and the checks of
what a Python env and a Python policy return."""
import numpy as np
import pytest

import libreco
from shop_env import CANDIDATES, CAP, LOOKBACK, N_ITEMS, SIGNALS, SLOTS, WEIGHTS, KnowsBest, Shop

USERS = np.arange(1, 301, dtype=np.uint64)


@pytest.fixture(scope="module")
def shop_logs():
    shop = Shop()
    log = libreco.Log.for_env(shop, propensity=True, oracle=True)
    log.generate(shop, n_sessions=800, n_interactions=0, n_users=800, first_user=1000,
                 max_steps=CAP)
    train, valid = log.split(0.2, seed=3)
    yield log, train, valid
    for x in (log, train, valid):
        x.close()


@pytest.fixture(scope="module")
def shop_model(shop_logs):
    _, train, valid = shop_logs
    m = libreco.Model(n_items=N_ITEMS, n_signals=2, lookback=LOOKBACK, dim=16, ffn_dim=16,
                      max_batch=128, max_candidates=CANDIDATES, init_std=0.1, seed=2)
    rep = libreco.fit_model(m, train, valid, epochs=4, batch_size=128, lr=1e-2)
    yield m, rep
    m.close()


def test_the_env_declares_itself_through_the_c_struct():
    shop = Shop()
    assert shop.signal_names == SIGNALS            # read back by reco_env_signal_name()
    assert shop.reward_weights.tolist() == pytest.approx(WEIGHTS)
    assert (shop.n_items, shop.n_signals, shop.lookback, shop.max_sessions, shop.user_dim,
            shop.long_len, shop.max_candidates, shop.max_steps) == \
        (N_ITEMS, 2, LOOKBACK, SLOTS, 0, 0, CANDIDATES, CAP)
    assert shop.has_probabilities and not shop.has_context
    with pytest.raises(AttributeError, match="fixed"):
        shop.n_items = 5
    # the built-in world declares itself too; an undeclared env reads as defaults
    with libreco.World(n_items=100, n_users=50, n_candidates=30, max_sessions=2) as w:
        e = w.env()
        assert e.signal_names == ("click", "long_watch", "like", "hide")
        assert e.max_candidates == 30 and e.reward_weights.shape == (4,)
    plain = libreco.Env.from_functions(shop.reset, shop.observe, shop.candidates, shop.step,
                                       n_items=N_ITEMS, lookback=LOOKBACK, n_signals=2,
                                       max_sessions=SLOTS)
    assert plain.signal_names == ("signal0", "signal1") and plain.reward_weights is None
    assert plain.max_candidates == 0 and plain.max_steps == 0


def test_logs_have_the_envs_signals(shop_logs, tmp_path):
    log, train, valid = shop_logs
    shop = Shop()
    assert log.n_signals == 2 and log.signal_names == list(SIGNALS)
    c = log.columns()
    assert c["feedback"].max() <= 3 and np.any(c["feedback"] == 3)       # both bits used
    assert c["oracle"].shape == (log.n_rows, 3)
    # the oracle is the env's probabilities() of each row; the propensity the uniform
    # policy's over the declared 24 candidates (the runner asked for that many)
    np.testing.assert_allclose(c["oracle"][:, 0],
                               1 / (1 + np.exp(-shop.appeal[c["items"]])), rtol=1e-5)
    assert np.all(c["propensity"] == np.float32(1 / CANDIDATES))
    assert c["steps"].max() == CAP - 1                                    # the cap
    path = str(tmp_path / "shop.csv")
    log.save_csv(path)
    with open(path) as f:
        header = f.readline().strip().split(",")
    assert header[5:8] == ["view", "buy", "exit"]
    # a log with other signals is refused by the generator
    with libreco.Log() as four, pytest.raises(libreco.InvalidArgumentError, match="signal"):
        four.generate(shop, n_sessions=2, n_interactions=0, n_users=2)


def test_fit_evaluate_and_audit_the_second_env(shop_logs, shop_model):
    m, rep = shop_model
    assert rep.n_outputs == 3                                  # view, buy, exit
    assert rep.model[0]["auc"] > 0.65 and rep.model[1]["auc"] > 0.6
    shop = Shop()
    pols = [KnowsBest(shop), libreco.Policy.model_greedy(m, shop.reward_weights),
            libreco.Policy.random(3)]
    with libreco.eval_run(shop, pols, USERS, long_watch_signal=1, hide_signal=-1) as ev:
        assert ev.policy_names == ["knows-best", "model-greedy", "random"]
        ret = [ev.stat(p, "return") for p in range(3)]
        rel, diff = ev.lift(0, 2, "return")
        assert diff.lo > 0                   # knowing the shop beats random, significantly
        rel, diff = ev.lift(1, 2, "return")
        assert diff.lo > 0                   # and so does the model fitted on its logs
        assert ret[0].mean > ret[1].mean
        # the evaluator's return is the shop's reward, computed from the declared weights
        buys = ev.sessions(0)[:, libreco.EVAL_LONG_WATCHES].sum()
        assert buys > 0
    # common random numbers: the same keys and choices give the same sessions
    st, depth, r = libreco.run_sessions(Shop(), KnowsBest(shop), USERS)
    assert np.allclose(r.mean(), ret[0].mean) and len(st.count) == 2
    assert st.reward == pytest.approx(WEIGHTS[0] * st.count[0] + WEIGHTS[1] * st.count[1],
                                      rel=1e-5)
    # the audit: the same policy in the simulator over the fitted model and in the shop
    sim = libreco.Sim.for_env(m, shop, max_sessions=8, seed=4)
    a = libreco.audit_run(sim, Shop(), pols[1], USERS[:60])
    assert a.n_signals == 2 and len(a.real.rate) == 3
    assert a.real.sessions == a.sim.sessions == 60
    assert a.real.count[1] > 0 and abs(a.sim.rate[0] - a.real.rate[0]) < 0.2
    sim.close()


def test_the_shop_is_evaluated_under_its_own_signal_names():
    """The evaluation's metrics of the shop are its signals, by name; the 0.1 metrics of
    the world's signals ("long_watch", "hide"), which the shop has not, are unmeasured."""
    shop = Shop()
    named = ["view", "buy", "view_deep", "buy_deep"]
    with libreco.eval_run(shop, [KnowsBest(shop), libreco.Policy.random(3)], USERS) as ev:
        assert ev.metric_names == list(libreco.EVAL_METRIC_NAMES) + named
        for old in ("long_watches", "hides", "long_watches_deep"):
            assert ev.stat(0, old).n == 0
        v = ev.values(0)
        view, buy = v[:, ev.metric_index("view")], v[:, ev.metric_index("buy")]
        np.testing.assert_allclose(v[:, libreco.EVAL_RETURN],
                                   WEIGHTS[0] * view + WEIGHTS[1] * buy, rtol=1e-5)
        assert ev.lift(0, 1, "buy")[1].lo > 0        # knowing the shop sells more
        # the same keys and choices in run_sessions: the same counts, signal by signal
        st, _, _ = libreco.run_sessions(Shop(), KnowsBest(shop), USERS)
        assert [view.sum(), buy.sum()] == st.count


def test_the_simulator_imitates_the_shop(shop_model, tmp_path):
    """A simulator fitted on the shop's logs and imitating it: the shop's signal names,
    reward weights, candidate count and cap; its evaluation speaks of views and buys."""
    m, _ = shop_model
    shop = Shop()
    with libreco.Sim(m, imitate=shop, max_sessions=8, seed=4) as sim:
        e = sim.env()
        assert e.signal_names == SIGNALS
        assert e.reward_weights.tolist() == pytest.approx(WEIGHTS)
        assert (e.max_candidates, e.max_steps) == (CANDIDATES, CAP)
        pols = [libreco.Policy.model_greedy(m), libreco.Policy.random(3)]
        with libreco.eval_run(sim, pols, USERS[:100], reset_env=sim) as ev:
            assert ev.metric_names[libreco.EVAL_N_METRICS:] == ["view", "buy", "view_deep",
                                                                "buy_deep"]
            v = ev.values(0)
            np.testing.assert_allclose(v[:, libreco.EVAL_RETURN],
                                       WEIGHTS[0] * v[:, ev.metric_index("view")] +
                                       WEIGHTS[1] * v[:, ev.metric_index("buy")], rtol=1e-5)
            assert v[:, libreco.EVAL_DEPTH].max() <= CAP
            ev.write_csv(str(tmp_path / "sim.csv"), env_name="shop-sim")
        rows = (tmp_path / "sim.csv").read_text().splitlines()
        assert any(r.startswith("shop-sim,model-greedy,buy,") for r in rows)
    # not imitating: the model's signals are nameless, the weights the simulator's default
    with libreco.Sim(m, n_candidates=CANDIDATES, max_sessions=8) as plain:
        assert plain.env().signal_names == ("signal0", "signal1")
        assert plain.env().reward_weights.tolist() != pytest.approx(WEIGHTS)


@pytest.mark.parametrize("fields, message", [
    ({"reward": [0.3, 1.0]},
     r"sim.reward: signal 0 \(view\) weighs 0.3, but the env it imitates declares 0.2"),
    ({"max_session_len": 50},
     "sim.max_session_len: 50, but the env it imitates cuts sessions at 15 steps"),
    ({"n_candidates": 20},
     "sim.n_candidates: 20, but the env it imitates gives 24 candidates"),
])
def test_the_simulator_refuses_to_contradict_the_env_it_imitates(shop_model, fields,
                                                                  message):
    m, _ = shop_model
    with pytest.raises(libreco.InvalidArgumentError, match=message):
        libreco.Sim(m, imitate=Shop(), **fields)


def test_the_simulator_needs_a_model_of_the_env_it_imitates():
    four = libreco.Model(n_items=N_ITEMS, lookback=LOOKBACK, dim=8, ffn_dim=8,
                         max_candidates=CANDIDATES)
    with pytest.raises(libreco.InvalidArgumentError,
                       match="reco_sim_create: the model has 4 signals and 120 items; the "
                             "env it imitates 2 and 120"):
        libreco.Sim.for_env(four, Shop())
    with pytest.raises(libreco.InvalidArgumentError, match="an Env, a World or a Sim is "
                                                           "needed, not list"):
        libreco.Sim(four, imitate=[])
    four.close()


def _train(model, seed, steps):
    shop = Shop(seed=5)
    q = libreco.QNet.warm(model, shop.reward_weights, gamma=0.9, target_period=20,
                          model={"max_batch": 32, "max_candidates": CANDIDATES})
    rb = libreco.Replay(capacity=5000, lookback=LOOKBACK, seed=1)
    tr = libreco.Trainer(q, rb, [shop], explorer={"max_candidates": CANDIDATES, "seed": seed},
                         total_updates=steps, warmup=200, batch_size=32, n_candidates=24,
                         snapshot_period=1, max_staleness=0, n_users=500, seed=9)
    rep = tr.run()
    items = np.full((1, LOOKBACK), libreco.PAD, np.int32)
    q_values = q.online().score(items, None, np.arange(CANDIDATES), heads=q.q_head)
    for h in (tr, q, rb):
        h.close()
    return rep, q_values, shop


def test_trainer_generators_run_the_python_env_deterministically(shop_model):
    """One generator thread calls the shop (from C, holding the GIL for each call): the
    same seeds give the same Q-network; another explorer seed another one."""
    m, _ = shop_model
    rep, q1, shop = _train(m, 3, 40)
    assert rep.updates == 40 and rep.transitions >= 200
    assert shop.steps_taken >= rep.transitions      # every transition is a step of the shop
    _, q2, _ = _train(m, 3, 40)
    _, q3, _ = _train(m, 4, 40)
    assert np.array_equal(q1, q2)
    assert not np.array_equal(q1, q3)


def test_a_warm_start_with_other_weights_than_the_shops_is_refused(shop_model):
    m, _ = shop_model
    q = libreco.QNet.warm(m, [0.3, 1.0], gamma=0.9,
                          model={"max_batch": 32, "max_candidates": CANDIDATES})
    rb = libreco.Replay(capacity=500, lookback=LOOKBACK, seed=1)
    with pytest.raises(libreco.InvalidArgumentError,
                       match=r"reco_trainer_create: environment 0: the Q-network's warm start "
                             r"weighs signal 0 \(view\) 0.3; the env's reward weight is 0.2"):
        libreco.Trainer(q, rb, [Shop()], explorer={"max_candidates": CANDIDATES},
                        total_updates=5, warmup=10, batch_size=8, n_candidates=CANDIDATES)
    for h in (q, rb):
        h.close()


def test_declarations_are_checked():
    shop = Shop()
    fns = (shop.reset, shop.observe, shop.candidates, shop.step)
    base = dict(n_items=N_ITEMS, lookback=LOOKBACK, max_sessions=SLOTS)
    with pytest.raises(libreco.InvalidArgumentError, match="3 signal_names for n_signals 2"):
        libreco.Env.from_functions(*fns, n_signals=2, signal_names=["a", "b", "c"], **base)
    with pytest.raises(libreco.InvalidArgumentError, match="1 reward_weights for n_signals 2"):
        libreco.Env.from_functions(*fns, signal_names=["a", "b"], reward_weights=[1], **base)
    # the library's own check of the names (reco_env_check)
    with pytest.raises(libreco.InvalidArgumentError, match="signal_names"):
        libreco.Env.from_functions(*fns, signal_names=["view", "Buy!"], **base)
    with pytest.raises(libreco.InvalidArgumentError, match="reward_weights"):
        libreco.Env.from_functions(*fns, signal_names=["a", "b"],
                                   reward_weights=[1, float("nan")], **base)
    with pytest.raises(libreco.InvalidArgumentError, match="lookback"):
        libreco.Env.from_functions(*fns, n_items=N_ITEMS, max_sessions=SLOTS, lookback=None)

    class NoStep(libreco.Env):
        def reset(self, slots, users): pass
        def observe(self, slots): pass
        def candidates(self, slots, k): pass
    with pytest.raises(TypeError, match="must define step"):
        NoStep(n_items=3, lookback=1, max_sessions=1)
    with pytest.raises(TypeError, match="base class"):
        libreco.Env(n_items=3, lookback=1, max_sessions=1)

    class Tiny(libreco.Env):
        n_items, lookback, max_sessions = 10, 2, 1       # declared as class attributes

        def __init__(self):
            self.signal_names = ["a", "b"]                # or assigned before super()
            super().__init__(max_candidates=3)

        def reset(self, slots, users): pass
        def observe(self, slots): return np.full((len(slots), 2), -1), np.zeros((1, 2), int)
        def candidates(self, slots, k): return [np.arange(3)]
        def step(self, slots, items): return [1], [0.5], [libreco.ENV_EXIT]
    tiny = Tiny()
    assert (tiny.n_items, tiny.n_signals, tiny.signal_names, tiny.max_candidates) == \
        (10, 2, ("a", "b"), 3)
    st, depth, ret = libreco.run_sessions(tiny, libreco.Policy.random(1), [4, 5])
    assert depth.tolist() == [1, 1] and ret.tolist() == [0.5, 0.5] and st.count == [2, 0]

    class Forgot(Shop):
        def __init__(self):
            pass                # no super().__init__()
    with pytest.raises(TypeError, match="must call super"):
        libreco.run_sessions(Forgot(), libreco.Policy.random(1), [1])

    class Attrs(Shop):
        n_items = 99          # a class attribute that contradicts the keyword
    with pytest.raises(libreco.InvalidArgumentError, match="declare it once"):
        Attrs()


def _bad_shop(**override):
    """A Shop whose methods are replaced by ``override`` (functions of the shop)."""
    shop = Shop()
    fns = {m: getattr(shop, m) for m in ("reset", "observe", "candidates", "step",
                                         "probabilities")}
    fns.update({k: (lambda f: lambda *a: f(shop, *a))(v) for k, v in override.items()})
    return libreco.Env.from_functions(
        fns["reset"], fns["observe"], fns["candidates"], fns["step"],
        probabilities=fns["probabilities"], n_items=N_ITEMS, lookback=LOOKBACK,
        max_sessions=SLOTS, signal_names=list(SIGNALS), reward_weights=list(WEIGHTS),
        max_candidates=CANDIDATES, max_steps=CAP)


@pytest.mark.parametrize("override, message", [
    ({"candidates": lambda s, sl, k: [np.arange(30)] * len(sl)},
     "30 candidates for slot .*the declared max_candidates 24"),
    ({"candidates": lambda s, sl, k: [np.arange(3) + N_ITEMS] * len(sl)},
     r"candidate 120 at \[0\] is not an item id \(0..119\)"),
    ({"observe": lambda s, sl: (np.full((len(sl), LOOKBACK), 500), s.fb[sl])},
     "item 500 at .* is not an item id"),
    ({"observe": lambda s, sl: (s.items[sl],)}, r"return \(items, feedback"),
    ({"step": lambda s, sl, it: (np.full(len(sl), 4), None, np.zeros(len(sl), int))},
     "feedback 4 .* beyond the 2 signals"),
    ({"step": lambda s, sl, it: (np.ones(len(sl), int), np.full(len(sl), 5.0),
                                 np.zeros(len(sl), int))},
     r"reward 5 for feedback 1, but the declared reward_weights \[0.2.*, 1.0\] give 0.2"),
    ({"step": lambda s, sl, it: (np.zeros(len(sl), int), None, np.full(len(sl), 7))},
     "done 7 is not"),
    ({"step": lambda s, sl, it: (np.zeros(len(sl), int), None, np.zeros(len(sl), int))},
     "took step 15 of the declared max_steps 15 and its session goes on"),
    ({"step": lambda s, sl, it: (np.zeros((len(sl), 2), int), None, np.zeros(len(sl), int))},
     r"step: feedback: expected 1 dimension\(s\), got shape \(16, 2\)"),
])
def test_what_a_python_env_returns_is_checked(override, message):
    with pytest.raises(libreco.InvalidArgumentError, match=message) as ei:
        libreco.run_sessions(_bad_shop(**override), libreco.Policy.random(1), USERS[:20])
    assert "called by reco_run_sessions" in "".join(ei.value.__notes__)


def test_step_reward_none_needs_declared_weights():
    shop = Shop()
    env = libreco.Env.from_functions(shop.reset, shop.observe, shop.candidates, shop.step,
                                     n_items=N_ITEMS, lookback=LOOKBACK, max_sessions=SLOTS,
                                     signal_names=list(SIGNALS))
    with pytest.raises(libreco.InvalidArgumentError, match="no reward_weights"):
        libreco.run_sessions(env, libreco.Policy.random(1), USERS[:3], max_candidates=10)


def test_python_policy_returns_are_checked():
    class OutOfRange(libreco.Policy):
        def choose(self, states, candidates, counts):
            return np.full(len(counts), 99)

    class Floats(libreco.Policy):
        def choose(self, states, candidates, counts):
            return np.zeros(len(counts))
    with pytest.raises(libreco.InvalidArgumentError,
                       match="policy OutOfRange: choose.. returned position 99 for row 0, "
                             "which has 24 candidates"):
        libreco.run_sessions(Shop(), OutOfRange(), USERS[:4])
    with pytest.raises(libreco.InvalidArgumentError, match="integer positions, not float64"):
        libreco.run_sessions(Shop(), Floats(), USERS[:4])
    with pytest.raises(libreco.InvalidArgumentError, match="Python policy takes only"):
        Floats(seed=3)


def test_python_policy_sees_states_and_builtin_choose_is_callable(shop_model):
    m, _ = shop_model
    shop = Shop()
    greedy = libreco.Policy.model_greedy(m, shop.reward_weights)
    agree = []

    class Mirror(libreco.Policy):
        """Asks the built-in greedy policy (its choose() calls C) and checks it against
        the model's scores of the same states."""
        def choose(self, states, candidates, counts):
            assert states["items"].shape[1] == LOOKBACK and states["user_features"] is None
            assert np.array_equal(states["valid"][:, 0], counts > 0)
            picked = greedy.choose(states)
            p = 1 / (1 + np.exp(-m.score_states(states, heads=[0, 1])))   # (n, 2, C)
            er = np.einsum("f,nfc->nc", shop.reward_weights, p)
            agree.append(np.array_equal(picked, np.nanargmax(er, axis=1)))
            return picked
    with libreco.eval_run(Shop(), [Mirror(), greedy], USERS[:40], long_watch_signal=1,
                          hide_signal=-1) as ev:
        assert ev.policy_names == ["Mirror", "model-greedy"]
        assert np.array_equal(ev.sessions(0), ev.sessions(1), equal_nan=True)
    assert agree and all(agree)


def test_policy_extra_keywords_reach_only_a_choose_that_takes_them():
    """What reco_policy version 3 gives (slots, session keys, session numbers) goes only
    to a choose() that names it or takes **kwargs: subclasses written for version 2 keep
    working."""
    got = {}

    class Plain(libreco.Policy):
        def choose(self, states, candidates, counts):
            got["plain"] = True
            return np.zeros(len(counts), int)

    class Named(libreco.Policy):
        def choose(self, states, candidates, counts, users=None):
            got["named"] = users
            return np.zeros(len(counts), int)

    class Any(libreco.Policy):
        def choose(self, states, candidates, counts, **kw):
            got["any"] = sorted(kw)
            return np.zeros(len(counts), int)
    states = {"candidates": np.zeros((2, 3), np.int32), "counts": np.array([3, 3])}
    for p in (Plain(), Named(), Any()):
        p._call_choose(states, slots=[0, 1], users=[7, 8])
    assert got == {"plain": True, "named": [7, 8], "any": ["slots", "users"]}

