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

/* Returns nonzero when the CPU and the operating system can run the kernels of isa. GCC's and
 * clang's __builtin_cpu_supports read cpuid and also check with xgetbv that the operating
 * system saves the AVX and AVX-512 register state. */
static int isa_available(bmlp_isa_t isa)
{
    switch (isa) {
    case BMLP_ISA_SCALAR:
        return 1;
    case BMLP_ISA_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case BMLP_ISA_AVX512:
        /* kernels/avx512.c is compiled for the F, DQ, BW and VL subsets. */
        return isa_available(BMLP_ISA_AVX2) && __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl");
    case BMLP_ISA_AUTO:
        break;
    }
    return 0;
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
    switch (isa) {
    case BMLP_ISA_AVX2:
        return &bmlp_kernels_avx2;
    case BMLP_ISA_AVX512:
        return &bmlp_kernels_avx512;
    case BMLP_ISA_SCALAR:
    case BMLP_ISA_AUTO:
        break;
    }
    return &bmlp_kernels_scalar;
}
