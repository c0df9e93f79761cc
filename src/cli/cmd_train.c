/* bmlp train: fit a network and optionally save it. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char train_help[] =
    "Usage: bmlp train [OPTIONS]\n"
    "\n"
    "Trains a network by mini-batch SGD on binary cross-entropy. Prints the configuration,\n"
    "one line per epoch and the final figures as 'key: value' lines. On a terminal, an\n"
    "epoch that has run for a second shows its progress on standard error, every 65536\n"
    "samples. Without --data it trains on synth:moons (4000 samples).\n"
    "\n"
    "%s"
    "\n"
    "Network and training:\n"
    "  --hidden LIST           hidden layer widths in units, comma-separated, or none\n"
    "                          (default 16; at most 64 layers of 1 to 1048576 units)\n"
    "  --epochs E              passes over the training samples (default 30, at most 10^9)\n"
    "  --batch B               samples per SGD step, 1 to 2^34 (default 32); the last batch\n"
    "                          of an epoch may be smaller\n"
    "  --lr X                  learning rate, per step on the batch-mean gradient, from\n"
    "                          1e-30 to 1e6 (default 0.5)\n"
    "  --seed S                seed of initialization, split and shuffles, 0 to 2^64 - 1\n"
    "                          (default 1)\n"
    "  --val-split F           fraction of samples held out for validation, from 0 to 0.99\n"
    "                          (default 0.2)\n"
    "  --no-standardize        train on raw features instead of (x - mean) / std\n"
    "  --isa NAME              kernels: auto, scalar, avx2 or avx512 (default auto, or the\n"
    "                          BMLP_ISA environment variable)\n"
    "  --threads N             threads per training step, 1 to 256 (default:\n"
    "                          OMP_NUM_THREADS, else every core); every count trains\n"
    "                          bitwise the same model, and batches too small to split run\n"
    "                          on fewer\n"
    "  --exact-threads         run exactly --threads threads even where some idle (for\n"
    "                          scaling experiments)\n"
    "  --out MODEL             save the trained model to this file\n"
    "  --quiet                 print only the final 'key: value' lines\n"
    "  -h, --help              show this help\n";

/* Width of the epoch column of the table: 6, or the digits of the epoch count past 999999. */
static int epoch_width = 6;

enum {
    OPT_HIDDEN = 1,
    OPT_EPOCHS,
    OPT_BATCH,
    OPT_LR,
    OPT_SEED,
    OPT_VAL_SPLIT,
    OPT_NO_STANDARDIZE,
    OPT_ISA,
    OPT_THREADS,
    OPT_EXACT_THREADS,
    OPT_OUT,
    OPT_QUIET
};

static const struct option train_options[] = {
    CLI_DATA_LONG_OPTIONS,
    {"hidden", required_argument, NULL, OPT_HIDDEN},
    {"epochs", required_argument, NULL, OPT_EPOCHS},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"lr", required_argument, NULL, OPT_LR},
    {"seed", required_argument, NULL, OPT_SEED},
    {"val-split", required_argument, NULL, OPT_VAL_SPLIT},
    {"no-standardize", no_argument, NULL, OPT_NO_STANDARDIZE},
    {"isa", required_argument, NULL, OPT_ISA},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"exact-threads", no_argument, NULL, OPT_EXACT_THREADS},
    {"out", required_argument, NULL, OPT_OUT},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Everything bmlp train was asked to do. */
typedef struct train_args {
    cli_data_options_t data;
    size_t hidden[BMLP_MAX_HIDDEN];
    size_t num_hidden;
    bmlp_train_options_t train;
    const char *out;
    int quiet;
} train_args_t;

/* Applies one training option; returns 0, or -1 after printing an error. */
static int train_option(int opt, const char *arg, train_args_t *a)
{
    double v;

    switch (opt) {
    case OPT_HIDDEN:
        return cli_parse_hidden("train", arg, a->hidden, &a->num_hidden);
    case OPT_EPOCHS:
        return cli_parse_size("train", "epochs", arg, 1, 1000000000, &a->train.epochs);
    case OPT_BATCH:
        return cli_parse_size("train", "batch", arg, 1, BMLP_MAX_SAMPLES, &a->train.batch_size);
    case OPT_LR:
        if (cli_parse_double("train", "lr", arg, 1e-30, 1e6, &v) != 0)
            return -1;
        a->train.learning_rate = (float)v;
        return 0;
    case OPT_SEED:
        return cli_parse_u64("train", "seed", arg, &a->train.seed);
    case OPT_VAL_SPLIT:
        if (cli_parse_double("train", "val-split", arg, 0.0, 0.99, &v) != 0)
            return -1;
        a->train.val_split = v;
        return 0;
    case OPT_NO_STANDARDIZE:
        a->train.standardize = 0;
        return 0;
    case OPT_ISA:
        if (bmlp_isa_parse(arg, &a->train.isa) == 0)
            return 0;
        cli_usage_error("train",
                        "--isa: unknown instruction set '%s' (expected auto, scalar, "
                        "avx2 or avx512)",
                        arg);
        return -1;
    case OPT_THREADS:
        return cli_parse_size("train", "threads", arg, 1, BMLP_MAX_THREADS, &a->train.threads);
    case OPT_EXACT_THREADS:
        a->train.exact_threads = 1;
        return 0;
    case OPT_OUT:
        a->out = arg;
        return 0;
    case OPT_QUIET:
        a->quiet = 1;
        return 0;
    default:
        cli_usage_error("train", "invalid option");
        return -1;
    }
}

