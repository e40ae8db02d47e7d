"""Exceptions: every negative ``reco_status`` becomes a :class:`Error` subclass.

The exception carries what ``reco_error_get()`` recorded for the failing call on the calling
thread: ``code`` (the status), ``message`` (``reco_error_message()``), and, where the library
knows them, ``source`` (file name), 1-based ``line`` and ``column``, and ``field`` (the option
path such as ``replay.alpha``, or a CSV column name); unknown parts are ``None``.

Mistakes caught by the binding itself before any C call (a closed handle, an array of the wrong
shape, a dtype that cannot be converted without loss) raise the same classes with the code the
library would have given (``RECO_EINVAL`` or ``RECO_ESTATE``).
"""
import ctypes

from . import _ffi

OK = 0
ERROR = -1
EINVAL = -2
ENOMEM = -3
EIO = -4
EFORMAT = -5
ECONFIG = -6
EVERSION = -7
ESTATE = -8


class Error(Exception):
    """A libreco failure (``RECO_ERROR`` and any status this binding does not know)."""

    def __init__(self, code, message, source=None, line=None, column=None, field=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        self.field = field

    @property
    def status_name(self):
        """Symbolic name of :attr:`code`, e.g. ``"RECO_EINVAL"`` (``reco_status_name()``)."""
        return status_name(self.code)

    def __str__(self):
        return "%s [%s]" % (self.message, self.status_name)


class InvalidArgumentError(Error, ValueError):
    """``RECO_EINVAL``: NULL, wrong size or shape, NaN, out of range."""


class NoMemoryError(Error, MemoryError):
    """``RECO_ENOMEM``: an allocation failed or a size overflowed."""


class FileError(Error, OSError):
    """``RECO_EIO``: reading or writing a file failed."""

    def __str__(self):  # OSError would format (errno, strerror) otherwise
        return Error.__str__(self)


class FormatError(Error):
    """``RECO_EFORMAT``: malformed input file (syntax, magic, checksum, truncation)."""


class ConfigError(Error):
    """``RECO_ECONFIG``: invalid configuration (unknown key, wrong type, bad value)."""


class VersionError(Error):
    """``RECO_EVERSION``: unsupported version of an options struct or file format."""


class StateError(Error, RuntimeError):
    """``RECO_ESTATE``: not valid in the object's current state (also: a closed handle)."""


_CLASSES = {
    EINVAL: InvalidArgumentError, ENOMEM: NoMemoryError, EIO: FileError,
    EFORMAT: FormatError, ECONFIG: ConfigError, EVERSION: VersionError, ESTATE: StateError,
}


def status_name(code):
    """``reco_status_name()``: ``"RECO_EINVAL"``, ..., ``"RECO_UNKNOWN"``."""
    return _ffi.lib.reco_status_name(int(code)).decode()


def status_string(code):
    """``reco_status_string()``: a one-line description of a status code."""
    return _ffi.lib.reco_status_string(int(code)).decode()


def _s(b):
    return b.decode("utf-8", "replace") if b else None


def from_info(info, code=None):
    """The exception for a filled :class:`_ffi.ErrorInfo` (``code`` overrides its code)."""
    code = info.code if code is None else code
    cls = _CLASSES.get(code, Error)
    return cls(code, _s(info.message) or status_string(code), _s(info.source),
               info.line or None, info.column or None, _s(info.field))


def last_error(code):
    """The exception describing the calling thread's last failure, which returned ``code``."""
    info = _ffi.ErrorInfo(version=1)
    if _ffi.lib.reco_error_get(ctypes.byref(info)) != OK or info.code == 0:
        return _CLASSES.get(code, Error)(code, status_string(code))
    return from_info(info, code)


def check(rc):
    """Raise the exception for a negative status; return ``rc`` otherwise."""
    if rc < 0:
        raise last_error(rc)
    return rc


def invalid(message, field=None):
    """A binding-side ``RECO_EINVAL`` (the C call was not made)."""
    return InvalidArgumentError(EINVAL, message, field=field)
