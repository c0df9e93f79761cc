/* The network: layer sizes, the flat parameter and gradient buffers, initialization, access to
 * every parameter, and the standardization that prediction applies to raw features. */
#ifndef BMLP_NET_H
#define BMLP_NET_H

#include <stddef.h>
#include <stdint.h>

#include "bmlp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest number of hidden layers a network may have. */
#define BMLP_MAX_HIDDEN 64

/* Largest width of any layer, input included. */
#define BMLP_MAX_WIDTH ((size_t)1 << 20)

/* Largest number of parameters (2^30, 4 GiB of floats for the parameters and as much for the
 * gradients); larger networks are rejected before any allocation. */
#define BMLP_MAX_PARAMS ((size_t)1 << 30)

/*
 * A fully connected network: widths[0] inputs, hidden sigmoid layers, one sigmoid output.
 * Weight layer l (0-based) maps widths[l] units to widths[l + 1] units by z = W a + b, where W is
 * stored row-major as widths[l + 1] x widths[l] (row j contains the weights into unit j).
 * All parameters live in one 64-byte aligned buffer: W of layer 0, b of layer 0, W of layer 1,
 * and so on. The gradient buffer has the same layout.
 */
typedef struct bmlp_net bmlp_net_t;

/* Checks, without allocating anything, that bmlp_net_create accepts the shape: the layer count,
 * each width and the parameter count. Fills err on failure. */
bmlp_status_t bmlp_net_check_shape(size_t n_inputs, const size_t *hidden, size_t num_hidden,
                                   bmlp_error_t *err);

/* Creates a network with n_inputs inputs and num_hidden hidden layers of the given widths
 * (hidden may be NULL when num_hidden is 0). Parameters start at zero. */
bmlp_status_t bmlp_net_create(size_t n_inputs, const size_t *hidden, size_t num_hidden,
                              bmlp_net_t **out, bmlp_error_t *err);

/* Frees a network. Accepts NULL. */
void bmlp_net_free(bmlp_net_t *net);

/* Number of weight layers (hidden layers plus the output layer). */
size_t bmlp_net_num_layers(const bmlp_net_t *net);

/* Width of unit layer k: k = 0 is the input, k = bmlp_net_num_layers() is the output (1). */
size_t bmlp_net_width(const bmlp_net_t *net, size_t k);

/* Total number of floats in the parameter buffer. */
size_t bmlp_net_num_params(const bmlp_net_t *net);

/* The flat parameter and gradient buffers, bmlp_net_num_params() floats each. */
float *bmlp_net_params(bmlp_net_t *net);
const float *bmlp_net_params_const(const bmlp_net_t *net);
float *bmlp_net_grads(bmlp_net_t *net);
const float *bmlp_net_grads_const(const bmlp_net_t *net);

/* Offsets, in floats, of the weights and biases of weight layer l inside the flat buffers;
 * layer must be below bmlp_net_num_layers(). */
size_t bmlp_net_weight_offset(const bmlp_net_t *net, size_t layer);
size_t bmlp_net_bias_offset(const bmlp_net_t *net, size_t layer);

/* Fills every weight of layer l with a Glorot-uniform draw from
 * U(-sqrt(6 / (fan_in + fan_out)), +sqrt(6 / (fan_in + fan_out))) and every bias with zero.
 * The draws come from the counter-based generator, so the same seed gives the same network. */
void bmlp_net_init_glorot(bmlp_net_t *net, uint64_t seed);

/* Get and set W[row][col] and b[row] of weight layer l. Out-of-range indices give
 * BMLP_ERR_INVALID_ARGUMENT. */
bmlp_status_t bmlp_net_get_weight(const bmlp_net_t *net, size_t layer, size_t row, size_t col,
                                  float *value);
bmlp_status_t bmlp_net_set_weight(bmlp_net_t *net, size_t layer, size_t row, size_t col,
                                  float value);
bmlp_status_t bmlp_net_get_bias(const bmlp_net_t *net, size_t layer, size_t row, float *value);
bmlp_status_t bmlp_net_set_bias(bmlp_net_t *net, size_t layer, size_t row, float value);

/* Stores per-feature mean and standard deviation (widths[0] floats each, copied) that
 * bmlp_predict applies as (x - mean) / std. A std that is zero, below FLT_MIN, or below the float
 * resolution of the mean (FLT_EPSILON * |mean|) describes a constant feature and is stored as
 * one, so such features pass through as x - mean. NULL for both removes the standardization. */
bmlp_status_t bmlp_net_set_standardization(bmlp_net_t *net, const float *mean, const float *std,
                                           bmlp_error_t *err);

/* Returns 1 and sets *mean and *std (widths[0] floats each) when the network has a
 * standardization, 0 otherwise. */
int bmlp_net_standardization(const bmlp_net_t *net, const float **mean, const float **std);

#ifdef __cplusplus
}
#endif

#endif /* BMLP_NET_H */
