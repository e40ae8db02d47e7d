"""``reco_ope``: off-policy estimates of a policy's value from logs (docs/ope.md)."""
import ctypes

import numpy as np

from . import _ffi
from ._core import array_in, check, invalid, lib, options, ptr

_ESTIMATORS = ("ips", "snips", "dr")


def _values(vs):
    return {name: {"value": v.value, "se": v.se, "lo": v.lo, "hi": v.hi}
            for name, v in zip(_ESTIMATORS, vs)}


def ope(log, policy, reward_weights, model=None, candidates=None, counts=None, lookback=0,
        long_len=0, gamma=1.0, clip=0.0, confidence=0.95):
    """The value of ``policy`` estimated from ``log`` (``reco_ope_estimate``): IPS,
    self-normalised IPS and doubly robust, per decision (``"step"``: the expected immediate
    reward per step) and per session (``"session"``: the discounted return), each a dict
    ``{"value", "se", "lo", "hi"}`` (normal intervals over sessions at ``confidence``).

    ``log``: a :class:`Log` with propensities; ``policy``: a :class:`Policy` with
    probabilities() (every built-in one; a Python one that defines ``probabilities``);
    ``reward_weights`` (F,); ``model``: a feedback :class:`Model` as the doubly robust
    estimates' direct method (None: the DR values are NaN); ``candidates`` (n_rows, C) and
    ``counts`` (n_rows,) in the log's row order, or None for the log's ``candidates``
    column; ``lookback`` / ``long_len``: the states' window and long-term history (0: the
    policy's or the model's window); ``gamma``: the return's discount; ``clip``: the
    largest importance weight (0: none). Also returns ``sessions``, ``steps``, the logging
    policy's own ``logged_step`` and ``logged_return``, ``ess``, ``max_weight`` and
    ``clipped``."""
    o = options(_ffi.OpeOptions, lib.reco_ope_options_init, None, {}, "ope")
    w = array_in(reward_weights, np.float32, "reward_weights", shape=(log.n_signals,))
    o.reward_weights = ptr(w)
    o.model = model._h if model is not None else None
    o.lookback, o.long_len = int(lookback), int(long_len)
    o.gamma, o.clip, o.confidence = float(gamma), float(clip), float(confidence)
    cand = cnt = None
    C = 0
    if (candidates is None) != (counts is None):
        raise invalid("ope: give both candidates and counts, or neither (the log's column)",
                      field="candidates")
    if candidates is not None:
        cand = array_in(candidates, np.int32, "candidates", ndim=2)
        C = cand.shape[1]
        cnt = array_in(counts, np.uint32, "counts", shape=(cand.shape[0],))
        if cand.shape[0] != log.n_rows:
            raise invalid("ope: %d candidate rows for a log of %d rows"
                          % (cand.shape[0], log.n_rows), field="candidates")
    if getattr(policy, "_shape", None) is not None:
        # a Python policy reads the states in the widths reco_ope_estimate() rebuilds them
        L = (int(lookback) or policy._struct.lookback or
             (getattr(model, "lookback", 0) if model is not None else 0) or 1)
        policy._shape = (L, log.user_dim, int(long_len))
    r = _ffi.OpeResult(version=_ffi.VERSIONS[_ffi.OpeResult])
    policy._h
    check(lib.reco_ope_estimate(ctypes.byref(r), log._h, ptr(cand), ptr(cnt), C,
                                policy._ref, ctypes.byref(o)))
    return {"sessions": r.sessions, "steps": r.steps, "logged_step": r.logged_step,
            "logged_return": r.logged_return, "step": _values(r.step),
            "session": _values(r.session), "ess": r.ess, "max_weight": r.max_weight,
            "clipped": r.clipped}
