/* Internals of reco_world shared with the configuration schema (lib/config_schema.c) and
 * with tests/test_world.c (an internal test). */
#ifndef RECO_WORLD_PRIVATE_H
#define RECO_WORLD_PRIVATE_H

#include <stdint.h>

#include "reco/rng.h"
#include "reco/world.h"
#include "config_private.h"

/* The `world` section of the configuration schema (defined in config_schema.c). Besides the
 * YAML loader, reco_world_create() validates its options against this table, so a range and
 * an option path are written down once. */
extern const reco__cfg_section reco__world_config_section;

/* Samples the outcome of showing `item` in running `slot` from its current state with the
 * uniforms of `rng` (five draws, whatever the outcome), without changing the slot: the code
 * step() runs with the session's own stream. `bits_out` receives the feedback bits and
 * `exit_out` 1 if the user would exit. No argument checks (tests only). */
void reco__world_sample(uint32_t *bits_out, int *exit_out, const reco_world *w, uint32_t slot,
                        int32_t item, reco_rng *rng);

/* Current fatigue f_k of topic k in `slot` (no argument checks; tests only). */
double reco__world_fatigue(const reco_world *w, uint32_t slot, uint32_t topic);

/* The user's interest in topic k for the session in `slot` (tests only). */
double reco__world_interest(const reco_world *w, uint32_t slot, uint32_t topic);

/* Overwrites the satisfaction of `slot` (tests only: puts a session in a chosen state). */
void reco__world_set_satisfaction(reco_world *w, uint32_t slot, double s);

#endif /* RECO_WORLD_PRIVATE_H */
