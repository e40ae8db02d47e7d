"""Handles and NumPy marshalling shared by every wrapper (private module).

Arrays in: a C-contiguous array of the exact dtype the C function takes (``float32``,
``int32``, ``uint32``, ``uint64``, ``uint8``) is passed by pointer, no copy. Anything else
(another dtype, a strided view, a list) is converted once with ``np.ascontiguousarray``; a
conversion that would lose information (floats to an integer type, values out of range) is
refused with :class:`InvalidArgumentError`. Arrays out are new arrays, or an ``out=`` array
the caller gives, which must already have the exact dtype, shape and C-contiguous layout (it
is never converted: a copy would not be the caller's array).
"""
import ctypes
import threading
import traceback
import weakref

import numpy as np

from . import _ffi
from .errors import (ENOMEM, ERROR, ESTATE, Error, StateError, check, invalid,
                     status_name)

lib = _ffi.lib

_CTYPE = {
    np.dtype(np.float32): ctypes.c_float, np.dtype(np.float64): ctypes.c_double,
    np.dtype(np.int32): ctypes.c_int32, np.dtype(np.uint32): ctypes.c_uint32,
    np.dtype(np.uint64): ctypes.c_uint64, np.dtype(np.uint8): ctypes.c_uint8,
    np.dtype(np.int64): ctypes.c_int64,
}


def array_in(x, dtype, name, ndim=None, shape=None):
    """``x`` as a C-contiguous array of ``dtype``: no copy when it already is one."""
    dtype = np.dtype(dtype)
    if x is None:
        raise invalid("%s: None where an array is needed" % name, field=name)
    a = np.asarray(x)
    if a.dtype != dtype:
        if a.dtype.kind not in "biuf" or (dtype.kind in "iu" and a.dtype.kind == "f"):
            raise invalid("%s: dtype %s cannot be converted to %s without loss"
                          % (name, a.dtype, dtype), field=name)
        c = a.astype(dtype)
        if dtype.kind in "iu" and not np.array_equal(c.astype(np.int64), a.astype(np.int64)):
            raise invalid("%s: values out of the range of %s" % (name, dtype), field=name)
        a = c
    a = np.ascontiguousarray(a)
    if ndim is not None and a.ndim != ndim:
        raise invalid("%s: expected %d dimension(s), got shape %s" % (name, ndim, a.shape),
                      field=name)
    if shape is not None:
        for want, got in zip(shape, a.shape):
            if want is not None and want != got:
                raise invalid("%s: expected shape %s, got %s"
                              % (name, tuple("*" if s is None else s for s in shape), a.shape),
                              field=name)
    return a


def array_out(out, dtype, shape, name="out"):
    """A new array, or the caller's ``out`` checked for exact dtype, shape and layout."""
    dtype = np.dtype(dtype)
    if out is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(out, np.ndarray):
        raise invalid("%s: must be a numpy.ndarray" % name, field=name)
    if out.dtype != dtype or tuple(out.shape) != tuple(shape):
        raise invalid("%s: expected a %s array of shape %s, got %s %s"
                      % (name, dtype, tuple(shape), out.dtype, out.shape), field=name)
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise invalid("%s: must be C-contiguous and writeable" % name, field=name)
    return out


def ptr(a):
    """A typed pointer to the data of array ``a`` (NULL for None)."""
    if a is None:
        return None
    return a.ctypes.data_as(ctypes.POINTER(_CTYPE[a.dtype]))


def view(pointer, shape, dtype, owner):
    """A NumPy array over C memory (no copy) that keeps ``owner`` alive while it lives."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shape)) if len(shape) else 1
    if n == 0 or not pointer:
        return np.empty(shape, dtype=dtype)
    buf = (_CTYPE[dtype] * n).from_address(ctypes.cast(pointer, ctypes.c_void_p).value)
    buf._owner = owner  # the ctypes array is the numpy base: it holds the owner
    a = np.frombuffer(buf, dtype=dtype).reshape(shape)
    a.flags.writeable = False
    return a


def b(s):
    """A str or path as the bytes a C function takes (None stays None)."""
    if s is None:
        return None
    if isinstance(s, bytes):
        return s
    import os
    return os.fsencode(s)


def fill(struct, fields, what):
    """Set the members named in ``fields`` (a dict) on a ctypes struct; unknown names fail."""
    names = {f[0] for f in struct._fields_}
    for k, v in fields.items():
        if k not in names or k in ("version", "allocator"):
            raise invalid("%s: unknown option %r (known: %s)"
                          % (what, k, ", ".join(sorted(names - {"version", "allocator"}))),
                          field=k)
        cur = getattr(struct, k)
        if isinstance(cur, ctypes.Array):
            arr = type(cur)()
            if len(v) > len(arr):
                raise invalid("%s.%s: at most %d values" % (what, k, len(arr)), field=k)
            for i, e in enumerate(v):
                arr[i] = e
            setattr(struct, k, arr)
        elif isinstance(v, str):
            setattr(struct, k, v.encode())
        else:
            setattr(struct, k, v)
    return struct


def options(cls, init_fn, given, fields, what):
    """An options struct: ``given`` (copied) or the library's defaults, then ``fields``."""
    if given is not None:
        if not isinstance(given, cls):
            raise invalid("%s: options must be a %s" % (what, cls.__name__))
        o = cls.from_buffer_copy(given)
    else:
        o = cls()
        check(init_fn(ctypes.byref(o), _ffi.VERSIONS[cls]))
    return fill(o, fields, what)


