"""Policies of ``reco_policy`` version 3 in Python, in the tests' second environment (the
shop of shop_env.py): the sessions each row is for (slots, session keys, session numbers),
propensities reported by a policy and logged, the built-in kinds of 0.2 (weighted, model
softmax) and the reward weights a model policy takes from the env."""
import numpy as np
import pytest

import libreco
from shop_env import CANDIDATES, LOOKBACK, N_ITEMS, SLOTS, WEIGHTS, KnowsBest, Shop

# 20 users, 3 sessions each (the key is the user: the shop seeds a session by it)
USERS = np.repeat(np.arange(1, 21, dtype=np.uint64), 3)


class NoRepeat(libreco.Policy):
    """The shop's best candidate that the user has never been shown, in this session or an
    earlier one: memory per user, keyed by the session keys choose() receives (sessions of
    one user may run at the same time in different slots)."""

    def __init__(self, shop):
        super().__init__(name="no-repeat")
        self.shop = shop
        self.shown = {}     # user -> items shown to them
        self.rows = []      # (slot, user, session) of every row chosen for

    def choose(self, states, candidates, counts, users=None, slots=None, sessions=None):
        er = self.shop.expected_reward(candidates)
        idx = np.empty(len(counts), np.int64)
        for i, u in enumerate(users):
            seen = self.shown.setdefault(int(u), set())
            fresh = states["valid"][i] & ~np.isin(candidates[i], sorted(seen))
            j = int(np.argmax(np.where(fresh, er[i], -np.inf)))
            assert fresh[j], "no unseen candidate left"
            seen.add(int(candidates[i, j]))
            idx[i] = j
        self.rows.extend(zip(slots.tolist(), users.tolist(), sessions.tolist()))
        return idx


def _repeats_by_user(users, steps):
    """How often a user was shown an item they had been shown before, from run records
    (session, item)."""
    shown, repeats = {}, 0
    for session, item in steps:
        seen = shown.setdefault(int(users[session]), set())
        repeats += item in seen
        seen.add(item)
    return repeats


def _run(policy, users=USERS):
    rec = []
    st, depth, _ = libreco.run_sessions(Shop(), policy, users,
                                        on_step=lambda s: rec.extend((r.session, r.item)
                                                                     for r in s))
    return st, depth, rec


def test_a_policy_keeps_per_user_state_across_sessions_in_run_sessions():
    shop = Shop()
    pol = NoRepeat(shop)
    st, depth, rec = _run(pol)
    assert st.sessions == len(USERS) and len(rec) == st.steps == depth.sum()
    assert _repeats_by_user(USERS, rec) == 0
    # every row came with its slot, its session key and its session number
    slots, users, sessions = map(np.array, zip(*pol.rows))
    assert len(pol.rows) == st.steps
    assert np.array_equal(users, USERS[sessions])
    assert set(sessions.tolist()) == set(range(len(USERS)))
    assert slots.max() < SLOTS and len(set(slots.tolist())) == SLOTS   # all slots in use
    # a user's sessions ran side by side: their memory is keyed by user, not slot
    first = {}
    for s, u, k in pol.rows:
        first.setdefault(k, s)
    assert len({first[k] for k in range(3)}) == 3
    # the control: a policy without the keys shows users the same items again (the shop
    # deals a user the same candidates in each of their sessions)
    _, _, rec = _run(KnowsBest(shop))
    assert _repeats_by_user(USERS, rec) > 20


def test_a_policy_keeps_per_user_state_across_sessions_in_eval_run():
    shop = Shop()

    def repeats_metric():
        shown = {}

        def repeats(values, steps):
            for k, r in enumerate(steps):
                seen = shown.setdefault(int(USERS[r["session"]]), set())
                values[k] += int(r["item"]) in seen
                seen.add(int(r["item"]))
        return repeats
    got = {}
    for pol in (NoRepeat(shop), KnowsBest(shop)):
        with libreco.eval_run(shop, [pol], USERS,
                              user_metrics={"repeats": repeats_metric()}) as ev:
            assert ev.metric_names[-5:] == ["view", "buy", "view_deep", "buy_deep", "repeats"]
            got[pol.name] = ev.values(0)[:, ev.metric_index("repeats")]
            assert ev.stat(0, "depth").n == len(USERS)
    assert np.all(got["no-repeat"] == 0)
    assert got["knows-best"].sum() > 20
    # the runner's session numbers are eval's: each session's rows name it
    pol = NoRepeat(shop)
    libreco.eval_run(shop, [pol], USERS).close()
    slots, users, sessions = map(np.array, zip(*pol.rows))
    assert np.array_equal(users, USERS[sessions])


