"""``reco_sim``: a trained feedback model run as a session environment."""
import ctypes

import numpy as np

from . import _ffi
from ._core import Handle, array_in, check, create, fill, lib, options, ptr
from .env import Env, as_env


def sim_options(options_=None, **fields):
    """A :class:`SimOptions`: ``options_`` copied, or the defaults, then ``fields``."""
    return options(_ffi.SimOptions, lib.reco_sim_options_init, options_, fields, "sim")


class Sim(Handle):
    """The user simulator over a trained :class:`Model` (``reco_sim``), which it keeps alive.

    Keywords are ``reco_sim_options`` fields (``seed``, ``max_sessions``, ``reward=[...]``;
    the session clock of its env's context(): ``seconds_base`` and ``seconds=[...]`` per
    signal, e.g. a fit report's ``step_seconds_base`` and ``step_seconds``).

    ``imitate=env`` (an :class:`Env`, or a World/Sim whose ``env()`` is used): the
    simulator stands in for that env (``reco_sim_options_imitate``, options version 4). Its
    env takes the imitated env's signal names (the evaluation's metrics and the logs then
    carry them), and the candidate count, the session cap and the reward weights that env
    declares (``n_candidates``, ``max_session_len``, ``reward``); the model must have the
    env's signals and items. Keywords given too must agree with the env's declarations: a
    mismatch is refused with the library's message naming both values. The env is read at
    creation only. :meth:`for_env` says the same.

    ``ensemble=[model, ...]`` (options version 5): the other feedback models of a
    pessimistic ensemble (MOPO; ``docs/sim.md``), kept alive with the simulator;
    ``pessimism=lam`` weighs their disagreement in the step's reward and exit.
    """

    _free = lib.reco_sim_free
    _kind = "Sim"

    def __init__(self, model, options=None, *, imitate=None, ensemble=None, **fields):
        o = sim_options(options)
        if imitate is not None:
            env = as_env(imitate)
            check(lib.reco_sim_options_imitate(ctypes.byref(o), env._ref))
        fill(o, fields, "sim")
        others = list(ensemble) if ensemble is not None else []
        arr = (ctypes.c_void_p * max(1, len(others)))(*[m._h for m in others])
        if others:
            o.ensemble = ctypes.cast(arr, ctypes.c_void_p)
            o.ensemble_size = 1 + len(others)
        raw = create(lib.reco_sim_create, model._h if model is not None else None,
                     ctypes.byref(o))
        o.imitate = None  # read at creation only: the env is not kept
        o.ensemble = None  # the array too; the models are kept as parents
        super().__init__(raw, parents=(model,) + tuple(others))
        self._start_env = None

    @classmethod
    def for_env(cls, model, env, options=None, **fields):
        """The simulator over ``model`` that stands in for ``env``: ``Sim(model,
        imitate=env, ...)``."""
        return cls(model, options, imitate=env, **fields)

    def reset(self):
        """Every slot idle, every slot's reset count back to 0 (``reco_sim_reset``): the same
        resets then replay the same random streams."""
        check(lib.reco_sim_reset(self._h))

    def env(self):
        """Its :class:`Env` (``reco_sim_env``)."""
        return Env._wrap(self, lib.reco_sim_env)

    def set_start_env(self, source):
        """Start sessions from the states ``source`` (an :class:`Env`, e.g. a world's) gives
        the same users; None: empty histories (``reco_sim_set_start_env``). The source is
        kept alive, and closing it closes this simulator."""
        check(lib.reco_sim_set_start_env(self._h, source._ref if source is not None else None))
        if source is not None:
            source._children.add(self)
            self._parents = self._parents + (source,)
        self._start_env = source

    def probabilities(self, slots, items):
        """The model's (n, n_signals + 1) probabilities for ``items[i]`` in ``slots[i]``
        (``reco_sim_probabilities``)."""
        slots = array_in(slots, np.uint32, "slots", ndim=1)
        items = array_in(items, np.int32, "items", shape=slots.shape)
        n_out = _ffi_signals(self) + 1
        out = np.empty((slots.shape[0], n_out), np.float32)
        check(lib.reco_sim_probabilities(ptr(out), self._h, ptr(slots), ptr(items),
                                         slots.shape[0]))
        return out


def _ffi_signals(sim):
    e = _ffi.Env()
    check(lib.reco_sim_env(ctypes.byref(e), sim._h))
    return e.n_signals
