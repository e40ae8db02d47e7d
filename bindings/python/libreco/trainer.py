"""``reco_trainer``: generator threads feeding a replay buffer, one learner."""
import ctypes

from . import _ffi
from ._core import Callbacks, Handle, Record, b, call, invalid, lib, options
from .env import as_env
from .explorer import explorer_options


def trainer_options(options_=None, **fields):
    """A :class:`TrainerOptions`: ``options_`` copied, or the defaults, then ``fields``."""
    return options(_ffi.TrainerOptions, lib.reco_trainer_options_init, options_, fields,
                   "trainer")


class Trainer(Handle):
    """The RecoMind generator/learner loop (``reco_trainer``).

    ``envs``: one :class:`Env` per generator (typically ``Sim(model).env()`` each, over the
    same frozen feedback model); ``explorer``: an :class:`ExplorerOptions` or a dict of its
    fields; ``progress(metrics_record)``: called on the calling thread after each metrics
    interval, returning True stops the run. Other keywords are ``reco_trainer_options``
    fields (``n_generators`` defaults to ``len(envs)``). The trainer keeps the Q-network, the
    replay and the environments alive; closing any of them closes the trainer first.
    The generator threads run C code only, unless an env is written in Python (a subclass
    of :class:`Env`, or :meth:`Env.from_functions`): its methods then run on those
    threads, each call holding the GIL, so Python envs of several generators take turns.
    An exception raised in one stops the run and is raised again by :meth:`run`.
    """

    _free = lib.reco_trainer_free
    _kind = "Trainer"

    def __init__(self, qnet, replay, envs, explorer=None, progress=None, options=None,
                 **fields):
        envs = [as_env(e) for e in envs]
        fields.setdefault("n_generators", len(envs))
        if "metrics_csv" in fields:
            fields["metrics_csv"] = b(fields["metrics_csv"])
        to = trainer_options(options, **fields)
        if to.n_generators != len(envs):
            raise invalid("trainer: %d environments for %d generators"
                          % (len(envs), to.n_generators), field="n_generators")
        eo = (explorer if isinstance(explorer, _ffi.ExplorerOptions) else
              explorer_options(None, **(explorer or {})))
        cb = Callbacks()

        def make_env(out, g, payload):
            ctypes.memmove(out, envs[g]._ref, ctypes.sizeof(_ffi.Env))
        env_fn = _ffi.TRAINER_ENV_FN(cb.wrap(make_env, "the trainer's make_env()"))
        self._cb = Callbacks()
        self._progress_fn = None
        if progress is not None:
            def on_metrics(m, payload):
                return 1 if progress(Record.of(m.contents)) else 0
            self._progress_fn = _ffi.TRAINER_PROGRESS_FN(
                self._cb.wrap(on_metrics, "the trainer's progress()", status=False,
                              on_error=1))
            to.progress = ctypes.cast(self._progress_fn, ctypes.c_void_p)
        self._options = to  # keeps metrics_csv alive (the C side copies it anyway)
        raw = ctypes.c_void_p()
        call("reco_trainer_create", lib.reco_trainer_create, ctypes.byref(raw), qnet._h,
             replay._h, ctypes.byref(eo), env_fn, None, ctypes.byref(to), owners=(cb,))
        super().__init__(raw.value, parents=(qnet, replay) + tuple(envs))

    def run(self):
        """Train until the stop condition (``reco_trainer_run``); returns the report as a
        :class:`Record` (``updates``, ``transitions``, ``sessions``, ``wall_s``, ``last``...).
        The GIL is released while it runs, except during the progress callback."""
        rep = _ffi.TrainerReport(version=1)
        call("reco_trainer_run", lib.reco_trainer_run, ctypes.byref(rep), self._h,
             owners=(self,))
        return Record.of(rep)
