/* Model files: round trips, the byte layout of docs/model-format.md, rejection of damaged files
 * and the atomic save. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bmlp/model.h"
#include "bmlp/net.h"
#include "bmlp/train.h"
#include "test_util.h"

/* The temporary directory that contains every file of one test. */
typedef struct fixture {
    char dir[64];
    char path[128]; /* scratch for join_path */
} fixture_t;

/* ---- file helpers ---- */

static const char *join_path(fixture_t *fx, const char *name)
{
    snprintf(fx->path, sizeof(fx->path), "%s/%s", fx->dir, name);
    return fx->path;
}

static unsigned char *read_whole_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *bytes;
    long end;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    end = ftell(f);
    assert_true(end >= 0);
    rewind(f);
    bytes = malloc((size_t)end + 1);
    assert_non_null(bytes);
    assert_int_equal(fread(bytes, 1, (size_t)end, f), (size_t)end);
    fclose(f);
    *size = (size_t)end;
    return bytes;
}

static void write_whole_file(const char *path, const unsigned char *bytes, size_t size)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
}

/* Number of entries in dir other than "." and "..", and how many of them contain ".tmp.". */
static size_t count_entries(const char *dir, size_t *temp_count)
{
    DIR *d = opendir(dir);
    struct dirent *entry;
    size_t count = 0;

    assert_non_null(d);
    *temp_count = 0;
    while ((entry = readdir(d)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        count++;
        if (strstr(entry->d_name, ".tmp.") != NULL)
            (*temp_count)++;
    }
    closedir(d);
    return count;
}

static void remove_tree(const char *path)
{
    struct stat info;
    DIR *d;
    struct dirent *entry;
    char child[512];

    if (lstat(path, &info) != 0)
        return;
    if (!S_ISDIR(info.st_mode)) {
        unlink(path);
        return;
    }
    d = opendir(path);
    while (d != NULL && (entry = readdir(d)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        snprintf(child, sizeof(child), "%s/%s", path, entry->d_name);
        remove_tree(child);
    }
    if (d != NULL)
        closedir(d);
    rmdir(path);
}

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));

    if (fx == NULL)
        return -1;
    strcpy(fx->dir, "/tmp/bmlp_model_test.XXXXXX");
    if (mkdtemp(fx->dir) == NULL) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;

    remove_tree(fx->dir);
    free(fx);
    return 0;
}

/* ---- byte helpers, written independently of src/model.c ---- */

