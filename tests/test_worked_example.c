/* One SGD step of a 2-2-1 network on one sample, every intermediate checked against values
 * worked out by hand (rounded to three decimals) and in float64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bmlp/bmlp.h"
#include "test_util.h"

/*
 * Tolerances. The hand-worked column rounds every intermediate to three decimals and carries the
 * rounded value on, so it is within 0.002 of the exact value. The float64 column is the same
 * computation in double precision. bmlp works in float32, with inputs rounded to 24 bits
 * (relative error 6e-8) and SLEEF's 1-ULP expf, so 1e-6 relative leaves a margin of about ten
 * float32 roundings. The scalar kernels agree to within 1e-7 relative on every quantity, including
 * z(1)[1] = 0.28 - 0.05 - 0.2, where cancellation costs the most digits.
 */
#define PRINTED_ABS 0.002
#define EXACT_REL 1e-6
#define EXACT_ABS 0.0

typedef struct expected {
    const char *name;
    size_t n;
    double printed[4];
    double exact[4];
} expected_t;

static const expected_t z1 = {"z(1)", 2, {0.39, 0.03}, {0.39, 0.02999999999999997}};
static const expected_t a1 = {
    "a(1)", 2, {0.596, 0.507}, {0.5962826992967879, 0.5074994375506203}};
static const expected_t z2 = {"z(2)", 1, {-0.106}, {-0.10635831288197825}};
static const expected_t yhat = {"yhat", 1, {0.474}, {0.47343545876790283}};
static const expected_t loss = {"L", 1, {0.747}, {0.7477396823669835}};
static const expected_t dz2 = {"dL/dz(2)", 1, {-0.526}, {-0.5265645412320972}};
static const expected_t dW2 = {
    "dL/dW(2)", 2, {-0.313, -0.267}, {-0.3139813259998497, -0.26723120850938975}};
static const expected_t db2 = {"dL/db(2)", 1, {-0.526}, {-0.5265645412320972}};
static const expected_t da1 = {
    "dL/da(1)", 2, {-0.263, 0.316}, {-0.2632822706160486, 0.31593872473925827}};
static const expected_t dz1 = {
    "dL/dz(1)", 2, {-0.063, 0.079}, {-0.06337984670193729, 0.07896691229694112}};
static const expected_t dW1 = {"dL/dW(1)",
                               4,
                               {-0.044, 0.032, 0.055, -0.040},
                               {-0.0443658926913561, 0.031689923350968645, 0.055276838607858786,
                                -0.03948345614847056}};
static const expected_t db1 = {
    "dL/db(1)", 2, {-0.063, 0.079}, {-0.06337984670193729, 0.07896691229694112}};
static const expected_t W2_new = {
    "W(2) updated", 2, {0.503, -0.597}, {0.5031398132599985, -0.5973276879149061}};
static const expected_t b2_new = {"b(2) updated", 1, {-0.095}, {-0.09473435458767904}};
static const expected_t W1_new = {"W(1) updated",
                                  4,
                                  {0.200, -0.300, 0.399, 0.100},
                                  {0.20044365892691357, -0.3003168992335097, 0.3994472316139214,
                                   0.10039483456148471}};
static const expected_t b1_new = {
    "b(1) updated", 2, {0.101, -0.201}, {0.10063379846701938, -0.20078966912296942}};

static void check(const expected_t *e, const float *got)
{
    assert_true(check_array(e->name, got, e->printed, e->n, 0.0, PRINTED_ABS));
    assert_true(check_array(e->name, got, e->exact, e->n, EXACT_REL, EXACT_ABS));
}

/* Reads n floats starting at an offset of the flat buffer p. */
static const float *at(const float *p, size_t offset)
{
    return p + offset;
}

typedef struct fixture {
    bmlp_net_t *net;
    bmlp_workspace_t *ws;
} fixture_t;

static int setup(void **state)
{
    static fixture_t f;
    const size_t hidden[] = {2};
    bmlp_error_t err;

    if (bmlp_net_create(2, hidden, 1, &f.net, &err) != BMLP_OK)
        return -1;
    if (bmlp_workspace_create(f.net, 1, BMLP_ISA_AUTO, &f.ws, &err) != BMLP_OK)
        return -1;
    bmlp_net_set_weight(f.net, 0, 0, 0, 0.2f);
    bmlp_net_set_weight(f.net, 0, 0, 1, -0.3f);
    bmlp_net_set_weight(f.net, 0, 1, 0, 0.4f);
    bmlp_net_set_weight(f.net, 0, 1, 1, 0.1f);
    bmlp_net_set_bias(f.net, 0, 0, 0.1f);
    bmlp_net_set_bias(f.net, 0, 1, -0.2f);
    bmlp_net_set_weight(f.net, 1, 0, 0, 0.5f);
    bmlp_net_set_weight(f.net, 1, 0, 1, -0.6f);
    bmlp_net_set_bias(f.net, 1, 0, -0.1f);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;

    bmlp_workspace_free(f->ws);
    bmlp_net_free(f->net);
    return 0;
}

/* Gathers unit u of sample 0 for every unit of a tile into out. */
static void column(const float *tile, size_t ld, size_t units, float *out)
{
    for (size_t u = 0; u < units; u++)
        out[u] = tile[u * ld];
}

static void worked_example_step(void **state)
{
    fixture_t *f = *state;
    const float x[2] = {0.7f, -0.5f};
    const float y[1] = {1.0f};
    bmlp_tile_view_t hidden, output;
    bmlp_error_t err;
    float prob, buf[2], loss_f;
    double mean_loss;
    const float *g = bmlp_net_grads(f->net);
    const float *p = bmlp_net_params(f->net);

    assert_int_equal(bmlp_forward(f->net, f->ws, x, 1, &prob, &err), BMLP_OK);
    assert_int_equal(bmlp_workspace_view(f->ws, 1, &hidden), BMLP_OK);
    assert_int_equal(bmlp_workspace_view(f->ws, 2, &output), BMLP_OK);
    column(hidden.z, hidden.ld, 2, buf);
    check(&z1, buf);
    column(hidden.a, hidden.ld, 2, buf);
    check(&a1, buf);
    check(&z2, output.z);
    check(&yhat, &prob);

    assert_int_equal(bmlp_backward(f->net, f->ws, y, 1, &mean_loss, &err), BMLP_OK);
    loss_f = (float)mean_loss;
    check(&loss, &loss_f);
    check(&yhat, output.a);
    check(&dz2, output.dz);
    check(&dW2, at(g, bmlp_net_weight_offset(f->net, 1)));
    check(&db2, at(g, bmlp_net_bias_offset(f->net, 1)));
    column(hidden.da, hidden.ld, 2, buf);
    check(&da1, buf);
    column(hidden.dz, hidden.ld, 2, buf);
    check(&dz1, buf);
    check(&dW1, at(g, bmlp_net_weight_offset(f->net, 0)));
    check(&db1, at(g, bmlp_net_bias_offset(f->net, 0)));

    bmlp_sgd_step(f->net, 0.01f);
    check(&W2_new, at(p, bmlp_net_weight_offset(f->net, 1)));
    check(&b2_new, at(p, bmlp_net_bias_offset(f->net, 1)));
    check(&W1_new, at(p, bmlp_net_weight_offset(f->net, 0)));
    check(&b1_new, at(p, bmlp_net_bias_offset(f->net, 0)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(worked_example_step, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
