"""Negative statuses become exceptions with the code, message and location of the C error."""
import os

import numpy as np
import pytest

import libreco
from conftest import SRC_TESTS

BAD = os.path.join(SRC_TESTS, "config", "bad")


def _corpus():
    with open(os.path.join(BAD, "expected.txt")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                yield line.rstrip("\n").split("|", 5)


@pytest.mark.parametrize("case", list(_corpus()), ids=lambda c: c[0])
def test_bad_yaml_corpus(case):
    name, status, line, column, field, substring = case
    path = os.path.join(BAD, name)
    cfg = libreco.Config()
    with pytest.raises(libreco.Error) as ei:
        cfg.load_file(path)
    e = ei.value
    assert e.status_name == status
    assert e.line == (int(line) or None)
    assert e.column == (int(column) or None)
    assert e.field == (field or None)
    assert substring in e.message and name in e.message
    assert e.source == path
    cls = {"RECO_ECONFIG": libreco.ConfigError, "RECO_EFORMAT": libreco.FormatError}[status]
    assert isinstance(e, cls)
    # the handle keeps its previous values (atomic load)
    assert cfg.get_experiment().name == b"recomind"


def test_bad_yaml_string_has_line_and_column():
    with pytest.raises(libreco.FormatError) as ei:
        libreco.Config().load_string("experiment:\n  seed: [1\n", "snippet.yaml")
    e = ei.value
    assert (e.code, e.source, e.line, e.column) == (libreco.EFORMAT, "snippet.yaml", 3, 1)
    assert str(e).startswith("snippet.yaml:3:1:") and str(e).endswith("[RECO_EFORMAT]")


def test_config_value_error_names_the_option():
    with pytest.raises(libreco.ConfigError) as ei:
        libreco.Config().set("experiment.threads", "0")
    assert ei.value.field == "experiment.threads"
    assert "out of range" in ei.value.message


def test_missing_file_is_file_error():
    with pytest.raises(libreco.FileError) as ei:
        libreco.Config("/nonexistent/x.yaml")
    assert ei.value.code == libreco.EIO and isinstance(ei.value, OSError)
    with pytest.raises(libreco.FileError):
        libreco.Model.open("/nonexistent/model.reco")


def test_null_model_reaches_c_and_gives_einval():
    # None goes to C as NULL: the library's own check answers.
    with pytest.raises(libreco.InvalidArgumentError) as ei:
        libreco.Sim(None)
    assert ei.value.code == libreco.EINVAL and ei.value.message
    assert libreco.live_handles() >= 0


def test_bad_option_value_from_c():
    with pytest.raises(libreco.InvalidArgumentError) as ei:
        libreco.Model(n_items=100, dim=10, n_heads=3)   # dim must be a multiple of n_heads
    assert "n_heads" in ei.value.message or "dim" in ei.value.message


def test_unknown_option_name():
    with pytest.raises(libreco.InvalidArgumentError) as ei:
        libreco.Model(n_itemz=10)
    assert "n_itemz" in str(ei.value) and ei.value.field == "n_itemz"


def test_wrong_dtype_and_shape():
    with libreco.Model(n_items=50, dim=8, ffn_dim=8, lookback=4) as m:
        items = np.zeros((2, 4), np.int32)
        with pytest.raises(libreco.InvalidArgumentError, match="float64 cannot be converted"):
            m.score(items.astype(np.float64), None, [1, 2])
        with pytest.raises(libreco.InvalidArgumentError, match="out of the range"):
            m.score(np.full((2, 4), 2**40), None, [1, 2])
        with pytest.raises(libreco.InvalidArgumentError, match="feedback: expected shape"):
            m.score(items, np.zeros((2, 5), np.uint32), [1, 2])
        with pytest.raises(libreco.InvalidArgumentError, match="expected a float32 array"):
            m.score(items, None, [1, 2], heads=0, out=np.empty((2, 2), np.float64))
        # a wrong lookback is the library's check, not the binding's
        with pytest.raises(libreco.InvalidArgumentError) as ei:
            m.score(np.zeros((2, 5), np.int32), None, [1, 2])
        assert ei.value.message
        # item ids out of the catalog: C says so
        with pytest.raises(libreco.InvalidArgumentError):
            m.score(items, None, [1, 5000])


def test_status_names():
    assert libreco.status_name(libreco.EINVAL) == "RECO_EINVAL"
    assert libreco.status_name(12345) == "RECO_UNKNOWN"
    assert libreco.status_string(libreco.ENOMEM)


def test_log_csv_errors_and_lenient_rejections(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("user,session,step,timestamp,item,click,long_watch,like,hide,exit\n"
                 "1,1,0,100,5,1,0,0,0,0\n"
                 "1,1,1,130,abc,0,0,0,0,1\n"
                 "2,1,0,100,7,0,0,0,0,1\n")
    with libreco.Log() as log:
        with pytest.raises(libreco.FormatError) as ei:
            log.load_csv(str(p))
        assert (ei.value.line, ei.value.column, ei.value.field) == (3, 11, "item")
        log.load_csv(str(p), lenient=True)
        assert log.n_rows == 1 and log.n_rejected == 2
        rej = log.rejections()
        assert rej[0].line == 3 and rej[0].field == "item" and isinstance(rej[0],
                                                                           libreco.FormatError)
