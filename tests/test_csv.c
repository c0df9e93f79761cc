/* Tests of the CSV loader on the fixture files in tests/data/csv/ and on the breast cancer file
 * that scripts/fetch-breast-cancer.sh extracts. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmlp/dataset.h"
#include "test_util.h"
#include "text_line.h"

#define CSV_DIR BMLP_TEST_DATA_DIR "/csv/"

/* The contents of basic_*.csv, whose label is the last column. */
static const float basic_x[] = {0.5f, -1.25f, 2.0f, 300.0f, -0.0f, 1e-3f};
static const float basic_y[] = {1.0f, 0.0f, 1.0f};

static bmlp_csv_options_t default_options(void)
{
    bmlp_csv_options_t opt;

    bmlp_csv_options_default(&opt);
    return opt;
}

/* Loads a fixture that must parse, failing the test with the formatted error otherwise. */
static void load_ok(const char *name, const bmlp_csv_options_t *opt, bmlp_dataset_t *ds)
{
    char path[1024];
    char text[1024];
    bmlp_error_t err;
    bmlp_status_t status;

    snprintf(path, sizeof(path), "%s%s", CSV_DIR, name);
    status = bmlp_csv_load(path, opt, ds, &err);
    if (status != BMLP_OK) {
        bmlp_error_format(&err, text, sizeof(text));
        fail_msg("loading %s failed: %s", name, text);
    }
}

/* Asserts that ds contains basic_x and basic_y bit for bit, so -0.0 and 0.0 differ. */
static void assert_basic(const bmlp_dataset_t *ds)
{
    assert_int_equal(ds->n_samples, 3);
    assert_int_equal(ds->n_features, 2);
    assert_memory_equal(ds->x, basic_x, sizeof(basic_x));
    assert_memory_equal(ds->y, basic_y, sizeof(basic_y));
}

static void assert_loads_basic(const char *name)
{
    bmlp_csv_options_t opt = default_options();
    bmlp_dataset_t ds;

    load_ok(name, &opt, &ds);
    assert_basic(&ds);
    bmlp_dataset_free(&ds);
}

/* Expected outcome of loading a malformed fixture. */
typedef struct bad_case {
    const char *name;
    bmlp_status_t status;
    size_t line;
    size_t column;
    const char *value;   /* expected err.value exactly */
    const char *message; /* a substring of err.message */
} bad_case_t;

/* Loads the file at path, which must fail as c describes. c->name is not used. */
static void assert_file_fails(const char *path, const bad_case_t *c, const bmlp_csv_options_t *opt)
{
    bmlp_error_t err;
    bmlp_dataset_t ds;
    float sentinel = 0.0f;

    /* Garbage in ds shows that the loader empties it instead of leaving it as it was. */
    ds.n_samples = 99;
    ds.n_features = 99;
    ds.x = &sentinel;
    ds.y = &sentinel;
    assert_int_equal(bmlp_csv_load(path, opt, &ds, &err), c->status);
    assert_int_equal(err.status, c->status);
    assert_string_equal(err.path, path);
    assert_int_equal(err.line, c->line);
    assert_int_equal(err.column, c->column);
    assert_string_equal(err.value, c->value);
    if (strstr(err.message, c->message) == NULL)
        fail_msg("message '%s' does not contain '%s'", err.message, c->message);
    assert_null(ds.x);
    assert_null(ds.y);
    assert_int_equal(ds.n_samples, 0);
    assert_int_equal(ds.n_features, 0);
}

static void assert_fails_with(const bad_case_t *c, const bmlp_csv_options_t *opt)
{
    char path[1024];

    snprintf(path, sizeof(path), "%s%s", CSV_DIR, c->name);
    assert_file_fails(path, c, opt);
}

static void assert_fails(const bad_case_t *c)
{
    bmlp_csv_options_t opt = default_options();

    assert_fails_with(c, &opt);
}

static void csv_defaults(void **state)
{
    bmlp_csv_options_t opt;

    (void)state;
    memset(&opt, 0x5a, sizeof(opt));
    bmlp_csv_options_default(&opt);
    assert_int_equal(opt.skip_lines, 0);
    assert_int_equal(opt.header, 0);
    assert_int_equal(opt.label_column, 0);
}

static void csv_lf_values_exact(void **state)
{
    (void)state;
    assert_loads_basic("basic_lf.csv");
}

