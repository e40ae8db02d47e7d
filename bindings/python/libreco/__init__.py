"""libreco: Python binding (ctypes) of the libreco C library — RecoMind, RL for
recommendation.

Each class owns one C handle and mirrors the C object of the same name (``Model`` is
``reco_model``, ``World`` is ``reco_world``, ...); methods are thin wrappers of the
``reco_<object>_<verb>`` functions. Every negative status raises a :class:`Error` subclass
carrying the code, ``reco_error_message()`` and, where known, source/line/column/field.
See ``docs/python.md`` for installation and an example.

The shared library is found through ``LIBRECO_PATH`` (the file, or a directory holding it),
else ``ctypes.util.find_library("reco")``, else ``build*/lib`` of the source tree this
package sits in.
"""
from . import _ffi
from ._ffi import (AuditOptions, EvalOptions, ExperimentOptions, ExplorerOptions,
                   ExplorerSchedule, FitOptions, ItemsOptions, LogRow, ModelOptions,
                   PipelineOptions, QNetOptions, ReplayOptions, Rng, SimOptions,
                   TrainerOptions, WorldOptions, WorldSlotInfo)
from ._core import Record
from .audit import audit_options, audit_run, audit_world
from .config import Config, experiment_options
from .errors import (ConfigError, Error, FileError, FormatError, InvalidArgumentError,
                     NoMemoryError, StateError, VersionError, status_name, status_string)
from .errors import (EFORMAT, EINVAL, EIO, ENOMEM, ECONFIG, ERROR, ESTATE, EVERSION, OK)
from .evaluation import (EVAL_DEEP_SHARE, EVAL_DEPTH, EVAL_DEPTH_DEEP, EVAL_HIDES,
                         EVAL_LONG_WATCHES, EVAL_LONG_WATCHES_DEEP, EVAL_METRIC_NAMES,
                         EVAL_N_METRICS, EVAL_RETURN, EVAL_TOPICS, Eval, eval_concat,
                         eval_metric_name, eval_options, eval_run, eval_write_csv,
                         eval_write_json)
from .explorer import (EXPLORER_BOLTZMANN, EXPLORER_EPSILON_GREEDY, EXPLORER_GREEDY,
                       EXPLORER_TOP_K_SOFTMAX, Explorer, explorer_options, schedule)
from .items import Items, items_options
from .log import Log, fit_model, fit_options, metrics_auc, metrics_ece, metrics_log_loss
from .ope import ope
from .model import PAD, Model, Workspace, model_options
from .policy import (POLICY_MODEL_EXPLORE, POLICY_MODEL_GREEDY, POLICY_MODEL_HEAD,
                     POLICY_MODEL_SOFTMAX,
                     POLICY_POPULARITY, POLICY_RANDOM, POLICY_WEIGHTED, Policy, run_options,
                     run_sessions)
from .pipeline import (PIPELINE_BASELINE, PIPELINE_N_POLICIES, PIPELINE_POPULAR,
                       PIPELINE_REAL, PIPELINE_RANDOM, PIPELINE_RECOMIND, PIPELINE_SIM,
                       PIPELINE_WARM_START,
                       PIPELINE_WITHOUT_ELAPSED, PIPELINE_WITHOUT_ITEM, PIPELINE_WITHOUT_LONG,
                       PIPELINE_WITHOUT_POSITION, PIPELINE_WITHOUT_STATE_BIAS,
                       PIPELINE_WITHOUT_USER, Pipeline, pipeline_keys, pipeline_options,
                       run_pipeline, t_quantile)
from .qnet import QNet, qnet_options
from .replay import REPLAY_PROPORTIONAL, REPLAY_UNIFORM, Replay, replay_options
from .sim import Sim, sim_options
from .trainer import Trainer, trainer_options
from .env import (ENV_CONTINUE, ENV_EXIT, ENV_TRUNCATED, N_SIGNALS_DEFAULT, SIGNAL_NAME_MAX,
                  Env)
from .world import (SIGNAL_CLICK, SIGNAL_HIDE, SIGNAL_LIKE, SIGNAL_LONG_WATCH, WORLD_ITEM_DENSE,
                    WORLD_ITEM_DENSE_NAMES, WORLD_ITEM_FIELD_NAMES, WORLD_ITEM_FIELDS,
                    WORLD_N_PROBS, WORLD_N_SIGNALS, World, world_options, world_session_key)

__version__ = "0.1.0"
library_path = _ffi.lib_path


def version():
    """The loaded library's version string (``reco_version_string``)."""
    return _ffi.lib.reco_version_string().decode()


def version_number():
    """``reco_version()``: major * 10000 + minor * 100 + patch."""
    return _ffi.lib.reco_version()


def live_handles():
    """Handles that exist in the process (``reco_live_handles``): for leak checks."""
    return _ffi.lib.reco_live_handles()


def error_clear():
    """Forget the calling thread's recorded error (``reco_error_clear``)."""
    _ffi.lib.reco_error_clear()


def error_set(code, message=None):
    """Record an error for the calling thread (``reco_error_set``) and return its status:
    for a callback that reports a failure by returning a status rather than raising
    (e.g. ``eval_run``'s ``reset_env``: ``return libreco.error_set(libreco.EIO, "store
    offline")``), so that the libreco call fails with this message. ``code``: a negative
    status (0 or positive is recorded as ``RECO_ERROR``); ``message`` None: the status's
    description. A Python callback that raises needs none of this: the binding records the
    exception's ``"<ExcType>: <message>"`` itself and raises the exception again."""
    return _ffi.lib.reco_error_set(int(code), None if message is None else
                                   str(message).encode("utf-8", "replace"))
