/**
 * @file config.h
 * @brief Experiment configuration: YAML in, typed versioned option structs out, YAML back.
 * @defgroup reco_config Configuration
 * @ingroup reco_lab
 *
 * A @ref reco_config holds one value for every option libreco reads from a configuration file,
 * grouped in sections (`experiment`, and the sections later modules add). A fresh handle holds
 * the defaults. reco_config_load_file() or reco_config_load_string() replace them with a YAML
 * document; reco_config_set() changes one option from text (a command-line override);
 * reco_config_get_experiment() copies a section out as the same versioned options struct that
 * the library's constructors take, and reco_config_set_experiment() puts one back.
 * reco_config_write_file() and reco_config_write_string() print the effective configuration,
 * every option included, as YAML that loads back to identical values.
 *
 * The document is a mapping of sections, each a mapping of options; a nested mapping groups
 * related options (`experiment.output.dir`):
 * @code{.yaml}
 * experiment:
 *   name: ablation-3
 *   seed: 7
 *   threads: 8
 *   verbosity: warn
 *   output: {dir: runs/ablation-3, formats: [json, png]}
 *   seeds: [11, 12, 13, 14]
 * @endcode
 *
 * Loading is strict: an unknown section or key (with a "did you mean" hint), a duplicate key,
 * a value of the wrong kind or out of range, a null value, a second YAML document or a
 * non-standard tag fails with @ref RECO_ECONFIG; malformed YAML fails with @ref RECO_EFORMAT.
 * reco_error_get() then gives the file name, the 1-based line and column and the option path
 * (e.g. `experiment.output.formats[1]`). Every call that changes a handle is atomic: when it
 * fails, the handle keeps all of its previous values (and their origins).
 *
 * The handle also remembers where each option was given (reco_config_get_origin(): the
 * file, line and column of its key, or the reco_config_set() call), so that a program can
 * refuse, with that position, an option it derives from elsewhere or does not read.
 *
 * Value syntax: integers are decimal with an optional sign (`1.5`, `1e3`, `0x10` are not
 * integers); floating-point options also accept integers and exponents but not `.nan` or
 * `.inf`; booleans are `true` or `false` in any letter case (not `yes`, `on` or `1`); enum
 * values are their lower-case names; strings may be plain or quoted; lists are YAML sequences,
 * in flow (`[a, b]`) or block style. Anchors and aliases are resolved; tags other than the
 * YAML core ones (`!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!seq`, `!!map`) are
 * rejected.
 *
 * @code
 * reco_config *cfg = NULL;
 * int rc = reco_config_create(&cfg, NULL);
 * if (rc == RECO_OK)
 *     rc = reco_config_load_file(cfg, "experiment.yaml");
 * if (rc == RECO_OK)
 *     rc = reco_config_set(cfg, "experiment.threads", "8");
 * reco_experiment_options ex = RECO_EXPERIMENT_OPTIONS_INIT;
 * if (rc == RECO_OK)
 *     rc = reco_config_get_experiment(&ex, cfg);
 * if (rc == RECO_OK)
 *     printf("%s: seed %llu, %u threads\n", ex.name, (unsigned long long)ex.seed, ex.threads);
 * else
 *     fprintf(stderr, "%s\n", reco_error_message()); // "experiment.yaml:3:12: experiment..."
 * reco_config_free(cfg);                             // ex.name is invalid from here on
 * @endcode
 *
 * @par Memory
 * The handle and every string it stores come from the allocator in its options (or the
 * process default). libyaml's own parser buffers, which live only during a load or a
 * reco_config_set() call, use libyaml's allocator (the C library's `malloc`) and are not
 * covered by the hooks.
 *
 * @par Thread safety
 * One thread at a time may call functions that take a non-`const` @ref reco_config; functions
 * taking a `const` handle may run concurrently with each other. A handle may move between
 * threads. Error details are per thread.
 *
 * @par API tier
 * **Lab**: may change in any 0.x release; declared only where `RECO_LAB_API` is defined
 * before the first libreco include (@ref abi_tiers "API tiers").
 * @{
 */
#ifndef RECO_CONFIG_H
#define RECO_CONFIG_H
#ifndef RECO_LAB_API
#error "reco/config.h is lab API, may change in any 0.x: define RECO_LAB_API first (docs/abi.md)"
#endif

#include "reco/common.h"
#include "reco/alloc.h"
#include "reco/world.h"
#include "reco/qnet.h"
#include "reco/replay.h"
#include "reco/explorer.h"
#include "reco/trainer.h"
#include "reco/sim.h"
#include "reco/model.h"

RECO_BEGIN_DECLS

/**
 * @brief Opaque configuration handle: a value for every known option.
 * @since 0.1
 */
typedef struct reco_config reco_config;

/** Current version of @ref reco_config_options. @since 0.1 */
#define RECO_CONFIG_OPTIONS_VERSION 1

/** Initialiser for @ref reco_config_options of the current version, all defaults. @since 0.1 */
#define RECO_CONFIG_OPTIONS_INIT { RECO_CONFIG_OPTIONS_VERSION, NULL }

