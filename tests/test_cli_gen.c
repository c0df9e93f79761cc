/* bmlp gen: files that load back to exactly the samples of bmlp_synth_fill, in every format,
 * and the exit statuses and messages of bad requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmlp/dataset.h"
#include "cli_run.h"

/* More samples than one piece of bmlp_synth_write (65536), so that the file is written in two
 * pieces. */
#define MANY_SAMPLES 70000

/* Generates the samples of opt with bmlp_synth_fill and asserts that ds contains the same bits. */
static void assert_equals_synth(const bmlp_dataset_t *ds, const bmlp_synth_options_t *opt)
{
    size_t d = bmlp_synth_num_features(opt);
    float *x = malloc(opt->n_samples * d * sizeof(float));
    float *y = malloc(opt->n_samples * sizeof(float));
    bmlp_error_t err;

    assert_non_null(x);
    assert_non_null(y);
    assert_int_equal(bmlp_synth_fill(opt, 0, opt->n_samples, x, y, &err), BMLP_OK);
    assert_int_equal(ds->n_samples, opt->n_samples);
    assert_int_equal(ds->n_features, d);
    assert_memory_equal(ds->x, x, opt->n_samples * d * sizeof(float));
    assert_memory_equal(ds->y, y, opt->n_samples * sizeof(float));
    free(x);
    free(y);
}

static bmlp_synth_options_t synth_options(bmlp_synth_kind_t kind, size_t n, size_t d, double noise,
                                          uint64_t seed)
{
    bmlp_synth_options_t opt;

    memset(&opt, 0, sizeof(opt));
    opt.kind = kind;
    opt.n_samples = n;
    opt.n_features = d;
    opt.noise = noise;
    opt.seed = seed;
    return opt;
}

static void gen_help_lists_options(void **state)
{
    (void)state;
    assert_int_equal(cli_run("gen --help"), 0);
    cli_expect_output("--samples N");
    cli_expect_output("--features D");
    cli_expect_output("--noise X");
    cli_expect_output("in feature units, 0 to 1e6 (default 0.1)");
    cli_expect_output("--seed S");
    cli_expect_output("--teacher-hidden N");
    cli_expect_output("--label-noise P");
    cli_expect_output("--out FILE");
    cli_expect_output("--format NAME");
    assert_int_equal(cli_run("--help"), 0);
    cli_expect_output("gen ");
}

static void gen_npy_equals_synth_fill(void **state)
{
    bmlp_synth_options_t opt = synth_options(BMLP_SYNTH_MOONS, MANY_SAMPLES, 2, 0.2, 7);
    char args[512], path[128];
    bmlp_dataset_t ds;
    bmlp_error_t err;

    (void)state;
    snprintf(path, sizeof(path), "%s/moons.npy", cli_tmpdir);
    snprintf(args, sizeof(args), "gen moons --samples %d --noise 0.2 --seed 7 --out %s",
             MANY_SAMPLES, path);
    assert_int_equal(cli_run(args), 0);
    cli_expect_output("samples: 70000\nfeatures: 2\nformat: npy\n");
    /* stderr is a pipe here, so no progress is shown. */
    assert_null(strstr(cli_output, "%"));
    assert_int_equal(bmlp_npy_load(path, &ds, &err), BMLP_OK);
    assert_equals_synth(&ds, &opt);
    bmlp_dataset_free(&ds);
    assert_int_equal(cli_count_temp_files(), 0);
}

/* %.9g round-trips float32 exactly, so the CSV file loads to the same bits. */
static void gen_csv_equals_synth_fill(void **state)
{
    bmlp_synth_options_t opt = synth_options(BMLP_SYNTH_CIRCLES, MANY_SAMPLES, 2, 0.05, 3);
    bmlp_csv_options_t csv;
    char args[512], path[128];
    bmlp_dataset_t ds;
    bmlp_error_t err;

    (void)state;
    bmlp_csv_options_default(&csv);
    snprintf(path, sizeof(path), "%s/circles.csv", cli_tmpdir);
    snprintf(args, sizeof(args), "gen circles --samples %d --noise 0.05 --seed 3 --out %s",
             MANY_SAMPLES, path);
    assert_int_equal(cli_run(args), 0);
    cli_expect_output("format: csv");
    assert_int_equal(bmlp_csv_load(path, &csv, &ds, &err), BMLP_OK);
    assert_equals_synth(&ds, &opt);
    bmlp_dataset_free(&ds);
}

