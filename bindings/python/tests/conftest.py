"""Shared fixtures: a tiny world, its logs and a fitted feedback model, built once."""
import os
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import libreco  # noqa: E402

SRC_TESTS = os.environ.get("RECO_TEST_DATA",
                           os.path.join(os.path.dirname(__file__), "..", "..", "..", "tests"))
REWARD = np.array([0.1, 1.0, 0.3, -0.5], np.float32)


def ref_helper(*args):
    """Run the C reference helper (built by Meson; path in RECO_REF_HELPER)."""
    exe = os.environ.get("RECO_REF_HELPER")
    if not exe or not os.path.exists(exe):
        pytest.skip("RECO_REF_HELPER not set (run through `meson test`)")
    return subprocess.run([exe] + list(args), check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture(scope="session")
def world():
    w = libreco.World(n_items=200, n_users=2000, n_candidates=50, max_sessions=64)
    yield w
    w.close()


@pytest.fixture(scope="session")
def logs(world):
    pop = world.item_info()["popularity"]
    log = libreco.Log().generate(world.env(), policy="popularity", item_weights=pop,
                                 n_interactions=5000, n_users=100, max_candidates=50,
                                 max_steps=199, session_key="world")
    train, valid = log.split(0.2, 7)
    yield log, train, valid
    for x in (log, train, valid):
        x.close()


@pytest.fixture(scope="session")
def fitted(logs):
    _, train, valid = logs
    m = libreco.Model(n_items=200, dim=16, ffn_dim=32, lookback=20, max_batch=128,
                      max_candidates=64, init_std=0.1)
    rep = libreco.fit_model(m, train, valid, epochs=3, batch_size=128, lr=2e-3)
    yield m, rep
    m.close()
