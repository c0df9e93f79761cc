/*
 * The Feistel permutation of permute.h over arrays, with AVX-512 and AVX2 paths that carry 16
 * and 8 elements per pair of vectors of 32-bit lanes.
 *
 * Each part of an element has at most 31 bits, and the round function is 32-bit arithmetic.
 * So a vector path splits 64-bit elements into their high and low parts once, runs the rounds
 * and the cycle walk on vectors of 32-bit parts, and joins the parts at the end. Every lane
 * gets the bits of the scalar function.
 *
 * A lane whose value is n or more after a pass must walk on. Walking each vector until all its
 * lanes were below n ran one vector at a time through a chain of dependent multiplies, as often
 * as its longest walk: with n = 600000 (2^20 / n = 1.75) an element took 15 ns with AVX-512
 * against 1.5 ns for n = 2^20. So the lanes that walk are set aside with their positions, and
 * once there are enough of them, they go through the network together, as full vectors. On
 * an Ice Lake core an element now takes 1.1 ns for n = 2^20 and 3.0 ns for n = 600000 with
 * AVX-512, and 1.8 and 7.6 ns with AVX2.
 */
#include <stdint.h>
#include <string.h>

#include <immintrin.h>

#include "permute_batch.h"

#define AVX512 __attribute__((target("avx512f")))
#define AVX2 __attribute__((target("avx2")))

/* Pairs of vectors that each loop carries through the network side by side, so that the
 * chains of dependent multiplies of one pair overlap with the others. */
#define CHAINS 8

/* The per-round constants of a permutation, and the parts of n for the cycle walk. */
typedef struct {
    uint32_t key[BMLP_PERMUTATION_ROUNDS];
    uint32_t mask[BMLP_PERMUTATION_ROUNDS]; /* width mask of the part that round r changes */
    uint32_t n_high, n_low;                 /* n >> low_bits and n & low_mask */
    int walks;                              /* n is below 2^b: some values walk */
} rounds_t;

/* Elements that walk on: their parts, and their positions in the array. Up to 2 * WALK_BATCH
 * are held, and each array has one vector's room to spare for full-vector stores. */
#define WALK_BATCH (16 * CHAINS)
typedef struct {
    uint32_t high[2 * WALK_BATCH + 16], low[2 * WALK_BATCH + 16];
    size_t at[2 * WALK_BATCH + 16];
    size_t count;
} walkers_t;

/* Adds the lanes of mask (at most 16) of the parts high and low to w, the lane j with position
 * at[j], or first + j when at is NULL. */
static void walkers_add(walkers_t *w, const uint32_t *high, const uint32_t *low, size_t first,
                        const size_t *at, unsigned mask)
{
    for (; mask != 0; mask &= mask - 1) {
        unsigned j = (unsigned)__builtin_ctz(mask);

        w->high[w->count] = high[j];
        w->low[w->count] = low[j];
        w->at[w->count++] = at != NULL ? at[j] : first + j;
    }
}

static void rounds_init(const bmlp_permutation_t *p, rounds_t *c)
{
    for (unsigned r = 0; r < BMLP_PERMUTATION_ROUNDS; r++) {
        c->key[r] = p->keys[r];
        c->mask[r] = (uint32_t)bmlp_permutation_mask(p, r);
    }
    c->n_high = (uint32_t)(p->n >> p->low_bits);
    c->n_low = (uint32_t)(p->n & p->low_mask);
    c->walks = p->n <= (p->high_mask << p->low_bits | p->low_mask);
}

/* bmlp_permutation_round on 16 lanes, the key given as a vector. */
AVX512 static inline __m512i round_512(__m512i x, __m512i key)
{
    __m512i v = _mm512_xor_si512(x, key);

    v = _mm512_xor_si512(v, _mm512_srli_epi32(v, 16));
    v = _mm512_mullo_epi32(v, _mm512_set1_epi32((int)BMLP_PERMUTATION_MUL_1));
    v = _mm512_xor_si512(v, _mm512_srli_epi32(v, 15));
    v = _mm512_mullo_epi32(v, _mm512_set1_epi32((int)BMLP_PERMUTATION_MUL_2));
    return _mm512_xor_si512(v, _mm512_srli_epi32(v, 16));
}

/* bmlp_permutation_forward on the n pairs (high[k], low[k]) of 16 parts each, n <= CHAINS. The
 * pairs go through each round together. */
