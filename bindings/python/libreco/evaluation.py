"""``reco_eval``: several policies played for the same sessions with common random numbers,
metrics with confidence intervals, paired lifts against a baseline, JSON and CSV reports.

:func:`eval_run` (``reco_eval_run``) returns an :class:`Eval`, the result handle; its methods
are ``reco_eval_*``. Policies and metrics are given by index, or by name (a policy's name in
the result, a metric's name in the result: :attr:`Eval.metric_names`). A result has the 0.1
metrics (``EVAL_DEPTH`` ... ``EVAL_TOPICS``, indices 0-7), then, for an env that names its
signals, each signal's count per session and per deep session under the signal's name
("click", "click_deep"), then the caller's own ``user_metrics``. The formulas and report
schemas are in ``docs/eval.md``.
"""
import ctypes

import numpy as np

from . import _ffi
from ._core import (Callbacks, Handle, Record, array_in, b, call, check, create, invalid, lib,
                    options, ptr)
from .env import as_env

EVAL_DEPTH, EVAL_LONG_WATCHES, EVAL_DEEP_SHARE, EVAL_LONG_WATCHES_DEEP = 0, 1, 2, 3
EVAL_DEPTH_DEEP, EVAL_RETURN, EVAL_HIDES, EVAL_TOPICS = 4, 5, 6, 7
EVAL_N_METRICS = _ffi.EVAL_N_METRICS
EVAL_SIGNAL_BY_NAME = _ffi.EVAL_SIGNAL_BY_NAME
EVAL_MAX_USER_METRICS = _ffi.EVAL_MAX_USER_METRICS


def eval_metric_name(metric):
    """The snake_case name of a metric (``reco_eval_metric_name``), None if unknown."""
    s = lib.reco_eval_metric_name(int(metric))
    return s.decode() if s is not None else None


EVAL_METRIC_NAMES = tuple(eval_metric_name(m) for m in range(EVAL_N_METRICS))


def _user_metrics_hook(user_metrics, cb):
    """(names array, function pointer, what to keep alive) for the ``user_metrics`` option:
    one C callback that calls each Python function on its column."""
    if not isinstance(user_metrics, dict):
        raise invalid("user_metrics: a dict of name -> function, not %s"
                      % type(user_metrics).__name__, field="user_metrics")
    names = list(user_metrics)
    fns = [user_metrics[n] for n in names]
    for n, f in zip(names, fns):
        if not isinstance(n, str) or not callable(f):
            raise invalid("user_metrics: %r -> %r is not a name and a function" % (n, f),
                          field="user_metrics")
    c_names = (ctypes.c_char_p * len(names))(*[b(n) for n in names])

    def call(values, n_metrics, steps, n, payload):
        vals = np.ctypeslib.as_array(values, shape=(n, n_metrics))
        rows = np.ctypeslib.as_array(steps, shape=(n,))
        for j, f in enumerate(fns):
            f(vals[:, j], rows)
        return 0
    fn = _ffi.EVAL_USER_METRICS_FN(cb.wrap(call, "eval_run's user metric"))
    return c_names, ctypes.cast(fn, ctypes.c_void_p), fn


def eval_options(options_=None, **fields):
    """An :class:`EvalOptions`: ``options_`` copied, or the defaults, then ``fields``."""
    return options(_ffi.EvalOptions, lib.reco_eval_options_init, options_, fields, "eval")


def _reset_hook(reset_env, cb):
    """(function pointer, payload, what to keep alive) for the ``reset_env`` option."""
    from .sim import Sim
    from .world import World
    if isinstance(reset_env, World):
        return ctypes.cast(lib.reco_world_reset, ctypes.c_void_p), reset_env._h, None
    if isinstance(reset_env, Sim):
        return ctypes.cast(lib.reco_sim_reset, ctypes.c_void_p), reset_env._h, None
    if not callable(reset_env):
        raise invalid("reset_env: a World, a Sim or a callable, not %s"
                      % type(reset_env).__name__, field="reset_env")

    def reset(payload):
        return reset_env()
    fn = _ffi.EVAL_RESET_FN(cb.wrap(reset, "eval_run's reset_env()", user_status=True))
    return ctypes.cast(fn, ctypes.c_void_p), None, fn


