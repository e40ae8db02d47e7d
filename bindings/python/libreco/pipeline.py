"""``reco_pipeline`` (lab tier): the whole RecoMind experiment as one call — logs, feedback
model, simulator, RecoMind training and evaluation — on the built-in world of a
configuration, on any environment (one written in Python included), or on a user's own logs.

:func:`run_pipeline` (= :meth:`Pipeline.run`, ``reco_pipeline_run``) returns a
:class:`Pipeline`, the result handle: the evaluations of the five policies (random, popular,
greedy-supervised, RecoMind, and warm-start: the Q-network before its first update, the
control for what the RL adds) per seed and pooled, in the simulator and on the real side, as
:class:`Eval` objects with the metrics by name; lifts and values over seeds (t intervals of
the seeds' values); the fit reports; the learning curves as NumPy arrays; the simulator's
fidelity; the reports' writers and the trained Q-network.
:func:`pipeline_keys` (``reco_pipeline_keys``) lists the options a run derives, overrides or
does not read, and which of them the configuration gives and the run refuses. See
``docs/pipeline.md`` and the "The whole pipeline" section of ``docs/python.md``.

Lab tier: may change in any 0.x release, as the C header ``reco/pipeline.h``.
"""
import ctypes
import threading

import numpy as np

from . import _ffi
from ._core import Callbacks, Handle, Record, b, call, check, invalid, lib, options
from .env import Env, as_env
from .evaluation import Eval

PIPELINE_N_POLICIES = 5
PIPELINE_RANDOM, PIPELINE_POPULAR, PIPELINE_BASELINE, PIPELINE_RECOMIND = 0, 1, 2, 3
PIPELINE_WARM_START = 4
PIPELINE_SIM, PIPELINE_REAL = 0, 1
PIPELINE_MAX_SIGNALS = _ffi.PIPELINE_MAX_SIGNALS
PIPELINE_MAX_ENSEMBLE = 8

# reco_pipeline_run_options::without, by the names the keyword ``without`` takes
PIPELINE_WITHOUT_USER, PIPELINE_WITHOUT_ITEM, PIPELINE_WITHOUT_LONG = 1, 2, 4
PIPELINE_WITHOUT_POSITION, PIPELINE_WITHOUT_ELAPSED, PIPELINE_WITHOUT_STATE_BIAS = 8, 16, 32
_WITHOUT = {"user": PIPELINE_WITHOUT_USER, "item": PIPELINE_WITHOUT_ITEM,
            "long": PIPELINE_WITHOUT_LONG, "position": PIPELINE_WITHOUT_POSITION,
            "elapsed": PIPELINE_WITHOUT_ELAPSED, "state_bias": PIPELINE_WITHOUT_STATE_BIAS}

# reco_pipeline_eval_users and reco_pipeline_bootstrap, by their YAML names
PIPELINE_EVAL_USERS = {"auto": 0, "logged": 1, "new": 2}
PIPELINE_BOOTSTRAP = {"auto": 0, "popularity": 1, "uniform": 2}
PIPELINE_SELECT = {"last": 0, "heldout": 1}

_SIDES = {"sim": PIPELINE_SIM, "real": PIPELINE_REAL}
# run-option fields the keywords of run() may set; the others have arguments of their own
_RUN_FIELDS = ("random_init", "ensemble", "select_heldout", "eval_heldout", "fit_only",
               "without")


