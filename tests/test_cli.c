/* The bmlp command: exit statuses, messages, and that failures write no output file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_run.h"

#define CSV_DIR BMLP_TEST_DATA_DIR "/csv"

static void example_matches_reference(void **state)
{
    (void)state;
    assert_int_equal(cli_run("example"), 0);
    cli_expect_output("mismatches: 0");
    cli_expect_output("dL/dW(1)[3]");
}

static void help_lists_options_with_units(void **state)
{
    (void)state;
    assert_int_equal(cli_run("--help"), 0);
    cli_expect_output("train");
    assert_int_equal(cli_run("train --help"), 0);
    cli_expect_output("--epochs E");
    cli_expect_output("--lr X");
    cli_expect_output("--batch B");
    cli_expect_output("samples per SGD step");
    assert_int_equal(cli_run("predict --help"), 0);
    cli_expect_output("--model MODEL");
    assert_int_equal(cli_run("eval --help"), 0);
    cli_expect_output("--model MODEL");
    assert_int_equal(cli_run("example --help"), 0);
    assert_int_equal(cli_run("help"), 0);
    cli_expect_output("train");
    assert_int_equal(cli_run("help gen"), 0);
    cli_expect_output("Usage: bmlp gen NAME");
    assert_int_equal(cli_run("help help"), 0);
    cli_expect_output("print this list");
}

static void usage_errors_exit_2(void **state)
{
    (void)state;
    assert_int_equal(cli_run(""), 2);
    assert_int_equal(cli_run("frobnicate"), 2);
    cli_expect_output("unknown command 'frobnicate'");
    assert_int_equal(cli_run("train --epochs 0"), 2);
    cli_expect_output("--epochs: 0 is out of range");
    assert_int_equal(cli_run("train --lr abc"), 2);
    cli_expect_output("--lr: invalid value 'abc'");
    assert_int_equal(cli_run("train --lr 0x1p-3"), 2);
    cli_expect_output("--lr: invalid value '0x1p-3' (expected a finite decimal number)");
    assert_int_equal(cli_run("train --hidden 4,,4"), 2);
    cli_expect_output("--hidden: invalid list");
    /* An empty value, such as an unset shell variable, is not a list. "none" means no layer. */
    assert_int_equal(cli_run("train --hidden ''"), 2);
    cli_expect_output("--hidden: missing list");
    assert_int_equal(cli_run("bench --hidden ''"), 2);
    cli_expect_output("--hidden: missing list");
    assert_int_equal(cli_run("train --hidden ' 4'"), 2);
    cli_expect_output("--hidden: invalid list ' 4'");
    assert_int_equal(cli_run("train --hidden '4, 4'"), 2);
    cli_expect_output("--hidden: invalid list '4, 4'");
    assert_int_equal(cli_run("train --data synth:nope"), 2);
    cli_expect_output("unknown synthetic set");
    assert_int_equal(cli_run("train --data ''"), 2);
    cli_expect_output("--data: missing path (the value is empty)");
    /* A shape that the library rejects fails before bench measures anything. */
    assert_int_equal(cli_run("bench --features 1048576 --hidden 1048576"), 2);
    cli_expect_output("parameters; at most 1073741824 are supported");
    assert_null(strstr(cli_output, "peak_gflops"));
    assert_int_equal(cli_run("train --bogus"), 2);
    assert_int_equal(cli_run("predict --data x.csv"), 2);
    cli_expect_output("--model is required");
    assert_int_equal(cli_run("train --epochs 99999999999999999999"), 2);
    cli_expect_output("--epochs: 99999999999999999999 is out of range (1 to");
    assert_int_equal(cli_run("train --seed 18446744073709551616"), 2);
    cli_expect_output("--seed: 18446744073709551616 is out of range (0 to 18446744073709551615)");
    assert_int_equal(cli_run("help nope"), 2);
    cli_expect_output("unknown command 'nope'");
    assert_int_equal(cli_run("help train gen"), 2);
    cli_expect_output("expected at most one command");
    assert_int_equal(cli_run("train --noise 1e400"), 2);
    cli_expect_output("--noise: 1e400 is out of range (0 to");
    assert_int_equal(cli_run("train --samples 3 --val-split 0.9"), 2);
    cli_expect_output("--val-split 0.9 of 3 samples leaves none for training");
}

