/* Model files: encoding, validation and the atomic write. docs/model-format.md describes the
 * format byte by byte. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "bmlp/file.h"
#include "bmlp/model.h"
#include "error.h"
#include "net_internal.h"

_Static_assert(sizeof(float) == 4, "model files store parameters as 32-bit IEEE 754 floats");

#define MODEL_MAGIC "BMLPMODL"
#define MODEL_MAGIC_SIZE 8
#define MODEL_VERSION 1u
#define MODEL_FLAG_STANDARDIZATION 1u

/* Bytes of magic, version, layer count, widths and flags for the deepest allowed network. */
#define MODEL_MAX_HEADER_SIZE (MODEL_MAGIC_SIZE + 4 + 4 + 8 * (BMLP_MAX_HIDDEN + 2) + 4)

/* The fixed fields of a model file and the offsets they imply. Offsets and sizes are uint64_t
 * because a corrupt header may declare a file far larger than memory. */
typedef struct model_layout {
    uint32_t num_layers;                  /* weight layers */
    uint64_t widths[BMLP_MAX_HIDDEN + 2]; /* widths[0] inputs ... widths[num_layers] = 1 */
    uint32_t flags;
    uint64_t num_params;    /* parameter count that the widths imply */
    uint64_t std_offset;    /* start of the standardization, which is also the header size */
    uint64_t count_offset;  /* start of the stored parameter count */
    uint64_t params_offset; /* start of the parameters */
    uint64_t crc_offset;    /* start of the CRC-32, which covers every byte before it */
    uint64_t file_size;
} model_layout_t;

/* The bytes read so far and the decoding position. A read past avail reports truncation. */
typedef struct model_reader {
    const unsigned char *data;
    size_t avail;       /* bytes present in data */
    size_t pos;         /* next byte to decode */
    uint64_t file_size; /* size of the whole file, for messages */
    const char *path;
    bmlp_error_t *err;
} model_reader_t;

