/* Training from sources other than in-memory datasets: synthetic sets generated on demand and
 * NPY files read in place, with per-sample permutations instead of explicit orders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmlp/bmlp.h"

static char npy_path[64];

static int remove_npy(void **state)
{
    (void)state;
    if (npy_path[0] != '\0')
        unlink(npy_path);
    return 0;
}

/* Trains a fresh 5-8-1 network on src and returns its parameters (malloc'd). */
static float *train_params(const bmlp_source_t *src, size_t threads, double *val_loss)
{
    const size_t hidden[] = {8};
    bmlp_train_options_t opt;
    bmlp_train_result_t result;
    bmlp_net_t *net;
    bmlp_error_t err;
    float *params;

    assert_int_equal(bmlp_net_create(bmlp_source_num_features(src), hidden, 1, &net, &err),
                     BMLP_OK);
    bmlp_train_options_default(&opt);
    opt.epochs = 3;
    opt.batch_size = 64;
    opt.threads = threads;
    opt.exact_threads = 1;
    if (bmlp_train_source(net, src, &opt, &result, &err) != BMLP_OK) {
        fprintf(stderr, "training failed: %s\n", err.message);
        fail();
    }
    *val_loss = result.last.val_loss;
    params = malloc(bmlp_net_num_params(net) * sizeof(float));
    assert_non_null(params);
    memcpy(params, bmlp_net_params(net), bmlp_net_num_params(net) * sizeof(float));
    bmlp_net_free(net);
    return params;
}

static bmlp_synth_options_t blobs_options(void)
{
    bmlp_synth_options_t synth;

    memset(&synth, 0, sizeof(synth));
    synth.kind = BMLP_SYNTH_BLOBS;
    synth.n_samples = 3000;
    synth.n_features = 5;
    synth.noise = 1.5;
    synth.seed = 11;
    return synth;
}

/* A synthetic source trains the same bits on 1 and 3 threads, and learns. */
static void synthetic_source_thread_invariant(void **state)
{
    bmlp_synth_options_t synth = blobs_options();
    bmlp_source_t *src;
    bmlp_error_t err;
    double loss_one, loss_three;

    (void)state;
    assert_int_equal(bmlp_source_synthetic(&synth, &src, &err), BMLP_OK);
    float *one = train_params(src, 1, &loss_one);
    float *three = train_params(src, 3, &loss_three);
    assert_memory_equal(one, three, (5 * 8 + 8 + 8 + 1) * sizeof(float));
    assert_memory_equal(&loss_one, &loss_three, sizeof(double));
    assert_true(loss_one < 0.3);
    free(one);
    free(three);
    bmlp_source_free(src);
}

/* The same set written to an NPY file and read in place trains bitwise the same model as when
 * it is generated on demand: both take the same samples in the same order. */
static void npy_source_matches_synthetic(void **state)
{
    bmlp_synth_options_t synth = blobs_options();
    bmlp_source_t *generated, *mapped;
    bmlp_error_t err;
    double loss_generated, loss_mapped;
    int fd;

    (void)state;
    snprintf(npy_path, sizeof(npy_path), "/tmp/bmlp-source-XXXXXX");
    fd = mkstemp(npy_path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(bmlp_synth_write(&synth, npy_path, BMLP_FORMAT_NPY, NULL, NULL, &err),
                     BMLP_OK);
    assert_int_equal(bmlp_source_synthetic(&synth, &generated, &err), BMLP_OK);
    assert_int_equal(bmlp_source_open_npy(npy_path, &mapped, &err), BMLP_OK);
    assert_int_equal(bmlp_source_num_samples(mapped), 3000);
    assert_int_equal(bmlp_source_num_features(mapped), 5);

    float *a = train_params(generated, 2, &loss_generated);
    float *b = train_params(mapped, 1, &loss_mapped);
    assert_memory_equal(a, b, (5 * 8 + 8 + 8 + 1) * sizeof(float));
    assert_memory_equal(&loss_generated, &loss_mapped, sizeof(double));
    free(a);
    free(b);
    bmlp_source_free(generated);
    bmlp_source_free(mapped);
}

/* A synthetic source of 10^10 samples costs no memory until it trains. */
static void huge_synthetic_source_is_cheap(void **state)
{
    bmlp_synth_options_t synth = blobs_options();
    bmlp_source_t *src;
    bmlp_error_t err;

    (void)state;
    synth.n_samples = 10000000000ull;
    assert_int_equal(bmlp_source_synthetic(&synth, &src, &err), BMLP_OK);
    assert_int_equal(bmlp_source_num_samples(src), 10000000000ull);
    bmlp_source_free(src);

    synth.n_samples = 0;
    assert_int_equal(bmlp_source_synthetic(&synth, &src, &err), BMLP_ERR_INVALID_ARGUMENT);
    synth.n_samples = 100;
    synth.noise = -1.0;
    assert_int_equal(bmlp_source_synthetic(&synth, &src, &err), BMLP_ERR_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(synthetic_source_thread_invariant),
        cmocka_unit_test_teardown(npy_source_matches_synthetic, remove_npy),
        cmocka_unit_test(huge_synthetic_source_is_cheap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