static void gen_libsvm_equals_synth_fill(void **state)
{
    bmlp_synth_options_t opt = synth_options(BMLP_SYNTH_BLOBS, 3000, 5, 0.5, 11);
    bmlp_libsvm_options_t libsvm;
    char args[512], path[128];
    bmlp_dataset_t ds;
    bmlp_error_t err;

    (void)state;
    bmlp_libsvm_options_default(&libsvm);
    snprintf(path, sizeof(path), "%s/blobs.svm", cli_tmpdir);
    snprintf(args, sizeof(args),
             "gen blobs --features 5 --samples 3000 --noise 0.5 --seed 11 --out %s", path);
    assert_int_equal(cli_run(args), 0);
    cli_expect_output("features: 5\nformat: libsvm");
    assert_int_equal(bmlp_libsvm_load(path, &libsvm, &ds, &err), BMLP_OK);
    assert_equals_synth(&ds, &opt);
    bmlp_dataset_free(&ds);
}

/* The teacher options reach the generator: the file equals bmlp_synth_fill with them. */
static void gen_teacher_equals_synth_fill(void **state)
{
    bmlp_synth_options_t opt = synth_options(BMLP_SYNTH_TEACHER, 2000, 3, 0.2, 5);
    char args[512], path[128];
    bmlp_dataset_t ds;
    bmlp_error_t err;

    (void)state;
    opt.teacher_hidden = 4;
    opt.label_noise = 0.1;
    snprintf(path, sizeof(path), "%s/teacher.npy", cli_tmpdir);
    snprintf(args, sizeof(args),
             "gen teacher --features 3 --teacher-hidden 4 --label-noise 0.1 --samples 2000 "
             "--noise 0.2 --seed 5 --out %s",
             path);
    assert_int_equal(cli_run(args), 0);
    cli_expect_output("samples: 2000\nfeatures: 3\n");
    assert_int_equal(bmlp_npy_load(path, &ds, &err), BMLP_OK);
    assert_equals_synth(&ds, &opt);
    bmlp_dataset_free(&ds);

    opt = synth_options(BMLP_SYNTH_SPIRAL, 500, 2, 0.1, 1);
    snprintf(path, sizeof(path), "%s/spiral.npy", cli_tmpdir);
    snprintf(args, sizeof(args), "gen spiral --samples 500 --out %s", path);
    assert_int_equal(cli_run(args), 0);
    assert_int_equal(bmlp_npy_load(path, &ds, &err), BMLP_OK);
    assert_equals_synth(&ds, &opt);
    bmlp_dataset_free(&ds);
}

/* --format overrides an extension that names no format, and the defaults (noise 0.1, seed 1)
 * are those of the synthetic sets of train. */
static void gen_format_option_and_defaults(void **state)
{
    bmlp_synth_options_t opt = synth_options(BMLP_SYNTH_XOR, 10, 2, 0.1, 1);
    char args[512], path[128];
    bmlp_dataset_t ds;
    bmlp_error_t err;

    (void)state;
    snprintf(path, sizeof(path), "%s/xor.data", cli_tmpdir);
    snprintf(args, sizeof(args), "gen xor --samples 10 --format npy --out %s", path);
    assert_int_equal(cli_run(args), 0);
    assert_int_equal(bmlp_npy_load(path, &ds, &err), BMLP_OK);
    assert_equals_synth(&ds, &opt);
    bmlp_dataset_free(&ds);
}

/* A generated file trains like the synthetic set it contains: same data, same figures. */
static void gen_file_trains_like_synth(void **state)
{
    char args[512], path[128];
    static char synth_output[sizeof(cli_output)];

    (void)state;
    snprintf(path, sizeof(path), "%s/train.npy", cli_tmpdir);
    snprintf(args, sizeof(args), "gen moons --samples 400 --out %s", path);
    assert_int_equal(cli_run(args), 0);
    assert_int_equal(cli_run("train --data synth:moons --samples 400 --epochs 2 --quiet"), 0);
    snprintf(synth_output, sizeof(synth_output), "%s", cli_output);
    snprintf(args, sizeof(args), "train --data %s --epochs 2 --quiet", path);
    assert_int_equal(cli_run(args), 0);
    assert_string_equal(cli_output, synth_output);
}

