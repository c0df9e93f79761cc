/* Synthetic generators prepared once and then asked for samples at any indices, and the
 * teacher network of synth:teacher; internal to the library. */
#ifndef BMLP_SRC_SYNTH_H
#define BMLP_SRC_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "bmlp/dataset.h"
#include "bmlp/train.h"

typedef struct bmlp_teacher bmlp_teacher_t;

/* A generator ready to make samples: the checked options and, for synth:teacher, its network.
 * It is only read while samples are made, so threads may share one. */
typedef struct bmlp_synth_gen {
    bmlp_synth_options_t opt;
    size_t n_features;
    bmlp_teacher_t *teacher; /* NULL unless opt.kind is BMLP_SYNTH_TEACHER */
} bmlp_synth_gen_t;

/* Checks opt and prepares gen. isa picks the vector instructions of synth:teacher, and
 * BMLP_ISA_AUTO resolves as in training. On failure gen needs no bmlp_synth_gen_free. */
bmlp_status_t bmlp_synth_gen_init(bmlp_synth_gen_t *gen, const bmlp_synth_options_t *opt,
                                  bmlp_isa_t isa, bmlp_error_t *err);

/* Frees the teacher network of gen. Accepts a zeroed gen. */
void bmlp_synth_gen_free(bmlp_synth_gen_t *gen);

/* Writes samples idx[0 .. n) into x (row-major, n x gen->n_features) and y. */
void bmlp_synth_gen_rows(const bmlp_synth_gen_t *gen, const size_t *idx, size_t n, float *x,
                         float *y);

/* Writes samples first .. first + count - 1 into x and y, as bmlp_synth_fill does. */
void bmlp_synth_gen_range(const bmlp_synth_gen_t *gen, uint64_t first, size_t count, float *x,
                          float *y);

/* Builds the teacher network of opt (kind BMLP_SYNTH_TEACHER, already checked) for the
 * resolved instruction set isa. Fails only with BMLP_ERR_NO_MEMORY. */
bmlp_status_t bmlp_teacher_create(const bmlp_synth_options_t *opt, bmlp_isa_t isa,
                                  bmlp_teacher_t **out, bmlp_error_t *err);

/* Frees a teacher. Accepts NULL. */
void bmlp_teacher_free(bmlp_teacher_t *t);

/* Samples the teacher makes at a time, and the most that bmlp_teacher_rows takes. Each
 * sample's draws, normals and network output are long chains of dependent operations, and 256
 * samples per pass give the processor enough independent vectors to overlap them. */
#define BMLP_TEACHER_CHUNK 256

/* Writes the teacher's samples idx[0 .. n), n <= BMLP_TEACHER_CHUNK, into x and y. */
void bmlp_teacher_rows(const bmlp_teacher_t *t, const uint64_t *idx, size_t n, float *x, float *y);

#endif /* BMLP_SRC_SYNTH_H */
