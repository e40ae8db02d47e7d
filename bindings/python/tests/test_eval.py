"""The evaluator (reco_eval): common random numbers, statistics recomputed in NumPy from the
per-session values, concatenation, reports, errors and handle lifetime."""
import csv
import gc
import json
import math
import statistics

import numpy as np
import pytest

import libreco
from conftest import REWARD

DEEP = (libreco.EVAL_LONG_WATCHES_DEEP, libreco.EVAL_DEPTH_DEEP)
WORLD_SIGNALS = ["click", "long_watch", "like", "hide"]
WORLD_SIGNAL_METRICS = WORLD_SIGNALS + [s + "_deep" for s in WORLD_SIGNALS]


def _fresh(model):
    """Random (seed 5) and model-greedy policies; a random policy's stream goes on from run to
    run (reset_env resets the env, not the policies), so a repeated run needs fresh ones."""
    return [libreco.Policy.random(seed=5), libreco.Policy.model_greedy(model, REWARD)]


@pytest.fixture
def policies(fitted):
    return _fresh(fitted[0])


def _run(world, policies, users, **kw):
    kw.setdefault("reset_env", world)
    return libreco.eval_run(world.env(), policies, users, max_candidates=50,
                            item_topics=world.item_info()["topic"], **kw)


def _xd(values, metric):
    """(x_i, d_i) of a metric from the per-session values (x_i / d_i, NaN where d_i = 0)."""
    v = values[:, metric]
    d = (~np.isnan(v)).astype(np.float64) if metric in DEEP else np.ones(len(v))
    return np.where(d > 0, v, 0.0), d


def _interval(est, infl, z):
    n = len(infl)
    se = math.sqrt(np.sum(infl ** 2) / (n - 1) / n)
    return est, est - z * se, est + z * se


def _approx(rec, mean, lo, hi):
    tol = dict(rel=1e-9, abs=1e-12, nan_ok=True)
    assert rec.mean == pytest.approx(mean, **tol)
    assert rec.lo == pytest.approx(lo, **tol)
    assert rec.hi == pytest.approx(hi, **tol)


def test_two_runs_give_identical_sessions(world, fitted):
    users = world.eval_users(0, 48)
    policies = _fresh(fitted[0])
    with _run(world, policies, users) as a, _run(world, _fresh(fitted[0]), users) as b:
        assert a.n_policies == 2 and a.n_sessions == 48
        assert a.policy_names == [p.name for p in policies]
        for p in range(2):
            sa, sb = a.sessions(p), b.sessions(p)
            assert sa.shape == (48, libreco.EVAL_N_METRICS)
            assert np.array_equal(sa, sb, equal_nan=True)
            assert np.array_equal(sa[5], a.session(p, 5), equal_nan=True)
            assert np.all(sa[:, libreco.EVAL_DEPTH] >= 1)
            assert np.all(np.isfinite(sa[:, libreco.EVAL_TOPICS]))  # topics were given
        assert not np.array_equal(a.sessions(0), a.sessions(1), equal_nan=True)
        # the same random policy object goes on with its stream: other choices
        with _run(world, policies[:1], users) as c:
            assert not np.array_equal(c.sessions(0), a.sessions(0), equal_nan=True)


def test_sim_reset_gives_common_random_numbers(fitted):
    m, _ = fitted
    with libreco.Sim(m, max_sessions=8, n_candidates=50, reward=REWARD, seed=3) as sim:
        users = np.arange(1, 25, dtype=np.uint64)
        runs = [libreco.eval_run(sim, _fresh(m), users, reset_env=sim, max_candidates=50)
                for _ in range(2)]
        for p in range(2):
            assert np.array_equal(runs[0].sessions(p), runs[1].sessions(p), equal_nan=True)
        assert math.isnan(runs[0].stat(0, "topics").mean)      # no item topics given
        assert runs[0].stat(0, "topics").n == 0
        for r in runs:
            r.close()


def test_stat_and_lift_equal_numpy(world, policies):
    users = world.eval_users(200, 80)
    with _run(world, policies, users, confidence=0.9, deep_depth=5) as ev:
        assert ev.confidence == 0.9
        z = statistics.NormalDist().inv_cdf((1 + ev.confidence) / 2)
        vals = [ev.sessions(p) for p in range(2)]
        for metric in range(libreco.EVAL_N_METRICS):
            est = []
            for p in range(2):
                x, d = _xd(vals[p], metric)
                m = x.sum() / d.sum() if d.sum() else math.nan
                dbar = d.mean()
                r = (x - m * d) / dbar
                st = ev.stat(p, metric)
                assert st.n == int(d.sum())
                _approx(st, *_interval(m, r, z))
                est.append((m, r))
            (mb, bb), (mp, a) = est
            rel, diff = ev.lift(1, 0, libreco.eval_metric_name(metric))
            g = mp / mb
            _approx(rel, *_interval(g - 1, (a - g * bb) / mb, z))
            _approx(diff, *_interval(mp - mb, a - bb, z))
            assert rel.n == diff.n == 80
        # names work wherever indices do
        assert ev.stat(ev.policy_name(1), "return").mean == ev.stat(1, libreco.EVAL_RETURN).mean