AVX512 static inline void forward_512(const rounds_t *c, __m512i *high, __m512i *low, unsigned n)
{
    for (unsigned r = 0; r < BMLP_PERMUTATION_ROUNDS; r++) {
        const __m512i key = _mm512_set1_epi32((int)c->key[r]);
        const __m512i mask = _mm512_set1_epi32((int)c->mask[r]);

        for (unsigned k = 0; k < n; k++) {
            __m512i next = _mm512_xor_si512(high[k],
                                            _mm512_and_si512(round_512(low[k], key), mask));

            high[k] = low[k];
            low[k] = next;
        }
    }
}

/* The lanes in lanes whose value (high, low) is n or more. */
AVX512 static inline __mmask16 outside_512(const rounds_t *c, __m512i high, __m512i low,
                                           __mmask16 lanes)
{
    const __m512i nh = _mm512_set1_epi32((int)c->n_high);
    __mmask16 above = _mm512_mask_cmpgt_epu32_mask(lanes, high, nh);
    __mmask16 equal = _mm512_mask_cmpeq_epu32_mask(lanes, high, nh);

    return above | _mm512_mask_cmpge_epu32_mask(equal, low, _mm512_set1_epi32((int)c->n_low));
}

/* Splits the 16 elements at x (those of lanes) into their high and low parts, or the elements
 * first to first + 15 when x is NULL. */
AVX512 static inline void split_512(const bmlp_permutation_t *p, const size_t *x, size_t first,
                                    __mmask16 lanes, __m512i *high, __m512i *low)
{
    const __m512i low_mask = _mm512_set1_epi64((long long)p->low_mask);
    __m512i a, b;

    if (x != NULL) {
        a = _mm512_maskz_loadu_epi64((__mmask8)lanes, x);
        b = _mm512_maskz_loadu_epi64((__mmask8)(lanes >> 8), x + 8);
    } else {
        a = _mm512_add_epi64(_mm512_set1_epi64((long long)first),
                             _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7));
        b = _mm512_add_epi64(a, _mm512_set1_epi64(8));
    }

    *high = _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm512_cvtepi64_epi32(_mm512_srli_epi64(a, p->low_bits))),
        _mm512_cvtepi64_epi32(_mm512_srli_epi64(b, p->low_bits)), 1);
    *low = _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm512_cvtepi64_epi32(_mm512_and_si512(a, low_mask))),
        _mm512_cvtepi64_epi32(_mm512_and_si512(b, low_mask)), 1);
}

/* Joins the parts of 16 elements and stores those of lanes at x. */
AVX512 static inline void join_512(const bmlp_permutation_t *p, __m512i high, __m512i low,
                                   size_t *x, __mmask16 lanes)
{
    for (int half = 0; half < 2; half++) {
        __m256i h = half == 0 ? _mm512_castsi512_si256(high) : _mm512_extracti64x4_epi64(high, 1);
        __m256i l = half == 0 ? _mm512_castsi512_si256(low) : _mm512_extracti64x4_epi64(low, 1);
        __m512i v = _mm512_or_si512(_mm512_slli_epi64(_mm512_cvtepu32_epi64(h), p->low_bits),
                                    _mm512_cvtepu32_epi64(l));

        _mm512_mask_storeu_epi64(x + 8 * half, (__mmask8)(lanes >> (8 * half)), v);
    }
}

/* Sets aside the lanes of a pair whose value is n or more, those of lanes, the lane j being the
 * element at position at[j], or first + j when at is NULL. */
AVX512 static inline void set_aside_512(const rounds_t *c, walkers_t *w, __m512i high, __m512i low,
                                        size_t first, const size_t *at, __mmask16 lanes)
{
    __mmask16 out = outside_512(c, high, low, lanes);
    __m512i at_low, at_high;
    unsigned below = (unsigned)__builtin_popcount(out & 0xFFu);

    if (out == 0)
        return;
    if (at != NULL) {
        at_low = _mm512_loadu_si512((const void *)at);
        at_high = _mm512_loadu_si512((const void *)(at + 8));
    } else {
        at_low = _mm512_add_epi64(_mm512_set1_epi64((long long)first),
                                  _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7));
        at_high = _mm512_add_epi64(at_low, _mm512_set1_epi64(8));
    }
    _mm512_storeu_si512((void *)(w->high + w->count), _mm512_maskz_compress_epi32(out, high));
    _mm512_storeu_si512((void *)(w->low + w->count), _mm512_maskz_compress_epi32(out, low));
    _mm512_storeu_si512((void *)(w->at + w->count),
                        _mm512_maskz_compress_epi64((__mmask8)out, at_low));
    _mm512_storeu_si512((void *)(w->at + w->count + below),
                        _mm512_maskz_compress_epi64((__mmask8)(out >> 8), at_high));
    w->count += (size_t)__builtin_popcount(out);
}

