/* The training loop, prediction and evaluation. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "error.h"
#include "net_internal.h"
#include "permute_batch.h"
#include "random.h"
#include "source_internal.h"
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

/* Training samples whose feature statistics fit the standardization of a source other than an
 * in-memory dataset, which uses all of its training samples. */
#define STATS_SAMPLES ((size_t)1 << 20)

/* State of one training run, shared by the epoch loop and its helpers. */
typedef struct run {
    bmlp_net_t *net;
    const bmlp_source_t *src;
    const bmlp_train_options_t *opt;
    bmlp_stepper_t stepper;
    bmlp_order_t order;
    bmlp_source_t copy_src; /* a view of src's rows copied into run_table, when that is set */
    float *run_table;
} run_t;

/* Runs one epoch of mini-batch SGD and fills the training figures of report. */
static bmlp_status_t train_epoch(run_t *run, size_t epoch, bmlp_epoch_report_t *report,
                                 bmlp_error_t *err)
{
    bmlp_order_t *order = &run->order;
    size_t batch = run->opt->batch_size;
    uint32_t stream = BMLP_STREAM_SHUFFLE + (uint32_t)epoch;
    double loss_sum = 0.0;
    size_t hits = 0;
    size_t failed;
    double t0 = now_seconds();

    /* Each epoch visits the training samples in a new seeded permutation. */
    order->use_epoch = run->opt->shuffle;
    if (run->opt->shuffle)
        bmlp_permutation_init(&order->epoch, order->n_train, run->opt->seed, stream);
    run->stepper.epoch = epoch;
    failed = bmlp_stepper_epoch(&run->stepper, run->net, run->src, order, batch,
                                run->opt->learning_rate, &loss_sum, &hits);
    if (failed != 0) {
        size_t first = (failed - 1) * batch;
        size_t last = first + batch < order->n_train ? first + batch : order->n_train;
        return bmlp_fail(err, BMLP_ERR_NONFINITE, NULL, 0, 0, NULL,
                         "loss is not finite in epoch %zu, batch %zu (samples %zu to %zu of "
                         "the epoch); the model keeps the parameters before that batch",
                         epoch, failed, first + 1, last);
    }
    /* A finite loss can still come with non-finite parameters: the last update of an epoch
     * is never followed by a loss, and an infinite input can give an infinite weight gradient
     * with a finite loss. */
    for (size_t i = 0; i < run->net->num_params; i++)
        if (!isfinite(run->net->params[i]))
            return bmlp_fail(err, BMLP_ERR_NONFINITE, NULL, 0, 0, NULL,
                             "parameter at index %zu is %g after epoch %zu, though the loss "
                             "stayed finite; "
                             "a lower learning rate or rescaled features may help",
                             i, (double)run->net->params[i], epoch);
    report->seconds = now_seconds() - t0;
    bmlp_stepper_phases(&run->stepper, report->seconds, report->phase_seconds);
    report->train_loss = loss_sum / (double)order->n_train;
    report->train_accuracy = (double)hits / (double)order->n_train;
    report->samples_per_second = report->seconds > 0.0 ? (double)order->n_train / report->seconds
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

/* Builds the split: a seeded permutation of the samples, whose last n_val positions are the
 * validation samples (the identity without a validation split). */
static bmlp_status_t make_order(run_t *run, bmlp_error_t *err)
{
    const bmlp_train_options_t *opt = run->opt;
    bmlp_order_t *order = &run->order;
    size_t n = run->src->n_samples;

    bmlp_train_split_sizes(n, opt->val_split, &order->n_train, &order->n_val);
    if (order->n_train == 0)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "validation split %g of %zu sample%s leaves none for training",
                         opt->val_split, n, n == 1 ? "" : "s");
    order->use_split = order->n_val > 0;
    if (order->use_split)
        bmlp_permutation_init(&order->split, n, opt->seed, BMLP_STREAM_SPLIT);
    return BMLP_OK;
}