/* Checks before any training that the model can be saved at the --out path, so that a long run
 * does not end in a failed write. Returns 0, or -1 after printing an error. */
static int check_output(const train_args_t *a)
{
    bmlp_error_t err;

    if (a->out == NULL)
        return 0;
    if (bmlp_same_file(a->out, a->data.source)) {
        cli_usage_error("train", "--out %s would overwrite the training data", a->out);
        return -1;
    }
    if (bmlp_check_output_path(a->out, &err) != BMLP_OK) {
        cli_print_error("train", &err);
        return -1;
    }
    return 0;
}

/* Parses argv into a; returns -1 on error, 1 when help was printed, 0 otherwise. */
static int parse_train_args(int argc, char **argv, train_args_t *a)
{
    int opt;

    memset(a, 0, sizeof(*a));
    cli_data_options_default(&a->data);
    a->data.source = "synth:moons";
    a->hidden[0] = 16;
    a->num_hidden = 1;
    bmlp_train_options_default(&a->train);
    a->train.epochs = 30;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", train_options, NULL)) != -1) {
        int handled;

        if (opt == 'h') {
            printf(train_help, cli_data_help);
            return 1;
        }
        if (opt == '?' || opt == ':')
            return cli_option_error("train", opt, argv), -1;
        handled = cli_data_option("train", opt, optarg, &a->data);
        if (handled < 0)
            return -1;
        if (handled == 0 && train_option(opt, optarg, a) != 0)
            return -1;
    }
    if (optind < argc)
        return cli_usage_error("train", "unexpected argument '%s'", argv[optind]), -1;
    return check_output(a);
}

static void print_layers(const bmlp_net_t *net)
{
    printf("layers: ");
    for (size_t k = 0; k <= bmlp_net_num_layers(net); k++)
        printf(k == 0 ? "%zu" : "-%zu", bmlp_net_width(net, k));
    printf("\n");
}

static void print_config(const train_args_t *a, const bmlp_net_t *net, const bmlp_source_t *src,
                         bmlp_isa_t isa)
{
    size_t n_train, n_val;

    bmlp_train_split_sizes(bmlp_source_num_samples(src), a->train.val_split, &n_train, &n_val);
    printf("data: %s\n", a->data.source);
    printf("samples: %zu\n", bmlp_source_num_samples(src));
    printf("features: %zu\n", bmlp_source_num_features(src));
    print_layers(net);
    printf("parameters: %zu\n", bmlp_net_num_params(net));
    printf("train_samples: %zu\n", n_train);
    printf("val_samples: %zu\n", n_val);
    printf("epochs: %zu\n", a->train.epochs);
    /* A batch larger than the training set trains as one batch of the whole set. */
    size_t batch = a->train.batch_size < n_train ? a->train.batch_size : n_train;

    if (batch < a->train.batch_size)
        printf("batch: %zu (the whole training set; %zu requested)\n", batch, a->train.batch_size);
    else
        printf("batch: %zu\n", batch);
    printf("learning_rate: %g\n", (double)a->train.learning_rate);
    printf("seed: %llu\n", (unsigned long long)a->train.seed);
    printf("standardize: %s\n", a->train.standardize ? "yes" : "no");
    printf("isa: %s\n", bmlp_isa_name(isa));
    if (bmlp_has_openmp()) {
        size_t requested = a->train.threads > 0 ? a->train.threads : bmlp_default_threads();
        size_t threads = bmlp_train_threads(net, batch, a->train.threads, a->train.exact_threads);

        if (threads < requested)
            printf("threads: %zu (of %zu; a batch of %zu samples keeps no more busy)\n", threads,
                   requested, batch);
        else
            printf("threads: %zu\n", threads);
    } else
        printf("threads: 1 (built without OpenMP)\n");
    epoch_width = 6;
    for (size_t e = a->train.epochs; e >= 1000000; e /= 10)
        epoch_width++;
    printf("%*s %11s %10s %10s %10s %12s\n", epoch_width, "epoch", "train_loss", "train_acc",
           "val_loss", "val_acc", "samples/s");
    fflush(stdout);
}

/* Progress within an epoch on standard error, when it is a terminal. The line appears once an
 * epoch has run for a second, updates at most 5 times a second and is erased before the epoch's
 * row. */
