/* Training is bitwise the same for every thread count, including batches smaller than the
 * thread team and partial last batches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmlp/bmlp.h"
#include "step.h"

#define MAX_EPOCHS 3

/* Parameters and per-epoch losses of one training run. */
typedef struct run_record {
    float *params;
    size_t num_params;
    double train_loss[MAX_EPOCHS];
    double val_loss[MAX_EPOCHS];
    size_t threads;
    double reduce_seconds; /* the reduce and update phases over all epochs, when profiled */
    double update_seconds;
} run_record_t;

static int record_epoch(const bmlp_epoch_report_t *report, void *user)
{
    run_record_t *rec = user;

    rec->train_loss[report->epoch - 1] = report->train_loss;
    rec->val_loss[report->epoch - 1] = report->val_loss;
    rec->reduce_seconds += report->phase_seconds[BMLP_PHASE_REDUCE];
    rec->update_seconds += report->phase_seconds[BMLP_PHASE_UPDATE];
    return 0;
}

/* Nonzero: train_with visits every sample in stored order, with no validation split. */
static int stored_order;

/* Nonzero: train_with times the phases of each step. */
static int profiled;

/* Trains a fresh network of the given hidden widths on exactly `threads` threads. */
static run_record_t train_with(const bmlp_dataset_t *ds, const size_t *hidden, size_t num_hidden,
                               size_t batch, size_t epochs, size_t threads)
{
    run_record_t rec;
    bmlp_train_options_t opt;
    bmlp_train_result_t result;
    bmlp_net_t *net;
    bmlp_error_t err;

    memset(&rec, 0, sizeof(rec));
    assert_int_equal(bmlp_net_create(ds->n_features, hidden, num_hidden, &net, &err), BMLP_OK);
    bmlp_train_options_default(&opt);
    opt.epochs = epochs;
    opt.batch_size = batch;
    opt.learning_rate = 0.1f;
    opt.threads = threads;
    opt.exact_threads = 1;
    opt.on_epoch = record_epoch;
    opt.user = &rec;
    opt.profile = profiled;
    if (stored_order) {
        opt.shuffle = 0;
        opt.val_split = 0.0;
    }
    if (bmlp_train(net, ds, &opt, &result, &err) != BMLP_OK) {
        fprintf(stderr, "training on %zu threads failed: %s\n", threads, err.message);
        fail();
    }
    rec.threads = result.threads;
    rec.num_params = bmlp_net_num_params(net);
    rec.params = malloc(rec.num_params * sizeof(float));
    assert_non_null(rec.params);
    memcpy(rec.params, bmlp_net_params(net), rec.num_params * sizeof(float));
    bmlp_net_free(net);
    return rec;
}

/* Asserts that two runs trained bitwise the same parameters and losses. */
static void assert_same_run(const run_record_t *a, const run_record_t *b, size_t epochs)
{
    assert_int_equal(a->num_params, b->num_params);
    for (size_t i = 0; i < a->num_params; i++) {
        if (memcmp(&a->params[i], &b->params[i], sizeof(float)) != 0) {
            fprintf(stderr, "parameter %zu: %.9g on %zu threads, %.9g on %zu threads\n", i,
                    (double)a->params[i], a->threads, (double)b->params[i], b->threads);
            fail();
        }
    }
    assert_memory_equal(a->train_loss, b->train_loss, epochs * sizeof(double));
    assert_memory_equal(a->val_loss, b->val_loss, epochs * sizeof(double));
}

static void make_blobs(bmlp_dataset_t *ds, size_t n, size_t d)
{
    bmlp_synth_options_t synth = {BMLP_SYNTH_BLOBS, n, d, 2.0, 5, 0, 0.0};
    bmlp_error_t err;

    assert_int_equal(bmlp_synth_generate(&synth, ds, &err), BMLP_OK);
}

/* Trains a network of one hidden layer of `hidden` units on ds, three shuffled epochs, on 1
 * thread and then on each of the thread counts. Asserts that each run used that many threads
 * and trained bitwise the same parameters and losses as 1 thread. */
static void assert_counts_same_model(const bmlp_dataset_t *ds, size_t hidden, size_t batch,
                                     const size_t *counts, size_t num_counts)
{
    run_record_t base = train_with(ds, &hidden, 1, batch, 3, 1);

    assert_int_equal(base.threads, 1);
    for (size_t i = 0; i < num_counts; i++) {
        run_record_t other = train_with(ds, &hidden, 1, batch, 3, counts[i]);
        if (bmlp_has_openmp())
            assert_int_equal(other.threads, counts[i]);
        assert_same_run(&base, &other, 3);
        free(other.params);
    }
    free(base.params);
}

/* 10,000 samples x 32 features, 32-16-1, batch 256, three shuffled epochs on 1, 2, 3, 7 and 16
 * threads, and 16 again. */
static void any_thread_count_same_model(void **state)
{
    const size_t counts[] = {2, 3, 7, 16, 16};
    bmlp_dataset_t ds;

    (void)state;
    make_blobs(&ds, 10000, 32);
    assert_counts_same_model(&ds, 16, 256, counts, sizeof(counts) / sizeof(counts[0]));
    bmlp_dataset_free(&ds);
}

