/* bmlp predict and bmlp eval: apply a saved model to a dataset. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char predict_help[] =
    "Usage: bmlp predict --model MODEL --data PATH [OPTIONS]\n"
    "\n"
    "Writes one line per sample: the predicted probability of class 1, a comma, and the\n"
    "predicted class (1 when the probability is at least 0.5). The model's standardization\n"
    "is applied to the features first. The data file has the layout used for training: its\n"
    "label column is read and checked but not used. A CSV file without labels needs\n"
    "--no-label.\n"
    "\n"
    "%s"
    "\n"
    "Files without labels:\n"
    "  --no-label              the CSV file has no label column: every field is a feature\n"
    "\n"
    "Output:\n"
    "  --model MODEL           model file written by 'bmlp train --out'\n"
    "  --out FILE              write the predictions to FILE (replaced whole, only on\n"
    "                          success) instead of standard output\n"
    "  -h, --help              show this help\n";

static const char eval_help[] =
    "Usage: bmlp eval --model MODEL --data PATH [OPTIONS]\n"
    "\n"
    "Prints the mean binary cross-entropy and the accuracy (threshold 0.5) of a saved model on\n"
    "a labelled dataset, as 'key: value' lines.\n"
    "\n"
    "%s"
    "\n"
    "Model:\n"
    "  --model MODEL           model file written by 'bmlp train --out'\n"
    "  -h, --help              show this help\n";

enum { OPT_MODEL = 1, OPT_OUT, OPT_NO_LABEL };

static const struct option apply_options[] = {
    CLI_DATA_LONG_OPTIONS,
    {"model", required_argument, NULL, OPT_MODEL},
    {"out", required_argument, NULL, OPT_OUT},
    {"no-label", no_argument, NULL, OPT_NO_LABEL},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Options of predict and eval. */
typedef struct apply_args {
    cli_data_options_t data;
    const char *model;
    const char *out;
} apply_args_t;

/* Returns nonzero when path exists and is, or links to, something other than a regular file or
 * a directory: a device, a pipe (/dev/stdout in a pipeline) or a link that cannot be followed. */
static int names_stream(const char *path)
{
    struct stat st;

    if (lstat(path, &st) != 0)
        return 0;
    return stat(path, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode));
}

/* Parses argv; returns -1 on error, 1 when help was printed, 0 otherwise. */
static int parse_apply_args(const char *cmd, const char *help, int argc, char **argv,
                            apply_args_t *a)
{
    int opt;

    memset(a, 0, sizeof(*a));
    cli_data_options_default(&a->data);
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", apply_options, NULL)) != -1) {
        int handled;

        if (opt == 'h') {
            printf(help, cli_data_help);
            return 1;
        }
        if (opt == '?' || opt == ':')
            return cli_option_error(cmd, opt, argv), -1;
        if ((opt == OPT_OUT || opt == OPT_NO_LABEL) && strcmp(cmd, "predict") != 0)
            return cli_usage_error(cmd, "%s is an option of predict only",
                                   opt == OPT_OUT ? "--out" : "--no-label"),
                   -1;
        handled = cli_data_option(cmd, opt, optarg, &a->data);
        if (handled < 0)
            return -1;
        if (opt == OPT_MODEL)
            a->model = optarg;
        if (opt == OPT_OUT)
            a->out = optarg;
        if (opt == OPT_NO_LABEL) {
            a->data.csv.no_label = 1;
            a->data.csv_option = "--no-label";
        }
    }
    if (a->data.csv.no_label && a->data.csv.label_column != 0)
        return cli_usage_error(cmd, "--no-label and --label-col cannot be used together"), -1;
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]), -1;
    if (a->model == NULL)
        return cli_usage_error(cmd, "--model is required"), -1;
    if (a->data.source == NULL)
        return cli_usage_error(cmd, "--data is required"), -1;
    if (a->out != NULL &&
        (bmlp_same_file(a->out, a->data.source) || bmlp_same_file(a->out, a->model)))
        return cli_usage_error(cmd, "--out %s would overwrite an input file", a->out), -1;
    if (a->out != NULL) {
        bmlp_error_t err;

        if (bmlp_check_output_path(a->out, &err) != BMLP_OK) {
            cli_print_error(cmd, &err);
            if (names_stream(a->out))
                fprintf(stderr,
                        "bmlp %s: --out takes a regular file; to write the predictions to "
                        "standard output, leave out --out\n",
                        cmd);
            return -1;
        }
    }
    return 0;
}

