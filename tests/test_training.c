/* The training loop: accuracy on xor and breast cancer, partial batches, determinism, a
 * diverging run, and invalid options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bmlp/bmlp.h"
#include "test_util.h"

/* Trains a fresh network of the given hidden widths; returns its result. */
static bmlp_train_result_t train_new(const bmlp_dataset_t *ds, const size_t *hidden,
                                     size_t num_hidden, const bmlp_train_options_t *opt,
                                     bmlp_net_t **net_out)
{
    bmlp_net_t *net;
    bmlp_train_result_t result;
    bmlp_error_t err;

    assert_int_equal(bmlp_net_create(ds->n_features, hidden, num_hidden, &net, &err), BMLP_OK);
    if (bmlp_train(net, ds, opt, &result, &err) != BMLP_OK) {
        fprintf(stderr, "training failed: %s\n", err.message);
        fail();
    }
    if (net_out != NULL)
        *net_out = net;
    else
        bmlp_net_free(net);
    return result;
}

static void xor_reaches_97_percent(void **state)
{
    bmlp_synth_options_t synth = {BMLP_SYNTH_XOR, 4000, 2, 0.05, 7, 0, 0.0};
    bmlp_train_options_t opt;
    bmlp_dataset_t ds;
    bmlp_error_t err;
    const size_t hidden[] = {16};

    (void)state;
    assert_int_equal(bmlp_synth_generate(&synth, &ds, &err), BMLP_OK);
    bmlp_train_options_default(&opt);
    opt.epochs = 30;
    bmlp_train_result_t r = train_new(&ds, hidden, 1, &opt, NULL);
    fprintf(stderr, "xor: validation accuracy %.4f\n", r.last.val_accuracy);
    assert_true(r.last.val_accuracy >= 0.97);
    bmlp_dataset_free(&ds);
}

/* The Wisconsin diagnostic breast cancer set, 20% held out, five seeds: each reaches 0.95. */
static void breast_cancer_reaches_95_percent(void **state)
{
    const char *path = BMLP_DATA_DIR "/breast_cancer.csv";
    bmlp_csv_options_t csv;
    bmlp_train_options_t opt;
    bmlp_dataset_t ds;
    bmlp_error_t err;
    const size_t hidden[] = {16};

    (void)state;
    bmlp_csv_options_default(&csv);
    csv.skip_lines = 1; /* the first line is "569,30,malignant,benign", not data */
    if (bmlp_csv_load(path, &csv, &ds, &err) != BMLP_OK) {
        fprintf(stderr, "cannot load %s (%s); run scripts/fetch-breast-cancer.sh\n", path,
                err.message);
        fail();
    }
    assert_int_equal(ds.n_samples, 569);
    assert_int_equal(ds.n_features, 30);
    bmlp_train_options_default(&opt);
    opt.epochs = 30;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        opt.seed = seed;
        bmlp_train_result_t r = train_new(&ds, hidden, 1, &opt, NULL);
        fprintf(stderr, "breast cancer, seed %llu: validation accuracy %.4f\n",
                (unsigned long long)seed, r.last.val_accuracy);
        assert_int_equal(r.n_val, 114);
        assert_true(r.last.val_accuracy >= 0.95);
    }
    bmlp_dataset_free(&ds);
}

/* Fills a small dataset with a fixed pattern. */
static void make_small(bmlp_dataset_t *ds, size_t n, size_t d)
{
    bmlp_error_t err;

    assert_int_equal(bmlp_dataset_alloc(ds, n, d, &err), BMLP_OK);
    for (size_t i = 0; i < n * d; i++)
        ds->x[i] = (float)sin(0.7 * (double)i);
    for (size_t i = 0; i < n; i++)
        ds->y[i] = (float)((i * 7 % 3) == 0);
}

/* One epoch of 10 samples in batches of 4 is three updates, the last averaged over 2 samples:
 * the same as three explicit forward, backward and SGD steps. Training runs this small network
 * through the fused small_step kernel, which sums each lane's samples before adding the lanes,
 * so it rounds differently from the tile kernels of bmlp_backward. The parameters agree to 1e-6
 * relative (a few float roundings of steps of about 0.01). Averaging the last batch over 4
 * samples instead of 2 would halve its step, far beyond that. */
