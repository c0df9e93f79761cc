/* Seeded permutations computed per element: set-up and inverse. */
#include "permute.h"
#include "random.h"

void bmlp_permutation_init(bmlp_permutation_t *p, uint64_t n, uint64_t seed, uint32_t stream)
{
    unsigned b = 2;

    while (b < 62 && ((uint64_t)1 << b) < n)
        b++;
    p->n = n;
    p->low_bits = b - b / 2;
    p->low_mask = ((uint64_t)1 << p->low_bits) - 1;
    p->high_mask = ((uint64_t)1 << (b / 2)) - 1;
    for (unsigned r = 0; r < BMLP_PERMUTATION_ROUNDS; r += 4) {
        uint32_t words[4];

        bmlp_random_block(seed, BMLP_STREAM_PERMUTATION, (uint64_t)stream << 32 | r / 4, words);
        for (unsigned k = 0; k < 4 && r + k < BMLP_PERMUTATION_ROUNDS; k++)
            p->keys[r + k] = words[k];
    }
}

/* Undoes bmlp_permutation_forward: the rounds in reverse order, each mapping (left, right)
 * back to (right ^ F(left), left). */
static uint64_t permutation_backward(const bmlp_permutation_t *p, uint64_t x)
{
    uint64_t left = x >> p->low_bits;
    uint64_t right = x & p->low_mask;

    for (unsigned r = BMLP_PERMUTATION_ROUNDS; r-- > 0;) {
        uint64_t prev = right ^ (bmlp_permutation_round(p, r, left) & bmlp_permutation_mask(p, r));

        right = left;
        left = prev;
    }
    return left << p->low_bits | right;
}

uint64_t bmlp_permutation_invert(const bmlp_permutation_t *p, uint64_t x)
{
    uint64_t i = x;

    do
        i = permutation_backward(p, i);
    while (i >= p->n);
    return i;
}
