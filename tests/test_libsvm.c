/* Tests of the LIBSVM loader on the fixture files in tests/data/libsvm/. */
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

#define LIBSVM_DIR BMLP_TEST_DATA_DIR "/libsvm/"
#define CSV_DIR BMLP_TEST_DATA_DIR "/csv/"

/* The contents of basic*.svm, which contain the samples of tests/data/csv/basic_lf.csv. */
static const float basic_x[] = {0.5f, -1.25f, 2.0f, 300.0f, -0.0f, 1e-3f};
static const float basic_y[] = {1.0f, 0.0f, 1.0f};

static bmlp_libsvm_options_t default_options(void)
{
    bmlp_libsvm_options_t opt;

    bmlp_libsvm_options_default(&opt);
    return opt;
}

/* Loads a fixture that must parse, failing the test with the formatted error otherwise. */
static void load_ok(const char *name, const bmlp_libsvm_options_t *opt, bmlp_dataset_t *ds)
{
    char path[1024];
    char text[1024];
    bmlp_error_t err;

    snprintf(path, sizeof(path), "%s%s", LIBSVM_DIR, name);
    if (bmlp_libsvm_load(path, opt, ds, &err) != BMLP_OK) {
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

static void assert_loads_basic(const char *name, const bmlp_libsvm_options_t *opt)
{
    bmlp_dataset_t ds;

    load_ok(name, opt, &ds);
    assert_basic(&ds);
    bmlp_dataset_free(&ds);
}

/* Expected outcome of loading a malformed fixture. */
typedef struct bad_case {
    const char *name;
    bmlp_status_t status;
    size_t line;
    size_t token;        /* expected err.column: 1 is the label, 2 the first pair */
    const char *value;   /* expected err.value exactly */
    const char *message; /* a substring of err.message */
} bad_case_t;

/* Loads the malformed file at path and checks every part of the error, naming c->name in any
 * failure so that a table of cases points to the one that broke. */
static void assert_file_fails(const char *path, const bad_case_t *c,
                              const bmlp_libsvm_options_t *opt)
{
    bmlp_error_t err;
    bmlp_dataset_t ds;
    float sentinel = 0.0f;
    bmlp_status_t status;

    /* Garbage in ds shows that the loader empties it instead of leaving it as it was. */
    ds.n_samples = 99;
    ds.n_features = 99;
    ds.x = &sentinel;
    ds.y = &sentinel;
    status = bmlp_libsvm_load(path, opt, &ds, &err);
    if (status != c->status || err.status != c->status)
        fail_msg("%s: status %d, expected %d (%s)", c->name, status, c->status, err.message);
    if (strcmp(err.path, path) != 0)
        fail_msg("%s: error path '%s'", c->name, err.path);
    if (err.line != c->line || err.column != c->token)
        fail_msg("%s: position %zu:%zu, expected %zu:%zu (%s)", c->name, err.line, err.column,
                 c->line, c->token, err.message);
    if (strcmp(err.value, c->value) != 0)
        fail_msg("%s: value '%s', expected '%s'", c->name, err.value, c->value);
    if (strstr(err.message, c->message) == NULL)
        fail_msg("%s: message '%s' does not contain '%s'", c->name, err.message, c->message);
    assert_null(ds.x);
    assert_null(ds.y);
    assert_int_equal(ds.n_samples, 0);
    assert_int_equal(ds.n_features, 0);
}

/* Loads the malformed fixture c->name, which must fail as c describes. */
static void assert_fails_with(const bad_case_t *c, const bmlp_libsvm_options_t *opt)
{
    char path[1024];

    snprintf(path, sizeof(path), "%s%s", LIBSVM_DIR, c->name);
    assert_file_fails(path, c, opt);
}

static void assert_all_fail(const bad_case_t *cases, size_t n)
{
    bmlp_libsvm_options_t opt = default_options();

    for (size_t i = 0; i < n; i++)
        assert_fails_with(&cases[i], &opt);
}

static void libsvm_defaults(void **state)
{
    bmlp_libsvm_options_t opt;

    (void)state;
    memset(&opt, 0x5a, sizeof(opt));
    bmlp_libsvm_options_default(&opt);
    assert_int_equal(opt.zero_based, 0);
    assert_int_equal(opt.n_features, 0);
}

static void libsvm_one_based_values_exact(void **state)
{
    bmlp_libsvm_options_t opt = default_options();

    (void)state;
    assert_loads_basic("basic.svm", &opt);
}

static void libsvm_zero_based_matches(void **state)
{
    bmlp_libsvm_options_t opt = default_options();

    (void)state;
    opt.zero_based = 1;
    assert_loads_basic("basic_zero_based.svm", &opt);
}

/* CRLF, a missing final newline, trailing blank lines (one of them only a tab and CR), and
 * comments, tabs and blank lines anywhere all give the same dataset as basic.svm. */
static void libsvm_line_variants_match(void **state)
{
    static const char *const names[] = {
        "basic_crlf.svm",           "basic_no_final_newline.svm", "basic_crlf_no_final_newline.svm",
        "basic_trailing_blank.svm", "basic_comments.svm",
    };
    bmlp_libsvm_options_t opt = default_options();

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_loads_basic(names[i], &opt);
}

/* The same samples in LIBSVM and CSV load to the same bits. */
static void libsvm_matches_csv(void **state)
{
    bmlp_libsvm_options_t opt = default_options();
    bmlp_csv_options_t csv_opt;
    bmlp_dataset_t svm, csv;
    bmlp_error_t err;

    (void)state;
    bmlp_csv_options_default(&csv_opt);
    load_ok("basic.svm", &opt, &svm);
    assert_int_equal(bmlp_csv_load(CSV_DIR "basic_lf.csv", &csv_opt, &csv, &err), BMLP_OK);
    assert_datasets_equal(&svm, &csv);
    bmlp_dataset_free(&svm);
    bmlp_dataset_free(&csv);
}

/* Features that a line leaves out are 0, and a line may have no pairs at all. */
static void libsvm_sparse_fills_zeros(void **state)
{
    static const float want_x[] = {0, 0, 2.5f, 0, 0, 0, 1, 2, 0, 0, -4, 0};
    static const float want_y[] = {1, 0, 1, 0};
    bmlp_libsvm_options_t opt = default_options();
    bmlp_dataset_t ds;

    (void)state;
    load_ok("sparse.svm", &opt, &ds);
    assert_int_equal(ds.n_samples, 4);
    assert_int_equal(ds.n_features, 3);
    assert_memory_equal(ds.x, want_x, sizeof(want_x));
    assert_memory_equal(ds.y, want_y, sizeof(want_y));
    bmlp_dataset_free(&ds);
}

/* A declared feature count wider than the largest index pads every sample with zeros. */
static void libsvm_declared_features_pad(void **state)
{
    static const float want_x[] = {0, 0, 2.5f, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, -4, 0, 0};
    bmlp_libsvm_options_t opt = default_options();
    bmlp_dataset_t ds;

    (void)state;
    opt.n_features = 4;
    load_ok("sparse.svm", &opt, &ds);
    assert_int_equal(ds.n_samples, 4);
    assert_int_equal(ds.n_features, 4);
    assert_memory_equal(ds.x, want_x, sizeof(want_x));
    bmlp_dataset_free(&ds);
}

/* Lines that are a label alone load when the feature count is declared. */
static void libsvm_label_only_lines(void **state)
{
    static const float want_x[] = {0, 0, 0, 0};
    static const float want_y[] = {1, 0};
    bmlp_libsvm_options_t opt = default_options();
    bmlp_dataset_t ds;

    (void)state;
    opt.n_features = 2;
    load_ok("no_features.svm", &opt, &ds);
    assert_int_equal(ds.n_samples, 2);
    assert_int_equal(ds.n_features, 2);
    assert_memory_equal(ds.x, want_x, sizeof(want_x));
    assert_memory_equal(ds.y, want_y, sizeof(want_y));
    bmlp_dataset_free(&ds);
}

/* Every decimal spelling of exactly +1 is class 1, of exactly -1 class 0. */
static void libsvm_label_spellings(void **state)
{
    static const float want[] = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
    bmlp_libsvm_options_t opt = default_options();
    bmlp_dataset_t ds;

    (void)state;
    load_ok("label_spellings.svm", &opt, &ds);
    assert_int_equal(ds.n_samples, sizeof(want) / sizeof(want[0]));
    assert_memory_equal(ds.y, want, sizeof(want));
    bmlp_dataset_free(&ds);
}

/* 0, 0.0, -0, 0e5 and +0 are class 0 (stored as +0.0), and 1 is class 1. */
static void libsvm_zero_label_spellings(void **state)
{
    static const float want[] = {0, 0, 0, 0, 0, 1};
    bmlp_libsvm_options_t opt = default_options();
    bmlp_dataset_t ds;

    (void)state;
    load_ok("label_zero_spellings.svm", &opt, &ds);
    assert_int_equal(ds.n_samples, sizeof(want) / sizeof(want[0]));
    assert_memory_equal(ds.y, want, sizeof(want));
    bmlp_dataset_free(&ds);
}

/* FLT_MAX printed with %.9g loads as FLT_MAX, and 1e-50 loads as zero. */
static void libsvm_float_limits(void **state)
{
    static const float want[] = {FLT_MAX, -FLT_MAX, 0.0f};
    bmlp_libsvm_options_t opt = default_options();
    bmlp_dataset_t ds;

    (void)state;
    load_ok("float_limits.svm", &opt, &ds);
    assert_int_equal(ds.n_features, 3);
    assert_memory_equal(ds.x, want, sizeof(want));
    bmlp_dataset_free(&ds);
}

static void libsvm_index_errors(void **state)
{
    static const bad_case_t cases[] = {
        {"bad_index_zero.svm", BMLP_ERR_PARSE, 2, 2, "0:1.5",
         "index 0 in a file read with 1-based indices"},
        {"bad_duplicate.svm", BMLP_ERR_PARSE, 2, 3, "1:2", "duplicate index 1"},
        {"bad_decreasing.svm", BMLP_ERR_PARSE, 2, 3, "2:2",
         "index 2 is not greater than the previous index 3"},
        {"bad_index_text.svm", BMLP_ERR_PARSE, 2, 2, "a:3", "invalid index"},
        {"bad_negative_index.svm", BMLP_ERR_PARSE, 2, 2, "-1:3", "invalid index"},
        {"bad_missing_index.svm", BMLP_ERR_PARSE, 2, 2, ":3", "missing index before ':'"},
        {"bad_index_max.svm", BMLP_ERR_PARSE, 2, 2, "1048577:1",
         "index exceeds the maximum of 1048576 features"},
        {"bad_index_huge.svm", BMLP_ERR_PARSE, 2, 2, "99999999999999999999999999:1",
         "index exceeds the maximum of 1048576 features"},
        {"bad_qid.svm", BMLP_ERR_PARSE, 1, 2, "qid:1", "query ids (qid:) are not supported"},
    };

    (void)state;
    assert_all_fail(cases, sizeof(cases) / sizeof(cases[0]));
}

/* The file that fails in 1-based mode loads in 0-based mode, with index 0 as feature 1. */
static void libsvm_zero_based_accepts_index_0(void **state)
{
    bmlp_libsvm_options_t opt = default_options();
    bmlp_dataset_t ds;

    (void)state;
    opt.zero_based = 1;
    load_ok("bad_index_zero.svm", &opt, &ds);
    assert_int_equal(ds.n_samples, 2);
    assert_int_equal(ds.n_features, 3);
    assert_true(ds.x[1] == 0.5f);
    assert_true(ds.x[3] == 1.5f);
    assert_true(ds.x[5] == 3.0f);
    bmlp_dataset_free(&ds);
}

static void libsvm_beyond_declared_features(void **state)
{
    const bad_case_t c = {"basic.svm", BMLP_ERR_PARSE,
                          1,           3,
                          "2:-1.25",   "index is beyond the declared feature count 1"};
    const bad_case_t zero_based = {"basic_zero_based.svm",
                                   BMLP_ERR_PARSE,
                                   1,
                                   3,
                                   "1:-1.25",
                                   "index is beyond the declared feature count 1 (0-based"};
    bmlp_libsvm_options_t opt = default_options();

    (void)state;
    opt.n_features = 1;
    assert_fails_with(&c, &opt);
    opt.zero_based = 1;
    assert_fails_with(&zero_based, &opt);
}

static void libsvm_declared_features_out_of_range(void **state)
{
    const bad_case_t c = {"basic.svm", BMLP_ERR_INVALID_ARGUMENT,
                          0,           0,
                          "",          "declared feature count 1048577 is out of range"};
    bmlp_libsvm_options_t opt = default_options();

    (void)state;
    opt.n_features = (size_t)1048577;
    assert_fails_with(&c, &opt);
}

/* A few lines with the largest declared feature count load: the dense dataset is allocated
 * after reading, as lines x features, so one line takes 4 MiB. */
static void libsvm_few_lines_many_features(void **state)
{
    bmlp_libsvm_options_t opt = default_options();
    bmlp_dataset_t ds;

    (void)state;
    opt.n_features = BMLP_MAX_FEATURES;
    load_ok("basic.svm", &opt, &ds);
    assert_int_equal(ds.n_samples, 3);
    assert_int_equal(ds.n_features, BMLP_MAX_FEATURES);
    assert_true(ds.x[0] == basic_x[0]);
    assert_true(ds.x[1] == basic_x[1]);
    assert_true(ds.x[2] == 0.0f);
    assert_true(ds.x[BMLP_MAX_FEATURES] == basic_x[2]);
    bmlp_dataset_free(&ds);
}

/* Writes count lines of the given text to a new temporary file and stores its name in path.
 * Returns 0 on success. */
static int write_lines(char *path, size_t size, const char *line, size_t count)
{
    FILE *f;
    int fd;

    snprintf(path, size, "/tmp/bmlp-libsvm-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0)
        return -1;
    f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        return -1;
    }
    for (size_t i = 0; i < count; i++)
        fputs(line, f);
    return fclose(f);
}

/* A dense dataset larger than physical memory fails with BMLP_ERR_NO_MEMORY before it is
 * allocated, and the message names its size and where its feature count came from. The file
 * has one line more than the rows of BMLP_MAX_FEATURES floats that fit in physical memory. */
static void libsvm_dense_beyond_memory(void **state)
{
    const double row_bytes = (double)BMLP_MAX_FEATURES * sizeof(float);
    long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
    bmlp_libsvm_options_t opt = default_options();
    char path[64], line[64];
    bmlp_dataset_t ds;
    bmlp_error_t err;
    size_t rows;

    (void)state;
    if (pages <= 0 || page_size <= 0)
        skip();
    rows = (size_t)((double)pages * (double)page_size / row_bytes) + 1;
    /* Beyond 64 TiB of memory the file would take more than 200 MB. */
    if (rows > ((size_t)1 << 24))
        skip();

    assert_int_equal(write_lines(path, sizeof(path), "1 1:0.5\n", rows), 0);
    opt.n_features = BMLP_MAX_FEATURES;
    assert_int_equal(bmlp_libsvm_load(path, &opt, &ds, &err), BMLP_ERR_NO_MEMORY);
    assert_non_null(strstr(err.message, "1048576 declared features needs"));
    assert_non_null(strstr(err.message, "GiB of memory of this machine"));
    assert_null(ds.x);
    unlink(path);

    snprintf(line, sizeof(line), "1 %zu:0.5\n", BMLP_MAX_FEATURES);
    assert_int_equal(write_lines(path, sizeof(path), line, rows), 0);
    opt.n_features = 0;
    assert_int_equal(bmlp_libsvm_load(path, &opt, &ds, &err), BMLP_ERR_NO_MEMORY);
    assert_non_null(strstr(err.message, "largest index in the file, 1048576, sets the feature"));
    assert_null(ds.x);
    unlink(path);
}

/* The UTF-8 encoding of the byte order mark U+FEFF. */
#define BOM "\xEF\xBB\xBF"
/* The mark as an error value shows it, escaped because it prints as nothing. */
#define ESCAPED_BOM "\\xef\\xbb\\xbf"

/* Loads text and BOM followed by text, both of which must parse, and asserts that the two
 * datasets are bit for bit the same and that the first contains basic_x and basic_y. */
static void assert_bom_matches_plain(const char *text)
{
    bmlp_libsvm_options_t opt = default_options();
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
    assert_int_equal(write_lines(plain_path, sizeof(plain_path), text, 1), 0);
    assert_int_equal(write_lines(bom_path, sizeof(bom_path), with_bom, 1), 0);
    free(with_bom);

    assert_int_equal(bmlp_libsvm_load(plain_path, &opt, &plain, &err), BMLP_OK);
    if (bmlp_libsvm_load(bom_path, &opt, &bom, &err) != BMLP_OK) {
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

/* A byte order mark at the start of the file is skipped, with LF or CRLF line ends, and before
 * a comment, a blank line or leading spaces. */
static void libsvm_bom_matches_plain(void **state)
{
    (void)state;
    assert_bom_matches_plain("+1 1:0.5 2:-1.25\n-1 1:2 2:3e2\n1 1:-0.0 2:1e-3\n");
    assert_bom_matches_plain("+1 1:0.5 2:-1.25\r\n-1 1:2 2:3e2\r\n1 1:-0.0 2:1e-3\r\n");
    assert_bom_matches_plain("+1 1:0.5 2:-1.25\r\n-1 1:2 2:3e2\r\n1 1:-0.0 2:1e-3");
    assert_bom_matches_plain("# comment\n+1 1:0.5 2:-1.25\n-1 1:2 2:3e2\n1 1:-0.0 2:1e-3\n");
    assert_bom_matches_plain("\r\n+1 1:0.5 2:-1.25\n-1 1:2 2:3e2\n1 1:-0.0 2:1e-3\n");
    assert_bom_matches_plain(" \t+1 1:0.5 2:-1.25\n-1 1:2 2:3e2\n1 1:-0.0 2:1e-3\n");
}

/* Writes each text to a temporary file and asserts that loading it fails as cases[i] describes. */
static void assert_texts_fail(const char *const *texts, const bad_case_t *cases, size_t n)
{
    bmlp_libsvm_options_t opt = default_options();
    char path[64];

    for (size_t i = 0; i < n; i++) {
        assert_int_equal(write_lines(path, sizeof(path), texts[i], 1), 0);
        assert_file_fails(path, &cases[i], &opt);
        unlink(path);
    }
}

/* Errors on line 1 after a byte order mark count tokens from the first byte after it, and the
 * value does not contain the mark. */
static void libsvm_bom_error_position(void **state)
{
    static const char *const texts[] = {
        BOM "yes 1:1\n", BOM "+1 1:x\n",         BOM "+1 1:0.5 1:2\r\n",
        BOM "1:0.5\n",   BOM "+1 1:0.5\r 2:1\n",
    };
    static const bad_case_t cases[] = {
        {"label text", BMLP_ERR_PARSE, 1, 1, "yes", "expected a label of +1, -1, 1 or 0"},
        {"value text", BMLP_ERR_PARSE, 1, 2, "1:x", "invalid number"},
        {"duplicate", BMLP_ERR_PARSE, 1, 3, "1:2", "duplicate index 1"},
        {"no label", BMLP_ERR_PARSE, 1, 1, "1:0.5", "line has no label"},
        {"stray CR", BMLP_ERR_PARSE, 1, 2, "", "carriage return inside a line"},
    };

    (void)state;
    assert_texts_fail(texts, cases, sizeof(cases) / sizeof(cases[0]));
}

/* A file of only a byte order mark, or of the mark and then only a blank or comment line, fails
 * like an empty file. */
static void libsvm_bom_only(void **state)
{
    static const char *const texts[] = {BOM, BOM "\n", BOM "# comment\n"};
    static const bad_case_t cases[] = {
        {"bom only", BMLP_ERR_PARSE, 0, 0, "", "file has no samples"},
        {"bom and newline", BMLP_ERR_PARSE, 0, 0, "", "file has no samples"},
        {"bom and comment", BMLP_ERR_PARSE, 0, 0, "", "file has no samples"},
    };
    const bad_case_t empty = {"bad_empty.svm", BMLP_ERR_PARSE, 0, 0, "", "file has no samples"};
    bmlp_libsvm_options_t opt = default_options();

    (void)state;
    assert_fails_with(&empty, &opt);
    assert_texts_fail(texts, cases, sizeof(cases) / sizeof(cases[0]));
}

/* A byte order mark after the first bytes of the file is part of the token that contains it. */
static void libsvm_bom_not_at_start(void **state)
{
    static const char *const texts[] = {
        "+1 1:0.5\n" BOM "-1 1:2\n",
        BOM BOM "+1 1:0.5\n",
        " " BOM "+1 1:0.5\n",
        "+1 1:" BOM "0.5\n",
    };
    static const bad_case_t cases[] = {
        {"line 2", BMLP_ERR_PARSE, 2, 1, ESCAPED_BOM "-1", "expected a label of +1, -1, 1 or 0"},
        {"second mark", BMLP_ERR_PARSE, 1, 1, ESCAPED_BOM "+1",
         "expected a label of +1, -1, 1 or 0"},
        {"after a space", BMLP_ERR_PARSE, 1, 1, ESCAPED_BOM "+1",
         "expected a label of +1, -1, 1 or 0"},
        {"in a value", BMLP_ERR_PARSE, 1, 2, "1:" ESCAPED_BOM "0.5", "invalid number"},
    };

    (void)state;
    assert_texts_fail(texts, cases, sizeof(cases) / sizeof(cases[0]));
}

static void libsvm_value_errors(void **state)
{
    static const bad_case_t cases[] = {
        {"bad_missing_value.svm", BMLP_ERR_PARSE, 2, 3, "3:", "missing value after ':'"},
        {"bad_no_colon.svm", BMLP_ERR_PARSE, 2, 3, "3", "malformed pair, expected INDEX:VALUE"},
        {"bad_nan.svm", BMLP_ERR_PARSE, 2, 2, "1:nan", "NaN and infinity are not accepted"},
        {"bad_inf.svm", BMLP_ERR_PARSE, 2, 3, "2:-Infinity", "NaN and infinity are not accepted"},
        {"bad_overflow.svm", BMLP_ERR_PARSE, 2, 2, "1:1e39", "too large for float32"},
        {"bad_value_text.svm", BMLP_ERR_PARSE, 2, 2, "1:1.2x", "invalid number"},
        {"bad_value_hex.svm", BMLP_ERR_PARSE, 2, 2, "1:0x10", "invalid number"},
        {"bad_two_colons.svm", BMLP_ERR_PARSE, 2, 2, "1:2:3", "invalid number"},
    };

    (void)state;
    assert_all_fail(cases, sizeof(cases) / sizeof(cases[0]));
}

static void libsvm_label_errors(void **state)
{
    static const bad_case_t cases[] = {
        {"bad_label_2.svm", BMLP_ERR_PARSE, 2, 1, "2", "invalid label, expected +1, -1, 1 or 0"},
        {"bad_label_half.svm", BMLP_ERR_PARSE, 2, 1, "0.5", "invalid label"},
        {"bad_label_text.svm", BMLP_ERR_PARSE, 2, 1, "yes", "expected a label of +1, -1, 1 or 0"},
        {"bad_label_nan.svm", BMLP_ERR_PARSE, 2, 1, "NaN", "NaN and infinity are not accepted"},
        {"bad_no_label.svm", BMLP_ERR_PARSE, 2, 1, "1:0.5", "line has no label"},
        {"bad_mixed_zero.svm", BMLP_ERR_PARSE, 3, 1, "0",
         "label 0 after label -1 on line 1: class 0 must be written either as -1 or as 0"},
    };

    (void)state;
    assert_all_fail(cases, sizeof(cases) / sizeof(cases[0]));
}

static void libsvm_line_errors(void **state)
{
    static const bad_case_t cases[] = {
        {"bad_lone_cr.svm", BMLP_ERR_PARSE, 2, 2, "", "carriage return inside a line"},
        /* CR-only line ends: the whole file is one line, rejected at the first CR. */
        {"bad_cr_line_ends.svm", BMLP_ERR_PARSE, 1, 4, "", "carriage return inside a line"},
        {"bad_nul.svm", BMLP_ERR_PARSE, 2, 3, "", "NUL byte inside a line"},
    };

    (void)state;
    assert_all_fail(cases, sizeof(cases) / sizeof(cases[0]));
}

static void libsvm_file_errors(void **state)
{
    static const bad_case_t cases[] = {
        {"bad_empty.svm", BMLP_ERR_PARSE, 0, 0, "", "file has no samples"},
        {"bad_only_comments.svm", BMLP_ERR_PARSE, 0, 0, "", "file has no samples"},
        {"no_features.svm", BMLP_ERR_PARSE, 0, 0, "",
         "no line has an index:value pair, so the feature count is unknown"},
        {"no_such_file.svm", BMLP_ERR_IO, 0, 0, "",
         "cannot open for reading: No such file or directory"},
        /* The fixture directory itself: an error about the file, on no line. */
        {".", BMLP_ERR_IO, 0, 0, "", "cannot read: Is a directory"},
    };

    (void)state;
    assert_all_fail(cases, sizeof(cases) / sizeof(cases[0]));
}

/* In a locale whose decimal point is a comma, strtof alone would stop at the '.' of "0.5". The
 * test skips when no such locale is installed. */
static void libsvm_ignores_process_locale(void **state)
{
    static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8"};
    bmlp_libsvm_options_t opt = default_options();
    const char *chosen = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && chosen == NULL; i++)
        if (setlocale(LC_NUMERIC, names[i]) != NULL)
            chosen = names[i];
    if (chosen == NULL || strcmp(localeconv()->decimal_point, ",") != 0) {
        setlocale(LC_NUMERIC, "C");
        skip();
    }
    assert_loads_basic("basic.svm", &opt);
    setlocale(LC_NUMERIC, "C");
}

static void libsvm_null_arguments(void **state)
{
    bmlp_libsvm_options_t opt = default_options();
    bmlp_dataset_t ds;
    bmlp_error_t err;

    (void)state;
    assert_int_equal(bmlp_libsvm_load(NULL, &opt, &ds, &err), BMLP_ERR_INVALID_ARGUMENT);
    assert_int_equal(bmlp_libsvm_load(LIBSVM_DIR "basic.svm", NULL, &ds, &err),
                     BMLP_ERR_INVALID_ARGUMENT);
    assert_int_equal(bmlp_libsvm_load(LIBSVM_DIR "basic.svm", &opt, NULL, &err),
                     BMLP_ERR_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(libsvm_defaults),
        cmocka_unit_test(libsvm_one_based_values_exact),
        cmocka_unit_test(libsvm_zero_based_matches),
        cmocka_unit_test(libsvm_line_variants_match),
        cmocka_unit_test(libsvm_matches_csv),
        cmocka_unit_test(libsvm_sparse_fills_zeros),
        cmocka_unit_test(libsvm_declared_features_pad),
        cmocka_unit_test(libsvm_label_only_lines),
        cmocka_unit_test(libsvm_label_spellings),
        cmocka_unit_test(libsvm_zero_label_spellings),
        cmocka_unit_test(libsvm_float_limits),
        cmocka_unit_test(libsvm_index_errors),
        cmocka_unit_test(libsvm_zero_based_accepts_index_0),
        cmocka_unit_test(libsvm_beyond_declared_features),
        cmocka_unit_test(libsvm_declared_features_out_of_range),
        cmocka_unit_test(libsvm_few_lines_many_features),
        cmocka_unit_test(libsvm_dense_beyond_memory),
        cmocka_unit_test(libsvm_bom_matches_plain),
        cmocka_unit_test(libsvm_bom_error_position),
        cmocka_unit_test(libsvm_bom_only),
        cmocka_unit_test(libsvm_bom_not_at_start),
        cmocka_unit_test(libsvm_value_errors),
        cmocka_unit_test(libsvm_label_errors),
        cmocka_unit_test(libsvm_line_errors),
        cmocka_unit_test(libsvm_file_errors),
        cmocka_unit_test(libsvm_ignores_process_locale),
        cmocka_unit_test(libsvm_null_arguments),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
