/* The data-parallel training step; internal to the library.
 *
 * A mini-batch is cut into chunks whose size depends on the batch size and the parameter count,
 * never on the thread count. Threads take chunks, and each chunk's gradient sum goes into its
 * own slot. The slots are summed in a pairwise order fixed by the number of chunks, so every
 * thread count trains bitwise the same parameters. */
#ifndef BMLP_SRC_STEP_H
#define BMLP_SRC_STEP_H

#include <stddef.h>

#include "bmlp/train.h"
#include "source_internal.h"
#include "workspace.h"

/* Buffers of the chunked step, allocated once per training run. */
typedef struct bmlp_stepper {
    const bmlp_net_t *net;
    size_t chunk;       /* samples per chunk */
    size_t max_chunks;  /* chunks of a full batch */
    size_t slot_stride; /* floats between gradient slots: num_params rounded up to 16 */
    float *slots;       /* max_chunks gradient sums per set, net layout: 2 sets when replicated */
    double *loss;       /* summed loss of each chunk, max_chunks per set */
    size_t *correct;    /* correct predictions of each chunk, likewise */
    /* Nonzero: every thread of a team applies the whole update to its own copy of the
     * parameters, so that a step needs one barrier and not two. */
    int replicated;
    /* Number of consecutive chunks that a thread takes at a time: 2 when it adds each pair
     * itself, so that a replicated update sums half as many slots, else 1. */
    size_t group;
    struct bmlp_net *replica; /* when replicated, the network on each thread's copy of the
                               * parameters, [t] for t > 0 */
    float *replica_params;    /* those copies, slot_stride floats apart: thread t > 0
                               * uses copy t - 1 */
    /* With profiling, a block of each thread's summed gradient between the reduction and the
     * update. */
    float *grad;
    size_t threads;                         /* threads that run a full batch */
    bmlp_workspace_t *ws[BMLP_MAX_THREADS]; /* one per thread, chunk samples each */
    size_t *idx[BMLP_MAX_THREADS];          /* the samples of a thread's current chunk */
    size_t *next_idx[BMLP_MAX_THREADS];     /* the samples of its next chunk, if next_len > 0 */
    size_t next_first[BMLP_MAX_THREADS];    /* epoch position of that next chunk */
    size_t next_len[BMLP_MAX_THREADS];      /* its samples, or 0 when not computed */
    float *rows_x[BMLP_MAX_THREADS];        /* chunk x features, for sources without a table */
    float *rows_y[BMLP_MAX_THREADS];        /* chunk labels, likewise */
    size_t *window;      /* samples of positions window_first on, for a team of one */
    size_t window_first; /* the first of those positions */
    size_t window_len;   /* how many, or 0 when none are computed */
    int use_small;       /* nonzero: chunks run small_step, not the tiles */
    int profile;         /* nonzero: time the phases of each step, set by bmlp_stepper_init */
    bmlp_progress_callback_t on_progress; /* called within an epoch, or NULL */
    void *progress_user;
    size_t epoch; /* the epoch that bmlp_stepper_epoch runs, for on_progress */
    /* Seconds per phase of each thread in the current epoch, a cache line per thread. */
    struct {
        double seconds[8];
    } phase[BMLP_MAX_THREADS];
} bmlp_stepper_t;

/* Allocates the buffers for batches of up to batch samples on up to threads threads (0: the
 * OpenMP default). Threads beyond what the work of a batch can use are not started, unless
 * exact is set. With profile set, each step's phases are timed. */
bmlp_status_t bmlp_stepper_init(bmlp_stepper_t *st, const bmlp_net_t *net, size_t batch,
                                size_t threads, int exact, int profile, bmlp_isa_t isa,
                                bmlp_error_t *err);

void bmlp_stepper_free(bmlp_stepper_t *st);

/* Returns the samples per chunk for a network and a batch size, a multiple of 64. It is large
 * enough that a batch has at most 64 chunks whose gradient slots fit in 1 MiB (but at least 2
 * slots), and that a chunk of a tiny network has enough work to pay for its kernel calls. */
size_t bmlp_chunk_size(const bmlp_net_t *net, size_t batch);

/* Runs one SGD epoch over the training positions of order, reading samples from src, in
 * batches of batch samples. The loss and correct predictions of each batch, taken before its
 * update, are added to *loss_sum and *correct_sum. Returns 0 when every batch was applied. A
 * batch whose loss is not finite stops the epoch before its update, and then its 1-based
 * number is returned. */
size_t bmlp_stepper_epoch(bmlp_stepper_t *st, bmlp_net_t *net, const bmlp_source_t *src,
                          const bmlp_order_t *order, size_t batch, float learning_rate,
                          double *loss_sum, size_t *correct_sum);

/* With profiling, writes the seconds per phase of the last epoch, averaged over the threads.
 * The wait phase is the rest of the epoch's wall time. */
void bmlp_stepper_phases(const bmlp_stepper_t *st, double wall_seconds,
                         double phase_seconds[BMLP_PHASES]);

/* Mean loss and accuracy of the validation positions of order, or of every sample of src in
 * turn when order is NULL: forward passes only, in chunks spread over the stepper's threads. */
void bmlp_stepper_evaluate(bmlp_stepper_t *st, const bmlp_source_t *src, const bmlp_order_t *order,
                           double *loss, double *accuracy);

#endif /* BMLP_SRC_STEP_H */
