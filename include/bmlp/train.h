/* Forward and backward passes, SGD, prediction and the training loop. */
#ifndef BMLP_TRAIN_H
#define BMLP_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "bmlp/dataset.h"
#include "bmlp/net.h"
#include "bmlp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest number of threads a training run may use. */
#define BMLP_MAX_THREADS 256

/* Instruction sets the kernels can be compiled for. */
typedef enum bmlp_isa {
    BMLP_ISA_AUTO = 0, /* the widest one that this CPU and build support */
    BMLP_ISA_SCALAR,
    BMLP_ISA_AVX2,
    BMLP_ISA_AVX512
} bmlp_isa_t;

/* Parses "auto", "scalar", "avx2" or "avx512". Returns 0 on success, -1 for an unknown name. */
int bmlp_isa_parse(const char *name, bmlp_isa_t *isa);

/* Returns the name of an instruction set ("scalar", ...). */
const char *bmlp_isa_name(bmlp_isa_t isa);

/* Resolves BMLP_ISA_AUTO (or the BMLP_ISA environment variable when isa is BMLP_ISA_AUTO) to the
 * instruction set that will run. Fails with BMLP_ERR_UNSUPPORTED when the requested one is not
 * available on this CPU or in this build. */
bmlp_status_t bmlp_isa_resolve(bmlp_isa_t isa, bmlp_isa_t *resolved, bmlp_error_t *err);

/*
 * Scratch memory for forward and backward passes over batches of at most max_batch samples.
 * For every unit layer it contains feature-major tiles of units x samples. The samples of a unit
 * are contiguous and rows are ld floats apart, ld a multiple of 16. The tiles are the
 * activations a, the pre-activations z, and the gradients of the loss with respect to a and z.
 */
typedef struct bmlp_workspace bmlp_workspace_t;

bmlp_status_t bmlp_workspace_create(const bmlp_net_t *net, size_t max_batch, bmlp_isa_t isa,
                                    bmlp_workspace_t **out, bmlp_error_t *err);
void bmlp_workspace_free(bmlp_workspace_t *ws);

/* The instruction set whose kernels the workspace runs. */
bmlp_isa_t bmlp_workspace_isa(const bmlp_workspace_t *ws);

/* Views of the tiles left by the last bmlp_forward or bmlp_backward call, for unit layer k
 * (0 = input, num_layers = output). Element (unit u, sample s) is at [u * ld + s]. z, dA and dZ
 * exist for k >= 1 only (NULL for k = 0); dA of the output layer is NULL as the output gradient
 * is taken from the logit. */
typedef struct bmlp_tile_view {
    const float *a;
    const float *z;
    const float *da;
    const float *dz;
    size_t ld;
} bmlp_tile_view_t;

bmlp_status_t bmlp_workspace_view(const bmlp_workspace_t *ws, size_t k, bmlp_tile_view_t *view);

/* Runs the forward pass on n samples x (row-major, n x widths[0], raw network inputs with no
 * standardization). When prob is not NULL it receives the n output probabilities. */
bmlp_status_t bmlp_forward(const bmlp_net_t *net, bmlp_workspace_t *ws, const float *x, size_t n,
                           float *prob, bmlp_error_t *err);

/* Runs the backward pass for the labels y of the n samples of the last forward pass, stores the
 * gradient averaged over the n samples in the net's gradient buffer and the mean binary
 * cross-entropy in *loss. */
bmlp_status_t bmlp_backward(bmlp_net_t *net, bmlp_workspace_t *ws, const float *y, size_t n,
                            double *loss, bmlp_error_t *err);

/* Plain SGD: params -= learning_rate * grads. */
void bmlp_sgd_step(bmlp_net_t *net, float learning_rate);

/* Predicts the probability of class 1 for n raw samples (row-major, n x widths[0]), applying the
 * network's standardization first when it has one. */
bmlp_status_t bmlp_predict(const bmlp_net_t *net, const float *x, size_t n, float *prob,
                           bmlp_error_t *err);

/* Mean loss and accuracy (threshold 0.5) of a network on a dataset, standardization applied. */
bmlp_status_t bmlp_evaluate(const bmlp_net_t *net, const bmlp_dataset_t *ds, double *loss,
                            double *accuracy, bmlp_error_t *err);

/* Phases of a training step that profiling times (bmlp_train_options_t.profile). */
typedef enum bmlp_phase {
    BMLP_PHASE_FILL,     /* copying samples into the input tiles (and generating them) */
    BMLP_PHASE_FORWARD,  /* products and sigmoids up to the logits */
    BMLP_PHASE_BACKWARD, /* loss, gradients back to the inputs, weight gradients */
    BMLP_PHASE_REDUCE,   /* summing the chunks' gradients */
    BMLP_PHASE_UPDATE,   /* the SGD update of the parameters */
    BMLP_PHASE_WAIT,     /* the epoch's time not in the phases above, such as barriers */
    BMLP_PHASES
} bmlp_phase_t;

/* Returns the name of a phase ("fill", "forward", ...). */
const char *bmlp_phase_name(bmlp_phase_t phase);