static void csv_crlf_matches_lf(void **state)
{
    (void)state;
    assert_loads_basic("basic_crlf.csv");
}

static void csv_trailing_blank_lines(void **state)
{
    (void)state;
    assert_loads_basic("basic_trailing_blank.csv");
}

static void csv_no_final_newline(void **state)
{
    (void)state;
    assert_loads_basic("basic_no_final_newline.csv");
    assert_loads_basic("basic_crlf_no_final_newline.csv");
}

/* The two skipped lines have a stray quote, a CRLF and a different field count, and the header
 * has a leading space. None of them fails because none is parsed as numbers. */
static void csv_skip_lines_and_header(void **state)
{
    bmlp_csv_options_t opt = default_options();
    bmlp_dataset_t ds;

    (void)state;
    opt.skip_lines = 2;
    opt.header = 1;
    load_ok("skip_header.csv", &opt, &ds);
    assert_basic(&ds);
    bmlp_dataset_free(&ds);
}

static void csv_label_column_middle(void **state)
{
    bmlp_csv_options_t opt = default_options();
    bmlp_dataset_t ds;

    (void)state;
    opt.label_column = 2;
    load_ok("label_middle.csv", &opt, &ds);
    assert_basic(&ds);
    bmlp_dataset_free(&ds);
}

static void csv_label_column_first(void **state)
{
    bmlp_csv_options_t opt = default_options();
    bmlp_dataset_t ds;

    (void)state;
    opt.label_column = 1;
    load_ok("label_first.csv", &opt, &ds);
    assert_basic(&ds);
    bmlp_dataset_free(&ds);
}

/* Without a label column every field is a feature and each label is 0: basic_lf.csv gives its
 * labels as a third feature. A label column cannot be named as well. */
static void csv_no_label(void **state)
{
    const float x[] = {0.5f, -1.25f, 1.0f, 2.0f, 300.0f, 0.0f, -0.0f, 1e-3f, 1.0f};
    const float y[] = {0.0f, 0.0f, 0.0f};
    bmlp_csv_options_t opt = default_options();
    char path[1024];
    bmlp_dataset_t ds;
    bmlp_error_t err;

    (void)state;
    opt.no_label = 1;
    load_ok("basic_lf.csv", &opt, &ds);
    assert_int_equal(ds.n_samples, 3);
    assert_int_equal(ds.n_features, 3);
    assert_memory_equal(ds.x, x, sizeof(x));
    assert_memory_equal(ds.y, y, sizeof(y));
    bmlp_dataset_free(&ds);
    opt.skip_lines = 2;
    opt.header = 1;
    load_ok("skip_header.csv", &opt, &ds);
    assert_int_equal(ds.n_features, 3);
    assert_memory_equal(ds.x, x, sizeof(x));
    bmlp_dataset_free(&ds);
    opt = default_options();
    opt.no_label = 1;
    opt.label_column = 1;
    snprintf(path, sizeof(path), "%s%s", CSV_DIR, "basic_lf.csv");
    assert_int_equal(bmlp_csv_load(path, &opt, &ds, &err), BMLP_ERR_INVALID_ARGUMENT);
    assert_null(ds.x);
}

/* FLT_MAX printed with %.9g loads as FLT_MAX, and 1e-50, far below the smallest float32
 * subnormal, loads as zero. */
static void csv_float_limits(void **state)
{
    static const float want[] = {FLT_MAX, -FLT_MAX, 0.0f};
    bmlp_csv_options_t opt = default_options();
    bmlp_dataset_t ds;

    (void)state;
    load_ok("float_limits.csv", &opt, &ds);
    assert_int_equal(ds.n_samples, 1);
    assert_int_equal(ds.n_features, 3);
    assert_memory_equal(ds.x, want, sizeof(want));
    assert_true(ds.y[0] == 1.0f);
    bmlp_dataset_free(&ds);
}

/* Every decimal spelling of exactly 0 or 1 is a valid label, and -0 is stored as +0. */
static void csv_label_spellings(void **state)
{
    static const float want[] = {0, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1};
    bmlp_csv_options_t opt = default_options();
    bmlp_dataset_t ds;

    (void)state;
    load_ok("label_spellings.csv", &opt, &ds);
    assert_int_equal(ds.n_samples, sizeof(want) / sizeof(want[0]));
    assert_int_equal(ds.n_features, 1);
    assert_memory_equal(ds.y, want, sizeof(want));
    bmlp_dataset_free(&ds);
}

