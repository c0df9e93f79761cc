/* The NPY loader: a 2-D little-endian float32 or float64 array, mapped with mmap and converted
 * to a dataset whose label is the last column. docs/npy-format.md describes what is accepted. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bmlp/dataset.h"
#include "error.h"
#include "npy.h"

_Static_assert(sizeof(float) == 4 && sizeof(double) == 8,
               "NPY '<f4' and '<f8' data are read as IEEE 754 float and double");

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_SIZE 6
#define NPY_MAX_DIMS 32 /* dimensions counted in a shape; more are rejected */

/* The header text being parsed and what it declared. Offsets in messages are file offsets. */
typedef struct header_parser {
    const char *text;   /* header text, without its final newline */
    size_t length;      /* bytes in text */
    size_t pos;         /* next byte of text to parse */
    size_t text_offset; /* file offset of text[0] */
    size_t dict_pos;    /* position in text of the '{' that opens the dictionary */
    const char *path;
    bmlp_error_t *err;
    int have_descr;
    int have_fortran_order;
    int have_shape;
    size_t item_size;
    size_t n_dims;
    uint64_t dims[NPY_MAX_DIMS];
} header_parser_t;

/* ---- little-endian decoding ---- */

static uint64_t get_le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = n; i > 0; i--)
        v = (v << 8) | p[i - 1];
    return v;
}

static double get_element(const unsigned char *p, size_t item_size)
{
    uint64_t bits = get_le(p, item_size);

    if (item_size == 4) {
        uint32_t bits32 = (uint32_t)bits;
        float f;

        memcpy(&f, &bits32, sizeof(f));
        return (double)f;
    }
    {
        double d;

        memcpy(&d, &bits, sizeof(d));
        return d;
    }
}

/* ---- header text ---- */

static int is_word_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* Returns n less the spaces and tabs that end t[0 .. n). */
static size_t trim_blanks(const char *t, size_t n)
{
    while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'))
        n--;
    return n;
}

/* Finds the token at pos that an error shows as its value. Returns its length and stores its
 * first byte at *start. The token is the text between the quotes of a quoted string, a word, a
 * number with an optional sign, or else up to 20 bytes, and at most 40 bytes in every case. An
 * unterminated string and the 20-byte fallback drop trailing blanks, so that the value does not
 * show the header's padding. */
static size_t token_span(const header_parser_t *h, size_t pos, size_t *start)
{
    const char *t = h->text + pos;
    size_t left = h->length - pos;
    size_t n = 1;

    *start = pos;
    if (left == 0)
        return 0;
    if (t[0] == '\'' || t[0] == '"') {
        *start = pos + 1;
        while (n < left && n <= 40 && t[n] != t[0])
            n++;
        if (n < left && t[n] == t[0])
            return n - 1;
        return trim_blanks(t + 1, n - 1); /* no quote closes the string within 40 bytes */
    }
    if ((t[0] == '-' || t[0] == '+') && left > 1 && is_word_char(t[1]))
        n = 2;
    if (is_word_char(t[n - 1])) {
        while (n < left && n < 40 && is_word_char(t[n]))
            n++;
        return n;
    }
    return trim_blanks(t, left < 20 ? left : 20);
}

