/* Workspace allocation and the forward and backward passes over one tile. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dispatch.h"
#include "error.h"
#include "net_internal.h"
#include "workspace.h"

/* Tiles are padded to a multiple of 16 samples, one AVX-512 register of floats. */
#define TILE_PAD 16

void bmlp_workspace_free(bmlp_workspace_t *ws)
{
    if (ws == NULL)
        return;
    for (size_t k = 0; k <= ws->num_layers; k++) {
        if (ws->dz[k] != ws->a[k])
            bmlp_free_floats(ws->dz[k]);
        bmlp_free_floats(ws->a[k]);
        bmlp_free_floats(ws->z[k]);
        bmlp_free_floats(ws->da[k]);
    }
    bmlp_free_floats(ws->y);
    free(ws);
}

bmlp_status_t bmlp_workspace_create(const bmlp_net_t *net, size_t max_batch, bmlp_isa_t isa,
                                    bmlp_workspace_t **out, bmlp_error_t *err)
{
    return bmlp_workspace_create_tiles(net, max_batch, isa, 1, out, err);
}

bmlp_status_t bmlp_workspace_create_tiles(const bmlp_net_t *net, size_t max_batch, bmlp_isa_t isa,
                                          int all_tiles, bmlp_workspace_t **out, bmlp_error_t *err)
{
    bmlp_workspace_t *ws;
    bmlp_isa_t resolved;
    bmlp_status_t st;
    size_t L = net->num_layers;
    int failed = 0;

    *out = NULL;
    if (max_batch == 0 || max_batch > BMLP_MAX_SAMPLES)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "batch size %zu is out of range (1 to %zu)", max_batch, BMLP_MAX_SAMPLES);
    st = bmlp_isa_resolve(isa, &resolved, err);
    if (st != BMLP_OK)
        return st;
    ws = calloc(1, sizeof(*ws));
    if (ws == NULL)
        return bmlp_fail(err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL, "cannot allocate workspace");
    ws->kernels = bmlp_kernels_for(resolved);
    ws->isa = resolved;
    ws->num_layers = L;
    ws->max_batch = max_batch;
    ws->ld = (max_batch + TILE_PAD - 1) / TILE_PAD * TILE_PAD;

    for (size_t k = 0; k <= L; k++) {
        size_t tile = net->widths[k] * ws->ld;
        ws->a[k] = bmlp_alloc_floats(tile);
        failed |= ws->a[k] == NULL;
        if (k == 0)
            continue;
        /* In a training step, the backward pass writes a hidden layer's dL/dz over its outputs,
         * which nothing reads after that. This saves a tile per hidden layer, 256 KiB per
         * thread for D (64-256-256-1) at chunks of 128. On one Ice Lake core, D trained 1.6%
         * faster and M (32-256-1) 2.2%. */
        if (k < L && !all_tiles) {
            ws->dz[k] = ws->a[k];
        } else {
            ws->dz[k] = bmlp_alloc_floats(tile);
            failed |= ws->dz[k] == NULL;
        }
        /* The training step needs no pre-activations and no dL/da of hidden layers: the fused
         * kernels go from the product to the sigmoid and from dL/dz to dL/dz. */
        if (k == L || all_tiles) {
            ws->z[k] = bmlp_alloc_floats(tile);
            failed |= ws->z[k] == NULL;
        }
        if (k < L && all_tiles) {
            ws->da[k] = bmlp_alloc_floats(tile);
            failed |= ws->da[k] == NULL;
        }
    }
    ws->y = bmlp_alloc_floats(ws->ld);
    if (failed || ws->y == NULL) {
        bmlp_workspace_free(ws);
        return bmlp_fail(err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL,
                         "cannot allocate workspace for batches of %zu samples", max_batch);
    }
    *out = ws;
    return BMLP_OK;
}

bmlp_isa_t bmlp_workspace_isa(const bmlp_workspace_t *ws)
{
    return ws->isa;
}

bmlp_status_t bmlp_workspace_view(const bmlp_workspace_t *ws, size_t k, bmlp_tile_view_t *view)
{
    if (k > ws->num_layers)
        return BMLP_ERR_INVALID_ARGUMENT;
    view->a = ws->a[k];
    view->z = ws->z[k];
    view->da = ws->da[k];
    view->dz = ws->dz[k];
    view->ld = ws->ld;
    return BMLP_OK;
}

/* Rows of the first hidden layer's forward product per call, when the next chunk's rows are
 * requested between calls. A multiple of 6, the row count of the wide register blocks. Issued
 * all at once in the tile fill, M's (32-256-1) requests of about 200 cache lines stalled it at
 * 24.5 ns per sample, against 9.6 now, and M trains 1% to 3% faster on one thread. Groups of
 * 42 rows, about 30 lines each, gained nothing. */
#define FORWARD_ROW_GROUP 12

/* Asks for the cache lines of the d features at x, and of the label at y when it is not NULL,
 * ahead of their use. */
