"""Scores, top-N and checkpoints agree bit for bit with the C API."""
import json
import threading

import numpy as np

import libreco
from conftest import ref_helper


def _fixed_batch(m):
    """The batch of ref_helper.c's `score` command (same formulas)."""
    o = m.get_options()
    L, N = o.lookback, o.n_items
    b = np.arange(3)[:, None]
    t = np.arange(L)[None, :]
    items = np.where(t < 2 * b, libreco.PAD, (b * 31 + t * 7) % N).astype(np.int32)
    fb = ((b + t) % (1 << o.n_signals)).astype(np.uint32)
    cand = ((np.arange(40) * 3 + 1) % N).astype(np.int32)
    return items, fb, cand


def test_scores_and_topn_equal_c(tmp_path, fitted):
    m, _ = fitted
    path = str(tmp_path / "m.reco")
    m.save(path)
    c = json.loads(ref_helper("score", path))
    items, fb, cand = _fixed_batch(m)
    s = m.score(items, fb, cand)                  # every head: (B, H, C)
    assert s.shape == (3, m.n_heads, 40)
    assert np.array_equal(s.ravel(), np.array(c["scores"], np.float32))
    ids, top = m.topn(items, fb, m.q_head, 10)
    assert np.array_equal(ids.ravel(), c["top_ids"])
    assert np.array_equal(top.ravel(), np.array(c["top_scores"], np.float32))
    # one head gives (B, C), the same numbers
    assert np.array_equal(m.score(items, fb, cand, heads=1), s[:, 1, :])


def test_checkpoint_round_trip(tmp_path, fitted):
    m, _ = fitted
    items, fb, cand = _fixed_batch(m)
    path = str(tmp_path / "m.reco")
    m.save(path, optimizer=True)
    with libreco.Model.open(path) as m2:
        assert m2.n_params == m.n_params
        assert np.array_equal(m2.score(items, fb, cand), m.score(items, fb, cand))
        assert m2.get_options().dim == 16
    with libreco.Model.open(path, max_batch=8, max_candidates=40) as m3:
        assert m3.get_options().max_batch == 8
    with libreco.Model(m.get_options()) as fresh:
        assert not np.array_equal(fresh.score(items, fb, cand), m.score(items, fb, cand))
        fresh.load(path)
        assert np.array_equal(fresh.score(items, fb, cand), m.score(items, fb, cand))


def test_per_thread_workspaces_share_the_model(fitted):
    m, _ = fitted
    items, fb, cand = _fixed_batch(m)
    want = m.score(items, fb, cand, heads=m.q_head)
    got, errors = [], []

    def work():
        try:
            with libreco.Workspace(m) as ws:
                for _ in range(50):
                    got.append(m.score(items, fb, cand, heads=m.q_head, workspace=ws))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(got) == 200
    assert all(np.array_equal(g, want) for g in got)


def test_training_step_changes_scores():
    with libreco.Model(n_items=30, dim=8, ffn_dim=8, lookback=4, seed=3) as m:
        items = np.arange(8, dtype=np.int32).reshape(2, 4)
        before = m.score(items, None, [1, 2], heads=0)
        m.set_param("lr", 0.01)
        assert abs(m.get_param("lr") - 0.01) < 1e-9
        loss = m.train_bce(items, None, [1, 2], np.ones((2, 5), np.float32))
        assert loss > 0 and m.step() > 0
        assert not np.array_equal(before, m.score(items, None, [1, 2], heads=0))
        lo, hi = libreco.Model.param_bounds("lr")
        assert lo < 0.01 < hi
