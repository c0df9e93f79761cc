/* The reference kernels: plain loops in float, with exp from SLEEF's scalar 1-ULP expf. */
#include <math.h>

#include <sleef.h>

#include "kernels.h"

static void dense_forward_scalar(size_t m, size_t n, size_t k, const float *restrict W,
                                 const float *restrict b, const float *restrict A, size_t lda,
                                 float *restrict Z, size_t ldz)
{
    for (size_t i = 0; i < m; i++) {
        float *z = Z + i * ldz;
        for (size_t s = 0; s < n; s++)
            z[s] = b[i];
        /* Accumulate one input row at a time so the inner loop runs along samples. */
        for (size_t j = 0; j < k; j++) {
            const float w = W[i * k + j];
            const float *a = A + j * lda;
            for (size_t s = 0; s < n; s++)
                z[s] += w * a[s];
        }
    }
}

static void dense_backward_input_scalar(size_t m, size_t n, size_t k, const float *restrict W,
                                        const float *restrict dZ, size_t lddz, float *restrict dA,
                                        size_t ldda)
{
    for (size_t j = 0; j < k; j++) {
        float *da = dA + j * ldda;
        for (size_t s = 0; s < n; s++)
            da[s] = 0.0f;
        for (size_t i = 0; i < m; i++) {
            const float w = W[i * k + j];
            const float *dz = dZ + i * lddz;
            for (size_t s = 0; s < n; s++)
                da[s] += w * dz[s];
        }
    }
}

static void weight_grad_scalar(size_t m, size_t n, size_t k, const float *restrict dZ, size_t lddz,
                               const float *restrict A, size_t lda, float *restrict dW)
{
    for (size_t i = 0; i < m; i++) {
        const float *dz = dZ + i * lddz;
        for (size_t j = 0; j < k; j++) {
            const float *a = A + j * lda;
            float sum = 0.0f;
            for (size_t s = 0; s < n; s++)
                sum += dz[s] * a[s];
            dW[i * k + j] = sum;
        }
    }
}

static void bias_grad_scalar(size_t m, size_t n, const float *restrict dZ, size_t lddz,
                             float *restrict db)
{
    for (size_t i = 0; i < m; i++) {
        const float *dz = dZ + i * lddz;
        float sum = 0.0f;
        for (size_t s = 0; s < n; s++)
            sum += dz[s];
        db[i] = sum;
    }
}

/* sigma(z) = 1 / (1 + exp(-z)). exp(-z) overflows to +inf for z below about -88.7, which gives
 * exactly 0, and underflows to 0 for large z, which gives exactly 1; no NaN for any non-NaN z. */
static float sigmoid1(float z)
{
    return 1.0f / (1.0f + Sleef_expf_u10(-z));
}

static void sigmoid_scalar(size_t m, size_t n, const float *Z, size_t ldz, float *A, size_t lda)
{
    for (size_t i = 0; i < m; i++)
        for (size_t s = 0; s < n; s++)
            A[i * lda + s] = sigmoid1(Z[i * ldz + s]);
}

static void sigmoid_backward_scalar(size_t m, size_t n, const float *dA, size_t ldda,
                                    const float *restrict A, size_t lda, float *dZ, size_t lddz)
{
    for (size_t i = 0; i < m; i++) {
        for (size_t s = 0; s < n; s++) {
            const float a = A[i * lda + s];
            dZ[i * lddz + s] = dA[i * ldda + s] * a * (1.0f - a);
        }
    }
}

static void dense_forward_sigmoid_scalar(size_t m, size_t n, size_t k, const float *restrict W,
                                         const float *restrict b, const float *restrict A,
                                         size_t lda, float *Z, size_t ldz, float *H, size_t ldh)
{
    if (Z == NULL) {
        Z = H;
        ldz = ldh;
    }
    dense_forward_scalar(m, n, k, W, b, A, lda, Z, ldz);
    sigmoid_scalar(m, n, Z, ldz, H, ldh);
}

/* Samples per pass of backward_input_sigmoid_scalar. */
#define BACKWARD_PASS 64

