/* The LIBSVM (svmlight) loader: sparse "label index:value ..." lines, read line by line into a
 * sparse list and expanded to a dense dataset once the feature count is known. */
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

#include "alloc.h"
#include "bmlp/dataset.h"
#include "error.h"
#include "numparse.h"
#include "text_line.h"

/* State of one load. The arrays grow geometrically while the file is read. */
typedef struct libsvm_reader {
    const char *path;
    const bmlp_libsvm_options_t *opt;
    bmlp_error_t *err;
    bmlp_text_line_t text; /* the file and its current line, without the LF or CRLF */
    size_t n_rows;
    size_t row_capacity;
    float *y;        /* label of each row */
    size_t *row_end; /* row i has the pairs row_end[i - 1] (0 for row 0) to row_end[i] - 1 */
    size_t n_pairs;
    size_t pair_capacity;
    uint32_t *feature;           /* 0-based feature of each pair */
    float *value;                /* value of each pair */
    size_t n_features;           /* largest 0-based feature seen plus one */
    size_t zero_label_line;      /* first line with label 0, 0 if none */
    size_t minus_one_label_line; /* first line with label -1, 0 if none */
} libsvm_reader_t;

void bmlp_libsvm_options_default(bmlp_libsvm_options_t *opt)
{
    opt->zero_based = 0;
    opt->n_features = 0;
}

static int is_space_or_tab(char c)
{
    return c == ' ' || c == '\t';
}

/* Returns the 1-based token of the current line that contains byte offset, or the token that
 * follows it when offset is in the space between two tokens. */
static size_t token_at(const libsvm_reader_t *r, size_t offset)
{
    size_t token = 0;

    for (size_t i = 0; i <= offset && i < r->text.length; i++) {
        if (!is_space_or_tab(r->text.text[i]) && (i == 0 || is_space_or_tab(r->text.text[i - 1])))
            token++;
    }
    return token == 0 ? 1 : token;
}

/* Rejects a CR or NUL byte anywhere in the current line, comments included. A file with CR-only
 * line ends would otherwise read as one line whose first '#' hides every later sample. */
static bmlp_status_t check_line_bytes(libsvm_reader_t *r)
{
    const char *cr = memchr(r->text.text, '\r', r->text.length);
    size_t nul = strlen(r->text.text);

    if (cr != NULL)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number,
                         token_at(r, (size_t)(cr - r->text.text)), NULL,
                         "carriage return inside a line (lines must end in LF or CRLF)");
    if (nul < r->text.length)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, token_at(r, nul), NULL,
                         "NUL byte inside a line (the file is not text)");
    return BMLP_OK;
}

/* Returns the next token at or after *cursor, NUL-terminated in place, and moves *cursor past
 * it. Returns NULL when only spaces and tabs are left. */
static char *next_token(char **cursor)
{
    char *p = *cursor;
    char *start;

    while (is_space_or_tab(*p))
        p++;
    if (*p == '\0')
        return NULL;
    start = p;
    while (*p != '\0' && !is_space_or_tab(*p))
        p++;
    if (*p != '\0')
        *p++ = '\0';
    *cursor = p;
    return start;
}

/* Makes room for one more row, doubling the capacity so that loading stays linear. */
static bmlp_status_t reserve_row(libsvm_reader_t *r)
{
    size_t capacity = r->row_capacity == 0 ? 1024 : r->row_capacity * 2;
    float *y;
    size_t *row_end;

    if (r->n_rows < r->row_capacity)
        return BMLP_OK;
    if (r->n_rows >= BMLP_MAX_SAMPLES)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, 0, NULL,
                         "more than %zu samples", BMLP_MAX_SAMPLES);
    y = realloc(r->y, capacity * sizeof(float));
    if (y != NULL)
        r->y = y;
    row_end = realloc(r->row_end, capacity * sizeof(size_t));
    if (row_end != NULL)
        r->row_end = row_end;
    if (y == NULL || row_end == NULL)
        return bmlp_fail(r->err, BMLP_ERR_NO_MEMORY, r->path, r->text.number, 0, NULL,
                         "cannot allocate memory for %zu samples", capacity);
    r->row_capacity = capacity;
    return BMLP_OK;
}

/* Makes room for one more index:value pair. */
static bmlp_status_t reserve_pair(libsvm_reader_t *r)
{
    size_t capacity = r->pair_capacity == 0 ? 4096 : r->pair_capacity * 2;
    uint32_t *feature;
    float *value;

    if (r->n_pairs < r->pair_capacity)
        return BMLP_OK;
    if (capacity > SIZE_MAX / sizeof(uint32_t))
        return bmlp_fail(r->err, BMLP_ERR_NO_MEMORY, r->path, r->text.number, 0, NULL,
                         "more than %zu index:value pairs do not fit in memory", r->n_pairs);
    feature = realloc(r->feature, capacity * sizeof(uint32_t));
    if (feature != NULL)
        r->feature = feature;
    value = realloc(r->value, capacity * sizeof(float));
    if (value != NULL)
        r->value = value;
    if (feature == NULL || value == NULL)
        return bmlp_fail(r->err, BMLP_ERR_NO_MEMORY, r->path, r->text.number, 0, NULL,
                         "cannot allocate memory for %zu index:value pairs", capacity);
    r->pair_capacity = capacity;
    return BMLP_OK;
}

