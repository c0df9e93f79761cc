/* The chunked training step and its deterministic reduction, spread over OpenMP threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include <time.h>

#include "alloc.h"
#include "bmlp/bound.h"
#include "error.h"
#include "net_internal.h"
#include "step.h"

/* Training positions whose samples a team of one computes in one call. */
#define ORDER_WINDOW 4096

/* Minimum samples per chunk, and maximum chunks per batch. Each chunk writes and later sums a
 * whole gradient slot, and the products run at their best from about 64 samples on. At batch
 * 256, chunks of 64 made M (32-256-1) about 10% faster than chunks of 32 on one thread, and
 * they still give 4 chunks to split between threads. */
#define MIN_CHUNK 64
#define MAX_CHUNKS BMLP_MAX_SLOTS

/* Parameters per block of a profiled step's reduction and update: 16 KiB of gradient, which
 * stays in L1 between the two passes. */
#define PROFILE_BLOCK 4096

/* Maximum bytes of gradient slots per batch, unless 2 slots already exceed it. Each chunk writes
 * a whole gradient, so for large networks fewer, larger chunks leave room in the L2 cache for
 * the weights and tiles beside the slots. 1 MiB gives D (64-256-256-1, 329 KB of gradient)
 * chunks of 128 at batch 256. Those ran 5% faster on one thread and 8% faster on two than
 * chunks of 64 with a 2 MiB budget (scripts/scaling.sh, 2-core VM with 2 MiB of L2 per core). */
#define SLOT_BUDGET ((size_t)1 << 20)

/* Work of one chunk at least, in multiply-add equivalents (a sigmoid counts as 10 multiply-adds
 * and copying one feature into the tile as 4): about 5 microseconds on one core. For the 2-2-1
 * network that is 512 samples, where chunks of 64 spent most of their time entering kernels. */
#define MIN_CHUNK_WORK 16384.0

/*
 * Work below which another thread does not pay for itself: one and a half chunks' least work.
 * On the 2-core Ice Lake VM, 2-2-1 at batch 1024 (2.2 times this work) ran 1.6 times as fast
 * on two threads shuffled and 1.1 times in stored order. 8-8-1 at batch 128 (1.4 times this
 * work) ran 1.1 to 1.6 times as fast shuffled but 0.95 to 0.97 times in stored order, so it
 * stays on one thread. Before small_step took groups of 4 vectors, its chunks ran slower and a
 * second thread paid off in both orders.
 */
#define MIN_WORK_PER_THREAD (1.5 * MIN_CHUNK_WORK)

/*
 * Maximum floats in a batch's gradient slots (64 KiB) for which every thread of a team sums all
 * slots and updates its own copy of the parameters. That saves the second barrier of each step,
 * and each thread then reads only parameters that it wrote itself. Larger slots are replicated
 * only when each thread sums few of them (below). Otherwise the threads split the sum and the
 * update.
 */
#define REPLICATE_MAX_FLOATS ((size_t)16384)

/*
 * Maximum slots, however large, that each thread of a replicated team sums. Taking pairs of
 * chunks halves them: a thread runs chunks 2g and 2g + 1 and adds the second slot into the
 * first itself, which is the first addition of the pairwise order. The team sums the even slots
 * in the rest of that order, so the bits stay those of one thread.
 *
 * When the threads split the update, each one's forward pass reads the half of the parameters
 * that the other core has just written. Reading the other core's whole slot in one stream costs
 * less, although it doubles the floats that each thread sums. Alternating 2-thread runs on a
 * 2-core Emerald Rapids VM measured the gain at batch 256. D (64-256-256-1, 2 slots of 82,704
 * floats) trained 2.9% faster replicated (median of 80 pairs). M (32-256-1, 4 slots of 8,720
 * floats) trained 3.9% faster with pairs (30 pairs). Summing 4 slots on each thread did not
 * pay: M without pairs ran no faster on the AMX-capable Xeon VM, and M at batch 512 with 4
 * pairs gave 0.98 here.
 */
