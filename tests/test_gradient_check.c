/* Analytic gradients against central differences of the loss, on random networks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bmlp/bmlp.h"
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#define BATCH 5

/*
 * Step and tolerance. The loss is summed in double from float32 activations, so it carries an
 * absolute error of a few float32 roundings, about 1e-7 with the loss near 0.7. A central
 * difference with step h then has a round-off error near 1e-7 / (2 h) and a truncation error
 * near h^2 |L'''| / 6. With h = 3e-3 these are about 2e-5 and 2e-6; the largest discrepancy seen
 * on these networks is 1.3e-5. So 3e-5 absolute plus 1e-3 relative; an error of 0.1% in the
 * sigmoid derivative already fails it.
 */
#define STEP 3e-3f
#define TOL_ABS 3e-5
#define TOL_REL 1e-3

/* A small deterministic generator for the test's own inputs (xorshift64*). */
static double next_uniform(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return (double)((*state * 2685821657736338717ull) >> 11) * 0x1.0p-53;
}

/* Mean loss of net on the batch, through the library's own forward and backward passes. */
static double batch_loss(bmlp_net_t *net, bmlp_workspace_t *ws, const float *x, const float *y)
{
    bmlp_error_t err;
    double loss;

    assert_int_equal(bmlp_forward(net, ws, x, BATCH, NULL, &err), BMLP_OK);
    assert_int_equal(bmlp_backward(net, ws, y, BATCH, &loss, &err), BMLP_OK);
    return loss;
}

/* Checks every parameter of one random network; returns the largest |gradient|. */
static double check_network(const size_t *hidden, size_t num_hidden, size_t n_inputs,
                            uint64_t seed)
{
    bmlp_net_t *net;
    bmlp_workspace_t *ws;
    bmlp_error_t err;
    float x[BATCH * 9], y[BATCH];
    uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
    double largest = 0.0;

    assert_int_equal(bmlp_net_create(n_inputs, hidden, num_hidden, &net, &err), BMLP_OK);
    assert_int_equal(bmlp_workspace_create(net, BATCH, BMLP_ISA_AUTO, &ws, &err), BMLP_OK);
    bmlp_net_init_glorot(net, seed);
    /* Non-zero biases, so that their gradients are exercised away from the symmetric point. */
    for (size_t l = 0; l < bmlp_net_num_layers(net); l++)
        for (size_t j = 0; j < bmlp_net_width(net, l + 1); j++)
            bmlp_net_set_bias(net, l, j, (float)(next_uniform(&state) - 0.5));
    for (size_t i = 0; i < BATCH * n_inputs; i++)
        x[i] = (float)(4.0 * next_uniform(&state) - 2.0);
    for (size_t s = 0; s < BATCH; s++)
        y[s] = (float)(s % 2);

    float *params = bmlp_net_params(net);
    size_t count = bmlp_net_num_params(net);
    float *analytic = malloc(count * sizeof(float));
    assert_non_null(analytic);
    batch_loss(net, ws, x, y);
    memcpy(analytic, bmlp_net_grads(net), count * sizeof(float));

    for (size_t i = 0; i < count; i++) {
        float saved = params[i];
        float plus = saved + STEP;
        float minus = saved - STEP;
        double numeric;

        params[i] = plus;
        double loss_plus = batch_loss(net, ws, x, y);
        params[i] = minus;
        double loss_minus = batch_loss(net, ws, x, y);
        params[i] = saved;
        /* Divide by the steps actually taken after rounding to float. */
        numeric = (loss_plus - loss_minus) / ((double)plus - (double)minus);
        if (!close_enough(analytic[i], numeric, TOL_REL, TOL_ABS)) {
            fprintf(stderr, "parameter %zu of %zu (seed %llu, %zu hidden layers): analytic %.9g, "
                    "central difference %.9g\n",
                    i, count, (unsigned long long)seed, num_hidden, (double)analytic[i], numeric);
            fail();
        }
        if (fabs(analytic[i]) > largest)
            largest = fabs(analytic[i]);
    }
    free(analytic);
    bmlp_workspace_free(ws);
    bmlp_net_free(net);
    return largest;
}

/* Networks of 1, 2 and 3 weight layers whose widths run over 1 to 9. */
static void gradient_matches_central_difference(void **state)
{
    uint64_t shape_state = 42;

    (void)state;
    for (size_t num_hidden = 0; num_hidden <= 2; num_hidden++) {
        for (uint64_t trial = 0; trial < 12; trial++) {
            size_t hidden[2];
            size_t n_inputs = 1 + (size_t)(next_uniform(&shape_state) * 9);
            for (size_t l = 0; l < num_hidden; l++)
                hidden[l] = 1 + (size_t)(next_uniform(&shape_state) * 9);
            double largest = check_network(hidden, num_hidden, n_inputs, trial + 1);
            /* Guard: a gradient that is all zero would match any flat loss. */
            assert_true(largest > 1e-3);
        }
    }
}

/* The widest shapes, 9-9-9-1, where every remainder of a blocked kernel would show. */
static void gradient_wide_network(void **state)
{
    const size_t hidden[] = {9, 9};

    (void)state;
    assert_true(check_network(hidden, 2, 9, 99) > 1e-3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gradient_matches_central_difference),
        cmocka_unit_test(gradient_wide_network),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
