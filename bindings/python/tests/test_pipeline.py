"""The whole pipeline from Python: config, world, logs, fit, simulator, RecoMind, evaluation."""
import os

import numpy as np
import pytest

import libreco
from conftest import REWARD


def test_config_round_trip(tmp_path):
    src = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", "configs",
                       "default.yaml")
    cfg = libreco.Config(src)
    ex = cfg.get_experiment()
    assert ex.name == b"recomind-default" and ex.seed == 42
    text = cfg.write_string()
    again = libreco.Config().load_string(text, "round-trip")
    assert again.write_string() == text
    w = cfg.get_world()
    w.n_items = 1234
    cfg.set_world(w)
    assert cfg.get_world().n_items == 1234
    path = str(tmp_path / "out.yaml")
    cfg.write_file(path)
    assert libreco.Config(path).get_world().n_items == 1234
    with pytest.raises(libreco.ConfigError):
        w.n_topics = 0
        cfg.set_world(w)


def test_config_origin():
    """Where each option was given: the key's file position, a set() call, or nothing."""
    cfg = libreco.Config().load_string("world:\n  n_items: 300\n", "mine.yaml")
    assert cfg.origin("world.n_items") == {"kind": "file", "source": "mine.yaml", "line": 2,
                                           "column": 3}
    assert cfg.origin("model.n_items") == {"kind": "default", "source": "", "line": 0,
                                           "column": 0}
    cfg.set("model.n_items", 5)
    assert cfg.origin("model.n_items") == {"kind": "set", "source": "model.n_items=5",
                                           "line": 0, "column": 0}
    cfg.set_world(cfg.get_world())          # no change: the origins stay
    assert cfg.origin("world.n_items")["kind"] == "file"
    w = cfg.get_world()
    w.n_items = 301
    cfg.set_world(w)
    assert cfg.origin("world.n_items")["kind"] == "struct"
    assert cfg.origin("world.n_topics")["kind"] == "default"
    with pytest.raises(libreco.ConfigError) as ei:
        cfg.origin("model.n_itemz")
    assert 'did you mean "n_items"' in ei.value.message


def test_logs_csv_and_binary_round_trip(tmp_path, logs):
    log, train, valid = logs
    assert log.n_rows >= 5000 and train.n_rows + valid.n_rows == log.n_rows
    assert log.signal_names == ["click", "long_watch", "like", "hide"]
    cols = log.columns()
    views = log.columns(copy=False)
    assert not views["items"].flags.writeable
    for k in cols:
        assert np.array_equal(cols[k], views[k])
    csv, binf = str(tmp_path / "l.csv"), str(tmp_path / "l.recolog")
    log.save_csv(csv)
    log.save(binf)
    with libreco.Log() as a, libreco.Log() as b:
        a.load_csv(csv)
        b.load(binf)
        for x in (a, b):
            c = x.columns()
            assert all(np.array_equal(c[k], cols[k]) for k in cols)
    first, n = log.session(0)
    row = log.get_row(first + n - 1)
    assert row.user == cols["users"][first]


def test_log_append_round_trip():
    with libreco.Log() as log:
        log.append(user=[1, 1, 2], session=[0, 0, 0], step=[0, 1, 0], timestamp=[10, 20, 10],
                   item=[4, 5, 6], feedback=[1, 3, 0], exit=[0, 1, 1])
        c = log.columns()
        assert list(c["items"]) == [4, 5, 6] and list(c["exits"]) == [0, 1, 1]
        with pytest.raises(libreco.InvalidArgumentError):
            log.append(user=[3], session=[0], step=[1], timestamp=[0], item=[1], feedback=[0],
                       exit=[0])


def test_fit_report(fitted):
    m, rep = fitted
    assert rep.n_outputs == 5 and rep.epochs_run == 3 and len(rep.model) == 5
    assert len(rep.train_loss) == 3 and np.all(np.isfinite(rep.train_loss))
    assert 0.5 < rep.model[libreco.SIGNAL_CLICK]["auc"] <= 1.0


def test_world_session_by_hand(world):
    world.start([0], world.eval_users(0, 1))
    items, fb = world.observe([0])
    assert items.shape == (1, 20)
    cand, counts = world.candidates([0])
    er = world.expected_reward(0, cand[0, :counts[0]])
    best = cand[0, int(np.argmax(er))]
    f, r, done = world.step([0], [best])
    assert f.dtype == np.uint32 and r.shape == (1,) and done[0] in (0, 1, 2)
    assert world.get_slot_info(0).steps == 1


