/* Every vectorized kernel against its scalar twin, on every remainder of its register blocks,
 * with every pointer offset by one float from 64-byte alignment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmlp/bmlp.h"
#include "dispatch.h"
#include "kernels.h"

/* Largest size in each dimension: 67 covers every remainder modulo 14 rows and 32 samples. */
#define MAX_DIM 67

/* One float: 2^-24 is half the gap between 1 and the next float, the unit roundoff. */
#define UNIT_ROUNDOFF 0x1.0p-24

/* The vectorized tables this CPU can run. */
static const bmlp_kernels_t *tables[2];
static size_t num_tables;

static uint64_t rng_state = 0x853c49e6748fea9bull;

static float uniform(float lo, float hi)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    double u = (double)((rng_state * 2685821657736338717ull) >> 11) * 0x1.0p-53;
    return lo + (float)u * (hi - lo);
}

/* A buffer of n floats starting one float past a 64-byte boundary, filled with values in
 * [-1, 1]. Free with free_offset. */
static float *alloc_offset(size_t n)
{
    float *base = aligned_alloc(64, ((n + 1) * sizeof(float) + 63) / 64 * 64);

    assert_non_null(base);
    for (size_t i = 0; i <= n; i++)
        base[i] = uniform(-1.0f, 1.0f);
    return base + 1;
}

static void free_offset(float *p)
{
    free(p - 1);
}

/* Compares n values against the scalar ones within tolerance tol[i], or tol[0] for every value
 * when per_value is 0. Prints the first mismatch with its shape and returns 0 on a mismatch. */
static int check_close(const char *what, const char *isa, const float *got, const float *want,
                       const double *tol, int per_value, size_t n, size_t m_, size_t n_, size_t k_)
{
    for (size_t i = 0; i < n; i++) {
        double t = per_value ? tol[i] : tol[0];
        if (!(fabs((double)got[i] - (double)want[i]) <= t)) {
            fprintf(stderr,
                    "%s %s, m %zu n %zu k %zu: first mismatch at %zu: got %.9g, scalar %.9g, "
                    "tolerance %.3g\n",
                    isa, what, m_, n_, k_, i, (double)got[i], (double)want[i], t);
            return 0;
        }
    }
    return 1;
}

static int setup(void **state)
{
    const bmlp_isa_t isas[] = {BMLP_ISA_AVX2, BMLP_ISA_AVX512};
    bmlp_error_t err;

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        bmlp_isa_t resolved;
        if (bmlp_isa_resolve(isas[i], &resolved, &err) == BMLP_OK)
            tables[num_tables++] = bmlp_kernels_for(resolved);
    }
    if (num_tables == 0)
        fprintf(stderr, "this CPU runs no vectorized kernels; only the scalar ones are tested\n");
    return 0;
}

/*
 * Tolerance of a dot product of depth terms plus one more (the bias), summed in float in any
 * order, with or without fused multiply-adds: each result is within
 * (depth + 1) * u * sum |terms| of the exact value (u the unit roundoff), so two results are
 * within twice that of each other.
 */
static double dot_tolerance(size_t depth, double abs_sum)
{
    return 2.0 * (double)(depth + 1) * UNIT_ROUNDOFF * abs_sum + FLT_MIN;
}

/* Shapes: every m and n from 1 to 67 at a few depths, and every depth at a few m and n. */
typedef void (*shape_fn)(const bmlp_kernels_t *t, size_t m, size_t n, size_t k);

static void for_each_shape(shape_fn fn)
{
    const size_t depths[] = {1, 2, 15, 67};
    const size_t sides[] = {1, 13, 33};

    for (size_t t = 0; t < num_tables; t++) {
        for (size_t d = 0; d < 4; d++)
            for (size_t m = 1; m <= MAX_DIM; m++)
                for (size_t n = 1; n <= MAX_DIM; n++)
                    fn(tables[t], m, n, depths[d]);
        for (size_t k = 1; k <= MAX_DIM; k++)
            for (size_t a = 0; a < 3; a++)
                for (size_t b = 0; b < 3; b++)
                    fn(tables[t], sides[a], sides[b], k);
    }
}

/* Z = W A + b for W m x k and A k x n (leading dimension n + 3, so rows are not aligned). */
static void check_dense_forward(const bmlp_kernels_t *t, size_t m, size_t n, size_t k)
{
    size_t ld = n + 3;
    float *W = alloc_offset(m * k), *b = alloc_offset(m), *A = alloc_offset(k * ld);
    float *Zs = alloc_offset(m * ld), *Zv = alloc_offset(m * ld);
    double *tol = malloc(m * ld * sizeof(double));

    memcpy(Zv, Zs, m * ld * sizeof(float));
    bmlp_kernels_scalar.dense_forward(m, n, k, W, b, A, ld, Zs, ld);
    t->dense_forward(m, n, k, W, b, A, ld, Zv, ld);
    for (size_t i = 0; i < m; i++) {
        for (size_t s = 0; s < ld; s++) {
            double sum = fabs((double)b[i]);
            for (size_t j = 0; j < k; j++)
                sum += fabs((double)W[i * k + j] * A[j * ld + s]);
            /* Padding columns s >= n must be untouched: zero tolerance. */
            tol[i * ld + s] = s < n ? dot_tolerance(k, sum) : 0.0;
        }
    }
    if (!check_close("dense_forward", t->name, Zv, Zs, tol, 1, m * ld, m, n, k))
        fail();
    free(tol);
    free_offset(W), free_offset(b), free_offset(A), free_offset(Zs), free_offset(Zv);
}

/* dA = W^T dZ for W m x k and dZ m x n. */
static void check_dense_backward_input(const bmlp_kernels_t *t, size_t m, size_t n, size_t k)
{
    size_t ld = n + 1;
    float *W = alloc_offset(m * k), *dZ = alloc_offset(m * ld);
    float *dAs = alloc_offset(k * ld), *dAv = alloc_offset(k * ld);
    double *tol = malloc(k * ld * sizeof(double));

    memcpy(dAv, dAs, k * ld * sizeof(float));
    bmlp_kernels_scalar.dense_backward_input(m, n, k, W, dZ, ld, dAs, ld);
    t->dense_backward_input(m, n, k, W, dZ, ld, dAv, ld);
    for (size_t j = 0; j < k; j++) {
        for (size_t s = 0; s < ld; s++) {
            double sum = 0.0;
            for (size_t i = 0; i < m; i++)
                sum += fabs((double)W[i * k + j] * dZ[i * ld + s]);
            tol[j * ld + s] = s < n ? dot_tolerance(m, sum) : 0.0;
        }
    }
    if (!check_close("dense_backward_input", t->name, dAv, dAs, tol, 1, k * ld, m, n, k))
        fail();
    free(tol);
    free_offset(W), free_offset(dZ), free_offset(dAs), free_offset(dAv);
}

