"""The whole pipeline as one call (libreco.run_pipeline, reco_pipeline_run): the tests' second
environment written in Python (shop_env.Shop: signals view and buy, 24 candidates, its own
reward weights, no popularity prior) and the built-in world through the same call; the
refusals of a configuration that disagrees with the environment; a factory or an env step
that raises surfacing as itself; the logs-only path ending with a Q-network checkpoint;
determinism. Sizes are those of tests/test_pipeline.c: each run takes well under a second."""
import gc
import json
import os
import weakref

import numpy as np
import pytest

import libreco
from shop_env import CANDIDATES, CAP, LOOKBACK, N_ITEMS, SIGNALS, WEIGHTS, Shop

# Everything but the environment, as in tests/test_pipeline.c. The shop has no context()
# callback, so its models leave out the elapsed time (and, here, the position too).
COMMON = """\
experiment:
  seeds: [1]
  threads: 1
  logging: {policy: model, bootstrap_interactions: 1500, interactions: 3000,
            interactions_per_user: 30, temperature: 0.1}
  evaluation: {sessions: 48, deep_depth: 10, confidence: 0.95}
model: {dim: 8, n_blocks: 1, n_heads: 2, ffn_dim: 16, init_std: 0.1, max_batch: 64,
        max_candidates: 128, position: %(ctx)s, elapsed: %(ctx)s}
fit: {epochs: 1, batch_size: 64, lr: 0.002, patience: 3}
qnet: {gamma: 0.8, target_period: 50}
explorer: {rule: top_k_softmax, top_k_fraction: 0.25}
trainer: {n_generators: 1, sessions_per_generator: 8, segment_len: 16,
          replay_ratio: 0.5, warmup: 100, batch_size: 32, n_candidates: 16,
          snapshot_period: 1, max_staleness: 0, total_updates: 120,
          metrics_interval: 60}
"""
WORLD = """\
world: {n_users: 2000, n_items: 200, n_candidates: 50, max_session_len: 30,
        max_sessions: 64, exclude_seen: true, carry_history: true,
        user_features: true, long_len: 10}
"""
N_COMMON_LINES = COMMON.count("\n")


def config(extra="", ctx=False, name="pipeline-test.yaml"):
    return libreco.Config().load_string(COMMON % {"ctx": "true" if ctx else "false"} + extra,
                                        name)


def check_result(p, signals, real_name):
    """What every finished run holds, whatever the environment."""
    assert p.n_seeds == 1 and p.seeds == [1]
    assert p.policy_names == ["random", "popular", "greedy-supervised", "recomind",
                              "warm-start"]
    assert p.side_name("sim") == "sim" and p.side_name("real") == real_name
    assert p.output_names == list(signals) + ["exit"]
    for side in ("sim", "real"):
        ev = p.eval(0, side)
        assert isinstance(ev, libreco.Eval)
        assert ev.n_policies == 5 and ev.n_sessions == 48
        assert ev.policy_names == p.policy_names
        for k in range(5):
            assert np.isfinite(ev.stat(k, "return").mean)
            assert ev.stat(k, "depth").mean >= 1.0
        for s in signals:   # the env's signals are metrics by name, with their deep twins
            assert s in ev.metric_names and s + "_deep" in ev.metric_names
    assert p.evaluations[0]["real"].n_sessions == 48
    assert p.pooled["real"].n_sessions == 48           # pooled over the one seed
    rep = p.fit_report(0)
    assert rep.n_outputs == len(signals) + 1 and rep.n_train > 0
    assert len(rep.model) == len(signals) + 1
    assert p.fit_report(0, heldout=True) is None
    c = p.curve(0)
    assert c["updates"].tolist() == [0, 60, 120]
    assert all(len(v) == 3 for v in c.values())
    assert np.isnan(c["loss"][0]) and np.isfinite(c["loss"][1:]).all()
    assert np.isfinite(c["greedy_q_return"]).all()
    f = p.fidelity("recomind")
    assert f.rel == pytest.approx(f.sim / f.real - 1, rel=1e-9)
    with pytest.raises(libreco.InvalidArgumentError):
        p.eval(1, "real")
    with pytest.raises(libreco.InvalidArgumentError):
        p.eval(0, "world")


