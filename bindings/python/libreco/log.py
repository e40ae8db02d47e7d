"""``reco_log`` (interaction logs), ``reco_fit_model`` and ``reco_metrics``."""
import ctypes

import numpy as np

from . import _ffi
from ._core import (Callbacks, Handle, Record, array_in, b, call, check, create, invalid, lib,
                    options, ptr, view)
from .env import as_env
from .policy import Policy
from .errors import Error, from_info
from .world import world_session_key

LOG_POLICY_UNIFORM, LOG_POLICY_POPULARITY, LOG_POLICY_MODEL = 1, 2, 3
_LOG_POLICIES = {"uniform": 1, "popularity": 2, "model": 3}
_COLUMNS = (("users", np.uint64), ("sessions", np.uint64), ("steps", np.uint32),
            ("timestamps", np.int64), ("items", np.int32), ("feedback", np.uint32),
            ("exits", np.uint8))
_ROW_FIELDS = ("user", "session", "step", "timestamp", "item", "feedback", "exit")


@_ffi.SESSION_KEY_FN
def _world_key(user, ordinal, payload):
    return world_session_key(user, ordinal)


def _row_dtype():
    """A NumPy dtype with the layout of ``reco_log_row`` (offsets from the ctypes mirror,
    which the layout test checks against C), so that rows are filled by column."""
    R = _ffi.LogRow
    fmt = {"version": np.uintc, "user": np.uint64, "session": np.uint64, "step": np.uint32,
           "timestamp": np.int64, "item": np.int32, "feedback": np.uint32, "exit": np.intc,
           "user_features": np.uintp, "propensity": np.float32,
           "oracle": (np.float32, (len(R().oracle),)), "n_candidates": np.uint32,
           "candidates": np.uintp}
    names = [f for f, _ in R._fields_]
    return np.dtype({"names": names, "formats": [fmt[f] for f in names],
                     "offsets": [getattr(R, f).offset for f in names],
                     "itemsize": ctypes.sizeof(R)})


_ROW_DTYPE = _row_dtype()


def _same_count(n, names, n_what, names_what):
    if n is not None and names is not None and int(n) != len(names):
        raise invalid("%s is %d but %d %s were given" % (n_what, n, len(names), names_what),
                      field=n_what)