/**
 * @brief Options for reco_config_create().
 * @since 0.1
 */
typedef struct reco_config_options {
    unsigned int version; /**< Set to @ref RECO_CONFIG_OPTIONS_VERSION (or an older version). */
    /** Allocator for the handle and its strings, copied at creation; NULL: process default. */
    const reco_allocator *allocator;
} reco_config_options;

/**
 * @brief Fill @p opts with the defaults of options version @p version.
 * @param[out] opts     the struct to initialise.
 * @param[in]  version  1..@ref RECO_CONFIG_OPTIONS_VERSION; usually the latter.
 * @return @ref RECO_OK; @ref RECO_EINVAL if @p opts is NULL; @ref RECO_EVERSION if @p version
 *         is not supported (then @p opts is not written).
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_config_options_init(reco_config_options *opts, unsigned int version);

/**
 * @brief Create a configuration holding every option's default.
 * @param[out] out   receives the new handle, owned by the caller (free it with
 *                   reco_config_free()); set to NULL on failure, when there is nothing to free.
 * @param[in]  opts  options, read during the call only; NULL means defaults.
 * @return @ref RECO_OK; @ref RECO_EINVAL if @p out is NULL or the allocator lacks a function;
 *         @ref RECO_EVERSION for an unsupported options or allocator version;
 *         @ref RECO_ENOMEM if an allocation fails.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_config_create(reco_config **out, const reco_config_options *opts);

/**
 * @brief Free a configuration and every string it owns.
 *
 * Strings borrowed from it through reco_config_get_experiment() become invalid.
 * @param[in] cfg  the handle; NULL is ignored.
 * @par Thread safety
 * No other call may be using @p cfg.
 * @since 0.1
 */
RECO_API void reco_config_free(reco_config *cfg);

/**
 * @brief Restore every option to its default, as in a fresh handle. Cannot fail.
 *
 * Strings previously borrowed from @p cfg become invalid.
 * @param[in,out] cfg  the handle; NULL is ignored.
 * @par Thread safety
 * One thread at a time per handle.
 * @since 0.1
 */
RECO_API void reco_config_reset(reco_config *cfg);

/**
 * @brief Replace the configuration with the defaults plus the YAML file at @p path.
 *
 * Options the file leaves out take their defaults (they do not keep earlier values); an empty
 * file, or one holding only comments, gives all defaults. The call is atomic: on failure
 * @p cfg keeps its previous values. On success strings previously borrowed from @p cfg become
 * invalid.
 * @param[in,out] cfg   the handle.
 * @param[in]     path  the file name, NUL-terminated; also the source name in error details.
 * @return @ref RECO_OK; @ref RECO_EINVAL if an argument is NULL or @p path is empty;
 *         @ref RECO_EIO if the file cannot be read; @ref RECO_EFORMAT if it is not well-formed
 *         YAML; @ref RECO_ECONFIG if it is valid YAML but not a valid configuration;
 *         @ref RECO_ENOMEM if an allocation fails. Error details carry the file, 1-based line
 *         and column and the option path.
 * @par Thread safety
 * One thread at a time per handle.
 * @since 0.1
 */
RECO_API int reco_config_load_file(reco_config *cfg, const char *path);

/**
 * @brief As reco_config_load_file(), from @p len bytes of YAML text in memory.
 * @param[in,out] cfg          the handle.
 * @param[in]     yaml         the text, UTF-8; need not be NUL-terminated; read during the
 *                             call only.
 * @param[in]     len          its length in bytes; 0 gives all defaults.
 * @param[in]     source_name  name used in error details, e.g. the place the text came from;
 *                             NULL means `"<string>"`.
 * @return @ref RECO_OK; @ref RECO_EINVAL if @p cfg or @p yaml is NULL;
 *         @ref RECO_EFORMAT for malformed YAML; @ref RECO_ECONFIG for an invalid
 *         configuration; @ref RECO_ENOMEM if an allocation fails.
 * @par Thread safety
 * One thread at a time per handle.
 * @since 0.1
 */
RECO_API int reco_config_load_string(reco_config *cfg, const char *yaml, size_t len,
                                     const char *source_name);

/**
 * @brief Set the option (or group of options) at @p path from text.
 *
 * @p path names a leaf option (`"experiment.seed"`), a nested mapping (`"experiment.output"`)
 * or a whole section (`"experiment"`). For a string option @p value is taken literally,
 * without YAML quoting (`"runs/a: b"` sets exactly that); for every other option it is parsed
 * as one YAML value, with the same rules and error messages as in a file: `"7"`, `"true"`,
 * `"[json, csv]"`; for a mapping or section, a YAML mapping (`"{seed: 7, threads: 2}"`) whose
 * keys replace the options they name and leave the others as they are. A list is replaced as
 * a whole. Error details name the option path; they carry no file, line or column.
 * The call is atomic: on failure @p cfg is unchanged.
 * @param[in,out] cfg    the handle.
 * @param[in]     path   dot-separated option path, NUL-terminated.
 * @param[in]     value  the new value, NUL-terminated; read during the call only.
 * @return @ref RECO_OK; @ref RECO_EINVAL if an argument is NULL; @ref RECO_ECONFIG for an
 *         unknown path or an invalid value; @ref RECO_EFORMAT if a non-string value is not
 *         well-formed YAML; @ref RECO_ENOMEM if an allocation fails.
 * @par Thread safety
 * One thread at a time per handle.
 * @since 0.1
 */
