/**
 * @file reco.h
 * @brief Umbrella header: includes every core header, and the lab headers when
 *        `RECO_LAB_API` is defined.
 * @ingroup reco_core
 *
 * @code
 * #include <reco/reco.h>        // core API: model, qnet, replay, explorer, sim, env, ...
 * @endcode
 * @code
 * #define RECO_LAB_API          // also the lab API: world, logs, fit, eval, audit, config
 * #include <reco/reco.h>
 * @endcode
 * Build with `pkg-config --cflags --libs reco`. The two tiers are described in
 * @ref abi_tiers "API tiers"; the macro may also be given on the command line
 * (`-DRECO_LAB_API`). Including reco.h again after defining the macro adds the lab headers.
 *
 * @par API tier
 * **Core**: stable for the life of libreco.so.0 (@ref abi_tiers "API tiers").
 */
/**
 * @defgroup reco_core Core API
 * @brief Stable for the life of libreco.so.0: what a service embeds to score, train and serve.
 *
 * Model, Q-network, replay, explorer, simulator, environment interface, policies and their
 * session runner, trainer, wire formats, prediction metrics, random numbers, errors,
 * allocator and version. Within the soname nothing here is removed or renamed, and no
 * signature, struct layout, enum value or documented behaviour changes; versioned structs
 * only grow (@ref abi). `abi/check.sh` fails on any change. A core header includes only core
 * headers and compiles without `RECO_LAB_API`.
 */
/**
 * @defgroup reco_lab Lab API
 * @brief May change in any 0.x release: the experiment around the core.
 *
 * The built-in world, interaction logs and their generation, the item table, supervised
 * fitting, the evaluator, the simulator audit and the YAML configuration (and the pipeline
 * that ties them together). Its functions are exported like the core's, but their
 * declarations are visible only to a program that defines `RECO_LAB_API` before its first
 * libreco include; a lab header included without it stops the compilation with a message.
 * `abi/check.sh` reports a change here and lets it pass. How a lab function becomes core is
 * described in @ref abi_tiers "API tiers".
 */
#ifndef RECO_RECO_H
#define RECO_RECO_H

#include "reco/common.h"
#include "reco/version.h"
#include "reco/error.h"
#include "reco/alloc.h"
#include "reco/rng.h"
#include "reco/model.h"
#include "reco/qnet.h"
#include "reco/explorer.h"
#include "reco/env.h"
#include "reco/sim.h"
#include "reco/replay.h"
#include "reco/policy.h"
#include "reco/trainer.h"
#include "reco/wire.h"
#include "reco/metrics.h"

#endif /* RECO_RECO_H */

/* The lab tier, under its own guard (as zstd's static-linking-only section), so that a
 * translation unit which saw reco.h without RECO_LAB_API can include it again with it. */
#if defined(RECO_LAB_API) && !defined(RECO_RECO_H_LAB)
#define RECO_RECO_H_LAB

#include "reco/config.h"
#include "reco/world.h"
#include "reco/log.h"
#include "reco/items.h"
#include "reco/fit.h"
#include "reco/eval.h"
#include "reco/audit.h"
#include "reco/pipeline.h"
#include "reco/ope.h"

#endif /* RECO_LAB_API */
