/* The counter-based generator behind every random choice in bmlp; internal to the library.
 * A draw is a pure function of (seed, stream, index): Philox4x32-10 from Random123 with the seed
 * as key and (index, stream) as counter. So any draw can be made by any thread, in any order. */
#ifndef BMLP_SRC_RANDOM_H
#define BMLP_SRC_RANDOM_H

#include <stdint.h>

/* Streams keep the draws of different purposes apart. Per-epoch shuffles add the epoch number
 * to BMLP_STREAM_SHUFFLE. */
enum {
    BMLP_STREAM_INIT = 1,
    BMLP_STREAM_SPLIT = 2,
    BMLP_STREAM_SYNTH = 3,
    BMLP_STREAM_SHUFFLE = 1u << 16
};

/* Four independent 32-bit words for (seed, stream, index). */
void bmlp_random_block(uint64_t seed, uint32_t stream, uint64_t index, uint32_t out[4]);

/* A uniform double in [0, 1) with 53 random bits. */
double bmlp_random_uniform(uint64_t seed, uint32_t stream, uint64_t index);

/* Two uniform doubles in [0, 1) from the same block. */
void bmlp_random_uniform2(uint64_t seed, uint32_t stream, uint64_t index, double out[2]);

/* Two independent standard normal draws (Box-Muller on one block). */
void bmlp_random_normal2(uint64_t seed, uint32_t stream, uint64_t index, double out[2]);

/* A uniform integer in [0, bound) for bound >= 1; bias below 2^-53 * bound. */
uint64_t bmlp_random_below(uint64_t seed, uint32_t stream, uint64_t index, uint64_t bound);

#endif /* BMLP_SRC_RANDOM_H */
