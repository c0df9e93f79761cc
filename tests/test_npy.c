/* Tests of the NPY loader and its mapping API on the fixtures in tests/data/npy/, which
 * tests/data/npy/make_fixtures.py writes with NumPy or byte by byte, and on header-only files
 * that the tests write to /tmp. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bmlp/dataset.h"
#include "npy.h"

#define NPY_DIR BMLP_TEST_DATA_DIR "/npy/"
#define CSV_DIR BMLP_TEST_DATA_DIR "/csv/"

/* The array of the good_*.npy files: the samples of tests/data/csv/basic_lf.csv. */
static const float basic_x[] = {0.5f, -1.25f, 2.0f, 300.0f, -0.0f, 1e-3f};
static const float basic_y[] = {1.0f, 0.0f, 1.0f};

/* Size of the header that NumPy writes for these small arrays, and the byte offset of element
 * (row, col) of a 3-column array of item_size bytes after it (both 0-based). */
#define NUMPY_HEADER_SIZE 128
#define ELEMENT_OFFSET(row, col, item_size) (NUMPY_HEADER_SIZE + ((row)*3 + (col)) * (item_size))

static void load_ok(const char *name, bmlp_dataset_t *ds)
{
    char path[1024];
    char text[1024];
    bmlp_error_t err;

    snprintf(path, sizeof(path), "%s%s", NPY_DIR, name);
    if (bmlp_npy_load(path, ds, &err) != BMLP_OK) {
        bmlp_error_format(&err, text, sizeof(text));
        fail_msg("loading %s failed: %s", name, text);
    }
}

/* Asserts that the fixture loads to basic_x and basic_y bit for bit. */
static void assert_loads_basic(const char *name)
{
    bmlp_dataset_t ds;

    load_ok(name, &ds);
    if (ds.n_samples != 3 || ds.n_features != 2)
        fail_msg("%s: %zu x %zu, expected 3 x 2", name, ds.n_samples, ds.n_features);
    if (memcmp(ds.x, basic_x, sizeof(basic_x)) != 0 || memcmp(ds.y, basic_y, sizeof(basic_y)))
        fail_msg("%s: values differ from the basic set", name);
    bmlp_dataset_free(&ds);
}

/* Expected outcome of loading a malformed fixture. Errors of NPY files have line and column
 * 0; the message carries the position. */
typedef struct bad_case {
    const char *name;
    const char *value;   /* expected err.value exactly */
    const char *message; /* a substring of err.message */
} bad_case_t;

/* Asserts that loading the file at path fails as c expects. c->name names the case in
 * failure messages. */
static void assert_fails_at(const char *path, const bad_case_t *c)
{
    bmlp_error_t err;
    bmlp_dataset_t ds;
    float sentinel = 0.0f;
    bmlp_status_t status;

    ds.n_samples = 99;
    ds.n_features = 99;
    ds.x = &sentinel;
    ds.y = &sentinel;
    status = bmlp_npy_load(path, &ds, &err);
    if (status != BMLP_ERR_PARSE || err.status != BMLP_ERR_PARSE)
        fail_msg("%s: status %d, expected BMLP_ERR_PARSE (%s)", c->name, status, err.message);
    if (strcmp(err.path, path) != 0)
        fail_msg("%s: error path '%s'", c->name, err.path);
    if (err.line != 0 || err.column != 0)
        fail_msg("%s: position %zu:%zu, expected 0:0", c->name, err.line, err.column);
    if (strcmp(err.value, c->value) != 0)
        fail_msg("%s: value '%s', expected '%s'", c->name, err.value, c->value);
    if (strstr(err.message, c->message) == NULL)
        fail_msg("%s: message '%s' does not contain '%s'", c->name, err.message, c->message);
    assert_null(ds.x);
    assert_null(ds.y);
    assert_int_equal(ds.n_samples, 0);
    assert_int_equal(ds.n_features, 0);
}

/* Asserts that loading the fixture c->name fails as c expects. */
static void assert_fails(const bad_case_t *c)
{
    char path[1024];

    snprintf(path, sizeof(path), "%s%s", NPY_DIR, c->name);
    assert_fails_at(path, c);
}