static struct {
    double epoch_start; /* seconds, CLOCK_MONOTONIC */
    double last;        /* time of the last update */
    int width;          /* characters of the line shown, 0 when none is */
} progress;

static void show_progress(size_t epoch, size_t done, size_t total, void *user)
{
    double t = cli_now_seconds();
    int width;

    (void)user;
    if (t - progress.epoch_start < 1.0 || (progress.width > 0 && t - progress.last < 0.2))
        return;
    width = fprintf(stderr, "\repoch %zu: %3d%% (%zu of %zu samples)", epoch,
                    (int)(100.0 * (double)done / (double)total), done, total);
    fflush(stderr);
    progress.width = width > 0 ? width : 0;
    progress.last = t;
}

/* Overwrites the progress line with spaces, if one is shown. */
static void erase_progress(void)
{
    if (progress.width > 0) {
        fprintf(stderr, "\r%*s\r", progress.width, "");
        fflush(stderr);
    }
    progress.width = 0;
}

static int print_epoch(const bmlp_epoch_report_t *r, void *user)
{
    (void)user;
    erase_progress();
    if (isnan(r->val_loss))
        printf("%*zu %11.5f %10.4f %10s %10s %12.4g\n", epoch_width, r->epoch, r->train_loss,
               r->train_accuracy, "-", "-", r->samples_per_second);
    else
        printf("%*zu %11.5f %10.4f %10.5f %10.4f %12.4g\n", epoch_width, r->epoch, r->train_loss,
               r->train_accuracy, r->val_loss, r->val_accuracy, r->samples_per_second);
    fflush(stdout);
    progress.epoch_start = cli_now_seconds();
    return 0;
}

static void print_result(const bmlp_train_result_t *r)
{
    printf("train_loss: %.6f\n", r->last.train_loss);
    printf("train_accuracy: %.4f\n", r->last.train_accuracy);
    if (r->n_val > 0) {
        printf("val_loss: %.6f\n", r->last.val_loss);
        printf("val_accuracy: %.4f\n", r->last.val_accuracy);
    }
}

/* Builds the network, trains it and saves it; returns the exit status. */
static int run_training(train_args_t *a, const bmlp_source_t *src)
{
    bmlp_net_t *net = NULL;
    bmlp_train_result_t result;
    bmlp_error_t err;
    bmlp_isa_t isa;
    bmlp_status_t st;

    bmlp_error_clear(&err);
    st = bmlp_isa_resolve(a->train.isa, &isa, &err);
    if (st == BMLP_OK)
        st = bmlp_net_create(bmlp_source_num_features(src), a->hidden, a->num_hidden, &net, &err);
    if (st != BMLP_OK) {
        cli_print_error("train", &err);
        return cli_input_exit_status(st);
    }
    size_t n_train, n_val;

    /* Checked here as well as by the library, so that the error comes before the configuration. */
    bmlp_train_split_sizes(bmlp_source_num_samples(src), a->train.val_split, &n_train, &n_val);
    if (n_train == 0) {
        cli_usage_error("train", "--val-split %g of %zu sample%s leaves none for training",
                        a->train.val_split, bmlp_source_num_samples(src),
                        bmlp_source_num_samples(src) == 1 ? "" : "s");
        bmlp_net_free(net);
        return EXIT_USAGE;
    }
    if (!a->quiet) {
        print_config(a, net, src, isa);
        a->train.on_epoch = print_epoch;
        if (isatty(STDERR_FILENO))
            a->train.on_progress = show_progress;
    }
    progress.epoch_start = cli_now_seconds();
    st = bmlp_train_source(net, src, &a->train, &result, &err);
    erase_progress();
    if (st != BMLP_OK) {
        cli_print_error("train", &err);
        bmlp_net_free(net);
        return cli_exit_status(st);
    }
    print_result(&result);
    /* A run whose report cannot be written fails, and so it writes no model. */
    if (a->out != NULL && cli_stdout_failed("train")) {
        bmlp_net_free(net);
        return EXIT_FAILURE_OTHER;
    }
    if (a->out != NULL && (st = bmlp_model_save(net, a->out, &err)) != BMLP_OK) {
        cli_print_error("train", &err);
        bmlp_net_free(net);
        return cli_exit_status(st);
    }
    if (a->out != NULL)
        printf("model: %s\n", a->out);
    bmlp_net_free(net);
    return EXIT_OK;
}

int cmd_train(int argc, char **argv)
{
    train_args_t args;
    bmlp_dataset_t ds;
    bmlp_source_t *src;
    bmlp_status_t st;
    int rc;

    rc = parse_train_args(argc, argv, &args);
    if (rc != 0)
        return rc > 0 ? EXIT_OK : EXIT_USAGE;
    st = cli_open_source("train", &args.data, &src, &ds);
    if (st != BMLP_OK)
        return cli_input_exit_status(st);
    rc = run_training(&args, src);
    bmlp_source_free(src);
    bmlp_dataset_free(&ds);
    return rc;
}
