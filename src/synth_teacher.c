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
 * The network's output is sum_k v_k leaky(a_k(x)) with a_k(x) = b_k + w_k . x, and
 * leaky(a) = (9 a + 7 |a|) / 16 for the slope 1/8. So the output is 7/16 times
 *   L(x) + sum_k sign(v_k) |v_k a_k(x)|,  where L(x) = 9/7 sum_k v_k a_k(x) is linear in x.
 * The teacher computes this scaled output, whose median threshold gives the same classes, from
 * the products v_k b_k and v_k w_k and the coefficients of L. A hidden unit then costs a fused
 * multiply-add per feature, an absolute value and an add, and no leaky ReLU or output weight.
 *
 * Samples are made BMLP_TEACHER_CHUNK at a time in structure-of-arrays form, feature j of
 * sample s at xs[j * n + s], so that every loop runs along the samples and vectorizes. The
 * loops are compiled three times, for the baseline, AVX2 and AVX-512, and the elementwise
 * operations give the same bits in each. Each fmaf rounds once: AVX2 and AVX-512 (which bmlp
 * runs only on CPUs with FMA) compute it with one instruction, and the baseline copy calls the
 * C library's correctly rounded fmaf. Every other product and sum rounds separately, so
 * floating-point contraction must stay off: C11 mode (CMAKE_C_EXTENSIONS OFF) gives GCC
 * -ffp-contract=off, and the pragma below does the same for clang.
 *
 * NOTE: the calls to fmaf make the baseline copy slow. A two-feature sample took 92 ns there,
 * against 17 ns before the generator used fmaf (one core of the machine of
 * docs/PERFORMANCE.md). That matters only on CPUs without AVX2 and FMA, or with
 * BMLP_ISA=scalar.
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

/* L's factor 9/7 comes from the leaky ReLU's negative slope 1/8, for which
 * leaky(a) = (9 a + 7 |a|) / 16. */
#define LINEAR_FACTOR (9.0 / 7.0)

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

/* Samples per pass of the two-feature output loop. Their sums fill two AVX-512 or four AVX2
 * registers, whose chains of adds overlap. */
#define OUTPUT_BLOCK 32

_Static_assert(BMLP_TEACHER_CHUNK % OUTPUT_BLOCK == 0,
               "the two-feature arrays are padded to whole output blocks");

