/*
 * The vectorized kernels, written once over a small set of vector operations and included by
 * each instruction-set file (avx2.c, avx512.c) after it defines them:
 *
 *   vec_t, VL              vector type and its number of float lanes
 *   MR                     rows of the register block of the dense products
 *   WIDE_MR, WIDE_NV       optional: rows and vectors of samples of a wider register block,
 *                          used for every full block of WIDE_NV vectors
 *   GR, GC                 rows and columns of the register block of the weight gradient
 *   vzero(), vset1(x)      constants
 *   vload(p), vstore(p, v) unaligned full-width load and store
 *   vload_n(p, n)          load of the first n < VL lanes, the others zero (no access past them)
 *   vstore_n(p, v, n)      store of the first n < VL lanes
 *   vfma(a, b, c)          a * b + c, fused
 *   vadd, vsub, vmul, vdiv, vmax
 *   vabs(v), vneg_abs(v)   |v| and -|v|, by the sign bit
 *   vexp(v), vlog1p(v)     exp and log1p from SLEEF, 1 ULP
 *   vlog(v)                log from SLEEF, 3.5 ULP, at a third of log1p's cost
 *   vkeep_n(v, n)          v with the lanes from n on set to zero
 *   vsum(v), vsum_double(v)       horizontal sum of the lanes, in float or in double
 *   vsum_lanes(v, out)     vsum(v[u]) stored in out[u] for the VL vectors v[], bit for bit
 *   vselect_label(y, a, b, c)     a where y == 0, b where y == 1, c elsewhere
 *   vselect_sign(z, a, b)  a where the sign bit of z is clear, b where it is set
 *   vcount_hits(p, y, n)   lanes below n where (p >= 0.5) == (y == 1)
 *   vmisses(p, y)          1 in the lanes where (p >= 0.5) != (y == 1), else 0
 *   vgather(base, off)     lane l loaded from base[off[l]], for VL offsets in floats
 *   vload_pairs(p, &e, &o) the 2 VL floats at p split into even and odd offsets
 *   vindex_t, vstride_index(stride), vgather_index(base, index)
 *                          lane l loaded from base[l * stride], with the offsets made once
 *   vtranspose(v)          the VL x VL block of the VL vectors v[] transposed in place
 *   KNAME(name)            name suffixed with the instruction set
 *
 * Every kernel takes the shapes and strides of kernels.h and accepts unaligned pointers.
 * Dense products block the output as MR rows x 2 VL samples held in registers, or WIDE_MR rows
 * x WIDE_NV VL samples. Each row's multiplier is broadcast from memory and multiplied into every
 * vector of samples of the block.
 */

#include <stddef.h>
#include <stdint.h>

#include "kernels.h"

#define NV 2         /* vectors of samples per register block */
#define NR (NV * VL) /* samples per register block */
#ifdef WIDE_MR
#define WIDE_NR (WIDE_NV * VL) /* samples per wide register block */
#if WIDE_MR > 6
#error "gemm_samples_wide instantiates row counts up to 6 only"
#endif
#define PANEL_NV WIDE_NV
#else
#define PANEL_NV NV
#endif

/* Bounds of the weight-gradient block sizes that grad_block_any instantiates. */
#define GR_MAX 4
#define GC_MAX 5
#if GR > GR_MAX || GC > GC_MAX
#error "the weight-gradient block is larger than grad_block_any instantiates"
#endif

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Steps of depth ahead at which a register block prefetches its multipliers when they run down
 * a column of P (row stride 1, column stride pps > 1), as in the product back to the inputs.
 * Each step then reads one or two new cache lines a whole row of W apart, and the hardware
 * prefetchers did not bring them in time. With 256 x 256 weights and 128 samples, a distance of
 * 4, 8 or 16 steps made that product 20% faster on one core. */
#define COLUMN_PREFETCH_AHEAD 8

/* sigma(z) = 1 / (1 + exp(-z)) on one vector; 0 below about -88.7 and 1 far above 0. */
ALWAYS_INLINE vec_t vsigmoid(vec_t z)
{
    vec_t one = vset1(1.0f);

    return vdiv(one, vadd(one, vexp(vsub(vzero(), z))));
}

/* The sum t of a block times the derivative of the sigmoid whose output is a: (t * a) * (1 - a),
 * in the order of the sigmoid_backward kernel. */
ALWAYS_INLINE vec_t vsigmoid_chain(vec_t t, vec_t a)
{
    return vmul(vmul(t, a), vsub(vset1(1.0f), a));
}

/* Prefetches the mr multipliers of step p + COLUMN_PREFETCH_AHEAD of a register block whose
 * multipliers run down a column of P (row stride 1, column stride pps). The address is an
 * integer, because past the last step it lies beyond P: there a prefetch is harmless but a
 * pointer would be undefined. */
ALWAYS_INLINE void prefetch_column(const float *P, size_t p, size_t pps, size_t mr)
{
    uintptr_t ahead = (uintptr_t)P + (p + COLUMN_PREFETCH_AHEAD) * pps * sizeof(float);

    __builtin_prefetch((const void *)ahead);
    __builtin_prefetch((const void *)(ahead + (mr - 1) * sizeof(float)));
}

/*
 * C[r][s0 .. s0 + ns) = c0 + sum over p < depth of P[r * prs + p * pps] * B[p * ldb + s],
 * for the rows r < mr of one block. c0 is the value already in C when accumulate is set, else
 * init[r], or zero when init is NULL. With S not NULL, each sum t is stored as
 * vsigmoid_chain(t, S[r * lds + s]) instead. ns is NR for a full block, or fewer for the last
 * block of samples, whose loads and stores are masked. mr is a constant at every call, so the
 * accumulators stay in registers.
 */
ALWAYS_INLINE void gemm_block(size_t mr, size_t depth, const float *P, size_t prs, size_t pps,
                              const float *B, size_t ldb, size_t s0, size_t ns, const float *init,
                              int accumulate, const float *S, size_t lds, float *C, size_t ldc)
{
    vec_t acc[MR][NV];

    for (size_t r = 0; r < mr; r++) {
        vec_t start = init != NULL ? vset1(init[r]) : vzero();
        for (size_t v = 0; v < NV; v++)
            acc[r][v] = start;
    }
    if (accumulate) {
        size_t n0 = ns < VL ? ns : VL;
        for (size_t r = 0; r < mr; r++) {
            acc[r][0] = n0 == VL ? vload(C + r * ldc + s0) : vload_n(C + r * ldc + s0, n0);
            if (ns > VL)
                acc[r][1] = vload_n(C + r * ldc + s0 + VL, ns - VL);
        }
    }

    if (ns == NR) {
        for (size_t p = 0; p < depth; p++) {
            const float *b = B + p * ldb + s0;
            vec_t b0 = vload(b);
            vec_t b1 = vload(b + VL);
            if (prs == 1 && pps != 1)
                prefetch_column(P, p, pps, mr);
            for (size_t r = 0; r < mr; r++) {
                vec_t w = vset1(P[r * prs + p * pps]);
                acc[r][0] = vfma(w, b0, acc[r][0]);
                acc[r][1] = vfma(w, b1, acc[r][1]);
            }
        }
        if (S != NULL)
            for (size_t r = 0; r < mr; r++) {
                acc[r][0] = vsigmoid_chain(acc[r][0], vload(S + r * lds + s0));
                acc[r][1] = vsigmoid_chain(acc[r][1], vload(S + r * lds + s0 + VL));
            }
        for (size_t r = 0; r < mr; r++) {
            vstore(C + r * ldc + s0, acc[r][0]);
            vstore(C + r * ldc + s0 + VL, acc[r][1]);
        }
        return;
    }

    /* The last, partial block of samples: lanes past ns are neither read nor written. */
    size_t n0 = ns < VL ? ns : VL;
    size_t n1 = ns - n0;
    for (size_t p = 0; p < depth; p++) {
        const float *b = B + p * ldb + s0;
        vec_t b0 = n0 == VL ? vload(b) : vload_n(b, n0);
        vec_t b1 = n1 > 0 ? vload_n(b + VL, n1) : vzero();
        for (size_t r = 0; r < mr; r++) {
            vec_t w = vset1(P[r * prs + p * pps]);
            acc[r][0] = vfma(w, b0, acc[r][0]);
            acc[r][1] = vfma(w, b1, acc[r][1]);
        }
    }
    if (S != NULL)
        for (size_t r = 0; r < mr; r++) {
            const float *a = S + r * lds + s0;
            acc[r][0] = vsigmoid_chain(acc[r][0], n0 == VL ? vload(a) : vload_n(a, n0));
            if (n1 > 0)
                acc[r][1] = vsigmoid_chain(acc[r][1], vload_n(a + VL, n1));
        }
    for (size_t r = 0; r < mr; r++) {
        if (n0 == VL)
            vstore(C + r * ldc + s0, acc[r][0]);
        else
            vstore_n(C + r * ldc + s0, acc[r][0], n0);
        if (n1 > 0)
            vstore_n(C + r * ldc + s0 + VL, acc[r][1], n1);
    }
}

/* Calls gemm_block for MR rows of row stride prs. With column stride 1, row strides of 32, 64,
 * 128 and 256 floats become compile-time constants. Each row's multiplier is then a constant
 * offset from one pointer: with a stride known only at run time, MR index registers do not fit. */
static void gemm_block_strided(size_t depth, const float *P, size_t prs, size_t pps, const float *B,
                               size_t ldb, size_t s0, size_t ns, const float *init, int accumulate,
                               const float *S, size_t lds, float *C, size_t ldc)
{
#define STRIDE_CASE(R)                                                                             \
    case R:                                                                                        \
        gemm_block(MR, depth, P, R, 1, B, ldb, s0, ns, init, accumulate, S, lds, C, ldc);          \
        return;
    if (pps == 1) {
        switch (prs) {
            STRIDE_CASE(32)
            STRIDE_CASE(64)
            STRIDE_CASE(128)
            STRIDE_CASE(256)
        default:
            break;
        }
    }
#undef STRIDE_CASE
    gemm_block(MR, depth, P, prs, pps, B, ldb, s0, ns, init, accumulate, S, lds, C, ldc);
}

