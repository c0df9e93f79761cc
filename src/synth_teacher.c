/*
 * The synth:teacher generator: standard normal features labelled by a fixed random network.
 *
 * Sample i with d features takes P = ceil(d / 2) blocks of BMLP_STREAM_TEACHER_SAMPLES, at
 * indices i * P + m for m < P. Block m makes features 2m and 2m + 1: words 0 and 1 are the
 * radius and angle of a Box-Muller pair, and word 2 is the pair's noise, a Box-Muller pair
 * from its two 16-bit halves. Word 3 of block P - 1 decides the label flip. So a sample of two
 * features, with noise and flip, takes one block, and the noise never changes the features
 * that the label was computed from.
 *
 * Samples are made BMLP_TEACHER_CHUNK at a time in structure-of-arrays form, feature j of
 * sample s at xs[j * n + s], so that every loop runs along the samples and vectorizes. The
 * loops are compiled three times, for the baseline, AVX2 and AVX-512, and the elementwise
 * operations give the same bits in each. Floating-point contraction must stay off for that:
 * C11 mode (CMAKE_C_EXTENSIONS OFF) gives GCC -ffp-contract=off, and the pragma below does the
 * same for clang.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "random.h"
#include "synth.h"

#ifdef __clang__
#pragma clang fp contract(off)
#endif

/* Negative slope of the leaky ReLU of the hidden units. With a slope above zero, the output is
 * constant on no region of the input space (unless the weights cancel exactly), so the
 * median threshold splits the classes nearly evenly. */
#define LEAK 0.125f

/* The loops below are inlined into each instruction set's copy of make_chunk, so that every
 * copy vectorizes them with its own instructions. */
#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Largest number of feature values of one sub-chunk kept in structure-of-arrays form on the
 * stack (8 KiB, and as much again for the noise). Samples of more features are made one at a
 * time, straight into the output row. */
#define CHUNK_VALUES 2048

/* Bounds on the number of leading samples whose median logit becomes the threshold. */
#define MEDIAN_SAMPLES_MAX 2047
#define MEDIAN_SAMPLES_MIN 255
#define MEDIAN_BUDGET ((size_t)1 << 24) /* multiply-adds for the median samples, roughly */

struct bmlp_teacher {
    size_t n_features;
    size_t hidden;
    uint64_t seed;
    bmlp_isa_t isa;
    float noise;         /* standard deviation of the feature noise */
    uint32_t flip_below; /* a label flips when its 32-bit draw is below this */
    float threshold;     /* class 1 when the logit exceeds this median */
    float *weights;      /* hidden x n_features input weights, hidden biases, output weights */
};

static size_t feature_pairs(size_t d)
{
    return (d + 1) / 2;
}

/* Samples per sub-chunk for d features, at least 1. */
static size_t sub_chunk(size_t d)
{
    size_t c = CHUNK_VALUES / d;

    if (c > BMLP_TEACHER_CHUNK)
        c = BMLP_TEACHER_CHUNK;
    return c > 0 ? c : 1;
}

ALWAYS_INLINE uint32_t float_bits(float f)
{
    uint32_t b;

    memcpy(&b, &f, sizeof(b));
    return b;
}

ALWAYS_INLINE float bits_float(uint32_t b)
{
    float f;

    memcpy(&f, &b, sizeof(f));
    return f;
}

/* Returns -2 ln u for u = (floor(a / 2^9) + 0.5) / 2^23, which lies in (0, 1) and is exact in
 * a float. u = 2^e m with m in [sqrt(1/2), sqrt(2)), and ln m = 2 atanh(s) for
 * s = (m - 1) / (m + 1), |s| < 0.172, summed up to s^9 (the next term is below 1e-9). */
