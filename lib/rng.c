/* placeholder: implemented by the RNG work in progress */
#include "reco/rng.h"
