/* The configuration schema: what each section of a libreco YAML file may contain.
 *
 * To add a section (model, sim, qnet, replay, ...):
 *   1. define its versioned options struct (first member `unsigned int version`) in its public
 *      header, with RECO_<OBJ>_OPTIONS_VERSION/_INIT and reco_<obj>_options_init();
 *   2. add a field-descriptor table and a reco__cfg_section for it below, and append that
 *      section to reco__cfg_sections[] (the writer emits sections in that order);
 *   3. add reco_config_get_<obj>() / reco_config_set_<obj>() (and reco_<obj>_options_init()),
 *      each a one-line call of the generic reco__config_* function, and list them in
 *      lib/libreco.map.
 * The engine in config.c needs no change: loading, validation, reco_config_set() paths and
 * writing all follow the tables. Appending a field to a released struct: add its descriptor
 * with `.since` = the new struct version. */
#include <float.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config_private.h"
#include "reco/explorer.h"
#include "reco/fit.h"
#include "reco/model.h"
#include "reco/pipeline.h"
#include "reco/qnet.h"
#include "reco/replay.h"
#include "reco/sim.h"
#include "reco/trainer.h"
#include "world_private.h"

/* The engine reads and writes enum members as `int`. */
_Static_assert(sizeof(reco_verbosity) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(reco_output_format) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(reco_explorer_rule) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(reco_experiment_logging) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(reco_schedule_kind) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(reco_pipeline_eval_users) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(reco_pipeline_bootstrap) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(reco_pipeline_select) == sizeof(int), "enums are stored as int");
/* reco_replay_options.kind is a uint32_t holding a reco_replay_kind (all values positive). */
_Static_assert(sizeof(((reco_replay_options *)0)->kind) == sizeof(int), "kind stored as int");

/* ---- experiment ---------------------------------------------------------------------- */

static const reco__cfg_enum_name verbosity_names[] = {
    { "quiet", RECO_VERBOSITY_QUIET },
    { "error", RECO_VERBOSITY_ERROR },
    { "warn", RECO_VERBOSITY_WARN },
    { "info", RECO_VERBOSITY_INFO },
    { "debug", RECO_VERBOSITY_DEBUG },
};

static const reco__cfg_enum_name format_names[] = {
    { "json", RECO_OUTPUT_JSON },
    { "csv", RECO_OUTPUT_CSV },
    { "png", RECO_OUTPUT_PNG },
};

static const int default_formats[] = { RECO_OUTPUT_JSON, RECO_OUTPUT_CSV };
static const uint64_t default_seeds[] = { 1, 2, 3 };

#define EXP_OFF(member) offsetof(reco_experiment_options, member)

static const reco__cfg_field experiment_output_fields[] = {
    { .key = "dir", .type = RECO__CFG_STRING, .offset = EXP_OFF(output_dir), .since = 1,
      .umin = 1, .umax = 4095, .sdef = "." },
    { .key = "formats", .type = RECO__CFG_LIST, .offset = EXP_OFF(formats), .since = 1,
      .elem = RECO__CFG_ENUM, .enums = format_names,
      .n_enums = sizeof format_names / sizeof format_names[0],
      .capacity = RECO_EXPERIMENT_MAX_FORMATS, .min_count = 0,
      .count_offset = EXP_OFF(n_formats),
      .ldef = default_formats, .n_ldef = sizeof default_formats / sizeof default_formats[0] },
};

static const reco__cfg_enum_name logging_names[] = {
    { "uniform", RECO_EXPERIMENT_LOGGING_UNIFORM },
    { "popularity", RECO_EXPERIMENT_LOGGING_POPULARITY },
    { "model", RECO_EXPERIMENT_LOGGING_MODEL },
};

static const reco__cfg_field experiment_logging_fields[] = {
    { .key = "policy", .type = RECO__CFG_ENUM, .offset = EXP_OFF(logging_policy), .since = 2,
      .enums = logging_names, .n_enums = sizeof logging_names / sizeof logging_names[0],
      .idef = RECO_EXPERIMENT_LOGGING_MODEL },
    { .key = "popularity_power", .type = RECO__CFG_F64,
      .offset = EXP_OFF(logging_popularity_power), .since = 2, .fmin = 0.0, .fmax = 10.0,
      .fdef = 0.5 },
    { .key = "bootstrap_interactions", .type = RECO__CFG_U64,
      .offset = EXP_OFF(logging_bootstrap_interactions), .since = 2, .umin = 1,
      .umax = 1000000000, .udef = 100000 },
    { .key = "interactions", .type = RECO__CFG_U64, .offset = EXP_OFF(logging_interactions),
      .since = 2, .umin = 1, .umax = 1000000000, .udef = 200000 },
    { .key = "interactions_per_user", .type = RECO__CFG_U32,
      .offset = EXP_OFF(logging_interactions_per_user), .since = 2, .umin = 1,
      .umax = 1000000, .udef = 100 },
    { .key = "temperature", .type = RECO__CFG_F64, .offset = EXP_OFF(logging_temperature),
      .since = 2, .fmin = 1e-9, .fmax = 1e3, .fdef = 0.1 },
};

static const reco__cfg_field experiment_eval_fields[] = {
    { .key = "sessions", .type = RECO__CFG_U32, .offset = EXP_OFF(eval_sessions), .since = 2,
      .umin = 1, .umax = 1000000, .udef = 1000 },
    { .key = "deep_depth", .type = RECO__CFG_U32, .offset = EXP_OFF(eval_deep_depth),
      .since = 2, .umin = 1, .umax = 1000000, .udef = 10 },
    { .key = "confidence", .type = RECO__CFG_F64, .offset = EXP_OFF(eval_confidence),
      .since = 2, .fmin = 1e-9, .fmax = 1.0 - 1e-9, .fdef = 0.95 },
};

