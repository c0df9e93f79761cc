/* Measurement of the multiply-add peak and the sigmoid rate, and the bound they give. */
#include <time.h>

#include "alloc.h"
#include "bmlp/bound.h"
#include "dispatch.h"
#include "error.h"
#include "net_internal.h"

/* Each timed run lasts at least this long, and the best of RUNS runs is kept. */
#define MIN_RUN_SECONDS 0.02
#define RUNS 5

/* Elements of the tile the sigmoid rate is measured on: 16 KiB, well inside L1. */
#define SIGMOID_TILE 4096

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Best rate, in operations per second, of fma_probe over RUNS runs. */
static double measure_flops(const bmlp_kernels_t *k)
{
    double best = 0.0;
    size_t rounds = 1u << 16;

    for (int run = 0; run < RUNS; run++) {
        double t0, flops, elapsed;
        /* Double the work until one run lasts long enough to time. */
        for (;;) {
            t0 = now_seconds();
            flops = k->fma_probe(rounds);
            elapsed = now_seconds() - t0;
            if (elapsed >= MIN_RUN_SECONDS)
                break;
            rounds *= 2;
        }
        if (flops / elapsed > best)
            best = flops / elapsed;
    }
    return best;
}

/* Best rate, in sigmoids per second, of the sigmoid kernel in place on an L1-resident tile. */
static double measure_sigmoids(const bmlp_kernels_t *k, float *tile)
{
    double best = 0.0;
    size_t reps = 16;

    for (int run = 0; run < RUNS; run++) {
        double t0, elapsed;
        for (;;) {
            t0 = now_seconds();
            /* In place: after the first pass every value lies in (0, 1), where SLEEF's exp
             * takes its ordinary path. */
            for (size_t r = 0; r < reps; r++)
                k->sigmoid(1, SIGMOID_TILE, tile, SIGMOID_TILE, tile, SIGMOID_TILE);
            elapsed = now_seconds() - t0;
            if (elapsed >= MIN_RUN_SECONDS)
                break;
            reps *= 2;
        }
        if ((double)reps * SIGMOID_TILE / elapsed > best)
            best = (double)reps * SIGMOID_TILE / elapsed;
    }
    return best;
}

bmlp_status_t bmlp_measure_rates(bmlp_isa_t isa, bmlp_machine_rates_t *rates, bmlp_error_t *err)
{
    bmlp_isa_t resolved;
    bmlp_status_t st = bmlp_isa_resolve(isa, &resolved, err);
    const bmlp_kernels_t *k;
    float *tile;

    if (st != BMLP_OK)
        return st;
    k = bmlp_kernels_for(resolved);
    tile = bmlp_alloc_floats(SIGMOID_TILE);
    if (tile == NULL)
        return bmlp_fail(err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL,
                         "cannot allocate the sigmoid tile");
    for (size_t i = 0; i < SIGMOID_TILE; i++)
        tile[i] = (float)i / SIGMOID_TILE * 8.0f - 4.0f;
    rates->isa = resolved;
    rates->flops_per_second = measure_flops(k);
    rates->sigmoids_per_second = measure_sigmoids(k, tile);
    bmlp_free_floats(tile);
    return BMLP_OK;
}

bmlp_step_work_t bmlp_step_work(const bmlp_net_t *net)
{
    bmlp_step_work_t work = {0.0, 0.0};

    for (size_t l = 0; l < net->num_layers; l++) {
        double weights = (double)net->widths[l] * (double)net->widths[l + 1];
        /* Forward W A and weight gradient dZ A^T; W^T dZ only where the inputs are units. */
        work.multiply_adds += (l == 0 ? 2.0 : 3.0) * weights;
        work.sigmoids += (double)net->widths[l + 1];
    }
    return work;
}

double bmlp_step_bound(const bmlp_net_t *net, const bmlp_machine_rates_t *rates)
{
    bmlp_step_work_t work = bmlp_step_work(net);
    double seconds = 2.0 * work.multiply_adds / rates->flops_per_second +
                     work.sigmoids / rates->sigmoids_per_second;

    return 1.0 / seconds;
}
