/* Internal interface between the configuration engine (config.c: YAML loading, validation,
 * writing, handle management) and the schema (config_schema.c: one descriptor table per
 * section, and the public per-section accessors). The engine knows no option by name; all it
 * knows comes from the tables declared here. */
#ifndef RECO_CONFIG_PRIVATE_H
#define RECO_CONFIG_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "reco/config.h"

/* Kinds of option. Enums are stored as `int` (checked in config_schema.c). A LIST holds
 * elements of `elem` type (any scalar kind except STRING) in a fixed array at `offset`, with
 * its uint32_t entry count at `count_offset`. A MAP is a nested YAML mapping whose fields,
 * in `sub`, live in the same options struct (offsets are from the struct's start). */
typedef enum reco__cfg_type {
    RECO__CFG_BOOL = 1,
    RECO__CFG_U32,
    RECO__CFG_U64,
    RECO__CFG_F64,
    RECO__CFG_ENUM,
    RECO__CFG_STRING,
    RECO__CFG_LIST,
    RECO__CFG_MAP,
    RECO__CFG_F32
} reco__cfg_type;

typedef struct reco__cfg_enum_name {
    const char *name;
    int value;
} reco__cfg_enum_name;

typedef struct reco__cfg_field reco__cfg_field;

/* One option. Which members matter depends on `type` (a LIST uses the members of its element
 * type for each entry):
 *   U32, U64   umin..umax (inclusive), udef
 *   F64        fmin..fmax (inclusive), fdef
 *   F32        as F64 (range checked on the value rounded to float; fmax <= FLT_MAX), for a
 *              `float` member; written with the fewest digits that read back to the same float
 *   BOOL       idef (0 or 1)
 *   ENUM       enums/n_enums (accepted names, in the order messages list them), idef
 *   STRING     umin..umax = length in bytes, sdef (static; never freed)
 *   LIST       elem, capacity, count_offset, min_count..capacity entries, ldef/n_ldef
 *   MAP        sub/n_sub
 * `since` is the options-struct version that added the field: callers with an older struct
 * neither see nor provide it. */
struct reco__cfg_field {
    const char *key;
    reco__cfg_type type;
    size_t offset;
    unsigned int since;
    uint64_t umin, umax, udef;
    double fmin, fmax, fdef;
    int64_t idef;
    const char *sdef;
    const reco__cfg_enum_name *enums;
    size_t n_enums;
    reco__cfg_type elem;
    uint32_t capacity, min_count;
    size_t count_offset;
    const void *ldef;
    uint32_t n_ldef;
    const reco__cfg_field *sub;
    size_t n_sub;
};

/* One top-level section: `name` in YAML, backed by an options struct of `size` bytes whose
 * first member is `unsigned int version` (current value `version`). */
typedef struct reco__cfg_section {
    const char *name;
    size_t size;
    unsigned int version;
    const reco__cfg_field *fields;
    size_t n_fields;
} reco__cfg_section;

/* The section list, in the order the writer emits them (config_schema.c). */
extern const reco__cfg_section *const reco__cfg_sections[];
extern const size_t reco__cfg_n_sections;

/* Generic bodies of the per-section public functions. `what` names the public function in
 * error messages; a static string, since reco__config_set_section keeps it as the origin of
 * the options it sets (reco_config_get_origin). */
int reco__config_options_init(void *opts, unsigned int version, const reco__cfg_section *sec,
                              const char *what);
int reco__config_get_section(void *out, const reco_config *cfg, const reco__cfg_section *sec,
                             const char *what);
int reco__config_set_section(reco_config *cfg, const void *in, const reco__cfg_section *sec,
                             const char *what);

/* Calls `fn` with the dotted path of every leaf option of `section` (or of its nested mapping
 * `sub`, when not NULL), in the writer's order. */
void reco__config_section_leaves(const char *section, const char *sub,
                                 void (*fn)(const char *path, void *payload), void *payload);

#endif /* RECO_CONFIG_PRIVATE_H */
