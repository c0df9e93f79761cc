/* bmlp gen: write a synthetic set to a CSV, LIBSVM or NPY file. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"

static const char gen_help[] =
    "Usage: bmlp gen NAME --samples N --out FILE [OPTIONS]\n"
    "\n"
    "Writes the synthetic set NAME (xor, blobs, moons, circles, spiral or teacher) to FILE,\n"
    "the same samples that 'bmlp train --data synth:NAME' trains on with the same --samples,\n"
    "--features, --noise, --teacher-hidden, --label-noise and seed. The samples are generated\n"
    "in pieces, so memory use does not grow with N. FILE is written under a temporary name\n"
    "and renamed into place once complete. While the write runs for more than a moment, a\n"
    "percentage is shown on standard error when it is a terminal. Prints the samples,\n"
    "features, format and file as 'key: value' lines.\n"
    "\n"
    "  --samples N      samples to write, 1 to 17179869184 (required)\n"
    "  --features D     features of blobs and teacher, 1 to 1048576 (default 2); the\n"
    "                   other sets always have 2\n"
    "  --noise X        standard deviation of the Gaussian noise added to each feature,\n"
    "                   in feature units, 0 to 1e6 (default 0.1)\n"
    "  --teacher-hidden N\n"
    "                   hidden units of the random network that labels teacher, 1 to 4096\n"
    "                   (default 16), with features x N at most 16777216\n"
    "  --label-noise P  probability that a teacher label is flipped, 0 to 0.5 (default 0)\n"
    "  --seed S         seed of the generator; sample i depends only on S and i\n"
    "                   (default 1, as --data-seed of train)\n"
    "  --out FILE       file to write (required)\n"
    "  --format NAME    npy, csv or libsvm (default from the extension: npy for .npy,\n"
    "                   libsvm for .svm or .libsvm, csv for .csv; another extension\n"
    "                   needs --format, and these reject a different one)\n"
    "  -h, --help       show this help\n"
    "\n"
    "Formats: npy is a version 1.0 '<f4' array with the 0/1 label as the last column; csv\n"
    "rows are the features and then the label, with 9 significant digits, which float32\n"
    "values survive exactly; libsvm lines are '+1' or '-1' and 1-based index:value pairs.\n";

enum {
    OPT_SAMPLES = 1,
    OPT_FEATURES,
    OPT_NOISE,
    OPT_SEED,
    OPT_OUT,
    OPT_FORMAT,
    OPT_TEACHER_HIDDEN,
    OPT_LABEL_NOISE
};

static const struct option gen_options[] = {
    {"samples", required_argument, NULL, OPT_SAMPLES},
    {"features", required_argument, NULL, OPT_FEATURES},
    {"noise", required_argument, NULL, OPT_NOISE},
    {"seed", required_argument, NULL, OPT_SEED},
    {"out", required_argument, NULL, OPT_OUT},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"teacher-hidden", required_argument, NULL, OPT_TEACHER_HIDDEN},
    {"label-noise", required_argument, NULL, OPT_LABEL_NOISE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Everything bmlp gen was asked to do. */
typedef struct gen_args {
    bmlp_synth_options_t synth;
    int samples_given;
    int features_given;
    const char *teacher_option; /* the last teacher-only option given, NULL if none */
    const char *out;
    int format; /* a bmlp_file_format_t, or -1 to go by the extension of out */
} gen_args_t;

/* Progress shown on standard error: at most 10 updates per second, the first one after 0.1 s,
 * so short runs print nothing. */
typedef struct progress {
    double start;           /* seconds, CLOCK_MONOTONIC */
    double last;            /* time of the last update, 0 before the first */
    int line_shown;         /* a percentage line is on the terminal */
    int on_terminal;        /* standard error is a terminal, so progress is shown */
    const gen_args_t *args; /* what the summary on standard output reports */
    int stdout_failed;      /* the summary could not be written, which cancelled the write */
} progress_t;

