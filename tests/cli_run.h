/* Runs the bmlp command for the CLI tests of the data formats and of bmlp gen. Include after
 * <cmocka.h>. */
#ifndef BMLP_TEST_CLI_RUN_H
#define BMLP_TEST_CLI_RUN_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* A temporary directory for the outputs of one test program, and the output of the last run. */
static char cli_tmpdir[64];
static char cli_output[1 << 16];

/* Runs "bmlp ARGS" with stderr merged into stdout, keeps the output, returns the exit status. */
static int cli_run(const char *args)
{
    char command[2048];
    size_t len = 0, got;
    FILE *p;
    int status;

    snprintf(command, sizeof(command), "'%s' %s 2>&1", BMLP_CLI_PATH, args);
    p = popen(command, "r");
    assert_non_null(p);
    while ((got = fread(cli_output + len, 1, sizeof(cli_output) - 1 - len, p)) > 0)
        len += got;
    cli_output[len] = '\0';
    status = pclose(p);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* Asserts that the last output contains text, printing the output when it does not. */
static void cli_expect_output(const char *text)
{
    if (strstr(cli_output, text) == NULL) {
        fprintf(stderr, "expected '%s' in:\n%s\n", text, cli_output);
        fail();
    }
}

static int cli_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

/* Returns the number of entries in cli_tmpdir whose name contains ".tmp.", the temporary files
 * of an output being written. */
static int cli_count_temp_files(void)
{
    DIR *dir = opendir(cli_tmpdir);
    struct dirent *entry;
    int n = 0;

    assert_non_null(dir);
    while ((entry = readdir(dir)) != NULL)
        n += strstr(entry->d_name, ".tmp.") != NULL;
    closedir(dir);
    return n;
}

static int cli_setup(void **state)
{
    (void)state;
    snprintf(cli_tmpdir, sizeof(cli_tmpdir), "/tmp/bmlp-cli-XXXXXX");
    return mkdtemp(cli_tmpdir) != NULL ? 0 : -1;
}

static int cli_teardown(void **state)
{
    char command[128];

    (void)state;
    snprintf(command, sizeof(command), "rm -rf '%s'", cli_tmpdir);
    return system(command) == 0 ? 0 : -1;
}

#endif /* BMLP_TEST_CLI_RUN_H */