def test_shop_runs_through_the_pipeline(tmp_path):
    gc.collect()
    handles = libreco.live_handles()
    p = libreco.run_pipeline(config(), env=Shop, name="shop")
    check_result(p, SIGNALS, "shop")
    assert p.env_copies[0] >= 2 and p.env_copies[0] == p.env_copies[1]
    for side in ("sim", "real"):
        ev = p.eval(0, side)
        # no metric poses as another: the world's long watches are not measured here
        assert "long_watch" not in ev.metric_names
        assert np.isnan(ev.stat(0, "long_watches").mean)
        for k in range(5):
            view, buy = ev.stat(k, "view").mean, ev.stat(k, "buy").mean
            assert view >= buy          # a purchase needs a view
            # the return is the shop's reward: 0.2 per view + 1 per purchase
            assert ev.stat(k, "return").mean == pytest.approx(
                WEIGHTS[0] * view + WEIGHTS[1] * buy, abs=1e-4)
    # the files name the env's side and its metrics
    p.write_json(str(tmp_path / "results.json"))
    p.write_csv(str(tmp_path / "results.csv"))
    p.write_curve(str(tmp_path / "curve.csv"))
    text = (tmp_path / "results.json").read_text()
    assert '"shop (seed 1)"' in text and '"buy_deep"' in text
    assert json.loads(text)["baseline"] == "greedy-supervised"
    assert "buy" in (tmp_path / "results.csv").read_text()
    rows = (tmp_path / "curve.csv").read_text().splitlines()
    assert rows[0].startswith("seed,updates,") and len(rows) == 4
    ev = p.eval(0, "real")
    p.close()
    assert ev.closed      # the evaluations belong to the result
    with pytest.raises(libreco.StateError):
        ev.stat(0, "return")
    gc.collect()
    assert libreco.live_handles() == handles


def test_control_and_lifts_over_seeds(tmp_path):
    """warm-start beside RecoMind; the lifts over seeds and the control lifts are the t
    interval of the seeds' own lifts; results.json holds both, parsed."""
    cfg = config()
    cfg.set("experiment.seeds", "[1, 2, 3]")
    with libreco.run_pipeline(cfg, env=Shop, name="shop") as p:
        assert p.policy_names[libreco.PIPELINE_WARM_START] == "warm-start"
        t2 = 4.303                      # t table, 95%, 2 degrees of freedom
        assert libreco.t_quantile(0.95, 2) == pytest.approx(t2, abs=1e-3)
        for side in ("sim", "real"):
            for base in ("greedy-supervised", "warm-start"):
                x = np.array([p.eval(k, side).lift("recomind", base, "buy")[0].mean
                              for k in range(3)])
                rel, _ = p.lift_over_seeds("recomind", base, "buy", side)
                half = t2 * x.std(ddof=1) / np.sqrt(3)
                assert rel.n == 3 and rel.mean == pytest.approx(x.mean(), rel=1e-12)
                assert rel.lo == pytest.approx(x.mean() - half, abs=1e-3 * half)
                assert rel.hi == pytest.approx(x.mean() + half, abs=1e-3 * half)
            ctl = p.control_lift("buy", side, k="seeds")[0]
            assert ctl.mean == p.lift_over_seeds("recomind", "warm-start", "buy", side)[0].mean
            assert p.control_lift("buy", side, k=1)[0].mean == \
                p.eval(1, side).lift("recomind", "warm-start", "buy")[0].mean
            m = p.stat_over_seeds("warm-start", "return", side)
            assert m.mean == pytest.approx(np.mean([p.eval(k, side).stat("warm-start",
                                                                         "return").mean
                                                    for k in range(3)]), rel=1e-12)
        assert p.training(0) == (120, 120)
        assert np.isnan(p.heldout_curve(0)).all() and len(p.heldout_curve(0)) == 3
        p.write_json(str(tmp_path / "r.json"))
        r = json.loads((tmp_path / "r.json").read_text())
        envs = r["environments"]
        assert "shop (over seeds)" in envs and "sim (over seeds)" in envs
        over = envs["shop (over seeds)"]
        assert over["seeds"] == 3 and over["interval"] == "t over seeds"
        rel, dif = p.lift_over_seeds("recomind", "greedy-supervised", "buy")
        got = over["lifts"]["recomind"]["buy"]
        assert got["relative"] == {"mean": rel.mean, "lo": rel.lo, "hi": rel.hi}
        assert got["difference"]["mean"] == dif.mean
        ctl = p.control_lift("buy", k="seeds")[0]
        assert over["control_lifts"]["recomind"]["buy"]["relative"]["mean"] == ctl.mean
        # every entry: control lifts of the shape of the lifts
        for name, e in envs.items():
            assert e["control"] == "warm-start", name
            assert set(e["control_lifts"]) == {"recomind"}
            assert set(e["control_lifts"]["recomind"]) == set(e["lifts"]["recomind"])
        assert envs["shop (seed 2)"]["control_lifts"]["recomind"]["buy"]["relative"]["mean"] \
            == p.control_lift("buy", k=1)[0].mean
        assert [s["kept_updates"] for s in r["seeds"]] == [120, 120, 120]


