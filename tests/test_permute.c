/* Seeded per-element permutations: bijection on every small n and several large ones, the
 * inverse, dependence on seed and stream only, and rough uniformity over seeds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmlp/bmlp.h"
#include "dispatch.h"
#include "permute.h"
#include "permute_batch.h"

static const uint64_t seeds[] = {1, 0x9E3779B97F4A7C15ull};

/* Checks that p maps [0, n) onto [0, n), each value once, and that invert undoes apply. Uses
 * seen, a zeroed bitmap of at least n bits, and leaves it dirty. Returns 1 on success. */
static int check_bijection(const bmlp_permutation_t *p, unsigned char *seen)
{
    for (uint64_t i = 0; i < p->n; i++) {
        uint64_t x = bmlp_permutation_apply(p, i);

        if (x >= p->n) {
            fprintf(stderr, "n %llu: apply(%llu) = %llu is out of range\n",
                    (unsigned long long)p->n, (unsigned long long)i, (unsigned long long)x);
            return 0;
        }
        if (seen[x / 8] & (1u << (x % 8))) {
            fprintf(stderr, "n %llu: value %llu is hit twice\n", (unsigned long long)p->n,
                    (unsigned long long)x);
            return 0;
        }
        seen[x / 8] |= (unsigned char)(1u << (x % 8));
        if (bmlp_permutation_invert(p, x) != i) {
            fprintf(stderr, "n %llu: invert(apply(%llu)) = %llu\n", (unsigned long long)p->n,
                    (unsigned long long)i, (unsigned long long)bmlp_permutation_invert(p, x));
            return 0;
        }
    }
    return 1;
}

static void bijection_every_n_to_3000(void **state)
{
    unsigned char seen[3000 / 8 + 1];

    (void)state;
    for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
        for (uint64_t n = 1; n <= 3000; n++) {
            bmlp_permutation_t p;

            bmlp_permutation_init(&p, n, seeds[s], 7);
            memset(seen, 0, sizeof(seen));
            assert_true(check_bijection(&p, seen));
        }
    }
}

static void bijection_large_n(void **state)
{
    const uint64_t sizes[] = {(uint64_t)1 << 20, ((uint64_t)1 << 20) + 1, 1000003,
                              3 * ((uint64_t)1 << 21) - 1};
    unsigned char *seen = malloc(3 * ((size_t)1 << 21) / 8 + 1);

    (void)state;
    assert_non_null(seen);
    for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
        for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
            bmlp_permutation_t p;

            bmlp_permutation_init(&p, sizes[k], seeds[s], 3);
            memset(seen, 0, sizes[k] / 8 + 1);
            assert_true(check_bijection(&p, seen));
        }
    }
    free(seen);
}

/* The domain is b bits, the smallest count of at least 2 with 2^b >= n, split into a high part
 * of b / 2 bits and a low part of the rest. */
static void domain_smallest_bits(void **state)
{
    const struct {
        uint64_t n;
        unsigned bits;
    } cases[] = {
        {1, 2},
        {2, 2},
        {4, 2},
        {5, 3},
        {16, 4},
        {17, 5},
        {64, 6},
        {65, 7},
        {(uint64_t)1 << 20, 20},
        {((uint64_t)1 << 20) + 1, 21},
        {(uint64_t)1 << 21, 21},
        {BMLP_PERMUTATION_MAX_N, 62},
    };

    (void)state;
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        unsigned high = cases[k].bits / 2;
        unsigned low = cases[k].bits - high;
        bmlp_permutation_t p;

        bmlp_permutation_init(&p, cases[k].n, 1, 1);
        assert_int_equal(p.low_bits, low);
        assert_int_equal(p.low_mask, ((uint64_t)1 << low) - 1);
        assert_int_equal(p.high_mask, ((uint64_t)1 << high) - 1);
    }
}

