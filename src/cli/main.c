/* bmlp: train, apply and evaluate binary-classification MLPs. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
    "Usage: bmlp COMMAND [OPTIONS]\n"
    "\n"
    "Trains multilayer perceptrons with sigmoid units and binary cross-entropy by mini-batch\n"
    "gradient descent.\n"
    "\n"
    "Commands:\n"
    "  train     train a network on a CSV, LIBSVM or NPY file or a synthetic set, optionally\n"
    "            save it\n"
    "  predict   write the class-1 probability of every sample of a file\n"
    "  eval      print the loss and accuracy of a saved model on a labelled file\n"
    "  example   run one SGD step of a 2-2-1 network and compare it with worked values\n"
    "  gen       write a synthetic set to a CSV, LIBSVM or NPY file\n"
    "  bench     measure training throughput against this machine's bound\n"
    "  help      print this list, or with a command, that command's options\n"
    "\n"
    "Run 'bmlp COMMAND --help' (or 'bmlp help COMMAND') for the options of a command, and\n"
    "'bmlp --version' for the version.\n"
    "Exit status: 0 on success, 2 for invalid options or input, 1 for other failures.\n";

/* Turns a successful exit status into a failure when the results printed on standard output
 * could not be written (a full disk, a closed pipe). */
static int check_stdout(const char *cmd, int status)
{
    if (cli_stdout_failed(cmd))
        return status == EXIT_OK ? EXIT_FAILURE_OTHER : status;
    return status;
}

/* Reports a bus error and exits with status 1, using only async-signal-safe calls. On x86-64
 * Linux, SIGBUS comes from reading past the end of a memory-mapped file, and bmlp maps only NPY
 * data files. */
static void report_bus_error(int signo)
{
    static const char message[] =
        "bmlp: bus error, most likely from an NPY data file truncated while it was read\n";

    (void)signo;
    if (write(STDERR_FILENO, message, sizeof(message) - 1) < 0) {
        /* Nothing else can report the error. */
    }
    _exit(EXIT_FAILURE_OTHER);
}

/* Opens /dev/null on each of descriptors 0 to 2 that was closed when bmlp started, so that no
 * file that bmlp opens takes one of them. A temporary output file opened as descriptor 1 would
 * otherwise receive what the command prints. Standard output and standard error get it
 * read-only, so that printing to them still fails and the command reports the failure. */
static void reserve_standard_descriptors(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        /* open returns the lowest free descriptor, which is fd. Where it fails, the command
         * runs on with the descriptor closed. */
        int got = open("/dev/null", O_RDONLY);

        if (got > fd)
            close(got);
    }
}

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
} command_t;

static const command_t commands[] = {
    {"train", cmd_train},     {"predict", cmd_predict}, {"eval", cmd_eval},
    {"example", cmd_example}, {"bench", cmd_bench},     {"gen", cmd_gen},
};

/* Runs the command named argv[0] with its arguments, or reports an unknown name. */
static int run_command(int argc, char **argv)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[0], commands[i].name) == 0)
            return check_stdout(argv[0], commands[i].run(argc, argv));
    }
    fprintf(stderr, "bmlp: unknown command '%s'\nTry 'bmlp --help'.\n", argv[0]);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    /* With SIGXFSZ ignored, a write past the file size limit (ulimit -f) fails with EFBIG. The
     * command then removes its temporary file and reports the error, where the signal would have
     * killed it and left the file. */
    reserve_standard_descriptors();
    signal(SIGXFSZ, SIG_IGN);
    signal(SIGBUS, report_bus_error);
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, stdout);
        return check_stdout(NULL, EXIT_OK);
    }
    /* "bmlp help CMD" runs "bmlp CMD --help". "bmlp help" alone lists the commands. */
    if (strcmp(argv[1], "help") == 0) {
        char help_option[] = "--help";
        char *help_argv[] = {argc > 2 ? argv[2] : NULL, help_option, NULL};

        if (argc > 3) {
            fprintf(stderr, "bmlp help: expected at most one command\nTry 'bmlp --help'.\n");
            return EXIT_USAGE;
        }
        if (argc == 2 || strcmp(argv[2], "help") == 0 || strcmp(argv[2], "--help") == 0 ||
            strcmp(argv[2], "-h") == 0) {
            fputs(usage, stdout);
            return check_stdout(NULL, EXIT_OK);
        }
        return run_command(2, help_argv);
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("bmlp %s\n", BMLP_VERSION_STRING);
        return check_stdout(NULL, EXIT_OK);
    }
    return run_command(argc - 1, argv + 1);
}
