"""``reco_policy``: built-in and Python policies, and ``reco_run_sessions``."""
import ctypes

import numpy as np

from . import _ffi
from ._core import (Callbacks, Handle, Record, array_in, check, create, invalid, lib, options,
                    ptr, reraise_callbacks)
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
        candidate positions. ``lookback``: the L it expects of the env (0: any; the runner's
        env gives it). It runs on the thread that calls :func:`run_sessions`.

        A version-1 ``reco_policy``: it sees the window only, never the user features or the
        session context; :meth:`from_states_function` sees the whole state."""
        self = cls._python(name, lookback, 0)

        def call(index_out, items, feedback, features, candidates, counts, max_c, n, payload):
            L = self._shape[0]
            it = _ro(items, (n, L)) if L else None
            fb = _ro(feedback, (n, L)) if L else None
            cand = _ro(candidates, (n, max_c))
            cnt = _ro(counts, (n,))
            _write_choice(index_out, choose(it, fb, cand, cnt), cnt, name)
            return 0
        self._fn = _ffi.POLICY_CHOOSE_FN(self._cb.wrap(call, EINVAL))
        self._struct = _ffi.Policy(version=1, name=self._name, lookback=lookback, user_dim=0,
                                   choose=ctypes.cast(self._fn, ctypes.c_void_p))
        return self

    @classmethod
    def from_states_function(cls, choose_states, name="python", lookback=0, user_dim=0):
        """A policy that sees the whole state: ``choose_states(states) -> indices`` is Python,
        called through ``reco_policy`` version 2's choose_states(). ``states`` is a dict of
        read-only NumPy views of the C buffers (valid during the call only) for n rows:

        - ``items``, ``feedback``: (n, L) the window, newest last;
        - ``user_features``: (n, U), or None when the env has none;
        - ``steps`` (n,), ``elapsed`` (n,) seconds, ``long_items``, ``long_feedback``
          (n, long_len): the session context (None where the runner has none: a long-term
          history of an env of version < 3);
        - ``candidates``: (n, max_candidates), row i valid up to ``counts[i]`` (entries past
          it are undefined); ``counts``: (n,).

        It returns n positions, ``indices[i] < counts[i]``. :meth:`Model.score_states` scores
        such a ``states`` with a model. ``lookback`` and ``user_dim``: what the policy
        expects of the env (0: any). L, U and long_len are the env's, as :func:`run_sessions`
        and :func:`eval_run` give it. A runner that calls choose() instead (a version-1
        caller) gets the same function, without the context."""
        self = cls._python(name, lookback, user_dim)

        def states_of(items, feedback, features, cand, counts, n, bt=None):
            L, U, H = self._shape
            d = {"items": _ro(items, (n, L)), "feedback": _ro(feedback, (n, L)),
                 "user_features": _ro(features, (n, U)) if U and features else None,
                 "steps": None, "elapsed": None, "long_items": None, "long_feedback": None,
                 "candidates": cand, "counts": _ro(counts, (n,))}
            if bt is not None and bt.version >= 2:
                d["steps"] = _ro(bt.steps, (n,)) if bt.steps else None
                d["elapsed"] = _ro(bt.elapsed, (n,)) if bt.elapsed else None
                if H and bt.long_items:
                    d["long_items"] = _ro(bt.long_items, (n, H))
                    d["long_feedback"] = (_ro(bt.long_feedback, (n, H)) if bt.long_feedback
                                          else np.zeros((n, H), np.uint32))
            return d

        def call_states(index_out, states, counts, payload):
            bt = states.contents
            n, C = bt.size, bt.n_candidates
            if bt.shared_candidates:
                cand = np.broadcast_to(_ro(bt.candidates, (C,)), (n, C))
            else:
                cand = _ro(bt.candidates, (n, C))
            d = states_of(bt.items, bt.feedback, bt.user_features, cand, counts, n, bt)
            _write_choice(index_out, choose_states(d), d["counts"], name)
            return 0

        def call(index_out, items, feedback, features, candidates, counts, max_c, n, payload):
            d = states_of(items, feedback, features, _ro(candidates, (n, max_c)), counts, n)
            _write_choice(index_out, choose_states(d), d["counts"], name)
            return 0
        self._fn = _ffi.POLICY_CHOOSE_FN(self._cb.wrap(call, EINVAL))
        self._states_fn = _ffi.POLICY_CHOOSE_STATES_FN(self._cb.wrap(call_states, EINVAL))
        self._struct = _ffi.Policy(version=2, name=self._name, lookback=lookback,
                                   user_dim=user_dim,
                                   choose=ctypes.cast(self._fn, ctypes.c_void_p),
                                   choose_states=ctypes.cast(self._states_fn, ctypes.c_void_p))
        return self

    @classmethod
    def _python(cls, name, lookback, user_dim):
        self = cls.__new__(cls)
        Handle.__init__(self, 0)
        self._free = None
        self._raw = 1  # no C state; "open" until close()
        self._cb = Callbacks()
        self._name = name.encode()
        self._shape = (int(lookback), int(user_dim), 0)
        return self

    def _bind(self, env):
        """Before a run in ``env``: a Python policy learns the shapes of the env's states
        (a reco_batch carries no L, U or long_len)."""
        if getattr(self, "_shape", None) is not None:
            self._shape = (env.lookback, env.user_dim, env.long_len)

    @property
    def name(self):
        """The policy's name ("random", "model-greedy", ...)."""
        return (self._struct.name or b"").decode()

    @property
    def _ref(self):
        self._h
        return ctypes.byref(self._struct)


