/* bmlp example: one SGD step of a 2-2-1 network on one sample, every intermediate printed beside
 * its hand-worked value (three decimals) and its float64 value. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char example_help[] =
    "Usage: bmlp example\n"
    "\n"
    "Runs one sample x = [0.7, -0.5], y = 1 through a 2-2-1 network with\n"
    "W1 = [[0.2, -0.3], [0.4, 0.1]], b1 = [0.1, -0.2], W2 = [0.5, -0.6], b2 = -0.1,\n"
    "then one SGD step with learning rate 0.01, and prints every intermediate quantity\n"
    "beside its expected value: 'worked' rounded to three decimals as done by hand\n"
    "(tolerance 0.002), 'float64' the same computation in double precision (tolerance\n"
    "1e-6 relative). Exits with status 1 when any quantity is out of tolerance.\n"
    "\n"
    "  -h, --help   show this help\n";

/* One quantity of the step: up to four values, with both expected columns. */
typedef struct quantity {
    const char *name;
    size_t n;
    double worked[4];
    double exact[4];
    float got[4];
} quantity_t;

enum { Z1, A1, Z2, YHAT, LOSS, DZ2, DW2, DB2, DA1, DZ1, DW1, DB1, W2N, B2N, W1N, B1N, COUNT };

static quantity_t table[COUNT] = {
    [Z1] = {"z(1)", 2, {0.39, 0.03}, {0.39, 0.02999999999999997}, {0}},
    [A1] = {"a(1)", 2, {0.596, 0.507}, {0.5962826992967879, 0.5074994375506203}, {0}},
    [Z2] = {"z(2)", 1, {-0.106}, {-0.10635831288197825}, {0}},
    [YHAT] = {"yhat = a(2)", 1, {0.474}, {0.47343545876790283}, {0}},
    [LOSS] = {"L", 1, {0.747}, {0.7477396823669835}, {0}},
    [DZ2] = {"dL/dz(2)", 1, {-0.526}, {-0.5265645412320972}, {0}},
    [DW2] = {"dL/dW(2)", 2, {-0.313, -0.267}, {-0.3139813259998497, -0.26723120850938975}, {0}},
    [DB2] = {"dL/db(2)", 1, {-0.526}, {-0.5265645412320972}, {0}},
    [DA1] = {"dL/da(1)", 2, {-0.263, 0.316}, {-0.2632822706160486, 0.31593872473925827}, {0}},
    [DZ1] = {"dL/dz(1)", 2, {-0.063, 0.079}, {-0.06337984670193729, 0.07896691229694112}, {0}},
    [DW1] = {"dL/dW(1)",
             4,
             {-0.044, 0.032, 0.055, -0.040},
             {-0.0443658926913561, 0.031689923350968645, 0.055276838607858786,
              -0.03948345614847056},
             {0}},
    [DB1] = {"dL/db(1)", 2, {-0.063, 0.079}, {-0.06337984670193729, 0.07896691229694112}, {0}},
    [W2N] = {"W(2) updated", 2, {0.503, -0.597}, {0.5031398132599985, -0.5973276879149061}, {0}},
    [B2N] = {"b(2) updated", 1, {-0.095}, {-0.09473435458767904}, {0}},
    [W1N] = {"W(1) updated",
             4,
             {0.200, -0.300, 0.399, 0.100},
             {0.20044365892691357, -0.3003168992335097, 0.3994472316139214, 0.10039483456148471},
             {0}},
    [B1N] = {"b(1) updated", 2, {0.101, -0.201}, {0.10063379846701938, -0.20078966912296942}, {0}},
};

/* Copies the first unit of sample 0 of each of n units of a tile into q. */
static void take_column(quantity_t *q, const float *tile, size_t ld)
{
    for (size_t u = 0; u < q->n; u++)
        q->got[u] = tile[u * ld];
}

static void take_flat(quantity_t *q, const float *p)
{
    memcpy(q->got, p, q->n * sizeof(float));
}

/* Sets the example's weights on a 2-2-1 network. */
static void set_weights(bmlp_net_t *net)
{
    bmlp_net_set_weight(net, 0, 0, 0, 0.2f);
    bmlp_net_set_weight(net, 0, 0, 1, -0.3f);
    bmlp_net_set_weight(net, 0, 1, 0, 0.4f);
    bmlp_net_set_weight(net, 0, 1, 1, 0.1f);
    bmlp_net_set_bias(net, 0, 0, 0.1f);
    bmlp_net_set_bias(net, 0, 1, -0.2f);
    bmlp_net_set_weight(net, 1, 0, 0, 0.5f);
    bmlp_net_set_weight(net, 1, 0, 1, -0.6f);
    bmlp_net_set_bias(net, 1, 0, -0.1f);
}