static uint32_t read_u32_le(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t read_u64_le(const unsigned char *p)
{
    return (uint64_t)read_u32_le(p) | (uint64_t)read_u32_le(p + 4) << 32;
}

static void write_u32_le(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void write_u64_le(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void write_f32_le(unsigned char *p, float v)
{
    uint32_t bits;

    memcpy(&bits, &v, sizeof(bits));
    write_u32_le(p, bits);
}

/* Bitwise CRC-32 with the reflected IEEE 802.3 polynomial 0xEDB88320, as docs/model-format.md
 * specifies, so the test checks the documented algorithm rather than reusing zlib. */
static uint32_t crc32_ieee(const unsigned char *data, size_t size)
{
    uint32_t crc = 0xFFFFFFFFu;

    for (size_t i = 0; i < size; i++) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; bit++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc ^ 0xFFFFFFFFu;
}

/* Recomputes the trailing CRC-32 so that a deliberately edited file reaches the checks after
 * the checksum. */
static void fix_crc(unsigned char *bytes, size_t size)
{
    write_u32_le(bytes + size - 4, crc32_ieee(bytes, size - 4));
}

/* ---- network helpers ---- */

/* Creates a network with Glorot weights, non-zero biases and, when requested, a
 * standardization that includes a zero std (stored as one). */
static bmlp_net_t *make_net(size_t n_inputs, const size_t *hidden, size_t num_hidden,
                            int with_standardization, uint64_t seed)
{
    bmlp_net_t *net = NULL;
    bmlp_error_t err;

    assert_int_equal(bmlp_net_create(n_inputs, hidden, num_hidden, &net, &err), BMLP_OK);
    bmlp_net_init_glorot(net, seed);
    for (size_t l = 0; l < bmlp_net_num_layers(net); l++) {
        for (size_t j = 0; j < bmlp_net_width(net, l + 1); j++) {
            float bias = 0.25f * (float)(j + 1) - 0.1f * (float)l;

            assert_int_equal(bmlp_net_set_bias(net, l, j, bias), BMLP_OK);
        }
    }
    if (with_standardization) {
        float *mean = malloc(n_inputs * sizeof(float));
        float *std = malloc(n_inputs * sizeof(float));

        assert_non_null(mean);
        assert_non_null(std);
        for (size_t j = 0; j < n_inputs; j++) {
            mean[j] = -3.5f + 1.75f * (float)j;
            std[j] = j == 0 ? 0.0f : 0.3f * (float)j;
        }
        assert_int_equal(bmlp_net_set_standardization(net, mean, std, &err), BMLP_OK);
        free(mean);
        free(std);
    }
    return net;
}

static void assert_nets_equal(const bmlp_net_t *a, const bmlp_net_t *b)
{
    const float *mean_a, *std_a, *mean_b, *std_b;
    int has_a = bmlp_net_standardization(a, &mean_a, &std_a);
    int has_b = bmlp_net_standardization(b, &mean_b, &std_b);

    assert_int_equal(bmlp_net_num_layers(a), bmlp_net_num_layers(b));
    for (size_t k = 0; k <= bmlp_net_num_layers(a); k++)
        assert_int_equal(bmlp_net_width(a, k), bmlp_net_width(b, k));
    assert_int_equal(bmlp_net_num_params(a), bmlp_net_num_params(b));
    assert_memory_equal(bmlp_net_params_const(a), bmlp_net_params_const(b),
                        bmlp_net_num_params(a) * sizeof(float));
    assert_int_equal(has_a, has_b);
    if (has_a) {
        size_t d = bmlp_net_width(a, 0);

        assert_memory_equal(mean_a, mean_b, d * sizeof(float));
        assert_memory_equal(std_a, std_b, d * sizeof(float));
    }
}

/* Saves the small network used by the damage tests and returns its bytes. */
static unsigned char *save_small_model(fixture_t *fx, const char *name, size_t *size)
{
    const size_t hidden[] = {3};
    bmlp_net_t *net = make_net(2, hidden, 1, 1, 7);
    bmlp_error_t err;
    unsigned char *bytes;

    assert_int_equal(bmlp_model_save(net, join_path(fx, name), &err), BMLP_OK);
    bytes = read_whole_file(fx->path, size);
    bmlp_net_free(net);
    return bytes;
}

/* Loads path and checks that it fails with status, no network, the path in the error detail
 * and a message that starts with message_prefix. */
static void assert_load_fails(const char *path, bmlp_status_t status, const char *message_prefix)
{
    bmlp_net_t *net = (bmlp_net_t *)&net; /* a non-NULL value that the load must clear */
    bmlp_error_t err;
    bmlp_status_t st = bmlp_model_load(path, &net, &err);

    if (st != status || strncmp(err.message, message_prefix, strlen(message_prefix)) != 0)
        fprintf(stderr, "%s: got status %d, message '%s'; expected %d, '%s...'\n", path, st,
                err.message, status, message_prefix);
    assert_int_equal(st, status);
    assert_null(net);
    assert_int_equal(err.status, status);
    assert_string_equal(err.path, path);
    assert_int_equal(strncmp(err.message, message_prefix, strlen(message_prefix)), 0);
}

/* Writes bytes to damaged.bmlp in the test directory and checks that loading them fails with
 * BMLP_ERR_FORMAT and a message that starts with message_prefix. */
static void assert_bytes_rejected(fixture_t *fx, const unsigned char *bytes, size_t size,
                                  const char *message_prefix)
{
    const char *path = join_path(fx, "damaged.bmlp");

    write_whole_file(path, bytes, size);
    assert_load_fails(path, BMLP_ERR_FORMAT, message_prefix);
}

/* ---- round trips ---- */

static void round_trip(fixture_t *fx, size_t num_hidden, int with_standardization)
{
    const size_t hidden[] = {5, 4};
    bmlp_net_t *net = make_net(3, hidden, num_hidden, with_standardization, 11 + num_hidden);
    bmlp_net_t *loaded = NULL;
    bmlp_error_t err;
    char first[128], second[128];
    unsigned char *bytes_first, *bytes_second;
    size_t size_first, size_second;

    snprintf(first, sizeof(first), "%s/first.bmlp", fx->dir);
    snprintf(second, sizeof(second), "%s/second.bmlp", fx->dir);
    assert_int_equal(bmlp_model_save(net, first, &err), BMLP_OK);
    assert_int_equal(bmlp_model_load(first, &loaded, &err), BMLP_OK);
    assert_non_null(loaded);
    assert_nets_equal(net, loaded);

    assert_int_equal(bmlp_model_save(loaded, second, &err), BMLP_OK);
    bytes_first = read_whole_file(first, &size_first);
    bytes_second = read_whole_file(second, &size_second);
    assert_int_equal(size_first, size_second);
    assert_memory_equal(bytes_first, bytes_second, size_first);

    free(bytes_first);
    free(bytes_second);
    bmlp_net_free(net);
    bmlp_net_free(loaded);
}

static void test_round_trip_all_depths(void **state)
{
    for (size_t num_hidden = 0; num_hidden <= 2; num_hidden++) {
        round_trip(*state, num_hidden, 0);
        round_trip(*state, num_hidden, 1);
    }
}

static void test_round_trip_special_values(void **state)
{
    fixture_t *fx = *state;
    const size_t hidden[] = {2};
    bmlp_net_t *net = make_net(1, hidden, 1, 0, 3);
    bmlp_net_t *loaded = NULL;
    bmlp_error_t err;
    float *params = bmlp_net_params(net);

    params[0] = -0.0f;
    params[1] = 1e-45f; /* the smallest subnormal */
    params[2] = 3.4028235e38f;
    params[3] = -1.17549435e-38f;
    assert_int_equal(bmlp_model_save(net, join_path(fx, "special.bmlp"), &err), BMLP_OK);
    assert_int_equal(bmlp_model_load(fx->path, &loaded, &err), BMLP_OK);
    assert_nets_equal(net, loaded);
    bmlp_net_free(net);
    bmlp_net_free(loaded);
}

static void test_predictions_identical_after_load(void **state)
{
    fixture_t *fx = *state;
    const size_t hidden[] = {6, 5};
    const size_t n_inputs = 4, n_samples = 37;
    bmlp_net_t *net = make_net(n_inputs, hidden, 2, 1, 21);
    bmlp_net_t *loaded = NULL;
    bmlp_error_t err;
    float x[37 * 4], before[37], after[37];

    for (size_t i = 0; i < n_samples * n_inputs; i++)
        x[i] = (float)((int)(i * 7919 % 97) - 48) / 8.0f;
    assert_int_equal(bmlp_predict(net, x, n_samples, before, &err), BMLP_OK);
    assert_int_equal(bmlp_model_save(net, join_path(fx, "predict.bmlp"), &err), BMLP_OK);
    assert_int_equal(bmlp_model_load(fx->path, &loaded, &err), BMLP_OK);
    assert_int_equal(bmlp_predict(loaded, x, n_samples, after, &err), BMLP_OK);
    assert_memory_equal(before, after, sizeof(before));
    bmlp_net_free(net);
    bmlp_net_free(loaded);
}

/* ---- byte layout ---- */

static void test_layout_matches_format_doc(void **state)
{
    fixture_t *fx = *state;
    size_t size;
    unsigned char *bytes = save_small_model(fx, "layout.bmlp", &size);
    const size_t widths[] = {2, 3, 1};
    const size_t num_params = 2 * 3 + 3 + 3 * 1 + 1;
    const size_t std_offset = 16 + 3 * 8 + 4;
    const size_t count_offset = std_offset + 2 * 2 * 4;

    assert_int_equal(size, count_offset + 8 + 4 * num_params + 4);
    assert_memory_equal(bytes, "BMLPMODL", 8);
    assert_int_equal(read_u32_le(bytes + 8), 1);
    assert_int_equal(read_u32_le(bytes + 12), 2);
    for (size_t k = 0; k < 3; k++)
        assert_int_equal(read_u64_le(bytes + 16 + 8 * k), widths[k]);
    assert_int_equal(read_u32_le(bytes + std_offset - 4), 1);
    assert_int_equal(read_u64_le(bytes + count_offset), num_params);
    assert_int_equal(read_u32_le(bytes + size - 4), crc32_ieee(bytes, size - 4));
    free(bytes);
}

static void test_layout_values_little_endian(void **state)
{
    fixture_t *fx = *state;
    const size_t hidden[] = {3};
    bmlp_net_t *net = make_net(2, hidden, 1, 1, 7);
    bmlp_error_t err;
    size_t size;
    unsigned char *bytes;
    const float *mean, *std;
    const float *params = bmlp_net_params_const(net);
    const size_t std_offset = 16 + 3 * 8 + 4;
    const size_t params_offset = std_offset + 16 + 8;
    unsigned char expected[4];

    assert_int_equal(bmlp_model_save(net, join_path(fx, "values.bmlp"), &err), BMLP_OK);
    bytes = read_whole_file(fx->path, &size);
    assert_int_equal(bmlp_net_standardization(net, &mean, &std), 1);
    for (size_t j = 0; j < 2; j++) {
        write_f32_le(expected, mean[j]);
        assert_memory_equal(bytes + std_offset + 4 * j, expected, 4);
        write_f32_le(expected, std[j]);
        assert_memory_equal(bytes + std_offset + 8 + 4 * j, expected, 4);
    }
    for (size_t i = 0; i < bmlp_net_num_params(net); i++) {
        write_f32_le(expected, params[i]);
        assert_memory_equal(bytes + params_offset + 4 * i, expected, 4);
    }
    free(bytes);
    bmlp_net_free(net);
}

static void test_crc_reference_value(void **state)
{
    (void)state;
    /* The standard check value of CRC-32/ISO-HDLC, the CRC of zlib and IEEE 802.3. */
    assert_int_equal(crc32_ieee((const unsigned char *)"123456789", 9), 0xCBF43926u);
}

/* ---- damaged files ---- */

static void test_load_rejects_every_truncation(void **state)
{
    fixture_t *fx = *state;
    size_t size;
    unsigned char *bytes = save_small_model(fx, "small.bmlp", &size);

    for (size_t len = 0; len < size; len++)
        assert_bytes_rejected(fx, bytes, len, "truncated: expected ");
    free(bytes);
}

static void test_load_rejects_every_bit_flip(void **state)
{
    fixture_t *fx = *state;
    size_t size;
    unsigned char *bytes = save_small_model(fx, "small.bmlp", &size);

    for (size_t i = 0; i < size; i++) {
        for (int bit = 0; bit < 8; bit++) {
            bytes[i] ^= (unsigned char)(1u << bit);
            assert_bytes_rejected(fx, bytes, size, "");
            bytes[i] ^= (unsigned char)(1u << bit);
        }
    }
    free(bytes);
}

static void test_load_reports_checksum_mismatch(void **state)
{
    fixture_t *fx = *state;
    size_t size;
    unsigned char *bytes = save_small_model(fx, "small.bmlp", &size);

    bytes[size - 10] ^= 0x40; /* inside the last parameter */
    assert_bytes_rejected(fx, bytes, size, "checksum mismatch");
    free(bytes);
}

static void test_load_rejects_wrong_magic(void **state)
{
    fixture_t *fx = *state;
    size_t size;
    unsigned char *bytes = save_small_model(fx, "small.bmlp", &size);

    memcpy(bytes, "BMLPMODX", 8);
    assert_bytes_rejected(fx, bytes, size, "not a bmlp model file");
    assert_bytes_rejected(fx, (const unsigned char *)"hello", 5, "not a bmlp model file");
    free(bytes);
}

static void test_load_rejects_version_2(void **state)
{
    fixture_t *fx = *state;
    const char *path = join_path(fx, "v2.bmlp");
    size_t size;
    unsigned char *bytes = save_small_model(fx, "small.bmlp", &size);
    bmlp_net_t *net = NULL;
    bmlp_error_t err;

    write_u32_le(bytes + 8, 2);
    fix_crc(bytes, size);
    write_whole_file(path, bytes, size);
    assert_int_equal(bmlp_model_load(path, &net, &err), BMLP_ERR_FORMAT);
    assert_null(net);
    assert_string_equal(err.message,
                        "model file version 2 is not supported; this build reads version 1");
    assert_string_equal(err.value, "2");
    assert_string_equal(err.path, path);
    free(bytes);
}

static void test_load_rejects_trailing_bytes(void **state)
{
    fixture_t *fx = *state;
    size_t size;
    unsigned char *bytes = save_small_model(fx, "small.bmlp", &size);
    unsigned char *longer = malloc(size + 16);

    assert_non_null(longer);
    memcpy(longer, bytes, size);
    memset(longer + size, 0xAB, 16);
    assert_bytes_rejected(fx, longer, size + 1, "trailing bytes: expected ");
    assert_bytes_rejected(fx, longer, size + 16, "trailing bytes: expected ");
    free(longer);
    free(bytes);
}

/* A header that declares two 2^20-wide layers, about 4 TiB of parameters, in a 64-byte file.
 * The size check must reject it before the body is allocated. */
static void test_load_rejects_huge_declared_width(void **state)
{
    fixture_t *fx = *state;
    const char *path = join_path(fx, "huge.bmlp");
    unsigned char bytes[64] = "BMLPMODL";
    const uint64_t width = (uint64_t)1 << 20;
    const uint64_t num_params = width * width + width + width + 1;
    const uint64_t declared = 16 + 3 * 8 + 4 + 8 + 4 * num_params + 4;
    char expected[128];
    bmlp_net_t *net = NULL;
    bmlp_error_t err;

    write_u32_le(bytes + 8, 1);
    write_u32_le(bytes + 12, 2);
    write_u64_le(bytes + 16, width);
    write_u64_le(bytes + 24, width);
    write_u64_le(bytes + 32, 1);
    write_u32_le(bytes + 40, 0);
    write_whole_file(path, bytes, sizeof(bytes));
    snprintf(expected, sizeof(expected), "truncated: expected %llu bytes, file has 64",
             (unsigned long long)declared);
    assert_int_equal(bmlp_model_load(path, &net, &err), BMLP_ERR_FORMAT);
    assert_null(net);
    assert_string_equal(err.message, expected);
}

/* Header fields out of range are rejected by name even when the checksum matches. */
static void test_load_rejects_header_ranges(void **state)
{
    fixture_t *fx = *state;
    size_t size;
    unsigned char *bytes = save_small_model(fx, "small.bmlp", &size);
    unsigned char *edited = malloc(size);

    assert_non_null(edited);

    memcpy(edited, bytes, size);
    write_u32_le(edited + 12, 0);
    assert_bytes_rejected(fx, edited, size, "model has 0 weight layers; expected 1 to 65");
    write_u32_le(edited + 12, 66);
    assert_bytes_rejected(fx, edited, size, "model has 66 weight layers; expected 1 to 65");

    memcpy(edited, bytes, size);
    write_u64_le(edited + 16, 0);
    assert_bytes_rejected(fx, edited, size, "layer 0 has width 0; widths must be 1 to 1048576");
    write_u64_le(edited + 16, ((uint64_t)1 << 20) + 1);
    assert_bytes_rejected(fx, edited, size, "layer 0 has width 1048577");
    write_u64_le(edited + 16, UINT64_MAX);
    assert_bytes_rejected(fx, edited, size, "layer 0 has width 18446744073709551615");

    memcpy(edited, bytes, size);
    write_u64_le(edited + 32, 2);
    assert_bytes_rejected(fx, edited, size, "output layer has width 2; expected 1");

    memcpy(edited, bytes, size);
    write_u32_le(edited + 40, 3);
    assert_bytes_rejected(fx, edited, size, "unknown flags 0x00000003");
    free(edited);
    free(bytes);
}

/* Body values that pass the checksum but break the format are rejected. The small model has
 * widths {2, 3, 1}, the standardization at offset 44, the parameter count at offset 60 and the
 * parameters from offset 68. */
static void test_load_rejects_invalid_body(void **state)
{
    fixture_t *fx = *state;
    size_t size;
    unsigned char *bytes = save_small_model(fx, "small.bmlp", &size);
    unsigned char *edited = malloc(size);

    assert_non_null(edited);

    memcpy(edited, bytes, size);
    write_u64_le(edited + 60, 14);
    fix_crc(edited, size);
    assert_bytes_rejected(fx, edited, size, "parameter count 14 does not match the 13");

    memcpy(edited, bytes, size);
    write_f32_le(edited + 68 + 4 * 5, NAN);
    fix_crc(edited, size);
    assert_bytes_rejected(fx, edited, size, "parameter at index 5 is not finite");

    memcpy(edited, bytes, size);
    write_f32_le(edited + 68 + 4 * 12, -INFINITY);
    fix_crc(edited, size);
    assert_bytes_rejected(fx, edited, size, "parameter at index 12 is not finite");

    memcpy(edited, bytes, size);
    write_f32_le(edited + 44 + 4, INFINITY);
    fix_crc(edited, size);
    assert_bytes_rejected(fx, edited, size, "feature 2 has standardization mean inf");

    memcpy(edited, bytes, size);
    write_f32_le(edited + 52, -1.0f);
    fix_crc(edited, size);
    assert_bytes_rejected(fx, edited, size, "feature 1 has standardization mean");

    memcpy(edited, bytes, size);
    write_f32_le(edited + 56, 0.0f);
    fix_crc(edited, size);
    assert_bytes_rejected(fx, edited, size, "feature 2 has standardization mean");
    free(edited);
    free(bytes);
}

static void test_load_missing_file_is_io_error(void **state)
{
    fixture_t *fx = *state;
    bmlp_net_t *net = NULL;
    bmlp_error_t err;
    const char *path = join_path(fx, "does-not-exist.bmlp");

    assert_int_equal(bmlp_model_load(path, &net, &err), BMLP_ERR_IO);
    assert_null(net);
    assert_string_equal(err.path, path);
    assert_non_null(strstr(err.message, strerror(ENOENT)));

    assert_load_fails(fx->dir, BMLP_ERR_IO, "model file is not a regular file");
}

/* ---- saving ---- */

static void test_save_to_missing_dir_fails(void **state)
{
    fixture_t *fx = *state;
    bmlp_net_t *net = make_net(2, NULL, 0, 0, 1);
    bmlp_error_t err;
    size_t temp_count;
    struct stat info;

    assert_int_equal(bmlp_model_save(net, join_path(fx, "missing/model.bmlp"), &err),
                     BMLP_ERR_IO);
    assert_string_equal(err.path, fx->path);
    assert_non_null(strstr(err.message, strerror(ENOENT)));
    assert_int_equal(stat(join_path(fx, "missing"), &info), -1);
    assert_int_equal(count_entries(fx->dir, &temp_count), 0);
    bmlp_net_free(net);
}

static void test_save_replaces_existing_model(void **state)
{
    fixture_t *fx = *state;
    const size_t hidden[] = {4};
    bmlp_net_t *old_net = make_net(2, NULL, 0, 1, 1);
    bmlp_net_t *new_net = make_net(3, hidden, 1, 0, 2);
    bmlp_net_t *loaded = NULL;
    bmlp_error_t err;
    size_t temp_count;
    char path[128];

    snprintf(path, sizeof(path), "%s/model.bmlp", fx->dir);
    assert_int_equal(bmlp_model_save(old_net, path, &err), BMLP_OK);
    assert_int_equal(bmlp_model_save(new_net, path, &err), BMLP_OK);
    assert_int_equal(bmlp_model_load(path, &loaded, &err), BMLP_OK);
    assert_nets_equal(new_net, loaded);
    assert_int_equal(count_entries(fx->dir, &temp_count), 1);
    assert_int_equal(temp_count, 0);

    bmlp_net_free(old_net);
    bmlp_net_free(new_net);
    bmlp_net_free(loaded);
}

/* Makes the write itself fail. Permissions cannot do that because the tests may run as root,
 * but RLIMIT_FSIZE caps the size of any file this process writes, root included. */
static void test_failed_write_keeps_old_file(void **state)
{
    fixture_t *fx = *state;
    const size_t hidden[] = {64};
    bmlp_net_t *old_net = make_net(2, NULL, 0, 0, 1);
    bmlp_net_t *big_net = make_net(32, hidden, 1, 1, 2);
    bmlp_error_t err;
    struct rlimit saved_limit, small_limit;
    void (*saved_handler)(int);
    unsigned char *before, *after;
    size_t before_size, after_size, temp_count;
    bmlp_status_t st;
    char path[128];

    snprintf(path, sizeof(path), "%s/model.bmlp", fx->dir);
    assert_int_equal(bmlp_model_save(old_net, path, &err), BMLP_OK);
    before = read_whole_file(path, &before_size);

    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved_limit), 0);
    small_limit = saved_limit;
    small_limit.rlim_cur = 1024; /* the old model has 60 bytes, the new one 9020 */
    saved_handler = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small_limit), 0);
    st = bmlp_model_save(big_net, path, &err);
    setrlimit(RLIMIT_FSIZE, &saved_limit);
    signal(SIGXFSZ, saved_handler);

    assert_int_equal(st, BMLP_ERR_IO);
    assert_non_null(strstr(err.message, "write failed"));
    after = read_whole_file(path, &after_size);
    assert_int_equal(after_size, before_size);
    assert_memory_equal(after, before, before_size);
    assert_int_equal(count_entries(fx->dir, &temp_count), 1);
    assert_int_equal(temp_count, 0);

    free(before);
    free(after);
    bmlp_net_free(old_net);
    bmlp_net_free(big_net);
}