/* Takes up to WALK_BATCH elements that walk on through the network once more, stores at their
 * positions in x those that arrive below n, and sets the others aside again. */
AVX512 static void walk_512(const bmlp_permutation_t *p, const rounds_t *c, walkers_t *w, size_t *x)
{
    size_t take = w->count < WALK_BATCH ? w->count : WALK_BATCH;
    size_t start = w->count - take;
    unsigned pairs = (unsigned)((take + 15) / 16);
    __m512i high[CHAINS], low[CHAINS];
    size_t at[WALK_BATCH];

    memcpy(at, w->at + start, take * sizeof(size_t));
    for (unsigned k = 0; k < pairs; k++) {
        high[k] = _mm512_loadu_si512((const void *)(w->high + start + 16 * k));
        low[k] = _mm512_loadu_si512((const void *)(w->low + start + 16 * k));
    }
    w->count = start;
    forward_512(c, high, low, pairs);
    for (unsigned k = 0; k < pairs; k++) {
        size_t left = take - 16 * k;
        __mmask16 lanes = left < 16 ? (__mmask16)((1u << left) - 1u) : (__mmask16)0xFFFF;
        __mmask16 done = lanes & (__mmask16)~outside_512(c, high[k], low[k], lanes);
        size_t v[16];

        join_512(p, high[k], low[k], v, 0xFFFF);
        for (int half = 0; half < 2; half++)
            _mm512_mask_i64scatter_epi64(
                (void *)x, (__mmask8)(done >> (8 * half)),
                _mm512_maskz_loadu_epi64((__mmask8)(lanes >> (8 * half)), at + 16 * k + 8 * half),
                _mm512_loadu_si512((const void *)(v + 8 * half)), 8);
        set_aside_512(c, w, high[k], low[k], 0, at + 16 * k, lanes);
    }
}

/* Stores in x[i] the element of in[i], or of position first + i when in is NULL, for i < count.
 * in may equal x. */
AVX512 static void apply_avx512(const bmlp_permutation_t *p, const size_t *in, size_t first,
                                size_t *x, size_t count)
{
    rounds_t c;
    walkers_t w;
    size_t i = 0;

    rounds_init(p, &c);
    w.count = 0;
    for (; i + WALK_BATCH <= count; i += WALK_BATCH) {
        __m512i high[CHAINS], low[CHAINS];

        for (unsigned k = 0; k < CHAINS; k++)
            split_512(p, in != NULL ? in + i + 16 * k : NULL, first + i + 16 * k, 0xFFFF, &high[k],
                      &low[k]);
        forward_512(&c, high, low, CHAINS);
        for (unsigned k = 0; k < CHAINS; k++) {
            join_512(p, high[k], low[k], x + i + 16 * k, 0xFFFF);
            if (c.walks)
                set_aside_512(&c, &w, high[k], low[k], i + 16 * k, NULL, 0xFFFF);
        }
        while (w.count >= WALK_BATCH)
            walk_512(p, &c, &w, x);
    }
    for (; i < count; i += 16) {
        size_t m = count - i < 16 ? count - i : 16;
        __mmask16 lanes = (__mmask16)((1u << m) - 1u);
        __m512i high, low;

        split_512(p, in != NULL ? in + i : NULL, first + i, lanes, &high, &low);
        forward_512(&c, &high, &low, 1);
        join_512(p, high, low, x + i, lanes);
        if (c.walks)
            set_aside_512(&c, &w, high, low, i, NULL, lanes);
        while (w.count >= WALK_BATCH)
            walk_512(p, &c, &w, x);
    }
    while (w.count > 0)
        walk_512(p, &c, &w, x);
}

/* round_512 on 8 lanes. */
AVX2 static inline __m256i round_256(__m256i x, __m256i key)
{
    __m256i v = _mm256_xor_si256(x, key);

    v = _mm256_xor_si256(v, _mm256_srli_epi32(v, 16));
    v = _mm256_mullo_epi32(v, _mm256_set1_epi32((int)BMLP_PERMUTATION_MUL_1));
    v = _mm256_xor_si256(v, _mm256_srli_epi32(v, 15));
    v = _mm256_mullo_epi32(v, _mm256_set1_epi32((int)BMLP_PERMUTATION_MUL_2));
    return _mm256_xor_si256(v, _mm256_srli_epi32(v, 16));
}

