/* The layout of bmlp_net_t; internal to the library. */
#ifndef BMLP_SRC_NET_INTERNAL_H
#define BMLP_SRC_NET_INTERNAL_H

#include <stddef.h>

#include "bmlp/net.h"

struct bmlp_net {
    size_t num_layers;                    /* weight layers: hidden layers plus the output */
    size_t widths[BMLP_MAX_HIDDEN + 2];   /* widths[0] inputs ... widths[num_layers] = 1 */
    size_t w_offset[BMLP_MAX_HIDDEN + 1]; /* start of W of layer l in params, in floats */
    size_t b_offset[BMLP_MAX_HIDDEN + 1]; /* start of b of layer l in params, in floats */
    size_t num_params;
    float *params; /* num_params floats, 64-byte aligned */
    float *grads;  /* same layout as params */
    float *mean;   /* widths[0] floats, or NULL without standardization */
    float *std;    /* widths[0] floats, never zero, or NULL */
};

#endif /* BMLP_SRC_NET_INTERNAL_H */
