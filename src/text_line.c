/* Bounded reading of text lines. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "text_line.h"

/* The UTF-8 encoding of the byte order mark U+FEFF. */
static const char utf8_bom[] = "\xEF\xBB\xBF";
#define UTF8_BOM_BYTES (sizeof(utf8_bom) - 1)

/* Appends byte c at offset len of line->text, growing it geometrically. Returns 0, or -1 with
 * errno set to EFBIG when the line would exceed BMLP_MAX_LINE_BYTES and to ENOMEM when memory
 * runs out. */
static int append_byte(bmlp_text_line_t *line, size_t len, int c)
{
    if (len + 2 > line->size) {
        size_t size = line->size == 0 ? 256 : line->size * 2;
        char *text;

        if (len + 2 > BMLP_MAX_LINE_BYTES + 2) {
            errno = EFBIG;
            return -1;
        }
        if (size > BMLP_MAX_LINE_BYTES + 2)
            size = BMLP_MAX_LINE_BYTES + 2;
        text = realloc(line->text, size);
        if (text == NULL) {
            errno = ENOMEM;
            return -1;
        }
        line->text = text;
        line->size = size;
    }
    line->text[len] = (char)c;
    return 0;
}

/* Reports a read error of the next line, errno giving its reason. A failure before the first
 * byte of the file, such as a directory given as the file, concerns the file as a whole and not
 * line 1. started is nonzero when the line had bytes before the error. */
static int fail_read(const bmlp_text_line_t *line, int started, bmlp_error_t *err)
{
    int saved = errno;

    if (line->number == 0 && !started)
        return bmlp_fail(err, BMLP_ERR_IO, line->path, 0, 0, NULL, "cannot read: %s",
                         strerror(saved));
    return bmlp_fail(err, BMLP_ERR_IO, line->path, line->number + 1, 0, NULL, "read failed: %s",
                     strerror(saved));
}

int bmlp_text_line_read(bmlp_text_line_t *line, bmlp_error_t *err)
{
    size_t next = line->number + 1;
    size_t len = 0;
    /* Only the first three bytes of the file may be a byte order mark, so a second mark right after
     * the first one stays in the line. */
    int may_start_with_bom = line->number == 0;
    int c;

    while ((c = getc_unlocked(line->file)) != EOF) {
        if (append_byte(line, len, c) != 0) {
            if (errno == ENOMEM)
                return bmlp_fail(err, BMLP_ERR_NO_MEMORY, line->path, next, 0, NULL,
                                 "cannot allocate memory for line %zu", next);
            return bmlp_fail(err, BMLP_ERR_PARSE, line->path, next, 0, NULL,
                             "line is longer than %zu MiB; is this a %s file?",
                             BMLP_MAX_LINE_BYTES >> 20, line->format);
        }
        len++;
        if (may_start_with_bom && len == UTF8_BOM_BYTES) {
            may_start_with_bom = 0;
            if (memcmp(line->text, utf8_bom, UTF8_BOM_BYTES) == 0) {
                /* Line 1 starts after the mark, and a file of only the mark has no lines. */
                len = 0;
                continue;
            }
        }
        if (c == '\n' || c == '\0')
            break;
    }
    if (ferror(line->file))
        return fail_read(line, len > 0, err);
    if (len == 0)
        return 0;
    line->number = next;
    line->length = len;
    if (line->text[line->length - 1] == '\n') {
        line->length--;
        if (line->length > 0 && line->text[line->length - 1] == '\r')
            line->length--;
    }
    line->text[line->length] = '\0';
    return 1;
}

int bmlp_text_line_skip(bmlp_text_line_t *line, bmlp_error_t *err)
{
    size_t next = line->number + 1;
    int c, any = 0;

    while ((c = getc_unlocked(line->file)) != EOF) {
        any = 1;
        if (c == '\n')
            break;
    }
    if (ferror(line->file))
        return fail_read(line, any, err);
    if (!any)
        return 0;
    line->number = next;
    return 1;
}