RECO_API int reco_config_set(reco_config *cfg, const char *path, const char *value);

/**
 * @brief Where an option's value came from. Values never change.
 * @since 0.2
 */
typedef enum reco_config_origin_kind {
    /** Never given: the option holds its default. */
    RECO_CONFIG_ORIGIN_DEFAULT = 0,
    /** Given in the YAML text of reco_config_load_file() or reco_config_load_string(). */
    RECO_CONFIG_ORIGIN_FILE = 1,
    /** Given by reco_config_set() (a command-line override, usually). */
    RECO_CONFIG_ORIGIN_SET = 2,
    /** Given by a reco_config_set_<section>() call: an option whose value the call changed
     *  (since 0.2 an option it leaves as it was keeps its origin, so that setting back what
     *  reco_config_get_<section>() gave marks nothing as given). */
    RECO_CONFIG_ORIGIN_STRUCT = 3
} reco_config_origin_kind;

/** Current version of @ref reco_config_origin. @since 0.2 */
#define RECO_CONFIG_ORIGIN_VERSION 1

/** Initialiser for a @ref reco_config_origin of the current version. @since 0.2 */
#define RECO_CONFIG_ORIGIN_INIT { RECO_CONFIG_ORIGIN_VERSION, RECO_CONFIG_ORIGIN_DEFAULT, NULL, 0, 0 }

/**
 * @brief Where one option of a configuration was given, from reco_config_get_origin().
 *
 * The strings are borrowed from the configuration: valid until the next call that modifies
 * it (load, set, reset) or frees it.
 * @since 0.2
 */
typedef struct reco_config_origin {
    unsigned int version; /**< Set to @ref RECO_CONFIG_ORIGIN_VERSION by the caller. */
    /** How the value was given. */
    reco_config_origin_kind kind;
    /** For @ref RECO_CONFIG_ORIGIN_FILE the file name (or the source name of a string);
     *  for @ref RECO_CONFIG_ORIGIN_SET the call's `path=value` text, e.g. `model.n_items=5`;
     *  for @ref RECO_CONFIG_ORIGIN_STRUCT the function's name, e.g. `reco_config_set_model`;
     *  for @ref RECO_CONFIG_ORIGIN_DEFAULT `""`. Never NULL after a successful call. */
    const char *source;
    /** 1-based line of the option's key in @c source (for @ref RECO_CONFIG_ORIGIN_FILE
     *  only; 0 otherwise). */
    uint32_t line;
    /** 1-based column of the option's key, as in error details; 0 when @c line is 0. */
    uint32_t column;
} reco_config_origin;

/**
 * @brief Tell whether the option at @p path was given explicitly, and where.
 *
 * A program that derives an option from elsewhere (a catalog size from the data, say) uses
 * it to refuse a value the user gave but the run would not use, and to point at it:
 * @code
 * reco_config_origin o = RECO_CONFIG_ORIGIN_INIT;
 * if (reco_config_get_origin(&o, cfg, "model.n_items") == RECO_OK &&
 *     o.kind == RECO_CONFIG_ORIGIN_FILE)
 *     fprintf(stderr, "%s:%u:%u: model.n_items: derived from the logs\n", o.source, o.line,
 *             o.column);
 * @endcode
 * A load replaces every origin (options the text leaves out become
 * @ref RECO_CONFIG_ORIGIN_DEFAULT); reco_config_set() gives the options it sets its own
 * origin; reco_config_set_<section>() marks every option of its section (those past the
 * caller's struct version, which take defaults, become @ref RECO_CONFIG_ORIGIN_DEFAULT);
 * reco_config_reset() makes every option a default again. A value given explicitly counts
 * even when it equals the default. A list is one option (`experiment.seeds`).
 * @param[in,out] out   receives the origin; its @c version member is read.
 * @param[in]     cfg   the handle.
 * @param[in]     path  dot-separated path of one option, NUL-terminated; a mapping or a
 *                      section is not an option.
 * @return @ref RECO_OK; @ref RECO_EINVAL if an argument is NULL; @ref RECO_EVERSION if
 *         @p out->version is not supported (then @p out is not written); @ref RECO_ECONFIG
 *         for an unknown path (with a "did you mean" hint) or one that names a mapping.
 * @par Thread safety
 * May run concurrently with other calls taking a `const` handle.
 * @since 0.2
 */
RECO_API int reco_config_get_origin(reco_config_origin *out, const reco_config *cfg,
                                    const char *path);