ALWAYS_INLINE float minus_two_log(uint32_t a)
{
    float u = ((float)(int32_t)(a >> 9) + 0.5f) * 0x1p-23f;
    uint32_t bits = float_bits(u);
    uint32_t above_sqrt2 = (bits & 0x7FFFFFu) > 0x3504F3u;
    int32_t e = (int32_t)(bits >> 23) - 127 + (int32_t)above_sqrt2;
    float m = bits_float(((bits & 0x7FFFFFu) | 0x3F800000u) - (above_sqrt2 << 23));
    float s = (m - 1.0f) / (m + 1.0f);
    float s2 = s * s;
    float ln_m = 2.0f * s *
                 (1.0f + s2 * (1.0f / 3 + s2 * (1.0f / 5 + s2 * (1.0f / 7 + s2 * (1.0f / 9)))));

    return -2.0f * ((float)e * 0.693147181f + ln_m);
}

/*
 * Box-Muller on 32-bit words: z0 = r cos(2 pi v), z1 = r sin(2 pi v) with r^2 = -2 ln u from
 * a[j] and the turn v = b[j] / 2^32. The top two bits of b + 2^29 pick the nearest quarter turn
 * q and the rest the offset t in [-pi/4, pi/4), whose sine and cosine are Taylor sums up to
 * t^9 and t^10 (truncation error below 2e-9). On 20 million word pairs the results were
 * within 6.6e-7 of double-precision Box-Muller on the same u and v, and within 2.3e-7 of r.
 * Every branch is a bit select, so the loop vectorizes.
 */
ALWAYS_INLINE void normal_pairs(const uint32_t *a, const uint32_t *b, size_t n, float *z0,
                                float *z1)
{
    for (size_t j = 0; j < n; j++) {
        float r = sqrtf(minus_two_log(a[j]));
        uint32_t w = b[j] + (1u << 29);
        uint32_t q = w >> 30;
        float t = (float)((int32_t)(w & 0x3FFFFFFFu) - (1 << 29)) * (1.57079633f * 0x1p-30f);
        float t2 = t * t;
        float sin_t = t *
                      (1.0f - t2 * (1.0f / 6 -
                                    t2 * (1.0f / 120 - t2 * (1.0f / 5040 - t2 * (1.0f / 362880)))));
        float cos_t =
            1.0f -
            t2 * (0.5f - t2 * (1.0f / 24 - t2 * (1.0f / 720 - t2 * (1.0f / 40320 - t2 / 3628800))));
        /* Turning by q quarters: odd q swaps sine and cosine, and the signs follow q. */
        uint32_t swap = 0u - (q & 1u);
        uint32_t cos_bits = float_bits(cos_t), sin_bits = float_bits(sin_t);
        uint32_t c = ((cos_bits & ~swap) | (sin_bits & swap)) ^ (((q + 1u) & 2u) << 30);
        uint32_t s = ((sin_bits & ~swap) | (cos_bits & swap)) ^ ((q & 2u) << 30);

        z0[j] = r * bits_float(c);
        z1[j] = r * bits_float(s);
    }
}

/* Makes the Box-Muller pairs of the 16-bit halves of w: the high half gives the radius and
 * the low half the angle, each taken at the middle of its 2^-16 step, so |z| < 4.9. */
ALWAYS_INLINE void normal_pairs_16(const uint32_t *w, size_t n, float *z0, float *z1)
{
    uint32_t radius[BMLP_TEACHER_CHUNK], angle[BMLP_TEACHER_CHUNK];

    for (size_t s = 0; s < n; s++) {
        radius[s] = (w[s] & 0xFFFF0000u) | 0x8000u;
        angle[s] = (w[s] << 16) | 0x8000u;
    }
    normal_pairs(radius, angle, n, z0, z1);
}

/* Computes block m of each of the n samples idx[] into words. */
ALWAYS_INLINE void sample_block(const bmlp_teacher_t *t, const uint64_t *idx, size_t n,
                                size_t pairs, size_t m, uint32_t *const words[4])
{
    uint64_t counters[BMLP_TEACHER_CHUNK];

    if (pairs == 1) {
        bmlp_random_blocks(t->isa, t->seed, BMLP_STREAM_TEACHER_SAMPLES, idx, n, words);
        return;
    }
    for (size_t s = 0; s < n; s++)
        counters[s] = idx[s] * pairs + m;
    bmlp_random_blocks(t->isa, t->seed, BMLP_STREAM_TEACHER_SAMPLES, counters, n, words);
}