def test_concat_stacks_sessions(world, policies):
    with _run(world, policies, world.eval_users(0, 30)) as a, \
            _run(world, policies, world.eval_users(30, 20)) as b, \
            libreco.eval_concat([a, b]) as c:
        assert c.n_sessions == 50 and c.n_policies == 2
        assert c.policy_names == a.policy_names
        for p in range(2):
            assert np.array_equal(c.sessions(p), np.vstack([a.sessions(p), b.sessions(p)]),
                                  equal_nan=True)
        with _run(world, policies, world.eval_users(0, 5), confidence=0.8) as other:
            with pytest.raises(libreco.InvalidArgumentError, match="reco_eval_concat"):
                libreco.Eval.concat([a, other])
        with pytest.raises(libreco.InvalidArgumentError, match="n_parts is 0"):
            libreco.Eval.concat([])


def test_reports_have_the_documented_keys(world, policies, tmp_path):
    users = world.eval_users(0, 20)
    with _run(world, policies, users) as a, _run(world, policies, users, parallel=4) as b:
        path = str(tmp_path / "eval.json")
        libreco.eval_write_json([a, b], path, env_names=["world", "world-4"],
                                policy_names=["rand", "greedy"], baseline="greedy")
        with open(path) as f:
            doc = json.load(f)
        assert set(doc) == {"schema", "confidence", "baseline", "environments"}
        assert doc["schema"] == "libreco.eval/1" and doc["confidence"] == 0.95
        assert doc["baseline"] == "greedy"
        assert set(doc["environments"]) == {"world", "world-4"}
        env = doc["environments"]["world"]
        assert set(env) == {"sessions", "policies", "lifts"} and env["sessions"] == 20
        assert set(env["policies"]) == {"rand", "greedy"}
        assert set(env["lifts"]) == {"rand"}
        # the 0.1 metrics, then the world's signals by name (it names them)
        names = set(libreco.EVAL_METRIC_NAMES) | set(WORLD_SIGNAL_METRICS)
        assert len(names) == 16 and "long_watches_deep" in names and "hide_deep" in names
        assert set(a.metric_names) == names
        rand = env["policies"]["rand"]
        assert set(rand) == names
        assert set(rand["depth"]) == {"mean", "lo", "hi", "n"}
        assert rand["depth"]["mean"] == pytest.approx(a.stat(0, "depth").mean)
        lift = env["lifts"]["rand"]
        assert set(lift) == names
        assert set(lift["return"]) == {"relative", "difference"}
        assert set(lift["return"]["relative"]) == {"mean", "lo", "hi"}
        # one result, default names, written by the method
        path1 = str(tmp_path / "one.json")
        a.write_json(path1)
        with open(path1) as f:
            one = json.load(f)
        assert list(one["environments"]) == ["env0"]
        assert set(one["environments"]["env0"]["policies"]) == set(a.policy_names)
        cpath = str(tmp_path / "eval.csv")
        libreco.eval_write_csv([a, b], cpath, baseline=1)
        with open(cpath, newline="") as f:
            rows = list(csv.reader(f))
        assert rows[0] == ("env,policy,metric,mean,lo,hi,n,lift_rel,lift_rel_lo,lift_rel_hi,"
                           "diff,diff_lo,diff_hi").split(",")
        assert len(rows) == 1 + 2 * 2 * 16
        assert [r[2] for r in rows[1:17]] == a.metric_names


