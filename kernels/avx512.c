/* The AVX-512 kernels: 16 float lanes, compiled with AVX-512 F/DQ/BW/VL flags only in this file,
 * with exp and log1p from SLEEF's AVX-512 functions. */
#include <immintrin.h>

#include <sleef.h>

typedef __m512 vec_t;
#define VL 16
#define MR 14 /* 14 x 2 accumulators, 2 panel vectors and 1 broadcast use 31 of 32 registers */
/* The register block of full blocks of 64 samples (or columns): 6 x 4 accumulators, 4 panel
 * vectors and 1 broadcast use 29 registers. A step loads 10 vectors for 24 multiply-adds, where
 * 14 x 2 loads 16 for 28. In a probe on an Ice Lake core (operands in L1, depth 256), 6 x 4 ran
 * at 94% of the multiply-add peak and 14 x 2 at 84%. */
#define WIDE_MR 6
#define WIDE_NV 4
#define GR 4 /* 4 x 5 accumulators and 9 operand vectors in the weight gradient */
#define GC 5
#define KNAME(name) name##_avx512

static inline __mmask16 lanes_below(size_t n)
{
    return (__mmask16)((1u << n) - 1u);
}

static inline vec_t vzero(void)
{
    return _mm512_setzero_ps();
}

static inline vec_t vset1(float x)
{
    return _mm512_set1_ps(x);
}

static inline vec_t vload(const float *p)
{
    return _mm512_loadu_ps(p);
}

static inline void vstore(float *p, vec_t v)
{
    _mm512_storeu_ps(p, v);
}

static inline vec_t vload_n(const float *p, size_t n)
{
    return _mm512_maskz_loadu_ps(lanes_below(n), p);
}

static inline void vstore_n(float *p, vec_t v, size_t n)
{
    _mm512_mask_storeu_ps(p, lanes_below(n), v);
}

static inline vec_t vkeep_n(vec_t v, size_t n)
{
    return _mm512_maskz_mov_ps(lanes_below(n), v);
}

#define vfma _mm512_fmadd_ps
#define vadd _mm512_add_ps
#define vsub _mm512_sub_ps
#define vmul _mm512_mul_ps
#define vdiv _mm512_div_ps
#define vmax _mm512_max_ps
#define vabs _mm512_abs_ps

static inline vec_t vneg_abs(vec_t v)
{
    return _mm512_or_ps(_mm512_set1_ps(-0.0f), v);
}
#define vexp Sleef_expf16_u10avx512f
#define vlog1p Sleef_log1pf16_u10avx512f
#define vlog Sleef_logf16_u35avx512f

static inline float vsum(vec_t v)
{
    return _mm512_reduce_add_ps(v);
}

/* Stores vsum(v[u]) in out[u] for the 16 vectors v[], bit for bit. Each level adds the pairs
 * that vsum adds (lane i with i + 8, then i + 4, i + 2 and i + 1), but four levels of shuffles
 * and adds serve all 16 sums, because each packs the halves it adds of two vectors into one. */
static inline void vsum_lanes(const vec_t v[16], float out[16])
{
    vec_t p[8], q[4], r[2], t;

    /* p[j]: lanes i + (i + 8) of v[2j] in its low 256 bits, of v[2j + 1] in its high. */
    for (int j = 0; j < 8; j++)
        p[j] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * j], v[2 * j + 1], 0x44),
                             _mm512_shuffle_f32x4(v[2 * j], v[2 * j + 1], 0xEE));
    /* q[j]: block b (4 lanes) contains i + (i + 4) of v[4j + b]. */
    for (int j = 0; j < 4; j++)
        q[j] = _mm512_add_ps(_mm512_shuffle_f32x4(p[2 * j], p[2 * j + 1], 0x88),
                             _mm512_shuffle_f32x4(p[2 * j], p[2 * j + 1], 0xDD));
    /* r[j]: block b contains i + (i + 2) of v[8j + b] in lanes 0-1 and of v[8j + 4 + b] in 2-3. */
    for (int j = 0; j < 2; j++)
        r[j] = _mm512_add_ps(_mm512_shuffle_ps(q[2 * j], q[2 * j + 1], 0x44),
                             _mm512_shuffle_ps(q[2 * j], q[2 * j + 1], 0xEE));
    /* Lane 4b + c contains the sum of v[4c + b]. */
    t = _mm512_add_ps(_mm512_shuffle_ps(r[0], r[1], 0x88), _mm512_shuffle_ps(r[0], r[1], 0xDD));
    t = _mm512_permutexvar_ps(
        _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), t);
    _mm512_storeu_ps(out, t);
}

