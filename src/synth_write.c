/* Writes synthetic sets to CSV, LIBSVM or NPY files, generated and written in pieces so that
 * memory use does not depend on the sample count. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmlp/dataset.h"
#include "bmlp/file.h"
#include "error.h"
#include "npy.h"
#include "numparse.h"

/* Samples per piece, lowered for wide samples so that a piece contains at most
 * PIECE_MAX_VALUES features (16 MiB of float32). */
#define PIECE_SAMPLES 65536
#define PIECE_MAX_VALUES ((size_t)1 << 22)

/* One write in progress: the options, the output and the buffers of one piece. */
typedef struct synth_writer {
    const bmlp_synth_options_t *opt;
    bmlp_file_format_t format;
    size_t n_features;
    size_t piece_samples;
    float *x;              /* piece_samples x n_features */
    float *y;              /* piece_samples labels */
    unsigned char *record; /* one NPY row: n_features + 1 little-endian float32 */
    const char *path;
    bmlp_atomic_file_t file;
    bmlp_error_t *err;
} synth_writer_t;

static void put_f32(unsigned char *p, float v)
{
    uint32_t bits;

    memcpy(&bits, &v, sizeof(bits));
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(bits >> (8 * i));
}

static int is_positive_zero(float v)
{
    uint32_t bits;

    memcpy(&bits, &v, sizeof(bits));
    return bits == 0;
}

/* Writes sample i of the piece as "x1,x2,...,label". %.9g prints enough digits for strtof to
 * give back the same float32. */
static void write_csv_sample(synth_writer_t *w, size_t i)
{
    const float *x = w->x + i * w->n_features;

    for (size_t j = 0; j < w->n_features; j++)
        fprintf(w->file.stream, "%.9g,", (double)x[j]);
    fprintf(w->file.stream, "%d\n", w->y[i] == 1.0f);
}

/* Writes sample i as "+1 1:x1 2:x2 ..." or "-1 ...", leaving out features that are +0.0 except
 * the last, so that a load infers the full feature count. */
static void write_libsvm_sample(synth_writer_t *w, size_t i)
{
    const float *x = w->x + i * w->n_features;

    fputs(w->y[i] == 1.0f ? "+1" : "-1", w->file.stream);
    for (size_t j = 0; j < w->n_features; j++) {
        if (!is_positive_zero(x[j]) || j + 1 == w->n_features)
            fprintf(w->file.stream, " %zu:%.9g", j + 1, (double)x[j]);
    }
    fputc('\n', w->file.stream);
}

static void write_npy_sample(synth_writer_t *w, size_t i)
{
    const float *x = w->x + i * w->n_features;

    for (size_t j = 0; j < w->n_features; j++)
        put_f32(w->record + 4 * j, x[j]);
    put_f32(w->record + 4 * w->n_features, w->y[i]);
    fwrite(w->record, 4, w->n_features + 1, w->file.stream);
}

static void write_npy_header(synth_writer_t *w)
{
    unsigned char header[128];
    size_t n = bmlp_npy_format_header(w->opt->n_samples, w->n_features + 1, header, sizeof(header));

    fwrite(header, 1, n, w->file.stream);
}

/* Generates samples first .. first + count - 1 and writes them. Stream errors are sticky, so
 * one check per piece catches a failed write anywhere in it. */
static bmlp_status_t write_piece(synth_writer_t *w, uint64_t first, size_t count)
{
    bmlp_status_t st = bmlp_synth_fill(w->opt, first, count, w->x, w->y, w->err);

    if (st != BMLP_OK)
        return st;
    for (size_t i = 0; i < count; i++) {
        if (w->format == BMLP_FORMAT_CSV)
            write_csv_sample(w, i);
        else if (w->format == BMLP_FORMAT_LIBSVM)
            write_libsvm_sample(w, i);
        else
            write_npy_sample(w, i);
    }
    if (ferror(w->file.stream))
        return bmlp_fail(w->err, BMLP_ERR_IO, w->path, 0, 0, NULL, "write failed: %s",
                         strerror(errno));
    return BMLP_OK;
}