/* dW = dZ A^T for dZ m x n and A k x n: here n is the depth of each dot product. */
static void check_weight_grad(const bmlp_kernels_t *t, size_t m, size_t n, size_t k)
{
    size_t ld = n + 5;
    float *dZ = alloc_offset(m * ld), *A = alloc_offset(k * ld);
    float *dWs = alloc_offset(m * k), *dWv = alloc_offset(m * k);
    double *tol = malloc(m * k * sizeof(double));

    bmlp_kernels_scalar.weight_grad(m, n, k, dZ, ld, A, ld, dWs);
    t->weight_grad(m, n, k, dZ, ld, A, ld, dWv);
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < k; j++) {
            double sum = 0.0;
            for (size_t s = 0; s < n; s++)
                sum += fabs((double)dZ[i * ld + s] * A[j * ld + s]);
            tol[i * k + j] = dot_tolerance(n, sum);
        }
    }
    if (!check_close("weight_grad", t->name, dWv, dWs, tol, 1, m * k, m, n, k))
        fail();
    free(tol);
    free_offset(dZ), free_offset(A), free_offset(dWs), free_offset(dWv);
}

/* The fused forward kernel against dense_forward then sigmoid of the same table: the same bits,
 * with Z kept and with Z left out. */
static void check_forward_sigmoid(const bmlp_kernels_t *t, size_t m, size_t n, size_t k)
{
    size_t ld = n + 3;
    float *W = alloc_offset(m * k), *b = alloc_offset(m), *A = alloc_offset(k * ld);
    float *Zs = alloc_offset(m * ld), *Hs = alloc_offset(m * ld);
    float *Zf = alloc_offset(m * ld), *Hf = alloc_offset(m * ld), *Hi = alloc_offset(m * ld);

    memcpy(Zf, Zs, m * ld * sizeof(float));
    memcpy(Hf, Hs, m * ld * sizeof(float));
    memcpy(Hi, Hs, m * ld * sizeof(float));
    t->dense_forward(m, n, k, W, b, A, ld, Zs, ld);
    t->sigmoid(m, n, Zs, ld, Hs, ld);
    t->dense_forward_sigmoid(m, n, k, W, b, A, ld, Zf, ld, Hf, ld);
    t->dense_forward_sigmoid(m, n, k, W, b, A, ld, NULL, 0, Hi, ld);
    if (memcmp(Zf, Zs, m * ld * sizeof(float)) != 0 ||
        memcmp(Hf, Hs, m * ld * sizeof(float)) != 0 ||
        memcmp(Hi, Hs, m * ld * sizeof(float)) != 0) {
        fprintf(stderr,
                "%s dense_forward_sigmoid, m %zu n %zu k %zu: differs from the two "
                "kernels it fuses\n",
                t->name, m, n, k);
        fail();
    }
    free_offset(W), free_offset(b), free_offset(A), free_offset(Zs), free_offset(Hs);
    free_offset(Zf), free_offset(Hf), free_offset(Hi);
}

/* Returns 1 when rows 0 .. count - 1 of a and b (leading dimension ld) have the same bits in
 * their first n floats. */
static int rows_equal(const float *a, const float *b, size_t count, size_t n, size_t ld)
{
    for (size_t r = 0; r < count; r++)
        if (memcmp(a + r * ld, b + r * ld, n * sizeof(float)) != 0)
            return 0;
    return 1;
}

/* Checks the fused backward kernel against dense_backward_input then sigmoid_backward of the
 * same table, bit for bit, out of place and in place over A. A contains sigmoid outputs, in
 * (0, 1). */

static void check_backward_sigmoid(const bmlp_kernels_t *t, size_t m, size_t n, size_t k)
{
    size_t ld = n + 1;
    float *W = alloc_offset(m * k), *dZ = alloc_offset(m * ld), *A = alloc_offset(k * ld);
    float *dA = alloc_offset(k * ld), *dZs = alloc_offset(k * ld), *dZf = alloc_offset(k * ld);

    for (size_t i = 0; i < k * ld; i++)
        A[i] = 0.5f + 0.49f * A[i];
    memcpy(dZf, dZs, k * ld * sizeof(float));
    t->dense_backward_input(m, n, k, W, dZ, ld, dA, ld);
    t->sigmoid_backward(k, n, dA, ld, A, ld, dZs, ld);
    t->backward_input_sigmoid(m, n, k, W, dZ, ld, A, ld, dZf, ld);
    if (memcmp(dZf, dZs, k * ld * sizeof(float)) != 0) {
        fprintf(stderr,
                "%s backward_input_sigmoid, m %zu n %zu k %zu: differs from the two "
                "kernels it fuses\n",
                t->name, m, n, k);
        fail();
    }
    /* In place over A, as the training step runs it: the same bits. */
    t->backward_input_sigmoid(m, n, k, W, dZ, ld, A, ld, A, ld);
    if (!rows_equal(A, dZf, k, n, ld)) {
        fprintf(stderr, "%s backward_input_sigmoid, m %zu n %zu k %zu: differs in place\n", t->name,
                m, n, k);
        fail();
    }
    free_offset(W), free_offset(dZ), free_offset(A), free_offset(dA), free_offset(dZs);
    free_offset(dZf);
}

/* Checks output_backward against weight_grad, backward_input_sigmoid and bias_grad of the same
 * table, bit for bit, for an output layer of one unit over k units of n samples, out of place
 * and in place over A. A contains sigmoid outputs, in (0, 1). */