/* ---- little-endian encoding ---- */

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_f32(unsigned char *p, float v)
{
    uint32_t bits;

    memcpy(&bits, &v, sizeof(bits));
    put_u32(p, bits);
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;

    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static float get_f32(const unsigned char *p)
{
    uint32_t bits = get_u32(p);
    float v;

    memcpy(&v, &bits, sizeof(v));
    return v;
}

/* zlib's crc32() takes a uInt length, so large buffers go through in chunks. */
static uint32_t crc32_bytes(const unsigned char *data, size_t size)
{
    const size_t max_chunk = (size_t)1 << 30;
    uLong crc = crc32(0L, Z_NULL, 0);

    while (size > 0) {
        size_t chunk = size < max_chunk ? size : max_chunk;

        crc = crc32(crc, data, (uInt)chunk);
        data += chunk;
        size -= chunk;
    }
    return (uint32_t)crc;
}

static const char *u64_text(uint64_t v, char text[24])
{
    snprintf(text, 24, "%" PRIu64, v);
    return text;
}

/* ---- layout ---- */

/* Fills the parameter count and offsets of a layout whose widths are already within
 * 1..BMLP_MAX_WIDTH. With at most 65 layers of at most 2^40 + 2^20 parameters each, no sum
 * below can overflow 64 bits. */
static void compute_offsets(model_layout_t *layout)
{
    uint64_t num_params = 0;
    uint64_t std_size = 0;

    for (uint32_t l = 0; l < layout->num_layers; l++)
        num_params += layout->widths[l + 1] * layout->widths[l] + layout->widths[l + 1];
    if (layout->flags & MODEL_FLAG_STANDARDIZATION)
        std_size = 2 * 4 * layout->widths[0];

    layout->num_params = num_params;
    layout->std_offset = MODEL_MAGIC_SIZE + 4 + 4 + 8 * ((uint64_t)layout->num_layers + 1) + 4;
    layout->count_offset = layout->std_offset + std_size;
    layout->params_offset = layout->count_offset + 8;
    layout->crc_offset = layout->params_offset + 4 * num_params;
    layout->file_size = layout->crc_offset + 4;
}

static void layout_from_net(const bmlp_net_t *net, model_layout_t *layout)
{
    memset(layout, 0, sizeof(*layout));
    layout->num_layers = (uint32_t)net->num_layers;
    for (size_t k = 0; k <= net->num_layers; k++)
        layout->widths[k] = net->widths[k];
    layout->flags = net->mean != NULL ? MODEL_FLAG_STANDARDIZATION : 0;
    compute_offsets(layout);
}

/* ---- header parsing ---- */

/* Points *p at the next n bytes, or reports the file as truncated when they were not read. */
static bmlp_status_t take_bytes(model_reader_t *r, size_t n, const unsigned char **p)
{
    *p = NULL;
    if (r->avail - r->pos < n)
        return bmlp_fail(r->err, BMLP_ERR_FORMAT, r->path, 0, 0, NULL,
                         "truncated: expected at least %zu bytes, file has %" PRIu64, r->pos + n,
                         r->file_size);
    *p = r->data + r->pos;
    r->pos += n;
    return BMLP_OK;
}

/* A file shorter than the magic counts as truncated when its bytes start the magic, so every
 * prefix of a model file reports truncation rather than a wrong file type. */
static bmlp_status_t parse_magic(model_reader_t *r)
{
    const unsigned char *p;
    size_t n = r->avail < MODEL_MAGIC_SIZE ? r->avail : MODEL_MAGIC_SIZE;

    if (memcmp(r->data, MODEL_MAGIC, n) != 0)
        return bmlp_fail(r->err, BMLP_ERR_FORMAT, r->path, 0, 0, NULL, "not a bmlp model file");
    return take_bytes(r, MODEL_MAGIC_SIZE, &p);
}

static bmlp_status_t parse_version(model_reader_t *r)
{
    const unsigned char *p;
    bmlp_status_t st = take_bytes(r, 4, &p);
    uint32_t version;
    char text[24];

    if (st != BMLP_OK)
        return st;
    version = get_u32(p);
    if (version != MODEL_VERSION)
        return bmlp_fail(r->err, BMLP_ERR_FORMAT, r->path, 0, 0, u64_text(version, text),
                         "model file version %" PRIu32 " is not supported; this build reads "
                         "version %u",
                         version, MODEL_VERSION);
    return BMLP_OK;
}

static bmlp_status_t parse_num_layers(model_reader_t *r, model_layout_t *layout)
{
    const unsigned char *p;
    bmlp_status_t st = take_bytes(r, 4, &p);
    char text[24];

    if (st != BMLP_OK)
        return st;
    layout->num_layers = get_u32(p);
    if (layout->num_layers < 1 || layout->num_layers > BMLP_MAX_HIDDEN + 1)
        return bmlp_fail(r->err, BMLP_ERR_FORMAT, r->path, 0, 0, u64_text(layout->num_layers, text),
                         "model has %" PRIu32 " weight layers; expected 1 to %d",
                         layout->num_layers, BMLP_MAX_HIDDEN + 1);
    return BMLP_OK;
}

static bmlp_status_t parse_widths(model_reader_t *r, model_layout_t *layout)
{
    char text[24];

    for (uint32_t k = 0; k <= layout->num_layers; k++) {
        const unsigned char *p;
        bmlp_status_t st = take_bytes(r, 8, &p);

        if (st != BMLP_OK)
            return st;
        layout->widths[k] = get_u64(p);
        if (layout->widths[k] < 1 || layout->widths[k] > BMLP_MAX_WIDTH)
            return bmlp_fail(r->err, BMLP_ERR_FORMAT, r->path, 0, 0,
                             u64_text(layout->widths[k], text),
                             "layer %" PRIu32 " has width %" PRIu64 "; widths must be 1 to %zu", k,
                             layout->widths[k], BMLP_MAX_WIDTH);
    }
    if (layout->widths[layout->num_layers] != 1)
        return bmlp_fail(r->err, BMLP_ERR_FORMAT, r->path, 0, 0,
                         u64_text(layout->widths[layout->num_layers], text),
                         "output layer has width %" PRIu64 "; expected 1",
                         layout->widths[layout->num_layers]);
    return BMLP_OK;
}

static bmlp_status_t parse_flags(model_reader_t *r, model_layout_t *layout)
{
    const unsigned char *p;
    bmlp_status_t st = take_bytes(r, 4, &p);
    char text[24];

    if (st != BMLP_OK)
        return st;
    layout->flags = get_u32(p);
    if (layout->flags & ~MODEL_FLAG_STANDARDIZATION)
        return bmlp_fail(r->err, BMLP_ERR_FORMAT, r->path, 0, 0, u64_text(layout->flags, text),
                         "unknown flags 0x%08" PRIx32 " in the model header", layout->flags);
    return BMLP_OK;
}

/* Decodes and range-checks everything up to the flags, then computes the offsets and size that
 * the header implies. Reads only the first layout->std_offset bytes. */
static bmlp_status_t parse_header(model_reader_t *r, model_layout_t *layout)
{
    bmlp_status_t st;

    memset(layout, 0, sizeof(*layout));
    st = parse_magic(r);
    if (st == BMLP_OK)
        st = parse_version(r);
    if (st == BMLP_OK)
        st = parse_num_layers(r, layout);
    if (st == BMLP_OK)
        st = parse_widths(r, layout);
    if (st == BMLP_OK)
        st = parse_flags(r, layout);
    if (st == BMLP_OK)
        compute_offsets(layout);
    return st;
}

/* ---- body validation ---- */

/* Compares the declared size with the file size. Runs before the file body is allocated, so a
 * corrupt header cannot cause a large allocation. */
static bmlp_status_t check_file_size(const model_layout_t *layout, uint64_t file_size,
                                     const char *path, bmlp_error_t *err)
{
    if (file_size < layout->file_size)
        return bmlp_fail(err, BMLP_ERR_FORMAT, path, 0, 0, NULL,
                         "truncated: expected %" PRIu64 " bytes, file has %" PRIu64,
                         layout->file_size, file_size);
    if (file_size > layout->file_size)
        return bmlp_fail(err, BMLP_ERR_FORMAT, path, 0, 0, NULL,
                         "trailing bytes: expected %" PRIu64 " bytes, file has %" PRIu64,
                         layout->file_size, file_size);
    if (layout->file_size > SIZE_MAX)
        return bmlp_fail(err, BMLP_ERR_NO_MEMORY, path, 0, 0, NULL,
                         "model file of %" PRIu64 " bytes does not fit in memory",
                         layout->file_size);
    return BMLP_OK;
}

static bmlp_status_t check_crc(const unsigned char *bytes, const model_layout_t *layout,
                               const char *path, bmlp_error_t *err)
{
    size_t crc_offset = (size_t)layout->crc_offset;
    uint32_t stored = get_u32(bytes + crc_offset);
    uint32_t computed = crc32_bytes(bytes, crc_offset);
    if (stored != computed)
        return bmlp_fail(err, BMLP_ERR_FORMAT, path, 0, 0, NULL,
                         "checksum mismatch: file stores CRC-32 0x%08" PRIx32
                         ", contents give 0x%08" PRIx32,
                         stored, computed);
    return BMLP_OK;
}

/* Checks the stored standardization: every value finite and every std positive, because the
 * writer stores a zero std as one. */
static bmlp_status_t check_standardization(const unsigned char *bytes, const model_layout_t *layout,
                                           const char *path, bmlp_error_t *err)
{
    size_t d = (size_t)layout->widths[0];
    const unsigned char *mean = bytes + layout->std_offset;
    const unsigned char *std = mean + 4 * d;
    char text[32];

    if (!(layout->flags & MODEL_FLAG_STANDARDIZATION))
        return BMLP_OK;
    for (size_t j = 0; j < d; j++) {
        float m = get_f32(mean + 4 * j);
        float s = get_f32(std + 4 * j);

        if (!isfinite(m) || !isfinite(s) || s <= 0.0f) {
            snprintf(text, sizeof(text), "%g %g", (double)m, (double)s);
            return bmlp_fail(err, BMLP_ERR_FORMAT, path, 0, 0, text,
                             "feature %zu has standardization mean %g and std %g; both must be "
                             "finite and std positive",
                             j + 1, (double)m, (double)s);
        }
    }
    return BMLP_OK;
}

static bmlp_status_t check_params(const unsigned char *bytes, const model_layout_t *layout,
                                  const char *path, bmlp_error_t *err)
{
    uint64_t stored_count = get_u64(bytes + layout->count_offset);
    const unsigned char *params = bytes + layout->params_offset;
    char text[32];

    if (stored_count != layout->num_params)
        return bmlp_fail(err, BMLP_ERR_FORMAT, path, 0, 0, u64_text(stored_count, text),
                         "parameter count %" PRIu64 " does not match the %" PRIu64
                         " that the layer widths imply",
                         stored_count, layout->num_params);
    for (size_t i = 0; i < (size_t)layout->num_params; i++) {
        float v = get_f32(params + 4 * i);

        if (!isfinite(v)) {
            snprintf(text, sizeof(text), "%g", (double)v);
            return bmlp_fail(err, BMLP_ERR_FORMAT, path, 0, 0, text,
                             "parameter at index %zu is not finite", i);
        }
    }
    return BMLP_OK;
}

/* ---- load ---- */

/* Reads count bytes. A short read means an I/O error or a file that shrank since fstat. */
static bmlp_status_t read_exact(FILE *f, unsigned char *dst, size_t count, uint64_t offset,
                                const char *path, bmlp_error_t *err)
{
    size_t got = fread(dst, 1, count, f);

    if (got == count)
        return BMLP_OK;
    if (ferror(f))
        return bmlp_fail(err, BMLP_ERR_IO, path, 0, 0, NULL, "cannot read model file: %s",
                         strerror(errno));
    return bmlp_fail(err, BMLP_ERR_FORMAT, path, 0, 0, NULL,
                     "truncated: file ended after %" PRIu64 " bytes while being read",
                     offset + got);
}

static bmlp_status_t stat_model_file(FILE *f, const char *path, uint64_t *size, bmlp_error_t *err)
{
    struct stat info;

    if (fstat(fileno(f), &info) != 0)
        return bmlp_fail(err, BMLP_ERR_IO, path, 0, 0, NULL, "cannot stat model file: %s",
                         strerror(errno));
    if (!S_ISREG(info.st_mode))
        return bmlp_fail(err, BMLP_ERR_IO, path, 0, 0, NULL, "model file is not a regular file");
    *size = (uint64_t)info.st_size;
    return BMLP_OK;
}

/* Reads the header, checks the size it declares against the file size, and only then reads the
 * whole file into *bytes (caller frees) and verifies its checksum. */
static bmlp_status_t read_model_bytes(FILE *f, const char *path, model_layout_t *layout,
                                      unsigned char **bytes, bmlp_error_t *err)
{
    unsigned char header[MODEL_MAX_HEADER_SIZE];
    model_reader_t reader = {header, 0, 0, 0, path, err};
    bmlp_status_t st = stat_model_file(f, path, &reader.file_size, err);

    *bytes = NULL;
    if (st != BMLP_OK)
        return st;
    reader.avail = reader.file_size < sizeof(header) ? (size_t)reader.file_size : sizeof(header);
    st = read_exact(f, header, reader.avail, 0, path, err);
    if (st == BMLP_OK)
        st = parse_header(&reader, layout);
    if (st == BMLP_OK)
        st = check_file_size(layout, reader.file_size, path, err);
    if (st != BMLP_OK)
        return st;

    /* From here on layout->file_size equals the file size, so the header bytes fit. */
    *bytes = malloc((size_t)layout->file_size);
    if (*bytes == NULL)
        return bmlp_fail(err, BMLP_ERR_NO_MEMORY, path, 0, 0, NULL,
                         "cannot allocate %" PRIu64 " bytes for the model file", layout->file_size);
    memcpy(*bytes, header, reader.avail);
    st = read_exact(f, *bytes + reader.avail, (size_t)layout->file_size - reader.avail,
                    reader.avail, path, err);
    if (st == BMLP_OK && fgetc(f) != EOF)
        st = bmlp_fail(err, BMLP_ERR_FORMAT, path, 0, 0, NULL,
                       "trailing bytes: file grew past %" PRIu64 " bytes while being read",
                       layout->file_size);
    if (st == BMLP_OK)
        st = check_crc(*bytes, layout, path, err);
    return st;
}

/* Creates the network that a validated file describes and copies its parameters and
 * standardization. */
static bmlp_status_t build_net(const unsigned char *bytes, const model_layout_t *layout,
                               bmlp_net_t **out, bmlp_error_t *err)
{
    size_t hidden[BMLP_MAX_HIDDEN];
    size_t num_hidden = layout->num_layers - 1;
    size_t d = (size_t)layout->widths[0];
    bmlp_net_t *net;
    bmlp_status_t st;

    for (size_t l = 0; l < num_hidden; l++)
        hidden[l] = (size_t)layout->widths[l + 1];
    st = bmlp_net_create(d, hidden, num_hidden, &net, err);
    if (st != BMLP_OK)
        return st;
    for (size_t i = 0; i < net->num_params; i++)
        net->params[i] = get_f32(bytes + layout->params_offset + 4 * i);

    if (layout->flags & MODEL_FLAG_STANDARDIZATION) {
        float *values = malloc(2 * d * sizeof(float));

        if (values == NULL) {
            bmlp_net_free(net);
            return bmlp_fail(err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL,
                             "cannot allocate standardization");
        }
        for (size_t j = 0; j < 2 * d; j++)
            values[j] = get_f32(bytes + layout->std_offset + 4 * j);
        st = bmlp_net_set_standardization(net, values, values + d, err);
        free(values);
        if (st != BMLP_OK) {
            bmlp_net_free(net);
            return st;
        }
    }
    *out = net;
    return BMLP_OK;
}

bmlp_status_t bmlp_model_load(const char *path, bmlp_net_t **out, bmlp_error_t *err)
{
    model_layout_t layout;
    unsigned char *bytes;
    bmlp_status_t st;
    struct stat info;
    FILE *f;

    if (out != NULL)
        *out = NULL;
    if (out == NULL || path == NULL)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, path, 0, 0, NULL,
                         "model path and output network must not be NULL");
    /* Checked before opening, because opening a FIFO would block until a writer appears. */
    if (stat(path, &info) == 0 && !S_ISREG(info.st_mode))
        return bmlp_fail(err, BMLP_ERR_IO, path, 0, 0, NULL, "model file is not a regular file");
    f = fopen(path, "rb");
    if (f == NULL)
        return bmlp_fail(err, BMLP_ERR_IO, path, 0, 0, NULL, "cannot open model file: %s",
                         strerror(errno));
    st = read_model_bytes(f, path, &layout, &bytes, err);
    fclose(f);
    if (st == BMLP_OK)
        st = check_standardization(bytes, &layout, path, err);
    if (st == BMLP_OK)
        st = check_params(bytes, &layout, path, err);
    if (st == BMLP_OK)
        st = build_net(bytes, &layout, out, err);
    free(bytes);
    return st;
}