/* Runs the step and fills the got column of the table. */
static bmlp_status_t run_step(bmlp_net_t *net, bmlp_workspace_t *ws, bmlp_error_t *err)
{
    const float x[2] = {0.7f, -0.5f};
    const float y[1] = {1.0f};
    const float *g = bmlp_net_grads(net);
    const float *p = bmlp_net_params(net);
    bmlp_tile_view_t h, o;
    double loss;
    bmlp_status_t st;

    st = bmlp_forward(net, ws, x, 1, NULL, err);
    if (st == BMLP_OK)
        st = bmlp_backward(net, ws, y, 1, &loss, err);
    if (st != BMLP_OK)
        return st;
    bmlp_workspace_view(ws, 1, &h);
    bmlp_workspace_view(ws, 2, &o);
    take_column(&table[Z1], h.z, h.ld);
    take_column(&table[A1], h.a, h.ld);
    take_flat(&table[Z2], o.z);
    take_flat(&table[YHAT], o.a);
    table[LOSS].got[0] = (float)loss;
    take_flat(&table[DZ2], o.dz);
    take_flat(&table[DW2], g + bmlp_net_weight_offset(net, 1));
    take_flat(&table[DB2], g + bmlp_net_bias_offset(net, 1));
    take_column(&table[DA1], h.da, h.ld);
    take_column(&table[DZ1], h.dz, h.ld);
    take_flat(&table[DW1], g + bmlp_net_weight_offset(net, 0));
    take_flat(&table[DB1], g + bmlp_net_bias_offset(net, 0));
    bmlp_sgd_step(net, 0.01f);
    take_flat(&table[W2N], p + bmlp_net_weight_offset(net, 1));
    take_flat(&table[B2N], p + bmlp_net_bias_offset(net, 1));
    take_flat(&table[W1N], p + bmlp_net_weight_offset(net, 0));
    take_flat(&table[B1N], p + bmlp_net_bias_offset(net, 0));
    return BMLP_OK;
}

/* Prints the table; returns the number of values out of tolerance. */
static int print_table(void)
{
    int bad = 0;

    printf("%-14s %14s %9s %22s %10s  %s\n", "quantity", "bmlp", "worked", "float64", "rel_error",
           "check");
    for (size_t q = 0; q < COUNT; q++) {
        for (size_t i = 0; i < table[q].n; i++) {
            double got = table[q].got[i];
            double exact = table[q].exact[i];
            double rel = fabs(got - exact) / fabs(exact);
            int ok = fabs(got - table[q].worked[i]) <= 0.002 && rel <= 1e-6;
            char name[32];

            snprintf(name, sizeof(name), table[q].n > 1 ? "%s[%zu]" : "%s", table[q].name, i);
            printf("%-14s %14.9f %9.3f %22.17f %10.2e  %s\n", name, got, table[q].worked[i], exact,
                   rel, ok ? "ok" : "MISMATCH");
            bad += !ok;
        }
    }
    return bad;
}

int cmd_example(int argc, char **argv)
{
    const size_t hidden[] = {2};
    bmlp_net_t *net = NULL;
    bmlp_workspace_t *ws = NULL;
    bmlp_error_t err;
    bmlp_status_t st;
    int bad;

    (void)argv;
    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            fputs(example_help, stdout);
            return EXIT_OK;
        }
        return cli_usage_error("example", "unexpected argument '%s'", argv[1]);
    }
    bmlp_error_clear(&err);
    st = bmlp_net_create(2, hidden, 1, &net, &err);
    if (st == BMLP_OK)
        st = bmlp_workspace_create(net, 1, BMLP_ISA_AUTO, &ws, &err);
    if (st == BMLP_OK) {
        set_weights(net);
        st = run_step(net, ws, &err);
    }
    if (st != BMLP_OK) {
        cli_print_error("example", &err);
        bmlp_workspace_free(ws);
        bmlp_net_free(net);
        return st == BMLP_ERR_NO_MEMORY ? EXIT_FAILURE_OTHER : EXIT_USAGE;
    }
    printf("isa: %s\n", bmlp_isa_name(bmlp_workspace_isa(ws)));
    bad = print_table();
    printf("mismatches: %d\n", bad);
    bmlp_workspace_free(ws);
    bmlp_net_free(net);
    return bad == 0 ? EXIT_OK : EXIT_FAILURE_OTHER;
}
