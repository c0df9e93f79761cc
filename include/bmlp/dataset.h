/* In-memory datasets, the CSV, LIBSVM and NPY loaders, feature standardization, and synthetic
 * generators and their file writer. */
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
    int header;          /* nonzero: the first line after the skipped ones names the columns;
                            its first name may not be empty or "", spaces aside (a row
                            index's header) */
    size_t label_column; /* 1-based column of the label; 0 means the last column */
    int no_label;        /* nonzero: no label column, every field is a feature and each label
                            is set to 0 (label_column must then be 0) */
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

/* Options of the LIBSVM (svmlight) loader. */
typedef struct bmlp_libsvm_options {
    int zero_based;    /* nonzero: feature indices start at 0; 0 (default): they start at 1 */
    size_t n_features; /* declared feature count; 0 (default) infers it from the largest index */
} bmlp_libsvm_options_t;

/* Sets the defaults: 1-based indices, feature count inferred. */
void bmlp_libsvm_options_default(bmlp_libsvm_options_t *opt);

/*
 * Loads a LIBSVM (svmlight) file: one sample per line, "label index:value index:value ...",
 * tokens separated by spaces or tabs, indices strictly increasing, and an optional comment from
 * '#' to the end of the line. Labels +1, 1 and 1.0 give class 1. Labels -1, 0 and their other
 * decimal spellings give class 0, but one file may not use both -1 and 0. Features that a line
 * leaves out are 0 in the dense dataset. Blank and comment-only lines are skipped anywhere, and
 * lines end in LF or CRLF. Any other deviation fails with BMLP_ERR_PARSE and an error detail
 * that names the file, line, token (1 is the label, 2 the first index:value pair) and offending
 * text. A file that cannot be opened or read gives BMLP_ERR_IO, an out-of-range
 * opt->n_features BMLP_ERR_INVALID_ARGUMENT, and a dense dataset that cannot be allocated
 * BMLP_ERR_NO_MEMORY. On failure ds is left empty. Numbers are parsed as by bmlp_csv_load,
 * whatever the process locale. docs/libsvm-format.md has the details.
 */
bmlp_status_t bmlp_libsvm_load(const char *path, const bmlp_libsvm_options_t *opt,
                               bmlp_dataset_t *ds, bmlp_error_t *err);

/*
 * Loads a NumPy .npy file (format version 1.0, 2.0 or 3.0) that contains a 2-D C-order array
 * of little-endian float32 ('<f4') or float64 ('<f8') with at least two columns. The last
 * column is the label, exactly 0 or 1, and the others are the features. Features must be
 * finite, and '<f8' features are rounded to the nearest float32, which must not be infinite.
 * The file size must equal the header size plus rows x columns x item size. Any other deviation
 * fails with BMLP_ERR_PARSE. Its error detail has line and column 0, and the message gives the
 * 1-based row and column or the byte offset of the problem. A file that cannot be opened, read
 * or mapped gives BMLP_ERR_IO. On failure ds is left empty. docs/npy-format.md has the details.
 */
bmlp_status_t bmlp_npy_load(const char *path, bmlp_dataset_t *ds, bmlp_error_t *err);

/* Computes the mean and population standard deviation of every feature over the samples
 * rows[0 .. n_rows) (all samples when rows is NULL). mean and std hold n_features floats. */
bmlp_status_t bmlp_dataset_feature_stats(const bmlp_dataset_t *ds, const size_t *rows,
                                         size_t n_rows, float *mean, float *std, bmlp_error_t *err);

/* Synthetic generators. */
typedef enum bmlp_synth_kind {
    BMLP_SYNTH_XOR,     /* 2 features: class 1 where the signs of x0 and x1 differ */
    BMLP_SYNTH_BLOBS,   /* any feature count: two Gaussian clusters at -1 and +1 on each axis */
    BMLP_SYNTH_MOONS,   /* 2 features: two interleaved half circles */
    BMLP_SYNTH_CIRCLES, /* 2 features: an inner circle of radius 0.5 inside one of radius 1 */
    BMLP_SYNTH_SPIRAL,  /* 2 features: two interleaved spiral arms, each the other turned by pi */
    BMLP_SYNTH_TEACHER  /* any feature count: labels from a random one-hidden-layer network */
} bmlp_synth_kind_t;

/* Default and largest width of the hidden layer of the synth:teacher network, and the largest
 * number of its input weights (features x width). */
#define BMLP_TEACHER_HIDDEN_DEFAULT 16
#define BMLP_MAX_TEACHER_HIDDEN ((size_t)4096)
#define BMLP_MAX_TEACHER_WEIGHTS ((size_t)1 << 24)