/* Calls gemm_block with the row count as a compile-time constant for each count below MR. */
static void gemm_block_rows(size_t mr, size_t depth, const float *P, size_t prs, size_t pps,
                            const float *B, size_t ldb, size_t s0, size_t ns, const float *init,
                            int accumulate, const float *S, size_t lds, float *C, size_t ldc)
{
#define GEMM_CASE(R)                                                                               \
    case R:                                                                                        \
        gemm_block(R, depth, P, prs, pps, B, ldb, s0, ns, init, accumulate, S, lds, C, ldc);       \
        return;
    switch (mr) {
        GEMM_CASE(1)
        GEMM_CASE(2)
        GEMM_CASE(3)
        GEMM_CASE(4)
        GEMM_CASE(5)
        GEMM_CASE(6)
#if MR > 6
        GEMM_CASE(7)
        GEMM_CASE(8)
        GEMM_CASE(9)
        GEMM_CASE(10)
        GEMM_CASE(11)
        GEMM_CASE(12)
        GEMM_CASE(13)
        GEMM_CASE(14)
#endif
    default:
        return;
    }
#undef GEMM_CASE
}

/* H[r][s0 .. s0 + ns) = sigma(C[r][s0 .. s0 + ns)) for the rows r < mr of a block just stored,
 * while it is still in L1. H may equal C. */
static void sigmoid_block(size_t mr, size_t s0, size_t ns, const float *C, size_t ldc, float *H,
                          size_t ldh)
{
    for (size_t r = 0; r < mr; r++) {
        const float *c = C + r * ldc + s0;
        float *h = H + r * ldh + s0;
        size_t s = 0;

        for (; s + VL <= ns; s += VL)
            vstore(h + s, vsigmoid(vload(c + s)));
        if (s < ns)
            vstore_n(h + s, vsigmoid(vload_n(c + s, ns - s)), ns - s);
    }
}

#ifdef WIDE_MR
/* Runs sigmoid_block on a full wide block, WIDE_MR rows of WIDE_NR samples, with the loops
 * unrolled. Training M (32-256-1) ran 2% faster than with the general sigmoid_block. */
ALWAYS_INLINE void sigmoid_block_full(size_t s0, const float *C, size_t ldc, float *H, size_t ldh)
{
    for (size_t r = 0; r < WIDE_MR; r++)
        for (size_t v = 0; v < WIDE_NV; v++)
            vstore(H + r * ldh + s0 + v * VL, vsigmoid(vload(C + r * ldc + s0 + v * VL)));
}

/* gemm_block for a full block of WIDE_NV vectors (ns = WIDE_NR), mr <= WIDE_MR rows and
 * column stride 1. */
ALWAYS_INLINE void gemm_block_wide(size_t mr, size_t depth, const float *P, size_t prs,
                                   const float *B, size_t ldb, size_t s0, const float *init,
                                   int accumulate, const float *S, size_t lds, float *C, size_t ldc)
{
    vec_t acc[WIDE_MR][WIDE_NV];

    for (size_t r = 0; r < mr; r++) {
        vec_t start = init != NULL ? vset1(init[r]) : vzero();
        for (size_t v = 0; v < WIDE_NV; v++)
            acc[r][v] = accumulate ? vload(C + r * ldc + s0 + v * VL) : start;
    }
    for (size_t p = 0; p < depth; p++) {
        const float *b = B + p * ldb + s0;
        vec_t bv[WIDE_NV];

        for (size_t v = 0; v < WIDE_NV; v++)
            bv[v] = vload(b + v * VL);
        for (size_t r = 0; r < mr; r++) {
            vec_t w = vset1(P[r * prs + p]);
            for (size_t v = 0; v < WIDE_NV; v++)
                acc[r][v] = vfma(w, bv[v], acc[r][v]);
        }
    }
    if (S != NULL)
        for (size_t r = 0; r < mr; r++)
            for (size_t v = 0; v < WIDE_NV; v++)
                acc[r][v] = vsigmoid_chain(acc[r][v], vload(S + r * lds + s0 + v * VL));
    for (size_t r = 0; r < mr; r++)
        for (size_t v = 0; v < WIDE_NV; v++)
            vstore(C + r * ldc + s0 + v * VL, acc[r][v]);
}

/* Computes the rows of gemm_ex, for P of column stride 1, for the WIDE_NR samples from s0 in
 * wide blocks, each followed by H = sigma(C) when H is not NULL. Row strides and row counts
 * become constants, as in gemm_block_strided and gemm_block_rows. */
static void gemm_samples_wide(size_t rows, size_t depth, const float *P, size_t prs, const float *B,
                              size_t ldb, size_t s0, const float *init, int accumulate,
                              const float *S, size_t lds, float *C, size_t ldc, float *H,
                              size_t ldh)
{
    for (size_t r0 = 0; r0 < rows; r0 += WIDE_MR) {
        size_t count = rows - r0 < WIDE_MR ? rows - r0 : WIDE_MR;
        const float *p = P + r0 * prs, *start = init != NULL ? init + r0 : NULL;
        const float *s = S != NULL ? S + r0 * lds : NULL;
        float *c = C + r0 * ldc;

#define WIDE_CASE(R, STRIDE)                                                                       \
    gemm_block_wide(R, depth, p, STRIDE, B, ldb, s0, start, accumulate, s, lds, c, ldc)
#define WIDE_STRIDE_CASE(STRIDE)                                                                   \
    case STRIDE:                                                                                   \
        WIDE_CASE(WIDE_MR, STRIDE);                                                                \
        break;
#define WIDE_ROWS_CASE(R)                                                                          \
    case R:                                                                                        \
        WIDE_CASE(R, prs);                                                                         \
        break;
        if (count < WIDE_MR) {
            switch (count) {
                WIDE_ROWS_CASE(1)
                WIDE_ROWS_CASE(2)
                WIDE_ROWS_CASE(3)
                WIDE_ROWS_CASE(4)
                WIDE_ROWS_CASE(5)
            default:
                break;
            }
        } else {
            switch (prs) {
                WIDE_STRIDE_CASE(32)
                WIDE_STRIDE_CASE(64)
                WIDE_STRIDE_CASE(128)
                WIDE_STRIDE_CASE(256)
            default:
                WIDE_CASE(WIDE_MR, prs);
                break;
            }
        }
#undef WIDE_ROWS_CASE
#undef WIDE_STRIDE_CASE
#undef WIDE_CASE
        if (H != NULL && count == WIDE_MR)
            sigmoid_block_full(s0, c, ldc, H + r0 * ldh, ldh);
        else if (H != NULL)
            sigmoid_block(count, s0, WIDE_NR, c, ldc, H + r0 * ldh, ldh);
    }
}
#endif

/*
 * Computes gemm_ex for depth 1 without accumulate or H: each row of C streams through the
 * samples instead of a register block. Each element takes the same operations as in
 * gemm_block, so the bits agree. For the product back from a one-unit output layer, this made
 * the training of D (64-256-256-1) 5% faster on one core.
 */
static void gemm_depth_one(size_t rows, size_t n, const float *P, size_t prs, const float *B,
                           const float *init, const float *S, size_t lds, float *C, size_t ldc)
{
    for (size_t r = 0; r < rows; r++) {
        vec_t start = init != NULL ? vset1(init[r]) : vzero();
        vec_t w = vset1(P[r * prs]);
        float *c = C + r * ldc;

        for (size_t s = 0; s < n; s += VL) {
            size_t ns = n - s < VL ? n - s : VL;
            vec_t acc = vfma(w, ns == VL ? vload(B + s) : vload_n(B + s, ns), start);

            if (S != NULL)
                acc = vsigmoid_chain(acc, ns == VL ? vload(S + r * lds + s)
                                                   : vload_n(S + r * lds + s, ns));
            if (ns == VL)
                vstore(c + s, acc);
            else
                vstore_n(c + s, acc, ns);
        }
    }
}

/* Vectors of samples that gemm_few_rows carries per row. A register block of one row holds
 * only NV vectors, and its two chains of multiply-adds wait on their latency. Four chains hide
 * more of it. */
#define FEW_ROWS_NV 4

/* Computes gemm_ex for one row (the output layer's unit) without accumulate, S or H,
 * FEW_ROWS_NV vectors of samples at a time. Each element takes the same operations as in
 * gemm_block, so the bits agree. */
static void gemm_few_rows(size_t rows, size_t n, size_t depth, const float *P, size_t prs,
                          size_t pps, const float *B, size_t ldb, const float *init, float *C,
                          size_t ldc)
{
    for (size_t r = 0; r < rows; r++) {
        vec_t start = init != NULL ? vset1(init[r]) : vzero();

        for (size_t s0 = 0; s0 < n; s0 += FEW_ROWS_NV * VL) {
            vec_t acc[FEW_ROWS_NV];
            size_t ns[FEW_ROWS_NV];

            for (size_t v = 0; v < FEW_ROWS_NV; v++) {
                size_t s = s0 + v * VL;

                ns[v] = 0;
                if (s < n)
                    ns[v] = n - s < VL ? n - s : VL;
                acc[v] = start;
            }
            for (size_t p = 0; p < depth; p++) {
                vec_t w = vset1(P[r * prs + p * pps]);
                const float *b = B + p * ldb + s0;

                /* Vectors wholly past the last sample are skipped, so that no address beyond
                 * the row is formed. */
                for (size_t v = 0; v < FEW_ROWS_NV; v++) {
                    if (ns[v] == VL)
                        acc[v] = vfma(w, vload(b + v * VL), acc[v]);
                    else if (ns[v] > 0)
                        acc[v] = vfma(w, vload_n(b + v * VL, ns[v]), acc[v]);
                }
            }
            for (size_t v = 0; v < FEW_ROWS_NV; v++) {
                if (ns[v] == VL)
                    vstore(C + r * ldc + s0 + v * VL, acc[v]);
                else if (ns[v] > 0)
                    vstore_n(C + r * ldc + s0 + v * VL, acc[v], ns[v]);
            }
        }
    }
}

/*
 * C[rows x n] = init + P B (or C += P B when accumulate is set) with P's element (r, p) at
 * P[r * prs + p * pps] and B depth x n. With S not NULL (rows x n, leading dimension lds), C
 * takes vsigmoid_chain of each sum and S. With H not NULL, H = sigma(C) follows block by block.
 * Samples form the outer loop, so one panel of B (depth x NR floats, or WIDE_NR) stays in L1
 * while every block of rows passes over it.
 */