def test_select_snapshot_and_early_stop_options():
    """The YAML keys do what reco_pipeline_run_options.select_heldout did, and stop early."""
    cfg = config("pipeline: {select_snapshot: heldout, early_stop_patience: 2}\n")
    cfg.set("trainer.total_updates", "1200")
    with libreco.run_pipeline(cfg, env=Shop, name="shop") as p:
        h = p.heldout_curve(0)
        upd = p.curve(0)["updates"]
        assert np.isfinite(h).all() and len(h) == len(upd)
        best, since, stop, kept = h[0], 0, len(h) - 1, 0
        for i in range(1, len(h)):
            if h[i] > best:
                best, since, kept = h[i], 0, int(upd[i])
            else:
                since += 1
                if since >= 2:
                    stop = i
                    break
        assert stop == len(h) - 1
        assert p.training(0) == (int(upd[-1]), kept)
        assert p.training(0)[0] < 1200
    o = libreco.pipeline_options(select_snapshot="heldout", early_stop_patience=3)
    assert (o.select_snapshot, o.early_stop_patience) == (1, 3)
    with pytest.raises(libreco.InvalidArgumentError):
        libreco.pipeline_options(select_snapshot="best")


def test_world_runs_through_the_same_call():
    p = libreco.run_pipeline(config(WORLD, ctx=True))
    check_result(p, ("click", "long_watch", "like", "hide"), "world")
    ev = p.eval(0, "real")
    # the world's signals by name; long watches under the 0.1 name too
    assert ev.stat(3, "hide").mean == ev.stat(3, "hides").mean
    assert ev.stat(3, "long_watch").mean == ev.stat(3, "long_watches").mean
    p.close()
    # libreco.World (the class) says the same as None
    with libreco.run_pipeline(config(WORLD, ctx=True), env=libreco.World) as q:
        assert q.side_name("real") == "world"


def test_a_world_env_from_a_factory():
    """A built-in env (not Python) through a factory: every copy a fresh world."""
    made = []

    def factory():
        w = libreco.World(n_users=500, n_items=100, n_candidates=20, max_session_len=20,
                          max_sessions=32)
        made.append(w)
        return w.env()
    with libreco.run_pipeline(config(), env=factory, name="w2") as p:
        assert p.side_name("real") == "w2"
        assert p.env_copies == (len(made), len(made)) and len(made) >= 2
        assert "long_watch" in p.eval(0, "real").metric_names


def test_copies_live_until_closed_then_go():
    """A copy the factory made is released at its close, not kept to the end of the run
    (one seed holds at most two at once: the logging copy and the evaluation copy), and
    none is left once the run is over."""
    refs, alive = [], []

    def factory():
        gc.collect()
        alive.append(sum(r() is not None for r in refs))
        shop = Shop()
        refs.append(weakref.ref(shop))
        return shop
    with libreco.run_pipeline(config(), env=factory) as p:
        assert p.env_copies == (len(refs), len(refs))
    gc.collect()
    assert len(refs) >= 8 and all(r() is None for r in refs)
    assert max(alive) <= 2, alive


