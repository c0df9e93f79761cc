/* Shared pieces of the bmlp command: option parsing, data loading and error reporting. */
#ifndef BMLP_CLI_H
#define BMLP_CLI_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "bmlp/bmlp.h"
#include "bmlp/source.h"

/* Exit statuses of the command. */
enum {
    EXIT_OK = 0,
    EXIT_FAILURE_OTHER = 1, /* training diverged, a write failed, out of memory */
    EXIT_USAGE = 2          /* bad options, or input data or a model file that is invalid */
};

/* Subcommands; each returns the process exit status. argv[0] is the subcommand name. */
int cmd_train(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_example(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_gen(int argc, char **argv);

/* Parsers of option values. Each prints "bmlp CMD: --OPTION: ..." to stderr and returns -1 when
 * text is not a valid value in [min, max]. */
int cli_parse_size(const char *cmd, const char *option, const char *text, size_t min, size_t max,
                   size_t *out);
int cli_parse_u64(const char *cmd, const char *option, const char *text, uint64_t *out);
int cli_parse_double(const char *cmd, const char *option, const char *text, double min, double max,
                     double *out);

/* Parses a comma-separated list of hidden-layer widths such as "16,16"; "none" (or an empty
 * string) means no hidden layer. */
int cli_parse_hidden(const char *cmd, const char *text, size_t *widths, size_t *count);

/* Where training or evaluation data comes from: a CSV, LIBSVM or NPY file, or a synthetic
 * generator. */
typedef struct cli_data_options {
    const char *source; /* a path, or "synth:NAME" */
    int format;         /* a bmlp_file_format_t from --format, or -1 to go by the extension */
    bmlp_csv_options_t csv;
    bmlp_libsvm_options_t libsvm; /* n_features is set from --features when the file is read */
    bmlp_synth_options_t synth;
    const char *csv_option;     /* the last CSV-only option given, NULL if none */
    int zero_based_given;       /* --zero-based was given */
    int features_given;         /* --features was given; its value is in synth.n_features */
    const char *teacher_option; /* the last synth:teacher-only option given, NULL if none */
    const char *synth_option;   /* the last option for synthetic sets only given, NULL if none */
} cli_data_options_t;

void cli_data_options_default(cli_data_options_t *opt);

/* Recognizes the data options shared by train, predict and eval. Returns 1 when the option was
 * one of them (and it parsed), 0 when it was not, -1 when its value is invalid. */
int cli_data_option(const char *cmd, int opt, const char *arg, cli_data_options_t *data);

/* The getopt_long codes of the shared data options. */
enum {
    CLI_OPT_DATA = 1000,
    CLI_OPT_FORMAT,
    CLI_OPT_SKIP_LINES,
    CLI_OPT_HEADER,
    CLI_OPT_LABEL_COL,
    CLI_OPT_SAMPLES,
    CLI_OPT_FEATURES,
    CLI_OPT_NOISE,
    CLI_OPT_DATA_SEED,
    CLI_OPT_ZERO_BASED,
    CLI_OPT_TEACHER_HIDDEN,
    CLI_OPT_LABEL_NOISE
};

/* The long options of the shared data options, for a getopt_long table. */
#define CLI_DATA_LONG_OPTIONS                                                                      \
    {"data", required_argument, NULL, CLI_OPT_DATA},                                               \
        {"format", required_argument, NULL, CLI_OPT_FORMAT},                                       \
        {"skip-lines", required_argument, NULL, CLI_OPT_SKIP_LINES},                               \
        {"header", no_argument, NULL, CLI_OPT_HEADER},                                             \
        {"label-col", required_argument, NULL, CLI_OPT_LABEL_COL},                                 \
        {"samples", required_argument, NULL, CLI_OPT_SAMPLES},                                     \
        {"features", required_argument, NULL, CLI_OPT_FEATURES},                                   \
        {"noise", required_argument, NULL, CLI_OPT_NOISE},                                         \
        {"data-seed", required_argument, NULL, CLI_OPT_DATA_SEED},                                 \
        {"teacher-hidden", required_argument, NULL, CLI_OPT_TEACHER_HIDDEN},                       \
        {"label-noise", required_argument, NULL, CLI_OPT_LABEL_NOISE},                             \
    {                                                                                              \
        "zero-based", no_argument, NULL, CLI_OPT_ZERO_BASED                                        \
    }

/* Parses "csv", "libsvm" or "npy" into *format. Prints a usage error and returns -1 for any
 * other text. */
int cli_parse_format(const char *cmd, const char *text, bmlp_file_format_t *format);

/* Returns the format that the extension of path implies: npy for ".npy", libsvm for ".svm" and
 * ".libsvm", csv otherwise (all compared without regard to case). */
bmlp_file_format_t cli_format_from_path(const char *path);

/* Returns the format that data's file is read in: --format when given, else by extension. */
bmlp_file_format_t cli_data_format(const cli_data_options_t *data);

/* Returns "csv", "libsvm" or "npy". */
const char *cli_format_name(bmlp_file_format_t format);

/* Loads the data file that data describes, in the format of --format or of its extension,
 * after checking that every format-specific option given applies to that format. Fills err and
 * returns its status on failure. */
bmlp_status_t cli_load_file(const cli_data_options_t *data, bmlp_dataset_t *ds, bmlp_error_t *err);

/* Opens the data file as a training source: an NPY file mapped in place, any other format
 * loaded into ds (which must then outlive *src and be freed by the caller). */
bmlp_status_t cli_open_file_source(const cli_data_options_t *data, bmlp_source_t **src,
                                   bmlp_dataset_t *ds, bmlp_error_t *err);

/* Opens the training data that data describes, printing any error: a synthetic set that is
 * generated while it trains, or a file as cli_open_file_source opens it. */
bmlp_status_t cli_open_source(const char *cmd, const cli_data_options_t *data, bmlp_source_t **src,
                              bmlp_dataset_t *ds);

/* Help text of the shared data options. */
extern const char cli_data_help[];

/* Loads the dataset that data describes. On failure prints the error and returns its status. */
bmlp_status_t cli_load_data(const char *cmd, const cli_data_options_t *data, bmlp_dataset_t *ds);

/* Returns the seconds of CLOCK_MONOTONIC. */
double cli_now_seconds(void);

/* The signal (SIGINT, SIGTERM or SIGHUP) that requested a stop, or 0 before any has arrived. */
extern volatile sig_atomic_t cli_stop_signal;

/* Catches the signals that usually end a long run, so that a command writing a file can cancel
 * the write, remove its temporary file and then end by cli_die_by_stop_signal, instead of being
 * killed with the temporary file left behind. */
void cli_catch_stop_signals(void);

/* Ends the process by the signal in cli_stop_signal, as its default action would have. */
void cli_die_by_stop_signal(void);

/* Flushes standard output and returns 1 if anything printed there could not be written. It then
 * prints "bmlp CMD: cannot write to standard output: REASON" ("bmlp: ..." for a NULL cmd) to
 * stderr, once per process. Returns 0 otherwise. */
int cli_stdout_failed(const char *cmd);

/* Reports, as cli_stdout_failed does, a write to standard output that has just failed with
 * errno errnum, so that the message gives its reason. */
void cli_stdout_write_failed(const char *cmd, int errnum);

/* Prints "bmlp CMD: error text" to stderr. */
void cli_print_error(const char *cmd, const bmlp_error_t *err);

/* The exit status for a failed load of input data or a model: EXIT_USAGE, except for an
 * allocation failure. */
int cli_input_exit_status(bmlp_status_t status);

/* The exit status for any other failed library call: EXIT_USAGE for invalid arguments and
 * input, EXIT_FAILURE_OTHER for the rest (I/O, memory, a diverging run). */
int cli_exit_status(bmlp_status_t status);

/* Reports what getopt_long found wrong with the option just read (opt is '?' for an unknown
 * option, ':' for a missing value) and returns EXIT_USAGE. */
int cli_option_error(const char *cmd, int opt, char **argv);

/* Prints "bmlp CMD: MESSAGE\nTry 'bmlp CMD --help'." to stderr and returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif /* BMLP_CLI_H */