static void check_output_backward(const bmlp_kernels_t *t, size_t n, size_t k, int infinite_w)
{
    size_t ld = n + 3;
    float *w = alloc_offset(k), *dz = alloc_offset(n), *A = alloc_offset(k * ld);
    float *dZs = alloc_offset(k * ld), *dZf = alloc_offset(k * ld);
    float *gws = alloc_offset(k), *gwf = alloc_offset(k), *dbs = alloc_offset(k);
    float *dbf = alloc_offset(k);

    for (size_t i = 0; i < k * ld; i++)
        A[i] = 0.5f + 0.49f * A[i];
    /* An infinite weight with positive dz makes every dZin of its unit +inf, whose sum is +inf:
     * the lanes past n must not add anything else. */
    if (infinite_w) {
        w[0] = INFINITY;
        for (size_t s = 0; s < n; s++)
            dz[s] = fabsf(dz[s]) + 0.01f;
    }
    memcpy(dZf, dZs, k * ld * sizeof(float));
    t->weight_grad(1, n, k, dz, n, A, ld, gws);
    t->backward_input_sigmoid(1, n, k, w, dz, n, A, ld, dZs, ld);
    t->bias_grad(k, n, dZs, ld, dbs);
    t->output_backward(n, k, w, dz, A, ld, dZf, ld, gwf, dbf);
    if (memcmp(dZf, dZs, k * ld * sizeof(float)) != 0 || memcmp(gwf, gws, k * sizeof(float)) != 0 ||
        memcmp(dbf, dbs, k * sizeof(float)) != 0) {
        fprintf(stderr,
                "%s output_backward, n %zu k %zu: differs from the three kernels it fuses "
                "(dZin %s, gw %s, db %s)\n",
                t->name, n, k, memcmp(dZf, dZs, k * ld * sizeof(float)) ? "differs" : "equal",
                memcmp(gwf, gws, k * sizeof(float)) ? "differs" : "equal",
                memcmp(dbf, dbs, k * sizeof(float)) ? "differs" : "equal");
        fail();
    }
    /* In place over A, as the training step runs it: the same bits. */
    t->output_backward(n, k, w, dz, A, ld, A, ld, gws, dbs);
    if (!rows_equal(A, dZf, k, n, ld) || memcmp(gwf, gws, k * sizeof(float)) != 0 ||
        memcmp(dbf, dbs, k * sizeof(float)) != 0) {
        fprintf(stderr, "%s output_backward, n %zu k %zu: differs in place\n", t->name, n, k);
        fail();
    }
    free_offset(w), free_offset(dz), free_offset(A), free_offset(dZs), free_offset(dZf);
    free_offset(gws), free_offset(gwf), free_offset(dbs), free_offset(dbf);
}

static void fused_kernels_match_unfused(void **state)
{
    (void)state;
    for_each_shape(check_forward_sigmoid);
    for_each_shape(check_backward_sigmoid);
    for (size_t t = 0; t < num_tables; t++)
        for (size_t n = 1; n <= MAX_DIM; n++)
            for (size_t k = 1; k <= MAX_DIM; k += (k < 20 ? 1 : 15)) {
                check_output_backward(tables[t], n, k, 0);
                check_output_backward(tables[t], n, k, 1);
            }
    /* The scalar table's fused kernels, on a smaller set of shapes. */
    for (size_t m = 1; m <= 17; m += 4)
        for (size_t n = 1; n <= 33; n += 8)
            for (size_t k = 1; k <= 17; k += 8) {
                check_forward_sigmoid(&bmlp_kernels_scalar, m, n, k);
                check_backward_sigmoid(&bmlp_kernels_scalar, m, n, k);
            }
}

/* gather_tile copies and standardizes with exact operations (a subtraction and a division per
 * value), so every table must give the scalar kernel's bits. The cases are d features of n
 * shuffled rows of a table whose stride is d or wider, with and without standardization; the
 * first sample is the table's last row. The vector kernels transpose whole groups of 8 or 16
 * features and gather the rest, so d takes every width to 18 and then one to five groups with
 * and without features left over. */
static void gather_tile_bitwise_equal(void **state)
{
    const size_t rows_total = 150;
    const size_t widths[] = {31, 32, 33, 35, 47, 64, 65, 80, 87};

    (void)state;
    for (size_t t = 0; t < num_tables; t++) {
        for (size_t w = 0; w < 2 * (18 + 9); w++) {
            size_t d = w / 2 < 18 ? w / 2 + 1 : widths[w / 2 - 18];
            size_t stride = d + 2 * (w % 2);
            float *x = alloc_offset(rows_total * stride);
            float *mean = alloc_offset(d), *std = alloc_offset(d);
            size_t rows[MAX_DIM];

            for (size_t j = 0; j < d; j++)
                std[j] = 0.25f + fabsf(std[j]);
            for (size_t n = 1; n <= MAX_DIM; n++) {
                size_t ld = n + 3;
                float *As = alloc_offset(d * ld), *Av = alloc_offset(d * ld);

                for (size_t s = 0; s < n; s++)
                    rows[s] = s == 0 ? rows_total - 1 : (s * 37 + 11) % rows_total;
                for (int standardize = 0; standardize < 2; standardize++) {
                    const float *mu = standardize ? mean : NULL;
                    const float *sd = standardize ? std : NULL;
                    int shuffled;

                    for (shuffled = 0; shuffled < 2; shuffled++) {
                        const size_t *r = shuffled ? rows : NULL;

                        memcpy(Av, As, d * ld * sizeof(float));
                        bmlp_kernels_scalar.gather_tile(d, n, x, stride, r, mu, sd, As, ld);
                        tables[t]->gather_tile(d, n, x, stride, r, mu, sd, Av, ld);
                        if (memcmp(Av, As, d * ld * sizeof(float)) != 0) {
                            fprintf(stderr,
                                    "%s gather_tile, d %zu stride %zu n %zu, standardized %d, "
                                    "shuffled %d: differs from the scalar kernel\n",
                                    tables[t]->name, d, stride, n, standardize, shuffled);
                            fail();
                        }
                    }
                }
                free_offset(As), free_offset(Av);
            }
            free_offset(x), free_offset(mean), free_offset(std);
        }
    }
}

