/**
 * @file config.h
 * @brief placeholder
 */
#ifndef RECO_CONFIG_H
#define RECO_CONFIG_H
#include "reco/common.h"
#endif
