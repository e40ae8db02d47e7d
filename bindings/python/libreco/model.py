"""``reco_model`` (the feedback model / Q-network) and ``reco_workspace``."""
import ctypes

import numpy as np

from . import _ffi
from ._core import Handle, array_in, array_out, b, check, create, invalid, lib, options, ptr

PAD = -1
SAVE_OPTIMIZER = 1

PARAM_LR = 1
PARAM_WEIGHT_DECAY = 2
PARAM_CLIP_NORM = 3
PARAM_THREADS = 4
_PARAMS = {"lr": 1, "weight_decay": 2, "clip_norm": 3, "threads": 4}


def param_id(table, param, what):
    """A ``reco_*_param`` value from its name (``"lr"``) or number."""
    if isinstance(param, str):
        if param not in table:
            raise invalid("%s: unknown parameter %r (known: %s)"
                          % (what, param, ", ".join(sorted(table))))
        return table[param]
    return int(param)


def model_options(options_=None, **fields):
    """A :class:`ModelOptions`: ``options_`` copied, or the defaults, then ``fields``.

    ``item_field_sizes=[...]`` alone also sets ``item_n_fields`` to its length."""
    if "item_field_sizes" in fields and "item_n_fields" not in fields:
        fields["item_n_fields"] = len(fields["item_field_sizes"])
    return options(_ffi.ModelOptions, lib.reco_model_options_init, options_, fields, "model")


def make_batch(model, items, feedback, candidates=None, user_features=None, steps=None,
               elapsed=None, long_items=None, long_feedback=None):
    """A ``reco_batch`` over the arrays (kept in the returned tuple for the call's duration).

    ``items`` (B, L) int32; ``feedback`` (B, L) uint32 or None for zeros; ``candidates`` (C,)
    shared by every row, or (B, C) one list per row; ``user_features`` (B, user_dim) float32.
    The session context (a version-2 batch; without it the batch is version 1): ``steps``
    (B,) uint32, ``elapsed`` (B,) float32 seconds, ``long_items`` (B, long_len) int32 and
    ``long_feedback`` (B, long_len) uint32 or None for zeros. ``reco_batch`` carries no L,
    user_dim or long_len: the C side reads the model's, so they are checked here against
    ``model``'s architecture. Whether the model needs an input is the library's check.
    """
    a = model._arch
    L, user_dim = a.lookback, a.user_dim
    items = array_in(items, np.int32, "items", ndim=2, shape=(None, L))
    n = items.shape[0]
    if feedback is None:
        feedback = np.zeros((n, L), np.uint32)
    feedback = array_in(feedback, np.uint32, "feedback", ndim=2, shape=(n, L))
    keep = [items, feedback]
    bt = _ffi.Batch(version=1, size=n, items=ptr(items), feedback=ptr(feedback))
    if candidates is not None:
        candidates = array_in(candidates, np.int32, "candidates")
        if candidates.ndim == 1:
            bt.n_candidates, bt.shared_candidates = candidates.shape[0], 1
        elif candidates.ndim == 2 and candidates.shape[0] == n:
            bt.n_candidates, bt.shared_candidates = candidates.shape[1], 0
        else:
            raise invalid("candidates: expected shape (C,) or (%d, C), got %s"
                          % (n, candidates.shape), field="candidates")
        bt.candidates = ptr(candidates)
        keep.append(candidates)
    if user_features is not None:
        user_features = array_in(user_features, np.float32, "user_features", ndim=2,
                                 shape=(n, user_dim))
        bt.user_features = ptr(user_features)
        keep.append(user_features)
    if steps is None and elapsed is None and long_items is None and long_feedback is None:
        return bt, keep
    bt.version = 2
    if steps is not None:
        steps = array_in(steps, np.uint32, "steps", ndim=1, shape=(n,))
        bt.steps = ptr(steps)
        keep.append(steps)
    if elapsed is not None:
        elapsed = array_in(elapsed, np.float32, "elapsed", ndim=1, shape=(n,))
        bt.elapsed = ptr(elapsed)
        keep.append(elapsed)
    if long_items is not None or long_feedback is not None:
        H = a.long_len
        if long_items is None:
            raise invalid("long_feedback: given without long_items", field="long_items")
        long_items = array_in(long_items, np.int32, "long_items", ndim=2, shape=(n, H))
        if long_feedback is None:
            long_feedback = np.zeros((n, H), np.uint32)
        long_feedback = array_in(long_feedback, np.uint32, "long_feedback", ndim=2,
                                 shape=(n, H))
        bt.long_items, bt.long_feedback = ptr(long_items), ptr(long_feedback)
        keep += [long_items, long_feedback]
    return bt, keep