/* ---- save ---- */

/* Rejects a network whose file the loader would reject, before anything is written. */
static bmlp_status_t check_saveable(const bmlp_net_t *net, bmlp_error_t *err)
{
    for (size_t i = 0; i < net->num_params; i++) {
        if (!isfinite(net->params[i]))
            return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                             "parameter at index %zu is %g; only finite parameters can be saved", i,
                             (double)net->params[i]);
    }
    return BMLP_OK;
}

/* Encodes net into a new buffer *bytes of *size bytes (caller frees). */
static bmlp_status_t encode_model(const bmlp_net_t *net, unsigned char **bytes, size_t *size,
                                  bmlp_error_t *err)
{
    model_layout_t layout;
    unsigned char *p;
    size_t d = net->widths[0];

    layout_from_net(net, &layout);
    p = layout.file_size <= SIZE_MAX ? malloc((size_t)layout.file_size) : NULL;
    if (p == NULL)
        return bmlp_fail(err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL,
                         "cannot allocate %" PRIu64 " bytes for the model file", layout.file_size);
    memcpy(p, MODEL_MAGIC, MODEL_MAGIC_SIZE);
    put_u32(p + 8, MODEL_VERSION);
    put_u32(p + 12, layout.num_layers);
    for (uint32_t k = 0; k <= layout.num_layers; k++)
        put_u64(p + 16 + 8 * k, layout.widths[k]);
    put_u32(p + layout.std_offset - 4, layout.flags);
    for (size_t j = 0; j < d && net->mean != NULL; j++) {
        put_f32(p + layout.std_offset + 4 * j, net->mean[j]);
        put_f32(p + layout.std_offset + 4 * (d + j), net->std[j]);
    }
    put_u64(p + layout.count_offset, layout.num_params);
    for (size_t i = 0; i < net->num_params; i++)
        put_f32(p + layout.params_offset + 4 * i, net->params[i]);
    put_u32(p + layout.crc_offset, crc32_bytes(p, (size_t)layout.crc_offset));

    *bytes = p;
    *size = (size_t)layout.file_size;
    return BMLP_OK;
}