static void test_save_rejects_nonfinite_params(void **state)
{
    fixture_t *fx = *state;
    bmlp_net_t *net = make_net(2, NULL, 0, 0, 1);
    bmlp_error_t err;
    size_t temp_count;

    bmlp_net_params(net)[1] = NAN;
    assert_int_equal(bmlp_model_save(net, join_path(fx, "nan.bmlp"), &err),
                     BMLP_ERR_INVALID_ARGUMENT);
    assert_int_equal(count_entries(fx->dir, &temp_count), 0);
    bmlp_net_free(net);
}

static void test_save_mode_follows_umask(void **state)
{
    fixture_t *fx = *state;
    bmlp_net_t *net = make_net(2, NULL, 0, 0, 1);
    bmlp_error_t err;
    struct stat info;
    mode_t saved_mask = umask(022);

    assert_int_equal(bmlp_model_save(net, join_path(fx, "shared.bmlp"), &err), BMLP_OK);
    assert_int_equal(stat(fx->path, &info), 0);
    assert_int_equal(info.st_mode & 0777, 0644);

    umask(077);
    assert_int_equal(bmlp_model_save(net, join_path(fx, "private.bmlp"), &err), BMLP_OK);
    umask(saved_mask);
    assert_int_equal(stat(fx->path, &info), 0);
    assert_int_equal(info.st_mode & 0777, 0600);
    bmlp_net_free(net);
}

