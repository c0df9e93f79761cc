/* Network layout, parameter access and initialization. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "net_internal.h"
#include "random.h"

bmlp_status_t bmlp_net_check_shape(size_t n_inputs, const size_t *hidden, size_t num_hidden,
                                   bmlp_error_t *err)
{
    size_t total = 0, below = n_inputs;

    if (num_hidden > BMLP_MAX_HIDDEN)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "%zu hidden layers requested, at most %d are supported", num_hidden,
                         BMLP_MAX_HIDDEN);
    if (num_hidden > 0 && hidden == NULL)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL, "hidden widths missing");
    for (size_t k = 0; k <= num_hidden; k++) {
        size_t width = k == 0 ? n_inputs : hidden[k - 1];

        if (width == 0 || width > BMLP_MAX_WIDTH)
            return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                             "layer %zu has width %zu; widths must be 1 to %zu", k, width,
                             BMLP_MAX_WIDTH);
    }
    /* Widths are at most 2^20, so each layer has at most 2^40 + 2^20 parameters and 65 layers
     * cannot overflow a 64-bit size_t. */
    for (size_t l = 0; l <= num_hidden; l++) {
        size_t above = l < num_hidden ? hidden[l] : 1;

        total += above * below + above;
        below = above;
    }
    if (total > BMLP_MAX_PARAMS)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "the network has %zu parameters; at most %zu are supported", total,
                         BMLP_MAX_PARAMS);
    return BMLP_OK;
}

bmlp_status_t bmlp_net_create(size_t n_inputs, const size_t *hidden, size_t num_hidden,
                              bmlp_net_t **out, bmlp_error_t *err)
{
    bmlp_net_t *net;
    size_t total = 0;
    bmlp_status_t st = bmlp_net_check_shape(n_inputs, hidden, num_hidden, err);

    *out = NULL;
    if (st != BMLP_OK)
        return st;
    net = calloc(1, sizeof(*net));
    if (net == NULL)
        return bmlp_fail(err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL, "cannot allocate network");
    net->num_layers = num_hidden + 1;
    net->widths[0] = n_inputs;
    for (size_t l = 0; l < num_hidden; l++)
        net->widths[l + 1] = hidden[l];
    net->widths[num_hidden + 1] = 1;
    for (size_t l = 0; l < net->num_layers; l++) {
        net->w_offset[l] = total;
        total += net->widths[l + 1] * net->widths[l];
        net->b_offset[l] = total;
        total += net->widths[l + 1];
    }
    net->num_params = total;
    net->params = bmlp_alloc_floats(total);
    net->grads = bmlp_alloc_floats(total);
    if (net->params == NULL || net->grads == NULL) {
        bmlp_net_free(net);
        return bmlp_fail(err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL,
                         "cannot allocate %zu parameters", total);
    }
    *out = net;
    return BMLP_OK;
}

void bmlp_net_free(bmlp_net_t *net)
{
    if (net == NULL)
        return;
    bmlp_free_floats(net->params);
    bmlp_free_floats(net->grads);
    free(net->mean);
    free(net->std);
    free(net);
}

size_t bmlp_net_num_layers(const bmlp_net_t *net)
{
    return net->num_layers;
}

size_t bmlp_net_width(const bmlp_net_t *net, size_t k)
{
    return k <= net->num_layers ? net->widths[k] : 0;
}

size_t bmlp_net_num_params(const bmlp_net_t *net)
{
    return net->num_params;
}

float *bmlp_net_params(bmlp_net_t *net)
{
    return net->params;
}

const float *bmlp_net_params_const(const bmlp_net_t *net)
{
    return net->params;
}

float *bmlp_net_grads(bmlp_net_t *net)
{
    return net->grads;
}

const float *bmlp_net_grads_const(const bmlp_net_t *net)
{
    return net->grads;
}

size_t bmlp_net_weight_offset(const bmlp_net_t *net, size_t layer)
{
    return net->w_offset[layer];
}

size_t bmlp_net_bias_offset(const bmlp_net_t *net, size_t layer)
{
    return net->b_offset[layer];
}

