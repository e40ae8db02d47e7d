"""Loading libreco and declaring its C API for ctypes (private module).

Every struct here mirrors one of ``include/reco/*.h`` field for field; the test
``tests/test_layout.py`` compares each one's size and field offsets with what the C compiler
gives, and ``VERSIONS`` with the headers' ``*_VERSION`` macros, so a header change that is
not repeated here fails the suite.  Every function the
binding calls is declared with its ``argtypes`` and ``restype`` in ``_PROTOTYPES``.
"""
import ctypes
import ctypes.util
import glob
import os

from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_float, c_int,
                    c_int32, c_int64, c_size_t, c_uint, c_uint8, c_uint32, c_uint64,
                    c_void_p)

__all__ = ["lib", "lib_path"]

_HERE = os.path.dirname(os.path.abspath(__file__))


def _candidates():
    """Where to look for the shared library, in order."""
    env = os.environ.get("LIBRECO_PATH")
    if env:
        if os.path.isdir(env):
            found = sorted(glob.glob(os.path.join(env, "libreco.so*")) +
                           glob.glob(os.path.join(env, "lib", "libreco.so*")))
            yield from found
            return
        yield env
        return
    name = ctypes.util.find_library("reco")
    if name:
        yield name
    # Run from the source tree: bindings/python/libreco -> <root>/build*/lib/libreco.so
    root = os.path.abspath(os.path.join(_HERE, "..", "..", ".."))
    for build in sorted(glob.glob(os.path.join(root, "build*"))):
        for so in ("libreco.so.0", "libreco.so"):
            path = os.path.join(build, "lib", so)
            if os.path.exists(path):
                yield path


def _load():
    tried = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise ImportError("libreco: cannot load the shared library; set LIBRECO_PATH to "
                      "libreco.so (or its directory). Tried: " + ("; ".join(tried) or "nothing"))


lib, lib_path = _load()

# ---- plain types -------------------------------------------------------------------------
c_enum = c_int  # C enums with values in int range are int-sized on every ABI we target

P_i32, P_u32, P_u64, P_u8 = POINTER(c_int32), POINTER(c_uint32), POINTER(c_uint64), POINTER(c_uint8)
P_f32, P_f64, P_size = POINTER(c_float), POINTER(c_double), POINTER(c_size_t)


class Handle(c_void_p):
    """Any opaque handle pointer (reco_model *, reco_world *, ...)."""


P_handle = POINTER(c_void_p)


# ---- structs (same order and types as the headers) ---------------------------------------
class ErrorInfo(Structure):
    _fields_ = [("version", c_uint), ("code", c_int), ("message", c_char_p),
                ("source", c_char_p), ("line", c_uint32), ("column", c_uint32),
                ("field", c_char_p)]


class Rng(Structure):
    _fields_ = [("s", c_uint64 * 4)]


class ModelOptions(Structure):
    _fields_ = [("version", c_uint), ("allocator", c_void_p), ("n_items", c_uint32),
                ("dim", c_uint32), ("lookback", c_uint32), ("n_blocks", c_uint32),
                ("n_heads", c_uint32), ("ffn_dim", c_uint32), ("n_signals", c_uint32),
                ("user_dim", c_uint32), ("seed", c_uint64), ("init_std", c_float),
                ("max_batch", c_uint32), ("max_candidates", c_uint32), ("threads", c_uint32),
                ("lr", c_float), ("beta1", c_float), ("beta2", c_float), ("adam_eps", c_float),
                ("weight_decay", c_float), ("clip_norm", c_float),
                # version 2
                ("position", c_int), ("elapsed", c_int), ("long_len", c_uint32),
                ("item_dense_dim", c_uint32), ("item_n_fields", c_uint32),
                ("item_field_sizes", c_uint32 * 8), ("state_bias", c_int),
                # version 3
                ("deterministic", c_int)]


class Batch(Structure):
    _fields_ = [("version", c_uint), ("size", c_uint32), ("items", P_i32),
                ("feedback", P_u32), ("user_features", P_f32), ("n_candidates", c_uint32),
                ("candidates", P_i32), ("shared_candidates", c_int),
                # version 2
                ("steps", P_u32), ("elapsed", P_f32), ("long_items", P_i32),
                ("long_feedback", P_u32)]


ENV_RESET = CFUNCTYPE(c_int, P_u32, P_u64, c_uint32, c_void_p)
ENV_OBSERVE = CFUNCTYPE(c_int, P_i32, P_u32, P_f32, P_u32, c_uint32, c_void_p)
ENV_CANDIDATES = CFUNCTYPE(c_int, P_i32, P_u32, c_uint32, P_u32, c_uint32, c_void_p)
ENV_STEP = CFUNCTYPE(c_int, P_u32, P_f32, POINTER(c_int), P_u32, P_i32, c_uint32, c_void_p)
ENV_CONTEXT = CFUNCTYPE(c_int, P_u32, P_f32, P_i32, P_u32, P_u32, c_uint32, c_void_p)
ENV_PROBABILITIES = CFUNCTYPE(c_int, P_f32, P_u32, P_i32, c_uint32, c_void_p)


class Env(Structure):
    _fields_ = [("version", c_uint), ("n_items", c_uint32), ("n_signals", c_uint32),
                ("lookback", c_uint32), ("user_dim", c_uint32), ("max_sessions", c_uint32),
                ("reset", c_void_p), ("observe", c_void_p), ("candidates", c_void_p),
                ("step", c_void_p), ("payload", c_void_p), ("save_state", c_void_p),
                ("load_state", c_void_p),
                # version 3
                ("long_len", c_uint32), ("context", c_void_p), ("probabilities", c_void_p),
                # version 4
                ("signal_names", c_void_p), ("reward_weights", c_void_p),
                ("max_candidates", c_uint32), ("max_steps", c_uint32)]


_WORLD_DOUBLES = (
    "topic_zipf quality_alpha quality_beta clickbait_alpha clickbait_beta popularity_sigma "
    "popularity_quality popularity_clickbait popular_candidate_share interest_concentration "
    "history_interest_share satisfaction_mean satisfaction_sd light_share heavy_share "
    "exit_light exit_regular exit_heavy click_bias click_interest click_clickbait "
    "click_fatigue click_repeat watch_bias watch_quality watch_interest watch_clickbait "
    "watch_fatigue like_bias like_quality like_interest like_clickbait hide_bias "
    "hide_interest hide_clickbait hide_fatigue satisfaction_decay satisfaction_watch_quality "
    "satisfaction_watch_clickbait satisfaction_like satisfaction_bounce "
    "satisfaction_bounce_clickbait satisfaction_hide satisfaction_skip fatigue_decay "
    "exit_satisfaction exit_fatigue reward_click reward_long_watch reward_like "
    "reward_hide").split()