static void train_prints_config_epochs_and_accuracy(void **state)
{
    (void)state;
    assert_int_equal(cli_run("train --samples 400 --epochs 3"), 0);
    cli_expect_output("layers: 2-16-1");
    cli_expect_output("isa: ");
    cli_expect_output("threads: ");
    cli_expect_output("     3 ");
    cli_expect_output("val_accuracy: ");
    /* 32 training samples: the batch that runs is the whole set, on one thread. */
    assert_int_equal(cli_run("train --samples 40 --batch 100000 --threads 4 --epochs 1"), 0);
    cli_expect_output("batch: 32 (the whole training set; 100000 requested)");
    /* A build without OpenMP prints that instead. */
    assert_true(strstr(cli_output, "threads: 1 (of 4; a batch of 32 samples keeps no more busy)") !=
                    NULL ||
                strstr(cli_output, "threads: 1 (built without OpenMP)") != NULL);
}

/* A bad input file fails with exit 2, names file, line and column, and writes no model. */
static void bad_csv_writes_no_model(void **state)
{
    char args[512], model[128];

    (void)state;
    snprintf(model, sizeof(model), "%s/bad.model", cli_tmpdir);
    snprintf(args, sizeof(args), "train --data %s/bad_label_2.csv --out %s", CSV_DIR, model);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("bad_label_2.csv:2:3:");
    cli_expect_output("'2'");
    assert_false(cli_exists(model));
    snprintf(args, sizeof(args), "train --data %s/no_such_file.csv --out %s", CSV_DIR, model);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("no_such_file.csv");
    assert_false(cli_exists(model));
}

/* A failed run leaves an existing model file as it was. */
static void failed_train_keeps_old_model(void **state)
{
    char args[512], model[128], before[1 << 12], after[1 << 12];
    size_t n_before, n_after;
    FILE *f;

    (void)state;
    snprintf(model, sizeof(model), "%s/keep.model", cli_tmpdir);
    snprintf(args, sizeof(args), "train --samples 200 --epochs 1 --quiet --out %s", model);
    assert_int_equal(cli_run(args), 0);
    f = fopen(model, "rb");
    assert_non_null(f);
    n_before = fread(before, 1, sizeof(before), f);
    fclose(f);
    snprintf(args, sizeof(args), "train --data %s/bad_nan.csv --out %s", CSV_DIR, model);
    assert_int_equal(cli_run(args), 2);
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
    snprintf(model, sizeof(model), "%s/rt.model", cli_tmpdir);
    snprintf(preds, sizeof(preds), "%s/preds.csv", cli_tmpdir);
    snprintf(args, sizeof(args), "train --data %s/basic_lf.csv --val-split 0 --quiet --out %s",
             CSV_DIR, model);
    assert_int_equal(cli_run(args), 0);
    cli_expect_output("model: ");
    snprintf(args, sizeof(args), "predict --model %s --data %s/basic_lf.csv --out %s", model,
             CSV_DIR, preds);
    assert_int_equal(cli_run(args), 0);
    f = fopen(preds, "r");
    assert_non_null(f);
    while ((c = fgetc(f)) != EOF)
        lines += c == '\n';
    fclose(f);
    assert_int_equal(lines, 3);
    snprintf(args, sizeof(args), "eval --model %s --data %s/basic_lf.csv", model, CSV_DIR);
    assert_int_equal(cli_run(args), 0);
    cli_expect_output("samples: 3");
    cli_expect_output("accuracy: ");

    /* The model takes 2 features; a 1-feature file is rejected before any output. */
    snprintf(args, sizeof(args), "predict --model %s --data %s/bad_one_column.csv --out %s.2",
             model, CSV_DIR, preds);
    assert_int_equal(cli_run(args), 2);
    snprintf(args, sizeof(args), "%s.2", preds);
    assert_false(cli_exists(args));
}

/* Writes text to path. */
static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Reads a whole small file into buf; returns its size. */
static size_t read_file(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, size, f);
    fclose(f);
    return n;
}

/* predict --no-label reads a CSV file of features only and gives the same predictions as for
 * the same rows with labels. Without the option, the error suggests it. */
