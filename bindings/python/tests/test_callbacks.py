"""An exception raised in a Python callback (an env, a policy, a progress or on_step
callback...) reaches the caller of the libreco call that ran it: the same exception object,
with its traceback and a note naming the callback and the call, while C sees its status and
"<ExcType>: <message>" (reco_error_set); a callback that fails by returning a status keeps
the message it recorded with libreco.error_set()."""
import gc
import traceback

import numpy as np
import pytest

import libreco
from shop_env import CANDIDATES, CAP, LOOKBACK, N_ITEMS, KnowsBest, Shop

USERS = np.arange(1, 41, dtype=np.uint64)


def _raised_by_step(ei, shop, call):
    """The exception is the shop's own object, its traceback reaches the shop's step(), and
    its note names the callback and the libreco call."""
    e = ei.value
    assert e is shop.raised and type(e) is ValueError and str(e) == "budget exhausted"
    assert "step" in [f.name for f in traceback.extract_tb(e.__traceback__)]
    note = "\n".join(getattr(e, "__notes__", []))
    assert "raised in the env's step(), called by %s" % call in note
    assert "RECO_ERROR: ValueError: budget exhausted" in note


def test_env_step_error_reaches_run_sessions_eval_and_log_generation():
    shop = Shop(fail_after=30)
    with pytest.raises(ValueError) as ei:
        libreco.run_sessions(shop, libreco.Policy.random(1), USERS)
    _raised_by_step(ei, shop, "reco_run_sessions")
    # what C recorded for this thread: the exception's type and message
    assert libreco.Error.__name__ and \
        libreco._ffi.lib.reco_error_message() == b"ValueError: budget exhausted"
    assert libreco._ffi.lib.reco_error_code() == libreco.ERROR

    shop = Shop(fail_after=30)
    pols = [libreco.Policy.random(1), KnowsBest(shop)]
    gc.collect()
    live = libreco.live_handles()
    with pytest.raises(ValueError) as ei:
        libreco.eval_run(shop, pols, USERS, long_watch_signal=1, hide_signal=-1)
    _raised_by_step(ei, shop, "reco_eval_run")
    gc.collect()
    assert libreco.live_handles() == live          # no result was made (or it was freed)

    shop = Shop(fail_after=30)
    with libreco.Log.for_env(shop) as log, pytest.raises(ValueError) as ei:
        log.generate(shop, n_sessions=20, n_interactions=0, n_users=20)
    _raised_by_step(ei, shop, "reco_log_generate")


def test_env_step_error_reaches_the_audit_and_the_trainer():
    shop = Shop(fail_after=30)
    with pytest.raises(ValueError) as ei:
        libreco.audit_run(Shop(), shop, libreco.Policy.random(1), USERS)
    _raised_by_step(ei, shop, "reco_audit_run")

    # a trainer's generator thread calls the shop from C: the exception crosses threads
    m = libreco.Model(n_items=N_ITEMS, n_signals=2, lookback=LOOKBACK, dim=8, ffn_dim=8,
                      max_batch=32, max_candidates=CANDIDATES)
    shop = Shop(fail_after=150)
    q = libreco.QNet.warm(m, shop.reward_weights, model={"max_batch": 32,
                                                          "max_candidates": CANDIDATES})
    rb = libreco.Replay(capacity=1000, lookback=LOOKBACK)
    tr = libreco.Trainer(q, rb, [shop], explorer={"max_candidates": CANDIDATES},
                         total_updates=50, warmup=100, batch_size=16, n_candidates=16,
                         n_users=100)
    with pytest.raises(ValueError) as ei:
        tr.run()
    _raised_by_step(ei, shop, "reco_trainer_run")
    for h in (tr, q, rb, m):
        h.close()


def test_a_policy_error_reaches_the_caller():
    class Lookup(libreco.Policy):
        def choose(self, states, candidates, counts):
            return np.array([{7: 0}[int(c)] for c in candidates[:, 0]])
    for run in (lambda p: libreco.run_sessions(Shop(), p, USERS),
                lambda p: libreco.eval_run(Shop(), [p], USERS, long_watch_signal=1,
                                           hide_signal=-1)):
        with pytest.raises(KeyError) as ei:
            run(Lookup())
        note = "\n".join(ei.value.__notes__)
        assert "raised in policy Lookup's choose()" in note and "KeyError" in note
        assert "choose" in [f.name for f in traceback.extract_tb(ei.value.__traceback__)]