/* Fails with a message about the header text at pos, showing the token there as the value. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static bmlp_status_t
header_fail(const header_parser_t *h, size_t pos, const char *fmt, ...)
{
    char what[200];
    char shown[41];
    size_t start;
    size_t n = token_span(h, pos, &start);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    memcpy(shown, h->text + start, n);
    shown[n] = '\0';
    return bmlp_fail(h->err, BMLP_ERR_PARSE, h->path, 0, 0, n > 0 ? shown : NULL,
                     "invalid NPY header at byte offset %zu: %s", h->text_offset + pos, what);
}

static int at_end(const header_parser_t *h)
{
    return h->pos >= h->length;
}

static char peek(const header_parser_t *h)
{
    return at_end(h) ? '\0' : h->text[h->pos];
}

static void skip_space(header_parser_t *h)
{
    while (peek(h) == ' ' || peek(h) == '\t')
        h->pos++;
}

static bmlp_status_t expect_char(header_parser_t *h, char c, const char *context)
{
    skip_space(h);
    if (peek(h) != c)
        return header_fail(h, h->pos, "expected '%c' %s", c, context);
    h->pos++;
    return BMLP_OK;
}

/* Parses a quoted string without escapes into [*start, *start + *length) of text. */
static bmlp_status_t parse_string(header_parser_t *h, size_t *start, size_t *length)
{
    size_t open = h->pos;
    char quote = peek(h);

    if (quote != '\'' && quote != '"')
        return header_fail(h, open, "expected a quoted string");
    for (h->pos = open + 1; !at_end(h) && h->text[h->pos] != quote; h->pos++) {
        if (h->text[h->pos] == '\\')
            return header_fail(h, h->pos, "escape sequences in strings are not supported");
    }
    if (at_end(h))
        return header_fail(h, open, "string is not terminated");
    *start = open + 1;
    *length = h->pos - open - 1;
    h->pos++;
    return BMLP_OK;
}

static int text_equals(const header_parser_t *h, size_t start, size_t length, const char *word)
{
    return strlen(word) == length && memcmp(h->text + start, word, length) == 0;
}

/* Accepts '<f4' and '<f8' and explains why other dtypes are rejected. */
static bmlp_status_t parse_descr(header_parser_t *h)
{
    size_t at = h->pos;
    size_t start;
    size_t length;
    bmlp_status_t st;

    if (peek(h) == '[')
        return header_fail(h, at,
                           "structured arrays are not supported; expected 'descr' to be "
                           "'<f4' (float32) or '<f8' (float64)");
    st = parse_string(h, &start, &length);
    if (st != BMLP_OK)
        return st;
    if (text_equals(h, start, length, "<f4") || text_equals(h, start, length, "<f8")) {
        h->item_size = h->text[start + 2] == '4' ? 4 : 8;
        return BMLP_OK;
    }
    if (text_equals(h, start, length, ">f4") || text_equals(h, start, length, ">f8"))
        return header_fail(h, at,
                           "big-endian data is not supported; convert the array with "
                           "astype('<f4') or astype('<f8') before saving");
    return header_fail(h, at,
                       "dtype is not supported; expected '<f4' (little-endian float32) "
                       "or '<f8' (little-endian float64)");
}

/* Accepts False and rejects True, because only C-order arrays are read. */
static bmlp_status_t parse_fortran_order(header_parser_t *h)
{
    const char *rest = h->text + h->pos;
    size_t left = h->length - h->pos;

    if (left >= 5 && memcmp(rest, "False", 5) == 0) {
        h->pos += 5;
        return BMLP_OK;
    }
    if (left >= 4 && memcmp(rest, "True", 4) == 0)
        return header_fail(h, h->pos,
                           "Fortran-order (column-major) arrays are not supported; save a "
                           "C-order array, for example np.ascontiguousarray(a)");
    return header_fail(h, h->pos, "expected True or False for 'fortran_order'");
}

/* Parses a non-negative integer with an optional L suffix, which Python 2 versions of NumPy
 * wrote after each dimension. */
static bmlp_status_t parse_dimension(header_parser_t *h, uint64_t *out)
{
    size_t start = h->pos;
    uint64_t v = 0;

    if (peek(h) < '0' || peek(h) > '9')
        return header_fail(h, start, "expected a non-negative integer in 'shape'");
    while (peek(h) >= '0' && peek(h) <= '9') {
        unsigned digit = (unsigned)(peek(h) - '0');

        if (v > (UINT64_MAX - digit) / 10)
            return header_fail(h, start, "dimension does not fit in 64 bits");
        v = v * 10 + digit;
        h->pos++;
    }
    if (peek(h) == 'L')
        h->pos++;
    *out = v;
    return BMLP_OK;
}

