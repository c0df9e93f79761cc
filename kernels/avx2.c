/* The AVX2 kernels: 8 float lanes, compiled with -mavx2 -mfma only in this file, with exp and
 * log1p from SLEEF's AVX2 functions. */
#include <immintrin.h>

#include <sleef.h>

typedef __m256 vec_t;
#define VL 8
#define MR 6 /* 6 x 2 accumulators, 2 panel vectors and 1 broadcast use 15 of 16 registers */
#define GR 3 /* 3 x 3 accumulators and 6 operand vectors in the weight gradient */
#define GC 3
#define KNAME(name) name##_avx2

/* An integer mask with all bits set in the lanes below n. */
static inline __m256i lanes_below(size_t n)
{
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);

    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), iota);
}

static inline vec_t vzero(void)
{
    return _mm256_setzero_ps();
}

static inline vec_t vset1(float x)
{
    return _mm256_set1_ps(x);
}

static inline vec_t vload(const float *p)
{
    return _mm256_loadu_ps(p);
}

static inline void vstore(float *p, vec_t v)
{
    _mm256_storeu_ps(p, v);
}

static inline vec_t vload_n(const float *p, size_t n)
{
    return _mm256_maskload_ps(p, lanes_below(n));
}

static inline void vstore_n(float *p, vec_t v, size_t n)
{
    _mm256_maskstore_ps(p, lanes_below(n), v);
}

static inline vec_t vkeep_n(vec_t v, size_t n)
{
    return _mm256_and_ps(v, _mm256_castsi256_ps(lanes_below(n)));
}

#define vfma _mm256_fmadd_ps
#define vadd _mm256_add_ps
#define vsub _mm256_sub_ps
#define vmul _mm256_mul_ps
#define vdiv _mm256_div_ps
#define vmax _mm256_max_ps
#define vexp Sleef_expf8_u10avx2
#define vlog1p Sleef_log1pf8_u10avx2
#define vlog Sleef_logf8_u35avx2

static inline vec_t vabs(vec_t v)
{
    return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

static inline vec_t vneg_abs(vec_t v)
{
    return _mm256_or_ps(_mm256_set1_ps(-0.0f), v);
}

static inline float vsum(vec_t v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Stores vsum(v[u]) in out[u] for the 8 vectors v[], bit for bit. Each level adds the pairs
 * that vsum adds (lane i with i + 4, then i + 2 and i + 1), but three levels of shuffles and
 * adds serve all 8 sums, because each packs the halves it adds of two vectors into one. */
static inline void vsum_lanes(const vec_t v[8], float out[8])
{
    vec_t p[4], q[2], t;

    /* p[j]: lanes i + (i + 4) of v[2j] in its low 128 bits, of v[2j + 1] in its high. */
    for (int j = 0; j < 4; j++)
        p[j] = _mm256_add_ps(_mm256_permute2f128_ps(v[2 * j], v[2 * j + 1], 0x20),
                             _mm256_permute2f128_ps(v[2 * j], v[2 * j + 1], 0x31));
    /* q[j]: half h contains i + (i + 2) of v[4j + h] in lanes 0-1 and of v[4j + 2 + h] in 2-3. */
    for (int j = 0; j < 2; j++)
        q[j] = _mm256_add_ps(_mm256_shuffle_ps(p[2 * j], p[2 * j + 1], 0x44),
                             _mm256_shuffle_ps(p[2 * j], p[2 * j + 1], 0xEE));
    /* Lane 4h + c contains the sum of v[2c + h]. */
    t = _mm256_add_ps(_mm256_shuffle_ps(q[0], q[1], 0x88), _mm256_shuffle_ps(q[0], q[1], 0xDD));
    t = _mm256_permutevar8x32_ps(t, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_ps(out, t);
}

/* The sum of the lanes, each widened to double first. */
static inline double vsum_double(vec_t v)
{
    __m256d d = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)),
                              _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(d), _mm256_extractf128_pd(d, 1));

    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

/* if_zero where y == 0, if_one where y == 1, otherwise general. */
static inline vec_t vselect_label(vec_t y, vec_t if_zero, vec_t if_one, vec_t general)
{
    vec_t is_zero = _mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_EQ_OQ);
    vec_t is_one = _mm256_cmp_ps(y, _mm256_set1_ps(1.0f), _CMP_EQ_OQ);

    return _mm256_blendv_ps(_mm256_blendv_ps(general, if_zero, is_zero), if_one, is_one);
}

/* if_negative where the sign bit of z is set (-0 included), otherwise if_positive. */
static inline vec_t vselect_sign(vec_t z, vec_t if_positive, vec_t if_negative)
{
    return _mm256_blendv_ps(if_positive, if_negative, z);
}

/* Lanes below n where (p >= 0.5) == (y == 1). */
static inline size_t vcount_hits(vec_t p, vec_t y, size_t n)
{
    int predicted = _mm256_movemask_ps(_mm256_cmp_ps(p, _mm256_set1_ps(0.5f), _CMP_GE_OQ));
    int positive = _mm256_movemask_ps(_mm256_cmp_ps(y, _mm256_set1_ps(1.0f), _CMP_EQ_OQ));
    unsigned same = ~(unsigned)(predicted ^ positive) & ((1u << n) - 1u);

    return (size_t)__builtin_popcount(same);
}

