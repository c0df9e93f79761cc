/* Option parsing, data loading and error reporting shared by the subcommands. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "bmlp %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'bmlp %s --help'.\n", cmd);
    return EXIT_USAGE;
}

double cli_now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

volatile sig_atomic_t cli_stop_signal;

static void record_stop(int signo)
{
    cli_stop_signal = signo;
}

void cli_catch_stop_signals(void)
{
    const int signals[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction action;

    memset(&action, 0, sizeof(action));
    action.sa_handler = record_stop;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
        sigaction(signals[i], &action, NULL);
}

void cli_die_by_stop_signal(void)
{
    signal(cli_stop_signal, SIG_DFL);
    raise(cli_stop_signal);
}

/* Set once a failed write to standard output has been reported. */
static int stdout_failure_reported;

/* Prints why standard output could not be written, once per process. */
static void report_stdout_failure(const char *cmd, const char *reason)
{
    if (!stdout_failure_reported)
        fprintf(stderr, "bmlp%s%s: cannot write to standard output: %s\n", cmd != NULL ? " " : "",
                cmd != NULL ? cmd : "", reason);
    stdout_failure_reported = 1;
}

int cli_stdout_failed(const char *cmd)
{
    int flushed = fflush(stdout) == 0;
    /* errno gives the reason only when this flush failed, not when an earlier write did. */
    const char *reason = flushed ? "an earlier write failed" : strerror(errno);

    if (flushed && !ferror(stdout))
        return 0;
    report_stdout_failure(cmd, reason);
    return 1;
}

void cli_stdout_write_failed(const char *cmd, int errnum)
{
    report_stdout_failure(cmd, strerror(errnum));
}

int cli_option_error(const char *cmd, int opt, char **argv)
{
    const char *text = argv[optind - 1];

    if (opt == ':')
        return cli_usage_error(cmd, "option '%s' requires a value", text);
    return cli_usage_error(cmd, "unknown option '%s'", text);
}

/* Parses text as a decimal integer of 64 bits into *out. Returns 0, or 1 for a number too large
 * for 64 bits, or -1 for text that is not a non-negative integer. */
static int parse_u64(const char *text, uint64_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0')
        return -1;
    if (errno == ERANGE)
        return 1;
    *out = (uint64_t)v;
    return errno == 0 ? 0 : -1;
}

int cli_parse_u64(const char *cmd, const char *option, const char *text, uint64_t *out)
{
    int rc = parse_u64(text, out);

    if (rc > 0)
        cli_usage_error(cmd, "--%s: %s is out of range (0 to %llu)", option, text, ULLONG_MAX);
    else if (rc < 0)
        cli_usage_error(cmd, "--%s: invalid value '%s' (expected a non-negative integer)", option,
                        text);
    return rc != 0 ? -1 : 0;
}

