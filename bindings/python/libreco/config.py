"""``reco_config``: YAML in, typed option structs out, YAML back."""
import ctypes

from . import _ffi
from ._core import Handle, b, check, create, invalid, lib, options

_SECTIONS = {
    # name: (struct, get, set)
    "experiment": (_ffi.ExperimentOptions, lib.reco_config_get_experiment,
                   lib.reco_config_set_experiment),
    "world": (_ffi.WorldOptions, lib.reco_config_get_world, lib.reco_config_set_world),
    "qnet": (_ffi.QNetOptions, lib.reco_config_get_qnet, lib.reco_config_set_qnet),
    "replay": (_ffi.ReplayOptions, lib.reco_config_get_replay, lib.reco_config_set_replay),
    "explorer": (_ffi.ExplorerOptions, lib.reco_config_get_explorer,
                 lib.reco_config_set_explorer),
    "trainer": (_ffi.TrainerOptions, lib.reco_config_get_trainer, lib.reco_config_set_trainer),
    "sim": (_ffi.SimOptions, lib.reco_config_get_sim, lib.reco_config_set_sim),
    "fit": (_ffi.FitOptions, lib.reco_config_get_fit, lib.reco_config_set_fit),
    "model": (_ffi.ModelOptions, lib.reco_config_get_model, lib.reco_config_set_model),
    "pipeline": (_ffi.PipelineOptions, lib.reco_config_get_pipeline,
                 lib.reco_config_set_pipeline),
}


# reco_config_origin_kind
_ORIGIN_KINDS = {0: "default", 1: "file", 2: "set", 3: "struct"}


def _own_strings(s):
    """Replace borrowed ``char *`` members by copies the struct owns."""
    for name, t in s._fields_:
        if t is ctypes.c_char_p:
            v = getattr(s, name)
            setattr(s, name, None if v is None else bytes(v))
    return s