/* Accumulates one sample into running means and sums of squared deviations (Welford), in
 * double so that a million samples lose no precision. */
static void add_to_stats(const float *x, size_t d, size_t count, double *mean, double *m2)
{
    for (size_t j = 0; j < d; j++) {
        double delta = x[j] - mean[j];
        mean[j] += delta / (double)count;
        m2[j] += delta * (x[j] - mean[j]);
    }
}

/* Mean and population standard deviation of the first count training samples of the split. */
static bmlp_status_t stream_stats(const run_t *run, size_t count, float *mean, float *std,
                                  float *lowest, float *highest, bmlp_error_t *err)
{
    const bmlp_source_t *src = run->src;
    size_t d = src->n_features;
    double *sum_mean = calloc(d, sizeof(double));
    double *sum_m2 = calloc(d, sizeof(double));
    float *row = malloc((d + 1) * sizeof(float));

    if (sum_mean == NULL || sum_m2 == NULL || row == NULL) {
        free(sum_mean);
        free(sum_m2);
        free(row);
        return bmlp_fail(err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL,
                         "cannot allocate feature statistics");
    }
    for (size_t q = 0; q < count; q++) {
        size_t i = run->order.use_split ? (size_t)bmlp_permutation_apply(&run->order.split, q) : q;
        const float *x = row;
        if (src->x != NULL)
            x = src->x + i * src->x_stride;
        else
            bmlp_source_read(src, &i, 1, row, row + d);
        add_to_stats(x, d, q + 1, sum_mean, sum_m2);
        for (size_t j = 0; j < d; j++) {
            if (q == 0 || x[j] < lowest[j])
                lowest[j] = x[j];
            if (q == 0 || x[j] > highest[j])
                highest[j] = x[j];
        }
    }
    for (size_t j = 0; j < d; j++) {
        mean[j] = (float)sum_mean[j];
        std[j] = (float)sqrt(sum_m2[j] / (double)count);
    }
    free(sum_mean);
    free(sum_m2);
    free(row);
    return BMLP_OK;
}

/* Checks that the lowest and highest value of each feature stay finite when standardized as the
 * kernels do it, (x - mean) / std in float. Values near float's limits on both sides of the
 * mean overflow there, and the network would train on infinities. */
static bmlp_status_t check_standardized_range(const bmlp_net_t *net, const float *lowest,
                                              const float *highest, bmlp_error_t *err)
{
    for (size_t j = 0; j < net->widths[0]; j++) {
        float low = (lowest[j] - net->mean[j]) / net->std[j];
        float high = (highest[j] - net->mean[j]) / net->std[j];

        if (!isfinite(low) || !isfinite(high))
            return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                             "feature %zu ranges from %g to %g, which overflows float when "
                             "standardized (mean %g, std %g); rescale the feature",
                             j + 1, (double)lowest[j], (double)highest[j], (double)net->mean[j],
                             (double)net->std[j]);
    }
    return BMLP_OK;
}

/* Fits the standardization on the training split: every training sample of in-memory data, the
 * first STATS_SAMPLES of other sources. */
static bmlp_status_t fit_standardization(run_t *run, bmlp_error_t *err)
{
    const bmlp_source_t *src = run->src;
    size_t d = src->n_features;
    float *mean = malloc(d * sizeof(float));
    float *std = malloc(d * sizeof(float));
    float *lowest = malloc(d * sizeof(float));
    float *highest = malloc(d * sizeof(float));
    bmlp_status_t st;

    if (mean == NULL || std == NULL || lowest == NULL || highest == NULL) {
        free(mean);
        free(std);
        free(lowest);
        free(highest);
        return bmlp_fail(err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL,
                         "cannot allocate feature statistics");
    }
    size_t count = run->order.n_train;

    if (!src->in_memory && count > STATS_SAMPLES)
        count = STATS_SAMPLES;
    st = stream_stats(run, count, mean, std, lowest, highest, err);
    if (st == BMLP_OK)
        st = bmlp_net_set_standardization(run->net, mean, std, err);
    if (st == BMLP_OK)
        st = check_standardized_range(run->net, lowest, highest, err);
    free(mean);
    free(std);
    free(lowest);
    free(highest);
    return st;
}

