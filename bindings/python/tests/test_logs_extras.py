"""Logs with the optional columns of issue 12 (user features, propensity, oracle) from
Python: creation, append, columns as NumPy, CSV and binary round trips, the bad-CSV corpus,
and logs generated from a world that gives them."""
import math
import os

import numpy as np
import pytest

import libreco
from conftest import SRC_TESTS

LOG_DATA = os.path.join(SRC_TESTS, "log")
NAN = np.float32(np.nan)


def extras_log():
    """The schema of tests/log/good/extras.csv and tests/log/bad_extras."""
    return libreco.Log(signal_names=["click", "buy"], user_feature_names=["age", "score"],
                       propensity=True, oracle=True)


def _rows():
    """Six rows of three sessions, with unknown propensities and oracle values."""
    return dict(
        user=[1, 1, 1, 2, 2, 7], session=[1, 1, 3, 4, 4, 2], step=[0, 1, 0, 0, 1, 0],
        timestamp=[100, 130, 900, 50, 80, -5], item=[5, 7, 2, 3, 9, 0],
        feedback=[1, 0, 0, 2, 3, 3], exit=[0, 1, 0, 0, 0, 1],
        user_features=np.array([[31, 0.75], [31, -1.5e-7], [32, 0], [-0.0, 123456790],
                                [1e-45, 3.4028235e38], [-2.5, 1e10]], np.float32),
        propensity=np.array([0.5, NAN, 1, 1e-4, 1e-6, 0.2], np.float32),
        oracle=np.array([[0.25, 0.125, 0.1], [0.3, NAN, 1], [0, 0, 0],
                         [0.999999, 0.33333334, 0.5], [NAN, NAN, NAN], [1, 1, 1]], np.float32))


def _assert_columns_equal(a, b):
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        assert np.array_equal(a[k], b[k], equal_nan=True), k


def test_schema_and_getters():
    with extras_log() as log:
        assert log.signal_names == ["click", "buy"] and log.n_signals == 2
        assert log.user_dim == 2 and log.user_feature_names == ["age", "score"]
        assert log.has_propensity and log.has_oracle
    with libreco.Log(user_dim=3) as log:
        assert log.user_feature_names == ["u0", "u1", "u2"]
        assert not log.has_propensity and not log.has_oracle
    with libreco.Log() as log:
        assert log.user_dim == 0 and log.user_feature_names == []
        assert set(log.columns()) == {"users", "sessions", "steps", "timestamps", "items",
                                      "feedback", "exits"}
    with pytest.raises(libreco.InvalidArgumentError, match="exit"):
        libreco.Log(user_feature_names=["exit"])   # a name another column has


def test_append_and_columns_equal_the_input():
    r = _rows()
    with extras_log() as log:
        log.append(**r)
        c = log.columns()
        assert c["user_features"].shape == (6, 2) and c["oracle"].shape == (6, 3)
        # canonical order: by user, then session start time; the input is already in it
        assert np.array_equal(c["items"], r["item"])
        assert np.array_equal(c["user_features"], r["user_features"])
        assert np.array_equal(c["propensity"], r["propensity"], equal_nan=True)
        assert np.array_equal(c["oracle"], r["oracle"], equal_nan=True)
        views = log.columns(copy=False)
        assert not views["oracle"].flags.writeable
        _assert_columns_equal(c, {k: np.array(v) for k, v in views.items()})
        row = log.get_row(3)
        assert row.version == 3 and row.propensity == np.float32(1e-4)
        assert [row.user_features[k] for k in range(2)] == [0.0, np.float32(123456790)]
        assert math.isnan(row.oracle[3])   # past F + 1: unknown
        assert math.isnan(log.get_row(1).propensity)


def test_append_checks():
    r = _rows()
    with extras_log() as log:
        bad = dict(r, user_features=None)
        with pytest.raises(libreco.InvalidArgumentError, match="user_features|user features"):
            log.append(**bad)                     # the log has user features: required
        with pytest.raises(libreco.InvalidArgumentError, match="user_features"):
            log.append(**dict(r, user_features=r["user_features"][:, :1]))
        with pytest.raises(libreco.InvalidArgumentError, match="oracle"):
            log.append(**dict(r, oracle=r["oracle"][:, :2]))
        p = r["propensity"].copy()
        p[2] = 1.5
        with pytest.raises(libreco.InvalidArgumentError, match="propensity"):
            log.append(**dict(r, propensity=p))
        assert log.n_rows == 0                     # atomic: nothing appended
    with libreco.Log() as plain:                   # no optional columns: values refused
        base = {k: r[k] for k in ("user", "session", "step", "timestamp", "item", "feedback",
                                  "exit")}
        base["feedback"] = [1, 0, 0, 0, 1, 1]
        with pytest.raises(libreco.InvalidArgumentError, match="propensity"):
            plain.append(**base, propensity=r["propensity"])
        with pytest.raises(libreco.InvalidArgumentError, match="user features"):
            plain.append(**base, user_features=np.ones((6, 1), np.float32))
        plain.append(**base)
        assert plain.n_rows == 6


