/* The Feistel permutation of permute.h over arrays, with an AVX-512 path that runs 8 elements
 * per vector of 64-bit lanes. */
#include <stdint.h>

#include <immintrin.h>

#include "permute_batch.h"

#define AVX512 __attribute__((target("avx512f,avx512dq")))

/* Multipliers of bmlp_permutation_round. */
#define ROUND_MUL_1 UINT64_C(0x9E3779B97F4A7C15)
#define ROUND_MUL_2 UINT64_C(0xD6E8FEB86659FD93)

/* The round keys and masks of a permutation, broadcast to every lane once per array. */
typedef struct {
    __m512i tag[BMLP_PERMUTATION_ROUNDS];  /* (r + 1) << 32 */
    __m512i key[BMLP_PERMUTATION_ROUNDS];  /* keys[r] */
    __m512i mask[BMLP_PERMUTATION_ROUNDS]; /* width mask of the part that round r changes */
    __m512i low_mask;
    __m512i word;  /* 2^32 - 1 */
    __m128i shift; /* low_bits, as the shift count of _mm512_sll_epi64 and _mm512_srl_epi64 */
} lanes_t;

AVX512 static void lanes_init(const bmlp_permutation_t *p, lanes_t *c)
{
    for (unsigned r = 0; r < BMLP_PERMUTATION_ROUNDS; r++) {
        c->tag[r] = _mm512_set1_epi64((long long)((uint64_t)(r + 1) << 32));
        c->key[r] = _mm512_set1_epi64((long long)p->keys[r]);
        c->mask[r] = _mm512_set1_epi64((long long)bmlp_permutation_mask(p, r));
    }
    c->low_mask = _mm512_set1_epi64((long long)p->low_mask);
    c->word = _mm512_set1_epi64(0xFFFFFFFFLL);
    c->shift = _mm_cvtsi32_si128((int)p->low_bits);
}

/* bmlp_permutation_forward on 8 lanes, with the same operations on 64-bit integers. */
AVX512 static inline __m512i forward_lanes(const lanes_t *c, __m512i x)
{
    __m512i left = _mm512_srl_epi64(x, c->shift);
    __m512i right = _mm512_and_si512(x, c->low_mask);

    for (unsigned r = 0; r < BMLP_PERMUTATION_ROUNDS; r++) {
        __m512i v = _mm512_and_si512(_mm512_xor_si512(right, c->key[r]), c->word);

        v = _mm512_or_si512(c->tag[r], v);
        v = _mm512_mullo_epi64(v, _mm512_set1_epi64((long long)ROUND_MUL_1));
        v = _mm512_xor_si512(v, _mm512_srli_epi64(v, 32));
        v = _mm512_mullo_epi64(v, _mm512_set1_epi64((long long)ROUND_MUL_2));
        v = _mm512_srli_epi64(v, 32);

        __m512i next = _mm512_xor_si512(left, _mm512_and_si512(v, c->mask[r]));
        left = right;
        right = next;
    }
    return _mm512_or_si512(_mm512_sll_epi64(left, c->shift), right);
}

AVX512 static void apply_avx512(const bmlp_permutation_t *p, size_t *x, size_t count)
{
    lanes_t c;
    __m512i n = _mm512_set1_epi64((long long)p->n);

    lanes_init(p, &c);
    for (size_t i = 0; i < count; i += 8) {
        size_t m = count - i < 8 ? count - i : 8;
        __mmask8 lanes = (__mmask8)((1u << m) - 1u);
        __m512i v = _mm512_maskz_loadu_epi64(lanes, x + i);
        __mmask8 walking = lanes;

        /* Cycle walking: lanes whose value is not yet below n go through the network again;
         * the others keep theirs. */
        do {
            v = _mm512_mask_mov_epi64(v, walking, forward_lanes(&c, v));
            walking = _mm512_mask_cmpge_epu64_mask(walking, v, n);
        } while (walking != 0);
        _mm512_mask_storeu_epi64(x + i, lanes, v);
    }
}

void bmlp_permutation_apply_array(const bmlp_permutation_t *p, size_t *x, size_t count,
                                  bmlp_isa_t isa)
{
    if (isa == BMLP_ISA_AVX512) {
        apply_avx512(p, x, count);
        return;
    }
    for (size_t i = 0; i < count; i++)
        x[i] = (size_t)bmlp_permutation_apply(p, x[i]);
}
