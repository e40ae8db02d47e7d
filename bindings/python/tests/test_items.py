"""The item table (reco_items) from Python: schema, values as NumPy, CSV and binary round
trips, strict and lenient loading, the bad-CSV corpus, and the world's item features."""
import os

import numpy as np
import pytest

import libreco
from conftest import SRC_TESTS

ITEMS = os.path.join(SRC_TESTS, "items")


def corpus_table():
    """The schema of tests/items: 100 items, quality and length, topic (20) and author (5)."""
    return libreco.Items(n_items=100, dense_names=["quality", "length"],
                         field_names=["topic", "author"], field_sizes=[20, 5])


def test_schema_defaults_and_unknown_items():
    with corpus_table() as t:
        assert (t.n_items, t.n_dense, t.n_fields, len(t)) == (100, 2, 2, 100)
        assert t.dense_names == ["quality", "length"] and t.field_names == ["topic", "author"]
        assert t.field_sizes.tolist() == [20, 5] and t.field_sizes.dtype == np.uint32
        assert t.model_options() == {"item_dense_dim": 2, "item_n_fields": 2,
                                     "item_field_sizes": [20, 5]}
        assert t.n_known == 0 and not t.is_known(3)
        assert np.array_equal(t.dense(), np.zeros((100, 2), np.float32))
        assert np.array_equal(t.fields(), np.full((100, 2), -1, np.int32))
    with libreco.Items(n_items=7, n_dense=2, field_sizes=[3]) as t:
        assert t.dense_names == ["d0", "d1"] and t.field_names == ["f0"]
    with libreco.Items(n_items=5) as t:                 # no features at all
        assert t.dense().shape == (5, 0) and t.fields().shape == (5, 0)
    with pytest.raises(libreco.InvalidArgumentError, match="field"):
        libreco.Items(n_items=5, field_names=["topic"])   # a field needs its size
    with pytest.raises(libreco.InvalidArgumentError):
        libreco.Items(n_items=5, dense_names=["item"])    # the id column's name


def test_set_and_views():
    with corpus_table() as t:
        t.set(7, dense=[0.5, -2], fields=[19, -1])
        t.set(9)                                         # known, all zero / unknown
        assert t.n_known == 2 and t.is_known(7) and t.is_known(9) and not t.is_known(8)
        d, f = t.dense(), t.fields()
        assert d[7].tolist() == [0.5, -2.0] and f[7].tolist() == [19, -1]
        assert f[9].tolist() == [-1, -1]
        v = t.dense(copy=False)
        assert not v.flags.writeable and np.array_equal(v, d)
        with pytest.raises(libreco.InvalidArgumentError, match="topic"):
            t.set(8, fields=[20, 0])                     # out of the field's range
        with pytest.raises(libreco.InvalidArgumentError):
            t.set(8, dense=[np.nan, 0])
        with pytest.raises(libreco.InvalidArgumentError):
            t.set(100)                                   # past the catalog
        with pytest.raises(libreco.InvalidArgumentError, match="dense"):
            t.set(8, dense=[1, 2, 3])                    # the binding's shape check
        assert not t.is_known(8)
        t.reset()
        assert t.n_known == 0


def test_csv_and_binary_round_trips(tmp_path):
    src = os.path.join(ITEMS, "good", "canonical.csv")
    with corpus_table() as t:
        t.load_csv(src)
        assert t.n_known == 4
        d, f = t.dense(), t.fields()
        assert d[7].tolist() == [-1.25, 0.0] and f[7].tolist() == [19, 4]
        assert d[42, 1] == np.float32(3.4028235e38) and f[42].tolist() == [-1, 0]
        out_csv, out_bin = str(tmp_path / "i.csv"), str(tmp_path / "i.recoitm")
        t.save_csv(out_csv)
        t.save(out_bin)
        with open(src, "rb") as a, open(out_csv, "rb") as b:
            assert a.read() == b.read()                  # canonical: byte for byte
        with corpus_table() as u:
            u.load(out_bin)
            assert u.n_known == 4
            assert np.array_equal(u.dense(), d) and np.array_equal(u.fields(), f)
            assert all(u.is_known(i) == t.is_known(i) for i in range(100))
        with libreco.Items(n_items=100, dense_names=["quality", "length"],
                           field_names=["topic", "author"], field_sizes=[20, 6]) as other:
            with pytest.raises(libreco.FormatError, match="author"):
                other.load(out_bin)                      # another schema: named
            assert other.n_known == 0