/* 32-256-1 (M's shape) has gradient slots too large for every thread to sum them all, so the
 * schedule depends on the batch (see reduction_schedules). Three shuffled epochs on 2, 3 and 7
 * threads against 1, at batch 256 and at batches of 2 and 3 chunks. Of 2,180 samples 1,744
 * train, so the last batch of 256 has 208 samples in 4 chunks. Of 2,160 samples 1,728 train,
 * so the last batch has 3 chunks, the third without a pair. */
static void large_slots_same_model(void **state)
{
    const size_t counts[] = {2, 3, 7};
    const struct {
        size_t samples, batch;
    } cases[] = {{2180, 256}, {2160, 256}, {2180, 128}, {2180, 192}};

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bmlp_dataset_t ds;

        make_blobs(&ds, cases[i].samples, 32);
        assert_counts_same_model(&ds, 256, cases[i].batch, counts,
                                 sizeof(counts) / sizeof(counts[0]));
        bmlp_dataset_free(&ds);
    }
}

/* Builds a stepper for a 32-`hidden`-1 network and asserts how its threads share the reduction.
 * group is the number of chunks that a thread takes at a time, and replicated is nonzero when
 * every thread updates its own copy of the parameters. */
static void assert_schedule(size_t hidden, size_t batch, size_t threads, size_t group,
                            int replicated)
{
    bmlp_stepper_t st;
    bmlp_net_t *net;
    bmlp_error_t err;

    assert_int_equal(bmlp_net_create(32, &hidden, 1, &net, &err), BMLP_OK);
    assert_int_equal(bmlp_stepper_init(&st, net, batch, threads, 1, 0, BMLP_ISA_AUTO, &err),
                     BMLP_OK);
    assert_int_equal(st.threads, threads);
    assert_int_equal(st.group, group);
    assert_int_equal(st.replicated, replicated);
    bmlp_stepper_free(&st);
    bmlp_net_free(net);
}

/* Checks the schedules that the tests above rely on. 32-256-1 has chunks of 64. Its threads
 * replicate the update when each sums at most 2 slots or pairs: 2 threads at batch 128 (2
 * chunks), or at 192 and 256 with pairs. They split the sum on 3 threads at batch 256 (2 pairs
 * for 3 threads) and at 128, and on 2 threads at batch 512 (4 pairs). With 32-16-1, every
 * thread sums every slot. At batch 256, 32-2048-1 has 2 chunks whose slots take 557 KB and
 * replicates, while the 2 slots of 32-8192-1 exceed 1 MiB and split. */
static void reduction_schedules(void **state)
{
    (void)state;
    if (!bmlp_has_openmp())
        skip();
    assert_schedule(256, 128, 2, 1, 1);
    assert_schedule(256, 192, 2, 2, 1);
    assert_schedule(256, 256, 2, 2, 1);
    assert_schedule(256, 256, 3, 1, 0);
    assert_schedule(256, 128, 3, 1, 0);
    assert_schedule(256, 512, 2, 1, 0);
    assert_schedule(16, 256, 2, 1, 1);
    assert_schedule(256, 256, 1, 1, 0);
    assert_schedule(2048, 256, 2, 1, 1);
    assert_schedule(8192, 256, 2, 1, 0);
}

/* Profiling runs the reduction and the update as two passes, which must train the same bits as
 * the fused pass. Shapes: 32-16-1, whose threads each sum every slot, and 32-256-1, whose
 * threads take pairs of chunks on 2 threads and split the sum on 3. Each trains on 1, 2 and 3
 * threads, three shuffled epochs at batch 256. */
static void profiled_steps_same_model(void **state)
{
    const size_t widths[] = {16, 256};
    bmlp_dataset_t ds;

    (void)state;
    make_blobs(&ds, 2180, 32);
    for (size_t w = 0; w < 2; w++) {
        for (size_t threads = 1; threads <= 3; threads++) {
            run_record_t plain = train_with(&ds, &widths[w], 1, 256, 3, threads);

            profiled = 1;
            run_record_t timed = train_with(&ds, &widths[w], 1, 256, 3, threads);
            profiled = 0;
            if (bmlp_has_openmp())
                assert_int_equal(timed.threads, threads);
            /* Only the profiled run timed the two passes. */
            assert_true(plain.reduce_seconds == 0.0);
            assert_true(plain.update_seconds == 0.0);
            assert_true(timed.reduce_seconds > 0.0);
            assert_true(timed.update_seconds > 0.0);
            assert_same_run(&plain, &timed, 3);
            free(plain.params);
            free(timed.params);
        }
    }
    bmlp_dataset_free(&ds);
}

/* Networks small enough for the fused small-network kernel, batch 4096 (several chunks), three
 * epochs shuffled and three in stored order, which reads the dataset in place: 1, 2, 3 and 7
 * threads. */