static const reco__cfg_field experiment_fields[] = {
    { .key = "name", .type = RECO__CFG_STRING, .offset = EXP_OFF(name), .since = 1,
      .umin = 1, .umax = 128, .sdef = "recomind" },
    { .key = "seed", .type = RECO__CFG_U64, .offset = EXP_OFF(seed), .since = 1,
      .umin = 0, .umax = UINT64_MAX, .udef = 42 },
    { .key = "threads", .type = RECO__CFG_U32, .offset = EXP_OFF(threads), .since = 1,
      .umin = 1, .umax = 256, .udef = 1 },
    { .key = "time_limit_s", .type = RECO__CFG_F64, .offset = EXP_OFF(time_limit_s),
      .since = 1, .fmin = 0.0, .fmax = 1e9, .fdef = 0.0 },
    { .key = "deterministic", .type = RECO__CFG_BOOL, .offset = EXP_OFF(deterministic),
      .since = 1, .idef = 1 },
    { .key = "verbosity", .type = RECO__CFG_ENUM, .offset = EXP_OFF(verbosity), .since = 1,
      .enums = verbosity_names, .n_enums = sizeof verbosity_names / sizeof verbosity_names[0],
      .idef = RECO_VERBOSITY_INFO },
    { .key = "output", .type = RECO__CFG_MAP, .since = 1, .sub = experiment_output_fields,
      .n_sub = sizeof experiment_output_fields / sizeof experiment_output_fields[0] },
    { .key = "seeds", .type = RECO__CFG_LIST, .offset = EXP_OFF(seeds), .since = 1,
      .elem = RECO__CFG_U64, .umin = 0, .umax = UINT64_MAX,
      .capacity = RECO_EXPERIMENT_MAX_SEEDS, .min_count = 1, .count_offset = EXP_OFF(n_seeds),
      .ldef = default_seeds, .n_ldef = sizeof default_seeds / sizeof default_seeds[0] },
    { .key = "logging", .type = RECO__CFG_MAP, .since = 2, .sub = experiment_logging_fields,
      .n_sub = sizeof experiment_logging_fields / sizeof experiment_logging_fields[0] },
    { .key = "evaluation", .type = RECO__CFG_MAP, .since = 2, .sub = experiment_eval_fields,
      .n_sub = sizeof experiment_eval_fields / sizeof experiment_eval_fields[0] },
};

static const reco__cfg_section experiment_section = {
    .name = "experiment",
    .size = sizeof(reco_experiment_options),
    .version = RECO_EXPERIMENT_OPTIONS_VERSION,
    .fields = experiment_fields,
    .n_fields = sizeof experiment_fields / sizeof experiment_fields[0],
};

/* ---- world (lib/world.c validates its options against this table too) ------------------ */

#define WLD_OFF(member) offsetof(reco_world_options, member)
#define WLD_U32(k, m, lo, hi, d)                                                              \
    { .key = k, .type = RECO__CFG_U32, .offset = WLD_OFF(m), .since = 1, .umin = lo,          \
      .umax = hi, .udef = d }
#define WLD_F64(k, m, lo, hi, d)                                                              \
    { .key = k, .type = RECO__CFG_F64, .offset = WLD_OFF(m), .since = 1, .fmin = lo,          \
      .fmax = hi, .fdef = d }
#define WLD_MAP(k, table)                                                                     \
    { .key = k, .type = RECO__CFG_MAP, .since = 1, .sub = table,                              \
      .n_sub = sizeof table / sizeof table[0] }

static const reco__cfg_field world_catalog_fields[] = {
    WLD_F64("topic_zipf", topic_zipf, 0.0, 10.0, 1.0),
    WLD_F64("quality_alpha", quality_alpha, 1e-3, 1e3, 2.0),
    WLD_F64("quality_beta", quality_beta, 1e-3, 1e3, 2.0),
    WLD_F64("clickbait_alpha", clickbait_alpha, 1e-3, 1e3, 0.5),
    WLD_F64("clickbait_beta", clickbait_beta, 1e-3, 1e3, 3.0),
    WLD_F64("popularity_sigma", popularity_sigma, 0.0, 10.0, 1.0),
    WLD_F64("popularity_quality", popularity_quality, -10.0, 10.0, 1.0),
    WLD_F64("popularity_clickbait", popularity_clickbait, -10.0, 10.0, 1.5),
    WLD_F64("popular_candidate_share", popular_candidate_share, 0.0, 1.0, 0.5),
};

static const reco__cfg_field world_users_fields[] = {
    WLD_F64("interest_concentration", interest_concentration, 1e-3, 1e6, 2.0),
    WLD_F64("history_interest_share", history_interest_share, 0.0, 1.0, 0.8),
    WLD_F64("satisfaction_mean", satisfaction_mean, -10.0, 10.0, 0.0),
    WLD_F64("satisfaction_sd", satisfaction_sd, 0.0, 10.0, 0.3),
    WLD_F64("light_share", light_share, 0.0, 1.0, 0.3),
    WLD_F64("heavy_share", heavy_share, 0.0, 1.0, 0.2),
    WLD_F64("exit_light", exit_light, -20.0, 20.0, -2.2),
    WLD_F64("exit_regular", exit_regular, -20.0, 20.0, -2.94),
    WLD_F64("exit_heavy", exit_heavy, -20.0, 20.0, -3.66),
};

static const reco__cfg_field world_click_fields[] = {
    WLD_F64("bias", click_bias, -100.0, 100.0, -2.94),
    WLD_F64("interest", click_interest, -100.0, 100.0, 4.0),
    WLD_F64("clickbait", click_clickbait, -100.0, 100.0, 2.0),
    WLD_F64("fatigue", click_fatigue, -100.0, 100.0, 0.5),
    WLD_F64("repeat", click_repeat, -100.0, 100.0, 3.0),
};

static const reco__cfg_field world_watch_fields[] = {
    WLD_F64("bias", watch_bias, -100.0, 100.0, -1.0),
    WLD_F64("quality", watch_quality, -100.0, 100.0, 2.0),
    WLD_F64("interest", watch_interest, -100.0, 100.0, 1.0),
    WLD_F64("clickbait", watch_clickbait, -100.0, 100.0, 0.5),
    WLD_F64("fatigue", watch_fatigue, -100.0, 100.0, 0.2),
};

