/* The training loop, prediction and evaluation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "error.h"
#include "net_internal.h"
#include "random.h"
#include "step.h"
#include "workspace.h"

/* Samples per tile in prediction and evaluation. */
#define EVAL_BATCH 256

void bmlp_train_options_default(bmlp_train_options_t *opt)
{
    memset(opt, 0, sizeof(*opt));
    opt->epochs = 20;
    opt->batch_size = 32;
    opt->learning_rate = 0.5f;
    opt->seed = 1;
    opt->val_split = 0.2;
    opt->shuffle = 1;
    opt->standardize = 1;
    opt->init = 1;
    opt->isa = BMLP_ISA_AUTO;
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Permutes idx[0 .. n) in place by Fisher-Yates, the draw for position i taken from
 * (seed, stream, i) so the permutation depends on nothing else. */
static void shuffle_indices(size_t *idx, size_t n, uint64_t seed, uint32_t stream)
{
    for (size_t i = n; i-- > 1;) {
        size_t j = (size_t)bmlp_random_below(seed, stream, i, (uint64_t)i + 1);
        size_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

/* Checks that every feature is finite and every label is 0 or 1. */
static bmlp_status_t check_dataset(const bmlp_net_t *net, const bmlp_dataset_t *ds,
                                   bmlp_error_t *err)
{
    if (ds->n_features != net->widths[0])
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "dataset has %zu features but the network has %zu inputs", ds->n_features,
                         net->widths[0]);
    if (ds->n_samples == 0)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "dataset has no samples");
    for (size_t i = 0; i < ds->n_samples; i++) {
        if (ds->y[i] != 0.0f && ds->y[i] != 1.0f)
            return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                             "label of sample %zu is %g; labels must be 0 or 1", i + 1,
                             (double)ds->y[i]);
        for (size_t j = 0; j < ds->n_features; j++) {
            if (!isfinite(ds->x[i * ds->n_features + j]))
                return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                                 "feature %zu of sample %zu is not finite", j + 1, i + 1);
        }
    }
    return BMLP_OK;
}

static bmlp_status_t check_options(const bmlp_train_options_t *opt, bmlp_error_t *err)
{
    if (opt->epochs == 0)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "epochs must be at least 1");
    if (opt->batch_size == 0 || opt->batch_size > BMLP_MAX_SAMPLES)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "batch size %zu is out of range (1 to %zu)", opt->batch_size,
                         BMLP_MAX_SAMPLES);
    if (!(opt->learning_rate > 0.0f) || !isfinite(opt->learning_rate))
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "learning rate %g must be positive and finite",
                         (double)opt->learning_rate);
    if (!(opt->val_split >= 0.0 && opt->val_split < 1.0))
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "validation split %g must be in [0, 1)", opt->val_split);
    return BMLP_OK;
}

/* State of one training run, shared by the epoch loop and its helpers. */
typedef struct run {
    bmlp_net_t *net;
    const bmlp_dataset_t *ds;
    const bmlp_train_options_t *opt;
    bmlp_stepper_t stepper;
    size_t *order; /* n_train training rows, then n_val validation rows */
    size_t n_train;
    size_t n_val;
} run_t;

/* Runs one epoch of mini-batch SGD and fills the training figures of report. */
static bmlp_status_t train_epoch(run_t *run, size_t epoch, bmlp_epoch_report_t *report,
                                 bmlp_error_t *err)
{
    size_t batch = run->opt->batch_size;
    double loss_sum = 0.0;
    size_t hits = 0;
    size_t failed;
    double t0 = now_seconds();

    if (run->opt->shuffle)
        shuffle_indices(run->order, run->n_train, run->opt->seed,
                        BMLP_STREAM_SHUFFLE + (uint32_t)epoch);
    failed = bmlp_stepper_epoch(&run->stepper, run->net, run->ds, run->order, run->n_train, batch,
                                run->opt->learning_rate, &loss_sum, &hits);
    if (failed != 0) {
        size_t first = (failed - 1) * batch;
        size_t last = first + batch < run->n_train ? first + batch : run->n_train;
        return bmlp_fail(err, BMLP_ERR_NONFINITE, NULL, 0, 0, NULL,
                         "loss is not finite in epoch %zu, batch %zu (samples %zu to %zu of "
                         "the epoch); the model keeps the parameters before that batch",
                         epoch, failed, first + 1, last);
    }
    report->seconds = now_seconds() - t0;
    report->train_loss = loss_sum / (double)run->n_train;
    report->train_accuracy = (double)hits / (double)run->n_train;
    report->samples_per_second = report->seconds > 0.0 ? (double)run->n_train / report->seconds
                                                       : 0.0;
    return BMLP_OK;
}

void bmlp_train_split_sizes(size_t n, double val_split, size_t *n_train, size_t *n_val)
{
    if (!(val_split > 0.0))
        val_split = 0.0;
    if (val_split > 1.0)
        val_split = 1.0;
    *n_val = (size_t)llround(val_split * (double)n);
    if (*n_val > n)
        *n_val = n;
    *n_train = n - *n_val;
}

/* Splits the samples into training and validation rows by a seeded permutation and, when asked,
 * fits the standardization on the training rows. */
