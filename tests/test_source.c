/* Training from sources other than in-memory datasets: synthetic sets generated on demand and
 * NPY files copied into memory or read in place, with per-sample permutations instead of
 * explicit orders. */
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
#include "source_internal.h"

static char npy_path[64];
static char npy64_path[64];

static int remove_npy(void **state)
{
    (void)state;
    if (npy_path[0] != '\0')
        unlink(npy_path);
    if (npy64_path[0] != '\0')
        unlink(npy64_path);
    return 0;
}

/* Makes an empty file from template (ending in XXXXXX) and leaves its name there. */
static void temp_file(char *template)
{
    int fd = mkstemp(template);

    assert_true(fd >= 0);
    close(fd);
}

/* Writes ds to path as a float64 NPY file of rows (features, then the label). */
static void write_npy_float64(const char *path, const bmlp_dataset_t *ds)
{
    char header[128];
    size_t d = ds->n_features;
    FILE *f = fopen(path, "wb");
    int len;

    assert_non_null(f);
    memset(header, ' ', sizeof(header));
    memcpy(header, "\x93NUMPY\x01\x00", 8);
    header[8] = (char)(sizeof(header) - 10);
    header[9] = 0;
    len = snprintf(header + 10, sizeof(header) - 10,
                   "{'descr': '<f8', 'fortran_order': False, 'shape': (%zu, %zu), }",
                   ds->n_samples, d + 1);
    assert_true(len > 0 && len < (int)sizeof(header) - 11);
    header[10 + len] = ' ';
    header[sizeof(header) - 1] = '\n';
    assert_int_equal(fwrite(header, 1, sizeof(header), f), sizeof(header));
    for (size_t i = 0; i < ds->n_samples; i++) {
        for (size_t j = 0; j <= d; j++) {
            double v = j < d ? ds->x[i * d + j] : ds->y[i];

            assert_int_equal(fwrite(&v, sizeof(v), 1, f), 1);
        }
    }
    assert_int_equal(fclose(f), 0);
}

/* Trains a fresh 5-8-1 network on src with the given validation split, and returns its
 * parameters (malloc'd) and the last epoch's training and validation loss. */
static float *train_params_split(const bmlp_source_t *src, size_t threads, double val_split,
                                 double losses[2])
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
    opt.val_split = val_split;
    if (bmlp_train_source(net, src, &opt, &result, &err) != BMLP_OK) {
        fprintf(stderr, "training failed: %s\n", err.message);
        fail();
    }
    losses[0] = result.last.train_loss;
    losses[1] = result.last.val_loss;
    params = malloc(bmlp_net_num_params(net) * sizeof(float));
    assert_non_null(params);
    memcpy(params, bmlp_net_params(net), bmlp_net_num_params(net) * sizeof(float));
    bmlp_net_free(net);
    return params;
}

/* train_params_split with the default validation split, returning the validation loss. */
static float *train_params(const bmlp_source_t *src, size_t threads, double *val_loss)
{
    double losses[2];
    float *params = train_params_split(src, threads, 0.2, losses);

    *val_loss = losses[1];
    return params;
}

/* Trains a fresh network on a with threads_a threads and on b with threads_b, with the given
 * validation split, and checks that both give bitwise the same parameters and losses. */
