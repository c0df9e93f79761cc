/* Status codes and error details shared by every bmlp function. */
#ifndef BMLP_STATUS_H
#define BMLP_STATUS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every fallible function returns one of these; BMLP_OK is zero, failures are negative. */
typedef enum bmlp_status {
    BMLP_OK = 0,
    BMLP_ERR_INVALID_ARGUMENT = -1, /* a caller passed a value outside the documented range */
    BMLP_ERR_NO_MEMORY = -2,        /* an allocation failed */
    BMLP_ERR_IO = -3,               /* open, read, write or rename failed (errno in the detail) */
    BMLP_ERR_PARSE = -4,            /* an input file is malformed */
    BMLP_ERR_FORMAT = -5,           /* a model file has a bad magic, version, size or checksum */
    BMLP_ERR_NONFINITE = -6,        /* training produced a NaN or infinite loss or parameter */
    BMLP_ERR_UNSUPPORTED = -7,      /* the CPU lacks the requested instruction set */
    BMLP_ERR_CANCELLED = -8         /* a progress callback asked training to stop */
} bmlp_status_t;

/* Where and why the last call failed. Fields that do not apply are empty strings or zero. */
typedef struct bmlp_error {
    bmlp_status_t status;
    char message[256]; /* what failed, as a sentence fragment without a trailing period */
    char path[512];    /* the file involved */
    size_t line;       /* 1-based line in path, 0 if not a text position */
    size_t column;     /* 1-based field (CSV) or column, 0 if none */
    /* The offending text or number. Bytes that are not printable ASCII or well-formed UTF-8
     * appear as \xNN, and a value too long ends in "...". */
    char value[128];
} bmlp_error_t;

/* Returns a static, one-line description of a status code. */
const char *bmlp_strerror(bmlp_status_t status);

/* Writes "path:line:column: message (value 'text')" into buf, leaving out the parts that are
 * empty, and returns the length that the full text needs (as snprintf does). */
size_t bmlp_error_format(const bmlp_error_t *err, char *buf, size_t size);

/* Clears err to BMLP_OK with empty fields. Accepts NULL. */
void bmlp_error_clear(bmlp_error_t *err);

#ifdef __cplusplus
}
#endif

#endif /* BMLP_STATUS_H */
