/* libFuzzer target of the model file loader. Each input is loaded as it is, then with its last
 * 4 bytes replaced by the CRC-32 of the bytes before them, so that mutated inputs also reach the
 * checks that follow the checksum (standardization and parameter values, network creation). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bmlp/model.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void load(const uint8_t *data, size_t size)
{
    bmlp_net_t *net = NULL;
    bmlp_error_t err;
    bmlp_status_t status;
    char path[64];
    int fd = fuzz_input_open(data, size, path, sizeof(path));

    if (fd < 0)
        return;
    status = bmlp_model_load(path, &net, &err);
    if (status == BMLP_OK) {
        fuzz_require(net != NULL, "a loaded model has a network");
        bmlp_net_free(net);
    } else {
        fuzz_require(net == NULL, "a failed load returns no network");
        fuzz_require(err.status == status, "the error detail has the returned status");
    }
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *fixed;
    uLong crc;

    load(data, size);
    if (size < 4 || size - 4 > UINT32_MAX)
        return 0;
    fixed = malloc(size);
    if (fixed == NULL)
        return 0;
    memcpy(fixed, data, size);
    crc = crc32(crc32(0L, Z_NULL, 0), fixed, (uInt)(size - 4));
    for (int i = 0; i < 4; i++)
        fixed[size - 4 + i] = (uint8_t)(crc >> (8 * i));
    load(fixed, size);
    free(fixed);
    return 0;
}