/* The scalar gather_tile on a hand-checked case: two rows in reverse order, standardized. */
static void gather_tile_scalar_values(void **state)
{
    const float x[] = {1.0f, 2.0f, -1.0f, 3.0f, 5.0f, -1.0f};
    const float mean[] = {1.0f, 1.0f}, std[] = {2.0f, 4.0f};
    const size_t rows[] = {1, 0};
    float A[2 * 4] = {0};

    (void)state;
    bmlp_kernels_scalar.gather_tile(2, 2, x, 3, rows, mean, std, A, 4);
    /* Row 1 is (3, 5): ((3 - 1) / 2, (5 - 1) / 4); row 0 is (1, 2): (0, 0.25). */
    assert_true(A[0] == 1.0f);
    assert_true(A[1] == 0.0f);
    assert_true(A[4] == 1.0f);
    assert_true(A[5] == 0.25f);
    assert_true(A[2] == 0.0f); /* past n: untouched */
}

static void dense_forward_matches_scalar(void **state)
{
    (void)state;
    for_each_shape(check_dense_forward);
}

static void dense_backward_matches_scalar(void **state)
{
    (void)state;
    for_each_shape(check_dense_backward_input);
}

static void weight_grad_matches_scalar(void **state)
{
    (void)state;
    for_each_shape(check_weight_grad);
}

/* Products whose multipliers have a row stride of 128 or 256 floats, which the vector kernels
 * compile as constants: W of 128 or 256 columns, and dZ of leading dimension n + 5 = 128 or 256.
 * for_each_shape covers strides 32 and 64. */
static void constant_row_strides_match_scalar(void **state)
{
    (void)state;
    for (size_t t = 0; t < num_tables; t++) {
        check_dense_forward(tables[t], 30, 37, 128);
        check_dense_forward(tables[t], 30, 37, 256);
        check_forward_sigmoid(tables[t], 30, 37, 256);
        check_weight_grad(tables[t], 30, 123, 20);
        check_weight_grad(tables[t], 30, 251, 20);
    }
}

/* Products over at least 64 samples or columns, which the AVX-512 kernels compute in wider
 * register blocks. The cases take row strides that become constants and others, row counts
 * below, at and above the block's (with 1 to 4 rows left over), and a wide block of samples
 * followed by a full or partial narrow one. The weight gradients run over more samples than
 * one transposed panel holds, so that later panels add to the sums of the first, with a row
 * stride of dZ that becomes a constant (251 + 5 = 256) and others. */
static void wide_blocks_match_scalar(void **state)
{
    const size_t rows[] = {5, 8, 10, 13};
    const size_t samples[] = {64, 67, 100, 130};
    const size_t depths[] = {32, 64, 128, 256, 40};
    const size_t grad_rows[] = {9, 13};
    const size_t grad_samples[] = {200, 251, 300};
    const size_t grad_columns[] = {64, 67, 128};

    (void)state;
    for (size_t t = 0; t < num_tables; t++) {
        for (size_t a = 0; a < 4; a++) {
            for (size_t b = 0; b < 4; b++) {
                for (size_t d = 0; d < 5; d++) {
                    check_dense_forward(tables[t], rows[a], samples[b], depths[d]);
                    check_forward_sigmoid(tables[t], rows[a], samples[b], depths[d]);
                    check_dense_backward_input(tables[t], depths[d], samples[b], rows[a]);
                    check_backward_sigmoid(tables[t], depths[d], samples[b], rows[a]);
                }
            }
        }
        for (size_t a = 0; a < 2; a++)
            for (size_t b = 0; b < 3; b++)
                for (size_t c = 0; c < 3; c++)
                    check_weight_grad(tables[t], grad_rows[a], grad_samples[b], grad_columns[c]);
    }
}

/* Returns 1 when the two tables give bit-identical products of shape m x n x k, and prints the
 * first product that differs otherwise. The weight gradient is compared from 8 rows on, where
 * both tables sum each element along the samples in order. */
static int products_equal(const bmlp_kernels_t *a, const bmlp_kernels_t *b, size_t m, size_t n,
                          size_t k)
{
    size_t ld = n + 3;
    float *W = alloc_offset(m * k), *bias = alloc_offset(m), *A = alloc_offset(k * ld);
    float *Z = alloc_offset(m * ld), *outa = alloc_offset(m * ld), *outb = alloc_offset(m * ld);
    float *dA_a = alloc_offset(k * ld), *dA_b = alloc_offset(k * ld);
    float *dW_a = alloc_offset(m * k), *dW_b = alloc_offset(m * k);
    const char *differs = NULL;

    a->dense_forward(m, n, k, W, bias, A, ld, outa, ld);
    b->dense_forward(m, n, k, W, bias, A, ld, outb, ld);
    for (size_t r = 0; r < m && differs == NULL; r++)
        if (memcmp(outa + r * ld, outb + r * ld, n * sizeof(float)) != 0)
            differs = "dense_forward";
    a->dense_backward_input(m, n, k, W, Z, ld, dA_a, ld);
    b->dense_backward_input(m, n, k, W, Z, ld, dA_b, ld);
    for (size_t j = 0; j < k && differs == NULL; j++)
        if (memcmp(dA_a + j * ld, dA_b + j * ld, n * sizeof(float)) != 0)
            differs = "dense_backward_input";
    if (m >= 8) {
        a->weight_grad(m, n, k, Z, ld, A, ld, dW_a);
        b->weight_grad(m, n, k, Z, ld, A, ld, dW_b);
        if (differs == NULL && memcmp(dW_a, dW_b, m * k * sizeof(float)) != 0)
            differs = "weight_grad";
    }
    if (differs != NULL)
        fprintf(stderr, "%s differs between %s and %s at m %zu n %zu k %zu\n", differs, a->name,
                b->name, m, n, k);
    free_offset(W), free_offset(bias), free_offset(A), free_offset(Z);
    free_offset(outa), free_offset(outb), free_offset(dA_a), free_offset(dA_b);
    free_offset(dW_a), free_offset(dW_b);
    return differs == NULL;
}

/* Each element of a product is its bias, or zero, plus one fused multiply-add per step of
 * depth in order, whatever the register block. So AVX2 (6 x 16 blocks) and AVX-512 (6 x 64 and
 * 14 x 32 blocks) must agree bit for bit, over wide blocks, narrow ones and their remainders. */
