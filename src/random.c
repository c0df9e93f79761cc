#include <math.h>

#include <Random123/philox.h>

#include "random.h"

void bmlp_random_block(uint64_t seed, uint32_t stream, uint64_t index, uint32_t out[4])
{
    philox4x32_ctr_t ctr = {{(uint32_t)index, (uint32_t)(index >> 32), stream, 0}};
    philox4x32_key_t key = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
    philox4x32_ctr_t r = philox4x32(ctr, key);

    for (int i = 0; i < 4; i++)
        out[i] = r.v[i];
}

/* Maps 64 random bits to [0, 1) using the top 53. */
static double to_unit(uint32_t hi, uint32_t lo)
{
    uint64_t bits = ((uint64_t)hi << 32 | lo) >> 11;

    return (double)bits * 0x1.0p-53;
}

double bmlp_random_uniform(uint64_t seed, uint32_t stream, uint64_t index)
{
    uint32_t w[4];

    bmlp_random_block(seed, stream, index, w);
    return to_unit(w[0], w[1]);
}

void bmlp_random_uniform2(uint64_t seed, uint32_t stream, uint64_t index, double out[2])
{
    uint32_t w[4];

    bmlp_random_block(seed, stream, index, w);
    out[0] = to_unit(w[0], w[1]);
    out[1] = to_unit(w[2], w[3]);
}

void bmlp_random_normal2(uint64_t seed, uint32_t stream, uint64_t index, double out[2])
{
    const double two_pi = 6.283185307179586476925286766559;
    double u[2];
    double radius;

    bmlp_random_uniform2(seed, stream, index, u);
    /* 1 - u lies in (0, 1], so the logarithm is finite. */
    radius = sqrt(-2.0 * log(1.0 - u[0]));
    out[0] = radius * cos(two_pi * u[1]);
    out[1] = radius * sin(two_pi * u[1]);
}

uint64_t bmlp_random_below(uint64_t seed, uint32_t stream, uint64_t index, uint64_t bound)
{
    uint64_t k = (uint64_t)(bmlp_random_uniform(seed, stream, index) * (double)bound);

    return k < bound ? k : bound - 1;
}