/* The sum of the lanes, each widened to double first. */
static inline double vsum_double(vec_t v)
{
    __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    __m512d hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));

    return _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
}

/* if_zero where y == 0, if_one where y == 1, otherwise general. */
static inline vec_t vselect_label(vec_t y, vec_t if_zero, vec_t if_one, vec_t general)
{
    __mmask16 is_zero = _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_EQ_OQ);
    __mmask16 is_one = _mm512_cmp_ps_mask(y, _mm512_set1_ps(1.0f), _CMP_EQ_OQ);

    return _mm512_mask_mov_ps(_mm512_mask_mov_ps(general, is_zero, if_zero), is_one, if_one);
}

/* if_negative where the sign bit of z is set (-0 included), otherwise if_positive. */
static inline vec_t vselect_sign(vec_t z, vec_t if_positive, vec_t if_negative)
{
    return _mm512_mask_mov_ps(if_positive, _mm512_movepi32_mask(_mm512_castps_si512(z)),
                              if_negative);
}

/* Lanes below n where (p >= 0.5) == (y == 1). */
static inline size_t vcount_hits(vec_t p, vec_t y, size_t n)
{
    __mmask16 predicted = _mm512_cmp_ps_mask(p, _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    __mmask16 positive = _mm512_cmp_ps_mask(y, _mm512_set1_ps(1.0f), _CMP_EQ_OQ);
    __mmask16 same = (__mmask16)(~(predicted ^ positive) & lanes_below(n));

    return (size_t)__builtin_popcount(same);
}

/* 1 in the lanes where (p >= 0.5) != (y == 1), else 0. */
static inline vec_t vmisses(vec_t p, vec_t y)
{
    __mmask16 predicted = _mm512_cmp_ps_mask(p, _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    __mmask16 positive = _mm512_cmp_ps_mask(y, _mm512_set1_ps(1.0f), _CMP_EQ_OQ);

    return _mm512_maskz_mov_ps((__mmask16)(predicted ^ positive), _mm512_set1_ps(1.0f));
}

/* Loads lane l from base[off[l]], with two gathers of 8 lanes with 64-bit indices, scaled by 4 bytes. */
static inline vec_t vgather(const float *base, const size_t *off)
{
    __m256 lo = _mm512_i64gather_ps(_mm512_loadu_si512((const void *)off), base, 4);
    __m256 hi = _mm512_i64gather_ps(_mm512_loadu_si512((const void *)(off + 8)), base, 4);

    return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
}

/* Splits the 2 VL floats at p into those at even and at odd offsets: the two features of VL
 * consecutive rows of two. */
static inline void vload_pairs(const float *p, vec_t *even, vec_t *odd)
{
    __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    __m512i io = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    vec_t a = _mm512_loadu_ps(p), b = _mm512_loadu_ps(p + 16);

    *even = _mm512_permutex2var_ps(a, ie, b);
    *odd = _mm512_permutex2var_ps(a, io, b);
}

/* Splits the 3 VL floats at p by offset modulo 3: the three columns of VL consecutive rows of
 * three. Float 3 l + k lies in vector (3 l + k) / 16 at slot (3 l + k) % 16. As 16 leaves 1
 * modulo 3, the slots of column k in the three vectors do not overlap, so two blends put column
 * k in one vector, and a permutation puts it in row order. */
static inline void vload_triples(const float *p, vec_t *c0, vec_t *c1, vec_t *c2)
{
    /* Slots s with s % 3 == 0, 1 and 2. */
    const __mmask16 r0 = 0x9249, r1 = 0x2492, r2 = 0x4924;
    vec_t a = _mm512_loadu_ps(p), b = _mm512_loadu_ps(p + 16), c = _mm512_loadu_ps(p + 32);

    /* Column k takes b's slots with s % 3 == (k + 2) % 3 and c's with s % 3 == (k + 1) % 3. */
    *c0 = _mm512_permutexvar_ps(
        _mm512_setr_epi32(0, 3, 6, 9, 12, 15, 2, 5, 8, 11, 14, 1, 4, 7, 10, 13),
        _mm512_mask_blend_ps(r1, _mm512_mask_blend_ps(r2, a, b), c));
    *c1 = _mm512_permutexvar_ps(
        _mm512_setr_epi32(1, 4, 7, 10, 13, 0, 3, 6, 9, 12, 15, 2, 5, 8, 11, 14),
        _mm512_mask_blend_ps(r2, _mm512_mask_blend_ps(r0, a, b), c));
    *c2 = _mm512_permutexvar_ps(
        _mm512_setr_epi32(2, 5, 8, 11, 14, 1, 4, 7, 10, 13, 0, 3, 6, 9, 12, 15),
        _mm512_mask_blend_ps(r0, _mm512_mask_blend_ps(r1, a, b), c));
}

typedef __m512i vindex_t;

/* Offsets 0, stride, ..., 15 stride as 32-bit lanes; stride is below 2^25
 * (GATHER_STRIDE_MAX). */
static inline vindex_t vstride_index(size_t stride)
{
    return _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32((int)stride));
}

static inline vec_t vgather_index(const float *base, vindex_t index)
{
    return _mm512_i32gather_ps(index, base, 4);
}

/* Transposes the 4 x 4 block of floats in each 128-bit lane of in[0 .. 3]: float i of lane q
 * of out[c] is float c of lane q of in[i]. Pairs of floats interleave first, then pairs of
 * doubles. */
static inline void transpose_lanes4(const vec_t in[4], vec_t out[4])
{
    __m512d a0 = _mm512_castps_pd(_mm512_unpacklo_ps(in[0], in[1]));
    __m512d a1 = _mm512_castps_pd(_mm512_unpackhi_ps(in[0], in[1]));
    __m512d a2 = _mm512_castps_pd(_mm512_unpacklo_ps(in[2], in[3]));
    __m512d a3 = _mm512_castps_pd(_mm512_unpackhi_ps(in[2], in[3]));

    out[0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
    out[1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
    out[2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
    out[3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
}

/* Loads the first width (1 to 4) floats at base + off[l] for each lane l, and transposes them
 * so that lane l of col[j] is base[off[l] + j] for j < width. The other columns are zero, and
 * no float past width is read. Lane q of rows[k] takes row 4 q + k, so that transpose_lanes4
 * puts the rows in order. */
static inline void vload_columns4(const float *base, const size_t *off, size_t width, vec_t col[4])
{
    __mmask8 keep = (__mmask8)((1u << width) - 1u);
    vec_t rows[4];

    for (int k = 0; k < 4; k++) {
        vec_t v = _mm512_castps128_ps512(_mm_maskz_loadu_ps(keep, base + off[k]));

        v = _mm512_insertf32x4(v, _mm_maskz_loadu_ps(keep, base + off[k + 4]), 1);
        v = _mm512_insertf32x4(v, _mm_maskz_loadu_ps(keep, base + off[k + 8]), 2);
        rows[k] = _mm512_insertf32x4(v, _mm_maskz_loadu_ps(keep, base + off[k + 12]), 3);
    }
    transpose_lanes4(rows, col);
}

/* Transposes the 16 x 16 block in v: afterwards lane i of v[c] is what lane c of v[i] was
 * before. Each group of 4 rows is transposed within its 128-bit lanes, and two rounds of
 * 128-bit shuffles then bring the lanes together. */
static inline void vtranspose(vec_t v[VL])
{
    vec_t b[VL];

    /* Lane q of b[4g + m] contains column 4q + m of rows 4g .. 4g + 3. */
    for (int g = 0; g < 4; g++)
        transpose_lanes4(v + 4 * g, b + 4 * g);
    /* Column 4q + m gathers lane q of b[m], b[4 + m], b[8 + m] and b[12 + m]. */
    for (int m = 0; m < 4; m++) {
        vec_t lo01 = _mm512_shuffle_f32x4(b[m], b[4 + m], 0x44);
        vec_t hi01 = _mm512_shuffle_f32x4(b[m], b[4 + m], 0xEE);
        vec_t lo23 = _mm512_shuffle_f32x4(b[8 + m], b[12 + m], 0x44);
        vec_t hi23 = _mm512_shuffle_f32x4(b[8 + m], b[12 + m], 0xEE);

        v[m] = _mm512_shuffle_f32x4(lo01, lo23, 0x88);
        v[4 + m] = _mm512_shuffle_f32x4(lo01, lo23, 0xDD);
        v[8 + m] = _mm512_shuffle_f32x4(hi01, hi23, 0x88);
        v[12 + m] = _mm512_shuffle_f32x4(hi01, hi23, 0xDD);
    }
}

#include "simd_template.h"

const bmlp_kernels_t bmlp_kernels_avx512 = KERNEL_TABLE("avx512");