static void gemm_ex(size_t rows, size_t n, size_t depth, const float *P, size_t prs, size_t pps,
                    const float *B, size_t ldb, const float *init, int accumulate, const float *S,
                    size_t lds, float *C, size_t ldc, float *H, size_t ldh)
{
    if (depth == 1 && !accumulate && H == NULL) {
        gemm_depth_one(rows, n, P, prs, B, init, S, lds, C, ldc);
        return;
    }
    if (rows == 1 && !accumulate && S == NULL && H == NULL) {
        gemm_few_rows(rows, n, depth, P, prs, pps, B, ldb, init, C, ldc);
        return;
    }
    for (size_t s0 = 0; s0 < n; s0 += NR) {
        size_t ns = n - s0 < NR ? n - s0 : NR;
        size_t r0 = 0;

#ifdef WIDE_MR
        /* Wide blocks only where the multipliers run along rows of P. In the product back to
         * the inputs they run down columns of W, and there MR x NR blocks ran 6% faster
         * (256 x 256 weights) and made D (64-256-256-1) about 2% faster on one core. */
        if (pps == 1 && n - s0 >= WIDE_NR) {
            gemm_samples_wide(rows, depth, P, prs, B, ldb, s0, init, accumulate, S, lds, C, ldc, H,
                              ldh);
            s0 += WIDE_NR - NR; /* the loop adds the other NR */
            continue;
        }
#endif

        for (; r0 + MR <= rows; r0 += MR) {
            /* With unit row stride, the rows' multipliers sit at constant offsets from one
             * pointer, which leaves the general-purpose registers free. */
            if (prs == 1)
                gemm_block(MR, depth, P + r0, 1, pps, B, ldb, s0, ns,
                           init != NULL ? init + r0 : NULL, accumulate,
                           S != NULL ? S + r0 * lds : NULL, lds, C + r0 * ldc, ldc);
            else
                gemm_block_strided(depth, P + r0 * prs, prs, pps, B, ldb, s0, ns,
                                   init != NULL ? init + r0 : NULL, accumulate,
                                   S != NULL ? S + r0 * lds : NULL, lds, C + r0 * ldc, ldc);
            if (H != NULL)
                sigmoid_block(MR, s0, ns, C + r0 * ldc, ldc, H + r0 * ldh, ldh);
        }
        if (r0 < rows) {
            gemm_block_rows(rows - r0, depth, P + r0 * prs, prs, pps, B, ldb, s0, ns,
                            init != NULL ? init + r0 : NULL, accumulate,
                            S != NULL ? S + r0 * lds : NULL, lds, C + r0 * ldc, ldc);
            if (H != NULL)
                sigmoid_block(rows - r0, s0, ns, C + r0 * ldc, ldc, H + r0 * ldh, ldh);
        }
    }
}

static void gemm(size_t rows, size_t n, size_t depth, const float *P, size_t prs, size_t pps,
                 const float *B, size_t ldb, const float *init, int accumulate, float *C,
                 size_t ldc)
{
    gemm_ex(rows, n, depth, P, prs, pps, B, ldb, init, accumulate, NULL, 0, C, ldc, NULL, 0);
}

static void KNAME(dense_forward)(size_t m, size_t n, size_t k, const float *restrict W,
                                 const float *restrict b, const float *restrict A, size_t lda,
                                 float *restrict Z, size_t ldz)
{
    /* Row r of W is W[r * k ...]: P = W with row stride k and column stride 1. */
    gemm(m, n, k, W, k, 1, A, lda, b, 0, Z, ldz);
}

static void KNAME(dense_forward_sigmoid)(size_t m, size_t n, size_t k, const float *restrict W,
                                         const float *restrict b, const float *restrict A,
                                         size_t lda, float *Z, size_t ldz, float *H, size_t ldh)
{
    /* Without Z, each block is summed into H and replaced by its sigmoid in place. */
    if (Z == NULL)
        gemm_ex(m, n, k, W, k, 1, A, lda, b, 0, NULL, 0, H, ldh, H, ldh);
    else
        gemm_ex(m, n, k, W, k, 1, A, lda, b, 0, NULL, 0, Z, ldz, H, ldh);
}

static void KNAME(dense_backward_input)(size_t m, size_t n, size_t k, const float *restrict W,
                                        const float *restrict dZ, size_t lddz, float *restrict dA,
                                        size_t ldda)
{
    /* P = W^T: element (j, i) is W[i * k + j], row stride 1 and column stride k. */
    gemm(k, n, m, W, 1, k, dZ, lddz, NULL, 0, dA, ldda);
}

static void KNAME(backward_input_sigmoid)(size_t m, size_t n, size_t k, const float *restrict W,
                                          const float *restrict dZ, size_t lddz, const float *A,
                                          size_t lda, float *dZin, size_t lddzin)
{
    /* Each block loads its elements of A just before it stores the same elements of dZin, so
     * dZin may be A. */
    gemm_ex(k, n, m, W, 1, k, dZ, lddz, NULL, 0, A, lda, dZin, lddzin, NULL, 0);
}

/*
 * dW[i][j] for the gr x gc block at rows i < gr of dZ and rows j < gc of A: dot products along
 * the samples, accumulated in gr * gc vectors and summed across lanes at the end.
 */
ALWAYS_INLINE void grad_block(size_t gr, size_t gc, size_t n, const float *dZ, size_t lddz,
                              const float *A, size_t lda, float *dW, size_t lddw)
{
    vec_t acc[GR_MAX][GC_MAX];
    size_t s = 0;

    for (size_t i = 0; i < gr; i++)
        for (size_t j = 0; j < gc; j++)
            acc[i][j] = vzero();
    for (; s + VL <= n; s += VL) {
        vec_t a[GC_MAX];
        for (size_t j = 0; j < gc; j++)
            a[j] = vload(A + j * lda + s);
        for (size_t i = 0; i < gr; i++) {
            vec_t d = vload(dZ + i * lddz + s);
            for (size_t j = 0; j < gc; j++)
                acc[i][j] = vfma(d, a[j], acc[i][j]);
        }
    }
    if (s < n) {
        vec_t a[GC_MAX];
        for (size_t j = 0; j < gc; j++)
            a[j] = vload_n(A + j * lda + s, n - s);
        for (size_t i = 0; i < gr; i++) {
            vec_t d = vload_n(dZ + i * lddz + s, n - s);
            for (size_t j = 0; j < gc; j++)
                acc[i][j] = vfma(d, a[j], acc[i][j]);
        }
    }
    for (size_t i = 0; i < gr; i++)
        for (size_t j = 0; j < gc; j++)
            dW[i * lddw + j] = vsum(acc[i][j]);
}

/* Calls grad_block with constant block sizes; 1 <= gr <= GR_MAX and 1 <= gc <= GC_MAX. */
static void grad_block_any(size_t gr, size_t gc, size_t n, const float *dZ, size_t lddz,
                           const float *A, size_t lda, float *dW, size_t lddw)
{
#define GRAD_CASE(R, C)                                                                            \
    if (gr == R && gc == C) {                                                                      \
        grad_block(R, C, n, dZ, lddz, A, lda, dW, lddw);                                           \
        return;                                                                                    \
    }
#define GRAD_ROW(R) GRAD_CASE(R, 1) GRAD_CASE(R, 2) GRAD_CASE(R, 3) GRAD_CASE(R, 4) GRAD_CASE(R, 5)
    GRAD_ROW(1)
    GRAD_ROW(2)
    GRAD_ROW(3)
    GRAD_ROW(4)
#undef GRAD_ROW
#undef GRAD_CASE
}

/* Largest row stride whose gather offsets (up to VL - 1 rows apart) fit 32-bit lanes. */
#define GATHER_STRIDE_MAX ((size_t)1 << 25)

/* Samples per transposed panel of A in weight_grad_transposed: 128 x NR floats, 16 KiB with
 * AVX-512, stay in L1 next to the rows of dZ (twice as much for wide panels). */
#define PANEL_SAMPLES 128

/*
 * At[s][j] = A[j * lda + s] for s < depth and j < cols <= width, At's rows width floats long,
 * in blocks of VL x VL transposed in registers. Columns of At's last block past cols are
 * zero. Gathers of each row of At at stride lda took a sixth of the time of the product. On an
 * Ice Lake core, a 256 x 256 weight gradient over 128 samples took 122 us with gathers and
 * 105 us with transposes (AVX-512, median of 7 alternating runs).
 */
static void transpose_panel(size_t cols, size_t depth, const float *A, size_t lda, float *At,
                            size_t width)
{
    for (size_t j0 = 0; j0 < cols; j0 += VL) {
        size_t nj = cols - j0 < VL ? cols - j0 : VL;

        for (size_t s0 = 0; s0 < depth; s0 += VL) {
            size_t ns = depth - s0 < VL ? depth - s0 : VL;
            const float *a = A + j0 * lda + s0;
            float *at = At + s0 * width + j0;
            vec_t v[VL];

            if (nj == VL && ns == VL) {
                for (size_t i = 0; i < VL; i++)
                    v[i] = vload(a + i * lda);
                vtranspose(v);
                for (size_t c = 0; c < VL; c++)
                    vstore(at + c * width, v[c]);
                continue;
            }
            for (size_t i = 0; i < VL; i++)
                v[i] = i < nj ? vload_n(a + i * lda, ns) : vzero();
            vtranspose(v);
            for (size_t c = 0; c < ns; c++)
                vstore(at + c * width, v[c]);
        }
    }
}

/*
 * dW = dZ A^T as a register-blocked product like the forward one: for each panel of columns of
 * dW (rows j of A), the panel's samples are transposed into At[s][j], and then
 * dW[i][j] += sum over s of dZ[i][s] At[s][j], broadcasting dZ and loading At vectors. No sum
 * across lanes is needed, which makes short chunks of samples as fast as long ones. A panel is
 * WIDE_NR columns wide where that many remain, else NR.
 */
