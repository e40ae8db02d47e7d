"""``reco_items``: the item table (dense and categorical features of every catalog item)."""
import ctypes

import numpy as np

from . import _ffi
from ._core import Handle, array_in, b, check, create, invalid, lib, options, ptr, view
from .errors import from_info


def items_options(options_=None, **fields):
    """An :class:`ItemsOptions`: ``options_`` copied, or the defaults, then ``fields``."""
    return options(_ffi.ItemsOptions, lib.reco_items_options_init, options_, fields, "items")


def _names(names, what):
    """A ``const char *const *`` of ``names`` (kept alive by the caller), or None."""
    if names is None:
        return None
    names = [b(s) for s in names]
    if any(not isinstance(s, bytes) for s in names):
        raise invalid("%s: names must be strings" % what, field=what)
    return (ctypes.c_char_p * len(names))(*names)


class Items(Handle):
    """The features of every item of a catalog (``reco_items``): ``n_dense`` floats and
    ``n_fields`` categorical values per item, the arrays :meth:`Model.set_item_features`
    takes.

    ``Items(n_items=1000, dense_names=["quality", "length"], field_names=["topic"],
    field_sizes=[20])``: the schema (``reco_items_options``); ``n_dense`` and ``n_fields``
    default to the lengths of the names and sizes given (unnamed columns are ``d0``,
    ``d1``, ... and ``f0``, ...). Every item starts unknown (dense 0, fields -1).
    """

    _free = lib.reco_items_free
    _kind = "Items"

    def __init__(self, n_items=None, dense_names=None, field_names=None, field_sizes=None,
                 n_dense=None, n_fields=None, options=None):
        o = items_options(options)
        keep = []
        # the C side reads as many names and sizes as the counts say: they must agree
        for n, names, what in ((n_dense, dense_names, "n_dense"),
                               (n_fields, field_names, "n_fields"),
                               (n_fields, field_sizes, "n_fields")):
            if n is not None and names is not None and int(n) != len(names):
                raise invalid("items: %s is %d but %d names or sizes were given"
                              % (what, n, len(names)), field=what)
        if n_items is not None:
            o.n_items = n_items
        if dense_names is not None:
            keep.append(_names(dense_names, "dense_names"))
            o.dense_names = keep[-1]
            o.n_dense = len(dense_names)
        if n_dense is not None:
            o.n_dense = n_dense
        if field_sizes is not None:
            sizes = array_in(field_sizes, np.uint32, "field_sizes", ndim=1)
            keep.append(sizes)
            o.field_sizes = ptr(sizes)
            o.n_fields = sizes.shape[0]
        if field_names is not None:
            keep.append(_names(field_names, "field_names"))
            o.field_names = keep[-1]
            if field_sizes is None:
                o.n_fields = len(field_names)
            elif len(field_names) != o.n_fields:
                raise invalid("items: %d field names for %d field sizes"
                              % (len(field_names), o.n_fields), field="field_names")
        if n_fields is not None:
            o.n_fields = n_fields
        super().__init__(create(lib.reco_items_create, ctypes.byref(o)))

    # ---- the schema ----------------------------------------------------------------------
    n_items = property(lambda self: lib.reco_items_n_items(self._h),
                       doc="Catalog size (``reco_items_n_items``).")
    n_dense = property(lambda self: lib.reco_items_n_dense(self._h),
                       doc="Dense features per item (``reco_items_n_dense``).")
    n_fields = property(lambda self: lib.reco_items_n_fields(self._h),
                        doc="Categorical fields per item (``reco_items_n_fields``).")
    n_known = property(lambda self: lib.reco_items_n_known(self._h),
                       doc="Items given so far (``reco_items_n_known``).")
    n_rejected = property(lambda self: lib.reco_items_n_rejected(self._h),
                          doc="Lines the last lenient CSV load rejected "
                              "(``reco_items_n_rejected``).")

    def __len__(self):
        return self.n_items

    @property
    def dense_names(self):
        """The dense columns' names (``reco_items_dense_name``)."""
        h = self._h
        return [lib.reco_items_dense_name(h, k).decode() for k in range(self.n_dense)]

    @property
    def field_names(self):
        """The categorical columns' names (``reco_items_field_name``)."""
        h = self._h
        return [lib.reco_items_field_name(h, k).decode() for k in range(self.n_fields)]

    @property
    def field_sizes(self):
        """(n_fields,) uint32: the number of values of each field (``reco_items_field_size``)."""
        h = self._h
        return np.array([lib.reco_items_field_size(h, k) for k in range(self.n_fields)],
                        np.uint32)

    def model_options(self):
        """The model options that take this table's features: a dict of ``item_dense_dim``,
        ``item_n_fields`` and ``item_field_sizes``, e.g. ``Model(n_items=N,
        **items.model_options())``."""
        return {"item_dense_dim": self.n_dense, "item_n_fields": self.n_fields,
                "item_field_sizes": [int(x) for x in self.field_sizes]}

    # ---- the values ----------------------------------------------------------------------
    def dense(self, copy=True):
        """(n_items, n_dense) float32, 0 for unknown items (``reco_items_dense``).
        ``copy=False``: a read-only view of the table's memory, valid until it next changes
        (load, set, reset)."""
        a = view(lib.reco_items_dense(self._h), (self.n_items, self.n_dense), np.float32, self)
        return a.copy() if copy else a

    def fields(self, copy=True):
        """(n_items, n_fields) int32, each in ``[0, size)`` or -1 for unknown
        (``reco_items_fields``). ``copy=False`` as in :meth:`dense`."""
        a = view(lib.reco_items_fields(self._h), (self.n_items, self.n_fields), np.int32, self)
        return a.copy() if copy else a

    def is_known(self, item):
        """Whether ``item`` was given (``reco_items_is_known``)."""
        return bool(lib.reco_items_is_known(self._h, int(item)))

    def set(self, item, dense=None, fields=None):
        """Give the features of one item (``reco_items_set``): ``dense`` (n_dense,) finite
        floats (None: zeros), ``fields`` (n_fields,) values in ``[0, size)`` or -1 (None: all
        unknown)."""
        d = None if dense is None else array_in(dense, np.float32, "dense",
                                                shape=(self.n_dense,), ndim=1)
        f = None if fields is None else array_in(fields, np.int32, "fields",
                                                 shape=(self.n_fields,), ndim=1)
        check(lib.reco_items_set(self._h, int(item), ptr(d), ptr(f)))

    def set_all(self, dense=None, fields=None):
        """Give the features of every item: ``dense`` (n_items, n_dense), ``fields``
        (n_items, n_fields) (e.g. ``World.item_features()``), one :meth:`set` per item,
        after checking the shapes. Every item becomes known."""
        n = self.n_items
        d = None if dense is None else array_in(dense, np.float32, "dense", ndim=2,
                                                shape=(n, self.n_dense))
        f = None if fields is None else array_in(fields, np.int32, "fields", ndim=2,
                                                 shape=(n, self.n_fields))
        h = self._h
        for i in range(n):
            check(lib.reco_items_set(h, i, None if d is None else ptr(d[i]),
                                     None if f is None else ptr(f[i])))
        return self

    def reset(self):
        """Every item unknown again (``reco_items_reset``)."""
        lib.reco_items_reset(self._h)

    # ---- files ---------------------------------------------------------------------------
    def load_csv(self, path, lenient=False, max_rejections=100):
        """Replace the contents with a CSV file (``reco_items_load_csv``); a bad line raises
        :class:`FormatError` with the file, line, column and column name (strict), or is
        rejected and counted (``lenient``: see :meth:`rejections`)."""
        lo = _ffi.ItemsLoadOptions(version=_ffi.VERSIONS[_ffi.ItemsLoadOptions],
                                   lenient=int(bool(lenient)), max_rejections=max_rejections)
        check(lib.reco_items_load_csv(self._h, b(path), ctypes.byref(lo)))
        return self

    def save_csv(self, path):
        """The known items as canonical CSV, atomically (``reco_items_save_csv``)."""
        check(lib.reco_items_save_csv(self._h, b(path)))

    def save(self, path):
        """Binary, checksummed, atomically (``reco_items_save``)."""
        check(lib.reco_items_save(self._h, b(path)))

    def load(self, path):
        """Replace the contents with a binary file of the same schema (``reco_items_load``)."""
        check(lib.reco_items_load(self._h, b(path)))
        return self

    def rejections(self):
        """The kept rejections of the last lenient CSV load, as :class:`FormatError`
        objects with source, line, column and field (``reco_items_rejection``)."""
        out = []
        for i in range(lib.reco_items_n_rejections(self._h)):
            info = _ffi.ErrorInfo(version=_ffi.VERSIONS[_ffi.ErrorInfo])
            check(lib.reco_items_rejection(ctypes.byref(info), self._h, i))
            out.append(from_info(info))
        return out


__all__ = ["Items", "items_options"]
