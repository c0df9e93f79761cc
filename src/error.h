/* Helpers that fill a bmlp_error_t; internal to the library. */
#ifndef BMLP_SRC_ERROR_H
#define BMLP_SRC_ERROR_H

#include <stddef.h>

#include "bmlp/status.h"

/* Fills err (when not NULL) and returns status. path and value may be NULL; line and column are
 * 1-based, 0 when they do not apply. The message is a printf format. */
#if defined(__GNUC__)
#define BMLP_PRINTF_LIKE(fmt, first) __attribute__((format(printf, fmt, first)))
#else
#define BMLP_PRINTF_LIKE(fmt, first)
#endif
bmlp_status_t bmlp_fail(bmlp_error_t *err, bmlp_status_t status, const char *path, size_t line,
                        size_t column, const char *value, const char *fmt, ...)
    BMLP_PRINTF_LIKE(7, 8);

#endif /* BMLP_SRC_ERROR_H */
