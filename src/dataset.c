/* In-memory datasets and feature statistics. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "bmlp/dataset.h"
#include "error.h"

bmlp_status_t bmlp_dataset_alloc(bmlp_dataset_t *ds, size_t n_samples, size_t n_features,
                                 bmlp_error_t *err)
{
    memset(ds, 0, sizeof(*ds));
    if (n_samples > BMLP_MAX_SAMPLES || n_features == 0 || n_features > BMLP_MAX_FEATURES)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "dataset of %zu samples x %zu features is out of range (samples at "
                         "most %zu, features 1 to %zu)",
                         n_samples, n_features, BMLP_MAX_SAMPLES, BMLP_MAX_FEATURES);
    /* A dataset larger than the machine's memory is rejected here. With memory overcommit the
     * allocation would succeed, and the process would be killed while filling it. */
    double bytes = ((double)n_samples * (double)(n_features + 1) + 2.0) * sizeof(float);
    double memory = bmlp_physical_memory();
    const double gib = 1024.0 * 1024.0 * 1024.0;

    if (memory > 0.0 && bytes > memory)
        return bmlp_fail(err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL,
                         "a dataset of %zu samples x %zu features needs %.1f GiB, more than the "
                         "%.1f GiB of memory of this machine",
                         n_samples, n_features, bytes / gib, memory / gib);
    /* Both bounds are powers of two whose product is 2^54, so the product cannot overflow. */
    ds->x = bmlp_alloc_table((n_samples * n_features + 1) * sizeof(float));
    ds->y = bmlp_alloc_table((n_samples + 1) * sizeof(float));
    if (ds->x == NULL || ds->y == NULL) {
        bmlp_dataset_free(ds);
        return bmlp_fail(err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL,
                         "cannot allocate %zu samples x %zu features", n_samples, n_features);
    }
    ds->n_samples = n_samples;
    ds->n_features = n_features;
    return BMLP_OK;
}

void bmlp_dataset_free(bmlp_dataset_t *ds)
{
    if (ds == NULL)
        return;
    free(ds->x);
    free(ds->y);
    memset(ds, 0, sizeof(*ds));
}

bmlp_status_t bmlp_dataset_feature_stats(const bmlp_dataset_t *ds, const size_t *rows,
                                         size_t n_rows, float *mean, float *std, bmlp_error_t *err)
{
    size_t d = ds->n_features;
    double *sum;
    double *sq;

    if (rows == NULL)
        n_rows = ds->n_samples;
    if (n_rows == 0)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "feature statistics need at least one sample");
    for (size_t r = 0; rows != NULL && r < n_rows; r++) {
        if (rows[r] >= ds->n_samples)
            return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                             "row %zu is out of range for %zu samples", rows[r], ds->n_samples);
    }
    sum = calloc(d, sizeof(double));
    sq = calloc(d, sizeof(double));
    if (sum == NULL || sq == NULL) {
        free(sum);
        free(sq);
        return bmlp_fail(err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL,
                         "cannot allocate feature statistics");
    }

    /* Two passes (mean, then squared deviations) in double, which avoids the cancellation of
     * the one-pass sum-of-squares formula on features with a large offset. */
    for (size_t r = 0; r < n_rows; r++) {
        const float *x = ds->x + (rows != NULL ? rows[r] : r) * d;
        for (size_t j = 0; j < d; j++)
            sum[j] += x[j];
    }
    for (size_t j = 0; j < d; j++)
        sum[j] /= (double)n_rows;
    for (size_t r = 0; r < n_rows; r++) {
        const float *x = ds->x + (rows != NULL ? rows[r] : r) * d;
        for (size_t j = 0; j < d; j++) {
            double dev = x[j] - sum[j];
            sq[j] += dev * dev;
        }
    }
    for (size_t j = 0; j < d; j++) {
        mean[j] = (float)sum[j];
        std[j] = (float)sqrt(sq[j] / (double)n_rows);
    }
    free(sum);
    free(sq);
    return BMLP_OK;
}