int cli_parse_size(const char *cmd, const char *option, const char *text, size_t min, size_t max,
                   size_t *out)
{
    uint64_t v = 0;
    int rc = parse_u64(text, &v);

    if (rc < 0) {
        cli_usage_error(cmd, "--%s: invalid value '%s' (expected a non-negative integer)", option,
                        text);
        return -1;
    }
    if (rc > 0 || v < min || v > max) {
        cli_usage_error(cmd, "--%s: %s is out of range (%zu to %zu)", option, text, min, max);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

int cli_parse_double(const char *cmd, const char *option, const char *text, double min, double max,
                     double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(text, &end);
    /* Decimal notation only, as in the data files: strtod would also take hexadecimal floats and
     * leading white space. */
    if (text[0] == '\0' || isspace((unsigned char)text[0]) || strpbrk(text, "xX") != NULL ||
        *end != '\0' || (errno != ERANGE && !isfinite(v))) {
        cli_usage_error(cmd, "--%s: invalid value '%s' (expected a finite decimal number)", option,
                        text);
        return -1;
    }
    /* ERANGE with a result below 1 is an underflow to a subnormal or zero, which is kept. Above
     * it, the number overflows a double. */
    if (errno == ERANGE && fabs(v) >= 1.0) {
        cli_usage_error(cmd, "--%s: %s is out of range (%g to %g)", option, text, min, max);
        return -1;
    }
    if (v < min || v > max) {
        cli_usage_error(cmd, "--%s: %s is out of range (%g to %g)", option, text, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_hidden(const char *cmd, const char *text, size_t *widths, size_t *count)
{
    const char *p = text;

    *count = 0;
    if (text[0] == '\0') {
        cli_usage_error(cmd, "--hidden: missing list (the value is empty). For no hidden layer, "
                             "use --hidden none");
        return -1;
    }
    if (strcmp(text, "none") == 0)
        return 0;
    for (;;) {
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(p, &end, 10);
        /* Digits only, as for the other counts: strtoull would also skip leading white space
         * and take a sign. */
        if (*p < '0' || *p > '9' || errno != 0 || v == 0 || v > BMLP_MAX_WIDTH ||
            (*end != ',' && *end != '\0')) {
            cli_usage_error(cmd,
                            "--hidden: invalid list '%s' (expected widths from 1 to %zu "
                            "separated by commas, such as 16,16, or none)",
                            text, BMLP_MAX_WIDTH);
            return -1;
        }
        if (*count == BMLP_MAX_HIDDEN) {
            cli_usage_error(cmd, "--hidden: more than %d hidden layers", BMLP_MAX_HIDDEN);
            return -1;
        }
        widths[(*count)++] = (size_t)v;
        if (*end == '\0')
            return 0;
        p = end + 1;
    }
}

const char cli_data_help[] =
    "Data:\n"
    "  --data PATH|synth:NAME  data file, or a synthetic set: synth:xor, synth:blobs,\n"
    "                          synth:moons, synth:circles, synth:spiral, synth:teacher\n"
    "  --format NAME           file format: csv, libsvm or npy (default: npy for a .npy\n"
    "                          file, libsvm for .svm or .libsvm, csv for any other)\n"
    "\n"
    "CSV files (docs/csv-format.md):\n"
    "  --skip-lines N          lines to skip at the top of the file, 0 or more (default 0)\n"
    "  --header                the first line after the skipped ones names the columns\n"
    "  --label-col K           1-based column of the 0/1 label, 1 to 1048577 (default: the\n"
    "                          last)\n"
    "\n"
    "LIBSVM files (docs/libsvm-format.md):\n"
    "  --zero-based            feature indices start at 0 (default: they start at 1)\n"
    "  --features D            feature count, 1 to 1048576; an index beyond it is an error\n"
    "                          (default: the largest index in the file)\n"
    "\n"
    "NPY files (docs/npy-format.md) take no options: a 2-D '<f4' or '<f8' array whose\n"
    "last column is the 0/1 label.\n"
    "\n"
    "Synthetic sets:\n"
    "  --samples N             synthetic samples to generate, 1 to 2^34 (default 4000)\n"
    "  --features D            features of synth:blobs and synth:teacher, 1 to 1048576\n"
    "                          (default 2; the others have 2)\n"
    "  --noise X               standard deviation of the noise added to each synthetic\n"
    "                          feature, in feature units, 0 to 1e6 (default 0.1)\n"
    "  --data-seed S           seed of the synthetic generator, 0 to 2^64 - 1 (default 1)\n"
    "  --teacher-hidden N      hidden units of the random network that labels synth:teacher,\n"
    "                          1 to 4096 (default 16), with features x N at most 16777216\n"
    "  --label-noise P         probability that a synth:teacher label is flipped, 0 to 0.5\n"
    "                          (default 0)\n";

void cli_data_options_default(cli_data_options_t *opt)
{
    memset(opt, 0, sizeof(*opt));
    opt->format = -1;
    bmlp_csv_options_default(&opt->csv);
    bmlp_libsvm_options_default(&opt->libsvm);
    bmlp_synth_options_default(&opt->synth);
}

int cli_data_option(const char *cmd, int opt, const char *arg, cli_data_options_t *data)
{
    switch (opt) {
    case CLI_OPT_DATA:
        if (arg[0] == '\0') {
            cli_usage_error(cmd, "--data: missing path (the value is empty)");
            return -1;
        }
        data->source = arg;
        return 1;
    case CLI_OPT_FORMAT: {
        bmlp_file_format_t format;

        if (cli_parse_format(cmd, arg, &format) != 0)
            return -1;
        data->format = (int)format;
        return 1;
    }
    case CLI_OPT_SKIP_LINES:
        data->csv_option = "--skip-lines";
        return cli_parse_size(cmd, "skip-lines", arg, 0, SIZE_MAX, &data->csv.skip_lines) ? -1 : 1;
    case CLI_OPT_HEADER:
        data->csv_option = "--header";
        data->csv.header = 1;
        return 1;
    case CLI_OPT_LABEL_COL:
        data->csv_option = "--label-col";
        return cli_parse_size(cmd, "label-col", arg, 1, BMLP_MAX_FEATURES + 1,
                              &data->csv.label_column)
                   ? -1
                   : 1;
    case CLI_OPT_SAMPLES:
        data->synth_option = "--samples";
        return cli_parse_size(cmd, "samples", arg, 1, BMLP_MAX_SAMPLES, &data->synth.n_samples) ? -1
                                                                                                : 1;
    case CLI_OPT_ZERO_BASED:
        data->zero_based_given = 1;
        data->libsvm.zero_based = 1;
        return 1;
    case CLI_OPT_FEATURES:
        data->features_given = 1;
        return cli_parse_size(cmd, "features", arg, 1, BMLP_MAX_FEATURES, &data->synth.n_features)
                   ? -1
                   : 1;
    case CLI_OPT_NOISE:
        data->synth_option = "--noise";
        return cli_parse_double(cmd, "noise", arg, 0.0, 1e6, &data->synth.noise) ? -1 : 1;
    case CLI_OPT_DATA_SEED:
        data->synth_option = "--data-seed";
        return cli_parse_u64(cmd, "data-seed", arg, &data->synth.seed) ? -1 : 1;
    case CLI_OPT_TEACHER_HIDDEN:
        data->teacher_option = "--teacher-hidden";
        if (cli_parse_size(cmd, "teacher-hidden", arg, 1, BMLP_MAX_TEACHER_HIDDEN,
                           &data->synth.teacher_hidden) != 0)
            return -1;
        return 1;
    case CLI_OPT_LABEL_NOISE:
        data->teacher_option = "--label-noise";
        if (cli_parse_double(cmd, "label-noise", arg, 0.0, 0.5, &data->synth.label_noise) != 0)
            return -1;
        return 1;
    default:
        return 0;
    }
}

void cli_print_error(const char *cmd, const bmlp_error_t *err)
{
    char text[1200];

    bmlp_error_format(err, text, sizeof(text));
    fprintf(stderr, "bmlp %s: %s\n", cmd, text);
}

int cli_input_exit_status(bmlp_status_t status)
{
    return status == BMLP_ERR_NO_MEMORY ? EXIT_FAILURE_OTHER : EXIT_USAGE;
}

int cli_exit_status(bmlp_status_t status)
{
    switch (status) {
    case BMLP_ERR_INVALID_ARGUMENT:
    case BMLP_ERR_PARSE:
    case BMLP_ERR_FORMAT:
    case BMLP_ERR_UNSUPPORTED:
        return EXIT_USAGE;
    default:
        return EXIT_FAILURE_OTHER;
    }
}

/* Parses the generator name of "synth:NAME" into synth, printing an error for an unknown one
 * or for a synth:teacher option given with another set. */
static bmlp_status_t parse_synth_source(const char *cmd, const cli_data_options_t *data,
                                        bmlp_synth_options_t *synth)
{
    *synth = data->synth;
    if (bmlp_synth_kind_parse(data->source + 6, &synth->kind) != 0) {
        cli_usage_error(cmd,
                        "--data: unknown synthetic set '%s' (expected synth:xor, "
                        "synth:blobs, synth:moons, synth:circles, synth:spiral or "
                        "synth:teacher)",
                        data->source);
        return BMLP_ERR_INVALID_ARGUMENT;
    }
    if (data->teacher_option != NULL && synth->kind != BMLP_SYNTH_TEACHER) {
        cli_usage_error(cmd, "%s applies to synth:teacher only, not to %s", data->teacher_option,
                        data->source);
        return BMLP_ERR_INVALID_ARGUMENT;
    }
    if (data->features_given && data->synth.n_features != 2 && synth->kind != BMLP_SYNTH_BLOBS &&
        synth->kind != BMLP_SYNTH_TEACHER) {
        cli_usage_error(cmd,
                        "--features applies to LIBSVM files, synth:blobs and synth:teacher only; "
                        "%s always has 2 features",
                        data->source);
        return BMLP_ERR_INVALID_ARGUMENT;
    }
    /* Options for files would be ignored by a generator, so they are rejected. */
    if (data->format >= 0) {
        cli_usage_error(cmd, "--format applies to data files only, not to %s", data->source);
        return BMLP_ERR_INVALID_ARGUMENT;
    }
    if (data->csv_option != NULL || data->zero_based_given) {
        cli_usage_error(cmd, "%s applies to %s files only, not to %s",
                        data->csv_option != NULL ? data->csv_option : "--zero-based",
                        data->csv_option != NULL ? "CSV" : "LIBSVM", data->source);
        return BMLP_ERR_INVALID_ARGUMENT;
    }
    return BMLP_OK;
}

/* Prints the hints that follow a failed load of a CSV file, whose error err has been printed.
 * NOTE: the tests match the loader's messages, so a reworded message drops a hint. */
static void print_load_hints(const char *cmd, const cli_data_options_t *data, bmlp_status_t st,
                             const bmlp_error_t *err)
{
    if (st != BMLP_ERR_PARSE || cli_data_format(data) != BMLP_FORMAT_CSV)
        return;
    /* A header read as data fails on its first field (fields are read from the left), which is
     * a name and not a number, or empty above a row index. */
    int value_is_text = 0;

    if (err->value[0] != '\0') {
        char *end;

        (void)strtod(err->value, &end);
        value_is_text = *end != '\0';
    }
    if (!data->csv.header && err->line == data->csv.skip_lines + 1 && err->column == 1 &&
        ((value_is_text && (strncmp(err->message, "invalid number", 14) == 0 ||
                            strncmp(err->message, "invalid label", 13) == 0)) ||
         strncmp(err->message, "empty field", 11) == 0))
        fprintf(stderr, "bmlp %s: if line %zu names the columns, add --header\n", cmd, err->line);
    /* predict reads the last column of a file of features only as the label, so such a file
     * fails there, or on its field count when it has one column. */
    else if (strcmp(cmd, "predict") == 0 && !data->csv.no_label &&
             (strncmp(err->message, "invalid label", 13) == 0 ||
              strncmp(err->message, "line has only 1 field", 21) == 0))
        fprintf(stderr, "bmlp predict: if the file has no label column, add --no-label\n");
}

bmlp_status_t cli_open_source(const char *cmd, const cli_data_options_t *data, bmlp_source_t **src,
                              bmlp_dataset_t *ds)
{
    bmlp_synth_options_t synth;
    bmlp_error_t err;
    bmlp_status_t st;

    bmlp_error_clear(&err);
    memset(ds, 0, sizeof(*ds));
    if (strncmp(data->source, "synth:", 6) == 0) {
        st = parse_synth_source(cmd, data, &synth);
        if (st != BMLP_OK)
            return st;
        st = bmlp_source_synthetic(&synth, src, &err);
    } else {
        st = cli_open_file_source(data, src, ds, &err);
    }
    if (st != BMLP_OK) {
        cli_print_error(cmd, &err);
        print_load_hints(cmd, data, st, &err);
    }
    return st;
}

bmlp_status_t cli_load_data(const char *cmd, const cli_data_options_t *data, bmlp_dataset_t *ds)
{
    bmlp_error_t err;
    bmlp_status_t st;

    bmlp_error_clear(&err);
    if (strncmp(data->source, "synth:", 6) == 0) {
        bmlp_synth_options_t synth;
        st = parse_synth_source(cmd, data, &synth);
        if (st != BMLP_OK)
            return st;
        st = bmlp_synth_generate(&synth, ds, &err);
    } else {
        st = cli_load_file(data, ds, &err);
    }
    if (st != BMLP_OK) {
        cli_print_error(cmd, &err);
        print_load_hints(cmd, data, st, &err);
    }
    return st;
}