static void weight_grad_transposed(size_t m, size_t n, size_t k, const float *restrict dZ,
                                   size_t lddz, const float *restrict A, size_t lda,
                                   float *restrict dW)
{
    /* On cache lines, so that no vector load of the panel spans two of them. */
    _Alignas(64) float At[PANEL_SAMPLES * PANEL_NV * VL];

    for (size_t j0 = 0; j0 < k;) {
        size_t width = NR;
#ifdef WIDE_MR
        if (k - j0 >= WIDE_NR)
            width = WIDE_NR;
#endif
        size_t cols = k - j0 < width ? k - j0 : width;

        for (size_t s0 = 0; s0 < n; s0 += PANEL_SAMPLES) {
            size_t depth = n - s0 < PANEL_SAMPLES ? n - s0 : PANEL_SAMPLES;

            transpose_panel(cols, depth, A + j0 * lda + s0, lda, At, width);
            /* Rows i of dW take dZ[i][s0 + p] as multipliers: row stride lddz, column 1. The
             * panel's row length is a constant in each call. */
            if (width == NR)
                gemm(m, cols, depth, dZ + s0, lddz, 1, At, NR, NULL, s0 > 0, dW + j0, k);
            else
                gemm(m, cols, depth, dZ + s0, lddz, 1, At, PANEL_NV * VL, NULL, s0 > 0, dW + j0, k);
        }
        j0 += cols;
    }
}

static void KNAME(weight_grad)(size_t m, size_t n, size_t k, const float *restrict dZ, size_t lddz,
                               const float *restrict A, size_t lda, float *restrict dW)
{
    /* With few rows, transposing A costs more than the sums across lanes it saves. */
    if (m >= 8) {
        weight_grad_transposed(m, n, k, dZ, lddz, A, lda, dW);
        return;
    }
    for (size_t i0 = 0; i0 < m; i0 += GR) {
        size_t gr = m - i0 < GR ? m - i0 : GR;
        for (size_t j0 = 0; j0 < k; j0 += GC) {
            size_t gc = k - j0 < GC ? k - j0 : GC;
            if (gr == GR && gc == GC)
                grad_block(GR, GC, n, dZ + i0 * lddz, lddz, A + j0 * lda, lda, dW + i0 * k + j0, k);
            else
                grad_block_any(gr, gc, n, dZ + i0 * lddz, lddz, A + j0 * lda, lda, dW + i0 * k + j0,
                               k);
        }
    }
}

/* Units of output_backward's groups: their gw and db sums fill the VL vectors of vsum_lanes. */
#define UNIT_GROUP (VL / 2)

/* One vector of samples of unit j of output_backward: stores dZin and adds to the unit's sums.
 * n_left < VL marks the last, partial vector. */
ALWAYS_INLINE void output_backward_vector(vec_t wj, vec_t dv, const float *a, float *out,
                                          size_t n_left, vec_t *sum_w, vec_t *sum_b)
{
    vec_t av = n_left < VL ? vload_n(a, n_left) : vload(a);
    vec_t d = vsigmoid_chain(vfma(wj, dv, vzero()), av);

    *sum_w = vfma(dv, av, *sum_w);
    if (n_left < VL) {
        /* bias_grad reads zeros past n, where d is NaN for an infinite w[j]. */
        *sum_b = vadd(*sum_b, vkeep_n(d, n_left));
        vstore_n(out, d, n_left);
    } else {
        *sum_b = vadd(*sum_b, d);
        vstore(out, d);
    }
}

static void KNAME(output_backward)(size_t n, size_t k, const float *restrict w,
                                   const float *restrict dz, const float *A, size_t lda,
                                   float *dZin, size_t lddzin, float *restrict gw,
                                   float *restrict db)
{
    /* Per element, the operations of grad_block (gw), gemm_depth_one (dZin) and bias_grad (db),
     * so the bits agree with those kernels. Each vector of A is loaded before the same vector
     * of dZin is stored, so dZin may be A. Units run in groups of UNIT_GROUP, whose chains of
     * sums overlap and whose sums across lanes share the shuffles of vsum_lanes. */
    size_t j = 0;

    for (; j + UNIT_GROUP <= k; j += UNIT_GROUP) {
        vec_t sums[2 * UNIT_GROUP], wv[UNIT_GROUP];
        float out[2 * UNIT_GROUP];

        for (size_t u = 0; u < UNIT_GROUP; u++) {
            wv[u] = vset1(w[j + u]);
            sums[u] = sums[UNIT_GROUP + u] = vzero();
        }
        for (size_t s = 0; s < n; s += VL) {
            size_t left = n - s < VL ? n - s : VL;
            vec_t dv = left < VL ? vload_n(dz + s, left) : vload(dz + s);
            const float *a = A + j * lda + s;
            float *dst = dZin + j * lddzin + s;

#pragma GCC unroll 8
            for (size_t u = 0; u < UNIT_GROUP; u++)
                output_backward_vector(wv[u], dv, a + u * lda, dst + u * lddzin, left, &sums[u],
                                       &sums[UNIT_GROUP + u]);
        }
        vsum_lanes(sums, out);
        for (size_t u = 0; u < UNIT_GROUP; u++) {
            gw[j + u] = out[u];
            db[j + u] = out[UNIT_GROUP + u];
        }
    }
    for (; j < k; j++) {
        vec_t wj = vset1(w[j]);
        vec_t sum_w = vzero(), sum_b = vzero();

        for (size_t s = 0; s < n; s += VL) {
            size_t left = n - s < VL ? n - s : VL;
            vec_t dv = left < VL ? vload_n(dz + s, left) : vload(dz + s);

            output_backward_vector(wj, dv, A + j * lda + s, dZin + j * lddzin + s, left, &sum_w,
                                   &sum_b);
        }
        gw[j] = vsum(sum_w);
        db[j] = vsum(sum_b);
    }
}

static void KNAME(bias_grad)(size_t m, size_t n, const float *restrict dZ, size_t lddz,
                             float *restrict db)
{
    for (size_t i = 0; i < m; i++) {
        const float *dz = dZ + i * lddz;
        vec_t acc = vzero();
        size_t s = 0;

        for (; s + VL <= n; s += VL)
            acc = vadd(acc, vload(dz + s));
        if (s < n)
            acc = vadd(acc, vload_n(dz + s, n - s));
        db[i] = vsum(acc);
    }
}

static void KNAME(sigmoid)(size_t m, size_t n, const float *Z, size_t ldz, float *A, size_t lda)
{
    for (size_t i = 0; i < m; i++) {
        const float *z = Z + i * ldz;
        float *a = A + i * lda;
        size_t s = 0;

        for (; s + VL <= n; s += VL)
            vstore(a + s, vsigmoid(vload(z + s)));
        if (s < n)
            vstore_n(a + s, vsigmoid(vload_n(z + s, n - s)), n - s);
    }
}

static void KNAME(sigmoid_backward)(size_t m, size_t n, const float *dA, size_t ldda,
                                    const float *restrict A, size_t lda, float *dZ, size_t lddz)
{
    vec_t one = vset1(1.0f);

    /* The same operations in the same order as the scalar kernel: dA * a, then * (1 - a). */
    for (size_t i = 0; i < m; i++) {
        const float *da = dA + i * ldda;
        const float *a = A + i * lda;
        float *dz = dZ + i * lddz;
        size_t s = 0;

        for (; s + VL <= n; s += VL) {
            vec_t av = vload(a + s);
            vstore(dz + s, vmul(vmul(vload(da + s), av), vsub(one, av)));
        }
        if (s < n) {
            vec_t av = vload_n(a + s, n - s);
            vec_t d = vmul(vmul(vload_n(da + s, n - s), av), vsub(one, av));
            vstore_n(dz + s, d, n - s);
        }
    }
}

/*
 * The loss of one vector of logits z and labels y in {0, 1} is
 * L = [y == 0] max(z, 0) + [y == 1] max(-z, 0) + log1p(exp(-|z|)), which equals
 * max(z, 0) - z y + log1p(exp(-|z|)) and gives 0 or +inf, never NaN, at infinite z.
 * vloss_linear is its first part.
 */
ALWAYS_INLINE vec_t vloss_linear(vec_t z, vec_t y)
{
    vec_t zero = vzero();
    vec_t one = vset1(1.0f);
    vec_t pos = vmax(z, zero);
    vec_t neg = vmax(vsub(zero, z), zero);

    /* Labels other than 0 and 1 take the general form (1 - y) max(z, 0) + y max(-z, 0). */
    return vselect_label(y, pos, neg, vadd(vmul(vsub(one, y), pos), vmul(y, neg)));
}

/* vloss_linear for labels of 0 and 1 only, as max(z (1 - 2 y), 0). The product is z or -z
 * exactly, so the bits are those of vloss_linear, from 3 operations in place of about 10. */
ALWAYS_INLINE vec_t vloss_linear_binary(vec_t z, vec_t y)
{
    vec_t sign = vsub(vset1(1.0f), vadd(y, y));

    return vmax(vmul(z, sign), vzero());
}

ALWAYS_INLINE vec_t vloss(vec_t z, vec_t y)
{
    return vadd(vloss_linear(z, y), vlog1p(vexp(vsub(vzero(), vabs(z)))));
}

static double KNAME(output_loss_grad)(size_t n, const float *restrict z, const float *restrict y,
                                      float *restrict p, float *restrict dz, size_t *correct)
{
    double loss = 0.0;
    size_t hits = 0;
    size_t s = 0;

    for (; s + VL <= n; s += VL) {
        vec_t zv = vload(z + s);
        vec_t yv = vload(y + s);
        vec_t pv = vsigmoid(zv);

        vstore(p + s, pv);
        vstore(dz + s, vsub(pv, yv));
        loss += vsum_double(vloss(zv, yv));
        hits += vcount_hits(pv, yv, VL);
    }
    if (s < n) {
        size_t rest = n - s;
        vec_t zv = vload_n(z + s, rest);
        vec_t yv = vload_n(y + s, rest);
        vec_t pv = vsigmoid(zv);

        vstore_n(p + s, pv, rest);
        vstore_n(dz + s, vsub(pv, yv), rest);
        /* Lanes past rest hold z = 0, y = 0 and a loss of log 2, so they are masked out. */
        loss += vsum_double(vkeep_n(vloss(zv, yv), rest));
        hits += vcount_hits(pv, yv, rest);
    }
    *correct = hits;
    return loss;
}

static void KNAME(axpy)(size_t n, float alpha, const float *restrict x, float *restrict y)
{
    vec_t a = vset1(alpha);
    size_t i = 0;

    /* alpha * x + y with one rounding of the product, as in the scalar kernel: no fusion. */
    for (; i + VL <= n; i += VL)
        vstore(y + i, vadd(vload(y + i), vmul(a, vload(x + i))));
    if (i < n)
        vstore_n(y + i, vadd(vload_n(y + i, n - i), vmul(a, vload_n(x + i, n - i))), n - i);
}

