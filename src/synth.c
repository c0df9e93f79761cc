/* Synthetic datasets. Sample i is a pure function of (seed, i): its draws come from the
 * generator blocks at indices i * stride + 0, 1, ..., so it can be made alone and in any order. */
#include <math.h>
#include <string.h>

#include "bmlp/dataset.h"
#include "error.h"
#include "random.h"

static const char *const synth_names[] = {
    [BMLP_SYNTH_XOR] = "xor",
    [BMLP_SYNTH_BLOBS] = "blobs",
    [BMLP_SYNTH_MOONS] = "moons",
    [BMLP_SYNTH_CIRCLES] = "circles",
};

int bmlp_synth_kind_parse(const char *name, bmlp_synth_kind_t *kind)
{
    for (size_t i = 0; i < sizeof(synth_names) / sizeof(synth_names[0]); i++) {
        if (strcmp(name, synth_names[i]) == 0) {
            *kind = (bmlp_synth_kind_t)i;
            return 0;
        }
    }
    return -1;
}

const char *bmlp_synth_kind_name(bmlp_synth_kind_t kind)
{
    if ((size_t)kind < sizeof(synth_names) / sizeof(synth_names[0]))
        return synth_names[kind];
    return "unknown";
}

/* Generator blocks per sample: one for the shape, then one per pair of noise draws. */
static uint64_t blocks_per_sample(size_t d)
{
    return 1 + (d + 1) / 2;
}

/* Writes the noise-free point of sample i of class c into x[0..1], from the uniforms u[2]. */
static void make_point(bmlp_synth_kind_t kind, unsigned c, const double u[2], float *x)
{
    const double pi = 3.14159265358979323846;
    double t = pi * u[0];

    switch (kind) {
    case BMLP_SYNTH_XOR: {
        /* Class 1 where the signs of x0 and x1 differ; u[1] picks the quadrant. */
        double s0 = u[1] < 0.5 ? -1.0 : 1.0;
        double s1 = c ? -s0 : s0;
        x[0] = (float)(s0 * (0.1 + 0.9 * u[0]));
        x[1] = (float)(s1 * (0.1 + 0.9 * (u[1] < 0.5 ? 2.0 * u[1] : 2.0 * u[1] - 1.0)));
        break;
    }
    case BMLP_SYNTH_MOONS:
        /* Upper half circle at the origin, and a lower one shifted by (1, 0.5). */
        x[0] = (float)(c ? 1.0 - cos(t) : cos(t));
        x[1] = (float)(c ? 0.5 - sin(t) : sin(t));
        break;
    case BMLP_SYNTH_CIRCLES: {
        /* Class 0 on the circle of radius 1, class 1 on radius 0.5. */
        double r = c ? 0.5 : 1.0;
        x[0] = (float)(r * cos(2.0 * t));
        x[1] = (float)(r * sin(2.0 * t));
        break;
    }
    case BMLP_SYNTH_BLOBS:
        break;
    }
}

/* Fills features x[0 .. d) and returns the label of sample i. */
static float make_sample(const bmlp_synth_options_t *opt, size_t d, uint64_t i, float *x)
{
    unsigned c = (unsigned)(i & 1);
    uint64_t base = i * blocks_per_sample(d);
    double u[2];

    bmlp_random_uniform2(opt->seed, BMLP_STREAM_SYNTH, base, u);
    if (opt->kind == BMLP_SYNTH_BLOBS) {
        /* Cluster centres at -1 and +1 on every axis; the noise is the cluster spread. */
        for (size_t j = 0; j < d; j++)
            x[j] = c ? 1.0f : -1.0f;
    } else {
        make_point(opt->kind, c, u, x);
    }
    for (size_t j = 0; j < d; j += 2) {
        double g[2];
        bmlp_random_normal2(opt->seed, BMLP_STREAM_SYNTH, base + 1 + j / 2, g);
        x[j] += (float)(opt->noise * g[0]);
        if (j + 1 < d)
            x[j + 1] += (float)(opt->noise * g[1]);
    }
    return (float)c;
}

size_t bmlp_synth_num_features(const bmlp_synth_options_t *opt)
{
    return opt->kind == BMLP_SYNTH_BLOBS ? opt->n_features : 2;
}

/* Checks the options that every generator shares, except the sample count. */
static bmlp_status_t check_synth_options(const bmlp_synth_options_t *opt, bmlp_error_t *err)
{
    if ((size_t)opt->kind >= sizeof(synth_names) / sizeof(synth_names[0]))
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "unknown synthetic dataset %d", (int)opt->kind);
    if (bmlp_synth_num_features(opt) == 0 || bmlp_synth_num_features(opt) > BMLP_MAX_FEATURES)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "%zu features requested; synthetic sets have 1 to %zu",
                         bmlp_synth_num_features(opt), BMLP_MAX_FEATURES);
    if (!(opt->noise >= 0.0 && opt->noise <= 1e6))
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "noise %g must be a standard deviation from 0 to 1e6", opt->noise);
    return BMLP_OK;
}

bmlp_status_t bmlp_synth_fill(const bmlp_synth_options_t *opt, uint64_t first, size_t count,
                              float *x, float *y, bmlp_error_t *err)
{
    size_t d = bmlp_synth_num_features(opt);
    bmlp_status_t st = check_synth_options(opt, err);

    if (st != BMLP_OK)
        return st;
    for (size_t i = 0; i < count; i++)
        y[i] = make_sample(opt, d, first + i, x + i * d);
    return BMLP_OK;
}

bmlp_status_t bmlp_synth_generate(const bmlp_synth_options_t *opt, bmlp_dataset_t *ds,
                                  bmlp_error_t *err)
{
    bmlp_status_t st;

    memset(ds, 0, sizeof(*ds));
    st = check_synth_options(opt, err);
    if (st != BMLP_OK)
        return st;
    if (opt->n_samples == 0)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "a synthetic dataset needs at least one sample");
    st = bmlp_dataset_alloc(ds, opt->n_samples, bmlp_synth_num_features(opt), err);
    if (st == BMLP_OK)
        st = bmlp_synth_fill(opt, 0, opt->n_samples, ds->x, ds->y, err);
    return st;
}