static const reco__cfg_field world_like_fields[] = {
    WLD_F64("bias", like_bias, -100.0, 100.0, -2.5),
    WLD_F64("quality", like_quality, -100.0, 100.0, 2.5),
    WLD_F64("interest", like_interest, -100.0, 100.0, 1.0),
    WLD_F64("clickbait", like_clickbait, -100.0, 100.0, 2.0),
};

static const reco__cfg_field world_hide_fields[] = {
    WLD_F64("bias", hide_bias, -100.0, 100.0, -3.5),
    WLD_F64("interest", hide_interest, -100.0, 100.0, 3.0),
    WLD_F64("clickbait", hide_clickbait, -100.0, 100.0, 1.5),
    WLD_F64("fatigue", hide_fatigue, -100.0, 100.0, 0.3),
};

static const reco__cfg_field world_satisfaction_fields[] = {
    WLD_F64("decay", satisfaction_decay, 0.0, 1.0, 0.9),
    WLD_F64("watch_quality", satisfaction_watch_quality, -100.0, 100.0, 1.0),
    WLD_F64("watch_clickbait", satisfaction_watch_clickbait, -100.0, 100.0, 0.5),
    WLD_F64("like", satisfaction_like, -100.0, 100.0, 0.2),
    WLD_F64("bounce", satisfaction_bounce, -100.0, 100.0, 0.1),
    WLD_F64("bounce_clickbait", satisfaction_bounce_clickbait, -100.0, 100.0, 0.5),
    WLD_F64("hide", satisfaction_hide, -100.0, 100.0, 0.5),
    WLD_F64("skip", satisfaction_skip, -100.0, 100.0, 0.05),
};

static const reco__cfg_field world_fatigue_fields[] = {
    WLD_F64("decay", fatigue_decay, 0.0, 1.0, 0.75),
};

static const reco__cfg_field world_exit_fields[] = {
    WLD_F64("satisfaction", exit_satisfaction, -100.0, 100.0, 1.0),
    WLD_F64("fatigue", exit_fatigue, -100.0, 100.0, 0.3),
};

static const reco__cfg_field world_reward_fields[] = {
    WLD_F64("click", reward_click, -1e6, 1e6, 0.1),
    WLD_F64("long_watch", reward_long_watch, -1e6, 1e6, 1.0),
    WLD_F64("like", reward_like, -1e6, 1e6, 0.3),
    WLD_F64("hide", reward_hide, -1e6, 1e6, -0.5),
};

/* version 3: the dwell time of a step, by outcome */
static const reco__cfg_field world_seconds_fields[] = {
    { .key = "base", .type = RECO__CFG_F64, .offset = WLD_OFF(seconds_base), .since = 3,
      .fmin = 0.0, .fmax = 1e6, .fdef = 5.0 },
    { .key = "click", .type = RECO__CFG_F64, .offset = WLD_OFF(seconds_click), .since = 3,
      .fmin = 0.0, .fmax = 1e6, .fdef = 10.0 },
    { .key = "long_watch", .type = RECO__CFG_F64, .offset = WLD_OFF(seconds_long_watch),
      .since = 3, .fmin = 0.0, .fmax = 1e6, .fdef = 40.0 },
    { .key = "like", .type = RECO__CFG_F64, .offset = WLD_OFF(seconds_like), .since = 3,
      .fmin = 0.0, .fmax = 1e6, .fdef = 3.0 },
};

static const reco__cfg_field world_fields[] = {
    { .key = "seed", .type = RECO__CFG_U64, .offset = WLD_OFF(seed), .since = 1, .umin = 0,
      .umax = UINT64_MAX, .udef = 1 },
    WLD_U32("n_users", n_users, 1, UINT32_MAX, 100000),
    WLD_U32("n_items", n_items, 1, 1u << 26, 10000),
    WLD_U32("n_topics", n_topics, 1, 4096, 20),
    WLD_U32("lookback", lookback, 1, 512, 20),
    WLD_U32("history_len", history_len, 0, 512, 10),
    WLD_U32("n_candidates", n_candidates, 1, 1u << 20, 500),
    WLD_U32("max_session_len", max_session_len, 1, 1000000, 200),
    WLD_U32("max_sessions", max_sessions, 1, 1u << 20, 256),
    WLD_MAP("catalog", world_catalog_fields),
    WLD_MAP("users", world_users_fields),
    WLD_MAP("click", world_click_fields),
    WLD_MAP("long_watch", world_watch_fields),
    WLD_MAP("like", world_like_fields),
    WLD_MAP("hide", world_hide_fields),
    WLD_MAP("satisfaction", world_satisfaction_fields),
    WLD_MAP("fatigue", world_fatigue_fields),
    WLD_MAP("exit", world_exit_fields),
    WLD_MAP("reward", world_reward_fields),
    { .key = "exclude_seen", .type = RECO__CFG_BOOL, .offset = WLD_OFF(exclude_seen),
      .since = 2, .idef = 0 },
    { .key = "carry_history", .type = RECO__CFG_BOOL, .offset = WLD_OFF(carry_history),
      .since = 3, .idef = 0 },
    { .key = "long_len", .type = RECO__CFG_U32, .offset = WLD_OFF(long_len), .since = 3,
      .umin = 0, .umax = 4096, .udef = 0 },
    { .key = "user_features", .type = RECO__CFG_BOOL, .offset = WLD_OFF(user_features),
      .since = 3, .idef = 0 },
    { .key = "user_feature_noise", .type = RECO__CFG_F64, .offset = WLD_OFF(user_feature_noise),
      .since = 3, .fmin = 0.0, .fmax = 10.0, .fdef = 0.1 },
    { .key = "item_feature_noise", .type = RECO__CFG_F64, .offset = WLD_OFF(item_feature_noise),
      .since = 3, .fmin = 0.0, .fmax = 10.0, .fdef = 0.1 },
    { .key = "seconds", .type = RECO__CFG_MAP, .since = 3, .sub = world_seconds_fields,
      .n_sub = sizeof world_seconds_fields / sizeof world_seconds_fields[0] },
};

const reco__cfg_section reco__world_config_section = {
    .name = "world",
    .size = sizeof(reco_world_options),
    .version = RECO_WORLD_OPTIONS_VERSION,
    .fields = world_fields,
    .n_fields = sizeof world_fields / sizeof world_fields[0],
};

