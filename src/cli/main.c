/* bmlp: train, apply and evaluate binary-classification MLPs. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "Usage: bmlp COMMAND [OPTIONS]\n"
    "\n"
    "Trains multilayer perceptrons with sigmoid units and binary cross-entropy by mini-batch\n"
    "gradient descent.\n"
    "\n"
    "Commands:\n"
    "  train     train a network on a CSV file or a synthetic set, optionally save it\n"
    "  predict   write the class-1 probability of every sample of a file\n"
    "  eval      print the loss and accuracy of a saved model on a labelled file\n"
    "  example   run one SGD step of a 2-2-1 network and compare it with worked values\n"
    "\n"
    "Run 'bmlp COMMAND --help' for the options of a command.\n"
    "Exit status: 0 on success, 2 for invalid options or input, 1 for other failures.\n";

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
} command_t;

static const command_t commands[] = {
    {"train", cmd_train},
    {"predict", cmd_predict},
    {"eval", cmd_eval},
    {"example", cmd_example},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("bmlp %s\n", BMLP_VERSION_STRING);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "bmlp: unknown command '%s'\nTry 'bmlp --help'.\n", argv[1]);
    return EXIT_USAGE;
}