/*
 * Makes the clean features of samples idx[0 .. n) in xs, their noise before scaling in noise
 * (same layout, or skipped when noise is NULL) and the draws of their label flips. An odd d
 * leaves the last pair's second value in a spare row.
 */
ALWAYS_INLINE void make_inputs(const bmlp_teacher_t *t, size_t d, const uint64_t *idx, size_t n,
                               float *xs, float *noise, uint32_t *flip_words)
{
    size_t pairs = feature_pairs(d);
    uint32_t w0[BMLP_TEACHER_CHUNK], w1[BMLP_TEACHER_CHUNK], w2[BMLP_TEACHER_CHUNK],
        w3[BMLP_TEACHER_CHUNK];
    uint32_t *const words[4] = {w0, w1, w2, w3};
    float spare[BMLP_TEACHER_CHUNK] = {0};

    for (size_t m = 0; m < pairs; m++) {
        size_t j = 2 * m;

        sample_block(t, idx, n, pairs, m, words);
        normal_pairs(w0, w1, n, xs + j * n, j + 1 < d ? xs + (j + 1) * n : spare);
        if (noise != NULL)
            normal_pairs_16(w2, n, noise + j * n, j + 1 < d ? noise + (j + 1) * n : spare);
        if (m + 1 == pairs)
            memcpy(flip_words, words[3], n * sizeof(uint32_t));
    }
}

/* Adds to x the noise of the single sample idx[0] of d features, computing its blocks again:
 * the path of samples too wide for the noise to wait in a buffer. */
ALWAYS_INLINE void add_noise_again(const bmlp_teacher_t *t, size_t d, const uint64_t *idx, float *x)
{
    size_t pairs = feature_pairs(d);
    uint32_t w0[1], w1[1], w2[1], w3[1];
    uint32_t *const words[4] = {w0, w1, w2, w3};

    for (size_t m = 0; m < pairs; m++) {
        float z0, z1;

        sample_block(t, idx, 1, pairs, m, words);
        normal_pairs_16(w2, 1, &z0, &z1);
        x[2 * m] += t->noise * z0;
        if (2 * m + 1 < d)
            x[2 * m + 1] += t->noise * z1;
    }
}

/* The leaky ReLU of the hidden units. */
ALWAYS_INLINE float leaky_relu(float z)
{
    float scaled = z * LEAK;

    return z > scaled ? z : scaled;
}

/*
 * Computes the network's output for the n samples in xs. Each hidden unit's input sums its
 * bias and then the features in order. Two features take a single pass over the samples per
 * unit; other widths accumulate the input in z, one pass per feature.
 */
ALWAYS_INLINE void compute_logits(const bmlp_teacher_t *t, size_t d, const float *xs, size_t n,
                                  float *logit)
{
    size_t h = t->hidden;
    const float *bias = t->weights + h * d, *out = bias + h;
    float z[BMLP_TEACHER_CHUNK];

    for (size_t s = 0; s < n; s++)
        logit[s] = 0.0f;
    for (size_t k = 0; k < h; k++) {
        const float *w = t->weights + k * d;

        if (d == 2) {
            for (size_t s = 0; s < n; s++) {
                float sum = bias[k] + w[0] * xs[s];

                sum += w[1] * xs[n + s];
                logit[s] += out[k] * leaky_relu(sum);
            }
            continue;
        }
        for (size_t s = 0; s < n; s++)
            z[s] = bias[k];
        for (size_t j = 0; j < d; j++) {
            for (size_t s = 0; s < n; s++)
                z[s] += w[j] * xs[j * n + s];
        }
        for (size_t s = 0; s < n; s++)
            logit[s] += out[k] * leaky_relu(z[s]);
    }
}

/*
 * Makes samples idx[0 .. n) into x and y and their logits into logit, for d = t->n_features and
 * n <= sub_chunk(d). Samples of more than CHUNK_VALUES features come one at a time and are
 * made in place in x, whose single row has the layout of xs.
 */
