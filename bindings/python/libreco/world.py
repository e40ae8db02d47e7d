"""``reco_env`` (any session environment) and ``reco_world`` (the ground-truth world)."""
import ctypes

import numpy as np

from . import _ffi
from ._core import Callbacks, Handle, array_in, check, create, invalid, lib, options, ptr
from .errors import ERROR, OK, Error

SIGNAL_CLICK, SIGNAL_LONG_WATCH, SIGNAL_LIKE, SIGNAL_HIDE = 0, 1, 2, 3
N_SIGNALS_DEFAULT = 4
ENV_CONTINUE, ENV_EXIT, ENV_TRUNCATED = 0, 1, 2
PAD = -1
WORLD_N_SIGNALS, WORLD_N_PROBS = 4, 5
WORLD_SEGMENT_LIGHT, WORLD_SEGMENT_REGULAR, WORLD_SEGMENT_HEAVY = 0, 1, 2
WORLD_ITEM_DENSE, WORLD_ITEM_FIELDS = 3, 1
WORLD_ITEM_DENSE_NAMES = ("quality", "clickbait", "popularity")
WORLD_ITEM_FIELD_NAMES = ("topic",)


def world_session_key(user, ordinal):
    """``RECO_WORLD_SESSION_KEY(user, ordinal)``: ordinal in the high 32 bits, user in the low."""
    return ((int(ordinal) & 0xFFFFFFFF) << 32) | (int(user) & 0xFFFFFFFF)


def _status(e):
    """The status a callback returns for the Python exception ``e``."""
    code = getattr(e, "code", None) if isinstance(e, Error) else None
    return code if isinstance(code, int) and code < 0 else ERROR


def _rows(x, dtype, name, shape):
    """``x`` checked to be exactly ``shape`` (after a lossless conversion to ``dtype``)."""
    return array_in(x, dtype, name, ndim=len(shape), shape=shape)