def _c_names(names, n, what):
    """A ``const char *const *`` of exactly ``n`` names, or None."""
    if names is None:
        return None
    names = [b(x) for x in names]
    if len(names) != n:
        raise invalid("%s: %d names for %d entries" % (what, len(names), n), field=what)
    return (ctypes.c_char_p * n)(*names)


class Eval(Handle):
    """The result of an evaluation (``reco_eval``): every session's metrics for every policy.

    Made by :meth:`run` (= :func:`eval_run`) or :meth:`concat`; read-only, owns no other
    handle (the policies' names are copied)."""

    _free = lib.reco_eval_free
    _kind = "Eval"

    @classmethod
    def run(cls, env, policies, users, reset_env=None, item_topics=None, progress=None,
            user_metrics=None, options=None, **fields):
        """Play one session per entry of ``users`` (uint64 session keys or users) with each
        policy in turn in ``env`` (an :class:`Env`, or a World/Sim whose ``env()`` is used)
        (``reco_eval_run``).

        ``reset_env``, called before each policy's run, is a ``World`` or ``Sim`` (the
        binding passes reco_world_reset() / reco_sim_reset() itself) or a Python callable
        taking no argument (a negative int return fails the run with that status).
        ``item_topics`` (n_items,) uint32 enables the ``topics`` metric (e.g.
        ``world.item_info()["topic"]``). ``progress(policy, sessions_done)`` is called about
        every 1% of each policy's sessions.

        ``user_metrics``, ``{name: fn}``, adds per-session metrics after the others, in the
        dict's order: after every batched step, ``fn(values, steps)`` gets ``steps``, a
        structured array with one row per running session (fields ``session``, ``step``,
        ``item``, ``feedback``, ``reward``, ``done``), and ``values``, a float64 view (n,) of
        the metric's running value for each row's session (0 at its first step), which it
        updates in place (``values += ...``, ``values[mask] = ...``). A session's value is
        what it holds after its last step; NaN leaves the session out of the mean. An
        exception fails the run and is raised again here.

        Other keywords are ``reco_eval_options`` fields (``parallel``, ``max_candidates``
        (default: the env's declared one, else 500), ``max_steps``, ``long_watch_signal``,
        ``hide_signal`` (both default ``EVAL_SIGNAL_BY_NAME``: the env's signals
        "long_watch" and "hide"), ``deep_depth``, ``confidence``). An exception raised by the
        env, a policy or a callback is raised again here."""
        env = as_env(env)
        users = array_in(users, np.uint64, "users", ndim=1)
        policies = list(policies)
        structs = (_ffi.Policy * len(policies))()
        for i, p in enumerate(policies):
            ref = p._ref  # raises once closed
            p._bind(env)
            ctypes.memmove(ctypes.byref(structs, i * ctypes.sizeof(_ffi.Policy)), ref,
                           ctypes.sizeof(_ffi.Policy))
        if options is None:
            env._run_max_candidates(fields)
        o = eval_options(options, **fields)
        cb = Callbacks()
        keep = []
        if item_topics is not None:
            topics = array_in(item_topics, np.uint32, "item_topics", ndim=1)
            o.item_topics, o.n_item_topics = ptr(topics), topics.shape[0]
            keep.append(topics)
        if reset_env is not None:
            fn, payload, alive = _reset_hook(reset_env, cb)
            o.reset_env, o.reset_env_payload = fn, payload
            keep.append((reset_env, alive))
        if progress is not None:
            def prog(policy, done, payload):
                progress(policy, done)
            pfn = _ffi.EVAL_PROGRESS_FN(cb.wrap(prog, "eval_run's progress()", status=False))
            o.progress = ctypes.cast(pfn, ctypes.c_void_p)
            keep.append(pfn)
        if user_metrics is not None:
            names, ufn, alive = _user_metrics_hook(user_metrics, cb)
            o.user_metric_names, o.n_user_metrics = names, len(names)
            o.user_metrics = ufn
            keep.append((names, alive))
        out = ctypes.c_void_p()

        def free_unless_returned(rc, raising):
            # made although a callback raised (a progress callback cannot stop the run):
            # not returned, so freed
            if out.value and raising:
                cls(out.value).close()
                out.value = None
        call("reco_eval_run", lib.reco_eval_run, ctypes.byref(out), env._ref, structs,
             len(policies), ptr(users), users.shape[0], ctypes.byref(o),
             owners=(cb, env) + tuple(policies), after=free_unless_returned)
        self = cls(out.value)
        keep.clear()  # the topics and callbacks lived until here
        return self

    @classmethod
    def concat(cls, parts):
        """Pool the sessions of several results, policy by policy, in part order
        (``reco_eval_concat``)."""
        parts = list(parts)
        arr = (ctypes.c_void_p * len(parts))(*[p._h for p in parts])
        return cls(create(lib.reco_eval_concat, arr, len(parts)))

    @property
    def n_policies(self):
        """``reco_eval_n_policies``."""
        return lib.reco_eval_n_policies(self._h)

    @property
    def n_sessions(self):
        """Sessions per policy (``reco_eval_n_sessions``)."""
        return lib.reco_eval_n_sessions(self._h)

    @property
    def confidence(self):
        """Confidence level of the intervals (``reco_eval_confidence``)."""
        return lib.reco_eval_confidence(self._h)

    def policy_name(self, policy):
        """A policy's name as it was at the run, or None (``reco_eval_policy_name``)."""
        s = lib.reco_eval_policy_name(self._h, int(policy))
        return s.decode() if s is not None else None

    @property
    def policy_names(self):
        """Every policy's name (None where it had none)."""
        return [self.policy_name(i) for i in range(self.n_policies)]

    @property
    def n_metrics(self):
        """Number of metrics of the result (``reco_eval_n_metrics``)."""
        return lib.reco_eval_n_metrics(self._h)

    def metric_label(self, metric):
        """The name of metric ``metric`` (an index) in this result, as the reports write it,
        or None out of range (``reco_eval_metric_label``)."""
        s = lib.reco_eval_metric_label(self._h, int(metric))
        return s.decode() if s is not None else None

    @property
    def metric_names(self):
        """Every metric's name, by index: the 0.1 metrics, the env's signals by name, the
        user metrics."""
        return [self.metric_label(m) for m in range(self.n_metrics)]

    def metric_index(self, name):
        """The index of the metric called ``name`` (``reco_eval_metric_index``)."""
        out = ctypes.c_uint32()
        check(lib.reco_eval_metric_index(ctypes.byref(out), self._h, b(name)))
        return out.value

    def _metric(self, metric):
        if isinstance(metric, str):
            names = self.metric_names
            if metric not in names:
                raise invalid("unknown metric %r (known: %s)" % (metric, ", ".join(names)),
                              field="metric")
            return names.index(metric)
        return int(metric)

    def _policy(self, policy):
        if isinstance(policy, str):
            names = self.policy_names
            if policy not in names:
                raise invalid("no policy named %r (policies: %s)"
                              % (policy, ", ".join(map(str, names))), field="policy")
            return names.index(policy)
        return int(policy)

    def stat(self, policy, metric):
        """Mean of a metric for a policy with its interval: a :class:`Record` with ``mean``,
        ``lo``, ``hi``, ``n`` (``reco_eval_stat_get``)."""
        st = _ffi.EvalStat()
        check(lib.reco_eval_stat_get(ctypes.byref(st), self._h, self._policy(policy),
                                     self._metric(metric)))
        return Record.of(st)

    def lift(self, policy, baseline, metric):
        """Paired lift of ``policy`` over ``baseline``: (relative, difference), each a
        :class:`Record` with ``mean``, ``lo``, ``hi``, ``n``; the relative lift is a fraction
        (0.05 is +5%) (``reco_eval_lift``)."""
        rel, diff = _ffi.EvalStat(), _ffi.EvalStat()
        check(lib.reco_eval_lift(ctypes.byref(rel), ctypes.byref(diff), self._h,
                                 self._policy(policy), self._policy(baseline),
                                 self._metric(metric)))
        return Record.of(rel), Record.of(diff)

    def values(self, policy, session=None):
        """Every metric of the sessions of a policy: (n_sessions, n_metrics) float64, columns
        as :attr:`metric_names`, or the (n_metrics,) row of one ``session``; NaN where a
        session is not in the metric's denominator (a shallow session for the deep-only
        metrics, a user metric left NaN) and for unmeasured metrics
        (``reco_eval_session_values``)."""
        p = self._policy(policy)
        m = self.n_metrics
        if session is not None:
            out = np.empty(m, np.float64)
            check(lib.reco_eval_session_values(ptr(out), m, self._h, p, int(session)))
            return out
        out = np.empty((self.n_sessions, m), np.float64)
        for i in range(self.n_sessions):
            check(lib.reco_eval_session_values(ptr(out[i]), m, self._h, p, i))
        return out

    def session(self, policy, session):
        """The (EVAL_N_METRICS,) float64 0.1 metrics of one session, indexed by metric; NaN for
        deep-only metrics of a shallow session and unmeasured metrics (``reco_eval_session``;
        :meth:`values` gives every metric)."""
        out = np.empty(EVAL_N_METRICS, np.float64)
        check(lib.reco_eval_session(ptr(out), self._h, self._policy(policy), int(session)))
        return out

    def sessions(self, policy):
        """Every session of a policy: (n_sessions, EVAL_N_METRICS) float64, row i is
        :meth:`session` (policy, i)."""
        p = self._policy(policy)
        n = self.n_sessions
        out = np.empty((n, EVAL_N_METRICS), np.float64)
        for i in range(n):
            check(lib.reco_eval_session(ptr(out[i]), self._h, p, i))
        return out

    def write_json(self, path, env_name=None, policy_names=None, baseline=0):
        """:func:`eval_write_json` of this result alone."""
        eval_write_json([self], path, None if env_name is None else [env_name], policy_names,
                        baseline)

    def write_csv(self, path, env_name=None, policy_names=None, baseline=0):
        """:func:`eval_write_csv` of this result alone."""
        eval_write_csv([self], path, None if env_name is None else [env_name], policy_names,
                       baseline)