static void prefetch_sample(const float *x, size_t d, const float *y)
{
    uintptr_t line = (uintptr_t)x & ~(uintptr_t)63;
    uintptr_t end = (uintptr_t)(x + d);

    for (; line < end; line += 64)
        __builtin_prefetch((const void *)line, 0, 2);
    if (y != NULL)
        __builtin_prefetch(y, 0, 2);
}

void bmlp_prefetch_rows(const float *x, size_t x_stride, size_t d, const float *y, size_t y_stride,
                        const size_t *rows, size_t n)
{
    for (size_t s = 0; s < n; s++)
        prefetch_sample(x + rows[s] * x_stride, d, y != NULL ? y + rows[s] * y_stride : NULL);
}

void bmlp_fill_tile(const bmlp_net_t *net, bmlp_workspace_t *ws, const float *x, size_t x_stride,
                    const float *y, size_t y_stride, const size_t *rows, size_t n,
                    const size_t *next_rows, size_t next_n)
{
    size_t d = net->widths[0];

    /* Shuffled rows are scattered over the dataset, so each one is a cache miss unless it is
     * requested early. The forward pass requests the next chunk's rows, which then have the
     * rest of this chunk's step to arrive. Without them, this chunk's own rows are requested
     * together, so that their misses overlap. */
    ws->ahead.n = 0;
    ws->ahead.done = 0;
    if (next_rows != NULL) {
        ws->ahead.x = x;
        ws->ahead.x_stride = x_stride;
        ws->ahead.y = y;
        ws->ahead.y_stride = y_stride;
        ws->ahead.rows = next_rows;
        ws->ahead.n = next_n;
    } else if (rows != NULL) {
        bmlp_prefetch_rows(x, x_stride, d, y, y_stride, rows, n);
    }
    ws->kernels->gather_tile(d, n, x, x_stride, rows, net->mean, net->std, ws->a[0], ws->ld);
    if (y != NULL)
        for (size_t s = 0; s < n; s++)
            ws->y[s] = y[(rows != NULL ? rows[s] : s) * y_stride];
    ws->n = n;
}

/* Requests the next share of the rows in ws->ahead. Each of the groups_left groups that remain,
 * this one included, gets an equal part of the rows not yet requested. */
static void prefetch_ahead_share(const bmlp_net_t *net, bmlp_workspace_t *ws, size_t groups_left)
{
    size_t left = ws->ahead.n - ws->ahead.done;
    size_t share = (left + groups_left - 1) / groups_left;
    const size_t *rows = ws->ahead.rows + ws->ahead.done;

    bmlp_prefetch_rows(ws->ahead.x, ws->ahead.x_stride, net->widths[0], ws->ahead.y,
                       ws->ahead.y_stride, rows, share);
    ws->ahead.done += share;
}

void bmlp_forward_tile(const bmlp_net_t *net, bmlp_workspace_t *ws)
{
    const bmlp_kernels_t *kr = ws->kernels;
    size_t L = net->num_layers;
    size_t groups = 0;

    if (L > 1)
        groups = (net->widths[1] + FORWARD_ROW_GROUP - 1) / FORWARD_ROW_GROUP;
    if (groups == 0 && ws->ahead.done < ws->ahead.n)
        prefetch_ahead_share(net, ws, 1);
    for (size_t l = 0; l < L; l++) {
        size_t m = net->widths[l + 1];
        size_t k = net->widths[l];
        const float *W = net->params + net->w_offset[l];
        const float *b = net->params + net->b_offset[l];

        /* The output layer's sigmoid is applied by the loss kernel, from the logit. */
        if (l + 1 == L) {
            kr->dense_forward(m, ws->n, k, W, b, ws->a[l], ws->ld, ws->z[l + 1], ws->ld);
            break;
        }
        if (l > 0 || ws->ahead.done == ws->ahead.n) {
            kr->dense_forward_sigmoid(m, ws->n, k, W, b, ws->a[l], ws->ld, ws->z[l + 1], ws->ld,
                                      ws->a[l + 1], ws->ld);
            continue;
        }
        /* Each group of rows runs after its share of the next chunk's rows is requested, so
         * that the misses overlap the products. Each element is computed as in one call. */
        for (size_t r0 = 0; r0 < m; r0 += FORWARD_ROW_GROUP) {
            size_t count = m - r0 < FORWARD_ROW_GROUP ? m - r0 : FORWARD_ROW_GROUP;
            float *z = ws->z[l + 1] != NULL ? ws->z[l + 1] + r0 * ws->ld : NULL;

            if (ws->ahead.done < ws->ahead.n)
                prefetch_ahead_share(net, ws, groups--);
            kr->dense_forward_sigmoid(count, ws->n, k, W + r0 * k, b + r0, ws->a[l], ws->ld, z,
                                      ws->ld, ws->a[l + 1] + r0 * ws->ld, ws->ld);
        }
    }
}