/**
 * @brief Write the effective configuration as YAML to @p path, atomically.
 *
 * Every section and every option is written, in a fixed order, so the file documents the
 * whole configuration and loads back to identical values. The text goes to a temporary file
 * in the same directory, which is flushed to disk (`fsync`) and then renamed over @p path:
 * readers see the old file or the complete new one, never a partial one. On failure the
 * temporary file is removed and @p path is untouched. A new file gets mode 0666 minus the
 * process umask.
 * @param[in] cfg   the handle.
 * @param[in] path  the destination file name, NUL-terminated.
 * @return @ref RECO_OK; @ref RECO_EINVAL if an argument is NULL or @p path is empty;
 *         @ref RECO_EIO if the file cannot be written or renamed (e.g. its directory does not
 *         exist, or @p path is a directory); @ref RECO_ENOMEM if an allocation fails.
 * @par Thread safety
 * May run concurrently with other calls taking a `const` handle.
 * @since 0.1
 */
RECO_API int reco_config_write_file(const reco_config *cfg, const char *path);

/**
 * @brief Write the effective configuration as YAML into @p buf, like `snprintf`.
 *
 * The text is the one reco_config_write_file() writes. When it fits (its length plus the
 * terminating NUL is at most @p cap), it is copied to @p buf and NUL-terminated; otherwise
 * @p buf is left untouched. Either way @p len_out receives the full length, so a call with
 * `buf = NULL, cap = 0` asks for the size.
 * @param[in]  cfg      the handle.
 * @param[out] buf      destination, @p cap bytes; may be NULL only when @p cap is 0.
 * @param[in]  cap      size of @p buf in bytes.
 * @param[out] len_out  receives the text's length without the NUL; may be NULL.
 * @return @ref RECO_OK; @ref RECO_EINVAL if @p cfg is NULL, if @p buf is NULL with a
 *         non-zero @p cap, or if @p cap is too small (the message gives the size needed).
 * @par Thread safety
 * May run concurrently with other calls taking a `const` handle.
 * @since 0.1
 */
RECO_API int reco_config_write_string(const reco_config *cfg, char *buf, size_t cap,
                                      size_t *len_out);

/* ---- The experiment section: options that describe a whole run ---------------------- */

/**
 * @brief How much a run reports. YAML names: `quiet`, `error`, `warn`, `info`, `debug`.
 * @since 0.1
 */
typedef enum reco_verbosity {
    RECO_VERBOSITY_QUIET = 0, /**< Nothing. */
    RECO_VERBOSITY_ERROR = 1, /**< Errors only. */
    RECO_VERBOSITY_WARN = 2,  /**< Errors and warnings. */
    RECO_VERBOSITY_INFO = 3,  /**< Progress as well (the default). */
    RECO_VERBOSITY_DEBUG = 4  /**< Everything. */
} reco_verbosity;

/**
 * @brief Files a run writes its results as. YAML names: `json`, `csv`, `png`.
 * @since 0.1
 */
typedef enum reco_output_format {
    RECO_OUTPUT_JSON = 1, /**< JSON summary. */
    RECO_OUTPUT_CSV = 2,  /**< CSV tables. */
    RECO_OUTPUT_PNG = 3   /**< PNG plots. */
} reco_output_format;

/**
 * @brief How the logs of an experiment are written (`experiment.logging.policy`). YAML names:
 *        `uniform`, `popularity`, `model`. Values never change.
 * @since 0.1
 */
typedef enum reco_experiment_logging {
    /** A uniformly random candidate at each step. */
    RECO_EXPERIMENT_LOGGING_UNIFORM = 1,
    /** A candidate drawn with weight `popularity^popularity_power`. */
    RECO_EXPERIMENT_LOGGING_POPULARITY = 2,
    /** A supervised recommender in production: a feedback model fitted on
     *  `bootstrap_interactions` popularity-logged interactions picks with a softmax of its
     *  expected immediate reward at `temperature`; the experiment's model is then fitted on
     *  the `interactions` it logged. */
    RECO_EXPERIMENT_LOGGING_MODEL = 3
} reco_experiment_logging;

/** Capacity of reco_experiment_options::seeds. @since 0.1 */
#define RECO_EXPERIMENT_MAX_SEEDS 32
/** Capacity of reco_experiment_options::formats. @since 0.1 */
#define RECO_EXPERIMENT_MAX_FORMATS 8

/** Current version of @ref reco_experiment_options. @since 0.1 */
#define RECO_EXPERIMENT_OPTIONS_VERSION 2

/**
 * @brief Initialiser for @ref reco_experiment_options of the current version: the defaults,
 * equal to what reco_experiment_options_init() gives.
 * @since 0.1
 */
#define RECO_EXPERIMENT_OPTIONS_INIT                                                           \
    { RECO_EXPERIMENT_OPTIONS_VERSION, "recomind", 42u, 1u, 0.0, 1, RECO_VERBOSITY_INFO, ".",  \
      2u, { RECO_OUTPUT_JSON, RECO_OUTPUT_CSV }, 3u, { 1u, 2u, 3u },                         \
      RECO_EXPERIMENT_LOGGING_MODEL, 0.5, 100000u, 200000u, 100u, 0.1, 1000u, 10u, 0.95 }