class Log(Handle):
    """A table of interactions in canonical order (``reco_log``).

    ``Log()`` has the four default signals; ``Log(n_signals=F, signal_names=[...])`` others.
    The optional columns (``reco_log_options`` version 2) are declared here and every row
    then has them: ``user_dim=U`` dense user features (named by ``user_feature_names``,
    default ``u0``, ``u1``, ...; ``user_feature_names`` alone sets U), ``propensity=True``
    (the logging policy's probability of the item shown) and ``oracle=True`` (the env's true
    probability of each signal and of the exit, ``p_<signal>`` ... ``p_exit``).
    """

    _free = lib.reco_log_free
    _kind = "Log"

    def __init__(self, n_signals=None, signal_names=None, user_dim=None,
                 user_feature_names=None, propensity=False, oracle=False, max_candidates=0):
        o = options(_ffi.LogOptions, lib.reco_log_options_init, None, {}, "log")
        keep = []
        # the C side reads as many names as the count says: they must agree
        _same_count(n_signals, signal_names, "n_signals", "signal_names")
        _same_count(user_dim, user_feature_names, "user_dim", "user_feature_names")
        if n_signals is not None:
            o.n_signals = n_signals
        if signal_names is not None:
            keep.append((ctypes.c_char_p * len(signal_names))(*[b(s) for s in signal_names]))
            o.signal_names = keep[-1]
            o.n_signals = len(signal_names)
        if user_feature_names is not None:
            keep.append((ctypes.c_char_p * len(user_feature_names))(
                *[b(s) for s in user_feature_names]))
            o.user_feature_names = keep[-1]
            o.user_dim = len(user_feature_names)
        if user_dim is not None:
            o.user_dim = user_dim
        o.propensity, o.oracle = int(bool(propensity)), int(bool(oracle))
        o.max_candidates = int(max_candidates)
        super().__init__(create(lib.reco_log_create, ctypes.byref(o)))

    @classmethod
    def for_env(cls, env, propensity=False, oracle=False, max_candidates=0):
        """An empty log for the sessions of ``env`` (an :class:`Env`, World or Sim): its
        signal names and user-feature width are the env's (``Log(signal_names=...,
        user_dim=...)``). ``max_candidates`` > 0: a ``candidates`` column, the sets the
        logging policy chose from (what off-policy estimates need, :func:`libreco.ope`)."""
        env = as_env(env)
        return cls(signal_names=list(env.signal_names), user_dim=env.user_dim,
                   propensity=propensity, oracle=oracle, max_candidates=max_candidates)

    @classmethod
    def _adopt(cls, raw):
        self = cls.__new__(cls)
        Handle.__init__(self, raw)
        return self

    # ---- facts ---------------------------------------------------------------------------
    n_signals = property(lambda self: lib.reco_log_n_signals(self._h),
                         doc="Number of signals F (``reco_log_n_signals``).")
    n_rows = property(lambda self: lib.reco_log_n_rows(self._h),
                      doc="Number of rows (``reco_log_n_rows``).")
    n_sessions = property(lambda self: lib.reco_log_n_sessions(self._h),
                          doc="Number of sessions (``reco_log_n_sessions``).")
    n_users = property(lambda self: lib.reco_log_n_users(self._h),
                       doc="Number of distinct users (``reco_log_n_users``).")
    n_rejected = property(lambda self: lib.reco_log_n_rejected(self._h),
                          doc="Rows the last lenient CSV load rejected (``reco_log_n_rejected``).")

    user_dim = property(lambda self: lib.reco_log_user_dim(self._h),
                        doc="User features per row U, 0 for none (``reco_log_user_dim``).")
    has_propensity = property(lambda self: bool(lib.reco_log_has_propensity(self._h)),
                              doc="Whether rows carry a propensity "
                                  "(``reco_log_has_propensity``).")
    has_oracle = property(lambda self: bool(lib.reco_log_has_oracle(self._h)),
                          doc="Whether rows carry the oracle (``reco_log_has_oracle``).")

    def __len__(self):
        return self.n_rows

    @property
    def signal_names(self):
        """The signals' names, i.e. their CSV columns (``reco_log_signal_name``)."""
        h = self._h
        return [lib.reco_log_signal_name(h, f).decode() for f in range(self.n_signals)]

    @property
    def user_feature_names(self):
        """The user features' names, their CSV columns (``reco_log_user_feature_name``)."""
        h = self._h
        return [lib.reco_log_user_feature_name(h, k).decode() for k in range(self.user_dim)]

    def session(self, i):
        """(first_row, n_steps) of session ``i`` (``reco_log_session``)."""
        first, n = ctypes.c_size_t(), ctypes.c_size_t()
        check(lib.reco_log_session(ctypes.byref(first), ctypes.byref(n), self._h, int(i)))
        return first.value, n.value

    def get_row(self, i):
        """Row ``i`` as a :class:`LogRow` (``reco_log_get_row``), of the current version:
        its ``user_features`` points into the log (valid until it changes); ``propensity``
        and ``oracle`` are NaN where unknown or absent."""
        r = _ffi.LogRow(version=_ffi.VERSIONS[_ffi.LogRow])
        check(lib.reco_log_get_row(ctypes.byref(r), self._h, int(i)))
        return r

    def columns(self, copy=True):
        """Dict of the columns ``users sessions steps timestamps items feedback exits``
        (``reco_log_get_columns``), plus the optional ones the log has: ``user_features``
        (n, U) float32, ``propensity`` (n,) float32, ``oracle`` (n, F + 1) float32 (the
        signals, then the exit), NaN for unknown values, and ``candidates`` (n, C) int32
        (-1 past a row's count) with ``candidate_counts`` (n,) uint32 (0: unknown). ``copy=False`` gives read-only views
        of the log's memory, without a copy, valid only until the log next changes (load,
        append, generate, reset).
        """
        c = _ffi.LogColumns(version=_ffi.VERSIONS[_ffi.LogColumns])
        check(lib.reco_log_get_columns(ctypes.byref(c), self._h))
        n = c.n_rows
        cols = {name: view(getattr(c, name), (n,), dt, self) for name, dt in _COLUMNS}
        U = self.user_dim
        if U:
            cols["user_features"] = view(c.user_features, (n, U), np.float32, self)
        if self.has_propensity:
            cols["propensity"] = view(c.propensity, (n,), np.float32, self)
        if self.has_oracle:
            cols["oracle"] = view(c.oracle, (n, self.n_signals + 1), np.float32, self)
        if c.max_candidates:
            cols["candidates"] = view(c.candidates, (n, c.max_candidates), np.int32, self)
            cols["candidate_counts"] = view(c.candidate_counts, (n,), np.uint32, self)
        if copy:
            cols = {k: v.copy() for k, v in cols.items()}
        return cols

    def rejections(self):
        """The kept rejections of the last lenient CSV load, as :class:`FormatError`
        objects with source, line, column and field (``reco_log_rejection``)."""
        out = []
        for i in range(lib.reco_log_n_rejections(self._h)):
            info = _ffi.ErrorInfo(version=_ffi.VERSIONS[_ffi.ErrorInfo])
            check(lib.reco_log_rejection(ctypes.byref(info), self._h, i))
            out.append(from_info(info))
        return out

    # ---- changes -------------------------------------------------------------------------
    def reset(self):
        """Remove every row (``reco_log_reset``)."""
        lib.reco_log_reset(self._h)

    def append(self, user, session, step, timestamp, item, feedback, exit, user_features=None,
               propensity=None, oracle=None):
        """Append rows given as equal-length columns (``reco_log_append``), atomically.

        The optional columns, for a log that has them: ``user_features`` (n, U) finite floats
        (required when U > 0), ``propensity`` (n,) in (0, 1] and ``oracle`` (n, F + 1) in
        [0, 1], NaN for unknown (None: all unknown). A value for a column the log does not
        have is refused by the library, as are feedback bits at or above F.
        """
        cols = [np.atleast_1d(np.asarray(v)) for v in (user, session, step, timestamp, item,
                                                       feedback, exit)]
        n = cols[0].shape[0]
        if any(c.ndim != 1 or c.shape[0] != n for c in cols):
            raise invalid("append: every column must be 1-D of the same length")
        rows = np.zeros(n, _ROW_DTYPE)
        for k, name in enumerate(_ROW_FIELDS):
            rows[name] = array_in(cols[k], rows.dtype[name], name)
        rows["version"] = _ffi.VERSIONS[_ffi.LogRow]
        rows["propensity"] = np.nan
        rows["oracle"] = np.nan
        keep = None
        if user_features is not None:
            uf = array_in(user_features, np.float32, "user_features", ndim=2)
            if uf.shape[0] != n:
                raise invalid("user_features: expected %d rows, got shape %s" % (n, uf.shape),
                              field="user_features")
            if uf.shape[1] != self.user_dim:
                raise invalid("user_features: %d columns, the log has %d user features"
                              % (uf.shape[1], self.user_dim), field="user_features")
            if n and uf.shape[1]:
                rows["user_features"] = uf.ctypes.data + np.arange(n, dtype=np.uintp) * \
                    np.uintp(uf.strides[0])
            keep = uf
        if propensity is not None:
            rows["propensity"] = array_in(propensity, np.float32, "propensity", ndim=1,
                                          shape=(n,))
        if oracle is not None:
            F1 = self.n_signals + 1
            o = array_in(oracle, np.float32, "oracle", ndim=2, shape=(n, F1))
            rows["oracle"][:, :F1] = o
        check(lib.reco_log_append(self._h, rows.ctypes.data_as(ctypes.POINTER(_ffi.LogRow)),
                                  n))
        del keep

    def load_csv(self, path, lenient=False, n_items=0, max_rejections=100):
        """Replace the rows with a CSV file (``reco_log_load_csv``)."""
        lo = _ffi.LogLoadOptions(version=_ffi.VERSIONS[_ffi.LogLoadOptions],
                                 lenient=int(bool(lenient)), n_items=n_items,
                                 max_rejections=max_rejections)
        check(lib.reco_log_load_csv(self._h, b(path), ctypes.byref(lo)))
        return self

    def save_csv(self, path):
        """``reco_log_save_csv``."""
        check(lib.reco_log_save_csv(self._h, b(path)))

    def save(self, path):
        """Binary, checksummed (``reco_log_save``)."""
        check(lib.reco_log_save(self._h, b(path)))

    def load(self, path, n_items=0):
        """Replace the rows with a binary file (``reco_log_load``)."""
        lo = _ffi.LogLoadOptions(version=_ffi.VERSIONS[_ffi.LogLoadOptions], n_items=n_items,
                                 max_rejections=100)
        check(lib.reco_log_load(self._h, b(path), ctypes.byref(lo)))
        return self

    def split(self, valid_fraction, seed):
        """Split by user: (train, valid), two new logs (``reco_log_split``)."""
        t, v = ctypes.c_void_p(), ctypes.c_void_p()
        check(lib.reco_log_split(ctypes.byref(t), ctypes.byref(v), self._h,
                                 float(valid_fraction), int(seed)))
        return Log._adopt(t.value), Log._adopt(v.value)

    def generate(self, env, policy="uniform", item_weights=None, model=None,
                 signal_weights=None, temperature=1.0, users=None, session_key=None,
                 **fields):
        """Replace the rows with sessions run in ``env`` (``reco_log_generate``).

        ``policy``: ``"uniform"``, ``"popularity"`` (with ``item_weights``) or ``"model"``
        (with ``model``, ``signal_weights``, ``temperature``), the logging rules of
        ``reco_log_policy``, drawing from ``seed``; or any :class:`Policy`, a built-in one or
        one written in Python (``reco_log_generate_with``): the propensity column then
        records the probabilities the policy reports (a Python policy's ``choose``
        returning ``(indices, propensities)``; NaN where it reports none), and its draws
        are its own.

        ``session_key``: None (the user id itself), ``"world"``
        (``RECO_WORLD_SESSION_KEY(user, ordinal)``, what a :class:`World` needs) or a Python
        function ``(user, ordinal) -> key``. Other keywords are ``reco_log_generate_options``
        fields (``n_interactions``, ``n_users``,
        ``max_candidates`` (default: the env's declared one, else the C default), ...).
        ``env`` is any :class:`Env` (one written in Python too; :meth:`for_env` makes a log
        with its signals), or a World/Sim whose ``env()`` is used. An exception raised by
        the env, the policy or ``session_key`` is raised again here.
        """
        env = as_env(env)
        env._run_max_candidates(fields)
        keep = []
        given = isinstance(policy, Policy)
        if given:
            extra = [k for k, v in (("item_weights", item_weights), ("model", model),
                                    ("signal_weights", signal_weights)) if v is not None]
            if temperature != 1.0:
                extra.append("temperature")
            if extra:
                raise invalid("generate: %s belong to the policy: give them to the Policy, "
                              "not to generate()" % ", ".join(extra), field=extra[0])
            ref = policy._ref
            policy._bind(env)
        elif isinstance(policy, str) and policy not in _LOG_POLICIES:
            raise invalid("generate: unknown policy %r (%s, or a libreco.Policy)"
                          % (policy, ", ".join(_LOG_POLICIES)))
        else:
            kind = _LOG_POLICIES.get(policy, policy) if isinstance(policy, str) else int(policy)
            lp = _ffi.LogPolicy(version=1, kind=kind, temperature=temperature)
        if item_weights is not None and not given:
            w = array_in(item_weights, np.float32, "item_weights", ndim=1)
            lp.item_weights, lp.n_item_weights = ptr(w), w.shape[0]
            keep.append(w)
        if model is not None and not given:
            lp.model = model._h
        if signal_weights is not None and not given:
            sw = array_in(signal_weights, np.float32, "signal_weights", ndim=1)
            lp.signal_weights = ptr(sw)
            keep.append(sw)
        go = options(_ffi.LogGenerateOptions, lib.reco_log_generate_options_init, None, fields,
                     "generate")
        if users is not None:
            u = array_in(users, np.uint64, "users", ndim=1)
            go.users, go.n_users = ptr(u), u.shape[0]
            keep.append(u)
        cb = Callbacks()
        if session_key == "world":
            go.session_key = ctypes.cast(_world_key, ctypes.c_void_p)
        elif callable(session_key):
            fn = _ffi.SESSION_KEY_FN(cb.wrap(lambda u, o, p: session_key(u, o),
                                             "generate's session_key()", status=False,
                                             on_error=0))
            keep.append(fn)
            go.session_key = ctypes.cast(fn, ctypes.c_void_p)
        elif session_key is not None:
            raise invalid("generate: session_key must be None, 'world' or a function")
        if given:
            call("reco_log_generate_with", lib.reco_log_generate_with, self._h, env._ref, ref,
                 ctypes.byref(go), owners=(cb, env, policy))
        else:
            call("reco_log_generate", lib.reco_log_generate, self._h, env._ref,
                 ctypes.byref(lp), ctypes.byref(go), owners=(cb, env))
        return self