#undef WLD_OFF
#undef WLD_U32
#undef WLD_F64
#undef WLD_MAP

/* ---- fit (lib/fit.c checks the same ranges in reco_fit_model) --------------------------- */

#define FIT_OFF(member) offsetof(reco_fit_options, member)

static const reco__cfg_field fit_fields[] = {
    { .key = "epochs", .type = RECO__CFG_U32, .offset = FIT_OFF(epochs), .since = 1,
      .umin = 1, .umax = 1000000, .udef = 10 },
    { .key = "batch_size", .type = RECO__CFG_U32, .offset = FIT_OFF(batch_size), .since = 1,
      .umin = 1, .umax = 65536, .udef = 256 },
    { .key = "lr", .type = RECO__CFG_F64, .offset = FIT_OFF(lr), .since = 1, .fmin = 1e-12,
      .fmax = 10.0, .fdef = 1e-3 },
    { .key = "patience", .type = RECO__CFG_U32, .offset = FIT_OFF(patience), .since = 1,
      .umin = 0, .umax = 1000000, .udef = 3 },
    { .key = "min_delta", .type = RECO__CFG_F64, .offset = FIT_OFF(min_delta), .since = 1,
      .fmin = 0.0, .fmax = 1e9, .fdef = 0.0 },
    { .key = "seed", .type = RECO__CFG_U64, .offset = FIT_OFF(seed), .since = 1, .umin = 0,
      .umax = UINT64_MAX, .udef = 1 },
    { .key = "checkpoint", .type = RECO__CFG_STRING, .offset = FIT_OFF(checkpoint), .since = 1,
      .umin = 0, .umax = 4095, .sdef = "" },
    { .key = "max_examples_per_epoch", .type = RECO__CFG_U64,
      .offset = FIT_OFF(max_examples_per_epoch), .since = 1, .umin = 0, .umax = UINT64_MAX,
      .udef = 0 },
    { .key = "popularity_prior", .type = RECO__CFG_F64, .offset = FIT_OFF(popularity_prior),
      .since = 1, .fmin = 0.0, .fmax = 1e9, .fdef = 10.0 },
};

static const reco__cfg_section fit_section = {
    .name = "fit",
    .size = sizeof(reco_fit_options),
    .version = RECO_FIT_OPTIONS_VERSION,
    .fields = fit_fields,
    .n_fields = sizeof fit_fields / sizeof fit_fields[0],
};

#undef FIT_OFF

/* ---- qnet (reco_qnet_options; lib/qnet.c checks the same ranges; `model` is not here) ---- */

#define QN_OFF(member) offsetof(reco_qnet_options, member)
#define F32(OFF, k, m, lo, hi, d)                                                             \
    { .key = k, .type = RECO__CFG_F32, .offset = OFF(m), .since = 1, .fmin = lo, .fmax = hi,  \
      .fdef = d }
#define F64(OFF, k, m, lo, hi, d)                                                             \
    { .key = k, .type = RECO__CFG_F64, .offset = OFF(m), .since = 1, .fmin = lo, .fmax = hi,  \
      .fdef = d }
#define U32(OFF, k, m, lo, hi, d)                                                             \
    { .key = k, .type = RECO__CFG_U32, .offset = OFF(m), .since = 1, .umin = lo, .umax = hi,  \
      .udef = d }
#define U64(OFF, k, m, lo, hi, d)                                                             \
    { .key = k, .type = RECO__CFG_U64, .offset = OFF(m), .since = 1, .umin = lo, .umax = hi,  \
      .udef = d }

static const reco__cfg_field qnet_fields[] = {
    F32(QN_OFF, "gamma", gamma, 0.0, 1.0, 0.99),
    F32(QN_OFF, "huber_delta", huber_delta, 1e-12, FLT_MAX, 1.0),
    U32(QN_OFF, "target_period", target_period, 1, UINT32_MAX, 500),
    F32(QN_OFF, "tau", tau, 0.0, 1.0, 0.0),
    F32(QN_OFF, "priority_eps", priority_eps, 0.0, FLT_MAX, 0.0),
    F32(QN_OFF, "max_abs_q", max_abs_q, FLT_MIN, FLT_MAX, 1e4),
    F32(QN_OFF, "max_loss", max_loss, FLT_MIN, FLT_MAX, 1e4),
    { .key = "keep_last_good", .type = RECO__CFG_BOOL, .offset = QN_OFF(keep_last_good),
      .since = 1, .idef = 1 },
    { .key = "conservative_alpha", .type = RECO__CFG_F32,
      .offset = QN_OFF(conservative_alpha), .since = 2, .fmin = 0.0, .fmax = 1e6,
      .fdef = 0.0 },
};

static const reco__cfg_section qnet_section = {
    .name = "qnet",
    .size = sizeof(reco_qnet_options),
    .version = RECO_QNET_OPTIONS_VERSION,
    .fields = qnet_fields,
    .n_fields = sizeof qnet_fields / sizeof qnet_fields[0],
};

/* ---- replay (reco_replay_options; lib/replay.c checks the cross-field rules) --------------- */

#define RP_OFF(member) offsetof(reco_replay_options, member)

static const reco__cfg_enum_name replay_kind_names[] = {
    { "uniform", RECO_REPLAY_UNIFORM },
    { "proportional", RECO_REPLAY_PROPORTIONAL },
};