/* Reports why a label or value text, which is not a valid decimal number, was rejected. */
static bmlp_status_t fail_not_decimal(libsvm_reader_t *r, size_t token, const char *shown,
                                      const char *number, const char *expected)
{
    if (bmlp_decimal_is_nonfinite_word(number))
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, token, shown,
                         "NaN and infinity are not accepted, expected %s", expected);
    return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, token, shown,
                     "invalid number, expected %s", expected);
}

/* Records which spelling of class 0 the file uses, rejecting a file that uses both. */
static bmlp_status_t note_class_zero(libsvm_reader_t *r, int minus_one)
{
    size_t *mine = minus_one ? &r->minus_one_label_line : &r->zero_label_line;
    size_t other = minus_one ? r->zero_label_line : r->minus_one_label_line;

    if (other > 0)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, 1, minus_one ? "-1" : "0",
                         "label %s after label %s on line %zu: class 0 must be written either "
                         "as -1 or as 0 throughout (three labels suggest a multiclass file)",
                         minus_one ? "-1" : "0", minus_one ? "0" : "-1", other);
    if (*mine == 0)
        *mine = r->text.number;
    return BMLP_OK;
}

/* Parses the first token of a line as a label: exactly +1, 1, 0 or -1 in any decimal spelling. */
static bmlp_status_t parse_label(libsvm_reader_t *r, const char *text, float *out)
{
    const char *expected = "a label of +1, -1, 1 or 0";
    int label;

    if (strchr(text, ':') != NULL)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, 1, text,
                         "line has no label: the first token is an index:value pair, expected "
                         "%s",
                         expected);
    if (!bmlp_decimal_is_valid(text))
        return fail_not_decimal(r, 1, text, text, expected);
    label = bmlp_decimal_exact_label(text);
    if (label == 1) {
        *out = 1.0f;
        return BMLP_OK;
    }
    *out = 0.0f;
    if (label == 0)
        return note_class_zero(r, 0);
    if (text[0] == '-' && bmlp_decimal_exact_label(text + 1) == 1)
        return note_class_zero(r, 1);
    return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, 1, text,
                     "invalid label, expected +1, -1, 1 or 0");
}

/* Parses the index of a pair, whose text ends at the colon. Indices above BMLP_MAX_FEATURES
 * saturate at BMLP_MAX_FEATURES + 1, which the range checks then reject. */
static bmlp_status_t parse_index(libsvm_reader_t *r, size_t token, const char *pair, size_t length,
                                 size_t *index)
{
    size_t v = 0;

    if (length == 0)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, token, pair,
                         "missing index before ':', expected INDEX:VALUE such as 3:0.5");
    if (length == 3 && memcmp(pair, "qid", 3) == 0)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, token, pair,
                         "query ids (qid:) are not supported");
    for (size_t i = 0; i < length; i++) {
        if (pair[i] < '0' || pair[i] > '9')
            return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, token, pair,
                             "invalid index, expected a non-negative integer before ':'");
        if (v <= BMLP_MAX_FEATURES)
            v = v * 10 + (size_t)(pair[i] - '0');
    }
    *index = v <= BMLP_MAX_FEATURES ? v : BMLP_MAX_FEATURES + 1;
    return BMLP_OK;
}

/* Turns a file index into a 0-based feature and checks it against the base, the feature
 * limits and the previous feature of the line (prev is SIZE_MAX for the first pair). */
static bmlp_status_t check_feature(libsvm_reader_t *r, size_t token, const char *pair, size_t index,
                                   size_t prev, size_t *feature)
{
    size_t base = r->opt->zero_based ? 0 : 1;
    size_t limit = r->opt->n_features > 0 ? r->opt->n_features : BMLP_MAX_FEATURES;
    size_t f;

    if (index < base)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, token, pair,
                         "index 0 in a file read with 1-based indices (0-based files need the "
                         "zero_based option, --zero-based in bmlp)");
    f = index - base;
    if (f >= limit && r->opt->n_features > 0)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, token, pair,
                         "index is beyond the declared feature count %zu (%s indices)",
                         r->opt->n_features, base == 0 ? "0-based" : "1-based");
    if (f >= limit)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, token, pair,
                         "index exceeds the maximum of %zu features (%s indices)",
                         BMLP_MAX_FEATURES, base == 0 ? "0-based" : "1-based");
    if (prev != SIZE_MAX && f == prev)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, token, pair,
                         "duplicate index %zu", index);
    if (prev != SIZE_MAX && f < prev)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, token, pair,
                         "index %zu is not greater than the previous index %zu (indices must "
                         "increase)",
                         index, prev + base);
    *feature = f;
    return BMLP_OK;
}

