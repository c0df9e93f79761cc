/* bmlp bench: training throughput of the standard workloads, or of one shape, against this
 * machine's measured bound. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"

static const char bench_help[] =
    "Usage: bmlp bench [OPTIONS]\n"
    "\n"
    "Trains one epoch at a time on synthetic blobs held in memory and reports, per workload,\n"
    "instruction set and thread count: samples per second, GFLOP/s (2 per multiply-add of\n"
    "the forward product, the product back to the inputs and the weight gradient), the\n"
    "nanoseconds per sample spent in each phase of a step (fill: copying the batch into\n"
    "tiles; forward; backward; reduce: summing the gradients of the batch's chunks;\n"
    "update: the SGD step; wait: the rest of the epoch, such as barriers), and\n"
    "the fraction of this machine's bound: the step's multiply-adds at the multiply-add\n"
    "peak plus its sigmoids at the sigmoid rate that this binary measures on one core,\n"
    "times the thread count. With AVX2 or AVX-512, small networks (at most 64 units and\n"
    "256 parameters) train each chunk in one fused pass, shown as forward, with fill and\n"
    "backward as \"-\".\n"
    "Each figure is the median of --repeats epochs, with their spread (max - min) / median.\n"
    "Every thread count must train bitwise the same weights as the first one. The rates\n"
    "are measured before the first epoch and after each one, and each epoch is set against\n"
    "the higher of the two measurements around it, so that the fraction follows a machine\n"
    "whose speed drifts. The header shows the processor (from /proc/cpuinfo) and the first\n"
    "measurement. Each --json point names the processor too.\n"
    "\n"
    "Options:\n"
    "  --workload NAME      S (2-2-1, 1,048,576 samples), M (32-256-1, 262,144 samples),\n"
    "                       D (64-256-256-1, 131,072 samples) or all (default all), in\n"
    "                       either case\n"
    "  --features D         inputs of a custom shape, 1 to 1048576 (needs --hidden)\n"
    "  --hidden LIST        hidden widths of a custom shape, such as 64,64, or none\n"
    "  --samples N          samples of a custom shape, 1 to 2^30 (default 65536)\n"
    "  --batch B            samples per step, 1 to 2^24 (default 256)\n"
    "  --threads LIST       up to 16 thread counts of 1 to 256, comma-separated (default 1\n"
    "                       and every core); each runs exactly that many threads, even\n"
    "                       where the batch is too small to split (S at batch 256: its\n"
    "                       threads then spend much of each step waiting for each other;\n"
    "                       training would run it on one)\n"
    "  --isa NAME           auto, scalar, avx2 or avx512 (default auto)\n"
    "  --repeats R          epochs measured per point, 1 to 1000 (default 5)\n"
    "  --json               print a JSON array of measurements instead of a table (null\n"
    "                       for a phase that is not timed apart), each with the rates\n"
    "                       measured before its first epoch\n"
    "  -h, --help           show this help\n";

enum {
    OPT_WORKLOAD = 1,
    OPT_FEATURES,
    OPT_HIDDEN,
    OPT_SAMPLES,
    OPT_BATCH,
    OPT_THREADS,
    OPT_ISA,
    OPT_REPEATS,
    OPT_JSON
};

static const struct option bench_options[] = {
    {"workload", required_argument, NULL, OPT_WORKLOAD},
    {"features", required_argument, NULL, OPT_FEATURES},
    {"hidden", required_argument, NULL, OPT_HIDDEN},
    {"samples", required_argument, NULL, OPT_SAMPLES},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"isa", required_argument, NULL, OPT_ISA},
    {"repeats", required_argument, NULL, OPT_REPEATS},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Most thread counts one run compares. */
#define MAX_THREAD_COUNTS 16

/* A network shape and its sample count. */
typedef struct workload {
    char name[16];
    size_t inputs;
    size_t hidden[BMLP_MAX_HIDDEN];
    size_t num_hidden;
    size_t samples;
} workload_t;

/* Everything bmlp bench was asked to do. */
typedef struct bench_args {
    workload_t workloads[3];
    size_t num_workloads;
    size_t batch;
    size_t threads[MAX_THREAD_COUNTS];
    size_t num_threads;
    bmlp_isa_t isa;
    size_t repeats;
    int json;
    char cpu[320]; /* processor description from describe_cpu */
} bench_args_t;