/* Parses a tuple of dimensions: "()", "(3,)", "(3, 4)" or "(3, 4,)". */
static bmlp_status_t parse_shape(header_parser_t *h)
{
    bmlp_status_t st = expect_char(h, '(', "to start the 'shape' tuple");

    h->n_dims = 0;
    while (st == BMLP_OK) {
        uint64_t dim = 0;

        skip_space(h);
        if (peek(h) == ')')
            break;
        if (h->n_dims == NPY_MAX_DIMS)
            return header_fail(h, h->pos, "shape has more than %d dimensions", NPY_MAX_DIMS);
        st = parse_dimension(h, &dim);
        if (st != BMLP_OK)
            return st;
        h->dims[h->n_dims++] = dim;
        skip_space(h);
        if (peek(h) == ',')
            h->pos++;
        else if (peek(h) != ')')
            return header_fail(h, h->pos, "expected ',' or ')' in 'shape'");
    }
    if (st == BMLP_OK)
        h->pos++;
    return st;
}

/* Parses the value of the key at [start, start + length) and marks the key as seen. */
static bmlp_status_t parse_entry_value(header_parser_t *h, size_t key_at, size_t start,
                                       size_t length)
{
    int *seen;

    if (text_equals(h, start, length, "descr"))
        seen = &h->have_descr;
    else if (text_equals(h, start, length, "fortran_order"))
        seen = &h->have_fortran_order;
    else if (text_equals(h, start, length, "shape"))
        seen = &h->have_shape;
    else
        return header_fail(h, key_at,
                           "unknown key; expected only 'descr', 'fortran_order' "
                           "and 'shape'");
    if (*seen)
        return header_fail(h, key_at, "duplicate key");
    *seen = 1;
    skip_space(h);
    if (seen == &h->have_descr)
        return parse_descr(h);
    if (seen == &h->have_fortran_order)
        return parse_fortran_order(h);
    return parse_shape(h);
}

/* Parses one "'key': value" entry. */
static bmlp_status_t parse_entry(header_parser_t *h)
{
    size_t key_at;
    size_t start;
    size_t length;
    bmlp_status_t st;

    skip_space(h);
    key_at = h->pos;
    st = parse_string(h, &start, &length);
    if (st == BMLP_OK)
        st = expect_char(h, ':', "after the key");
    if (st == BMLP_OK)
        st = parse_entry_value(h, key_at, start, length);
    return st;
}

/* Parses "{entry, entry, ...}" with an optional trailing comma, then the space padding. */
static bmlp_status_t parse_dict(header_parser_t *h)
{
    bmlp_status_t st = expect_char(h, '{', "to start the header dictionary");

    if (st == BMLP_OK)
        h->dict_pos = h->pos - 1;
    while (st == BMLP_OK) {
        skip_space(h);
        if (peek(h) == '}')
            break;
        st = parse_entry(h);
        if (st != BMLP_OK)
            return st;
        skip_space(h);
        if (peek(h) == ',')
            h->pos++;
        else if (peek(h) != '}')
            return header_fail(h, h->pos, "expected ',' or '}' after a dictionary entry");
    }
    if (st != BMLP_OK)
        return st;
    h->pos++;
    while (peek(h) == ' ')
        h->pos++;
    if (!at_end(h))
        return header_fail(h, h->pos,
                           "unexpected text after the header dictionary (only "
                           "space padding and a newline may follow it)");
    return BMLP_OK;
}

/* Rejects control characters (other than tab) and bytes outside ASCII, which no accepted
 * header contains. */
static bmlp_status_t check_header_bytes(header_parser_t *h)
{
    for (size_t i = 0; i < h->length; i++) {
        unsigned char c = (unsigned char)h->text[i];

        if ((c < 0x20 && c != '\t') || c >= 0x7f)
            return bmlp_fail(h->err, BMLP_ERR_PARSE, h->path, 0, 0, NULL,
                             "invalid NPY header at byte offset %zu: byte 0x%02x is not "
                             "printable ASCII",
                             h->text_offset + i, c);
    }
    return BMLP_OK;
}