static void gen_usage_errors_exit_2(void **state)
{
    char args[512];

    (void)state;
    assert_int_equal(cli_run("gen moons --out x.npy"), 2);
    cli_expect_output("--samples is required");
    assert_int_equal(cli_run("gen moons --samples 10"), 2);
    cli_expect_output("--out is required");
    assert_int_equal(cli_run("gen --samples 10 --out x.npy"), 2);
    cli_expect_output("missing the set NAME");
    assert_int_equal(cli_run("gen spirals --samples 10 --out x.npy"), 2);
    cli_expect_output("unknown synthetic set 'spirals'");
    assert_int_equal(cli_run("gen moons extra --samples 10 --out x.npy"), 2);
    cli_expect_output("unexpected argument 'extra'");
    assert_int_equal(cli_run("gen moons --features 3 --samples 10 --out x.npy"), 2);
    cli_expect_output("--features applies to blobs and teacher only");
    assert_int_equal(cli_run("gen moons --teacher-hidden 4 --samples 10 --out x.npy"), 2);
    cli_expect_output("--teacher-hidden applies to teacher only, not to moons");
    assert_int_equal(cli_run("gen teacher --label-noise 0.7 --samples 10 --out x.npy"), 2);
    cli_expect_output("--label-noise: 0.7 is out of range");
    assert_int_equal(cli_run("gen teacher --teacher-hidden 0 --samples 10 --out x.npy"), 2);
    cli_expect_output("--teacher-hidden: 0 is out of range");
    assert_int_equal(cli_run("gen moons --samples 0 --out x.npy"), 2);
    cli_expect_output("--samples: 0 is out of range");
    assert_int_equal(cli_run("gen moons --samples 10 --noise -1 --out x.npy"), 2);
    cli_expect_output("--noise: -1 is out of range");
    assert_int_equal(cli_run("gen moons --samples 10 --format parquet --out x.npy"), 2);
    cli_expect_output("--format: unknown format 'parquet' (expected csv, libsvm or npy)");
    snprintf(args, sizeof(args), "gen moons --samples 10 --out %s/x.bin", cli_tmpdir);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("cannot tell the format of");
    snprintf(args, sizeof(args), "gen moons --samples 10 --format csv --out %s/y.npy", cli_tmpdir);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("--format csv does not match the extension of");
    assert_int_equal(cli_count_temp_files(), 0);
    assert_false(cli_exists("x.npy"));
}

/* An output that cannot be written is rejected before generating, without leaving a file or a
 * temporary file behind. */
static void gen_unwritable_output(void **state)
{
    char args[512], path[128];

    (void)state;
    snprintf(path, sizeof(path), "%s/no_such_dir/x.npy", cli_tmpdir);
    snprintf(args, sizeof(args), "gen moons --samples 10 --out %s", path);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("cannot write to directory");
    assert_false(cli_exists(path));
    snprintf(args, sizeof(args), "gen moons --samples 10 --out %s --format npy", cli_tmpdir);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("not a regular file");
    assert_int_equal(cli_count_temp_files(), 0);
}

/* An existing file is replaced whole by the new one. */
static void gen_replaces_existing_file(void **state)
{
    bmlp_synth_options_t opt = synth_options(BMLP_SYNTH_MOONS, 20, 2, 0.1, 2);
    char args[512], path[128];
    bmlp_dataset_t ds;
    bmlp_error_t err;

    (void)state;
    snprintf(path, sizeof(path), "%s/replace.npy", cli_tmpdir);
    snprintf(args, sizeof(args), "gen moons --samples 500 --out %s", path);
    assert_int_equal(cli_run(args), 0);
    snprintf(args, sizeof(args), "gen moons --samples 20 --seed 2 --out %s", path);
    assert_int_equal(cli_run(args), 0);
    assert_int_equal(bmlp_npy_load(path, &ds, &err), BMLP_OK);
    assert_equals_synth(&ds, &opt);
    bmlp_dataset_free(&ds);
    assert_int_equal(cli_count_temp_files(), 0);
}

