/* test_memory.c - rv_memory_keep(): with glibc it must take, and an image-sized block freed
 * must stay in the heap for the next one rather than go back to the kernel, to be faulted in
 * anew page by page (the cost it exists to remove: docs/benchmarks.md). Skipped under
 * AddressSanitizer, whose allocator takes no mallopt settings. */
#include "rs_test.h"
#include "rv/rv_memory.h"

#include <malloc.h>
#include <string.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RS_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define RS_ASAN 1
#endif

#if defined(__GLIBC__) && !defined(RS_ASAN)
/* The bytes the allocator keeps free in its heap after a block of n was used and freed,
 * and the bytes it holds in mmap'd blocks while the block is live. */
static void s_block(size_t n, size_t *kept_free, size_t *mmapped_live)
{
    unsigned char *p = malloc(n);
    if (!p)
        return;
    memset(p, 0x5a, n);
    *mmapped_live = mallinfo2().hblkhd;
    free(p);
    *kept_free = mallinfo2().fordblks;
}
#endif

int main(void)
{
    int rc = rv_memory_keep();
#if defined(RS_ASAN)
    (void) rc;
    return rs_test_skip("memory", "AddressSanitizer's allocator takes no mallopt settings");
#elif !defined(__GLIBC__)
    RS_CHECK(rc == -1);
    return rs_test_end("memory");
#else
    RS_CHECKF(rc == 0, "rv_memory_keep() returned %d with glibc", rc);
    const size_t n = (size_t) 2592 * 1944 * 4; /* a 5 MP BGRA frame, 20 MB */
    size_t kept = 0, mapped = 0;
    s_block(n, &kept, &mapped);
    RS_CHECKF(mapped < n, "a 20 MB block was mmap'd (%zu bytes in mmap'd blocks): it would go "
                          "back to the kernel when freed", mapped);
    RS_CHECKF(kept >= n, "after a 20 MB block was freed the heap keeps %zu bytes free: it was "
                         "given back to the kernel", kept);
    size_t before = mallinfo2().arena, kept2 = 0;
    s_block(n, &kept2, &mapped);
    RS_CHECKF(mallinfo2().arena == before, "the second 20 MB block grew the heap (%zu -> %zu)",
              before, mallinfo2().arena);
    return rs_test_end("memory");
#endif
}