static bmlp_status_t check_keys(const header_parser_t *h)
{
    const char *missing = !h->have_descr           ? "descr"
                          : !h->have_fortran_order ? "fortran_order"
                          : !h->have_shape         ? "shape"
                                                   : NULL;

    if (missing != NULL)
        return bmlp_fail(h->err, BMLP_ERR_PARSE, h->path, 0, 0, NULL,
                         "invalid NPY header at byte offset %zu: key '%s' is missing",
                         h->text_offset + h->dict_pos, missing);
    return BMLP_OK;
}

/* ---- preamble, shape and size ---- */

/* Checks the magic and version and finds the header text. */
static bmlp_status_t parse_preamble(const bmlp_npy_map_t *map, header_parser_t *h)
{
    const unsigned char *p = map->base;
    size_t size = map->file_size;
    size_t n = size < NPY_MAGIC_SIZE ? size : NPY_MAGIC_SIZE;
    size_t length_bytes;
    uint64_t header_length;

    if (memcmp(p, NPY_MAGIC, n) != 0)
        return bmlp_fail(h->err, BMLP_ERR_PARSE, h->path, 0, 0, NULL,
                         "not an NPY file: it does not start with \\x93NUMPY");
    if (size < NPY_MAGIC_SIZE + 2)
        return bmlp_fail(h->err, BMLP_ERR_PARSE, h->path, 0, 0, NULL,
                         "truncated: file ends after %zu bytes, inside the NPY preamble", size);
    if (p[6] < 1 || p[6] > 3 || p[7] != 0) {
        char version[16];

        snprintf(version, sizeof(version), "%u.%u", p[6], p[7]);
        return bmlp_fail(h->err, BMLP_ERR_PARSE, h->path, 0, 0, version,
                         "NPY format version %u.%u is not supported (expected 1.0, 2.0 or 3.0)",
                         p[6], p[7]);
    }
    length_bytes = p[6] == 1 ? 2 : 4;
    if (size < NPY_MAGIC_SIZE + 2 + length_bytes)
        return bmlp_fail(h->err, BMLP_ERR_PARSE, h->path, 0, 0, NULL,
                         "truncated: file ends after %zu bytes, inside the NPY preamble", size);
    header_length = get_le(p + 8, length_bytes);
    h->text_offset = NPY_MAGIC_SIZE + 2 + length_bytes;
    if (header_length > size - h->text_offset)
        return bmlp_fail(h->err, BMLP_ERR_PARSE, h->path, 0, 0, NULL,
                         "truncated: the header needs %" PRIu64 " bytes after byte offset %zu, "
                         "file has %zu bytes",
                         header_length, h->text_offset, size);
    if (header_length == 0)
        return bmlp_fail(h->err, BMLP_ERR_PARSE, h->path, 0, 0, NULL,
                         "invalid NPY header: its length is 0");
    if (p[h->text_offset + header_length - 1] != '\n')
        return bmlp_fail(h->err, BMLP_ERR_PARSE, h->path, 0, 0, NULL,
                         "invalid NPY header: byte offset %" PRIu64 " ends the header but is "
                         "not a newline",
                         h->text_offset + header_length - 1);
    h->text = (const char *)p + h->text_offset;
    h->length = (size_t)header_length - 1;
    return BMLP_OK;
}

/* The expected shape, which every shape error message states. */
#define EXPECTED_SHAPE "expected a 2-D array (samples, features + 1) whose last column is the label"

/* Writes the shape as Python prints a tuple, "()", "(3,)" or "(3, 4)", into buf. A shape too
 * long for buf ends in ", ...)". */
static void format_shape(const header_parser_t *h, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "(");

    for (size_t i = 0; i < h->n_dims; i++) {
        char dim[32];
        int length = snprintf(dim, sizeof(dim), "%s%" PRIu64, i > 0 ? ", " : "", h->dims[i]);

        /* Keep room for ", ...)" and the terminating NUL. */
        if (used + (size_t)length + 7 > size) {
            snprintf(buf + used, size - used, ", ...)");
            return;
        }
        memcpy(buf + used, dim, (size_t)length + 1);
        used += (size_t)length;
    }
    snprintf(buf + used, size - used, "%s)", h->n_dims == 1 ? "," : "");
}