def pipeline_options(options_=None, **fields):
    """A :class:`PipelineOptions` (the ``pipeline`` section, ``reco_pipeline_options``):
    ``options_`` copied, or the defaults, then ``fields``. ``reward`` is a list of weights
    (``n_reward`` follows its length); ``eval_users``, ``bootstrap`` and
    ``select_snapshot`` take their YAML names (``"logged"``, ``"uniform"``, ``"heldout"``,
    ...) or values."""
    fields = dict(fields)
    for key, names in (("eval_users", PIPELINE_EVAL_USERS), ("bootstrap", PIPELINE_BOOTSTRAP),
                       ("select_snapshot", PIPELINE_SELECT)):
        v = fields.get(key)
        if isinstance(v, str):
            if v not in names:
                raise invalid("pipeline.%s: unknown value %r (%s)"
                              % (key, v, ", ".join(names)), field="pipeline." + key)
            fields[key] = names[v]
    reward = fields.pop("reward", None)
    o = options(_ffi.PipelineOptions, lib.reco_pipeline_options_init, options_, fields,
                "pipeline")
    if reward is not None:
        w = [float(x) for x in np.ravel(reward)]
        if len(w) > PIPELINE_MAX_SIGNALS:
            raise invalid("pipeline.reward: %d weights; at most %d"
                          % (len(w), PIPELINE_MAX_SIGNALS), field="pipeline.reward")
        o.reward = (ctypes.c_double * PIPELINE_MAX_SIGNALS)(*w)
        o.n_reward = len(w)
    return o


def _side(side):
    if isinstance(side, str):
        if side not in _SIDES:
            raise invalid("side: %r is not \"sim\" or \"real\"" % side, field="side")
        return _SIDES[side]
    if side not in (PIPELINE_SIM, PIPELINE_REAL):
        raise invalid("side: %r is not PIPELINE_SIM (0) or PIPELINE_REAL (1)" % (side,),
                      field="side")
    return int(side)


def _without(v):
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, str):
        v = [v]
    bits = 0
    for name in v:
        if name not in _WITHOUT:
            raise invalid("without: unknown input %r (%s)" % (name, ", ".join(_WITHOUT)),
                          field="without")
        bits |= _WITHOUT[name]
    return bits


class _EnvFactory:
    """The ``reco_pipeline_env`` of a Python factory: its ``open`` calls the factory and
    hands C the struct of the env it returns; every copy is kept alive until ``close``.

    The factory's own exceptions are kept in ``_cb``; the Callbacks of every copy it made
    stay in ``_parents`` (not the copies themselves, which go at ``close``), so that
    :func:`call` finds an exception of any of them after the run, whichever C thread raised
    it."""

    def __init__(self, factory, name):
        self.factory = factory
        self._cb = Callbacks()
        self._parents = []             # the Callbacks of every copy made
        self._lock = threading.Lock()
        self._open = {}                # token address -> (env, token)
        self.opened = self.closed = 0
        self._name = None if name is None else b(name)
        self._open_fn = _ffi.PIPELINE_ENV_OPEN_FN(
            self._cb.wrap(self._c_open, "the pipeline env factory"))
        self._close_fn = _ffi.PIPELINE_ENV_CLOSE_FN(
            self._cb.wrap(self._c_close, "the pipeline env's close", status=False))
        self.struct = _ffi.PipelineEnv(version=_ffi.VERSIONS[_ffi.PipelineEnv],
                                       name=self._name,
                                       open=ctypes.cast(self._open_fn, ctypes.c_void_p),
                                       close=ctypes.cast(self._close_fn, ctypes.c_void_p))

    def _c_open(self, out, payload):
        made = self.factory()
        env = made if isinstance(made, Env) else (as_env(made) if hasattr(made, "env")
                                                  else None)
        if env is None:
            raise invalid("the pipeline env factory returned %s, not a libreco.Env (or a "
                          "World or Sim)" % type(made).__name__, field="env")
        ref = env._ref  # a made env, not closed
        with self._lock:
            if any(e is env for copies in self._open.values() for e, _t in copies):
                raise invalid("the pipeline env factory returned an env that a copy of the "
                              "pipeline holds open already: return a fresh env at each call",
                              field="env")
            # The payload C hands back to the callbacks and to close(): a token of this
            # copy. A Python env's callbacks are closures that never read it; a C env
            # (World.env()) keeps its own payload, which its callbacks read.
            token = None
            ctypes.memmove(out, ref, ctypes.sizeof(_ffi.Env))
            if env._cb is not None:
                token = ctypes.create_string_buffer(1)
                out.contents.payload = ctypes.addressof(token)
            key = out.contents.payload or 0
            self._open.setdefault(key, []).append((env, token))
            if env._cb is not None:
                self._parents.append(env._cb)
            self.opened += 1
        return 0

    def _c_close(self, env_ptr, payload):
        key = env_ptr.contents.payload or 0
        with self._lock:
            copies = self._open.get(key)
            if copies:
                copies.pop()
                if not copies:
                    del self._open[key]
            self.closed += 1

    def _release(self):
        """After the C call: the copies C left open (none, if it closed them all)."""
        with self._lock:
            self._open.clear()