static void csv_label_2(void **state)
{
    const bad_case_t c = {"bad_label_2.csv", BMLP_ERR_PARSE, 2, 3, "2", "expected 0 or 1"};

    (void)state;
    assert_fails(&c);
}

static void csv_label_half(void **state)
{
    const bad_case_t c = {"bad_label_half.csv", BMLP_ERR_PARSE, 2, 3, "0.5", "expected 0 or 1"};

    (void)state;
    assert_fails(&c);
}

static void csv_label_negative(void **state)
{
    const bad_case_t c = {"bad_label_negative.csv", BMLP_ERR_PARSE, 2, 3, "-1",
                          "expected 0 or 1"};

    (void)state;
    assert_fails(&c);
}

static void csv_label_empty(void **state)
{
    const bad_case_t c = {"bad_label_empty.csv", BMLP_ERR_PARSE, 2, 3, "",
                          "empty field, expected a label of 0 or 1"};

    (void)state;
    assert_fails(&c);
}

/* strtod rounds this to exactly 1.0, so only a check on the digits rejects it. */
static void csv_label_near_one(void **state)
{
    const bad_case_t c = {"bad_label_near_one.csv", BMLP_ERR_PARSE, 2, 3,
                          "1.0000000000000000001", "invalid label"};

    (void)state;
    assert_fails(&c);
}

static void csv_not_number(void **state)
{
    const bad_case_t c = {"bad_not_number.csv", BMLP_ERR_PARSE, 2, 1, "abc", "invalid number"};

    (void)state;
    assert_fails(&c);
}

static void csv_trailing_garbage(void **state)
{
    const bad_case_t c = {"bad_trailing_garbage.csv", BMLP_ERR_PARSE, 2, 2, "1.2x",
                          "invalid number"};

    (void)state;
    assert_fails(&c);
}

static void csv_hex_rejected(void **state)
{
    const bad_case_t c = {"bad_hex.csv", BMLP_ERR_PARSE, 2, 2, "0x10", "invalid number"};

    (void)state;
    assert_fails(&c);
}

static void csv_space_rejected(void **state)
{
    const bad_case_t c = {"bad_space.csv", BMLP_ERR_PARSE, 2, 2, " 2.5",
                          "space around a field is not allowed"};

    (void)state;
    assert_fails(&c);
}

static void csv_empty_field(void **state)
{
    const bad_case_t c = {"bad_empty_field.csv", BMLP_ERR_PARSE, 2, 2, "", "empty field"};

    (void)state;
    assert_fails(&c);
}

static void csv_nan(void **state)
{
    const bad_case_t c = {"bad_nan.csv", BMLP_ERR_PARSE, 2, 2, "NaN",
                          "NaN and infinity are not accepted"};

    (void)state;
    assert_fails(&c);
}

static void csv_inf(void **state)
{
    const bad_case_t c = {"bad_inf.csv", BMLP_ERR_PARSE, 2, 1, "-inf",
                          "NaN and infinity are not accepted"};

    (void)state;
    assert_fails(&c);
}

/* The edge case is just past the point where float32 rounding goes to infinity. */
static void csv_float_overflow(void **state)
{
    const bad_case_t c = {"bad_overflow.csv", BMLP_ERR_PARSE, 2, 2, "1e39",
                          "too large for float32"};
    const bad_case_t edge = {"bad_overflow_edge.csv", BMLP_ERR_PARSE, 2, 1, "-3.4028236e38",
                             "too large for float32"};

    (void)state;
    assert_fails(&c);
    assert_fails(&edge);
}

static void csv_field_count(void **state)
{
    const bad_case_t c = {"bad_field_count.csv", BMLP_ERR_PARSE, 3, 0, "",
                          "line has 4 fields, expected 3 as on line 1"};

    (void)state;
    assert_fails(&c);
}

static void csv_field_count_header(void **state)
{
    const bad_case_t c = {"bad_field_count_header.csv", BMLP_ERR_PARSE, 3, 0, "",
                          "line has 2 fields, expected 3 as in the header on line 1"};
    bmlp_csv_options_t opt = default_options();

    (void)state;
    opt.header = 1;
    assert_fails_with(&c, &opt);
}

static void csv_header_count_differs(void **state)
{
    const bad_case_t c = {"bad_header_count.csv", BMLP_ERR_PARSE, 2, 0, "",
                          "line has 3 fields, expected 4 as in the header on line 1"};
    bmlp_csv_options_t opt = default_options();

    (void)state;
    opt.header = 1;
    assert_fails_with(&c, &opt);
}