def fit_model(model, train, valid=None, progress=None, options_=None, **fields):
    """Train the feedback model on logs (``reco_fit_model``); returns the report as a
    :class:`Record` (``model``, ``global_rate``, ``popularity``: lists of per-output metric
    dicts, output f < F a signal and F the exit; ``train_loss``, ``valid_loss``: per-epoch
    arrays). When the validation log has the oracle columns, ``has_oracle`` is True and
    ``oracle`` holds the true probabilities' metrics on the same rows (else NaN entries);
    ``step_seconds_base`` and ``step_seconds`` (F,) are the step durations fitted on the
    training log's timestamps (``n_gaps`` gaps), what :class:`Sim`'s ``seconds_base`` and
    ``seconds`` take.

    Keywords are ``reco_fit_options`` fields (``epochs``, ``batch_size``, ``lr``, ...).
    ``progress(epoch_record)`` is called after each epoch; returning True stops training.
    """
    fo = options(_ffi.FitOptions, lib.reco_fit_options_init, options_, fields, "fit")
    cap = fo.epochs
    tl, vl = np.full(cap, np.nan), np.full(cap, np.nan)
    rep = _ffi.FitReport(version=_ffi.VERSIONS[_ffi.FitReport], history_cap=cap,
                         train_loss=tl.ctypes.data_as(_ffi.P_f64),
                         valid_loss=vl.ctypes.data_as(_ffi.P_f64))
    cb = Callbacks()
    fn = None
    if progress is not None:
        def on_epoch(ep, payload):
            e = ep.contents
            rec = Record.of(e)
            rec.model = rec.model[:e.n_outputs]
            return 1 if progress(rec) else 0
        fn = _ffi.FIT_PROGRESS_FN(cb.wrap(on_epoch, "fit_model's progress()", status=False,
                                          on_error=1))
        fo.progress = ctypes.cast(fn, ctypes.c_void_p)
    call("reco_fit_model", lib.reco_fit_model, ctypes.byref(rep), model._h, train._h,
         valid._h if valid is not None else None, ctypes.byref(fo), owners=(cb,))
    n = rep.n_outputs
    r = Record.of(rep)
    for k in ("train_rate", "valid_rate", "model", "global_rate", "popularity", "oracle"):
        setattr(r, k, getattr(r, k)[:n])
    r.has_oracle = bool(rep.has_oracle)
    r.step_seconds = np.array(r.step_seconds[:max(n - 1, 0)])
    r.train_loss, r.valid_loss = tl[:rep.epochs_run], vl[:rep.epochs_run]
    del r.history_cap
    return r