def struct_dict(s):
    """A plain dict of a ctypes struct (nested structs and arrays converted too)."""
    out = {}
    for name, _t in s._fields_:
        v = getattr(s, name)
        if isinstance(v, ctypes.Structure):
            v = struct_dict(v)
        elif isinstance(v, ctypes.Array):
            v = [struct_dict(e) if isinstance(e, ctypes.Structure) else e for e in v]
        elif isinstance(v, bytes):
            v = v.decode()
        out[name] = v
    return out


class Handle:
    """Owner of one C handle, freed exactly once.

    ``close()`` frees it (further use raises :class:`StateError`); a ``with`` block closes it
    at its end; the garbage collector closes it if neither happened. A handle keeps alive the
    handles it borrows (a ``Sim`` its ``Model``), and closing a handle first closes the handles
    that borrow it, so the C library never sees a freed pointer.
    """

    _free = None       # the C free function (None: borrowed, nothing to free)
    _kind = "handle"

    def __init__(self, raw, parents=()):
        self._lock = threading.Lock()
        self._raw = raw
        self._parents = tuple(p for p in parents if p is not None)
        self._children = weakref.WeakSet()
        for p in self._parents:
            p._children.add(self)

    @property
    def _h(self):
        """The raw pointer, for a C call; raises :class:`StateError` once closed."""
        raw = self._raw
        if raw is None:
            raise StateError(ESTATE, "%s is closed" % self._kind)
        return raw

    @property
    def closed(self):
        """Whether :meth:`close` ran (or a handle this one borrows was closed)."""
        return self._raw is None

    def close(self):
        """Free the C handle (and close the handles borrowing it first). Idempotent."""
        lock = getattr(self, "_lock", None)
        if lock is None:  # __init__ did not run
            return
        with lock:
            raw, self._raw = self._raw, None
        if raw is None:
            return
        for child in list(self._children):
            child.close()
        if self._free is not None:
            self._free(raw)
        self._parents = ()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: never raise from __del__
            pass

    def __repr__(self):
        return "<libreco.%s %s>" % (type(self).__name__, "closed" if self.closed else
                                   "at 0x%x" % self._raw)


def create(create_fn, *args):
    """Call a ``reco_<obj>_create(&out, ...)`` function and return the raw handle."""
    out = ctypes.c_void_p()
    check(create_fn(ctypes.byref(out), *args))
    return out.value


class Record:
    """A plain snapshot of a C result struct, with attribute access (``r.loss``)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    @classmethod
    def of(cls, struct, **extra):
        d = struct_dict(struct)
        d.pop("version", None)
        d.update(extra)
        return cls(**d)

    def as_dict(self):
        return dict(self.__dict__)

    def __repr__(self):
        return "Record(%s)" % ", ".join("%s=%r" % kv for kv in self.__dict__.items())


# ---- Python callbacks called from C ---------------------------------------------------------
#
# A Python function handed to C (an env's step(), a policy's choose(), a progress or on_step
# callback, ...) never lets an exception cross into C. Its wrapper (Callbacks.wrap) catches
# it, keeps it, records "<ExcType>: <message>" with reco_error_set() for the calling thread and
# returns a negative status, so that the C call stops with that status and message. Once the
# C call has returned, the binding's wrapper of it (call()) raises the kept exception object
# itself, its type, message and traceback intact, with a note naming the libreco call.
#
# The exception is kept twice: per thread, in the frame of the C call this thread is inside
# (call() opens one), and per owner (the Callbacks of a Python env or policy), for callbacks
# that run on another thread: a trainer's generator threads call an env from C threads,
# where the thread-local frame of Trainer.run() cannot be seen.

_tls = threading.local()


def callback_status(e):
    """The status a failed callback returns for the exception ``e``: a libreco
    :class:`Error`'s own code, ``RECO_ENOMEM`` for a ``MemoryError``, else ``RECO_ERROR``."""
    code = getattr(e, "code", None) if isinstance(e, Error) else None
    if isinstance(code, int) and code < 0:
        return code
    if isinstance(e, MemoryError):
        return ENOMEM
    return ERROR