/* Prints the summary of the generated set to standard output, except its last line, which names
 * the file after it is in place. Returns 1 when the summary could not be written. */
static int print_summary(const gen_args_t *a)
{
    printf("samples: %zu\n", a->synth.n_samples);
    printf("features: %zu\n", bmlp_synth_num_features(&a->synth));
    printf("format: %s\n", cli_format_name((bmlp_file_format_t)a->format));
    return cli_stdout_failed("gen");
}

/* Updates the percentage line on standard error, when it is a terminal. */
static void show_line(progress_t *p, uint64_t done, uint64_t total)
{
    double t = cli_now_seconds();

    if (t - (p->line_shown ? p->last : p->start) < 0.1 && done < total)
        return;
    if (!p->line_shown && done == total)
        return;
    fprintf(stderr, "\rbmlp gen: %3d%% (%llu of %llu samples)",
            (int)(100.0 * (double)done / (double)total), (unsigned long long)done,
            (unsigned long long)total);
    if (done == total)
        fputc('\n', stderr);
    fflush(stderr);
    p->line_shown = 1;
    p->last = t;
}

static int show_progress(uint64_t done, uint64_t total, void *user)
{
    progress_t *p = user;

    /* A nonzero return cancels the write, which removes the temporary file. */
    if (cli_stop_signal != 0)
        return 1;
    if (p->on_terminal)
        show_line(p, done, total);
    /* The last call comes before the file is renamed into place. A summary that cannot be
     * written fails the command, and then no file is left. A failed rename after it leaves the
     * summary without its "out:" line. */
    if (done == total && print_summary(p->args)) {
        p->stdout_failed = 1;
        return 1;
    }
    return 0;
}

/* Applies one option. Returns 0, or -1 after printing an error. */
static int gen_option(int opt, const char *arg, gen_args_t *a)
{
    bmlp_file_format_t format;

    switch (opt) {
    case OPT_SAMPLES:
        a->samples_given = 1;
        return cli_parse_size("gen", "samples", arg, 1, BMLP_MAX_SAMPLES, &a->synth.n_samples);
    case OPT_FEATURES:
        a->features_given = 1;
        return cli_parse_size("gen", "features", arg, 1, BMLP_MAX_FEATURES, &a->synth.n_features);
    case OPT_NOISE:
        return cli_parse_double("gen", "noise", arg, 0.0, 1e6, &a->synth.noise);
    case OPT_SEED:
        return cli_parse_u64("gen", "seed", arg, &a->synth.seed);
    case OPT_TEACHER_HIDDEN:
        a->teacher_option = "--teacher-hidden";
        return cli_parse_size("gen", "teacher-hidden", arg, 1, BMLP_MAX_TEACHER_HIDDEN,
                              &a->synth.teacher_hidden);
    case OPT_LABEL_NOISE:
        a->teacher_option = "--label-noise";
        return cli_parse_double("gen", "label-noise", arg, 0.0, 0.5, &a->synth.label_noise);
    case OPT_OUT:
        a->out = arg;
        return 0;
    case OPT_FORMAT:
        if (cli_parse_format("gen", arg, &format) != 0)
            return -1;
        a->format = (int)format;
        return 0;
    default:
        cli_usage_error("gen", "invalid option");
        return -1;
    }
}