class WorldOptions(Structure):
    _fields_ = ([("version", c_uint), ("allocator", c_void_p), ("seed", c_uint64),
                 ("n_users", c_uint32), ("n_items", c_uint32), ("n_topics", c_uint32),
                 ("lookback", c_uint32), ("history_len", c_uint32), ("n_candidates", c_uint32),
                 ("max_session_len", c_uint32), ("max_sessions", c_uint32)] +
                [(name, c_double) for name in _WORLD_DOUBLES] +
                [("exclude_seen", c_int),
                 ("carry_history", c_int), ("long_len", c_uint32), ("user_features", c_int),
                 ("user_feature_noise", c_double), ("item_feature_noise", c_double),
                 ("seconds_base", c_double), ("seconds_click", c_double),
                 ("seconds_long_watch", c_double), ("seconds_like", c_double)])


class WorldSlotInfo(Structure):
    _fields_ = [("version", c_uint), ("key", c_uint64), ("steps", c_uint32), ("status", c_int),
                ("exited", c_int), ("segment", c_uint32), ("satisfaction", c_double),
                ("max_fatigue", c_double)]


class ExperimentOptions(Structure):
    _fields_ = [("version", c_uint), ("name", c_char_p), ("seed", c_uint64),
                ("threads", c_uint32), ("time_limit_s", c_double), ("deterministic", c_int),
                ("verbosity", c_enum), ("output_dir", c_char_p), ("n_formats", c_uint32),
                ("formats", c_enum * 8), ("n_seeds", c_uint32), ("seeds", c_uint64 * 32),
                ("logging_policy", c_enum), ("logging_popularity_power", c_double),
                ("logging_bootstrap_interactions", c_uint64), ("logging_interactions", c_uint64),
                ("logging_interactions_per_user", c_uint32), ("logging_temperature", c_double),
                ("eval_sessions", c_uint32), ("eval_deep_depth", c_uint32),
                ("eval_confidence", c_double)]


class ConfigOptions(Structure):
    _fields_ = [("version", c_uint), ("allocator", c_void_p)]


class ConfigOrigin(Structure):
    _fields_ = [("version", c_uint), ("kind", c_enum), ("source", c_char_p),
                ("line", c_uint32), ("column", c_uint32)]


class LogOptions(Structure):
    _fields_ = [("version", c_uint), ("allocator", c_void_p), ("n_signals", c_uint32),
                ("signal_names", POINTER(c_char_p)),
                # version 2
                ("user_dim", c_uint32), ("user_feature_names", POINTER(c_char_p)),
                ("propensity", c_int), ("oracle", c_int),
                # version 3
                ("max_candidates", c_uint32)]


class LogLoadOptions(Structure):
    _fields_ = [("version", c_uint), ("lenient", c_int), ("n_items", c_uint32),
                ("max_rejections", c_uint32)]


class LogRow(Structure):
    _fields_ = [("version", c_uint), ("user", c_uint64), ("session", c_uint64),
                ("step", c_uint32), ("timestamp", c_int64), ("item", c_int32),
                ("feedback", c_uint32), ("exit", c_int),
                # version 2
                ("user_features", P_f32), ("propensity", c_float), ("oracle", c_float * 17),
                # version 3
                ("n_candidates", c_uint32), ("candidates", P_i32)]


class LogColumns(Structure):
    _fields_ = [("version", c_uint), ("n_rows", c_size_t), ("users", P_u64),
                ("sessions", P_u64), ("steps", P_u32), ("timestamps", POINTER(c_int64)),
                ("items", P_i32), ("feedback", P_u32), ("exits", P_u8),
                # version 2
                ("propensity", P_f32), ("user_features", P_f32), ("oracle", P_f32),
                # version 3
                ("max_candidates", c_uint32), ("candidate_counts", P_u32),
                ("candidates", P_i32)]


class ItemsOptions(Structure):
    _fields_ = [("version", c_uint), ("allocator", c_void_p), ("n_items", c_uint32),
                ("n_dense", c_uint32), ("dense_names", POINTER(c_char_p)),
                ("n_fields", c_uint32), ("field_names", POINTER(c_char_p)),
                ("field_sizes", P_u32)]


class ItemsLoadOptions(Structure):
    _fields_ = [("version", c_uint), ("lenient", c_int), ("max_rejections", c_uint32)]


class LogPolicy(Structure):
    _fields_ = [("version", c_uint), ("kind", c_enum), ("item_weights", P_f32),
                ("n_item_weights", c_uint32), ("model", c_void_p), ("signal_weights", P_f32),
                ("temperature", c_float)]


SESSION_KEY_FN = CFUNCTYPE(c_uint64, c_uint64, c_uint64, c_void_p)


class LogGenerateOptions(Structure):
    _fields_ = [("version", c_uint), ("n_sessions", c_uint64), ("n_interactions", c_uint64),
                ("users", P_u64), ("n_users", c_uint64), ("first_user", c_uint64),
                ("max_candidates", c_uint32), ("max_steps", c_uint32), ("parallel", c_uint32),
                ("seed", c_uint64), ("start_time", c_int64), ("session_interval", c_int64),
                ("step_interval", c_int64), ("session_key", c_void_p),
                ("session_key_payload", c_void_p)]


FIT_MAX_OUTPUTS = 17


class FitMetrics(Structure):
    _fields_ = [("log_loss", c_double), ("auc", c_double), ("ece", c_double),
                ("mean_prediction", c_double)]


class FitEpoch(Structure):
    _fields_ = [("version", c_uint), ("epoch", c_uint32), ("n_outputs", c_uint32),
                ("n_examples", c_uint64), ("train_loss", c_double), ("valid_loss", c_double),
                ("improved", c_int), ("seconds", c_double),
                ("model", FitMetrics * FIT_MAX_OUTPUTS)]


FIT_PROGRESS_FN = CFUNCTYPE(c_int, POINTER(FitEpoch), c_void_p)


class FitOptions(Structure):
    _fields_ = [("version", c_uint), ("epochs", c_uint32), ("batch_size", c_uint32),
                ("lr", c_double), ("patience", c_uint32), ("min_delta", c_double),
                ("seed", c_uint64), ("checkpoint", c_char_p),
                ("max_examples_per_epoch", c_uint64), ("popularity_prior", c_double),
                ("progress", c_void_p), ("payload", c_void_p)]


class FitReport(Structure):
    _fields_ = [("version", c_uint), ("n_outputs", c_uint32), ("epochs_run", c_uint32),
                ("best_epoch", c_uint32), ("stopped_early", c_int), ("cancelled", c_int),
                ("n_train", c_uint64), ("n_valid", c_uint64), ("best_valid_loss", c_double),
                ("train_rate", c_double * FIT_MAX_OUTPUTS),
                ("valid_rate", c_double * FIT_MAX_OUTPUTS),
                ("model", FitMetrics * FIT_MAX_OUTPUTS),
                ("global_rate", FitMetrics * FIT_MAX_OUTPUTS),
                ("popularity", FitMetrics * FIT_MAX_OUTPUTS),
                ("history_cap", c_uint32), ("train_loss", P_f64), ("valid_loss", P_f64),
                # version 2
                ("has_oracle", c_int), ("oracle", FitMetrics * FIT_MAX_OUTPUTS),
                ("n_gaps", c_uint64), ("step_seconds_base", c_double),
                ("step_seconds", c_double * 16), ("exit_tilt", c_double * 16)]