class Env(Handle):
    """A ``reco_env``: filled by a :class:`World` or a ``Sim`` (``World.env()``,
    ``Sim.env()``), or written in Python (:meth:`from_functions`, :meth:`from_object`).

    A C env borrows its owner, which it keeps alive; it is closed when the owner is closed.
    Its facts are ``n_items``, ``n_signals``, ``lookback``, ``user_dim``, ``max_sessions``,
    ``long_len``, ``has_context`` and ``has_probabilities``. The methods :meth:`reset`,
    :meth:`observe`, :meth:`candidates`, :meth:`step`, :meth:`context` and
    :meth:`probabilities` call the struct's callbacks, whatever implements them.
    """

    _kind = "Env"
    _cb = None

    def __init__(self, owner, fill_fn):
        self._struct = _ffi.Env()
        check(fill_fn(ctypes.byref(self._struct), owner._h))
        super().__init__(owner._h, parents=(owner,))

    @property
    def _ref(self):
        self._h  # raises once closed
        return ctypes.byref(self._struct)

    n_items = property(lambda self: self._struct.n_items)
    n_signals = property(lambda self: self._struct.n_signals)
    lookback = property(lambda self: self._struct.lookback)
    user_dim = property(lambda self: self._struct.user_dim)
    max_sessions = property(lambda self: self._struct.max_sessions)
    long_len = property(lambda self: self._struct.long_len if self._struct.version >= 3 else 0,
                        doc="H, the long-term history context() gives per slot.")
    has_context = property(lambda self: self._struct.version >= 3 and
                           bool(self._struct.context),
                           doc="Whether the env gives the session context (version 3).")
    has_probabilities = property(lambda self: self._struct.version >= 3 and
                                 bool(self._struct.probabilities),
                                 doc="Whether the env gives its probabilities (version 3).")

    # ---- a Python environment ------------------------------------------------------------
    @classmethod
    def from_functions(cls, reset, observe, candidates, step, context=None,
                       probabilities=None, *, n_items, lookback, max_sessions, n_signals=4,
                       user_dim=0, long_len=0):
        """An environment written in Python: a version-3 ``reco_env`` whose callbacks call
        these functions, for every runner of the library (:func:`run_sessions`,
        :func:`eval_run`, :meth:`Log.generate`, :class:`Trainer`, ``Sim.set_start_env``).

        Each function receives NumPy copies of the C inputs and returns its outputs (any
        array-like, converted without loss and checked against the shapes below):

        - ``reset(slots, users)``: start sessions; returns nothing;
        - ``observe(slots)`` -> ``(items, feedback)``, each (n, lookback), or
          ``(items, feedback, user_features)`` with (n, user_dim) (required when user_dim > 0);
        - ``candidates(slots, max_candidates)`` -> ``(items, counts)``, items (n, k) with
          k <= max_candidates and counts (n,) <= k, or a list of n 1-D arrays;
        - ``step(slots, items)`` -> ``(feedback, reward, done)``, each (n,); done is
          ``ENV_CONTINUE``, ``ENV_EXIT`` or ``ENV_TRUNCATED``;
        - ``context(slots)`` (optional) -> a dict with ``steps`` (n,), ``elapsed`` (n,)
          seconds, ``long_items`` and ``long_feedback`` (n, long_len) (oldest first, newest
          last, ``PAD`` in front); only the keys the caller asks for are read, a missing
          ``long_feedback`` is zeros;
        - ``probabilities(slots, items)`` (optional) -> (n, n_signals + 1): the probability
          of each signal, then of the exit, for showing ``items[i]`` now (the oracle a log
          records).

        An exception in a function fails the C call (with the exception's status if it is a
        :class:`Error`, else ``RECO_ERROR``) and is raised again when that call returns. The
        functions run on the thread that calls the library (a :class:`Trainer`'s generator
        threads call them from C, holding the GIL for each call).
        """
        self = cls.__new__(cls)
        Handle.__init__(self, 0)
        self._raw = 1  # no C state; "open" until close()
        self._cb = Callbacks()
        L, U, H, F = int(lookback), int(user_dim), int(long_len), int(n_signals)
        cb = self._cb

        def guard(fn):
            def call(*args):
                if cb.error is not None:
                    return ERROR
                try:
                    fn(*args)
                    return OK
                except BaseException as e:  # noqa: B902 - KeyboardInterrupt too
                    cb.error = e
                    return _status(e)
            return call

        def arr(p, shape, dtype):
            return np.ctypeslib.as_array(p, shape).astype(dtype, copy=True)

        def out(p, shape):
            return np.ctypeslib.as_array(p, shape)

        def c_reset(slots, users, n, payload):
            reset(arr(slots, (n,), np.uint32), arr(users, (n,), np.uint64))

        def c_observe(items_out, fb_out, feat_out, slots, n, payload):
            r = tuple(observe(arr(slots, (n,), np.uint32)))
            if len(r) not in (2, 3):
                raise invalid("env observe(): return (items, feedback[, user_features])")
            out(items_out, (n, L))[:] = _rows(r[0], np.int32, "observe: items", (n, L))
            out(fb_out, (n, L))[:] = _rows(r[1], np.uint32, "observe: feedback", (n, L))
            if U > 0 and feat_out:
                if len(r) < 3 or r[2] is None:
                    raise invalid("env observe(): user_dim is %d but no user features were "
                                  "returned" % U)
                out(feat_out, (n, U))[:] = _rows(r[2], np.float32, "observe: user_features",
                                                 (n, U))

        def c_candidates(items_out, count_out, max_c, slots, n, payload):
            r = candidates(arr(slots, (n,), np.uint32), int(max_c))
            if isinstance(r, list):
                rows = [np.asarray(x) for x in r]
                counts = np.array([x.shape[0] for x in rows], np.uint32)
            else:
                cand, counts = r
                cand = array_in(cand, np.int32, "candidates: items", ndim=2)
                counts = _rows(counts, np.uint32, "candidates: counts", (n,))
                if cand.shape[0] != n or np.any(counts > cand.shape[1]):
                    raise invalid("env candidates(): items of shape %s for counts up to %d"
                                  % (cand.shape, counts.max(initial=0)))
                rows = [cand[i, :counts[i]] for i in range(n)]
            if len(rows) != n or np.any(counts > max_c):
                raise invalid("env candidates(): %d rows of up to %d candidates, asked for %d "
                              "rows of at most %d" % (len(rows), counts.max(initial=0), n,
                                                      max_c))
            dst = out(items_out, (n, max_c))
            for i, x in enumerate(rows):
                dst[i, :counts[i]] = array_in(x, np.int32, "candidates: items", ndim=1)
            out(count_out, (n,))[:] = counts

        def c_step(fb_out, rw_out, done_out, slots, items, n, payload):
            r = tuple(step(arr(slots, (n,), np.uint32), arr(items, (n,), np.int32)))
            if len(r) != 3:
                raise invalid("env step(): return (feedback, reward, done)")
            out(fb_out, (n,))[:] = _rows(r[0], np.uint32, "step: feedback", (n,))
            out(rw_out, (n,))[:] = _rows(r[1], np.float32, "step: reward", (n,))
            out(done_out, (n,))[:] = _rows(r[2], np.intc, "step: done", (n,))

        def c_context(steps_out, elapsed_out, li_out, lf_out, slots, n, payload):
            r = context(arr(slots, (n,), np.uint32))
            if not isinstance(r, dict):
                raise invalid("env context(): return a dict (steps, elapsed, long_items, "
                              "long_feedback)")

            def need(key):
                if r.get(key) is None:
                    raise invalid("env context(): %r was asked for but not returned" % key)
                return r[key]
            if steps_out:
                out(steps_out, (n,))[:] = _rows(need("steps"), np.uint32, "context: steps",
                                                 (n,))
            if elapsed_out:
                out(elapsed_out, (n,))[:] = _rows(need("elapsed"), np.float32,
                                                  "context: elapsed", (n,))
            if H > 0 and li_out:
                out(li_out, (n, H))[:] = _rows(need("long_items"), np.int32,
                                               "context: long_items", (n, H))
            if H > 0 and lf_out:
                lf = r.get("long_feedback")
                out(lf_out, (n, H))[:] = (0 if lf is None else
                                          _rows(lf, np.uint32, "context: long_feedback",
                                                (n, H)))

        def c_probabilities(probs_out, slots, items, n, payload):
            r = probabilities(arr(slots, (n,), np.uint32), arr(items, (n,), np.int32))
            out(probs_out, (n, F + 1))[:] = _rows(r, np.float32, "probabilities", (n, F + 1))

        self._fns = [_ffi.ENV_RESET(guard(c_reset)), _ffi.ENV_OBSERVE(guard(c_observe)),
                     _ffi.ENV_CANDIDATES(guard(c_candidates)), _ffi.ENV_STEP(guard(c_step))]
        if context is not None:
            self._fns.append(_ffi.ENV_CONTEXT(guard(c_context)))
        if probabilities is not None:
            self._fns.append(_ffi.ENV_PROBABILITIES(guard(c_probabilities)))
        fp = [ctypes.cast(f, ctypes.c_void_p) for f in self._fns]
        self._struct = _ffi.Env(version=_ffi.VERSIONS[_ffi.Env], n_items=n_items,
                                n_signals=F, lookback=L, user_dim=U, max_sessions=max_sessions,
                                reset=fp[0], observe=fp[1], candidates=fp[2], step=fp[3],
                                long_len=H)
        k = 4
        if context is not None:
            self._struct.context = fp[k]
            k += 1
        if probabilities is not None:
            self._struct.probabilities = fp[k]
        return self

    @classmethod
    def from_object(cls, obj, **facts):
        """:meth:`from_functions` with ``obj``'s methods ``reset``, ``observe``,
        ``candidates``, ``step`` and, if it has them, ``context`` and ``probabilities``; the
        facts (``n_items``, ``lookback``, ``max_sessions``, ``n_signals``, ``user_dim``,
        ``long_len``) are keywords, else ``obj``'s attributes of those names."""
        for k in ("n_items", "lookback", "max_sessions", "n_signals", "user_dim", "long_len"):
            if k not in facts and hasattr(obj, k):
                facts[k] = getattr(obj, k)
        return cls.from_functions(obj.reset, obj.observe, obj.candidates, obj.step,
                                  getattr(obj, "context", None),
                                  getattr(obj, "probabilities", None), **facts)

    # ---- calling the callbacks -----------------------------------------------------------
    def _call(self, name, proto, *args):
        self._h
        fn = getattr(self._struct, name)
        if not fn:
            raise invalid("env: no %s() callback" % name)
        rc = ctypes.cast(fn, proto)(*args, self._struct.payload)
        if self._cb is not None:
            self._cb.reraise()
        check(rc)

    def reset(self, slots, users):
        """Start sessions for ``users`` in ``slots`` (the env's reset())."""
        slots = array_in(slots, np.uint32, "slots", ndim=1)
        users = array_in(users, np.uint64, "users", shape=slots.shape)
        self._call("reset", _ffi.ENV_RESET, ptr(slots), ptr(users), slots.shape[0])

    def observe(self, slots):
        """(items, feedback, user_features) of ``slots``: (n, L), (n, L), and (n, user_dim)
        or None (the env's observe())."""
        slots = array_in(slots, np.uint32, "slots", ndim=1)
        n, L, U = slots.shape[0], self.lookback, self.user_dim
        items, fb = np.empty((n, L), np.int32), np.empty((n, L), np.uint32)
        feat = np.empty((n, U), np.float32) if U else None
        self._call("observe", _ffi.ENV_OBSERVE, ptr(items), ptr(fb), ptr(feat), ptr(slots), n)
        return items, fb, feat

    def candidates(self, slots, max_candidates):
        """(items (n, max_candidates), counts (n,)) (the env's candidates()); entries past
        a row's count are -1."""
        slots = array_in(slots, np.uint32, "slots", ndim=1)
        n, mc = slots.shape[0], int(max_candidates)
        items, counts = np.full((n, mc), -1, np.int32), np.zeros(n, np.uint32)
        self._call("candidates", _ffi.ENV_CANDIDATES, ptr(items), ptr(counts), mc, ptr(slots),
                   n)
        return items, counts

    def step(self, slots, items):
        """Show ``items[i]`` in ``slots[i]``: (feedback, reward, done) (the env's step())."""
        slots = array_in(slots, np.uint32, "slots", ndim=1)
        items = array_in(items, np.int32, "items", shape=slots.shape)
        n = slots.shape[0]
        fb, rw, done = np.empty(n, np.uint32), np.empty(n, np.float32), np.empty(n, np.intc)
        self._call("step", _ffi.ENV_STEP, ptr(fb), ptr(rw),
                   done.ctypes.data_as(ctypes.POINTER(ctypes.c_int)), ptr(slots), ptr(items), n)
        return fb, rw, done

    def context(self, slots):
        """The session context of ``slots`` (the env's context(), version 3): a dict of
        ``steps`` (n,) uint32, ``elapsed`` (n,) float32 seconds, ``long_items`` and
        ``long_feedback`` (n, long_len)."""
        if not self.has_context:
            raise invalid("env: no context() callback")
        return _context(self._struct.long_len, slots,
                        lambda *a: self._call("context", _ffi.ENV_CONTEXT, *a))

    def probabilities(self, slots, items):
        """(n, n_signals + 1): each signal's probability, then the exit's, for showing
        ``items[i]`` now in ``slots[i]`` (the env's probabilities(), version 3)."""
        slots = array_in(slots, np.uint32, "slots", ndim=1)
        items = array_in(items, np.int32, "items", shape=slots.shape)
        if not self.has_probabilities:
            raise invalid("env: no probabilities() callback")
        probs = np.empty((slots.shape[0], self.n_signals + 1), np.float32)
        self._call("probabilities", _ffi.ENV_PROBABILITIES, ptr(probs), ptr(slots), ptr(items),
                   slots.shape[0])
        return probs