/* bmlp_synth_write prints '.' as the decimal point even when the calling program has set a
 * locale whose decimal point is a comma. The test skips when no such locale is installed. */
static void synth_write_ignores_process_locale(void **state)
{
    static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8"};
    bmlp_synth_options_t opt = synth_options(BMLP_SYNTH_MOONS, 100, 2, 0.1, 5);
    bmlp_csv_options_t csv;
    const char *chosen = NULL;
    char path[128];
    bmlp_dataset_t ds;
    bmlp_error_t err;
    bmlp_status_t st;

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && chosen == NULL; i++)
        if (setlocale(LC_NUMERIC, names[i]) != NULL)
            chosen = names[i];
    if (chosen == NULL || strcmp(localeconv()->decimal_point, ",") != 0) {
        setlocale(LC_NUMERIC, "C");
        skip();
    }
    snprintf(path, sizeof(path), "%s/locale.csv", cli_tmpdir);
    st = bmlp_synth_write(&opt, path, BMLP_FORMAT_CSV, NULL, NULL, &err);
    setlocale(LC_NUMERIC, "C");
    assert_int_equal(st, BMLP_OK);
    bmlp_csv_options_default(&csv);
    assert_int_equal(bmlp_csv_load(path, &csv, &ds, &err), BMLP_OK);
    assert_equals_synth(&ds, &opt);
    bmlp_dataset_free(&ds);
}

/* A nonzero return of the progress callback stops the write and leaves no file. */
static int cancel_after_first_piece(uint64_t done, uint64_t total, void *user)
{
    (void)done;
    (void)total;
    ++*(int *)user;
    return 1;
}

static void synth_write_cancelled(void **state)
{
    bmlp_synth_options_t opt = synth_options(BMLP_SYNTH_XOR, MANY_SAMPLES, 2, 0.1, 1);
    char path[128];
    bmlp_error_t err;
    int calls = 0;

    (void)state;
    snprintf(path, sizeof(path), "%s/cancelled.npy", cli_tmpdir);
    assert_int_equal(
        bmlp_synth_write(&opt, path, BMLP_FORMAT_NPY, cancel_after_first_piece, &calls, &err),
        BMLP_ERR_CANCELLED);
    assert_int_equal(calls, 1);
    assert_false(cli_exists(path));
    assert_int_equal(cli_count_temp_files(), 0);
}

static void synth_write_invalid_arguments(void **state)
{
    bmlp_synth_options_t opt = synth_options(BMLP_SYNTH_XOR, 10, 2, 0.1, 1);
    char path[128];
    bmlp_error_t err;

    (void)state;
    snprintf(path, sizeof(path), "%s/invalid.npy", cli_tmpdir);
    assert_int_equal(bmlp_synth_write(&opt, path, (bmlp_file_format_t)7, NULL, NULL, &err),
                     BMLP_ERR_INVALID_ARGUMENT);
    opt.n_samples = 0;
    assert_int_equal(bmlp_synth_write(&opt, path, BMLP_FORMAT_NPY, NULL, NULL, &err),
                     BMLP_ERR_INVALID_ARGUMENT);
    opt.n_samples = 10;
    opt.noise = -1.0;
    assert_int_equal(bmlp_synth_write(&opt, path, BMLP_FORMAT_NPY, NULL, NULL, &err),
                     BMLP_ERR_INVALID_ARGUMENT);
    assert_false(cli_exists(path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gen_help_lists_options),
        cmocka_unit_test(gen_npy_equals_synth_fill),
        cmocka_unit_test(gen_csv_equals_synth_fill),
        cmocka_unit_test(gen_libsvm_equals_synth_fill),
        cmocka_unit_test(gen_teacher_equals_synth_fill),
        cmocka_unit_test(gen_format_option_and_defaults),
        cmocka_unit_test(gen_file_trains_like_synth),
        cmocka_unit_test(gen_usage_errors_exit_2),
        cmocka_unit_test(gen_unwritable_output),
        cmocka_unit_test(gen_replaces_existing_file),
        cmocka_unit_test(synth_write_ignores_process_locale),
        cmocka_unit_test(synth_write_cancelled),
        cmocka_unit_test(synth_write_invalid_arguments),
    };

    return cmocka_run_group_tests(tests, cli_setup, cli_teardown);
}
