/* libFuzzer target of the CSV loader. Each input is loaded three times: with the defaults,
 * with a header, and with one skipped line and the label in the first column. */
#include <stdint.h>
#include <string.h>

#include "fuzz_dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void load(const char *path, const bmlp_csv_options_t *opt)
{
    bmlp_dataset_t ds;
    bmlp_error_t err;
    bmlp_status_t status = bmlp_csv_load(path, opt, &ds, &err);

    if (status == BMLP_OK)
        fuzz_check_dataset(&ds);
    else
        fuzz_check_failure(&ds, &err, status);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bmlp_csv_options_t opt;
    char path[64];
    int fd = fuzz_input_open(data, size, path, sizeof(path));

    if (fd < 0)
        return 0;
    bmlp_csv_options_default(&opt);
    load(path, &opt);
    opt.header = 1;
    load(path, &opt);
    opt.header = 0;
    opt.skip_lines = 1;
    opt.label_column = 1;
    load(path, &opt);
    close(fd);
    return 0;
}