/* Writes bytes to path through a temporary file renamed into place, so that an existing file
 * at path is replaced whole or left as it was. */
static bmlp_status_t write_atomically(const char *path, const unsigned char *bytes, size_t size,
                                      bmlp_error_t *err)
{
    bmlp_atomic_file_t out;
    bmlp_status_t st = bmlp_atomic_open(&out, path, err);

    if (st != BMLP_OK)
        return st;
    if (fwrite(bytes, 1, size, out.stream) != size) {
        st = bmlp_fail(err, BMLP_ERR_IO, path, 0, 0, NULL,
                       "cannot write the model: write failed: %s", strerror(errno));
        bmlp_atomic_abort(&out);
        return st;
    }
    return bmlp_atomic_commit(&out, err);
}

bmlp_status_t bmlp_model_save(const bmlp_net_t *net, const char *path, bmlp_error_t *err)
{
    unsigned char *bytes;
    size_t size;
    bmlp_status_t st;

    if (net == NULL || path == NULL || path[0] == '\0')
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, path, 0, 0, NULL,
                         "network and a non-empty model path are required");
    st = check_saveable(net, err);
    if (st == BMLP_OK)
        st = encode_model(net, &bytes, &size, err);
    if (st != BMLP_OK)
        return st;
    st = write_atomically(path, bytes, size, err);
    free(bytes);
    return st;
}
