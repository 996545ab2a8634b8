/* rv_simd.h - which instruction set the vision kernels use.
 *
 * At first use the library picks the best set this CPU and OS support (scalar, sse2,
 * avx2, avx512 on x86-64; neon on aarch64). The environment variable RV_SIMD caps it
 * (RV_SIMD=scalar|sse2|avx2|avx512|neon): a field kill switch and the test matrix.
 * The active set's name goes into every decision record. */
#ifndef RV_SIMD_H
#define RV_SIMD_H

#ifdef __cplusplus
extern "C" {
#endif

/* Name of the active instruction set ("scalar", "sse2", "avx2", "avx512", "neon"). */
const char *rv_simd_isa(void);

/* Best set this CPU supports, ignoring RV_SIMD. */
const char *rv_simd_best(void);

/* 1 when this CPU and build can run the named set (and RV_SIMD does not forbid it). */
int rv_simd_supported(const char *name);

/* Switch the active set (benchmarks and tests). Fails with RV_EINVAL for an unknown
 * name, RV_ELIMIT for a set this CPU cannot run or RV_SIMD forbids. Not safe while
 * kernels run on other threads. */
int rv_simd_force(const char *name);

#ifdef __cplusplus
}
#endif
#endif