/**
 * @brief The `experiment` section. Each member names its YAML path, default and valid range.
 *
 * String lengths are counted in bytes; strings must be valid UTF-8 without NUL characters.
 * @since 0.1
 */
typedef struct reco_experiment_options {
    /** Set to @ref RECO_EXPERIMENT_OPTIONS_VERSION (or an older version). */
    unsigned int version;
    /** `experiment.name`: label of the run; 1..128 bytes; default `"recomind"`. */
    const char *name;
    /** `experiment.seed`: master seed of every random stream; any 64-bit value; default 42. */
    uint64_t seed;
    /** `experiment.threads`: worker threads; 1..256; default 1. */
    uint32_t threads;
    /** `experiment.time_limit_s`: wall-clock budget in seconds, 0 for none; 0..1e9; default 0. */
    double time_limit_s;
    /** `experiment.deterministic`: bit-reproducible results even at some speed cost; boolean
     *  (0 or 1; a non-zero value given to reco_config_set_experiment() is stored as 1);
     *  default 1. */
    int deterministic;
    /** `experiment.verbosity`: default @ref RECO_VERBOSITY_INFO. */
    reco_verbosity verbosity;
    /** `experiment.output.dir`: directory for results; 1..4095 bytes; default `"."`. */
    const char *output_dir;
    /** `experiment.output.formats`: number of entries used in @c formats; 0..8; default 2. */
    uint32_t n_formats;
    /** `experiment.output.formats`: result formats; default `[json, csv]`. */
    reco_output_format formats[RECO_EXPERIMENT_MAX_FORMATS];
    /** `experiment.seeds`: number of entries used in @c seeds; 1..32; default 3. */
    uint32_t n_seeds;
    /** `experiment.seeds`: evaluation seeds, any 64-bit values; default `[1, 2, 3]`. */
    uint64_t seeds[RECO_EXPERIMENT_MAX_SEEDS];

    /* ---- version 2 (0.1) ---- */
    /** `experiment.logging.policy`: who writes the logs; default
     *  @ref RECO_EXPERIMENT_LOGGING_MODEL. @since 0.1 */
    reco_experiment_logging logging_policy;
    /** `experiment.logging.popularity_power`: exponent of the popularity weights of the
     *  popularity logging (also the bootstrap stage of model logging); [0, 10]; default 0.5.
     *  @since 0.1 */
    double logging_popularity_power;
    /** `experiment.logging.bootstrap_interactions`: interactions logged under popularity to
     *  fit the logging model (model logging only); 1..10^9; default 100000. @since 0.1 */
    uint64_t logging_bootstrap_interactions;
    /** `experiment.logging.interactions`: interactions the feedback model is fitted on;
     *  1..10^9; default 200000. @since 0.1 */
    uint64_t logging_interactions;
    /** `experiment.logging.interactions_per_user`: about how many interactions each logged
     *  user has (the logged population is `interactions / interactions_per_user` users);
     *  1..10^6; default 100. @since 0.1 */
    uint32_t logging_interactions_per_user;
    /** `experiment.logging.temperature`: softmax temperature of model logging; (0, 1e3];
     *  default 0.1. @since 0.1 */
    double logging_temperature;
    /** `experiment.evaluation.sessions`: evaluation sessions per policy, environment and seed;
     *  1..10^6; default 1000. @since 0.1 */
    uint32_t eval_sessions;
    /** `experiment.evaluation.deep_depth`: depth from which a session counts as deep;
     *  1..10^6; default 10. @since 0.1 */
    uint32_t eval_deep_depth;
    /** `experiment.evaluation.confidence`: level of every interval; (0, 1); default 0.95.
     *  @since 0.1 */
    double eval_confidence;
} reco_experiment_options;

/**
 * @brief Fill @p opts with the defaults of options version @p version.
 *
 * Fields added after @p version are not written, so a caller compiled against an older
 * header may pass its smaller struct. The strings point to static storage.
 * @param[out] opts     the struct to initialise.
 * @param[in]  version  1..@ref RECO_EXPERIMENT_OPTIONS_VERSION; usually the latter.
 * @return @ref RECO_OK; @ref RECO_EINVAL if @p opts is NULL; @ref RECO_EVERSION if @p version
 *         is not supported (then @p opts is not written).
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_experiment_options_init(reco_experiment_options *opts, unsigned int version);

/**
 * @brief Copy the `experiment` section of @p cfg into @p out.
 *
 * @p out->version must be set first (e.g. by @ref RECO_EXPERIMENT_OPTIONS_INIT); fields added
 * after that version are not written, and @p out->version is left as it is.
 * The strings in @p out are borrowed from @p cfg: they stay valid until the next call that
 * modifies @p cfg (load, set, reset) or frees it. Copy them to keep them longer.
 * @param[in,out] out  receives the values; its @c version member is read.
 * @param[in]     cfg  the handle.
 * @return @ref RECO_OK; @ref RECO_EINVAL if an argument is NULL; @ref RECO_EVERSION if
 *         @p out->version is not supported (then @p out is not written).
 * @par Thread safety
 * May run concurrently with other calls taking a `const` handle.
 * @since 0.1
 */
