"""``reco_qnet``: online and target networks, warm start, Double DQN updates."""
import ctypes

import numpy as np

from . import _ffi
from ._core import Handle, Record, array_in, b, check, create, invalid, lib, options, ptr
from .model import Model, model_options, param_id

_PARAMS = {"gamma": 1, "lr": 2, "tau": 3, "huber_delta": 4}
_BATCH_KEYS = ("state_items", "state_feedback", "actions", "rewards", "next_items",
               "next_feedback", "done")


def qnet_options(options_=None, model=None, **fields):
    """A :class:`QNetOptions` (``options_`` copied, or the defaults, then ``fields``) and the
    :class:`ModelOptions` it points to (``model``: a ModelOptions or a dict of its fields)."""
    o = options(_ffi.QNetOptions, lib.reco_qnet_options_init, options_, fields, "qnet")
    mo = None
    if model is not None:
        mo = model if isinstance(model, _ffi.ModelOptions) else model_options(None, **model)
        o.model = ctypes.pointer(mo)
    return o, mo


class QNet(Handle):
    """A Q-network (``reco_qnet``). ``QNet(model={...}, gamma=0.9)`` starts from random
    parameters; :meth:`warm` from a trained feedback model; :meth:`open` from a checkpoint."""

    _free = lib.reco_qnet_free
    _kind = "QNet"

    def __init__(self, options=None, model=None, **fields):
        o, _mo = qnet_options(options, model, **fields)
        self._init(create(lib.reco_qnet_create, ctypes.byref(o)))

    def _init(self, raw):
        Handle.__init__(self, raw)
        self._online = self._target = None

    @classmethod
    def warm(cls, feedback, reward_weights, options=None, model=None, **fields):
        """Warm start: both networks copied from ``feedback``, Q head = reward-weighted sum of
        the signal heads (``reco_qnet_create_warm``)."""
        o, _mo = qnet_options(options, model, **fields)
        w = array_in(reward_weights, np.float32, "reward_weights", ndim=1)
        self = cls.__new__(cls)
        self._init(create(lib.reco_qnet_create_warm, feedback._h if feedback else None,
                          ptr(w), ctypes.byref(o)))
        return self

    @classmethod
    def open(cls, path, max_batch=None, max_candidates=None, threads=None):
        """Create from a checkpoint (``reco_qnet_open``); the keywords replace the stored
        capacity (all three are then passed; a missing one takes the model default)."""
        rt = None
        if max_batch is not None or max_candidates is not None or threads is not None:
            kw = {k: v for k, v in (("max_batch", max_batch), ("max_candidates", max_candidates),
                                    ("threads", threads)) if v is not None}
            o, _mo = qnet_options(None, kw)
            rt = ctypes.byref(o)
        self = cls.__new__(cls)
        self._init(create(lib.reco_qnet_open, b(path), rt))
        return self

    # ---- networks ------------------------------------------------------------------------
    def online(self):
        """The online network, a :class:`Model` borrowed from this Q-network (closed with
        it) (``reco_qnet_online``)."""
        if self._online is None or self._online.closed:
            self._online = Model._adopt(lib.reco_qnet_online(self._h), (self,), owned=False)
        return self._online

    def target(self):
        """The target network, borrowed like :meth:`online` (``reco_qnet_target``)."""
        if self._target is None or self._target.closed:
            self._target = Model._adopt(lib.reco_qnet_target(self._h), (self,), owned=False)
        return self._target

    @property
    def q_head(self):
        """``reco_qnet_q_head``."""
        return lib.reco_qnet_q_head(self._h)

    @property
    def n_updates(self):
        """``reco_qnet_n_updates``."""
        return lib.reco_qnet_n_updates(self._h)

    # ---- learning ------------------------------------------------------------------------
    def update(self, batch, candidates, weights=None, priorities_out=None):
        """One Double DQN update (``reco_qnet_update``); returns (info Record, priorities).

        ``batch``: a mapping with ``state_items state_feedback actions rewards next_items
        next_feedback done`` (and optionally ``weights``), e.g. what :meth:`Replay.sample`
        returns. ``candidates``: (C,) shared or (B, C) per row. The user features and the
        session context, for a model that takes them, are read from the same mapping when
        present: ``user_features`` (B, user_dim) for both states (one session), or
        ``state_user_features`` and ``next_user_features``; ``state_steps``, ``next_steps``,
        ``state_elapsed``, ``next_elapsed`` (B,); ``long_items`` and ``long_feedback``
        (B, long_len) (any of the last six makes the batch version 2).
        """
        missing = [k for k in _BATCH_KEYS if k not in batch]
        if missing:
            raise invalid("update: batch lacks %s" % ", ".join(missing))
        L = self.online()._arch.lookback  # the C side reads L from the model
        si = array_in(batch["state_items"], np.int32, "state_items", ndim=2, shape=(None, L))
        n = si.shape[0]
        a = {
            "state_items": si,
            "state_feedback": array_in(batch["state_feedback"], np.uint32, "state_feedback",
                                       shape=(n, L)),
            "actions": array_in(batch["actions"], np.int32, "actions", shape=(n,)),
            "rewards": array_in(batch["rewards"], np.float32, "rewards", shape=(n,)),
            "next_items": array_in(batch["next_items"], np.int32, "next_items", shape=(n, L)),
            "next_feedback": array_in(batch["next_feedback"], np.uint32, "next_feedback",
                                      shape=(n, L)),
            "done": array_in(batch["done"], np.uint8, "done", shape=(n,)),
        }
        if weights is None:
            weights = batch.get("weights")
        if weights is not None:
            a["weights"] = array_in(weights, np.float32, "weights", shape=(n,))
        c = array_in(candidates, np.int32, "candidates")
        if c.ndim not in (1, 2) or (c.ndim == 2 and c.shape[0] != n):
            raise invalid("candidates: expected shape (C,) or (%d, C), got %s" % (n, c.shape))
        arch = self.online()._arch
        U, H = arch.user_dim, arch.long_len
        su = batch.get("state_user_features", batch.get("user_features"))
        nu = batch.get("next_user_features", batch.get("user_features"))
        if su is not None:
            a["state_user_features"] = array_in(su, np.float32, "state_user_features",
                                                ndim=2, shape=(n, U))
        if nu is not None:
            a["next_user_features"] = array_in(nu, np.float32, "next_user_features", ndim=2,
                                               shape=(n, U))
        version = 1
        for k, dt in (("state_steps", np.uint32), ("next_steps", np.uint32),
                      ("state_elapsed", np.float32), ("next_elapsed", np.float32)):
            if batch.get(k) is not None:
                a[k] = array_in(batch[k], dt, k, ndim=1, shape=(n,))
                version = 2
        if batch.get("long_items") is not None:
            a["long_items"] = array_in(batch["long_items"], np.int32, "long_items", ndim=2,
                                       shape=(n, H))
            lf = batch.get("long_feedback")
            a["long_feedback"] = (np.zeros((n, H), np.uint32) if lf is None else
                                  array_in(lf, np.uint32, "long_feedback", ndim=2,
                                           shape=(n, H)))
            version = 2
        qb = _ffi.QNetBatch(version=version, size=n, n_candidates=c.shape[-1],
                            candidates=ptr(c), shared_candidates=int(c.ndim == 1),
                            **{k: ptr(v) for k, v in a.items()})
        info = _ffi.QNetUpdateInfo(version=1)
        pri = np.empty(n, np.float32) if priorities_out is None else priorities_out
        if pri.dtype != np.float32 or pri.shape != (n,) or not pri.flags.c_contiguous:
            raise invalid("priorities_out: expected a C-contiguous float32 array of (%d,)" % n)
        check(lib.reco_qnet_update(ctypes.byref(info), ptr(pri), self._h, ctypes.byref(qb)))
        return Record.of(info), pri

    def sync_target(self):
        """``reco_qnet_sync_target``."""
        check(lib.reco_qnet_sync_target(self._h))

    def restore_last_good(self):
        """``reco_qnet_restore_last_good``."""
        check(lib.reco_qnet_restore_last_good(self._h))

    def set_param(self, param, value):
        """``reco_qnet_set_param``: ``"gamma"``, ``"lr"``, ``"tau"``, ``"huber_delta"``."""
        check(lib.reco_qnet_set_param(self._h, param_id(_PARAMS, param, "qnet"), float(value)))

    def get_param(self, param):
        """``reco_qnet_get_param``."""
        v = ctypes.c_double()
        check(lib.reco_qnet_get_param(ctypes.byref(v), self._h,
                                      param_id(_PARAMS, param, "qnet")))
        return v.value

    @staticmethod
    def param_bounds(param):
        """``reco_qnet_param_bounds``."""
        lo, hi = ctypes.c_double(), ctypes.c_double()
        check(lib.reco_qnet_param_bounds(ctypes.byref(lo), ctypes.byref(hi),
                                         param_id(_PARAMS, param, "qnet")))
        return lo.value, hi.value

    def save(self, path):
        """The whole Q-learner (``reco_qnet_save``)."""
        check(lib.reco_qnet_save(self._h, b(path)))

    def load(self, path):
        """``reco_qnet_load``."""
        check(lib.reco_qnet_load(self._h, b(path)))