ALWAYS_INLINE void make_chunk(const bmlp_teacher_t *t, size_t d, const uint64_t *idx, size_t n,
                              float *x, float *y, float *logit)
{
    float stack[CHUNK_VALUES], noise[CHUNK_VALUES];
    int wide = d > CHUNK_VALUES;
    int noisy = t->noise > 0.0f;
    float *xs = wide ? x : stack;
    uint32_t flip_words[BMLP_TEACHER_CHUNK];

    make_inputs(t, d, idx, n, xs, noisy && !wide ? noise : NULL, flip_words);
    compute_logits(t, d, xs, n, logit);
    for (size_t s = 0; s < n; s++) {
        int label = logit[s] > t->threshold;

        y[s] = (float)(label ^ (flip_words[s] < t->flip_below));
    }
    if (wide) {
        if (noisy)
            add_noise_again(t, d, idx, x);
        return;
    }
    for (size_t s = 0; s < n; s++) {
        for (size_t j = 0; j < d; j++)
            x[s * d + j] = xs[j * n + s];
    }
    if (noisy) {
        for (size_t s = 0; s < n; s++) {
            for (size_t j = 0; j < d; j++)
                x[s * d + j] += t->noise * noise[j * n + s];
        }
    }
}

/* Calls make_chunk with d as a constant for two features, the common case, so that its loops
 * are specialized for that width. */
ALWAYS_INLINE void make_chunk_for_width(const bmlp_teacher_t *t, const uint64_t *idx, size_t n,
                                        float *x, float *y, float *logit)
{
    if (t->n_features == 2)
        make_chunk(t, 2, idx, n, x, y, logit);
    else
        make_chunk(t, t->n_features, idx, n, x, y, logit);
}

static void make_chunk_baseline(const bmlp_teacher_t *t, const uint64_t *idx, size_t n, float *x,
                                float *y, float *logit)
{
    make_chunk_for_width(t, idx, n, x, y, logit);
}

__attribute__((target("avx2"))) static void make_chunk_avx2(const bmlp_teacher_t *t,
                                                            const uint64_t *idx, size_t n, float *x,
                                                            float *y, float *logit)
{
    make_chunk_for_width(t, idx, n, x, y, logit);
}

__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))) static void
make_chunk_avx512(const bmlp_teacher_t *t, const uint64_t *idx, size_t n, float *x, float *y,
                  float *logit)
{
    make_chunk_for_width(t, idx, n, x, y, logit);
}

/* Makes samples idx[0 .. n), n <= BMLP_TEACHER_CHUNK, in sub-chunks. */
static void make_rows(const bmlp_teacher_t *t, const uint64_t *idx, size_t n, float *x, float *y,
                      float *logit)
{
    size_t d = t->n_features, step = sub_chunk(d);

    for (size_t done = 0; done < n; done += step) {
        size_t count = n - done < step ? n - done : step;

        if (t->isa == BMLP_ISA_AVX512)
            make_chunk_avx512(t, idx + done, count, x + done * d, y + done, logit + done);
        else if (t->isa == BMLP_ISA_AVX2)
            make_chunk_avx2(t, idx + done, count, x + done * d, y + done, logit + done);
        else
            make_chunk_baseline(t, idx + done, count, x + done * d, y + done, logit + done);
    }
}

void bmlp_teacher_rows(const bmlp_teacher_t *t, const uint64_t *idx, size_t n, float *x, float *y)
{
    float logit[BMLP_TEACHER_CHUNK];

    make_rows(t, idx, n, x, y, logit);
}

/* Draws the weights: normal number q of BMLP_STREAM_TEACHER_WEIGHTS is half q % 2 of the pair
 * at index q / 2. Input weights are scaled by 1/sqrt(d), so each hidden unit's input has
 * about unit variance, like its bias; output weights by 1/sqrt(hidden). */
static void draw_weights(bmlp_teacher_t *t)
{
    size_t d = t->n_features, h = t->hidden, count = h * d + 2 * h;
    double in_scale = 1.0 / sqrt((double)d), out_scale = 1.0 / sqrt((double)h);

    for (size_t q = 0; q < count; q += 2) {
        double g[2];

        bmlp_random_normal2(t->seed, BMLP_STREAM_TEACHER_WEIGHTS, q / 2, g);
        for (size_t half = 0; half < 2 && q + half < count; half++) {
            size_t at = q + half;
            double scale = 1.0;

            if (at < h * d)
                scale = in_scale;
            else if (at >= h * d + h)
                scale = out_scale;
            t->weights[at] = (float)(g[half] * scale);
        }
    }
}