/* One measured point: medians over the repeats. */
typedef struct measurement {
    double samples_per_second;
    double spread;
    double gflops;
    double bound_fraction;
    double phase_per_sample[BMLP_PHASES]; /* seconds per sample */
    bmlp_machine_rates_t rates;           /* measured before the first epoch */
} measurement_t;

static const workload_t standard[3] = {
    {"S", 2, {2}, 1, 1048576},
    {"M", 32, {256}, 1, 262144},
    {"D", 64, {256, 256}, 2, 131072},
};

/* Parses "1,2,4" into args->threads: up to MAX_THREAD_COUNTS counts of 1 to BMLP_MAX_THREADS. */
static int parse_thread_list(const char *text, bench_args_t *a)
{
    const char *p = text;

    a->num_threads = 0;
    for (;;) {
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(p, &end, 10);
        if (end == p || *p == '-' || *p == '+' || errno != 0 || v == 0 || v > BMLP_MAX_THREADS ||
            (*end != ',' && *end != '\0') || a->num_threads == MAX_THREAD_COUNTS) {
            cli_usage_error("bench",
                            "--threads: invalid list '%s' (expected up to %d thread counts from 1 "
                            "to %d separated by commas, such as 1,2)",
                            text, MAX_THREAD_COUNTS, BMLP_MAX_THREADS);
            return -1;
        }
        a->threads[a->num_threads++] = (size_t)v;
        if (*end == '\0')
            return 0;
        p = end + 1;
    }
}

static int select_workload(const char *name, bench_args_t *a)
{
    a->num_workloads = 0;
    for (size_t i = 0; i < 3; i++)
        if (strcasecmp(name, "all") == 0 || strcasecmp(name, standard[i].name) == 0)
            a->workloads[a->num_workloads++] = standard[i];
    if (a->num_workloads == 0) {
        cli_usage_error("bench", "--workload: unknown workload '%s' (expected S, M, D or all)",
                        name);
        return -1;
    }
    return 0;
}

/* Applies one option; returns 0, or -1 after printing an error. */
static int bench_option(int opt, const char *arg, bench_args_t *a, workload_t *custom,
                        int *custom_given)
{
    switch (opt) {
    case OPT_WORKLOAD:
        return select_workload(arg, a);
    case OPT_FEATURES:
        *custom_given = 1;
        return cli_parse_size("bench", "features", arg, 1, BMLP_MAX_FEATURES, &custom->inputs);
    case OPT_HIDDEN:
        *custom_given = 1;
        return cli_parse_hidden("bench", arg, custom->hidden, &custom->num_hidden);
    case OPT_SAMPLES:
        *custom_given = 1;
        return cli_parse_size("bench", "samples", arg, 1, (size_t)1 << 30, &custom->samples);
    case OPT_BATCH:
        return cli_parse_size("bench", "batch", arg, 1, (size_t)1 << 24, &a->batch);
    case OPT_THREADS:
        return parse_thread_list(arg, a);
    case OPT_ISA:
        if (bmlp_isa_parse(arg, &a->isa) == 0)
            return 0;
        cli_usage_error("bench",
                        "--isa: unknown instruction set '%s' (expected auto, scalar, avx2 or "
                        "avx512)",
                        arg);
        return -1;
    case OPT_REPEATS:
        return cli_parse_size("bench", "repeats", arg, 1, 1000, &a->repeats);
    case OPT_JSON:
        a->json = 1;
        return 0;
    default:
        return -1;
    }
}

/* Parses argv; returns -1 on error, 1 when help was printed, 0 otherwise. */
static int parse_bench_args(int argc, char **argv, bench_args_t *a)
{
    workload_t custom = {"custom", 0, {0}, 0, 65536};
    int custom_given = 0;
    int workload_given = 0;
    int hidden_given = 0;
    int opt;

    memset(a, 0, sizeof(*a));
    select_workload("all", a);
    a->batch = 256;
    a->repeats = 5;
    a->threads[0] = 1;
    a->threads[1] = bmlp_default_threads();
    a->num_threads = a->threads[1] > 1 ? 2 : 1;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", bench_options, NULL)) != -1) {
        if (opt == 'h') {
            fputs(bench_help, stdout);
            return 1;
        }
        if (opt == '?' || opt == ':')
            return cli_option_error("bench", opt, argv), -1;
        workload_given |= opt == OPT_WORKLOAD;
        hidden_given |= opt == OPT_HIDDEN;
        if (bench_option(opt, optarg, a, &custom, &custom_given) != 0)
            return -1;
    }
    if (optind < argc)
        return cli_usage_error("bench", "unexpected argument '%s'", argv[optind]), -1;
    if (custom_given) {
        if (workload_given)
            return cli_usage_error("bench", "--workload and a custom shape (--features, --hidden, "
                                            "--samples) exclude each other"),
                   -1;
        if (custom.inputs == 0 || !hidden_given)
            return cli_usage_error("bench", "a custom shape needs --features and --hidden (none "
                                            "for no hidden layer)"),
                   -1;
        /* A shape that the library rejects fails here, before any measurement. */
        bmlp_error_t err;

        if (bmlp_net_check_shape(custom.inputs, custom.hidden, custom.num_hidden, &err) != BMLP_OK)
            return cli_usage_error("bench", "%s", err.message), -1;
        a->workloads[0] = custom;
        a->num_workloads = 1;
    }
    return 0;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Median of n values, which are sorted in place. */