/* Loads the model and the data and checks that they fit together; returns an exit status. */
static int load_model_and_data(const char *cmd, const apply_args_t *a, bmlp_net_t **net,
                               bmlp_dataset_t *ds)
{
    bmlp_error_t err;
    bmlp_status_t st;

    bmlp_error_clear(&err);
    st = bmlp_model_load(a->model, net, &err);
    if (st != BMLP_OK) {
        cli_print_error(cmd, &err);
        return cli_input_exit_status(st);
    }
    st = cli_load_data(cmd, &a->data, ds);
    if (st != BMLP_OK) {
        bmlp_net_free(*net);
        return cli_input_exit_status(st);
    }
    if (ds->n_features != bmlp_net_width(*net, 0)) {
        size_t width = bmlp_net_width(*net, 0);
        const char *hint = "";

        if (cli_data_format(&a->data) == BMLP_FORMAT_LIBSVM)
            hint = " (for a LIBSVM file, --features sets the count)";
        else if (a->data.csv.no_label && ds->n_features == width + 1)
            hint = " (with --no-label, the label column counts as a feature)";
        else if (!a->data.csv.no_label && strcmp(cmd, "predict") == 0 &&
                 cli_data_format(&a->data) == BMLP_FORMAT_CSV && ds->n_features + 1 == width)
            hint = " (if the file has no label column, add --no-label)";
        fprintf(stderr, "bmlp %s: %s has %zu feature%s but the model %s takes %zu%s\n", cmd,
                a->data.source, ds->n_features, ds->n_features == 1 ? "" : "s", a->model, width,
                hint);
        bmlp_dataset_free(ds);
        bmlp_net_free(*net);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* Writes the predictions to f. Returns 0, or -1 when a write fails or a stop signal arrives. */
static int write_predictions(FILE *f, const float *prob, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (fprintf(f, "%.9g,%d\n", (double)prob[i], prob[i] >= 0.5f) < 0)
            return -1;
        if (i % 4096 == 0 && cli_stop_signal != 0)
            return -1;
    }
    return fflush(f) == 0 ? 0 : -1;
}

/* Writes the predictions to path through a temporary file renamed into place; returns the
 * exit status. A stop signal during the write removes the temporary file and ends the process
 * by that signal. */
static int save_predictions(const char *path, const float *prob, size_t n)
{
    bmlp_atomic_file_t out;
    bmlp_error_t err;
    bmlp_status_t st;

    cli_catch_stop_signals();
    st = bmlp_atomic_open(&out, path, &err);
    if (st == BMLP_OK && write_predictions(out.stream, prob, n) != 0) {
        int saved = errno;

        bmlp_atomic_abort(&out);
        if (cli_stop_signal != 0)
            cli_die_by_stop_signal();
        fprintf(stderr, "bmlp predict: cannot write %s: %s\n", path, strerror(saved));
        return EXIT_FAILURE_OTHER;
    }
    if (st == BMLP_OK && cli_stop_signal != 0) {
        bmlp_atomic_abort(&out);
        cli_die_by_stop_signal();
    }
    if (st == BMLP_OK)
        st = bmlp_atomic_commit(&out, &err);
    if (st != BMLP_OK) {
        cli_print_error("predict", &err);
        return cli_exit_status(st);
    }
    return EXIT_OK;
}

/* Prints why sample i (0-based) of ds gives a NaN probability and returns the exit status.
 * When a feature overflows float when standardized by the model, the input is out of the
 * model's range (2). Otherwise the message names the sample's largest feature (1). */
static int report_nan_sample(const char *cmd, const bmlp_net_t *net, const bmlp_dataset_t *ds,
                             const char *source, size_t i)
{
    const float *x = ds->x + i * ds->n_features;
    const float *mean, *std;
    size_t largest = 0;

    if (bmlp_net_standardization(net, &mean, &std)) {
        for (size_t j = 0; j < ds->n_features; j++) {
            if (!isfinite((x[j] - mean[j]) / std[j])) {
                fprintf(stderr,
                        "bmlp %s: %s: sample %zu gives NaN: feature %zu, value %g, overflows "
                        "float when standardized by the model (mean %g, std %g)\n",
                        cmd, source, i + 1, j + 1, (double)x[j], (double)mean[j], (double)std[j]);
                return EXIT_USAGE;
            }
        }
    }
    for (size_t j = 1; j < ds->n_features; j++)
        if (fabsf(x[j]) > fabsf(x[largest]))
            largest = j;
    fprintf(stderr,
            "bmlp %s: %s: the model gives NaN for sample %zu, whose largest feature is %zu (value "
            "%g); such inputs or the model's parameters are beyond float's range\n",
            cmd, source, i + 1, largest + 1, (double)x[largest]);
    return EXIT_FAILURE_OTHER;
}

/* Checks that no probability is NaN and returns the exit status. */
static int check_predictions(const char *cmd, const bmlp_net_t *net, const bmlp_dataset_t *ds,
                             const char *source, const float *prob)
{
    for (size_t i = 0; i < ds->n_samples; i++)
        if (isnan(prob[i]))
            return report_nan_sample(cmd, net, ds, source, i);
    return EXIT_OK;
}

int cmd_predict(int argc, char **argv)
{
    apply_args_t args;
    bmlp_net_t *net;
    bmlp_dataset_t ds;
    bmlp_error_t err;
    float *prob;
    int rc = parse_apply_args("predict", predict_help, argc, argv, &args);

    if (rc != 0)
        return rc > 0 ? EXIT_OK : EXIT_USAGE;
    rc = load_model_and_data("predict", &args, &net, &ds);
    if (rc != EXIT_OK)
        return rc;
    prob = malloc((ds.n_samples + 1) * sizeof(float));
    if (prob == NULL) {
        fprintf(stderr, "bmlp predict: out of memory for %zu predictions\n", ds.n_samples);
        rc = EXIT_FAILURE_OTHER;
    } else if (bmlp_predict(net, ds.x, ds.n_samples, prob, &err) != BMLP_OK) {
        cli_print_error("predict", &err);
        rc = cli_exit_status(err.status);
    } else {
        rc = check_predictions("predict", net, &ds, args.data.source, prob);
    }
    if (rc == EXIT_OK && args.out != NULL) {
        rc = save_predictions(args.out, prob, ds.n_samples);
    } else if (rc == EXIT_OK && write_predictions(stdout, prob, ds.n_samples) != 0) {
        cli_stdout_write_failed("predict", errno);
        rc = EXIT_FAILURE_OTHER;
    }
    free(prob);
    bmlp_dataset_free(&ds);
    bmlp_net_free(net);
    return rc;
}

/* Finds and reports the first sample with a NaN probability behind the NaN loss of eval, and
 * returns the exit status. */
static int nan_loss_cause(const bmlp_net_t *net, const bmlp_dataset_t *ds, const char *source)
{
    bmlp_error_t err;
    float *prob = malloc((ds->n_samples + 1) * sizeof(float));
    int rc = -1; /* stays -1 when the search cannot run */

    if (prob != NULL && bmlp_predict(net, ds->x, ds->n_samples, prob, &err) == BMLP_OK)
        rc = check_predictions("eval", net, ds, source, prob);
    if (rc == -1 || rc == EXIT_OK) {
        fprintf(stderr, "bmlp eval: the loss over %s is NaN\n", source);
        rc = EXIT_FAILURE_OTHER;
    }
    free(prob);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    apply_args_t args;
    bmlp_net_t *net;
    bmlp_dataset_t ds;
    bmlp_error_t err;
    double loss, accuracy;
    int rc = parse_apply_args("eval", eval_help, argc, argv, &args);

    if (rc != 0)
        return rc > 0 ? EXIT_OK : EXIT_USAGE;
    rc = load_model_and_data("eval", &args, &net, &ds);
    if (rc != EXIT_OK)
        return rc;
    if (bmlp_evaluate(net, &ds, &loss, &accuracy, &err) != BMLP_OK) {
        cli_print_error("eval", &err);
        rc = cli_exit_status(err.status);
    } else if (isnan(loss)) {
        rc = nan_loss_cause(net, &ds, args.data.source);
    } else {
        printf("samples: %zu\n", ds.n_samples);
        printf("loss: %.6f\n", loss);
        printf("accuracy: %.4f\n", accuracy);
    }
    bmlp_dataset_free(&ds);
    bmlp_net_free(net);
    return rc;
}
