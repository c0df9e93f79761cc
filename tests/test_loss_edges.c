/* Sigmoid, loss and output gradient at extreme and infinite logits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>

#include "bmlp/bmlp.h"
#include "kernels.h"
#include "test_util.h"

static const float logits[] = {-INFINITY, -1e4f, -100.0f, -20.0f, 0.0f,
                               20.0f,     100.0f, 1e4f,   INFINITY};
#define N_LOGITS (sizeof(logits) / sizeof(logits[0]))

/* The true loss in double: softplus(z) for y = 0, softplus(-z) for y = 1. */
static double true_loss(double z, double y)
{
    double t = y == 1.0 ? -z : z;

    if (isinf(t))
        return t > 0 ? INFINITY : 0.0;
    return fmax(t, 0.0) + log1p(exp(-fabs(t)));
}

/* Checks the kernel's loss, probability and gradient for every logit and both labels. Where the
 * true loss is finite, the kernel's is finite, non-negative and within 1e-6 relative of it,
 * because it is computed in double from the float logit. Where the true loss is infinite, the
 * kernel's is +inf. */
static void loss_finite_for_every_logit(void **state)
{
    (void)state;
    for (int label = 0; label <= 1; label++) {
        for (size_t i = 0; i < N_LOGITS; i++) {
            float y = (float)label, p, dz;
            size_t correct;
            double want = true_loss(logits[i], label);
            double loss = bmlp_kernels_scalar.output_loss_grad(1, &logits[i], &y, &p, &dz,
                                                               &correct);

            int loss_ok = isfinite(want) ? isfinite(loss) && loss >= 0.0 &&
                                               close_enough(loss, want, 1e-6, 1e-30)
                                         : isinf(loss) && loss > 0.0;
            int p_ok = !isnan(p) && p >= 0.0f && p <= 1.0f;
            int dz_ok = !isnan(dz) && dz >= -1.0f && dz <= 1.0f;

            if (!loss_ok || !p_ok || !dz_ok)
                fprintf(stderr, "z = %g, y = %d: loss %.9g (expected %.9g), p %g, dz %g\n",
                        (double)logits[i], label, loss, want, (double)p, (double)dz);
            assert_true(loss_ok);
            assert_true(p_ok);
            assert_true(dz_ok);
        }
    }
}

/* sigma(z) in [0, 1], never NaN, within 1e-6 relative of the double value (or exact at the
 * ends, where float rounds to 0 or 1). */
static void sigmoid_bounded_for_every_logit(void **state)
{
    float a[N_LOGITS];

    (void)state;
    bmlp_kernels_scalar.sigmoid(1, N_LOGITS, logits, N_LOGITS, a, N_LOGITS);
    for (size_t i = 0; i < N_LOGITS; i++) {
        double want = 1.0 / (1.0 + exp(-(double)logits[i]));

        assert_false(isnan(a[i]));
        assert_true(a[i] >= 0.0f && a[i] <= 1.0f);
        if (!close_enough(a[i], want, 1e-6, 1e-38)) {
            fprintf(stderr, "sigma(%g) = %.9g, expected %.9g\n", (double)logits[i],
                    (double)a[i], want);
            fail();
        }
    }
}

/* The same logits through a 1-1 network (W = 1, b = 0), so the public forward and backward
 * passes see them: mean loss not NaN, output gradient in [-1, 1]. */
static void public_step_at_extreme_logits(void **state)
{
    bmlp_net_t *net;
    bmlp_workspace_t *ws;
    bmlp_error_t err;
    bmlp_tile_view_t out;

    (void)state;
    assert_int_equal(bmlp_net_create(1, NULL, 0, &net, &err), BMLP_OK);
    assert_int_equal(bmlp_workspace_create(net, 1, BMLP_ISA_AUTO, &ws, &err), BMLP_OK);
    bmlp_net_set_weight(net, 0, 0, 0, 1.0f);
    for (int label = 0; label <= 1; label++) {
        for (size_t i = 0; i < N_LOGITS; i++) {
            float y = (float)label, prob;
            double loss;

            assert_int_equal(bmlp_forward(net, ws, &logits[i], 1, &prob, &err), BMLP_OK);
            assert_int_equal(bmlp_backward(net, ws, &y, 1, &loss, &err), BMLP_OK);
            assert_int_equal(bmlp_workspace_view(ws, 1, &out), BMLP_OK);
            assert_false(isnan(loss));
            assert_false(isnan(prob));
            assert_true(out.dz[0] >= -1.0f && out.dz[0] <= 1.0f);
            if (isfinite(true_loss(logits[i], label)))
                assert_true(isfinite(loss) && loss >= 0.0);
        }
    }
    bmlp_workspace_free(ws);
    bmlp_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loss_finite_for_every_logit),
        cmocka_unit_test(sigmoid_bounded_for_every_logit),
        cmocka_unit_test(public_step_at_extreme_logits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