static void assert_same_training(const bmlp_source_t *a, size_t threads_a, const bmlp_source_t *b,
                                 size_t threads_b, double val_split)
{
    double losses_a[2], losses_b[2];
    float *params_a = train_params_split(a, threads_a, val_split, losses_a);
    float *params_b = train_params_split(b, threads_b, val_split, losses_b);

    assert_memory_equal(params_a, params_b, (5 * 8 + 8 + 8 + 1) * sizeof(float));
    assert_memory_equal(losses_a, losses_b, sizeof(losses_a));
    free(params_a);
    free(params_b);
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

/* The same set written to an NPY file trains bitwise the same model as when it is generated on
 * demand: both take the same samples in the same order. */
static void npy_source_matches_synthetic(void **state)
{
    bmlp_synth_options_t synth = blobs_options();
    bmlp_source_t *generated, *mapped;
    bmlp_error_t err;

    (void)state;
    snprintf(npy_path, sizeof(npy_path), "/tmp/bmlp-source-XXXXXX");
    temp_file(npy_path);
    assert_int_equal(bmlp_synth_write(&synth, npy_path, BMLP_FORMAT_NPY, NULL, NULL, &err),
                     BMLP_OK);
    assert_int_equal(bmlp_source_synthetic(&synth, &generated, &err), BMLP_OK);
    assert_int_equal(bmlp_source_open_npy(npy_path, &mapped, &err), BMLP_OK);
    assert_int_equal(bmlp_source_num_samples(mapped), 3000);
    assert_int_equal(bmlp_source_num_features(mapped), 5);

    assert_same_training(generated, 2, mapped, 1, 0.2);
    bmlp_source_free(generated);
    bmlp_source_free(mapped);
}

/* Opens path with the given copy budget and checks whether the rows were copied. */
static bmlp_source_t *open_with_budget(const char *path, size_t budget, int copied)
{
    bmlp_source_t *src;
    bmlp_error_t err;

    if (bmlp_source_open_npy_budget(path, budget, &src, &err) != BMLP_OK) {
        fprintf(stderr, "%s\n", err.message);
        fail();
    }
    assert_int_equal(src->table != NULL, copied);
    assert_int_equal(src->mapped, !copied);
    return src;
}

/* An NPY file copied into memory trains bitwise the same model as the same file read through
 * its mapping: float32 rows read in place, and float64 rows converted one at a time. */
static void npy_copy_matches_mapped(void **state)
{
    bmlp_synth_options_t synth = blobs_options();
    bmlp_dataset_t ds;
    bmlp_error_t err;
    const char *paths[2] = {npy_path, npy64_path};

    (void)state;
    snprintf(npy_path, sizeof(npy_path), "/tmp/bmlp-source-XXXXXX");
    snprintf(npy64_path, sizeof(npy64_path), "/tmp/bmlp-source64-XXXXXX");
    temp_file(npy_path);
    temp_file(npy64_path);
    assert_int_equal(bmlp_synth_write(&synth, npy_path, BMLP_FORMAT_NPY, NULL, NULL, &err),
                     BMLP_OK);
    assert_int_equal(bmlp_synth_generate(&synth, &ds, &err), BMLP_OK);
    write_npy_float64(npy64_path, &ds);
    bmlp_dataset_free(&ds);

    for (int k = 0; k < 2; k++) {
        bmlp_source_t *copied = open_with_budget(paths[k], SIZE_MAX, 1);
        bmlp_source_t *mapped = open_with_budget(paths[k], 0, 0);

        assert_int_equal(bmlp_source_num_samples(copied), 3000);
        assert_int_equal(bmlp_source_num_features(copied), 5);
        assert_same_training(copied, 2, mapped, 2, 0.2);
        bmlp_source_free(copied);
        bmlp_source_free(mapped);
    }
}

/* An in-memory dataset trains bitwise the same model as the same set generated on demand, with
 * and without a validation split. Training copies the dataset's rows, in split order or as
 * they are, while the generated set has no rows to copy. */
static void dataset_copy_matches_generated(void **state)
{
    const double splits[2] = {0.0, 0.2};
    bmlp_synth_options_t synth = blobs_options();
    bmlp_source_t *generated, *memory;
    bmlp_dataset_t ds;
    bmlp_error_t err;

    (void)state;
    assert_int_equal(bmlp_synth_generate(&synth, &ds, &err), BMLP_OK);
    assert_int_equal(bmlp_source_from_dataset(&ds, &memory, &err), BMLP_OK);
    assert_int_equal(bmlp_source_synthetic(&synth, &generated, &err), BMLP_OK);
    for (int k = 0; k < 2; k++)
        assert_same_training(memory, 2, generated, 2, splits[k]);
    bmlp_source_free(memory);
    bmlp_source_free(generated);
    bmlp_dataset_free(&ds);
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
        cmocka_unit_test_teardown(npy_copy_matches_mapped, remove_npy),
        cmocka_unit_test(dataset_copy_matches_generated),
        cmocka_unit_test(huge_synthetic_source_is_cheap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
