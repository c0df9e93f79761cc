/* Sources of training samples: in-memory datasets, synthetic generators and mapped NPY files. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "permute_batch.h"
#include "source_internal.h"

/* Rows checked per call when an NPY file is validated at open. */
#define CHECK_ROWS 4096

static bmlp_source_t *new_source(size_t n_samples, size_t n_features, bmlp_error_t *err)
{
    bmlp_source_t *src = calloc(1, sizeof(*src));

    if (src == NULL) {
        bmlp_fail(err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL, "cannot allocate a data source");
        return NULL;
    }
    src->n_samples = n_samples;
    src->n_features = n_features;
    return src;
}

bmlp_status_t bmlp_source_from_dataset(const bmlp_dataset_t *ds, bmlp_source_t **out,
                                       bmlp_error_t *err)
{
    bmlp_source_t *src;

    *out = NULL;
    if (ds->n_samples == 0)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "dataset has no samples");
    for (size_t i = 0; i < ds->n_samples; i++) {
        if (ds->y[i] != 0.0f && ds->y[i] != 1.0f)
            return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                             "label of sample %zu is %g; labels must be 0 or 1", i + 1,
                             (double)ds->y[i]);
        for (size_t j = 0; j < ds->n_features; j++) {
            if (!isfinite(ds->x[i * ds->n_features + j]))
                return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                                 "feature %zu of sample %zu is not finite", j + 1, i + 1);
        }
    }
    src = new_source(ds->n_samples, ds->n_features, err);
    if (src == NULL)
        return BMLP_ERR_NO_MEMORY;
    src->in_memory = 1;
    src->x = ds->x;
    src->x_stride = ds->n_features;
    src->y = ds->y;
    src->y_stride = 1;
    *out = src;
    return BMLP_OK;
}

bmlp_status_t bmlp_source_synthetic(const bmlp_synth_options_t *opt, bmlp_source_t **out,
                                    bmlp_error_t *err)
{
    bmlp_synth_gen_t gen;
    bmlp_status_t st;

    *out = NULL;
    if (opt->n_samples == 0 || opt->n_samples > BMLP_MAX_SAMPLES)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "a synthetic set needs 1 to %zu samples, not %zu", BMLP_MAX_SAMPLES,
                         opt->n_samples);
    /* The generator is prepared once (the teacher network of synth:teacher), then only read by
     * the threads that fill tiles. */
    st = bmlp_synth_gen_init(&gen, opt, BMLP_ISA_AUTO, err);
    if (st != BMLP_OK)
        return st;
    *out = new_source(opt->n_samples, gen.n_features, err);
    if (*out == NULL) {
        bmlp_synth_gen_free(&gen);
        return BMLP_ERR_NO_MEMORY;
    }
    (*out)->synthetic = 1;
    (*out)->gen = gen;
    return BMLP_OK;
}

/* Checks every value of a mapped file, a block of rows at a time, and copies each row, features
 * then label, to table when it is not NULL. */
static bmlp_status_t check_npy_values(const bmlp_npy_map_t *map, float *table, bmlp_error_t *err)
{
    size_t d = map->cols - 1;
    size_t block = CHECK_ROWS < map->rows ? CHECK_ROWS : map->rows;
    float *x = malloc(block * d * sizeof(float));
    float *y = malloc(block * sizeof(float));
    bmlp_status_t st = BMLP_OK;

    if (x == NULL || y == NULL)
        st = bmlp_fail(err, BMLP_ERR_NO_MEMORY, map->path, 0, 0, NULL,
                       "cannot allocate a buffer of %zu rows", block);
    for (size_t first = 0; st == BMLP_OK && first < map->rows; first += block) {
        size_t count = map->rows - first < block ? map->rows - first : block;
        st = bmlp_npy_read_rows(map, first, count, x, y, err);
        if (st != BMLP_OK || table == NULL)
            continue;
        for (size_t s = 0; s < count; s++) {
            float *row = table + (first + s) * map->cols;

            memcpy(row, x + s * d, d * sizeof(float));
            row[d] = y[s];
        }
    }
    free(x);
    free(y);
    return st;
}

