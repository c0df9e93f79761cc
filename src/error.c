/* Status strings and error details. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

const char *bmlp_strerror(bmlp_status_t status)
{
    switch (status) {
    case BMLP_OK:
        return "success";
    case BMLP_ERR_INVALID_ARGUMENT:
        return "invalid argument";
    case BMLP_ERR_NO_MEMORY:
        return "out of memory";
    case BMLP_ERR_IO:
        return "input/output error";
    case BMLP_ERR_PARSE:
        return "malformed input";
    case BMLP_ERR_FORMAT:
        return "invalid model file";
    case BMLP_ERR_NONFINITE:
        return "non-finite loss";
    case BMLP_ERR_UNSUPPORTED:
        return "unsupported instruction set";
    case BMLP_ERR_CANCELLED:
        return "cancelled";
    }
    return "unknown status";
}

void bmlp_error_clear(bmlp_error_t *err)
{
    if (err != NULL)
        memset(err, 0, sizeof(*err));
}

/* Copies src into dst[size], truncating with "..." when it does not fit. */
static void copy_truncated(char *dst, size_t size, const char *src)
{
    size_t len = strlen(src);

    if (len < size) {
        memcpy(dst, src, len + 1);
        return;
    }
    memcpy(dst, src, size - 4);
    memcpy(dst + size - 4, "...", 4);
}

/* Copies value into dst[size] with control bytes and backslashes written as \xNN, so that an
 * offending value from a binary file cannot garble the terminal it is printed on. A UTF-8 byte
 * order mark (EF BB BF) is written the same way, because it prints as nothing. */
static void copy_escaped(char *dst, size_t size, const char *value)
{
    char escaped[4 * sizeof(((bmlp_error_t *)0)->value)];
    size_t n = 0;
    size_t bom_left = 0; /* bytes of a byte order mark still to escape */

    for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
        if (n + 5 >= sizeof(escaped))
            break;
        if (bom_left == 0 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
            bom_left = 3;
        if (bom_left > 0 || *p < 0x20 || *p == 0x7f || *p == '\\')
            n += (size_t)snprintf(escaped + n, sizeof(escaped) - n, "\\x%02x", *p);
        else
            escaped[n++] = (char)*p;
        if (bom_left > 0)
            bom_left--;
    }
    escaped[n] = '\0';
    copy_truncated(dst, size, escaped);
}

bmlp_status_t bmlp_fail(bmlp_error_t *err, bmlp_status_t status, const char *path, size_t line,
                        size_t column, const char *value, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return status;
    memset(err, 0, sizeof(*err));
    err->status = status;
    err->line = line;
    err->column = column;
    if (path != NULL)
        copy_truncated(err->path, sizeof(err->path), path);
    if (value != NULL)
        copy_escaped(err->value, sizeof(err->value), value);
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return status;
}

size_t bmlp_error_format(const bmlp_error_t *err, char *buf, size_t size)
{
    char where[600] = "";
    const char *message = err->message[0] != '\0' ? err->message : bmlp_strerror(err->status);
    int n;

    if (err->path[0] != '\0' && err->line > 0 && err->column > 0)
        snprintf(where, sizeof(where), "%s:%zu:%zu: ", err->path, err->line, err->column);
    else if (err->path[0] != '\0' && err->line > 0)
        snprintf(where, sizeof(where), "%s:%zu: ", err->path, err->line);
    else if (err->path[0] != '\0')
        snprintf(where, sizeof(where), "%s: ", err->path);

    if (err->value[0] != '\0')
        n = snprintf(buf, size, "%s%s (value '%s')", where, message, err->value);
    else
        n = snprintf(buf, size, "%s%s", where, message);
    return n < 0 ? 0 : (size_t)n;
}