def test_sessions_reach_a_states_function_and_stay_away_from_older_callers():
    seen = []

    def first(states):
        # views of the runner's buffers, valid during the call: copied
        seen.append((states["slots"].copy(), states["users"].copy(),
                     states["sessions"].copy()))
        return np.zeros(len(states["counts"]), int)
    libreco.run_sessions(Shop(), libreco.Policy.from_states_function(first), [7, 8, 9])
    slots, users, sessions = (np.concatenate(x) for x in zip(*seen))
    assert np.array_equal(users, np.array([7, 8, 9], np.uint64)[sessions])
    assert slots.dtype == np.uint32 and users.dtype == np.uint64
    # a caller of version 2 (choose_states(), no sessions): the keys are None
    got = []

    class Keys(libreco.Policy):
        def choose(self, states, candidates, counts, **kw):
            got.append((kw, states["users"]))
            return np.zeros(len(counts), int)
    p = Keys()
    p._struct.version = 2
    libreco.run_sessions(Shop(), p, [1])
    assert got and all(kw == {"slots": None, "users": None, "sessions": None} and u is None
                       for kw, u in got)


class EpsilonGreedy(libreco.Policy):
    """The shop's best candidate, or with probability eps a uniform one; it reports the
    probability of what it chose and remembers it by (session, step)."""

    def __init__(self, shop, eps=0.3, seed=0):
        super().__init__(name="eps-greedy")
        self.shop, self.eps = shop, eps
        self.rng = np.random.default_rng(seed)
        self.reported = {}

    def choose(self, states, candidates, counts, sessions=None):
        n = len(counts)
        best = np.argmax(np.where(states["valid"], self.shop.expected_reward(candidates),
                                  -np.inf), axis=1)
        explore = self.rng.random(n) < self.eps
        pick = np.where(explore, (self.rng.random(n) * counts).astype(int), best)
        p = np.where(pick == best, 1 - self.eps + self.eps / counts, self.eps / counts)
        for k, t, q in zip(sessions.tolist(), states["steps"].tolist(), p):
            self.reported[(k, t)] = np.float32(q)
        return pick, p


def test_propensities_reported_by_a_python_policy_are_logged():
    shop = Shop()
    pol = EpsilonGreedy(shop)
    with libreco.Log.for_env(shop, propensity=True) as log:
        log.generate(shop, policy=pol, n_sessions=60, n_interactions=0, n_users=60,
                     first_user=500)
        c = log.columns()
        assert log.n_rows == len(pol.reported) > 60
        want = [pol.reported[(int(k), int(t))] for k, t in zip(c["sessions"], c["steps"])]
        assert np.array_equal(c["propensity"], np.array(want, np.float32))
        big, small = np.float32(0.7 + 0.3 / CANDIDATES), np.float32(0.3 / CANDIDATES)
        assert set(np.unique(c["propensity"]).tolist()) == {small, big}
        # a policy that reports none: unknown (NaN); a built-in one: its own probability
        log.generate(shop, policy=KnowsBest(shop), n_sessions=10, n_interactions=0,
                     n_users=10)
        assert np.all(np.isnan(log.columns()["propensity"]))
        log.generate(shop, policy=libreco.Policy.random(seed=4), n_sessions=10,
                     n_interactions=0, n_users=10)
        assert np.all(log.columns()["propensity"] == np.float32(1 / CANDIDATES))
        # the same policy and seeds give the same log
        again = libreco.Log.for_env(shop, propensity=True)
        for lg in (log, again):
            lg.generate(Shop(), policy=EpsilonGreedy(shop, seed=9), n_sessions=20,
                        n_interactions=0, n_users=20)
        a, b = log.columns(), again.columns()
        assert all(np.array_equal(a[k], b[k]) for k in ("items", "feedback", "propensity"))
        again.close()