/* Checks that the shape is (samples, features + 1) within the library's limits. Each message
 * shows the shape and states what is wrong with it and what is expected. */
static bmlp_status_t check_shape(const header_parser_t *h)
{
    char shape[96];

    format_shape(h, shape, sizeof(shape));
    if (h->n_dims == 0)
        return bmlp_fail(h->err, BMLP_ERR_PARSE, h->path, 0, 0, NULL,
                         "shape %s is a single value (0-D); " EXPECTED_SHAPE, shape);
    if (h->n_dims != 2)
        return bmlp_fail(h->err, BMLP_ERR_PARSE, h->path, 0, 0, NULL, "shape %s is %zu-D; %s",
                         shape, h->n_dims,
                         h->n_dims == 1 ? EXPECTED_SHAPE
                                        : EXPECTED_SHAPE ", so reshape it to 2-D before saving");
    if (h->dims[0] == 0)
        return bmlp_fail(h->err, BMLP_ERR_PARSE, h->path, 0, 0, NULL,
                         "shape %s has no rows; expected at least one sample", shape);
    if (h->dims[1] == 0)
        return bmlp_fail(h->err, BMLP_ERR_PARSE, h->path, 0, 0, NULL,
                         "shape %s has no columns; " EXPECTED_SHAPE, shape);
    if (h->dims[1] == 1)
        return bmlp_fail(h->err, BMLP_ERR_PARSE, h->path, 0, 0, NULL,
                         "shape %s has one column, which leaves no features beside the label; "
                         "expected at least one feature column before the label column",
                         shape);
    if (h->dims[0] > BMLP_MAX_SAMPLES)
        return bmlp_fail(h->err, BMLP_ERR_PARSE, h->path, 0, 0, NULL,
                         "shape %s has more rows than the maximum of %zu samples", shape,
                         BMLP_MAX_SAMPLES);
    if (h->dims[1] - 1 > BMLP_MAX_FEATURES)
        return bmlp_fail(h->err, BMLP_ERR_PARSE, h->path, 0, 0, NULL,
                         "shape %s has more columns than the maximum of %zu features plus the "
                         "label",
                         shape, BMLP_MAX_FEATURES);
    return BMLP_OK;
}

/* Compares the file size with the size that the header declares. The shape limits keep the
 * product below 2^58, so it cannot overflow. */
static bmlp_status_t check_file_size(bmlp_npy_map_t *map, const header_parser_t *h)
{
    uint64_t data_size = h->dims[0] * h->dims[1] * h->item_size;
    uint64_t data_offset = h->text_offset + h->length + 1;
    uint64_t expected = data_offset + data_size;

    if (map->file_size != expected)
        return bmlp_fail(h->err, BMLP_ERR_PARSE, h->path, 0, 0, NULL,
                         "%s: expected %" PRIu64 " bytes (header %" PRIu64 " + %" PRIu64
                         " rows x %" PRIu64 " columns x %zu bytes), file has %zu",
                         map->file_size < expected ? "truncated" : "trailing bytes", expected,
                         data_offset, h->dims[0], h->dims[1], h->item_size, map->file_size);
    map->data_offset = (size_t)data_offset;
    map->item_size = h->item_size;
    map->rows = (size_t)h->dims[0];
    map->cols = (size_t)h->dims[1];
    map->version = map->base[6];
    return BMLP_OK;
}

static bmlp_status_t parse_file(bmlp_npy_map_t *map, bmlp_error_t *err)
{
    header_parser_t h;
    bmlp_status_t st;

    memset(&h, 0, sizeof(h));
    h.path = map->path;
    h.err = err;
    st = parse_preamble(map, &h);
    if (st == BMLP_OK)
        st = check_header_bytes(&h);
    if (st == BMLP_OK)
        st = parse_dict(&h);
    if (st == BMLP_OK)
        st = check_keys(&h);
    if (st == BMLP_OK)
        st = check_shape(&h);
    if (st == BMLP_OK)
        st = check_file_size(map, &h);
    return st;
}