/* forward_512 on pairs of 8 parts. */
AVX2 static inline void forward_256(const rounds_t *c, __m256i *high, __m256i *low, unsigned n)
{
    for (unsigned r = 0; r < BMLP_PERMUTATION_ROUNDS; r++) {
        const __m256i key = _mm256_set1_epi32((int)c->key[r]);
        const __m256i mask = _mm256_set1_epi32((int)c->mask[r]);

        for (unsigned k = 0; k < n; k++) {
            __m256i next = _mm256_xor_si256(high[k],
                                            _mm256_and_si256(round_256(low[k], key), mask));

            high[k] = low[k];
            low[k] = next;
        }
    }
}

/* outside_512 on 8 lanes, those whose 32 bits in lanes are all ones. The signed comparisons
 * are exact because parts have at most 31 bits, and so has n_high when n is below 2^b. */
AVX2 static inline __m256i outside_256(const rounds_t *c, __m256i high, __m256i low, __m256i lanes)
{
    const __m256i nh = _mm256_set1_epi32((int)c->n_high);
    __m256i above = _mm256_cmpgt_epi32(high, nh);
    __m256i low_at_least = _mm256_cmpgt_epi32(low, _mm256_set1_epi32((int)c->n_low - 1));
    __m256i equal = _mm256_cmpeq_epi32(high, nh);

    return _mm256_and_si256(lanes, _mm256_or_si256(above, _mm256_and_si256(equal, low_at_least)));
}

/* The low 32 bits of the four 64-bit lanes of a and then of b, in one vector. */
AVX2 static inline __m256i narrow_256(__m256i a, __m256i b)
{
    const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);

    return _mm256_permute2x128_si256(_mm256_permutevar8x32_epi32(a, even),
                                     _mm256_permutevar8x32_epi32(b, even), 0x20);
}

/* split_512 for 8 elements. lanes has all ones in the 32-bit lanes to load. */
AVX2 static inline void split_256(const bmlp_permutation_t *p, const size_t *x, size_t first,
                                  __m256i lanes, __m256i *high, __m256i *low)
{
    const __m256i low_mask = _mm256_set1_epi64x((long long)p->low_mask);
    __m256i a, b;

    if (x != NULL) {
        a = _mm256_maskload_epi64((const long long *)x,
                                  _mm256_cvtepi32_epi64(_mm256_castsi256_si128(lanes)));
        b = _mm256_maskload_epi64((const long long *)(x + 4),
                                  _mm256_cvtepi32_epi64(_mm256_extracti128_si256(lanes, 1)));
    } else {
        a = _mm256_add_epi64(_mm256_set1_epi64x((long long)first), _mm256_setr_epi64x(0, 1, 2, 3));
        b = _mm256_add_epi64(a, _mm256_set1_epi64x(4));
    }

    *high = narrow_256(_mm256_srli_epi64(a, (int)p->low_bits),
                       _mm256_srli_epi64(b, (int)p->low_bits));
    *low = narrow_256(_mm256_and_si256(a, low_mask), _mm256_and_si256(b, low_mask));
}

/* join_512 for 8 elements. */
AVX2 static inline void join_256(const bmlp_permutation_t *p, __m256i high, __m256i low, size_t *x,
                                 __m256i lanes)
{
    for (int half = 0; half < 2; half++) {
        __m128i h = half == 0 ? _mm256_castsi256_si128(high) : _mm256_extracti128_si256(high, 1);
        __m128i l = half == 0 ? _mm256_castsi256_si128(low) : _mm256_extracti128_si256(low, 1);
        __m128i m = half == 0 ? _mm256_castsi256_si128(lanes) : _mm256_extracti128_si256(lanes, 1);
        __m256i v = _mm256_or_si256(_mm256_slli_epi64(_mm256_cvtepu32_epi64(h), (int)p->low_bits),
                                    _mm256_cvtepu32_epi64(l));

        _mm256_maskstore_epi64((long long *)(x + 4 * half), _mm256_cvtepi32_epi64(m), v);
    }
}

/* set_aside_512 for a pair of 8 parts. lanes has all ones in the lanes to consider. */
AVX2 static inline void set_aside_256(const rounds_t *c, walkers_t *w, __m256i high, __m256i low,
                                      size_t first, const size_t *at, __m256i lanes)
{
    unsigned out = (unsigned)_mm256_movemask_ps(
        _mm256_castsi256_ps(outside_256(c, high, low, lanes)));
    uint32_t h[8], l[8];

    if (out == 0)
        return;
    _mm256_storeu_si256((__m256i *)h, high);
    _mm256_storeu_si256((__m256i *)l, low);
    walkers_add(w, h, l, first, at, out);
}

