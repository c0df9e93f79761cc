/* Choice of the kernel table; internal to the library. */
#ifndef BMLP_SRC_DISPATCH_H
#define BMLP_SRC_DISPATCH_H

#include "bmlp/train.h"
#include "kernels.h"

/* Returns the kernel table of a resolved instruction set (not BMLP_ISA_AUTO). */
const bmlp_kernels_t *bmlp_kernels_for(bmlp_isa_t isa);

#endif /* BMLP_SRC_DISPATCH_H */