static bmlp_status_t prepare_run(run_t *run, bmlp_error_t *err)
{
    const bmlp_train_options_t *opt = run->opt;
    size_t n = run->ds->n_samples;
    size_t d = run->ds->n_features;
    bmlp_status_t st;
    float *mean;
    float *std;

    bmlp_train_split_sizes(n, opt->val_split, &run->n_train, &run->n_val);
    if (run->n_train == 0)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "validation split %g of %zu samples leaves none for training",
                         opt->val_split, n);
    run->order = malloc(n * sizeof(size_t));
    if (run->order == NULL)
        return bmlp_fail(err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL,
                         "cannot allocate the sample order of %zu samples", n);
    for (size_t i = 0; i < n; i++)
        run->order[i] = i;
    if (run->n_val > 0)
        shuffle_indices(run->order, n, opt->seed, BMLP_STREAM_SPLIT);

    if (opt->init)
        bmlp_net_init_glorot(run->net, opt->seed);
    if (!opt->standardize)
        return BMLP_OK;
    mean = malloc(d * sizeof(float));
    std = malloc(d * sizeof(float));
    if (mean == NULL || std == NULL) {
        free(mean);
        free(std);
        return bmlp_fail(err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL,
                         "cannot allocate feature statistics");
    }
    st = bmlp_dataset_feature_stats(run->ds, run->order, run->n_train, mean, std, err);
    if (st == BMLP_OK)
        st = bmlp_net_set_standardization(run->net, mean, std, err);
    free(mean);
    free(std);
    return st;
}

bmlp_status_t bmlp_train(bmlp_net_t *net, const bmlp_dataset_t *ds, const bmlp_train_options_t *opt,
                         bmlp_train_result_t *result, bmlp_error_t *err)
{
    run_t run = {.net = net, .ds = ds, .opt = opt};
    bmlp_epoch_report_t report;
    bmlp_status_t st;

    memset(result, 0, sizeof(*result));
    st = check_options(opt, err);
    if (st == BMLP_OK)
        st = check_dataset(net, ds, err);
    if (st == BMLP_OK)
        st = prepare_run(&run, err);
    if (st == BMLP_OK) {
        size_t max_batch = opt->batch_size < run.n_train ? opt->batch_size : run.n_train;
        st = bmlp_stepper_init(&run.stepper, net, max_batch, opt->threads, opt->exact_threads,
                               opt->isa, err);
    }
    if (st != BMLP_OK) {
        free(run.order);
        return st;
    }
    result->n_train = run.n_train;
    result->n_val = run.n_val;
    result->isa = run.stepper.ws[0]->isa;
    result->threads = run.stepper.threads;

    for (size_t epoch = 1; epoch <= opt->epochs; epoch++) {
        memset(&report, 0, sizeof(report));
        report.epoch = epoch;
        report.epochs = opt->epochs;
        st = train_epoch(&run, epoch, &report, err);
        if (st != BMLP_OK)
            break;
        report.val_loss = NAN;
        report.val_accuracy = NAN;
        if (run.n_val > 0)
            bmlp_stepper_evaluate(&run.stepper, ds, run.order + run.n_train, run.n_val,
                                  &report.val_loss, &report.val_accuracy);
        result->epochs_run = epoch;
        result->last = report;
        if (opt->on_epoch != NULL && opt->on_epoch(&report, opt->user) != 0) {
            st = bmlp_fail(err, BMLP_ERR_CANCELLED, NULL, 0, 0, NULL,
                           "training stopped after epoch %zu", epoch);
            break;
        }
    }
    bmlp_stepper_free(&run.stepper);
    free(run.order);
    return st;
}

bmlp_status_t bmlp_predict(const bmlp_net_t *net, const float *x, size_t n, float *prob,
                           bmlp_error_t *err)
{
    bmlp_workspace_t *ws;
    bmlp_status_t st;
    size_t L = net->num_layers;

    if (n == 0)
        return BMLP_OK;
    st = bmlp_workspace_create(net, n < EVAL_BATCH ? n : EVAL_BATCH, BMLP_ISA_AUTO, &ws, err);
    if (st != BMLP_OK)
        return st;
    for (size_t start = 0; start < n; start += ws->max_batch) {
        size_t count = n - start < ws->max_batch ? n - start : ws->max_batch;

        bmlp_fill_tile(net, ws, x + start * net->widths[0], NULL, NULL, count);
        bmlp_forward_tile(net, ws);
        ws->kernels->sigmoid(1, count, ws->z[L], ws->ld, prob + start, count);
    }
    bmlp_workspace_free(ws);
    return BMLP_OK;
}

bmlp_status_t bmlp_evaluate(const bmlp_net_t *net, const bmlp_dataset_t *ds, double *loss,
                            double *accuracy, bmlp_error_t *err)
{
    bmlp_stepper_t stepper;
    bmlp_status_t st = check_dataset(net, ds, err);

    if (st != BMLP_OK)
        return st;
    st = bmlp_stepper_init(&stepper, net, ds->n_samples < EVAL_BATCH ? ds->n_samples : EVAL_BATCH,
                           0, 0, BMLP_ISA_AUTO, err);
    if (st != BMLP_OK)
        return st;
    bmlp_stepper_evaluate(&stepper, ds, NULL, ds->n_samples, loss, accuracy);
    bmlp_stepper_free(&stepper);
    return BMLP_OK;
}
