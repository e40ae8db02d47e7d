"""``reco_policy``: built-in and Python policies, and ``reco_run_sessions``."""
import ctypes
import inspect

import numpy as np

from . import _ffi
from ._core import (Callbacks, Handle, Record, array_in, call, check, create, invalid, lib,
                    options, ptr)
from .env import as_env

POLICY_RANDOM, POLICY_POPULARITY, POLICY_MODEL_GREEDY, POLICY_MODEL_HEAD = 1, 2, 3, 4
POLICY_WEIGHTED, POLICY_MODEL_SOFTMAX, POLICY_MODEL_EXPLORE = 5, 6, 7
_KINDS = {"random": POLICY_RANDOM, "popularity": POLICY_POPULARITY,
          "model_greedy": POLICY_MODEL_GREEDY, "model_head": POLICY_MODEL_HEAD,
          "weighted": POLICY_WEIGHTED, "model_softmax": POLICY_MODEL_SOFTMAX,
          "model_explore": POLICY_MODEL_EXPLORE}
_SESSION_KEYS = ("slots", "users", "sessions")


def _kind(kind):
    """A ``reco_policy_kind`` from its value or its name ("model_softmax" or
    "model-softmax")."""
    if isinstance(kind, str):
        k = _KINDS.get(kind.replace("-", "_"))
        if k is None:
            raise invalid("policy: unknown kind %r (known: %s)" % (kind, ", ".join(_KINDS)),
                          field="kind")
        return k
    return int(kind)