/* 1 in the lanes where (p >= 0.5) != (y == 1), else 0. */
static inline vec_t vmisses(vec_t p, vec_t y)
{
    vec_t predicted = _mm256_cmp_ps(p, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    vec_t positive = _mm256_cmp_ps(y, _mm256_set1_ps(1.0f), _CMP_EQ_OQ);

    return _mm256_and_ps(_mm256_xor_ps(predicted, positive), _mm256_set1_ps(1.0f));
}

/* Loads lane l from base[off[l]], with two gathers of 4 lanes with 64-bit indices, scaled by 4 bytes. */
static inline vec_t vgather(const float *base, const size_t *off)
{
    __m128 lo = _mm256_i64gather_ps(base, _mm256_loadu_si256((const __m256i *)off), 4);
    __m128 hi = _mm256_i64gather_ps(base, _mm256_loadu_si256((const __m256i *)(off + 4)), 4);

    return _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
}

/* Splits the 2 VL floats at p into those at even and at odd offsets: the two features of VL
 * consecutive rows of two. */
static inline void vload_pairs(const float *p, vec_t *even, vec_t *odd)
{
    vec_t a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);

    /* Within 128-bit halves, then the 64-bit quarters put in order. */
    *even = _mm256_castpd_ps(
        _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8));
    *odd = _mm256_castpd_ps(
        _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8));
}

/* Splits the 3 VL floats at p by offset modulo 3: the three columns of VL consecutive rows of
 * three. Float 3 l + k lies in vector (3 l + k) / 8 at slot (3 l + k) % 8. As 8 leaves 2
 * modulo 3, the slots of column k in the three vectors do not overlap, so two blends put column
 * k in one vector, and a permutation puts it in row order. */
static inline void vload_triples(const float *p, vec_t *c0, vec_t *c1, vec_t *c2)
{
    vec_t a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8), c = _mm256_loadu_ps(p + 16);

    /* Column k takes b's slots with s % 3 == (k + 1) % 3 and c's with s % 3 == (k + 2) % 3.
     * The masks of slots s with s % 3 == 0, 1 and 2 are 0x49, 0x92 and 0x24. */
    *c0 = _mm256_permutevar8x32_ps(_mm256_blend_ps(_mm256_blend_ps(a, b, 0x92), c, 0x24),
                                   _mm256_setr_epi32(0, 3, 6, 1, 4, 7, 2, 5));
    *c1 = _mm256_permutevar8x32_ps(_mm256_blend_ps(_mm256_blend_ps(a, b, 0x24), c, 0x49),
                                   _mm256_setr_epi32(1, 4, 7, 2, 5, 0, 3, 6));
    *c2 = _mm256_permutevar8x32_ps(_mm256_blend_ps(_mm256_blend_ps(a, b, 0x49), c, 0x92),
                                   _mm256_setr_epi32(2, 5, 0, 3, 6, 1, 4, 7));
}

typedef __m256i vindex_t;

/* Offsets 0, stride, ..., 7 stride as 32-bit lanes; stride is below 2^25
 * (GATHER_STRIDE_MAX). */
static inline vindex_t vstride_index(size_t stride)
{
    return _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                              _mm256_set1_epi32((int)stride));
}

static inline vec_t vgather_index(const float *base, vindex_t index)
{
    return _mm256_i32gather_ps(base, index, 4);
}

/* Transposes the 4 x 4 block of floats in each 128-bit half of in[0 .. 3]: float i of half q
 * of out[c] is float c of half q of in[i]. Pairs of floats interleave first, then pairs of
 * doubles. */
static inline void transpose_lanes4(const vec_t in[4], vec_t out[4])
{
    __m256d a0 = _mm256_castps_pd(_mm256_unpacklo_ps(in[0], in[1]));
    __m256d a1 = _mm256_castps_pd(_mm256_unpackhi_ps(in[0], in[1]));
    __m256d a2 = _mm256_castps_pd(_mm256_unpacklo_ps(in[2], in[3]));
    __m256d a3 = _mm256_castps_pd(_mm256_unpackhi_ps(in[2], in[3]));

    out[0] = _mm256_castpd_ps(_mm256_unpacklo_pd(a0, a2));
    out[1] = _mm256_castpd_ps(_mm256_unpackhi_pd(a0, a2));
    out[2] = _mm256_castpd_ps(_mm256_unpacklo_pd(a1, a3));
    out[3] = _mm256_castpd_ps(_mm256_unpackhi_pd(a1, a3));
}

/* Loads the first width (1 to 4) floats at base + off[l] for each lane l, and transposes them
 * so that lane l of col[j] is base[off[l] + j] for j < width. The other columns are zero, and
 * no float past width is read. Half q of rows[k] takes row 4 q + k, so that transpose_lanes4
 * puts the rows in order. */
static inline void vload_columns4(const float *base, const size_t *off, size_t width, vec_t col[4])
{
    __m128i keep = _mm_cmpgt_epi32(_mm_set1_epi32((int)width), _mm_setr_epi32(0, 1, 2, 3));
    vec_t rows[4];

    for (int k = 0; k < 4; k++)
        rows[k] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_maskload_ps(base + off[k], keep)),
                                       _mm_maskload_ps(base + off[k + 4], keep), 1);
    transpose_lanes4(rows, col);
}

/* Transposes the 8 x 8 block in v: afterwards lane i of v[c] is what lane c of v[i] was
 * before. Each group of 4 rows is transposed within its 128-bit halves, and one round of
 * 128-bit permutes then brings the halves together. */
static inline void vtranspose(vec_t v[VL])
{
    vec_t b[VL];

    /* Half q of b[4g + m] contains column 4q + m of rows 4g .. 4g + 3. */
    for (int g = 0; g < 2; g++)
        transpose_lanes4(v + 4 * g, b + 4 * g);
    for (int m = 0; m < 4; m++) {
        v[m] = _mm256_permute2f128_ps(b[m], b[4 + m], 0x20);
        v[4 + m] = _mm256_permute2f128_ps(b[m], b[4 + m], 0x31);
    }
}

#include "simd_template.h"

const bmlp_kernels_t bmlp_kernels_avx2 = KERNEL_TABLE("avx2");
