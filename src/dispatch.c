/* Instruction-set names, resolution of "auto" and the BMLP_ISA variable, and the kernel
 * tables. */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "error.h"

static const char *const isa_names[] = {
    [BMLP_ISA_AUTO] = "auto",
    [BMLP_ISA_SCALAR] = "scalar",
    [BMLP_ISA_AVX2] = "avx2",
    [BMLP_ISA_AVX512] = "avx512",
};

int bmlp_isa_parse(const char *name, bmlp_isa_t *isa)
{
    for (size_t i = 0; i < sizeof(isa_names) / sizeof(isa_names[0]); i++) {
        if (strcmp(name, isa_names[i]) == 0) {
            *isa = (bmlp_isa_t)i;
            return 0;
        }
    }
    return -1;
}

const char *bmlp_isa_name(bmlp_isa_t isa)
{
    if ((size_t)isa < sizeof(isa_names) / sizeof(isa_names[0]))
        return isa_names[isa];
    return "unknown";
}

/* Returns nonzero when this build has kernels for isa and the CPU can run them. */
static int isa_available(bmlp_isa_t isa)
{
    /* TODO: only the scalar kernels exist so far; AVX2 and AVX-512 tables with a cpuid check
     * slot in here. */
    return isa == BMLP_ISA_SCALAR;
}

bmlp_status_t bmlp_isa_resolve(bmlp_isa_t isa, bmlp_isa_t *resolved, bmlp_error_t *err)
{
    if (isa == BMLP_ISA_AUTO) {
        const char *env = getenv("BMLP_ISA");
        if (env != NULL && env[0] != '\0' && bmlp_isa_parse(env, &isa) != 0)
            return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, env,
                             "BMLP_ISA must be auto, scalar, avx2 or avx512");
    }
    if (isa == BMLP_ISA_AUTO) {
        isa = BMLP_ISA_SCALAR;
        if (isa_available(BMLP_ISA_AVX2))
            isa = BMLP_ISA_AVX2;
        if (isa_available(BMLP_ISA_AVX512))
            isa = BMLP_ISA_AVX512;
    }
    if (!isa_available(isa))
        return bmlp_fail(err, BMLP_ERR_UNSUPPORTED, NULL, 0, 0, bmlp_isa_name(isa),
                         "instruction set %s is not available on this CPU or in this build",
                         bmlp_isa_name(isa));
    *resolved = isa;
    return BMLP_OK;
}

const bmlp_kernels_t *bmlp_kernels_for(bmlp_isa_t isa)
{
    /* Every instruction set that bmlp_isa_resolve accepts maps to the scalar table for now. */
    (void)isa;
    return &bmlp_kernels_scalar;
}