static void test_null_arguments_rejected(void **state)
{
    fixture_t *fx = *state;
    bmlp_net_t *net = make_net(2, NULL, 0, 0, 1);
    bmlp_net_t *loaded = net; /* a non-NULL value that the load must clear */
    bmlp_error_t err;

    assert_int_equal(bmlp_model_save(NULL, join_path(fx, "x.bmlp"), &err),
                     BMLP_ERR_INVALID_ARGUMENT);
    assert_int_equal(bmlp_model_save(net, NULL, &err), BMLP_ERR_INVALID_ARGUMENT);
    assert_int_equal(bmlp_model_save(net, "", &err), BMLP_ERR_INVALID_ARGUMENT);
    assert_int_equal(bmlp_model_load(NULL, &loaded, NULL), BMLP_ERR_INVALID_ARGUMENT);
    assert_null(loaded);
    assert_int_equal(bmlp_model_load(fx->path, NULL, NULL), BMLP_ERR_INVALID_ARGUMENT);
    bmlp_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_all_depths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_special_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_predictions_identical_after_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layout_matches_format_doc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layout_values_little_endian, setup, teardown),
        cmocka_unit_test(test_crc_reference_value),
        cmocka_unit_test_setup_teardown(test_load_rejects_every_truncation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_rejects_every_bit_flip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_reports_checksum_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_rejects_wrong_magic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_rejects_version_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_rejects_trailing_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_rejects_huge_declared_width, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_rejects_header_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_rejects_invalid_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_missing_file_is_io_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_to_missing_dir_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_replaces_existing_model, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_keeps_old_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_rejects_nonfinite_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_mode_follows_umask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_arguments_rejected, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