static void partial_batch_averaged_over_its_size(void **state)
{
    const size_t hidden[] = {3};
    const size_t starts[] = {0, 4, 8}, counts[] = {4, 4, 2};
    bmlp_dataset_t ds;
    bmlp_net_t *trained, *manual;
    bmlp_workspace_t *ws;
    bmlp_train_options_t opt;
    bmlp_error_t err;
    double loss;

    (void)state;
    make_small(&ds, 10, 2);
    bmlp_train_options_default(&opt);
    opt.epochs = 1;
    opt.batch_size = 4;
    opt.val_split = 0.0;
    opt.shuffle = 0;
    opt.standardize = 0;
    bmlp_train_result_t r = train_new(&ds, hidden, 1, &opt, &trained);
    assert_int_equal(r.n_train, 10);

    assert_int_equal(bmlp_net_create(2, hidden, 1, &manual, &err), BMLP_OK);
    bmlp_net_init_glorot(manual, opt.seed);
    assert_int_equal(bmlp_workspace_create(manual, 4, BMLP_ISA_AUTO, &ws, &err), BMLP_OK);
    for (size_t b = 0; b < 3; b++) {
        assert_int_equal(bmlp_forward(manual, ws, ds.x + starts[b] * 2, counts[b], NULL, &err),
                         BMLP_OK);
        assert_int_equal(bmlp_backward(manual, ws, ds.y + starts[b], counts[b], &loss, &err),
                         BMLP_OK);
        bmlp_sgd_step(manual, opt.learning_rate);
    }
    for (size_t i = 0; i < bmlp_net_num_params(manual); i++) {
        double t = bmlp_net_params(trained)[i], m = bmlp_net_params(manual)[i];
        if (fabs(t - m) > 1e-6 * fmax(fabs(m), 1.0))
            fail_msg("parameter %zu: trained %.9g, stepped by hand %.9g", i, t, m);
    }
    bmlp_workspace_free(ws);
    bmlp_net_free(manual);
    bmlp_net_free(trained);
    bmlp_dataset_free(&ds);
}

/*
 * Networks too large for small_step (more than 64 units) train through the tile kernels, on
 * a lean workspace per thread: the output layer's backward pass is fused, and each hidden
 * layer's dL/dz is written over its outputs. bmlp_backward runs on a full workspace with the
 * unfused kernels, which the kernel tests hold to the same bits. Batches of at most 64 samples
 * make one chunk each, whose gradient is the batch's, so training and explicit forward,
 * backward and SGD steps must agree bit for bit. Training runs the first layer's forward
 * product in groups of rows for every chunk but the last. With three batches, the second such
 * chunk starts from nonzero biases.
 */