def _context(H, slots, call):
    slots = array_in(slots, np.uint32, "slots", ndim=1)
    n = slots.shape[0]
    r = {"steps": np.empty(n, np.uint32), "elapsed": np.empty(n, np.float32),
         "long_items": np.full((n, H), PAD, np.int32),
         "long_feedback": np.zeros((n, H), np.uint32)}
    call(ptr(r["steps"]), ptr(r["elapsed"]), ptr(r["long_items"]) if H else None,
         ptr(r["long_feedback"]) if H else None, ptr(slots), n)
    return r


def world_options(options_=None, **fields):
    """A :class:`WorldOptions`: ``options_`` copied, or the defaults, then ``fields``."""
    return options(_ffi.WorldOptions, lib.reco_world_options_init, options_, fields, "world")


class World(Handle):
    """The built-in ground-truth world (``reco_world``); keywords are ``reco_world_options``
    fields, e.g. ``World(n_items=1000, seed=3)``."""

    _free = lib.reco_world_free
    _kind = "World"

    def __init__(self, options=None, **fields):
        o = world_options(options, **fields)
        super().__init__(create(lib.reco_world_create, ctypes.byref(o)))

    @staticmethod
    def memory_size(options=None, **fields):
        """Bytes a world with these options allocates (``reco_world_memory_size``)."""
        n = ctypes.c_size_t()
        check(lib.reco_world_memory_size(ctypes.byref(n),
                                         ctypes.byref(world_options(options, **fields))))
        return n.value

    def env(self):
        """Its :class:`Env` (``reco_world_env``)."""
        return Env(self, lib.reco_world_env)

    def get_options(self):
        """``reco_world_get_options``."""
        o = _ffi.WorldOptions(version=_ffi.VERSIONS[_ffi.WorldOptions])
        check(lib.reco_world_get_options(ctypes.byref(o), self._h))
        return o

    def reset(self):
        """Every slot idle again (``reco_world_reset``)."""
        check(lib.reco_world_reset(self._h))

    def start(self, slots, users):
        """Start sessions: ``users`` are session keys (``reco_world_start``)."""
        slots = array_in(slots, np.uint32, "slots", ndim=1)
        users = array_in(users, np.uint64, "users", shape=slots.shape)
        check(lib.reco_world_start(ptr(slots), ptr(users), slots.shape[0], self._h))

    def observe(self, slots, user_features=False):
        """(items, feedback), each (n, lookback) (``reco_world_observe``); with
        ``user_features=True`` also the (n, 3 + n_topics) user features of a world created
        with ``user_features`` (segment one-hot, noisy interests)."""
        slots = array_in(slots, np.uint32, "slots", ndim=1)
        o = self.get_options()
        L = o.lookback
        items = np.empty((slots.shape[0], L), np.int32)
        fb = np.empty((slots.shape[0], L), np.uint32)
        feat = None
        if user_features:
            if not o.user_features:
                raise invalid("observe: the world has no user features (option user_features)",
                              field="user_features")
            feat = np.empty((slots.shape[0], 3 + o.n_topics), np.float32)
        check(lib.reco_world_observe(ptr(items), ptr(fb), ptr(feat), ptr(slots),
                                     slots.shape[0], self._h))
        return (items, fb, feat) if user_features else (items, fb)

    def context(self, slots):
        """The session context of started slots (``reco_world_context``): a dict of
        ``steps`` (n,), ``elapsed`` (n,) seconds, ``long_items`` and ``long_feedback``
        (n, long_len)."""
        return _context(self.get_options().long_len, slots,
                        lambda *a: check(lib.reco_world_context(*a, self._h)))

    def probabilities(self, slots, items):
        """The true (n, 5) probabilities of showing ``items[i]`` now in ``slots[i]``
        (``reco_world_probabilities``): P(click), P(long watch), P(like), P(hide), P(exit)."""
        slots = array_in(slots, np.uint32, "slots", ndim=1)
        items = array_in(items, np.int32, "items", shape=slots.shape)
        out = np.empty((slots.shape[0], WORLD_N_PROBS), np.float32)
        check(lib.reco_world_probabilities(ptr(out), ptr(slots), ptr(items), slots.shape[0],
                                           self._h))
        return out

    def candidates(self, slots, max_candidates=None):
        """(items (n, max_candidates), counts (n,)) (``reco_world_candidates``)."""
        slots = array_in(slots, np.uint32, "slots", ndim=1)
        mc = self.get_options().n_candidates if max_candidates is None else int(max_candidates)
        items = np.full((slots.shape[0], mc), -1, np.int32)
        counts = np.empty(slots.shape[0], np.uint32)
        check(lib.reco_world_candidates(ptr(items), ptr(counts), mc, ptr(slots),
                                        slots.shape[0], self._h))
        return items, counts

    def step(self, slots, items):
        """Show ``items[i]`` in ``slots[i]``: (feedback, reward, done) (``reco_world_step``)."""
        slots = array_in(slots, np.uint32, "slots", ndim=1)
        items = array_in(items, np.int32, "items", shape=slots.shape)
        n = slots.shape[0]
        fb, rw, done = np.empty(n, np.uint32), np.empty(n, np.float32), np.empty(n, np.intc)
        check(lib.reco_world_step(ptr(fb), ptr(rw),
                                  done.ctypes.data_as(ctypes.POINTER(ctypes.c_int)),
                                  ptr(slots), ptr(items), n, self._h))
        return fb, rw, done

    def signal_probs(self, slot, items):
        """True P(click), P(long watch), P(like), P(hide), P(exit): (n, 5)
        (``reco_world_signal_probs``)."""
        items = array_in(items, np.int32, "items", ndim=1)
        out = np.empty((items.shape[0], WORLD_N_PROBS), np.float32)
        check(lib.reco_world_signal_probs(ptr(out), self._h, int(slot), ptr(items),
                                          items.shape[0]))
        return out

    def expected_reward(self, slot, items):
        """True expected immediate reward of each item (``reco_world_expected_reward``)."""
        items = array_in(items, np.int32, "items", ndim=1)
        out = np.empty(items.shape[0], np.float32)
        check(lib.reco_world_expected_reward(ptr(out), self._h, int(slot), ptr(items),
                                             items.shape[0]))
        return out

    def item_info(self, items=None):
        """Dict of arrays ``topic``, ``quality``, ``clickbait``, ``popularity`` of ``items``
        (default: the whole catalog) (``reco_world_item_info``)."""
        if items is None:
            items = np.arange(self.get_options().n_items, dtype=np.int32)
        items = array_in(items, np.int32, "items", ndim=1)
        n = items.shape[0]
        out = {"topic": np.empty(n, np.uint32), "quality": np.empty(n, np.float32),
               "clickbait": np.empty(n, np.float32), "popularity": np.empty(n, np.float32)}
        check(lib.reco_world_item_info(ptr(out["topic"]), ptr(out["quality"]),
                                       ptr(out["clickbait"]), ptr(out["popularity"]), self._h,
                                       ptr(items), n))
        return out

    def item_features(self):
        """The catalog's item features as a service would know them
        (``reco_world_item_features``): ``(dense, fields)``, dense (n_items, 3) float32 (noisy
        quality, noisy clickbait, standardised log popularity) and fields (n_items, 1) int32
        (the topic), what :meth:`Model.set_item_features` takes."""
        n = self.get_options().n_items
        dense = np.empty((n, WORLD_ITEM_DENSE), np.float32)
        fields = np.empty((n, WORLD_ITEM_FIELDS), np.int32)
        check(lib.reco_world_item_features(ptr(dense), ptr(fields), self._h))
        return dense, fields

    def item_field_sizes(self):
        """(1,) uint32: the number of values of each field of :meth:`item_features`
        (``reco_world_item_field_sizes``): ``n_topics``."""
        out = np.empty(WORLD_ITEM_FIELDS, np.uint32)
        check(lib.reco_world_item_field_sizes(ptr(out), self._h))
        return out

    def items(self):
        """An :class:`Items` table of :meth:`item_features`, with the columns ``quality``,
        ``clickbait``, ``popularity`` and ``topic``."""
        from .items import Items
        dense, fields = self.item_features()
        t = Items(n_items=dense.shape[0], dense_names=WORLD_ITEM_DENSE_NAMES,
                  field_names=WORLD_ITEM_FIELD_NAMES, field_sizes=self.item_field_sizes())
        try:
            return t.set_all(dense, fields)
        except BaseException:
            t.close()
            raise

    def clear_histories(self):
        """Forget every user's stored history (``reco_world_clear_histories``)."""
        check(lib.reco_world_clear_histories(self._h))

    def copy_histories(self, src):
        """Copy every user's stored history from the world ``src``
        (``reco_world_copy_histories``)."""
        check(lib.reco_world_copy_histories(self._h, src._h))

    def user_history_len(self, users):
        """(n,) uint64: interactions of each user's logged sessions stored so far
        (``reco_world_user_history_len``)."""
        users = array_in(users, np.uint64, "users", ndim=1)
        out = np.empty(users.shape[0], np.uint64)
        check(lib.reco_world_user_history_len(ptr(out), self._h, ptr(users), users.shape[0]))
        return out

    def user_segment(self, users):
        """Segment of each user (``reco_world_user_segment``)."""
        users = array_in(users, np.uint64, "users", ndim=1)
        out = np.empty(users.shape[0], np.uint32)
        check(lib.reco_world_user_segment(ptr(out), self._h, ptr(users), users.shape[0]))
        return out

    def eval_users(self, first, n):
        """Session keys of evaluation sessions ``first .. first + n - 1``
        (``reco_world_eval_users``)."""
        out = np.empty(int(n), np.uint64)
        check(lib.reco_world_eval_users(ptr(out), self._h, int(first), int(n)))
        return out

    def get_slot_info(self, slot):
        """``reco_world_get_slot_info``: a :class:`WorldSlotInfo`."""
        o = _ffi.WorldSlotInfo(version=_ffi.VERSIONS[_ffi.WorldSlotInfo])
        check(lib.reco_world_get_slot_info(ctypes.byref(o), self._h, int(slot)))
        return o
