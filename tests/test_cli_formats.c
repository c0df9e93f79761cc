/* The data formats through the bmlp command: --format, the extension rule, the LIBSVM options,
 * and that a bad LIBSVM or NPY file fails with exit status 2 and writes no model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cli_run.h"

#define LIBSVM_DIR BMLP_TEST_DATA_DIR "/libsvm"
#define NPY_DIR BMLP_TEST_DATA_DIR "/npy"
#define CSV_DIR BMLP_TEST_DATA_DIR "/csv"

static void help_lists_format_options(void **state)
{
    (void)state;
    assert_int_equal(cli_run("train --help"), 0);
    cli_expect_output("--format NAME");
    cli_expect_output("libsvm for .svm or .libsvm");
    cli_expect_output("--zero-based");
    cli_expect_output("feature count, 1 to 1048576; an index beyond it is an error");
    assert_int_equal(cli_run("predict --help"), 0);
    cli_expect_output("--zero-based");
}

/* The extension picks the loader: the three files contain the same samples. */
static void train_by_extension(void **state)
{
    static const char *const files[] = {
        LIBSVM_DIR "/basic.svm",
        NPY_DIR "/good_f4_v1.npy",
        CSV_DIR "/basic_lf.csv",
    };
    char args[512];

    (void)state;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(args, sizeof(args), "train --data %s --epochs 1 --val-split 0", files[i]);
        assert_int_equal(cli_run(args), 0);
        cli_expect_output("samples: 3\nfeatures: 2\n");
    }
}

/* --format overrides the extension, both ways. */
static void format_overrides_extension(void **state)
{
    (void)state;
    assert_int_equal(cli_run("train --data " LIBSVM_DIR "/basic.svm --format csv --quiet"), 2);
    cli_expect_output("basic.svm:1: line has only 1 field");
    assert_int_equal(cli_run("train --data " CSV_DIR "/basic_lf.csv --format npy --quiet"), 2);
    cli_expect_output("not an NPY file");
    assert_int_equal(cli_run("train --data " CSV_DIR "/basic_lf.csv --format libsvm --quiet"), 2);
    cli_expect_output("basic_lf.csv:1:1:");
    assert_int_equal(cli_run("train --data " CSV_DIR "/basic_lf.csv --format xml"), 2);
    cli_expect_output("--format: unknown format 'xml' (expected csv, libsvm or npy)");
}

static void libsvm_options(void **state)
{
    (void)state;
    assert_int_equal(cli_run("train --data " LIBSVM_DIR "/basic_zero_based.svm --epochs 1"), 2);
    cli_expect_output("basic_zero_based.svm:1:2: index 0 in a file read with 1-based indices");
    assert_int_equal(
        cli_run("train --data " LIBSVM_DIR "/basic_zero_based.svm --zero-based --epochs 1"), 0);
    cli_expect_output("features: 2\n");
    assert_int_equal(cli_run("train --data " LIBSVM_DIR "/sparse.svm --features 5 --epochs 1"), 0);
    cli_expect_output("features: 5\n");
    assert_int_equal(cli_run("train --data " LIBSVM_DIR "/sparse.svm --features 2 --epochs 1"), 2);
    cli_expect_output("sparse.svm:1:2: index is beyond the declared feature count 2");
}

/* An option of another format is an error rather than silently ignored. */
static void options_of_other_formats_rejected(void **state)
{
    (void)state;
    assert_int_equal(cli_run("train --data " NPY_DIR "/good_f4_v1.npy --header"), 2);
    cli_expect_output("--header applies to CSV files only");
    cli_expect_output("is read as npy (by its extension)");
    assert_int_equal(cli_run("train --data " LIBSVM_DIR "/basic.svm --skip-lines 1"), 2);
    cli_expect_output("--skip-lines applies to CSV files only");
    assert_int_equal(cli_run("train --data " CSV_DIR "/basic_lf.csv --zero-based"), 2);
    cli_expect_output("--zero-based applies to LIBSVM files only");
    assert_int_equal(cli_run("train --data " NPY_DIR "/good_f4_v1.npy --features 2"), 2);
    cli_expect_output("--features applies to LIBSVM files, synth:blobs and synth:teacher only");
    assert_int_equal(cli_run("train --data " CSV_DIR "/basic_lf.csv --label-noise 0.1"), 2);
    cli_expect_output("--label-noise applies to synth:teacher only");
    assert_int_equal(cli_run("train --data synth:moons --teacher-hidden 4"), 2);
    cli_expect_output("--teacher-hidden applies to synth:teacher only, not to synth:moons");
    assert_int_equal(
        cli_run("train --data " LIBSVM_DIR "/basic.svm --format csv --zero-based --quiet"), 2);
    cli_expect_output("is read as csv (by --format)");
}

