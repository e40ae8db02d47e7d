"""Every struct the binding mirrors has the C compiler's size and field offsets."""
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


def test_every_prototype_exists_and_versions_known():
    for name in _ffi._PROTOTYPES:
        assert _ffi.has(name), name
    assert not _ffi.has("reco_no_such_function")
