/* placeholder: implemented by the config work in progress */
#include "reco/config.h"
