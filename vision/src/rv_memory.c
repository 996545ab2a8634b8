/* rv_memory.c - the process's allocator, set for images (rv_memory.h). */
#include "rv/rv_memory.h"

#include <stdlib.h> /* defines __GLIBC__ where it is glibc */

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int rv_memory_keep(void)
{
#if defined(__GLIBC__)
    /* blocks up to 32 MB (glibc's ceiling for this setting; a 5 MP BGRA frame is 20 MB)
     * from the heap rather than mmap, and the heap's top never trimmed back to the kernel */
    int ok = mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024) == 1;
    ok = mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024) == 1 && ok;
    return ok ? 0 : -1;
#else
    return -1;
#endif
}