#define REPLICATE_MAX_SLOTS 2

/* Estimated work of one sample's step, in multiply-add equivalents (see MIN_CHUNK_WORK). */
static double sample_work(const bmlp_net_t *net)
{
    bmlp_step_work_t work = bmlp_step_work(net);

    return work.multiply_adds + 10.0 * work.sigmoids + 4.0 * (double)net->widths[0];
}

size_t bmlp_chunk_size(const bmlp_net_t *net, size_t batch)
{
    size_t max_chunks = SLOT_BUDGET / (net->num_params * sizeof(float));
    size_t per_chunk, least = MIN_CHUNK;

    if (max_chunks < 2)
        max_chunks = 2;
    if (max_chunks > MAX_CHUNKS)
        max_chunks = MAX_CHUNKS;
    per_chunk = (batch + max_chunks - 1) / max_chunks;
    /* A chunk pays a dozen kernel calls of fixed cost, so tiny networks take more samples per
     * chunk. The count stays a power of two, so that batches of powers of two split evenly. */
    while ((double)least * sample_work(net) < MIN_CHUNK_WORK && least < batch)
        least *= 2;
    if (per_chunk < least)
        per_chunk = least;
    return (per_chunk + MIN_CHUNK - 1) / MIN_CHUNK * MIN_CHUNK;
}

/* Per-sample work, in the units above, up to which a network that fits small_step trains
 * through it. Past it the tile kernels' register blocks pay for their calls. */
#define SMALL_WORK_MAX 1024.0

/* Nonzero when chunks of net run through the fused small_step kernel of kr. */
static int fits_small_step(const bmlp_net_t *net, const bmlp_kernels_t *kr)
{
    size_t units = 0;

    for (size_t l = 0; l <= net->num_layers; l++)
        units += net->widths[l];
    return kr->small_step != NULL && units <= BMLP_SMALL_MAX_UNITS &&
           net->num_params <= BMLP_SMALL_MAX_PARAMS && sample_work(net) <= SMALL_WORK_MAX;
}