static void csv_blank_line_middle(void **state)
{
    const bad_case_t c = {"bad_blank_middle.csv", BMLP_ERR_PARSE, 2, 0, "",
                          "blank line followed by more data on line 3"};

    (void)state;
    assert_fails(&c);
}

static void csv_blank_line_first(void **state)
{
    const bad_case_t c = {"bad_blank_first.csv", BMLP_ERR_PARSE, 1, 0, "",
                          "blank line followed by more data on line 2"};

    (void)state;
    assert_fails(&c);
}

static void csv_lone_cr(void **state)
{
    const bad_case_t c = {"bad_lone_cr.csv", BMLP_ERR_PARSE, 2, 1, "",
                          "carriage return inside a line"};

    (void)state;
    assert_fails(&c);
}

/* A CR not followed by LF is a lone CR even at the very end of the file. */
static void csv_final_lone_cr(void **state)
{
    const bad_case_t c = {"bad_final_lone_cr.csv", BMLP_ERR_PARSE, 2, 3, "",
                          "carriage return inside a line"};

    (void)state;
    assert_fails(&c);
}

static void csv_nul_byte(void **state)
{
    const bad_case_t c = {"bad_nul.csv", BMLP_ERR_PARSE, 2, 2, "", "NUL byte inside a line"};

    (void)state;
    assert_fails(&c);
}

static void csv_empty_file(void **state)
{
    const bad_case_t c = {"bad_empty.csv", BMLP_ERR_PARSE, 0, 0, "", "file has no data lines"};

    (void)state;
    assert_fails(&c);
}

static void csv_header_only(void **state)
{
    const bad_case_t c = {"bad_header_only.csv", BMLP_ERR_PARSE, 0, 0, "",
                          "file has a header on line 1 but no data lines"};
    bmlp_csv_options_t opt = default_options();

    (void)state;
    opt.header = 1;
    assert_fails_with(&c, &opt);
}

/* A header whose first name is empty (pandas), "" (R) or only spaces is above a row index, and
 * the loader rejects it. */
static void csv_header_unnamed_first(void **state)
{
    const bad_case_t empty = {"bad_header_index.csv", BMLP_ERR_PARSE, 1, 1, "",
                              "column 1 has no name in the header"};
    const bad_case_t quoted = {"bad_header_index_quoted.csv", BMLP_ERR_PARSE, 1, 1, "\"\"",
                               "column 1 has no name in the header"};
    const bad_case_t spaces = {"bad_header_index_spaces.csv", BMLP_ERR_PARSE, 1, 1, "  ",
                               "column 1 has no name in the header"};
    bmlp_csv_options_t opt = default_options();

    (void)state;
    opt.header = 1;
    assert_fails_with(&empty, &opt);
    assert_fails_with(&quoted, &opt);
    assert_fails_with(&spaces, &opt);
}

/* Only the first name is checked: an empty name further along loads as before. */
static void csv_header_unnamed_later(void **state)
{
    bmlp_csv_options_t opt = default_options();
    bmlp_dataset_t ds;

    (void)state;
    opt.header = 1;
    load_ok("header_unnamed_second.csv", &opt, &ds);
    assert_int_equal(ds.n_samples, 2);
    assert_int_equal(ds.n_features, 2);
    assert_true(ds.x[1] == 10.38f);
    assert_true(ds.y[1] == 1.0f);
    bmlp_dataset_free(&ds);
}

static void csv_skip_past_end(void **state)
{
    const bad_case_t c = {"basic_lf.csv", BMLP_ERR_PARSE, 0, 0, "",
                          "file has no data lines after the 3 skipped lines"};
    bmlp_csv_options_t opt = default_options();

    (void)state;
    opt.skip_lines = 3;
    assert_fails_with(&c, &opt);
}

static void csv_one_column(void **state)
{
    const bad_case_t c = {"bad_one_column.csv", BMLP_ERR_PARSE, 1, 0, "",
                          "need at least one feature and the label"};

    (void)state;
    assert_fails(&c);
}

static void csv_label_column_too_big(void **state)
{
    const bad_case_t c = {"basic_lf.csv", BMLP_ERR_INVALID_ARGUMENT, 1, 0, "",
                          "label column 4 is out of range, the line has 3 fields"};
    bmlp_csv_options_t opt = default_options();

    (void)state;
    opt.label_column = 4;
    assert_fails_with(&c, &opt);
}

