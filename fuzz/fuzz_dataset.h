/* Contract checks that the fuzz targets of the dataset loaders run after every load. */
#ifndef BMLP_FUZZ_DATASET_H
#define BMLP_FUZZ_DATASET_H

#include <math.h>

#include "bmlp/dataset.h"
#include "fuzz_input.h"

/* Checks the contract of a successful load: at least one sample and one feature, finite
 * features and labels of exactly 0 or 1. Frees the dataset. */
static void fuzz_check_dataset(bmlp_dataset_t *ds)
{
    fuzz_require(ds->n_samples >= 1, "a loaded dataset has samples");
    fuzz_require(ds->n_features >= 1, "a loaded dataset has features");
    for (size_t i = 0; i < ds->n_samples * ds->n_features; i++)
        fuzz_require(isfinite(ds->x[i]), "features are finite");
    for (size_t i = 0; i < ds->n_samples; i++)
        fuzz_require(ds->y[i] == 0.0f || ds->y[i] == 1.0f, "labels are 0 or 1");
    bmlp_dataset_free(ds);
}

/* Checks the contract of a failed load: the dataset is empty and the error is filled. */
static void fuzz_check_failure(const bmlp_dataset_t *ds, const bmlp_error_t *err,
                               bmlp_status_t status)
{
    fuzz_require(ds->x == NULL && ds->y == NULL, "a failed load leaves no arrays");
    fuzz_require(ds->n_samples == 0 && ds->n_features == 0, "a failed load empties ds");
    fuzz_require(err->status == status, "the error detail has the returned status");
    fuzz_require(err->message[0] != '\0', "the error detail has a message");
}

#endif /* BMLP_FUZZ_DATASET_H */