static void check_tile_step(size_t d, const size_t *hidden, size_t num_hidden, size_t n,
                            size_t batch)
{
    bmlp_dataset_t ds;
    bmlp_net_t *trained, *manual;
    bmlp_workspace_t *ws;
    bmlp_train_options_t opt;
    bmlp_train_result_t result;
    bmlp_error_t err;
    double loss;

    assert_int_equal(bmlp_dataset_alloc(&ds, n, d, &err), BMLP_OK);
    for (size_t i = 0; i < n * d; i++)
        ds.x[i] = (float)sin(0.37 * (double)i + 0.1);
    for (size_t i = 0; i < n; i++)
        ds.y[i] = (float)((i * 5 % 3) == 0);
    bmlp_train_options_default(&opt);
    opt.epochs = 1;
    opt.batch_size = batch;
    opt.val_split = 0.0;
    opt.shuffle = 0;
    opt.standardize = 0;
    opt.threads = 1;
    assert_int_equal(bmlp_net_create(d, hidden, num_hidden, &trained, &err), BMLP_OK);
    assert_int_equal(bmlp_train(trained, &ds, &opt, &result, &err), BMLP_OK);

    assert_int_equal(bmlp_net_create(d, hidden, num_hidden, &manual, &err), BMLP_OK);
    bmlp_net_init_glorot(manual, opt.seed);
    assert_int_equal(bmlp_workspace_create(manual, batch, BMLP_ISA_AUTO, &ws, &err), BMLP_OK);
    for (size_t start = 0; start < n; start += batch) {
        size_t count = n - start < batch ? n - start : batch;

        assert_int_equal(bmlp_forward(manual, ws, ds.x + start * d, count, NULL, &err), BMLP_OK);
        assert_int_equal(bmlp_backward(manual, ws, ds.y + start, count, &loss, &err), BMLP_OK);
        bmlp_sgd_step(manual, opt.learning_rate);
    }
    for (size_t i = 0; i < bmlp_net_num_params(manual); i++) {
        float t = bmlp_net_params(trained)[i], m = bmlp_net_params(manual)[i];

        if (memcmp(&t, &m, sizeof(float)) != 0)
            fail_msg("%zu inputs, %zu hidden layers, batch %zu: parameter %zu is %.9g after "
                     "training and %.9g stepped by hand",
                     d, num_hidden, batch, i, (double)t, (double)m);
    }
    bmlp_workspace_free(ws);
    bmlp_net_free(manual);
    bmlp_net_free(trained);
    bmlp_dataset_free(&ds);
}

static void tile_step_matches_explicit_steps(void **state)
{
    const size_t one[] = {40}, two[] = {33, 17}, three[] = {24, 20, 9};

    (void)state;
    check_tile_step(32, one, 1, 192, 64);
    check_tile_step(20, two, 2, 100, 50);
    check_tile_step(37, three, 3, 90, 45);
}

/* 3 samples with batch 8 is one update averaged over the 3. */
static void batch_larger_than_dataset(void **state)
{
    const size_t hidden[] = {2};
    bmlp_dataset_t ds;
    bmlp_net_t *net;
    bmlp_train_options_t opt;

    (void)state;
    make_small(&ds, 3, 2);
    bmlp_train_options_default(&opt);
    opt.epochs = 2;
    opt.batch_size = 8;
    opt.val_split = 0.0;
    bmlp_train_result_t r = train_new(&ds, hidden, 1, &opt, &net);
    assert_int_equal(r.epochs_run, 2);
    assert_int_equal(r.n_train, 3);
    assert_true(isfinite(r.last.train_loss));
    bmlp_net_free(net);
    bmlp_dataset_free(&ds);
}

/* The same seed gives bitwise the same parameters and losses. */
static void same_seed_same_model(void **state)
{
    bmlp_synth_options_t synth = {BMLP_SYNTH_MOONS, 1000, 2, 0.2, 3, 0, 0.0};
    const size_t hidden[] = {8, 4};
    bmlp_train_options_t opt;
    bmlp_dataset_t ds;
    bmlp_net_t *a, *b;
    bmlp_error_t err;

    (void)state;
    assert_int_equal(bmlp_synth_generate(&synth, &ds, &err), BMLP_OK);
    bmlp_train_options_default(&opt);
    opt.epochs = 3;
    bmlp_train_result_t ra = train_new(&ds, hidden, 2, &opt, &a);
    bmlp_train_result_t rb = train_new(&ds, hidden, 2, &opt, &b);
    assert_memory_equal(bmlp_net_params(a), bmlp_net_params(b),
                        bmlp_net_num_params(a) * sizeof(float));
    assert_memory_equal(&ra.last.train_loss, &rb.last.train_loss, sizeof(double));
    assert_memory_equal(&ra.last.val_loss, &rb.last.val_loss, sizeof(double));
    bmlp_net_free(a);
    bmlp_net_free(b);
    bmlp_dataset_free(&ds);
}

/* The calls of an on_progress callback, in order. */
typedef struct progress_log {
    size_t calls;
    size_t epoch[16], done[16], total[16];
} progress_log_t;

