/* libFuzzer target of the LIBSVM loader. Each input is loaded three times: with the defaults
 * (1-based, inferred feature count), 0-based, and with 3 declared features. */
#include <stdint.h>
#include <string.h>

#include "fuzz_dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void load(const char *path, const bmlp_libsvm_options_t *opt)
{
    bmlp_dataset_t ds;
    bmlp_error_t err;
    bmlp_status_t status = bmlp_libsvm_load(path, opt, &ds, &err);

    if (status == BMLP_OK) {
        fuzz_require(opt->n_features == 0 || ds.n_features == opt->n_features,
                     "a declared feature count is the dataset's");
        fuzz_check_dataset(&ds);
    } else {
        fuzz_check_failure(&ds, &err, status);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bmlp_libsvm_options_t opt;
    char path[64];
    int fd = fuzz_input_open(data, size, path, sizeof(path));

    if (fd < 0)
        return 0;
    bmlp_libsvm_options_default(&opt);
    load(path, &opt);
    opt.zero_based = 1;
    load(path, &opt);
    opt.zero_based = 0;
    opt.n_features = 3;
    load(path, &opt);
    close(fd);
    return 0;
}
