/* The workspace layout and the tile-level steps shared by the training loop, prediction and
 * evaluation; internal to the library. */
#ifndef BMLP_SRC_WORKSPACE_H
#define BMLP_SRC_WORKSPACE_H

#include <stddef.h>

#include "bmlp/train.h"
#include "kernels.h"

struct bmlp_workspace {
    const bmlp_kernels_t *kernels;
    bmlp_isa_t isa;
    size_t num_layers; /* of the network the workspace was made for */
    size_t max_batch;
    size_t ld;                     /* leading dimension of every tile: max_batch rounded up to 16 */
    float *a[BMLP_MAX_HIDDEN + 2]; /* activations of unit layer k, widths[k] x ld */
    float *z[BMLP_MAX_HIDDEN + 2]; /* pre-activations, k >= 1 (NULL for hidden k in a lean
                                      workspace) */
    float *da[BMLP_MAX_HIDDEN + 2]; /* dL/da, 1 <= k < num_layers (NULL in a lean workspace) */
    float *dz[BMLP_MAX_HIDDEN + 2]; /* dL/dz, k >= 1 (a[k] itself for hidden layers when lean) */
    float *y;                       /* labels of the current tile, ld floats */
    size_t n;                       /* samples in the current tile */
    /* Rows of the next chunk, which the forward pass requests a share at a time between
     * groups of rows of its product. rows[done .. n) are not requested yet. */
    struct {
        const float *x, *y;
        size_t x_stride, y_stride;
        const size_t *rows;
        size_t n, done;
    } ahead;
};

/* bmlp_workspace_create, with every tile when all_tiles is set. Otherwise the hidden layers get
 * no pre-activation (z) and no dL/da tile, which the training step does not read, and their
 * dL/dz tile is their output tile, so that the working set of a chunk stays small. */
bmlp_status_t bmlp_workspace_create_tiles(const bmlp_net_t *net, size_t max_batch, bmlp_isa_t isa,
                                          int all_tiles, bmlp_workspace_t **out, bmlp_error_t *err);

/* Copies n samples into the input tile, transposing to feature-major and applying the network's
 * standardization when it has one. Sample s has its features at x + r * x_stride and its label
 * at y[r * y_stride], where r is rows[s], or s when rows is NULL. Labels are copied into ws->y
 * when y is not NULL. The rows next_rows[0 .. next_n) of the chunk that comes next, if known
 * (else NULL and 0), are prefetched by the next bmlp_forward_tile, which must run before
 * next_rows changes. */
void bmlp_fill_tile(const bmlp_net_t *net, bmlp_workspace_t *ws, const float *x, size_t x_stride,
                    const float *y, size_t y_stride, const size_t *rows, size_t n,
                    const size_t *next_rows, size_t next_n);

/* Asks for the cache lines of the d features and the label (when y is not NULL) of the samples
 * rows[0 .. n), laid out as bmlp_fill_tile reads them, ahead of their use. */
void bmlp_prefetch_rows(const float *x, size_t x_stride, size_t d, const float *y, size_t y_stride,
                        const size_t *rows, size_t n);

/* Forward pass over the n samples already in the input tile. Requests the rows of the next
 * chunk that bmlp_fill_tile recorded, spread over the first hidden layer's product. */
void bmlp_forward_tile(const bmlp_net_t *net, bmlp_workspace_t *ws);

/* Backward pass for the labels in ws->y; stores the gradient summed (not averaged) over the
 * tile's samples in grads (net layout) and returns the summed loss and the number of correct
 * predictions. */
double bmlp_backward_tile(const bmlp_net_t *net, bmlp_workspace_t *ws, float *grads,
                          size_t *correct);

/* Output loss and correct count of the tile without the backward pass (for evaluation). */
double bmlp_loss_tile(bmlp_workspace_t *ws, size_t *correct);

#endif /* BMLP_SRC_WORKSPACE_H */