double bmlp_loss_tile(bmlp_workspace_t *ws, size_t *correct)
{
    size_t L = ws->num_layers;

    return ws->kernels->output_loss_grad(ws->n, ws->z[L], ws->y, ws->a[L], ws->dz[L], correct);
}

double bmlp_backward_tile(const bmlp_net_t *net, bmlp_workspace_t *ws, float *grads,
                          size_t *correct)
{
    const bmlp_kernels_t *kr = ws->kernels;
    size_t L = net->num_layers;
    size_t n = ws->n;
    int bias_done = 0; /* set when the bias gradient of layer l is already in grads */
    double loss = bmlp_loss_tile(ws, correct);

    /* Weight layer l maps unit layer l to unit layer l + 1; dz[l + 1] is known here. */
    for (size_t l = L; l-- > 0;) {
        size_t m = net->widths[l + 1];
        size_t k = net->widths[l];
        const float *W = net->params + net->w_offset[l];

        /* Over a hidden layer, the output layer's weight gradient, the hidden layer's dz and its
         * bias gradient come from one pass over the hidden outputs. */
        if (l + 1 == L && m == 1 && l > 0 && ws->da[l] == NULL) {
            kr->bias_grad(1, n, ws->dz[L], ws->ld, grads + net->b_offset[l]);
            kr->output_backward(n, k, W, ws->dz[L], ws->a[l], ws->ld, ws->dz[l], ws->ld,
                                grads + net->w_offset[l], grads + net->b_offset[l - 1]);
            bias_done = 1;
            continue;
        }
        kr->weight_grad(m, n, k, ws->dz[l + 1], ws->ld, ws->a[l], ws->ld, grads + net->w_offset[l]);
        if (!bias_done)
            kr->bias_grad(m, n, ws->dz[l + 1], ws->ld, grads + net->b_offset[l]);
        bias_done = 0;
        if (l == 0)
            break;
        if (ws->da[l] != NULL) {
            kr->dense_backward_input(m, n, k, W, ws->dz[l + 1], ws->ld, ws->da[l], ws->ld);
            kr->sigmoid_backward(k, n, ws->da[l], ws->ld, ws->a[l], ws->ld, ws->dz[l], ws->ld);
        } else {
            kr->backward_input_sigmoid(m, n, k, W, ws->dz[l + 1], ws->ld, ws->a[l], ws->ld,
                                       ws->dz[l], ws->ld);
        }
    }
    return loss;
}

/* Checks that n samples fit the workspace and that the workspace was made for net. */
static bmlp_status_t check_tile_size(const bmlp_net_t *net, const bmlp_workspace_t *ws, size_t n,
                                     bmlp_error_t *err)
{
    if (ws->num_layers != net->num_layers)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "workspace was made for a network of %zu layers, not %zu", ws->num_layers,
                         net->num_layers);
    if (n == 0 || n > ws->max_batch)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "%zu samples requested; the workspace takes 1 to %zu", n, ws->max_batch);
    return BMLP_OK;
}

bmlp_status_t bmlp_forward(const bmlp_net_t *net, bmlp_workspace_t *ws, const float *x, size_t n,
                           float *prob, bmlp_error_t *err)
{
    bmlp_status_t st = check_tile_size(net, ws, n, err);
    const float *logits;

    if (st != BMLP_OK)
        return st;
    /* The step functions work on raw inputs: standardization belongs to prediction. */
    for (size_t s = 0; s < n; s++)
        for (size_t j = 0; j < net->widths[0]; j++)
            ws->a[0][j * ws->ld + s] = x[s * net->widths[0] + j];
    ws->n = n;
    bmlp_forward_tile(net, ws);
    logits = ws->z[net->num_layers];
    if (prob != NULL)
        ws->kernels->sigmoid(1, n, logits, ws->ld, prob, n);
    return BMLP_OK;
}

bmlp_status_t bmlp_backward(bmlp_net_t *net, bmlp_workspace_t *ws, const float *y, size_t n,
                            double *loss, bmlp_error_t *err)
{
    bmlp_status_t st = check_tile_size(net, ws, n, err);
    size_t correct;
    double sum;

    if (st != BMLP_OK)
        return st;
    if (n != ws->n)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "backward pass for %zu samples after a forward pass of %zu", n, ws->n);
    for (size_t s = 0; s < n; s++) {
        if (y[s] != 0.0f && y[s] != 1.0f)
            return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                             "label of sample %zu is %g; labels must be 0 or 1", s + 1,
                             (double)y[s]);
    }
    memcpy(ws->y, y, n * sizeof(float));
    sum = bmlp_backward_tile(net, ws, net->grads, &correct);
    ws->kernels->scale(net->num_params, 1.0f / (float)n, net->grads);
    *loss = sum / (double)n;
    return BMLP_OK;
}

void bmlp_sgd_step(bmlp_net_t *net, float learning_rate)
{
    bmlp_kernels_scalar.axpy(net->num_params, -learning_rate, net->grads, net->params);
}