static const reco__cfg_field replay_fields[] = {
    U64(RP_OFF, "capacity", capacity, 1, 1ull << 31, 1000000),
    U64(RP_OFF, "record_capacity", record_capacity, 0, UINT32_MAX, 0),
    U32(RP_OFF, "lookback", lookback, 1, 512, 20),
    { .key = "kind", .type = RECO__CFG_ENUM, .offset = RP_OFF(kind), .since = 1,
      .enums = replay_kind_names,
      .n_enums = sizeof replay_kind_names / sizeof replay_kind_names[0],
      .idef = RECO_REPLAY_PROPORTIONAL },
    U64(RP_OFF, "seed", seed, 0, UINT64_MAX, 1),
    F32(RP_OFF, "alpha", alpha, 0.0, 1.0, 0.6),
    F32(RP_OFF, "beta0", beta0, 0.0, 1.0, 0.4),
    F32(RP_OFF, "beta_final", beta_final, 0.0, 1.0, 1.0),
    U64(RP_OFF, "beta_steps", beta_steps, 0, 1ull << 53, 100000),
    F32(RP_OFF, "priority_eps", priority_eps, 0.0, 1e6, 1e-6),
    F32(RP_OFF, "initial_priority", initial_priority, FLT_MIN, 1e30, 1.0),
    /* version 2: the session context (the trainer checks them against the model) */
    { .key = "context", .type = RECO__CFG_BOOL, .offset = RP_OFF(context), .since = 2,
      .idef = 0 },
    { .key = "user_dim", .type = RECO__CFG_U32, .offset = RP_OFF(user_dim), .since = 2,
      .umin = 0, .umax = 65536, .udef = 0 },
    { .key = "long_len", .type = RECO__CFG_U32, .offset = RP_OFF(long_len), .since = 2,
      .umin = 0, .umax = 4096, .udef = 0 },
    { .key = "segment_capacity", .type = RECO__CFG_U64, .offset = RP_OFF(segment_capacity),
      .since = 2, .umin = 0, .umax = 1ull << 31, .udef = 0 },
};

static const reco__cfg_section replay_section = {
    .name = "replay",
    .size = sizeof(reco_replay_options),
    .version = RECO_REPLAY_OPTIONS_VERSION,
    .fields = replay_fields,
    .n_fields = sizeof replay_fields / sizeof replay_fields[0],
};

/* ---- explorer (reco_explorer_options; lib/explorer.c checks the schedule shapes) ---------- */

#define EX_OFF(member) offsetof(reco_explorer_options, member)

static const reco__cfg_enum_name explorer_rule_names[] = {
    { "greedy", RECO_EXPLORER_GREEDY },
    { "epsilon_greedy", RECO_EXPLORER_EPSILON_GREEDY },
    { "top_k_softmax", RECO_EXPLORER_TOP_K_SOFTMAX },
    { "boltzmann", RECO_EXPLORER_BOLTZMANN },
};

static const reco__cfg_enum_name schedule_kind_names[] = {
    { "constant", RECO_SCHEDULE_CONSTANT },
    { "linear", RECO_SCHEDULE_LINEAR },
    { "exponential", RECO_SCHEDULE_EXPONENTIAL },
};

#define SCHEDULE_FIELDS(sched, lo, hi, d)                                                     \
    { .key = "kind", .type = RECO__CFG_ENUM, .offset = EX_OFF(sched.kind), .since = 1,        \
      .enums = schedule_kind_names,                                                           \
      .n_enums = sizeof schedule_kind_names / sizeof schedule_kind_names[0],                  \
      .idef = RECO_SCHEDULE_CONSTANT },                                                       \
    F64(EX_OFF, "start", sched.start, lo, hi, d),                                             \
    F64(EX_OFF, "end", sched.end, lo, hi, d),                                                 \
    U64(EX_OFF, "steps", sched.steps, 0, UINT64_MAX, 0),                                      \
    F64(EX_OFF, "rate", sched.rate, 1e-300, 1.0, 1.0)

static const reco__cfg_field explorer_epsilon_fields[] = {
    SCHEDULE_FIELDS(epsilon, 0.0, 1.0, 0.1),
};

static const reco__cfg_field explorer_tau_fields[] = {
    SCHEDULE_FIELDS(tau, 1e-30, 1e30, 1.0),
};

static const reco__cfg_field explorer_fields[] = {
    { .key = "rule", .type = RECO__CFG_ENUM, .offset = EX_OFF(rule), .since = 1,
      .enums = explorer_rule_names,
      .n_enums = sizeof explorer_rule_names / sizeof explorer_rule_names[0],
      .idef = RECO_EXPLORER_TOP_K_SOFTMAX },
    { .key = "epsilon", .type = RECO__CFG_MAP, .since = 1, .sub = explorer_epsilon_fields,
      .n_sub = sizeof explorer_epsilon_fields / sizeof explorer_epsilon_fields[0] },
    { .key = "tau", .type = RECO__CFG_MAP, .since = 1, .sub = explorer_tau_fields,
      .n_sub = sizeof explorer_tau_fields / sizeof explorer_tau_fields[0] },
    F64(EX_OFF, "top_k_fraction", top_k_fraction, 1e-9, 1.0, 0.25),
    U32(EX_OFF, "top_k_count", top_k_count, 0, 1u << 24, 0),
    U64(EX_OFF, "seed", seed, 0, UINT64_MAX, 1),
    U64(EX_OFF, "stream", stream, 0, UINT64_MAX, 0),
    U32(EX_OFF, "max_candidates", max_candidates, 1, 1u << 24, 512),
};

static const reco__cfg_section explorer_section = {
    .name = "explorer",
    .size = sizeof(reco_explorer_options),
    .version = RECO_EXPLORER_OPTIONS_VERSION,
    .fields = explorer_fields,
    .n_fields = sizeof explorer_fields / sizeof explorer_fields[0],
};

/* ---- trainer (reco_trainer_options; lib/trainer.c checks the model-dependent limits and
 *      the cross-field rules; allocator, progress and progress_payload are not here; a NULL
 *      metrics_csv or checkpoint_dir, "none", is stored as "") -------------------------------------------------- */

#define TR_OFF(member) offsetof(reco_trainer_options, member)

