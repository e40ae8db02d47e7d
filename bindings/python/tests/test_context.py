"""The session context end to end from Python: environments written in Python (with context()
and probabilities()), built-in model policies and Python policies that see the whole state,
the world's context and histories, the simulator's clock, and the fit report's oracle."""
import numpy as np
import pytest

import libreco
from conftest import REWARD

NI, L, U, H, F, SLOTS, MAXC = 30, 4, 2, 3, 4, 3, 8


class ScriptEnv:
    """A scripted env (as tests/test_ctx_env.h in C): every output is a function of (user, t),
    t the steps the slot took in its session, so a test can rebuild any state by hand. The
    context is chosen so that a runner dropping it is caught: steps are offset from the
    runner's own count, the elapsed time is not 0 and the long-term history not all pads.
    ``shift`` changes the context (and nothing else)."""

    n_items, lookback, user_dim, long_len, n_signals, max_sessions = NI, L, U, H, F, SLOTS

    def __init__(self, shift=0):
        self.shift = shift
        self.user = np.zeros(SLOTS, np.uint64)
        self.t = np.zeros(SLOTS, np.uint32)
        self.last_slots = None
        self.log = []              # (user, t, item shown)

    # the script
    @staticmethod
    def window(user, t):
        j = np.arange(L)
        pad = j + t + user % 2 < L - 1
        items = np.where(pad, -1, (user * 7 + t * 3 + j * 5) % NI)
        return items, np.where(pad, 0, (user + t + j) % 16)

    @staticmethod
    def features(user):
        return np.sin(user + 1.7 * np.arange(U))

    def steps(self, user, t):
        return t + 2 * (user % 3) + 5 * self.shift

    def elapsed(self, user, t):
        return 7.5 * t + 30.0 * (user % 5) + 100.0 * self.shift

    def history(self, user):
        j = np.arange(H)
        pad = j < user % 2
        return (np.where(pad, -1, (user * 11 + j * 13 + self.shift) % NI),
                np.where(pad, 0, (user + 3 * j) % 16))

    @staticmethod
    def cands(user, t):
        k = 3 + (user + t) % (MAXC - 2)
        return (user * 5 + t * 7 + np.arange(k) * 11) % NI

    @staticmethod
    def depth(user):
        return 3 + user % 4

    # the callbacks
    def reset(self, slots, users):
        self.user[slots], self.t[slots] = users, 0

    def observe(self, slots):
        self.last_slots = slots.copy()
        w = [self.window(int(self.user[s]), int(self.t[s])) for s in slots]
        return ([x[0] for x in w], [x[1] for x in w],
                [self.features(int(self.user[s])) for s in slots])

    def context(self, slots):
        u = [int(self.user[s]) for s in slots]
        t = [int(self.t[s]) for s in slots]
        hist = [self.history(x) for x in u]
        return {"steps": [self.steps(a, b) for a, b in zip(u, t)],
                "elapsed": [self.elapsed(a, b) for a, b in zip(u, t)],
                "long_items": [h[0] for h in hist], "long_feedback": [h[1] for h in hist]}

    def candidates(self, slots, max_candidates):
        return [self.cands(int(self.user[s]), int(self.t[s])) for s in slots]

    def step(self, slots, items):
        fb, done = [], []
        for s, it in zip(slots, items):
            u, t = int(self.user[s]), int(self.t[s])
            self.log.append((u, t, int(it)))
            self.t[s] += 1
            fb.append((u + t) % 16)
            done.append(libreco.ENV_EXIT if t + 1 >= self.depth(u) else libreco.ENV_CONTINUE)
        return fb, np.ones(len(slots)), done

    def probabilities(self, slots, items):
        return np.array([[((u + i + f) % 7) / 8.0 for f in range(F + 1)]
                         for u, i in zip(self.user[slots].astype(int), items)], np.float32)


def context_model(**kw):
    o = dict(n_items=NI, dim=8, ffn_dim=8, lookback=L, user_dim=U, position=1, elapsed=1,
             long_len=H, max_batch=2, max_candidates=MAXC, init_std=0.5, seed=3)
    o.update(kw)
    return libreco.Model(**o)


def state(script, u, t):
    """The whole state of (user, t) by hand, as model.score keywords (one row)."""
    items, fb = script.window(u, t)
    li, lf = script.history(u)
    return dict(items=[items], feedback=[fb], user_features=[script.features(u)],
                steps=[script.steps(u, t)], elapsed=[script.elapsed(u, t)], long_items=[li],
                long_feedback=[lf])


USERS = np.arange(1, 13, dtype=np.uint64)