static void predict_without_labels(void **state)
{
    char args[512], model[128], features[128], with[128], without[128];
    char a[1024], b[1024];
    size_t na, nb;

    (void)state;
    snprintf(model, sizeof(model), "%s/nolabel.model", cli_tmpdir);
    snprintf(features, sizeof(features), "%s/features.csv", cli_tmpdir);
    snprintf(with, sizeof(with), "%s/with.txt", cli_tmpdir);
    snprintf(without, sizeof(without), "%s/without.txt", cli_tmpdir);
    write_text(features, "0.5,-1.25\n2,3e2\n-0.0,1e-3\n");
    snprintf(args, sizeof(args), "train --data %s/basic_lf.csv --val-split 0 --quiet --out %s",
             CSV_DIR, model);
    assert_int_equal(cli_run(args), 0);
    snprintf(args, sizeof(args), "predict --model %s --data %s/basic_lf.csv --out %s", model,
             CSV_DIR, with);
    assert_int_equal(cli_run(args), 0);
    snprintf(args, sizeof(args), "predict --model %s --data %s --no-label --out %s", model,
             features, without);
    assert_int_equal(cli_run(args), 0);
    na = read_file(with, a, sizeof(a));
    nb = read_file(without, b, sizeof(b));
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);

    snprintf(args, sizeof(args), "predict --model %s --data %s", model, features);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("if the file has no label column, add --no-label");
    snprintf(args, sizeof(args), "predict --model %s --data %s/basic_lf.csv --no-label", model,
             CSV_DIR);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("with --no-label, the label column counts as a feature");
    snprintf(args, sizeof(args), "eval --model %s --data %s --no-label", model, features);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("--no-label is an option of predict only");
    snprintf(args, sizeof(args), "eval --model %s --data %s --out x.txt", model, features);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("--out is an option of predict only");
    /* One feature of the two, in a file whose last column reads as labels 0 and 1. */
    write_text(features, "0.5,1\n2,0\n");
    snprintf(args, sizeof(args), "predict --model %s --data %s", model, features);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("has 1 feature but the model");
    cli_expect_output("(if the file has no label column, add --no-label)");
    snprintf(args, sizeof(args), "predict --model %s --data %s/bad_one_column.csv", model, CSV_DIR);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("if the file has no label column, add --no-label");
    snprintf(args, sizeof(args), "predict --model %s --data x.npy --no-label", model);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("--no-label applies to CSV files only");
}

/* A CSV file whose first line names the columns fails without --header, and the error suggests
 * the option, naming the line after any skipped ones. A bad number further down, or after the
 * first field of the first line, gets no such hint. */
static void header_line_hint(void **state)
{
    char args[512], data[128];

    (void)state;
    snprintf(data, sizeof(data), "%s/named.csv", cli_tmpdir);
    write_text(data, "x,y,label\n0.5,1,0\n2,3,1\n-1,0.5,0\n");
    snprintf(args, sizeof(args), "train --data %s --epochs 1 --quiet", data);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("if line 1 names the columns, add --header");
    snprintf(args, sizeof(args), "train --data %s --header --epochs 1 --quiet", data);
    assert_int_equal(cli_run(args), 0);

    write_text(data, "# made by hand\nx,y,label\n0.5,1,0\n2,3,1\n");
    snprintf(args, sizeof(args), "train --data %s --skip-lines 1 --epochs 1 --quiet", data);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("if line 2 names the columns, add --header");

    write_text(data, "0.5,1,0\n2,3,1\nx,0.5,0\n");
    snprintf(args, sizeof(args), "train --data %s --epochs 1 --quiet", data);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output(":3:1: invalid number");
    assert_null(strstr(cli_output, "--header"));

    /* A header fails on its first field, so a bad value further along the first line is data. */
    write_text(data, "0.5,abc,0\n2,3,1\n");
    assert_int_equal(cli_run(args), 2);
    cli_expect_output(":1:2: invalid number");
    assert_null(strstr(cli_output, "--header"));

    /* A header over a row index starts with an empty name: the hint, then with --header an
     * error that names the index column. */
    write_text(data, ",x,label\n0,0.5,0\n1,2,1\n");
    assert_int_equal(cli_run(args), 2);
    cli_expect_output(":1:1: empty field");
    cli_expect_output("if line 1 names the columns, add --header");
    snprintf(args, sizeof(args), "train --data %s --header --epochs 1 --quiet", data);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output(":1:1: column 1 has no name in the header");
}

/* Features near float's limit overflow the model's standardization (moons' features have stds
 * below 1). One such feature only saturates the sigmoids, and the sample is scored. Two of
 * opposite signs make infinities cancel into NaN: predict and eval then fail with exit status
 * 2, naming the sample and the feature, and predict writes no file. */