RECO_API int reco_config_get_experiment(reco_experiment_options *out, const reco_config *cfg);

/**
 * @brief Replace the `experiment` section of @p cfg with @p in.
 *
 * Values are checked exactly as the YAML loader checks them, with the same messages naming
 * the option path (e.g. `experiment.threads: 0 is out of range [1, 256]`). Fields added after
 * @p in->version are not read and take their defaults. Strings are copied; @p in may hold
 * strings borrowed from @p cfg itself. The call is atomic: on failure @p cfg is unchanged.
 * On success strings previously borrowed from @p cfg become invalid.
 * @param[in,out] cfg  the handle.
 * @param[in]     in   the new values, read during the call only.
 * @return @ref RECO_OK; @ref RECO_EINVAL if an argument is NULL; @ref RECO_EVERSION if
 *         @p in->version is not supported; @ref RECO_ECONFIG if a value is invalid (a NULL
 *         string included); @ref RECO_ENOMEM if an allocation fails.
 * @par Thread safety
 * One thread at a time per handle.
 * @since 0.1
 */
RECO_API int reco_config_set_experiment(reco_config *cfg, const reco_experiment_options *in);

/* ---- The world section: the ground-truth world (reco/world.h) ---------------------- */

/**
 * @brief Copy the `world` section of @p cfg into @p out (a @ref reco_world_options).
 *
 * @p out->version must be set first (e.g. by @ref RECO_WORLD_OPTIONS_INIT); fields added
 * after that version are not written, and @p out->version and @p out->allocator are left as
 * they are. The YAML paths, ranges and defaults are those of @ref reco_world_options.
 * @param[in,out] out  receives the values; its @c version member is read.
 * @param[in]     cfg  the handle.
 * @return @ref RECO_OK; @ref RECO_EINVAL if an argument is NULL; @ref RECO_EVERSION if
 *         @p out->version is not supported (then @p out is not written).
 * @par Thread safety
 * May run concurrently with other calls taking a `const` handle.
 * @since 0.1
 */
RECO_API int reco_config_get_world(reco_world_options *out, const reco_config *cfg);

/**
 * @brief Replace the `world` section of @p cfg with @p in.
 *
 * Values are checked as the YAML loader checks them (ranges; not the cross-field rules,
 * which reco_world_create() checks), with messages naming the option path. Fields added
 * after @p in->version are not read and take their defaults; @p in->allocator is not
 * stored. The call is atomic: on failure @p cfg is unchanged.
 * @param[in,out] cfg  the handle.
 * @param[in]     in   the new values, read during the call only.
 * @return @ref RECO_OK; @ref RECO_EINVAL if an argument is NULL; @ref RECO_EVERSION if
 *         @p in->version is not supported; @ref RECO_ECONFIG if a value is invalid;
 *         @ref RECO_ENOMEM if an allocation fails.
 * @par Thread safety
 * One thread at a time per handle.
 * @since 0.1
 */
RECO_API int reco_config_set_world(reco_config *cfg, const reco_world_options *in);

/* ---- The qnet section: Q-learning settings (reco/qnet.h) ---------------------- */

/**
 * @brief Copy the `qnet` section of @p cfg into @p out (a @ref reco_qnet_options).
 *
 * @p out->version must be set first (e.g. by @ref RECO_QNET_OPTIONS_INIT); fields added
 * after that version are not written, and @p out->version, @p out->allocator and @p out->model are
 * left as they are. The YAML paths, ranges and defaults are those of
 * @ref reco_qnet_options.
 * @param[in,out] out  receives the values; its @c version member is read.
 * @param[in]     cfg  the handle.
 * @return @ref RECO_OK; @ref RECO_EINVAL if an argument is NULL; @ref RECO_EVERSION if
 *         @p out->version is not supported (then @p out is not written).
 * @par Thread safety
 * May run concurrently with other calls taking a `const` handle.
 * @since 0.1
 */
RECO_API int reco_config_get_qnet(reco_qnet_options *out, const reco_config *cfg);

/**
 * @brief Replace the `qnet` section of @p cfg with @p in.
 *
 * Values are checked as the YAML loader checks them (ranges; not the cross-field rules,
 * which reco_qnet_create() checks), with messages naming the option path. Fields added after
 * @p in->version are not read and take their defaults; @p in->allocator and @p in->model is not
 * stored. The call is atomic: on failure @p cfg is unchanged.
 * @param[in,out] cfg  the handle.
 * @param[in]     in   the new values, read during the call only.
 * @return @ref RECO_OK; @ref RECO_EINVAL if an argument is NULL; @ref RECO_EVERSION if
 *         @p in->version is not supported; @ref RECO_ECONFIG if a value is invalid;
 *         @ref RECO_ENOMEM if an allocation fails.
 * @par Thread safety
 * One thread at a time per handle.
 * @since 0.1
 */
