/*
 * The kernel table: every floating-point loop of a training step, filled once per instruction
 * set. kernels/scalar.c is the reference that the vectorized tables are tested against.
 *
 * Matrices are row-major with an explicit leading dimension (the distance between rows, in
 * floats). Activation tiles are feature-major: unit u of sample s is at [u * ld + s], so the
 * samples of one unit are contiguous and lie along the SIMD lanes. Weights W of a layer with
 * k inputs and m outputs are m x k with leading dimension k. Pointers need no alignment.
 * Sizes m, n and k are at least 1.
 */
#ifndef BMLP_KERNELS_H
#define BMLP_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
#define restrict __restrict
#endif

/* Limits of the networks that small_step takes: units of all layers together (inputs included)
 * and parameters. Its state on the stack is at most about 112 KiB at these limits. */
#define BMLP_SMALL_MAX_UNITS 64
#define BMLP_SMALL_MAX_PARAMS 256

/* Distance in samples at which small_step prefetches shuffled rows: one AVX-512 vector ahead,
 * so that the misses of the next vector's rows overlap with those of the vector being loaded.
 * Training a 2-2-1 network, distances of 32, 64 and 128 ran 2%, 4% and 8% slower, and
 * requesting all of the next chunk's rows before the chunk about 20% slower.
 * NOTE: the best distance depends on the machine. On an Ice Lake VM, 32 and 64 ran 4% to 6%
 * faster. */
#define BMLP_SMALL_PREFETCH_AHEAD 16

/* Vectors of samples whose losses small_step and its twin sum in float lanes before adding
 * them in double. */
#define BMLP_SMALL_LOSS_FLUSH 16

/* A network for small_step, in the library's parameter layout. */
typedef struct bmlp_small_net {
    size_t num_layers;      /* weight layers, the last with one output */
    const size_t *widths;   /* num_layers + 1 unit-layer widths, inputs first */
    const size_t *w_offset; /* W of layer l (widths[l + 1] x widths[l]) at params + w_offset[l] */
    const size_t *b_offset; /* b of layer l at params + b_offset[l] */
    size_t num_params;
    const float *params;
    const float *mean, *std; /* standardization of the inputs, or NULL */
} bmlp_small_net_t;

