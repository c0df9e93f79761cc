#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

float *bmlp_alloc_floats(size_t count)
{
    size_t bytes;
    float *p;

    if (count == 0)
        count = 1;
    if (count > (SIZE_MAX - BMLP_ALIGN) / sizeof(float))
        return NULL;
    /* aligned_alloc requires the size to be a multiple of the alignment. */
    bytes = (count * sizeof(float) + BMLP_ALIGN - 1) / BMLP_ALIGN * BMLP_ALIGN;
    p = aligned_alloc(BMLP_ALIGN, bytes);
    if (p != NULL)
        memset(p, 0, bytes);
    return p;
}

void bmlp_free_floats(float *p)
{
    free(p);
}