@pytest.mark.parametrize("prop, message", [
    (lambda n: np.full(n, 1.5), r"returned propensity 1.5 for row 0; a probability in "
                                r"\(0, 1\], or NaN for unknown"),
    (lambda n: np.zeros(n), "returned propensity 0 for row 0"),
    (lambda n: np.ones(n + 1), r"returned \(\d+,\) propensities for \d+ rows"),
])
def test_bad_propensities_are_refused(prop, message):
    class Bad(libreco.Policy):
        def choose(self, states, candidates, counts):
            return np.zeros(len(counts), int), prop(len(counts))
    shop = Shop()
    with libreco.Log.for_env(shop, propensity=True) as log:
        with pytest.raises(libreco.InvalidArgumentError, match="policy Bad: choose.. " +
                           message) as ei:
            log.generate(shop, policy=Bad(), n_sessions=3, n_interactions=0, n_users=3)
        assert "called by reco_log_generate_with" in "".join(ei.value.__notes__)
        assert log.n_rows == 0          # the call is atomic
        del ei
    with pytest.raises(libreco.InvalidArgumentError, match="belong to the policy"):
        libreco.Log.for_env(shop).generate(shop, policy=KnowsBest(shop),
                                           item_weights=np.ones(N_ITEMS))


@pytest.fixture(scope="module")
def model():
    m = libreco.Model(n_items=N_ITEMS, n_signals=2, lookback=LOOKBACK, dim=16, ffn_dim=16,
                      max_batch=64, max_candidates=CANDIDATES, init_std=0.5, seed=3)
    yield m
    m.close()


def _states(n, seed=1):
    g = np.random.default_rng(seed)
    items = g.integers(0, N_ITEMS, (n, LOOKBACK)).astype(np.int32)
    items[:, :2] = libreco.PAD
    fb = np.where(items >= 0, g.integers(0, 4, (n, LOOKBACK)), 0).astype(np.uint32)
    cand = np.stack([g.choice(N_ITEMS, 10, replace=False) for _ in range(n)]).astype(np.int32)
    return {"items": items, "feedback": fb, "candidates": cand, "counts": np.full(n, 10)}


def test_model_softmax_and_weighted_report_their_probabilities(model):
    states = _states(50)
    cand = states["candidates"]
    soft = libreco.Policy("model_softmax", model=model, signal_weights=WEIGHTS,
                          temperature=0.05, seed=2)
    assert soft.name == "model-softmax"
    idx, prop = soft.choose(states, propensities=True)
    p = 1 / (1 + np.exp(-model.score_states(states, heads=[0, 1])))         # (n, 2, C)
    er = np.einsum("f,nfc->nc", np.asarray(WEIGHTS), p) / 0.05
    sm = np.exp(er - er.max(axis=1, keepdims=True))
    sm /= sm.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(prop, sm[np.arange(50), idx], rtol=1e-4)
    assert 0.01 < prop.min() and prop.max() < 0.999            # draws, not an argmax
    # the temperature is the policy's: a cold one is near the argmax
    cold = libreco.Policy.model_softmax(model, WEIGHTS, temperature=1e-4, seed=2)
    idx, prop = cold.choose(states, propensities=True)
    assert np.array_equal(idx, np.argmax(er, axis=1)) and np.median(prop) > 0.999
    greedy = libreco.Policy.model_greedy(model, WEIGHTS)
    idx, prop = greedy.choose(states, propensities=True)
    assert np.array_equal(idx, np.argmax(er, axis=1)) and np.all(prop == 1)
    # weighted: w_j / sum over the row's candidates; it reads no state
    w = np.arange(1, N_ITEMS + 1, dtype=np.float32)
    for pol in (libreco.Policy.weighted(w, seed=3),
                libreco.Policy(libreco.POLICY_WEIGHTED, item_weights=w, seed=3)):
        assert pol.name == "weighted"
        idx, prop = pol.choose({"candidates": cand}, counts=np.full(50, 7),
                               propensities=True)
        assert np.all(idx < 7)
        np.testing.assert_allclose(prop, w[cand[np.arange(50), idx]] /
                                   w[cand[:, :7]].sum(axis=1), rtol=1e-6)
    with pytest.raises(libreco.InvalidArgumentError,
                       match="reco_policy_create: the temperature 0 is not finite and positive"):
        libreco.Policy.model_softmax(model, WEIGHTS, temperature=0)
    with pytest.raises(libreco.InvalidArgumentError,
                       match="reco_policy_create: item weight 2 is not finite and >= 0"):
        libreco.Policy.weighted([1, 2, -1])
    with pytest.raises(libreco.InvalidArgumentError, match="unknown kind 'softmax' "
                                                           r"\(known: random, "):
        libreco.Policy("softmax", model=model)

    class Warm(libreco.Policy):
        def choose(self, states, candidates, counts):
            return np.zeros(len(counts), int)
    with pytest.raises(libreco.InvalidArgumentError, match="Python policy takes only"):
        Warm(temperature=0.5)


