/* Hands a fuzzer input to a loader that takes a path: the bytes go to an anonymous in-memory
 * file (memfd_create, Linux 3.17 and later), named through /proc/self/fd. */
#ifndef BMLP_FUZZ_INPUT_H
#define BMLP_FUZZ_INPUT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Writes data to a new in-memory file and its path into path. Returns the descriptor, which
 * the caller closes, or -1 when the file cannot be made (the input is then skipped). */
static int fuzz_input_open(const uint8_t *data, size_t size, char *path, size_t path_size)
{
    int fd = memfd_create("bmlp-fuzz-input", MFD_CLOEXEC);

    if (fd < 0)
        return -1;
    while (size > 0) {
        ssize_t n = write(fd, data, size);

        if (n <= 0) {
            close(fd);
            return -1;
        }
        data += n;
        size -= (size_t)n;
    }
    snprintf(path, path_size, "/proc/self/fd/%d", fd);
    return fd;
}

/* Ends the run with a crash that libFuzzer records, for a loaded dataset that breaks the
 * loaders' contract. */
static void fuzz_require(int condition, const char *description)
{
    if (!condition) {
        fprintf(stderr, "contract violated: %s\n", description);
        abort();
    }
}

#endif /* BMLP_FUZZ_INPUT_H */