def test_csv_and_binary_round_trips(tmp_path):
    r = _rows()
    with extras_log() as log:
        log.append(**r)
        want = log.columns()
        csv, binf = str(tmp_path / "x.csv"), str(tmp_path / "x.recolog")
        log.save_csv(csv)
        log.save(binf)
        with extras_log() as a, extras_log() as b:
            _assert_columns_equal(a.load_csv(csv).columns(), want)
            _assert_columns_equal(b.load(binf).columns(), want)
        # the canonical CSV of the same rows is the committed file, byte for byte
        with open(csv, "rb") as f, open(os.path.join(LOG_DATA, "good", "extras.csv"), "rb") as g:
            assert f.read() == g.read()
        # another schema refuses the binary file (every optional column must match)
        with libreco.Log(signal_names=["click", "buy"], user_feature_names=["age", "score"],
                         propensity=True) as other:
            with pytest.raises(libreco.FormatError):
                other.load(binf)
            assert other.n_rows == 0


def _corpus():
    with open(os.path.join(LOG_DATA, "bad_extras", "expected.txt")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                yield line.rstrip("\n").split("|", 5)


@pytest.mark.parametrize("case", list(_corpus()), ids=lambda c: c[0])
def test_bad_extras_corpus(case):
    name, status, line, column, field, substring = case
    path = os.path.join(LOG_DATA, "bad_extras", name)
    with extras_log() as log:
        with pytest.raises(libreco.Error) as ei:
            log.load_csv(path, n_items=1000)
        e = ei.value
        assert e.status_name == status and isinstance(e, libreco.FormatError)
        assert (e.line, e.column, e.field) == (int(line), int(column), field or None)
        assert substring in e.message
        assert "%s:%s:%s:" % (path, line, column) in str(e)
        assert log.n_rows == 0


def test_generated_log_has_the_worlds_features_propensity_and_oracle(tmp_path):
    with libreco.World(n_items=120, n_users=300, n_topics=6, n_candidates=30, max_sessions=8,
                       user_features=1, carry_history=1, long_len=5) as w:
        env = w.env()
        U = env.user_dim
        assert U == 3 + 6
        names = ["light", "regular", "heavy"] + ["topic%d" % k for k in range(6)]
        log = libreco.Log(user_feature_names=names, propensity=True, oracle=True)
        log.generate(env, policy="popularity", item_weights=w.item_info()["popularity"],
                     n_interactions=1500, n_users=40, max_candidates=30, max_steps=60,
                     session_key="world")
        c = log.columns()
        n = log.n_rows
        assert c["user_features"].shape == (n, U) and np.all(np.isfinite(c["user_features"]))
        # the segment is one-hot, constant per user, and the world's
        seg = c["user_features"][:, :3]
        assert np.all(seg.sum(axis=1) == 1)
        assert np.array_equal(np.argmax(seg, axis=1), w.user_segment(c["users"]))
        assert np.all((c["propensity"] > 0) & (c["propensity"] <= 1))
        assert c["oracle"].shape == (n, 5)
        assert np.all((c["oracle"] >= 0) & (c["oracle"] <= 1))
        # every logged session's steps were stored as the users' history
        hist = w.user_history_len(np.unique(c["users"]))
        _, per_user = np.unique(c["users"], return_counts=True)
        assert np.array_equal(hist, per_user)
        # the split keeps every column
        train, valid = log.split(0.25, 3)
        for part in (train, valid):
            assert part.user_dim == U and part.has_propensity and part.has_oracle
        both = np.concatenate([train.columns()["oracle"], valid.columns()["oracle"]])
        assert sorted(map(tuple, both)) == sorted(map(tuple, c["oracle"]))
        path = str(tmp_path / "gen.recolog")
        log.save(path)
        with libreco.Log(user_feature_names=names, propensity=True, oracle=True) as again:
            _assert_columns_equal(again.load(path).columns(), c)
        for x in (log, train, valid):
            x.close()