def test_python_env_callbacks_through_the_c_struct():
    s = ScriptEnv()
    env = libreco.Env.from_object(s)
    assert (env.n_items, env.lookback, env.user_dim, env.long_len, env.max_sessions) == \
        (NI, L, U, H, SLOTS)
    assert env.has_context and env.has_probabilities
    env.reset([0, 2], [7, 4])
    items, fb, feat = env.observe([2, 0])
    assert np.array_equal(items[1], s.window(7, 0)[0]) and np.array_equal(fb[0], s.window(4, 0)[1])
    assert np.allclose(feat[0], s.features(4))
    cand, counts = env.candidates([0], MAXC)
    assert counts[0] == len(s.cands(7, 0)) and np.array_equal(cand[0, :counts[0]], s.cands(7, 0))
    fbk, rw, done = env.step([0], [cand[0, 0]])
    assert fbk[0] == 7 and rw[0] == 1 and done[0] == libreco.ENV_CONTINUE
    ctx = env.context([0, 2])
    assert ctx["steps"].tolist() == [s.steps(7, 1), s.steps(4, 0)]
    assert ctx["elapsed"].tolist() == [s.elapsed(7, 1), s.elapsed(4, 0)]
    assert np.array_equal(ctx["long_items"][0], s.history(7)[0])
    p = env.probabilities([0, 2], [5, 6])
    assert np.array_equal(p, s.probabilities(np.array([0, 2]), [5, 6]))
    # without the optional callbacks: a plain version-3 env
    plain = libreco.Env.from_functions(s.reset, s.observe, s.candidates, s.step, n_items=NI,
                                       lookback=L, user_dim=U, max_sessions=SLOTS)
    assert not plain.has_context and not plain.has_probabilities and plain.long_len == 0
    with pytest.raises(libreco.InvalidArgumentError, match="context"):
        plain.context([0])


def test_builtin_model_policy_sees_the_python_envs_context():
    """Every item a model-head policy showed is the argmax of the model's scores under the
    state rebuilt by hand, context included; and another context changes the choices."""
    m = context_model()
    shown = {}
    for shift in (0, 1):
        s = ScriptEnv(shift)
        env = libreco.Env.from_object(s)
        st, depth, ret = libreco.run_sessions(env, libreco.Policy.model_head(m, head=0), USERS,
                                              max_candidates=MAXC)
        assert st.sessions == len(USERS) and depth.tolist() == [s.depth(int(u)) for u in USERS]
        assert len(s.log) == st.steps
        for u, t, item in s.log:
            c = s.cands(u, t)
            sc = m.score(candidates=c, heads=0, **state(s, u, t))[0]
            assert item == c[int(np.argmax(sc))], (shift, u, t)
        shown[shift] = sorted(s.log)
    assert shown[0] != shown[1]          # the context reached the scores


def test_model_policy_needs_the_context_callback():
    s = ScriptEnv()
    env = libreco.Env.from_functions(s.reset, s.observe, s.candidates, s.step, n_items=NI,
                                     lookback=L, user_dim=U, max_sessions=SLOTS, long_len=H)
    with pytest.raises(libreco.InvalidArgumentError, match="context"):
        libreco.run_sessions(env, libreco.Policy.model_head(context_model(), head=0), USERS,
                             max_candidates=MAXC)
    # a model of the position alone gets the runner's own step counts
    m = context_model(elapsed=0, long_len=0)
    st, _, _ = libreco.run_sessions(env, libreco.Policy.model_head(m, head=0), USERS,
                                    max_candidates=MAXC)
    assert st.sessions == len(USERS)


def test_eval_with_a_python_env_and_reset_hook():
    m = context_model()
    runs = []
    for _ in range(2):
        s = ScriptEnv()
        env = libreco.Env.from_object(s)
        resets = []
        with libreco.eval_run(env, [libreco.Policy.model_head(m, head=0),
                                    libreco.Policy.model_greedy(m, REWARD)], USERS,
                              max_candidates=MAXC, reset_env=lambda: resets.append(1)) as ev:
            assert ev.n_sessions == len(USERS) and len(resets) == 2
            depth = ev.sessions(0)[:, libreco.EVAL_DEPTH]
            assert depth.tolist() == [s.depth(int(u)) for u in USERS]
            runs.append((ev.sessions(0), ev.sessions(1), sorted(s.log)))
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(runs[0][:2], runs[1][:2]))
    assert runs[0][2] == runs[1][2]