/* One epoch's figures, passed to the epoch callback. */
typedef struct bmlp_epoch_report {
    size_t epoch;      /* 1-based */
    size_t epochs;     /* total requested */
    double train_loss; /* mean loss over the epoch's batches, weighted by batch size */
    double train_accuracy;
    double val_loss;     /* NaN when there is no validation split */
    double val_accuracy; /* NaN when there is no validation split */
    double seconds;      /* wall time of the epoch's training steps */
    double samples_per_second;
    /* With profiling, seconds per phase, averaged over the threads, which add up to seconds;
     * zero without it. */
    double phase_seconds[BMLP_PHASES];
} bmlp_epoch_report_t;

/* Called after every epoch; a nonzero return stops training with BMLP_ERR_CANCELLED. */
typedef int (*bmlp_epoch_callback_t)(const bmlp_epoch_report_t *report, void *user);

/* Samples of an epoch between two calls of the progress callback, rounded up to whole batches. */
#define BMLP_PROGRESS_SAMPLES ((size_t)1 << 16)

/* Called during an epoch (counted from 1) after about every BMLP_PROGRESS_SAMPLES samples, with
 * the epoch's training samples done so far and their total, but not after the last batch, which
 * on_epoch reports. One thread calls it while the others wait or train, so it must be quick. */
typedef void (*bmlp_progress_callback_t)(size_t epoch, size_t done, size_t total, void *user);

/* Options of bmlp_train. */
typedef struct bmlp_train_options {
    size_t epochs;
    size_t batch_size; /* the last batch of an epoch may be smaller and is averaged over its
                             own size */
    float learning_rate;
    uint64_t seed;    /* initialization, split and shuffles */
    double val_split; /* fraction of samples held out for validation, in [0, 1) */
    int shuffle;      /* nonzero: a new seeded permutation of the training samples each epoch */
    int standardize;  /* nonzero: fit mean and std on the training split and store them */
    int init;         /* nonzero: Glorot-initialize the network from seed before training */
    bmlp_isa_t isa;
    size_t threads;    /* 0: the OpenMP default (OMP_NUM_THREADS, else every core). The
                             result is bitwise the same for every thread count. */
    int exact_threads; /* nonzero: start exactly threads threads, even where some idle */
    int profile;       /* nonzero: time the phases of each step (a clock read per phase and
                          chunk). The reduction and the update then run as two passes, one
                          fused pass without profiling; the results are the same bits. */
    bmlp_epoch_callback_t on_epoch;
    bmlp_progress_callback_t on_progress; /* NULL for none */
    void *user;                           /* passed to on_epoch and on_progress */
} bmlp_train_options_t;

/* Defaults: 20 epochs, batch 32, learning rate 0.5, seed 1, validation split 0.2, shuffle,
 * standardize, initialize, automatic instruction set, default threads, no callback. */
void bmlp_train_options_default(bmlp_train_options_t *opt);

/* Final figures of a training run. */
typedef struct bmlp_train_result {
    size_t epochs_run;
    size_t n_train;
    size_t n_val;
    bmlp_isa_t isa;
    size_t threads;           /* threads that ran each step: fewer than requested when a batch
                                 is too small to split profitably */
    bmlp_epoch_report_t last; /* the report of the last completed epoch */
} bmlp_train_result_t;

/* Returns the number of threads bmlp_train runs each step of net on with batches of batch
 * samples when requested threads are asked for (0: the OpenMP default). Unless exact is set, it
 * is fewer than requested when a batch is too small to split profitably. It is 1 in a build
 * without OpenMP. */
size_t bmlp_train_threads(const bmlp_net_t *net, size_t batch, size_t requested, int exact);

/* Returns the thread count that requesting 0 threads means: OMP_NUM_THREADS, else every core,
 * at most BMLP_MAX_THREADS; 1 in a build without OpenMP. */
size_t bmlp_default_threads(void);

/* Returns 1 when this build runs steps on several threads (OpenMP), 0 otherwise. */
int bmlp_has_openmp(void);

/* The sizes of the training and validation splits of n samples: n_val = round(val_split * n). */
void bmlp_train_split_sizes(size_t n, double val_split, size_t *n_train, size_t *n_val);

/*
 * Trains net on ds. The split into training and validation samples is a seeded permutation;
 * the validation samples are the last round(val_split * n) of it. Each batch is cut into chunks
 * whose size depends on the batch size only, spread over threads, and their gradients are
 * summed in a fixed order, so any thread count gives bitwise the same model. When a batch's
 * loss is not finite, training stops with BMLP_ERR_NONFINITE before that batch's update, so the
 * network keeps the last parameters that gave a finite loss, and the error detail names the
 * epoch, batch and sample range. When an epoch ends with a non-finite parameter after finite
 * losses (an overflow in an update), training stops with BMLP_ERR_NONFINITE too, and the
 * parameters are not usable. With standardization, a feature whose extreme values overflow
 * float when standardized is rejected with BMLP_ERR_INVALID_ARGUMENT before training. The check
 * covers the samples that the standardization is fitted on: every training sample of an
 * in-memory dataset, the first 2^20 of a streamed source. A later one shows as a non-finite
 * loss. Training leaves the net's gradient buffer as it was: only bmlp_backward writes it.
 */
bmlp_status_t bmlp_train(bmlp_net_t *net, const bmlp_dataset_t *ds, const bmlp_train_options_t *opt,
                         bmlp_train_result_t *result, bmlp_error_t *err);

#ifdef __cplusplus
}
#endif

#endif /* BMLP_TRAIN_H */