class SimOptions(Structure):
    _fields_ = [("version", c_uint), ("allocator", c_void_p), ("seed", c_uint64),
                ("max_sessions", c_uint32), ("max_session_len", c_uint32),
                ("n_candidates", c_uint32), ("reward", c_float * 16),
                ("parent", c_int32 * 16), ("parent_value", c_int32 * 16),
                ("exclude_seen", c_int), ("expected_reward", c_int),
                ("item_penalty", c_void_p),
                # version 3
                ("seconds_base", c_float), ("seconds", c_float * 16),
                ("candidate_weights", c_void_p), ("candidate_weight_share", c_float),
                ("exit_tilt", c_float * 16),
                # version 4
                ("imitate", c_void_p),
                # version 5
                ("ensemble", c_void_p), ("ensemble_size", c_uint32), ("pessimism", c_float)]


class QNetOptions(Structure):
    _fields_ = [("version", c_uint), ("allocator", c_void_p), ("model", POINTER(ModelOptions)),
                ("gamma", c_float), ("huber_delta", c_float), ("target_period", c_uint32),
                ("tau", c_float), ("priority_eps", c_float), ("max_abs_q", c_float),
                ("max_loss", c_float), ("keep_last_good", c_int),
                # version 2
                ("conservative_alpha", c_float)]


class QNetBatch(Structure):
    _fields_ = [("version", c_uint), ("size", c_uint32), ("state_items", P_i32),
                ("state_feedback", P_u32), ("actions", P_i32), ("rewards", P_f32),
                ("next_items", P_i32), ("next_feedback", P_u32), ("done", P_u8),
                ("weights", P_f32), ("state_user_features", P_f32),
                ("next_user_features", P_f32), ("n_candidates", c_uint32),
                ("candidates", P_i32), ("shared_candidates", c_int),
                # version 2
                ("state_steps", P_u32), ("next_steps", P_u32), ("state_elapsed", P_f32),
                ("next_elapsed", P_f32), ("long_items", P_i32), ("long_feedback", P_u32)]


class QNetUpdateInfo(Structure):
    _fields_ = [("version", c_uint), ("loss", c_double), ("mean_q", c_double),
                ("mean_target", c_double), ("mean_abs_td", c_double), ("max_abs_q", c_double),
                ("grad_norm", c_double), ("n_updates", c_uint64), ("target_synced", c_int)]


class ReplayOptions(Structure):
    _fields_ = [("version", c_uint), ("allocator", c_void_p), ("capacity", c_uint64),
                ("record_capacity", c_uint64), ("lookback", c_uint32), ("kind", c_uint32),
                ("seed", c_uint64), ("alpha", c_float), ("beta0", c_float),
                ("beta_final", c_float), ("beta_steps", c_uint64), ("priority_eps", c_float),
                ("initial_priority", c_float),
                # version 2
                ("context", c_int), ("user_dim", c_uint32), ("long_len", c_uint32),
                ("segment_capacity", c_uint64)]


class ReplaySegment(Structure):
    _fields_ = [("version", c_uint), ("history_len", c_uint32), ("history_items", P_i32),
                ("history_feedback", P_u32), ("n_steps", c_uint32), ("items", P_i32),
                ("feedback", P_u32), ("rewards", P_f32), ("ends_session", c_int),
                ("priorities", P_f32),
                # version 2
                ("first_step", c_uint32), ("elapsed", P_f32), ("user_dim", c_uint32),
                ("user_features", P_f32), ("long_len", c_uint32), ("long_items", P_i32),
                ("long_feedback", P_u32)]


class ReplayBatch(Structure):
    _fields_ = [("version", c_uint), ("indices", P_u64), ("state_items", P_i32),
                ("state_feedback", P_u32), ("actions", P_i32), ("rewards", P_f32),
                ("next_items", P_i32), ("next_feedback", P_u32), ("done", P_u8),
                ("weights", P_f32), ("probabilities", P_f32),
                # version 2
                ("user_features", P_f32), ("state_steps", P_u32), ("next_steps", P_u32),
                ("state_elapsed", P_f32), ("next_elapsed", P_f32), ("long_items", P_i32),
                ("long_feedback", P_u32)]


class ReplayStats(Structure):
    _fields_ = [("version", c_uint), ("size", c_uint64), ("capacity", c_uint64),
                ("records", c_uint64), ("record_capacity", c_uint64),
                ("oldest_index", c_uint64), ("next_index", c_uint64),
                ("sample_step", c_uint64), ("beta", c_double), ("alpha", c_double),
                ("total_priority", c_double), ("max_priority", c_double), ("bytes", c_size_t),
                ("bytes_per_transition", c_double),
                # version 2
                ("segments", c_uint64), ("segment_capacity", c_uint64)]


class ExplorerSchedule(Structure):
    _fields_ = [("kind", c_enum), ("start", c_double), ("end", c_double), ("steps", c_uint64),
                ("rate", c_double)]


class ExplorerOptions(Structure):
    _fields_ = [("version", c_uint), ("allocator", c_void_p), ("rule", c_enum),
                ("epsilon", ExplorerSchedule), ("tau", ExplorerSchedule),
                ("top_k_fraction", c_double), ("top_k_count", c_uint32), ("seed", c_uint64),
                ("stream", c_uint64), ("max_candidates", c_uint32)]


class TrainerMetrics(Structure):
    _fields_ = [("version", c_uint), ("updates", c_uint64), ("transitions", c_uint64),
                ("sessions", c_uint64), ("loss", c_double), ("mean_q", c_double),
                ("mean_abs_td", c_double), ("sim_return", c_double), ("policy_lag", c_double),
                ("transitions_per_s", c_double), ("updates_per_s", c_double),
                ("elapsed_s", c_double)]


TRAINER_PROGRESS_FN = CFUNCTYPE(c_int, POINTER(TrainerMetrics), c_void_p)
TRAINER_ENV_FN = CFUNCTYPE(c_int, POINTER(Env), c_uint32, c_void_p)


class TrainerOptions(Structure):
    _fields_ = [("version", c_uint), ("allocator", c_void_p), ("n_generators", c_uint32),
                ("sessions_per_generator", c_uint32), ("segment_len", c_uint32),
                ("replay_ratio", c_double), ("warmup", c_uint64), ("batch_size", c_uint32),
                ("n_candidates", c_uint32), ("snapshot_period", c_uint32),
                ("max_staleness", c_uint32), ("total_updates", c_uint64),
                ("total_transitions", c_uint64), ("n_users", c_uint64), ("seed", c_uint64),
                ("metrics_interval", c_uint64), ("metrics_csv", c_char_p),
                ("progress", c_void_p), ("progress_payload", c_void_p),
                ("checkpoint_every", c_uint64), ("checkpoint_dir", c_char_p)]


