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
 * an Ice Lake core, over one array of all positions, an element now takes 1.1 ns for n = 2^20
 * and 3.0 ns for n = 600000 with AVX-512, and 1.8 and 6.2 ns with AVX2. AVX2 has no compress
 * instruction, so a table gives the lane order that packs the lanes set aside: 6.2 against
 * 7.6 ns with a loop over them.
 * NOTE: in blocks of 256 positions (BM_Permutation in bench_kernels), n = 600000 takes 5.0 ns
 * with AVX-512 and 7.8 ns with AVX2: the last walkers of each block go through the network a
 * vector or two at a time, waiting on each round's latency. Training on one thread takes 4096
 * positions per call, but teams of more threads still take a chunk's positions per call.
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
    _mm512_storeu_si512((void *)(w->at + w->count + (unsigned)__builtin_popcount(out & 0xFFu)),
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

    /* The positions are copied out, because the elements set aside again overwrite them. */
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

/* For each mask of 8 lanes, the indices of its set lanes from the lowest, 4 bits each from
 * bit 0: the lane order in which set_aside_256 packs them. */
static const uint32_t compress_lanes[256] = {
    0x00000000, 0x00000000, 0x00000001, 0x00000010, 0x00000002, 0x00000020, 0x00000021, 0x00000210,
    0x00000003, 0x00000030, 0x00000031, 0x00000310, 0x00000032, 0x00000320, 0x00000321, 0x00003210,
    0x00000004, 0x00000040, 0x00000041, 0x00000410, 0x00000042, 0x00000420, 0x00000421, 0x00004210,
    0x00000043, 0x00000430, 0x00000431, 0x00004310, 0x00000432, 0x00004320, 0x00004321, 0x00043210,
    0x00000005, 0x00000050, 0x00000051, 0x00000510, 0x00000052, 0x00000520, 0x00000521, 0x00005210,
    0x00000053, 0x00000530, 0x00000531, 0x00005310, 0x00000532, 0x00005320, 0x00005321, 0x00053210,
    0x00000054, 0x00000540, 0x00000541, 0x00005410, 0x00000542, 0x00005420, 0x00005421, 0x00054210,
    0x00000543, 0x00005430, 0x00005431, 0x00054310, 0x00005432, 0x00054320, 0x00054321, 0x00543210,
    0x00000006, 0x00000060, 0x00000061, 0x00000610, 0x00000062, 0x00000620, 0x00000621, 0x00006210,
    0x00000063, 0x00000630, 0x00000631, 0x00006310, 0x00000632, 0x00006320, 0x00006321, 0x00063210,
    0x00000064, 0x00000640, 0x00000641, 0x00006410, 0x00000642, 0x00006420, 0x00006421, 0x00064210,
    0x00000643, 0x00006430, 0x00006431, 0x00064310, 0x00006432, 0x00064320, 0x00064321, 0x00643210,
    0x00000065, 0x00000650, 0x00000651, 0x00006510, 0x00000652, 0x00006520, 0x00006521, 0x00065210,
    0x00000653, 0x00006530, 0x00006531, 0x00065310, 0x00006532, 0x00065320, 0x00065321, 0x00653210,
    0x00000654, 0x00006540, 0x00006541, 0x00065410, 0x00006542, 0x00065420, 0x00065421, 0x00654210,
    0x00006543, 0x00065430, 0x00065431, 0x00654310, 0x00065432, 0x00654320, 0x00654321, 0x06543210,
    0x00000007, 0x00000070, 0x00000071, 0x00000710, 0x00000072, 0x00000720, 0x00000721, 0x00007210,
    0x00000073, 0x00000730, 0x00000731, 0x00007310, 0x00000732, 0x00007320, 0x00007321, 0x00073210,
    0x00000074, 0x00000740, 0x00000741, 0x00007410, 0x00000742, 0x00007420, 0x00007421, 0x00074210,
    0x00000743, 0x00007430, 0x00007431, 0x00074310, 0x00007432, 0x00074320, 0x00074321, 0x00743210,
    0x00000075, 0x00000750, 0x00000751, 0x00007510, 0x00000752, 0x00007520, 0x00007521, 0x00075210,
    0x00000753, 0x00007530, 0x00007531, 0x00075310, 0x00007532, 0x00075320, 0x00075321, 0x00753210,
    0x00000754, 0x00007540, 0x00007541, 0x00075410, 0x00007542, 0x00075420, 0x00075421, 0x00754210,
    0x00007543, 0x00075430, 0x00075431, 0x00754310, 0x00075432, 0x00754320, 0x00754321, 0x07543210,
    0x00000076, 0x00000760, 0x00000761, 0x00007610, 0x00000762, 0x00007620, 0x00007621, 0x00076210,
    0x00000763, 0x00007630, 0x00007631, 0x00076310, 0x00007632, 0x00076320, 0x00076321, 0x00763210,
    0x00000764, 0x00007640, 0x00007641, 0x00076410, 0x00007642, 0x00076420, 0x00076421, 0x00764210,
    0x00007643, 0x00076430, 0x00076431, 0x00764310, 0x00076432, 0x00764320, 0x00764321, 0x07643210,
    0x00000765, 0x00007650, 0x00007651, 0x00076510, 0x00007652, 0x00076520, 0x00076521, 0x00765210,
    0x00007653, 0x00076530, 0x00076531, 0x00765310, 0x00076532, 0x00765320, 0x00765321, 0x07653210,
    0x00007654, 0x00076540, 0x00076541, 0x00765410, 0x00076542, 0x00765420, 0x00765421, 0x07654210,
    0x00076543, 0x00765430, 0x00765431, 0x07654310, 0x00765432, 0x07654320, 0x07654321, 0x76543210,
};

/* The vector of 32-bit lane indices that packs the set lanes of mask to the front. */
AVX2 static inline __m256i compress_index_256(unsigned mask)
{
    __m256i packed = _mm256_set1_epi32((int)compress_lanes[mask]);

    return _mm256_and_si256(
        _mm256_srlv_epi32(packed, _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28)),
        _mm256_set1_epi32(15));
}

