"""``reco_policy``: built-in and Python policies, and ``reco_run_sessions``."""
import ctypes

import numpy as np

from . import _ffi
from ._core import Callbacks, Handle, Record, array_in, check, create, invalid, lib, options, ptr
from .errors import EINVAL

POLICY_RANDOM, POLICY_POPULARITY, POLICY_MODEL_GREEDY, POLICY_MODEL_HEAD = 1, 2, 3, 4


class Policy(Handle):
    """A policy: one of the four built-ins (``reco_policy_create`` + ``reco_policy_get``),
    made by :meth:`random`, :meth:`popularity`, :meth:`model_greedy`, :meth:`model_head`, or a
    Python function (:meth:`from_function`). Model policies keep their model alive."""

    _free = lib.reco_policy_free
    _kind = "Policy"

    def __init__(self, kind=POLICY_RANDOM, seed=1, item_weights=None, model=None,
                 signal_weights=None, head=0):
        o = options(_ffi.PolicyOptions, lib.reco_policy_options_init, None, {}, "policy")
        o.kind, o.seed, o.head = kind, seed, head
        keep = []
        if item_weights is not None:
            w = array_in(item_weights, np.float32, "item_weights", ndim=1)
            o.item_weights, o.n_item_weights = ptr(w), w.shape[0]
            keep.append(w)
        if model is not None:
            o.model = model._h
        if signal_weights is not None:
            sw = array_in(signal_weights, np.float32, "signal_weights", ndim=1)
            o.signal_weights = ptr(sw)
            keep.append(sw)
        super().__init__(create(lib.reco_policy_create, ctypes.byref(o)), parents=(model,))
        self._struct = _ffi.Policy()
        check(lib.reco_policy_get(ctypes.byref(self._struct), self._h))
        self._cb = None

    @classmethod
    def random(cls, seed=1):
        """Uniform over the candidates (``RECO_POLICY_RANDOM``)."""
        return cls(POLICY_RANDOM, seed=seed)

    @classmethod
    def popularity(cls, item_weights):
        """Argmax of a per-item weight (``RECO_POLICY_POPULARITY``)."""
        return cls(POLICY_POPULARITY, item_weights=item_weights)

    @classmethod
    def model_greedy(cls, model, signal_weights):
        """Argmax of ``sum_f w_f sigmoid(head_f)`` (``RECO_POLICY_MODEL_GREEDY``)."""
        return cls(POLICY_MODEL_GREEDY, model=model, signal_weights=signal_weights)

    @classmethod
    def model_head(cls, model, head=None):
        """Argmax of one head (default: the Q head) (``RECO_POLICY_MODEL_HEAD``)."""
        return cls(POLICY_MODEL_HEAD, model=model,
                   head=model.q_head if head is None and model is not None else (head or 0))

    @classmethod
    def from_function(cls, choose, name="python", lookback=0):
        """A policy whose ``choose(items, feedback, candidates, counts) -> indices`` is Python:
        ``items``/``feedback`` (n, L), ``candidates`` (n, max_candidates) and ``counts`` (n,)
        are read-only views of the C buffers (valid during the call only); it returns n
        candidate positions. It runs on the thread that calls :func:`run_sessions`."""
        self = cls.__new__(cls)
        Handle.__init__(self, 0)
        self._free = None
        self._raw = 1  # no C state; "open" until close()
        self._cb = Callbacks()
        self._name = name.encode()

        def call(index_out, items, feedback, features, candidates, counts, max_c, n, payload):
            L = self._lookback
            it = np.ctypeslib.as_array(items, (n, L)) if L else None
            fb = np.ctypeslib.as_array(feedback, (n, L)) if L else None
            cand = np.ctypeslib.as_array(candidates, (n, max_c))
            cnt = np.ctypeslib.as_array(counts, (n,))
            idx = np.asarray(choose(it, fb, cand, cnt))
            if idx.shape != (n,) or np.any(idx < 0) or np.any(idx >= cnt):
                raise invalid("policy %s: choose() must return %d indices below the counts"
                              % (name, n))
            np.ctypeslib.as_array(index_out, (n,))[:] = idx
            return 0
        self._lookback = lookback
        self._fn = _ffi.POLICY_CHOOSE_FN(self._cb.wrap(call, EINVAL))
        self._struct = _ffi.Policy(version=1, name=self._name, lookback=lookback, user_dim=0,
                                   choose=ctypes.cast(self._fn, ctypes.c_void_p))
        return self

    @property
    def name(self):
        """The policy's name ("random", "model-greedy", ...)."""
        return (self._struct.name or b"").decode()

    @property
    def _ref(self):
        self._h
        return ctypes.byref(self._struct)


def run_options(options_=None, **fields):
    """A :class:`RunOptions`: ``options_`` copied, or the defaults, then ``fields``."""
    return options(_ffi.RunOptions, lib.reco_run_options_init, options_, fields, "run")


def run_sessions(env, policy, users, on_step=None, options_=None, **fields):
    """Play one session per entry of ``users`` with ``policy`` in ``env`` to its end
    (``reco_run_sessions``). Returns (stats :class:`Record`, depth (n,) uint32, return (n,)
    float32). Keywords are ``reco_run_options`` fields (``parallel``, ``max_candidates``,
    ``max_steps``); ``on_step(list_of_step_records)`` is called after every batched step."""
    users = array_in(users, np.uint64, "users", ndim=1)
    n = users.shape[0]
    ro = run_options(options_, **fields)
    cb = Callbacks()
    if on_step is not None:
        def step(steps, k, payload):
            on_step([Record.of(steps[i]) for i in range(k)])
        fn = _ffi.RUN_ON_STEP_FN(cb.wrap(step, None))
        ro.on_step = ctypes.cast(fn, ctypes.c_void_p)
    st = _ffi.RunStats(version=1)
    depth, ret = np.zeros(n, np.uint32), np.zeros(n, np.float32)
    rc = lib.reco_run_sessions(ctypes.byref(st), ptr(depth), ptr(ret), env._ref, policy._ref,
                               ptr(users), n, ctypes.byref(ro))
    cb.reraise()
    if policy._cb is not None:
        policy._cb.reraise()
    check(rc)
    rec = Record.of(st)
    rec.count = rec.count[:min(st.n_signals, len(rec.count))]
    return rec, depth, ret