def test_python_policy_receives_the_whole_state():
    s = ScriptEnv()
    env = libreco.Env.from_object(s)
    seen = []

    def choose(st):
        n = st["counts"].shape[0]
        assert st["items"].shape == (n, L) and st["user_features"].shape == (n, U)
        assert st["long_items"].shape == (n, H) and st["candidates"].shape[0] == n
        assert not st["items"].flags.writeable
        for i in range(n):
            # the row's slot: the one whose user has these features (users are distinct)
            slot = [k for k in range(SLOTS)
                    if np.allclose(s.features(int(s.user[k])), st["user_features"][i])]
            assert len(slot) == 1
            u, t = int(s.user[slot[0]]), int(s.t[slot[0]])
            want = state(s, u, t)
            for k in ("items", "feedback", "steps", "elapsed", "long_items", "long_feedback"):
                assert np.array_equal(st[k][i], np.asarray(want[k][0]).astype(st[k].dtype)), k
            assert np.allclose(st["user_features"][i], want["user_features"][0])
            c = s.cands(u, t)
            assert st["counts"][i] == len(c) and np.array_equal(st["candidates"][i, :len(c)], c)
        seen.append(n)
        return np.asarray(st["counts"]) - 1          # the last candidate
    pol = libreco.Policy.from_states_function(choose, name="last", lookback=L, user_dim=U)
    st, depth, _ = libreco.run_sessions(env, pol, USERS, max_candidates=MAXC)
    assert sum(seen) == st.steps and st.steps == len(s.log)
    assert all(item == s.cands(u, t)[-1] for u, t, item in s.log)
    # the same in the evaluator, where the policy keeps its name
    with libreco.eval_run(env, [pol], USERS[:4], max_candidates=MAXC) as ev:
        assert ev.policy_names == ["last"]
        assert ev.sessions(0)[:, libreco.EVAL_DEPTH].tolist() == depth[:4].tolist()
    # a version-1 Python policy sees the window only
    got = []
    v1 = libreco.Policy.from_function(lambda it, fb, c, n: (got.append(it.shape),
                                                             np.zeros(len(n), int))[1])
    libreco.run_sessions(libreco.Env.from_object(ScriptEnv()), v1, USERS[:3],
                         max_candidates=MAXC)
    assert got and all(g[1] == L for g in got)


def test_python_policy_scoring_the_states_matches_the_builtin_one():
    """In the world (carried histories, user features, elapsed time), a Python policy that
    takes the argmax of Model.score_states makes the built-in model-head policy's choices."""
    with libreco.World(n_items=200, n_users=300, n_candidates=40, max_sessions=8, seed=4,
                       user_features=1, carry_history=1, long_len=6) as w:
        env = w.env()
        log = libreco.Log(user_dim=env.user_dim)
        log.generate(env, policy="uniform", n_interactions=800, n_users=60, max_candidates=40,
                     max_steps=50, session_key="world")       # histories to carry
        m = libreco.Model(n_items=200, dim=8, ffn_dim=8, user_dim=env.user_dim, position=1,
                          elapsed=1, long_len=6, max_candidates=40, init_std=0.5,
                          item_dense_dim=3, item_field_sizes=w.item_field_sizes())
        m.set_item_features(*w.item_features())
        users = w.eval_users(0, 30)
        ctx = []

        def argmax(st):
            ctx.append(st["elapsed"].max())
            return np.nanargmax(m.score_states(st, heads=2), axis=1)
        results = []
        for pol in (libreco.Policy.model_head(m, head=2),
                    libreco.Policy.from_states_function(argmax)):
            w.reset()
            results.append(libreco.run_sessions(env, pol, users, max_candidates=40))
        assert np.array_equal(results[0][1], results[1][1])   # depths
        assert np.array_equal(results[0][2], results[1][2])   # returns
        assert max(ctx) > 0                                   # the clock ran
        log.close()


def test_python_env_errors_are_raised_again():
    class Broken(ScriptEnv):
        def step(self, slots, items):
            raise KeyError("no such user")
    with pytest.raises(KeyError, match="no such user"):
        libreco.run_sessions(libreco.Env.from_object(Broken()), libreco.Policy.random(), USERS,
                             max_candidates=MAXC)

    class Misshapen(ScriptEnv):
        def context(self, slots):
            d = super().context(slots)
            d["long_items"] = [x[:2] for x in d["long_items"]]
            return d
    with pytest.raises(libreco.InvalidArgumentError, match="long_items"):
        libreco.run_sessions(libreco.Env.from_object(Misshapen()),
                             libreco.Policy.model_head(context_model(), head=0), USERS,
                             max_candidates=MAXC)
    with pytest.raises(libreco.InvalidArgumentError, match="counts|candidates"):
        libreco.run_sessions(libreco.Env.from_functions(
            ScriptEnv().reset, ScriptEnv().observe, lambda sl, mc: [np.arange(mc + 1)] * len(sl),
            ScriptEnv().step, n_items=NI, lookback=L, user_dim=U, max_sessions=SLOTS),
            libreco.Policy.random(), USERS, max_candidates=MAXC)


