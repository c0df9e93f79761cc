/* The counter-based generator behind every random choice in bmlp; internal to the library.
 * A draw is a pure function of (seed, stream, index): Philox4x32-10 from Random123 with the seed
 * as key and (index, stream) as counter. So any draw can be made by any thread, in any order. */
#ifndef BMLP_SRC_RANDOM_H
#define BMLP_SRC_RANDOM_H

#include <stddef.h>
#include <stdint.h>

#include "bmlp/train.h"

/* Streams keep the draws of different purposes apart. Per-epoch shuffles add the epoch number
 * to BMLP_STREAM_SHUFFLE. The round keys of the permutation for stream s are the draws of
 * BMLP_STREAM_PERMUTATION at indices s * 2^32 + 0, 1, ... */
enum {
    BMLP_STREAM_INIT = 1,
    BMLP_STREAM_SPLIT = 2,
    BMLP_STREAM_SYNTH = 3,
    BMLP_STREAM_PERMUTATION = 4,
    BMLP_STREAM_TEACHER_WEIGHTS = 5, /* the network of synth:teacher */
    BMLP_STREAM_TEACHER_SAMPLES = 6, /* the features, noise and label flips of synth:teacher */
    BMLP_STREAM_SHUFFLE = 1u << 16
};

/* Four independent 32-bit words for (seed, stream, index). */
void bmlp_random_block(uint64_t seed, uint32_t stream, uint64_t index, uint32_t out[4]);

/* Computes the blocks of (seed, stream, index[j]) for j < n, the same words as
 * bmlp_random_block, several counters at a time with the vector instructions of isa (resolved,
 * not BMLP_ISA_AUTO). Word k of block j goes to out[k][j]. */
void bmlp_random_blocks(bmlp_isa_t isa, uint64_t seed, uint32_t stream, const uint64_t *index,
                        size_t n, uint32_t *const out[4]);

/* A uniform double in [0, 1) with 53 random bits. */
double bmlp_random_uniform(uint64_t seed, uint32_t stream, uint64_t index);

/* Two uniform doubles in [0, 1) from the same block. */
void bmlp_random_uniform2(uint64_t seed, uint32_t stream, uint64_t index, double out[2]);

/* Two independent standard normal draws (Box-Muller on one block). */
void bmlp_random_normal2(uint64_t seed, uint32_t stream, uint64_t index, double out[2]);

/* A uniform integer in [0, bound) for bound >= 1; bias below 2^-53 * bound. */
uint64_t bmlp_random_below(uint64_t seed, uint32_t stream, uint64_t index, uint64_t bound);

#endif /* BMLP_SRC_RANDOM_H */
