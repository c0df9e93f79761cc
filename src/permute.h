/* Seeded pseudo-random permutations of [0, n) computed per element, with no per-element
 * memory; internal to the library.
 *
 * The permutation is a Feistel network on b bits, where b is the smallest bit count (at least
 * 2) with 2^b >= n, restricted to [0, n) by cycle walking: the network is applied again until
 * the value falls below n. The b bits are split into a high part of a = b / 2 bits and a low
 * part of c = b - a bits; for odd b the network is unbalanced, and the two parts swap widths
 * every round, which an even number of rounds undoes. Cycle walking keeps the result a
 * bijection of [0, n), because each element of [0, n) starts its own walk along the network's
 * cycles and the walk stops at the next element of [0, n) on that cycle. The walks of all i in
 * [0, n) never share a value, so together they take at most 2^b network evaluations. Because
 * 2^(b - 1) < n, the mean number of evaluations per element is below 2. A single walk has no
 * fixed bound below 2^b - n + 1. */
#ifndef BMLP_SRC_PERMUTE_H
#define BMLP_SRC_PERMUTE_H

#include <stdint.h>

/*
 * Feistel rounds. Four rounds of truly random round functions already make a strong
 * pseudo-random permutation, but the round function here is a cheap hash. So the count comes
 * from a chi-square test over the n x n table of (i, apply(i)) across many seeds. With four
 * rounds the table was uneven for n = 3, 5, 7, 10, 17, 20 and 33. With six, it passed for
 * n = 16, 17, 33, 70, 100, 300 and 1100, and n = 20 sat at the limit. The rounds take most of
 * the time, so 6 cost about 1.5 times as much as 4.
 * NOTE: small domains stay uneven. The statistic per degree of freedom is 14 for n = 3, 108
 * for n = 5, 39 for n = 7, 5.7 for n = 10 (200000 seeds each) and 1.40 for n = 20 (100000
 * seeds), where a uniform family stays below 8.8, 3.7, 2.6, 1.9 and 1.4. Domains of 7, 9 and
 * 11 bits pass, and test_permute checks them.
 */
#define BMLP_PERMUTATION_ROUNDS 6 /* even, so that an unbalanced network ends as it began */

/* Largest n that bmlp_permutation_init accepts: a 62-bit domain keeps each part within 31
 * bits. */
#define BMLP_PERMUTATION_MAX_N ((uint64_t)1 << 62)

/* A permutation of [0, n): the domain of the Feistel network and its round keys. */
typedef struct bmlp_permutation {
    uint64_t n;
    unsigned low_bits;  /* c: width of the low part; the high part has a = b - c bits */
    uint64_t low_mask;  /* 2^c - 1 */
    uint64_t high_mask; /* 2^a - 1 */
    uint32_t keys[BMLP_PERMUTATION_ROUNDS];
} bmlp_permutation_t;

/* Sets up the permutation of [0, n) for (seed, stream), 1 <= n <= BMLP_PERMUTATION_MAX_N. The
 * round keys are a pure function of (seed, stream), so equal arguments give equal
 * permutations. Permutations of different n from the same (seed, stream) share their keys. */
void bmlp_permutation_init(bmlp_permutation_t *p, uint64_t n, uint64_t seed, uint32_t stream);

/* Multipliers of the round function's 32-bit integer hash. */
#define BMLP_PERMUTATION_MUL_1 UINT32_C(0x7FEB352D)
#define BMLP_PERMUTATION_MUL_2 UINT32_C(0x846CA68B)

/* Returns the round function of round r on the part x (at most 31 bits): a 32-bit hash of x
 * xor the round key, two multiplies between xor-shifts. Callers mask it to the width of the
 * part it changes. All of it is 32-bit arithmetic, so that vectors of 32-bit lanes compute it
 * as cheaply as possible. */
static inline uint64_t bmlp_permutation_round(const bmlp_permutation_t *p, unsigned r, uint64_t x)
{
    uint32_t v = (uint32_t)x ^ p->keys[r];

    v ^= v >> 16;
    v *= BMLP_PERMUTATION_MUL_1;
    v ^= v >> 15;
    v *= BMLP_PERMUTATION_MUL_2;
    v ^= v >> 16;
    return v;
}

/* The width mask of the part that round r changes: the high part in even rounds, the low part
 * in odd ones, because the parts swap places every round. */
static inline uint64_t bmlp_permutation_mask(const bmlp_permutation_t *p, unsigned r)
{
    return r % 2 == 0 ? p->high_mask : p->low_mask;
}

/* Applies the Feistel network once to a b-bit value: each round maps the parts (left, right)
 * to (right, left ^ F(right)). */
static inline uint64_t bmlp_permutation_forward(const bmlp_permutation_t *p, uint64_t x)
{
    uint64_t left = x >> p->low_bits;
    uint64_t right = x & p->low_mask;

    for (unsigned r = 0; r < BMLP_PERMUTATION_ROUNDS; r++) {
        uint64_t next = left ^ (bmlp_permutation_round(p, r, right) & bmlp_permutation_mask(p, r));

        left = right;
        right = next;
    }
    return left << p->low_bits | right;
}

/* Returns the element at position i, for i < n (not checked).
 * NOTE: the time grows with 2^b / n, up to 2 evaluations per call on average just above a power
 * of two, because the evaluations of a walk depend on each other and the end of a walk is
 * unpredictable. */
static inline uint64_t bmlp_permutation_apply(const bmlp_permutation_t *p, uint64_t i)
{
    uint64_t x = i;

    do
        x = bmlp_permutation_forward(p, x);
    while (x >= p->n);
    return x;
}

/* Returns the position of element x, for x < n (not checked): the inverse of
 * bmlp_permutation_apply. */
uint64_t bmlp_permutation_invert(const bmlp_permutation_t *p, uint64_t x);

#endif /* BMLP_SRC_PERMUTE_H */