class TrainerReport(Structure):
    _fields_ = [("version", c_uint), ("updates", c_uint64), ("transitions", c_uint64),
                ("sessions", c_uint64), ("max_policy_lag", c_double), ("wall_s", c_double),
                ("stopped", c_int), ("last", TrainerMetrics)]


POLICY_CHOOSE_FN = CFUNCTYPE(c_int, P_u32, P_i32, P_u32, P_f32, P_i32, P_u32, c_uint32,
                             c_uint32, c_void_p)
POLICY_CHOOSE_STATES_FN = CFUNCTYPE(c_int, P_u32, POINTER(Batch), P_u32, c_void_p)


class PolicySessions(Structure):
    _fields_ = [("version", c_uint), ("slots", P_u32), ("users", P_u64), ("sessions", P_u64),
                ("propensity_out", P_f32)]


POLICY_CHOOSE_SESSIONS_FN = CFUNCTYPE(c_int, P_u32, POINTER(Batch), P_u32,
                                      POINTER(PolicySessions), c_void_p)
POLICY_PROBABILITIES_FN = CFUNCTYPE(c_int, P_f32, POINTER(Batch), P_u32,
                                    POINTER(PolicySessions), c_void_p)


class Policy(Structure):
    _fields_ = [("version", c_uint), ("name", c_char_p), ("lookback", c_uint32),
                ("user_dim", c_uint32), ("choose", c_void_p), ("payload", c_void_p),
                # version 2
                ("choose_states", c_void_p),
                # version 3
                ("choose_sessions", c_void_p),
                # version 4
                ("probabilities", c_void_p)]


class PolicyOptions(Structure):
    _fields_ = [("version", c_uint), ("allocator", c_void_p), ("kind", c_enum),
                ("seed", c_uint64), ("item_weights", P_f32), ("n_item_weights", c_uint32),
                ("model", c_void_p), ("signal_weights", P_f32), ("head", c_uint32),
                # version 2
                ("temperature", c_float),
                # version 3
                ("explorer", c_void_p)]


class RunStep(Structure):
    _fields_ = [("session", c_uint32), ("step", c_uint32), ("item", c_int32),
                ("feedback", c_uint32), ("reward", c_float), ("done", c_int)]


RUN_ON_STEP_FN = CFUNCTYPE(None, POINTER(RunStep), c_uint32, c_void_p)


class RunStats(Structure):
    _fields_ = [("version", c_uint), ("n_signals", c_uint32), ("sessions", c_uint64),
                ("steps", c_uint64), ("exits", c_uint64), ("truncated", c_uint64),
                ("cut", c_uint64), ("count", c_uint64 * 16), ("reward", c_double)]


class RunOptions(Structure):
    _fields_ = [("version", c_uint), ("allocator", c_void_p), ("parallel", c_uint32),
                ("max_candidates", c_uint32), ("max_steps", c_uint32), ("on_step", c_void_p),
                ("on_step_payload", c_void_p)]


class EvalStat(Structure):
    _fields_ = [("mean", c_double), ("lo", c_double), ("hi", c_double), ("n", c_uint64)]


EVAL_N_METRICS = 8
EVAL_SIGNAL_BY_NAME = 0x7fffffff
EVAL_MAX_USER_METRICS = 256
EVAL_RESET_FN = CFUNCTYPE(c_int, c_void_p)
EVAL_PROGRESS_FN = CFUNCTYPE(None, c_uint32, c_uint64, c_void_p)
EVAL_USER_METRICS_FN = CFUNCTYPE(c_int, P_f64, c_uint32, POINTER(RunStep), c_uint32, c_void_p)


class EvalOptions(Structure):
    _fields_ = [("version", c_uint), ("allocator", c_void_p), ("parallel", c_uint32),
                ("max_candidates", c_uint32), ("max_steps", c_uint32),
                ("long_watch_signal", c_uint32), ("hide_signal", c_int32),
                ("deep_depth", c_uint32), ("item_topics", P_u32), ("n_item_topics", c_uint32),
                ("confidence", c_double), ("reset_env", c_void_p),
                ("reset_env_payload", c_void_p), ("progress", c_void_p),
                ("progress_payload", c_void_p), ("user_metric_names", POINTER(c_char_p)),
                ("n_user_metrics", c_uint32), ("user_metrics", c_void_p),
                ("user_metrics_payload", c_void_p)]


AUDIT_MAX_SIGNALS, AUDIT_MAX_BUCKETS, AUDIT_MAX_SEGMENTS = 16, 10, 8


class AuditStats(Structure):
    _fields_ = [("sessions", c_uint64), ("steps", c_uint64), ("exits", c_uint64),
                ("truncated", c_uint64), ("count", c_uint64 * AUDIT_MAX_SIGNALS),
                ("rate", c_double * (AUDIT_MAX_SIGNALS + 1)), ("mean_depth", c_double),
                ("mean_return", c_double)]


class AuditReport(Structure):
    _fields_ = [("version", c_uint), ("n_signals", c_uint32), ("n_sessions", c_uint32),
                ("n_buckets", c_uint32), ("n_segments", c_uint32), ("sim", AuditStats),
                ("real", AuditStats), ("sim_bucket", AuditStats * AUDIT_MAX_BUCKETS),
                ("real_bucket", AuditStats * AUDIT_MAX_BUCKETS),
                ("bucket_max_popularity", c_float * AUDIT_MAX_BUCKETS),
                ("bucket_items", c_uint32 * AUDIT_MAX_BUCKETS),
                ("sim_segment", AuditStats * AUDIT_MAX_SEGMENTS),
                ("real_segment", AuditStats * AUDIT_MAX_SEGMENTS),
                ("worst_bucket", c_uint32 * (AUDIT_MAX_SIGNALS + 1)),
                ("worst_bucket_gap", c_double * (AUDIT_MAX_SIGNALS + 1)),
                ("worst_segment", c_uint32 * (AUDIT_MAX_SIGNALS + 1)),
                ("worst_segment_gap", c_double * (AUDIT_MAX_SIGNALS + 1))]


class AuditOptions(Structure):
    _fields_ = [("version", c_uint), ("allocator", c_void_p), ("n_buckets", c_uint32),
                ("item_popularity", P_f32), ("user_segment", P_u32), ("n_segments", c_uint32),
                ("parallel", c_uint32), ("max_candidates", c_uint32), ("max_steps", c_uint32)]



# pipeline.h (lab tier)
PIPELINE_MAX_SIGNALS = 16
PIPELINE_KEY_WHY_MAX = 200


class PipelineOptions(Structure):
    _fields_ = [("version", c_uint), ("candidates", c_uint32), ("lookback", c_uint32),
                ("session_cap", c_uint32), ("n_reward", c_uint32),
                ("reward", c_double * PIPELINE_MAX_SIGNALS), ("eval_users", c_enum),
                ("bootstrap", c_enum), ("heldout_share", c_double),
                ("select_snapshot", c_enum), ("early_stop_patience", c_uint32)]