static void log_progress(size_t epoch, size_t done, size_t total, void *user)
{
    progress_log_t *log = user;

    if (log->calls < 16) {
        log->epoch[log->calls] = epoch;
        log->done[log->calls] = done;
        log->total[log->calls] = total;
    }
    log->calls++;
}

/* on_progress comes after every 66 batches of 1000 samples (BMLP_PROGRESS_SAMPLES rounded up to
 * whole batches) of each epoch, not after its last batch, on one and on two threads. Training
 * gives the same bits with it as without. */
static void progress_reported_within_epochs(void **state)
{
    bmlp_synth_options_t synth = {BMLP_SYNTH_MOONS, 300000, 2, 0.2, 3, 0, 0.0};
    const size_t hidden[] = {4};
    bmlp_train_options_t opt;
    bmlp_dataset_t ds;
    bmlp_net_t *plain, *watched;
    bmlp_error_t err;

    (void)state;
    assert_int_equal(bmlp_synth_generate(&synth, &ds, &err), BMLP_OK);
    bmlp_train_options_default(&opt);
    opt.epochs = 2;
    opt.batch_size = 1000;
    opt.val_split = 0.0;
    train_new(&ds, hidden, 1, &opt, &plain);
    for (size_t threads = 1; threads <= 2; threads++) {
        progress_log_t log = {0};

        opt.threads = threads;
        opt.exact_threads = 1;
        opt.on_progress = log_progress;
        opt.user = &log;
        train_new(&ds, hidden, 1, &opt, &watched);
        assert_int_equal(log.calls, 8);
        for (size_t i = 0; i < 8; i++) {
            assert_int_equal(log.epoch[i], 1 + i / 4);
            assert_int_equal(log.done[i], 66000 * (1 + i % 4));
            assert_int_equal(log.total[i], 300000);
        }
        assert_memory_equal(bmlp_net_params(plain), bmlp_net_params(watched),
                            bmlp_net_num_params(plain) * sizeof(float));
        bmlp_net_free(watched);
    }
    bmlp_net_free(plain);
    bmlp_dataset_free(&ds);
}

/* Training changes the parameters and leaves the gradient buffer as it was, through the tile
 * kernels (32-16-1) and through small_step (2-3-1). */
static void training_leaves_gradient_buffer(void **state)
{
    const size_t wide[] = {16}, small[] = {3};
    const size_t features[] = {32, 2};
    const size_t *hidden[] = {wide, small};

    (void)state;
    for (size_t c = 0; c < 2; c++) {
        bmlp_dataset_t ds;
        bmlp_net_t *net;
        bmlp_train_options_t opt;
        bmlp_train_result_t result;
        bmlp_error_t err;
        size_t count;
        float *before, *params;

        make_small(&ds, 300, features[c]);
        assert_int_equal(bmlp_net_create(features[c], hidden[c], 1, &net, &err), BMLP_OK);
        bmlp_net_init_glorot(net, 1);
        count = bmlp_net_num_params(net);
        before = malloc(count * sizeof(float));
        params = malloc(count * sizeof(float));
        assert_non_null(before);
        assert_non_null(params);
        for (size_t i = 0; i < count; i++)
            bmlp_net_grads(net)[i] = (float)i + 0.5f;
        memcpy(before, bmlp_net_grads(net), count * sizeof(float));
        memcpy(params, bmlp_net_params(net), count * sizeof(float));
        bmlp_train_options_default(&opt);
        opt.epochs = 2;
        opt.batch_size = 64;
        assert_int_equal(bmlp_train(net, &ds, &opt, &result, &err), BMLP_OK);
        assert_memory_equal(before, bmlp_net_grads(net), count * sizeof(float));
        assert_memory_not_equal(params, bmlp_net_params(net), count * sizeof(float));
        free(before);
        free(params);
        bmlp_net_free(net);
        bmlp_dataset_free(&ds);
    }
}

/* Features near FLT_MAX with weights (1, 1) make the first logit overflow to +inf, so a sample
 * of class 0 has an infinite loss. Training stops with the epoch and batch named, and the
 * parameters are the ones from before the failed batch. */