static void KNAME(scale)(size_t n, float alpha, float *x)
{
    vec_t a = vset1(alpha);
    size_t i = 0;

    for (; i + VL <= n; i += VL)
        vstore(x + i, vmul(a, vload(x + i)));
    if (i < n)
        vstore_n(x + i, vmul(a, vload_n(x + i, n - i)), n - i);
}

/* Runs reduce_update over len floats of count slots. With count a constant, the slots' vectors
 * and their pairwise sums stay in registers. */
ALWAYS_INLINE void reduce_update_slots(size_t count, size_t len, const float *restrict slots,
                                       size_t stride, float scale, float learning_rate,
                                       float *restrict grad, float *restrict params)
{
    vec_t v[BMLP_MAX_SLOTS];
    vec_t factor = vset1(scale);
    vec_t step = vset1(-learning_rate);

    /* The same operations per element as the scalar kernel, so the two agree bit for bit. */
    for (size_t i = 0; i < len; i += VL) {
        size_t n = len - i < VL ? len - i : VL;
        vec_t g, p;

        for (size_t c = 0; c < count; c++)
            v[c] = n == VL ? vload(slots + c * stride + i) : vload_n(slots + c * stride + i, n);
        if (count <= 8) {
            /* The pairs of the loop below for up to 8 slots, in loops that gcc unrolls:
             * slot c += slot c + 1, then slot c + 2, then slot c + 4. */
            for (size_t c = 0; c + 1 < count; c += 2)
                v[c] = vadd(v[c], v[c + 1]);
            for (size_t c = 0; c + 2 < count; c += 4)
                v[c] = vadd(v[c], v[c + 2]);
            if (count > 4)
                v[0] = vadd(v[0], v[4]);
        } else {
            for (size_t s = 1; s < count; s *= 2)
                for (size_t c = 0; c + s < count; c += 2 * s)
                    v[c] = vadd(v[c], v[c + s]);
        }
        g = vmul(v[0], factor);
        if (n == VL) {
            if (grad != NULL)
                vstore(grad + i, g);
            if (params != NULL) {
                p = vadd(vload(params + i), vmul(step, g));
                vstore(params + i, p);
            }
        } else {
            if (grad != NULL)
                vstore_n(grad + i, g, n);
            if (params != NULL) {
                p = vadd(vload_n(params + i, n), vmul(step, g));
                vstore_n(params + i, p, n);
            }
        }
    }
}

/* Slot counts up to 8 become constants, so that the slots' vectors stay in registers. With 4
 * slots of 8,705 parameters (M), the kernel took 1.7 us on an Ice Lake core, against 4.6 us
 * with the count known only at run time, where gcc kept the vectors on the stack. */
static void KNAME(reduce_update)(size_t count, size_t len, const float *restrict slots,
                                 size_t stride, float scale, float learning_rate,
                                 float *restrict grad, float *restrict params)
{
#define REDUCE_CASE(C)                                                                             \
    case C:                                                                                        \
        reduce_update_slots(C, len, slots, stride, scale, learning_rate, grad, params);            \
        return;
    switch (count) {
        REDUCE_CASE(1)
        REDUCE_CASE(2)
        REDUCE_CASE(3)
        REDUCE_CASE(4)
        REDUCE_CASE(5)
        REDUCE_CASE(6)
        REDUCE_CASE(7)
        REDUCE_CASE(8)
    default:
        reduce_update_slots(count, len, slots, stride, scale, learning_rate, grad, params);
        return;
    }
#undef REDUCE_CASE
}

/* Stores the first ns lanes of v as column j of the tile from sample s0. Standardizes them
 * first with the scalar kernel's subtraction and division, so that the bits agree. */
ALWAYS_INLINE void store_tile_column(vec_t v, size_t j, size_t s0, size_t ns,
                                     const float *restrict mean, const float *restrict std,
                                     float *restrict A, size_t lda)
{
    if (mean != NULL)
        v = vdiv(vsub(v, vset1(mean[j])), vset1(std[j]));
    if (ns == VL)
        vstore(A + j * lda + s0, v);
    else
        vstore_n(A + j * lda + s0, v, ns);
}

/*
 * Loads each group of VL features of VL rows row by row and transposes it in registers. The
 * features left over are gathered one column at a time. With every column gathered, training M
 * (32-256-1) ran 6% slower on an Ice Lake core with AVX-512. D (64-256-256-1) ran at the same
 * speed, because its rows of 64 features mostly wait for memory.
 */
static void KNAME(gather_tile)(size_t d, size_t n, const float *restrict x, size_t x_stride,
                               const size_t *restrict rows, const float *restrict mean,
                               const float *restrict std, float *restrict A, size_t lda)
{
    size_t off[VL];

    for (size_t s0 = 0; s0 < n; s0 += VL) {
        size_t ns = n - s0 < VL ? n - s0 : VL;
        size_t j0 = 0;

        /* Lanes past the last sample repeat the first row, so every address read is valid.
         * Their values are not stored. */
        for (size_t l = 0; l < VL; l++) {
            size_t s = s0 + (l < ns ? l : 0);
            off[l] = (rows != NULL ? rows[s] : s) * x_stride;
        }
        for (; j0 + VL <= d; j0 += VL) {
            vec_t v[VL];

            for (size_t l = 0; l < VL; l++)
                v[l] = vload(x + off[l] + j0);
            vtranspose(v);
            for (size_t c = 0; c < VL; c++)
                store_tile_column(v[c], j0 + c, s0, ns, mean, std, A, lda);
        }
        for (size_t j = j0; j < d; j++)
            store_tile_column(vgather(x + j, off), j, s0, ns, mean, std, A, lda);
    }
}

/* Vectors of samples that small_step carries through the network side by side: their exp
 * calls and divisions are independent, so that one vector's latency hides behind the others. */
#define SMALL_T 8

#if BMLP_SMALL_LOSS_FLUSH % SMALL_T != 0 || SMALL_T % 4 != 0
#error "small_step flushes its loss lanes after whole groups of 2, 4 and SMALL_T vectors"
#endif

/* Loads the VL consecutive rows of x_stride (2 or 3) floats from row first of x, split into
 * the columns col[0 .. x_stride). */
ALWAYS_INLINE void vload_short_rows(const float *x, size_t first, size_t x_stride, vec_t col[4])
{
    if (x_stride == 2)
        vload_pairs(x + first * 2, &col[0], &col[1]);
    else
        vload_triples(x + first * 3, &col[0], &col[1], &col[2]);
}

/* Loads vector t of a group of tile vectors: feature j < d of VL samples into
 * in[j * tile + t], standardized as in gather_tile, and their labels into *yv. ns (1 to VL)
 * samples start at position s0 of the chunk. Lanes past them repeat the first one, so that
 * every address is valid. label_in_row is set when each label is the float after its row's
 * features. */
ALWAYS_INLINE void small_load(const bmlp_small_net_t *net, size_t d, size_t tile, size_t s0,
                              size_t ns, const size_t *restrict rows, const float *restrict x,
                              size_t x_stride, const float *restrict y, size_t y_stride,
                              int strided, int label_in_row, vindex_t xstep, vindex_t ystep,
                              vec_t *in, size_t t, vec_t *yv)
{
    size_t base = rows != NULL ? rows[s0] : s0;
    int run = strided && ns == VL, label_loaded = 0;
    size_t off[VL], yoff[VL];

    /* A full vector of consecutive rows is read with constant offsets from its first row. */
    if (run && rows != NULL && rows[s0 + VL - 1] == base + VL - 1) {
        for (size_t l = 1; l < VL - 1 && run; l++)
            run = rows[s0 + l] == base + l;
    } else if (rows != NULL) {
        run = 0;
    }
    if (!run) {
        for (size_t l = 0; l < VL; l++) {
            size_t s = s0 + (l < ns ? l : 0);
            size_t r = rows != NULL ? rows[s] : s;
            off[l] = r * x_stride;
            yoff[l] = r * y_stride;
        }
    }
    /* A run of rows of two or three floats that hold only features, or the features and then
     * the label, is loaded whole and split into columns. */
    if (run && (x_stride == 2 || x_stride == 3) && (d == x_stride || label_in_row) && d <= 3) {
        /* Zeros past x_stride columns are never read. They keep the copies of this code for a
         * constant d from reading an unset or missing element. */
        vec_t col[4] = {vzero(), vzero(), vzero(), vzero()};

        vload_short_rows(x, base, x_stride, col);
        for (size_t j = 0; j < d; j++)
            in[j * tile + t] = col[j];
        if (label_in_row) {
            *yv = col[d];
            label_loaded = 1;
        }
    } else if (!run && d + (label_in_row ? 1 : 0) <= 4) {
        /* Each scattered row of at most four floats (features and label) is loaded whole, and
         * the vector's rows are transposed into columns. One gather per column made training
         * S shuffled 13% slower with AVX-512 and 20% slower with AVX2 (Ice Lake VM). */
        vec_t col[4];

        vload_columns4(x, off, d + (label_in_row ? 1 : 0), col);
        for (size_t j = 0; j < d; j++)
            in[j * tile + t] = col[j];
        /* With the label in the row, d is below 4 here. The test lets the compiler see that
         * col[d] is inside col. */
        if (label_in_row && d < 4) {
            *yv = col[d];
            label_loaded = 1;
        }
    } else {
        for (size_t j = 0; j < d; j++)
            in[j * tile + t] = run ? vgather_index(x + base * x_stride + j, xstep)
                                   : vgather(x + j, off);
    }
    for (size_t j = 0; j < d && net->mean != NULL; j++)
        in[j * tile + t] = vdiv(vsub(in[j * tile + t], vset1(net->mean[j])), vset1(net->std[j]));
    if (label_loaded)
        return;
    if (!run)
        *yv = vgather(y, yoff);
    else if (y_stride == 1)
        *yv = vload(y + base);
    else
        *yv = vgather_index(y + base * y_stride, ystep);
}

/* Prefetches the rows of positions q0 .. q0 + count - 1 of small_step's order, rows[q] below n and
 * next_rows[q - n] after them, where they exist. A row's first and last float (its label, when
 * that sits in the row) may lie in two cache lines. */
