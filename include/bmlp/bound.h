/* The speed limit of training on this machine: measured multiply-add peak and sigmoid rate,
 * and the samples per second of a training step at those rates. */
#ifndef BMLP_BOUND_H
#define BMLP_BOUND_H

#include "bmlp/net.h"
#include "bmlp/status.h"
#include "bmlp/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Rates of one instruction set on one core of this machine. */
typedef struct bmlp_machine_rates {
    bmlp_isa_t isa;
    double flops_per_second;    /* fused multiply-add peak, counting 2 operations each */
    double sigmoids_per_second; /* the sigmoid kernel on a tile that stays in L1 */
} bmlp_machine_rates_t;

/* Measures the rates of isa on the calling thread: the best of several runs of about 20 ms
 * each, so the call takes about a quarter of a second. */
bmlp_status_t bmlp_measure_rates(bmlp_isa_t isa, bmlp_machine_rates_t *rates, bmlp_error_t *err);

/* Work of one training step per sample: multiply-adds of the forward product, the product back
 * to the inputs (all layers but the first) and the weight gradient, and sigmoid evaluations
 * (every hidden unit and the output). */
typedef struct bmlp_step_work {
    double multiply_adds;
    double sigmoids;
} bmlp_step_work_t;

bmlp_step_work_t bmlp_step_work(const bmlp_net_t *net);

/* Returns the maximum samples per second of training at these rates. One sample costs its
 * multiply-adds at the peak plus its sigmoids at the sigmoid rate. */
double bmlp_step_bound(const bmlp_net_t *net, const bmlp_machine_rates_t *rates);

#ifdef __cplusplus
}
#endif

#endif /* BMLP_BOUND_H */