static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(double), compare_doubles);
    return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Collects each epoch's report and the machine's rates measured after it. rates[0] is the
 * measurement before the first epoch. */
typedef struct epoch_log {
    bmlp_epoch_report_t reports[1000];
    bmlp_machine_rates_t rates[1001];
    size_t count;
    bmlp_error_t rates_err; /* why a measurement after an epoch failed, if one did */
} epoch_log_t;

/* Measures the rates of isa on this thread after a pause of 20 ms, in which libgomp's threads
 * of the epoch just trained stop spinning and leave the cores idle. */
static bmlp_status_t measure_rates_idle(bmlp_isa_t isa, bmlp_machine_rates_t *rates,
                                        bmlp_error_t *err)
{
    struct timespec pause = {0, 20000000L};

    nanosleep(&pause, NULL);
    return bmlp_measure_rates(isa, rates, err);
}

static int log_epoch(const bmlp_epoch_report_t *report, void *user)
{
    epoch_log_t *log = user;

    log->reports[log->count] = *report;
    if (measure_rates_idle(log->rates[0].isa, &log->rates[log->count + 1], &log->rates_err) !=
        BMLP_OK)
        return 1; /* stops the training, which then returns BMLP_ERR_CANCELLED */
    log->count++;
    return 0;
}

/* Returns the bound of one core at the higher of each rate in a and b. */
static double bound_between(const bmlp_net_t *net, const bmlp_machine_rates_t *a,
                            const bmlp_machine_rates_t *b)
{
    bmlp_machine_rates_t r = *a;

    r.flops_per_second = fmax(a->flops_per_second, b->flops_per_second);
    r.sigmoids_per_second = fmax(a->sigmoids_per_second, b->sigmoids_per_second);
    return bmlp_step_bound(net, &r);
}

/* Trains net for args->repeats epochs on threads threads and fills m; returns the status. */
static bmlp_status_t measure(const bench_args_t *a, bmlp_net_t *net, const bmlp_dataset_t *ds,
                             size_t threads, measurement_t *m, bmlp_error_t *err)
{
    static epoch_log_t log;
    double rate[1000] = {0.0}, phase[1000] = {0.0}, fraction[1000] = {0.0};
    bmlp_train_options_t opt;
    bmlp_train_result_t result;
    bmlp_step_work_t work = bmlp_step_work(net);
    bmlp_status_t st;

    bmlp_train_options_default(&opt);
    opt.epochs = a->repeats;
    opt.batch_size = a->batch;
    opt.learning_rate = 0.01f;
    opt.val_split = 0.0;
    opt.standardize = 0;
    opt.isa = a->isa;
    opt.threads = threads;
    opt.exact_threads = 1;
    opt.profile = 1;
    opt.on_epoch = log_epoch;
    opt.user = &log;
    log.count = 0;
    bmlp_error_clear(&log.rates_err);
    st = measure_rates_idle(a->isa, &log.rates[0], err);
    if (st == BMLP_OK)
        st = bmlp_train(net, ds, &opt, &result, err);
    if (st != BMLP_OK && log.rates_err.status != BMLP_OK) {
        *err = log.rates_err;
        return log.rates_err.status;
    }
    if (st != BMLP_OK)
        return st;
    if (log.count == 0)
        return BMLP_ERR_CANCELLED;
    for (size_t r = 0; r < log.count; r++) {
        rate[r] = log.reports[r].samples_per_second;
        fraction[r] = rate[r] / (bound_between(net, &log.rates[r], &log.rates[r + 1]) *
                                 (double)result.threads);
    }
    m->bound_fraction = median(fraction, log.count);
    m->rates = log.rates[0];
    m->samples_per_second = median(rate, log.count);
    m->spread = (rate[log.count - 1] - rate[0]) / m->samples_per_second;
    m->gflops = m->samples_per_second * 2.0 * work.multiply_adds * 1e-9;
    for (int p = 0; p < BMLP_PHASES; p++) {
        for (size_t r = 0; r < log.count; r++)
            phase[r] = log.reports[r].phase_seconds[p] / (double)ds->n_samples;
        m->phase_per_sample[p] = median(phase, log.count);
    }
    return BMLP_OK;
}