class Policy(Handle):
    """A policy: it picks one candidate per session row (``reco_policy``).

    - The built-ins (``reco_policy_create``): :meth:`random`, :meth:`popularity`,
      :meth:`weighted`, :meth:`model_greedy`, :meth:`model_softmax`, :meth:`model_head`, or
      ``Policy(kind, ...)`` with ``kind`` a ``POLICY_*`` value or its name (``"random"``,
      ``"popularity"``, ``"weighted"``, ``"model_greedy"``, ``"model_softmax"``,
      ``"model_head"``). Model policies keep their model alive. Greedy and softmax policies
      given no ``signal_weights`` take the reward weights the env declares, in every run
      (refused where the env declares none); weights given must equal the env's.
    - **Your own policy in Python**: subclass :class:`Policy` and define
      ``choose(states, candidates, counts) -> indices``::

          class Cheapest(libreco.Policy):
              def choose(self, states, candidates, counts):
                  return np.argmin(np.where(states["valid"], price[candidates], np.inf),
                                   axis=1)

      ``super().__init__(name=..., lookback=..., user_dim=...)`` is optional (the name
      defaults to the class name; ``lookback``/``user_dim`` 0 read any env). The instance is
      a version-3 ``reco_policy`` for :func:`run_sessions`, :func:`eval_run`,
      :meth:`Log.generate` and :func:`audit_run`; ``choose`` runs on the thread that calls
      them.
    - A Python function: :meth:`from_states_function` (the same ``states``),
      :meth:`from_function` (the window only).

    ``states`` is a dict of read-only NumPy views of the runner's buffers for n rows, valid
    during the call only (copy what you keep): ``items``, ``feedback`` (n, L), the window,
    newest last; ``user_features`` (n, U) or None; the session context ``steps`` (n,),
    ``elapsed`` (n,) seconds, ``long_items``, ``long_feedback`` (n, long_len) (None where
    the runner has none); ``candidates`` (n, max_candidates), row i valid up to
    ``counts[i]`` (entries past it are undefined); ``counts`` (n,); and ``valid`` (n,
    max_candidates) bool, the mask of valid entries. ``candidates`` and ``counts`` are also
    the 2nd and 3rd arguments. :meth:`Model.score_states` scores such ``states``. ``choose``
    returns n positions, ``indices[i] < counts[i]``.

    **Sessions** (``reco_policy`` version 3, choose_sessions()). Which sessions the rows
    are: ``slots`` (n,) uint32, the env slot of each row; ``users`` (n,) uint64, what the
    env's reset() received for the row's session (a user id or a session key); and
    ``sessions`` (n,) uint64, the session's number in the run (its index in the ``users``
    of :func:`run_sessions` and :func:`eval_run`, the session id of :meth:`Log.generate`).
    They are keys of ``states`` and keyword arguments of a ``choose`` that names them (or
    takes ``**kwargs``), so a ``choose(self, states, candidates, counts)`` keeps working: a
    policy that keeps per-user or per-session state keys it by them, without relying on
    the order of the runner's calls. They are None where the caller gives none (a runner
    calling an older callback, :meth:`choose` called by hand without them).

    **Propensities.** ``choose`` may return ``(indices, propensities)``, a tuple of two
    (n,) arrays: the probability with which each row's candidate was chosen, in (0, 1]
    (1 for a deterministic choice), NaN where unknown. :meth:`Log.generate` with this
    policy records them in the log's propensity column; a plain ``indices`` return
    records NaN (unknown).

    **Errors.** An exception raised in ``choose`` stops the run and is raised again by the
    call that ran it (the same object, with a note naming the policy and the call); a
    return that is not n integer positions below the counts raises
    :class:`InvalidArgumentError` naming the row. Every policy has :meth:`choose`: on a
    built-in one it calls the C policy (e.g. to wrap it in a Python policy).
    """

    _free = lib.reco_policy_free
    _kind = "Policy"

    def __init__(self, kind=POLICY_RANDOM, seed=1, item_weights=None, model=None,
                 signal_weights=None, head=0, *, temperature=1.0, explorer=None, name=None,
                 lookback=0, user_dim=0):
        cls = type(self)
        if cls.choose is not Policy.choose:
            if (kind != POLICY_RANDOM or seed != 1 or item_weights is not None or
                    model is not None or signal_weights is not None or head != 0 or
                    temperature != 1.0 or explorer is not None):
                raise invalid("%s: a Python policy takes only name, lookback and user_dim; "
                              "the other arguments are the built-in policies'" % cls.__name__)
            if name is None:
                own = getattr(cls, "name", None)
                name = own if isinstance(own, str) else cls.__name__
            self._init_python(name, lookback, user_dim)
            self._accepts = _keywords(self.choose)
            probs = None
            if type(self).probabilities is not Policy.probabilities:
                def probs(d):
                    return self.probabilities(d, d["candidates"], d["counts"])
            self._states_policy(lambda d: self._call_choose(
                d, **{k: d.get(k) for k in _SESSION_KEYS}), probs)
            return
        if name is not None or lookback or user_dim:
            raise invalid("policy: name, lookback and user_dim are for Python policies (a "
                          "subclass that defines choose())")
        o = options(_ffi.PolicyOptions, lib.reco_policy_options_init, None, {}, "policy")
        o.kind, o.seed, o.head = _kind(kind), seed, head
        o.temperature = temperature
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
        if explorer is not None:
            from .explorer import explorer_options
            eo = explorer_options(explorer) if not isinstance(explorer, dict) \
                else explorer_options(None, **explorer)
            o.explorer = ctypes.cast(ctypes.byref(eo), ctypes.c_void_p)
            keep.append(eo)
        super().__init__(create(lib.reco_policy_create, ctypes.byref(o)), parents=(model,))
        self._struct = _ffi.Policy()
        check(lib.reco_policy_get(ctypes.byref(self._struct), self._h))
        self._cb = None

    @classmethod
    def random(cls, seed=1):
        """Uniform over the candidates (``RECO_POLICY_RANDOM``)."""
        return Policy(POLICY_RANDOM, seed=seed)

    @classmethod
    def popularity(cls, item_weights):
        """Argmax of a per-item weight (``RECO_POLICY_POPULARITY``)."""
        return Policy(POLICY_POPULARITY, item_weights=item_weights)

    @classmethod
    def weighted(cls, item_weights, seed=1):
        """A candidate drawn with probability proportional to its per-item weight, uniform
        where all of a row's candidates weigh 0 (``RECO_POLICY_WEIGHTED``: the popularity
        logging rule); it reports that probability as its propensity."""
        return Policy(POLICY_WEIGHTED, seed=seed, item_weights=item_weights)

    @classmethod
    def model_greedy(cls, model, signal_weights=None):
        """Argmax of ``sum_f w_f sigmoid(head_f)`` (``RECO_POLICY_MODEL_GREEDY``);
        ``signal_weights`` None: the reward weights of the env it plays in."""
        return Policy(POLICY_MODEL_GREEDY, model=model, signal_weights=signal_weights)

    @classmethod
    def model_softmax(cls, model, signal_weights=None, temperature=1.0, seed=1):
        """A candidate drawn from the softmax of ``sum_f w_f sigmoid(head_f)`` at
        ``temperature`` (``RECO_POLICY_MODEL_SOFTMAX``: the model logging rule);
        ``signal_weights`` None: the env's reward weights. It reports the softmax
        probability as its propensity."""
        return Policy(POLICY_MODEL_SOFTMAX, seed=seed, model=model,
                      signal_weights=signal_weights, temperature=temperature)

    @classmethod
    def model_explore(cls, model, head=None, explorer=None):
        """An explorer over one head's raw scores (default: the Q head)
        (``RECO_POLICY_MODEL_EXPLORE``): RecoMind's exploring policy. ``explorer``: an
        :class:`ExplorerOptions`, a dict of its fields (e.g. ``{"top_k_count": 5}``), or
        None for the defaults (epsilon-greedy over a softmax of the top 25%); the
        explorer draws from its own ``seed``. It reports the explorer's probability of each choice as its
        propensity."""
        return Policy(POLICY_MODEL_EXPLORE, model=model, explorer=explorer,
                      head=model.q_head if head is None and model is not None else (head or 0))

    @classmethod
    def model_head(cls, model, head=None):
        """Argmax of one head (default: the Q head) (``RECO_POLICY_MODEL_HEAD``)."""
        return Policy(POLICY_MODEL_HEAD, model=model,
                      head=model.q_head if head is None and model is not None else (head or 0))

    @classmethod
    def from_function(cls, choose, name="python", lookback=0):
        """A policy whose ``choose(items, feedback, candidates, counts) -> indices`` is Python:
        ``items``/``feedback`` (n, L), ``candidates`` (n, max_candidates) and ``counts`` (n,)
        are read-only views of the C buffers (valid during the call only); it returns n
        candidate positions. ``lookback``: the L it expects of the env (0: any; the runner's
        env gives it). It runs on the thread that calls :func:`run_sessions`.

        A version-1 ``reco_policy``: it sees the window only, never the user features or the
        session context; a subclass of :class:`Policy` or :meth:`from_states_function` sees
        the whole state."""
        self = Policy.__new__(Policy)
        self._init_python(name, lookback, 0)

        def c_choose(index_out, items, feedback, features, candidates, counts, max_c, n,
                     payload):
            L = self._shape[0]
            it = _ro(items, (n, L)) if L else None
            fb = _ro(feedback, (n, L)) if L else None
            cand = _ro(candidates, (n, max_c))
            cnt = _ro(counts, (n,))
            _write_choice(index_out, choose(it, fb, cand, cnt), cnt, self._name.decode())
        self._fn = _ffi.POLICY_CHOOSE_FN(self._cb.wrap(c_choose, self._where))
        self._struct = _ffi.Policy(version=1, name=self._name, lookback=lookback, user_dim=0,
                                   choose=ctypes.cast(self._fn, ctypes.c_void_p))
        return self

    @classmethod
    def from_states_function(cls, choose_states, name="python", lookback=0, user_dim=0,
                             probabilities=None):
        """A policy whose ``choose_states(states) -> indices`` is Python: ``states`` as a
        subclass's ``choose`` receives it (see :class:`Policy`; with the keys ``slots``,
        ``users`` and ``sessions``), called through ``reco_policy`` version 3's
        choose_sessions(); it may return ``(indices, propensities)``. ``lookback`` and
        ``user_dim``: what the policy expects of the env (0: any). A caller of an older
        callback (choose_states(), choose()) gets the same function, without the sessions
        (and, through choose(), without the context). ``probabilities(states) -> (n, C)``:
        the policy's whole distribution over each row's candidates (rows summing to 1, 0 past
        a row's count), what off-policy evaluation (:func:`libreco.ope`) reads; given, the
        struct is ``reco_policy`` version 4."""
        self = Policy.__new__(Policy)
        self._init_python(name, lookback, user_dim)
        self._states_policy(choose_states, probabilities)
        return self

    def _init_python(self, name, lookback, user_dim):
        Handle.__init__(self, 0)
        self._free = None
        self._raw = 1  # no C state; "open" until close()
        self._cb = Callbacks()
        self._name = name.encode() if isinstance(name, str) else bytes(name)
        self._where = "policy %s's choose()" % self._name.decode()
        self._shape = (int(lookback), int(user_dim), 0)

    def _states_policy(self, choose_states, probabilities=None):
        """The version-3 struct of a Python policy whose ``choose_states(states)`` is
        given; version 4 with ``probabilities(states) -> (n, C)`` when that is given."""
        name = self._name.decode()

        def states_of(items, feedback, features, cand, counts, n, bt=None):
            L, U, H = self._shape
            cnt = _ro(counts, (n,))
            d = {"items": _ro(items, (n, L)) if items else None,
                 "feedback": _ro(feedback, (n, L)) if feedback else None,
                 "user_features": _ro(features, (n, U)) if U and features else None,
                 "steps": None, "elapsed": None, "long_items": None, "long_feedback": None,
                 "candidates": cand, "counts": cnt,
                 "valid": np.arange(cand.shape[1])[None, :] < cnt[:, None],
                 "slots": None, "users": None, "sessions": None}
            if bt is not None and bt.version >= 2:
                d["steps"] = _ro(bt.steps, (n,)) if bt.steps else None
                d["elapsed"] = _ro(bt.elapsed, (n,)) if bt.elapsed else None
                if H and bt.long_items:
                    d["long_items"] = _ro(bt.long_items, (n, H))
                    d["long_feedback"] = (_ro(bt.long_feedback, (n, H)) if bt.long_feedback
                                          else np.zeros((n, H), np.uint32))
            return d

        def batch_states(states, counts):
            bt = states.contents
            n, C = bt.size, bt.n_candidates
            if bt.shared_candidates:
                cand = np.broadcast_to(_ro(bt.candidates, (C,)), (n, C))
            else:
                cand = _ro(bt.candidates, (n, C))
            return states_of(bt.items, bt.feedback, bt.user_features, cand, counts, n, bt)

        def c_choose_states(index_out, states, counts, payload):
            d = batch_states(states, counts)
            _write_choice(index_out, choose_states(d), d["counts"], name)

        def c_choose_sessions(index_out, states, counts, sessions, payload):
            d = batch_states(states, counts)
            prop = None
            if sessions:
                ps = sessions.contents
                if ps.version < 1:
                    raise invalid("policy %s: reco_policy_sessions of version %d"
                                  % (name, ps.version))
                n = d["counts"].shape[0]
                for k in _SESSION_KEYS:
                    p = getattr(ps, k)
                    d[k] = _ro(p, (n,)) if p else None
                prop = ps.propensity_out or None
            _write_choice(index_out, choose_states(d), d["counts"], name, prop)

        def c_choose(index_out, items, feedback, features, candidates, counts, max_c, n,
                     payload):
            d = states_of(items, feedback, features, _ro(candidates, (n, max_c)), counts, n)
            _write_choice(index_out, choose_states(d), d["counts"], name)
        self._fn = _ffi.POLICY_CHOOSE_FN(self._cb.wrap(c_choose, self._where))
        self._states_fn = _ffi.POLICY_CHOOSE_STATES_FN(self._cb.wrap(c_choose_states,
                                                                     self._where))
        self._sessions_fn = _ffi.POLICY_CHOOSE_SESSIONS_FN(self._cb.wrap(c_choose_sessions,
                                                                         self._where))
        L, U, _ = self._shape
        self._struct = _ffi.Policy(
            version=3, name=self._name, lookback=L, user_dim=U,
            choose=ctypes.cast(self._fn, ctypes.c_void_p),
            choose_states=ctypes.cast(self._states_fn, ctypes.c_void_p),
            choose_sessions=ctypes.cast(self._sessions_fn, ctypes.c_void_p))
        if probabilities is None:
            return

        def c_probabilities(probs_out, states, counts, sessions, payload):
            d = batch_states(states, counts)
            n, C = d["candidates"].shape
            p = np.asarray(probabilities(d), dtype=np.float32)
            if p.shape != (n, C):
                raise invalid("policy %s: probabilities() returned shape %s, expected (%d, %d)"
                              % (name, p.shape, n, C))
            p = np.where(d["valid"], p, np.float32(0))
            ctypes.memmove(probs_out, np.ascontiguousarray(p).ctypes.data, p.nbytes)
        self._probs_fn = _ffi.POLICY_PROBABILITIES_FN(self._cb.wrap(c_probabilities,
                                                                    self._where))
        self._struct.version = 4
        self._struct.probabilities = ctypes.cast(self._probs_fn, ctypes.c_void_p)

    def _call_choose(self, states, **info):
        """A subclass's ``choose``, given the runner's ``info`` (``slots``, ``users``,
        ``sessions``) it accepts: the names it takes, or all with ``**kwargs``."""
        acc = self._accepts
        extra = info if acc is None else {k: v for k, v in info.items() if k in acc}
        return self.choose(states, states["candidates"], states["counts"], **extra)

    def _bind(self, env):
        """Before a run in ``env``: a Python policy learns the shapes of the env's states
        (a reco_batch carries no L, U or long_len)."""
        if getattr(self, "_shape", None) is not None:
            self._shape = (env.lookback, env.user_dim, env.long_len)

    @property
    def name(self):
        """The policy's name ("random", "model-greedy", a Python policy's name...)."""
        return (self._struct.name or b"").decode()

    @property
    def _ref(self):
        self._h
        return ctypes.byref(self._struct)

    def choose(self, states, candidates=None, counts=None, *, slots=None, users=None,
               sessions=None, propensities=False):
        """The positions (n,) uint32 the policy picks for the rows of ``states`` (a dict as
        a Python policy receives it; ``items`` and ``feedback`` (n, L), needed by policies
        that read the state, and the other keys may be missing or None; ``candidates`` (n,
        C) and ``counts`` (n,) default to its keys, ``counts`` to C). On a built-in or
        function policy this calls the C struct (choose_sessions() when it has one, else
        choose_states(), else choose()); a subclass replaces it. The positions of a random
        policy come from its stream, as in a run.

        ``slots``, ``users``, ``sessions`` (n,): the sessions the rows are for (default:
        the keys of ``states``, else the row numbers for slots and sessions and 0 for the
        users). ``propensities=True`` returns ``(indices, propensities)``, the (n,) float32
        probabilities the policy reports (NaN where it reports none), e.g. for a Python
        policy that wraps a built-in one and passes its propensities on. A greedy or softmax
        policy made without ``signal_weights`` has its weights only from a run's env: called
        by hand before any run it fails."""
        st = self._struct
        v3 = st.version >= 3 and bool(st.choose_sessions)
        cand = array_in(states["candidates"] if candidates is None else candidates, np.int32,
                        "candidates", ndim=2)
        n, C = cand.shape
        if states.get("items") is not None or not v3:
            items = array_in(states.get("items"), np.int32, "states: items", ndim=2)
            L = items.shape[1]
            if items.shape[0] != n:
                raise invalid("choose: %d candidate rows for %d states" % (n, items.shape[0]),
                              field="candidates")
            fb = array_in(states.get("feedback"), np.uint32, "states: feedback", shape=(n, L))
        else:
            items = fb = None
        if counts is None:
            counts = states.get("counts")
        counts = (np.full(n, C, np.uint32) if counts is None else
                  array_in(counts, np.uint32, "counts", shape=(n,)))
        if np.any((counts < 1) | (counts > C)):
            raise invalid("choose: counts must be in 1..%d" % C, field="counts")

        def opt(key, dtype, shape, given=None):
            v = states.get(key) if given is None else given
            return None if v is None else array_in(v, dtype, "states: " + key, shape=shape)
        feat = opt("user_features", np.float32, (n, None))
        idx = np.zeros(n, np.uint32)
        prop = np.full(n, np.nan, np.float32)
        self._h
        if st.version >= 2 and (st.choose_states or v3):
            steps, el = opt("steps", np.uint32, (n,)), opt("elapsed", np.float32, (n,))
            li = opt("long_items", np.int32, (n, None))
            lf = opt("long_feedback", np.uint32, None if li is None else li.shape)
            bt = _ffi.Batch(version=2, size=n, items=ptr(items), feedback=ptr(fb),
                            user_features=ptr(feat), n_candidates=C, candidates=ptr(cand),
                            shared_candidates=0, steps=ptr(steps), elapsed=ptr(el),
                            long_items=ptr(li), long_feedback=ptr(lf))
        if v3:
            rows = np.arange(n, dtype=np.uint64)
            sl = opt("slots", np.uint32, (n,), slots)
            us = opt("users", np.uint64, (n,), users)
            se = opt("sessions", np.uint64, (n,), sessions)
            sl = rows.astype(np.uint32) if sl is None else sl
            us = np.zeros(n, np.uint64) if us is None else us
            se = rows if se is None else se
            ps = _ffi.PolicySessions(version=_ffi.VERSIONS[_ffi.PolicySessions], slots=ptr(sl),
                                     users=ptr(us), sessions=ptr(se), propensity_out=ptr(prop))
            fn = ctypes.cast(st.choose_sessions, _ffi.POLICY_CHOOSE_SESSIONS_FN)
            call("the policy's choose_sessions()", fn, ptr(idx), ctypes.byref(bt),
                 ptr(counts), ctypes.byref(ps), st.payload, owners=(self,))
        elif st.version >= 2 and st.choose_states:
            fn = ctypes.cast(st.choose_states, _ffi.POLICY_CHOOSE_STATES_FN)
            call("the policy's choose_states()", fn, ptr(idx), ctypes.byref(bt), ptr(counts),
                 st.payload, owners=(self,))
        else:
            fn = ctypes.cast(st.choose, _ffi.POLICY_CHOOSE_FN)
            call("the policy's choose()", fn, ptr(idx), ptr(items), ptr(fb), ptr(feat),
                 ptr(cand), ptr(counts), C, n, st.payload, owners=(self,))
        return (idx, prop) if propensities else idx