/* Returns the k-th smallest of v[0 .. n) (k < n), reordering v: Hoare's selection with the
 * middle element as pivot. */
static float select_kth(float *v, size_t n, size_t k)
{
    ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, target = (ptrdiff_t)k;

    while (lo < hi) {
        float pivot = v[lo + (hi - lo) / 2];
        ptrdiff_t i = lo, j = hi;

        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                float swap = v[i];

                v[i++] = v[j];
                v[j--] = swap;
            }
        }
        /* Now v[lo .. j] <= pivot <= v[i .. hi], and v[j + 1 .. i - 1] equal the pivot. */
        if (target <= j)
            hi = j;
        else if (target >= i)
            lo = i;
        else
            break;
    }
    return v[target];
}

/* Returns the number of leading samples whose median logit is the threshold: odd, and fewer
 * for wide networks, whose samples cost more. */
static size_t median_samples(size_t d, size_t h)
{
    size_t m = MEDIAN_BUDGET / (d * h + 1);

    if (m > MEDIAN_SAMPLES_MAX)
        m = MEDIAN_SAMPLES_MAX;
    if (m < MEDIAN_SAMPLES_MIN)
        m = MEDIAN_SAMPLES_MIN;
    return m | 1;
}

/* Sets the threshold to the median logit of samples 0 .. m - 1. */
static bmlp_status_t set_threshold(bmlp_teacher_t *t, bmlp_error_t *err)
{
    size_t d = t->n_features, m = median_samples(d, t->hidden);
    size_t step = sub_chunk(d);
    float *logits = bmlp_alloc_floats(m);
    float *x = bmlp_alloc_floats(step * d);
    float y[BMLP_TEACHER_CHUNK];
    uint64_t idx[BMLP_TEACHER_CHUNK];

    if (logits == NULL || x == NULL) {
        bmlp_free_floats(logits);
        bmlp_free_floats(x);
        return bmlp_fail(err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL,
                         "cannot allocate the %zu-feature teacher's threshold samples", d);
    }
    for (size_t first = 0; first < m; first += step) {
        size_t count = m - first < step ? m - first : step;

        for (size_t s = 0; s < count; s++)
            idx[s] = first + s;
        make_rows(t, idx, count, x, y, logits + first);
    }
    t->threshold = select_kth(logits, m, m / 2);
    bmlp_free_floats(logits);
    bmlp_free_floats(x);
    return BMLP_OK;
}

bmlp_status_t bmlp_teacher_create(const bmlp_synth_options_t *opt, bmlp_isa_t isa,
                                  bmlp_teacher_t **out, bmlp_error_t *err)
{
    bmlp_teacher_t *t = calloc(1, sizeof(*t));
    size_t h = opt->teacher_hidden != 0 ? opt->teacher_hidden : BMLP_TEACHER_HIDDEN_DEFAULT;
    bmlp_status_t st;

    *out = NULL;
    if (t == NULL)
        return bmlp_fail(err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL,
                         "cannot allocate the teacher network");
    t->n_features = opt->n_features;
    t->hidden = h;
    t->seed = opt->seed;
    t->isa = isa;
    t->noise = (float)opt->noise;
    /* label_noise <= 0.5, so the product is at most 2^31 and exact. */
    t->flip_below = (uint32_t)(opt->label_noise * 4294967296.0);
    t->weights = bmlp_alloc_floats(h * opt->n_features + 2 * h);
    if (t->weights == NULL) {
        bmlp_teacher_free(t);
        return bmlp_fail(err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL,
                         "cannot allocate the %zu x %zu teacher network", opt->n_features, h);
    }
    draw_weights(t);
    st = set_threshold(t, err);
    if (st != BMLP_OK) {
        bmlp_teacher_free(t);
        return st;
    }
    *out = t;
    return BMLP_OK;
}

void bmlp_teacher_free(bmlp_teacher_t *t)
{
    if (t == NULL)
        return;
    bmlp_free_floats(t->weights);
    free(t);
}