static void extreme_features_in_predict_and_eval(void **state)
{
    char args[512], model[128], data[128], preds[128];

    (void)state;
    snprintf(model, sizeof(model), "%s/extreme.model", cli_tmpdir);
    snprintf(data, sizeof(data), "%s/extreme.csv", cli_tmpdir);
    snprintf(preds, sizeof(preds), "%s/extreme_preds.csv", cli_tmpdir);
    snprintf(args, sizeof(args), "train --samples 200 --epochs 1 --quiet --out %s", model);
    assert_int_equal(cli_run(args), 0);

    write_text(data, "1,1,1\n0.5,3.4e38,0\n");
    snprintf(args, sizeof(args), "predict --model %s --data %s", model, data);
    assert_int_equal(cli_run(args), 0);

    write_text(data, "1,1,1\n3.4e38,-3.4e38,0\n");
    snprintf(args, sizeof(args), "predict --model %s --data %s --out %s", model, data, preds);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("sample 2 gives NaN: feature 1, value 3.4e+38, overflows float");
    assert_false(cli_exists(preds));
    snprintf(args, sizeof(args), "eval --model %s --data %s", model, data);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("sample 2 gives NaN: feature 1, value 3.4e+38, overflows float");
}

/* A training run stopped by SIGINT or SIGTERM in the middle leaves the previous model file as
 * it was and no temporary file. */
static void interrupted_train_keeps_old_model(void **state)
{
    const int signals[] = {SIGINT, SIGTERM};
    char args[512], model[128], before[1 << 12], after[1 << 12];
    size_t n_before;

    (void)state;
    snprintf(model, sizeof(model), "%s/signal.model", cli_tmpdir);
    snprintf(args, sizeof(args), "train --samples 200 --epochs 1 --quiet --out %s", model);
    assert_int_equal(cli_run(args), 0);
    n_before = read_file(model, before, sizeof(before));
    for (size_t i = 0; i < 2; i++) {
        int status;
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
            /* A run of many seconds, long enough to be stopped during training. */
            execl(BMLP_CLI_PATH, "bmlp", "train", "--samples", "200000", "--epochs", "1000",
                  "--quiet", "--out", model, (char *)NULL);
            _exit(127);
        }
        nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 300 * 1000 * 1000}, NULL);
        assert_int_equal(kill(pid, signals[i]), 0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0));
        assert_int_equal(read_file(model, after, sizeof(after)), n_before);
        assert_memory_equal(before, after, n_before);
        assert_int_equal(cli_count_temp_files(), 0);
    }
}

/* predict stopped by SIGTERM while it writes its output removes the temporary file and ends by
 * that signal, leaving no output file. The test waits for the temporary file to appear, so the
 * signal lands during the write, which takes about a second for these 5 million samples. */
static void interrupted_predict_leaves_no_file(void **state)
{
    char args[512], model[128], out[128];
    int status, seen = 0;
    pid_t pid;

    (void)state;
    snprintf(model, sizeof(model), "%s/stop.model", cli_tmpdir);
    snprintf(out, sizeof(out), "%s/stop.csv", cli_tmpdir);
    snprintf(args, sizeof(args), "train --samples 200 --epochs 1 --quiet --out %s", model);
    assert_int_equal(cli_run(args), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(BMLP_CLI_PATH, "bmlp", "predict", "--model", model, "--data", "synth:moons",
              "--samples", "5000000", "--out", out, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 3000 && !seen; i++) {
        seen = cli_count_temp_files() > 0;
        if (!seen)
            nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000}, NULL);
    }
    assert_true(seen);
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGTERM);
    assert_int_equal(cli_count_temp_files(), 0);
    assert_false(cli_exists(out));
}

/* An output whose name leaves no room within 255 bytes for the temporary file's suffix is
 * written through a temporary file of a shorter name, and none is left. */
static void longest_output_name_written(void **state)
{
    char args[1024], name[256], out[512];

    (void)state;
    memset(name, 'p', 251);
    strcpy(name + 251, ".csv");
    snprintf(out, sizeof(out), "%s/%s", cli_tmpdir, name);
    snprintf(args, sizeof(args), "gen moons --samples 10 --out '%s'", out);
    assert_int_equal(cli_run(args), 0);
    assert_true(cli_exists(out));
    assert_int_equal(cli_count_temp_files(), 0);
    unlink(out);
}

/* An output that exists and is not a regular file, or that is an input, is rejected before any
 * work, and nothing is written. */