static void backward_input_sigmoid_scalar(size_t m, size_t n, size_t k, const float *restrict W,
                                          const float *restrict dZ, size_t lddz, const float *A,
                                          size_t lda, float *dZin, size_t lddzin)
{
    /* Each row of W^T dZ is summed into a buffer, pass by pass, in the order of
     * dense_backward_input, and then stored with sigmoid_backward's operations. So dZin may
     * be A. */
    for (size_t s0 = 0; s0 < n; s0 += BACKWARD_PASS) {
        size_t count = n - s0 < BACKWARD_PASS ? n - s0 : BACKWARD_PASS;
        float sum[BACKWARD_PASS];

        for (size_t j = 0; j < k; j++) {
            const float *a = A + j * lda + s0;
            float *out = dZin + j * lddzin + s0;

            for (size_t s = 0; s < count; s++)
                sum[s] = 0.0f;
            for (size_t i = 0; i < m; i++) {
                const float w = W[i * k + j];
                const float *dz = dZ + i * lddz + s0;
                for (size_t s = 0; s < count; s++)
                    sum[s] += w * dz[s];
            }
            for (size_t s = 0; s < count; s++)
                out[s] = sum[s] * a[s] * (1.0f - a[s]);
        }
    }
}

static void output_backward_scalar(size_t n, size_t k, const float *restrict w,
                                   const float *restrict dz, const float *A, size_t lda,
                                   float *dZin, size_t lddzin, float *restrict gw,
                                   float *restrict db)
{
    weight_grad_scalar(1, n, k, dz, n, A, lda, gw);
    backward_input_sigmoid_scalar(1, n, k, w, dz, n, A, lda, dZin, lddzin);
    bias_grad_scalar(k, n, dZin, lddzin, db);
}

/* log(1 + exp(x)) for any x, without overflow: max(x, 0) + log1p(exp(-|x|)). */
static double softplus(double x)
{
    return fmax(x, 0.0) + log1p(exp(-fabs(x)));
}

static double output_loss_grad_scalar(size_t n, const float *restrict z, const float *restrict y,
                                      float *restrict p, float *restrict dz, size_t *correct)
{
    double loss = 0.0;
    size_t hits = 0;

    for (size_t s = 0; s < n; s++) {
        const float prob = sigmoid1(z[s]);
        const double zs = z[s];

        /* L = y softplus(-z) + (1 - y) softplus(z), which equals max(z, 0) - z y +
         * log1p(exp(-|z|)) for finite z. Each term is skipped when its weight is zero, so that
         * z = +-inf gives 0 * inf = NaN in neither term and the loss is 0 or +inf. */
        if (y[s] != 0.0f)
            loss += y[s] * softplus(-zs);
        if (y[s] != 1.0f)
            loss += (1.0 - y[s]) * softplus(zs);

        p[s] = prob;
        dz[s] = prob - y[s];
        hits += (prob >= 0.5f) == (y[s] == 1.0f);
    }
    *correct = hits;
    return loss;
}

static void axpy_scalar(size_t n, float alpha, const float *restrict x, float *restrict y)
{
    for (size_t i = 0; i < n; i++)
        y[i] += alpha * x[i];
}

static void scale_scalar(size_t n, float alpha, float *x)
{
    for (size_t i = 0; i < n; i++)
        x[i] *= alpha;
}

static void reduce_update_scalar(size_t count, size_t len, const float *restrict slots,
                                 size_t stride, float scale, float learning_rate,
                                 float *restrict grad, float *restrict params)
{
    float v[BMLP_MAX_SLOTS];

    for (size_t i = 0; i < len; i++) {
        for (size_t c = 0; c < count; c++)
            v[c] = slots[c * stride + i];
        for (size_t s = 1; s < count; s *= 2)
            for (size_t c = 0; c + s < count; c += 2 * s)
                v[c] += v[c + s];
        float g = v[0] * scale;

        if (grad != NULL)
            grad[i] = g;
        if (params != NULL)
            params[i] += -learning_rate * g;
    }
}

/* Number of independent chains in fma_probe: more than latency x throughput of a multiply and
 * an add on current x86 cores (4 cycles x 2 per cycle). */
#define PROBE_CHAINS 12