def test_a_libreco_error_raised_in_a_callback_keeps_its_code():
    class Closed(Shop):
        def step(self, slots, items):
            self.raised = libreco.StateError(libreco.ESTATE, "the shop is closed")
            raise self.raised
    shop = Closed()
    with pytest.raises(libreco.StateError) as ei:
        libreco.run_sessions(shop, libreco.Policy.random(1), USERS)
    assert ei.value is shop.raised
    assert "failed with RECO_ESTATE: StateError: the shop is closed" in ei.value.__notes__[0]


def test_a_status_returned_by_a_callback_keeps_its_message():
    shop = Shop()

    def offline():
        return libreco.error_set(libreco.EIO, "store offline")
    with pytest.raises(libreco.FileError) as ei:
        libreco.eval_run(shop, [libreco.Policy.random(1)], USERS, reset_env=offline,
                         long_watch_signal=1, hide_signal=-1)
    assert ei.value.message == "store offline" and ei.value.code == libreco.EIO
    # a status without a message: the library says which callback failed, never an
    # unrelated earlier message
    libreco.error_set(libreco.EINVAL, "an unrelated earlier message")
    with pytest.raises(libreco.FileError) as ei:
        libreco.eval_run(shop, [libreco.Policy.random(1)], USERS, reset_env=lambda: -4,
                         long_watch_signal=1, hide_signal=-1)
    assert ei.value.message == ("eval_run's reset_env() returned RECO_EIO and recorded no "
                                "message (call libreco.error_set() before returning an error)")
    assert libreco.error_set(0, None) == libreco.ERROR     # 0 is recorded as RECO_ERROR


def test_progress_on_step_session_key_and_fit_callbacks():
    shop = Shop()
    pols = [libreco.Policy.random(1)]
    gc.collect()
    live = libreco.live_handles()

    def progress(policy, done):
        raise RuntimeError("progress bar broke")
    with pytest.raises(RuntimeError, match="progress bar broke") as ei:
        libreco.eval_run(shop, pols, USERS, progress=progress, long_watch_signal=1,
                         hide_signal=-1)
    assert "eval_run's progress()" in ei.value.__notes__[0]
    assert "which returned RECO_OK" in ei.value.__notes__[0]   # it could not stop the run
    gc.collect()
    assert libreco.live_handles() == live                      # the result was freed

    def on_step(steps):
        raise ZeroDivisionError("observer")
    with pytest.raises(ZeroDivisionError):
        libreco.run_sessions(shop, libreco.Policy.random(1), USERS[:3], on_step=on_step)

    def key(user, ordinal):
        raise OverflowError("no key for %d" % user)
    with libreco.Log.for_env(shop) as log, pytest.raises(OverflowError, match="no key for"):
        log.generate(shop, n_sessions=5, n_interactions=0, n_users=5, session_key=key)
        assert log.n_rows == 0

    with libreco.Log.for_env(shop) as log:
        log.generate(shop, n_sessions=40, n_interactions=0, n_users=40, max_steps=CAP)
        m = libreco.Model(n_items=N_ITEMS, n_signals=2, lookback=LOOKBACK, dim=8, ffn_dim=8)
        with pytest.raises(MemoryError, match="epoch"):
            libreco.fit_model(m, log, epochs=3,
                              progress=lambda ep: (_ for _ in ()).throw(MemoryError("epoch")))
        m.close()


def test_after_an_error_the_next_call_works():
    shop = Shop(fail_after=30)
    with pytest.raises(ValueError):
        libreco.run_sessions(shop, libreco.Policy.random(1), USERS)
    shop.fail_after = None                           # the same env, repaired
    st, _, _ = libreco.run_sessions(shop, libreco.Policy.random(1), USERS)
    assert st.sessions == len(USERS)
    # and a call into the env through its struct raises the same way
    env = libreco.Env.from_object(Shop(fail_after=0))
    env.reset([0], [1])
    with pytest.raises(ValueError, match="budget exhausted") as ei:
        env.step([0], [3])
    assert "called by the env's step()" in ei.value.__notes__[0]


def test_nested_libreco_calls_inside_a_callback():
    """A policy whose choose() runs a whole evaluation of its own (and that one fails):
    the inner error is the inner call's; the outer run goes on and succeeds."""
    inner_errors = []

    class Nested(libreco.Policy):
        def choose(self, states, candidates, counts):
            try:
                libreco.run_sessions(Shop(fail_after=0), libreco.Policy.random(1), [1])
            except ValueError as e:
                inner_errors.append(e)
            return np.zeros(len(counts), int)
    st, _, _ = libreco.run_sessions(Shop(), Nested(), USERS[:4])
    assert st.sessions == 4 and inner_errors
    assert all(str(e) == "budget exhausted" for e in inner_errors)
