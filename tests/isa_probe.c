/* Exits 0 when this CPU and build can run the instruction set named by argv[1], and 77 (the
 * code ctest treats as "skipped") when they cannot. */
#include <stdio.h>

#include "bmlp/bmlp.h"

int main(int argc, char **argv)
{
    bmlp_isa_t isa, resolved;
    bmlp_error_t err;

    if (argc != 2 || bmlp_isa_parse(argv[1], &isa) != 0) {
        fprintf(stderr, "usage: isa_probe scalar|avx2|avx512\n");
        return 2;
    }
    if (bmlp_isa_resolve(isa, &resolved, &err) != BMLP_OK) {
        fprintf(stderr, "isa_probe: %s\n", err.message);
        return 77;
    }
    return 0;
}