def _make_run_options(env, log, items, progress, name, fields, cb):
    """(run options struct, the env factory or None, what to keep alive)."""
    from .items import Items
    from .log import Log
    from .world import World
    unknown = [k for k in fields if k not in _RUN_FIELDS]
    if unknown:
        raise invalid("run_pipeline: unknown option %r (run options: %s; the configuration "
                      "holds the rest)" % (unknown[0], ", ".join(_RUN_FIELDS)),
                      field=unknown[0])
    fields = dict(fields)
    if "without" in fields:
        fields["without"] = _without(fields["without"])
    ro = options(_ffi.PipelineRunOptions, lib.reco_pipeline_run_options_init, None, fields,
                 "run_pipeline")
    keep, factory = [], None
    if env is World:
        env = None
    if env is not None:
        if isinstance(env, World):
            raise invalid("run_pipeline: env is a World object; the built-in world is the "
                          "configuration's `world` section (env=None), and another env is "
                          "a factory such as `lambda: libreco.World(...).env()`", field="env")
        if isinstance(env, Handle) or not callable(env):
            raise invalid("run_pipeline: env must be a factory, a function of no argument "
                          "returning a fresh libreco.Env at each call (e.g. the env's "
                          "class), not %s" % type(env).__name__, field="env")
        if log is not None:
            raise invalid("run_pipeline: both an env and logs are given; the pipeline runs "
                          "on one of them", field="log")
        factory = _EnvFactory(env, name)
        ro.env = ctypes.pointer(factory.struct)
        keep.append(factory)
    elif name is not None:
        raise invalid("run_pipeline: name is the name of an env factory's env; there is no "
                      "env", field="name")
    if log is not None:
        if not isinstance(log, Log):
            raise invalid("run_pipeline: log must be a libreco.Log, not %s"
                          % type(log).__name__, field="log")
        ro.log = log._h
        keep.append(log)
    if items is not None:
        if not isinstance(items, Items):
            raise invalid("run_pipeline: items must be a libreco.Items, not %s"
                          % type(items).__name__, field="items")
        ro.items = items._h
        keep.append(items)
    if progress is not None:
        def prog(line, payload):
            progress(line.decode("utf-8", "replace"))
        pfn = _ffi.PIPELINE_PROGRESS_FN(cb.wrap(prog, "run_pipeline's progress()",
                                                status=False))
        ro.progress = ctypes.cast(pfn, ctypes.c_void_p)
        keep.append(pfn)
    return ro, factory, keep


def _config(config):
    from .config import Config
    if isinstance(config, Config):
        return config
    if isinstance(config, (str, bytes)) or hasattr(config, "__fspath__"):
        return Config(config)
    raise invalid("a libreco.Config or the path of a YAML file is needed, not %s"
                  % type(config).__name__, field="config")


class _PipelineEval(Eval):
    """An evaluation owned by a :class:`Pipeline` (closed with it; nothing to free)."""

    _free = None