static const reco__cfg_field trainer_fields[] = {
    U32(TR_OFF, "n_generators", n_generators, 1, 256, 1),
    U32(TR_OFF, "sessions_per_generator", sessions_per_generator, 1, 65536, 16),
    U32(TR_OFF, "segment_len", segment_len, 1, 65536, 32),
    F64(TR_OFF, "replay_ratio", replay_ratio, DBL_MIN, 1e6, 0.25),
    U64(TR_OFF, "warmup", warmup, 0, UINT64_MAX, 1000),
    U32(TR_OFF, "batch_size", batch_size, 1, 65536, 32),
    U32(TR_OFF, "n_candidates", n_candidates, 1, 1u << 20, 64),
    U32(TR_OFF, "snapshot_period", snapshot_period, 1, UINT32_MAX, 10),
    U32(TR_OFF, "max_staleness", max_staleness, 0, UINT32_MAX, 100),
    U64(TR_OFF, "total_updates", total_updates, 0, UINT64_MAX, 10000),
    U64(TR_OFF, "total_transitions", total_transitions, 0, UINT64_MAX, 0),
    U64(TR_OFF, "n_users", n_users, 1, 1ull << 63, 1000),
    U64(TR_OFF, "seed", seed, 0, UINT64_MAX, 1),
    U64(TR_OFF, "metrics_interval", metrics_interval, 1, 1ull << 63, 100),
    { .key = "metrics_csv", .type = RECO__CFG_STRING, .offset = TR_OFF(metrics_csv),
      .since = 1, .umin = 0, .umax = 4095, .sdef = "" },
    { .key = "checkpoint_every", .type = RECO__CFG_U64, .offset = TR_OFF(checkpoint_every),
      .since = 2, .umin = 0, .umax = UINT64_MAX, .udef = 0 },
    { .key = "checkpoint_dir", .type = RECO__CFG_STRING, .offset = TR_OFF(checkpoint_dir),
      .since = 2, .umin = 0, .umax = 4000, .sdef = "" },
};

static const reco__cfg_section trainer_section = {
    .name = "trainer",
    .size = sizeof(reco_trainer_options),
    .version = RECO_TRAINER_OPTIONS_VERSION,
    .fields = trainer_fields,
    .n_fields = sizeof trainer_fields / sizeof trainer_fields[0],
};

/* ---- model (reco_model_options; lib/model.c checks the same ranges) -------------------- */

#define MD_OFF(member) offsetof(reco_model_options, member)

static const reco__cfg_field model_fields[] = {
    U32(MD_OFF, "n_items", n_items, 1, INT32_MAX, 1000),
    U32(MD_OFF, "dim", dim, 1, 4096, 64),
    U32(MD_OFF, "lookback", lookback, 1, 512, 20),
    U32(MD_OFF, "n_blocks", n_blocks, 1, 16, 1),
    U32(MD_OFF, "n_heads", n_heads, 1, 64, 2),
    U32(MD_OFF, "ffn_dim", ffn_dim, 1, 16384, 256),
    U32(MD_OFF, "n_signals", n_signals, 1, 16, 4),
    U32(MD_OFF, "user_dim", user_dim, 0, 65536, 0),
    U64(MD_OFF, "seed", seed, 0, UINT64_MAX, 1),
    F32(MD_OFF, "init_std", init_std, 1e-12, 1.0, 0.02),
    U32(MD_OFF, "max_batch", max_batch, 1, 65536, 256),
    U32(MD_OFF, "max_candidates", max_candidates, 1, 1u << 20, 512),
    U32(MD_OFF, "threads", threads, 1, 256, 1),
    F32(MD_OFF, "lr", lr, 1e-12, 10.0, 1e-3),
    F32(MD_OFF, "beta1", beta1, 0.0, 0.999999, 0.9),
    F32(MD_OFF, "beta2", beta2, 0.0, 0.999999999, 0.999),
    F32(MD_OFF, "adam_eps", adam_eps, 1e-30, 1.0, 1e-8),
    F32(MD_OFF, "weight_decay", weight_decay, 0.0, 1.0, 0.0),
    F32(MD_OFF, "clip_norm", clip_norm, 0.0, 1e30, 1.0),
    /* version 2: the inputs (item features come from the data: reco_model_set_item_features
     * and the field sizes are set by the program that knows the catalog) */
    { .key = "position", .type = RECO__CFG_BOOL, .offset = MD_OFF(position), .since = 2,
      .idef = 0 },
    { .key = "elapsed", .type = RECO__CFG_BOOL, .offset = MD_OFF(elapsed), .since = 2,
      .idef = 0 },
    { .key = "long_len", .type = RECO__CFG_U32, .offset = MD_OFF(long_len), .since = 2,
      .umin = 0, .umax = 4096, .udef = 0 },
    { .key = "state_bias", .type = RECO__CFG_BOOL, .offset = MD_OFF(state_bias), .since = 2,
      .idef = 1 },
};

static const reco__cfg_section model_section = {
    .name = "model",
    .size = sizeof(reco_model_options),
    .version = RECO_MODEL_OPTIONS_VERSION,
    .fields = model_fields,
    .n_fields = sizeof model_fields / sizeof model_fields[0],
};

/* ---- sim (reco_sim_options; lib/sim.c checks n_candidates against the model). The
 *      per-signal arrays reward, parent and parent_value are not here: the engine's lists
 *      need a uint32_t count member and have no signed integer element type. ---------------- */

#define SM_OFF(member) offsetof(reco_sim_options, member)

static const reco__cfg_field sim_fields[] = {
    U64(SM_OFF, "seed", seed, 0, UINT64_MAX, 1),
    U32(SM_OFF, "max_sessions", max_sessions, 1, 65536, 256),
    U32(SM_OFF, "max_session_len", max_session_len, 1, 100000, 100),
    U32(SM_OFF, "n_candidates", n_candidates, 1, 1u << 20, 500),
    { .key = "exclude_seen", .type = RECO__CFG_BOOL, .offset = SM_OFF(exclude_seen),
      .since = 2, .idef = 0 },
    { .key = "expected_reward", .type = RECO__CFG_BOOL, .offset = SM_OFF(expected_reward),
      .since = 2, .idef = 0 },
    { .key = "seconds_base", .type = RECO__CFG_F32, .offset = SM_OFF(seconds_base),
      .since = 3, .fmin = 0.0, .fmax = 1e9, .fdef = 30.0 },
    /* the pessimistic ensemble: the pipeline fits the other models of the training
     * simulator (lib/sim.c checks that pessimism > 0 has an ensemble) */
    { .key = "ensemble", .type = RECO__CFG_U32, .offset = SM_OFF(ensemble_size), .since = 5,
      .umin = 1, .umax = RECO_SIM_MAX_ENSEMBLE, .udef = 1 },
    { .key = "pessimism", .type = RECO__CFG_F32, .offset = SM_OFF(pessimism), .since = 5,
      .fmin = 0.0, .fmax = 1e6, .fdef = 0.0 },
};