static void products_same_bits_across_isas(void **state)
{
    const size_t rows[] = {1, 5, 8, 13, 20};
    const size_t samples[] = {1, 17, 64, 67, 100, 130, 200};
    const size_t depths[] = {1, 7, 32, 64, 256};

    (void)state;
    if (num_tables < 2)
        skip();
    for (size_t a = 0; a < 5; a++)
        for (size_t b = 0; b < 7; b++)
            for (size_t d = 0; d < 5; d++)
                if (!products_equal(tables[0], tables[1], rows[a], samples[b], depths[d]))
                    fail();
}

/* Row sums and the elementwise kernels, on every m and n up to 67. */
static void bias_grad_matches_scalar(void **state)
{
    (void)state;
    for (size_t t = 0; t < num_tables; t++) {
        for (size_t m = 1; m <= MAX_DIM; m += 3) {
            for (size_t n = 1; n <= MAX_DIM; n++) {
                float *dZ = alloc_offset(m * n), *s = alloc_offset(m), *v = alloc_offset(m);
                double *tol = malloc(m * sizeof(double));

                bmlp_kernels_scalar.bias_grad(m, n, dZ, n, s);
                tables[t]->bias_grad(m, n, dZ, n, v);
                for (size_t i = 0; i < m; i++) {
                    double sum = 0.0;
                    for (size_t j = 0; j < n; j++)
                        sum += fabs((double)dZ[i * n + j]);
                    tol[i] = dot_tolerance(n, sum);
                }
                if (!check_close("bias_grad", tables[t]->name, v, s, tol, 1, m, m, n, 0))
                    fail();
                free(tol);
                free_offset(dZ), free_offset(s), free_offset(v);
            }
        }
    }
}

/*
 * Sigmoid tolerance. Both kernels compute 1 / (1 + e) with e = exp(-z) from SLEEF to within
 * 1 ULP, so the two e differ by at most 2 ULP, which moves 1 + e by at most 2 ULP of e, and
 * then 1 / (1 + e) by at most that much relative. Adding 1 and dividing round once each.
 * So the two results are within 4 ULP, that is 8 u relative.
 */
#define SIGMOID_REL (8.0 * UNIT_ROUNDOFF)

static void sigmoid_matches_scalar(void **state)
{
    (void)state;
    for (size_t t = 0; t < num_tables; t++) {
        for (size_t m = 1; m <= 5; m++) {
            for (size_t n = 1; n <= MAX_DIM; n++) {
                size_t ld = n + 2;
                float *Z = alloc_offset(m * ld), *s = alloc_offset(m * ld);
                float *v = alloc_offset(m * ld);
                double *tol = malloc(m * ld * sizeof(double));

                for (size_t i = 0; i < m * ld; i++)
                    Z[i] = uniform(-100.0f, 100.0f);
                memcpy(v, s, m * ld * sizeof(float));
                bmlp_kernels_scalar.sigmoid(m, n, Z, ld, s, ld);
                tables[t]->sigmoid(m, n, Z, ld, v, ld);
                for (size_t i = 0; i < m * ld; i++)
                    tol[i] = i % ld < n ? SIGMOID_REL * fabs((double)s[i]) + FLT_MIN : 0.0;
                if (!check_close("sigmoid", tables[t]->name, v, s, tol, 1, m * ld, m, n, 0))
                    fail();
                free(tol);
                free_offset(Z), free_offset(s), free_offset(v);
            }
        }
    }
}

/* A value gives the same sigmoid bits in every lane, full vector or remainder. */
static void sigmoid_same_bits_every_lane(void **state)
{
    const float values[] = {-104.0f, -88.5f, -20.0f, -1.5f, -1e-8f, 0.0f,
                            0.3f,    2.5f,   17.0f,  88.7f, 1e4f};
    float z[MAX_DIM], a[MAX_DIM];

    (void)state;
    for (size_t t = 0; t < num_tables; t++) {
        for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
            float first = 0.0f;
            for (size_t n = 1; n <= MAX_DIM; n++) {
                for (size_t pos = 0; pos < n; pos++) {
                    for (size_t i = 0; i < n; i++)
                        z[i] = i == pos ? values[v] : uniform(-5.0f, 5.0f);
                    tables[t]->sigmoid(1, n, z, n, a, n);
                    if (n == 1)
                        first = a[0];
                    assert_true(n > 1 || pos == 0);
                    if (memcmp(&a[pos], &first, sizeof(float)) != 0) {
                        fprintf(stderr,
                                "%s sigmoid(%g): lane %zu of %zu gives %.9g, lane 0 of 1 "
                                "gives %.9g\n",
                                tables[t]->name, (double)values[v], pos, n, (double)a[pos],
                                (double)first);
                        fail();
                    }
                }
            }
        }
    }
}

/* dZ = dA * a * (1 - a), axpy and scale use the same operations in the same order as the
 * scalar kernels, so they agree bit for bit. */
static void elementwise_kernels_bitwise_equal(void **state)
{
    (void)state;
    for (size_t t = 0; t < num_tables; t++) {
        for (size_t n = 1; n <= 3 * MAX_DIM; n++) {
            float *dA = alloc_offset(2 * n), *a = alloc_offset(2 * n);
            float *s = alloc_offset(2 * n), *v = alloc_offset(2 * n);

            memcpy(v, s, 2 * n * sizeof(float));
            bmlp_kernels_scalar.sigmoid_backward(2, n, dA, n, a, n, s, n);
            tables[t]->sigmoid_backward(2, n, dA, n, a, n, v, n);
            assert_memory_equal(s, v, 2 * n * sizeof(float));

            bmlp_kernels_scalar.axpy(n, -0.37f, dA, s);
            tables[t]->axpy(n, -0.37f, dA, v);
            assert_memory_equal(s, v, 2 * n * sizeof(float));

            bmlp_kernels_scalar.scale(n, 1.0f / 3.0f, s);
            tables[t]->scale(n, 1.0f / 3.0f, v);
            assert_memory_equal(s, v, 2 * n * sizeof(float));
            free_offset(dA), free_offset(a), free_offset(s), free_offset(v);
        }
    }
}