RECO_API int reco_config_set_qnet(reco_config *cfg, const reco_qnet_options *in);

/* ---- The replay section: the replay buffer (reco/replay.h) ---------------------- */

/**
 * @brief Copy the `replay` section of @p cfg into @p out (a @ref reco_replay_options).
 *
 * @p out->version must be set first (e.g. by @ref RECO_REPLAY_OPTIONS_INIT); fields added
 * after that version are not written, and @p out->version and @p out->allocator are
 * left as they are. The YAML paths, ranges and defaults are those of
 * @ref reco_replay_options.
 * @param[in,out] out  receives the values; its @c version member is read.
 * @param[in]     cfg  the handle.
 * @return @ref RECO_OK; @ref RECO_EINVAL if an argument is NULL; @ref RECO_EVERSION if
 *         @p out->version is not supported (then @p out is not written).
 * @par Thread safety
 * May run concurrently with other calls taking a `const` handle.
 * @since 0.1
 */
RECO_API int reco_config_get_replay(reco_replay_options *out, const reco_config *cfg);

/**
 * @brief Replace the `replay` section of @p cfg with @p in.
 *
 * Values are checked as the YAML loader checks them (ranges; not the cross-field rules,
 * which reco_replay_create() checks), with messages naming the option path. Fields added after
 * @p in->version are not read and take their defaults; @p in->allocator is not
 * stored. The call is atomic: on failure @p cfg is unchanged.
 * @param[in,out] cfg  the handle.
 * @param[in]     in   the new values, read during the call only.
 * @return @ref RECO_OK; @ref RECO_EINVAL if an argument is NULL; @ref RECO_EVERSION if
 *         @p in->version is not supported; @ref RECO_ECONFIG if a value is invalid;
 *         @ref RECO_ENOMEM if an allocation fails.
 * @par Thread safety
 * One thread at a time per handle.
 * @since 0.1
 */
RECO_API int reco_config_set_replay(reco_config *cfg, const reco_replay_options *in);

/* ---- The explorer section: exploration (reco/explorer.h) ---------------------- */

/**
 * @brief Copy the `explorer` section of @p cfg into @p out (a @ref reco_explorer_options).
 *
 * @p out->version must be set first (e.g. by @ref RECO_EXPLORER_OPTIONS_INIT); fields added
 * after that version are not written, and @p out->version and @p out->allocator are
 * left as they are. The YAML paths, ranges and defaults are those of
 * @ref reco_explorer_options.
 * @param[in,out] out  receives the values; its @c version member is read.
 * @param[in]     cfg  the handle.
 * @return @ref RECO_OK; @ref RECO_EINVAL if an argument is NULL; @ref RECO_EVERSION if
 *         @p out->version is not supported (then @p out is not written).
 * @par Thread safety
 * May run concurrently with other calls taking a `const` handle.
 * @since 0.1
 */
RECO_API int reco_config_get_explorer(reco_explorer_options *out, const reco_config *cfg);

/**
 * @brief Replace the `explorer` section of @p cfg with @p in.
 *
 * Values are checked as the YAML loader checks them (ranges; not the cross-field rules,
 * which reco_explorer_create() checks), with messages naming the option path. Fields added after
 * @p in->version are not read and take their defaults; @p in->allocator is not
 * stored. The call is atomic: on failure @p cfg is unchanged.
 * @param[in,out] cfg  the handle.
 * @param[in]     in   the new values, read during the call only.
 * @return @ref RECO_OK; @ref RECO_EINVAL if an argument is NULL; @ref RECO_EVERSION if
 *         @p in->version is not supported; @ref RECO_ECONFIG if a value is invalid;
 *         @ref RECO_ENOMEM if an allocation fails.
 * @par Thread safety
 * One thread at a time per handle.
 * @since 0.1
 */
RECO_API int reco_config_set_explorer(reco_config *cfg, const reco_explorer_options *in);

/* ---- The trainer section: the training loop (reco/trainer.h) ---------------------- */

/**
 * @brief Copy the `trainer` section of @p cfg into @p out (a @ref reco_trainer_options).
 *
 * @p out->version must be set first (e.g. by @ref RECO_TRAINER_OPTIONS_INIT); fields added
 * after that version are not written, and @p out->version, @p out->allocator, @p out->progress
 * and @p out->progress_payload are left as they are. The YAML paths, ranges and defaults are
 * those of @ref reco_trainer_options; an empty `metrics_csv` (the default) is returned as
 * NULL (no CSV), any other one as a string owned by @p cfg, valid until @p cfg is next
 * modified or freed.
 * @param[in,out] out  receives the values; its @c version member is read.
 * @param[in]     cfg  the handle.
 * @return @ref RECO_OK; @ref RECO_EINVAL if an argument is NULL; @ref RECO_EVERSION if
 *         @p out->version is not supported (then @p out is not written).
 * @par Thread safety
 * May run concurrently with other calls taking a `const` handle.
 * @since 0.1
 */