def test_recomind_warm_start_train_and_evaluate(world, fitted, tmp_path):
    m, _ = fitted
    sim = libreco.Sim(m, max_sessions=16, n_candidates=50, reward=REWARD, seed=11)
    sim.set_start_env(world.env())
    q = libreco.QNet.warm(m, REWARD, gamma=0.9, target_period=50,
                          model={"max_batch": 64, "max_candidates": 64, "lr": 5e-4})
    rb = libreco.Replay(capacity=20000, lookback=20, seed=3)
    seen = []
    csv = str(tmp_path / "metrics.csv")
    tr = libreco.Trainer(q, rb, [sim.env()], explorer={"max_candidates": 64, "seed": 23},
                         total_updates=120, warmup=300, batch_size=32, n_candidates=32,
                         snapshot_period=1, max_staleness=0, n_users=2000, seed=9,
                         metrics_interval=40, metrics_csv=csv,
                         progress=lambda r: seen.append(r.updates))
    rep = tr.run()
    assert rep.updates == 120 and rep.transitions >= 300 and seen == [40, 80]
    assert os.path.exists(csv) and q.n_updates == 120
    with pytest.raises(libreco.StateError):
        tr.run()                                   # a trainer runs once
    tr.close()
    ckpt = str(tmp_path / "q.reco")
    q.save(ckpt)
    users = world.eval_users(0, 40)
    results = {}
    with libreco.QNet.open(ckpt) as q2:
        for name, pol in (("greedy-Q", libreco.Policy.model_head(q2.online())),
                          ("greedy-supervised", libreco.Policy.model_greedy(m, REWARD)),
                          ("random", libreco.Policy.random(5))):
            st, depth, ret = libreco.run_sessions(world.env(), pol, users, max_candidates=50)
            assert st.sessions == 40 and depth.sum() == st.steps
            assert abs(ret.sum() - st.reward) < 1e-3 * max(1, abs(st.reward))
            results[name] = st.reward
        # the reopened checkpoint scores like the trained network
        items = np.full((1, 20), libreco.PAD, np.int32)
        assert np.array_equal(q2.online().score(items, None, np.arange(50), heads=q.q_head),
                              q.online().score(items, None, np.arange(50), heads=q.q_head))
    assert set(results) == {"greedy-Q", "greedy-supervised", "random"}
    for h in (rb, q, sim):
        h.close()


def test_python_policy_and_on_step(world):
    calls = []

    def first(items, fb, cand, counts):
        calls.append(cand.shape)
        return np.zeros(len(counts), np.int64)
    pol = libreco.Policy.from_function(first, lookback=20)
    steps = []
    st, depth, _ = libreco.run_sessions(world.env(), pol, world.eval_users(100, 8),
                                        max_candidates=50, on_step=steps.extend)
    assert st.sessions == 8 and len(steps) == st.steps and calls
    bad = libreco.Policy.from_function(lambda *a: np.full(3, 10**6))
    with pytest.raises(libreco.InvalidArgumentError, match="choose"):
        libreco.run_sessions(world.env(), bad, world.eval_users(0, 3), max_candidates=50)


def test_replay_and_qnet_update_round_trip(tmp_path):
    rb = libreco.Replay(capacity=100, lookback=4, seed=1)
    first = rb.add_segment(items=[1, 2, 3], feedback=[1, 0, 3], rewards=[0.5, 0.0, 1.0],
                           history_items=[7, 8], history_feedback=[0, 1], ends_session=True)
    assert first == 0 and len(rb) == 3
    s = rb.sample(3)
    assert s["state_items"].shape == (3, 4) and np.all(s["weights"] <= 1)
    q = libreco.QNet(model={"n_items": 10, "dim": 8, "ffn_dim": 8, "lookback": 4,
                            "max_batch": 8, "max_candidates": 10})
    info, pri = q.update(s, candidates=np.arange(10))
    assert info.n_updates == 1 and pri.shape == (3,)
    assert rb.update_priorities(s["indices"], pri) == 3
    path = str(tmp_path / "rb.reco")
    rb.save(path)
    rb2 = libreco.Replay(capacity=100, lookback=4, seed=1)
    rb2.load(path)
    assert rb2.get_stats().size == 3
    with pytest.raises(libreco.InvalidArgumentError):
        q.update({"state_items": s["state_items"]}, candidates=[1])


def test_explorer_strided_q_without_copy():
    e = libreco.Explorer(rule="greedy", max_candidates=16)
    wide = np.zeros((3, 16), np.float32)
    wide[:, 5] = 1.0
    idx, prob = e.select(wide[:, :8])             # a column slice: passed with its stride
    assert list(idx) == [5, 5, 5] and np.all(prob == 1)
    assert e.step == 1
    p = e.probs(wide[:, :8])
    assert p.shape == (3, 8) and np.allclose(p.sum(axis=1), 1)
    with pytest.raises(libreco.InvalidArgumentError):
        e.select(np.full((1, 4), np.nan, np.float32))
    v = libreco.Explorer.schedule_value(libreco.schedule("linear", 1.0, 0.0, steps=10), 5)
    assert v == pytest.approx(0.5)
    e.close()


def test_metrics():
    labels = np.array([0, 0, 1, 1], np.float32)
    assert libreco.metrics_auc([0.1, 0.2, 0.8, 0.9], labels) == 1.0
    assert libreco.metrics_log_loss([0.5] * 4, labels) == pytest.approx(np.log(2), rel=1e-6)
    assert libreco.metrics_ece([0.0, 0.0, 1.0, 1.0], labels) == pytest.approx(0.0)
