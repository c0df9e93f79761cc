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

/* Returns the length of the well-formed UTF-8 sequence of 2 to 4 bytes at p, or 0 where p
 * starts none, as with overlong forms, UTF-16 surrogates and code points past U+10FFFF. Reading
 * stops at the first byte that does not fit, so a terminating NUL ends the check. */
static size_t utf8_sequence_length(const unsigned char *p)
{
    unsigned char second_min = 0x80, second_max = 0xBF;
    size_t len;

    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        len = 2;
    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        len = 3;
        if (p[0] == 0xE0)
            second_min = 0xA0;
        if (p[0] == 0xED)
            second_max = 0x9F;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        len = 4;
        if (p[0] == 0xF0)
            second_min = 0x90;
        if (p[0] == 0xF4)
            second_max = 0x8F;
    } else {
        return 0;
    }
    if (p[1] < second_min || p[1] > second_max)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return len;
}

/* Bytes of the printable form of one character, with its NUL: up to three \xNN escapes. */
#define ESCAPED_MAX 13

/* Writes the printable form of the character at p into escaped[ESCAPED_MAX] and returns the
 * character's length in bytes. Printable ASCII and well-formed UTF-8 are copied. Control bytes,
 * backslashes, bytes outside well-formed UTF-8, the C1 controls U+0080 to U+009F (which some
 * terminals act on) and a byte order mark (which prints as nothing) become \xNN per byte. */
static size_t escape_character(const unsigned char *p, char *escaped)
{
    size_t len;

    if (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
        snprintf(escaped, ESCAPED_MAX, "\\x%02x\\x%02x\\x%02x", p[0], p[1], p[2]);
        return 3;
    }
    if (p[0] >= 0x20 && p[0] < 0x7f && p[0] != '\\') {
        escaped[0] = (char)p[0];
        escaped[1] = '\0';
        return 1;
    }
    len = p[0] >= 0x80 ? utf8_sequence_length(p) : 0;
    if (len > 0 && !(p[0] == 0xC2 && p[1] < 0xA0)) {
        memcpy(escaped, p, len);
        escaped[len] = '\0';
        return len;
    }
    snprintf(escaped, ESCAPED_MAX, "\\x%02x", p[0]);
    return 1;
}

/* Copies value into dst[size] (size at least 4) in the printable form of escape_character, so
 * that an offending value from a binary file cannot garble the terminal it is printed on. A
 * value that does not fit ends in "..." after its last whole character, so that the copy stays
 * well-formed UTF-8. */
static void copy_escaped(char *dst, size_t size, const char *value)
{
    const unsigned char *p = (const unsigned char *)value;
    size_t n = 0;
    size_t cut = 0; /* end of the last whole character with room for "..." after it */

    while (*p != '\0') {
        char escaped[ESCAPED_MAX];
        size_t consumed = escape_character(p, escaped);
        size_t len = strlen(escaped);

        if (n + len > size - 1) {
            memcpy(dst + cut, "...", 4);
            return;
        }
        memcpy(dst + n, escaped, len);
        n += len;
        if (n <= size - 4)
            cut = n;
        p += consumed;
    }
    dst[n] = '\0';
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