def test_model_explore_is_the_explorer_over_a_head(model):
    """RECO_POLICY_MODEL_EXPLORE: the explorer's rule over one head's raw scores, with its
    probabilities as propensities (top-K softmax with epsilon 1 and K = 3: the softmax of
    the three best scores)."""
    states = _states(50)
    q = model.score_states(states, heads=[0])[:, 0, :]                        # (n, C)
    pol = libreco.Policy.model_explore(model, head=0,
                                       explorer={"epsilon": 1.0, "top_k_count": 3, "seed": 4})
    assert pol.name == "model-explore"
    idx, prop = pol.choose(states, propensities=True)
    top = np.argsort(-q, axis=1, kind="stable")[:, :3]
    assert all(idx[i] in top[i] for i in range(50))
    qt = np.take_along_axis(q, top, axis=1).astype(np.float64)
    sm = np.exp(qt - qt.max(axis=1, keepdims=True))
    sm /= sm.sum(axis=1, keepdims=True)
    want = [sm[i][list(top[i]).index(idx[i])] for i in range(50)]
    np.testing.assert_allclose(prop, want, rtol=1e-4)
    greedy = libreco.Policy("model_explore", model=model, head=0,
                            explorer=libreco.explorer_options(rule="greedy"))
    idx, prop = greedy.choose(states, propensities=True)
    assert np.array_equal(idx, np.argmax(q, axis=1)) and np.all(prop == 1)
    with pytest.raises(libreco.InvalidArgumentError, match="epsilon"):
        libreco.Policy.model_explore(model, head=0, explorer={"epsilon": 2.0})


def _undeclared(shop):
    """The shop without declared reward weights (it returns its rewards itself)."""
    def step(slots, items):
        fb, _, done = shop.step(slots, items)
        return fb, (fb & 1) * WEIGHTS[0] + (fb >> 1) * WEIGHTS[1], done
    return libreco.Env.from_functions(shop.reset, shop.observe, shop.candidates, step,
                                      n_items=N_ITEMS, lookback=LOOKBACK, max_sessions=SLOTS,
                                      signal_names=["view", "buy"], max_candidates=CANDIDATES)


def test_model_policies_take_the_envs_reward_weights(model):
    keys = np.arange(1, 41)
    with libreco.eval_run(Shop(), [libreco.Policy.model_greedy(model),
                                   libreco.Policy.model_greedy(model, WEIGHTS)], keys) as ev:
        assert np.array_equal(ev.values(0), ev.values(1), equal_nan=True)
    # softmax without weights draws as with the env's (same seed, same sessions)
    a = libreco.run_sessions(Shop(), libreco.Policy.model_softmax(model, seed=5), keys)[2]
    b = libreco.run_sessions(Shop(), libreco.Policy.model_softmax(model, WEIGHTS, seed=5),
                             keys)[2]
    assert np.array_equal(a, b)
    with pytest.raises(libreco.InvalidArgumentError,
                       match=r"reco_run_sessions: the policy weighs signal 0 \(view\) 0.3; "
                             "the env's reward weight is 0.2"):
        libreco.run_sessions(Shop(), libreco.Policy.model_greedy(model, [0.3, 1.0]), keys)
    with pytest.raises(libreco.InvalidArgumentError,
                       match="created without signal weights, and the env declares no "
                             "reward weights"):
        libreco.eval_run(_undeclared(Shop()), [libreco.Policy.model_greedy(model)], keys)
    with pytest.raises(libreco.InvalidArgumentError,
                       match="must be played by a runner, which takes them from the env"):
        libreco.Policy.model_softmax(model).choose(_states(2))
    # weights given work in an env that declares none
    st, _, _ = libreco.run_sessions(_undeclared(Shop()),
                                    libreco.Policy.model_greedy(model, WEIGHTS), keys)
    assert st.sessions == 40