static void bad_output_paths_rejected(void **state)
{
    char args[512], model[128], link[128];

    (void)state;
    assert_int_equal(cli_run("train --samples 100 --epochs 1 --quiet --out /dev/null"), 2);
    cli_expect_output("not a regular file");
    snprintf(args, sizeof(args), "train --samples 100 --epochs 1 --quiet --out %s", cli_tmpdir);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("not a regular file");
    assert_int_equal(cli_run("train --samples 100 --epochs 1 --quiet --out /no/such/dir/m.model"),
                     2);
    cli_expect_output("cannot write to directory /no/such/dir");
    /* /proc accepts no new files, though access() reports it writable for root. The check
     * creates the temporary file before training, so the run fails with status 2 before it
     * trains. */
    assert_int_equal(cli_run("train --samples 100 --epochs 1 --quiet --out /proc/bmlp.model"), 2);
    cli_expect_output("/proc/bmlp.model: cannot");

    snprintf(model, sizeof(model), "%s/out.model", cli_tmpdir);
    snprintf(args, sizeof(args), "train --data %s/basic_lf.csv --val-split 0 --quiet --out %s",
             CSV_DIR, model);
    assert_int_equal(cli_run(args), 0);
    snprintf(args, sizeof(args), "predict --model %s --data %s/basic_lf.csv --out %s", model,
             CSV_DIR, cli_tmpdir);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("not a regular file");
    snprintf(args, sizeof(args), "predict --model %s --data %s/basic_lf.csv --out %s", model,
             CSV_DIR, model);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("would overwrite an input file");
    /* A device or a link that leads nowhere, such as /dev/stdout in a pipeline, gets a hint to
     * leave out --out. */
    snprintf(args, sizeof(args), "predict --model %s --data %s/basic_lf.csv --out /dev/null", model,
             CSV_DIR);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("not a regular file");
    cli_expect_output("to write the predictions to standard output, leave out --out");
    snprintf(link, sizeof(link), "%s/dangling", cli_tmpdir);
    assert_int_equal(symlink("/no/such/dir/target", link), 0);
    snprintf(args, sizeof(args), "predict --model %s --data %s/basic_lf.csv --out %s", model,
             CSV_DIR, link);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("symbolic link that cannot be followed");
    cli_expect_output("leave out --out");
    unlink(link);
    snprintf(args, sizeof(args), "predict --model %s --data %s/basic_lf.csv --out /no/such/dir/p",
             model, CSV_DIR);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("cannot write to directory /no/such/dir");
    assert_int_equal(cli_run("gen moons --samples 10 --out /no/such/dir/x.csv"), 2);
    cli_expect_output("cannot write to directory /no/such/dir");
    assert_int_equal(cli_count_temp_files(), 0);
}

/* Results that cannot be written to standard output make the command fail, and a failed
 * command writes no output file. */
static void full_stdout_fails(void **state)
{
    char args[512], model[128], csv[128];

    (void)state;
    snprintf(model, sizeof(model), "%s/full.model", cli_tmpdir);
    snprintf(csv, sizeof(csv), "%s/full.csv", cli_tmpdir);
    /* The run helper merges stderr into stdout, so only the exit status can be checked. */
    assert_int_equal(cli_run("example >/dev/full"), 1);
    /* With the epoch lines, and with only the final figures. */
    for (int quiet = 0; quiet <= 1; quiet++) {
        snprintf(args, sizeof(args),
                 "train --data synth:moons --samples 100 --epochs 1 %s--out '%s' >/dev/full",
                 quiet ? "--quiet " : "", model);
        assert_int_equal(cli_run(args), 1);
        assert_false(cli_exists(model));
    }
    snprintf(args, sizeof(args), "gen moons --samples 100 --out '%s' >/dev/full", csv);
    assert_int_equal(cli_run(args), 1);
    assert_false(cli_exists(csv));
    assert_int_equal(cli_count_temp_files(), 0);

    /* The message gives the reason of the failed write: stderr goes to the pipe before stdout
     * goes to /dev/full, and the '#' turns the helper's own 2>&1 into a comment. */
    snprintf(args, sizeof(args), "train --samples 100 --epochs 1 --quiet --out '%s'", model);
    assert_int_equal(cli_run(args), 0);
    snprintf(args, sizeof(args), "predict --model '%s' --data %s/basic_lf.csv 2>&1 >/dev/full #",
             model, CSV_DIR);
    assert_int_equal(cli_run(args), 1);
    cli_expect_output("cannot write to standard output: No space left on device");
    unlink(model);

    /* With standard output closed, the output file must not take its descriptor and receive
     * what the command prints. The shell points descriptor 2 at the pipe and then closes 1, and
     * the '#' turns the helper's own 2>&1 into a comment. */
    snprintf(args, sizeof(args), "gen moons --samples 100 --out '%s' 2>&1 1>&- #", csv);
    assert_int_equal(cli_run(args), 1);
    cli_expect_output("cannot write to standard output");
    assert_false(cli_exists(csv));
    assert_int_equal(cli_count_temp_files(), 0);
}