static void diverging_run_keeps_last_good_model(void **state)
{
    bmlp_dataset_t ds;
    bmlp_net_t *net;
    bmlp_train_options_t opt;
    bmlp_train_result_t r;
    bmlp_error_t err;
    const float before[3] = {1.0f, 1.0f, 0.0f};

    (void)state;
    make_small(&ds, 8, 2);
    for (size_t i = 0; i < 16; i++)
        ds.x[i] = 3e38f;
    bmlp_train_options_default(&opt);
    opt.standardize = 0;
    opt.init = 0;
    opt.val_split = 0.0;
    opt.batch_size = 4;
    assert_int_equal(bmlp_net_create(2, NULL, 0, &net, &err), BMLP_OK);
    memcpy(bmlp_net_params(net), before, sizeof(before));
    assert_int_equal(bmlp_train(net, &ds, &opt, &r, &err), BMLP_ERR_NONFINITE);
    assert_non_null(strstr(err.message, "epoch 1, batch 1"));
    assert_memory_equal(bmlp_net_params(net), before, sizeof(before));
    bmlp_net_free(net);
    bmlp_dataset_free(&ds);
}

/* Four samples of one feature at 3e38 and weight 1: the logits stay finite, and so does the
 * loss, but the two samples of class 0 add 3e38 twice into the weight gradient, which overflows
 * float. The update makes the weight infinite in the only batch, after which no loss is
 * computed. Training reports it instead of returning an unusable model. */
static void infinite_parameters_after_finite_loss(void **state)
{
    bmlp_dataset_t ds;
    bmlp_net_t *net;
    bmlp_train_options_t opt;
    bmlp_train_result_t r;
    bmlp_error_t err;
    const float start[2] = {1.0f, 0.0f};

    (void)state;
    make_small(&ds, 4, 1);
    for (size_t i = 0; i < 4; i++) {
        ds.x[i] = 3e38f;
        ds.y[i] = i < 2 ? 0.0f : 1.0f;
    }
    bmlp_train_options_default(&opt);
    opt.standardize = 0;
    opt.init = 0;
    opt.val_split = 0.0;
    opt.batch_size = 4;
    opt.epochs = 1;
    assert_int_equal(bmlp_net_create(1, NULL, 0, &net, &err), BMLP_OK);
    memcpy(bmlp_net_params(net), start, sizeof(start));
    assert_int_equal(bmlp_train(net, &ds, &opt, &r, &err), BMLP_ERR_NONFINITE);
    assert_non_null(strstr(err.message, "after epoch 1"));
    bmlp_net_free(net);
    bmlp_dataset_free(&ds);
}

/* A feature of three values 3e38 and five -3e38 has a finite mean (-7.5e37) and std, but
 * 3e38 - mean overflows float, so fitting the standardization rejects it with the feature
 * named. */
static void standardization_overflow_rejected(void **state)
{
    bmlp_dataset_t ds;
    bmlp_net_t *net;
    bmlp_train_options_t opt;
    bmlp_train_result_t r;
    bmlp_error_t err;
    const size_t hidden[1] = {2};

    (void)state;
    make_small(&ds, 8, 2);
    for (size_t i = 0; i < 8; i++)
        ds.x[2 * i + 1] = i < 3 ? 3e38f : -3e38f;
    bmlp_train_options_default(&opt);
    opt.val_split = 0.0;
    opt.epochs = 1;
    assert_int_equal(bmlp_net_create(2, hidden, 1, &net, &err), BMLP_OK);
    assert_int_equal(bmlp_train(net, &ds, &opt, &r, &err), BMLP_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "feature 2 ranges from"));
    assert_non_null(strstr(err.message, "overflows float"));
    bmlp_net_free(net);
    bmlp_dataset_free(&ds);
}