/* Packs the set 64-bit lanes of mask (4 bits) of v to the front. */
AVX2 static inline __m256i compress_64_256(__m256i v, unsigned mask)
{
    __m256i lanes = _mm256_permutevar8x32_epi32(compress_index_256(mask),
                                                _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3));

    return _mm256_permutevar8x32_epi32(v,
                                       _mm256_add_epi32(_mm256_add_epi32(lanes, lanes),
                                                        _mm256_setr_epi32(0, 1, 0, 1, 0, 1, 0, 1)));
}

/* set_aside_512 for a pair of 8 parts. lanes has all ones in the lanes to consider. */
AVX2 static inline void set_aside_256(const rounds_t *c, walkers_t *w, __m256i high, __m256i low,
                                      size_t first, const size_t *at, __m256i lanes)
{
    unsigned out = (unsigned)_mm256_movemask_ps(
        _mm256_castsi256_ps(outside_256(c, high, low, lanes)));
    __m256i index, at_low, at_high;

    if (out == 0)
        return;
    index = compress_index_256(out);
    if (at != NULL) {
        at_low = _mm256_loadu_si256((const __m256i *)at);
        at_high = _mm256_loadu_si256((const __m256i *)(at + 4));
    } else {
        at_low = _mm256_add_epi64(_mm256_set1_epi64x((long long)first),
                                  _mm256_setr_epi64x(0, 1, 2, 3));
        at_high = _mm256_add_epi64(at_low, _mm256_set1_epi64x(4));
    }
    _mm256_storeu_si256((__m256i *)(w->high + w->count), _mm256_permutevar8x32_epi32(high, index));
    _mm256_storeu_si256((__m256i *)(w->low + w->count), _mm256_permutevar8x32_epi32(low, index));
    _mm256_storeu_si256((__m256i *)(w->at + w->count), compress_64_256(at_low, out & 15u));
    _mm256_storeu_si256((__m256i *)(w->at + w->count + (unsigned)__builtin_popcount(out & 15u)),
                        compress_64_256(at_high, out >> 4));
    w->count += (size_t)__builtin_popcount(out);
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