static void assert_all_fail(const bad_case_t *cases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_fails(&cases[i]);
}

/* Versions 1.0, 2.0 and 3.0, float32 and float64, NumPy's header and hand-made ones (Python 2
 * style, unaligned data) all give the same dataset. */
static void npy_versions_and_dtypes_match(void **state)
{
    static const char *const names[] = {
        "good_f4_v1.npy", "good_f8_v1.npy",          "good_f4_v2.npy",
        "good_f8_v3.npy", "good_python2_header.npy", "good_unaligned.npy",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_loads_basic(names[i]);
}

static void npy_matches_csv(void **state)
{
    bmlp_csv_options_t opt;
    bmlp_dataset_t npy, csv;
    bmlp_error_t err;

    (void)state;
    bmlp_csv_options_default(&opt);
    load_ok("good_f4_v1.npy", &npy);
    assert_int_equal(bmlp_csv_load(CSV_DIR "basic_lf.csv", &opt, &csv, &err), BMLP_OK);
    assert_int_equal(npy.n_samples, csv.n_samples);
    assert_int_equal(npy.n_features, csv.n_features);
    assert_memory_equal(npy.x, csv.x, sizeof(basic_x));
    assert_memory_equal(npy.y, csv.y, sizeof(basic_y));
    bmlp_dataset_free(&npy);
    bmlp_dataset_free(&csv);
}

/* A label of -0.0 is class 0, stored as +0.0. */
static void npy_negative_zero_label(void **state)
{
    bmlp_dataset_t ds;

    (void)state;
    load_ok("good_negative_zero_label.npy", &ds);
    assert_memory_equal(ds.y, basic_y, sizeof(basic_y));
    bmlp_dataset_free(&ds);
}

static void npy_map_reports_layout(void **state)
{
    bmlp_npy_map_t map;
    bmlp_error_t err;

    (void)state;
    assert_int_equal(bmlp_npy_map(NPY_DIR "good_f4_v1.npy", &map, &err), BMLP_OK);
    assert_non_null(map.base);
    assert_int_equal(map.file_size, NUMPY_HEADER_SIZE + 9 * 4);
    assert_int_equal(map.data_offset, NUMPY_HEADER_SIZE);
    assert_int_equal(map.item_size, 4);
    assert_int_equal(map.rows, 3);
    assert_int_equal(map.cols, 3);
    assert_int_equal(map.version, 1);
    bmlp_npy_unmap(&map);
    assert_null(map.base);

    assert_int_equal(bmlp_npy_map(NPY_DIR "good_unaligned.npy", &map, &err), BMLP_OK);
    assert_int_equal(map.data_offset, 66);
    assert_int_equal(map.item_size, 8);
    bmlp_npy_unmap(&map);

    assert_int_equal(bmlp_npy_map(NPY_DIR "good_f8_v3.npy", &map, &err), BMLP_OK);
    assert_int_equal(map.version, 3);
    bmlp_npy_unmap(&map);
}

/* bmlp_npy_read_rows converts any range of rows and rejects one past the end. */
static void npy_read_rows_range(void **state)
{
    bmlp_npy_map_t map;
    bmlp_error_t err;
    float x[4], y[2];

    (void)state;
    assert_int_equal(bmlp_npy_map(NPY_DIR "good_f8_v1.npy", &map, &err), BMLP_OK);
    assert_int_equal(bmlp_npy_read_rows(&map, 1, 2, x, y, &err), BMLP_OK);
    assert_memory_equal(x, basic_x + 2, sizeof(x));
    assert_memory_equal(y, basic_y + 1, sizeof(y));
    assert_int_equal(bmlp_npy_read_rows(&map, 2, 2, x, y, &err), BMLP_ERR_INVALID_ARGUMENT);
    assert_int_equal(bmlp_npy_read_rows(&map, 3, 0, x, y, &err), BMLP_OK);
    bmlp_npy_unmap(&map);
}

/* A failed map leaves nothing mapped and the map zeroed. */
static void npy_map_failure_zeroes(void **state)
{
    bmlp_npy_map_t map;
    bmlp_error_t err;

    (void)state;
    memset(&map, 0x5a, sizeof(map));
    assert_int_equal(bmlp_npy_map(NPY_DIR "bad_truncated.npy", &map, &err), BMLP_ERR_PARSE);
    assert_null(map.base);
    assert_int_equal(map.rows, 0);
    bmlp_npy_unmap(&map);
}

/* The header that bmlp gen writes is byte for byte the one NumPy 1.24 wrote for the same
 * shape. */
static void npy_header_matches_numpy(void **state)
{
    unsigned char header[128];
    unsigned char numpy_header[NUMPY_HEADER_SIZE];
    FILE *f;

    (void)state;
    f = fopen(NPY_DIR "good_f4_v1.npy", "rb");
    assert_non_null(f);
    assert_int_equal(fread(numpy_header, 1, sizeof(numpy_header), f), sizeof(numpy_header));
    fclose(f);
    assert_int_equal(bmlp_npy_format_header(3, 3, header, sizeof(header)), NUMPY_HEADER_SIZE);
    assert_memory_equal(header, numpy_header, NUMPY_HEADER_SIZE);
    assert_int_equal(bmlp_npy_format_header(3, 3, header, 100), 0);
    /* The widest shape still fits in 128 bytes. */
    assert_int_equal(bmlp_npy_format_header(SIZE_MAX, SIZE_MAX, header, sizeof(header)), 128);
    assert_int_equal(header[127], '\n');
}

static void npy_preamble_errors(void **state)
{
    static const bad_case_t cases[] = {
        {"bad_empty.npy", "", "not an NPY file: the file is empty"},
        {"bad_magic.npy", "", "not an NPY file: it does not start with \\x93NUMPY"},
        {"bad_short.npy", "", "truncated: file ends after 4 bytes, inside the NPY preamble"},
        {"bad_version.npy", "4.0", "NPY format version 4.0 is not supported"},
        {"bad_header_truncated.npy", "",
         "truncated: the header needs 118 bytes after byte offset 10, file has 60 bytes"},
        {"bad_no_newline.npy", "", "byte offset 127 ends the header but is not a newline"},
    };

    (void)state;
    assert_all_fail(cases, sizeof(cases) / sizeof(cases[0]));
}

static void npy_dtype_errors(void **state)
{
    static const bad_case_t cases[] = {
        {"bad_big_endian.npy", ">f4", "byte offset 20: big-endian data is not supported"},
        {"bad_int32.npy", "<i4", "byte offset 20: dtype is not supported; expected '<f4'"},
        {"bad_float16.npy", "<f2", "dtype is not supported"},
        {"bad_structured.npy", "[('x', '<f4'), ('y',", "structured arrays are not supported"},
        {"bad_fortran.npy", "True",
         "byte offset 44: Fortran-order (column-major) arrays are not supported"},
    };

    (void)state;
    assert_all_fail(cases, sizeof(cases) / sizeof(cases[0]));
}

static void npy_header_syntax_errors(void **state)
{
    static const bad_case_t cases[] = {
        {"bad_unknown_key.npy", "extra", "unknown key"},
        {"bad_missing_key.npy", "", "byte offset 10: key 'fortran_order' is missing"},
        {"bad_duplicate_key.npy", "descr", "byte offset 27: duplicate key"},
        {"bad_non_ascii.npy", "", "byte offset 13: byte 0xe9 is not printable ASCII"},
        {"bad_after_dict.npy", "x", "unexpected text after the header dictionary"},
        {"bad_shape_text.npy", "three", "expected a non-negative integer in 'shape'"},
        {"bad_shape_huge.npy", "99999999999999999999", "dimension does not fit in 64 bits"},
        {"bad_fortran_value.npy", "0", "expected True or False for 'fortran_order'"},
    };

    (void)state;
    assert_all_fail(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Writes a version 1.0 NPY file with no data whose header is dict, padded with spaces and a
 * newline to NUMPY_HEADER_SIZE bytes, to a new file named from template (ending in XXXXXX). */
static void write_header_file(char *template, const char *dict)
{
    unsigned char file[NUMPY_HEADER_SIZE];
    size_t length = strlen(dict);
    int fd = mkstemp(template);

    assert_true(fd >= 0);
    assert_true(10 + length + 1 <= sizeof(file));
    memcpy(file, "\x93NUMPY\x01\x00", 8);
    file[8] = NUMPY_HEADER_SIZE - 10;
    file[9] = 0;
    memcpy(file + 10, dict, length);
    memset(file + 10 + length, ' ', sizeof(file) - 10 - length - 1);
    file[sizeof(file) - 1] = '\n';
    assert_int_equal(write(fd, file, sizeof(file)), sizeof(file));
    assert_int_equal(close(fd), 0);
}

/* Header errors show the offending token without its quotes or the header's space padding, and
 * give the byte offset where it starts. The header text starts at byte offset 10. */
static void npy_header_error_values(void **state)
{
    static const struct {
        const char *dict;
        bad_case_t expected;
    } cases[] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-4, 3), }",
         {"negative rows", "-4", "byte offset 61: expected a non-negative integer in 'shape'"}},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, -1), }",
         {"negative columns", "-1", "byte offset 64: expected a non-negative integer in 'shape'"}},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 3}",
         {"unclosed shape", "}", "byte offset 65: expected ',' or ')' in 'shape'"}},
        {"{'descr': '<f4",
         {"unterminated string", "<f4", "byte offset 20: string is not terminated"}},
        {"{\"descr\": \"<u1\", 'fortran_order': False, 'shape': (3, 3), }",
         {"double-quoted dtype", "<u1", "byte offset 20: dtype is not supported"}},
        {"{'fortran_order': True, 'descr': '<f4', 'shape': (3, 3), }",
         {"Fortran order first", "True",
          "byte offset 28: Fortran-order (column-major) arrays are not supported"}},
        {"  {'descr': '<f4', 'fortran_order': False, }",
         {"missing shape", "", "byte offset 12: key 'shape' is missing"}},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[] = "/tmp/bmlp-npy-XXXXXX";

        write_header_file(path, cases[i].dict);
        assert_fails_at(path, &cases[i].expected);
        unlink(path);
    }
}