/* The fused reduction and SGD update sums in the same pairwise order as the scalar kernel and
 * rounds the same way, so it agrees bit for bit, for every slot count and remainder. Without a
 * gradient buffer it makes the same update, and no table writes to the slots. Run as two
 * passes (the sum without params, then the update alone as one slot of scale 1), it gives the
 * same gradient and parameters. */
static void reduce_update_bitwise_equal(void **state)
{
    (void)state;
    for (size_t t = 0; t < num_tables; t++) {
        for (size_t count = 1; count <= BMLP_MAX_SLOTS; count += (count < 9 ? 1 : 7)) {
            for (size_t len = 1; len <= MAX_DIM; len += 3) {
                size_t stride = len + 5;
                float *slots = alloc_offset(count * stride);
                float *gs = alloc_offset(len), *gv = alloc_offset(len);
                float *ps = alloc_offset(len), *pv = alloc_offset(len), *pn = alloc_offset(len);
                float *params_split = alloc_offset(len), *grad_split = alloc_offset(len);
                float *slots_before = alloc_offset(count * stride);

                memcpy(pv, ps, len * sizeof(float));
                memcpy(pn, ps, len * sizeof(float));
                memcpy(params_split, ps, len * sizeof(float));
                memcpy(slots_before, slots, count * stride * sizeof(float));
                bmlp_kernels_scalar.reduce_update(count, len, slots, stride, 1.0f / 3.0f, 0.7f, gs,
                                                  ps);
                tables[t]->reduce_update(count, len, slots, stride, 1.0f / 3.0f, 0.7f, gv, pv);
                tables[t]->reduce_update(count, len, slots, stride, 1.0f / 3.0f, 0.7f, NULL, pn);
                tables[t]->reduce_update(count, len, slots, stride, 1.0f / 3.0f, 0.7f, grad_split,
                                         NULL);
                tables[t]->reduce_update(1, len, grad_split, 0, 1.0f, 0.7f, NULL, params_split);
                assert_memory_equal(gs, gv, len * sizeof(float));
                assert_memory_equal(ps, pv, len * sizeof(float));
                assert_memory_equal(ps, pn, len * sizeof(float));
                assert_memory_equal(gs, grad_split, len * sizeof(float));
                assert_memory_equal(ps, params_split, len * sizeof(float));
                assert_memory_equal(slots_before, slots, count * stride * sizeof(float));
                free_offset(slots), free_offset(gs), free_offset(gv);
                free_offset(ps), free_offset(pv), free_offset(pn), free_offset(slots_before);
                free_offset(params_split), free_offset(grad_split);
            }
        }
    }
}

/* A sum of 5 slots follows ((s0 + s1) + (s2 + s3)) + s4, which these values tell apart from
 * a left-to-right sum: 1e8 + 1 - 1e8 rounds differently in the two orders. */
static void reduce_update_pairwise_order(void **state)
{
    const float slots[5] = {1e8f, 1.0f, -1e8f, 1.0f, 1.0f};
    float grad[1], params[1] = {0.0f};
    float want = ((1e8f + 1.0f) + (-1e8f + 1.0f)) + 1.0f;

    (void)state;
    bmlp_kernels_scalar.reduce_update(5, 1, slots, 1, 1.0f, 0.0f, grad, params);
    assert_true(grad[0] == want);
    for (size_t t = 0; t < num_tables; t++) {
        grad[0] = 0.0f;
        tables[t]->reduce_update(5, 1, slots, 1, 1.0f, 0.0f, grad, params);
        assert_true(grad[0] == want);
    }
}

/*
 * Output loss and gradient. The scalar kernel sums terms computed in double with libm. The vector
 * kernels compute each term in float with SLEEF's 1-ULP exp and log1p and a few roundings, then
 * sum in double. Each term is then within 8 u relative plus one float rounding of log1p's argument,
 * so 16 u of the summed magnitudes bounds the difference. p follows the sigmoid tolerance and
 * dz = p - y adds one rounding.
 */
static void output_loss_matches_scalar(void **state)
{
    (void)state;
    for (size_t t = 0; t < num_tables; t++) {
        for (size_t n = 1; n <= MAX_DIM; n++) {
            float *z = alloc_offset(n), *y = alloc_offset(n);
            float *ps = alloc_offset(n), *pv = alloc_offset(n);
            float *ds = alloc_offset(n), *dv = alloc_offset(n);
            size_t hits_s, hits_v;
            double tol[1];

            for (size_t i = 0; i < n; i++) {
                z[i] = uniform(-30.0f, 30.0f);
                y[i] = uniform(0.0f, 1.0f) < 0.5f ? 0.0f : 1.0f;
            }
            double ls = bmlp_kernels_scalar.output_loss_grad(n, z, y, ps, ds, &hits_s);
            double lv = tables[t]->output_loss_grad(n, z, y, pv, dv, &hits_v);
            if (fabs(ls - lv) > 16.0 * UNIT_ROUNDOFF * ls + 1e-30) {
                fprintf(stderr, "%s loss of %zu samples: %.17g, scalar %.17g\n", tables[t]->name, n,
                        lv, ls);
                fail();
            }
            assert_int_equal(hits_s, hits_v);
            for (size_t i = 0; i < n; i++) {
                tol[0] = SIGMOID_REL * fabs((double)ps[i]) + FLT_MIN;
                if (!check_close("output p", tables[t]->name, &pv[i], &ps[i], tol, 0, 1, 1, n, 0))
                    fail();
                tol[0] += 2.0 * UNIT_ROUNDOFF;
                if (!check_close("output dz", tables[t]->name, &dv[i], &ds[i], tol, 0, 1, 1, n, 0))
                    fail();
            }
            free_offset(z), free_offset(y), free_offset(ps), free_offset(pv);
            free_offset(ds), free_offset(dv);
        }
    }
}

/* At infinite and extreme logits the vector loss is finite or +inf exactly where the scalar one
 * is, and never NaN. */