void bmlp_net_init_glorot(bmlp_net_t *net, uint64_t seed)
{
    for (size_t l = 0; l < net->num_layers; l++) {
        size_t fan_in = net->widths[l];
        size_t fan_out = net->widths[l + 1];
        double limit = sqrt(6.0 / (double)(fan_in + fan_out));
        float *W = net->params + net->w_offset[l];

        /* The draw for a weight is indexed by its position in the flat buffer, so a weight's
         * initial value does not depend on the order of initialization. */
        for (size_t i = 0; i < fan_out * fan_in; i++) {
            double u = bmlp_random_uniform(seed, BMLP_STREAM_INIT, net->w_offset[l] + i);
            W[i] = (float)((2.0 * u - 1.0) * limit);
        }
        memset(net->params + net->b_offset[l], 0, fan_out * sizeof(float));
    }
}

/* Checks that (layer, row, col) names a weight of net; col is ignored when is_bias is set. */
static bmlp_status_t check_index(const bmlp_net_t *net, size_t layer, size_t row, size_t col,
                                 int is_bias)
{
    if (layer >= net->num_layers || row >= net->widths[layer + 1])
        return BMLP_ERR_INVALID_ARGUMENT;
    if (!is_bias && col >= net->widths[layer])
        return BMLP_ERR_INVALID_ARGUMENT;
    return BMLP_OK;
}

bmlp_status_t bmlp_net_get_weight(const bmlp_net_t *net, size_t layer, size_t row, size_t col,
                                  float *value)
{
    bmlp_status_t st = check_index(net, layer, row, col, 0);

    if (st == BMLP_OK)
        *value = net->params[net->w_offset[layer] + row * net->widths[layer] + col];
    return st;
}

bmlp_status_t bmlp_net_set_weight(bmlp_net_t *net, size_t layer, size_t row, size_t col,
                                  float value)
{
    bmlp_status_t st = check_index(net, layer, row, col, 0);

    if (st == BMLP_OK)
        net->params[net->w_offset[layer] + row * net->widths[layer] + col] = value;
    return st;
}

bmlp_status_t bmlp_net_get_bias(const bmlp_net_t *net, size_t layer, size_t row, float *value)
{
    bmlp_status_t st = check_index(net, layer, row, 0, 1);

    if (st == BMLP_OK)
        *value = net->params[net->b_offset[layer] + row];
    return st;
}

bmlp_status_t bmlp_net_set_bias(bmlp_net_t *net, size_t layer, size_t row, float value)
{
    bmlp_status_t st = check_index(net, layer, row, 0, 1);

    if (st == BMLP_OK)
        net->params[net->b_offset[layer] + row] = value;
    return st;
}

bmlp_status_t bmlp_net_set_standardization(bmlp_net_t *net, const float *mean, const float *std,
                                           bmlp_error_t *err)
{
    size_t d = net->widths[0];
    float *new_mean;
    float *new_std;

    if (mean == NULL && std == NULL) {
        free(net->mean);
        free(net->std);
        net->mean = NULL;
        net->std = NULL;
        return BMLP_OK;
    }
    if (mean == NULL || std == NULL)
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "standardization needs both mean and std");
    for (size_t j = 0; j < d; j++) {
        if (!isfinite(mean[j]) || !isfinite(std[j]) || std[j] < 0.0f)
            return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                             "feature %zu has mean %g and std %g; both must be finite and std "
                             "non-negative",
                             j + 1, (double)mean[j], (double)std[j]);
    }
    new_mean = malloc(d * sizeof(float));
    new_std = malloc(d * sizeof(float));
    if (new_mean == NULL || new_std == NULL) {
        free(new_mean);
        free(new_std);
        return bmlp_fail(err, BMLP_ERR_NO_MEMORY, NULL, 0, 0, NULL,
                         "cannot allocate standardization");
    }
    for (size_t j = 0; j < d; j++) {
        int constant = std[j] < FLT_MIN || std[j] < FLT_EPSILON * fabsf(mean[j]);
        new_mean[j] = mean[j];
        new_std[j] = constant ? 1.0f : std[j];
    }
    free(net->mean);
    free(net->std);
    net->mean = new_mean;
    net->std = new_std;
    return BMLP_OK;
}

int bmlp_net_standardization(const bmlp_net_t *net, const float **mean, const float **std)
{
    if (net->mean == NULL)
        return 0;
    *mean = net->mean;
    *std = net->std;
    return 1;
}
