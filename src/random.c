#include <immintrin.h>
#include <math.h>
#include <string.h>

#include <Random123/philox.h>

#include "random.h"

void bmlp_random_block(uint64_t seed, uint32_t stream, uint64_t index, uint32_t out[4])
{
    philox4x32_ctr_t ctr = {{(uint32_t)index, (uint32_t)(index >> 32), stream, 0}};
    philox4x32_key_t key = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
    philox4x32_ctr_t r = philox4x32(ctr, key);

    for (int i = 0; i < 4; i++)
        out[i] = r.v[i];
}

/* Counters per pass of the portable batch loop. */
#define BATCH 64

/* Philox4x32-10 on n <= BATCH counters in structure-of-arrays form, so that compilers
 * vectorize the 32 x 32 -> 64-bit multiplies across counters. */
static void blocks_portable(uint64_t seed, uint32_t stream, const uint64_t *index, size_t n,
                            uint32_t *const out[4])
{
    uint32_t c0[BATCH], c1[BATCH], c2[BATCH], c3[BATCH];
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);

    if (n == 0)
        return;
    for (size_t j = 0; j < n; j++) {
        c0[j] = (uint32_t)index[j];
        c1[j] = (uint32_t)(index[j] >> 32);
        c2[j] = stream;
        c3[j] = 0;
    }
    for (int round = 0; round < 10; round++) {
        for (size_t j = 0; j < n; j++) {
            uint64_t p0 = (uint64_t)c0[j] * PHILOX_M4x32_0;
            uint64_t p1 = (uint64_t)c2[j] * PHILOX_M4x32_1;
            uint32_t next0 = (uint32_t)(p1 >> 32) ^ c1[j] ^ k0;
            uint32_t next2 = (uint32_t)(p0 >> 32) ^ c3[j] ^ k1;

            c0[j] = next0;
            c1[j] = (uint32_t)p1;
            c2[j] = next2;
            c3[j] = (uint32_t)p0;
        }
        k0 += PHILOX_W32_0;
        k1 += PHILOX_W32_1;
    }
    memcpy(out[0], c0, n * sizeof(uint32_t));
    memcpy(out[1], c1, n * sizeof(uint32_t));
    memcpy(out[2], c2, n * sizeof(uint32_t));
    memcpy(out[3], c3, n * sizeof(uint32_t));
}

/* Vectors in flight per pass of the AVX2 and AVX-512 loops: a Philox round is a chain of
 * dependent multiplies, so interleaving independent vectors keeps the multipliers busy. */
#define VECTORS 4

/* The high and low 32 bits of the products of the eight 32-bit lanes of c with m. */
__attribute__((target("avx2"))) static inline void mulhilo_avx2(__m256i c, __m256i m, __m256i *hi,
                                                                __m256i *lo)
{
    __m256i even = _mm256_mul_epu32(c, m);
    __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(c, 32), m);

    *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