bmlp_status_t bmlp_source_open_npy(const char *path, bmlp_source_t **out, bmlp_error_t *err)
{
    return bmlp_source_open_npy_budget(path, bmlp_copy_budget(), out, err);
}

bmlp_status_t bmlp_source_open_npy_budget(const char *path, size_t budget, bmlp_source_t **out,
                                          bmlp_error_t *err)
{
    bmlp_source_t *src;
    bmlp_status_t st;
    size_t table_bytes = 0;

    *out = NULL;
    src = new_source(0, 0, err);
    if (src == NULL)
        return BMLP_ERR_NO_MEMORY;
    src->path = strdup(path);
    if (src->path == NULL) {
        free(src);
        return bmlp_fail(err, BMLP_ERR_NO_MEMORY, path, 0, 0, NULL, "cannot copy the path");
    }
    st = bmlp_npy_map(src->path, &src->map, err);
    if (st != BMLP_OK) {
        bmlp_source_free(src);
        return st;
    }
    src->mapped = 1;
    /* A table that fits the budget is copied, as float32 rows on huge pages where the system
     * offers them, while its values are checked. As float32 it takes at most the bytes of the
     * file, so the size does not overflow. Where the copy cannot be allocated, training reads
     * the file as it would without a budget. */
    table_bytes = src->map.rows * src->map.cols * sizeof(float);
    if (table_bytes > 0 && table_bytes <= budget)
        src->table = bmlp_alloc_table(table_bytes);
    st = check_npy_values(&src->map, src->table, err);
    if (st != BMLP_OK) {
        bmlp_source_free(src);
        return st;
    }
    src->n_samples = src->map.rows;
    src->n_features = src->map.cols - 1;
    if (src->table != NULL) {
        /* Training reads the copy, so the mapping is released. The source stays marked as not
         * in memory, so that the standardization statistics do not depend on the budget. */
        bmlp_npy_unmap(&src->map);
        src->mapped = 0;
        src->x = src->table;
        src->x_stride = src->n_features + 1;
        src->y = src->table + src->n_features;
        src->y_stride = src->n_features + 1;
    } else if (src->map.item_size == sizeof(float) && src->map.data_offset % sizeof(float) == 0) {
        /* float32 data on a 4-byte boundary is read in place, anything else row by row. */
        const float *table = (const float *)(const void *)(src->map.base + src->map.data_offset);
        src->x = table;
        src->x_stride = src->map.cols;
        src->y = table + src->n_features;
        src->y_stride = src->map.cols;
    }
    *out = src;
    return BMLP_OK;
}

void bmlp_source_free(bmlp_source_t *src)
{
    if (src == NULL)
        return;
    if (src->mapped)
        bmlp_npy_unmap(&src->map);
    free(src->table);
    if (src->synthetic)
        bmlp_synth_gen_free(&src->gen);
    free(src->path);
    free(src);
}

size_t bmlp_source_num_samples(const bmlp_source_t *src)
{
    return src->n_samples;
}

size_t bmlp_source_num_features(const bmlp_source_t *src)
{
    return src->n_features;
}

void bmlp_source_read(const bmlp_source_t *src, const size_t *idx, size_t n, float *x, float *y)
{
    size_t d = src->n_features;

    if (src->synthetic) {
        bmlp_synth_gen_rows(&src->gen, idx, n, x, y);
        return;
    }
    /* bmlp_source_open_npy checked every value of the file, so reading cannot fail here and
     * the status is not needed. */
    for (size_t s = 0; s < n; s++)
        bmlp_npy_read_rows(&src->map, idx[s], 1, x + s * d, y + s, NULL);
}

void bmlp_order_train_array(const bmlp_order_t *o, size_t first, size_t count, bmlp_isa_t isa,
                            size_t *idx)
{
    if (o->use_epoch) {
        bmlp_permutation_apply_range(&o->epoch, first, count, idx, isa);
        if (o->use_split)
            bmlp_permutation_apply_array(&o->split, idx, count, isa);
    } else if (o->use_split) {
        bmlp_permutation_apply_range(&o->split, first, count, idx, isa);
    } else {
        for (size_t s = 0; s < count; s++)
            idx[s] = first + s;
    }
}