def _corpus():
    with open(os.path.join(ITEMS, "bad", "expected.txt")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                yield line.rstrip("\n").split("|", 5)


@pytest.mark.parametrize("case", list(_corpus()), ids=lambda c: c[0])
def test_bad_csv_corpus(case):
    name, status, line, column, field, substring = case
    path = os.path.join(ITEMS, "bad", name)
    with corpus_table() as t:
        t.set(1, dense=[1, 1])
        with pytest.raises(libreco.Error) as ei:
            t.load_csv(path)
        e = ei.value
        assert e.status_name == status and isinstance(e, libreco.FormatError)
        assert (e.line, e.column, e.field) == (int(line), int(column), field or None)
        assert substring in e.message
        assert str(e).startswith("%s:%s:%s: " % (path, line, column))
        assert e.source == path
        assert t.n_known == 1 and t.is_known(1)          # atomic: the table is unchanged


def test_lenient_load_keeps_the_good_lines(tmp_path):
    p = tmp_path / "mixed.csv"
    p.write_text("item,quality,length,topic,author\n"
                 "0,0.5,1,3,\n"
                 "1,x,1,3,1\n"
                 "2,0,0,25,1\n"
                 "3,1,2,,4\n")
    with corpus_table() as t:
        with pytest.raises(libreco.FormatError):
            t.load_csv(str(p))
        t.load_csv(str(p), lenient=True, max_rejections=1)
        assert t.n_known == 2 and t.is_known(0) and t.is_known(3) and t.n_rejected == 2
        rej = t.rejections()
        assert len(rej) == 1 and isinstance(rej[0], libreco.FormatError)
        assert (rej[0].line, rej[0].column, rej[0].field) == (3, 3, "quality")
        assert rej[0].source == str(p) and "%s:3:3:" % p in str(rej[0])


def test_world_item_features_match_item_info():
    with libreco.World(n_items=150, n_topics=7, n_users=50, n_candidates=20) as w:
        dense, fields = w.item_features()
        assert dense.shape == (150, libreco.WORLD_ITEM_DENSE) and dense.dtype == np.float32
        assert fields.shape == (150, libreco.WORLD_ITEM_FIELDS) and fields.dtype == np.int32
        info = w.item_info()
        assert np.array_equal(fields[:, 0], info["topic"])
        assert w.item_field_sizes().tolist() == [7]
        # noisy quality and clickbait, standardised log popularity
        assert np.corrcoef(dense[:, 0], info["quality"])[0, 1] > 0.5
        assert np.corrcoef(dense[:, 1], info["clickbait"])[0, 1] > 0.5
        assert abs(dense[:, 2].mean()) < 1e-4 and abs(dense[:, 2].std() - 1) < 1e-3
        assert np.array_equal(w.item_features()[0], dense)   # the same every call
        with w.items() as t:
            assert t.dense_names == ["quality", "clickbait", "popularity"]
            assert t.field_names == ["topic"] and t.n_known == 150
            assert np.array_equal(t.dense(), dense) and np.array_equal(t.fields(), fields)


def test_counts_and_names_must_agree():
    # the C side would read past the names: the binding refuses first
    with pytest.raises(libreco.InvalidArgumentError, match="n_dense"):
        libreco.Items(n_items=5, n_dense=3, dense_names=["a", "b"])
    with pytest.raises(libreco.InvalidArgumentError, match="n_fields"):
        libreco.Items(n_items=5, n_fields=2, field_sizes=[3])
    with pytest.raises(libreco.InvalidArgumentError, match="user_dim"):
        libreco.Log(user_dim=3, user_feature_names=["a", "b"])
    with pytest.raises(libreco.InvalidArgumentError, match="n_signals"):
        libreco.Log(n_signals=5, signal_names=["a", "b", "c", "d"])