/* ---- mapping ---- */

/* Maps the whole file read-only into map->base. The file is opened without blocking, so that a
 * FIFO is rejected as not a regular file instead of waiting for a writer. */
static bmlp_status_t map_file(const char *path, bmlp_npy_map_t *map, bmlp_error_t *err)
{
    struct stat info;
    void *base;
    int fd = open(path, O_RDONLY | O_NONBLOCK);

    if (fd < 0)
        return bmlp_fail(err, BMLP_ERR_IO, path, 0, 0, NULL, "cannot open for reading: %s",
                         strerror(errno));
    if (fstat(fd, &info) != 0) {
        int saved = errno;

        close(fd);
        return bmlp_fail(err, BMLP_ERR_IO, path, 0, 0, NULL, "cannot stat: %s", strerror(saved));
    }
    if (!S_ISREG(info.st_mode)) {
        close(fd);
        return bmlp_fail(err, BMLP_ERR_IO, path, 0, 0, NULL,
                         "not a regular file (NPY files are read through mmap)");
    }
    if (info.st_size == 0) {
        close(fd);
        return bmlp_fail(err, BMLP_ERR_PARSE, path, 0, 0, NULL,
                         "not an NPY file: the file is empty");
    }
    base = mmap(NULL, (size_t)info.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    /* The mapping keeps its own reference to the file, so fd is no longer needed. */
    close(fd);
    if (base == MAP_FAILED)
        return bmlp_fail(err, errno == ENOMEM ? BMLP_ERR_NO_MEMORY : BMLP_ERR_IO, path, 0, 0, NULL,
                         "cannot map %jd bytes: %s", (intmax_t)info.st_size, strerror(errno));
    map->base = base;
    map->file_size = (size_t)info.st_size;
    return BMLP_OK;
}

bmlp_status_t bmlp_npy_map(const char *path, bmlp_npy_map_t *map, bmlp_error_t *err)
{
    bmlp_status_t st;

    if (map != NULL)
        memset(map, 0, sizeof(*map));
    if (path == NULL || map == NULL)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "bmlp_npy_map needs a path and a map");
    map->path = path;
    st = map_file(path, map, err);
    if (st == BMLP_OK)
        st = parse_file(map, err);
    if (st != BMLP_OK) {
        bmlp_npy_unmap(map);
        return st;
    }
    /* Loaders read the data once from start to end. The advice only tunes read-ahead. */
    posix_madvise((void *)map->base, map->file_size, POSIX_MADV_SEQUENTIAL);
    return BMLP_OK;
}

void bmlp_npy_unmap(bmlp_npy_map_t *map)
{
    if (map == NULL)
        return;
    if (map->base != NULL)
        munmap((void *)map->base, map->file_size);
    memset(map, 0, sizeof(*map));
}

/* ---- values ---- */

/* Fails for the element at row, col (both 0-based) whose bytes start at offset. */
static bmlp_status_t fail_element(const bmlp_npy_map_t *map, size_t row, size_t col, size_t offset,
                                  double v, const char *what, bmlp_error_t *err)
{
    char text[32];

    /* 9 significant digits identify a float32, 17 a float64. */
    snprintf(text, sizeof(text), "%.*g", map->item_size == 4 ? 9 : 17, v);
    return bmlp_fail(err, BMLP_ERR_PARSE, map->path, 0, 0, text,
                     "row %zu, column %zu (byte offset %zu): %s", row + 1, col + 1, offset, what);
}