/* Options of data files are rejected for a synthetic set, and the generator's options for a
 * file, rather than silently ignored. */
static void options_of_other_sources_rejected(void **state)
{
    (void)state;
    assert_int_equal(cli_run("train --data synth:moons --features 5"), 2);
    cli_expect_output("synth:moons always has 2 features");
    assert_int_equal(
        cli_run("train --data synth:moons --features 2 --samples 50 --epochs 1 --quiet"), 0);
    assert_int_equal(cli_run("train --data synth:moons --format csv"), 2);
    cli_expect_output("--format applies to data files only, not to synth:moons");
    assert_int_equal(cli_run("train --data synth:xor --header"), 2);
    cli_expect_output("--header applies to CSV files only, not to synth:xor");
    assert_int_equal(cli_run("train --data synth:blobs --label-col 2"), 2);
    cli_expect_output("--label-col applies to CSV files only, not to synth:blobs");
    assert_int_equal(cli_run("train --data synth:spiral --zero-based"), 2);
    cli_expect_output("--zero-based applies to LIBSVM files only, not to synth:spiral");
    assert_int_equal(cli_run("train --data " CSV_DIR "/basic_lf.csv --samples 5"), 2);
    cli_expect_output("--samples applies to synthetic sets (synth:NAME) only");
    assert_int_equal(cli_run("train --data " NPY_DIR "/good_f4_v1.npy --noise 3"), 2);
    cli_expect_output("--noise applies to synthetic sets (synth:NAME) only");
    assert_int_equal(cli_run("train --data " LIBSVM_DIR "/basic.svm --data-seed 3"), 2);
    cli_expect_output("--data-seed applies to synthetic sets (synth:NAME) only");
}

/* A bad LIBSVM or NPY file fails with exit status 2, names the position, and writes no model. */
static void bad_files_write_no_model(void **state)
{
    static const char *const cases[][2] = {
        {LIBSVM_DIR "/bad_duplicate.svm", "bad_duplicate.svm:2:3: duplicate index 1"},
        {LIBSVM_DIR "/bad_label_2.svm", "bad_label_2.svm:2:1: invalid label"},
        {LIBSVM_DIR "/bad_empty.svm", "bad_empty.svm: file has no samples"},
        {NPY_DIR "/bad_nan.npy", "bad_nan.npy: row 2, column 1 (byte offset 140)"},
        {NPY_DIR "/bad_truncated.npy", "truncated: expected 164 bytes"},
        {NPY_DIR "/bad_big_endian.npy", "big-endian data is not supported"},
    };
    char args[512], model[128];

    (void)state;
    snprintf(model, sizeof(model), "%s/bad.model", cli_tmpdir);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(args, sizeof(args), "train --data %s --out %s", cases[i][0], model);
        assert_int_equal(cli_run(args), 2);
        cli_expect_output(cases[i][1]);
        assert_false(cli_exists(model));
    }
    assert_int_equal(cli_count_temp_files(), 0);
}

/* A model trained on one format predicts and evaluates on the others. */
static void predict_and_eval_across_formats(void **state)
{
    char args[512], model[128], preds[128];

    (void)state;
    snprintf(model, sizeof(model), "%s/svm.model", cli_tmpdir);
    snprintf(preds, sizeof(preds), "%s/preds.csv", cli_tmpdir);
    snprintf(args, sizeof(args), "train --data %s/basic.svm --val-split 0 --quiet --out %s",
             LIBSVM_DIR, model);
    assert_int_equal(cli_run(args), 0);
    snprintf(args, sizeof(args), "predict --model %s --data %s/good_f8_v1.npy --out %s", model,
             NPY_DIR, preds);
    assert_int_equal(cli_run(args), 0);
    assert_true(cli_exists(preds));
    snprintf(args, sizeof(args), "eval --model %s --data %s/good_f4_v2.npy", model, NPY_DIR);
    assert_int_equal(cli_run(args), 0);
    cli_expect_output("samples: 3");
    snprintf(args, sizeof(args), "eval --model %s --data %s/sparse.svm", model, LIBSVM_DIR);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("has 3 features but the model");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(help_lists_format_options),
        cmocka_unit_test(train_by_extension),
        cmocka_unit_test(format_overrides_extension),
        cmocka_unit_test(libsvm_options),
        cmocka_unit_test(options_of_other_formats_rejected),
        cmocka_unit_test(options_of_other_sources_rejected),
        cmocka_unit_test(bad_files_write_no_model),
        cmocka_unit_test(predict_and_eval_across_formats),
    };

    return cmocka_run_group_tests(tests, cli_setup, cli_teardown);
}
