"""Every struct the binding mirrors has the C compiler's size, field offsets and version."""
import ctypes
import json

from libreco import _ffi

from conftest import ref_helper


def _structs():
    return {k: v for k, v in vars(_ffi).items()
            if isinstance(v, type) and issubclass(v, ctypes.Structure)
            and v.__module__ == _ffi.__name__}


def test_every_struct_matches_c():
    c = json.loads(ref_helper("layout"))
    py = _structs()
    assert sorted(c) == sorted(py), "ref_helper.c and _ffi.py list different structs"
    for name, cls in py.items():
        assert ctypes.sizeof(cls) == c[name]["size"], name
        offs = {f: getattr(cls, f).offset for f, _ in cls._fields_}
        assert offs == c[name]["offsets"], name


def test_every_version_matches_c():
    """``_ffi.VERSIONS`` holds the header's current version of every versioned struct: a
    version bump in C that is not repeated here (so that options are initialised, and
    results read, at an old version that ignores the new fields) fails."""
    c = json.loads(ref_helper("versions"))
    versioned = {name for name, cls in _structs().items() if cls._fields_[0][0] == "version"}
    assert sorted(c) == sorted(versioned), "ref_helper.c lists other versioned structs"
    assert {cls.__name__: v for cls, v in _ffi.VERSIONS.items()} == c


def test_every_prototype_exists_and_versions_known():
    for name in _ffi._PROTOTYPES:
        assert _ffi.has(name), name
    assert not _ffi.has("reco_no_such_function")