ALWAYS_INLINE void small_prefetch(size_t q0, size_t count, size_t n, const size_t *restrict rows,
                                  const size_t *restrict next_rows, size_t next_n,
                                  const float *restrict x, size_t x_stride, size_t row_floats,
                                  const float *restrict y, size_t y_stride, int label_in_row)
{
    for (size_t q = q0; q < q0 + count; q++) {
        size_t r;

        if (q < n)
            r = rows[q];
        else if (q - n < next_n)
            r = next_rows[q - n];
        else
            return;
        __builtin_prefetch(x + r * x_stride);
        __builtin_prefetch(x + r * x_stride + row_floats - 1);
        if (!label_in_row)
            __builtin_prefetch(y + r * y_stride);
    }
}

/* Widest input and hidden layer of the networks that tiny_step takes. */
#define TINY_MAX_WIDTH 4

/* Vectors of samples per tile of tiny_step: one loss flush, two groups of small_step. */
#define TINY_T BMLP_SMALL_LOSS_FLUSH

/* Loads the TINY_T vectors of a full tile of consecutive rows from sample g0 on. A row is d + 1
 * floats (the features, then the label) when label_in_row, else d features, and the labels then
 * stay in y for the loss pass to read. These are small_load's loads for rows of 2 or 3 floats,
 * without its decisions per vector. S in stored order trained 3% to 6% faster with AVX-512 and
 * 6% with AVX2, and tiny_step ran a quarter fewer instructions (callgrind, AVX2). Reading the
 * labels from y, where they were copied to the stack, gained another 1% to 4%. */
ALWAYS_INLINE void tiny_load_run(size_t d, int label_in_row, const float *restrict x, size_t g0,
                                 vec_t *in, vec_t *yv)
{
    size_t x_stride = d + (label_in_row ? 1 : 0);

    for (size_t t = 0; t < TINY_T; t++) {
        size_t s0 = g0 + t * VL;
        /* Zeros past x_stride columns are never read, as in small_load. */
        vec_t col[4] = {vzero(), vzero(), vzero(), vzero()};

        vload_short_rows(x, s0, x_stride, col);
        for (size_t j = 0; j < d; j++)
            in[j * TINY_T + t] = col[j];
        if (label_in_row)
            yv[t] = col[d];
    }
}

/* Loads the TINY_T vectors of a full tile of the rows rows[g0 ..], x_stride floats apart, each
 * of d + 1 <= 4 floats that end with the label (the padded copy of shuffled training). These are
 * small_load's loads for scattered rows without its test for a run of consecutive rows, which
 * loads the same values. S shuffled trained 9% faster with AVX-512 and 8% with AVX2. */
ALWAYS_INLINE void tiny_load_rows(size_t d, const float *restrict x, size_t x_stride,
                                  const size_t *restrict rows, size_t g0, vec_t *in, vec_t *yv)
{
    for (size_t t = 0; t < TINY_T; t++) {
        size_t off[VL];
        vec_t col[4];

        for (size_t l = 0; l < VL; l++)
            off[l] = rows[g0 + t * VL + l] * x_stride;
        vload_columns4(x, off, d + 1, col);
        for (size_t j = 0; j < d; j++)
            in[j * TINY_T + t] = col[j];
        /* d is below 4 wherever this runs. The test shows the compiler that col[d] is in col. */
        if (d < 4)
            yv[t] = col[d];
    }
}

#if TINY_T != 2 * SMALL_T
#error "tiny_step adds its losses in the order of small_step's pairs of groups"
#endif

/* Prefetches the rows of VL samples in stored order from sample s on: their features, and their
 * labels when these are apart and contiguous. The addresses are formed as integers because they
 * may lie past the last row, where a prefetch is harmless but a pointer would be undefined. */
ALWAYS_INLINE void tiny_prefetch_rows(const float *x, size_t x_stride, const float *y,
                                      size_t y_stride, int label_in_row, size_t s)
{
    uintptr_t first = (uintptr_t)x + s * x_stride * sizeof(float);
    uintptr_t end = first + VL * x_stride * sizeof(float);

    for (uintptr_t a = first; a < end; a += 64)
        __builtin_prefetch((const void *)a);
    if (!label_in_row && y_stride == 1)
        __builtin_prefetch((const void *)((uintptr_t)y + s * sizeof(float)));
}

/* Replaces each of the count vectors at v, which hold -z, by the sigmoid of z. Out of line, so
 * that only the loop's own pointer and count are live across each exp call, in registers that
 * calls preserve. Taking -z saves the negation in the loop: it costs nothing where the sums are
 * made, from negated weights, and gives the same sigmoid. S in stored order, one thread: AVX2
 * +1.6%, AVX-512 +3.1%. */
static __attribute__((noinline)) void sigmoid_negated_vectors(vec_t *v, size_t count)
{
    vec_t one = vset1(1.0f);

    for (size_t u = 0; u < count; u++)
        v[u] = vdiv(one, vadd(one, vexp(v[u])));
}

/* sigmoid_negated_vectors that also requests the cache lines at ahead[0 .. ahead_n), spread
 * evenly over the vectors, so that the misses overlap the exp calls. */
static __attribute__((noinline)) void
sigmoid_negated_vectors_ahead(vec_t *v, size_t count, const float *const *ahead, size_t ahead_n)
{
    vec_t one = vset1(1.0f);
    size_t per = (ahead_n + count - 1) / count;

    for (size_t u = 0; u < count; u++) {
        for (size_t i = u * per; i < u * per + per && i < ahead_n; i++)
            __builtin_prefetch(ahead[i]);
        v[u] = vdiv(one, vadd(one, vexp(v[u])));
    }
}

/*
 * Computes small_step for a network of d inputs, one hidden layer of h units and one output,
 * with d and h constants at each call, so that the weights and the gradient sums stay in
 * registers. Each tile of TINY_T vectors goes through passes that each loop over its vectors:
 * the hidden sums, their sigmoids, the output's sum and exp, and then the loss and every
 * gradient. Only the second and third passes call SLEEF, which clobbers every vector register,
 * and no gradient sum is live across those calls. Each lane takes the operations of small_step
 * in the same order, so the results agree bit for bit. The last tile skips the vectors past the
 * last sample. small_step adds zero gradients for them, which leaves the same bits while the
 * parameters are finite. At batch 32 (2 vectors of a tile of 16 with AVX-512), S trained 2.8
 * times as fast as with the whole tile. At batch 256, three runs measured 0.94 to 1.00 times
 * the speed, with about 3 more instructions per sample (callgrind, AVX2).
 *
 * Shuffled rows are prefetched one tile ahead, half a vector's rows in each step of the
 * hidden-sum pass and half in each step of the loss pass, so that their cache misses overlap
 * the arithmetic. A last tile of fewer vectors prefetches only as many of the next chunk's rows
 * as it contains. With prefetch_in_sigmoids, rows that each fit in one cache line with their
 * label (the padded copy that shuffled training makes) move the hidden-sum pass's share into
 * the hidden sigmoids, a few rows per exp call. The hidden-sum pass has only 4 multiply-adds
 * per vector to overlap its misses with, and each sigmoid has an exp call and a division. S
 * shuffled, one thread: AVX-512 +9.6% and AVX2 +7.2% (8 alternating processes each).
 * Prefetched one vector ahead in the load pass, as small_step does, the loads waited on memory
 * with nothing else to run. S shuffled was then 16% slower with AVX-512 and 15% with AVX2 (one
 * thread, alternating runs on an Ice Lake core). All of a vector's rows in one of the two
 * passes ran 5% and 17% slower than the split.
 */
