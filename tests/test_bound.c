/* The work count of a training step and the bound computed from measured rates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>

#include "bmlp/bmlp.h"

/* Multiply-adds per sample: 2 products for the first layer (forward and weight gradient) and 3
 * for the others, which add W^T dZ. One sigmoid per hidden unit and output. */
static void step_work_counts(void **state)
{
    const size_t s_hidden[] = {2}, m_hidden[] = {256}, d_hidden[] = {256, 256};
    const struct {
        size_t inputs;
        const size_t *hidden;
        size_t num_hidden;
        double multiply_adds;
        double sigmoids;
    } cases[] = {
        {2, s_hidden, 1, 2.0 * 4 + 3.0 * 2, 3},
        {32, m_hidden, 1, 2.0 * 32 * 256 + 3.0 * 256, 257},
        {64, d_hidden, 2, 2.0 * 64 * 256 + 3.0 * 256 * 256 + 3.0 * 256, 513},
        {5, NULL, 0, 2.0 * 5, 1},
    };
    bmlp_error_t err;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bmlp_net_t *net;
        assert_int_equal(bmlp_net_create(cases[i].inputs, cases[i].hidden, cases[i].num_hidden,
                                         &net, &err),
                         BMLP_OK);
        bmlp_step_work_t work = bmlp_step_work(net);
        assert_true(work.multiply_adds == cases[i].multiply_adds);
        assert_true(work.sigmoids == cases[i].sigmoids);
        bmlp_net_free(net);
    }
}

/* Measured rates are positive and finite, and the bound is the reciprocal of the time that
 * the work takes at those rates. */
static void bound_from_measured_rates(void **state)
{
    const size_t hidden[] = {8};
    bmlp_machine_rates_t rates;
    bmlp_net_t *net;
    bmlp_error_t err;

    (void)state;
    assert_int_equal(bmlp_measure_rates(BMLP_ISA_AUTO, &rates, &err), BMLP_OK);
    assert_true(isfinite(rates.flops_per_second) && rates.flops_per_second > 0.0);
    assert_true(isfinite(rates.sigmoids_per_second) && rates.sigmoids_per_second > 0.0);
    assert_int_not_equal(rates.isa, BMLP_ISA_AUTO);

    assert_int_equal(bmlp_net_create(4, hidden, 1, &net, &err), BMLP_OK);
    bmlp_step_work_t work = bmlp_step_work(net);
    double seconds = 2.0 * work.multiply_adds / rates.flops_per_second +
                     work.sigmoids / rates.sigmoids_per_second;
    double bound = bmlp_step_bound(net, &rates);
    assert_true(fabs(bound * seconds - 1.0) < 1e-12);
    bmlp_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(step_work_counts),
        cmocka_unit_test(bound_from_measured_rates),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
