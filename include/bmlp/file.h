/* Output files that appear whole or not at all. */
#ifndef BMLP_FILE_H
#define BMLP_FILE_H

#include <stdio.h>

#include "bmlp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A file being written under a temporary name beside its target. */
typedef struct bmlp_atomic_file {
    FILE *stream;    /* write the contents here */
    char *target;    /* the path that commit replaces: the given path, or the file a symbolic
                        link there points to */
    char *temp_path; /* target + ".tmp.XXXXXX", or "bmlp.tmp.XXXXXX" in target's directory
                        when target's name is too long to take the suffix */
} bmlp_atomic_file_t;

/*
 * Creates a temporary file beside path for writing. The final file gets the mode of the file it
 * replaces, or 0666 minus the umask for a new one. An existing path that is a directory, device
 * or other non-regular file is rejected with BMLP_ERR_INVALID_ARGUMENT, so that a model is never
 * renamed over /dev/null. A symbolic link is followed, and the file it points to is replaced.
 */
bmlp_status_t bmlp_atomic_open(bmlp_atomic_file_t *f, const char *path, bmlp_error_t *err);

/* Flushes, syncs and closes the temporary file and renames it over the target. On failure the
 * temporary file is removed and the target is left as it was. Either way f is released. */
bmlp_status_t bmlp_atomic_commit(bmlp_atomic_file_t *f, bmlp_error_t *err);

/* Closes and removes the temporary file, leaving the target as it was. */
void bmlp_atomic_abort(bmlp_atomic_file_t *f);

/* Checks before a long computation that path could be written: its directory exists and is
 * writable, path is not an existing non-regular file, and a temporary file can be created
 * beside it (it is removed again). */
bmlp_status_t bmlp_check_output_path(const char *path, bmlp_error_t *err);

/* Returns 1 when paths a and b name the same existing file (same device and inode). */
int bmlp_same_file(const char *a, const char *b);

#ifdef __cplusplus
}
#endif

#endif /* BMLP_FILE_H */