def eval_run(env, policies, users, reset_env=None, item_topics=None, progress=None,
             user_metrics=None, options=None, **fields):
    """:meth:`Eval.run` (``reco_eval_run``)."""
    return Eval.run(env, policies, users, reset_env=reset_env, item_topics=item_topics,
                    progress=progress, user_metrics=user_metrics, options=options, **fields)


def eval_concat(parts):
    """:meth:`Eval.concat` (``reco_eval_concat``)."""
    return Eval.concat(parts)


def _write(fn, evals, path, env_names, policy_names, baseline):
    if isinstance(evals, Eval):
        evals = [evals]
    evals = list(evals)
    arr = (ctypes.c_void_p * len(evals))(*[e._h for e in evals])
    n_pol = evals[0].n_policies if evals else 0
    if isinstance(baseline, str):
        if not evals:
            raise invalid("baseline: a name needs at least one result", field="baseline")
        baseline = (evals[0]._policy(baseline) if policy_names is None
                    else _index(list(policy_names), baseline))
    envs = _c_names(env_names, len(evals), "env_names")
    pols = _c_names(policy_names, n_pol, "policy_names")
    check(fn(arr, envs, len(evals), pols, int(baseline), b(path)))


def _index(names, name):
    if name not in names:
        raise invalid("baseline: no policy named %r" % name, field="baseline")
    return names.index(name)


def eval_write_json(evals, path, env_names=None, policy_names=None, baseline=0):
    """Write results of one or more environments (a list of :class:`Eval` with the same
    policies and confidence) as JSON, schema ``libreco.eval/1``, atomically
    (``reco_eval_write_json``). ``env_names``: one per result (default ``env<i>``);
    ``policy_names``: one per policy (default the names at the run); ``baseline``: the
    lifts' baseline, an index or a name."""
    _write(lib.reco_eval_write_json, evals, path, env_names, policy_names, baseline)


def eval_write_csv(evals, path, env_names=None, policy_names=None, baseline=0):
    """As :func:`eval_write_json`, as CSV: one row per (environment, policy, metric)
    (``reco_eval_write_csv``)."""
    _write(lib.reco_eval_write_csv, evals, path, env_names, policy_names, baseline)