/* Parses the value of a pair. strtof rounds the decimal to the nearest float32 directly. */
static bmlp_status_t parse_value(libsvm_reader_t *r, size_t token, const char *pair,
                                 const char *text, float *out)
{
    const char *expected = "a decimal number such as 1.5 or -2e3 after ':'";
    char *end;
    float v;

    if (text[0] == '\0')
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, token, pair,
                         "missing value after ':', expected INDEX:VALUE such as 3:0.5");
    if (!bmlp_decimal_is_valid(text))
        return fail_not_decimal(r, token, pair, text, expected);
    v = strtof(text, &end);
    if (*end != '\0')
        return fail_not_decimal(r, token, pair, text, expected);
    /* Only values that round to infinity are rejected, so FLT_MAX printed with %.9g loads. */
    if (isinf(v))
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, token, pair,
                         "number is too large for float32 (largest magnitude %.9g)",
                         (double)FLT_MAX);
    *out = v;
    return BMLP_OK;
}

/* Parses one index:value token into the next pair. *prev is the previous feature of the line
 * (SIZE_MAX before the first) and becomes this one. */
static bmlp_status_t parse_pair(libsvm_reader_t *r, size_t token, const char *pair, size_t *prev)
{
    const char *colon = strchr(pair, ':');
    size_t index = 0;
    size_t feature = 0;
    float value = 0.0f;
    bmlp_status_t status;

    if (colon == NULL)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, r->text.number, token, pair,
                         "malformed pair, expected INDEX:VALUE such as 3:0.5");
    status = parse_index(r, token, pair, (size_t)(colon - pair), &index);
    if (status == BMLP_OK)
        status = check_feature(r, token, pair, index, *prev, &feature);
    if (status != BMLP_OK)
        return status;
    /* The value runs from the colon to the end of the token, which next_token terminated. */
    status = parse_value(r, token, pair, colon + 1, &value);
    if (status == BMLP_OK)
        status = reserve_pair(r);
    if (status != BMLP_OK)
        return status;
    r->feature[r->n_pairs] = (uint32_t)feature;
    r->value[r->n_pairs] = value;
    r->n_pairs++;
    if (feature + 1 > r->n_features)
        r->n_features = feature + 1;
    *prev = feature;
    return BMLP_OK;
}

/* Parses the current line, which has at least one token after its comment is cut. */
static bmlp_status_t parse_sample(libsvm_reader_t *r, char *cursor, char *label)
{
    size_t prev = SIZE_MAX;
    size_t token = 1;
    size_t first_pair = r->n_pairs;
    bmlp_status_t status = reserve_row(r);
    char *pair;

    if (status == BMLP_OK)
        status = parse_label(r, label, &r->y[r->n_rows]);
    while (status == BMLP_OK && (pair = next_token(&cursor)) != NULL)
        status = parse_pair(r, ++token, pair, &prev);
    if (status != BMLP_OK) {
        r->n_pairs = first_pair;
        return status;
    }
    r->row_end[r->n_rows] = r->n_pairs;
    r->n_rows++;
    return BMLP_OK;
}

/* Handles one line: checks its bytes, cuts its comment and parses what is left, if anything. */
static bmlp_status_t take_line(libsvm_reader_t *r)
{
    bmlp_status_t status = check_line_bytes(r);
    char *hash;
    char *cursor = r->text.text;
    char *label;

    if (status != BMLP_OK)
        return status;
    hash = strchr(r->text.text, '#');
    if (hash != NULL)
        *hash = '\0';
    label = next_token(&cursor);
    if (label == NULL)
        return BMLP_OK; /* blank or comment-only line */
    return parse_sample(r, cursor, label);
}

static bmlp_status_t read_all(libsvm_reader_t *r)
{
    int got;

    while ((got = bmlp_text_line_read(&r->text, r->err)) > 0) {
        bmlp_status_t status = take_line(r);

        if (status != BMLP_OK)
            return status;
    }
    if (got < 0)
        return (bmlp_status_t)got;
    if (r->n_rows == 0)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, 0, 0, NULL,
                         "file has no samples (only blank or comment lines, or nothing)");
    return BMLP_OK;
}

/* Parses under the "C" locale, so the decimal point is '.' whatever locale the program has set.
 */
static bmlp_status_t read_all_in_c_locale(libsvm_reader_t *r)
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

