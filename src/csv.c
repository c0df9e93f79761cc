/* The CSV loader: a strict comma-separated dialect of decimal numbers, read line by line. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "bmlp/dataset.h"
#include "error.h"
#include "numparse.h"
#include "text_line.h"

/* State of one load. x and y grow geometrically and become the dataset's arrays on success. */
typedef struct csv_reader {
    const char *path;
    const bmlp_csv_options_t *opt;
    bmlp_error_t *err;
    bmlp_text_line_t text; /* the file and its current line, without the LF or CRLF */
    size_t header_line;    /* line of the header, 0 without one */
    size_t first_line;     /* line of the first data row, 0 before it is read */
    size_t n_fields;       /* fields per line, fixed by the header or the first data row */
    size_t n_features;     /* n_fields, less the label field unless opt->no_label is set */
    size_t label_index;    /* 0-based field of the label, n_fields with no label */
    size_t blank_line;     /* first blank line after the data started, 0 if none yet */
    size_t n_rows;
    size_t row_capacity;
    float *x;
    float *y;
} csv_reader_t;

void bmlp_csv_options_default(bmlp_csv_options_t *opt)
{
    opt->skip_lines = 0;
    opt->header = 0;
    opt->label_column = 0;
    opt->no_label = 0;
}

/* Returns the 1-based field that contains byte offset of the current line. */
static size_t field_at(const csv_reader_t *r, size_t offset)
{
    size_t field = 1;

    for (size_t i = 0; i < offset; i++)
        if (r->text.text[i] == ',')
            field++;
    return field;
}

/* Rejects a CR or NUL byte inside the current line, which would otherwise cut or hide a field. */
static bmlp_status_t check_line_bytes(csv_reader_t *r)
{
    const char *cr = memchr(r->text.text, '\r', r->text.length);
    size_t nul = strlen(r->text.text);

    if (cr != NULL)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number,
                         field_at(r, (size_t)(cr - r->text.text)), NULL,
                         "carriage return inside a line (lines must end in LF or CRLF)");
    if (nul < r->text.length)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, field_at(r, nul), NULL,
                         "NUL byte inside a line (the file is not text)");
    return BMLP_OK;
}

static size_t count_fields(const char *line, size_t length)
{
    size_t n = 1;

    for (size_t i = 0; i < length; i++)
        if (line[i] == ',')
            n++;
    return n;
}

static int is_space_or_tab(char c)
{
    return c == ' ' || c == '\t';
}

/* Reports why text, which is not a valid decimal number, was rejected. */
static bmlp_status_t fail_not_decimal(csv_reader_t *r, size_t column, const char *text,
                                      const char *expected)
{
    size_t n = strlen(text);

    if (n == 0)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, column, NULL,
                         "empty field, expected %s", expected);
    if (is_space_or_tab(text[0]) || is_space_or_tab(text[n - 1]))
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, column, text,
                         "space around a field is not allowed, expected %s", expected);
    if (bmlp_decimal_is_nonfinite_word(text))
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, column, text,
                         "NaN and infinity are not accepted, expected %s", expected);
    return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, column, text,
                     "invalid number, expected %s", expected);
}

/* Parses a feature. strtof rounds the decimal to the nearest float32 directly, which avoids the
 * double rounding of strtod followed by a cast. */
static bmlp_status_t parse_feature(csv_reader_t *r, size_t column, const char *text, float *out)
{
    const char *expected = "a decimal number such as 1.5 or -2e3";
    char *end;
    float v;

    if (!bmlp_decimal_is_valid(text))
        return fail_not_decimal(r, column, text, expected);
    v = strtof(text, &end);
    if (*end != '\0')
        return fail_not_decimal(r, column, text, expected);
    /* Only values that round to infinity are rejected, so FLT_MAX printed with %.9g loads. */
    if (isinf(v))
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, column, text,
                         "number is too large for float32 (largest magnitude %.9g)",
                         (double)FLT_MAX);
    /* Magnitudes too small for float32 are accepted as the subnormal or zero strtof returns. */
    *out = v;
    return BMLP_OK;
}

static bmlp_status_t parse_label(csv_reader_t *r, size_t column, const char *text, float *out)
{
    const char *expected = "a label of 0 or 1";
    int label;

    if (!bmlp_decimal_is_valid(text))
        return fail_not_decimal(r, column, text, expected);
    label = bmlp_decimal_exact_label(text);
    if (label < 0)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, column, text,
                         "invalid label, expected 0 or 1");
    *out = label == 1 ? 1.0f : 0.0f;
    return BMLP_OK;
}