/* walk_512 on pairs of 8 parts. */
AVX2 static void walk_256(const bmlp_permutation_t *p, const rounds_t *c, walkers_t *w, size_t *x)
{
    size_t take = w->count < WALK_BATCH / 2 ? w->count : WALK_BATCH / 2;
    size_t start = w->count - take;
    unsigned pairs = (unsigned)((take + 7) / 8);
    __m256i high[CHAINS], low[CHAINS];
    size_t at[WALK_BATCH / 2];

    memcpy(at, w->at + start, take * sizeof(size_t));
    for (unsigned k = 0; k < pairs; k++) {
        high[k] = _mm256_loadu_si256((const __m256i *)(w->high + start + 8 * k));
        low[k] = _mm256_loadu_si256((const __m256i *)(w->low + start + 8 * k));
    }
    w->count = start;
    forward_256(c, high, low, pairs);
    for (unsigned k = 0; k < pairs; k++) {
        size_t left = take - 8 * k;
        __m256i lanes = _mm256_cmpgt_epi32(_mm256_set1_epi32(left < 8 ? (int)left : 8),
                                           _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        unsigned done = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(
            _mm256_andnot_si256(outside_256(c, high[k], low[k], lanes), lanes)));
        size_t v[8];

        join_256(p, high[k], low[k], v, _mm256_set1_epi32(-1));
        for (; done != 0; done &= done - 1)
            x[at[8 * k + (unsigned)__builtin_ctz(done)]] = v[__builtin_ctz(done)];
        set_aside_256(c, w, high[k], low[k], 0, at + 8 * k, lanes);
    }
}

/* apply_avx512 with AVX2. */
AVX2 static void apply_avx2(const bmlp_permutation_t *p, const size_t *in, size_t first, size_t *x,
                            size_t count)
{
    const __m256i all = _mm256_set1_epi32(-1);
    rounds_t c;
    walkers_t w;
    size_t i = 0;

    rounds_init(p, &c);
    w.count = 0;
    for (; i + 8 * CHAINS <= count; i += 8 * CHAINS) {
        __m256i high[CHAINS], low[CHAINS];

        for (unsigned k = 0; k < CHAINS; k++)
            split_256(p, in != NULL ? in + i + 8 * k : NULL, first + i + 8 * k, all, &high[k],
                      &low[k]);
        forward_256(&c, high, low, CHAINS);
        for (unsigned k = 0; k < CHAINS; k++) {
            join_256(p, high[k], low[k], x + i + 8 * k, all);
            if (c.walks)
                set_aside_256(&c, &w, high[k], low[k], i + 8 * k, NULL, all);
        }
        while (w.count >= WALK_BATCH / 2)
            walk_256(p, &c, &w, x);
    }
    for (; i < count; i += 8) {
        size_t m = count - i < 8 ? count - i : 8;
        __m256i lanes = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)m),
                                           _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256i high, low;

        split_256(p, in != NULL ? in + i : NULL, first + i, lanes, &high, &low);
        forward_256(&c, &high, &low, 1);
        join_256(p, high, low, x + i, lanes);
        if (c.walks)
            set_aside_256(&c, &w, high, low, i, NULL, lanes);
        while (w.count >= WALK_BATCH / 2)
            walk_256(p, &c, &w, x);
    }
    while (w.count > 0)
        walk_256(p, &c, &w, x);
}

void bmlp_permutation_apply_array(const bmlp_permutation_t *p, size_t *x, size_t count,
                                  bmlp_isa_t isa)
{
    if (isa == BMLP_ISA_AVX512) {
        apply_avx512(p, x, 0, x, count);
        return;
    }
    if (isa == BMLP_ISA_AVX2) {
        apply_avx2(p, x, 0, x, count);
        return;
    }
    for (size_t i = 0; i < count; i++)
        x[i] = (size_t)bmlp_permutation_apply(p, x[i]);
}

void bmlp_permutation_apply_range(const bmlp_permutation_t *p, size_t first, size_t count,
                                  size_t *x, bmlp_isa_t isa)
{
    if (isa == BMLP_ISA_AVX512) {
        apply_avx512(p, NULL, first, x, count);
        return;
    }
    if (isa == BMLP_ISA_AVX2) {
        apply_avx2(p, NULL, first, x, count);
        return;
    }
    for (size_t i = 0; i < count; i++)
        x[i] = (size_t)bmlp_permutation_apply(p, first + i);
}