/* Checks the options against the source, builds the split, initializes the network and fits
 * the standardization. */
static bmlp_status_t prepare_run(run_t *run, bmlp_error_t *err)
{
    bmlp_status_t st = check_options(run->opt, err);

    if (st != BMLP_OK)
        return st;
    if (run->src->n_features != run->net->widths[0])
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "dataset has %zu features but the network has %zu inputs",
                         run->src->n_features, run->net->widths[0]);
    st = make_order(run, err);
    if (st != BMLP_OK)
        return st;
    if (run->opt->init)
        bmlp_net_init_glorot(run->net, run->opt->seed);
    return run->opt->standardize ? fit_standardization(run, err) : BMLP_OK;
}

/* Rows that copy_rows places per pass: one call of bmlp_permutation_apply_range in split order. */
#define COPY_BLOCK 256

/* Nonzero when each label of src's table is the float after its row's features. */
static int labels_in_rows(const bmlp_source_t *src)
{
    size_t d = src->n_features;

    return src->x_stride == d + 1 && src->y_stride == d + 1 && src->y == src->x + d;
}

/* Floats per row of copy_rows' table: the features and the label, padded to a power of two up
 * to 16 floats, so that no row of up to 64 bytes spans two cache lines. */
static size_t copy_stride(size_t d)
{
    size_t stride = d + 1;

    if (stride > 16)
        return stride;
    while ((stride & (stride - 1)) != 0)
        stride++;
    return stride;
}

/*
 * Copies the rows of a source with a table for the run, each label after its features, where
 * memory allows. With a validation split and more than one epoch, the copy is in split order.
 * Training position q then reads table row q in place of sample split(q), which is the same
 * sample, so the run trains the same bits. It no longer evaluates the split permutation for
 * every sample of every epoch, and without a shuffle it reads consecutive rows. Otherwise a shuffled run whose
 * labels sit apart from the rows gets a copy in the same order, so that a shuffled sample costs
 * one cache miss and not two, unless its rows fill whole cache lines. Leaves the run as it
 * was when it does not copy.
 */
static void copy_rows(run_t *run)
{
    const bmlp_source_t *src = run->src;
    size_t n = src->n_samples, d = src->n_features;
    size_t stride = copy_stride(d);
    /* The source has rows in memory, so their copy's size does not overflow. */
    size_t bytes = n * stride * sizeof(float);
    int by_split = run->order.use_split && run->opt->epochs > 1;
    /* A row of a multiple of 16 floats in a table aligned to 64 bytes takes as many cache lines
     * as with its label after it, so such a run reads its rows in place. Its epochs ran as fast
     * as from a copy (M +0.5%, D +0.7%, 16-8-1 +3%), and it spares the copy's memory and time. */
    int whole_lines = d % 16 == 0 && src->x_stride == d && (uintptr_t)src->x % 64 == 0;
    int for_shuffle = run->opt->shuffle && src->x != NULL && !labels_in_rows(src) && !whole_lines;
    size_t idx[COPY_BLOCK];
    bmlp_isa_t isa = run->stepper.ws[0]->isa;

    if (src->x == NULL || !(by_split || for_shuffle) || bytes > bmlp_copy_budget())
        return;
    run->run_table = bmlp_alloc_table(bytes);
    if (run->run_table == NULL)
        return;
    for (size_t first = 0; first < n; first += COPY_BLOCK) {
        size_t count = n - first < COPY_BLOCK ? n - first : COPY_BLOCK;

        if (by_split) {
            bmlp_permutation_apply_range(&run->order.split, first, count, idx, isa);
        } else {
            for (size_t s = 0; s < count; s++)
                idx[s] = first + s;
        }
        for (size_t s = 0; s < count; s++) {
            float *row = run->run_table + (first + s) * stride;

            memcpy(row, src->x + idx[s] * src->x_stride, d * sizeof(float));
            row[d] = src->y[idx[s] * src->y_stride];
            for (size_t j = d + 1; j < stride; j++)
                row[j] = 0.0f;
        }
    }
    /* A view of the table: the copy of src describes the same samples, and the table is freed
     * with the run, not with the view. */
    run->copy_src = *src;
    run->copy_src.x = run->run_table;
    run->copy_src.x_stride = stride;
    run->copy_src.y = run->run_table + d;
    run->copy_src.y_stride = stride;
    run->copy_src.table = NULL;
    run->src = &run->copy_src;
    if (by_split)
        run->order.use_split = 0;
}