/* At n = 2^62 the walk stays within 62 bits, and invert still undoes apply. */
static void largest_n_round_trips(void **state)
{
    const uint64_t n = BMLP_PERMUTATION_MAX_N;
    const uint64_t positions[] = {0, 1, 12345, n / 2, n - 2, n - 1};
    bmlp_permutation_t p;

    (void)state;
    bmlp_permutation_init(&p, n, 5, 2);
    for (size_t k = 0; k < sizeof(positions) / sizeof(positions[0]); k++) {
        uint64_t x = bmlp_permutation_apply(&p, positions[k]);

        assert_true(x < n);
        assert_int_equal(bmlp_permutation_invert(&p, x), positions[k]);
    }
}

/* Returns the number of positions of [0, n) where a and b differ. */
static uint64_t count_differences(const bmlp_permutation_t *a, const bmlp_permutation_t *b)
{
    uint64_t differ = 0;

    for (uint64_t i = 0; i < a->n; i++)
        differ += bmlp_permutation_apply(a, i) != bmlp_permutation_apply(b, i);
    return differ;
}

static void seed_and_stream_change_order(void **state)
{
    const uint64_t sizes[] = {8, 9, 100, 1000, 65537};

    (void)state;
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        bmlp_permutation_t base, other_seed, other_stream;

        bmlp_permutation_init(&base, sizes[k], 11, 1);
        bmlp_permutation_init(&other_seed, sizes[k], 12, 1);
        bmlp_permutation_init(&other_stream, sizes[k], 11, 2);
        assert_true(count_differences(&base, &other_seed) > 0);
        assert_true(count_differences(&base, &other_stream) > 0);
    }
}

static void same_arguments_same_permutation(void **state)
{
    const uint64_t sizes[] = {1, 2, 3, 10, 1000, 1000003};

    (void)state;
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        bmlp_permutation_t a, b;

        bmlp_permutation_init(&a, sizes[k], 77, 9);
        bmlp_permutation_init(&b, sizes[k], 77, 9);
        assert_memory_equal(a.keys, b.keys, sizeof(a.keys));
        assert_int_equal(count_differences(&a, &b), 0);
    }
}

/* Over 2000 seeds, the position of element 0 in a permutation of 10 takes every value about
 * 200 times. The seeds are fixed, so the counts are the same on every run. */
static void position_of_zero_near_uniform(void **state)
{
    unsigned counts[10] = {0};

    (void)state;
    for (uint64_t seed = 0; seed < 2000; seed++) {
        bmlp_permutation_t p;

        bmlp_permutation_init(&p, 10, seed, 1);
        counts[bmlp_permutation_invert(&p, 0)]++;
    }
    for (size_t v = 0; v < 10; v++) {
        if (counts[v] < 100)
            fprintf(stderr, "element 0 at position %zu for %u of 2000 seeds\n", v, counts[v]);
        assert_true(counts[v] >= 100);
    }
}

/* Returns the chi-square statistic of the n x n table of how often apply(i) is x, for each
 * position i and element x, over the seeds 0 to seeds - 1 of stream 1. The expected count of
 * each cell is seeds / n. */
static double position_table_chi_square(uint64_t n, unsigned seeds)
{
    unsigned *counts = calloc(n * n, sizeof(unsigned));
    double expected = (double)seeds / (double)n, chi_square = 0.0;

    assert_non_null(counts);
    for (unsigned seed = 0; seed < seeds; seed++) {
        bmlp_permutation_t p;

        bmlp_permutation_init(&p, n, seed, 1);
        for (uint64_t i = 0; i < n; i++)
            counts[i * n + bmlp_permutation_apply(&p, i)]++;
    }
    for (uint64_t cell = 0; cell < n * n; cell++) {
        double deviation = counts[cell] - expected;

        chi_square += deviation * deviation / expected;
    }
    free(counts);
    return chi_square;
}

/* Returns the value that a chi-square statistic of dof degrees of freedom exceeds with
 * probability 1e-6, by the Wilson-Hilferty approximation (4.753 is the standard normal
 * quantile of 1 - 1e-6). */
static double chi_square_limit(double dof)
{
    double spread = sqrt(2.0 / (9.0 * dof));
    double cube_root = 1.0 - 2.0 / (9.0 * dof) + 4.753 * spread;

    return dof * cube_root * cube_root * cube_root;
}