static const reco__cfg_section sim_section = {
    .name = "sim",
    .size = sizeof(reco_sim_options),
    .version = RECO_SIM_OPTIONS_VERSION,
    .fields = sim_fields,
    .n_fields = sizeof sim_fields / sizeof sim_fields[0],
};

/* ---- pipeline (reco_pipeline_options; lib/pipeline.c checks them against the env) ------ */

static const reco__cfg_enum_name pipeline_eval_users_names[] = {
    { "auto", RECO_PIPELINE_EVAL_USERS_AUTO },
    { "logged", RECO_PIPELINE_EVAL_USERS_LOGGED },
    { "new", RECO_PIPELINE_EVAL_USERS_NEW },
};

static const reco__cfg_enum_name pipeline_bootstrap_names[] = {
    { "auto", RECO_PIPELINE_BOOTSTRAP_AUTO },
    { "popularity", RECO_PIPELINE_BOOTSTRAP_POPULARITY },
    { "uniform", RECO_PIPELINE_BOOTSTRAP_UNIFORM },
};

static const reco__cfg_enum_name pipeline_select_names[] = {
    { "last", RECO_PIPELINE_SELECT_LAST },
    { "heldout", RECO_PIPELINE_SELECT_HELDOUT },
};

#define PL_OFF(member) offsetof(reco_pipeline_options, member)

static const reco__cfg_field pipeline_fields[] = {
    U32(PL_OFF, "candidates", candidates, 1, 1u << 20, 100),
    U32(PL_OFF, "lookback", lookback, 1, 512, 20),
    U32(PL_OFF, "session_cap", session_cap, 1, 1000000, 200),
    { .key = "reward", .type = RECO__CFG_LIST, .offset = PL_OFF(reward), .since = 1,
      .elem = RECO__CFG_F64, .fmin = -1e6, .fmax = 1e6,
      .capacity = RECO_PIPELINE_MAX_SIGNALS, .min_count = 0,
      .count_offset = PL_OFF(n_reward), .ldef = NULL, .n_ldef = 0 },
    { .key = "eval_users", .type = RECO__CFG_ENUM, .offset = PL_OFF(eval_users), .since = 1,
      .enums = pipeline_eval_users_names,
      .n_enums = sizeof pipeline_eval_users_names / sizeof pipeline_eval_users_names[0],
      .idef = RECO_PIPELINE_EVAL_USERS_AUTO },
    { .key = "bootstrap", .type = RECO__CFG_ENUM, .offset = PL_OFF(bootstrap), .since = 1,
      .enums = pipeline_bootstrap_names,
      .n_enums = sizeof pipeline_bootstrap_names / sizeof pipeline_bootstrap_names[0],
      .idef = RECO_PIPELINE_BOOTSTRAP_AUTO },
    F64(PL_OFF, "heldout_share", heldout_share, 0.05, 0.95, 0.5),
    { .key = "select_snapshot", .type = RECO__CFG_ENUM, .offset = PL_OFF(select_snapshot),
      .since = 2, .enums = pipeline_select_names,
      .n_enums = sizeof pipeline_select_names / sizeof pipeline_select_names[0],
      .idef = RECO_PIPELINE_SELECT_LAST },
    { .key = "early_stop_patience", .type = RECO__CFG_U32,
      .offset = PL_OFF(early_stop_patience), .since = 2, .umin = 0, .umax = 1000000,
      .udef = 0 },
};

static const reco__cfg_section pipeline_section = {
    .name = "pipeline",
    .size = sizeof(reco_pipeline_options),
    .version = RECO_PIPELINE_OPTIONS_VERSION,
    .fields = pipeline_fields,
    .n_fields = sizeof pipeline_fields / sizeof pipeline_fields[0],
};

#undef PL_OFF
#undef QN_OFF
#undef RP_OFF
#undef EX_OFF
#undef TR_OFF
#undef SM_OFF
#undef MD_OFF
#undef F32
#undef F64
#undef U32
#undef U64
#undef SCHEDULE_FIELDS

/* ---- the section list ---------------------------------------------------------------- */

const reco__cfg_section *const reco__cfg_sections[] = {
    &experiment_section,
    &reco__world_config_section,
    &model_section,
    &fit_section,
    &qnet_section,
    &replay_section,
    &explorer_section,
    &trainer_section,
    &sim_section,
    &pipeline_section,
};
const size_t reco__cfg_n_sections = sizeof reco__cfg_sections / sizeof reco__cfg_sections[0];

/* ---- per-section public accessors ------------------------------------------------------ */

int reco_experiment_options_init(reco_experiment_options *opts, unsigned int version)
{
    return reco__config_options_init(opts, version, &experiment_section,
                                     "reco_experiment_options_init");
}

int reco_config_get_experiment(reco_experiment_options *out, const reco_config *cfg)
{
    return reco__config_get_section(out, cfg, &experiment_section, "reco_config_get_experiment");
}

int reco_config_set_experiment(reco_config *cfg, const reco_experiment_options *in)
{
    return reco__config_set_section(cfg, in, &experiment_section, "reco_config_set_experiment");
}

int reco_config_get_world(reco_world_options *out, const reco_config *cfg)
{
    return reco__config_get_section(out, cfg, &reco__world_config_section,
                                    "reco_config_get_world");
}

int reco_config_set_world(reco_config *cfg, const reco_world_options *in)
{
    return reco__config_set_section(cfg, in, &reco__world_config_section,
                                    "reco_config_set_world");
}

int reco_config_get_fit(reco_fit_options *out, const reco_config *cfg)
{
    return reco__config_get_section(out, cfg, &fit_section, "reco_config_get_fit");
}

