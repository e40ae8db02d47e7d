"""A model with every issue-12 input from Python: user features, the session context (steps,
elapsed time, long-term history: a version-2 reco_batch), item features and the state bias."""
import numpy as np
import pytest

import libreco

N, L, U, H, D = 60, 5, 3, 4, 16


def full_model(**kw):
    o = dict(n_items=N, dim=D, ffn_dim=16, lookback=L, user_dim=U, position=1, elapsed=1,
             long_len=H, item_dense_dim=2, item_field_sizes=[6, 3], max_batch=8,
             max_candidates=N, init_std=0.3, seed=5)
    o.update(kw)
    return libreco.Model(**o)


def inputs(B=3, seed=0):
    rng = np.random.default_rng(seed)
    items = rng.integers(0, N, (B, L)).astype(np.int32)
    items[0, :2] = libreco.PAD
    return dict(items=items, feedback=rng.integers(0, 16, (B, L)).astype(np.uint32),
                user_features=rng.normal(size=(B, U)).astype(np.float32),
                steps=np.array([0, 3, 17][:B], np.uint32),
                elapsed=np.array([0.0, 42.5, 600.0][:B], np.float32),
                long_items=rng.integers(0, N, (B, H)).astype(np.int32),
                long_feedback=rng.integers(0, 16, (B, H)).astype(np.uint32))


def item_features(seed=1):
    rng = np.random.default_rng(seed)
    dense = rng.normal(size=(N, 2)).astype(np.float32)
    fields = np.stack([rng.integers(0, 6, N), rng.integers(-1, 3, N)], axis=1).astype(np.int32)
    return dense, fields


CAND = np.arange(0, N, 3, dtype=np.int32)


def score(m, x, **kw):
    return m.score(x["items"], x["feedback"], CAND, **{**{k: v for k, v in x.items()
                                                          if k not in ("items", "feedback")},
                                                       **kw})


def test_options_hold_every_input():
    with full_model() as m:
        o = m.get_options()
        assert o.version == 3
        assert (o.position, o.elapsed, o.long_len, o.item_dense_dim, o.item_n_fields) == \
            (1, 1, H, 2, 2)
        assert list(o.item_field_sizes)[:3] == [6, 3, 0] and o.state_bias == 1
        assert libreco.model_options(item_field_sizes=[4]).item_n_fields == 1
    with pytest.raises(libreco.InvalidArgumentError, match="item_field_sizes|item_n_fields"):
        libreco.Model(n_items=N, dim=8, item_n_fields=1)   # a field without its size


def test_same_inputs_same_scores_and_each_input_matters():
    x = inputs()
    with full_model() as m:
        m.set_item_features(*item_features())
        s = score(m, x)
        assert s.shape == (3, m.n_heads, CAND.shape[0]) and np.all(np.isfinite(s))
        assert np.array_equal(s, score(m, x))       # same inputs twice: identical
        ws = libreco.Workspace(m)
        assert np.array_equal(s, score(m, x, workspace=ws))
        changed = {
            "steps": x["steps"] + 5,
            "elapsed": x["elapsed"] * 3 + 10,
            "long_items": (x["long_items"] + 1) % N,
            "long_feedback": x["long_feedback"] ^ 1,
            "user_features": x["user_features"] + 1,
        }
        for k, v in changed.items():
            t = score(m, x, **{k: v})
            assert not np.array_equal(t, s), k
            # row by row: each row depends on its own inputs only
            assert np.array_equal(score(m, {kk: vv[:1] for kk, vv in x.items()},
                                        **{k: v[:1]})[0], t[0]), k
        # user vectors and top-N take the same context
        u = m.user_vectors(x["items"], x["feedback"], **{k: x[k] for k in changed})
        assert u.shape == (3, D)
        assert not np.array_equal(u, m.user_vectors(x["items"], x["feedback"],
                                                    **dict({k: x[k] for k in changed},
                                                           steps=changed["steps"])))
        ids, top = m.topn(x["items"], x["feedback"], m.q_head, 5,
                          **{k: x[k] for k in changed})
        full = m.score(x["items"], x["feedback"], np.arange(N), heads=m.q_head,
                       **{k: x[k] for k in changed})
        assert np.array_equal(top, -np.sort(-full, axis=1)[:, :5])
        assert np.array_equal(ids[:, 0], np.argmax(full, axis=1))