/*
 * Odd bit counts make the Feistel network unbalanced. For n with 7, 9 and 11 bits, each chosen
 * where cycle walking is frequent (2^b / n is 1.83, 1.71 and 1.86), the table of
 * (position, element) over many seeds passes a chi-square test. Each row and column of the
 * table sums to the seed count, so it has (n - 1)^2 degrees of freedom, and every cell expects
 * at least 5. The limit is the statistic's 1 - 1e-6 quantile: a family of truly uniform
 * permutations exceeds it for about one seed set in a million, so the fixed seeds here do not
 * fail by chance. At n = 70, a deviation of 2.5% in every cell would exceed it.
 */
static void odd_bit_widths_near_uniform(void **state)
{
    const struct {
        uint64_t n;
        unsigned seeds;
    } cases[] = {{70, 20000}, {300, 6000}, {1100, 5500}};

    (void)state;
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        double dof = (double)(cases[k].n - 1) * (double)(cases[k].n - 1);
        double chi_square = position_table_chi_square(cases[k].n, cases[k].seeds);

        fprintf(stderr, "n %llu, %u seeds: chi-square %.0f, %.0f degrees of freedom, limit %.0f\n",
                (unsigned long long)cases[k].n, cases[k].seeds, chi_square, dof,
                chi_square_limit(dof));
        assert_true(chi_square < chi_square_limit(dof));
    }
}

/* A random permutation of 2^20 has about one fixed point and about two positions i where
 * apply(i + 1) and apply(i) are neighbors; 16 of either would be implausible. */
static void large_permutation_scatters(void **state)
{
    const uint64_t n = (uint64_t)1 << 20;
    bmlp_permutation_t p;
    uint64_t fixed = 0, neighbors = 0;

    (void)state;
    bmlp_permutation_init(&p, n, 2024, 1);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t x = bmlp_permutation_apply(&p, i);

        fixed += x == i;
        if (i + 1 < n) {
            uint64_t next = bmlp_permutation_apply(&p, i + 1);
            neighbors += next == x + 1 || x == next + 1;
        }
    }
    fprintf(stderr, "n 2^20: %llu fixed points, %llu neighboring pairs\n",
            (unsigned long long)fixed, (unsigned long long)neighbors);
    assert_true(fixed < 16);
    assert_true(neighbors < 16);
}

/* Stores in isas the instruction sets that this CPU runs, scalar first, and returns their
 * count. */
static size_t supported_isas(bmlp_isa_t isas[3])
{
    const bmlp_isa_t all[] = {BMLP_ISA_SCALAR, BMLP_ISA_AVX2, BMLP_ISA_AVX512};
    size_t count = 0;
    bmlp_error_t err;

    for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++)
        if (bmlp_isa_resolve(all[k], &isas[count], &err) == BMLP_OK)
            count++;
    return count;
}

/* Applies p to x[0 .. count) with the array function and compares each result with the
 * per-element one. Prints the first difference. */
static void check_array(const bmlp_permutation_t *p, size_t *x, size_t count, bmlp_isa_t isa)
{
    size_t *want = malloc(count * sizeof(size_t));

    assert_non_null(want);
    for (size_t i = 0; i < count; i++)
        want[i] = (size_t)bmlp_permutation_apply(p, x[i]);
    bmlp_permutation_apply_array(p, x, count, isa);
    for (size_t i = 0; i < count; i++) {
        if (x[i] != want[i]) {
            fprintf(stderr, "%s, n %llu: element %zu maps to %zu, per element %zu\n",
                    bmlp_isa_name(isa), (unsigned long long)p->n, i, x[i], want[i]);
            fail();
        }
    }
    free(want);
}

/* The array function, vectorized or not, gives the per-element results. It runs for every n to
 * 300 and for large n, on counts that are not a multiple of the vector width. Some n lie just
 * above a power of two, where cycle walking takes several rounds. */