def test_bad_input_raises_with_the_library_message(world, policies, tmp_path):
    users = world.eval_users(0, 10)
    env = world.env()
    with pytest.raises(libreco.InvalidArgumentError) as ei:
        libreco.eval_run(env, [], users)
    assert ei.value.message == "reco_eval_run: n_policies is 0"
    with pytest.raises(libreco.InvalidArgumentError) as ei:
        libreco.eval_run(env, policies, users.astype(np.float64))
    assert ei.value.field == "users" and "float64" in ei.value.message
    with pytest.raises(libreco.InvalidArgumentError) as ei:
        libreco.eval_run(env, policies, users, confidence=1.5)
    assert ei.value.field == "eval.confidence"
    with pytest.raises(libreco.InvalidArgumentError, match="unknown option"):
        libreco.eval_run(env, policies, users, no_such_option=1)
    with _run(world, policies, users) as ev:
        with pytest.raises(libreco.InvalidArgumentError) as ei:
            ev.lift(0, 2, "depth")
        assert ei.value.message == "reco_eval_lift: policy 0 or baseline 2 is not below 2"
        with pytest.raises(libreco.InvalidArgumentError, match="not below"):
            ev.stat(7, "depth")
        with pytest.raises(libreco.InvalidArgumentError, match="unknown metric"):
            ev.stat(0, "nope")
        with pytest.raises(libreco.InvalidArgumentError, match="out of range"):
            ev.session(0, 10)
        with pytest.raises(libreco.InvalidArgumentError, match="baseline 2 is not below"):
            ev.write_json(str(tmp_path / "x.json"), baseline=2)
        with pytest.raises(libreco.InvalidArgumentError, match="policy_names"):
            ev.write_csv(str(tmp_path / "x.csv"), policy_names=["only-one"])
        with pytest.raises(libreco.InvalidArgumentError, match="appears twice"):
            ev.write_csv(str(tmp_path / "x.csv"), policy_names=["same", "same"])
        with pytest.raises(libreco.FileError):
            ev.write_json(str(tmp_path / "no" / "such" / "dir.json"))


def test_reset_and_progress_callbacks(world, policies):
    users = world.eval_users(0, 12)
    resets, progress = [], []

    def reset():
        world.reset()
        resets.append(1)
    with _run(world, policies, users, reset_env=reset,
              progress=lambda p, done: progress.append((p, done))) as ev:
        assert len(resets) == 2
        assert (0, 12) in progress and (1, 12) in progress
        with _run(world, policies[1:], users) as ref:       # the deterministic policy
            assert np.array_equal(ev.sessions(1), ref.sessions(0), equal_nan=True)
    gc.collect()

    def boom():
        raise KeyError("reset failed")
    base = libreco.live_handles()
    with pytest.raises(KeyError, match="reset failed"):
        _run(world, policies, users, reset_env=boom)
    with pytest.raises(libreco.Error) as ei:
        _run(world, policies, users, reset_env=lambda: libreco.EIO)
    assert ei.value.code == libreco.EIO
    with pytest.raises(ZeroDivisionError):
        _run(world, policies, users, progress=lambda p, d: 1 / 0)
    assert libreco.live_handles() == base
    with pytest.raises(libreco.InvalidArgumentError, match="reset_env"):
        _run(world, policies, users, reset_env=3)


def test_result_freed_exactly_once(world, policies):
    gc.collect()
    base = libreco.live_handles()
    ev = _run(world, policies, world.eval_users(0, 8))
    assert libreco.live_handles() == base + 1
    ev.close()
    ev.close()
    assert ev.closed and libreco.live_handles() == base
    with pytest.raises(libreco.StateError):
        ev.stat(0, "depth")
    # the garbage collector frees what nobody closed; a result outlives its policies
    pol = [libreco.Policy.random(seed=1)]
    ev = _run(world, pol, world.eval_users(0, 4))
    pol[0].close()
    assert ev.policy_name(0) == "random"
    del ev
    gc.collect()
    assert libreco.live_handles() == base
    with pytest.raises(libreco.StateError):
        _run(world, pol, world.eval_users(0, 4))                # a closed policy


def _same(a, b):
    """Two records of the same numbers (NaN equal to NaN)."""
    da, db = a.as_dict(), b.as_dict()
    assert list(da) == list(db)
    assert np.array_equal([float(x) for x in da.values()], [float(x) for x in db.values()],
                          equal_nan=True)


def test_metrics_by_the_world_signal_names(world, policies):
    users = world.eval_users(0, 40)
    with _run(world, policies, users, deep_depth=5) as ev:
        assert ev.n_metrics == 16
        assert ev.metric_names == list(libreco.EVAL_METRIC_NAMES) + WORLD_SIGNAL_METRICS
        assert ev.metric_label(16) is None
        for i, name in enumerate(ev.metric_names):
            assert ev.metric_index(name) == i
        with pytest.raises(libreco.InvalidArgumentError) as ei:
            ev.metric_index("watch")
        assert ei.value.message.startswith(
            'reco_eval_metric_index: no metric named "watch" (the result has depth, ')
        del ei  # its traceback holds this frame: a cycle that would keep the handles alive
        with pytest.raises(libreco.InvalidArgumentError, match="unknown metric 'watch'"):
            ev.stat(0, "watch")
        # the 0.1 metrics are the world's signals "long_watch" and "hide"
        for old, new in (("long_watches", "long_watch"), ("long_watches_deep", "long_watch_deep"),
                         ("hides", "hide")):
            _same(ev.stat(1, old), ev.stat(1, new))
            for r_old, r_new in zip(ev.lift(1, 0, old), ev.lift(1, 0, new)):
                _same(r_old, r_new)
        for p in range(2):
            v = ev.values(p)
            assert v.shape == (40, 16)
            assert np.array_equal(v[:, :libreco.EVAL_N_METRICS], ev.sessions(p), equal_nan=True)
            assert np.array_equal(v[7], ev.values(p, 7), equal_nan=True)
            deep = v[:, libreco.EVAL_DEPTH] >= 5
            assert 0 < deep.sum() < 40
            for f, name in enumerate(WORLD_SIGNALS):
                counts = v[:, ev.metric_index(name)]
                assert np.all(counts == np.floor(counts)) and np.all(counts >= 0)
                assert ev.stat(p, name).mean == pytest.approx(counts.mean(), rel=1e-12)
                dcol = v[:, ev.metric_index(name + "_deep")]
                assert np.array_equal(np.isnan(dcol), ~deep)
                st = ev.stat(p, name + "_deep")
                assert st.n == deep.sum()
                assert st.mean == pytest.approx(counts[deep].sum() / deep.sum(), rel=1e-12)