/* Philox4x32-10 on VECTORS x 8 counters, one counter per 32-bit lane. */
__attribute__((target("avx2"))) static void blocks_avx2(uint64_t seed, uint32_t stream,
                                                        const uint64_t *index,
                                                        uint32_t *const out[4], size_t at)
{
    const __m256i m0 = _mm256_set1_epi32((int)PHILOX_M4x32_0);
    const __m256i m1 = _mm256_set1_epi32((int)PHILOX_M4x32_1);
    const __m256i halves = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    __m256i c0[VECTORS], c1[VECTORS], c2[VECTORS], c3[VECTORS];
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    /* The first round's words 2 and 3 are the stream and 0 for every counter, so its second
     * product is one scalar and its last exclusive or drops out. */
    uint64_t first_p1 = (uint64_t)stream * PHILOX_M4x32_1;
    const __m256i first_key0 = _mm256_set1_epi32((int)((uint32_t)(first_p1 >> 32) ^ k0));
    const __m256i first_lo1 = _mm256_set1_epi32((int)(uint32_t)first_p1);
    const __m256i first_key1 = _mm256_set1_epi32((int)k1);

    for (int v = 0; v < VECTORS; v++) {
        /* Each load reads four 64-bit counters, so gather their low and high words. */
        __m256i a = _mm256_loadu_si256((const __m256i *)(index + 8 * v));
        __m256i b = _mm256_loadu_si256((const __m256i *)(index + 8 * v + 4));
        __m256i low, high, hi0, lo0;

        a = _mm256_permutevar8x32_epi32(a, halves);
        b = _mm256_permutevar8x32_epi32(b, halves);
        low = _mm256_permute2x128_si256(a, b, 0x20);
        high = _mm256_permute2x128_si256(a, b, 0x31);
        mulhilo_avx2(low, m0, &hi0, &lo0);
        c0[v] = _mm256_xor_si256(high, first_key0);
        c1[v] = first_lo1;
        c2[v] = _mm256_xor_si256(hi0, first_key1);
        c3[v] = lo0;
    }
    k0 += PHILOX_W32_0;
    k1 += PHILOX_W32_1;
    for (int round = 1; round < 10; round++) {
        __m256i key0 = _mm256_set1_epi32((int)k0), key1 = _mm256_set1_epi32((int)k1);

        for (int v = 0; v < VECTORS; v++) {
            __m256i hi0, lo0, hi1, lo1;

            mulhilo_avx2(c0[v], m0, &hi0, &lo0);
            mulhilo_avx2(c2[v], m1, &hi1, &lo1);
            c0[v] = _mm256_xor_si256(_mm256_xor_si256(hi1, c1[v]), key0);
            c2[v] = _mm256_xor_si256(_mm256_xor_si256(hi0, c3[v]), key1);
            c1[v] = lo1;
            c3[v] = lo0;
        }
        k0 += PHILOX_W32_0;
        k1 += PHILOX_W32_1;
    }
    for (int v = 0; v < VECTORS; v++) {
        _mm256_storeu_si256((__m256i *)(out[0] + at + 8 * v), c0[v]);
        _mm256_storeu_si256((__m256i *)(out[1] + at + 8 * v), c1[v]);
        _mm256_storeu_si256((__m256i *)(out[2] + at + 8 * v), c2[v]);
        _mm256_storeu_si256((__m256i *)(out[3] + at + 8 * v), c3[v]);
    }
}

/*
 * The AVX-512 loop keeps each counter word in a 64-bit lane, with its value in the low half and
 * anything in the high half, because the 32 x 32 -> 64-bit multiply reads only the low half and
 * leaves the product's high and low words in one lane. A round is then two multiplies, two
 * shuffles that swap the halves of each lane (bringing the product's high word down) and two
 * three-way exclusive ors per vector, with no blends. Only the output is packed back to one
 * counter per 32-bit lane. The same layout made the AVX2 loop slower, because it halves the
 * counters per vector while the 16 AVX2 registers cannot hold more vectors in flight.
 */

/* Swaps the 32-bit halves of every 64-bit lane. */
#define SWAP_HALVES 0xB1

#define AVX512_TARGET __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))

