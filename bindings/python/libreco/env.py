"""``reco_env``: any session environment. The built-in world's (``World.env()``), the
simulator's (``Sim.env()``), or one written in Python: a subclass of :class:`Env`, or
:meth:`Env.from_functions`."""
import ctypes

import numpy as np

from . import _ffi
from ._core import Callbacks, Handle, array_in, call, check, invalid, lib, ptr

ENV_CONTINUE, ENV_EXIT, ENV_TRUNCATED = 0, 1, 2
PAD = -1
N_SIGNALS_DEFAULT = 4
SIGNAL_NAME_MAX = 31

_REQUIRED = ("reset", "observe", "candidates", "step")
_OPTIONAL = ("context", "probabilities")
_DECLARATIONS = ("n_items", "lookback", "max_sessions", "n_signals", "signal_names",
                 "reward_weights", "max_candidates", "max_steps", "user_dim", "long_len")


class _Declared:
    """One declaration of an env (``n_items``, ``signal_names``, ...): what its C struct
    says once the env is made. Before that (in a subclass's ``__init__``, ahead of
    ``super().__init__()``) it may be assigned, and :meth:`Env.__init__` takes the value."""

    def __init__(self, doc):
        self.__doc__ = doc

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        if obj.__dict__.get("_struct") is not None:
            return obj._read(self.name)
        pending = obj.__dict__.get("_pending", {})
        if self.name in pending:
            return pending[self.name]
        raise AttributeError("%s: not declared yet" % self.name)

    def __set__(self, obj, value):
        if obj.__dict__.get("_struct") is not None:
            raise AttributeError("env.%s: the declarations are fixed once the env is made"
                                 % self.name)
        obj.__dict__.setdefault("_pending", {})[self.name] = value


def _rows(x, dtype, name, shape):
    """``x`` checked to be exactly ``shape`` (after a lossless conversion to ``dtype``)."""
    return array_in(x, dtype, name, ndim=len(shape), shape=shape)


def _same(a, b):
    if a is None or b is None:
        return a is b
    if isinstance(a, (str, bytes, int, float)) or isinstance(b, (str, bytes, int, float)):
        return a == b
    return list(np.asarray(a).ravel().tolist()) == list(np.asarray(b).ravel().tolist())