def test_log_generated_from_a_python_env_records_its_oracle():
    s = ScriptEnv()
    env = libreco.Env.from_object(s)
    log = libreco.Log(user_dim=U, propensity=True, oracle=True)
    log.generate(env, policy="uniform", n_sessions=12, n_interactions=0, n_users=12,
                 first_user=1, max_candidates=MAXC, max_steps=50)
    c = log.columns()
    assert log.n_rows == len(s.log)
    for i in range(log.n_rows):
        u, it = int(c["users"][i]), int(c["items"][i])
        assert np.array_equal(c["oracle"][i],
                              [((u + it + f) % 7) / 8.0 for f in range(F + 1)])
        assert np.allclose(c["user_features"][i], s.features(u))
        t = int(c["steps"][i])
        assert c["propensity"][i] == np.float32(1.0 / len(s.cands(u, t)))
    log.close()


def test_world_context_and_histories():
    opts = dict(n_items=100, n_users=50, n_candidates=20, max_sessions=4, carry_history=1,
                long_len=5, seed=9)
    with libreco.World(**opts) as a, libreco.World(**opts) as b:
        log = libreco.Log()
        log.generate(a.env(), n_interactions=300, n_users=20, max_candidates=20, max_steps=30,
                     session_key="world")
        users = np.arange(20, dtype=np.uint64)
        stored = a.user_history_len(users)
        assert stored.sum() == log.n_rows and np.all(b.user_history_len(users) == 0)
        b.copy_histories(a)
        assert np.array_equal(b.user_history_len(users), stored)
        # the same eval session starts from the same carried history in both
        key = a.eval_users(3, 1)
        for w in (a, b):
            w.start([1], key)
        ca, cb = a.context([1]), b.context([1])
        assert all(np.array_equal(ca[k], cb[k]) for k in ca)
        assert ca["steps"][0] == 0 and ca["elapsed"][0] == 0
        assert np.any(ca["long_items"] != libreco.PAD)
        env_ctx = a.env().context([1])
        assert all(np.array_equal(ca[k], env_ctx[k]) for k in ca)
        cand, n = a.candidates([1])
        fb, _, _ = a.step([1], cand[0, :1])
        after = a.context([1])
        o = a.get_options()
        want = o.seconds_base + sum(sec for f, sec in enumerate(
            [o.seconds_click, o.seconds_long_watch, o.seconds_like]) if fb[0] >> f & 1)
        assert after["steps"][0] == 1 and after["elapsed"][0] == pytest.approx(want)
        p = a.probabilities([1, 1], cand[0, :2])
        assert np.array_equal(p, a.signal_probs(1, cand[0, :2]))
        b.clear_histories()
        assert np.all(b.user_history_len(users) == 0)
        log.close()


def test_sim_clock_from_the_options():
    m = libreco.Model(n_items=40, dim=8, ffn_dim=8, lookback=4, elapsed=1, max_candidates=20)
    secs = [2.0, 8.0, 0.5, 0.25]
    with libreco.Sim(m, n_candidates=10, max_sessions=2, seed=3, seconds_base=1.5,
                     seconds=secs) as sim:
        o = libreco.sim_options(seconds_base=1.5, seconds=secs)
        assert o.version == 5 and o.seconds_base == 1.5 and list(o.seconds)[:4] == secs
        env = sim.env()
        assert env.has_context and env.has_probabilities
        env.reset([0], [5])
        total = 0.0
        for t in range(3):
            cand, n = env.candidates([0], 10)
            fb, _, done = env.step([0], cand[0, :1])
            total += 1.5 + sum(s for f, s in enumerate(secs) if fb[0] >> f & 1)
            ctx = env.context([0])
            assert ctx["steps"][0] == t + 1 and ctx["elapsed"][0] == pytest.approx(total)
            if done[0]:
                break