struct bmlp_teacher {
    size_t n_features;
    size_t hidden;
    size_t positive; /* hidden units with v_k >= 0, stored first */
    uint64_t seed;
    bmlp_isa_t isa;
    float noise;         /* standard deviation of the feature noise */
    uint32_t flip_below; /* a label flips when its 32-bit draw is below this */
    float threshold;     /* class 1 when the scaled output exceeds this median */
    /* The hidden units, those with v_k >= 0 first, each as v_k w_k (n_features floats) and
     * then v_k b_k. After them come L's constant and its n_features coefficients. */
    float *weights;
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

/* Coefficients of Q(f) = (ln(1 + f) - f) / f^2 for f in [sqrt(1/2) - 1, sqrt(2) - 1], from
 * scripts/fit-teacher-polynomials.py. */
#define LOG_Q0 -0.49999997f
#define LOG_Q1 0.333336711f
#define LOG_Q2 -0.250011474f
#define LOG_Q3 0.199720502f
#define LOG_Q4 -0.165884882f
#define LOG_Q5 0.14834787f
#define LOG_Q6 -0.141596466f
#define LOG_Q7 0.0878726542f

/* Bits of the float just above sqrt(1/2). Subtracting them from the bits of a float x >= 1
 * leaves the exponent k for which m = x / 2^k is in [sqrt(1/2), sqrt(2)), and below it the
 * mantissa bits of m minus these. */
#define SQRT_HALF_BITS 0x3F3504F4u

/* Returns -2 ln u for u = (floor(a / 2^9) + 0.5) / 2^23, which lies in (0, 1). 2^24 u is an
 * odd integer below 2^24, so exact in a float, and it splits into 2^k (1 + f) with 1 + f in
 * [sqrt(1/2), sqrt(2)). Then ln u = (k - 24) ln 2 + ln(1 + f), and ln(1 + f) = f + f^2 Q(f)
 * with Q a polynomial of degree 7, which needs no division. */
ALWAYS_INLINE float minus_two_log(uint32_t a)
{
    uint32_t offset = float_bits((float)(int32_t)((a >> 8) | 1u)) - SQRT_HALF_BITS;
    int32_t e = (int32_t)(offset >> 23) - 24;
    float f = bits_float((offset & 0x7FFFFFu) + SQRT_HALF_BITS) - 1.0f;
    float q = fmaf(f, LOG_Q7, LOG_Q6);

    q = fmaf(f, q, LOG_Q5);
    q = fmaf(f, q, LOG_Q4);
    q = fmaf(f, q, LOG_Q3);
    q = fmaf(f, q, LOG_Q2);
    q = fmaf(f, q, LOG_Q1);
    q = fmaf(f, q, LOG_Q0);
    return fmaf((float)e, -2.0f * 0.693147181f, -2.0f * fmaf(f * f, q, f));
}

/* Coefficients of sin(pi p / 2) / p and cos(pi p / 2) as polynomials in p^2, for p in
 * [-1/2, 1/2], from scripts/fit-teacher-polynomials.py. */
#define SIN_S0 1.57079637f
#define SIN_S1 -0.64596349f
#define SIN_S2 0.0796802193f
#define SIN_S3 -0.00460214913f
#define COS_C1 -1.23370051f
#define COS_C2 0.253669202f
#define COS_C3 -0.0208600704f
#define COS_C4 0.000903628068f

/*
 * Box-Muller on 32-bit words: z0 = r cos(2 pi v), z1 = r sin(2 pi v) with r^2 = -2 ln u from
 * a and the turn v = b / 2^32. The top two bits of b + 2^29 pick the nearest quarter turn q and
 * the rest the offset p in [-1/2, 1/2) of a quarter turn, whose sine and cosine are
 * polynomials of degree 7 and 8. On 20 million pseudo-random word pairs the results were within
 * 7.1e-7 of double-precision Box-Muller on the same u and v, and r within 3.6e-7; test_synth
 * checks 1e-6 on generated features. Every branch is a bit select, so loops over pairs
 * vectorize.
 */
ALWAYS_INLINE void normal_pair(uint32_t a, uint32_t b, float *z0, float *z1)
{
    float r = sqrtf(minus_two_log(a));
    uint32_t q = (b + (1u << 29)) >> 30;
    /* p = (b - q 2^30) / 2^30, because b << 2 is 4 (b - q 2^30) as a signed 32-bit number. */
    float p = (float)(int32_t)(b << 2) * 0x1p-32f;
    float p2 = p * p;
    float sin_p = p * fmaf(p2, fmaf(p2, fmaf(p2, SIN_S3, SIN_S2), SIN_S1), SIN_S0);
    float cos_p = fmaf(p2, fmaf(p2, fmaf(p2, fmaf(p2, COS_C4, COS_C3), COS_C2), COS_C1), 1.0f);
    /* Turning by q quarters: odd q swaps sine and cosine, and the signs follow q. */
    uint32_t swap = 0u - (q & 1u);
    uint32_t cos_bits = float_bits(cos_p), sin_bits = float_bits(sin_p);
    uint32_t c = ((cos_bits & ~swap) | (sin_bits & swap)) ^ (((q + 1u) & 2u) << 30);
    uint32_t s = ((sin_bits & ~swap) | (cos_bits & swap)) ^ ((q & 2u) << 30);

    *z0 = r * bits_float(c);
    *z1 = r * bits_float(s);
}

/* Makes the Box-Muller pairs of a[j] and b[j] for j < n. */
ALWAYS_INLINE void normal_pairs(const uint32_t *a, const uint32_t *b, size_t n, float *z0,
                                float *z1)
{
    for (size_t j = 0; j < n; j++)
        normal_pair(a[j], b[j], z0 + j, z1 + j);
}

/* Makes the Box-Muller pairs of the 16-bit halves of w: the high half gives the radius and
 * the low half the angle, each taken at the middle of its 2^-16 step, so |z| < 4.9. */
ALWAYS_INLINE void normal_pairs_16(const uint32_t *w, size_t n, float *z0, float *z1)
{
    for (size_t s = 0; s < n; s++)
        normal_pair((w[s] & 0xFFFF0000u) | 0x8000u, (w[s] << 16) | 0x8000u, z0 + s, z1 + s);
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
        x[2 * m] = fmaf(t->noise, z0, x[2 * m]);
        if (2 * m + 1 < d)
            x[2 * m + 1] = fmaf(t->noise, z1, x[2 * m + 1]);
    }
}

/*
 * Computes the scaled output (see the top of this file) of the n samples in xs: L(x) with its
 * constant first and the features in order, then each unit's |v_k a_k(x)| from v_k b_k and
 * the features in order, added for v_k >= 0 and subtracted otherwise.
 */