/* Checks the set name, the required options and the output format. */
static int check_gen_args(int argc, char **argv, gen_args_t *a)
{
    bmlp_error_t err;

    if (optind >= argc)
        return cli_usage_error("gen", "missing the set NAME (xor, blobs, moons, circles, spiral "
                                      "or teacher)"),
               -1;
    if (optind + 1 < argc)
        return cli_usage_error("gen", "unexpected argument '%s'", argv[optind + 1]), -1;
    if (bmlp_synth_kind_parse(argv[optind], &a->synth.kind) != 0)
        return cli_usage_error("gen",
                               "unknown synthetic set '%s' (expected xor, blobs, moons, "
                               "circles, spiral or teacher)",
                               argv[optind]),
               -1;
    if (a->features_given && a->synth.n_features != 2 && a->synth.kind != BMLP_SYNTH_BLOBS &&
        a->synth.kind != BMLP_SYNTH_TEACHER)
        return cli_usage_error("gen",
                               "--features applies to blobs and teacher only; %s always "
                               "has 2",
                               argv[optind]),
               -1;
    if (a->teacher_option != NULL && a->synth.kind != BMLP_SYNTH_TEACHER)
        return cli_usage_error("gen", "%s applies to teacher only, not to %s", a->teacher_option,
                               argv[optind]),
               -1;
    if (!a->samples_given)
        return cli_usage_error("gen", "--samples is required"), -1;
    if (a->out == NULL)
        return cli_usage_error("gen", "--out is required"), -1;
    if (bmlp_check_output_path(a->out, &err) != BMLP_OK)
        return cli_print_error("gen", &err), -1;
    bmlp_file_format_t implied = cli_format_from_path(a->out);
    size_t n = strlen(a->out);
    /* Set when the extension of out is one that names a format. */
    int known = implied != BMLP_FORMAT_CSV || (n >= 4 && strcasecmp(a->out + n - 4, ".csv") == 0);

    if (a->format < 0 && !known)
        return cli_usage_error("gen",
                               "cannot tell the format of %s from its extension "
                               "(.npy, .csv, .svm or .libsvm); add --format",
                               a->out),
               -1;
    if (a->format >= 0 && known && a->format != (int)implied)
        return cli_usage_error(
                   "gen", "--format %s does not match the extension of %s (%s); change one of them",
                   cli_format_name((bmlp_file_format_t)a->format), a->out,
                   cli_format_name(implied)),
               -1;
    if (a->format < 0)
        a->format = (int)implied;
    return 0;
}

/* Parses argv into a. Returns -1 on error, 1 when help was printed, 0 otherwise. */
static int parse_gen_args(int argc, char **argv, gen_args_t *a)
{
    int opt;

    memset(a, 0, sizeof(*a));
    /* The arguments then set the generator and the sample count, which the command requires. */
    bmlp_synth_options_default(&a->synth);
    a->format = -1;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", gen_options, NULL)) != -1) {
        if (opt == 'h') {
            fputs(gen_help, stdout);
            return 1;
        }
        if (opt == '?' || opt == ':')
            return cli_option_error("gen", opt, argv), -1;
        if (gen_option(opt, optarg, a) != 0)
            return -1;
    }
    return check_gen_args(argc, argv, a);
}

int cmd_gen(int argc, char **argv)
{
    gen_args_t args;
    progress_t progress = {0.0, 0.0, 0, 0, &args, 0};
    bmlp_error_t err;
    bmlp_status_t st;
    int rc = parse_gen_args(argc, argv, &args);

    if (rc != 0)
        return rc > 0 ? EXIT_OK : EXIT_USAGE;
    bmlp_error_clear(&err);
    progress.start = cli_now_seconds();
    progress.on_terminal = isatty(STDERR_FILENO);
    cli_catch_stop_signals();
    st = bmlp_synth_write(&args.synth, args.out, (bmlp_file_format_t)args.format, show_progress,
                          &progress, &err);
    if (cli_stop_signal != 0)
        cli_die_by_stop_signal();
    if (progress.stdout_failed)
        return EXIT_FAILURE_OTHER;
    if (st != BMLP_OK) {
        if (progress.line_shown)
            fputc('\n', stderr);
        cli_print_error("gen", &err);
        return st == BMLP_ERR_INVALID_ARGUMENT ? EXIT_USAGE : EXIT_FAILURE_OTHER;
    }
    printf("out: %s\n", args.out);
    return EXIT_OK;
}