class Config(Handle):
    """A configuration: a value for every option the library reads (``reco_config``).

    ``Config()`` holds the defaults; ``Config(path)`` loads a YAML file. Loading is strict:
    problems raise :class:`ConfigError` or :class:`FormatError` with ``source``, ``line``,
    ``column`` and ``field`` set.
    """

    _free = lib.reco_config_free
    _kind = "Config"

    def __init__(self, path=None):
        super().__init__(create(lib.reco_config_create, None))
        if path is not None:
            self.load_file(path)

    def load_file(self, path):
        """Replace every value by the defaults plus the YAML file (``reco_config_load_file``)."""
        check(lib.reco_config_load_file(self._h, b(path)))
        return self

    def load_string(self, yaml, source_name=None):
        """As :meth:`load_file`, from text (``reco_config_load_string``)."""
        data = yaml.encode() if isinstance(yaml, str) else bytes(yaml)
        check(lib.reco_config_load_string(self._h, data, len(data), b(source_name)))
        return self

    def set(self, path, value):
        """Set one option (or a mapping of them) from text, e.g. ``set("experiment.seed", "7")``."""
        check(lib.reco_config_set(self._h, b(path), b(str(value))))
        return self

    def reset(self):
        """Back to the defaults (``reco_config_reset``)."""
        lib.reco_config_reset(self._h)

    def write_file(self, path):
        """Write the effective configuration as YAML, atomically (``reco_config_write_file``)."""
        check(lib.reco_config_write_file(self._h, b(path)))

    def write_string(self):
        """The effective configuration as YAML text (``reco_config_write_string``)."""
        n = ctypes.c_size_t()
        # the size query: RECO_EINVAL ("buffer too small") with the length set, as documented
        rc = lib.reco_config_write_string(self._h, None, 0, ctypes.byref(n))
        if rc < 0 and n.value == 0:
            check(rc)
        lib.reco_error_clear()
        buf = ctypes.create_string_buffer(n.value + 1)
        check(lib.reco_config_write_string(self._h, buf, n.value + 1, None))
        return buf.value.decode()

    def origin(self, path):
        """Where option ``path`` was given (``reco_config_get_origin``): a dict with ``kind``
        (``"default"``, ``"file"``, ``"set"`` or ``"struct"``), ``source`` (the file name, the
        ``path=value`` of :meth:`set`, or the C setter's name; ``""`` for a default) and the
        1-based ``line`` and ``column`` of the option's key in a file (0 otherwise)."""
        out = _ffi.ConfigOrigin(version=_ffi.VERSIONS[_ffi.ConfigOrigin])
        check(lib.reco_config_get_origin(ctypes.byref(out), self._h, b(path)))
        return {"kind": _ORIGIN_KINDS.get(out.kind, str(out.kind)),
                "source": out.source.decode(), "line": out.line, "column": out.column}

    def get(self, section):
        """One section as its options struct (``reco_config_get_<section>``), strings copied."""
        cls, get, _ = _SECTIONS[section]
        out = cls(version=_ffi.VERSIONS[cls])
        check(get(ctypes.byref(out), self._h))
        return _own_strings(out)

    def put(self, section, opts):
        """Replace one section from its options struct (``reco_config_set_<section>``)."""
        cls, _, put = _SECTIONS[section]
        check(put(self._h, ctypes.byref(opts)))
        return self

    # reco_config_get_<section> / reco_config_set_<section>, by name
    def get_experiment(self):
        return self.get("experiment")

    def get_world(self):
        return self.get("world")

    def get_qnet(self):
        return self.get("qnet")

    def get_replay(self):
        return self.get("replay")

    def get_explorer(self):
        return self.get("explorer")

    def get_trainer(self):
        return self.get("trainer")

    def get_sim(self):
        return self.get("sim")

    def get_fit(self):
        return self.get("fit")

    def get_model(self):
        return self.get("model")

    def get_pipeline(self):
        """The ``pipeline`` section (``reco_config_get_pipeline``): the settings of an
        experiment that do not depend on the environment; ``reward[:n_reward]`` holds the
        weights (``libreco.pipeline_options`` makes one)."""
        return self.get("pipeline")

    def set_experiment(self, opts):
        return self.put("experiment", opts)

    def set_world(self, opts):
        return self.put("world", opts)

    def set_qnet(self, opts):
        return self.put("qnet", opts)

    def set_replay(self, opts):
        return self.put("replay", opts)

    def set_explorer(self, opts):
        return self.put("explorer", opts)

    def set_trainer(self, opts):
        return self.put("trainer", opts)

    def set_sim(self, opts):
        return self.put("sim", opts)

    def set_fit(self, opts):
        return self.put("fit", opts)

    def set_model(self, opts):
        return self.put("model", opts)

    def set_pipeline(self, opts):
        """Set the ``pipeline`` section, validated as a file would be.

        ``opts`` a dict (``{"candidates": 24, "reward": [0.2, 1.0], "bootstrap":
        "uniform"}``): only the keys it names are set, each as :meth:`set` would
        (``reco_config_set``), and the others keep their values and origins. ``opts`` a
        :class:`PipelineOptions` (``libreco.pipeline_options(...)``): the whole section is
        replaced (``reco_config_set_pipeline``); the keys whose values it changes count as
        given (a run on an environment refuses each one that differs from the
        environment's declaration), the others keep their origins."""
        if isinstance(opts, dict):
            names = [f for f, _t in _ffi.PipelineOptions._fields_
                     if f not in ("version", "n_reward")]
            for k in opts:
                if k not in names:
                    raise invalid("pipeline: unknown key %r (known: %s)"
                                  % (k, ", ".join(names)), field="pipeline.%s" % k)
            for k, v in opts.items():
                self.set("pipeline." + k, _yaml_value(v))
            return self
        return self.put("pipeline", opts)


def _yaml_value(v):
    """A Python value as the YAML text reco_config_set() takes."""
    if hasattr(v, "tolist"):    # a NumPy array or scalar
        v = v.tolist()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[%s]" % ", ".join(_yaml_value(x) for x in v)
    if isinstance(v, float):
        return repr(v)
    return str(v)


def experiment_options(**fields):
    """Default :class:`ExperimentOptions` (``reco_experiment_options_init``) with ``fields``."""
    return options(_ffi.ExperimentOptions, lib.reco_experiment_options_init, None, fields,
                   "experiment")
