#include "reco/version.h"

unsigned int reco_version(void)
{
    return RECO_VERSION_NUMBER;
}

const char *reco_version_string(void)
{
    return RECO_VERSION_STRING;
}
