"""``reco_world``: the built-in ground-truth world."""
import ctypes

import numpy as np

from . import _ffi
from ._core import Handle, array_in, check, create, invalid, lib, options, ptr
from .env import (ENV_CONTINUE, ENV_EXIT, ENV_TRUNCATED, N_SIGNALS_DEFAULT, PAD,  # noqa: F401
                  Env, read_context)

SIGNAL_CLICK, SIGNAL_LONG_WATCH, SIGNAL_LIKE, SIGNAL_HIDE = 0, 1, 2, 3
WORLD_N_SIGNALS, WORLD_N_PROBS = 4, 5
WORLD_SEGMENT_LIGHT, WORLD_SEGMENT_REGULAR, WORLD_SEGMENT_HEAVY = 0, 1, 2
WORLD_ITEM_DENSE, WORLD_ITEM_FIELDS = 3, 1
WORLD_ITEM_DENSE_NAMES = ("quality", "clickbait", "popularity")
WORLD_ITEM_FIELD_NAMES = ("topic",)


def world_session_key(user, ordinal):
    """``RECO_WORLD_SESSION_KEY(user, ordinal)``: ordinal in the high 32 bits, user in the low."""
    return ((int(ordinal) & 0xFFFFFFFF) << 32) | (int(user) & 0xFFFFFFFF)


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
        return Env._wrap(self, lib.reco_world_env)

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
        return read_context(self.get_options().long_len, slots,
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