static void array_matches_per_element(void **state)
{
    const uint64_t large[] = {1000,
                              3000,
                              65537,
                              (1u << 20) + 1,
                              (uint64_t)1 << 33,
                              ((uint64_t)1 << 40) + 3,
                              BMLP_PERMUTATION_MAX_N};
    bmlp_isa_t isas[3];
    size_t isa_count = supported_isas(isas);
    size_t x[301];

    (void)state;
    for (size_t k = 0; k < isa_count; k++) {
        bmlp_isa_t isa = isas[k];

        for (uint64_t n = 1; n <= 300; n++) {
            bmlp_permutation_t p;

            bmlp_permutation_init(&p, n, seeds[n % 2], (uint32_t)n);
            for (size_t i = 0; i < n; i++)
                x[i] = i;
            check_array(&p, x, (size_t)n, isa);
        }
        for (size_t j = 0; j < sizeof(large) / sizeof(large[0]); j++) {
            bmlp_permutation_t p;

            bmlp_permutation_init(&p, large[j], seeds[j % 2], 7);
            for (size_t i = 0; i < 301; i++)
                x[i] = (size_t)((i * UINT64_C(0x9E3779B97F4A7C15)) % large[j]);
            check_array(&p, x, 301, isa);
        }
    }
}

/* Long arrays where about half of the elements walk on after their first pass, and some several
 * times: the array function sets them aside and runs them through the network in batches. Every
 * position of n = 4097 (2^13 / n is almost 2), and 10007 scattered positions of n = 600000. */
static void array_walks_in_batches(void **state)
{
    const uint64_t sizes[] = {4097, 600000};
    const size_t counts[] = {4097, 10007};
    bmlp_isa_t isas[3];
    size_t isa_count = supported_isas(isas);

    (void)state;
    for (size_t k = 0; k < isa_count; k++) {
        bmlp_isa_t isa = isas[k];

        for (size_t j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
            size_t *x = malloc(counts[j] * sizeof(size_t));
            bmlp_permutation_t p;

            assert_non_null(x);
            bmlp_permutation_init(&p, sizes[j], seeds[j % 2], 5);
            for (size_t i = 0; i < counts[j]; i++)
                x[i] = (size_t)((i * UINT64_C(0x9E3779B97F4A7C15)) % sizes[j]);
            check_array(&p, x, counts[j], isa);
            free(x);
        }
    }
}

/* The range function gives the per-element results of its positions, for every n to 300 from
 * a third of n on, and for large n from a position near the end. */
static void range_matches_per_element(void **state)
{
    const uint64_t large[] = {65537, (1u << 20) + 1, (uint64_t)1 << 33, BMLP_PERMUTATION_MAX_N};
    bmlp_isa_t isas[3];
    size_t isa_count = supported_isas(isas);
    size_t x[301];

    (void)state;
    for (size_t k = 0; k < isa_count; k++) {
        bmlp_isa_t isa = isas[k];

        for (uint64_t n = 1; n <= 300 + sizeof(large) / sizeof(large[0]); n++) {
            uint64_t size = n <= 300 ? n : large[n - 301];
            size_t count = size < 301 ? (size_t)(size - size / 3) : 301;
            uint64_t first = size - count;
            bmlp_permutation_t p;

            bmlp_permutation_init(&p, size, seeds[n % 2], 3);
            bmlp_permutation_apply_range(&p, (size_t)first, count, x, isa);
            for (size_t i = 0; i < count; i++) {
                size_t want = (size_t)bmlp_permutation_apply(&p, first + i);

                if (x[i] != want) {
                    fprintf(stderr, "%s, n %llu: position %llu maps to %zu, per element %zu\n",
                            bmlp_isa_name(isa), (unsigned long long)size,
                            (unsigned long long)(first + i), x[i], want);
                    fail();
                }
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bijection_every_n_to_3000),
        cmocka_unit_test(bijection_large_n),
        cmocka_unit_test(domain_smallest_bits),
        cmocka_unit_test(largest_n_round_trips),
        cmocka_unit_test(seed_and_stream_change_order),
        cmocka_unit_test(same_arguments_same_permutation),
        cmocka_unit_test(position_of_zero_near_uniform),
        cmocka_unit_test(odd_bit_widths_near_uniform),
        cmocka_unit_test(large_permutation_scatters),
        cmocka_unit_test(array_matches_per_element),
        cmocka_unit_test(array_walks_in_batches),
        cmocka_unit_test(range_matches_per_element),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