def test_user_metrics_follow_their_steps(world, policies):
    """A user metric sees every step of every session once, in order, and keeps its value
    from step to step; NaN leaves a session out."""
    users = world.eval_users(0, 30)
    seen = []

    def clicks(values, steps):
        assert values.shape == steps.shape and values.dtype == np.float64
        assert np.all(values[steps["step"] == 0] == 0)
        seen.extend((int(r["session"]), int(r["step"]), int(r["feedback"]), float(r["reward"]))
                    for r in steps)
        values += steps["feedback"] & 1

    def first_hide(values, steps):
        values[steps["step"] == 0] = np.nan
        hit = np.isnan(values) & ((steps["feedback"] >> 3) & 1 == 1)
        values[hit] = steps["step"][hit]

    with _run(world, policies[1:], users, user_metrics={"clicks_seen": clicks,
                                                       "first_hide_step": first_hide}) as ev:
        assert ev.metric_names[-2:] == ["clicks_seen", "first_hide_step"]
        v = ev.values(0)
        # by hand from the rows the callback saw
        steps = {}
        for k, t, fb, r in seen:
            steps.setdefault(k, []).append((t, fb, r))
        assert sorted(steps) == list(range(30))
        first = np.full(30, np.nan)
        for k, rows in steps.items():
            assert [t for t, _, _ in rows] == list(range(len(rows)))
            assert len(rows) == v[k, libreco.EVAL_DEPTH]
            assert sum(fb & 1 for _, fb, _ in rows) == v[k, ev.metric_index("clicks_seen")]
            hides = [t for t, fb, _ in rows if fb >> 3 & 1]
            first[k] = hides[0] if hides else np.nan
        assert np.array_equal(v[:, ev.metric_index("click")], v[:, ev.metric_index("clicks_seen")])
        assert np.array_equal(v[:, -1], first, equal_nan=True)
        has = ~np.isnan(first)
        assert 0 < has.sum() < 30
        st = ev.stat(0, "first_hide_step")
        assert st.n == has.sum()
        assert st.mean == pytest.approx(first[has].mean(), rel=1e-12)
        _same(ev.stat(0, "clicks_seen"), ev.stat(0, "click"))


def test_user_metrics_refused_or_failing(world, policies):
    users = world.eval_users(0, 8)
    with pytest.raises(libreco.InvalidArgumentError) as ei:
        _run(world, policies, users, user_metrics={"click": lambda v, s: None})
    assert ei.value.field == "eval.user_metric_names"
    assert ei.value.message == ('eval.user_metric_names: reco_eval_run: user metric 0 is named '
                                '"click" like the count of the env\'s signal 0')
    with pytest.raises(libreco.InvalidArgumentError) as ei:
        _run(world, policies, users, user_metrics={"": lambda v, s: None})
    assert ei.value.field == "eval.user_metric_names" and "is not a name" in ei.value.message
    with pytest.raises(libreco.InvalidArgumentError, match="a dict of name -> function"):
        _run(world, policies, users, user_metrics=["seconds"])
    del ei  # its traceback holds this frame: a cycle that would keep the handles alive

    def boom(values, steps):
        raise KeyError("no clock")
    gc.collect()
    base = libreco.live_handles()
    with pytest.raises(KeyError, match="no clock"):
        _run(world, policies, users, user_metrics={"seconds": boom})
    with pytest.raises(libreco.InvalidArgumentError, match='user metric "seconds" is inf'):
        _run(world, policies, users,
             user_metrics={"seconds": lambda v, s: v.__setitem__(Ellipsis, np.inf)})
    gc.collect()  # the re-raised exception's frames held the env and the policies
    assert libreco.live_handles() == base
