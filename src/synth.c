/* Synthetic datasets. Sample i is a pure function of (seed, i): its draws come from the
 * generator blocks at indices i * stride + 0, 1, ..., so it can be made alone and in any order.
 * synth:teacher follows the same rule with its own streams (synth_teacher.c). */
#include <math.h>
#include <string.h>

#include "bmlp/dataset.h"
#include "error.h"
#include "random.h"
#include "synth.h"

static const char *const synth_names[] = {
    [BMLP_SYNTH_XOR] = "xor",       [BMLP_SYNTH_BLOBS] = "blobs",
    [BMLP_SYNTH_MOONS] = "moons",   [BMLP_SYNTH_CIRCLES] = "circles",
    [BMLP_SYNTH_SPIRAL] = "spiral", [BMLP_SYNTH_TEACHER] = "teacher",
};

void bmlp_synth_options_default(bmlp_synth_options_t *opt)
{
    memset(opt, 0, sizeof(*opt));
    opt->kind = BMLP_SYNTH_MOONS;
    opt->n_samples = 4000;
    opt->n_features = 2;
    opt->noise = 0.1;
    opt->seed = 1;
}

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
    case BMLP_SYNTH_SPIRAL: {
        /* Archimedean arms of 1.5 turns out to radius 1, class 1 turned by pi. Drawing the
         * radius as sqrt(u) spreads the points about evenly along the arm. */
        double r = sqrt(u[0]);
        double angle = 3.0 * pi * r + (c ? pi : 0.0);
        x[0] = (float)(r * cos(angle));
        x[1] = (float)(r * sin(angle));
        break;
    }
    case BMLP_SYNTH_BLOBS:
    case BMLP_SYNTH_TEACHER:
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
    if (opt->kind == BMLP_SYNTH_BLOBS || opt->kind == BMLP_SYNTH_TEACHER)
        return opt->n_features;
    return 2;
}

/* Checks the options of synth:teacher. */
static bmlp_status_t check_teacher_options(const bmlp_synth_options_t *opt, bmlp_error_t *err)
{
    size_t h = opt->teacher_hidden != 0 ? opt->teacher_hidden : BMLP_TEACHER_HIDDEN_DEFAULT;

    if (h > BMLP_MAX_TEACHER_HIDDEN)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "teacher hidden width %zu is out of range (1 to %zu)", h,
                         BMLP_MAX_TEACHER_HIDDEN);
    if (opt->n_features > BMLP_MAX_TEACHER_WEIGHTS / h)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "a teacher of %zu features and %zu hidden units has more than %zu "
                         "input weights; use fewer features or hidden units",
                         opt->n_features, h, BMLP_MAX_TEACHER_WEIGHTS);
    if (!(opt->label_noise >= 0.0 && opt->label_noise <= 0.5))
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "label noise %g must be a probability from 0 to 0.5", opt->label_noise);
    return BMLP_OK;
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
    if (opt->kind == BMLP_SYNTH_TEACHER)
        return check_teacher_options(opt, err);
    return BMLP_OK;
}

bmlp_status_t bmlp_synth_gen_init(bmlp_synth_gen_t *gen, const bmlp_synth_options_t *opt,
                                  bmlp_isa_t isa, bmlp_error_t *err)
{
    bmlp_status_t st = check_synth_options(opt, err);

    memset(gen, 0, sizeof(*gen));
    if (st != BMLP_OK)
        return st;
    gen->opt = *opt;
    gen->n_features = bmlp_synth_num_features(opt);
    if (opt->kind != BMLP_SYNTH_TEACHER)
        return BMLP_OK;
    st = bmlp_isa_resolve(isa, &isa, err);
    if (st == BMLP_OK)
        st = bmlp_teacher_create(opt, isa, &gen->teacher, err);
    return st;
}

void bmlp_synth_gen_free(bmlp_synth_gen_t *gen)
{
    bmlp_teacher_free(gen->teacher);
    gen->teacher = NULL;
}

void bmlp_synth_gen_rows(const bmlp_synth_gen_t *gen, const size_t *idx, size_t n, float *x,
                         float *y)
{
    size_t d = gen->n_features;

    if (gen->teacher == NULL) {
        for (size_t s = 0; s < n; s++)
            y[s] = make_sample(&gen->opt, d, idx[s], x + s * d);
        return;
    }
    for (size_t done = 0; done < n; done += BMLP_TEACHER_CHUNK) {
        size_t count = n - done < BMLP_TEACHER_CHUNK ? n - done : BMLP_TEACHER_CHUNK;
        uint64_t chunk[BMLP_TEACHER_CHUNK];

        for (size_t s = 0; s < count; s++)
            chunk[s] = idx[done + s];
        bmlp_teacher_rows(gen->teacher, chunk, count, x + done * d, y + done);
    }
}

/* Bytes of a chunk's features that bmlp_synth_gen_range prefetches: all of a two-feature
 * chunk, and a bounded start of wider ones. */
#define PREFETCH_BYTES 8192

void bmlp_synth_gen_range(const bmlp_synth_gen_t *gen, uint64_t first, size_t count, float *x,
                          float *y)
{
    size_t d = gen->n_features;

    if (gen->teacher == NULL) {
        for (size_t s = 0; s < count; s++)
            y[s] = make_sample(&gen->opt, d, first + s, x + s * d);
        return;
    }
    for (size_t done = 0; done < count; done += BMLP_TEACHER_CHUNK) {
        size_t n = count - done < BMLP_TEACHER_CHUNK ? count - done : BMLP_TEACHER_CHUNK;
        size_t next = done + n;
        size_t ahead = count - next < BMLP_TEACHER_CHUNK ? count - next : BMLP_TEACHER_CHUNK;
        uint64_t chunk[BMLP_TEACHER_CHUNK];

        /* Requests the next chunk's output lines (the first PREFETCH_BYTES of its features) for
         * writing while this chunk is made, so that its stores do not wait for them. */
        for (size_t b = 0; b < ahead * d * sizeof(float) && b < PREFETCH_BYTES; b += 64)
            __builtin_prefetch((const char *)(x + next * d) + b, 1);
        for (size_t b = 0; b < ahead * sizeof(float); b += 64)
            __builtin_prefetch((const char *)(y + next) + b, 1);
        for (size_t s = 0; s < n; s++)
            chunk[s] = first + done + s;
        bmlp_teacher_rows(gen->teacher, chunk, n, x + done * d, y + done);
    }
}

bmlp_status_t bmlp_synth_fill(const bmlp_synth_options_t *opt, uint64_t first, size_t count,
                              float *x, float *y, bmlp_error_t *err)
{
    bmlp_synth_gen_t gen;
    bmlp_status_t st = bmlp_synth_gen_init(&gen, opt, BMLP_ISA_AUTO, err);

    if (st != BMLP_OK)
        return st;
    bmlp_synth_gen_range(&gen, first, count, x, y);
    bmlp_synth_gen_free(&gen);
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