def test_item_features_for_the_shop(tmp_path):
    """An item table given with the env reaches the models (the checkpoint takes 2 dense
    features and a field); one of another catalog size is refused, naming both sizes."""
    shop = Shop()
    items = libreco.Items(n_items=N_ITEMS, dense_names=["appeal", "value"],
                          field_names=["kind"], field_sizes=[3])
    items.set_all(dense=np.c_[shop.appeal, shop.value].astype(np.float32),
                  fields=(np.arange(N_ITEMS) % 3).astype(np.int32)[:, None])
    path = str(tmp_path / "shop.qnet")
    with libreco.run_pipeline(config(), env=Shop, items=items) as p:
        p.save_qnet(0, path)
    with libreco.QNet.open(path) as q:
        mo = q.online().get_options()
        assert (mo.item_dense_dim, mo.item_n_fields, mo.item_field_sizes[0]) == (2, 1, 3)
    with pytest.raises(libreco.InvalidArgumentError,
                       match="the item table has 50 items, the catalog %d" % N_ITEMS):
        libreco.run_pipeline(config(), env=Shop, items=libreco.Items(n_items=50, n_dense=1))
    with pytest.raises(libreco.InvalidArgumentError, match="must be a libreco.Items"):
        libreco.run_pipeline(config(), env=Shop, items=np.zeros((N_ITEMS, 2)))


def test_pipeline_section_round_trip():
    cfg = libreco.Config()
    o = cfg.get_pipeline()
    assert (o.candidates, o.lookback, o.session_cap, o.n_reward) == (100, 20, 200, 0)
    cfg.set_pipeline({"candidates": CANDIDATES, "reward": np.array(WEIGHTS),
                      "bootstrap": "uniform", "eval_users": "logged"})
    o = cfg.get_pipeline()
    assert o.candidates == CANDIDATES and list(o.reward[:o.n_reward]) == list(WEIGHTS)
    assert o.bootstrap == libreco.pipeline.PIPELINE_BOOTSTRAP["uniform"]
    assert o.eval_users == libreco.pipeline.PIPELINE_EVAL_USERS["logged"]
    assert "candidates: 24" in cfg.write_string()
    # a dict sets only its keys: the others stay defaults, not given
    assert cfg.origin("pipeline.candidates")["kind"] == "set"
    assert cfg.origin("pipeline.lookback")["kind"] == "default"
    with pytest.raises(libreco.InvalidArgumentError, match="unknown key 'n_reward'"):
        cfg.set_pipeline({"n_reward": 2})
    # a struct replaces the section: the keys whose values it changes are given by it, the
    # others keep their origin
    cfg.set_pipeline(libreco.pipeline_options(o, lookback=LOOKBACK))
    assert cfg.get_pipeline().lookback == LOOKBACK
    assert cfg.origin("pipeline.lookback")["kind"] == "struct"
    assert cfg.origin("pipeline.candidates")["kind"] == "set"
    assert cfg.origin("pipeline.session_cap")["kind"] == "default"
    with pytest.raises(libreco.ConfigError) as ei:
        cfg.set_pipeline(libreco.pipeline_options(o, heldout_share=2.0))
    assert "pipeline.heldout_share" in ei.value.message
    with pytest.raises(libreco.InvalidArgumentError):
        libreco.pipeline_options(bootstrap="sometimes")
    with pytest.raises(libreco.ConfigError) as ei:
        libreco.Config().load_string("pipeline:\n  bootstrap: sometimes\n", "b.yaml")
    assert ei.value.line == 2 and "pipeline.bootstrap" in ei.value.message


