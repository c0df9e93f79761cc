/* Helpers shared by the cmocka tests. Include after <cmocka.h>'s prerequisites. */
#ifndef BMLP_TEST_UTIL_H
#define BMLP_TEST_UTIL_H

#include <math.h>
#include <stdio.h>

/* True when |got - want| <= abs_tol + rel_tol * |want|. */
static inline int close_enough(double got, double want, double rel_tol, double abs_tol)
{
    return fabs(got - want) <= abs_tol + rel_tol * fabs(want);
}

/* Compares n values and prints the first mismatch with both values and the tolerance.
 * Returns 1 when all match. */
static inline int check_array(const char *what, const float *got, const double *want, size_t n,
                              double rel_tol, double abs_tol)
{
    for (size_t i = 0; i < n; i++) {
        if (!close_enough(got[i], want[i], rel_tol, abs_tol)) {
            fprintf(stderr, "%s[%zu]: got %.9g, expected %.17g (tolerance %g relative + %g)\n",
                    what, i, (double)got[i], want[i], rel_tol, abs_tol);
            return 0;
        }
    }
    return 1;
}

/* Asserts that two datasets have the same shape and bitwise the same features and labels. A
 * macro, so that cmocka reports the caller's line. */
#define assert_datasets_equal(a, b)                                                                \
    do {                                                                                           \
        assert_int_equal((a)->n_samples, (b)->n_samples);                                          \
        assert_int_equal((a)->n_features, (b)->n_features);                                        \
        assert_memory_equal((a)->x, (b)->x, (a)->n_samples *(a)->n_features * sizeof(float));      \
        assert_memory_equal((a)->y, (b)->y, (a)->n_samples * sizeof(float));                       \
    } while (0)

#endif /* BMLP_TEST_UTIL_H */