typedef struct bmlp_kernels {
    const char *name;
    size_t lanes; /* floats per vector: 1, 8 or 16 */

    /* Z[m x n] = W[m x k] A[k x n] + b[m], b added to every sample. */
    void (*dense_forward)(size_t m, size_t n, size_t k, const float *restrict W,
                          const float *restrict b, const float *restrict A, size_t lda,
                          float *restrict Z, size_t ldz);

    /* H = sigma(Z) with Z[m x n] = W[m x k] A[k x n] + b[m]: dense_forward and sigmoid in one
     * pass that applies the sigmoid to each block of Z while it is in L1. Z may be NULL, and
     * then only H is written. The results equal those of the two kernels bit for bit. */
    void (*dense_forward_sigmoid)(size_t m, size_t n, size_t k, const float *restrict W,
                                  const float *restrict b, const float *restrict A, size_t lda,
                                  float *Z, size_t ldz, float *H, size_t ldh);

    /* dA[k x n] = W^T dZ, with W m x k and dZ m x n: the gradient back to the inputs. */
    void (*dense_backward_input)(size_t m, size_t n, size_t k, const float *restrict W,
                                 const float *restrict dZ, size_t lddz, float *restrict dA,
                                 size_t ldda);

    /* dZin[k x n] = (W^T dZ) * A * (1 - A): dense_backward_input followed by sigmoid_backward
     * for inputs A that are sigmoid outputs, without storing W^T dZ. The results equal those
     * of the two kernels bit for bit. dZin may be A itself (with lddzin == lda). */
    void (*backward_input_sigmoid)(size_t m, size_t n, size_t k, const float *restrict W,
                                   const float *restrict dZ, size_t lddz, const float *A,
                                   size_t lda, float *dZin, size_t lddzin);

    /*
     * The backward pass through an output layer of one unit, with weights w[k], into the
     * sigmoid layer below it, whose outputs are A[k x n], in one pass over A. For each unit j:
     * gw[j] = sum over s of dz[s] A[j][s] (the output weights' gradient),
     * dZin[j][s] = (w[j] dz[s]) A[j][s] (1 - A[j][s]), and db[j] = sum over s of dZin[j][s]
     * (the bias gradient of the layer below). The results equal those of weight_grad,
     * backward_input_sigmoid and bias_grad of the same table bit for bit. dZin may be A itself
     * (with lddzin == lda).
     */
    void (*output_backward)(size_t n, size_t k, const float *restrict w, const float *restrict dz,
                            const float *A, size_t lda, float *dZin, size_t lddzin,
                            float *restrict gw, float *restrict db);

    /* dW[m x k] = dZ[m x n] A[k x n]^T, overwriting dW: the weight gradient summed over the n
     * samples. */
    void (*weight_grad)(size_t m, size_t n, size_t k, const float *restrict dZ, size_t lddz,
                        const float *restrict A, size_t lda, float *restrict dW);

    /* db[i] = sum over s of dZ[i][s], overwriting db[m]. */
    void (*bias_grad)(size_t m, size_t n, const float *restrict dZ, size_t lddz,
                      float *restrict db);

    /* A = sigma(Z) = 1 / (1 + exp(-Z)) elementwise over m x n. A may equal Z. */
    void (*sigmoid)(size_t m, size_t n, const float *Z, size_t ldz, float *A, size_t lda);

    /* dZ = dA * A * (1 - A) elementwise over m x n, the chain rule through a sigmoid whose
     * output is A. dZ may equal dA. */
    void (*sigmoid_backward)(size_t m, size_t n, const float *dA, size_t ldda,
                             const float *restrict A, size_t lda, float *dZ, size_t lddz);

    /* For n output logits z and labels y: p = sigma(z), dz = p - y (the derivative of binary
     * cross-entropy with respect to the logit), and the summed loss
     * L = max(z, 0) - z y + log1p(exp(-|z|)), which is finite for every finite z.
     * *correct receives the number of samples with (p >= 0.5) == (y == 1). */
    double (*output_loss_grad)(size_t n, const float *restrict z, const float *restrict y,
                               float *restrict p, float *restrict dz, size_t *correct);

    /* y += alpha x over n floats. */
    void (*axpy)(size_t n, float alpha, const float *restrict x, float *restrict y);

    /* x *= alpha over n floats. */
    void (*scale)(size_t n, float alpha, float *x);

    /* The end of a training step over len parameters: sums count gradient slots (slot c at
     * slots + c * stride) pairwise, in the order that halving gives (slot i += slot i + s for
     * s = 1, 2, 4, ...), stores the sum times scale in grad (unless grad is NULL), then
     * params += -learning_rate * grad (unless params is NULL). count is 1 to BMLP_MAX_SLOTS.
     * One pass over the slots instead of one per add. The two halves can run apart with the
     * same bits: the sum into grad with params NULL, then the update alone as count 1 of the
     * slot grad with scale 1, which leaves every value unchanged. Every table gives the same
     * bits, except that where two slots hold different NaNs, the NaN that the sum carries can
     * differ (gcc may swap the operands of an add). */
    void (*reduce_update)(size_t count, size_t len, const float *restrict slots, size_t stride,
                          float scale, float learning_rate, float *restrict grad,
                          float *restrict params);

    /*
     * One chunk of a training step for a small network, fused. For n samples, the forward
     * pass, the loss and the backward pass run on a few vectors of samples at a time, with
     * every activation and gradient in registers or on the stack, and no tile is written.
     * Sample s is row r = rows[s] (or s when rows is NULL): features at x + r * x_stride,
     * standardized as in gather_tile, and label y[r * y_stride], 0 or 1. With rows, each vector
     * of samples prefetches the rows min(n, BMLP_SMALL_PREFETCH_AHEAD) positions further on, which
     * run into next_rows[0 .. next_n), the rows of the chunk that comes next (NULL and 0 for
     * none). A network of one hidden layer of at most 4 units on at most 4 inputs prefetches
     * the rows of its next tile of BMLP_SMALL_LOSS_FLUSH vectors instead. After its last tile,
     * it prefetches as many of the next chunk's rows as that tile contains. The caller
     * prefetches the first rows of a chunk that no other chunk preceded. Writes the gradient summed over the samples to grads
     * (num_params floats), returns the summed loss and sets *correct as output_loss_grad does.
     * The output probability is (z >= 0 ? 1 : e) / (1 + e) with e = exp(-|z|), the exp that the
     * loss needs as well. The loss takes log(1 + e) for log1p(e), and each lane multiplies its
     * 1 + e together and takes one log of the product per BMLP_SMALL_LOSS_FLUSH vectors (at most
     * 1.2e-7 off per sample). Each lane sums its own samples in order, and the lanes are added
     * at the end. NULL in the scalar table; bmlp_small_step_reference is its twin.
     */
    double (*small_step)(const bmlp_small_net_t *net, size_t n, const float *restrict x,
                         size_t x_stride, const float *restrict y, size_t y_stride,
                         const size_t *restrict rows, const size_t *restrict next_rows,
                         size_t next_n, float *restrict grads, size_t *correct);

    /* Copies features 0 .. d - 1 of n samples into the feature-major tile A. Sample s is row
     * r = rows[s] (or s when rows is NULL) of the sample-major table x. Then
     * A[j * lda + s] = (x[r * x_stride + j] - mean[j]) / std[j], or x[r * x_stride + j] when
     * mean is NULL. Vectorized kernels transpose each group of VL features of VL samples in
     * registers and gather the features left over one at a time. */
    void (*gather_tile)(size_t d, size_t n, const float *restrict x, size_t x_stride,
                        const size_t *restrict rows, const float *restrict mean,
                        const float *restrict std, float *restrict A, size_t lda);

    /* Runs rounds of independent multiply-adds on registers only, enough chains to keep every
     * multiply-add unit busy, and returns the floating-point operations done (2 per
     * multiply-add): timing it measures the machine's peak for this instruction set. */
    double (*fma_probe)(size_t rounds);
} bmlp_kernels_t;

/* Most gradient slots that reduce_update sums. */
#define BMLP_MAX_SLOTS 64

/* small_step in plain C for a vector of lanes lanes (1 to 16): the same operations in the same
 * order as the vectorized kernel of that width, up to the rounding of SLEEF's exp and log.
 * When abs_grads is not NULL it receives, per parameter, the sum of the magnitudes of the terms
 * added into its gradient, from which tests derive their tolerances. */
double bmlp_small_step_reference(size_t lanes, const bmlp_small_net_t *net, size_t n,
                                 const float *x, size_t x_stride, const float *y, size_t y_stride,
                                 const size_t *rows, float *grads, size_t *correct,
                                 float *abs_grads);

extern const bmlp_kernels_t bmlp_kernels_scalar;
extern const bmlp_kernels_t bmlp_kernels_avx2;
extern const bmlp_kernels_t bmlp_kernels_avx512;

#endif /* BMLP_KERNELS_H */