static void layers_text(const bmlp_net_t *net, char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t k = 0; k <= bmlp_net_num_layers(net) && used < size; k++)
        used += (size_t)snprintf(buf + used, size - used, k == 0 ? "%zu" : "-%zu",
                                 bmlp_net_width(net, k));
}

/* Copies the value after the colon of a "key : value" line of /proc/cpuinfo into dst[size],
 * keeping only printable ASCII other than quotes and backslashes, so that JSON needs no escapes. */
static void copy_cpuinfo_value(char *dst, size_t size, const char *colon)
{
    size_t n = 0;

    for (const char *c = colon + 1; *c != '\0' && n + 1 < size; c++) {
        if (*c >= 0x20 && *c < 0x7f && *c != '"' && *c != '\\' && !(n == 0 && *c == ' '))
            dst[n++] = *c;
    }
    dst[n] = '\0';
}

/* Writes "model name (family F, model M)" of the first processor in /proc/cpuinfo into
 * buf[size], or "unknown" where the file or the name is missing (systems other than Linux). */
static void describe_cpu(char *buf, size_t size)
{
    char line[512], name[256] = "", family[32] = "", model[32] = "";
    FILE *f = fopen("/proc/cpuinfo", "r");

    snprintf(buf, size, "unknown");
    if (f == NULL)
        return;
    /* The first processor's block ends at the first blank line. */
    while (fgets(line, sizeof(line), f) != NULL && line[0] != '\n') {
        char *colon = strchr(line, ':');

        if (colon == NULL)
            continue;
        /* "model name" also starts with "model ", so it is tested before "model". */
        if (strncmp(line, "model name", 10) == 0)
            copy_cpuinfo_value(name, sizeof(name), colon);
        else if (strncmp(line, "cpu family", 10) == 0)
            copy_cpuinfo_value(family, sizeof(family), colon);
        else if (strncmp(line, "model", 5) == 0 && (line[5] == ' ' || line[5] == '\t'))
            copy_cpuinfo_value(model, sizeof(model), colon);
    }
    fclose(f);
    if (name[0] != '\0' && family[0] != '\0' && model[0] != '\0')
        snprintf(buf, size, "%s (family %s, model %s)", name, family, model);
    else if (name[0] != '\0')
        snprintf(buf, size, "%s", name);
}

static void print_point(const bench_args_t *a, const workload_t *w, const char *layers,
                        size_t threads, const measurement_t *m, int *first)
{
    /* A batch larger than the dataset trains as one batch of the whole dataset. */
    size_t batch = a->batch < w->samples ? a->batch : w->samples;

    if (a->json) {
        printf("%s  {\"workload\": \"%s\", \"layers\": \"%s\", \"batch\": %zu, \"threads\": %zu, "
               "\"isa\": \"%s\", \"samples_per_second\": %.6g, \"spread\": %.4f, "
               "\"gflops\": %.6g, \"bound_fraction\": %.4f, \"peak_gflops\": %.4g, "
               "\"sigmoids_per_ns\": %.4g, \"cpu\": \"%s\"",
               *first ? "" : ",\n", w->name, layers, batch, threads, bmlp_isa_name(a->isa),
               m->samples_per_second, m->spread, m->gflops, m->bound_fraction,
               m->rates.flops_per_second * 1e-9, m->rates.sigmoids_per_second * 1e-9, a->cpu);
        /* null marks a phase that was not timed apart, as "-" does in the table. */
        for (int p = 0; p < BMLP_PHASES; p++) {
            if (m->phase_per_sample[p] > 0.0)
                printf(", \"%s_ns_per_sample\": %.4g", bmlp_phase_name((bmlp_phase_t)p),
                       m->phase_per_sample[p] * 1e9);
            else
                printf(", \"%s_ns_per_sample\": null", bmlp_phase_name((bmlp_phase_t)p));
        }
        printf("}");
        *first = 0;
        return;
    }
    printf("%-8s %-16s %6zu %7zu %-7s %12.4g %7.3f %9.2f %7.3f", w->name, layers, batch, threads,
           bmlp_isa_name(a->isa), m->samples_per_second, m->spread, m->gflops, m->bound_fraction);
    /* Networks that train through the fused small-network kernels book the whole step as the
     * forward phase, so their other phases show as "-" rather than as a measured zero. */
    for (int p = 0; p < BMLP_PHASES; p++) {
        if (m->phase_per_sample[p] > 0.0)
            printf(" %9.3g", m->phase_per_sample[p] * 1e9);
        else
            printf(" %9s", "-");
    }
    printf("\n");
}