def test_mismatched_declarations_are_refused():
    """A configured value that differs from the shop's declaration is refused, naming both,
    at the key's place in the file."""
    line = N_COMMON_LINES + 1
    with pytest.raises(libreco.ConfigError) as ei:
        libreco.run_pipeline(config("pipeline: {reward: [0.2, 3]}\n"), env=Shop, name="shop")
    assert ("pipeline.reward: [0.2, 3] differs from the environment's reward_weights = "
            "[0.2, 1]") in ei.value.message
    assert ei.value.source == "pipeline-test.yaml" and ei.value.line == line
    with pytest.raises(libreco.ConfigError) as ei:
        libreco.run_pipeline(config("pipeline: {candidates: 30}\n"), env=Shop)
    assert ("pipeline-test.yaml:%d:12: pipeline.candidates: 30 differs from the "
            "environment's max_candidates = %d" % (line, CANDIDATES)) in ei.value.message
    assert ei.value.field == "pipeline.candidates" and ei.value.column == 12
    # a derived key, given with set()
    cfg = config()
    assert cfg.get_model().dim == 8 and cfg.get_model().n_items == 1000   # the default
    cfg.set("model.n_items", 5)
    with pytest.raises(libreco.ConfigError) as ei:
        libreco.run_pipeline(cfg, env=Shop)
    assert "model.n_items" in ei.value.message
    assert "derived from the environment's n_items = %d" % N_ITEMS in ei.value.message
    # the world's section with another env
    with pytest.raises(libreco.ConfigError) as ei:
        libreco.run_pipeline(config(WORLD), env=Shop)
    assert "not read: the pipeline runs on another environment" in ei.value.message
    # the shop's own values through set_pipeline's dict agree; another one is refused
    cfg = config().set_pipeline({"candidates": CANDIDATES, "reward": WEIGHTS})
    assert not [k for k in libreco.pipeline_keys(cfg, env=Shop) if k.refused]
    with pytest.raises(libreco.ConfigError) as ei:
        libreco.run_pipeline(config().set_pipeline({"session_cap": 99}), env=Shop)
    assert ("pipeline.session_cap=99: pipeline.session_cap: 99 differs from the "
            "environment's max_steps = %d" % CAP) in ei.value.message
    # setting back what get gave marks nothing as given: no key is refused
    cfg = config()
    cfg.set_model(cfg.get_model())
    cfg.set_pipeline(cfg.get_pipeline())
    assert not [k for k in libreco.pipeline_keys(cfg, env=Shop) if k.refused]
    # keys() lists them all, with where the values come from
    cfg = config("pipeline: {candidates: 30}\n")
    cfg.set("model.n_items", 5)
    keys = {k.path: k for k in libreco.pipeline_keys(cfg, env=Shop)}
    assert sum(k.refused for k in keys.values()) == 2
    assert keys["model.n_items"].refused and keys["model.n_items"].origin["kind"] == "set"
    assert keys["pipeline.candidates"].origin == {"kind": "file", "source":
                                                  "pipeline-test.yaml", "line": line,
                                                  "column": 12}
    assert not keys["pipeline.reward"].refused and "[0.2, 1]" in keys["pipeline.reward"].why
    assert "lookback = %d" % LOOKBACK in keys["replay.lookback"].why
    assert "max_steps = %d" % CAP in keys["pipeline.session_cap"].why


def test_bad_arguments():
    shop = Shop()
    with pytest.raises(libreco.InvalidArgumentError, match="factory"):
        libreco.run_pipeline(config(), env=shop)          # an env, not a factory
    with pytest.raises(libreco.InvalidArgumentError, match="World object"):
        libreco.run_pipeline(config(), env=libreco.World(n_users=10, n_items=100,
                                                         n_candidates=20))
    with pytest.raises(libreco.InvalidArgumentError, match="unknown option 'epochs'"):
        libreco.run_pipeline(config(), env=Shop, epochs=3)
    with pytest.raises(libreco.InvalidArgumentError, match="without: unknown input"):
        libreco.run_pipeline(config(), env=Shop, without=["user_id"])
    with pytest.raises(libreco.InvalidArgumentError, match=r'"Shop Env"'):
        libreco.run_pipeline(config(), env=Shop, name="Shop Env")
    with pytest.raises(libreco.InvalidArgumentError, match="ensemble 9"):
        libreco.run_pipeline(config(), env=Shop, ensemble=9)
    with pytest.raises(libreco.InvalidArgumentError, match="both an env and logs"):
        libreco.run_pipeline(config(), env=Shop, log=libreco.Log.for_env(shop))
    # a factory that hands out one env twice: the copies would share their state
    with pytest.raises(libreco.InvalidArgumentError, match="return a fresh env"):
        libreco.run_pipeline(config(), env=lambda: shop)
    with pytest.raises(libreco.InvalidArgumentError, match="returned dict, not a libreco.Env"):
        libreco.run_pipeline(config(), env=dict)