def _policy_probabilities(self, states, candidates=None, counts=None):
    """The (n, C) float32 distribution the policy would draw each row's choice from
    (``reco_policy`` version 4's probabilities(): one-hot for the argmax policies, 1/n for
    random, the law of the draw for weighted, softmax and explore); it draws nothing.
    ``states``, ``candidates`` and ``counts`` as for :meth:`choose`. A subclass may define
    its own, which off-policy evaluation then reads."""
    st = self._struct
    if st.version < 4 or not st.probabilities:
        raise invalid("policy %s has no probabilities() (reco_policy version 4)" % self.name)
    cand = array_in(states["candidates"] if candidates is None else candidates, np.int32,
                    "candidates", ndim=2)
    n, C = cand.shape
    if counts is None:
        counts = states.get("counts")
    counts = (np.full(n, C, np.uint32) if counts is None else
              array_in(counts, np.uint32, "counts", shape=(n,)))
    items = states.get("items")
    items = None if items is None else array_in(items, np.int32, "states: items", ndim=2)
    fb = None if items is None else array_in(states.get("feedback"), np.uint32,
                                             "states: feedback", shape=items.shape)
    feat = states.get("user_features")
    feat = None if feat is None else array_in(feat, np.float32, "states: user_features",
                                              ndim=2)
    out = np.zeros((n, C), np.float32)
    bt = _ffi.Batch(version=1, size=n, items=ptr(items), feedback=ptr(fb),
                    user_features=ptr(feat), n_candidates=C, candidates=ptr(cand),
                    shared_candidates=0)
    fn = ctypes.cast(st.probabilities, _ffi.POLICY_PROBABILITIES_FN)
    self._h
    call("the policy's probabilities()", fn, ptr(out), ctypes.byref(bt), ptr(counts), None,
         st.payload, owners=(self,))
    return out


