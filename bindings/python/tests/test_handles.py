"""Handles are freed exactly once, keep what they borrow alive, and refuse use after close."""
import gc

import numpy as np
import pytest

import libreco


def test_create_free_1000_handles_no_leak():
    base = libreco.live_handles()
    for _ in range(1000):
        m = libreco.Model(n_items=20, dim=4, ffn_dim=4, n_heads=1, lookback=2)
        ws = libreco.Workspace(m)
        e = libreco.Explorer()
        ws.close()
        m.close()
        e.close()
    assert libreco.live_handles() == base
    # the garbage collector frees what nobody closed
    objs = [libreco.Replay(capacity=10, lookback=2) for _ in range(1000)]
    assert libreco.live_handles() == base + 1000
    del objs
    gc.collect()
    assert libreco.live_handles() == base


def test_use_after_close_raises_and_close_is_idempotent():
    m = libreco.Model(n_items=20, dim=4, ffn_dim=4, n_heads=1, lookback=2)
    m.close()
    m.close()
    assert m.closed
    for call in (lambda: m.n_heads, lambda: m.score([[0, 1]], None, [1]),
                 lambda: m.save("/tmp/x"), lambda: libreco.Workspace(m),
                 lambda: libreco.Sim(m)):
        with pytest.raises(libreco.StateError) as ei:
            call()
        assert ei.value.code == libreco.ESTATE and "closed" in ei.value.message


def test_context_manager_closes():
    base = libreco.live_handles()
    with libreco.World(n_items=50, n_users=10, n_candidates=5, max_sessions=2) as w:
        assert libreco.live_handles() == base + 1
        env = w.env()
    assert w.closed and env.closed and libreco.live_handles() == base
    with pytest.raises(libreco.StateError):
        env.n_items and env._ref


def test_sim_keeps_model_alive_and_closes_with_it():
    base = libreco.live_handles()
    m = libreco.Model(n_items=30, dim=4, ffn_dim=4, n_heads=1, lookback=3, max_candidates=10)
    sim = libreco.Sim(m, n_candidates=5, max_sessions=2)
    del m
    gc.collect()
    assert not sim._parents[0].closed  # the model lives on through the simulator
    env = sim.env()
    st, depth, _ = libreco.run_sessions(env, libreco.Policy.random(), [1, 2], max_candidates=5)
    assert st.sessions == 2 and depth.sum() == st.steps
    # closing the model first closes what borrows it: no dangling pointer in C
    sim._parents[0].close()
    assert sim.closed and env.closed
    del sim, env
    gc.collect()
    assert libreco.live_handles() == base


def test_qnet_borrowed_models_are_not_freed_twice():
    base = libreco.live_handles()
    q = libreco.QNet(model={"n_items": 30, "dim": 4, "ffn_dim": 4, "n_heads": 1, "lookback": 3})
    on = q.online()
    assert q.online() is on and on.n_heads == 6
    pol = libreco.Policy.model_head(on)
    q.close()
    assert on.closed and pol.closed
    on.close()
    del on, pol
    gc.collect()
    assert libreco.live_handles() == base


def test_scores_into_caller_array_without_copy():
    with libreco.Model(n_items=50, dim=8, ffn_dim=8, lookback=4) as m:
        items = np.arange(8, dtype=np.int32).reshape(2, 4)
        out = np.empty((2, 3), np.float32)
        res = m.score(items, None, np.array([1, 2, 3], np.int32), heads=m.q_head, out=out)
        assert res is out
        # a non-contiguous input is converted once and gives the same scores
        wide = np.zeros((2, 8), np.int32)
        wide[:, ::2] = items
        again = m.score(wide[:, ::2], None, [1, 2, 3], heads=m.q_head)
        assert np.array_equal(again, out)