static bmlp_status_t write_all(synth_writer_t *w, bmlp_write_progress_fn on_progress, void *user)
{
    uint64_t total = w->opt->n_samples;
    bmlp_status_t st = BMLP_OK;

    if (w->format == BMLP_FORMAT_NPY)
        write_npy_header(w);
    for (uint64_t done = 0; done < total && st == BMLP_OK;) {
        size_t count = total - done < w->piece_samples ? (size_t)(total - done) : w->piece_samples;

        st = write_piece(w, done, count);
        done += count;
        if (st == BMLP_OK && on_progress != NULL && on_progress(done, total, user) != 0)
            st = bmlp_fail(w->err, BMLP_ERR_CANCELLED, w->path, 0, 0, NULL,
                           "write cancelled after %" PRIu64 " of %" PRIu64 " samples", done, total);
    }
    return st;
}

/* Writes under the "C" locale, so that printf prints '.' as the decimal point whatever locale
 * the program has set. */
static bmlp_status_t write_all_in_c_locale(synth_writer_t *w, bmlp_write_progress_fn on_progress,
                                           void *user)
{
    bmlp_c_locale_t scope;
    bmlp_status_t st;

    errno = 0;
    if (bmlp_c_locale_enter(&scope) != 0)
        return bmlp_fail(w->err, BMLP_ERR_NO_MEMORY, w->path, 0, 0, NULL,
                         "cannot create the C locale for number printing: %s", strerror(errno));
    st = write_all(w, on_progress, user);
    bmlp_c_locale_leave(&scope);
    return st;
}

static bmlp_status_t check_write_args(const bmlp_synth_options_t *opt, const char *path,
                                      bmlp_file_format_t format, bmlp_error_t *err)
{
    if (opt == NULL || path == NULL || path[0] == '\0')
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, path, 0, 0, NULL,
                         "bmlp_synth_write needs options and a non-empty path");
    if (format != BMLP_FORMAT_CSV && format != BMLP_FORMAT_LIBSVM && format != BMLP_FORMAT_NPY)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, path, 0, 0, NULL, "unknown file format %d",
                         (int)format);
    if (opt->n_samples == 0 || opt->n_samples > BMLP_MAX_SAMPLES)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, path, 0, 0, NULL,
                         "%zu samples requested; a file holds 1 to %zu", opt->n_samples,
                         BMLP_MAX_SAMPLES);
    /* A fill of no samples checks the generator options without writing anything. */
    return bmlp_synth_fill(opt, 0, 0, NULL, NULL, err);
}

/* Allocates the piece buffers. */
static bmlp_status_t alloc_buffers(synth_writer_t *w)
{
    size_t by_width = PIECE_MAX_VALUES / w->n_features;

    w->piece_samples = PIECE_SAMPLES;
    if (by_width < w->piece_samples)
        w->piece_samples = by_width;
    if (w->piece_samples == 0)
        w->piece_samples = 1;
    w->x = malloc(w->piece_samples * w->n_features * sizeof(float));
    w->y = malloc(w->piece_samples * sizeof(float));
    w->record = malloc((w->n_features + 1) * 4);
    if (w->x == NULL || w->y == NULL || w->record == NULL)
        return bmlp_fail(w->err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL,
                         "cannot allocate a piece of %zu samples x %zu features", w->piece_samples,
                         w->n_features);
    return BMLP_OK;
}

bmlp_status_t bmlp_synth_write(const bmlp_synth_options_t *opt, const char *path,
                               bmlp_file_format_t format, bmlp_write_progress_fn on_progress,
                               void *user, bmlp_error_t *err)
{
    synth_writer_t w;
    bmlp_status_t st = check_write_args(opt, path, format, err);

    if (st != BMLP_OK)
        return st;
    memset(&w, 0, sizeof(w));
    w.opt = opt;
    w.format = format;
    w.path = path;
    w.n_features = bmlp_synth_num_features(opt);
    w.err = err;
    st = alloc_buffers(&w);
    if (st == BMLP_OK)
        st = bmlp_atomic_open(&w.file, path, err);
    if (st == BMLP_OK)
        st = write_all_in_c_locale(&w, on_progress, user);
    if (st == BMLP_OK)
        st = bmlp_atomic_commit(&w.file, err);
    else
        bmlp_atomic_abort(&w.file);
    free(w.x);
    free(w.y);
    free(w.record);
    return st;
}