class Env(Handle):
    """A ``reco_env``: a batch of session slots that a runner resets, observes, asks for
    candidates and steps.

    **Built-in envs.** ``World.env()`` and ``Sim.env()`` fill one from C; it borrows its
    owner, which it keeps alive, and is closed with it.

    **Your own env in Python.** Subclass :class:`Env`, define the four session methods (and,
    if you have them, the two optional ones), and call ``super().__init__()`` with the
    declarations::

        class Shop(libreco.Env):
            def __init__(self):
                super().__init__(n_items=300, lookback=8, max_sessions=16,
                                 signal_names=["click", "buy"], reward_weights=[0.2, 1.0],
                                 max_candidates=40, max_steps=30)
            def reset(self, slots, users): ...
            def observe(self, slots): ...           # -> (items, feedback[, user_features])
            def candidates(self, slots, max_candidates): ...  # -> (items, counts)
            def step(self, slots, items): ...       # -> (feedback, reward, done)

    The instance is the ``reco_env`` every runner takes: :func:`run_sessions`,
    :func:`eval_run`, :meth:`Log.generate`, :func:`audit_run`, :class:`Trainer` (its
    generator threads call it), ``Sim.set_start_env``. The methods receive NumPy arrays
    (copies: yours to keep) and return array-likes, which are converted without loss and
    checked (shapes, item ids, feedback bits, the declared reward and session cap) before C
    sees them:

    - ``reset(slots, users)``: start a session for ``users[i]`` (uint64) in ``slots[i]``
      (uint32); returns nothing;
    - ``observe(slots)`` -> ``(items, feedback)``, each (n, lookback), newest last, ``PAD``
      (-1, feedback 0) where there is no interaction; or ``(items, feedback,
      user_features)`` with (n, user_dim) float32 (required when user_dim > 0);
    - ``candidates(slots, max_candidates)`` -> ``(items, counts)``, items (n, k) with each
      row valid up to ``counts[i]`` <= min(max_candidates, the declared max_candidates), or
      a list of n 1-D arrays;
    - ``step(slots, items)`` -> ``(feedback, reward, done)``, each (n,): the feedback bits
      (bit f = signal f), the reward, and ``ENV_CONTINUE``, ``ENV_EXIT`` (the user left) or
      ``ENV_TRUNCATED`` (the session cap). With declared ``reward_weights`` the reward may be
      None (the binding computes ``sum_f w_f signal_f``); one given must equal it;
    - optional ``context(slots)`` -> a dict with ``steps`` (n,), ``elapsed`` (n,) seconds,
      ``long_items`` and ``long_feedback`` (n, long_len) (only the keys asked for are read);
    - optional ``probabilities(slots, items)`` -> (n, n_signals + 1): each signal's
      probability, then the exit's, for showing ``items[i]`` now (a log records it as the
      oracle).

    The declarations (keywords of ``__init__``; else attributes of those names, class
    attributes or assigned before ``super().__init__()``; read-only afterwards):
    ``n_items``, ``lookback``, ``max_sessions`` (required); ``n_signals`` (default: the
    number of ``signal_names`` or ``reward_weights``, else 4); ``signal_names`` (default
    ``signal0``, ...; the evaluation and the logs name the signals so); ``reward_weights``
    (default: undeclared); ``max_candidates`` and ``max_steps`` (0: undeclared; the runners
    of this binding ask for ``max_candidates`` candidates unless told otherwise);
    ``user_dim`` and ``long_len`` (default 0).

    **Errors.** An exception raised in a method stops the libreco call that invoked it and
    is raised again when that call returns: the same exception object, with its traceback
    and a note naming the callback and the call; C sees its status (a libreco
    :class:`Error`'s code, else ``RECO_ERROR``) and the message ``"<ExcType>: <message>"``
    (reco_error_set()). A method runs on the thread that calls the library, or on a
    :class:`Trainer`'s generator thread (holding the GIL for the call).

    The methods of a C env (and of :meth:`from_functions` envs) call the struct's
    callbacks; on a subclass they are your methods.
    """

    _kind = "Env"
    _cb = None

    n_items = _Declared("Catalog size: items are ``0 .. n_items-1``.")
    n_signals = _Declared("Feedback signals per step (bits of the feedback).")
    lookback = _Declared("L: interactions observe() returns per slot.")
    user_dim = _Declared("Width of the user features; 0 for none.")
    max_sessions = _Declared("Number of session slots.")
    long_len = _Declared("H, the long-term history context() gives per slot (version 3).")
    signal_names = _Declared("The signals' names, bit f first (``reco_env_signal_name``): "
                             "the declared ones, else ``signal0``, ``signal1``, ....")
    reward_weights = _Declared("(n_signals,) float32 reward weights the env declares, or "
                               "None.")
    max_candidates = _Declared("Most candidates candidates() gives a slot; 0: undeclared.")
    max_steps = _Declared("The session cap (step() says ENV_TRUNCATED by then); 0: "
                          "undeclared.")

    def __init__(self, *, n_items=None, lookback=None, max_sessions=None, n_signals=None,
                 signal_names=None, reward_weights=None, max_candidates=None, max_steps=None,
                 user_dim=None, long_len=None):
        cls = type(self)
        if cls is Env:
            raise TypeError("libreco.Env is a base class: subclass it and define reset, "
                            "observe, candidates and step, or use Env.from_functions()")
        missing = [m for m in _REQUIRED if getattr(cls, m) is getattr(Env, m)]
        if missing:
            raise TypeError("%s must define %s (see libreco.Env)"
                            % (cls.__name__, ", ".join(missing)))
        given = dict(n_items=n_items, lookback=lookback, max_sessions=max_sessions,
                     n_signals=n_signals, signal_names=signal_names,
                     reward_weights=reward_weights, max_candidates=max_candidates,
                     max_steps=max_steps, user_dim=user_dim, long_len=long_len)
        decl = {}
        for k, v in given.items():
            attr = getattr(self, k, None)   # a class attribute, or assigned before
            if v is not None and attr is not None and not _same(v, attr):
                raise invalid("%s: %s is %r as an attribute and %r as a keyword; declare it "
                              "once" % (cls.__name__, k, attr, v), field=k)
            decl[k] = v if v is not None else attr
        fns = {m: getattr(self, m) for m in _REQUIRED}
        for m in _OPTIONAL:
            fns[m] = getattr(self, m) if getattr(cls, m) is not getattr(Env, m) else None
        self._make(fns, decl, cls.__name__)

    # ---- making the C struct of a Python env ---------------------------------------------
    @classmethod
    def _wrap(cls, owner, fill_fn):
        """The env a C function ``fill_fn(&env, owner)`` fills (reco_world_env, ...)."""
        self = Env.__new__(Env)
        self._struct = _ffi.Env()
        check(fill_fn(ctypes.byref(self._struct), owner._h))
        Handle.__init__(self, owner._h, parents=(owner,))
        return self

    def _make(self, fns, decl, what):
        def need(k):
            v = decl.get(k)
            if v is None:
                raise invalid("%s: the env must declare %s" % (what, k), field=k)
            return int(v)
        NI, L, S = need("n_items"), need("lookback"), need("max_sessions")
        U, H = int(decl.get("user_dim") or 0), int(decl.get("long_len") or 0)
        MC, MS = int(decl.get("max_candidates") or 0), int(decl.get("max_steps") or 0)
        names, w = decl.get("signal_names"), decl.get("reward_weights")
        if isinstance(names, (str, bytes)):
            raise invalid("%s: signal_names must be a list of names" % what,
                          field="signal_names")
        F = decl.get("n_signals")
        if F is None:
            F = (len(names) if names is not None else
                 len(np.ravel(w)) if w is not None else N_SIGNALS_DEFAULT)
        F = int(F)
        if names is not None and len(names) != F:
            raise invalid("%s: %d signal_names for n_signals %d" % (what, len(names), F),
                          field="signal_names")
        keep = []
        if w is not None:
            w = array_in(w, np.float32, "reward_weights", ndim=1).copy()
            if w.shape[0] != F:
                raise invalid("%s: %d reward_weights for n_signals %d"
                              % (what, w.shape[0], F), field="reward_weights")
            w.flags.writeable = False
            keep.append(w)
        c_names = None
        if names is not None:
            c_names = (ctypes.c_char_p * F)(*[n.encode() if isinstance(n, str) else bytes(n)
                                              for n in names])
            keep.append(c_names)

        Handle.__init__(self, 0)
        self._raw = 1  # no C state; "open" until close()
        self._cb = cb = Callbacks()
        self._keep = keep
        self._fns = []
        bits = np.arange(F, dtype=np.uint32)
        t = np.zeros(S, np.int64)   # steps of each slot's session, for the declared cap

        def copy(p, shape, dtype):
            return np.ctypeslib.as_array(p, shape).astype(dtype, copy=True)

        def out(p, shape):
            return np.ctypeslib.as_array(p, shape)

        def items_in(a, lo, name, where):
            bad = (a < lo) | (a >= NI)
            if np.any(bad):
                i = tuple(np.argwhere(bad)[0])
                raise invalid("env %s: %s %d at %s is not an item id (%s..%d)"
                              % (where, name, a[i], list(map(int, i)),
                                 "PAD" if lo < 0 else "0", NI - 1))

        def feedback_in(a, where):
            if F < 32 and np.any(a >> F):
                i = tuple(np.argwhere(a >> F)[0])
                raise invalid("env %s: feedback %d at %s has bits beyond the %d signals"
                              % (where, a[i], list(map(int, i)), F))

        reset, observe, candidates, step = (fns[m] for m in _REQUIRED)
        context, probabilities = fns["context"], fns["probabilities"]

        def c_reset(slots, users, n, payload):
            sl = copy(slots, (n,), np.uint32)
            reset(sl, copy(users, (n,), np.uint64))
            t[sl] = 0

        def c_observe(items_out, fb_out, feat_out, slots, n, payload):
            r = observe(copy(slots, (n,), np.uint32))
            r = tuple(r) if isinstance(r, (tuple, list)) else (r,)
            if len(r) not in (2, 3):
                raise invalid("env observe(): return (items, feedback[, user_features])")
            it = _rows(r[0], np.int32, "observe: items", (n, L))
            fb = _rows(r[1], np.uint32, "observe: feedback", (n, L))
            items_in(it, -1, "item", "observe()")
            feedback_in(fb, "observe()")
            out(items_out, (n, L))[:] = it
            out(fb_out, (n, L))[:] = fb
            if U > 0 and feat_out:
                if len(r) < 3 or r[2] is None:
                    raise invalid("env observe(): user_dim is %d but no user features were "
                                  "returned" % U)
                out(feat_out, (n, U))[:] = _rows(r[2], np.float32, "observe: user_features",
                                                 (n, U))

        def c_candidates(items_out, count_out, max_c, slots, n, payload):
            r = candidates(copy(slots, (n,), np.uint32), int(max_c))
            cap = min(int(max_c), MC) if MC else int(max_c)
            if isinstance(r, list):
                rows = [array_in(x, np.int32, "candidates: items", ndim=1) for x in r]
                counts = np.array([x.shape[0] for x in rows], np.uint32)
            else:
                if not isinstance(r, tuple) or len(r) != 2:
                    raise invalid("env candidates(): return (items, counts) or a list of n "
                                  "arrays")
                cand = array_in(r[0], np.int32, "candidates: items", ndim=2)
                counts = _rows(r[1], np.uint32, "candidates: counts", (n,))
                if cand.shape[0] != n or np.any(counts > cand.shape[1]):
                    raise invalid("env candidates(): items of shape %s for counts up to %d"
                                  % (cand.shape, counts.max(initial=0)))
                rows = [cand[i, :counts[i]] for i in range(n)]
            if len(rows) != n:
                raise invalid("env candidates(): %d rows for %d slots" % (len(rows), n))
            if np.any(counts > cap):
                i = int(np.argmax(counts > cap))
                raise invalid("env candidates(): %d candidates for slot %d; at most %d (%s)"
                              % (counts[i], int(np.ctypeslib.as_array(slots, (n,))[i]), cap,
                                 "the declared max_candidates %d" % MC if cap == MC else
                                 "asked for"))
            dst = out(items_out, (n, max_c))
            for i, x in enumerate(rows):
                items_in(x, 0, "candidate", "candidates()")
                dst[i, :counts[i]] = x
            out(count_out, (n,))[:] = counts

        def c_step(fb_out, rw_out, done_out, slots, items, n, payload):
            sl = copy(slots, (n,), np.uint32)
            r = step(sl, copy(items, (n,), np.int32))
            if not isinstance(r, (tuple, list)) or len(r) != 3:
                raise invalid("env step(): return (feedback, reward, done)")
            fb = _rows(r[0], np.uint32, "step: feedback", (n,))
            feedback_in(fb, "step()")
            done = _rows(r[2], np.intc, "step: done", (n,))
            if np.any((done < 0) | (done > 2)):
                raise invalid("env step(): done %d is not ENV_CONTINUE, ENV_EXIT or "
                              "ENV_TRUNCATED" % done[np.argmax((done < 0) | (done > 2))])
            if w is not None:
                want = ((fb[:, None] >> bits) & 1).astype(np.float64) @ w.astype(np.float64)
            if r[1] is None:
                if w is None:
                    raise invalid("env step(): the reward is None and no reward_weights are "
                                  "declared")
                rw = want.astype(np.float32)
            else:
                rw = _rows(r[1], np.float32, "step: reward", (n,))
                if not np.all(np.isfinite(rw)):
                    raise invalid("env step(): a reward is not finite")
                if w is not None and not np.allclose(rw, want, rtol=1e-5, atol=1e-5):
                    i = int(np.argmax(~np.isclose(rw, want, rtol=1e-5, atol=1e-5)))
                    raise invalid("env step(): reward %g for feedback %d, but the declared "
                                  "reward_weights %s give %g" % (rw[i], fb[i], w.tolist(),
                                                                 want[i]))
            if MS:
                t[sl] += 1
                over = (t[sl] >= MS) & (done == ENV_CONTINUE)
                if np.any(over):
                    raise invalid("env step(): slot %d took step %d of the declared "
                                  "max_steps %d and its session goes on (ENV_CONTINUE)"
                                  % (sl[np.argmax(over)], t[sl][np.argmax(over)], MS))
            out(fb_out, (n,))[:] = fb
            out(rw_out, (n,))[:] = rw
            out(done_out, (n,))[:] = done

        def c_context(steps_out, elapsed_out, li_out, lf_out, slots, n, payload):
            r = context(copy(slots, (n,), np.uint32))
            if not isinstance(r, dict):
                raise invalid("env context(): return a dict (steps, elapsed, long_items, "
                              "long_feedback)")

            def get(key):
                if r.get(key) is None:
                    raise invalid("env context(): %r was asked for but not returned" % key)
                return r[key]
            if steps_out:
                out(steps_out, (n,))[:] = _rows(get("steps"), np.uint32, "context: steps",
                                                 (n,))
            if elapsed_out:
                el = _rows(get("elapsed"), np.float32, "context: elapsed", (n,))
                if not np.all(np.isfinite(el) & (el >= 0)):
                    raise invalid("env context(): elapsed must be finite and >= 0")
                out(elapsed_out, (n,))[:] = el
            if H > 0 and li_out:
                li = _rows(get("long_items"), np.int32, "context: long_items", (n, H))
                items_in(li, -1, "long item", "context()")
                out(li_out, (n, H))[:] = li
            if H > 0 and lf_out:
                lf = r.get("long_feedback")
                out(lf_out, (n, H))[:] = (0 if lf is None else
                                          _rows(lf, np.uint32, "context: long_feedback",
                                                (n, H)))

        def c_probabilities(probs_out, slots, items, n, payload):
            r = probabilities(copy(slots, (n,), np.uint32), copy(items, (n,), np.int32))
            p = _rows(r, np.float32, "probabilities", (n, F + 1))
            if not np.all((p >= 0) & (p <= 1)):
                raise invalid("env probabilities(): probabilities must be in [0, 1]")
            out(probs_out, (n, F + 1))[:] = p

        protos = {"reset": (_ffi.ENV_RESET, c_reset), "observe": (_ffi.ENV_OBSERVE, c_observe),
                  "candidates": (_ffi.ENV_CANDIDATES, c_candidates),
                  "step": (_ffi.ENV_STEP, c_step), "context": (_ffi.ENV_CONTEXT, c_context),
                  "probabilities": (_ffi.ENV_PROBABILITIES, c_probabilities)}
        ptrs = {}
        for m, (proto, fn) in protos.items():
            if fns.get(m) is None:
                continue
            cfn = proto(cb.wrap(fn, "the env's %s()" % m))
            self._fns.append(cfn)
            ptrs[m] = ctypes.cast(cfn, ctypes.c_void_p)
        st = _ffi.Env(version=_ffi.VERSIONS[_ffi.Env], n_items=NI, n_signals=F, lookback=L,
                      user_dim=U, max_sessions=S, long_len=H, max_candidates=MC, max_steps=MS,
                      **ptrs)
        if c_names is not None:
            st.signal_names = ctypes.cast(c_names, ctypes.c_void_p)
        if w is not None:
            st.reward_weights = w.ctypes.data
        check(lib.reco_env_check(ctypes.byref(st)))
        self._struct = st
        self.__dict__.pop("_pending", None)

    # ---- an environment from functions ---------------------------------------------------
    @classmethod
    def from_functions(cls, reset, observe, candidates, step, context=None,
                       probabilities=None, *, n_items, lookback, max_sessions, n_signals=None,
                       user_dim=0, long_len=0, signal_names=None, reward_weights=None,
                       max_candidates=0, max_steps=0):
        """An environment whose callbacks are these functions, with the signatures and
        checks of the methods of a subclass (see :class:`Env`); the declarations are
        keywords. Its methods :meth:`reset`, ... call the functions through the C struct."""
        self = Env.__new__(Env)
        fns = dict(reset=reset, observe=observe, candidates=candidates, step=step,
                   context=context, probabilities=probabilities)
        decl = dict(n_items=n_items, lookback=lookback, max_sessions=max_sessions,
                    n_signals=n_signals, user_dim=user_dim, long_len=long_len,
                    signal_names=signal_names, reward_weights=reward_weights,
                    max_candidates=max_candidates, max_steps=max_steps)
        self._make(fns, decl, "Env.from_functions")
        return self

    @classmethod
    def from_object(cls, obj, **declarations):
        """:meth:`from_functions` with ``obj``'s methods ``reset``, ``observe``,
        ``candidates``, ``step`` and, if it has them, ``context`` and ``probabilities``; the
        declarations are keywords, else ``obj``'s attributes of those names."""
        for k in _DECLARATIONS:
            if k not in declarations and hasattr(obj, k):
                declarations[k] = getattr(obj, k)
        return cls.from_functions(obj.reset, obj.observe, obj.candidates, obj.step,
                                  getattr(obj, "context", None),
                                  getattr(obj, "probabilities", None), **declarations)

    # ---- facts ---------------------------------------------------------------------------
    def _read(self, name):
        s = self._struct
        v4 = s.version >= 4
        if name == "long_len":
            return s.long_len if s.version >= 3 else 0
        if name in ("max_candidates", "max_steps"):
            return getattr(s, name) if v4 else 0
        if name == "signal_names":
            ref = ctypes.byref(s)
            return tuple(lib.reco_env_signal_name(ref, f).decode() for f in range(s.n_signals))
        if name == "reward_weights":
            if not v4 or not s.reward_weights:
                return None
            w = np.ctypeslib.as_array(ctypes.cast(s.reward_weights, _ffi.P_f32),
                                      (s.n_signals,)).copy()
            w.flags.writeable = False
            return w
        return getattr(s, name)

    @property
    def _ref(self):
        if "_struct" not in self.__dict__:
            raise TypeError("%s.__init__ must call super().__init__() with the env's "
                            "declarations (n_items, lookback, max_sessions, ...)"
                            % type(self).__name__)
        self._h  # raises once closed
        return ctypes.byref(self._struct)

    has_context = property(lambda self: self._struct.version >= 3 and
                           bool(self._struct.context),
                           doc="Whether the env gives the session context (version 3).")
    has_probabilities = property(lambda self: self._struct.version >= 3 and
                                 bool(self._struct.probabilities),
                                 doc="Whether the env gives its probabilities (version 3).")

    def _run_max_candidates(self, fields, key="max_candidates"):
        """A runner's ``max_candidates`` default: the env's declaration, when the caller
        gives none."""
        if key not in fields and self.max_candidates:
            fields[key] = self.max_candidates
        return fields

    # ---- calling the callbacks -----------------------------------------------------------
    def _call(self, name, proto, *args):
        self._h
        fn = getattr(self._struct, name)
        if not fn:
            raise invalid("env: no %s() callback" % name)
        call("the env's %s()" % name, ctypes.cast(fn, proto), *args, self._struct.payload,
             owners=(self,))

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

    def candidates(self, slots, max_candidates=None):
        """(items (n, max_candidates), counts (n,)) (the env's candidates()); entries past
        a row's count are -1. ``max_candidates`` defaults to the declared one."""
        slots = array_in(slots, np.uint32, "slots", ndim=1)
        if max_candidates is None:
            max_candidates = self.max_candidates
            if not max_candidates:
                raise invalid("candidates: the env declares no max_candidates; pass one",
                              field="max_candidates")
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
        return read_context(self._struct.long_len, slots,
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


def read_context(H, slots, fn):
    """A context dict filled by ``fn(steps, elapsed, long_items, long_feedback, slots, n)``."""
    slots = array_in(slots, np.uint32, "slots", ndim=1)
    n = slots.shape[0]
    r = {"steps": np.empty(n, np.uint32), "elapsed": np.empty(n, np.float32),
         "long_items": np.full((n, H), PAD, np.int32),
         "long_feedback": np.zeros((n, H), np.uint32)}
    fn(ptr(r["steps"]), ptr(r["elapsed"]), ptr(r["long_items"]) if H else None,
       ptr(r["long_feedback"]) if H else None, ptr(slots), n)
    return r


def as_env(env):
    """``env`` itself, or the ``env()`` of a World or Sim."""
    if isinstance(env, Env):
        env._ref  # a made env, not closed
        return env
    if hasattr(env, "env") and callable(env.env):
        return env.env()
    raise invalid("an Env, a World or a Sim is needed, not %s" % type(env).__name__,
                  field="env")