def test_fit_report_against_the_oracle():
    with libreco.World(n_items=150, n_users=400, n_candidates=30, max_sessions=16, seed=2,
                       user_features=1, carry_history=1, long_len=6) as w:
        env = w.env()
        log = libreco.Log(user_dim=env.user_dim, propensity=True, oracle=True)
        log.generate(env, policy="popularity", item_weights=w.item_info()["popularity"],
                     n_interactions=4000, n_users=150, max_candidates=30, max_steps=100,
                     session_key="world")
        train, valid = log.split(0.2, 1)
        items = w.items()
        m = libreco.Model(n_items=150, dim=16, ffn_dim=16, user_dim=env.user_dim, position=1,
                          elapsed=1, long_len=6, max_batch=128, max_candidates=32,
                          init_std=0.1, **items.model_options())
        m.set_item_features(items)
        rep = libreco.fit_model(m, train, valid, epochs=2, batch_size=128, lr=3e-3)
        assert rep.has_oracle and len(rep.oracle) == rep.n_outputs == 5
        for f in range(5):
            assert rep.oracle[f]["log_loss"] <= rep.global_rate[f]["log_loss"] + 1e-9
        assert 0.5 < rep.oracle[libreco.SIGNAL_CLICK]["auc"] <= 1
        o = w.get_options()
        assert rep.n_gaps > 0 and rep.step_seconds_base == pytest.approx(o.seconds_base,
                                                                         abs=1e-3)
        assert rep.step_seconds.shape == (4,)
        assert rep.step_seconds[libreco.SIGNAL_CLICK] == pytest.approx(o.seconds_click,
                                                                       abs=1e-3)
        # the simulator's clock from the fit
        with libreco.Sim(m, n_candidates=30, max_sessions=16,
                         seconds_base=rep.step_seconds_base,
                         seconds=rep.step_seconds) as sim:
            sim.set_start_env(env)
            st, _, _ = libreco.run_sessions(sim, libreco.Policy.model_greedy(m, REWARD),
                                            w.eval_users(0, 10), max_candidates=30)
            assert st.sessions == 10
        # a validation log without the oracle: none reported
        plain = libreco.Log(user_dim=env.user_dim)
        plain.generate(env, n_interactions=500, n_users=20, first_user=300,
                       max_candidates=30, max_steps=50, session_key="world")
        rep2 = libreco.fit_model(m, train, plain, epochs=1, batch_size=128)
        assert not rep2.has_oracle and np.isnan(rep2.oracle[0]["auc"])
        for x in (log, train, valid, items, plain):
            x.close()


def test_replay_and_qnet_update_carry_the_context():
    rb = libreco.Replay(capacity=64, lookback=L, user_dim=U, long_len=H, kind="uniform",
                        seed=2)
    el = np.array([0, 5, 12.5, 40], np.float32)
    uf = np.array([0.5, -1], np.float32)
    li, lf = np.array([-1, 7, 9], np.int32), np.array([0, 1, 3], np.uint32)
    first = rb.add_segment(items=[3, 4, 5], feedback=[1, 0, 2], rewards=[1, 0, 0.5],
                           history_items=[8, 9], history_feedback=[1, 1], ends_session=True,
                           first_step=6, elapsed=el, user_features=uf, long_items=li,
                           long_feedback=lf)
    assert first == 0 and len(rb) == 3
    s = rb.sample(3)
    j = s["indices"].astype(int)                        # step j of the segment
    assert np.array_equal(s["state_steps"], 6 + j) and np.array_equal(s["next_steps"], 7 + j)
    assert np.array_equal(s["state_elapsed"], el[j]) and np.array_equal(s["next_elapsed"],
                                                                         el[j + 1])
    assert np.array_equal(s["user_features"], np.tile(uf, (3, 1)))
    assert np.array_equal(s["long_items"], np.tile(li, (3, 1)))
    assert np.array_equal(s["long_feedback"], np.tile(np.where(li < 0, 0, lf), (3, 1)))
    with pytest.raises(libreco.InvalidArgumentError, match="elapsed"):
        rb.add_segment(items=[1], feedback=[0], rewards=[0], elapsed=[1.0])   # needs n + 1
    # a Q-network over a model with every input learns from it as it is
    q = libreco.QNet(model=dict(n_items=NI, dim=8, ffn_dim=8, lookback=L, user_dim=U,
                                position=1, elapsed=1, long_len=H, max_batch=16,
                                max_candidates=NI))
    info, pri = q.update(s, candidates=np.arange(NI))
    assert info.n_updates == 1 and pri.shape == (3,) and np.all(np.isfinite(pri))
    no_ctx = {k: v for k, v in s.items() if k not in ("state_elapsed", "next_elapsed")}
    with pytest.raises(libreco.InvalidArgumentError, match="elapsed"):
        q.update(no_ctx, candidates=np.arange(NI))
    # a buffer without a context samples as before
    plain = libreco.Replay(capacity=8, lookback=L)
    plain.add_segment(items=[1, 2], feedback=[0, 0], rewards=[0, 0])
    assert "state_steps" not in plain.sample(2)
    for h in (q, rb, plain):
        h.close()
