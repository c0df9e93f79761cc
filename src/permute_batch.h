/* Seeded permutations applied to many elements at once; internal to the library. */
#ifndef BMLP_SRC_PERMUTE_BATCH_H
#define BMLP_SRC_PERMUTE_BATCH_H

#include <stddef.h>

#include "bmlp/train.h"
#include "permute.h"

/* Replaces each x[i], i < count, by bmlp_permutation_apply(p, x[i]). Every x[i] must be below
 * p->n. With BMLP_ISA_AVX512 or BMLP_ISA_AVX2 (on a CPU that runs it), vectors of 16 or 8
 * elements go through the network, and the results are the same for every isa. */
void bmlp_permutation_apply_array(const bmlp_permutation_t *p, size_t *x, size_t count,
                                  bmlp_isa_t isa);

/* Stores bmlp_permutation_apply(p, first + i) in x[i] for i < count, as
 * bmlp_permutation_apply_array on the positions first to first + count - 1 would. first + count
 * must not exceed p->n. */
void bmlp_permutation_apply_range(const bmlp_permutation_t *p, size_t first, size_t count,
                                  size_t *x, bmlp_isa_t isa);

#endif /* BMLP_SRC_PERMUTE_BATCH_H */
