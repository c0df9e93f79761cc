/* The bmlp command: exit statuses, messages, and that failures write no output file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CSV_DIR BMLP_TEST_DATA_DIR "/csv"

static char tmpdir[64];
static char output[1 << 16];

/* Runs "bmlp ARGS" with stderr merged into stdout, keeps the output, returns the exit status. */
static int run(const char *args)
{
    char command[1024];
    size_t len = 0, got;
    FILE *p;
    int status;

    snprintf(command, sizeof(command), "'%s' %s 2>&1", BMLP_CLI_PATH, args);
    p = popen(command, "r");
    assert_non_null(p);
    while ((got = fread(output + len, 1, sizeof(output) - 1 - len, p)) > 0)
        len += got;
    output[len] = '\0';
    status = pclose(p);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* Asserts that the last output contains text, printing the output when it does not. */
static void expect_output(const char *text)
{
    if (strstr(output, text) == NULL) {
        fprintf(stderr, "expected '%s' in:\n%s\n", text, output);
        fail();
    }
}

static int exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/bmlp-cli-XXXXXX");
    return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    char command[128];

    (void)state;
    snprintf(command, sizeof(command), "rm -rf '%s'", tmpdir);
    return system(command) == 0 ? 0 : -1;
}

static void example_matches_reference(void **state)
{
    (void)state;
    assert_int_equal(run("example"), 0);
    expect_output("mismatches: 0");
    expect_output("dL/dW(1)[3]");
}

static void help_lists_options_with_units(void **state)
{
    (void)state;
    assert_int_equal(run("--help"), 0);
    expect_output("train");
    assert_int_equal(run("train --help"), 0);
    expect_output("--epochs E");
    expect_output("--lr X");
    expect_output("--batch B");
    expect_output("samples per SGD step");
    assert_int_equal(run("predict --help"), 0);
    expect_output("--model MODEL");
    assert_int_equal(run("eval --help"), 0);
    expect_output("--model MODEL");
    assert_int_equal(run("example --help"), 0);
}

static void usage_errors_exit_2(void **state)
{
    (void)state;
    assert_int_equal(run(""), 2);
    assert_int_equal(run("frobnicate"), 2);
    expect_output("unknown command 'frobnicate'");
    assert_int_equal(run("train --epochs 0"), 2);
    expect_output("--epochs: 0 is out of range");
    assert_int_equal(run("train --lr abc"), 2);
    expect_output("--lr: invalid value 'abc'");
    assert_int_equal(run("train --hidden 4,,4"), 2);
    expect_output("--hidden: invalid list");
    assert_int_equal(run("train --data synth:nope"), 2);
    expect_output("unknown synthetic set");
    assert_int_equal(run("train --bogus"), 2);
    assert_int_equal(run("predict --data x.csv"), 2);
    expect_output("--model is required");
}

static void train_prints_config_epochs_and_accuracy(void **state)
{
    (void)state;
    assert_int_equal(run("train --samples 400 --epochs 3"), 0);
    expect_output("layers: 2-16-1");
    expect_output("isa: ");
    expect_output("threads: ");
    expect_output("     3 ");
    expect_output("val_accuracy: ");
}

/* A bad input file fails with exit 2, names file, line and column, and writes no model. */
static void bad_csv_writes_no_model(void **state)
{
    char args[512], model[128];

    (void)state;
    snprintf(model, sizeof(model), "%s/bad.model", tmpdir);
    snprintf(args, sizeof(args), "train --data %s/bad_label_2.csv --out %s", CSV_DIR, model);
    assert_int_equal(run(args), 2);
    expect_output("bad_label_2.csv:2:3:");
    expect_output("'2'");
    assert_false(exists(model));
    snprintf(args, sizeof(args), "train --data %s/no_such_file.csv --out %s", CSV_DIR, model);
    assert_int_equal(run(args), 2);
    expect_output("no_such_file.csv");
    assert_false(exists(model));
}

/* A failed run leaves an existing model file as it was. */
static void failed_train_keeps_old_model(void **state)
{
    char args[512], model[128], before[1 << 12], after[1 << 12];
    size_t n_before, n_after;
    FILE *f;

    (void)state;
    snprintf(model, sizeof(model), "%s/keep.model", tmpdir);
    snprintf(args, sizeof(args), "train --samples 200 --epochs 1 --quiet --out %s", model);
    assert_int_equal(run(args), 0);
    f = fopen(model, "rb");
    assert_non_null(f);
    n_before = fread(before, 1, sizeof(before), f);
    fclose(f);
    snprintf(args, sizeof(args), "train --data %s/bad_nan.csv --out %s", CSV_DIR, model);
    assert_int_equal(run(args), 2);
    f = fopen(model, "rb");
    assert_non_null(f);
    n_after = fread(after, 1, sizeof(after), f);
    fclose(f);
    assert_int_equal(n_before, n_after);
    assert_memory_equal(before, after, n_before);
}

/* Train, save, predict and evaluate through the command. */
static void train_predict_eval_round_trip(void **state)
{
    char args[512], model[128], preds[128];
    FILE *f;
    int lines = 0, c;

    (void)state;
    snprintf(model, sizeof(model), "%s/rt.model", tmpdir);
    snprintf(preds, sizeof(preds), "%s/preds.csv", tmpdir);
    snprintf(args, sizeof(args), "train --data %s/basic_lf.csv --val-split 0 --quiet --out %s",
             CSV_DIR, model);
    assert_int_equal(run(args), 0);
    expect_output("model: ");
    snprintf(args, sizeof(args), "predict --model %s --data %s/basic_lf.csv --out %s", model,
             CSV_DIR, preds);
    assert_int_equal(run(args), 0);
    f = fopen(preds, "r");
    assert_non_null(f);
    while ((c = fgetc(f)) != EOF)
        lines += c == '\n';
    fclose(f);
    assert_int_equal(lines, 3);
    snprintf(args, sizeof(args), "eval --model %s --data %s/basic_lf.csv", model, CSV_DIR);
    assert_int_equal(run(args), 0);
    expect_output("samples: 3");
    expect_output("accuracy: ");

    /* The model takes 2 features; a 1-feature file is rejected before any output. */
    snprintf(args, sizeof(args), "predict --model %s --data %s/bad_one_column.csv --out %s.2",
             model, CSV_DIR, preds);
    assert_int_equal(run(args), 2);
    snprintf(args, sizeof(args), "%s.2", preds);
    assert_false(exists(args));
}

/* A damaged model file is rejected with exit 2. */
static void damaged_model_rejected(void **state)
{
    char args[512], model[128];
    FILE *f;

    (void)state;
    snprintf(model, sizeof(model), "%s/junk.model", tmpdir);
    f = fopen(model, "wb");
    assert_non_null(f);
    fputs("this is not a model", f);
    fclose(f);
    snprintf(args, sizeof(args), "eval --model %s --data %s/basic_lf.csv", model, CSV_DIR);
    assert_int_equal(run(args), 2);
    expect_output("junk.model");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(example_matches_reference),
        cmocka_unit_test(help_lists_options_with_units),
        cmocka_unit_test(usage_errors_exit_2),
        cmocka_unit_test(train_prints_config_epochs_and_accuracy),
        cmocka_unit_test(bad_csv_writes_no_model),
        cmocka_unit_test(failed_train_keeps_old_model),
        cmocka_unit_test(train_predict_eval_round_trip),
        cmocka_unit_test(damaged_model_rejected),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