/* Each shape error shows the shape as NumPy prints it and states what is wrong with it and
 * what is expected. */
static void npy_shape_errors(void **state)
{
    static const bad_case_t cases[] = {
        {"bad_0d.npy", "",
         "shape () is a single value (0-D); expected a 2-D array (samples, features + 1) whose "
         "last column is the label"},
        {"bad_1d.npy", "",
         "shape (3,) is 1-D; expected a 2-D array (samples, features + 1) whose last column is "
         "the label"},
        {"bad_3d.npy", "",
         "shape (3, 3, 1) is 3-D; expected a 2-D array (samples, features + 1) whose last column "
         "is the label, so reshape it to 2-D before saving"},
        {"bad_zero_rows.npy", "", "shape (0, 3) has no rows; expected at least one sample"},
        {"bad_zero_columns.npy", "",
         "shape (3, 0) has no columns; expected a 2-D array (samples, features + 1) whose last "
         "column is the label"},
        {"bad_one_column.npy", "",
         "shape (3, 1) has one column, which leaves no features beside the label; expected at "
         "least one feature column before the label column"},
        {"bad_too_many_rows.npy", "",
         "shape (17179869185, 3) has more rows than the maximum of 17179869184 samples"},
        {"bad_too_many_columns.npy", "",
         "shape (1, 1048578) has more columns than the maximum of 1048576 features plus the "
         "label"},
        /* Ten dimensions of 2^32 do not fit in the message, so the shape is cut short. */
        {"bad_long_shape.npy", "",
         "shape (4294967296, 4294967296, 4294967296, 4294967296, 4294967296, 4294967296, "
         "4294967296, ...) is 10-D; expected a 2-D array"},
    };

    (void)state;
    assert_all_fail(cases, sizeof(cases) / sizeof(cases[0]));
}

