/* rv_simd.c - chooses the kernel table at run time from CPUID and OS support, capped by
 * the RV_SIMD environment variable (libjpeg-turbo's JSIMD_FORCE*, libvips' VIPS_VECTOR). */
#include "rv_kernels.h"
#include "rv/rv_error.h"
#include "rv/rv_simd.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#define RV_X86 1
#endif

static const char *const s_names[] = {"scalar", "sse2", "avx2", "avx512", "neon"};

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static rv_kernels_t s_tables[5];
static int s_have[5];
static rv_isa_t s_best = RV_ISA_SCALAR;
static rv_isa_t s_cap = RV_ISA_NEON; /* highest set RV_SIMD allows */
static const rv_kernels_t *s_active;

#ifdef RV_X86
static unsigned long long s_xgetbv(void)
{
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long) edx << 32) | eax;
}

/* The highest set both the CPU and the OS (saved register state) support. */
static rv_isa_t s_detect(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(d & bit_SSE2))
        return RV_ISA_SCALAR;
    rv_isa_t best = RV_ISA_SSE2;
    int osxsave = (c & bit_OSXSAVE) != 0, avx = (c & bit_AVX) != 0;
    if (!osxsave || !avx)
        return best;
    unsigned long long xcr0 = s_xgetbv();
    if ((xcr0 & 0x6) != 0x6) /* XMM and YMM state */
        return best;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return best;
    if (!(b & bit_AVX2))
        return best;
    best = RV_ISA_AVX2;
    unsigned need = bit_AVX512F | bit_AVX512BW | bit_AVX512VL | bit_AVX512DQ;
    if ((b & need) == need && (xcr0 & 0xe6) == 0xe6 && (b & bit_BMI2))
        best = RV_ISA_AVX512;
    return best;
}
#endif

static void s_fill(rv_isa_t isa, rv_kernels_t *t)
{
    memset(t, 0, sizeof *t);
    rv__point_fill_scalar(&t->p);
    rv__filter_fill_scalar(&t->f);
#ifdef RV_X86
    if (isa >= RV_ISA_SSE2 && isa <= RV_ISA_AVX512) {
        rv__point_fill_sse2(&t->p);
        rv__filter_fill_sse2(&t->f);
    }
    if (isa >= RV_ISA_AVX2 && isa <= RV_ISA_AVX512) {
        rv__point_fill_avx2(&t->p);
        rv__filter_fill_avx2(&t->f);
    }
    if (isa == RV_ISA_AVX512) {
        rv__point_fill_avx512(&t->p);
        rv__filter_fill_avx512(&t->f);
    }
#endif
#if defined(__aarch64__)
    if (isa == RV_ISA_NEON) {
        rv__point_fill_neon(&t->p);
        rv__filter_fill_neon(&t->f);
    }
#endif
    t->isa = isa;
    t->name = s_names[isa];
}

static int s_lookup(const char *name)
{
    for (int i = 0; i < 5; i++)
        if (name && strcmp(name, s_names[i]) == 0)
            return i;
    return -1;
}

static void s_init(void)
{
#ifdef RV_X86
    s_best = s_detect();
    for (int i = RV_ISA_SCALAR; i <= (int) s_best; i++)
        s_have[i] = 1;
#elif defined(__aarch64__)
    s_best = RV_ISA_NEON;
    s_have[RV_ISA_SCALAR] = s_have[RV_ISA_NEON] = 1;
#else
    s_have[RV_ISA_SCALAR] = 1;
#endif
    for (int i = 0; i < 5; i++)
        if (s_have[i])
            s_fill((rv_isa_t) i, &s_tables[i]);

    rv_isa_t chosen = s_best;
    const char *env = getenv("RV_SIMD");
    if (env && *env) {
        int want = s_lookup(env);
        if (want < 0) {
            fprintf(stderr, "rv_simd: RV_SIMD=%s is not one of scalar, sse2, avx2, avx512, neon;"
                            " using scalar\n", env);
            want = RV_ISA_SCALAR;
        } else if (!s_have[want]) {
            fprintf(stderr, "rv_simd: RV_SIMD=%s is not supported by this CPU; using %s\n", env,
                    s_names[s_best]);
            want = (int) s_best;
        }
        chosen = (rv_isa_t) want;
        s_cap = chosen;
    }
    s_active = &s_tables[chosen];
}

const rv_kernels_t *rv__kernels(void)
{
    pthread_once(&s_once, s_init);
    return s_active;
}

int rv__kernels_for(rv_isa_t isa, rv_kernels_t *out)
{
    pthread_once(&s_once, s_init);
    if ((int) isa < 0 || (int) isa > 4 || !s_have[isa])
        return -1;
    *out = s_tables[isa];
    return 0;
}

const char *rv_simd_isa(void)
{
    return rv__kernels()->name;
}

const char *rv_simd_best(void)
{
    pthread_once(&s_once, s_init);
    return s_names[s_best];
}

static int s_allowed(int i)
{
    /* neon and the x86 sets never coexist, so ordering by enum value is enough */
    return i >= 0 && s_have[i] && i <= (int) s_cap;
}

int rv_simd_supported(const char *name)
{
    pthread_once(&s_once, s_init);
    return s_allowed(s_lookup(name));
}

int rv_simd_force(const char *name)
{
    pthread_once(&s_once, s_init);
    int i = s_lookup(name);
    if (i < 0)
        return rv_fail(RV_EINVAL, "rv_simd_force", "unknown instruction set '%s'",
                       name ? name : "(null)");
    if (!s_allowed(i))
        return rv_fail(RV_ELIMIT, "rv_simd_force", "'%s' is not available here (best %s%s)",
                       name, s_names[s_best], s_cap < s_best ? ", capped by RV_SIMD" : "");
    s_active = &s_tables[i];
    return RV_OK;
}