ALWAYS_INLINE void compute_logits(const bmlp_teacher_t *t, size_t d, const float *xs, size_t n,
                                  float *logit)
{
    const float *linear = t->weights + t->hidden * (d + 1);
    float z[BMLP_TEACHER_CHUNK];

    for (size_t s = 0; s < n; s++)
        logit[s] = linear[0];
    for (size_t j = 0; j < d; j++) {
        for (size_t s = 0; s < n; s++)
            logit[s] = fmaf(linear[1 + j], xs[j * n + s], logit[s]);
    }
    for (size_t k = 0; k < t->hidden; k++) {
        const float *unit = t->weights + k * (d + 1);

        for (size_t s = 0; s < n; s++)
            z[s] = unit[d];
        for (size_t j = 0; j < d; j++) {
            for (size_t s = 0; s < n; s++)
                z[s] = fmaf(unit[j], xs[j * n + s], z[s]);
        }
        if (k < t->positive) {
            for (size_t s = 0; s < n; s++)
                logit[s] += fabsf(z[s]);
        } else {
            for (size_t s = 0; s < n; s++)
                logit[s] -= fabsf(z[s]);
        }
    }
}

/*
 * Computes what compute_logits does, with the same operations in the same order, for two
 * features, one OUTPUT_BLOCK of samples at a time: the block's sums stay in registers across
 * the hidden units. x0 and x1 are read up to n rounded up to a whole block, and logit is
 * written up to n. Without the unroll pragmas, GCC 12 unrolls the loops over the block
 * completely and then vectorizes across the hidden units instead, which made the generator
 * about a third slower.
 */
ALWAYS_INLINE void compute_logits_2(const bmlp_teacher_t *t, const float *x0, const float *x1,
                                    size_t n, float *logit)
{
    const float *linear = t->weights + t->hidden * 3;

    for (size_t first = 0; first < n; first += OUTPUT_BLOCK) {
        const float *a0 = x0 + first, *a1 = x1 + first;
        float sum[OUTPUT_BLOCK];

        for (size_t s = 0; s < OUTPUT_BLOCK; s++)
            sum[s] = fmaf(linear[2], a1[s], fmaf(linear[1], a0[s], linear[0]));
        for (size_t k = 0; k < t->positive; k++) {
            const float *unit = t->weights + 3 * k;

#pragma GCC unroll 1
            for (size_t s = 0; s < OUTPUT_BLOCK; s++)
                sum[s] += fabsf(fmaf(unit[1], a1[s], fmaf(unit[0], a0[s], unit[2])));
        }
        for (size_t k = t->positive; k < t->hidden; k++) {
            const float *unit = t->weights + 3 * k;

#pragma GCC unroll 1
            for (size_t s = 0; s < OUTPUT_BLOCK; s++)
                sum[s] -= fabsf(fmaf(unit[1], a1[s], fmaf(unit[0], a0[s], unit[2])));
        }
        memcpy(logit + first, sum,
               (n - first < OUTPUT_BLOCK ? n - first : OUTPUT_BLOCK) * sizeof(float));
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
                x[s * d + j] = fmaf(t->noise, noise[j * n + s], x[s * d + j]);
        }
    }
}

/* Makes what make_chunk does for two features, the common case: one block per sample, and the
 * features in padded arrays for compute_logits_2. */
ALWAYS_INLINE void make_chunk_2(const bmlp_teacher_t *t, const uint64_t *idx, size_t n, float *x,
                                float *y, float *logit)
{
    uint32_t w0[BMLP_TEACHER_CHUNK], w1[BMLP_TEACHER_CHUNK], w2[BMLP_TEACHER_CHUNK],
        w3[BMLP_TEACHER_CHUNK];
    uint32_t *const words[4] = {w0, w1, w2, w3};
    float x0[BMLP_TEACHER_CHUNK], x1[BMLP_TEACHER_CHUNK], e0[BMLP_TEACHER_CHUNK],
        e1[BMLP_TEACHER_CHUNK];
    size_t padded = (n + OUTPUT_BLOCK - 1) / OUTPUT_BLOCK * OUTPUT_BLOCK;
    int noisy = t->noise > 0.0f;

    bmlp_random_blocks(t->isa, t->seed, BMLP_STREAM_TEACHER_SAMPLES, idx, n, words);
    /* One loop makes both pairs of a sample, so that their independent chains overlap. */
    if (noisy) {
        for (size_t s = 0; s < n; s++) {
            normal_pair(w0[s], w1[s], x0 + s, x1 + s);
            /* bmlp_random_blocks wrote w0 to w3 through words, which cppcheck does not follow. */
            // cppcheck-suppress uninitvar
            normal_pair((w2[s] & 0xFFFF0000u) | 0x8000u, (w2[s] << 16) | 0x8000u, e0 + s, e1 + s);
        }
    } else {
        normal_pairs(w0, w1, n, x0, x1);
    }
    for (size_t s = n; s < padded; s++) {
        x0[s] = 0.0f;
        x1[s] = 0.0f;
    }
    compute_logits_2(t, x0, x1, n, logit);
    for (size_t s = 0; s < n; s++) {
        int label = logit[s] > t->threshold;

        // cppcheck-suppress uninitvar
        y[s] = (float)(label ^ (w3[s] < t->flip_below));
    }
    if (noisy) {
        for (size_t s = 0; s < n; s++) {
            x[2 * s] = fmaf(t->noise, e0[s], x0[s]);
            x[2 * s + 1] = fmaf(t->noise, e1[s], x1[s]);
        }
        return;
    }
    for (size_t s = 0; s < n; s++) {
        x[2 * s] = x0[s];
        x[2 * s + 1] = x1[s];
    }
}