def _ro(p, shape):
    """A read-only view of C memory (valid during the callback only)."""
    a = np.ctypeslib.as_array(p, shape)
    a.flags.writeable = False
    return a


def _write_choice(index_out, idx, counts, name):
    n = counts.shape[0]
    idx = np.asarray(idx)
    if idx.shape != (n,) or idx.dtype.kind not in "iu" or np.any(idx < 0) or \
            np.any(idx >= counts):
        raise invalid("policy %s: choose() must return %d indices below the counts"
                      % (name, n))
    np.ctypeslib.as_array(index_out, (n,))[:] = idx


def run_options(options_=None, **fields):
    """A :class:`RunOptions`: ``options_`` copied, or the defaults, then ``fields``."""
    return options(_ffi.RunOptions, lib.reco_run_options_init, options_, fields, "run")


def run_sessions(env, policy, users, on_step=None, options_=None, **fields):
    """Play one session per entry of ``users`` with ``policy`` in ``env`` (an :class:`Env`,
    or a World/Sim whose ``env()`` is used) to its end (``reco_run_sessions``). Returns
    (stats :class:`Record`, depth (n,) uint32, return (n,) float32). Keywords are ``reco_run_options`` fields (``parallel``, ``max_candidates``,
    ``max_steps``); ``on_step(list_of_step_records)`` is called after every batched step."""
    if not hasattr(env, "_ref") and hasattr(env, "env"):
        env = env.env()
    users = array_in(users, np.uint64, "users", ndim=1)
    n = users.shape[0]
    ro = run_options(options_, **fields)
    cb = Callbacks()
    if on_step is not None:
        def step(steps, k, payload):
            on_step([Record.of(steps[i]) for i in range(k)])
        fn = _ffi.RUN_ON_STEP_FN(cb.wrap(step, None))
        ro.on_step = ctypes.cast(fn, ctypes.c_void_p)
    st = _ffi.RunStats(version=_ffi.VERSIONS[_ffi.RunStats])
    depth, ret = np.zeros(n, np.uint32), np.zeros(n, np.float32)
    policy._bind(env)
    rc = lib.reco_run_sessions(ctypes.byref(st), ptr(depth), ptr(ret), env._ref, policy._ref,
                               ptr(users), n, ctypes.byref(ro))
    cb.reraise()
    reraise_callbacks(policy, env)
    check(rc)
    rec = Record.of(st)
    rec.count = rec.count[:min(st.n_signals, len(rec.count))]
    return rec, depth, ret