static void output_loss_extremes(void **state)
{
    const float logits[] = {-INFINITY, -1e4f, -100.0f, -20.0f, 0.0f, 20.0f, 100.0f, 1e4f, INFINITY};

    (void)state;
    for (size_t t = 0; t < num_tables; t++) {
        for (size_t i = 0; i < 9; i++) {
            for (int label = 0; label <= 1; label++) {
                float y = (float)label, ps, pv, ds, dv;
                size_t hits;
                double ls = bmlp_kernels_scalar.output_loss_grad(1, &logits[i], &y, &ps, &ds,
                                                                 &hits);
                double lv = tables[t]->output_loss_grad(1, &logits[i], &y, &pv, &dv, &hits);
                assert_false(isnan(lv));
                assert_int_equal(isinf(ls), isinf(lv));
                if (isfinite(ls))
                    assert_true(fabs(ls - lv) <= 16.0 * UNIT_ROUNDOFF * ls + 1e-30);
                assert_true(dv >= -1.0f && dv <= 1.0f);
                assert_false(isnan(pv));
            }
        }
    }
}

/* A network of the given widths for small_step, with parameters drawn in [-1, 1]. */
typedef struct small_fixture {
    bmlp_net_t *net;
    bmlp_small_net_t small;
    size_t widths[8], w_offset[8], b_offset[8];
} small_fixture_t;

static void small_fixture_init(small_fixture_t *f, const size_t *widths, size_t layers)
{
    bmlp_error_t err;

    assert_int_equal(bmlp_net_create(widths[0], widths + 1, layers - 1, &f->net, &err), BMLP_OK);
    for (size_t i = 0; i < bmlp_net_num_params(f->net); i++)
        bmlp_net_params(f->net)[i] = uniform(-1.0f, 1.0f);
    for (size_t l = 0; l <= layers; l++)
        f->widths[l] = widths[l];
    for (size_t l = 0; l < layers; l++) {
        f->w_offset[l] = bmlp_net_weight_offset(f->net, l);
        f->b_offset[l] = bmlp_net_bias_offset(f->net, l);
    }
    f->small = (bmlp_small_net_t){.num_layers = layers,
                                  .widths = f->widths,
                                  .w_offset = f->w_offset,
                                  .b_offset = f->b_offset,
                                  .num_params = bmlp_net_num_params(f->net),
                                  .params = bmlp_net_params(f->net)};
}

/* Shapes of small networks: inputs, hidden widths, output. The first sixteen cover one hidden
 * layer of 1 to 4 units on 1 to 4 inputs. The vector tables compile a step for each of them. */
static const size_t small_shapes[][6] = {
    {1, 1, 1}, {1, 2, 1}, {1, 3, 1}, {1, 4, 1}, {2, 1, 1},    {2, 2, 1}, {2, 3, 1},
    {2, 4, 1}, {3, 1, 1}, {3, 2, 1}, {3, 3, 1}, {3, 4, 1},    {4, 1, 1}, {4, 2, 1},
    {4, 3, 1}, {4, 4, 1}, {1, 1},    {3, 5, 1}, {2, 4, 3, 1}, {7, 9, 1}, {5, 6, 6, 6, 1},
};
static const size_t small_layers[] = {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
                                      2, 2, 2, 2, 2, 1, 2, 3, 2, 4};

/*
 * small_step against bmlp_small_step_reference at the table's width. The two differ only where
 * SLEEF's vector exp and log round differently from its scalar ones (a few ULP). That difference
 * travels through at most 4 layers of products and sums, so 256 u times the summed magnitudes of
 * a gradient's terms covers it with a margin. 64 u does the same for the loss, whose terms pass
 * through one exp and one log.
 */
static void small_step_matches_reference(void **state)
{
    const size_t counts[] = {1, 2, 7, 8, 9, 15, 16, 17, 33, 67, 127, 128, 131, 250, 256, 300, 512};
    /* ROWS rows of data, then NAN_ROWS rows of NaN. Chunks in stored order end where the NaN
     * rows start, and a shuffled chunk's list of rows continues with a NaN row. A kernel that
     * reads a row past the chunk then gets a NaN gradient. */
    enum { ROWS = 600, NAN_ROWS = 32 };

    (void)state;
    for (size_t t = 0; t < num_tables; t++) {
        for (size_t sh = 0; sh < sizeof(small_layers) / sizeof(small_layers[0]); sh++) {
            small_fixture_t f;
            size_t d = small_shapes[sh][0];
            /* Rows of d features and a label, or d features alone with labels apart. The padded
             * table has the rows of table, each padded to a power of two floats as training
             * pads its copies, here with random floats where training writes zeros. */
            size_t ps = 1;

            while (ps < d + 1)
                ps *= 2;
            float *table = alloc_offset((ROWS + NAN_ROWS) * (d + 1));
            float *labels = alloc_offset(ROWS + NAN_ROWS);
            float *padded = alloc_offset((ROWS + NAN_ROWS) * ps);
            float mean[8], std[8];
            size_t rows[ROWS];

            small_fixture_init(&f, small_shapes[sh], small_layers[sh]);
            for (size_t i = 0; i < ROWS; i++) {
                labels[i] = (float)(uniform(0.0f, 1.0f) < 0.5f);
                table[i * (d + 1) + d] = labels[i];
                memcpy(padded + i * ps, table + i * (d + 1), (d + 1) * sizeof(float));
            }
            for (size_t i = ROWS; i < ROWS + NAN_ROWS; i++) {
                labels[i] = NAN;
                for (size_t j = 0; j <= d; j++)
                    table[i * (d + 1) + j] = NAN;
                for (size_t j = 0; j < ps; j++)
                    padded[i * ps + j] = NAN;
            }
            for (size_t j = 0; j < d; j++) {
                mean[j] = uniform(-0.5f, 0.5f);
                std[j] = uniform(0.5f, 2.0f);
            }
            for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
                size_t n = counts[c];

                for (int layout = 0; layout < 8; layout++) {
                    /* 0: rows in order, labels apart; 1: shuffled rows with their labels
                     * inline; 2: a run of consecutive rows from row 17; 3: as 1, standardized;
                     * 4: rows in order with their labels inline; 5: as 4, standardized; 6: as
                     * 1 and 7: as 4, from the padded table. */
                    int inline_labels = layout == 1 || layout >= 3;
                    int stored = layout == 0 || layout == 4 || layout == 5 || layout == 7;
                    const float *x = layout >= 6 ? padded : table;
                    size_t xs = inline_labels ? d + 1 : d;

                    if (layout >= 6)
                        xs = ps;
                    /* A chunk in stored order is the n rows before the NaN rows. */
                    size_t first = stored ? ROWS - n : 0;
                    size_t ys = inline_labels ? xs : 1;
                    const float *y = inline_labels ? x + first * xs + d : labels + first;
                    const size_t *r = stored ? NULL : rows;

                    x += first * xs;
                    float gv[BMLP_SMALL_MAX_PARAMS], gs[BMLP_SMALL_MAX_PARAMS];
                    float mag[BMLP_SMALL_MAX_PARAMS];
                    double tol[BMLP_SMALL_MAX_PARAMS];
                    size_t hits_v, hits_s;

                    for (size_t s = 0; s < ROWS; s++) {
                        if (s >= n)
                            rows[s] = ROWS;
                        else if (layout == 2)
                            rows[s] = 17 + s;
                        else
                            rows[s] = (s * 263 + 5) % ROWS;
                    }
                    f.small.mean = layout == 3 || layout == 5 ? mean : NULL;
                    f.small.std = layout == 3 || layout == 5 ? std : NULL;
                    /* The rows again as the next chunk's, for the prefetches. */
                    double lv = tables[t]->small_step(&f.small, n, x, xs, y, ys, r, r,
                                                      r != NULL ? n : 0, gv, &hits_v);
                    double ls = bmlp_small_step_reference(tables[t]->lanes, &f.small, n, x, xs, y,
                                                          ys, r, gs, &hits_s, mag);
                    if (!(fabs(lv - ls) <= 64.0 * UNIT_ROUNDOFF * ls))
                        fail_msg("%s small_step, shape %zu, n %zu, layout %d: loss %.9g, "
                                 "reference %.9g",
                                 tables[t]->name, sh, n, layout, lv, ls);
                    assert_int_equal(hits_v, hits_s);
                    for (size_t p = 0; p < f.small.num_params; p++)
                        tol[p] = 256.0 * UNIT_ROUNDOFF * mag[p] + FLT_MIN;
                    if (!check_close("small_step", tables[t]->name, gv, gs, tol, 1,
                                     f.small.num_params, sh, n, (size_t)layout))
                        fail_msg("gradient of shape %zu (m above), %zu samples, layout %d", sh, n,
                                 layout);
                }
            }
            free_offset(table);
            free_offset(labels);
            free_offset(padded);
            bmlp_net_free(f.net);
        }
    }
}

