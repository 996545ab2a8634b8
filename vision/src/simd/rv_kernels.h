/* rv_kernels.h - the table of SIMD kernels and how it is filled (internal to vision).
 *
 * The scalar kernels are the specification. Each instruction set has its own source files
 * (rv_*_sse2.c, rv_*_avx2.c, rv_*_avx512.c, rv_*_neon.c), compiled with that set's flags
 * alone. Each file exports a fill function that overwrites only the entries it implements;
 * the dispatcher (rv_simd.c) fills a table from the scalar level up to the chosen level, so
 * an entry a set does not implement falls back to the best lower one.
 *
 * Kernels work on one row of n pixels (or a few rows for neighbourhood kernels); the
 * image-level wrappers in rv_point.c and rv_filter.c loop over rows, handle borders and
 * strides. No kernel may read before its documented start or past its documented end, nor
 * write outside dst[0 .. n-1]: views may be regions of interest of larger images. */
#ifndef RV_KERNELS_H
#define RV_KERNELS_H

#include "rv_kernels_point.h"
#include "rv_kernels_filter.h"

typedef enum rv_isa {
    RV_ISA_SCALAR = 0,
    RV_ISA_SSE2 = 1,
    RV_ISA_AVX2 = 2,
    RV_ISA_AVX512 = 3, /* AVX-512 F + BW + VL + DQ */
    RV_ISA_NEON = 4    /* aarch64 Advanced SIMD */
} rv_isa_t;

typedef struct rv_kernels {
    rv_isa_t isa;
    const char *name;
    rv_point_kernels_t p;
    rv_filter_kernels_t f;
} rv_kernels_t;

/* The active table: chosen once from the CPU, capped by RV_SIMD, or forced by
 * rv_simd_force(). Never NULL. */
const rv_kernels_t *rv__kernels(void);

/* Fill *out with the table of one instruction set. Returns 0, or -1 when this CPU (or
 * this build) cannot run that set. Used by the equivalence tests and the benchmark. */
int rv__kernels_for(rv_isa_t isa, rv_kernels_t *out);

/* Fill functions, one per file and instruction set. */
void rv__point_fill_scalar(rv_point_kernels_t *k);
void rv__filter_fill_scalar(rv_filter_kernels_t *k);
#if defined(__x86_64__) || defined(_M_X64)
void rv__point_fill_sse2(rv_point_kernels_t *k);
void rv__point_fill_avx2(rv_point_kernels_t *k);
void rv__point_fill_avx512(rv_point_kernels_t *k);
void rv__filter_fill_sse2(rv_filter_kernels_t *k);
void rv__filter_fill_avx2(rv_filter_kernels_t *k);
void rv__filter_fill_avx512(rv_filter_kernels_t *k);
#endif
#if defined(__aarch64__)
void rv__point_fill_neon(rv_point_kernels_t *k);
void rv__filter_fill_neon(rv_filter_kernels_t *k);
#endif

#endif