ALWAYS_INLINE double tiny_step(size_t d, size_t h, int prefetch_in_sigmoids,
                               const bmlp_small_net_t *net, size_t n, const float *restrict x,
                               size_t x_stride, const float *restrict y, size_t y_stride,
                               const size_t *restrict rows, const size_t *restrict next_rows,
                               size_t next_n, float *restrict grads, size_t *correct)
{
    vec_t in[TINY_MAX_WIDTH * TINY_T], hid[TINY_MAX_WIDTH * TINY_T];
    vec_t z[TINY_T], e[TINY_T], yv[TINY_T];
    const float *ahead[TINY_T * VL / 2];
    vec_t gw1[TINY_MAX_WIDTH * TINY_MAX_WIDTH], gb1[TINY_MAX_WIDTH], gw2[TINY_MAX_WIDTH], gb2;
    const float *W1 = net->params + net->w_offset[0], *b1 = net->params + net->b_offset[0];
    const float *W2 = net->params + net->w_offset[1], *b2 = net->params + net->b_offset[1];
    int strided = x_stride < GATHER_STRIDE_MAX && y_stride < GATHER_STRIDE_MAX;
    int label_in_row = y_stride == x_stride && d + 1 <= x_stride &&
                       (uintptr_t)y - (uintptr_t)x == d * sizeof(float);
    size_t row_floats = d + (label_in_row ? 1 : 0);
    size_t row_bytes = x_stride * sizeof(float);
    /* Rows that each sit inside one cache line with their label. */
    int whole_lines = label_in_row && row_bytes <= 64 && (row_bytes & (row_bytes - 1)) == 0 &&
                      (uintptr_t)x % row_bytes == 0;
    /* Set for stored rows of 2 or 3 floats (the features, then the label if it is in the row)
     * without standardization, whose full tiles take tiny_load_run.
     * NOTE: standardized rows keep small_load. With a standardization pass after the whole-tile
     * loads, S in stored order ran 3% to 4% slower although that pass did not run. */
    int short_rows = rows == NULL && (x_stride == 2 || x_stride == 3) &&
                     x_stride == d + (label_in_row ? 1 : 0) && (label_in_row || y_stride == 1) &&
                     net->mean == NULL;
    vindex_t xstep = vstride_index(strided ? x_stride : 0);
    vindex_t ystep = vstride_index(strided ? y_stride : 0);
    vec_t one = vset1(1.0f);
    vec_t loss_lanes = vzero(), log_product = one;
    /* Wrong predictions per lane in the current tile, at most TINY_T each, then in all. */
    vec_t misses = vzero();
    size_t wrong = 0;
    double loss = 0.0;

    gb2 = vzero();
    for (size_t i = 0; i < h; i++) {
        gb1[i] = vzero();
        gw2[i] = vzero();
        for (size_t j = 0; j < d; j++)
            gw1[i * d + j] = vzero();
    }
    for (size_t g0 = 0; g0 < n; g0 += TINY_T * VL) {
        /* NOTE: a short last tile before a longer first tile (batch 300 or 600) leaves part of
         * that tile without a prefetch. Prefetching a whole tile in larger shares measured +14%
         * at batch 300 but -3% at 600 and -1.5% at 256. */
        /* First position of the rows that this tile prefetches: the next tile, or the next
         * chunk after the last tile. */
        size_t next_start = n - g0 < TINY_T * VL ? n : g0 + TINY_T * VL;
        /* Vectors of the tile that contain samples, fewer than TINY_T only in the last tile. */
        size_t tile_vectors = (next_start - g0 + VL - 1) / VL;

        /* Labels of the tile's vectors, VL floats apart. */
        const float *labels = (const float *)yv;

        /* Set when every lane of the tile contains a sample, because the whole-tile loads read
         * the row of each lane. */
        int full = n - g0 >= TINY_T * VL;

        if (full && short_rows && d <= 2 && label_in_row) {
            tiny_load_run(d, 1, x, g0, in, yv);
        } else if (full && short_rows && d >= 2 && d <= 3) {
            tiny_load_run(d, 0, x, g0, in, yv);
            labels = y + g0;
        } else if (full && rows != NULL && label_in_row && d < 4 && net->mean == NULL) {
            tiny_load_rows(d, x, x_stride, rows, g0, in, yv);
        } else {
            for (size_t t = 0; t < tile_vectors; t++) {
                size_t s0 = g0 + t * VL;
                size_t ns = n - s0 < VL ? n - s0 : VL;

                small_load(net, d, TINY_T, s0, ns, rows, x, x_stride, y, y_stride, strided,
                           label_in_row, xstep, ystep, in, t, &yv[t]);
            }
        }

        /* Hidden sums z = b + W x, the products added in input order, then their sigmoids. Made as
         * -z from -b and -W: rounding is symmetric, so only the sign of a zero can differ, and
         * the sigmoid of either zero is 0.5. */
        size_t ahead_n = 0;
        int in_sigmoids = prefetch_in_sigmoids && rows != NULL && whole_lines &&
                          tile_vectors == TINY_T;

        if (in_sigmoids) {
            for (size_t t = 0; t < TINY_T; t++) {
                for (size_t q = next_start + t * VL; q < next_start + t * VL + VL / 2; q++) {
                    if (q < n)
                        ahead[ahead_n++] = x + rows[q] * x_stride;
                    else if (q - n < next_n)
                        ahead[ahead_n++] = x + next_rows[q - n] * x_stride;
                }
            }
        }
        /* Rows that each step of the hidden sums requests: none when the sigmoids do. */
        size_t hidden_share = in_sigmoids ? 0 : VL / 2;

        for (size_t t = 0; t < tile_vectors; t++) {
            if (rows != NULL)
                small_prefetch(next_start + t * VL, hidden_share, n, rows, next_rows, next_n, x,
                               x_stride, row_floats, y, y_stride, label_in_row);
            for (size_t i = 0; i < h; i++) {
                vec_t sum = vset1(-b1[i]);

                for (size_t j = 0; j < d; j++)
                    sum = vfma(vset1(-W1[i * d + j]), in[j * TINY_T + t], sum);
                hid[i * TINY_T + t] = sum;
            }
        }
        if (in_sigmoids) {
            sigmoid_negated_vectors_ahead(hid, h * TINY_T, ahead, ahead_n);
        } else if (tile_vectors == TINY_T) {
            sigmoid_negated_vectors(hid, h * TINY_T);
        } else {
            for (size_t i = 0; i < h; i++)
                sigmoid_negated_vectors(hid + i * TINY_T, tile_vectors);
        }

        /* The output's logit, and the exp that serves its probability and its loss. In stored
         * order, the rows of the next tile are requested meanwhile. */
        for (size_t t = 0; t < tile_vectors; t++) {
            vec_t sum = vset1(b2[0]);

            if (rows == NULL)
                tiny_prefetch_rows(x, x_stride, y, y_stride, label_in_row, g0 + (TINY_T + t) * VL);
            for (size_t i = 0; i < h; i++)
                sum = vfma(vset1(W2[i]), hid[i * TINY_T + t], sum);
            z[t] = sum;
            e[t] = vexp(vneg_abs(sum));
        }

        /* The loss as in small_step, then the gradients of both layers, vector by vector. */
        for (size_t t = 0; t < tile_vectors; t++) {
            size_t live = n - g0 - t * VL < VL ? n - g0 - t * VL : VL;
            vec_t et = e[t];

            if (rows != NULL)
                small_prefetch(next_start + t * VL + VL / 2, VL / 2, n, rows, next_rows, next_n, x,
                               x_stride, row_floats, y, y_stride, label_in_row);
            vec_t p = vdiv(vselect_sign(z[t], one, et), vadd(one, et));
            vec_t yt = vload(labels + t * VL);
            vec_t dz = vsub(p, yt);
            vec_t lz = vloss_linear_binary(z[t], yt);

            if (live < VL) {
                dz = vkeep_n(dz, live);
                lz = vkeep_n(lz, live);
                et = vkeep_n(et, live);
            }
            loss_lanes = vadd(loss_lanes, lz);
            log_product = vmul(log_product, vadd(one, et));
            vec_t missed = vmisses(p, yt);

            misses = vadd(misses, live < VL ? vkeep_n(missed, live) : missed);
            gb2 = vadd(gb2, dz);
            for (size_t i = 0; i < h; i++)
                gw2[i] = vfma(dz, hid[i * TINY_T + t], gw2[i]);
            for (size_t i = 0; i < h; i++) {
                vec_t a = hid[i * TINY_T + t];
                vec_t di = vsigmoid_chain(vmul(vset1(W2[i]), dz), a);

                gb1[i] = vadd(gb1[i], di);
                for (size_t j = 0; j < d; j++)
                    gw1[i * d + j] = vfma(di, in[j * TINY_T + t], gw1[i * d + j]);
            }
        }
        /* The order of small_step's sums, so that the loss has the same bits: each pair of its
         * groups adds as loss + (linear + logs), a lone last group as (loss + linear) + logs. */
        double linear = vsum_double(loss_lanes), logs = vsum_double(vlog(log_product));

        if (n - g0 <= SMALL_T * VL)
            loss = (loss + linear) + logs;
        else
            loss += linear + logs;
        loss_lanes = vzero();
        log_product = one;
        wrong += (size_t)vsum_double(misses);
        misses = vzero();
    }
    for (size_t i = 0; i < h; i++) {
        for (size_t j = 0; j < d; j++)
            grads[net->w_offset[0] + i * d + j] = vsum(gw1[i * d + j]);
        grads[net->b_offset[0] + i] = vsum(gb1[i]);
        grads[net->w_offset[1] + i] = vsum(gw2[i]);
    }
    grads[net->b_offset[1]] = vsum(gb2);
    *correct = n - wrong;
    return loss;
}

/* Calls tiny_step with d and h as constants, for each d and h up to TINY_MAX_WIDTH. */
ALWAYS_INLINE double tiny_step_any(size_t d, size_t h, int prefetch_in_sigmoids,
                                   const bmlp_small_net_t *net, size_t n, const float *restrict x,
                                   size_t x_stride, const float *restrict y, size_t y_stride,
                                   const size_t *restrict rows, const size_t *restrict next_rows,
                                   size_t next_n, float *restrict grads, size_t *correct)
{
#define TINY_CASE(D, H)                                                                            \
    case (D) * (TINY_MAX_WIDTH + 1) + (H):                                                         \
        return tiny_step(D, H, prefetch_in_sigmoids, net, n, x, x_stride, y, y_stride, rows,       \
                         next_rows, next_n, grads, correct);
#define TINY_ROW(D) TINY_CASE(D, 1) TINY_CASE(D, 2) TINY_CASE(D, 3) TINY_CASE(D, 4)
    switch (d * (TINY_MAX_WIDTH + 1) + h) {
        TINY_ROW(1)
        TINY_ROW(2)
        TINY_ROW(3)
        TINY_ROW(4)
    default:
        return 0.0; /* not reached: the caller passes widths of 1 to TINY_MAX_WIDTH */
    }
#undef TINY_ROW
#undef TINY_CASE
}

/* gcc's noclone: no copy of a function specialized for constant arguments. clang has no such
 * attribute, and its builds (the sanitizer stages) are not timed. */
#ifdef __clang__
#define NO_CLONE
#else
#define NO_CLONE __attribute__((noclone))
#endif

/* tiny_step for chunks without a list of rows (stored order, or rows already copied into a
 * buffer), compiled apart from the shuffled copy so that its code stays as it was. A copy that
 * gcc specialized for rows == NULL (NO_CLONE prevents that) trained S in stored order about 10%
 * slower with AVX-512, although its code was shorter. */
static __attribute__((noinline)) NO_CLONE double
tiny_step_stored(size_t d, size_t h, const bmlp_small_net_t *net, size_t n, const float *restrict x,
                 size_t x_stride, const float *restrict y, size_t y_stride,
                 const size_t *restrict rows, const size_t *restrict next_rows, size_t next_n,
                 float *restrict grads, size_t *correct)
{
    return tiny_step_any(d, h, 0, net, n, x, x_stride, y, y_stride, rows, next_rows, next_n, grads,
                         correct);
}

static double tiny_step_shuffled(size_t d, size_t h, const bmlp_small_net_t *net, size_t n,
                                 const float *restrict x, size_t x_stride, const float *restrict y,
                                 size_t y_stride, const size_t *restrict rows,
                                 const size_t *restrict next_rows, size_t next_n,
                                 float *restrict grads, size_t *correct)
{
    return tiny_step_any(d, h, 1, net, n, x, x_stride, y, y_stride, rows, next_rows, next_n, grads,
                         correct);
}