int reco_config_set_fit(reco_config *cfg, const reco_fit_options *in)
{
    /* A NULL checkpoint means "none" to reco_fit_model(); the engine stores it as "". */
    if (in != NULL && in->version >= 1 && in->version <= RECO_FIT_OPTIONS_VERSION &&
        in->checkpoint == NULL) {
        reco_fit_options copy = *in;
        copy.checkpoint = "";
        return reco__config_set_section(cfg, &copy, &fit_section, "reco_config_set_fit");
    }
    return reco__config_set_section(cfg, in, &fit_section, "reco_config_set_fit");
}

int reco_config_get_qnet(reco_qnet_options *out, const reco_config *cfg)
{
    return reco__config_get_section(out, cfg, &qnet_section, "reco_config_get_qnet");
}

int reco_config_set_qnet(reco_config *cfg, const reco_qnet_options *in)
{
    return reco__config_set_section(cfg, in, &qnet_section, "reco_config_set_qnet");
}

int reco_config_get_replay(reco_replay_options *out, const reco_config *cfg)
{
    return reco__config_get_section(out, cfg, &replay_section, "reco_config_get_replay");
}

int reco_config_set_replay(reco_config *cfg, const reco_replay_options *in)
{
    return reco__config_set_section(cfg, in, &replay_section, "reco_config_set_replay");
}

int reco_config_get_explorer(reco_explorer_options *out, const reco_config *cfg)
{
    return reco__config_get_section(out, cfg, &explorer_section, "reco_config_get_explorer");
}

int reco_config_set_explorer(reco_config *cfg, const reco_explorer_options *in)
{
    return reco__config_set_section(cfg, in, &explorer_section, "reco_config_set_explorer");
}

int reco_config_get_trainer(reco_trainer_options *out, const reco_config *cfg)
{
    int rc = reco__config_get_section(out, cfg, &trainer_section, "reco_config_get_trainer");
    /* The engine stores "no metrics CSV" as ""; reco_trainer_create() wants NULL for it. */
    if (rc == RECO_OK && out->metrics_csv != NULL && out->metrics_csv[0] == '\0')
        out->metrics_csv = NULL;
    if (rc == RECO_OK && out->version >= 2 && out->checkpoint_dir != NULL &&
        out->checkpoint_dir[0] == '\0')
        out->checkpoint_dir = NULL;
    return rc;
}

int reco_config_set_trainer(reco_config *cfg, const reco_trainer_options *in)
{
    /* A NULL metrics_csv means "none" to reco_trainer_create(); the engine stores it as "". */
    if (in != NULL && in->version >= 1 && in->version <= RECO_TRAINER_OPTIONS_VERSION &&
        (in->metrics_csv == NULL || (in->version >= 2 && in->checkpoint_dir == NULL))) {
        reco_trainer_options copy = RECO_TRAINER_OPTIONS_INIT;
        if (in->version == 1)
            memcpy(&copy, in, offsetof(reco_trainer_options, checkpoint_every));
        else
            copy = *in;
        if (copy.metrics_csv == NULL)
            copy.metrics_csv = "";
        if (in->version >= 2 && copy.checkpoint_dir == NULL)
            copy.checkpoint_dir = "";
        return reco__config_set_section(cfg, &copy, &trainer_section, "reco_config_set_trainer");
    }
    return reco__config_set_section(cfg, in, &trainer_section, "reco_config_set_trainer");
}

int reco_config_get_sim(reco_sim_options *out, const reco_config *cfg)
{
    return reco__config_get_section(out, cfg, &sim_section, "reco_config_get_sim");
}

int reco_config_set_sim(reco_config *cfg, const reco_sim_options *in)
{
    return reco__config_set_section(cfg, in, &sim_section, "reco_config_set_sim");
}

int reco_config_get_model(reco_model_options *out, const reco_config *cfg)
{
    return reco__config_get_section(out, cfg, &model_section, "reco_config_get_model");
}

int reco_config_set_model(reco_config *cfg, const reco_model_options *in)
{
    return reco__config_set_section(cfg, in, &model_section, "reco_config_set_model");
}

int reco_pipeline_options_init(reco_pipeline_options *opts, unsigned int version)
{
    return reco__config_options_init(opts, version, &pipeline_section,
                                     "reco_pipeline_options_init");
}

int reco_config_get_pipeline(reco_pipeline_options *out, const reco_config *cfg)
{
    return reco__config_get_section(out, cfg, &pipeline_section, "reco_config_get_pipeline");
}

int reco_config_set_pipeline(reco_config *cfg, const reco_pipeline_options *in)
{
    return reco__config_set_section(cfg, in, &pipeline_section, "reco_config_set_pipeline");
}

/* The leaf options of a section, for lib/pipeline.c (which refuses a whole section the run
 * does not read): calls fn with each dotted path, e.g. "world.catalog.topic_zipf". */
static void leaf_paths(const reco__cfg_field *f, size_t n, char *path, size_t len, size_t cap,
                       void (*fn)(const char *path, void *payload), void *payload)
{
    for (size_t i = 0; i < n; i++) {
        const int w = snprintf(path + len, cap - len, ".%s", f[i].key);
        if (w < 0 || (size_t)w >= cap - len)
            continue;
        if (f[i].type == RECO__CFG_MAP)
            leaf_paths(f[i].sub, f[i].n_sub, path, len + (size_t)w, cap, fn, payload);
        else
            fn(path, payload);
        path[len] = '\0';
    }
}

void reco__config_section_leaves(const char *section, const char *sub,
                                 void (*fn)(const char *path, void *payload), void *payload)
{
    for (size_t k = 0; k < reco__cfg_n_sections; k++) {
        const reco__cfg_section *sec = reco__cfg_sections[k];
        if (strcmp(sec->name, section) != 0)
            continue;
        char path[256];
        size_t len = (size_t)snprintf(path, sizeof path, "%s", section);
        const reco__cfg_field *f = sec->fields;
        size_t n = sec->n_fields;
        if (sub != NULL) {
            size_t i = 0;
            while (i < n && !(f[i].type == RECO__CFG_MAP && strcmp(f[i].key, sub) == 0))
                i++;
            if (i == n)
                return;
            len += (size_t)snprintf(path + len, sizeof path - len, ".%s", sub);
            n = f[i].n_sub;
            f = f[i].sub;
        }
        leaf_paths(f, n, path, len, sizeof path, fn, payload);
    }
}