def test_factory_exception_surfaces_as_itself():
    class CatalogMissing(Exception):
        pass

    def factory():
        raise CatalogMissing("catalog.csv is not there")
    with pytest.raises(CatalogMissing, match="catalog.csv is not there") as ei:
        libreco.run_pipeline(config(), env=factory)
    note = ei.value.__notes__[-1]
    assert "the pipeline env factory" in note and "reco_pipeline_run" in note
    assert "CatalogMissing: catalog.csv is not there" in note
    # keys() opens a copy too
    with pytest.raises(CatalogMissing):
        libreco.pipeline_keys(config(), env=factory)


def test_env_step_exception_surfaces_as_itself():
    cfg = config()
    gc.collect()
    handles = libreco.live_handles()
    made = []

    def factory():
        made.append(Shop(fail_after=40))
        return made[-1]
    with pytest.raises(ValueError, match="budget exhausted") as ei:
        libreco.run_pipeline(cfg, env=factory, name="shop")
    assert any(ei.value is s.raised for s in made)     # the very exception object
    note = ei.value.__notes__[-1]
    assert "the env's step()" in note
    assert "seed 1: bootstrap logs: ValueError: budget exhausted" in note
    gc.collect()
    assert libreco.live_handles() == handles


def test_progress_lines_and_their_exceptions():
    lines = []
    with libreco.run_pipeline(config(), env=Shop, progress=lines.append) as p:
        assert p.n_seeds == 1
    assert lines and all(isinstance(x, str) and x.startswith("seed 1: ") for x in lines)
    assert any("bootstrap interactions under uniform" in x for x in lines)
    cfg = config()
    gc.collect()
    handles = libreco.live_handles()

    def progress(line):
        raise KeyError("stop")
    with pytest.raises(KeyError):
        libreco.run_pipeline(cfg, env=Shop, progress=progress)
    gc.collect()
    assert libreco.live_handles() == handles          # the result was freed


def test_logs_only_path_writes_a_servable_qnet(tmp_path):
    """A user's own logs, no environment: the log of the shop under a uniform logging
    policy; the pipeline section is the source of what an env would declare."""
    shop = Shop()
    log = libreco.Log.for_env(shop, propensity=True)
    log.generate(shop, policy="uniform", n_interactions=3000, n_users=100, seed=3)
    cfg = libreco.Config().load_string(
        (COMMON % {"ctx": "false"}).replace(
            "  logging: {policy: model, bootstrap_interactions: 1500, interactions: 3000,\n"
            "            interactions_per_user: 30, temperature: 0.1}\n", "") +
        "pipeline: {candidates: %d, lookback: %d, session_cap: %d, reward: [%g, %g]}\n"
        % ((CANDIDATES, LOOKBACK, CAP) + WEIGHTS), "logs.yaml")
    assert not [k for k in libreco.pipeline_keys(cfg, log=log) if k.refused]
    p = libreco.run_pipeline(cfg, log=log)
    assert p.side_name("real") == "held-out sim"
    assert p.output_names == ["view", "buy", "exit"]
    assert "buy" in p.eval(0, "real").metric_names
    ret, depth = p.logged(0)
    assert ret.n > 0 and depth.mean >= 1.0
    held = p.fit_report(0, heldout=True)
    assert held is not None and held.n_outputs == 3
    path = str(tmp_path / "recomind.qnet")
    p.save_qnet(0, path)
    with libreco.QNet.open(path) as q:
        mo = q.online().get_options()
        assert (mo.n_items, mo.n_signals, mo.lookback) == (N_ITEMS, 2, LOOKBACK)
    p.write_json(str(tmp_path / "results.json"))
    d = json.loads((tmp_path / "results.json").read_text())
    assert "logged" in d and d["off_policy"] is None
    with pytest.raises(libreco.InvalidArgumentError):
        p.save_qnet(1, path)
    # logged sessions only with logs
    with libreco.run_pipeline(config(), env=Shop) as q:
        with pytest.raises(libreco.InvalidArgumentError):
            q.logged(0)


