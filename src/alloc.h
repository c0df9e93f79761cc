/* 64-byte aligned allocation; internal to the library. */
#ifndef BMLP_SRC_ALLOC_H
#define BMLP_SRC_ALLOC_H

#include <stddef.h>

/* Alignment of every buffer the library allocates, in bytes: one cache line and one AVX-512
 * register. */
#define BMLP_ALIGN 64

/* Allocates count floats aligned to BMLP_ALIGN and zeroes them; NULL on failure or overflow. */
float *bmlp_alloc_floats(size_t count);

/* Allocates bytes for a table that is read in random order, such as a dataset. Blocks of 2 MiB or
 * more are aligned to 2 MiB and marked for transparent huge pages where the system offers them,
 * so that shuffled reads miss the TLB less often. Free with free(). Returns NULL on failure or
 * overflow. */
void *bmlp_alloc_table(size_t bytes);

/* Returns the largest table, in bytes, that the library copies into memory to read it faster:
 * an eighth of the machine's memory, and at most half of the memory free now. Returns 0 where
 * sysconf cannot report the memory sizes. */
size_t bmlp_copy_budget(void);

/* Returns the bytes of physical memory of the machine, or 0 where sysconf cannot report them. */
double bmlp_physical_memory(void);

/* Frees memory from bmlp_alloc_floats. Accepts NULL. */
void bmlp_free_floats(float *p);

#endif /* BMLP_SRC_ALLOC_H */