static double fma_probe_scalar(size_t rounds)
{
    volatile float seed = 1.0f;
    float acc[PROBE_CHAINS];
    float mul = seed * 0.999999f;
    float add = seed * 1e-7f;
    float sink = 0.0f;

    for (size_t c = 0; c < PROBE_CHAINS; c++)
        acc[c] = seed + (float)c;
    for (size_t r = 0; r < rounds; r++)
        for (size_t c = 0; c < PROBE_CHAINS; c++)
            acc[c] = acc[c] * mul + add;
    for (size_t c = 0; c < PROBE_CHAINS; c++)
        sink += acc[c];
    seed = sink;
    return 2.0 * PROBE_CHAINS * (double)rounds;
}

static void gather_tile_scalar(size_t d, size_t n, const float *restrict x, size_t x_stride,
                               const size_t *restrict rows, const float *restrict mean,
                               const float *restrict std, float *restrict A, size_t lda)
{
    for (size_t s = 0; s < n; s++) {
        const float *row = x + (rows != NULL ? rows[s] : s) * x_stride;

        for (size_t j = 0; j < d; j++)
            A[j * lda + s] = mean != NULL ? (row[j] - mean[j]) / std[j] : row[j];
    }
}

/* The linear part of small_step's per-lane loss, in its float operations. The rest of the
 * loss is log(1 + e) for e = exp(-|z|). */
static float small_loss_linear(float z, float y)
{
    float pos = fmaxf(z, 0.0f), neg = fmaxf(-z, 0.0f);
    float linear = (1.0f - y) * pos + y * neg;

    if (y == 0.0f)
        linear = pos;
    else if (y == 1.0f)
        linear = neg;
    return linear;
}

/* Sums lanes 0 .. lanes - 1 of v in double by halving, the order of vsum_double. Overwrites v. */
static double halving_sum_double(double *v, size_t lanes)
{
    for (size_t h = lanes / 2; h > 0; h /= 2)
        for (size_t l = 0; l < h; l++)
            v[l] += v[l + h];
    return v[0];
}

/* Sums lanes 0 .. lanes - 1 of v by halving (v[l] += v[l + h] for h = lanes / 2, ..., 1), the
 * order of the vectorized horizontal sums. Overwrites v. */
static float halving_sum(float *v, size_t lanes)
{
    for (size_t h = lanes / 2; h > 0; h /= 2)
        for (size_t l = 0; l < h; l++)
            v[l] += v[l + h];
    return v[0];
}

