"""``reco_replay``: prioritized and uniform experience replay."""
import ctypes

import numpy as np

from . import _ffi
from ._core import Handle, Record, array_in, b, check, create, lib, options, ptr
from .model import param_id

REPLAY_UNIFORM, REPLAY_PROPORTIONAL = 1, 2
_PARAMS = {"alpha": 1, "beta": 2, "beta0": 3, "beta_final": 4, "beta_steps": 5,
           "sample_step": 6, "priority_eps": 7, "max_priority": 8}


def replay_options(options_=None, **fields):
    """A :class:`ReplayOptions`: ``options_`` copied, or the defaults, then ``fields``."""
    if isinstance(fields.get("kind"), str):
        fields["kind"] = {"uniform": 1, "proportional": 2}.get(fields["kind"], 0)
    return options(_ffi.ReplayOptions, lib.reco_replay_options_init, options_, fields, "replay")


class Replay(Handle):
    """A replay buffer (``reco_replay``); keywords are ``reco_replay_options`` fields
    (``capacity``, ``lookback``, ``kind="uniform"|"proportional"``, ``alpha``, ...).
    ``context=1`` (implied by ``user_dim`` or ``long_len`` > 0) stores each segment's session
    context and :meth:`sample` returns it."""

    _free = lib.reco_replay_free
    _kind = "Replay"

    def __init__(self, options=None, **fields):
        o = replay_options(options, **fields)
        super().__init__(create(lib.reco_replay_create, ctypes.byref(o)))
        self._lookback = o.lookback
        self._user_dim, self._long_len = o.user_dim, o.long_len
        self._context = bool(o.context or o.user_dim or o.long_len)

    @staticmethod
    def memory_size(options=None, **fields):
        """``reco_replay_memory_size``."""
        n = ctypes.c_size_t()
        check(lib.reco_replay_memory_size(ctypes.byref(n),
                                          ctypes.byref(replay_options(options, **fields))))
        return n.value

    def __len__(self):
        return lib.reco_replay_size(self._h)

    size = property(__len__, doc="Transitions stored (``reco_replay_size``).")

    def reset(self):
        """``reco_replay_reset``."""
        check(lib.reco_replay_reset(self._h))

    def add_segment(self, items, feedback, rewards, history_items=None, history_feedback=None,
                    ends_session=False, priorities=None, first_step=None, elapsed=None,
                    user_features=None, long_items=None, long_feedback=None):
        """Add the n steps of one session segment; returns the first new index
        (``reco_replay_add_segment``).

        The session context (a version-2 segment; a buffer without a context ignores it):
        ``first_step`` (the session's steps before this segment), ``elapsed`` (n + 1,)
        seconds at each state and after the last step, ``user_features`` (user_dim,),
        ``long_items`` and ``long_feedback`` (long_len,), newest last."""
        items = array_in(items, np.int32, "items", ndim=1)
        n = items.shape[0]
        fb = array_in(feedback, np.uint32, "feedback", shape=(n,))
        rw = array_in(rewards, np.float32, "rewards", shape=(n,))
        seg = _ffi.ReplaySegment(version=1, n_steps=n, items=ptr(items), feedback=ptr(fb),
                                 rewards=ptr(rw), ends_session=int(bool(ends_session)))
        keep = [items, fb, rw]
        if history_items is not None:
            hi = array_in(history_items, np.int32, "history_items", ndim=1)
            hf = (np.zeros(hi.shape, np.uint32) if history_feedback is None else
                  array_in(history_feedback, np.uint32, "history_feedback", shape=hi.shape))
            seg.history_len, seg.history_items, seg.history_feedback = hi.shape[0], ptr(hi), ptr(hf)
            keep += [hi, hf]
        if priorities is not None:
            pr = array_in(priorities, np.float32, "priorities", shape=(n,))
            seg.priorities = ptr(pr)
            keep.append(pr)
        if any(x is not None for x in (first_step, elapsed, user_features, long_items,
                                       long_feedback)):
            seg.version = 2
            seg.first_step = 0 if first_step is None else int(first_step)
            if elapsed is not None:
                el = array_in(elapsed, np.float32, "elapsed", ndim=1, shape=(n + 1,))
                seg.elapsed = ptr(el)
                keep.append(el)
            if user_features is not None:
                uf = array_in(user_features, np.float32, "user_features", ndim=1)
                seg.user_dim, seg.user_features = uf.shape[0], ptr(uf)
                keep.append(uf)
            if long_items is not None:
                li = array_in(long_items, np.int32, "long_items", ndim=1)
                lf = (np.zeros(li.shape, np.uint32) if long_feedback is None else
                      array_in(long_feedback, np.uint32, "long_feedback", shape=li.shape))
                seg.long_len, seg.long_items, seg.long_feedback = li.shape[0], ptr(li), ptr(lf)
                keep += [li, lf]
        first = ctypes.c_uint64()
        check(lib.reco_replay_add_segment(ctypes.byref(first), self._h, ctypes.byref(seg)))
        return first.value

    def sample(self, n):
        """Draw ``n`` transitions (``reco_replay_sample``): a dict of arrays ``indices
        state_items state_feedback actions rewards next_items next_feedback done weights
        probabilities``, and for a buffer with a context also ``state_steps next_steps
        state_elapsed next_elapsed`` (n,), ``user_features`` (n, user_dim), ``long_items
        long_feedback`` (n, long_len); :meth:`QNet.update` takes it as it is."""
        L = self._lookback
        out = {"indices": np.empty(n, np.uint64), "state_items": np.empty((n, L), np.int32),
               "state_feedback": np.empty((n, L), np.uint32), "actions": np.empty(n, np.int32),
               "rewards": np.empty(n, np.float32), "next_items": np.empty((n, L), np.int32),
               "next_feedback": np.empty((n, L), np.uint32), "done": np.empty(n, np.uint8),
               "weights": np.empty(n, np.float32), "probabilities": np.empty(n, np.float32)}
        version = 1
        if self._context:
            version = 2
            U, H = self._user_dim, self._long_len
            out.update({"state_steps": np.empty(n, np.uint32),
                        "next_steps": np.empty(n, np.uint32),
                        "state_elapsed": np.empty(n, np.float32),
                        "next_elapsed": np.empty(n, np.float32)})
            if U:
                out["user_features"] = np.empty((n, U), np.float32)
            if H:
                out["long_items"] = np.empty((n, H), np.int32)
                out["long_feedback"] = np.empty((n, H), np.uint32)
        bt = _ffi.ReplayBatch(version=version, **{k: ptr(v) for k, v in out.items()})
        check(lib.reco_replay_sample(ctypes.byref(bt), self._h, int(n)))
        return out

    def update_priorities(self, indices, priorities):
        """Set the priorities of sampled transitions; returns how many were still stored
        (``reco_replay_update_priorities``)."""
        idx = array_in(indices, np.uint64, "indices", ndim=1)
        pr = array_in(priorities, np.float32, "priorities", shape=idx.shape)
        n = ctypes.c_size_t()
        check(lib.reco_replay_update_priorities(ctypes.byref(n), self._h, ptr(idx), ptr(pr),
                                                idx.shape[0]))
        return n.value

    def get_stats(self):
        """``reco_replay_get_stats`` as a :class:`Record`."""
        s = _ffi.ReplayStats(version=_ffi.VERSIONS[_ffi.ReplayStats])
        check(lib.reco_replay_get_stats(ctypes.byref(s), self._h))
        return Record.of(s)

    def set_param(self, param, value):
        """``reco_replay_set_param`` (``"alpha"``, ``"beta"``, ...)."""
        check(lib.reco_replay_set_param(self._h, param_id(_PARAMS, param, "replay"),
                                        float(value)))

    def get_param(self, param):
        """``reco_replay_get_param``."""
        v = ctypes.c_double()
        check(lib.reco_replay_get_param(ctypes.byref(v), self._h,
                                        param_id(_PARAMS, param, "replay")))
        return v.value

    @staticmethod
    def param_bounds(param):
        """``reco_replay_param_bounds``."""
        lo, hi = ctypes.c_double(), ctypes.c_double()
        check(lib.reco_replay_param_bounds(ctypes.byref(lo), ctypes.byref(hi),
                                           param_id(_PARAMS, param, "replay")))
        return lo.value, hi.value

    def save(self, path):
        """``reco_replay_save``."""
        check(lib.reco_replay_save(self._h, b(path)))

    def load(self, path):
        """``reco_replay_load``."""
        check(lib.reco_replay_load(self._h, b(path)))