PIPELINE_ENV_OPEN_FN = CFUNCTYPE(c_int, POINTER(Env), c_void_p)
PIPELINE_ENV_CLOSE_FN = CFUNCTYPE(None, POINTER(Env), c_void_p)
PIPELINE_PROGRESS_FN = CFUNCTYPE(None, c_char_p, c_void_p)


class PipelineEnv(Structure):
    _fields_ = [("version", c_uint), ("name", c_char_p), ("open", c_void_p),
                ("close", c_void_p), ("payload", c_void_p)]


class PipelineRunOptions(Structure):
    _fields_ = [("version", c_uint), ("allocator", c_void_p), ("env", POINTER(PipelineEnv)),
                ("log", c_void_p), ("items", c_void_p), ("random_init", c_int),
                ("ensemble", c_uint32), ("select_heldout", c_int), ("eval_heldout", c_int),
                ("fit_only", c_int), ("without", c_uint32), ("progress", c_void_p),
                ("progress_payload", c_void_p)]


class PipelineKey(Structure):
    _fields_ = [("path", c_char_p), ("why", ctypes.c_char * PIPELINE_KEY_WHY_MAX),
                ("refused", c_int), ("origin", ConfigOrigin)]


class PipelinePoint(Structure):
    _fields_ = [("updates", c_uint64), ("greedy_q_return", c_double),
                ("baseline_return", c_double), ("loss", c_double), ("mean_q", c_double),
                ("explore_return", c_double)]


class PipelineFidelity(Structure):
    _fields_ = [("sim", c_double), ("real", c_double), ("rel", c_double), ("lo", c_double),
                ("hi", c_double)]


class PipelineLogOptions(Structure):
    _fields_ = [("version", c_uint), ("interactions", c_uint64),
                ("interactions_per_user", c_uint32), ("first_user", c_uint64),
                ("candidates", c_uint32), ("session_cap", c_uint32), ("seed", c_uint64),
                ("propensity", c_int), ("oracle", c_int)]

OPE_DIRECT_FN = CFUNCTYPE(c_int, P_f32, POINTER(Batch), P_u32, c_void_p)


class OpeOptions(Structure):
    _fields_ = [("version", c_uint), ("allocator", c_void_p), ("reward_weights", P_f32),
                ("model", c_void_p), ("direct", c_void_p), ("direct_payload", c_void_p),
                ("lookback", c_uint32), ("long_len", c_uint32), ("gamma", c_float),
                ("clip", c_float), ("confidence", c_double)]


class OpeValue(Structure):
    _fields_ = [("value", c_double), ("se", c_double), ("lo", c_double), ("hi", c_double)]


class OpeResult(Structure):
    _fields_ = [("version", c_uint), ("sessions", c_uint64), ("steps", c_uint64),
                ("logged_step", c_double), ("logged_return", c_double),
                ("step", OpeValue * 3), ("session", OpeValue * 3), ("ess", c_double),
                ("max_weight", c_double), ("clipped", c_uint64)]

# Current versions of the structs above (the headers' *_VERSION macros; the layout test
# compares them with the C compiler's, through ref_helper's `versions` command).
VERSIONS = {
    ErrorInfo: 1, ModelOptions: 3, Batch: 2, Env: 4, WorldOptions: 3, WorldSlotInfo: 1,
    ExperimentOptions: 2, ConfigOptions: 1, ConfigOrigin: 1, LogOptions: 3, LogLoadOptions: 1,
    LogRow: 3, LogColumns: 3, ItemsOptions: 1, ItemsLoadOptions: 1, LogPolicy: 1,
    LogGenerateOptions: 1,
    FitEpoch: 1, FitOptions: 1, FitReport: 2, SimOptions: 5, QNetOptions: 2, QNetBatch: 2,
    QNetUpdateInfo: 1, ReplayOptions: 2, ReplaySegment: 2, ReplayBatch: 2, ReplayStats: 2,
    ExplorerOptions: 1, TrainerMetrics: 1, TrainerOptions: 2, TrainerReport: 1, Policy: 4,
    PolicySessions: 1, PolicyOptions: 3, RunStats: 1, RunOptions: 1, EvalOptions: 2,
    AuditReport: 1, AuditOptions: 1, PipelineOptions: 2, PipelineEnv: 1,
    PipelineRunOptions: 1, PipelineLogOptions: 1, OpeOptions: 1, OpeResult: 1,
}

