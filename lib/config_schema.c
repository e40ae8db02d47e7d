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
#include <stddef.h>
#include <stdint.h>

#include "config_private.h"

/* The engine reads and writes enum members as `int`. */
_Static_assert(sizeof(reco_verbosity) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(reco_output_format) == sizeof(int), "enums are stored as int");

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
};

static const reco__cfg_section experiment_section = {
    .name = "experiment",
    .size = sizeof(reco_experiment_options),
    .version = RECO_EXPERIMENT_OPTIONS_VERSION,
    .fields = experiment_fields,
    .n_fields = sizeof experiment_fields / sizeof experiment_fields[0],
};

/* ---- the section list ---------------------------------------------------------------- */

const reco__cfg_section *const reco__cfg_sections[] = {
    &experiment_section,
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