class Pipeline(Handle):
    """The result of a pipeline run (``reco_pipeline``), made by :meth:`run` (=
    :func:`run_pipeline`); read-only.

    Sides are ``"sim"`` (the simulator RecoMind trained in) and ``"real"`` (the world, the
    environment, or with logs the held-out simulator); seeds are indices ``k`` into
    :attr:`seeds`, and ``k=None`` means pooled over the seeds. The policies are
    :attr:`policy_names`: ``random``, ``popular``, ``greedy-supervised`` (the baseline of
    the lifts) and ``recomind``.
    """

    _free = lib.reco_pipeline_free
    _kind = "Pipeline"

    @classmethod
    def run(cls, config, env=None, log=None, items=None, progress=None, name=None,
            **run_options):
        """Run the experiment of ``config`` (a :class:`Config` or a YAML path) for each of
        its seeds (``reco_pipeline_run``).

        What it runs on: ``env=None`` (or ``libreco.World``): the built-in world of the
        configuration's ``world`` section; ``env=factory``: another environment, where
        ``factory`` is a function of no argument (the env's class, a lambda) returning a
        fresh :class:`Env` at each call — one written in Python, or a built-in one's
        (``World(...).env()``) — which the run calls for each copy it needs; every copy
        must start in the same state (the same users, catalog and seed). ``name`` names it
        in the reports (1..32 of ``[a-z0-9_-]``; default ``"env"``). ``log``: a
        :class:`Log` of a user's own logs instead of an environment (``items``, an
        :class:`Items` table, optional): the feedback model is fitted on part of its users,
        a second one on the others is the held-out simulator, the real side.

        ``progress(line)`` gets the run's progress lines. Other keywords are
        ``reco_pipeline_run_options`` fields: ``random_init``, ``ensemble``,
        ``select_heldout``, ``eval_heldout``, ``fit_only``, ``without`` (an int of
        ``PIPELINE_WITHOUT_*`` bits, or names: ``["long", "item"]``).

        A refused option raises :class:`ConfigError` with its file, line and column; an
        exception raised by the factory, an env's method or ``progress`` is raised again
        here, itself, with a note naming the callback and the C call."""
        cfg = _config(config)
        cb = Callbacks()
        ro, factory, keep = _make_run_options(env, log, items, progress, name, run_options,
                                              cb)
        out = ctypes.c_void_p()

        def free_unless_returned(rc, raising):
            if factory is not None:
                factory._release()
            if out.value and raising:
                lib.reco_pipeline_free(out.value)
                out.value = None
        call("reco_pipeline_run", lib.reco_pipeline_run, ctypes.byref(out), cfg._h,
             ctypes.byref(ro), owners=(cb, factory), after=free_unless_returned)
        self = cls.__new__(cls)
        Handle.__init__(self, out.value)
        self._evals = {}
        self.env_copies = (factory.opened, factory.closed) if factory is not None else None
        keep.clear()
        return self

    @staticmethod
    def keys(config, env=None, log=None, items=None, name=None, **run_options):
        """The options a run of ``config`` on this source (the arguments of :meth:`run`)
        derives, overrides or does not read (``reco_pipeline_keys``): a list of
        :class:`Record` with ``path`` (``"model.n_items"``), ``why`` (where its value
        comes from, or why the given value is refused), ``refused`` (the configuration
        gives it and a run refuses it) and ``origin`` (a dict as :meth:`Config.origin`).
        An env factory is called for one copy, closed again."""
        cfg = _config(config)
        cb = Callbacks()
        ro, factory, keep = _make_run_options(env, log, items, None, name, run_options, cb)
        n = ctypes.c_uint32()

        def release(rc, raising):
            if factory is not None:
                factory._release()
        call("reco_pipeline_keys", lib.reco_pipeline_keys, None, 0, ctypes.byref(n), None,
             cfg._h, ctypes.byref(ro), owners=(cb, factory), after=release)
        cap = n.value
        arr = (_ffi.PipelineKey * max(cap, 1))()
        call("reco_pipeline_keys", lib.reco_pipeline_keys, arr, cap, ctypes.byref(n), None,
             cfg._h, ctypes.byref(ro), owners=(cb, factory), after=release)
        from .config import _ORIGIN_KINDS
        keys = []
        for k in arr[:min(cap, n.value)]:
            o = k.origin
            keys.append(Record(path=k.path.decode(), why=k.why.decode("utf-8", "replace"),
                               refused=bool(k.refused),
                               origin={"kind": _ORIGIN_KINDS.get(o.kind, str(o.kind)),
                                       "source": (o.source or b"").decode(),
                                       "line": o.line, "column": o.column}))
        keep.clear()
        return keys

    # ---- facts ---------------------------------------------------------------------------
    @property
    def n_seeds(self):
        """Seeds of the run (``reco_pipeline_n_seeds``)."""
        return lib.reco_pipeline_n_seeds(self._h)

    @property
    def seeds(self):
        """The seed values, ``experiment.seeds`` (``reco_pipeline_seed``)."""
        return [lib.reco_pipeline_seed(self._h, k) for k in range(self.n_seeds)]

    @property
    def policy_names(self):
        """``["random", "popular", "greedy-supervised", "recomind"]``
        (``reco_pipeline_policy_name``)."""
        return [lib.reco_pipeline_policy_name(i).decode() for i in range(PIPELINE_N_POLICIES)]

    def side_name(self, side):
        """``"sim"``, or the real side's name: ``"world"``, the env's name or
        ``"held-out sim"`` (``reco_pipeline_side_name``)."""
        s = lib.reco_pipeline_side_name(self._h, _side(side))
        return s.decode() if s is not None else None

    @property
    def output_names(self):
        """The feedback model's outputs: the signal names, then ``"exit"``
        (``reco_pipeline_output_name``)."""
        names, h = [], 0
        while True:
            s = lib.reco_pipeline_output_name(self._h, h)
            if s is None:
                return names
            names.append(s.decode())
            h += 1

    def _k(self, k, pooled_ok=True):
        n = self.n_seeds
        if k is None and pooled_ok:
            return n
        if not isinstance(k, (int, np.integer)) or not 0 <= k < n:
            raise invalid("seed index %r is not in 0..%d%s"
                          % (k, n - 1, " (None: pooled)" if pooled_ok else ""), field="k")
        return int(k)

    # ---- evaluations ---------------------------------------------------------------------
    def eval(self, k=None, side="real"):
        """The :class:`Eval` of the four policies of seed index ``k`` (None: pooled over the
        seeds) on ``side`` (``reco_pipeline_eval``); owned by this result, closed with it.
        Its metrics have names (``stat(policy, "return")``, the env's signals: ``"click"``,
        ``"click_deep"``, ...). Raises :class:`InvalidArgumentError` for a fit-only run."""
        kk, sd = self._k(k), _side(side)
        key = (kk, sd)
        ev = self._evals.get(key)
        if ev is None or ev.closed:
            raw = lib.reco_pipeline_eval(self._h, kk, sd)
            if not raw:
                raise invalid("pipeline: no evaluation (a fit-only run)", field="k")
            ev = _PipelineEval.__new__(_PipelineEval)
            Handle.__init__(ev, raw, parents=(self,))
            self._evals[key] = ev
        return ev

    @property
    def evaluations(self):
        """Per seed index, ``{"sim": Eval, "real": Eval}``."""
        return [{s: self.eval(k, s) for s in _SIDES} for k in range(self.n_seeds)]

    @property
    def pooled(self):
        """``{"sim": Eval, "real": Eval}`` pooled over the seeds."""
        return {s: self.eval(None, s) for s in _SIDES}

    # ---- fit, curve, fidelity ------------------------------------------------------------
    def fit_report(self, k=0, heldout=False):
        """The fit report of seed index ``k``'s feedback model, or of its held-out model
        (``heldout=True``; None when the run fitted none) (``reco_pipeline_fit_report``), a
        :class:`Record` as :func:`fit_model` returns, without the loss histories: per-output
        lists ``model``, ``global_rate``, ``popularity``, ``oracle``, ``train_rate``,
        ``valid_rate`` (output f < F a signal, F the exit)."""
        rep = _ffi.FitReport(version=_ffi.VERSIONS[_ffi.FitReport])
        check(lib.reco_pipeline_fit_report(ctypes.byref(rep), self._h, self._k(k, False),
                                           1 if heldout else 0))
        n = rep.n_outputs
        if heldout and n == 0:
            return None
        r = Record.of(rep)
        for key in ("train_rate", "valid_rate", "model", "global_rate", "popularity",
                    "oracle"):
            setattr(r, key, getattr(r, key)[:n])
        r.has_oracle = bool(rep.has_oracle)
        r.step_seconds = np.array(r.step_seconds[:max(n - 1, 0)])
        r.exit_tilt = np.array(r.exit_tilt[:max(n - 1, 0)])
        for key in ("history_cap", "train_loss", "valid_loss"):
            delattr(r, key)
        return r

    @property
    def fit_reports(self):
        """:meth:`fit_report` of every seed index."""
        return [self.fit_report(k) for k in range(self.n_seeds)]

    def curve(self, k=0):
        """The learning curve of seed index ``k`` (``reco_pipeline_curve``): a dict of
        equal-length arrays, ``updates`` (uint64) and float64 ``greedy_q_return``,
        ``baseline_return``, ``loss``, ``mean_q``, ``explore_return`` (NaN at update 0
        for the last three), one entry per point."""
        kk = self._k(k, False)
        n = lib.reco_pipeline_curve(None, 0, self._h, kk)
        pts = (_ffi.PipelinePoint * max(n, 1))()
        n = min(n, lib.reco_pipeline_curve(pts, n, self._h, kk))
        out = {"updates": np.array([p.updates for p in pts[:n]], np.uint64)}
        for f, _t in _ffi.PipelinePoint._fields_[1:]:
            out[f] = np.array([getattr(p, f) for p in pts[:n]], np.float64)
        return out

    def fidelity(self, policy, k=None):
        """The simulator's relative error on ``policy``'s mean return (an index or a name
        of :attr:`policy_names`) for seed index ``k`` or pooled (``None``)
        (``reco_pipeline_fidelity_get``): a :class:`Record` with ``sim``, ``real``, ``rel``
        (``sim / real - 1``), ``lo``, ``hi``."""
        policy = self._policy(policy)
        f = _ffi.PipelineFidelity()
        check(lib.reco_pipeline_fidelity_get(ctypes.byref(f), self._h, self._k(k),
                                             int(policy)))
        return Record.of(f)

    def _policy(self, policy, what="policy"):
        if isinstance(policy, str):
            names = self.policy_names
            if policy not in names:
                raise invalid("no policy named %r (policies: %s)"
                              % (policy, ", ".join(names)), field=what)
            return names.index(policy)
        return int(policy)

    def _metric(self, metric, side):
        return self.eval(None, side)._metric(metric)

    def lift_over_seeds(self, policy="recomind", baseline="greedy-supervised",
                        metric="return", side="real"):
        """``policy``'s lift over ``baseline`` (names or indices) on ``metric`` (a name or
        an index) **over seeds** (``reco_pipeline_lift_over_seeds``): the mean of the
        seeds' lifts with a Student t interval at the evaluation's confidence (n - 1 degrees
        of freedom; NaN ends with one seed). Returns (relative, difference), each a
        :class:`Record` with ``mean``, ``lo``, ``hi``, ``n`` (the seeds)."""
        rel, dif = _ffi.EvalStat(), _ffi.EvalStat()
        sd = _side(side)
        check(lib.reco_pipeline_lift_over_seeds(
            ctypes.byref(rel), ctypes.byref(dif), self._h, sd, self._policy(policy),
            self._policy(baseline, "baseline"), self._metric(metric, side)))
        return Record.of(rel), Record.of(dif)

    def control_lift(self, metric="return", side="real", k=None):
        """RecoMind's lift over warm-start (the control: what the RL adds) on ``metric``:
        for seed index ``k``, pooled (``k=None``), or over seeds (``k="seeds"``). Returns
        (relative, difference) :class:`Record` s."""
        if k == "seeds":
            return self.lift_over_seeds("recomind", "warm-start", metric, side)
        ev = self.eval(k, side)
        return ev.lift("recomind", "warm-start", metric)

    def stat_over_seeds(self, policy, metric="return", side="real"):
        """``policy``'s ``metric`` over seeds (``reco_pipeline_stat_over_seeds``): the mean
        of the seeds' means with a t interval, a :class:`Record`."""
        st = _ffi.EvalStat()
        check(lib.reco_pipeline_stat_over_seeds(ctypes.byref(st), self._h, _side(side),
                                                self._policy(policy),
                                                self._metric(metric, side)))
        return Record.of(st)

    def training(self, k=0):
        """How seed index ``k``'s training ended (``reco_pipeline_training``): (updates run,
        updates of the kept snapshot)."""
        t, kept = ctypes.c_uint64(), ctypes.c_uint64()
        check(lib.reco_pipeline_training(ctypes.byref(t), ctypes.byref(kept), self._h,
                                         self._k(k, False)))
        return t.value, kept.value

    def heldout_curve(self, k=0):
        """The held-out simulator's return of the greedy Q policy at each point of
        :meth:`curve` (``reco_pipeline_heldout_curve``), float64, NaN without one."""
        kk = self._k(k, False)
        n = lib.reco_pipeline_heldout_curve(None, 0, self._h, kk)
        out = np.full(max(n, 1), np.nan)
        n = min(n, lib.reco_pipeline_heldout_curve(out.ctypes.data_as(_ffi.P_f64), n,
                                                   self._h, kk))
        return out[:n]

    def logged(self, k=0):
        """With logs: the held-out users' logged sessions as the logging policy played them
        (``reco_pipeline_logged``): (return, depth), each a :class:`Record` with ``mean``,
        ``lo``, ``hi``, ``n``."""
        ret, depth = _ffi.EvalStat(), _ffi.EvalStat()
        check(lib.reco_pipeline_logged(ctypes.byref(ret), ctypes.byref(depth), self._h,
                                       self._k(k, False)))
        return Record.of(ret), Record.of(depth)

    def calibration(self, k=0):
        """With ``fit_only``: (model, truth), each (rows, n_signals + 1) float64: the model's
        and the environment's mean probability of each output on each fixed policy's
        choices (``reco_pipeline_calibration``); (0, n) arrays without them."""
        kk = self._k(k, False)
        rows, m = lib.reco_pipeline_n_calibration(self._h, kk), len(self.output_names)
        model, truth = np.empty((rows, m), np.float64), np.empty((rows, m), np.float64)
        for r in range(rows):
            check(lib.reco_pipeline_calibration(model[r].ctypes.data_as(_ffi.P_f64),
                                                truth[r].ctypes.data_as(_ffi.P_f64),
                                                self._h, kk, r))
        return model, truth

    # ---- files ---------------------------------------------------------------------------
    def write_json(self, path):
        """results.json (``reco_pipeline_write_json``), written through a temporary file."""
        check(lib.reco_pipeline_write_json(self._h, b(path)))

    def write_csv(self, path):
        """results.csv (``reco_pipeline_write_csv``)."""
        check(lib.reco_pipeline_write_csv(self._h, b(path)))

    def write_curve(self, path):
        """learning_curve.csv (``reco_pipeline_write_curve``)."""
        check(lib.reco_pipeline_write_curve(self._h, b(path)))

    def save_qnet(self, k, path):
        """Save seed index ``k``'s trained Q-network, a checkpoint :meth:`QNet.open` and
        ``serve-qnet`` load (``reco_pipeline_save_qnet``)."""
        check(lib.reco_pipeline_save_qnet(self._h, self._k(k, False), b(path)))


def t_quantile(confidence, df):
    """The two-sided Student t quantile of the intervals over seeds
    (``reco_pipeline_t_quantile``): 2.262 for 0.95 and 9 degrees of freedom; NaN out of
    range."""
    return lib.reco_pipeline_t_quantile(float(confidence), int(df))


def run_pipeline(config, env=None, log=None, items=None, progress=None, name=None,
                 **run_options):
    """:meth:`Pipeline.run` (``reco_pipeline_run``)."""
    return Pipeline.run(config, env=env, log=log, items=items, progress=progress, name=name,
                        **run_options)


def pipeline_keys(config, env=None, log=None, items=None, name=None, **run_options):
    """:meth:`Pipeline.keys` (``reco_pipeline_keys``)."""
    return Pipeline.keys(config, env=env, log=log, items=items, name=name, **run_options)