static int thread_index(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static int team_size(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

size_t bmlp_default_threads(void)
{
#ifdef _OPENMP
    size_t threads = (size_t)omp_get_max_threads();

    return threads < BMLP_MAX_THREADS ? threads : BMLP_MAX_THREADS;
#else
    return 1;
#endif
}

/* Threads that a batch of batch samples keeps busy enough, at most requested; exactly
 * requested when exact is set. */
static size_t useful_threads(const bmlp_net_t *net, size_t batch, size_t chunks, size_t requested,
                             int exact)
{
    double useful = floor(sample_work(net) * (double)batch / MIN_WORK_PER_THREAD);
    size_t threads = requested;

    if (exact)
        return threads;
    if (threads > chunks)
        threads = chunks;
    if ((double)threads > useful)
        threads = useful >= 1.0 ? (size_t)useful : 1;
    return threads;
}

size_t bmlp_train_threads(const bmlp_net_t *net, size_t batch, size_t requested, int exact)
{
    size_t chunk = bmlp_chunk_size(net, batch);

    if (requested == 0)
        requested = bmlp_default_threads();
    if (requested > BMLP_MAX_THREADS)
        requested = BMLP_MAX_THREADS;
#ifndef _OPENMP
    requested = 1;
#endif
    return useful_threads(net, batch, (batch + chunk - 1) / chunk, requested, exact);
}

int bmlp_has_openmp(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

bmlp_status_t bmlp_stepper_init(bmlp_stepper_t *st, const bmlp_net_t *net, size_t batch,
                                size_t threads, int exact, int profile, bmlp_isa_t isa,
                                bmlp_error_t *err)
{
    bmlp_status_t status = BMLP_OK;

    memset(st, 0, sizeof(*st));
    st->net = net;
    st->chunk = bmlp_chunk_size(net, batch);
    st->max_chunks = (batch + st->chunk - 1) / st->chunk;
    st->slot_stride = (net->num_params + 15) / 16 * 16;
    if (threads > BMLP_MAX_THREADS)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "%zu threads requested; at most %d are supported", threads,
                         BMLP_MAX_THREADS);
    st->threads = bmlp_train_threads(net, batch, threads, exact);
    st->replicated = st->threads > 1 && st->max_chunks * st->slot_stride <= REPLICATE_MAX_FLOATS;
    st->group = 1;
    /* Large slots are replicated when each thread sums at most REPLICATE_MAX_SLOTS slots or
     * pairs and every thread gets a chunk. The batch's slots must also fit SLOT_BUDGET, which
     * bounds the memory of the second set and of the copies and keeps the sums in cache. */
    size_t pairs = (st->max_chunks + 1) / 2;

    if (st->threads > 1 && !st->replicated &&
        st->max_chunks * st->slot_stride * sizeof(float) <= SLOT_BUDGET) {
        if (st->max_chunks <= REPLICATE_MAX_SLOTS && st->threads <= st->max_chunks) {
            st->replicated = 1;
        } else if (pairs <= REPLICATE_MAX_SLOTS && st->threads <= pairs) {
            st->group = 2;
            st->replicated = 1;
        }
    }
    /* Replicated steps alternate between two sets of slots. */
    size_t slot_count = (st->replicated ? 2 : 1) * st->max_chunks;

    st->slots = bmlp_alloc_floats(slot_count * st->slot_stride);
    st->loss = calloc(slot_count, sizeof(double));
    st->correct = calloc(slot_count, sizeof(size_t));
    if (st->replicated) {
        st->replica = calloc(st->threads, sizeof(*st->replica));
        st->replica_params = bmlp_alloc_floats((st->threads - 1) * st->slot_stride);
    }
    st->profile = profile;
    if (profile)
        st->grad = bmlp_alloc_floats(st->threads * PROFILE_BLOCK);
    if (st->slots == NULL || st->loss == NULL || st->correct == NULL ||
        (st->replicated && (st->replica == NULL || st->replica_params == NULL)) ||
        (profile && st->grad == NULL))
        status = bmlp_fail(err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL,
                           "cannot allocate %zu gradient slots of %zu parameters", slot_count,
                           net->num_params);
    for (size_t t = 0; t < st->threads && status == BMLP_OK; t++) {
        status = bmlp_workspace_create_tiles(net, st->chunk, isa, 0, &st->ws[t], err);
        /* The chunk is a step's share of a batch, so the message names the batch too. */
        if (status == BMLP_ERR_NO_MEMORY)
            status = bmlp_fail(err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL,
                               "cannot allocate the work buffers for batches of %zu samples "
                               "(chunks of %zu samples per thread); use a smaller batch",
                               batch, st->chunk);
        st->idx[t] = malloc(st->chunk * sizeof(size_t));
        st->next_idx[t] = malloc(st->chunk * sizeof(size_t));
        st->rows_x[t] = malloc(st->chunk * net->widths[0] * sizeof(float));
        st->rows_y[t] = malloc(st->chunk * sizeof(float));
        if (t == 0)
            st->window = malloc(ORDER_WINDOW * sizeof(size_t));
        if (status == BMLP_OK &&
            (st->idx[t] == NULL || st->next_idx[t] == NULL || st->rows_x[t] == NULL ||
             st->rows_y[t] == NULL || st->window == NULL))
            status = bmlp_fail(err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL,
                               "cannot allocate the buffers of thread %zu", t);
    }
    if (status != BMLP_OK) {
        bmlp_stepper_free(st);
        return status;
    }
    st->use_small = fits_small_step(net, st->ws[0]->kernels);
    return BMLP_OK;
}

void bmlp_stepper_free(bmlp_stepper_t *st)
{
    bmlp_free_floats(st->slots);
    free(st->replica);
    bmlp_free_floats(st->replica_params);
    bmlp_free_floats(st->grad);
    free(st->loss);
    free(st->correct);
    for (size_t t = 0; t < BMLP_MAX_THREADS; t++) {
        bmlp_workspace_free(st->ws[t]);
        free(st->idx[t]);
        free(st->next_idx[t]);
        free(st->rows_x[t]);
        free(st->rows_y[t]);
    }
    free(st->window);
    memset(st, 0, sizeof(*st));
}

/* The network whose parameters thread t reads and updates: its own copy when replicated. */
static const bmlp_net_t *thread_net(const bmlp_stepper_t *st, int t)
{
    return st->replicated && t > 0 ? &st->replica[t] : st->net;
}

/* Copies the samples st->idx[t][0 .. count) of src into the input tile of thread t: straight
 * from the source's table when it has one, else through the thread's row buffers. With a table,
 * the rows of the thread's next chunk are prefetched along the way when they are known. */
static void fill_chunk(bmlp_stepper_t *st, int t, const bmlp_source_t *src, size_t count)
{
    bmlp_workspace_t *ws = st->ws[t];

    if (src->x != NULL) {
        bmlp_fill_tile(st->net, ws, src->x, src->x_stride, src->y, src->y_stride, st->idx[t], count,
                       st->next_len[t] > 0 ? st->next_idx[t] : NULL, st->next_len[t]);
        return;
    }
    bmlp_source_read(src, st->idx[t], count, st->rows_x[t], st->rows_y[t]);
    bmlp_fill_tile(st->net, ws, st->rows_x[t], src->n_features, st->rows_y[t], 1, NULL, count, NULL,
                   0);
}

/* Nonzero when every chunk is a run of consecutive rows of the source's table: the training
 * positions are the rows themselves. */
static int in_place_run(const bmlp_source_t *src, const bmlp_order_t *order)
{
    return src->x != NULL && !order->use_epoch && !order->use_split;
}

/* The whole step of chunk c, training positions first .. first + count - 1 of the epoch,
 * through the fused small_step kernel, reading the source's table in place when it has one. In
 * stored order the chunk is a run of consecutive rows that the hardware prefetcher streams.
 * Shuffled rows are prefetched by the kernel, a fixed distance ahead. first_of_thread is set
 * for a chunk whose rows no earlier chunk of the thread prefetched. */
static void small_chunk(bmlp_stepper_t *st, int t, const bmlp_net_t *net, const bmlp_source_t *src,
                        const bmlp_order_t *order, size_t first, size_t count, size_t c,
                        int first_of_thread)
{
    const bmlp_kernels_t *kr = st->ws[t]->kernels;
    float *grads = st->slots + c * st->slot_stride;
    /* Made from the network for each chunk, so that it never holds stale pointers. */
    const bmlp_small_net_t small = {.num_layers = net->num_layers,
                                    .widths = net->widths,
                                    .w_offset = net->w_offset,
                                    .b_offset = net->b_offset,
                                    .num_params = net->num_params,
                                    .params = net->params,
                                    .mean = net->mean,
                                    .std = net->std};

    if (in_place_run(src, order)) {
        st->loss[c] = kr->small_step(&small, count, src->x + first * src->x_stride, src->x_stride,
                                     src->y + first * src->y_stride, src->y_stride, NULL, NULL, 0,
                                     grads, &st->correct[c]);
        return;
    }
    if (src->x != NULL) {
        /* The kernel prefetches along the way, into the next chunk's rows. Only a chunk that no
         * chunk of this thread preceded has its first rows requested here. */
        if (first_of_thread)
            bmlp_prefetch_rows(
                src->x, src->x_stride, net->widths[0], src->y, src->y_stride, st->idx[t],
                count < BMLP_SMALL_PREFETCH_AHEAD ? count : BMLP_SMALL_PREFETCH_AHEAD);
        st->loss[c] = kr->small_step(&small, count, src->x, src->x_stride, src->y, src->y_stride,
                                     st->idx[t], st->next_idx[t], st->next_len[t], grads,
                                     &st->correct[c]);
        return;
    }
    bmlp_source_read(src, st->idx[t], count, st->rows_x[t], st->rows_y[t]);
    st->loss[c] = kr->small_step(&small, count, st->rows_x[t], src->n_features, st->rows_y[t], 1,
                                 NULL, NULL, 0, grads, &st->correct[c]);
}

/* Returns the first chunk of a batch that thread t runs. Threads take groups of st->group
 * consecutive chunks in turn. */
static size_t first_chunk(const bmlp_stepper_t *st, int t)
{
    return (size_t)t * st->group;
}

/* Returns the chunk of the same batch that a thread of a team of size runs after chunk c. The
 * result may lie past the batch's last chunk, which the caller checks. */
static size_t following_chunk(const bmlp_stepper_t *st, size_t c, int size)
{
    if (st->group == 2 && c % 2 == 0)
        return c + 1;
    return (c / st->group + (size_t)size) * st->group;
}

/* Sets *next_first and *next_len to the epoch positions of the chunk that thread t of a team of
 * size runs after chunk c of batch b, or *next_len to 0 when it runs no further chunk in this
 * epoch. */
static void next_chunk(const bmlp_stepper_t *st, size_t n, size_t batch, size_t b, size_t c, int t,
                       int size, size_t *next_first, size_t *next_len)
{
    size_t start = b * batch;
    size_t count = n - start < batch ? n - start : batch;

    c = following_chunk(st, c, size);
    if (c * st->chunk >= count) {
        b++;
        c = first_chunk(st, t);
        start = b * batch;
        if (start >= n) {
            *next_len = 0;
            return;
        }
        count = n - start < batch ? n - start : batch;
        if (c * st->chunk >= count) {
            *next_len = 0;
            return;
        }
    }
    *next_first = start + c * st->chunk;
    *next_len = count - c * st->chunk < st->chunk ? count - c * st->chunk : st->chunk;
}

/* Seconds on the monotonic clock. */
static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* With profiling, adds the time since *mark to the phase of thread t and moves the mark. */
static void end_phase(bmlp_stepper_t *st, int t, bmlp_phase_t phase, double *mark)
{
    double now;

    if (!st->profile)
        return;
    now = now_seconds();
    st->phase[t].seconds[phase] += now - *mark;
    *mark = now;
}

/*
 * Writes the samples of training positions first .. first + count - 1 into idx. A team of one
 * (solo set) runs the positions of an epoch in turn, so it computes them ORDER_WINDOW at a time
 * and copies each chunk's out. The elements of a permutation that walk again run a vector or
 * two at a time at the end of each call, so longer calls spread that wait over more elements:
 * for n = 600000, 2-2-1 shuffled trained 18% faster with AVX-512 and 11% with AVX2 than with
 * a call per chunk of 256 (Ice Lake). A power of two, where nothing walks, trains as fast.
 */
static void order_chunk(bmlp_stepper_t *st, int t, const bmlp_order_t *order, size_t first,
                        size_t count, int solo, size_t *idx)
{
    bmlp_isa_t isa = st->ws[t]->isa;

    if (count == 0)
        return;
    if (!solo || count > ORDER_WINDOW) {
        bmlp_order_train_array(order, first, count, isa, idx);
        return;
    }
    if (first < st->window_first || first + count > st->window_first + st->window_len) {
        size_t len = order->n_train - first < ORDER_WINDOW ? order->n_train - first : ORDER_WINDOW;

        bmlp_order_train_array(order, first, len, isa, st->window);
        st->window_first = first;
        st->window_len = len;
    }
    memcpy(idx, st->window + (first - st->window_first), count * sizeof(size_t));
}

/* Runs the forward and backward pass of the chunk of training positions first .. first + count - 1
 * of the epoch on thread t's parameters. Its loss, hits and gradient sum go to slot. */
static void run_chunk(bmlp_stepper_t *st, int t, const bmlp_source_t *src,
                      const bmlp_order_t *order, size_t first, size_t count, size_t slot,
                      size_t next_first, size_t next_len, int solo)
{
    const bmlp_net_t *net = thread_net(st, t);
    double mark = st->profile ? now_seconds() : 0.0;

    if (st->use_small && in_place_run(src, order)) {
        small_chunk(st, t, net, src, order, first, count, slot, 0);
        end_phase(st, t, BMLP_PHASE_FORWARD, &mark);
        return;
    }
    /* The samples of this chunk were worked out by the previous chunk of the thread, unless
     * this is the thread's first chunk of the epoch. */
    int first_of_thread = !(st->next_len[t] == count && st->next_first[t] == first);

    if (!first_of_thread) {
        size_t *swap = st->idx[t];
        st->idx[t] = st->next_idx[t];
        st->next_idx[t] = swap;
    } else {
        order_chunk(st, t, order, first, count, solo, st->idx[t]);
    }
    order_chunk(st, t, order, next_first, next_len, solo, st->next_idx[t]);
    st->next_first[t] = next_first;
    st->next_len[t] = next_len;
    if (st->use_small) {
        small_chunk(st, t, net, src, order, first, count, slot, first_of_thread);
        end_phase(st, t, BMLP_PHASE_FORWARD, &mark);
        return;
    }
    fill_chunk(st, t, src, count);
    end_phase(st, t, BMLP_PHASE_FILL, &mark);
    bmlp_forward_tile(net, st->ws[t]);
    end_phase(st, t, BMLP_PHASE_FORWARD, &mark);
    st->loss[slot] = bmlp_backward_tile(net, st->ws[t], st->slots + slot * st->slot_stride,
                                        &st->correct[slot]);
    end_phase(st, t, BMLP_PHASE_BACKWARD, &mark);
}

void bmlp_stepper_phases(const bmlp_stepper_t *st, double wall_seconds,
                         double phase_seconds[BMLP_PHASES])
{
    double busy = 0.0;

    for (int p = 0; p < BMLP_PHASES; p++)
        phase_seconds[p] = 0.0;
    if (!st->profile || st->threads == 0)
        return;
    for (int p = 0; p < BMLP_PHASE_WAIT; p++) {
        for (size_t t = 0; t < st->threads; t++)
            phase_seconds[p] += st->phase[t].seconds[p];
        phase_seconds[p] /= (double)st->threads;
        busy += phase_seconds[p];
    }
    phase_seconds[BMLP_PHASE_WAIT] = wall_seconds > busy ? wall_seconds - busy : 0.0;
}

const char *bmlp_phase_name(bmlp_phase_t phase)
{
    static const char *const names[BMLP_PHASES] = {"fill",   "forward", "backward",
                                                   "reduce", "update",  "wait"};

    return (unsigned)phase < BMLP_PHASES ? names[phase] : "unknown";
}

/* The part [lo, hi) of the parameter vector that thread t of a team of size updates: equal
 * parts, cut at multiples of 16 floats so that each part starts on a cache line. */
static void param_range(size_t num_params, int t, int size, size_t *lo, size_t *hi)
{
    size_t blocks = (num_params + 15) / 16;

    *lo = blocks * (size_t)t / (size_t)size * 16;
    *hi = blocks * (size_t)(t + 1) / (size_t)size * 16;
    if (*lo > num_params)
        *lo = num_params;
    if (*hi > num_params)
        *hi = num_params;
}

/*
 * Sums count slots, stride floats apart, over [lo, hi) in the pairwise order of halving (slot
 * i + slot i + s for s = 1, 2, 4, ...), an order fixed by the number of slots.
 * Then applies the SGD step with the batch mean of the gradient to params over [lo, hi), on
 * thread t. One fused pass, or with profiling two passes per block of PROFILE_BLOCK parameters,
 * timed apart, which give the same bits. Two passes over the whole range made a profiled epoch
 * of 64-256-256-1 (82,689 parameters) 3% to 6% slower than an unprofiled one. In blocks, it runs
 * 1.6% slower, about what timing the fused pass cost (1.2%).
 */
static void reduce_and_update(bmlp_stepper_t *st, int t, const float *slots, size_t stride,
                              size_t count, float *params, size_t samples, float learning_rate,
                              size_t lo, size_t hi, double *mark)
{
    const bmlp_kernels_t *kr = st->ws[0]->kernels;
    float scale = 1.0f / (float)samples;

    if (!st->profile) {
        if (hi > lo)
            kr->reduce_update(count, hi - lo, slots + lo, stride, scale, learning_rate, NULL,
                              params + lo);
        return;
    }
    float *grad = st->grad + (size_t)t * PROFILE_BLOCK;

    for (size_t first = lo; first < hi; first += PROFILE_BLOCK) {
        size_t len = hi - first < PROFILE_BLOCK ? hi - first : PROFILE_BLOCK;

        kr->reduce_update(count, len, slots + first, stride, scale, learning_rate, grad, NULL);
        end_phase(st, t, BMLP_PHASE_REDUCE, mark);
        kr->reduce_update(1, len, grad, 0, 1.0f, learning_rate, NULL, params + first);
        end_phase(st, t, BMLP_PHASE_UPDATE, mark);
    }
}

/* Adds the slot after slot into slot, on thread t, which ran both chunks of that pair. This is
 * the first addition of the pairwise order, and it is timed as part of the reduction. */
static void add_pair(bmlp_stepper_t *st, int t, size_t slot)
{
    float *sum = st->slots + slot * st->slot_stride;
    double mark = st->profile ? now_seconds() : 0.0;

    /* 1 * x is exact, so y + 1 * x rounds once, as the reduction's own sum does. */
    st->ws[t]->kernels->axpy(st->net->num_params, 1.0f, sum + st->slot_stride, sum);
    end_phase(st, t, BMLP_PHASE_REDUCE, &mark);
}

/* Waits for the other threads of a team of size threads. A team of one skips the barrier, because
 * libgomp makes a futex system call there too. On the 2-core VM a team of one spent 0.25 us in a
 * step's two barriers, a quarter of a 2-2-1 step at batch 256. */
static void team_barrier(int size)
{
    if (size > 1) {
#pragma omp barrier
    }
}

size_t bmlp_stepper_epoch(bmlp_stepper_t *st, bmlp_net_t *net, const bmlp_source_t *src,
                          const bmlp_order_t *order, size_t batch, float learning_rate,
                          double *loss_sum, size_t *correct_sum)
{
    size_t n = order->n_train;
    size_t batches = (n + batch - 1) / batch;
    size_t failed = 0;
    int threads = (int)st->threads;
    /* Batches between two calls of on_progress. */
    size_t progress_every = (BMLP_PROGRESS_SAMPLES + batch - 1) / batch;

    (void)threads; /* read only by the OpenMP pragma, which a build without OpenMP ignores */

    memset(st->phase, 0, sizeof(st->phase));
    st->window_len = 0; /* each epoch has its own order */
    for (size_t t = 1; st->replicated && t < st->threads; t++) {
        st->replica[t] = *net;
        st->replica[t].params = st->replica_params + (t - 1) * st->slot_stride;
        memcpy(st->replica[t].params, net->params, net->num_params * sizeof(float));
    }
    /* One parallel region for the whole epoch: each step costs one or two barriers, not a fork. */
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        int t = thread_index();
        int size = team_size();
        int replicated = st->replicated && size > 1;
        float *params = replicated && t > 0 ? st->replica[t].params : net->params;
        size_t lo = 0, hi = net->num_params;

        if (!replicated)
            param_range(net->num_params, t, size, &lo, &hi);
        st->next_len[t] = 0;
        for (size_t b = 0; b < batches; b++) {
            size_t start = b * batch;
            size_t count = n - start < batch ? n - start : batch;
            size_t chunks = (count + st->chunk - 1) / st->chunk;
            /* When replicated, a thread may start the next step while another still reads this
             * step's slots, so consecutive steps write different sets. */
            size_t first_slot = replicated ? (b % 2) * st->max_chunks : 0;
            double loss = 0.0;
            size_t correct = 0;

            for (size_t c = first_chunk(st, t); c < chunks; c = following_chunk(st, c, size)) {
                size_t first = c * st->chunk;
                size_t len = count - first < st->chunk ? count - first : st->chunk;
                size_t next_first = 0, next_len;

                next_chunk(st, n, batch, b, c, t, size, &next_first, &next_len);
                run_chunk(st, t, src, order, start + first, len, first_slot + c, next_first,
                          next_len, size == 1);
                if (st->group == 2 && c % 2 == 1)
                    add_pair(st, t, first_slot + c - 1);
            }
            team_barrier(size);
            /* Every thread sums the chunks in the same order, so all reach the same verdict
             * on a non-finite loss and leave the loop together. */
            for (size_t c = first_slot; c < first_slot + chunks; c++) {
                loss += st->loss[c];
                correct += st->correct[c];
            }
            if (!isfinite(loss)) {
                if (t == 0)
                    failed = b + 1;
                break;
            }
            double mark = st->profile ? now_seconds() : 0.0;
            reduce_and_update(st, t, st->slots + first_slot * st->slot_stride,
                              st->group * st->slot_stride, (chunks + st->group - 1) / st->group,
                              params, count, learning_rate, lo, hi, &mark);
            if (t == 0) {
                *loss_sum += loss;
                *correct_sum += correct;
                if (st->on_progress != NULL && (b + 1) % progress_every == 0 && b + 1 < batches)
                    st->on_progress(st->epoch, start + count, n, st->progress_user);
            }
            /* When the threads split the update, the next step reads parameters that other
             * threads updated. */
            if (!replicated)
                team_barrier(size);
        }
    }
    return failed;
}

void bmlp_stepper_evaluate(bmlp_stepper_t *st, const bmlp_source_t *src, const bmlp_order_t *order,
                           double *loss, double *accuracy)
{
    size_t n = order != NULL ? order->n_val : src->n_samples;
    size_t round = st->chunk * st->max_chunks;
    int threads = (int)st->threads;
    double loss_sum = 0.0;
    size_t hits = 0;

    (void)threads; /* read only by the OpenMP pragma, as in bmlp_stepper_epoch */

    /* Evaluation reads its chunks' rows without prefetching the next ones. */
    for (size_t t = 0; t < st->threads; t++)
        st->next_len[t] = 0;
    /* Rounds of up to max_chunks chunks, each chunk on one thread and summed in order. */
    for (size_t base = 0; base < n; base += round) {
        size_t count = n - base < round ? n - base : round;
        long chunks = (long)((count + st->chunk - 1) / st->chunk);

#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
        for (long c = 0; c < chunks; c++) {
            int t = thread_index();
            size_t first = base + (size_t)c * st->chunk;
            size_t len = n - first < st->chunk ? n - first : st->chunk;

            for (size_t s = 0; s < len; s++)
                st->idx[t][s] = order != NULL ? bmlp_order_val(order, first + s) : first + s;
            fill_chunk(st, t, src, len);
            bmlp_forward_tile(st->net, st->ws[t]);
            st->loss[c] = bmlp_loss_tile(st->ws[t], &st->correct[c]);
        }
        for (long c = 0; c < chunks; c++) {
            loss_sum += st->loss[c];
            hits += st->correct[c];
        }
    }
    *loss = loss_sum / (double)n;
    *accuracy = (double)hits / (double)n;
}
