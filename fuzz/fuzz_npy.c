/* libFuzzer target of the NPY loader, which reads the file through mmap. */
#include <stdint.h>
#include <string.h>

#include "fuzz_dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bmlp_dataset_t ds;
    bmlp_error_t err;
    bmlp_status_t status;
    char path[64];
    int fd = fuzz_input_open(data, size, path, sizeof(path));

    if (fd < 0)
        return 0;
    status = bmlp_npy_load(path, &ds, &err);
    if (status == BMLP_OK)
        fuzz_check_dataset(&ds);
    else
        fuzz_check_failure(&ds, &err, status);
    close(fd);
    return 0;
}