/* Makes room for one more row, doubling the capacity so that loading stays linear. */
static bmlp_status_t reserve_row(csv_reader_t *r)
{
    /* The first block holds up to 1024 rows but at most about 1 MiB of features, so that a few
     * very wide rows do not reserve gigabytes. */
    size_t first = ((size_t)1 << 18) / r->n_fields;
    size_t capacity = r->row_capacity == 0 ? (first < 1      ? 1
                                              : first > 1024 ? 1024
                                                             : first)
                                           : r->row_capacity * 2;
    float *x;
    float *y;

    if (r->n_rows < r->row_capacity)
        return BMLP_OK;
    if (r->n_rows >= BMLP_MAX_SAMPLES)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, 0, NULL,
                         "more than %zu data lines", BMLP_MAX_SAMPLES);
    if (capacity > SIZE_MAX / sizeof(float) / r->n_fields)
        capacity = r->n_rows + 1;
    if (capacity > SIZE_MAX / sizeof(float) / r->n_fields)
        return bmlp_fail(r->err, BMLP_ERR_NO_MEMORY, r->path, r->text.number, 0, NULL,
                         "dataset of %zu rows does not fit in memory", r->n_rows + 1);
    x = realloc(r->x, capacity * r->n_features * sizeof(float));
    if (x != NULL)
        r->x = x;
    y = realloc(r->y, capacity * sizeof(float));
    if (y != NULL)
        r->y = y;
    if (x == NULL || y == NULL)
        return bmlp_fail(r->err, BMLP_ERR_NO_MEMORY, r->path, r->text.number, 0, NULL,
                         "cannot allocate memory for %zu rows of %zu features", capacity,
                         r->n_features);
    r->row_capacity = capacity;
    return BMLP_OK;
}

/* Fixes the field count and label position from the first data row (or the header). */
static bmlp_status_t set_shape(csv_reader_t *r, size_t n_fields)
{
    size_t label_column = r->opt->label_column == 0 ? n_fields : r->opt->label_column;

    if (r->opt->no_label) {
        if (n_fields > BMLP_MAX_FEATURES)
            return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, 0, NULL,
                             "line has %zu fields, more than the maximum of %zu features", n_fields,
                             BMLP_MAX_FEATURES);
        r->n_fields = n_fields;
        r->n_features = n_fields;
        r->label_index = n_fields;
        return BMLP_OK;
    }
    if (n_fields < 2)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, 0, NULL,
                         "line has only 1 field, need at least one feature and the label");
    if (n_fields - 1 > BMLP_MAX_FEATURES)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, 0, NULL,
                         "line has %zu fields, more than the maximum of %zu features plus the "
                         "label",
                         n_fields, BMLP_MAX_FEATURES);
    if (label_column > n_fields)
        return bmlp_fail(r->err, BMLP_ERR_INVALID_ARGUMENT, r->path, r->text.number, 0, NULL,
                         "label column %zu is out of range, the line has %zu fields", label_column,
                         n_fields);
    r->n_fields = n_fields;
    r->n_features = n_fields - 1;
    r->label_index = label_column - 1;
    return BMLP_OK;
}

static bmlp_status_t check_field_count(csv_reader_t *r, size_t n_fields)
{
    if (n_fields == r->n_fields)
        return BMLP_OK;
    const char *plural = n_fields == 1 ? "" : "s";

    if (r->header_line > 0)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, 0, NULL,
                         "line has %zu field%s, expected %zu as in the header on line %zu",
                         n_fields, plural, r->n_fields, r->header_line);
    return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, 0, NULL,
                     "line has %zu field%s, expected %zu as on line %zu", n_fields, plural,
                     r->n_fields, r->first_line);
}

/* Parses every field of the current line into the next row. Commas are overwritten with NUL so
 * that each field is a string of its own. */
static bmlp_status_t parse_row(csv_reader_t *r)
{
    float *x = r->x + r->n_rows * r->n_features;
    char *field = r->text.text;
    bmlp_status_t status = BMLP_OK;

    if (r->opt->no_label)
        r->y[r->n_rows] = 0.0f;
    for (size_t i = 0; i < r->n_fields && status == BMLP_OK; i++) {
        char *comma = strchr(field, ',');

        if (comma != NULL)
            *comma = '\0';
        if (i == r->label_index)
            status = parse_label(r, i + 1, field, &r->y[r->n_rows]);
        else
            status = parse_feature(r, i + 1, field, x++);
        if (comma != NULL)
            field = comma + 1;
    }
    if (status == BMLP_OK)
        r->n_rows++;
    return status;
}

/* Rejects a header whose first name, apart from spaces and tabs, is empty or "". Such a first
 * column is usually the row index that pandas and R write by default, which would otherwise be
 * trained on. */
static bmlp_status_t check_header(csv_reader_t *r)
{
    const char *text = r->text.text;
    const char *comma = memchr(text, ',', r->text.length);
    size_t length = comma != NULL ? (size_t)(comma - text) : r->text.length;
    size_t first = 0, last = length;
    char name[64];

    while (first < last && is_space_or_tab(text[first]))
        first++;
    while (last > first && is_space_or_tab(text[last - 1]))
        last--;
    if (last != first && !(last - first == 2 && memcmp(text + first, "\"\"", 2) == 0))
        return BMLP_OK;
    snprintf(name, sizeof(name), "%.*s", (int)(length < sizeof(name) ? length : sizeof(name) - 1),
             text);
    return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, 1, name,
                     "column 1 has no name in the header; an unnamed first column is usually a "
                     "row index (pandas and R write one by default), which would be trained on: "
                     "remove it, or name it to keep it");
}