/* Takes the two-feature path for two features and make_chunk otherwise. A whole chunk of two
 * features, the common case of large fills, gets a copy with the count as a constant, whose
 * loops need no remainders: that measured about 8% faster on one core with AVX-512. */
ALWAYS_INLINE void make_chunk_for_width(const bmlp_teacher_t *t, const uint64_t *idx, size_t n,
                                        float *x, float *y, float *logit)
{
    if (t->n_features == 2 && n == BMLP_TEACHER_CHUNK)
        make_chunk_2(t, idx, BMLP_TEACHER_CHUNK, x, y, logit);
    else if (t->n_features == 2)
        make_chunk_2(t, idx, n, x, y, logit);
    else
        make_chunk(t, t->n_features, idx, n, x, y, logit);
}

static void make_chunk_baseline(const bmlp_teacher_t *t, const uint64_t *idx, size_t n, float *x,
                                float *y, float *logit)
{
    make_chunk_for_width(t, idx, n, x, y, logit);
}

__attribute__((target("avx2,fma"))) static void make_chunk_avx2(const bmlp_teacher_t *t,
                                                                const uint64_t *idx, size_t n,
                                                                float *x, float *y, float *logit)
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

/* Draws the network into raw: input weights by hidden unit, then the biases, then the output
 * weights. Normal number q of BMLP_STREAM_TEACHER_WEIGHTS is half q % 2 of the pair at index
 * q / 2. Input weights are scaled by 1/sqrt(d), so each hidden unit's input has about unit
 * variance, like its bias; output weights by 1/sqrt(hidden). */
static void draw_weights(const bmlp_teacher_t *t, float *raw)
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
            raw[at] = (float)(g[half] * scale);
        }
    }
}

/* Stores the drawn network raw in the form that the sample loops read (see the top of this
 * file): each product is rounded once from double, and L's coefficients are summed over the
 * units in double. */
static void fold_weights(bmlp_teacher_t *t, const float *raw)
{
    size_t d = t->n_features, h = t->hidden, slot = 0;
    const float *bias = raw + h * d, *v = bias + h;
    float *linear = t->weights + h * (d + 1);
    double sum = 0.0;

    t->positive = 0;
    for (size_t k = 0; k < h; k++) {
        if (v[k] >= 0.0f)
            t->positive++;
    }
    for (int negative = 0; negative <= 1; negative++) {
        for (size_t k = 0; k < h; k++) {
            float *unit = t->weights + slot * (d + 1);

            if ((v[k] < 0.0f) != negative)
                continue;
            for (size_t j = 0; j < d; j++)
                unit[j] = (float)((double)v[k] * raw[k * d + j]);
            unit[d] = (float)((double)v[k] * bias[k]);
            slot++;
        }
    }
    for (size_t k = 0; k < h; k++)
        sum += (double)v[k] * bias[k];
    linear[0] = (float)(LINEAR_FACTOR * sum);
    for (size_t j = 0; j < d; j++) {
        sum = 0.0;
        for (size_t k = 0; k < h; k++)
            sum += (double)v[k] * raw[k * d + j];
        linear[1 + j] = (float)(LINEAR_FACTOR * sum);
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
    float *raw;
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
    raw = bmlp_alloc_floats(h * opt->n_features + 2 * h);
    t->weights = bmlp_alloc_floats(h * (opt->n_features + 1) + opt->n_features + 1);
    if (raw == NULL || t->weights == NULL) {
        bmlp_free_floats(raw);
        bmlp_teacher_free(t);
        return bmlp_fail(err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL,
                         "cannot allocate the %zu x %zu teacher network", opt->n_features, h);
    }
    draw_weights(t, raw);
    fold_weights(t, raw);
    bmlp_free_floats(raw);
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