static void npy_size_errors(void **state)
{
    static const bad_case_t cases[] = {
        {"bad_truncated.npy", "",
         "truncated: expected 164 bytes (header 128 + 3 rows x 3 columns x 4 bytes), file has "
         "160"},
        {"bad_trailing.npy", "",
         "trailing bytes: expected 164 bytes (header 128 + 3 rows x 3 columns x 4 bytes), file "
         "has 168"},
    };

    (void)state;
    assert_all_fail(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Each value error names the 1-based row and column and the byte offset of the element. */
static void npy_value_errors(void **state)
{
    char nan_at[96], inf_at[96], overflow_at[96], label_2_at[96], half_at[96], label_nan_at[96];
    const bad_case_t cases[] = {
        {"bad_nan.npy", "nan", nan_at},
        {"bad_inf.npy", "-inf", inf_at},
        {"bad_overflow_f8.npy", "9.9999999999999994e+38", overflow_at},
        {"bad_label_2.npy", "2", label_2_at},
        {"bad_label_half.npy", "0.5", half_at},
        {"bad_label_nan.npy", "nan", label_nan_at},
    };

    (void)state;
    snprintf(nan_at, sizeof(nan_at), "row 2, column 1 (byte offset %d): NaN is not accepted",
             ELEMENT_OFFSET(1, 0, 4));
    snprintf(inf_at, sizeof(inf_at), "row 3, column 2 (byte offset %d): infinity",
             ELEMENT_OFFSET(2, 1, 4));
    snprintf(overflow_at, sizeof(overflow_at),
             "row 1, column 2 (byte offset %d): number is too "
             "large for float32",
             ELEMENT_OFFSET(0, 1, 8));
    snprintf(label_2_at, sizeof(label_2_at), "row 2, column 3 (byte offset %d): invalid label",
             ELEMENT_OFFSET(1, 2, 4));
    snprintf(half_at, sizeof(half_at), "row 3, column 3 (byte offset %d): invalid label",
             ELEMENT_OFFSET(2, 2, 4));
    snprintf(label_nan_at, sizeof(label_nan_at), "row 1, column 3 (byte offset %d): invalid label",
             ELEMENT_OFFSET(0, 2, 4));
    assert_all_fail(cases, sizeof(cases) / sizeof(cases[0]));
}

static void npy_missing_file(void **state)
{
    bmlp_dataset_t ds;
    bmlp_error_t err;

    (void)state;
    assert_int_equal(bmlp_npy_load(NPY_DIR "no_such_file.npy", &ds, &err), BMLP_ERR_IO);
    assert_non_null(strstr(err.message, "cannot open for reading: No such file or directory"));
    assert_int_equal(bmlp_npy_load(NPY_DIR, &ds, &err), BMLP_ERR_IO);
    assert_non_null(strstr(err.message, "not a regular file"));
    assert_null(ds.x);
    assert_int_equal(bmlp_npy_load(NULL, &ds, &err), BMLP_ERR_INVALID_ARGUMENT);
}

/* A FIFO fails at once as not a regular file, where opening it for reading would wait for a
 * writer. The alarm turns such a wait into a failed test. */
static void npy_fifo_fails_at_once(void **state)
{
    char dir[] = "/tmp/bmlp_test_npy_XXXXXX";
    char path[64];
    bmlp_dataset_t ds;
    bmlp_error_t err;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/data.npy", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    alarm(10);
    assert_int_equal(bmlp_npy_load(path, &ds, &err), BMLP_ERR_IO);
    alarm(0);
    assert_non_null(strstr(err.message, "not a regular file"));
    assert_null(ds.x);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(npy_versions_and_dtypes_match),
        cmocka_unit_test(npy_matches_csv),
        cmocka_unit_test(npy_negative_zero_label),
        cmocka_unit_test(npy_map_reports_layout),
        cmocka_unit_test(npy_read_rows_range),
        cmocka_unit_test(npy_map_failure_zeroes),
        cmocka_unit_test(npy_header_matches_numpy),
        cmocka_unit_test(npy_preamble_errors),
        cmocka_unit_test(npy_dtype_errors),
        cmocka_unit_test(npy_header_syntax_errors),
        cmocka_unit_test(npy_header_error_values),
        cmocka_unit_test(npy_shape_errors),
        cmocka_unit_test(npy_size_errors),
        cmocka_unit_test(npy_value_errors),
        cmocka_unit_test(npy_missing_file),
        cmocka_unit_test(npy_fifo_fails_at_once),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