def _state_args(states):
    """The ``make_batch`` keywords of a Python policy's ``states`` dict."""
    return {k: states.get(k) for k in ("user_features", "steps", "elapsed", "long_items",
                                       "long_feedback")}


def _nullable(pointer):
    """A borrowed C pointer as it is, or None for NULL."""
    return pointer if pointer else None


class Workspace(Handle):
    """Scratch memory for read-only calls on a model from one thread (``reco_workspace``).

    Give each scoring thread its own; the model itself may then be shared read-only.
    """

    _free = lib.reco_workspace_free
    _kind = "Workspace"

    def __init__(self, model):
        super().__init__(create(lib.reco_workspace_create, model._h))


class Model(Handle):
    """A transformer feedback model / Q-network (``reco_model``).

    ``Model(n_items=1000, dim=16, ...)`` creates one with fresh parameters; the keywords are
    the fields of ``reco_model_options`` (or pass ``options=ModelOptions``).
    ``Model.open(path)`` reads a checkpoint. Scoring calls take a :class:`Workspace`
    for use from several threads; without one they use the model's own (one thread).
    """

    _free = lib.reco_model_free
    _kind = "Model"

    def __init__(self, options=None, **fields):
        o = model_options(options, **fields)
        super().__init__(create(lib.reco_model_create, ctypes.byref(o)))

    @classmethod
    def _adopt(cls, raw, parents=(), owned=True):
        self = cls.__new__(cls)
        Handle.__init__(self, raw, parents)
        if not owned:
            self._free = None  # borrowed from its parent (e.g. a QNet's online network)
        return self

    @classmethod
    def open(cls, path, runtime=None, **fields):
        """Create a model from a checkpoint (``reco_model_open``).

        ``runtime`` (a :class:`ModelOptions`) or keyword fields set the allocator-independent
        run-time capacity: ``max_batch``, ``max_candidates`` and ``threads`` replace the
        stored ones (a field not given takes its default, as in C); neither: the stored ones.
        """
        rt = None
        if runtime is not None or fields:
            rt = ctypes.byref(model_options(runtime, **fields))
        return cls._adopt(create(lib.reco_model_open, b(path), rt))

    @staticmethod
    def workspace_size(options=None, **fields):
        """Bytes of scratch a workspace needs for these options (``reco_model_workspace_size``)."""
        n = ctypes.c_size_t()
        check(lib.reco_model_workspace_size(ctypes.byref(n),
                                            ctypes.byref(model_options(options, **fields))))
        return n.value

    # ---- facts ---------------------------------------------------------------------------
    @property
    def _arch(self):
        """The creation options, read once (the architecture never changes)."""
        a = self.__dict__.get("_arch_cache")
        if a is None:
            a = self._arch_cache = self.get_options()
        return a

    def get_options(self):
        """The options it was created with (``reco_model_get_options``)."""
        o = _ffi.ModelOptions(version=_ffi.VERSIONS[_ffi.ModelOptions])
        check(lib.reco_model_get_options(ctypes.byref(o), self._h))
        return o

    @property
    def n_heads(self):
        """n_signals + 2: the signal heads, exit, Q (``reco_model_n_heads``)."""
        return lib.reco_model_n_heads(self._h)

    @property
    def q_head(self):
        """Index of the Q head, ``n_heads - 1``."""
        return self.n_heads - 1

    @property
    def n_params(self):
        """Number of float parameters (``reco_model_n_params``)."""
        return lib.reco_model_n_params(self._h)

    # ---- read-only calls -----------------------------------------------------------------
    def score(self, items, feedback, candidates, heads=None, user_features=None,
              workspace=None, out=None, steps=None, elapsed=None, long_items=None,
              long_feedback=None):
        """Score candidates (``reco_model_score``).

        ``heads``: one head index (result (B, C)), a list of them (result (B, len, C)) or None
        for every head (result (B, n_heads, C)). Signal and exit heads give logits.
        The session context, for a model that takes it (``position``, ``elapsed``,
        ``long_len``): ``steps`` (B,), ``elapsed`` (B,) seconds, ``long_items`` and
        ``long_feedback`` (B, long_len); any of them makes the batch version 2.
        """
        bt, keep = make_batch(self, items, feedback, candidates, user_features, steps, elapsed,
                              long_items, long_feedback)
        if bt.candidates is None:
            raise invalid("candidates: None where an array is needed", field="candidates")
        single = heads is not None and np.ndim(heads) == 0
        if heads is None:
            heads = np.arange(self.n_heads, dtype=np.uint32)
        hs = array_in(np.atleast_1d(heads), np.uint32, "heads", ndim=1)
        shape = (bt.size, bt.n_candidates) if single else (bt.size, hs.shape[0], bt.n_candidates)
        res = array_out(out, np.float32, shape)
        check(lib.reco_model_score(ptr(res), self._h, workspace._h if workspace else None,
                                   ctypes.byref(bt), ptr(hs), hs.shape[0]))
        del keep
        return res

    def user_vectors(self, items, feedback, user_features=None, workspace=None, out=None,
                     steps=None, elapsed=None, long_items=None, long_feedback=None):
        """The user vectors u, (B, dim) (``reco_model_user_vectors``); the context keywords
        as in :meth:`score`."""
        bt, keep = make_batch(self, items, feedback, None, user_features, steps, elapsed,
                              long_items, long_feedback)
        res = array_out(out, np.float32, (bt.size, self._arch.dim))
        check(lib.reco_model_user_vectors(ptr(res), self._h,
                                          workspace._h if workspace else None,
                                          ctypes.byref(bt)))
        del keep
        return res

    def topn(self, items, feedback, head, n, user_features=None, workspace=None, steps=None,
             elapsed=None, long_items=None, long_feedback=None):
        """The ``n`` best items of the catalog under ``head``: ids and scores, (B, n) each
        (``reco_model_topn``); the context keywords as in :meth:`score`."""
        bt, keep = make_batch(self, items, feedback, None, user_features, steps, elapsed,
                              long_items, long_feedback)
        ids = np.empty((bt.size, n), np.int32)
        scores = np.empty((bt.size, n), np.float32)
        check(lib.reco_model_topn(ptr(ids), ptr(scores), self._h,
                                  workspace._h if workspace else None, ctypes.byref(bt),
                                  int(head), int(n)))
        del keep
        return ids, scores

    def score_states(self, states, heads=None, workspace=None):
        """Score the candidates of a Python policy's ``states`` (what
        :meth:`Policy.from_states_function` hands its function): the window, user features
        and session context of each row, and its own candidate list. Result as in
        :meth:`score` over the (n, max_candidates) candidate matrix, NaN past each row's
        ``counts`` (the runner leaves those entries undefined: they are not scored)."""
        cand = np.asarray(states["candidates"])
        counts = np.asarray(states["counts"])
        valid = np.arange(cand.shape[1])[None, :] < counts[:, None]
        c = np.where(valid, cand, cand[:, :1])   # a valid id where the row has none
        s = self.score(states["items"], states["feedback"], c, heads=heads,
                       workspace=workspace, **_state_args(states))
        mask = valid if s.ndim == 2 else valid[:, None, :]
        return np.where(mask, s, np.float32(np.nan))

    def set_item_features(self, dense=None, fields=None):
        """Set the item features of every item (``reco_model_set_item_features``): copied
        into the model and saved in its checkpoints. ``dense`` (n_items, item_dense_dim)
        float32, ``fields`` (n_items, item_n_fields) int32 (-1: unknown); None leaves that
        part as it is. ``dense`` may also be an :class:`Items` table (its dense and fields
        arrays are passed as they are, without a copy)."""
        from .items import Items
        a = self._arch
        if isinstance(dense, Items):
            if fields is not None:
                raise invalid("set_item_features: fields given with an Items table",
                              field="fields")
            items = dense
            have = (items.n_items, items.n_dense, items.n_fields)
            want = (a.n_items, a.item_dense_dim, a.item_n_fields)
            if have != want:   # the C call cannot see the table's widths
                raise invalid("set_item_features: the table has %d items, %d dense features "
                              "and %d fields; the model takes %d, %d and %d" % (have + want),
                              field="items")
            check(lib.reco_model_set_item_features(self._h,
                                                   _nullable(lib.reco_items_dense(items._h)),
                                                   _nullable(lib.reco_items_fields(items._h)),
                                                   a.n_items))
            return
        keep = []
        if dense is not None:
            dense = array_in(dense, np.float32, "dense", ndim=2,
                             shape=(a.n_items, a.item_dense_dim))
            keep.append(dense)
        if fields is not None:
            fields = array_in(fields, np.int32, "fields", ndim=2,
                              shape=(a.n_items, a.item_n_fields))
            keep.append(fields)
        check(lib.reco_model_set_item_features(self._h, ptr(dense), ptr(fields), a.n_items))

    # ---- training ------------------------------------------------------------------------
    def zero_grad(self):
        """``reco_model_zero_grad``."""
        check(lib.reco_model_zero_grad(self._h))

    def train_bce(self, items, feedback, shown, labels, row_weights=None, user_features=None,
                  steps=None, elapsed=None, long_items=None, long_feedback=None):
        """Accumulate the supervised BCE gradients; returns the loss (``reco_model_train_bce``).

        ``shown`` (B,) int32; ``labels`` (B, n_signals + 1) float32 (signals, then exit); the
        context keywords as in :meth:`score`.
        """
        bt, keep = make_batch(self, items, feedback, None, user_features, steps, elapsed,
                              long_items, long_feedback)
        shown = array_in(shown, np.int32, "shown", shape=(bt.size,))
        labels = array_in(labels, np.float32, "labels", ndim=2, shape=(bt.size, None))
        w = None if row_weights is None else array_in(row_weights, np.float32, "row_weights",
                                                      shape=(bt.size,))
        loss = ctypes.c_double()
        check(lib.reco_model_train_bce(ctypes.byref(loss), self._h, ctypes.byref(bt),
                                       ptr(shown), ptr(labels), ptr(w)))
        del keep
        return loss.value

    def train_scalar(self, items, feedback, actions, head, targets, weights=None,
                     huber_delta=1.0, user_features=None, steps=None, elapsed=None,
                     long_items=None, long_feedback=None):
        """Accumulate a Huber regression on one head; returns (loss, predictions)
        (``reco_model_train_scalar``); the context keywords as in :meth:`score`."""
        bt, keep = make_batch(self, items, feedback, None, user_features, steps, elapsed,
                              long_items, long_feedback)
        actions = array_in(actions, np.int32, "actions", shape=(bt.size,))
        targets = array_in(targets, np.float32, "targets", shape=(bt.size,))
        w = None if weights is None else array_in(weights, np.float32, "weights",
                                                  shape=(bt.size,))
        loss = ctypes.c_double()
        pred = np.empty(bt.size, np.float32)
        check(lib.reco_model_train_scalar(ctypes.byref(loss), ptr(pred), self._h,
                                          ctypes.byref(bt), ptr(actions), int(head),
                                          ptr(targets), ptr(w), float(huber_delta)))
        del keep
        return loss.value, pred

    def step(self):
        """One Adam step with the accumulated gradients; returns the gradient norm
        (``reco_model_step``)."""
        g = ctypes.c_double()
        check(lib.reco_model_step(ctypes.byref(g), self._h))
        return g.value

    def set_param(self, param, value):
        """``reco_model_set_param``: ``"lr"``, ``"weight_decay"``, ``"clip_norm"``, ``"threads"``."""
        check(lib.reco_model_set_param(self._h, param_id(_PARAMS, param, "model"),
                                       float(value)))

    def get_param(self, param):
        """``reco_model_get_param``."""
        v = ctypes.c_double()
        check(lib.reco_model_get_param(ctypes.byref(v), self._h,
                                       param_id(_PARAMS, param, "model")))
        return v.value

    @staticmethod
    def param_bounds(param):
        """(min, max) of a knob (``reco_model_param_bounds``)."""
        lo, hi = ctypes.c_double(), ctypes.c_double()
        check(lib.reco_model_param_bounds(ctypes.byref(lo), ctypes.byref(hi),
                                          param_id(_PARAMS, param, "model")))
        return lo.value, hi.value

    # ---- checkpoints and copies ----------------------------------------------------------
    def save(self, path, optimizer=False):
        """Write a checkpoint (``reco_model_save``); ``optimizer``: with the Adam state."""
        check(lib.reco_model_save(self._h, b(path), SAVE_OPTIMIZER if optimizer else 0))

    def load(self, path):
        """Load a checkpoint of the same architecture (``reco_model_load``)."""
        check(lib.reco_model_load(self._h, b(path)))

    def copy_params(self, src):
        """Copy every parameter of ``src`` into this model (``reco_model_copy_params``)."""
        check(lib.reco_model_copy_params(self._h, src._h))

    def blend_params(self, src, tau):
        """``self = (1 - tau) self + tau src`` (``reco_model_blend_params``)."""
        check(lib.reco_model_blend_params(self._h, src._h, float(tau)))