def fit_options(options_=None, **fields):
    """A :class:`FitOptions`: ``options_`` copied, or the defaults, then ``fields``."""
    return options(_ffi.FitOptions, lib.reco_fit_options_init, options_, fields, "fit")


def _metric(fn, a, labels, name, *extra):
    a = array_in(a, np.float32, name, ndim=1)
    labels = array_in(labels, np.float32, "labels", shape=a.shape)
    out = ctypes.c_double()
    check(fn(ctypes.byref(out), ptr(a), ptr(labels), a.shape[0], *extra))
    return out.value


def metrics_auc(scores, labels):
    """ROC AUC (``reco_metrics_auc``)."""
    return _metric(lib.reco_metrics_auc, scores, labels, "scores")


def metrics_log_loss(probs, labels):
    """Mean binary cross-entropy in nats (``reco_metrics_log_loss``)."""
    return _metric(lib.reco_metrics_log_loss, probs, labels, "probs")


def metrics_ece(probs, labels, n_bins=10):
    """Expected calibration error (``reco_metrics_ece``)."""
    return _metric(lib.reco_metrics_ece, probs, labels, "probs", int(n_bins))


__all__ = ["Log", "fit_model", "fit_options", "metrics_auc", "metrics_log_loss", "metrics_ece",
           "Error"]
