/**
 * @file reco.h
 * @brief Umbrella header: includes every public libreco header.
 *
 * @code
 * #include <reco/reco.h>
 * @endcode
 * Build with `pkg-config --cflags --libs reco`.
 */
#ifndef RECO_RECO_H
#define RECO_RECO_H

#include "reco/common.h"
#include "reco/version.h"
#include "reco/error.h"
#include "reco/alloc.h"
#include "reco/rng.h"
#include "reco/config.h"
#include "reco/model.h"
#include "reco/qnet.h"
#include "reco/explorer.h"
#include "reco/env.h"
#include "reco/sim.h"
#include "reco/world.h"
#include "reco/replay.h"
#include "reco/log.h"
#include "reco/items.h"
#include "reco/metrics.h"
#include "reco/fit.h"
#include "reco/policy.h"
#include "reco/eval.h"
#include "reco/audit.h"
#include "reco/trainer.h"
#include "reco/wire.h"

#endif /* RECO_RECO_H */