def test_item_features_change_scores_and_survive_checkpoints(tmp_path):
    x = inputs()
    dense, fields = item_features()
    with full_model() as m:
        before = score(m, x)
        m.set_item_features(dense, fields)
        after = score(m, x)
        assert not np.array_equal(before, after)
        m.set_item_features(dense=dense * 0)         # fields stay as they are
        assert not np.array_equal(score(m, x), after)
        m.set_item_features(dense=dense)
        assert np.array_equal(score(m, x), after)
        path = str(tmp_path / "m.reco")
        m.save(path)
        with libreco.Model.open(path) as m2:
            assert np.array_equal(score(m2, x), after)        # the values are in the file
            m2.set_item_features(dense * 0, np.full_like(fields, -1))
            assert np.array_equal(score(m2, x), before)       # back to "nothing known"
        with full_model() as fresh:
            fresh.copy_params(m)                              # copied with the parameters
            assert np.array_equal(score(fresh, x), after)
        # from an Items table of the same widths, without a copy
        with libreco.Items(n_items=N, n_dense=2, field_sizes=[6, 3]) as t:
            t.set_all(dense, fields)
            with full_model() as m3:
                m3.copy_params(m)
                m3.set_item_features(dense * 0)
                m3.set_item_features(t)
                assert np.array_equal(score(m3, x), after)
        with libreco.Items(n_items=N, n_dense=1, field_sizes=[6, 3]) as narrow:
            with pytest.raises(libreco.InvalidArgumentError, match="dense"):
                m.set_item_features(narrow)
        with pytest.raises(libreco.InvalidArgumentError, match="dense"):
            m.set_item_features(dense[:, :1])
        bad = fields.copy()
        bad[4, 1] = 3                                         # the second field has 3 values
        with pytest.raises(libreco.InvalidArgumentError):
            m.set_item_features(fields=bad)
        assert np.array_equal(score(m, x), after)             # nothing changed


def test_missing_context_is_refused_and_v1_batches_still_work():
    x = inputs()
    with full_model() as m:
        with pytest.raises(libreco.InvalidArgumentError, match="steps"):
            m.score(x["items"], x["feedback"], CAND, user_features=x["user_features"])
        with pytest.raises(libreco.InvalidArgumentError, match="long"):
            score(m, {k: v for k, v in x.items() if k not in ("long_items", "long_feedback")})
        with pytest.raises(libreco.InvalidArgumentError, match="long_items"):
            score(m, x, long_items=x["long_items"][:, :2])     # (B, long_len) checked
        with pytest.raises(libreco.InvalidArgumentError, match="steps"):
            score(m, x, steps=x["steps"][:2])
        with pytest.raises(libreco.InvalidArgumentError, match="long_items"):
            score(m, {k: v for k, v in x.items() if k != "long_items"})
        # long_feedback left out: zeros
        z = score(m, x, long_feedback=np.zeros((3, H), np.uint32))
        assert np.array_equal(score(m, {k: v for k, v in x.items() if k != "long_feedback"}), z)
    # a model without context reads a version-1 batch, and ignores a context it is given
    with libreco.Model(n_items=N, dim=8, ffn_dim=8, lookback=L, init_std=0.3) as plain:
        s = plain.score(x["items"], x["feedback"], CAND)
        assert np.array_equal(s, plain.score(x["items"], x["feedback"], CAND,
                                             steps=x["steps"], elapsed=x["elapsed"]))


def test_training_with_every_input():
    x = inputs()
    with full_model(lr=0.01) as m:
        m.set_item_features(*item_features())
        labels = np.ones((3, 5), np.float32)
        before = score(m, x, heads=0)
        ctx = {k: v for k, v in x.items() if k not in ("items", "feedback")}
        loss = m.train_bce(x["items"], x["feedback"], [1, 2, 3], labels, **ctx)
        assert loss > 0 and m.step() > 0
        assert not np.array_equal(before, score(m, x, heads=0))
        loss2, pred = m.train_scalar(x["items"], x["feedback"], [1, 2, 3], m.q_head,
                                     [1.0, 0.0, -1.0], **ctx)
        assert pred.shape == (3,) and np.isfinite(loss2)
        own = m.score(x["items"], x["feedback"], np.array([[1], [2], [3]]), heads=m.q_head,
                      **ctx)[:, 0]
        assert np.allclose(pred, own, rtol=1e-5, atol=1e-6)   # the same inputs reached it
        with pytest.raises(libreco.InvalidArgumentError, match="elapsed"):
            m.train_bce(x["items"], x["feedback"], [1, 2, 3], labels,
                        **dict(ctx, elapsed=None))