/* Each invalid option or dataset is rejected with BMLP_ERR_INVALID_ARGUMENT and a message. */
static void invalid_options_rejected(void **state)
{
    const size_t hidden[] = {2};
    bmlp_dataset_t ds, empty = {0, 2, NULL, NULL};
    bmlp_net_t *net, *wide;
    bmlp_train_options_t opt, bad;
    bmlp_train_result_t r;
    bmlp_error_t err;

    (void)state;
    make_small(&ds, 10, 2);
    assert_int_equal(bmlp_net_create(2, hidden, 1, &net, &err), BMLP_OK);
    assert_int_equal(bmlp_net_create(3, hidden, 1, &wide, &err), BMLP_OK);
    bmlp_train_options_default(&opt);

    bad = opt;
    bad.epochs = 0;
    assert_int_equal(bmlp_train(net, &ds, &bad, &r, &err), BMLP_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "epochs"));
    bad = opt;
    bad.batch_size = 0;
    assert_int_equal(bmlp_train(net, &ds, &bad, &r, &err), BMLP_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "batch size"));
    bad = opt;
    bad.learning_rate = NAN;
    assert_int_equal(bmlp_train(net, &ds, &bad, &r, &err), BMLP_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "learning rate"));
    bad = opt;
    bad.val_split = 1.0;
    assert_int_equal(bmlp_train(net, &ds, &bad, &r, &err), BMLP_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "validation split"));

    assert_int_equal(bmlp_train(net, &empty, &opt, &r, &err), BMLP_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "no samples"));
    assert_int_equal(bmlp_train(wide, &ds, &opt, &r, &err), BMLP_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "features"));
    ds.y[3] = 2.0f;
    assert_int_equal(bmlp_train(net, &ds, &opt, &r, &err), BMLP_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "label of sample 4"));
    ds.y[3] = 1.0f;
    ds.x[5] = NAN;
    assert_int_equal(bmlp_train(net, &ds, &opt, &r, &err), BMLP_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "not finite"));

    bmlp_net_free(net);
    bmlp_net_free(wide);
    bmlp_dataset_free(&ds);
}

/* The generators are pure functions of (seed, i): a longer set starts with the shorter one. */
static void synthetic_sample_depends_on_index_only(void **state)
{
    const bmlp_synth_kind_t kinds[] = {BMLP_SYNTH_XOR, BMLP_SYNTH_BLOBS, BMLP_SYNTH_MOONS,
                                       BMLP_SYNTH_CIRCLES};
    bmlp_error_t err;

    (void)state;
    for (size_t k = 0; k < 4; k++) {
        bmlp_synth_options_t small = {kinds[k], 50, 5, 0.1, 9, 0, 0.0}, large = small;
        bmlp_dataset_t a, b;
        size_t ones = 0;

        large.n_samples = 500;
        assert_int_equal(bmlp_synth_generate(&small, &a, &err), BMLP_OK);
        assert_int_equal(bmlp_synth_generate(&large, &b, &err), BMLP_OK);
        assert_int_equal(a.n_features, kinds[k] == BMLP_SYNTH_BLOBS ? 5 : 2);
        assert_memory_equal(a.x, b.x, a.n_samples * a.n_features * sizeof(float));
        assert_memory_equal(a.y, b.y, a.n_samples * sizeof(float));
        for (size_t i = 0; i < b.n_samples; i++)
            ones += b.y[i] == 1.0f;
        assert_int_equal(ones, 250);
        bmlp_dataset_free(&a);
        bmlp_dataset_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(xor_reaches_97_percent),
        cmocka_unit_test(breast_cancer_reaches_95_percent),
        cmocka_unit_test(partial_batch_averaged_over_its_size),
        cmocka_unit_test(tile_step_matches_explicit_steps),
        cmocka_unit_test(batch_larger_than_dataset),
        cmocka_unit_test(same_seed_same_model),
        cmocka_unit_test(progress_reported_within_epochs),
        cmocka_unit_test(training_leaves_gradient_buffer),
        cmocka_unit_test(infinite_parameters_after_finite_loss),
        cmocka_unit_test(standardization_overflow_rejected),
        cmocka_unit_test(diverging_run_keeps_last_good_model),
        cmocka_unit_test(invalid_options_rejected),
        cmocka_unit_test(synthetic_sample_depends_on_index_only),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