/* Philox4x32-10 on VECTORS x 8 counters. */
AVX512_TARGET static void blocks_avx512(uint64_t seed, uint32_t stream, const uint64_t *index,
                                        uint32_t *const out[4], size_t at)
{
    const __m512i m0 = _mm512_set1_epi64(PHILOX_M4x32_0);
    const __m512i m1 = _mm512_set1_epi64(PHILOX_M4x32_1);
    const __m512i low_words = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                                28, 30);
    __m512i c0[VECTORS], c1[VECTORS], c2[VECTORS], c3[VECTORS];
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    /* The first round's words 2 and 3 are the stream and 0 for every counter, so its second
     * product is one scalar and its last exclusive or drops out. */
    uint64_t first_p1 = (uint64_t)stream * PHILOX_M4x32_1;
    const __m512i first_key0 = _mm512_set1_epi32((int)((uint32_t)(first_p1 >> 32) ^ k0));
    const __m512i first_lo1 = _mm512_set1_epi32((int)(uint32_t)first_p1);
    const __m512i first_key1 = _mm512_set1_epi32((int)k1);

    for (int v = 0; v < VECTORS; v++) {
        __m512i counter = _mm512_loadu_si512((const void *)(index + 8 * v));
        __m512i p0 = _mm512_mul_epu32(counter, m0);

        c0[v] = _mm512_xor_si512(_mm512_srli_epi64(counter, 32), first_key0);
        c1[v] = first_lo1;
        c2[v] = _mm512_xor_si512(_mm512_shuffle_epi32(p0, SWAP_HALVES), first_key1);
        c3[v] = p0;
    }
    k0 += PHILOX_W32_0;
    k1 += PHILOX_W32_1;
    for (int round = 1; round < 10; round++) {
        __m512i key0 = _mm512_set1_epi32((int)k0), key1 = _mm512_set1_epi32((int)k1);

        for (int v = 0; v < VECTORS; v++) {
            __m512i p0 = _mm512_mul_epu32(c0[v], m0);
            __m512i p1 = _mm512_mul_epu32(c2[v], m1);

            /* 0x96 is the truth table of a three-way exclusive or. */
            c0[v] = _mm512_ternarylogic_epi32(_mm512_shuffle_epi32(p1, SWAP_HALVES), c1[v], key0,
                                              0x96);
            c2[v] = _mm512_ternarylogic_epi32(_mm512_shuffle_epi32(p0, SWAP_HALVES), c3[v], key1,
                                              0x96);
            c1[v] = p1;
            c3[v] = p0;
        }
        k0 += PHILOX_W32_0;
        k1 += PHILOX_W32_1;
    }
    for (int v = 0; v < VECTORS; v += 2) {
        __m512i *const words[4] = {c0, c1, c2, c3};

        for (int k = 0; k < 4; k++)
            _mm512_storeu_si512((void *)(out[k] + at + 8 * v),
                                _mm512_permutex2var_epi32(words[k][v], low_words, words[k][v + 1]));
    }
}

void bmlp_random_blocks(bmlp_isa_t isa, uint64_t seed, uint32_t stream, const uint64_t *index,
                        size_t n, uint32_t *const out[4])
{
    size_t done = 0;

    if (isa == BMLP_ISA_AVX512) {
        for (; done + 8 * VECTORS <= n; done += 8 * VECTORS)
            blocks_avx512(seed, stream, index + done, out, done);
    } else if (isa == BMLP_ISA_AVX2) {
        for (; done + 8 * VECTORS <= n; done += 8 * VECTORS)
            blocks_avx2(seed, stream, index + done, out, done);
    }
    while (done < n) {
        size_t count = n - done < BATCH ? n - done : BATCH;
        uint32_t *const part[4] = {out[0] + done, out[1] + done, out[2] + done, out[3] + done};

        blocks_portable(seed, stream, index + done, count, part);
        done += count;
    }
}

/* Maps 64 random bits to [0, 1) using the top 53. */
static double to_unit(uint32_t hi, uint32_t lo)
{
    uint64_t bits = ((uint64_t)hi << 32 | lo) >> 11;

    return (double)bits * 0x1.0p-53;
}

double bmlp_random_uniform(uint64_t seed, uint32_t stream, uint64_t index)
{
    uint32_t w[4];

    bmlp_random_block(seed, stream, index, w);
    return to_unit(w[0], w[1]);
}

void bmlp_random_uniform2(uint64_t seed, uint32_t stream, uint64_t index, double out[2])
{
    uint32_t w[4];

    bmlp_random_block(seed, stream, index, w);
    out[0] = to_unit(w[0], w[1]);
    out[1] = to_unit(w[2], w[3]);
}

void bmlp_random_normal2(uint64_t seed, uint32_t stream, uint64_t index, double out[2])
{
    const double two_pi = 6.283185307179586476925286766559;
    double u[2];
    double radius;

    bmlp_random_uniform2(seed, stream, index, u);
    /* 1 - u lies in (0, 1], so the logarithm is finite. */
    radius = sqrt(-2.0 * log(1.0 - u[0]));
    out[0] = radius * cos(two_pi * u[1]);
    out[1] = radius * sin(two_pi * u[1]);
}

uint64_t bmlp_random_below(uint64_t seed, uint32_t stream, uint64_t index, uint64_t bound)
{
    uint64_t k = (uint64_t)(bmlp_random_uniform(seed, stream, index) * (double)bound);

    return k < bound ? k : bound - 1;
}