RECO_API int reco_config_get_trainer(reco_trainer_options *out, const reco_config *cfg);

/**
 * @brief Replace the `trainer` section of @p cfg with @p in.
 *
 * Values are checked as the YAML loader checks them (ranges; not the limits that depend on
 * the model nor the cross-field rules, which reco_trainer_create() checks), with messages
 * naming the option path. Fields added after @p in->version are not read and take their
 * defaults; @p in->allocator, @p in->progress and @p in->progress_payload are not stored; a
 * NULL @c metrics_csv is stored as "" (no CSV), any other one is copied. The call is atomic:
 * on failure @p cfg is unchanged.
 * @param[in,out] cfg  the handle.
 * @param[in]     in   the new values, read during the call only.
 * @return @ref RECO_OK; @ref RECO_EINVAL if an argument is NULL; @ref RECO_EVERSION if
 *         @p in->version is not supported; @ref RECO_ECONFIG if a value is invalid;
 *         @ref RECO_ENOMEM if an allocation fails.
 * @par Thread safety
 * One thread at a time per handle.
 * @since 0.1
 */
RECO_API int reco_config_set_trainer(reco_config *cfg, const reco_trainer_options *in);

/* ---- The model section: the feedback model's architecture (reco/model.h) ---------- */

/**
 * @brief Copy the `model` section of @p cfg into @p out (a @ref reco_model_options).
 *
 * The section holds the scalar members of @ref reco_model_options under their own names
 * (`model.dim`, `model.n_blocks`, `model.lr`, ...) with the ranges and defaults stated
 * there; `n_items`, `lookback` and `n_signals` are usually overwritten by the caller with
 * those of the world or the logs. @p out->version must be set first; @p out->allocator is
 * left as it is.
 * @param[in,out] out  receives the values; its @c version member is read.
 * @param[in]     cfg  the handle.
 * @return @ref RECO_OK; @ref RECO_EINVAL if an argument is NULL; @ref RECO_EVERSION if
 *         @p out->version is not supported (then @p out is not written).
 * @par Thread safety
 * May run concurrently with other calls taking a `const` handle.
 * @since 0.1
 */
RECO_API int reco_config_get_model(reco_model_options *out, const reco_config *cfg);

/**
 * @brief Store @p in as the `model` section of @p cfg, validating every field first.
 * @param[in,out] cfg  the handle; unchanged on error.
 * @param[in]     in   the values; its @c version member is read.
 * @return @ref RECO_OK; @ref RECO_EINVAL for a NULL argument or a value out of range (the
 *         error names its YAML path); @ref RECO_EVERSION for an unsupported version.
 * @par Thread safety
 * Needs exclusive access to @p cfg.
 * @since 0.1
 */
RECO_API int reco_config_set_model(reco_config *cfg, const reco_model_options *in);

/* ---- The sim section: the user simulator (reco/sim.h) ---------------------- */

/**
 * @brief Copy the `sim` section of @p cfg into @p out (a @ref reco_sim_options).
 *
 * @p out->version must be set first (e.g. by @ref RECO_SIM_OPTIONS_INIT); fields added
 * after that version are not written, and @p out->version, @p out->allocator and the
 * per-signal arrays @p out->reward, @p out->parent and @p out->parent_value and the pointer
 * @p out->item_penalty (not part of the section) are left as they are. The YAML paths, ranges and defaults are those of
 * @ref reco_sim_options.
 * @param[in,out] out  receives the values; its @c version member is read.
 * @param[in]     cfg  the handle.
 * @return @ref RECO_OK; @ref RECO_EINVAL if an argument is NULL; @ref RECO_EVERSION if
 *         @p out->version is not supported (then @p out is not written).
 * @par Thread safety
 * May run concurrently with other calls taking a `const` handle.
 * @since 0.1
 */
RECO_API int reco_config_get_sim(reco_sim_options *out, const reco_config *cfg);

/**
 * @brief Replace the `sim` section of @p cfg with @p in.
 *
 * Values are checked as the YAML loader checks them (ranges; not the limits that depend on
 * the model, which reco_sim_create() checks), with messages naming the option path. Fields
 * added after @p in->version are not read and take their defaults; @p in->allocator and the
 * per-signal arrays @p in->reward, @p in->parent and @p in->parent_value are not stored. The
 * call is atomic: on failure @p cfg is unchanged.
 * @param[in,out] cfg  the handle.
 * @param[in]     in   the new values, read during the call only.
 * @return @ref RECO_OK; @ref RECO_EINVAL if an argument is NULL; @ref RECO_EVERSION if
 *         @p in->version is not supported; @ref RECO_ECONFIG if a value is invalid;
 *         @ref RECO_ENOMEM if an allocation fails.
 * @par Thread safety
 * One thread at a time per handle.
 * @since 0.1
 */
RECO_API int reco_config_set_sim(reco_config *cfg, const reco_sim_options *in);

RECO_END_DECLS

/** @} */
#endif /* RECO_CONFIG_H */