bmlp_status_t bmlp_train_source(bmlp_net_t *net, const bmlp_source_t *src,
                                const bmlp_train_options_t *opt, bmlp_train_result_t *result,
                                bmlp_error_t *err)
{
    run_t run = {.net = net, .src = src, .opt = opt};
    bmlp_epoch_report_t report;
    bmlp_status_t st;

    memset(result, 0, sizeof(*result));
    st = prepare_run(&run, err);
    if (st == BMLP_OK) {
        size_t n_train = run.order.n_train;
        size_t max_batch = opt->batch_size < n_train ? opt->batch_size : n_train;
        st = bmlp_stepper_init(&run.stepper, net, max_batch, opt->threads, opt->exact_threads,
                               opt->profile, opt->isa, err);
    }
    if (st != BMLP_OK)
        return st;
    run.stepper.on_progress = opt->on_progress;
    run.stepper.progress_user = opt->user;
    copy_rows(&run);
    result->n_train = run.order.n_train;
    result->n_val = run.order.n_val;
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
        if (run.order.n_val > 0)
            bmlp_stepper_evaluate(&run.stepper, run.src, &run.order, &report.val_loss,
                                  &report.val_accuracy);
        result->epochs_run = epoch;
        result->last = report;
        if (opt->on_epoch != NULL && opt->on_epoch(&report, opt->user) != 0) {
            st = bmlp_fail(err, BMLP_ERR_CANCELLED, NULL, 0, 0, NULL,
                           "training stopped after epoch %zu", epoch);
            break;
        }
    }
    bmlp_stepper_free(&run.stepper);
    free(run.run_table);
    return st;
}

bmlp_status_t bmlp_train(bmlp_net_t *net, const bmlp_dataset_t *ds, const bmlp_train_options_t *opt,
                         bmlp_train_result_t *result, bmlp_error_t *err)
{
    bmlp_source_t *src;
    bmlp_status_t st;

    memset(result, 0, sizeof(*result));
    st = check_options(opt, err);
    if (st == BMLP_OK)
        st = bmlp_source_from_dataset(ds, &src, err);
    if (st != BMLP_OK)
        return st;
    st = bmlp_train_source(net, src, opt, result, err);
    bmlp_source_free(src);
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

        bmlp_fill_tile(net, ws, x + start * net->widths[0], net->widths[0], NULL, 0, NULL, count,
                       NULL, 0);
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
    bmlp_source_t *src;
    bmlp_status_t st;

    if (ds->n_features != net->widths[0])
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "dataset has %zu features but the network has %zu inputs", ds->n_features,
                         net->widths[0]);
    st = bmlp_source_from_dataset(ds, &src, err);
    if (st != BMLP_OK)
        return st;
    st = bmlp_stepper_init(&stepper, net, ds->n_samples < EVAL_BATCH ? ds->n_samples : EVAL_BATCH,
                           0, 0, 0, BMLP_ISA_AUTO, err);
    if (st == BMLP_OK) {
        bmlp_stepper_evaluate(&stepper, src, NULL, loss, accuracy);
        bmlp_stepper_free(&stepper);
    }
    bmlp_source_free(src);
    return st;
}