static void csv_missing_file(void **state)
{
    const bad_case_t c = {"no_such_file.csv", BMLP_ERR_IO, 0, 0, "",
                          "cannot open for reading: No such file or directory"};
    /* The fixture directory itself: an error about the file, on no line. */
    const bad_case_t directory = {".", BMLP_ERR_IO, 0, 0, "", "cannot read: Is a directory"};

    (void)state;
    assert_fails(&c);
    assert_fails(&directory);
}

/* The UTF-8 encoding of the byte order mark U+FEFF. */
#define BOM "\xEF\xBB\xBF"
/* The mark as an error value shows it, escaped because it prints as nothing. */
#define ESCAPED_BOM "\\xef\\xbb\\xbf"

/* Creates a file from the mkstemp template path, whose XXXXXX it replaces, and returns it open
 * for writing. */
static FILE *create_temp(char *path)
{
    int fd = mkstemp(path);
    FILE *f;

    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    return f;
}

/* Writes text to a new temporary file and stores its name in path[size]. */
static void write_temp(char *path, size_t size, const char *text)
{
    FILE *f;

    snprintf(path, size, "/tmp/bmlp_test_csv_XXXXXX");
    f = create_temp(path);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Writes text to a temporary file, which loading must fail as c describes, and removes it. */
static void assert_text_fails(const char *text, const bad_case_t *c, const bmlp_csv_options_t *opt)
{
    char path[64];

    write_temp(path, sizeof(path), text);
    assert_file_fails(path, c, opt);
    unlink(path);
}

/* Loads text and BOM followed by text, both of which must parse, and asserts that the two
 * datasets are bit for bit the same and that the first contains basic_x and basic_y. */
static void assert_bom_matches_plain(const char *text, const bmlp_csv_options_t *opt)
{
    char plain_path[64];
    char bom_path[64];
    char *with_bom = malloc(strlen(BOM) + strlen(text) + 1);
    char message[1024];
    bmlp_dataset_t plain;
    bmlp_dataset_t bom;
    bmlp_error_t err;

    assert_non_null(with_bom);
    strcpy(with_bom, BOM);
    strcat(with_bom, text);
    write_temp(plain_path, sizeof(plain_path), text);
    write_temp(bom_path, sizeof(bom_path), with_bom);
    free(with_bom);

    assert_int_equal(bmlp_csv_load(plain_path, opt, &plain, &err), BMLP_OK);
    if (bmlp_csv_load(bom_path, opt, &bom, &err) != BMLP_OK) {
        bmlp_error_format(&err, message, sizeof(message));
        fail_msg("loading the file with a byte order mark failed: %s", message);
    }
    unlink(plain_path);
    unlink(bom_path);
    assert_basic(&plain);
    assert_datasets_equal(&bom, &plain);
    bmlp_dataset_free(&plain);
    bmlp_dataset_free(&bom);
}

/* A byte order mark at the start of the file is skipped, with LF or CRLF line ends, before a
 * header and before a skipped line. */
static void csv_bom_matches_plain(void **state)
{
    bmlp_csv_options_t opt = default_options();

    (void)state;
    assert_bom_matches_plain("0.5,-1.25,1\n2,3e2,0\n-0.0,1e-3,1.00\n", &opt);
    assert_bom_matches_plain("0.5,-1.25,1\r\n2,3e2,0\r\n-0.0,1e-3,1.00\r\n", &opt);
    assert_bom_matches_plain("0.5,-1.25,1\r\n2,3e2,0\r\n-0.0,1e-3,1.00", &opt);
    opt.header = 1;
    assert_bom_matches_plain("a,b,label\n0.5,-1.25,1\n2,3e2,0\n-0.0,1e-3,1.00\n", &opt);
    assert_bom_matches_plain("a,b,label\r\n0.5,-1.25,1\r\n2,3e2,0\r\n-0.0,1e-3,1.00\r\n", &opt);
    opt.skip_lines = 1;
    assert_bom_matches_plain("\"exported\"\na,b,label\n0.5,-1.25,1\n2,3e2,0\n-0.0,1e-3,1.00\n",
                             &opt);
}

/* Errors on line 1 after a byte order mark count fields from the first byte after it, and the
 * value does not contain the mark. */
static void csv_bom_error_position(void **state)
{
    static const struct {
        const char *text;
        bad_case_t c;
    } cases[] = {
        {BOM "x,2,0\n", {"first field", BMLP_ERR_PARSE, 1, 1, "x", "invalid number"}},
        {BOM " 1,2,0\n", {"leading space", BMLP_ERR_PARSE, 1, 1, " 1", "space around a field"}},
        {BOM "1,abc,0\n", {"second field", BMLP_ERR_PARSE, 1, 2, "abc", "invalid number"}},
        {BOM "1,2,2\r\n", {"label", BMLP_ERR_PARSE, 1, 3, "2", "expected 0 or 1"}},
        {BOM "1,2\r,0\n", {"stray CR", BMLP_ERR_PARSE, 1, 2, "", "carriage return inside"}},
        {BOM "\n1,2,0\n", {"blank line", BMLP_ERR_PARSE, 1, 0, "", "blank line followed"}},
    };
    bmlp_csv_options_t opt = default_options();

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_text_fails(cases[i].text, &cases[i].c, &opt);
}

/* A file of only a byte order mark fails like an empty file, with or without a header. */
static void csv_bom_only(void **state)
{
    const bad_case_t empty = {"bad_empty.csv", BMLP_ERR_PARSE, 0, 0, "", "file has no data lines"};
    const bad_case_t no_header = {"bom only", BMLP_ERR_PARSE, 0, 0, "", "file has no data lines"};
    bmlp_csv_options_t opt = default_options();
    char path[64];

    (void)state;
    assert_fails(&empty);
    write_temp(path, sizeof(path), BOM);
    assert_file_fails(path, &no_header, &opt);
    opt.header = 1;
    assert_file_fails(path, &no_header, &opt);
    unlink(path);
}

/* A byte order mark after the first bytes of the file is part of the field that contains it. */
static void csv_bom_not_at_start(void **state)
{
    static const struct {
        const char *text;
        bad_case_t c;
    } cases[] = {
        {"1,2,0\n" BOM "3,4,1\n", {"line 2", BMLP_ERR_PARSE, 2, 1, ESCAPED_BOM "3", "invalid number"}},
        {BOM BOM "1,2,0\n", {"second mark", BMLP_ERR_PARSE, 1, 1, ESCAPED_BOM "1", "invalid number"}},
        {"1," BOM "2,0\n", {"mid-line", BMLP_ERR_PARSE, 1, 2, ESCAPED_BOM "2", "invalid number"}},
        {"1,2," BOM "0\n", {"before label", BMLP_ERR_PARSE, 1, 3, ESCAPED_BOM "0", "invalid number"}},
    };
    bmlp_csv_options_t opt = default_options();

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_text_fails(cases[i].text, &cases[i].c, &opt);
}

/* An error value keeps well-formed UTF-8 and escapes every byte outside it, the C1 controls
 * (which some terminals act on) among them. */
static void csv_error_value_escapes_bytes(void **state)
{
    static const struct {
        const char *text;
        bad_case_t c;
    } cases[] = {
        {"1,caf\xc3\xa9,0\n", {"two-byte letter", BMLP_ERR_PARSE, 1, 2, "caf\xc3\xa9", "invalid"}},
        {"1,\xe2\x82\xac" "5,0\n",
         {"euro sign", BMLP_ERR_PARSE, 1, 2, "\xe2\x82\xac" "5", "invalid"}},
        {"1,2\xff,0\n", {"byte 0xff", BMLP_ERR_PARSE, 1, 2, "2\\xff", "invalid"}},
        {"1,\xc2\x9b" "31m,0\n",
         {"C1 control", BMLP_ERR_PARSE, 1, 2, "\\xc2\\x9b" "31m", "invalid"}},
        {"1,\xc0\xafx,0\n", {"overlong slash", BMLP_ERR_PARSE, 1, 2, "\\xc0\\xafx", "invalid"}},
        {"1,\xed\xa0\x80x,0\n", {"surrogate", BMLP_ERR_PARSE, 1, 2, "\\xed\\xa0\\x80x", "invalid"}},
        {"1,\xf4\x90\x80\x80x,0\n",
         {"past U+10FFFF", BMLP_ERR_PARSE, 1, 2, "\\xf4\\x90\\x80\\x80x", "invalid"}},
        {"1,x\xe2\x82,0\n", {"cut sequence", BMLP_ERR_PARSE, 1, 2, "x\\xe2\\x82", "invalid"}},
    };
    bmlp_csv_options_t opt = default_options();

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_text_fails(cases[i].text, &cases[i].c, &opt);
}

/* A value too long for the error detail ends in "..." after its last whole character, never
 * inside a UTF-8 sequence or an escape. */
static void csv_error_value_truncates_whole(void **state)
{
    char text[256], value[128];
    bad_case_t c = {"long field", BMLP_ERR_PARSE, 1, 1, value, "invalid number"};
    bmlp_csv_options_t opt = default_options();

    (void)state;
    /* 123 letters, a two-byte letter that would end at byte 125, then more letters. */
    memset(text, 'a', 123);
    strcpy(text + 123, "\xc3\xa9" "bbbbb,1,0\n");
    memset(value, 'a', 123);
    strcpy(value + 123, "...");
    assert_text_fails(text, &c, &opt);
    /* 122 letters, then a byte that takes 4 characters escaped. */
    memset(text, 'a', 122);
    strcpy(text + 122, "\xff" "bbbbb,1,0\n");
    memset(value, 'a', 122);
    strcpy(value + 122, "...");
    assert_text_fails(text, &c, &opt);
}

/* Writes rows of "i,-i/4,i%2" (enough to grow the arrays several times) and checks every value,
 * including the last row, which has no final newline. */
static void csv_many_rows(void **state)
{
    const size_t n = 100000;
    char path[] = "/tmp/bmlp_test_csv_XXXXXX";
    bmlp_csv_options_t opt = default_options();
    bmlp_error_t err;
    bmlp_dataset_t ds;
    FILE *f = create_temp(path);

    (void)state;
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%zu,%.2f,%zu%s", i, -(double)i / 4, i % 2, i + 1 < n ? "\n" : "");
    assert_int_equal(fclose(f), 0);

    assert_int_equal(bmlp_csv_load(path, &opt, &ds, &err), BMLP_OK);
    unlink(path);
    assert_int_equal(ds.n_samples, n);
    assert_int_equal(ds.n_features, 2);
    for (size_t i = 0; i < n; i++) {
        if (ds.x[2 * i] != (float)i || ds.x[2 * i + 1] != (float)(-(double)i / 4) ||
            ds.y[i] != (float)(i % 2))
            fail_msg("row %zu: got %g,%g,%g", i, (double)ds.x[2 * i], (double)ds.x[2 * i + 1],
                     (double)ds.y[i]);
    }
    bmlp_dataset_free(&ds);
}

/* Skipped lines are passed over whatever they hold: a NUL byte does not end the first one
 * early, so its tail is not read as data, and the second is longer than any line the loader
 * reads. The error on the last line names its physical line number. */
static void csv_skip_lines_any_bytes(void **state)
{
    static const char tail[] = "1.5,0\n2.5,1\n3.5,x\n";
    char path[] = "/tmp/bmlp_test_csv_XXXXXX";
    const bad_case_t c = {"", BMLP_ERR_PARSE, 5, 2, "x", "expected a label of 0 or 1"};
    bmlp_csv_options_t opt = default_options();
    bmlp_error_t err;
    bmlp_dataset_t ds;
    FILE *f = create_temp(path);

    (void)state;
    assert_int_equal(fwrite("meta\0" "5,1\n", 1, 9, f), 9);
    for (size_t i = 0; i <= BMLP_MAX_LINE_BYTES; i++)
        assert_int_equal(putc('x', f), 'x');
    assert_int_equal(fputs("\n", f) >= 0, 1);
    assert_int_equal(fputs(tail, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);

    opt.skip_lines = 2;
    assert_file_fails(path, &c, &opt);
    assert_int_equal(truncate(path, 9 + BMLP_MAX_LINE_BYTES + 2 + 12), 0);
    assert_int_equal(bmlp_csv_load(path, &opt, &ds, &err), BMLP_OK);
    unlink(path);
    assert_int_equal(ds.n_samples, 2);
    assert_int_equal(ds.n_features, 1);
    assert_true(ds.x[0] == 1.5f && ds.x[1] == 2.5f);
    assert_true(ds.y[0] == 0.0f && ds.y[1] == 1.0f);
    bmlp_dataset_free(&ds);
}

/* In a locale whose decimal point is a comma, strtod alone would stop at the '.' of "0.5". The
 * test skips when no such locale is installed. */
static void csv_ignores_process_locale(void **state)
{
    static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8"};
    const char *chosen = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && chosen == NULL; i++)
        if (setlocale(LC_NUMERIC, names[i]) != NULL)
            chosen = names[i];
    if (chosen == NULL || strcmp(localeconv()->decimal_point, ",") != 0) {
        setlocale(LC_NUMERIC, "C");
        skip();
    }
    assert_loads_basic("basic_lf.csv");
    setlocale(LC_NUMERIC, "C");
}

/* The Wisconsin breast cancer data: 212 malignant (label 0) and 357 benign (label 1) samples.
 * Skips when scripts/fetch-breast-cancer.sh has not been run. */
static void csv_breast_cancer(void **state)
{
    const char *path = BMLP_DATA_DIR "/breast_cancer.csv";
    bmlp_csv_options_t opt = default_options();
    bmlp_error_t err;
    bmlp_dataset_t ds;
    size_t ones = 0;

    (void)state;
    if (access(path, R_OK) != 0)
        skip();
    opt.skip_lines = 1;
    assert_int_equal(bmlp_csv_load(path, &opt, &ds, &err), BMLP_OK);
    assert_int_equal(ds.n_samples, 569);
    assert_int_equal(ds.n_features, 30);
    for (size_t i = 0; i < ds.n_samples; i++)
        ones += ds.y[i] == 1.0f;
    assert_int_equal(ones, 357);
    assert_int_equal(ds.n_samples - ones, 212);
    /* First row: mean radius 17.99 and worst fractal dimension 0.1189. */
    assert_true(ds.x[0] == 17.99f);
    assert_true(ds.x[29] == 0.1189f);
    bmlp_dataset_free(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(csv_defaults),
        cmocka_unit_test(csv_lf_values_exact),
        cmocka_unit_test(csv_crlf_matches_lf),
        cmocka_unit_test(csv_trailing_blank_lines),
        cmocka_unit_test(csv_no_final_newline),
        cmocka_unit_test(csv_skip_lines_and_header),
        cmocka_unit_test(csv_label_column_middle),
        cmocka_unit_test(csv_label_column_first),
        cmocka_unit_test(csv_no_label),
        cmocka_unit_test(csv_float_limits),
        cmocka_unit_test(csv_label_spellings),
        cmocka_unit_test(csv_label_2),
        cmocka_unit_test(csv_label_half),
        cmocka_unit_test(csv_label_negative),
        cmocka_unit_test(csv_label_empty),
        cmocka_unit_test(csv_label_near_one),
        cmocka_unit_test(csv_not_number),
        cmocka_unit_test(csv_trailing_garbage),
        cmocka_unit_test(csv_hex_rejected),
        cmocka_unit_test(csv_space_rejected),
        cmocka_unit_test(csv_empty_field),
        cmocka_unit_test(csv_nan),
        cmocka_unit_test(csv_inf),
        cmocka_unit_test(csv_float_overflow),
        cmocka_unit_test(csv_field_count),
        cmocka_unit_test(csv_field_count_header),
        cmocka_unit_test(csv_header_count_differs),
        cmocka_unit_test(csv_blank_line_middle),
        cmocka_unit_test(csv_blank_line_first),
        cmocka_unit_test(csv_lone_cr),
        cmocka_unit_test(csv_final_lone_cr),
        cmocka_unit_test(csv_nul_byte),
        cmocka_unit_test(csv_empty_file),
        cmocka_unit_test(csv_header_only),
        cmocka_unit_test(csv_header_unnamed_first),
        cmocka_unit_test(csv_header_unnamed_later),
        cmocka_unit_test(csv_skip_lines_any_bytes),
        cmocka_unit_test(csv_skip_past_end),
        cmocka_unit_test(csv_one_column),
        cmocka_unit_test(csv_label_column_too_big),
        cmocka_unit_test(csv_missing_file),
        cmocka_unit_test(csv_bom_matches_plain),
        cmocka_unit_test(csv_bom_error_position),
        cmocka_unit_test(csv_bom_only),
        cmocka_unit_test(csv_bom_not_at_start),
        cmocka_unit_test(csv_error_value_escapes_bytes),
        cmocka_unit_test(csv_error_value_truncates_whole),
        cmocka_unit_test(csv_many_rows),
        cmocka_unit_test(csv_ignores_process_locale),
        cmocka_unit_test(csv_breast_cancer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