def describe(e):
    """``"<ExcType>: <message>"`` of an exception (a libreco Error without its status tag)."""
    text = e.message if isinstance(e, Error) else str(e)
    return "%s: %s" % (type(e).__name__, text) if text else type(e).__name__


def _frames():
    st = getattr(_tls, "frames", None)
    if st is None:
        st = _tls.frames = []
    return st


class Callbacks:
    """The Python callbacks of one owner (a Python env, a Python policy, or one C call's
    one-off callbacks): the first exception one of them raised, kept until :func:`call`
    raises it again."""

    def __init__(self):
        self.error = None
        self.where = None

    def _keep(self, e, where):
        if self.error is None:
            self.error, self.where = e, where
        st = getattr(_tls, "frames", None)
        if st and st[-1] is None:  # the innermost C call of this thread
            st[-1] = (e, where)

    def wrap(self, fn, where, status=True, on_error=None, user_status=False):
        """``fn`` as a function C may call. ``status=True``: the callback returns a status
        (``fn`` returning None is ``RECO_OK``); an exception is recorded with
        reco_error_set() and its status returned (:func:`callback_status`), and while one is
        kept every later call fails at once with the same message. ``status=False``: the
        callback returns something else (nothing, a key, a stop flag); an exception is kept
        and ``on_error`` returned. ``where`` names the callback in the note of the exception
        (e.g. ``"the env's step()"``)."""
        if status:
            def call(*args):
                if self.error is not None:
                    code = callback_status(self.error)
                    lib.reco_error_set(code, describe(self.error).encode("utf-8", "replace"))
                    return code
                try:
                    if user_status:
                        lib.reco_error_clear()
                    rc = fn(*args)
                    rc = 0 if rc is None else int(rc)
                    if rc < 0 and user_status and lib.reco_error_code() == 0:
                        lib.reco_error_set(rc, ("%s returned %s and recorded no message (call "
                                                "libreco.error_set() before returning an "
                                                "error)" % (where, status_name(rc))).encode())
                    return rc
                except BaseException as e:  # noqa: B902 - KeyboardInterrupt too
                    self._keep(e, where)
                    code = callback_status(e)
                    lib.reco_error_set(code, describe(e).encode("utf-8", "replace"))
                    return code
        else:
            def call(*args):
                if self.error is not None:
                    return on_error
                try:
                    return fn(*args)
                except BaseException as e:  # noqa: B902
                    self._keep(e, where)
                    return on_error
        return call


def _owners_with_errors(objs):
    """The :class:`Callbacks` holding an exception among ``objs`` and what they borrow."""
    seen, todo, found = set(), [o for o in objs if o is not None], []
    while todo:
        o = todo.pop(0)
        if id(o) in seen:
            continue
        seen.add(id(o))
        cb = o if isinstance(o, Callbacks) else getattr(o, "_cb", None)
        if isinstance(cb, Callbacks) and cb.error is not None:
            found.append(cb)
        todo.extend(getattr(o, "_parents", ()))
    return found


def call(name, fn, *args, owners=(), after=None):
    """Call the C function ``fn(*args)`` (named ``name`` in messages), whose Python
    callbacks belong to ``owners`` (Python envs and policies, handles that borrow them,
    :class:`Callbacks`). If a callback raised, that exception is raised again, with a note
    naming the callback, the C call and its status and message; else a negative status
    raises its :class:`Error` (:func:`check`). ``after(rc, raising)``, if given, runs first
    either way (e.g. to free a result the call made when ``raising``). Returns the status."""
    st = _frames()
    st.append(None)
    try:
        rc = fn(*args)
    finally:
        mine = st.pop()
    kept = _owners_with_errors(owners)
    if mine is None and kept:
        mine = (kept[0].error, kept[0].where)
    for cb in kept:  # raised now (or lost to the first): none stays pending
        cb.error = cb.where = None
    if after is not None:
        after(rc, mine is not None or rc < 0)
    if mine is None:
        return check(rc)
    e, where = mine
    if rc < 0:
        message = (lib.reco_error_message() or b"").decode("utf-8", "replace")
        ctx = "%s, which failed with %s: %s" % (name, status_name(rc), message)
    else:
        ctx = "%s, which returned %s" % (name, status_name(rc) if rc == 0 else rc)
    if hasattr(e, "add_note"):
        e.add_note("libreco: raised in %s, called by %s" % (where, ctx))
    # The callback's frames may hold NumPy views of C buffers that no longer exist (a
    # policy's states): keep the traceback's lines, drop those frames' locals.
    traceback.clear_frames(e.__traceback__)
    raise e