/* Runs every thread count of one workload; returns the exit status. */
static int bench_workload(const bench_args_t *a, const workload_t *w, int *first)
{
    bmlp_synth_options_t synth = {BMLP_SYNTH_BLOBS, w->samples, w->inputs, 2.0, 1, 0, 0.0};
    float *reference = NULL;
    bmlp_dataset_t ds;
    bmlp_error_t err;
    char layers[256];
    int rc = EXIT_OK;

    bmlp_error_clear(&err);
    if (bmlp_synth_generate(&synth, &ds, &err) != BMLP_OK) {
        cli_print_error("bench", &err);
        return cli_exit_status(err.status);
    }
    for (size_t i = 0; i < a->num_threads && rc == EXIT_OK; i++) {
        bmlp_net_t *net;
        measurement_t m;
        bmlp_status_t st = bmlp_net_create(w->inputs, w->hidden, w->num_hidden, &net, &err);

        if (st == BMLP_OK)
            st = measure(a, net, &ds, a->threads[i], &m, &err);
        if (st != BMLP_OK) {
            cli_print_error("bench", &err);
            rc = cli_exit_status(st);
        } else if (i == 0) {
            reference = malloc(bmlp_net_num_params(net) * sizeof(float));
            if (reference != NULL)
                memcpy(reference, bmlp_net_params(net), bmlp_net_num_params(net) * sizeof(float));
        } else if (reference != NULL && memcmp(reference, bmlp_net_params(net),
                                               bmlp_net_num_params(net) * sizeof(float)) != 0) {
            fprintf(stderr, "bmlp bench: %s on %zu threads trained different weights than on %zu\n",
                    w->name, a->threads[i], a->threads[0]);
            rc = EXIT_FAILURE_OTHER;
        }
        if (st == BMLP_OK) {
            layers_text(net, layers, sizeof(layers));
            print_point(a, w, layers, a->threads[i], &m, first);
            fflush(stdout);
        }
        bmlp_net_free(net);
    }
    free(reference);
    bmlp_dataset_free(&ds);
    return rc;
}

int cmd_bench(int argc, char **argv)
{
    bench_args_t args;
    bmlp_machine_rates_t rates;
    bmlp_error_t err;
    int first = 1;
    int rc = parse_bench_args(argc, argv, &args);

    if (rc != 0)
        return rc > 0 ? EXIT_OK : EXIT_USAGE;
    bmlp_error_clear(&err);
    if (bmlp_measure_rates(args.isa, &rates, &err) != BMLP_OK) {
        cli_print_error("bench", &err);
        return cli_exit_status(err.status);
    }
    args.isa = rates.isa;
    describe_cpu(args.cpu, sizeof(args.cpu));
    if (args.json) {
        printf("[\n");
    } else {
        printf("cpu: %s\npeak_gflops: %.4g\nsigmoids_per_ns: %.4g\n", args.cpu,
               rates.flops_per_second * 1e-9, rates.sigmoids_per_second * 1e-9);
        printf("%-8s %-16s %6s %7s %-7s %12s %7s %9s %7s", "workload", "layers", "batch", "threads",
               "isa", "samples/s", "spread", "GFLOP/s", "bound");
        for (int p = 0; p < BMLP_PHASES; p++)
            printf(" %9s", bmlp_phase_name((bmlp_phase_t)p));
        printf("   (phases in ns per sample)\n");
    }
    for (size_t w = 0; w < args.num_workloads && rc == EXIT_OK; w++)
        rc = bench_workload(&args, &args.workloads[w], &first);
    if (args.json)
        printf("\n]\n");
    return rc;
}