double bmlp_small_step_reference(size_t lanes, const bmlp_small_net_t *net, size_t n,
                                 const float *x, size_t x_stride, const float *y, size_t y_stride,
                                 const size_t *rows, float *grads, size_t *correct,
                                 float *abs_grads)
{
    static const size_t max_lanes = 16;
    float acc[BMLP_SMALL_MAX_PARAMS][16], mag[BMLP_SMALL_MAX_PARAMS];
    float act[BMLP_SMALL_MAX_UNITS], delta[2][BMLP_SMALL_MAX_UNITS];
    float loss_lanes[16] = {0.0f};
    float log_product[16]; /* of 1 + e per lane since the last flush */
    size_t first[BMLP_SMALL_MAX_UNITS + 1];
    size_t L = net->num_layers, d = net->widths[0];
    const float *P = net->params;
    double loss = 0.0, lane_loss[16];
    size_t hits = 0;

    if (lanes > max_lanes)
        lanes = max_lanes;
    first[0] = 0;
    for (size_t l = 0; l < L; l++)
        first[l + 1] = first[l] + net->widths[l];
    for (size_t l = 0; l < lanes; l++)
        log_product[l] = 1.0f;
    for (size_t p = 0; p < net->num_params; p++) {
        mag[p] = 0.0f;
        for (size_t l = 0; l < lanes; l++)
            acc[p][l] = 0.0f;
    }
    for (size_t s0 = 0, v = 0; s0 < n; s0 += lanes, v++) {
        for (size_t l = 0; l < lanes; l++) {
            /* Lanes past the last sample repeat the first one and contribute zero. */
            size_t s = s0 + l < n ? s0 + l : s0;
            size_t r = rows != NULL ? rows[s] : s;
            float label = y[r * y_stride], z = 0.0f, *cur, *next;

            for (size_t j = 0; j < d; j++) {
                float value = x[r * x_stride + j];
                act[j] = net->mean != NULL ? (value - net->mean[j]) / net->std[j] : value;
            }
            for (size_t k = 0; k < L; k++) {
                size_t m = net->widths[k + 1], w = net->widths[k];
                const float *W = P + net->w_offset[k], *b = P + net->b_offset[k];

                for (size_t i = 0; i < m; i++) {
                    z = b[i];
                    for (size_t j = 0; j < w; j++)
                        z = fmaf(W[i * w + j], act[first[k] + j], z);
                    if (k + 1 < L)
                        act[first[k + 1] + i] = sigmoid1(z);
                }
            }
            float e = Sleef_expf_u10(-fabsf(z));
            float prob = (signbit(z) ? e : 1.0f) / (1.0f + e);
            int live = s0 + l < n;

            delta[0][0] = live ? prob - label : 0.0f;
            loss_lanes[l] += live ? small_loss_linear(z, label) : 0.0f;
            log_product[l] *= 1.0f + (live ? e : 0.0f);
            hits += live && (prob >= 0.5f) == (label == 1.0f);
            cur = delta[0];
            next = delta[1];
            for (size_t k = L; k-- > 0;) {
                size_t m = net->widths[k + 1], w = net->widths[k];
                const float *W = P + net->w_offset[k];
                const float *in = act + first[k];

                for (size_t i = 0; i < m; i++) {
                    size_t b = net->b_offset[k] + i;

                    acc[b][l] += cur[i];
                    mag[b] += fabsf(cur[i]);
                    for (size_t j = 0; j < w; j++) {
                        size_t p = net->w_offset[k] + i * w + j;

                        acc[p][l] = fmaf(cur[i], in[j], acc[p][l]);
                        mag[p] += fabsf(cur[i] * in[j]);
                    }
                }
                if (k == 0)
                    break;
                for (size_t j = 0; j < w; j++) {
                    float t = W[j] * cur[0];

                    for (size_t i = 1; i < m; i++)
                        t = fmaf(W[i * w + j], cur[i], t);
                    next[j] = (t * in[j]) * (1.0f - in[j]);
                }
                float *swap = cur;
                cur = next;
                next = swap;
            }
        }
        if (v % BMLP_SMALL_LOSS_FLUSH == BMLP_SMALL_LOSS_FLUSH - 1 || s0 + lanes >= n) {
            /* The linear parts, then the logs of the products, each summed as in vsum_double. */
            for (size_t l = 0; l < lanes; l++) {
                lane_loss[l] = loss_lanes[l];
                loss_lanes[l] = 0.0f;
            }
            loss += halving_sum_double(lane_loss, lanes);
            for (size_t l = 0; l < lanes; l++) {
                lane_loss[l] = Sleef_logf_u35(log_product[l]);
                log_product[l] = 1.0f;
            }
            loss += halving_sum_double(lane_loss, lanes);
        }
    }
    for (size_t p = 0; p < net->num_params; p++) {
        grads[p] = halving_sum(acc[p], lanes);
        if (abs_grads != NULL)
            abs_grads[p] = mag[p];
    }
    *correct = hits;
    return loss;
}

const bmlp_kernels_t bmlp_kernels_scalar = {
    .name = "scalar",
    .lanes = 1,
    .dense_forward = dense_forward_scalar,
    .dense_forward_sigmoid = dense_forward_sigmoid_scalar,
    .dense_backward_input = dense_backward_input_scalar,
    .backward_input_sigmoid = backward_input_sigmoid_scalar,
    .output_backward = output_backward_scalar,
    .weight_grad = weight_grad_scalar,
    .bias_grad = bias_grad_scalar,
    .sigmoid = sigmoid_scalar,
    .sigmoid_backward = sigmoid_backward_scalar,
    .output_loss_grad = output_loss_grad_scalar,
    .axpy = axpy_scalar,
    .scale = scale_scalar,
    .reduce_update = reduce_update_scalar,
    .gather_tile = gather_tile_scalar,
    .small_step = NULL,
    .fma_probe = fma_probe_scalar,
};