/* Handles one non-blank line after the skipped ones: the header, the first row or a later row. */
static bmlp_status_t take_line(csv_reader_t *r)
{
    size_t n_fields = count_fields(r->text.text, r->text.length);
    bmlp_status_t status = check_line_bytes(r);

    if (status != BMLP_OK)
        return status;
    if (r->blank_line > 0)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->blank_line, 0, NULL,
                         "blank line followed by more data on line %zu (blank lines are "
                         "allowed only at the end of the file)",
                         r->text.number);
    if (r->opt->header && r->header_line == 0) {
        r->header_line = r->text.number;
        status = check_header(r);
        return status != BMLP_OK ? status : set_shape(r, n_fields);
    }
    if (r->first_line == 0) {
        r->first_line = r->text.number;
        if (r->header_line == 0)
            status = set_shape(r, n_fields);
    }
    if (status == BMLP_OK)
        status = check_field_count(r, n_fields);
    if (status == BMLP_OK)
        status = reserve_row(r);
    if (status == BMLP_OK)
        status = parse_row(r);
    return status;
}

static bmlp_status_t fail_no_data(csv_reader_t *r)
{
    if (r->header_line > 0)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, 0, 0, NULL,
                         "file has a header on line %zu but no data lines", r->header_line);
    if (r->opt->skip_lines > 0)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, 0, 0, NULL,
                         "file has no data lines after the %zu skipped lines", r->opt->skip_lines);
    return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, 0, 0, NULL, "file has no data lines");
}

/* Reads every line of an open file. Skipped lines are passed over byte by byte, so that
 * nothing in them, a NUL byte or any length, ends them early or fails the load. */
static bmlp_status_t read_all(csv_reader_t *r)
{
    int got = 1;

    for (size_t i = 0; i < r->opt->skip_lines && got > 0; i++)
        got = bmlp_text_line_skip(&r->text, r->err);
    if (got < 0)
        return (bmlp_status_t)got;
    while (got > 0 && (got = bmlp_text_line_read(&r->text, r->err)) > 0) {
        bmlp_status_t status;

        if (r->text.length == 0) {
            /* A blank line before any header or data is reported like one in the middle. */
            if (r->blank_line == 0)
                r->blank_line = r->text.number;
            continue;
        }
        status = take_line(r);
        if (status != BMLP_OK)
            return status;
    }
    if (got < 0)
        return (bmlp_status_t)got;
    if (r->n_rows == 0)
        return fail_no_data(r);
    return BMLP_OK;
}

/* Moves the grown arrays into ds. bmlp_dataset_free releases them with free(), so they can be
 * the dataset's own. Shrinking them to size only tries to return spare capacity. */
static void hand_over(csv_reader_t *r, bmlp_dataset_t *ds)
{
    size_t d = r->n_features;
    float *x = realloc(r->x, r->n_rows * d * sizeof(float));
    float *y = realloc(r->y, r->n_rows * sizeof(float));

    /* A failed shrink leaves the original block allocated and as large as before. */
    if (x == NULL)
        x = r->x;
    if (y == NULL)
        y = r->y;
    ds->x = x;
    ds->y = y;
    ds->n_samples = r->n_rows;
    ds->n_features = d;
    r->x = NULL;
    r->y = NULL;
}

/* Parses under the "C" locale, so the decimal point is '.' whatever locale the program has set.
 * uselocale changes the locale of the calling thread only, so other threads are unaffected. */
static bmlp_status_t read_all_in_c_locale(csv_reader_t *r)
{
    bmlp_c_locale_t scope;
    bmlp_status_t status;

    errno = 0;
    if (bmlp_c_locale_enter(&scope) != 0)
        return bmlp_fail(r->err, BMLP_ERR_NO_MEMORY, r->path, 0, 0, NULL,
                         "cannot create the C locale for number parsing: %s", strerror(errno));
    status = read_all(r);
    bmlp_c_locale_leave(&scope);
    return status;
}

bmlp_status_t bmlp_csv_load(const char *path, const bmlp_csv_options_t *opt, bmlp_dataset_t *ds,
                            bmlp_error_t *err)
{
    csv_reader_t r;
    bmlp_status_t status;

    if (ds != NULL)
        memset(ds, 0, sizeof(*ds));
    if (path == NULL || opt == NULL || ds == NULL)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "bmlp_csv_load needs a path, options and a dataset");
    if (opt->no_label && opt->label_column != 0)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, path, 0, 0, NULL,
                         "a label column is given for a file without labels");
    memset(&r, 0, sizeof(r));
    r.path = path;
    r.opt = opt;
    r.err = err;
    r.text.path = path;
    r.text.format = "CSV";
    r.text.file = fopen(path, "rb");
    if (r.text.file == NULL)
        return bmlp_fail(err, BMLP_ERR_IO, path, 0, 0, NULL, "cannot open for reading: %s",
                         strerror(errno));

    status = read_all_in_c_locale(&r);
    if (status == BMLP_OK)
        hand_over(&r, ds);
    fclose(r.text.file);
    free(r.text.text);
    free(r.x);
    free(r.y);
    return status;
}
