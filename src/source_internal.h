/* The layout of bmlp_source_t and the sample order of a training run; internal to the
 * library. */
#ifndef BMLP_SRC_SOURCE_INTERNAL_H
#define BMLP_SRC_SOURCE_INTERNAL_H

#include <stddef.h>

#include "bmlp/source.h"
#include "bmlp/train.h"
#include "npy.h"
#include "permute.h"
#include "synth.h"

struct bmlp_source {
    size_t n_samples;
    size_t n_features;
    int in_memory; /* nonzero: cheap to read whole, so statistics use every training sample */

    /* A float32 table, in memory or mapped: sample i has features x[i * x_stride + j] and
     * label y[i * y_stride]. x is NULL for sources that make their samples on demand. */
    const float *x;
    size_t x_stride;
    const float *y;
    size_t y_stride;

    int synthetic; /* nonzero: samples come from gen */
    bmlp_synth_gen_t gen;
    int mapped; /* nonzero: map is an NPY file, read row by row when x is NULL */
    bmlp_npy_map_t map;
    char *path;   /* of the NPY file */
    float *table; /* rows copied into memory, which x and y point into, or NULL */
};

/* bmlp_source_open_npy with the largest table, in bytes, that it copies into memory in place of
 * reading the file through its mapping (bmlp_copy_budget() there). */
bmlp_status_t bmlp_source_open_npy_budget(const char *path, size_t budget, bmlp_source_t **out,
                                          bmlp_error_t *err);

/* Writes samples idx[0 .. n) of a source without a table row-major into x (n x n_features)
 * and y. */
void bmlp_source_read(const bmlp_source_t *src, const size_t *idx, size_t n, float *x, float *y);

/*
 * Which sample each position of an epoch's training order and of the validation split reads.
 * Training position q reads split(epoch(q)) and validation position v reads split(n_train + v).
 * Both are seeded permutations computed per sample, so no memory grows with the sample count.
 */
typedef struct bmlp_order {
    size_t n_train;
    size_t n_val;
    int use_split; /* nonzero: split is a permutation, otherwise the identity */
    bmlp_permutation_t split;
    int use_epoch; /* nonzero: epoch is a permutation, otherwise the identity */
    bmlp_permutation_t epoch;
} bmlp_order_t;

/* Writes the sample of training position first + s into idx[s] for s < count: split(epoch(q))
 * as above, several positions at a time where isa allows it. */
void bmlp_order_train_array(const bmlp_order_t *o, size_t first, size_t count, bmlp_isa_t isa,
                            size_t *idx);

static inline size_t bmlp_order_val(const bmlp_order_t *o, size_t v)
{
    return o->use_split ? (size_t)bmlp_permutation_apply(&o->split, o->n_train + v)
                        : o->n_train + v;
}

#endif /* BMLP_SRC_SOURCE_INTERNAL_H */
