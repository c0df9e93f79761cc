/* Bounded reading of text lines for the CSV and LIBSVM loaders; internal to the library. */
#ifndef BMLP_SRC_TEXT_LINE_H
#define BMLP_SRC_TEXT_LINE_H

#include <stddef.h>
#include <stdio.h>

#include "bmlp/status.h"

/* Maximum length of a line that a loader reads, in bytes: room for a row of BMLP_MAX_FEATURES
 * fields of up to 63 characters each. A longer line, such as a binary file without newlines, is rejected
 * before it can take all memory. */
#define BMLP_MAX_LINE_BYTES ((size_t)64 << 20)

/* A line being read: the buffer grows geometrically and is reused from line to line. */
typedef struct bmlp_text_line {
    FILE *file;
    const char *path;   /* for error messages */
    const char *format; /* "CSV" or "LIBSVM", for the message about an over-long line */
    char *text;         /* the line without its LF or CRLF, NUL-terminated; free when done */
    size_t size;        /* allocated bytes of text */
    size_t length;      /* bytes of the line, which may contain a NUL byte */
    size_t number;      /* 1-based physical line number, 0 before the first line */
} bmlp_text_line_t;

/* Reads the next line into line->text and strips its LF or CRLF. Returns 1 for a line, 0 at
 * the end of the file, or a negative status with err filled. A CR is stripped only before an
 * LF, so the caller sees a CR that ends a file without a final newline. Reading stops at a NUL
 * byte, which stays in the line for the caller to report, so a binary file fails at its first
 * NUL instead of being read whole. A UTF-8 byte order mark (EF BB BF) in the first three bytes of
 * the file is skipped, so line 1 starts after it. A mark anywhere else stays in the line. */
int bmlp_text_line_read(bmlp_text_line_t *line, bmlp_error_t *err);

/* Moves past the next physical line, whatever bytes and length it has, up to and including
 * its LF. Returns 1 for a line, 0 at the end of the file, or a negative status with err
 * filled. It leaves line->text unchanged and counts the line in line->number. */
int bmlp_text_line_skip(bmlp_text_line_t *line, bmlp_error_t *err);

#endif /* BMLP_SRC_TEXT_LINE_H */
