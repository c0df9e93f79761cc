/* Sources of training samples: an in-memory dataset, a synthetic generator that makes each
 * sample when it is needed, or an NPY file read in place through mmap. */
#ifndef BMLP_SOURCE_H
#define BMLP_SOURCE_H

#include <stddef.h>

#include "bmlp/dataset.h"
#include "bmlp/net.h"
#include "bmlp/status.h"
#include "bmlp/train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bmlp_source bmlp_source_t;

/* Wraps an in-memory dataset, which must outlive the source. Fails with
 * BMLP_ERR_INVALID_ARGUMENT, naming the sample, when a label is not 0 or 1 or a feature is not
 * finite, or when the dataset is empty. */
bmlp_status_t bmlp_source_from_dataset(const bmlp_dataset_t *ds, bmlp_source_t **out,
                                       bmlp_error_t *err);

/* A synthetic set of opt->n_samples samples that are generated when training reads them, so
 * its memory does not depend on its size. */
bmlp_status_t bmlp_source_synthetic(const bmlp_synth_options_t *opt, bmlp_source_t **out,
                                    bmlp_error_t *err);

/* Maps an NPY file (see docs/npy-format.md) and checks every value once. A file whose rows
 * take at most an eighth of the machine's memory as float32 (and half of the free memory) is
 * copied into memory during that check, and training reads the copy. Training reads larger
 * float32 files in place and converts larger float64 ones row by row, so files larger than
 * memory train from the page cache. */
bmlp_status_t bmlp_source_open_npy(const char *path, bmlp_source_t **out, bmlp_error_t *err);

/* Frees a source (unmapping its file). Accepts NULL. */
void bmlp_source_free(bmlp_source_t *src);

size_t bmlp_source_num_samples(const bmlp_source_t *src);
size_t bmlp_source_num_features(const bmlp_source_t *src);

/*
 * Trains net on src as bmlp_train does. The split and every epoch's order are seeded
 * permutations computed per sample. A source with rows in memory or in a mapped float32 file is
 * copied once per run where the copy takes at most an eighth of the machine's memory and half
 * of the free memory. The copy is in split order with a validation split and more than one
 * epoch, and otherwise, for a shuffled run, has each label after its features. The copy gives the same bits and is freed
 * before this returns; without it, no memory grows with the number of samples. The
 * standardization of a source other than an in-memory dataset is fitted on at most the first
 * 2^20 samples of the training split.
 */
bmlp_status_t bmlp_train_source(bmlp_net_t *net, const bmlp_source_t *src,
                                const bmlp_train_options_t *opt, bmlp_train_result_t *result,
                                bmlp_error_t *err);

#ifdef __cplusplus
}
#endif

#endif /* BMLP_SOURCE_H */