def test_fit_only_calibration():
    """fit_only stops after the feedback model: the model against the shop's own
    probabilities on each fixed policy's choices; no evaluation."""
    with libreco.run_pipeline(config(), env=Shop, fit_only=True, eval_heldout=True) as p:
        model, truth = p.calibration(0)
        assert model.shape == truth.shape == (4, 3)      # 3 policies + the held-out model
        assert ((model > 0) & (model < 1)).all() and ((truth > 0) & (truth < 1)).all()
        assert p.fit_report(0).has_oracle                # the log holds the shop's truth
        assert p.fit_report(0, heldout=True).n_outputs == 3
        assert len(p.curve(0)["updates"]) == 0
        with pytest.raises(libreco.InvalidArgumentError, match="fit-only"):
            p.eval(0, "real")
        with pytest.raises(libreco.InvalidArgumentError, match="fit-only"):
            p.fidelity("recomind")
    with libreco.run_pipeline(config(), env=Shop) as p:
        assert p.calibration(0)[0].shape == (0, 3)


def results(p):
    """Every number of a result that a run could change."""
    out = {}
    for k in list(range(p.n_seeds)) + [None]:
        for side in ("sim", "real"):
            ev = p.eval(k, side)
            out[(k, side)] = np.stack([ev.values(i) for i in range(ev.n_policies)])
    for k in range(p.n_seeds):
        out[("curve", k)] = np.stack([v.astype(np.float64) for v in p.curve(k).values()])
        out[("fit", k)] = np.array([m["log_loss"] for m in p.fit_report(k).model])
    return out


def same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key], b[key], equal_nan=True), key


def test_same_config_same_results():
    cfg = config()
    with libreco.run_pipeline(cfg, env=Shop) as p, libreco.run_pipeline(cfg, env=Shop) as q:
        same(results(p), results(q))


def test_seeds_on_threads_same_results():
    """Two seeds on two threads call the Python env's copies from two C threads at once;
    the result is the same as one thread's."""
    one = config().set("experiment.seeds", "[1, 2]")
    two = config().set("experiment.seeds", "[1, 2]").set("experiment.threads", 2)
    with libreco.run_pipeline(one, env=Shop) as p, libreco.run_pipeline(two, env=Shop) as q:
        assert p.seeds == [1, 2] and len(p.evaluations) == 2
        assert p.pooled["real"].n_sessions == 96
        same(results(p), results(q))
        assert not np.array_equal(results(p)[(0, "real")], results(p)[(1, "real")],
                                  equal_nan=True)
    # an env step that raises on one of the pipeline's threads surfaces as itself
    made = []

    def factory():
        made.append(Shop(fail_after=40))
        return made[-1]
    with pytest.raises(ValueError, match="budget exhausted") as ei:
        libreco.run_pipeline(two, env=factory)
    assert any(ei.value is s.raised for s in made)
    assert "bootstrap logs: ValueError: budget exhausted" in ei.value.__notes__[-1]


def test_config_from_a_path(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text(COMMON % {"ctx": "false"} + "pipeline: {candidates: 31}\n")
    with pytest.raises(libreco.ConfigError) as ei:
        libreco.run_pipeline(str(path), env=Shop)
    assert ei.value.source == str(path) and "31 differs" in ei.value.message
    with pytest.raises(libreco.InvalidArgumentError):
        libreco.run_pipeline(42, env=Shop)
    assert os.path.exists(path)
