/* The whole public API of libbmlp. Pointer arguments must not be NULL unless a function's
 * documentation states that it accepts NULL. */
#ifndef BMLP_BMLP_H
#define BMLP_BMLP_H

#include "bmlp/bound.h"
#include "bmlp/dataset.h"
#include "bmlp/file.h"
#include "bmlp/model.h"
#include "bmlp/net.h"
#include "bmlp/source.h"
#include "bmlp/status.h"
#include "bmlp/train.h"

#define BMLP_VERSION_MAJOR 0
#define BMLP_VERSION_MINOR 1
#define BMLP_VERSION_PATCH 0
#define BMLP_VERSION_STRING "0.1.0"

#endif /* BMLP_BMLP_H */
