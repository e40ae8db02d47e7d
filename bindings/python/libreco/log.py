"""``reco_log`` (interaction logs), ``reco_fit_model`` and ``reco_metrics``."""
import ctypes

import numpy as np

from . import _ffi
from ._core import (Callbacks, Handle, Record, array_in, b, check, create, invalid, lib,
                    options, ptr, view)
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


class Log(Handle):
    """A table of interactions in canonical order (``reco_log``).

    ``Log()`` has the four default signals; ``Log(n_signals=F, signal_names=[...])`` others.
    """

    _free = lib.reco_log_free
    _kind = "Log"

    def __init__(self, n_signals=None, signal_names=None):
        o = options(_ffi.LogOptions, lib.reco_log_options_init, None, {}, "log")
        keep = None
        if n_signals is not None:
            o.n_signals = n_signals
        if signal_names is not None:
            keep = (ctypes.c_char_p * len(signal_names))(*[b(s) for s in signal_names])
            o.signal_names = keep
            if n_signals is None:
                o.n_signals = len(signal_names)
        super().__init__(create(lib.reco_log_create, ctypes.byref(o)))

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

    def __len__(self):
        return self.n_rows

    @property
    def signal_names(self):
        """The signals' names, i.e. their CSV columns (``reco_log_signal_name``)."""
        h = self._h
        return [lib.reco_log_signal_name(h, f).decode() for f in range(self.n_signals)]

    def session(self, i):
        """(first_row, n_steps) of session ``i`` (``reco_log_session``)."""
        first, n = ctypes.c_size_t(), ctypes.c_size_t()
        check(lib.reco_log_session(ctypes.byref(first), ctypes.byref(n), self._h, int(i)))
        return first.value, n.value

    def get_row(self, i):
        """Row ``i`` as a :class:`LogRow` (``reco_log_get_row``)."""
        r = _ffi.LogRow(version=1)
        check(lib.reco_log_get_row(ctypes.byref(r), self._h, int(i)))
        return r

    def columns(self, copy=True):
        """Dict of the columns ``users sessions steps timestamps items feedback exits``
        (``reco_log_get_columns``). ``copy=False`` gives read-only views of the log's memory,
        without a copy, valid only until the log next changes (load, append, generate, reset).
        """
        c = _ffi.LogColumns(version=1)
        check(lib.reco_log_get_columns(ctypes.byref(c), self._h))
        n = c.n_rows
        cols = {name: view(getattr(c, name), (n,), dt, self) for name, dt in _COLUMNS}
        if copy:
            cols = {k: v.copy() for k, v in cols.items()}
        return cols

    def rejections(self):
        """The kept rejections of the last lenient CSV load, as :class:`FormatError`
        objects with source, line, column and field (``reco_log_rejection``)."""
        out = []
        for i in range(lib.reco_log_n_rejections(self._h)):
            info = _ffi.ErrorInfo(version=1)
            check(lib.reco_log_rejection(ctypes.byref(info), self._h, i))
            out.append(from_info(info))
        return out

    # ---- changes -------------------------------------------------------------------------
    def reset(self):
        """Remove every row (``reco_log_reset``)."""
        lib.reco_log_reset(self._h)

    def append(self, user, session, step, timestamp, item, feedback, exit):
        """Append rows given as equal-length columns (``reco_log_append``)."""
        cols = [np.atleast_1d(np.asarray(v)) for v in (user, session, step, timestamp, item,
                                                       feedback, exit)]
        n = cols[0].shape[0]
        if any(c.ndim != 1 or c.shape[0] != n for c in cols):
            raise invalid("append: every column must be 1-D of the same length")
        rows = (_ffi.LogRow * n)()
        for k, name in enumerate(_ROW_FIELDS):
            for i in range(n):
                setattr(rows[i], name, int(cols[k][i]))
        # The array's element size is that of version 2, so the rows say version 2, with
        # the optional columns unknown (NaN) and no user features.
        nan = float("nan")
        for i in range(n):
            rows[i].version = 2
            rows[i].propensity = nan
            for k in range(len(rows[i].oracle)):
                rows[i].oracle[k] = nan
        check(lib.reco_log_append(self._h, rows, n))

    def load_csv(self, path, lenient=False, n_items=0, max_rejections=100):
        """Replace the rows with a CSV file (``reco_log_load_csv``)."""
        lo = _ffi.LogLoadOptions(version=1, lenient=int(bool(lenient)), n_items=n_items,
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
        lo = _ffi.LogLoadOptions(version=1, n_items=n_items, max_rejections=100)
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
        (with ``model``, ``signal_weights``, ``temperature``). ``session_key``: None (the user
        id itself), ``"world"`` (``RECO_WORLD_SESSION_KEY(user, ordinal)``, what a
        :class:`World` needs) or a Python function ``(user, ordinal) -> key``. Other keywords
        are ``reco_log_generate_options`` fields (``n_interactions``, ``n_users``, ...).
        """
        kind = _LOG_POLICIES.get(policy, policy) if isinstance(policy, str) else int(policy)
        if isinstance(policy, str) and policy not in _LOG_POLICIES:
            raise invalid("generate: unknown policy %r" % policy)
        lp = _ffi.LogPolicy(version=1, kind=kind, temperature=temperature)
        keep = []
        if item_weights is not None:
            w = array_in(item_weights, np.float32, "item_weights", ndim=1)
            lp.item_weights, lp.n_item_weights = ptr(w), w.shape[0]
            keep.append(w)
        if model is not None:
            lp.model = model._h
        if signal_weights is not None:
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
            fn = _ffi.SESSION_KEY_FN(cb.wrap(lambda u, o, p: session_key(u, o), 0))
            keep.append(fn)
            go.session_key = ctypes.cast(fn, ctypes.c_void_p)
        elif session_key is not None:
            raise invalid("generate: session_key must be None, 'world' or a function")
        rc = lib.reco_log_generate(self._h, env._ref, ctypes.byref(lp), ctypes.byref(go))
        cb.reraise()
        check(rc)
        return self


def fit_model(model, train, valid=None, progress=None, options_=None, **fields):
    """Train the feedback model on logs (``reco_fit_model``); returns the report as a
    :class:`Record` (``model``, ``global_rate``, ``popularity``: lists of per-output metric
    dicts; ``train_loss``, ``valid_loss``: per-epoch arrays).

    Keywords are ``reco_fit_options`` fields (``epochs``, ``batch_size``, ``lr``, ...).
    ``progress(epoch_record)`` is called after each epoch; returning True stops training.
    """
    fo = options(_ffi.FitOptions, lib.reco_fit_options_init, options_, fields, "fit")
    cap = fo.epochs
    tl, vl = np.full(cap, np.nan), np.full(cap, np.nan)
    rep = _ffi.FitReport(version=1, history_cap=cap,
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
        fn = _ffi.FIT_PROGRESS_FN(cb.wrap(on_epoch, 1))
        fo.progress = ctypes.cast(fn, ctypes.c_void_p)
    rc = lib.reco_fit_model(ctypes.byref(rep), model._h, train._h,
                            valid._h if valid is not None else None, ctypes.byref(fo))
    cb.reraise()
    check(rc)
    n = rep.n_outputs
    r = Record.of(rep)
    for k in ("train_rate", "valid_rate", "model", "global_rate", "popularity"):
        setattr(r, k, getattr(r, k)[:n])
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
