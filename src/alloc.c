/* madvise, MADV_HUGEPAGE and _SC_AVPHYS_PAGES are outside C11 and POSIX. */
#define _DEFAULT_SOURCE

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#ifdef __linux__
#include <sys/mman.h>
#endif

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

/* Huge page size of x86-64 Linux, and the smallest table that is worth one. */
#define HUGE_PAGE ((size_t)2 << 20)

void *bmlp_alloc_table(size_t bytes)
{
    size_t rounded;
    void *p;

    if (bytes < HUGE_PAGE)
        return malloc(bytes > 0 ? bytes : 1);
    if (bytes > SIZE_MAX - HUGE_PAGE)
        return NULL;
    rounded = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    p = aligned_alloc(HUGE_PAGE, rounded);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    /* Advice only: where transparent huge pages are off, the table keeps 4 KiB pages. */
    if (p != NULL)
        (void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
}

size_t bmlp_copy_budget(void)
{
#if defined(_SC_PHYS_PAGES) && defined(_SC_AVPHYS_PAGES) && defined(_SC_PAGESIZE)
    long total = sysconf(_SC_PHYS_PAGES), free_now = sysconf(_SC_AVPHYS_PAGES);
    long page = sysconf(_SC_PAGESIZE);
    size_t pages;

    if (total <= 0 || free_now <= 0 || page <= 0)
        return 0;
    pages = (size_t)total / 8;
    if ((size_t)free_now / 2 < pages)
        pages = (size_t)free_now / 2;
    return pages > SIZE_MAX / (size_t)page ? SIZE_MAX : pages * (size_t)page;
#else
    return 0;
#endif
}

double bmlp_physical_memory(void)
{
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);

    if (pages > 0 && page > 0)
        return (double)pages * (double)page;
#endif
    return 0.0;
}

void bmlp_free_floats(float *p)
{
    free(p);
}