/*
 * Parameters of a synthetic dataset.
 *
 * synth:teacher draws every feature from the standard normal distribution and labels a sample
 * with a network of n_features inputs, one hidden layer of teacher_hidden leaky-ReLU units
 * (negative slope 1/8) and one output, whose weights are Gaussian draws from the seed. The
 * output is thresholded at its median over the first samples of the set, so the classes are
 * nearly balanced. Each label is then flipped with probability label_noise, and the features
 * get the Gaussian noise last, so noise blurs the boundary without moving it.
 */
typedef struct bmlp_synth_options {
    bmlp_synth_kind_t kind;
    size_t n_samples;
    size_t n_features; /* used by blobs and teacher; the others always have 2 */
    double noise;      /* standard deviation of Gaussian noise added to each feature */
    uint64_t seed;
    size_t teacher_hidden; /* teacher only: hidden units, 0 for BMLP_TEACHER_HIDDEN_DEFAULT */
    double label_noise;    /* teacher only: probability in [0, 0.5] that a label is flipped */
} bmlp_synth_options_t;

/* Sets the defaults of the bmlp command: synth:moons, 4000 samples, 2 features, noise 0.1, seed
 * 1, the default teacher width and no label noise. */
void bmlp_synth_options_default(bmlp_synth_options_t *opt);

/* Parses "xor", "blobs", "moons", "circles", "spiral" or "teacher". Returns 0 on success, -1
 * for an unknown name. */
int bmlp_synth_kind_parse(const char *name, bmlp_synth_kind_t *kind);

/* Returns the name of a generator ("xor", ...). */
const char *bmlp_synth_kind_name(bmlp_synth_kind_t kind);

/* Generates a synthetic dataset. Sample i depends only on the options other than n_samples and
 * on i, so the same options give the same data. Labels are balanced: even i is class 0, odd i
 * is class 1, except for synth:teacher, whose network decides them. */
bmlp_status_t bmlp_synth_generate(const bmlp_synth_options_t *opt, bmlp_dataset_t *ds,
                                  bmlp_error_t *err);

/* Number of features of the samples that opt describes. */
size_t bmlp_synth_num_features(const bmlp_synth_options_t *opt);

/* Writes samples first .. first + count - 1 of the set that opt describes into x (row-major,
 * count x bmlp_synth_num_features(opt)) and y, so that a set of any size can be produced in
 * pieces. opt->n_samples is not used. Only synth:teacher allocates: it builds its network on
 * every call, which costs about as much as making up to 2047 of its samples, so call it for
 * large pieces. That build can fail with BMLP_ERR_NO_MEMORY, and it picks its vector
 * instructions as bmlp_train does, so a BMLP_ISA variable that names an unknown or unavailable
 * instruction set fails here too. */
bmlp_status_t bmlp_synth_fill(const bmlp_synth_options_t *opt, uint64_t first, size_t count,
                              float *x, float *y, bmlp_error_t *err);

/* File formats of datasets. */
typedef enum bmlp_file_format {
    BMLP_FORMAT_CSV,    /* docs/csv-format.md */
    BMLP_FORMAT_LIBSVM, /* docs/libsvm-format.md */
    BMLP_FORMAT_NPY     /* docs/npy-format.md */
} bmlp_file_format_t;

/* Receives the number of samples written so far out of total. A nonzero return stops the
 * write, which then fails with BMLP_ERR_CANCELLED. */
typedef int (*bmlp_write_progress_fn)(uint64_t done, uint64_t total, void *user);

/*
 * Writes the opt->n_samples samples of the synthetic set that opt describes to path, in
 * format, generating them in pieces so that memory use does not grow with the sample count.
 * CSV rows are the features and then the label, each feature printed with 9 significant
 * digits, which float32 values survive exactly. LIBSVM lines are "+1" or "-1" followed by
 * every feature other than +0.0 with 1-based indices, and the last feature is always written,
 * so a load infers the full feature count. NPY files are version 1.0 '<f4' arrays with the
 * label as the last column. Each format loads back bit for bit with its loader.
 * The bytes go to a temporary file beside path that is renamed into place once complete, so
 * an existing file at path is replaced whole or not at all. on_progress, when not NULL, is
 * called after every piece.
 */
bmlp_status_t bmlp_synth_write(const bmlp_synth_options_t *opt, const char *path,
                               bmlp_file_format_t format, bmlp_write_progress_fn on_progress,
                               void *user, bmlp_error_t *err);

#ifdef __cplusplus
}
#endif

#endif /* BMLP_DATASET_H */