ALWAYS_INLINE double small_step_width(size_t group, const bmlp_small_net_t *net, size_t n,
                                      const float *restrict x, size_t x_stride,
                                      const float *restrict y, size_t y_stride,
                                      const size_t *restrict rows, const size_t *restrict next_rows,
                                      size_t next_n, float *restrict grads, size_t *correct)
{
    /* Unit u of vector t of the group is at [u * group + t]. */
    vec_t acc[BMLP_SMALL_MAX_PARAMS];
    vec_t act[BMLP_SMALL_MAX_UNITS * SMALL_T];
    vec_t delta[2][BMLP_SMALL_MAX_UNITS * SMALL_T];
    vec_t z[SMALL_T], yv[SMALL_T];
    size_t first[BMLP_SMALL_MAX_UNITS + 1];
    size_t L = net->num_layers;
    const float *P = net->params;
    int strided = x_stride < GATHER_STRIDE_MAX && y_stride < GATHER_STRIDE_MAX;
    /* The label follows the features in each row, as in an NPY file, perhaps with padding
     * after it. */
    int label_in_row = y_stride == x_stride && net->widths[0] + 1 <= x_stride &&
                       (uintptr_t)y - (uintptr_t)x == net->widths[0] * sizeof(float);
    size_t row_floats = net->widths[0] + (label_in_row ? 1 : 0);
    /* At most n, so that the prefetches of a short chunk reach every row of the next one. */
    size_t ahead = n < BMLP_SMALL_PREFETCH_AHEAD ? n : BMLP_SMALL_PREFETCH_AHEAD;
    vindex_t xstep = vstride_index(strided ? x_stride : 0);
    vindex_t ystep = vstride_index(strided ? y_stride : 0);
    vec_t one = vset1(1.0f);
    vec_t loss_lanes = vzero();
    vec_t log_product = one; /* of 1 + e, at most 2^BMLP_SMALL_LOSS_FLUSH */
    double loss = 0.0;
    size_t hits = 0;

    first[0] = 0;
    for (size_t l = 0; l < L; l++)
        first[l + 1] = first[l] + net->widths[l];
    for (size_t p = 0; p < net->num_params; p++)
        acc[p] = vzero();
    for (size_t g0 = 0; g0 < n; g0 += group * VL) {
        vec_t *cur = delta[0], *next = delta[1];

        /* Vectors wholly past the last sample repeat its first sample with a zero gradient. */
        for (size_t t = 0; t < group; t++) {
            size_t s0 = g0, ns = 1;

            if (g0 + t * VL < n) {
                s0 = g0 + t * VL;
                ns = n - s0 < VL ? n - s0 : VL;
            }
            if (rows != NULL)
                small_prefetch(g0 + t * VL + ahead, VL, n, rows, next_rows, next_n, x, x_stride,
                               row_floats, y, y_stride, label_in_row);
            small_load(net, net->widths[0], group, s0, ns, rows, x, x_stride, y, y_stride, strided,
                       label_in_row, xstep, ystep, act, t, &yv[t]);
        }

        /* Forward: z = b + W a with the products added in input order, then the sigmoid. */
        for (size_t l = 0; l < L; l++) {
            size_t m = net->widths[l + 1], k = net->widths[l];
            const float *W = P + net->w_offset[l], *b = P + net->b_offset[l];
            const vec_t *in = act + first[l] * group;
            vec_t *out = act + first[l + 1] * group;

            for (size_t i = 0; i < m; i++) {
                for (size_t t = 0; t < group; t++)
                    z[t] = vset1(b[i]);
                for (size_t j = 0; j < k; j++) {
                    vec_t w = vset1(W[i * k + j]);
                    for (size_t t = 0; t < group; t++)
                        z[t] = vfma(w, in[j * group + t], z[t]);
                }
                if (l + 1 < L)
                    for (size_t t = 0; t < group; t++)
                        out[i * group + t] = vsigmoid(z[t]);
            }
        }

        /* Output: one exp serves the probability and the loss, which is the linear part plus
         * log(1 + e). Each lane multiplies its 1 + e (in [1, 2]) together, so that one log per
         * flush replaces one per vector. Rounding 1 + e and each product moves the loss by at
         * most 1.2e-7 per sample, besides the rounding of the log itself. */
        for (size_t t = 0; t < group; t++) {
            size_t live = 0;
            vec_t e = vexp(vsub(vzero(), vabs(z[t])));
            vec_t p = vdiv(vselect_sign(z[t], one, e), vadd(one, e));
            vec_t dz = vsub(p, yv[t]);
            vec_t lz = vloss_linear_binary(z[t], yv[t]);

            if (g0 + t * VL < n)
                live = n - g0 - t * VL < VL ? n - g0 - t * VL : VL;

            if (live < VL) {
                dz = vkeep_n(dz, live);
                lz = vkeep_n(lz, live);
                e = vkeep_n(e, live);
            }
            cur[t] = dz;
            loss_lanes = vadd(loss_lanes, lz);
            log_product = vmul(log_product, vadd(one, e));
            hits += live > 0 ? vcount_hits(p, yv[t], live) : 0;
        }
        if ((g0 / (group * VL) + 1) % (BMLP_SMALL_LOSS_FLUSH / group) == 0) {
            loss += vsum_double(loss_lanes) + vsum_double(vlog(log_product));
            loss_lanes = vzero();
            log_product = one;
        }

        /* Backward: gradients of layer l, then the deltas of its inputs through their
         * sigmoid, in the order of the tile kernels. */
        for (size_t l = L; l-- > 0;) {
            size_t m = net->widths[l + 1], k = net->widths[l];
            const float *W = P + net->w_offset[l];
            const vec_t *in = act + first[l] * group;
            vec_t *gW = acc + net->w_offset[l], *gb = acc + net->b_offset[l];

            for (size_t i = 0; i < m; i++) {
                const vec_t *dz = cur + i * group;

                for (size_t t = 0; t < group; t++)
                    gb[i] = vadd(gb[i], dz[t]);
                for (size_t j = 0; j < k; j++) {
                    vec_t sum = gW[i * k + j];
                    for (size_t t = 0; t < group; t++)
                        sum = vfma(dz[t], in[j * group + t], sum);
                    gW[i * k + j] = sum;
                }
            }
            if (l == 0)
                break;
            for (size_t j = 0; j < k; j++) {
                vec_t w = vset1(W[j]);
                vec_t tsum[SMALL_T];

                for (size_t t = 0; t < group; t++)
                    tsum[t] = vmul(w, cur[t]);
                for (size_t i = 1; i < m; i++) {
                    w = vset1(W[i * k + j]);
                    for (size_t t = 0; t < group; t++)
                        tsum[t] = vfma(w, cur[i * group + t], tsum[t]);
                }
                for (size_t t = 0; t < group; t++)
                    next[j * group + t] = vsigmoid_chain(tsum[t], in[j * group + t]);
            }
            vec_t *swap = cur;
            cur = next;
            next = swap;
        }
    }
    for (size_t p = 0; p < net->num_params; p++)
        grads[p] = vsum(acc[p]);
    *correct = hits;
    return loss + vsum_double(loss_lanes) + vsum_double(vlog(log_product));
}

/*
 * Networks too large for tiny_step take groups of SMALL_T vectors, or of 2 or 4 when the chunk
 * has no more vectors. Every group width that divides BMLP_SMALL_LOSS_FLUSH gives the same
 * bits, because each lane adds its samples in order and the loss is flushed after the same
 * vectors. With AVX-512, a chunk of 64 samples (that of 8-8-1 and 16-8-1) filled half of a
 * group of 8, and a batch of 32 a quarter. Narrower groups made 8-8-1 train 1.57 times as fast
 * at batch 256 and 2.3 times at batch 32 (one thread, Ice Lake).
 */
static double KNAME(small_step)(const bmlp_small_net_t *net, size_t n, const float *restrict x,
                                size_t x_stride, const float *restrict y, size_t y_stride,
                                const size_t *restrict rows, const size_t *restrict next_rows,
                                size_t next_n, float *restrict grads, size_t *correct)
{
    size_t vectors = (n + VL - 1) / VL;

    if (net->num_layers == 2 && net->widths[0] <= TINY_MAX_WIDTH &&
        net->widths[1] <= TINY_MAX_WIDTH)
        return rows == NULL
                   ? tiny_step_stored(net->widths[0], net->widths[1], net, n, x, x_stride, y,
                                      y_stride, rows, next_rows, next_n, grads, correct)
                   : tiny_step_shuffled(net->widths[0], net->widths[1], net, n, x, x_stride, y,
                                        y_stride, rows, next_rows, next_n, grads, correct);
    if (vectors <= 2)
        return small_step_width(2, net, n, x, x_stride, y, y_stride, rows, next_rows, next_n, grads,
                                correct);
    if (vectors <= 4)
        return small_step_width(4, net, n, x, x_stride, y, y_stride, rows, next_rows, next_n, grads,
                                correct);
    return small_step_width(SMALL_T, net, n, x, x_stride, y, y_stride, rows, next_rows, next_n,
                            grads, correct);
}

/* Independent accumulators in fma_probe: at least latency x throughput of a fused multiply-add
 * (4 cycles x 2 per cycle on current x86 cores), and few enough to stay in registers. */
#define PROBE_CHAINS 12

static double KNAME(fma_probe)(size_t rounds)
{
    volatile float seed = 1.0f;
    vec_t acc[PROBE_CHAINS];
    vec_t mul = vset1(seed * 0.999999f);
    vec_t add = vset1(seed * 1e-7f);
    vec_t sink = vzero();

    for (size_t c = 0; c < PROBE_CHAINS; c++)
        acc[c] = vset1(seed + (float)c);
    for (size_t r = 0; r < rounds; r++)
        for (size_t c = 0; c < PROBE_CHAINS; c++)
            acc[c] = vfma(acc[c], mul, add);
    for (size_t c = 0; c < PROBE_CHAINS; c++)
        sink = vadd(sink, acc[c]);
    seed = vsum(sink);
    return 2.0 * PROBE_CHAINS * VL * (double)rounds;
}

#define KERNEL_TABLE(isa_name)                                                                     \
    {                                                                                              \
        .name = isa_name, .lanes = VL, .dense_forward = KNAME(dense_forward),                      \
        .dense_forward_sigmoid = KNAME(dense_forward_sigmoid),                                     \
        .dense_backward_input = KNAME(dense_backward_input),                                       \
        .backward_input_sigmoid = KNAME(backward_input_sigmoid),                                   \
        .output_backward = KNAME(output_backward), .weight_grad = KNAME(weight_grad),              \
        .bias_grad = KNAME(bias_grad), .sigmoid = KNAME(sigmoid),                                  \
        .sigmoid_backward = KNAME(sigmoid_backward), .output_loss_grad = KNAME(output_loss_grad),  \
        .axpy = KNAME(axpy), .scale = KNAME(scale), .reduce_update = KNAME(reduce_update),         \
        .gather_tile = KNAME(gather_tile), .small_step = KNAME(small_step),                        \
        .fma_probe = KNAME(fma_probe),                                                             \
    }