/*
 * The reference of small_step, one lane wide, against the tile kernels' forward and backward
 * pass (bmlp_forward and bmlp_backward, scalar): the same gradient and loss. They round
 * differently (fused against separate multiply-adds, the probability from exp(-|z|), the log of
 * a product of 1 + e for a sum of log1p(e)), within the tolerances of
 * small_step_matches_reference; the loss also within 1.2e-7 per sample: 6e-8 for e lost in
 * 1 + e and 6e-8 for the rounding of each product.
 */
static void small_step_reference_is_backprop(void **state)
{
    enum { N = 37 };

    (void)state;
    for (size_t sh = 0; sh < sizeof(small_layers) / sizeof(small_layers[0]); sh++) {
        small_fixture_t f;
        size_t d = small_shapes[sh][0];
        float x[N * 8], y[N], gs[BMLP_SMALL_MAX_PARAMS], mag[BMLP_SMALL_MAX_PARAMS];
        double tol[BMLP_SMALL_MAX_PARAMS], mean_loss;
        bmlp_workspace_t *ws;
        bmlp_error_t err;
        size_t hits;

        small_fixture_init(&f, small_shapes[sh], small_layers[sh]);
        for (size_t i = 0; i < N * d; i++)
            x[i] = uniform(-2.0f, 2.0f);
        for (size_t s = 0; s < N; s++)
            y[s] = (float)(s % 3 == 0);
        double ls = bmlp_small_step_reference(1, &f.small, N, x, d, y, 1, NULL, gs, &hits, mag);

        assert_int_equal(bmlp_workspace_create(f.net, N, BMLP_ISA_SCALAR, &ws, &err), BMLP_OK);
        assert_int_equal(bmlp_forward(f.net, ws, x, N, NULL, &err), BMLP_OK);
        assert_int_equal(bmlp_backward(f.net, ws, y, N, &mean_loss, &err), BMLP_OK);
        if (!(fabs(mean_loss * N - ls) <= 64.0 * UNIT_ROUNDOFF * ls + 1.2e-7 * N))
            fail_msg("shape %zu: loss %.9g, backprop %.9g", sh, ls, mean_loss * N);
        for (size_t p = 0; p < f.small.num_params; p++) {
            /* bmlp_backward leaves the mean; the reference the sum. */
            gs[p] /= (float)N;
            tol[p] = 256.0 * UNIT_ROUNDOFF * mag[p] / N + FLT_MIN;
        }
        if (!check_close("small_step reference", "scalar", gs, bmlp_net_grads(f.net), tol, 1,
                         f.small.num_params, sh, N, 0))
            fail();
        bmlp_workspace_free(ws);
        bmlp_net_free(f.net);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dense_forward_matches_scalar),
        cmocka_unit_test(dense_backward_matches_scalar),
        cmocka_unit_test(weight_grad_matches_scalar),
        cmocka_unit_test(constant_row_strides_match_scalar),
        cmocka_unit_test(wide_blocks_match_scalar),
        cmocka_unit_test(products_same_bits_across_isas),
        cmocka_unit_test(fused_kernels_match_unfused),
        cmocka_unit_test(gather_tile_bitwise_equal),
        cmocka_unit_test(gather_tile_scalar_values),
        cmocka_unit_test(bias_grad_matches_scalar),
        cmocka_unit_test(sigmoid_matches_scalar),
        cmocka_unit_test(sigmoid_same_bits_every_lane),
        cmocka_unit_test(elementwise_kernels_bitwise_equal),
        cmocka_unit_test(reduce_update_bitwise_equal),
        cmocka_unit_test(reduce_update_pairwise_order),
        cmocka_unit_test(output_loss_matches_scalar),
        cmocka_unit_test(output_loss_extremes),
        cmocka_unit_test(small_step_matches_reference),
        cmocka_unit_test(small_step_reference_is_backprop),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