/* Rejects a dense dataset larger than physical memory. calloc alone would not, because with
 * memory overcommit it returns such a block, and the program is killed once training touches
 * it. The message names where the feature count came from, which is usually what is wrong. */
static bmlp_status_t check_dense_size(libsvm_reader_t *r, size_t d)
{
    const double gib = 1024.0 * 1024.0 * 1024.0;
    double bytes = (double)r->n_rows * (double)d * sizeof(float);
    double memory = bmlp_physical_memory();

    if (memory == 0.0 || bytes <= memory)
        return BMLP_OK;
    if (r->opt->n_features > 0)
        return bmlp_fail(r->err, BMLP_ERR_NO_MEMORY, r->path, 0, 0, NULL,
                         "the dense dataset of %zu samples x %zu declared features needs %.1f "
                         "GiB, more than the %.1f GiB of memory of this machine; declare fewer "
                         "features (n_features, --features in bmlp)",
                         r->n_rows, d, bytes / gib, memory / gib);
    return bmlp_fail(r->err, BMLP_ERR_NO_MEMORY, r->path, 0, 0, NULL,
                     "the dense dataset of %zu samples x %zu features needs %.1f GiB, more than "
                     "the %.1f GiB of memory of this machine; the largest index in the file, "
                     "%zu, sets the feature count",
                     r->n_rows, d, bytes / gib, memory / gib, r->opt->zero_based ? d - 1 : d);
}

/* Expands the sparse rows into ds. calloc provides the zeros of the features that the file
 * leaves out, and glibc's calloc maps large blocks as fresh zero pages without touching them.
 * Until here, memory grew only with the file's samples and pairs. */
static bmlp_status_t densify(libsvm_reader_t *r, bmlp_dataset_t *ds)
{
    size_t d = r->opt->n_features > 0 ? r->opt->n_features : r->n_features;
    size_t start = 0;
    bmlp_status_t status;
    float *x;
    float *y;

    if (d == 0)
        return bmlp_fail(r->err, BMLP_ERR_PARSE, r->path, 0, 0, NULL,
                         "no line has an index:value pair, so the feature count is unknown "
                         "(declare it with n_features, --features in bmlp)");
    status = check_dense_size(r, d);
    if (status != BMLP_OK)
        return status;
    /* n_rows <= 2^34 and d <= 2^20, so the product cannot overflow a 64-bit size_t. */
    x = calloc(r->n_rows * d, sizeof(float));
    if (x == NULL)
        return bmlp_fail(r->err, BMLP_ERR_NO_MEMORY, r->path, 0, 0, NULL,
                         "cannot allocate the dense dataset of %zu samples x %zu features "
                         "(%.1f GiB)",
                         r->n_rows, d,
                         (double)r->n_rows * (double)d * sizeof(float) / 1073741824.0);
    for (size_t i = 0; i < r->n_rows; i++) {
        for (size_t k = start; k < r->row_end[i]; k++)
            x[i * d + r->feature[k]] = r->value[k];
        start = r->row_end[i];
    }
    /* Shrinking y only tries to return spare capacity, and a failed shrink keeps the old block. */
    y = realloc(r->y, r->n_rows * sizeof(float));
    if (y != NULL)
        r->y = y;
    ds->x = x;
    ds->y = r->y;
    ds->n_samples = r->n_rows;
    ds->n_features = d;
    r->y = NULL;
    return BMLP_OK;
}

bmlp_status_t bmlp_libsvm_load(const char *path, const bmlp_libsvm_options_t *opt,
                               bmlp_dataset_t *ds, bmlp_error_t *err)
{
    libsvm_reader_t r;
    bmlp_status_t status;

    if (ds != NULL)
        memset(ds, 0, sizeof(*ds));
    if (path == NULL || opt == NULL || ds == NULL)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "bmlp_libsvm_load needs a path, options and a dataset");
    if (opt->n_features > BMLP_MAX_FEATURES)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, path, 0, 0, NULL,
                         "declared feature count %zu is out of range (0 to infer, or 1 to %zu)",
                         opt->n_features, BMLP_MAX_FEATURES);
    memset(&r, 0, sizeof(r));
    r.path = path;
    r.opt = opt;
    r.err = err;
    r.text.path = path;
    r.text.format = "LIBSVM";
    r.text.file = fopen(path, "rb");
    if (r.text.file == NULL)
        return bmlp_fail(err, BMLP_ERR_IO, path, 0, 0, NULL, "cannot open for reading: %s",
                         strerror(errno));

    status = read_all_in_c_locale(&r);
    if (status == BMLP_OK)
        status = densify(&r, ds);
    fclose(r.text.file);
    free(r.text.text);
    free(r.y);
    free(r.row_end);
    free(r.feature);
    free(r.value);
    return status;
}
