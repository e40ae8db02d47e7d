"""``reco_explorer``: greedy, epsilon-greedy, RecoMind's top-K softmax, Boltzmann."""
import ctypes

import numpy as np

from . import _ffi
from ._core import Handle, array_in, check, create, invalid, lib, options, ptr
from .model import param_id

EXPLORER_GREEDY, EXPLORER_EPSILON_GREEDY, EXPLORER_TOP_K_SOFTMAX, EXPLORER_BOLTZMANN = 1, 2, 3, 4
SCHEDULE_CONSTANT, SCHEDULE_LINEAR, SCHEDULE_EXPONENTIAL = 1, 2, 3
_RULES = {"greedy": 1, "epsilon_greedy": 2, "top_k_softmax": 3, "boltzmann": 4}
_KINDS = {"constant": 1, "linear": 2, "exponential": 3}
_PARAMS = {"epsilon": 1, "tau": 2, "top_k_fraction": 3, "top_k_count": 4, "rule": 5}


def schedule(kind="constant", start=0.0, end=None, steps=0, rate=1.0):
    """An :class:`ExplorerSchedule` (``kind``: constant, linear, exponential)."""
    return _ffi.ExplorerSchedule(kind=_KINDS.get(kind, kind) if isinstance(kind, str) else kind,
                                 start=start, end=start if end is None else end, steps=steps,
                                 rate=rate)


def explorer_options(options_=None, **fields):
    """An :class:`ExplorerOptions`: ``options_`` copied, or the defaults, then ``fields``
    (``rule`` may be a name; ``epsilon``/``tau`` an :class:`ExplorerSchedule`, a number for a
    constant, or a dict of :func:`schedule` arguments)."""
    if isinstance(fields.get("rule"), str):
        if fields["rule"] not in _RULES:
            raise invalid("explorer: unknown rule %r (known: %s)"
                          % (fields["rule"], ", ".join(_RULES)), field="rule")
        fields["rule"] = _RULES[fields["rule"]]
    for k in ("epsilon", "tau"):
        v = fields.get(k)
        if isinstance(v, (int, float)):
            fields[k] = schedule("constant", float(v))
        elif isinstance(v, dict):
            fields[k] = schedule(**v)
    return options(_ffi.ExplorerOptions, lib.reco_explorer_options_init, options_, fields,
                   "explorer")


def _q(q, name="q"):
    """A (rows, cols) float32 matrix with unit column stride: passed with its own row stride
    (no copy for a column slice of a wider C-contiguous matrix), else converted once."""
    a = np.asarray(q)
    if not (a.dtype == np.float32 and a.ndim == 2 and a.strides[1] == 4 and
            a.strides[0] % 4 == 0 and a.strides[0] >= 4 * a.shape[1]):
        a = array_in(q, np.float32, name, ndim=2)
    return a, (a.strides[0] // 4 if a.shape[0] > 1 else a.shape[1])


class Explorer(Handle):
    """An explorer (``reco_explorer``); keywords are ``reco_explorer_options`` fields."""

    _free = lib.reco_explorer_free
    _kind = "Explorer"

    def __init__(self, options=None, **fields):
        o = explorer_options(options, **fields)
        super().__init__(create(lib.reco_explorer_create, ctypes.byref(o)))

    @staticmethod
    def workspace_size(options=None, **fields):
        """``reco_explorer_workspace_size``."""
        n = ctypes.c_size_t()
        check(lib.reco_explorer_workspace_size(ctypes.byref(n),
                                               ctypes.byref(explorer_options(options, **fields))))
        return n.value

    def reset(self):
        """``reco_explorer_reset``."""
        check(lib.reco_explorer_reset(self._h))

    def select(self, q):
        """One candidate per row of ``q`` (``-inf``: unavailable): (index uint32, probability
        float32) per row (``reco_explorer_select``)."""
        a, stride = _q(q)
        rows, cols = a.shape
        idx, prob = np.empty(rows, np.uint32), np.empty(rows, np.float32)
        check(lib.reco_explorer_select(ptr(idx), ptr(prob), self._h,
                                       a.ctypes.data_as(_ffi.P_f32), rows, cols, stride))
        return idx, prob

    def probs(self, q):
        """The rule's full distribution, (rows, cols) (``reco_explorer_probs``)."""
        a, stride = _q(q)
        out = np.empty(a.shape, np.float32)
        check(lib.reco_explorer_probs(ptr(out), self._h, a.ctypes.data_as(_ffi.P_f32),
                                      a.shape[0], a.shape[1], stride))
        return out

    def top_k(self, n_available):
        """K for a row with ``n_available`` candidates (``reco_explorer_top_k``)."""
        k = ctypes.c_uint32()
        check(lib.reco_explorer_top_k(ctypes.byref(k), self._h, int(n_available)))
        return k.value

    @property
    def step(self):
        """The current step (``reco_explorer_get_step`` / ``reco_explorer_set_step``)."""
        s = ctypes.c_uint64()
        check(lib.reco_explorer_get_step(ctypes.byref(s), self._h))
        return s.value

    @step.setter
    def step(self, value):
        check(lib.reco_explorer_set_step(self._h, int(value)))

    def get_rng(self):
        """The generator state, an :class:`Rng` (``reco_explorer_get_rng``)."""
        r = _ffi.Rng()
        check(lib.reco_explorer_get_rng(ctypes.byref(r), self._h))
        return r

    def set_rng(self, rng):
        """``reco_explorer_set_rng``."""
        check(lib.reco_explorer_set_rng(self._h, ctypes.byref(rng)))

    def set_param(self, param, value):
        """``reco_explorer_set_param`` (``"epsilon"``, ``"tau"``, ...)."""
        check(lib.reco_explorer_set_param(self._h, param_id(_PARAMS, param, "explorer"),
                                          float(value)))

    def get_param(self, param):
        """``reco_explorer_get_param``."""
        v = ctypes.c_double()
        check(lib.reco_explorer_get_param(ctypes.byref(v), self._h,
                                          param_id(_PARAMS, param, "explorer")))
        return v.value

    @staticmethod
    def param_bounds(param):
        """``reco_explorer_param_bounds``."""
        lo, hi = ctypes.c_double(), ctypes.c_double()
        check(lib.reco_explorer_param_bounds(ctypes.byref(lo), ctypes.byref(hi),
                                             param_id(_PARAMS, param, "explorer")))
        return lo.value, hi.value

    @staticmethod
    def schedule_value(sched, step):
        """``reco_explorer_schedule_value``."""
        v = ctypes.c_double()
        check(lib.reco_explorer_schedule_value(ctypes.byref(v), ctypes.byref(sched), int(step)))
        return v.value