Policy.probabilities = _policy_probabilities


def _keywords(fn):
    """The keyword arguments ``fn`` takes besides (states, candidates, counts): a set of
    names, or None when it takes ``**kwargs``."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return frozenset()
    names = set()
    for p in sig.parameters.values():
        if p.kind == p.VAR_KEYWORD:
            return None
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.add(p.name)
    return frozenset(names - {"states", "candidates", "counts"})


def _ro(p, shape):
    """A read-only view of C memory (valid during the callback only)."""
    a = np.ctypeslib.as_array(p, shape)
    a.flags.writeable = False
    return a


def _write_choice(index_out, result, counts, name, prop_out=None):
    """A Python policy's return, ``indices`` or ``(indices, propensities)``, checked and
    written to ``index_out`` and, when the caller asked for them, ``prop_out``."""
    n = counts.shape[0]
    prop = None
    if isinstance(result, tuple) and len(result) == 2 and np.ndim(result[0]) == 1:
        result, prop = result
    a = np.asarray(result)
    if a.shape != (n,) or a.dtype.kind not in "iu":
        raise invalid("policy %s: choose() must return %d integer positions, not %s of "
                      "shape %s (or a tuple of two arrays: indices, propensities)"
                      % (name, n, a.dtype, a.shape))
    bad = (a < 0) | (a >= counts)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise invalid("policy %s: choose() returned position %d for row %d, which has %d "
                      "candidates" % (name, a[i], i, counts[i]))
    if prop is not None:
        p = array_in(prop, np.float32, "policy %s: propensities" % name)
        if p.shape != (n,):
            raise invalid("policy %s: choose() returned %s propensities for %d rows"
                          % (name, p.shape, n))
        bad = ~np.isnan(p) & ~((p > 0) & (p <= 1))
        if np.any(bad):
            i = int(np.argmax(bad))
            raise invalid("policy %s: choose() returned propensity %g for row %d; a "
                          "probability in (0, 1], or NaN for unknown" % (name, p[i], i))
    np.ctypeslib.as_array(index_out, (n,))[:] = a
    if prop is not None and prop_out is not None:
        np.ctypeslib.as_array(prop_out, (n,))[:] = p


def run_options(options_=None, **fields):
    """A :class:`RunOptions`: ``options_`` copied, or the defaults, then ``fields``."""
    return options(_ffi.RunOptions, lib.reco_run_options_init, options_, fields, "run")


def run_sessions(env, policy, users, on_step=None, options_=None, **fields):
    """Play one session per entry of ``users`` with ``policy`` in ``env`` (an :class:`Env`,
    or a World/Sim whose ``env()`` is used) to its end (``reco_run_sessions``). Returns
    (stats :class:`Record`, depth (n,) uint32, return (n,) float32). Keywords are
    ``reco_run_options`` fields (``parallel``, ``max_candidates`` (default: the env's
    declared one, else 500), ``max_steps``); ``on_step(list_of_step_records)`` is called
    after every batched step. An exception raised by the env, the policy or ``on_step`` is
    raised again here."""
    env = as_env(env)
    users = array_in(users, np.uint64, "users", ndim=1)
    n = users.shape[0]
    if options_ is None:
        env._run_max_candidates(fields)
    ro = run_options(options_, **fields)
    cb = Callbacks()
    if on_step is not None:
        def step(steps, k, payload):
            on_step([Record.of(steps[i]) for i in range(k)])
        fn = _ffi.RUN_ON_STEP_FN(cb.wrap(step, "run_sessions' on_step()", status=False))
        ro.on_step = ctypes.cast(fn, ctypes.c_void_p)
    st = _ffi.RunStats(version=_ffi.VERSIONS[_ffi.RunStats])
    depth, ret = np.zeros(n, np.uint32), np.zeros(n, np.float32)
    policy._bind(env)
    call("reco_run_sessions", lib.reco_run_sessions, ctypes.byref(st), ptr(depth), ptr(ret),
         env._ref, policy._ref, ptr(users), n, ctypes.byref(ro), owners=(cb, policy, env))
    rec = Record.of(st)
    rec.count = rec.count[:min(st.n_signals, len(rec.count))]
    return rec, depth, ret