/* A write past the file size limit fails with an error and leaves no file. Unless the command
 * ignores SIGXFSZ, the signal kills it and leaves the temporary file. */
static void file_size_limit_fails_cleanly(void **state)
{
    char command[512], csv[128];
    int status;

    (void)state;
    snprintf(csv, sizeof(csv), "%s/limit.csv", cli_tmpdir);
    snprintf(command, sizeof(command),
             "ulimit -f 64 && exec '%s' gen moons --samples 200000 --out '%s' >/dev/null 2>&1",
             BMLP_CLI_PATH, csv);
    status = system(command);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_false(cli_exists(csv));
    assert_int_equal(cli_count_temp_files(), 0);
}

/* A bus error gives a message and status 1, not a crash. A truncated NPY file that training
 * reads in place raises it, and the test sends SIGBUS to a long run instead. Sanitizer builds
 * leave SIGBUS to the command. */
static void bus_error_reported(void **state)
{
    char command[1024], err[128];
    int status;

    (void)state;
    snprintf(err, sizeof(err), "%s/bus.err", cli_tmpdir);
    snprintf(command, sizeof(command),
             "ASAN_OPTIONS=\"$ASAN_OPTIONS:handle_sigbus=0\" '%s' train --data synth:moons "
             "--samples 100000 --epochs 1000000 --quiet >/dev/null 2>'%s' & "
             "sleep 1; kill -BUS $!; wait $!",
             BMLP_CLI_PATH, err);
    status = system(command);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    snprintf(command, sizeof(command),
             "grep -q 'bus error, most likely from an NPY data file' '%s'", err);
    assert_int_equal(system(command), 0);
}

/* bench --json prints one object per thread count with the documented keys, and the two
 * thread counts trained the same weights (or the command would fail). */
static void bench_json_reports_points(void **state)
{
    const char *keys[] = {"\"workload\"",
                          "\"layers\": \"4-8-1\"",
                          "\"batch\": 64",
                          "\"threads\": 2",
                          "\"isa\"",
                          "\"samples_per_second\"",
                          "\"gflops\"",
                          "\"bound_fraction\"",
                          "\"peak_gflops\"",
                          "\"sigmoids_per_ns\"",
                          "\"cpu\": \"",
                          "\"fill_ns_per_sample\"",
                          "\"reduce_ns_per_sample\"",
                          "\"update_ns_per_sample\""};

    (void)state;
    assert_int_equal(cli_run("bench --features 4 --hidden 8 --samples 2000 --batch 64 "
                             "--repeats 2 --threads 1,2 --json"),
                     0);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        cli_expect_output(keys[i]);
    assert_int_equal(cli_run("bench --workload X"), 2);
    cli_expect_output("unknown workload 'X'");
    assert_int_equal(cli_run("bench --hidden 8"), 2);
    cli_expect_output("needs --features");
}

/* A damaged model file is rejected with exit 2. */
static void damaged_model_rejected(void **state)
{
    char args[512], model[128];
    FILE *f;

    (void)state;
    snprintf(model, sizeof(model), "%s/junk.model", cli_tmpdir);
    f = fopen(model, "wb");
    assert_non_null(f);
    fputs("this is not a model", f);
    fclose(f);
    snprintf(args, sizeof(args), "eval --model %s --data %s/basic_lf.csv", model, CSV_DIR);
    assert_int_equal(cli_run(args), 2);
    cli_expect_output("junk.model");
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
        cmocka_unit_test(predict_without_labels),
        cmocka_unit_test(header_line_hint),
        cmocka_unit_test(extreme_features_in_predict_and_eval),
        cmocka_unit_test(damaged_model_rejected),
        cmocka_unit_test(interrupted_train_keeps_old_model),
        cmocka_unit_test(interrupted_predict_leaves_no_file),
        cmocka_unit_test(longest_output_name_written),
        cmocka_unit_test(bad_output_paths_rejected),
        cmocka_unit_test(full_stdout_fails),
        cmocka_unit_test(file_size_limit_fails_cleanly),
        cmocka_unit_test(bus_error_reported),
        cmocka_unit_test(bench_json_reports_points),
    };

    return cmocka_run_group_tests(tests, cli_setup, cli_teardown);
}
