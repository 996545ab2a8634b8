/* rs_test.h - the project's tiny test harness: checks that count and report, and a
 * closing line per test program. A test program returns rs_test_end() from main:
 * 0 when every check held, 1 otherwise; RS_TEST_SKIP (77) when it could not run here
 * (ctest reports it as skipped, with the one-line reason printed). */
#ifndef RS_TEST_H
#define RS_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RS_TEST_SKIP 77

static int rs__checks, rs__failures;

#define RS_CHECK(cond)                                                                       \
    do {                                                                                     \
        rs__checks++;                                                                        \
        if (!(cond)) {                                                                       \
            rs__failures++;                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);         \
        }                                                                                    \
    } while (0)

/* Like RS_CHECK with a printf-style explanation on failure. */
#define RS_CHECKF(cond, ...)                                                                 \
    do {                                                                                     \
        rs__checks++;                                                                        \
        if (!(cond)) {                                                                       \
            rs__failures++;                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);         \
            fprintf(stderr, __VA_ARGS__);                                                    \
            fputc('\n', stderr);                                                             \
        }                                                                                    \
    } while (0)

#define RS_CHECK_EQ(a, b)                                                                    \
    do {                                                                                     \
        long long rs__a = (long long) (a), rs__b = (long long) (b);                          \
        RS_CHECKF(rs__a == rs__b, "%s = %lld, %s = %lld", #a, rs__a, #b, rs__b);             \
    } while (0)

/* The message of the last error must contain the given text. */
#define RS_CHECK_MSG(msg, text)                                                              \
    RS_CHECKF(strstr((msg), (text)) != NULL, "message \"%s\" lacks \"%s\"", (msg), (text))

static inline int rs_test_failures(void)
{
    return rs__failures;
}

static inline int rs_test_end(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, rs__checks, rs__failures);
    if (rs__checks == 0) {
        fprintf(stderr, "%s: no check ran\n", name);
        return 1;
    }
    return rs__failures ? 1 : 0;
}

static inline int rs_test_skip(const char *name, const char *why)
{
    printf("%s: skipped: %s\n", name, why);
    return RS_TEST_SKIP;
}

/* Deterministic pseudo-random bytes (xorshift64*), so failures reproduce. */
static inline uint64_t rs_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static inline void rs_fill_random(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t s = seed ? seed : 88172645463325252ULL;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t) (rs_rand(&s) >> 56);
}

/* With RS_FUZZ_SEEDS=DIR, a seed for a fuzzer: DIR/name holds the byte tag, then len bytes
 * of buf (or, with path, the file's bytes). scripts/test.sh seeds fuzz_models this way. */
static inline void rs_fuzz_seed(const char *name, uint8_t tag, const void *buf, size_t len,
                                const char *path)
{
    const char *dir = getenv("RS_FUZZ_SEEDS");
    if (!dir || !*dir)
        return;
    char out[1024];
    snprintf(out, sizeof out, "%s/%s", dir, name);
    FILE *o = fopen(out, "wb");
    if (!o)
        return;
    fputc(tag, o);
    if (buf)
        fwrite(buf, 1, len, o);
    FILE *in = path ? fopen(path, "rb") : NULL;
    int c;
    while (in && (c = fgetc(in)) != EOF)
        fputc(c, o);
    if (in)
        fclose(in);
    fclose(o);
}

#endif