# ---- functions ---------------------------------------------------------------------------
H = c_void_p          # a handle argument
PH = P_handle         # a handle output (T **out)
_PROTOTYPES = {
    # error.h, version.h, alloc.h
    "reco_error_get": (c_int, [POINTER(ErrorInfo)]),
    "reco_error_message": (c_char_p, []),
    "reco_error_code": (c_int, []),
    "reco_error_clear": (None, []),
    "reco_error_set": (c_int, [c_int, c_char_p]),
    "reco_status_name": (c_char_p, [c_int]),
    "reco_status_string": (c_char_p, [c_int]),
    "reco_version": (c_uint, []),
    "reco_version_string": (c_char_p, []),
    "reco_live_handles": (c_size_t, []),
    # config.h, fit.h (config part)
    "reco_config_create": (c_int, [PH, POINTER(ConfigOptions)]),
    "reco_config_free": (None, [H]),
    "reco_config_reset": (None, [H]),
    "reco_config_load_file": (c_int, [H, c_char_p]),
    "reco_config_load_string": (c_int, [H, c_char_p, c_size_t, c_char_p]),
    "reco_config_set": (c_int, [H, c_char_p, c_char_p]),
    "reco_config_write_file": (c_int, [H, c_char_p]),
    "reco_config_write_string": (c_int, [H, c_char_p, c_size_t, P_size]),
    "reco_config_get_origin": (c_int, [POINTER(ConfigOrigin), H, c_char_p]),
    "reco_experiment_options_init": (c_int, [POINTER(ExperimentOptions), c_uint]),
    "reco_config_get_experiment": (c_int, [POINTER(ExperimentOptions), H]),
    "reco_config_set_experiment": (c_int, [H, POINTER(ExperimentOptions)]),
    "reco_config_get_world": (c_int, [POINTER(WorldOptions), H]),
    "reco_config_set_world": (c_int, [H, POINTER(WorldOptions)]),
    "reco_config_get_qnet": (c_int, [POINTER(QNetOptions), H]),
    "reco_config_set_qnet": (c_int, [H, POINTER(QNetOptions)]),
    "reco_config_get_replay": (c_int, [POINTER(ReplayOptions), H]),
    "reco_config_set_replay": (c_int, [H, POINTER(ReplayOptions)]),
    "reco_config_get_explorer": (c_int, [POINTER(ExplorerOptions), H]),
    "reco_config_set_explorer": (c_int, [H, POINTER(ExplorerOptions)]),
    "reco_config_get_trainer": (c_int, [POINTER(TrainerOptions), H]),
    "reco_config_set_trainer": (c_int, [H, POINTER(TrainerOptions)]),
    "reco_config_get_sim": (c_int, [POINTER(SimOptions), H]),
    "reco_config_set_sim": (c_int, [H, POINTER(SimOptions)]),
    "reco_config_get_fit": (c_int, [POINTER(FitOptions), H]),
    "reco_config_set_fit": (c_int, [H, POINTER(FitOptions)]),
    "reco_config_get_model": (c_int, [POINTER(ModelOptions), H]),
    "reco_config_set_model": (c_int, [H, POINTER(ModelOptions)]),
    "reco_config_get_pipeline": (c_int, [POINTER(PipelineOptions), H]),
    "reco_config_set_pipeline": (c_int, [H, POINTER(PipelineOptions)]),
    # model.h
    "reco_model_options_init": (c_int, [POINTER(ModelOptions), c_uint]),
    "reco_model_create": (c_int, [PH, POINTER(ModelOptions)]),
    "reco_model_free": (None, [H]),
    "reco_model_get_options": (c_int, [POINTER(ModelOptions), H]),
    "reco_model_n_heads": (c_uint32, [H]),
    "reco_model_n_params": (c_size_t, [H]),
    "reco_model_workspace_size": (c_int, [P_size, POINTER(ModelOptions)]),
    "reco_workspace_create": (c_int, [PH, H]),
    "reco_workspace_free": (None, [H]),
    "reco_model_score": (c_int, [P_f32, H, H, POINTER(Batch), P_u32, c_uint32]),
    "reco_model_user_vectors": (c_int, [P_f32, H, H, POINTER(Batch)]),
    "reco_model_topn": (c_int, [P_i32, P_f32, H, H, POINTER(Batch), c_uint32, c_uint32]),
    "reco_model_zero_grad": (c_int, [H]),
    "reco_model_train_bce": (c_int, [P_f64, H, POINTER(Batch), P_i32, P_f32, P_f32]),
    "reco_model_train_scalar": (c_int, [P_f64, P_f32, H, POINTER(Batch), P_i32, c_uint32,
                                        P_f32, P_f32, c_float]),
    "reco_model_step": (c_int, [P_f64, H]),
    "reco_model_set_param": (c_int, [H, c_enum, c_double]),
    "reco_model_get_param": (c_int, [P_f64, H, c_enum]),
    "reco_model_param_bounds": (c_int, [P_f64, P_f64, c_enum]),
    "reco_model_save": (c_int, [H, c_char_p, c_uint32]),
    "reco_model_load": (c_int, [H, c_char_p]),
    "reco_model_open": (c_int, [PH, c_char_p, POINTER(ModelOptions)]),
    "reco_model_copy_params": (c_int, [H, H]),
    "reco_model_blend_params": (c_int, [H, H, c_float]),
    "reco_model_set_item_features": (c_int, [H, P_f32, P_i32, c_uint32]),
    # env.h
    "reco_env_check": (c_int, [POINTER(Env)]),
    "reco_env_signal_name": (c_char_p, [POINTER(Env), c_uint32]),
    # world.h
    "reco_world_options_init": (c_int, [POINTER(WorldOptions), c_uint]),
    "reco_world_memory_size": (c_int, [P_size, POINTER(WorldOptions)]),
    "reco_world_create": (c_int, [PH, POINTER(WorldOptions)]),
    "reco_world_free": (None, [H]),
    "reco_world_reset": (c_int, [H]),
    "reco_world_get_options": (c_int, [POINTER(WorldOptions), H]),
    "reco_world_env": (c_int, [POINTER(Env), H]),
    "reco_world_start": (c_int, [P_u32, P_u64, c_uint32, H]),
    "reco_world_observe": (c_int, [P_i32, P_u32, P_f32, P_u32, c_uint32, H]),
    "reco_world_candidates": (c_int, [P_i32, P_u32, c_uint32, P_u32, c_uint32, H]),
    "reco_world_step": (c_int, [P_u32, P_f32, POINTER(c_int), P_u32, P_i32, c_uint32, H]),
    "reco_world_signal_probs": (c_int, [P_f32, H, c_uint32, P_i32, c_uint32]),
    "reco_world_expected_reward": (c_int, [P_f32, H, c_uint32, P_i32, c_uint32]),
    "reco_world_item_info": (c_int, [P_u32, P_f32, P_f32, P_f32, H, P_i32, c_uint32]),
    "reco_world_user_segment": (c_int, [P_u32, H, P_u64, c_uint32]),
    "reco_world_eval_users": (c_int, [P_u64, H, c_uint64, c_uint32]),
    "reco_world_get_slot_info": (c_int, [POINTER(WorldSlotInfo), H, c_uint32]),
    "reco_world_context": (c_int, [P_u32, P_f32, P_i32, P_u32, P_u32, c_uint32, H]),
    "reco_world_probabilities": (c_int, [P_f32, P_u32, P_i32, c_uint32, H]),
    "reco_world_item_features": (c_int, [P_f32, P_i32, H]),
    "reco_world_item_field_sizes": (c_int, [P_u32, H]),
    "reco_world_clear_histories": (c_int, [H]),
    "reco_world_copy_histories": (c_int, [H, H]),
    "reco_world_user_history_len": (c_int, [P_u64, H, P_u64, c_uint32]),
    # log.h
    "reco_log_options_init": (c_int, [POINTER(LogOptions), c_uint]),
    "reco_log_create": (c_int, [PH, POINTER(LogOptions)]),
    "reco_log_free": (None, [H]),
    "reco_log_reset": (None, [H]),
    "reco_log_n_signals": (c_uint32, [H]),
    "reco_log_signal_name": (c_char_p, [H, c_uint32]),
    "reco_log_user_dim": (c_uint32, [H]),
    "reco_log_user_feature_name": (c_char_p, [H, c_uint32]),
    "reco_log_has_propensity": (c_int, [H]),
    "reco_log_has_oracle": (c_int, [H]),
    "reco_log_load_options_init": (c_int, [POINTER(LogLoadOptions), c_uint]),
    "reco_log_n_rows": (c_size_t, [H]),
    "reco_log_n_sessions": (c_size_t, [H]),
    "reco_log_n_users": (c_size_t, [H]),
    "reco_log_session": (c_int, [P_size, P_size, H, c_size_t]),
    "reco_log_get_row": (c_int, [POINTER(LogRow), H, c_size_t]),
    "reco_log_get_columns": (c_int, [POINTER(LogColumns), H]),
    "reco_log_append": (c_int, [H, POINTER(LogRow), c_size_t]),
    "reco_log_load_csv": (c_int, [H, c_char_p, POINTER(LogLoadOptions)]),
    "reco_log_save_csv": (c_int, [H, c_char_p]),
    "reco_log_save": (c_int, [H, c_char_p]),
    "reco_log_load": (c_int, [H, c_char_p, POINTER(LogLoadOptions)]),
    "reco_log_n_rejected": (c_uint64, [H]),
    "reco_log_n_rejections": (c_size_t, [H]),
    "reco_log_rejection": (c_int, [POINTER(ErrorInfo), H, c_size_t]),
    "reco_log_split": (c_int, [PH, PH, H, c_double, c_uint64]),
    "reco_log_generate_options_init": (c_int, [POINTER(LogGenerateOptions), c_uint]),
    "reco_log_generate": (c_int, [H, POINTER(Env), POINTER(LogPolicy),
                                  POINTER(LogGenerateOptions)]),
    "reco_log_generate_with": (c_int, [H, POINTER(Env), POINTER(Policy),
                                       POINTER(LogGenerateOptions)]),
    # items.h
    "reco_items_options_init": (c_int, [POINTER(ItemsOptions), c_uint]),
    "reco_items_load_options_init": (c_int, [POINTER(ItemsLoadOptions), c_uint]),
    "reco_items_create": (c_int, [PH, POINTER(ItemsOptions)]),
    "reco_items_free": (None, [H]),
    "reco_items_reset": (None, [H]),
    "reco_items_n_items": (c_uint32, [H]),
    "reco_items_n_dense": (c_uint32, [H]),
    "reco_items_n_fields": (c_uint32, [H]),
    "reco_items_dense_name": (c_char_p, [H, c_uint32]),
    "reco_items_field_name": (c_char_p, [H, c_uint32]),
    "reco_items_field_size": (c_uint32, [H, c_uint32]),
    "reco_items_dense": (P_f32, [H]),
    "reco_items_fields": (P_i32, [H]),
    "reco_items_n_known": (c_uint32, [H]),
    "reco_items_is_known": (c_int, [H, c_int32]),
    "reco_items_set": (c_int, [H, c_int32, P_f32, P_i32]),
    "reco_items_load_csv": (c_int, [H, c_char_p, POINTER(ItemsLoadOptions)]),
    "reco_items_save_csv": (c_int, [H, c_char_p]),
    "reco_items_save": (c_int, [H, c_char_p]),
    "reco_items_load": (c_int, [H, c_char_p]),
    "reco_items_n_rejected": (c_uint64, [H]),
    "reco_items_n_rejections": (c_size_t, [H]),
    "reco_items_rejection": (c_int, [POINTER(ErrorInfo), H, c_size_t]),
    # fit.h, metrics.h
    "reco_fit_options_init": (c_int, [POINTER(FitOptions), c_uint]),
    "reco_fit_model": (c_int, [POINTER(FitReport), H, H, H, POINTER(FitOptions)]),
    "reco_metrics_auc": (c_int, [P_f64, P_f32, P_f32, c_size_t]),
    "reco_metrics_log_loss": (c_int, [P_f64, P_f32, P_f32, c_size_t]),
    "reco_metrics_ece": (c_int, [P_f64, P_f32, P_f32, c_size_t, c_uint32]),
    # sim.h
    "reco_sim_options_init": (c_int, [POINTER(SimOptions), c_uint]),
    "reco_sim_options_imitate": (c_int, [POINTER(SimOptions), POINTER(Env)]),
    "reco_sim_create": (c_int, [PH, H, POINTER(SimOptions)]),
    "reco_sim_free": (None, [H]),
    "reco_sim_reset": (c_int, [H]),
    "reco_sim_env": (c_int, [POINTER(Env), H]),
    "reco_sim_set_start_env": (c_int, [H, POINTER(Env)]),
    "reco_sim_probabilities": (c_int, [P_f32, H, P_u32, P_i32, c_uint32]),
    # qnet.h
    "reco_qnet_options_init": (c_int, [POINTER(QNetOptions), c_uint]),
    "reco_qnet_create": (c_int, [PH, POINTER(QNetOptions)]),
    "reco_qnet_create_warm": (c_int, [PH, H, P_f32, POINTER(QNetOptions)]),
    "reco_qnet_free": (None, [H]),
    "reco_qnet_update": (c_int, [POINTER(QNetUpdateInfo), P_f32, H, POINTER(QNetBatch)]),
    "reco_qnet_sync_target": (c_int, [H]),
    "reco_qnet_restore_last_good": (c_int, [H]),
    "reco_qnet_online": (c_void_p, [H]),
    "reco_qnet_target": (c_void_p, [H]),
    "reco_qnet_q_head": (c_uint32, [H]),
    "reco_qnet_n_updates": (c_uint64, [H]),
    "reco_qnet_set_param": (c_int, [H, c_enum, c_double]),
    "reco_qnet_get_param": (c_int, [P_f64, H, c_enum]),
    "reco_qnet_param_bounds": (c_int, [P_f64, P_f64, c_enum]),
    "reco_qnet_save": (c_int, [H, c_char_p]),
    "reco_qnet_load": (c_int, [H, c_char_p]),
    "reco_qnet_open": (c_int, [PH, c_char_p, POINTER(QNetOptions)]),
    # replay.h
    "reco_replay_options_init": (c_int, [POINTER(ReplayOptions), c_uint]),
    "reco_replay_memory_size": (c_int, [P_size, POINTER(ReplayOptions)]),
    "reco_replay_create": (c_int, [PH, POINTER(ReplayOptions)]),
    "reco_replay_free": (None, [H]),
    "reco_replay_reset": (c_int, [H]),
    "reco_replay_add_segment": (c_int, [P_u64, H, POINTER(ReplaySegment)]),
    "reco_replay_sample": (c_int, [POINTER(ReplayBatch), H, c_uint32]),
    "reco_replay_update_priorities": (c_int, [P_size, H, P_u64, P_f32, c_size_t]),
    "reco_replay_size": (c_uint64, [H]),
    "reco_replay_get_stats": (c_int, [POINTER(ReplayStats), H]),
    "reco_replay_set_param": (c_int, [H, c_enum, c_double]),
    "reco_replay_get_param": (c_int, [P_f64, H, c_enum]),
    "reco_replay_param_bounds": (c_int, [P_f64, P_f64, c_enum]),
    "reco_replay_save": (c_int, [H, c_char_p]),
    "reco_replay_load": (c_int, [H, c_char_p]),
    # explorer.h
    "reco_explorer_options_init": (c_int, [POINTER(ExplorerOptions), c_uint]),
    "reco_explorer_workspace_size": (c_int, [P_size, POINTER(ExplorerOptions)]),
    "reco_explorer_create": (c_int, [PH, POINTER(ExplorerOptions)]),
    "reco_explorer_free": (None, [H]),
    "reco_explorer_reset": (c_int, [H]),
    "reco_explorer_select": (c_int, [P_u32, P_f32, H, P_f32, c_size_t, c_size_t, c_size_t]),
    "reco_explorer_probs": (c_int, [P_f32, H, P_f32, c_size_t, c_size_t, c_size_t]),
    "reco_explorer_top_k": (c_int, [P_u32, H, c_size_t]),
    "reco_explorer_get_step": (c_int, [P_u64, H]),
    "reco_explorer_set_step": (c_int, [H, c_uint64]),
    "reco_explorer_get_rng": (c_int, [POINTER(Rng), H]),
    "reco_explorer_set_rng": (c_int, [H, POINTER(Rng)]),
    "reco_explorer_set_param": (c_int, [H, c_enum, c_double]),
    "reco_explorer_get_param": (c_int, [P_f64, H, c_enum]),
    "reco_explorer_param_bounds": (c_int, [P_f64, P_f64, c_enum]),
    "reco_explorer_schedule_value": (c_int, [P_f64, POINTER(ExplorerSchedule), c_uint64]),
    # trainer.h
    "reco_trainer_options_init": (c_int, [POINTER(TrainerOptions), c_uint]),
    "reco_trainer_create": (c_int, [PH, H, H, POINTER(ExplorerOptions), TRAINER_ENV_FN,
                                    c_void_p, POINTER(TrainerOptions)]),
    "reco_trainer_free": (None, [H]),
    "reco_trainer_run": (c_int, [POINTER(TrainerReport), H]),
    # policy.h
    "reco_policy_options_init": (c_int, [POINTER(PolicyOptions), c_uint]),
    "reco_policy_create": (c_int, [PH, POINTER(PolicyOptions)]),
    "reco_policy_free": (None, [H]),
    "reco_policy_get": (c_int, [POINTER(Policy), H]),
    "reco_run_options_init": (c_int, [POINTER(RunOptions), c_uint]),
    "reco_run_sessions": (c_int, [POINTER(RunStats), P_u32, P_f32, POINTER(Env),
                                  POINTER(Policy), P_u64, c_uint32, POINTER(RunOptions)]),
    # eval.h
    "reco_eval_metric_name": (c_char_p, [c_enum]),
    "reco_eval_options_init": (c_int, [POINTER(EvalOptions), c_uint]),
    "reco_eval_run": (c_int, [PH, POINTER(Env), POINTER(Policy), c_uint32, P_u64, c_uint32,
                              POINTER(EvalOptions)]),
    "reco_eval_free": (None, [H]),
    "reco_eval_n_policies": (c_uint32, [H]),
    "reco_eval_n_sessions": (c_uint32, [H]),
    "reco_eval_confidence": (c_double, [H]),
    "reco_eval_policy_name": (c_char_p, [H, c_uint32]),
    "reco_eval_stat_get": (c_int, [POINTER(EvalStat), H, c_uint32, c_enum]),
    "reco_eval_lift": (c_int, [POINTER(EvalStat), POINTER(EvalStat), H, c_uint32, c_uint32,
                               c_enum]),
    "reco_eval_session": (c_int, [P_f64, H, c_uint32, c_uint32]),
    "reco_eval_n_metrics": (c_uint32, [H]),
    "reco_eval_metric_label": (c_char_p, [H, c_uint32]),
    "reco_eval_metric_index": (c_int, [P_u32, H, c_char_p]),
    "reco_eval_session_values": (c_int, [P_f64, c_uint32, H, c_uint32, c_uint32]),
    "reco_eval_write_json": (c_int, [POINTER(c_void_p), POINTER(c_char_p), c_uint32,
                                     POINTER(c_char_p), c_uint32, c_char_p]),
    "reco_eval_write_csv": (c_int, [POINTER(c_void_p), POINTER(c_char_p), c_uint32,
                                    POINTER(c_char_p), c_uint32, c_char_p]),
    "reco_eval_concat": (c_int, [PH, POINTER(c_void_p), c_uint32]),
    # audit.h
    "reco_audit_options_init": (c_int, [POINTER(AuditOptions), c_uint]),
    "reco_audit_run": (c_int, [POINTER(AuditReport), POINTER(Env), POINTER(Env),
                               POINTER(Policy), P_u64, c_uint32, POINTER(AuditOptions)]),
    "reco_audit_world": (c_int, [POINTER(AuditReport), POINTER(Env), H, POINTER(Policy),
                                 c_uint64, c_uint32, POINTER(AuditOptions)]),
    # ope.h (lab tier)
    "reco_ope_options_init": (c_int, [POINTER(OpeOptions), c_uint]),
    "reco_ope_estimate": (c_int, [POINTER(OpeResult), H, P_i32, P_u32, c_uint32,
                                  POINTER(Policy), POINTER(OpeOptions)]),
    # pipeline.h (lab tier)
    "reco_pipeline_options_init": (c_int, [POINTER(PipelineOptions), c_uint]),
    "reco_pipeline_run_options_init": (c_int, [POINTER(PipelineRunOptions), c_uint]),
    "reco_pipeline_keys": (c_int, [POINTER(PipelineKey), c_uint32, P_u32, P_u32, H,
                                   POINTER(PipelineRunOptions)]),
    "reco_pipeline_run": (c_int, [PH, H, POINTER(PipelineRunOptions)]),
    "reco_pipeline_free": (None, [H]),
    "reco_pipeline_n_seeds": (c_uint32, [H]),
    "reco_pipeline_seed": (c_uint64, [H, c_uint32]),
    "reco_pipeline_policy_name": (c_char_p, [c_uint32]),
    "reco_pipeline_side_name": (c_char_p, [H, c_enum]),
    "reco_pipeline_output_name": (c_char_p, [H, c_uint32]),
    "reco_pipeline_eval": (c_void_p, [H, c_uint32, c_enum]),
    "reco_pipeline_fit_report": (c_int, [POINTER(FitReport), H, c_uint32, c_int]),
    "reco_pipeline_curve": (c_uint32, [POINTER(PipelinePoint), c_uint32, H, c_uint32]),
    "reco_pipeline_fidelity_get": (c_int, [POINTER(PipelineFidelity), H, c_uint32, c_uint32]),
    "reco_pipeline_logged": (c_int, [POINTER(EvalStat), POINTER(EvalStat), H, c_uint32]),
    "reco_pipeline_n_calibration": (c_uint32, [H, c_uint32]),
    "reco_pipeline_calibration": (c_int, [P_f64, P_f64, H, c_uint32, c_uint32]),
    "reco_pipeline_write_json": (c_int, [H, c_char_p]),
    "reco_pipeline_off_policy": (c_int, [POINTER(OpeResult), H, c_uint32, c_uint32]),
    "reco_pipeline_write_csv": (c_int, [H, c_char_p]),
    "reco_pipeline_write_curve": (c_int, [H, c_char_p]),
    "reco_pipeline_save_qnet": (c_int, [H, c_uint32, c_char_p]),
    "reco_pipeline_lift_over_seeds": (c_int, [POINTER(EvalStat), POINTER(EvalStat), H, c_enum,
                                              c_uint32, c_uint32, c_uint32]),
    "reco_pipeline_stat_over_seeds": (c_int, [POINTER(EvalStat), H, c_enum, c_uint32,
                                              c_uint32]),
    "reco_pipeline_t_quantile": (c_double, [c_double, c_uint32]),
    "reco_pipeline_training": (c_int, [P_u64, P_u64, H, c_uint32]),
    "reco_pipeline_heldout_curve": (c_uint32, [P_f64, c_uint32, H, c_uint32]),
}

for _name, (_res, _args) in _PROTOTYPES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args
del _name, _res, _args, _fn


def has(name):
    """Whether the loaded library exports @p name (for functions newer than this binding)."""
    return hasattr(lib, name)