static void small_networks_same_model(void **state)
{
    const size_t shapes[][3] = {{2, 0, 0}, {8, 4, 0}};
    const size_t num_hidden[] = {1, 2};
    const size_t counts[] = {2, 3, 7};
    bmlp_dataset_t ds;

    (void)state;
    make_blobs(&ds, 20000, 2);
    for (stored_order = 0; stored_order <= 1; stored_order++) {
        for (size_t sh = 0; sh < 2; sh++) {
            run_record_t base = train_with(&ds, shapes[sh], num_hidden[sh], 4096, 3, 1);
            for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
                run_record_t other = train_with(&ds, shapes[sh], num_hidden[sh], 4096, 3,
                                                counts[i]);
                assert_same_run(&base, &other, 3);
                free(other.params);
            }
            free(base.params);
        }
    }
    stored_order = 0;
    bmlp_dataset_free(&ds);
}

/* Batches smaller than the team: batch 3 on 16 threads and batch 1 on 8, against 1 thread. */
static void tiny_batches_same_model(void **state)
{
    const size_t hidden[] = {4, 3};
    const struct {
        size_t batch, threads;
    } cases[] = {{3, 16}, {1, 8}};
    bmlp_dataset_t ds;

    (void)state;
    make_blobs(&ds, 50, 5);
    for (size_t i = 0; i < 2; i++) {
        run_record_t one = train_with(&ds, hidden, 2, cases[i].batch, 2, 1);
        run_record_t many = train_with(&ds, hidden, 2, cases[i].batch, 2, cases[i].threads);
        assert_same_run(&one, &many, 2);
        free(one.params);
        free(many.params);
    }
    bmlp_dataset_free(&ds);
}

/* 10 samples in batches of 4 (the last of 2) and 3 samples in a batch of 8, on 1 and 4
 * threads. Without a validation split every sample trains. */
static void partial_batches_same_model(void **state)
{
    const size_t hidden[] = {3};
    const size_t sizes[][2] = {{10, 4}, {3, 8}};
    bmlp_train_options_t opt;
    bmlp_error_t err;

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        bmlp_dataset_t ds;
        bmlp_net_t *net;
        bmlp_train_result_t result;
        float one[64], four[64];
        size_t count;

        make_blobs(&ds, sizes[i][0], 2);
        for (size_t pass = 0; pass < 2; pass++) {
            assert_int_equal(bmlp_net_create(2, hidden, 1, &net, &err), BMLP_OK);
            bmlp_train_options_default(&opt);
            opt.epochs = 2;
            opt.batch_size = sizes[i][1];
            opt.val_split = 0.0;
            opt.threads = pass == 0 ? 1 : 4;
            opt.exact_threads = 1;
            assert_int_equal(bmlp_train(net, &ds, &opt, &result, &err), BMLP_OK);
            assert_int_equal(result.n_train, sizes[i][0]);
            count = bmlp_net_num_params(net);
            assert_true(count <= 64);
            memcpy(pass == 0 ? one : four, bmlp_net_params(net), count * sizeof(float));
            bmlp_net_free(net);
        }
        assert_memory_equal(one, four, count * sizeof(float));
        bmlp_dataset_free(&ds);
    }
}

/* An empty dataset is rejected whatever the thread count. */
static void zero_samples_rejected(void **state)
{
    const size_t hidden[] = {3};
    bmlp_dataset_t empty = {0, 2, NULL, NULL};
    bmlp_train_options_t opt;
    bmlp_train_result_t result;
    bmlp_net_t *net;
    bmlp_error_t err;

    (void)state;
    assert_int_equal(bmlp_net_create(2, hidden, 1, &net, &err), BMLP_OK);
    bmlp_train_options_default(&opt);
    opt.threads = 4;
    assert_int_equal(bmlp_train(net, &empty, &opt, &result, &err), BMLP_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "no samples"));
    bmlp_net_free(net);
}

/* Without exact_threads, a batch too small to split runs on one thread. */
static void small_work_runs_on_one_thread(void **state)
{
    const size_t tiny[] = {2}, wide[] = {256};
    bmlp_net_t *small, *large;
    bmlp_error_t err;

    (void)state;
    assert_int_equal(bmlp_net_create(2, tiny, 1, &small, &err), BMLP_OK);
    assert_int_equal(bmlp_net_create(32, wide, 1, &large, &err), BMLP_OK);
    assert_int_equal(bmlp_train_threads(small, 256, 8, 0), 1);
    assert_int_equal(bmlp_train_threads(small, 1, 8, 0), 1);
    if (bmlp_has_openmp()) {
        assert_int_equal(bmlp_train_threads(large, 256, 2, 0), 2);
        assert_int_equal(bmlp_train_threads(small, 256, 8, 1), 8);
    }
    bmlp_net_free(small);
    bmlp_net_free(large);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(any_thread_count_same_model),
        cmocka_unit_test(large_slots_same_model),
        cmocka_unit_test(reduction_schedules),
        cmocka_unit_test(small_networks_same_model),
        cmocka_unit_test(tiny_batches_same_model),
        cmocka_unit_test(partial_batches_same_model),
        cmocka_unit_test(zero_samples_rejected),
        cmocka_unit_test(small_work_runs_on_one_thread),
        cmocka_unit_test(profiled_steps_same_model),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