/* Converts one feature to float32, rejecting NaN, infinities and float32 overflow. */
static bmlp_status_t convert_feature(const bmlp_npy_map_t *map, size_t row, size_t col,
                                     size_t offset, float *out, bmlp_error_t *err)
{
    double v = get_element(map->base + offset, map->item_size);
    float f;

    if (isnan(v))
        return fail_element(map, row, col, offset, v, "NaN is not accepted", err);
    if (isinf(v))
        return fail_element(map, row, col, offset, v, "infinity is not accepted", err);
    /* Under IEEE 754 arithmetic (C11 Annex F) a finite double that rounds past FLT_MAX becomes
     * infinite here. */
    f = (float)v;
    if (isinf(f))
        return fail_element(map, row, col, offset, v,
                            "number is too large for float32 (largest magnitude "
                            "3.40282347e+38)",
                            err);
    *out = f;
    return BMLP_OK;
}

static bmlp_status_t convert_label(const bmlp_npy_map_t *map, size_t row, size_t offset, float *out,
                                   bmlp_error_t *err)
{
    double v = get_element(map->base + offset, map->item_size);

    if (v == 0.0 || v == 1.0) {
        *out = v == 1.0 ? 1.0f : 0.0f; /* a label of -0.0 is stored as 0 */
        return BMLP_OK;
    }
    return fail_element(map, row, map->cols - 1, offset, v,
                        "invalid label, expected 0 or 1 in the last column", err);
}

bmlp_status_t bmlp_npy_read_rows(const bmlp_npy_map_t *map, size_t first, size_t count, float *x,
                                 float *y, bmlp_error_t *err)
{
    size_t d = map->cols - 1;

    if (first > map->rows || count > map->rows - first)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, map->path, 0, 0, NULL,
                         "rows %zu to %zu requested, the array has %zu", first + 1, first + count,
                         map->rows);
    for (size_t i = 0; i < count; i++) {
        size_t row = first + i;
        size_t offset = map->data_offset + row * map->cols * map->item_size;
        bmlp_status_t st;

        for (size_t j = 0; j < d; j++, offset += map->item_size) {
            st = convert_feature(map, row, j, offset, &x[i * d + j], err);
            if (st != BMLP_OK)
                return st;
        }
        st = convert_label(map, row, offset, &y[i], err);
        if (st != BMLP_OK)
            return st;
    }
    return BMLP_OK;
}

/* ---- load ---- */

bmlp_status_t bmlp_npy_load(const char *path, bmlp_dataset_t *ds, bmlp_error_t *err)
{
    bmlp_npy_map_t map;
    bmlp_status_t st;

    if (ds != NULL)
        memset(ds, 0, sizeof(*ds));
    if (path == NULL || ds == NULL)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "bmlp_npy_load needs a path and a dataset");
    st = bmlp_npy_map(path, &map, err);
    if (st != BMLP_OK)
        return st;
    st = bmlp_dataset_alloc(ds, map.rows, map.cols - 1, err);
    if (st == BMLP_OK)
        st = bmlp_npy_read_rows(&map, 0, map.rows, ds->x, ds->y, err);
    if (st != BMLP_OK)
        bmlp_dataset_free(ds);
    bmlp_npy_unmap(&map);
    return st;
}

/* ---- writing ---- */

size_t bmlp_npy_format_header(size_t rows, size_t cols, unsigned char *buf, size_t size)
{
    char dict[112];
    int n = snprintf(dict, sizeof(dict),
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }", rows, cols);
    size_t used;
    size_t total;

    if (n < 0 || (size_t)n >= sizeof(dict))
        return 0;
    used = NPY_MAGIC_SIZE + 2 + 2 + (size_t)n + 1; /* preamble, dictionary, newline */
    total = (used + 63) / 64 * 64;
    if (total > size)
        return 0;
    memcpy(buf, NPY_MAGIC, NPY_MAGIC_SIZE);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (unsigned char)((total - 10) & 0xff);
    buf[9] = (unsigned char)((total - 10) >> 8);
    memcpy(buf + 10, dict, (size_t)n);
    memset(buf + 10 + n, ' ', total - 10 - (size_t)n - 1);
    buf[total - 1] = '\n';
    return total;
}
