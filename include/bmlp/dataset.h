/* In-memory datasets, the CSV loader, feature standardization and synthetic generators. */
#ifndef BMLP_DATASET_H
#define BMLP_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "bmlp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest number of samples or features a dataset may declare; larger requests are rejected as
 * absurd before any allocation. */
#define BMLP_MAX_SAMPLES ((size_t)1 << 34)
#define BMLP_MAX_FEATURES ((size_t)1 << 20)

/* A dataset held in memory, sample-major: sample i has features x[i * n_features + j] and label
 * y[i], which is 0 or 1. The dataset owns both arrays. */
typedef struct bmlp_dataset {
    size_t n_samples;
    size_t n_features;
    float *x; /* n_samples x n_features, row-major */
    float *y; /* n_samples labels */
} bmlp_dataset_t;

/* Allocates an uninitialized dataset of n_samples x n_features. */
bmlp_status_t bmlp_dataset_alloc(bmlp_dataset_t *ds, size_t n_samples, size_t n_features,
                                 bmlp_error_t *err);

/* Frees the arrays of a dataset and zeroes it. Accepts NULL. */
void bmlp_dataset_free(bmlp_dataset_t *ds);

/* Options of the CSV loader. */
typedef struct bmlp_csv_options {
    size_t skip_lines;   /* lines to skip before anything else is read */
    int header;          /* nonzero: the first line after the skipped ones names the columns */
    size_t label_column; /* 1-based column of the label; 0 means the last column */
} bmlp_csv_options_t;

/* Sets the defaults: skip nothing, no header, label in the last column. */
void bmlp_csv_options_default(bmlp_csv_options_t *opt);

/*
 * Loads a comma-separated file. Every data line has the same number of fields, each a decimal
 * number; the label field is 0 or 1 (also written 0.0 or 1.0). Lines end in LF or CRLF; blank
 * lines are allowed only at the end. Any other deviation fails with BMLP_ERR_PARSE and an error
 * detail that names the file, line, column and offending text. A file that cannot be opened or
 * read gives BMLP_ERR_IO, and a label column beyond the last field BMLP_ERR_INVALID_ARGUMENT.
 * On failure ds is left empty. The decimal point is '.' whatever the process locale.
 */
bmlp_status_t bmlp_csv_load(const char *path, const bmlp_csv_options_t *opt, bmlp_dataset_t *ds,
                            bmlp_error_t *err);

/* Computes the mean and population standard deviation of every feature over the samples
 * rows[0 .. n_rows) (all samples when rows is NULL). mean and std hold n_features floats. */
bmlp_status_t bmlp_dataset_feature_stats(const bmlp_dataset_t *ds, const size_t *rows,
                                         size_t n_rows, float *mean, float *std,
                                         bmlp_error_t *err);

/* Synthetic generators. */
typedef enum bmlp_synth_kind {
    BMLP_SYNTH_XOR,     /* 2 features: class 1 where the signs of x0 and x1 differ */
    BMLP_SYNTH_BLOBS,   /* any feature count: two Gaussian clusters at -1 and +1 on each axis */
    BMLP_SYNTH_MOONS,   /* 2 features: two interleaved half circles */
    BMLP_SYNTH_CIRCLES  /* 2 features: an inner circle of radius 0.5 inside one of radius 1 */
} bmlp_synth_kind_t;

/* Parameters of a synthetic dataset. */
typedef struct bmlp_synth_options {
    bmlp_synth_kind_t kind;
    size_t n_samples;
    size_t n_features; /* used by blobs only; the others always have 2 */
    double noise;      /* standard deviation of Gaussian noise added to each feature */
    uint64_t seed;
} bmlp_synth_options_t;

/* Parses "xor", "blobs", "moons" or "circles". Returns 0 on success, -1 for an unknown name. */
int bmlp_synth_kind_parse(const char *name, bmlp_synth_kind_t *kind);

/* Returns the name of a generator ("xor", ...). */
const char *bmlp_synth_kind_name(bmlp_synth_kind_t kind);

/* Generates a synthetic dataset. Sample i depends only on (seed, i), so the same options give
 * the same data. Labels are balanced: even i is class 0, odd i is class 1. */
bmlp_status_t bmlp_synth_generate(const bmlp_synth_options_t *opt, bmlp_dataset_t *ds,
                                  bmlp_error_t *err);

/* Number of features of the samples that opt describes. */
size_t bmlp_synth_num_features(const bmlp_synth_options_t *opt);

/* Writes samples first .. first + count - 1 of the set that opt describes into x (row-major,
 * count x bmlp_synth_num_features(opt)) and y, without allocating, so that a set of any size
 * can be produced in pieces. opt->n_samples is not used. */
bmlp_status_t bmlp_synth_fill(const bmlp_synth_options_t *opt, uint64_t first, size_t count,
                              float *x, float *y, bmlp_error_t *err);

#ifdef __cplusplus
}
#endif

#endif /* BMLP_DATASET_H */
